"""Where examples come from: a local folder, an offline source that ships in a package, or the hub.

Resolution order for (task, language, split):
1. `data_dir` given: `{data_dir}/{task}/{split}/{lang}.jsonl` (fields: text_a, text_b?, label).
2. the task has an offline source (`xrobust.offline_data`: pinned public files read from a mirror
   or downloaded, `xrobust.sources`; or a registry package): prepared once into the cache, then 1.
3. the Hugging Face hub (tasks without an offline source, or any task with a hub name when
   XROBUST_USE_HUB=1) via `datasets.load_dataset(task.hub, config, split=...)` (needs internet,
   or a local folder laid out like the hub repository passed as `hub_path`).
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np

from .examples import Example, label_id, read_jsonl
from .language_meta import read_sib200_table
from .tasks import Task, check_languages, get_task

SPLITS = ("train", "validation", "test")


def subsample(examples: list[Example], n: int | None, seed: int = 0) -> list[Example]:
    """A fixed random subset (same indices for parallel data in every language)."""
    if n is None or n <= 0 or n >= len(examples):
        return examples
    idx = np.sort(np.random.default_rng(seed).permutation(len(examples))[:n])
    return [examples[i] for i in idx]


def load_hub(task: Task, lang: str, split: str, hub_path: str | None = None) -> list[Example]:
    """Load from the Hugging Face hub (or a local copy of a hub dataset repository)."""
    import datasets

    flores = {r["tag"]: r["flores"] for r in read_sib200_table()}.get(lang, lang)
    config = task.hub_config.format(lang=lang, flores=flores) or None
    hub_split = {"train": task.train_split, "test": task.eval_split}.get(split, split)
    if not (hub_path or task.hub):
        raise ValueError(f"task {task.name!r} has no hub dataset; pass 'data_dir'")
    ds = datasets.load_dataset(hub_path or task.hub, config, split=hub_split)
    a, b = (task.text_fields + (None,))[:2]
    out = []
    for i, row in enumerate(ds):
        label = row[task.label_field]
        if isinstance(label, int) and label < 0:  # unlabeled rows (e.g. -1 in some hub sets)
            continue
        out.append(Example(text_a=row[a], text_b=row[b] if b else None,
                           label=label_id(label, task.labels, f"{task.hub}:{config}"),
                           uid=f"{task.name}-{lang}-{split}-{i}"))
    return out


def n_words(e: Example) -> int:
    return len(e.text_a.split()) + len((e.text_b or "").split())


def load_examples(task: str | Task, lang: str, split: str, data_dir: str | Path | None = None,
                  max_examples: int | None = None, data_seed: int = 0,
                  hub_path: str | None = None, max_words: int | None = None) -> list[Example]:
    """Examples of one task/language/split. `max_words` keeps items whose text in the task's
    source language (English) has at most that many words, so parallel test sets keep the same
    items in every language; `max_examples` then draws a fixed random subset."""
    task = get_task(task) if isinstance(task, str) else task
    if hub_path is None:  # a local copy (XROBUST_DATA_DIR) overrides the offline/hub sources
        data_dir = data_dir or os.environ.get("XROBUST_DATA_DIR") or None
    examples = _load_all(task, lang, split, data_dir, hub_path)
    if max_words:
        src = examples if lang == task.source_language else _load_all(task, task.source_language, split,
                                                                       data_dir, hub_path)
        if len(src) != len(examples):
            src = examples  # not parallel: filter on the language itself
        examples = [e for e, s in zip(examples, src, strict=True) if n_words(s) <= max_words]
    return subsample(examples, max_examples, data_seed)


def check_parallel(split: str, by_language: dict[str, list[Example]]) -> int:
    """Number of items of a parallel split: the same length and the same label at each position
    in every language (hub copies name items per language, so ids are not compared)."""
    sizes = {lang: len(exs) for lang, exs in by_language.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"the {split} split is not parallel across languages (sizes {sizes})")
    (first_lang, first), *others = by_language.items()
    for lang, exs in others:
        bad = next((i for i, (a, b) in enumerate(zip(first, exs, strict=True)) if a.label != b.label), None)
        if bad is not None:
            raise ValueError(f"the {split} split is not parallel: item {bad} has another label in {lang!r} "
                             f"than in {first_lang!r}")
    return len(first)


def load_multilingual(task: str | Task, languages, split: str, max_examples: int, max_words: int | None = None,
                      data_seed: int = 0) -> dict[str, list[Example]]:
    """`max_examples` items of a parallel split, each in one of `languages`, with equal shares
    (counts differ by at most one), as {language: its share}. The items are those a
    one-language run draws with the same arguments; a seeded shuffle assigns each to a language.

    Each item appears in one language only (rather than in every language): the set then has as
    many distinct items, with the same content and labels, as the English-only training set and
    differs from it only in language, which is what the multilingual condition is compared on.
    The same items in every language would cut the distinct items to max_examples / len(languages)."""
    task = get_task(task) if isinstance(task, str) else task
    languages = list(languages)
    per_language = {lang: load_examples(task, lang, split, max_examples=max_examples, max_words=max_words,
                                        data_seed=data_seed) for lang in languages}
    n = check_parallel(split, per_language)
    order = np.random.default_rng(data_seed).permutation(n)
    language_of = {int(i): languages[k % len(languages)] for k, i in enumerate(order)}
    return {lang: [per_language[lang][i] for i in range(n) if language_of[i] == lang] for lang in languages}


def _load_all(task: Task, lang: str, split: str, data_dir, hub_path) -> list[Example]:
    check_languages(task, [lang])
    if split not in SPLITS:
        raise ValueError(f"invalid 'split': {split!r}; allowed values: {', '.join(SPLITS)}")
    if data_dir is None and task.offline and not (os.environ.get("XROBUST_USE_HUB") == "1" and task.hub):
        from .offline_data import prepare

        data_dir = prepare(task.offline)
    if data_dir is not None:
        path = Path(data_dir) / task.name / split / f"{lang}.jsonl"
        if not path.is_file():
            raise FileNotFoundError(f"no {split} data for task {task.name!r}, language {lang!r}: "
                                    f"{path} does not exist")
        return _read_cached(path, task.labels)
    return load_hub(task, lang, split, hub_path)


_CACHE: dict = {}


def _read_cached(path: Path, labels) -> list[Example]:
    key = (str(path), path.stat().st_mtime_ns, labels)
    if key not in _CACHE:
        _CACHE.clear() if len(_CACHE) > 64 else None
        _CACHE[key] = read_jsonl(path, labels)
    return _CACHE[key]


def as_dataset(examples: list[Example], labels: tuple[str, ...]):
    """Examples as a `datasets.Dataset` (columns id, text_a, text_b, label, label_name)."""
    import datasets

    return datasets.Dataset.from_dict({
        "id": [e.uid for e in examples], "text_a": [e.text_a for e in examples],
        "text_b": [e.text_b for e in examples], "label": [e.label for e in examples],
        "label_name": [labels[e.label] for e in examples]})


def majority_rate(labels) -> float:
    """Accuracy of always predicting the most frequent label."""
    counts = Counter(labels)
    if not counts:
        raise ValueError("labels is empty; allowed: at least one label")
    return max(counts.values()) / sum(counts.values())
