"""What a reader sees of an executed notebook (a Sphinx extension, `_config.yml`).

Papermill's executed notebooks carry the notebook's `parameters` cell and the cell papermill
injects (tagged `injected-parameters`); papermill cannot tag the injected cell for the book. On
reading each notebook page this extension tags, in memory only (the file is left as executed):

- the `parameters` and `injected-parameters` cells `remove-cell` (scaffolding, no output);
- a code cell longer than `reader_cells_fold_lines` lines `hide-input` (folded, its output shown),
  unless the notebook already says how its source is shown (`remove-input`, `hide-input`,
  `remove-cell`, `hide-cell`, `show-input`);
- in a notebook run with `role = "demo"` (the README main command's demo grids), the page title
  becomes "Demo run (not the answer): <title>", so that it never reads as the analysis the paper
  quotes, whose notebook it shares.
"""
from __future__ import annotations

import json
import re

SCAFFOLD = {"parameters", "injected-parameters"}
KEEP = {"remove-cell", "remove_cell", "remove-input", "remove_input", "hide-cell", "hide_cell", "hide-input",
        "hide_input", "show-input"}  # the notebook already says how its source is shown


def reader_tags(nb: dict, fold_lines: int = 12) -> int:
    """Tag the cells of notebook `nb` (nbformat JSON) in place; returns how many were tagged."""
    changed = 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        source = cell.get("source", "")
        lines = ("".join(source) if isinstance(source, list) else source).strip().splitlines()
        if SCAFFOLD & set(tags):
            new = "remove-cell"
        elif len(lines) > fold_lines and not KEEP & set(tags):
            new = "hide-input"
        else:
            continue
        if new not in tags:
            tags.append(new)
            changed += 1
    return changed


DEMO_ROLE = re.compile(r"""^role\s*=\s*["']demo["']""", re.M)


def demo_title(nb: dict) -> bool:
    """Prefix the first heading of a notebook run with role "demo"; True if it changed."""
    cells = nb.get("cells", [])
    injected = [c for c in cells if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    text = "".join("".join(c.get("source", "")) for c in injected)
    if not DEMO_ROLE.search(text):
        return False
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = "".join(cell.get("source", ""))
        if source.startswith("# ") and not source.startswith("# Demo run"):
            cell["source"] = "# Demo run (not the answer): " + source[2:]
            return True
        return False
    return False


def _source_read(app, docname, source):
    if not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    try:
        nb = json.loads(source[0])
    except ValueError:
        return
    if demo_title(nb) | bool(reader_tags(nb, app.config.reader_cells_fold_lines)):
        source[0] = json.dumps(nb, ensure_ascii=False)


def setup(app):
    app.add_config_value("reader_cells_fold_lines", 12, "env")
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
