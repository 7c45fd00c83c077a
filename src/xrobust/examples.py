"""Labelled examples and the JSONL files they are stored in (fields: id?, text_a, text_b?, label)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .resultfiles import atomic_write_text


@dataclass(frozen=True)
class Example:
    text_a: str
    label: int
    text_b: str | None = None
    uid: str = ""


def read_jsonl(path: Path, labels: tuple[str, ...]) -> list[Example]:
    out = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            row = json.loads(line)
            out.append(Example(text_a=str(row["text_a"]), text_b=row.get("text_b"),
                               label=label_id(row["label"], labels, path),
                               uid=str(row.get("id", f"{path.stem}-{i}"))))
    return out


def write_jsonl(path: Path, rows: list[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def label_id(label, labels: tuple[str, ...], where) -> int:
    """The index of `label` (a name or an id) in `labels`; `where` names the source in errors."""
    if isinstance(label, str):
        if label not in labels:
            raise ValueError(f"{where}: label {label!r} not in {labels}")
        return labels.index(label)
    label = int(label)
    if not 0 <= label < len(labels):
        raise ValueError(f"{where}: label id {label} outside 0..{len(labels) - 1}")
    return label
