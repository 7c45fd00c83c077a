"""The book's notebook pages: scaffolding removed, long code folded, demo pages titled as demos."""
import importlib.util
from pathlib import Path

PATH = Path(__file__).parent.parent / "book" / "_ext" / "reader_cells.py"
spec = importlib.util.spec_from_file_location("reader_cells", PATH)
reader_cells = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reader_cells)


def _cell(source, tags=(), kind="code"):
    return {"cell_type": kind, "metadata": {"tags": list(tags)}, "source": source}


def test_parameters_and_injected_cells_are_removed_long_code_folded():
    nb = {"cells": [_cell("# Title", kind="markdown"), _cell("x = 1", ["parameters"]),
                    _cell("x = 2", ["injected-parameters"]), _cell("\n".join(["y = 1"] * 20)),
                    _cell("\n".join(["z = 1"] * 20), ["remove-stderr"]), _cell("\n".join(["w"] * 20), ["show-input"]),
                    _cell("short")]}
    assert reader_cells.reader_tags(nb, fold_lines=12) == 4
    tags = [c["metadata"]["tags"] for c in nb["cells"]]
    assert tags[1] == ["parameters", "remove-cell"] and tags[2] == ["injected-parameters", "remove-cell"]
    assert tags[3] == ["hide-input"] and tags[4] == ["remove-stderr", "hide-input"]
    assert tags[5] == ["show-input"] and tags[6] == [] and tags[0] == []
    assert reader_cells.reader_tags(nb, fold_lines=12) == 0  # idempotent


def test_a_demo_run_gets_a_demo_title_the_answer_keeps_its_own():
    def nb(role):
        return {"cells": [_cell("# Retrieval analysis: UDHR\n\ntext", kind="markdown"),
                          _cell('role = "answer"', ["parameters"]),
                          _cell(f'role = "{role}"\n', ["injected-parameters"])]}
    demo, answer = nb("demo"), nb("answer")
    assert reader_cells.demo_title(demo) and not reader_cells.demo_title(answer)
    assert demo["cells"][0]["source"].startswith("# Demo run (not the answer): Retrieval analysis: UDHR")
    assert answer["cells"][0]["source"].startswith("# Retrieval analysis")
    assert not reader_cells.demo_title(demo)  # once only
