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


def _page(root, name, body):
    path = root / "book" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><body><article class='bd-article'>{body}</article></body></html>")


def test_a_glued_number_as_a_code_pill_in_prose_fails_glued_text_passes(tmp_path):
    _page(tmp_path, "pill.html", "<p>success rose by <span class='output text_plain'>0.229</span> "
                                 "(missing: <span class='output text_plain'>none</span>)</p>")
    _page(tmp_path, "code.html", "<ul><li>n = <code class='docutils literal'><span class='pre'>305</span></code>"
                                 " in <code>[-0.1, +0.2]</code></li></ul>")
    _page(tmp_path, "ok.html", "<p>success rose by <span class='pasted-text'>0.229</span> for <code>char</code>"
                               " in <code>results/pilot</code></p><pre><code>305</code></pre>")
    bad = check_book.code_pills(tmp_path)
    assert bad == ["book/code.html: code '305'", "book/code.html: code '[-0.1, +0.2]'",
                   "book/pill.html: glue output '0.229'", "book/pill.html: glue output 'none'"]


def test_number_code_pattern():
    for text in ("305", "0.845", "+0.229", "\u22120.1", "[-0.117,+0.041]", "12%", "1,434"):
        assert check_book.NUMBER_CODE.match(text), text
    for text in ("char", "s0", "direct_s0", "configs/default.yaml", "e5-small", "v1.2"):
        assert not check_book.NUMBER_CODE.match(text), text


def test_a_chapter_the_toc_names_but_the_build_lacks_fails(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: book/index\nparts:\n  - caption: P\n    chapters:\n"
                   "      - file: book/a\n      - file: book/generated/walkthrough\n"
                   "      - file: book/generated/analysis_default\n      - file: book/runs\n"
                   "        sections:\n          - glob: runs/*\n")
    for page in ("index", "a", "runs"):
        _page(tmp_path, f"{page}.html", "")
    bad, notes = check_book.missing_chapters(tmp_path, toc)
    assert bad == ["book/generated/walkthrough"]
    assert notes == ["book/generated/analysis_default (made only by the main command's demo grid)"]
    assert check_book.missing_chapters(tmp_path, toc, allow=["book/generated/walkthrough"])[0] == []


def test_layout_findings_read_from_the_dom():
    dom = "<body><pre id='layout-probe'>LAYOUT\nCUT table \"a &amp; b\" runs 40 px past the page\nEND</pre></body>"
    assert check_book.layout_findings(dom) == ['CUT table "a & b" runs 40 px past the page']
    assert check_book.layout_findings("<body></body>") == ["PROBE the page did not report its layout"]


@pytest.mark.skipif(not check_book.shutil.which("chromium"), reason="needs Debian's chromium")
def test_a_wide_table_fails_a_fitting_or_scrolling_one_passes(tmp_path):
    cells = "".join(f"<td>column_{i}_with_a_long_unbreakable_name</td>" for i in range(12))
    wide = f"<table><tr>{cells}</tr></table>"
    _page(tmp_path, "wide.html", f"<p>text</p>{wide}")
    _page(tmp_path, "scroll.html", f"<div style='overflow-x:auto'>{wide}</div>")
    _page(tmp_path, "fits.html", "<table><tr><td>1</td><td>2</td></tr></table><pre>short code</pre>")
    pages = sorted((tmp_path / "book").glob("*.html"))
    cut, scrolls = check_book.layout_problems(pages, tmp_path, 800)
    assert len(cut) == 1 and cut[0].startswith("book/wide.html: table")
    assert len(scrolls) == 1 and scrolls[0].startswith("book/scroll.html: table")
    cut, _ = check_book.layout_problems([tmp_path / "book" / "scroll.html"], tmp_path, 800, print_mode=True)
    assert len(cut) == 1  # a scroll box prints cut


def test_glue_roles_that_print_code_are_found_in_the_markdown(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "r.md").write_text("a {glue:}`nb.ipynb::k` b {glue:text}`nb.ipynb::j`\n{glue}`x`\n"
                                            "```{glue:figure} fig\n```\n")
    assert check_book.glue_code_roles(tmp_path) == ["book/r.md:1: {glue:}`nb.ipynb::k`", "book/r.md:2: {glue:}`x`"]
