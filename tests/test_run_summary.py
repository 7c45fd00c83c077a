"""The main command's closing summary, from what a run leaves behind."""
import importlib.util
import json
from pathlib import Path

PATH = Path(__file__).parent.parent / "scripts" / "run_summary.py"
spec = importlib.util.spec_from_file_location("run_summary", PATH)
run_summary = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_summary)

LOG = """Building DAG of jobs...
Job stats:
job           count
----------  -------
target            3
attack            3
book              1
total             7

Finished jobid: 1 (Rule: target)
Finished jobid: 2 (Rule: target)
"""


def _tree(root, rerun=None):
    (root / "configs").mkdir(parents=True)
    (root / "configs" / "default.yaml").write_text("# Demo grid of the main command: SIB-200. More.\nname: default\n")
    (root / ".snakemake" / "log").mkdir(parents=True)
    (root / ".snakemake" / "log" / "2026-01-01T000000.snakemake.log").write_text(LOG)
    (root / "_toc.yml").write_text("root: book/index\nparts:\n  - chapters:\n      - file: book/a\n"
                                   "      - file: book/generated/walkthrough\n")
    (root / "_build" / "html").mkdir(parents=True)
    (root / "_build" / "toc.yml").write_text("root: book/index\nparts:\n  - chapters:\n      - file: book/a\n")
    (root / "_build" / "html" / "index.html").write_text("")
    if rerun is not None:
        nb = root / "book" / "generated" / "retrieval_demo.ipynb"
        nb.parent.mkdir(parents=True)
        prefix = "application/papermill.record/"
        out = {"output_type": "display_data", "data": {prefix + "text/plain": repr(rerun)},
               "metadata": {"scrapbook": {"name": "ret_rerun_identical", "mime_prefix": prefix}}}
        nb.write_text(json.dumps({"cells": [{"cell_type": "code", "source": "", "outputs": [out]}]}))


def test_summary_says_what_ran_what_was_left_out_and_where_the_book_is(tmp_path, monkeypatch):
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    text = run_summary.summary(Path("configs/default.yaml"))
    assert "grid 'default' (configs/default.yaml): the README main command's demo grid" in text
    assert "Demo grid of the main command: SIB-200." in text
    assert "jobs executed: target 3, attack 3, book 1 (2 finished" in text
    assert "pages left out of the book: book/generated/walkthrough" in text
    assert "re-run check: none for this grid" in text
    assert "index.html" in text and "PDF:  not built" in text


def test_summary_gives_the_rerun_verdict_and_passes_the_status_on(tmp_path, monkeypatch, capsys):
    _tree(tmp_path, rerun="0.875")
    monkeypatch.chdir(tmp_path)
    text = run_summary.summary(Path("configs/default.yaml"))
    assert "DIFFERS: the lowest share of identical outcomes is 0.875" in text
    (tmp_path / "book" / "generated" / "retrieval_demo.ipynb").unlink()
    _tree(tmp_path / "b", rerun="1.000")
    monkeypatch.chdir(tmp_path / "b")
    assert run_summary.main(["--config", "configs/default.yaml", "--status", "3"]) == 3
    out = capsys.readouterr().out
    assert "MATCHED" in out and "FAILED, exit status 3" in out


def _glue_notebook(path: Path, values: dict) -> None:
    prefix = "application/papermill.record/"
    outs = [{"output_type": "display_data", "data": {prefix + "text/plain": repr(v)},
             "metadata": {"scrapbook": {"name": k, "mime_prefix": prefix}}} for k, v in values.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": "", "outputs": outs}]}))


def test_summary_reads_the_classification_demos_rerun_check(tmp_path, monkeypatch):
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    notebook = Path("book/generated/analysis_default.ipynb")
    _glue_notebook(notebook, {"compare_outcome_agreement": 1.0, "compare_n_cells": 240,
                              "compare_clean_max_abs_diff": 0.0})
    assert "MATCHED: 100.0% of 240 attacked" in run_summary.summary(Path("configs/default.yaml"))
    _glue_notebook(notebook, {"compare_outcome_agreement": 0.9, "compare_n_cells": 240,
                              "compare_clean_max_abs_diff": 0.02})
    assert "DIFFERS: 90.0% of 240" in run_summary.summary(Path("configs/default.yaml"))
    _glue_notebook(notebook, {"compare_outcome_agreement": float("nan"), "compare_n_cells": 0})
    assert "re-run check: none for this grid" in run_summary.summary(Path("configs/default.yaml"))
