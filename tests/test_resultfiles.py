"""Result files: plain and gzip-compressed JSON, checksums, listing."""
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xrobust import resultfiles
from xrobust.resultfiles import CorruptResult, read_json, result_files, result_stem, write_json

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = {"rows": [{"language": "de", "records": [{"uid": f"u{i}", "perturbed": "Das Hotle ist gut."}
                                                   for i in range(200)]}], "complete": True}


def test_gz_path_is_written_compressed_and_reads_back_the_same_payload(tmp_path):
    plain = write_json(tmp_path / "a.json", PAYLOAD)
    packed = write_json(tmp_path / "a.json.gz", PAYLOAD)
    assert packed.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()  # same document inside
    assert packed.stat().st_size * 5 < plain.stat().st_size  # repetitive records compress well
    assert read_json(packed) == read_json(plain) == PAYLOAD
    # the bytes depend on the payload only (no timestamp in the gzip header): re-runs diff cleanly
    again = write_json(tmp_path / "b.json.gz", PAYLOAD)
    assert again.read_bytes() == packed.read_bytes()


def test_damaged_gz_and_altered_payload_are_refused(tmp_path):
    p = write_json(tmp_path / "a.json.gz", PAYLOAD)
    data = p.read_bytes()
    p.write_bytes(data[:len(data) // 2])  # truncated (a copy cut short)
    with pytest.raises(CorruptResult, match="not a complete gzip file"):
        read_json(p)
    assert not resultfiles.is_complete(p)
    doc = json.loads(gzip.decompress(data))
    doc["payload"]["complete"] = False  # edited by hand, checksum left as it was
    p.write_bytes(gzip.compress(json.dumps(doc).encode()))
    with pytest.raises(CorruptResult, match="checksum mismatch"):
        read_json(p)


def test_result_stem_and_listing(tmp_path):
    assert result_stem("results/g/attack/inter-vitaminc_s12.json.gz") == "inter-vitaminc_s12"
    assert result_stem("results/g/target/direct_s0.json") == "direct_s0"
    write_json(tmp_path / "attack" / "direct_s0.json.gz", PAYLOAD)
    write_json(tmp_path / "attack" / "direct_s1.json", PAYLOAD)  # the older, plain form still counts
    (tmp_path / "attack" / ".direct_s2.json.gz.partial").write_text("{}")  # unfinished: not a result
    (tmp_path / "attack" / "notes.txt").write_text("")
    write_json(tmp_path / "target" / "direct_s0.json", PAYLOAD)
    assert [p.relative_to(tmp_path).as_posix() for p in result_files(tmp_path / "attack")] == \
        ["attack/direct_s0.json.gz", "attack/direct_s1.json"]
    assert len(result_files(tmp_path)) == 3 and len(result_files([tmp_path / "target", tmp_path / "nothing"])) == 1
    assert resultfiles.compared_seeds(tmp_path) == []  # only the control
    write_json(tmp_path / "attack" / "inter-x_s1.json.gz", PAYLOAD)
    assert resultfiles.compared_seeds(tmp_path) == [1]


def test_attack_out_path_must_be_a_json_file():
    from xrobust.params import AttackParams

    with pytest.raises(ValueError, match=r"invalid 'out_path': 'a\.csv'; expected a \.json or \.json\.gz file"):
        AttackParams(out_path="a.csv").validate()


def test_result_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o027)
    try:
        p = write_json(tmp_path / "a.json.gz", PAYLOAD)
    finally:
        os.umask(old)
    assert p.stat().st_mode & 0o777 == 0o640  # 0666 under the umask, not mkstemp's 0600


def _training_result(**changes):
    doc = {"config": {"step": "intermediate", "task": "movie_sentiment", "seed": 0, "lr": 1e-4},
           "train": {"steps": 250, "tokens": 235255, "loss_first": 0.6878, "loss_last": 0.3604, "seconds": 173.2},
           "eval": {"n": 991, "accuracy": 0.889, "macro_f1": 0.8889, "majority_rate": 0.5045}}
    for key, value in changes.items():
        part, _, field = key.partition("__")
        doc[part] = value if not field else {**doc[part], field: value}
    return doc


def test_a_remade_run_is_the_committed_model_only_if_everything_recorded_agrees(tmp_path):
    from xrobust.resultfiles import recorded_weights, remade_differences, write_json
    grid = tmp_path / "powered"
    scored = {"model": {"checkpoint": {"weights_sha256": "aaa", "seed": 2}}}
    write_json(grid / "retrieval" / "intermediate" / "movie_sentiment_s2_paragraph.json", scored)
    write_json(grid / "retrieval_middle" / "intermediate" / "movie_sentiment_s2_paragraph.json", scored)
    write_json(grid / "retrieval_attack" / "intermediate" / "movie_sentiment_s2_paragraph.json", {"rows": []})
    write_json(grid / "retrieval" / "intermediate" / "movie_sentiment_s12_paragraph.json",
               {"model": {"checkpoint": {"weights_sha256": "other seed"}}})
    assert recorded_weights(grid, "intermediate", "movie_sentiment", 2) == {"aaa"}
    assert recorded_weights(grid, "intermediate", "movie_sentiment", 0) == set()

    committed = _training_result()
    timing = _training_result(train__seconds=99.0)  # run time may differ
    assert remade_differences(committed, timing, "aaa", {"aaa"}) == []
    assert remade_differences(committed, _training_result(), "bbb", set()) == []  # nothing recorded to compare
    assert remade_differences(committed, _training_result(train__loss_last=0.3605), "aaa", {"aaa"}) == [
        "train.loss_last: committed 0.3604, remade 0.3605"]
    assert remade_differences(committed, _training_result(), "bbb", {"aaa"}) == [
        "weights sha256: recorded ['aaa'], remade 'bbb'"]
    changed = remade_differences(committed, _training_result(config={**committed["config"], "lr": 3e-5},
                                                             eval__accuracy=0.5), "aaa", {"aaa"})
    assert [d.split(":")[0] for d in changed] == ["config", "eval.accuracy"]


def test_remake_checkpoint_refuses_bad_arguments_before_any_compute(tmp_path):
    import yaml

    config = {**yaml.safe_load((ROOT / "configs" / "powered.yaml").read_text()), "name": "scratch", "seeds": [0, 1]}
    (tmp_path / "scratch.yaml").write_text(yaml.safe_dump(config))
    cases = [(["mnli", "0"], "invalid task 'mnli'; allowed values: vitaminc, movie_sentiment"),
             (["vitaminc", "12"], "invalid seed 12; allowed values: 0, 1"),
             (["vitaminc", "1"], "results/scratch/intermediate/vitaminc_s1.json is not there")]
    for args, message in cases:
        out = subprocess.run([sys.executable, str(ROOT / "scripts" / "remake_checkpoint.py"), "scratch.yaml", *args],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert out.returncode == 2 and message in out.stderr, (args, out.stderr[-800:])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scratch.yaml"]  # nothing made
