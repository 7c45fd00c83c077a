"""Real labelled data that installs from a package registry (no hub), prepared into JSONL.

- `multiemo` (target task): MultiEmo sentence-level sentiment (Kocoń et al., 2021, CLARIN-PL),
  as packaged in the BIG-bench sdist (`bigbench==1.0.0`, Apache-2.0): the same 57k review
  sentences in English and 10 other languages, 4 labels. The originals are Polish; the other
  languages are machine translations. BIG-bench merged the original splits, so we split by
  index into disjoint blocks (train / validation / test) and keep only indices whose label
  agrees in every language (the files stay aligned up to index ~43k).
- `vitaminc` (English intermediate task, NLI-like fact verification, 3 labels), same sdist.
- `movie_sentiment` (English intermediate task, SST-2-like): the Pang & Lee movie snippets with
  human sentiment ratings from the VADER sdist (`vadersentiment==3.3.2`, MIT), binarized.
"""
from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from sklearn.model_selection import train_test_split

from . import public_data, sources
from .examples import write_jsonl
from .paths import cache_dir
from .resultfiles import atomic_write_text
from .tasks import MULTIEMO_LANGS, TASKS, get_task

# index blocks of the aligned sentence files (see module docstring)
MULTIEMO_BLOCKS = {"train": (0, 34000), "validation": (34000, 36000), "test": (36000, 43000)}
# movie snippets held out for validation: a seeded draw that keeps each label's share (the file is
# ordered, so its last 1,000 snippets were 86% negative against 46% overall)
MOVIE_VALIDATION_SIZE = 1000
# bumped when a source's preparation changes, so prepared caches are rebuilt
PREPARATION_VERSION = {"bigbench": 1, "vader": 2, "sib200": 1, "sst2": 1, "xnli": 1}


@dataclass(frozen=True)
class PinnedFile:
    filename: str
    url: str
    sha256: str


# sdists on PyPI's file host; URL and sha256 as PyPI's simple index lists them (2026-11-28)
PINNED = {
    "bigbench": PinnedFile(
        "bigbench-1.0.0.tar.gz",
        "https://files.pythonhosted.org/packages/95/f8/c019b3579df548a04cac12342cfcb878e50ddf6cfcd7fddba8cfc721c157/"
        "bigbench-1.0.0.tar.gz", "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2"),
    "vader": PinnedFile(
        "vaderSentiment-3.3.2.tar.gz",
        "https://files.pythonhosted.org/packages/77/8c/4a48c10a50f750ae565e341e697d74a38075a3e43ff0df6f1ab72e186902/"
        "vaderSentiment-3.3.2.tar.gz", "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"),
}


# one error for every source that cannot be had (sdists here, pinned dataset files in `sources`)
SourceUnavailable = sources.SourceUnavailable


def data_root() -> Path:
    return cache_dir() / "data"


def _download(source: str) -> Path:
    """The pinned file of `source` in the cache, downloaded once from PyPI's file host.

    pooch compares the file, cached or new, with the sha256 pinned in `PINNED` and refuses a
    mismatch. (`pip download` cannot fetch the bigbench sdist: it builds the package's metadata
    first, and that fails on its direct-URL dependency.) A failed download raises
    `SourceUnavailable`, which names the file and the two ways to supply the data by hand.
    """
    import pooch
    import requests

    f = PINNED[source]
    downloads = cache_dir() / "downloads"
    try:
        return Path(pooch.retrieve(f.url, known_hash=f"sha256:{f.sha256}", fname=f.filename,
                                   path=downloads, progressbar=False))
    except requests.RequestException as e:
        tasks = ", ".join(t.name for t in TASKS.values() if t.offline == source)
        raise SourceUnavailable(
            f"the data of {tasks} (offline source {source!r}) could not be had: downloading {f.filename} "
            f"(sha256 {f.sha256}) from {f.url} failed ({e}). Either put that file (the same sha256) at "
            f"{downloads / f.filename}, or set XROBUST_DATA_DIR to a folder of prepared files "
            "(<task>/<split>/<lang>.jsonl, as xrobust.offline_data.prepare writes them). The committed result "
            "files need no data: `bash scripts/ci_book.sh` builds the book from them.") from None


def require(tasks) -> None:
    """Make sure the data of `tasks` (task names) can be read, before a run spends compute on
    them: with XROBUST_DATA_DIR set, that it has a folder for each task; otherwise, that each
    task's offline source is prepared (downloaded and prepared once). Raises `SourceUnavailable`
    for a source that cannot be had, `FileNotFoundError` for a task missing from XROBUST_DATA_DIR.
    Tasks without an offline source (hub tasks) are left to their loader."""
    local = os.environ.get("XROBUST_DATA_DIR")
    names = sorted(set(tasks))
    if local:
        missing = [t for t in names if not (Path(local) / t).is_dir()]
        if missing:
            raise FileNotFoundError(f"XROBUST_DATA_DIR={local!r} has no folder for the task(s) {missing}; "
                                    f"allowed: a folder per task, <task>/<split>/<lang>.jsonl")
        return
    for source in sorted({get_task(t).offline for t in names} - {""}):
        prepare(source)


def _bigbench_tasks(wanted: set[str]) -> dict[str, dict]:
    """Read the task.json files named in `wanted` (e.g. 'multiemo/all_sentence_en') from the sdist."""
    out = {}
    with tarfile.open(_download("bigbench"), "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/benchmark_tasks/")
            if len(parts) == 2 and parts[1].endswith("/task.json") and parts[1][:-10] in wanted:
                out[parts[1][:-10]] = json.load(tar.extractfile(member))
                if len(out) == len(wanted):
                    break
    missing = wanted - set(out)
    if missing:
        raise RuntimeError(f"bigbench sdist lacks {sorted(missing)}")
    return out


def _gold(example: dict) -> str:
    scores = example["target_scores"]
    return max(scores, key=scores.get)


def _prepare_bigbench(root: Path) -> None:
    names = {f"multiemo/all_sentence_{l}" for l in MULTIEMO_LANGS} | {"vitaminc_fact_verification"}
    tasks = _bigbench_tasks(names)
    per_lang = {l: tasks[f"multiemo/all_sentence_{l}"]["examples"] for l in MULTIEMO_LANGS}
    for split, (lo, hi) in MULTIEMO_BLOCKS.items():
        keep = [i for i in range(lo, hi) if len({_gold(per_lang[l][i]) for l in MULTIEMO_LANGS}) == 1]
        for lang in MULTIEMO_LANGS:
            rows = [{"id": f"multiemo-{i}", "text_a": per_lang[lang][i]["input"],
                     "label": _gold(per_lang[lang][i])} for i in keep]
            write_jsonl(root / "multiemo" / split / f"{lang}.jsonl", rows)
    rows = []
    for i, ex in enumerate(tasks["vitaminc_fact_verification"]["examples"]):
        evidence, _, claim = ex["input"].partition("\nClaim: ")
        rows.append({"id": f"vitaminc-{i}", "text_a": evidence.strip(), "text_b": claim.strip(),
                     "label": _gold(ex)})
    write_jsonl(root / "vitaminc" / "train" / "en.jsonl", rows[:50000])
    write_jsonl(root / "vitaminc" / "validation" / "en.jsonl", rows[50000:])


def _prepare_vader(root: Path) -> None:
    with tarfile.open(_download("vader"), "r:gz") as outer:
        inner = next(m for m in outer if m.name.endswith("hutto_ICWSM_2014.tar.gz"))
        blob = outer.extractfile(inner).read()
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        member = next(m for m in tar if m.name.endswith("movieReviewSnippets_GroundTruth.txt"))
        lines = tar.extractfile(member).read().decode("utf-8", "replace").splitlines()
    rows = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        score = float(parts[1])
        if abs(score) >= 0.5:  # drop near-neutral ratings, as SST-2 drops neutral phrases
            rows.append({"id": f"movie-{parts[0]}", "text_a": parts[2].strip(),
                         "label": "positive" if score > 0 else "negative"})
    train, validation = train_test_split(range(len(rows)), test_size=MOVIE_VALIDATION_SIZE, random_state=0,
                                         stratify=[r["label"] for r in rows])
    write_jsonl(root / "movie_sentiment" / "train" / "en.jsonl", [rows[i] for i in sorted(train)])
    write_jsonl(root / "movie_sentiment" / "validation" / "en.jsonl", [rows[i] for i in sorted(validation)])


PREPARERS = {"bigbench": _prepare_bigbench, "vader": _prepare_vader, "sib200": public_data.prepare_sib200,
             "sst2": public_data.prepare_sst2, "xnli": public_data.prepare_xnli}


def prepare(source: str) -> Path:
    """Make sure `source` is prepared under the data root (once); return the root."""
    if source not in PREPARERS:
        raise ValueError(f"unknown offline source {source!r}; allowed values: {', '.join(PREPARERS)}")
    root = data_root()
    marker = root / f".{source}.done"
    done = {"source": source, "version": PREPARATION_VERSION[source]}
    if not marker.is_file() or json.loads(marker.read_text()) != done:
        PREPARERS[source](root)
        atomic_write_text(marker, json.dumps(done))  # written last: preparation complete
    return root
