"""Write the table of contents of this build: `_toc.yml` without the pages it cannot show.

    python scripts/book_toc.py _toc.yml _build/toc.yml

A page is left out when its file is missing (a notebook that was not made, e.g. the walkthrough
without a checkpoint) or when it glues numbers from a notebook that was not made (the answer
grid's analysis while results/pilot has no result files). When that leaves out the root page,
`book/pending.md` (which says so) becomes the root.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

GLUE_SOURCE = re.compile(r"\{glue(?::[a-z]*)?\}`([^`:]+?\.ipynb)::")
PENDING_ROOT = "book/pending"


def page_file(entry: str) -> Path | None:
    return next((Path(entry + ext) for ext in ("", ".md", ".ipynb") if Path(entry + ext).is_file()), None)


def missing_reason(entry: dict) -> str | None:
    if "glob" in entry:
        return None if any(p.suffix in (".md", ".ipynb") for p in Path().glob(entry["glob"])) else "no files"
    if "file" not in entry:
        return None
    path = page_file(entry["file"])
    if path is None:
        return "not made by this build"
    if path.suffix == ".md":
        sources = {(path.parent / nb) for nb in GLUE_SOURCE.findall(path.read_text(encoding="utf-8"))}
        absent = sorted(str(s) for s in sources if not s.exists())
        if absent:
            return f"its numbers come from {', '.join(absent)}, not made by this build"
    return None


def prune(entries: list) -> list:
    kept = []
    for e in entries:
        reason = missing_reason(e)
        if reason:
            print(f"book_toc: left out {e.get('file') or e.get('glob')}: {reason}")
            continue
        for key in ("sections", "chapters"):
            if key in e:
                e[key] = prune(e[key])
                if not e[key]:
                    del e[key]
        kept.append(e)
    return kept


def main(src: str, dst: str) -> None:
    toc = yaml.safe_load(Path(src).read_text(encoding="utf-8"))
    if missing_reason({"file": toc["root"]}):
        print(f"book_toc: root {toc['root']} cannot be made: {PENDING_ROOT} is the root")
        toc["root"] = PENDING_ROOT
    for part in toc.get("parts", []):
        part["chapters"] = prune(part["chapters"])
    toc["parts"] = [p for p in toc.get("parts", []) if p["chapters"]]
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    Path(dst).write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:3])
