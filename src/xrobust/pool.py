"""The attack pool: one fixed set of test items, drawn once from the cleaned parallel test split.

The pool depends only on the data, `max_words`, `n_examples` and `pool_seed`, never on the
training seed, the condition or the languages a run attacks: the same items (same positions,
and for MultiEmo the same ids) are attacked in every language, seed and condition, so
robustness can be compared item by item. Cleaning looks at all languages of the task for the
same reason; an item that fails a rule in any language is dropped in all of them.
"""
from __future__ import annotations

from dataclasses import dataclass

from .data import check_parallel, load_examples, n_words, subsample
from .examples import Example
from .tasks import Task

RULES = ("empty", "untranslated", "in_train")


def _text(e: Example) -> str:
    """Whitespace- and case-normalised text (both fields), the form the rules compare."""
    return " ".join(f"{e.text_a} {e.text_b or ''}".split()).casefold()


def _empty(e: Example) -> bool:
    return not e.text_a.strip() or (e.text_b is not None and not e.text_b.strip())


def clean_parallel(test: dict[str, list[Example]], train: dict[str, list[Example]],
                   source_language: str = "en") -> tuple[list[int], dict]:
    """Positions of the test items usable in every language, and what each rule dropped.

    Rules, per language: `empty` (an empty text), `untranslated` (a non-source text identical
    to the source-language text), `in_train` (the text occurs in that language's training
    split). Texts are compared after whitespace and case normalisation. The report counts, per
    rule and language, the items on which the rule fired (an item may count under several
    rules and languages); `dropped_items` is the number of items removed in all languages.
    """
    n = check_parallel("test", test)
    seen_in_train = {lang: {_text(e) for e in train[lang]} for lang in test}
    fired = {rule: {lang: 0 for lang in test} for rule in RULES}
    keep = []
    for i in range(n):
        source = _text(test[source_language][i])
        ok = True
        for lang, examples in test.items():
            e = examples[i]
            hits = {"empty": _empty(e),
                    "untranslated": lang != source_language and _text(e) == source,
                    "in_train": _text(e) in seen_in_train[lang]}
            for rule, hit in hits.items():
                if hit:
                    fired[rule][lang] += 1
                    ok = False
        if ok:
            keep.append(i)
    return keep, {"items": n, "kept": len(keep), "dropped_items": n - len(keep), "fired": fired}


@dataclass(frozen=True)
class AttackPool:
    positions: list[int]  # in the parallel test split
    test: dict[str, list[Example]]
    report: dict

    def examples(self, language: str) -> list[Example]:
        return [self.test[language][i] for i in self.positions]

    def uids(self, language: str) -> list[str]:
        return [e.uid for e in self.examples(language)]


def attack_pool(task: Task, n_examples: int, max_words: int, pool_seed: int) -> AttackPool:
    """Clean the parallel test split (all languages of the task), keep items whose source-language
    text has at most `max_words` words, and draw `n_examples` of them with `pool_seed`."""
    test = {lang: load_examples(task, lang, "test") for lang in task.languages}
    train = {lang: load_examples(task, lang, "train") for lang in task.languages}
    keep, report = clean_parallel(test, train, task.source_language)
    source = test[task.source_language]
    short = [i for i in keep if n_words(source[i]) <= max_words]
    positions = subsample(short, n_examples, pool_seed)
    report = {**report, "within_max_words": len(short), "drawn": len(positions), "pool_seed": pool_seed,
              "original_language": task.original_language}
    return AttackPool(positions=positions, test=test, report=report)
