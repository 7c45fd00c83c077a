"""scripts/book_toc.py: pages that cannot be made are left out; the root falls back to book/pending."""
import importlib.util
from pathlib import Path

import yaml

spec = importlib.util.spec_from_file_location("book_toc", Path(__file__).parent.parent / "scripts" / "book_toc.py")
book_toc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(book_toc)

TOC = {"format": "jb-book", "root": "book/index", "parts": [
    {"caption": "Paper", "chapters": [{"file": "book/method"}, {"file": "book/results"}]},
    {"caption": "Notebooks", "chapters": [{"file": "book/generated/analysis_pilot"},
                                          {"file": "book/generated/analysis_default"}]}]}
GLUED = "x {glue:text}`generated/analysis_pilot.ipynb::n_seeds:d` y"


def _book(root, with_pilot):
    (root / "book" / "generated").mkdir(parents=True)
    for page, text in (("index", GLUED), ("results", GLUED), ("method", "no numbers"), ("pending", "pending")):
        (root / "book" / f"{page}.md").write_text(text)
    (root / "book" / "generated" / "analysis_default.ipynb").write_text("{}")
    if with_pilot:
        (root / "book" / "generated" / "analysis_pilot.ipynb").write_text("{}")
    (root / "_toc.yml").write_text(yaml.safe_dump(TOC))


def _files(toc):
    return [c["file"] for p in toc["parts"] for c in p["chapters"]]


def test_answer_present_keeps_every_page(tmp_path, monkeypatch):
    _book(tmp_path, with_pilot=True)
    monkeypatch.chdir(tmp_path)
    book_toc.main("_toc.yml", "out/toc.yml")
    toc = yaml.safe_load(Path("out/toc.yml").read_text())
    assert toc["root"] == "book/index"
    assert _files(toc) == ["book/method", "book/results", "book/generated/analysis_pilot",
                           "book/generated/analysis_default"]


def test_answer_absent_leaves_out_its_pages_and_swaps_the_root(tmp_path, monkeypatch):
    _book(tmp_path, with_pilot=False)
    monkeypatch.chdir(tmp_path)
    book_toc.main("_toc.yml", "out/toc.yml")
    toc = yaml.safe_load(Path("out/toc.yml").read_text())
    assert toc["root"] == "book/pending"
    assert _files(toc) == ["book/method", "book/generated/analysis_default"]
