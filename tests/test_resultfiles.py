"""Result files: plain and gzip-compressed JSON, checksums, listing."""
import gzip
import json
import os

import pytest

from xrobust import resultfiles
from xrobust.resultfiles import CorruptResult, read_json, result_files, result_stem, write_json

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
