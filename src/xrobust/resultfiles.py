"""Atomic, checksummed result files and completion markers.

A result is written to a temporary file in the same folder and renamed into place, so a
reader sees either the old file or the complete new one. Each JSON result embeds a SHA-256
of its payload; `read_json` refuses a file whose checksum does not match (truncated or edited).
A result path ending in `.json.gz` is written gzip-compressed (attack files: their per-item
records and texts are most of the committed tree, and gzip makes them five times smaller);
`read_json` reads both forms, and `result_files` lists both.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
from pathlib import Path

RESULT_SUFFIXES = (".json", ".json.gz")
_GZIP_MAGIC = b"\x1f\x8b"


class CorruptResult(ValueError):
    pass


def result_stem(path) -> str:
    """The name of a result file without its suffix: `direct_s0` for attack/direct_s0.json.gz."""
    name = Path(path).name
    for suffix in (".json.gz", ".json"):  # the longer one first
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return Path(path).stem


def result_files(paths, pattern: str = "*") -> list[Path]:
    """The result files (.json, .json.gz) among `paths`: files as given, folders searched
    recursively, each folder's files sorted by path."""
    out = []
    for p in [paths] if isinstance(paths, (str, Path)) else paths:
        p = Path(p)
        if p.is_dir():
            out += sorted({f for suffix in RESULT_SUFFIXES for f in p.rglob(pattern + suffix)})
        elif p.is_file():
            out.append(p)
    return out


def _file_mode() -> int:
    """The mode of a newly created file under the process's umask (mkstemp's own is 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _file_mode())  # readable like any other file (e.g. by a cluster's group)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def _digest(payload) -> str:
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def write_json(path: Path, payload: dict) -> Path:
    """Write `payload` plus its checksum atomically. Compact (no indentation): an attack file of
    200 items in 11 languages is half the size, and the committed results travel with every copy
    of the working tree (the checksum covers the payload, not the layout)."""
    doc = {"payload": payload, "sha256": _digest(payload)}
    data = (json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str) + "\n").encode()
    if str(path).endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)  # mtime 0: same payload, same bytes
    return atomic_write_bytes(path, data)


def read_json(path: Path) -> dict:
    """Read a file written by `write_json`; raise `CorruptResult` if it is incomplete or altered."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        if raw[:2] == _GZIP_MAGIC:
            raw = gzip.decompress(raw)
        doc = json.loads(raw.decode("utf-8"))
    except (OSError, EOFError) as e:  # a truncated or damaged gzip stream
        raise CorruptResult(f"{path}: not a complete gzip file ({e})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CorruptResult(f"{path}: not valid JSON ({e})") from None
    if not isinstance(doc, dict) or "payload" not in doc or "sha256" not in doc:
        raise CorruptResult(f"{path}: missing payload/checksum")
    if _digest(doc["payload"]) != doc["sha256"]:
        raise CorruptResult(f"{path}: checksum mismatch")
    return doc["payload"]


def is_complete(path: Path) -> bool:
    """True when `path` exists and passes its checksum."""
    try:
        read_json(path)
        return True
    except (FileNotFoundError, CorruptResult):
        return False


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def partial_path(out: Path) -> Path:
    """Where a long step keeps the rows of an unfinished result file `out`: beside it, because a
    workflow manager deletes the outputs of a job it stops, and the progress must survive that."""
    out = Path(out)
    return out.parent / f".{out.name}.partial"


def finished_rows(out: Path, config: dict, key) -> dict:
    """{key(row): row} of the result file `out`, or else of its partial file, when that file was
    written with the same `config`; {} otherwise (an unreadable partial file is recomputed)."""
    for path in (Path(out), partial_path(out)):
        if path.exists():
            try:
                prev = read_json(path)
            except CorruptResult:
                continue
            if prev.get("config") == config:
                return {key(r): r for r in prev["rows"]}
    return {}


def compared_seeds(grid_dir: Path, control: str = "direct") -> list[int]:
    """Seeds of a grid folder with a complete attack file of `control` and of at least one other
    condition: the seeds a paired analysis can use (a grid that is still growing may have none
    yet, e.g. while only its first seed's control model has been attacked). Read from file names
    (attack/<condition>_s<seed>.json.gz), so it is cheap enough for a workflow's planning step."""
    by_seed: dict[int, set[str]] = {}
    for f in result_files(Path(grid_dir, "attack"), "*_s*"):
        cond, _, seed = result_stem(f).rpartition("_s")
        if seed.isdigit():
            by_seed.setdefault(int(seed), set()).add(cond)
    return sorted(s for s, conds in by_seed.items() if control in conds and len(conds) > 1)


# ---------------------------------------------------------------- remade checkpoints
# A checkpoint stays on the machine that trained it; a retrieval job that reads it later needs it
# remade (scripts/remake_checkpoint.py), and a remade checkpoint is used only if it is the model the
# committed result file describes.
REMADE_CHECKS = (("config", None), ("train", "steps"), ("train", "tokens"), ("train", "loss_first"),
                 ("train", "loss_last"), ("eval", "n"), ("eval", "accuracy"), ("eval", "macro_f1"))


def recorded_weights(grid_dir, stage: str, name: str, seed: int) -> set[str]:
    """The sha256 of the weights of checkpoint `<stage>/<name>_s<seed>` as the grid's retrieval
    result files (<step>/<stage>/<name>_s<seed>_<granularity>.json) recorded it (empty when none did)."""
    out = set()
    for path in sorted(Path(grid_dir).glob(f"*/{stage}/{name}_s{seed}_*.json")):
        sha = read_json(path).get("model", {}).get("checkpoint", {}).get("weights_sha256")
        if sha:
            out.add(sha)
    return out


def remade_differences(committed: dict, remade: dict, weights_sha256: str, recorded: set[str]) -> list[str]:
    """How a remade training run departs from its committed result file: its config, steps, tokens,
    first and last losses and evaluation must be equal, and its weights those that committed
    retrieval files recorded for the checkpoint (if any did). Empty: the same model."""
    diffs = []
    for part, key in REMADE_CHECKS:
        a = committed[part] if key is None else committed[part].get(key)
        b = remade[part] if key is None else remade[part].get(key)
        if a != b:
            diffs.append(f"{part}{'.' + key if key else ''}: committed {a!r}, remade {b!r}")
    if recorded and recorded != {weights_sha256}:
        diffs.append(f"weights sha256: recorded {sorted(recorded)}, remade {weights_sha256!r}")
    return diffs
