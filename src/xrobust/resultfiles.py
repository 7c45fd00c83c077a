"""Atomic, checksummed result files and completion markers.

A result is written to a temporary file in the same folder and renamed into place, so a
reader sees either the old file or the complete new one. Each JSON result embeds a SHA-256
of its payload; `read_json` refuses a file whose checksum does not match (truncated or edited).
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path


class CorruptResult(ValueError):
    pass


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
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
    return atomic_write_text(path, json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                                              default=str) + "\n")


def read_json(path: Path) -> dict:
    """Read a file written by `write_json`; raise `CorruptResult` if it is incomplete or altered."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
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
    (attack/<condition>_s<seed>.json), so it is cheap enough for a workflow's planning step."""
    by_seed: dict[int, set[str]] = {}
    for f in Path(grid_dir, "attack").glob("*_s*.json"):
        cond, _, seed = f.stem.rpartition("_s")
        if seed.isdigit():
            by_seed.setdefault(int(seed), set()).add(cond)
    return sorted(s for s, conds in by_seed.items() if control in conds and len(conds) > 1)
