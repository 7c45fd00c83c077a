"""The last lines of the main command: what ran, what was skipped, the re-run check, where the book is.

    python scripts/run_summary.py --config configs/default.yaml [--status 0]

Reads only what the run left behind: the config (its name and opening comment), Snakemake's
newest log under .snakemake/log (the jobs this run executed; finished outputs are skipped),
`_toc.yml` against this build's `_build/toc.yml` (pages left out), the demo pages' glued re-run
verdict (`compare_outcome_agreement` of book/generated/analysis_default.ipynb for the SIB-200 demo,
`ret_rerun_identical` of book/generated/retrieval_demo.ipynb for the retrieval demo) and the paths of the HTML
book and the PDF. Prints a short block; never fails the run (exit status 0 unless the given
`--status` is non-zero, which it passes on).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path

import yaml

WHY = {
    "configs/default.yaml": "the README main command's demo grid (its data could be had)",
    "configs/demo_retrieval.yaml": "the fallback demo: the data of configs/default.yaml could not be had "
                                   "(the 'xrobust:' lines above say which source and how to supply it)",
}


def config_line(config: Path) -> str:
    name = yaml.safe_load(config.read_text(encoding="utf-8")).get("name", "?")
    head = []
    for line in config.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        head.append(line.lstrip("# ").strip())
    first = " ".join(head).split(". ")[0].rstrip(".") if head else ""
    why = WHY.get(config.as_posix(), "the grid given by CONFIG")
    return f"grid {name!r} ({config.as_posix()}): {why}" + (
        "\n" + textwrap.fill(first + ".", 96, initial_indent="  ", subsequent_indent="  ") if first else "")


def jobs_run(log_dir: Path) -> str:
    """The rules Snakemake's newest log executed, from its 'Job stats' table."""
    logs = sorted(log_dir.glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime) if log_dir.is_dir() else []
    if not logs:
        return "no Snakemake log found"
    text = logs[-1].read_text(encoding="utf-8", errors="replace")
    if "Nothing to be done" in text:
        return "none: every output was already there and up to date (finished outputs are skipped)"
    table = text.split("Job stats:", 1)
    if len(table) < 2:
        return f"see {logs[-1]}"
    counts = {}
    for line in table[1].splitlines()[3:]:
        m = re.match(r"^(\S+)\s+(\d+)\s*$", line)
        if not m:
            break
        if m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    done = len(re.findall(r"^Finished job", text, re.M))
    failed = len(re.findall(r"^Error in rule", text, re.M))
    listed = ", ".join(f"{k} {v}" for k, v in counts.items())
    return f"{listed} ({done} finished{f', {failed} failed' if failed else ''}; outputs already there were skipped)"


def toc_files(toc: dict) -> list[str]:
    out = []

    def walk(entries):
        for e in entries:
            if "file" in e:
                out.append(e["file"])
            walk(e.get("sections", []) + e.get("chapters", []))
    walk(toc.get("parts", []))
    return out


def left_out(toc: Path, built: Path) -> list[str]:
    if not built.exists():
        return [f"(no {built}: the book was not built)"]
    full = yaml.safe_load(toc.read_text(encoding="utf-8"))
    made = set(toc_files(yaml.safe_load(built.read_text(encoding="utf-8"))))
    return [f for f in toc_files(full) if f not in made]


def glued(notebook: Path, key: str) -> str | None:
    if not notebook.exists():
        return None
    for cell in json.loads(notebook.read_text(encoding="utf-8")).get("cells", []):
        for o in cell.get("outputs", []):
            meta = o.get("metadata", {}).get("scrapbook")
            if meta and meta.get("name") == key:
                text = o.get("data", {}).get(meta.get("mime_prefix", "") + "text/plain", "")
                return text.strip("'\"")
    return None


def classification_verdict(root: Path) -> str | None:
    """The SIB-200 demo page's re-run check (its models against the committed copy of the demo grid)."""
    notebook = root / "book/generated/analysis_default.ipynb"
    share, cells = glued(notebook, "compare_outcome_agreement"), glued(notebook, "compare_n_cells")
    if share is None or cells in (None, "0"):
        return None
    diff = glued(notebook, "compare_clean_max_abs_diff")
    try:
        ok = float(share) >= 0.99
    except ValueError:
        return share
    return (f"{'MATCHED' if ok else 'DIFFERS'}: {float(share):.1%} of {cells} attacked (language, recipe, item) "
            f"cells have the committed outcome; clean accuracy differs by at most {diff} (book: the demo page)")


def rerun_verdict(root: Path) -> str:
    verdict = classification_verdict(root)
    if verdict is not None:
        return verdict
    share = glued(root / "book/generated/retrieval_demo.ipynb", "ret_rerun_identical")
    if share is None:
        return "none for this grid (no committed grid of the same seeds to compare with)"
    if share == "n/a":
        return "not possible: no result file of this run has a committed twin"
    try:
        ok = float(share) == 1.0
    except ValueError:
        return share
    return (f"MATCHED: every re-made result file has the committed outcomes (share identical {share})" if ok
            else f"DIFFERS: the lowest share of identical outcomes is {share} (book: the demo page's re-run check)")


def summary(config: Path, root: Path = Path("."), status: int = 0) -> str:
    html, pdf = root / "_build/html/index.html", root / "_build/paper.pdf"
    lines = ["", "=" * 72, "Summary of this run" + ("" if status == 0 else f" (it FAILED, exit status {status})"),
             f"- ran: {config_line(config)}",
             f"- jobs executed: {jobs_run(root / '.snakemake/log')}"]
    gone = left_out(root / "_toc.yml", root / "_build/toc.yml")
    lines.append("- pages left out of the book: " + (", ".join(gone) if gone else "none"))
    lines.append(f"- re-run check: {rerun_verdict(root)}")
    lines.append(f"- book: {html.resolve() if html.exists() else 'not built'}")
    lines.append(f"- PDF:  {pdf.resolve() if pdf.exists() else 'not built'}")
    lines.append("=" * 72)
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--root", type=Path, default=Path("."))
    ap.add_argument("--status", type=int, default=0, help="the run's exit status so far (passed on)")
    a = ap.parse_args(argv)
    try:
        print(summary(a.config, a.root, a.status))
    except Exception as e:  # a summary must never hide the run's own outcome
        print(f"run_summary: could not summarise the run ({type(e).__name__}: {e})", file=sys.stderr)
    return a.status


if __name__ == "__main__":
    sys.exit(main())
