"""Which languages a SIB-200 grid attacks: a rule fixed before any attack result.

Among the XTREME-R languages (the SIB-200 table's `xtreme_r` column), attack English (the
reference) and every non-English language that
1. has a code-switching lexicon (`attacks.lexicons.LEXICON_LANGUAGES`), so both recipes apply;
2. is outside XLM-R's pretraining (`xlmr_pretraining` False), so both resource groups are there;
3. is the first (by tag) of its script, for each script no language of 1-2 writes,
so that every script among the XTREME-R languages is represented.
"""
from __future__ import annotations


def attack_languages_rule(table, lexicon_languages, english: str = "en") -> list[str]:
    """English, then the non-English languages chosen by the rule above, sorted by tag.

    table: rows (dicts) with tag, script, xtreme_r, xlmr_pretraining (as `language_meta.
    read_sib200_table`, booleans), or a DataFrame with those columns."""
    rows = table.to_dict("records") if hasattr(table, "to_dict") else list(table)
    xtreme = [r for r in rows if r["xtreme_r"] and r["tag"] != english]
    chosen = {r["tag"] for r in xtreme if r["tag"] in set(lexicon_languages) or not r["xlmr_pretraining"]}
    covered = {r["script"] for r in xtreme if r["tag"] in chosen}
    for r in sorted(xtreme, key=lambda r: r["tag"]):
        if r["script"] not in covered:
            chosen.add(r["tag"])
            covered.add(r["script"])
    return [english, *sorted(chosen)]
