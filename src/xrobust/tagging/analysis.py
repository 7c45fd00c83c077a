"""Tagging attack results as (seed, item) units for `xrobust.inference`.

The classification answer's statistics apply unchanged: one row per (seed, uid, language,
recipe, condition), where the item `uid` is the PUD `sent_id` (the same sentences in every
language, seed and condition), `robust` is 1 when the attack did not succeed, and `clean` is 1
for every sentence. Unlike classification, no sentence is set aside for a clean error: the
success rule already compares the sentence's own clean and attacked accuracy on its unedited
words, so a clean error cannot count as a successful attack. Word-level accuracies stay as
extra columns for descriptive tables. Conditions are named as in the classification family:
`direct` and `inter-<task>`.
"""
from __future__ import annotations

import pandas as pd


def condition_name(meta: dict) -> str:
    if meta.get("condition") == "intermediate":
        return f"inter-{meta['intermediate_task']}"
    return str(meta.get("condition", "direct"))


def attack_units(results: list[dict]) -> pd.DataFrame:
    """Rows of `inference.pair`'s input from tagging attack results (`run_tagging_attack`)."""
    rows = []
    for res in results:
        meta = res["config"]["checkpoint_meta"]
        for row in res["rows"]:
            for r in row["records"]:
                unedited = r["n_words"] - r["edited_words"]
                rows.append({"seed": meta["seed"], "uid": r["sent_id"], "language": row["language"],
                             "recipe": row["recipe"], "condition": condition_name(meta), "clean": 1,
                             "robust": int(r["status"] != "succeeded"),
                             "perturbed_ratio": r["edited_words"] / r["n_words"],
                             "clean_word_accuracy": (r["clean_correct_edited"] + r["clean_correct_unedited"])
                             / r["n_words"],
                             "attacked_word_accuracy": (r["attacked_correct_edited"] + r["attacked_correct_unedited"])
                             / r["n_words"],
                             "unedited_drop": r["unedited_drop"], "unedited_words": unedited})
    out = pd.DataFrame(rows)
    if not out.empty and out.duplicated(["seed", "uid", "language", "recipe", "condition"]).any():
        raise ValueError("several results hold the same (seed, condition); pass one result per model")
    return out


ALIGNED_ROWS = ("words", "perturbed_words", "gold", "clean", "attacked")


def aligned_tags(record: dict) -> pd.DataFrame:
    """One attacked sentence as aligned sequences (the chapter's example): a row each for the
    words before and after the attack, the gold tags, and the clean and attacked predictions;
    one column per word, edited words marked with '*'."""
    lengths = {len(record[k]) for k in ALIGNED_ROWS}
    if len(lengths) != 1:
        raise ValueError(f"record {record.get('sent_id')!r} is not aligned: lengths {sorted(lengths)}")
    edited = set(record["edited"])
    columns = [f"{i}*" if i in edited else str(i) for i in range(lengths.pop())]
    return pd.DataFrame([record[k] for k in ALIGNED_ROWS], index=list(ALIGNED_ROWS), columns=columns)
