"""The book checker's own logic (the browser and PDF parts need chromium/poppler: run by the build)."""
import importlib.util
import json
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("check_book", Path(__file__).parent.parent / "scripts" / "check_book.py")
check_book = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_book)


@pytest.mark.parametrize("text,bad", [("nan", True), ("NaN", True), ("0.000", True), ("+0.000", True),
                                      ("[-0.117, +0.000]", True), ("\u22120.000", True), ("0.0004", False),
                                      ("10.000", False), ("0.417", False), ("-0.056", False), ("nano", False),
                                      ("3", False), ("1,434", False)])
def test_degenerate_pattern(text, bad):
    assert bool(check_book.DEGENERATE.search(text)) is bad


def _glue_nb(path, values):
    outputs = [{"output_type": "display_data", "data": {"application/papermill.record/text/plain": v},
                "metadata": {"scrapbook": {"name": k, "mime_prefix": "application/papermill.record/"}}}
               for k, v in values.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "outputs": outputs, "source": ""}]}))


def test_degenerate_glue_names_page_and_key(tmp_path):
    _glue_nb(tmp_path / "book" / "generated" / "a.ipynb", {"good": "0.417", "ci": "[-0.1, +0.000]", "p": "nan"})
    (tmp_path / "book" / "r.md").write_text("x {glue:}`generated/a.ipynb::good` y {glue:}`generated/a.ipynb::ci` "
                                            "z {glue:text}`generated/a.ipynb::p`")
    bad = check_book.degenerate_glue(tmp_path)
    assert bad == ["book/r.md: ci = [-0.1, +0.000]", "book/r.md: p = nan"]
    assert check_book.degenerate_glue(tmp_path, allow=["ci", "p"]) == []


def test_figure_files_ignore_theme_images(tmp_path):
    (tmp_path / "_images").mkdir()
    (tmp_path / "_static").mkdir()
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "p.html").write_text('<img src="../_images/fig.png"><img src="../_static/logo.png">'
                                              '<img src="../_images/fig.png"><img src="https://x/y.png">')
    assert check_book.figure_files(tmp_path) == {(tmp_path / "_images" / "fig.png").resolve()}


def test_degenerate_glue_applies_the_pages_format_spec(tmp_path):
    _glue_nb(tmp_path / "book" / "generated" / "a.ipynb", {"small": "0.0001", "big": "0.25"})
    (tmp_path / "book" / "r.md").write_text("{glue:text}`generated/a.ipynb::small:.3f` and "
                                            "{glue:text}`generated/a.ipynb::big:.2f` "
                                            "{glue:text}`generated/a.ipynb::small:.1e`")
    assert check_book.degenerate_glue(tmp_path) == ["book/r.md: small = 0.000"]


def test_a_zero_point_difference_is_a_result_a_zero_bound_is_not(tmp_path):
    _glue_nb(tmp_path / "book" / "generated" / "a.ipynb", {"en_delta": "0.0", "en_lo": "0.0", "x_delta": "nan"})
    (tmp_path / "book" / "r.md").write_text("{glue:text}`generated/a.ipynb::en_delta:.3f` "
                                            "{glue:text}`generated/a.ipynb::en_lo:.3f` "
                                            "{glue:text}`generated/a.ipynb::x_delta:.3f`")
    assert check_book.degenerate_glue(tmp_path) == ["book/r.md: en_lo = 0.000", "book/r.md: x_delta = nan"]


def test_markup_left_as_text_is_found_on_the_books_pages(tmp_path):
    (tmp_path / "book" / "generated").mkdir(parents=True)
    (tmp_path / "book" / "ok.html").write_text("<p>change <span>+0.229</span> (<code>char</code>)</p>")
    (tmp_path / "book" / "bad.html").write_text("<p>```{csv-table} Attack success of the <code>char</code> "
                                                "recipe</p><p>{glue:}`generated/a.ipynb::k`</p>")
    (tmp_path / "book" / "generated" / "nb.html").write_text("<pre>{glue:}`x`</pre>")  # a notebook may show it
    assert check_book.unrendered_markup(tmp_path) == ["book/bad.html: '```{csv-table}'"]
