"""Run an attack over examples and summarise robustness the way TextAttack reports it."""
from __future__ import annotations

import time
from collections import OrderedDict

import numpy as np
from tqdm.auto import tqdm

from ..examples import Example
from ..textattack_offline import import_textattack

ta = import_textattack()
from textattack.attack_results import (  # noqa: E402
    FailedAttackResult,
    MaximizedAttackResult,
    SkippedAttackResult,
    SuccessfulAttackResult,
)

MAX_CHARS = 20_000  # longer inputs are recorded as skipped instead of attacked


def _clean_reason(text: str) -> str | None:
    if not text or not text.strip():
        return "empty"
    if "\x00" in text:
        return None  # null bytes are handled by the tokenizer; noted in the record
    if len(text) > MAX_CHARS:
        return f"longer than {MAX_CHARS} characters"
    return None


def _prediction(output) -> int | None:
    """A classifier's predicted label; None for goals whose output is not one label (retrieval)."""
    try:
        return int(output)
    except (TypeError, ValueError):
        return None


def attack_examples(attack, examples: list[Example], columns=("text",), progress=True,
                    desc="attack") -> list[dict]:
    """One record per example: outcome, queries, perturbed-word ratio, texts."""
    records = []
    for ex in tqdm(examples, desc=desc, unit="ex", disable=not progress, mininterval=2):
        texts = [ex.text_a] + ([ex.text_b] if ex.text_b is not None else [])
        rec = {"uid": ex.uid, "label": ex.label, "original": texts[-1]}
        reason = next((r for r in map(_clean_reason, texts) if r), None)
        if reason:
            records.append({**rec, "outcome": "skipped", "skip_reason": reason, "clean_correct": None})
            continue
        inp = OrderedDict(zip(columns, texts, strict=True)) if len(texts) > 1 else texts[0]
        t0 = time.perf_counter()
        try:
            result = attack.attack(inp, ex.label)
        except Exception as e:  # a crash on one hostile input must not lose the rest of the run
            records.append({**rec, "outcome": "error", "skip_reason": f"{type(e).__name__}: {e}"[:300],
                            "clean_correct": None})
            continue
        rec["seconds"] = round(time.perf_counter() - t0, 4)
        rec["num_queries"] = int(result.perturbed_result.num_queries)
        rec["original_output"] = _prediction(result.original_result.output)  # the model's clean prediction
        if isinstance(result, SkippedAttackResult):
            rec.update(outcome="misclassified", clean_correct=False)
        else:
            orig, pert = result.original_result.attacked_text, result.perturbed_result.attacked_text
            n_words = max(1, len(orig.words))
            changed = len(orig.all_words_diff(pert))
            rec.update(clean_correct=True, perturbed_words=changed, n_words=n_words,
                       perturbed_output=_prediction(result.perturbed_result.output),
                       perturbed_ratio=changed / n_words, perturbed=pert.text,
                       outcome="success" if isinstance(result, SuccessfulAttackResult)
                       else "failed" if isinstance(result, (FailedAttackResult, MaximizedAttackResult))
                       else type(result).__name__)
        records.append(rec)
    return records


def summarize(records: list[dict]) -> dict:
    """Clean accuracy, accuracy under attack, success rate, perturbed ratio, queries, counts."""
    outcomes = [r["outcome"] for r in records]
    n_attacked = sum(o in ("success", "failed", "misclassified") for o in outcomes)
    succ, fail = outcomes.count("success"), outcomes.count("failed")
    mis = outcomes.count("misclassified")
    good = [r for r in records if r["outcome"] in ("success", "failed")]
    won = [r for r in records if r["outcome"] == "success"]

    def mean(xs):
        return float(np.mean(xs)) if xs else float("nan")

    return {
        "n": len(records), "n_attacked": n_attacked, "n_success": succ, "n_failed": fail,
        "n_misclassified": mis, "n_skipped": outcomes.count("skipped"), "n_error": outcomes.count("error"),
        "clean_accuracy": (succ + fail) / n_attacked if n_attacked else float("nan"),
        "attacked_accuracy": fail / n_attacked if n_attacked else float("nan"),
        "attack_success_rate": succ / (succ + fail) if succ + fail else float("nan"),
        "perturbed_word_ratio": mean([r["perturbed_ratio"] for r in won]),
        "avg_queries": mean([r["num_queries"] for r in good]),
    }
