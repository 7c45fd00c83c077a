"""Pinned downloads and the preparation of BIG-bench and VADER data, on small fixture archives
laid out like the real sdists."""
import functools
import hashlib
import http.server
import io
import json
import tarfile
import threading

import pytest

from xrobust import offline_data
from xrobust.examples import read_jsonl
from xrobust.tasks import MULTIEMO_LABELS, MULTIEMO_LANGS


@pytest.fixture
def served(tmp_path):
    """A local HTTP server for the files in `tmp_path / "www"`."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_download_checks_the_pinned_sha256(served, tmp_path, monkeypatch):
    pytest.importorskip("pooch", reason="pooch is a dependency (requirements.txt); run scripts/setup.sh")
    root, url = served
    monkeypatch.setenv("XROBUST_CACHE", str(tmp_path / "cache"))
    good = b"the published sdist"
    (root / "pkg-1.0.tar.gz").write_bytes(good)
    pin = offline_data.PinnedFile("pkg-1.0.tar.gz", f"{url}/pkg-1.0.tar.gz", hashlib.sha256(good).hexdigest())
    monkeypatch.setitem(offline_data.PINNED, "pkg", pin)
    path = offline_data._download("pkg")
    assert path.read_bytes() == good and path.parent == tmp_path / "cache" / "downloads"
    path.write_bytes(b"truncated")  # a damaged cached copy is fetched again
    assert offline_data._download("pkg").read_bytes() == good
    (root / "pkg-1.0.tar.gz").write_bytes(b"tampered on the server")
    path.unlink()
    with pytest.raises(ValueError, match="(?i)hash"):
        offline_data._download("pkg")
    assert not path.exists()


def test_a_refused_download_names_the_file_and_the_remedies(served, tmp_path, monkeypatch):
    """PyPI's file host answered 403 for the pinned bigbench sdist (2026-12-05): the error says which
    tasks lack data, which file to supply where, and the XROBUST_DATA_DIR alternative."""
    pytest.importorskip("pooch", reason="pooch is a dependency (requirements.txt); run scripts/setup.sh")
    _, url = served  # serves an empty folder: the file is not there (404)
    monkeypatch.setenv("XROBUST_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("XROBUST_DATA_DIR", raising=False)
    pin = offline_data.PinnedFile("bigbench-1.0.0.tar.gz", f"{url}/bigbench-1.0.0.tar.gz", "ab" * 32)
    monkeypatch.setitem(offline_data.PINNED, "bigbench", pin)
    with pytest.raises(offline_data.SourceUnavailable) as err:
        offline_data.require(["multiemo"])
    text = str(err.value)
    assert "multiemo, vitaminc (offline source 'bigbench')" in text
    assert "404" in text and pin.url in text and "ab" * 32 in text
    assert str(tmp_path / "cache" / "downloads" / "bigbench-1.0.0.tar.gz") in text
    assert "XROBUST_DATA_DIR" in text and "scripts/ci_book.sh" in text
    assert not (tmp_path / "cache" / "data" / ".bigbench.done").exists()  # nothing marked as prepared


def test_require_prepares_each_source_once_and_checks_a_local_copy(tmp_path, monkeypatch):
    monkeypatch.delenv("XROBUST_DATA_DIR", raising=False)
    prepared = []
    monkeypatch.setattr(offline_data, "prepare", prepared.append)
    offline_data.require(["vitaminc", "multiemo", "movie_sentiment", "xnli"])  # xnli: a hub task, left to its loader
    assert prepared == ["bigbench", "vader"]
    local = tmp_path / "data"
    (local / "multiemo").mkdir(parents=True)
    monkeypatch.setenv("XROBUST_DATA_DIR", str(local))
    offline_data.require(["multiemo"])  # a local copy: no download
    assert prepared == ["bigbench", "vader"]
    with pytest.raises(FileNotFoundError, match=r"no folder for the task\(s\) \['vitaminc'\]"):
        offline_data.require(["multiemo", "vitaminc"])


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _task_json(examples):
    return json.dumps({"name": "fixture", "examples": examples}).encode()


def _sentence(text, label):
    scores = {k: 0 for k in MULTIEMO_LABELS}
    scores[label] = 1
    return {"input": text, "target_scores": scores}


def test_bigbench_preparation(tmp_path, monkeypatch):
    labels = ["positive", "negative", "neutral", "positive", "ambivalent", "negative", "positive"]
    members = {}
    for lang in MULTIEMO_LANGS:
        rows = [_sentence(f"{lang} sentence {i}", lab) for i, lab in enumerate(labels)]
        if lang == "de":
            rows[2] = _sentence("de sentence 2", "positive")  # labels disagree: item 2 is dropped everywhere
        members[f"bigbench-1.0.0/bigbench/benchmark_tasks/multiemo/all_sentence_{lang}/task.json"] = _task_json(rows)
    claims = [{"input": "The tower is 300 m tall.\nClaim: The tower is tall.",
               "target_scores": {"True": 1, "False": 0, "Neither": 0}},
              {"input": "Sales rose.\nClaim: Sales fell.", "target_scores": {"True": 0, "False": 1, "Neither": 0}}]
    members["bigbench-1.0.0/bigbench/benchmark_tasks/vitaminc_fact_verification/task.json"] = _task_json(claims)
    members["bigbench-1.0.0/bigbench/benchmark_tasks/other_task/task.json"] = _task_json([])
    sdist = tmp_path / "bigbench-1.0.0.tar.gz"
    sdist.write_bytes(_tar_gz(members))
    monkeypatch.setenv("XROBUST_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(offline_data, "_download", lambda source: sdist)
    monkeypatch.setattr(offline_data, "MULTIEMO_BLOCKS", {"train": (0, 4), "validation": (4, 5), "test": (5, 7)})

    root = offline_data.prepare("bigbench")
    train_de = read_jsonl(root / "multiemo" / "train" / "de.jsonl", MULTIEMO_LABELS)
    assert [e.uid for e in train_de] == ["multiemo-0", "multiemo-1", "multiemo-3"]
    assert [e.text_a for e in train_de] == ["de sentence 0", "de sentence 1", "de sentence 3"]
    assert [MULTIEMO_LABELS[e.label] for e in train_de] == ["positive", "negative", "positive"]
    for split, uids in (("validation", ["multiemo-4"]), ("test", ["multiemo-5", "multiemo-6"])):
        for lang in MULTIEMO_LANGS:
            rows = read_jsonl(root / "multiemo" / split / f"{lang}.jsonl", MULTIEMO_LABELS)
            assert [e.uid for e in rows] == uids
    claims = read_jsonl(root / "vitaminc" / "train" / "en.jsonl", ("True", "False", "Neither"))
    assert [(e.text_a, e.text_b, e.label) for e in claims] == [
        ("The tower is 300 m tall.", "The tower is tall.", 0), ("Sales rose.", "Sales fell.", 1)]
    assert (root / ".bigbench.done").is_file()
    monkeypatch.setattr(offline_data, "_download", lambda source: pytest.fail("prepared data is reused"))
    offline_data.prepare("bigbench")


def _use_vader(tmp_path, monkeypatch, snippets: str, validation_size: int) -> None:
    """A VADER sdist holding `snippets` as the movie file, served to `prepare` from a fresh cache."""
    inner = _tar_gz({"hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt": snippets.encode(),
                     "hutto_ICWSM_2014/tweets_GroundTruth.txt": b"1\t0.1\tignored"})
    sdist = tmp_path / "vaderSentiment-3.3.2.tar.gz"
    sdist.write_bytes(_tar_gz({"vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz": inner}))
    monkeypatch.setenv("XROBUST_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(offline_data, "_download", lambda source: sdist)
    monkeypatch.setattr(offline_data, "MOVIE_VALIDATION_SIZE", validation_size)


def test_vader_preparation(tmp_path, monkeypatch):
    snippets = "\n".join(["1\t2.1\tA gripping, beautiful film.", "2\t-1.8\tDull and far too long.",
                          "3\t0.3\tIt is a film.", "4\t-0.5\tNot much to see.", "5\t0.9\tWarm and funny.",
                          "6\t-2.2\tA mess.", "malformed line"])
    _use_vader(tmp_path, monkeypatch, snippets, validation_size=2)

    root = offline_data.prepare("vader")
    labels = ("negative", "positive")
    train = read_jsonl(root / "movie_sentiment" / "train" / "en.jsonl", labels)
    val = read_jsonl(root / "movie_sentiment" / "validation" / "en.jsonl", labels)
    # |rating| < 0.5 is near-neutral and dropped; the rest is split into disjoint parts, one
    # snippet of each label held out, both parts in file order
    assert sorted(e.uid for e in train + val) == ["movie-1", "movie-2", "movie-4", "movie-5", "movie-6"]
    assert sorted(e.label for e in val) == [0, 1]
    assert [e.uid for e in train] == sorted(e.uid for e in train)
    texts = {e.uid: (e.text_a, e.label) for e in train + val}
    assert texts["movie-5"] == ("Warm and funny.", 1) and texts["movie-4"] == ("Not much to see.", 0)


def test_vader_validation_keeps_label_shares_of_an_ordered_file(tmp_path, monkeypatch):
    # labels in blocks, as in the real file: a tail split would be all negative
    snippets = "\n".join(f"{i}\t{1.5 if i < 60 else -1.5}\tsnippet {i}" for i in range(100))
    _use_vader(tmp_path, monkeypatch, snippets, validation_size=20)
    root = offline_data.prepare("vader")
    labels = ("negative", "positive")
    val = read_jsonl(root / "movie_sentiment" / "validation" / "en.jsonl", labels)
    assert len(val) == 20 and sum(e.label for e in val) == 12  # 60% positive, as in the file


def test_a_cache_prepared_by_an_older_version_is_rebuilt(tmp_path, monkeypatch):
    _use_vader(tmp_path, monkeypatch, "\n".join(f"{i}\t{1.5 if i % 2 else -1.5}\ts {i}" for i in range(10)), 2)
    root = offline_data.data_root()
    root.mkdir(parents=True)
    (root / ".vader.done").write_text(json.dumps({"source": "vader"}))  # the tail-split version
    offline_data.prepare("vader")
    assert json.loads((root / ".vader.done").read_text())["version"] == offline_data.PREPARATION_VERSION["vader"]
    assert len(read_jsonl(root / "movie_sentiment" / "validation" / "en.jsonl", ("negative", "positive"))) == 2


def test_unknown_source_is_refused():
    with pytest.raises(ValueError, match="allowed values: bigbench, vader"):
        offline_data.prepare("hub")
