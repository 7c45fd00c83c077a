"""Rewrite the parameters cells of the step notebooks from the dataclasses in xrobust.params.

Run after changing a parameter (name, type, default or help); tests/test_params.py fails
until the notebooks agree with the dataclasses.
"""
from pathlib import Path

import nbformat

from xrobust.params import STEP_NOTEBOOKS, parameters_cell
from xrobust.tagging.params import TaggingParams

ROOT = Path(__file__).resolve().parent.parent

# the tagging family's notebook too (its dataclass lives in its own room, above params)
for rel, cls in {**STEP_NOTEBOOKS, "notebooks/08_tagging.ipynb": TaggingParams}.items():
    path = ROOT / rel
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = parameters_cell(cls)
    nbformat.write(nb, path)
    print(f"{rel}: {len(cls.defaults())} parameters")
