"""Check the built HTML book the way a reader sees it.

    python scripts/check_book.py [_build/html] [--screenshot shot.png] [--pdf _build/paper.pdf]

1. every internal link and image of every page points at a file that exists;
2. the results page renders in headless Chromium with its figures loaded (naturalWidth > 0)
   and no unresolved glue (a `{glue` literal left in the text); no page of the book's Markdown
   shows a glue role or directive fence as text;
3. no number glued into the book reads `nan` or `0.000` (a degenerate statistic or one
   rounded away); `--allow-zero KEY` accepts a key whose value is known to be exactly zero;
4. with `--pdf`: the PDF has at least `--min-pages` pages and embeds every figure of the
   HTML book (poppler's `pdfinfo`/`pdfimages`, Debian package `poppler-utils`);
5. optionally saves a screenshot of the results page;
6. no number in prose reads as a code pill: no `{glue:}` role in the book's Markdown (it prints
   a glued value as inline code; `{glue:text}` prints it as prose), and on the pages written from
   the Markdown no inline glue output and no inline `code` holding only a number or interval;
7. every page the table of contents (`--toc`, default `_toc.yml` beside the source) names was
   built (a page left out says why in `scripts/book_toc.py`'s output; `--allow-missing PAGE`
   accepts one, e.g. a demo page only the main command makes);
8. nothing is cut at the right edge, in Chromium at the reader's width (1280 px) on every page:
   a table, code block, figure or math wider than the article must scroll in its own box, not
   run past the page; and the same for print (`--pdf`): the one-page book the PDF is printed
   from, at the printed width with the `@media print` rules applied, where nothing may scroll
   (a scroll box prints cut, with its scrollbar); and in the PDF itself no text may run past
   the right margin (poppler's `pdftotext -bbox`).
Exits non-zero on any problem. Needs Debian's `chromium`.
"""
from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.images = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.refs.append(a["href"])
        if tag == "img" and a.get("src"):
            self.refs.append(a["src"])
            self.images.append(a["src"])


def broken_links(root: Path) -> list[str]:
    bad = []
    for page in root.rglob("*.html"):
        p = Refs()
        p.feed(page.read_text(encoding="utf-8", errors="replace"))
        for ref in p.refs:
            u = urlparse(ref)
            if u.scheme or ref.startswith(("#", "mailto:", "//")) or not u.path:
                continue
            target = (page.parent / unquote(u.path)).resolve()
            if not target.exists():
                bad.append(f"{page.relative_to(root)} -> {ref}")
    return bad


# MyST markup that reached a page as text: a fence whose info string holds a backtick is no fence
# (CommonMark), so the directive, and every glue role after it, is printed as written
UNRENDERED = re.compile(r"\{glue(?::[a-z]*)?\}`|`{3,}\{[a-z-]+\}")


def unrendered_markup(root: Path) -> list[str]:
    """Pages written from the book's Markdown (not the executed notebooks) whose visible text
    still holds a glue role or a directive fence."""
    bad = []
    for page in sorted((root / "book").glob("*.html")):
        text = re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8", errors="replace"))
        found = UNRENDERED.search(html.unescape(text))
        if found:
            bad.append(f"{page.relative_to(root)}: {found.group(0)!r}")
    return bad


# {glue:text}`path.ipynb::key:.2f`: notebook, key and the optional format spec the page applies
GLUE_REF = re.compile(r"\{glue(?::[a-z]*)?\}`(?:([^`]+?\.ipynb)::)?([^`:]+)(?::([^`]*))?`")
DEGENERATE = re.compile(r"(?<![\w.])(?:nan|[+\-\u2212]?0\.000+)(?![\w.])", re.IGNORECASE)
MIN_FIGURE_PX = 50  # smaller images in the PDF are theme icons, not figures


def glued_values(notebook: Path) -> dict[str, str]:
    """key -> text/plain of every `glue(...)` output of an executed notebook."""
    out = {}
    for cell in json.loads(notebook.read_text(encoding="utf-8")).get("cells", []):
        for o in cell.get("outputs", []):
            meta = o.get("metadata", {}).get("scrapbook")
            if meta:
                data = o.get("data", {})
                out[meta["name"]] = data.get(meta.get("mime_prefix", "") + "text/plain", "")
    return out


def shown(text: str, spec: str) -> str:
    """The text a `{glue:text}` role with format `spec` shows (MyST-NB's own formatter)."""
    from myst_nb.core.variables import format_plain_text

    try:
        return format_plain_text(text, spec)
    except (TypeError, ValueError):
        return text


def degenerate_glue(source: Path, allow=()) -> list[str]:
    """Glue references in the book's pages whose value reads nan, or 0.000 where a zero is degenerate
    (any value but a point difference, `*_delta`)."""
    bad, cache = [], {}
    for page in sorted((source / "book").rglob("*.md")):
        for nb, key, spec in GLUE_REF.findall(page.read_text(encoding="utf-8")):
            if not nb or key in allow:
                continue
            path = (page.parent / nb).resolve()
            if path not in cache:
                cache[path] = glued_values(path) if path.exists() else {}
            value = cache[path].get(key)
            if value is not None and spec:
                value = shown(value, spec)
            if value is None:
                continue
            # a point difference can truly be zero (e.g. 19 of 31 paired items in both models); an
            # interval bound or p-value of exactly zero, or any nan, signals a degenerate statistic
            if key.endswith("_delta") and not re.search("nan", value, re.IGNORECASE):
                continue
            if DEGENERATE.search(value):
                bad.append(f"{page.relative_to(source)}: {key} = {value}")
    return bad


# ---------------------------------------------------------------- what a reader sees in prose
PROSE = {"p", "li", "td", "th", "dd", "dt", "caption", "figcaption"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# an inline code element holding nothing but a number, a signed difference, a percentage or an interval
NUMBER_CODE = re.compile(r"^[(\[]?[+\-\u2212]?\d[\d.,]*%?(?:,[+\-\u2212]?\d[\d.,]*%?)*[)\]]?$")


class Pills(HTMLParser):
    """Inline glue outputs and number-only `code` elements inside prose (paragraphs, list items,
    table cells, captions), where a reader sees a code pill instead of a number."""

    def __init__(self):
        super().__init__()
        self.stack, self.pills, self.grab = [], [], None  # grab: [kind, text, depth] while inside a pill

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        in_prose = any(t in PROSE for t in self.stack) and "pre" not in self.stack
        self.stack.append(tag)
        if self.grab is None and in_prose:
            if "text_plain" in classes or "pasted-inline" in classes:
                self.grab = ["glue output", "", len(self.stack)]
            elif tag == "code":
                self.grab = ["code", "", len(self.stack)]

    def handle_endtag(self, tag):
        if tag not in self.stack:
            return
        while self.stack:
            top = self.stack.pop()
            if self.grab is not None and len(self.stack) < self.grab[2]:
                kind, text, _ = self.grab
                text = " ".join(text.split())
                if kind == "glue output" or NUMBER_CODE.match(text.replace(" ", "")):
                    self.pills.append(f"{kind} {text!r}")
                self.grab = None
            if top == tag:
                break

    def handle_data(self, data):
        if self.grab is not None:
            self.grab[1] += data


def code_pills(root: Path) -> list[str]:
    """Numbers shown as code pills on the pages written from the book's Markdown."""
    bad = []
    for page in sorted((root / "book").glob("*.html")):
        p = Pills()
        p.feed(page.read_text(encoding="utf-8", errors="replace"))
        bad += [f"{page.relative_to(root)}: {pill}" for pill in p.pills]
    return bad


# `{glue:}` (the any role) shows a glued text/plain value as inline code; `{glue:text}` as prose
GLUE_ANY = re.compile(r"\{glue:?\}`([^`]+)`")


def glue_code_roles(source: Path) -> list[str]:
    """Glue roles in the book's Markdown that print their value as a code pill."""
    bad = []
    for page in sorted((source / "book").rglob("*.md")):
        for i, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
            bad += [f"{page.relative_to(source)}:{i}: {{glue:}}`{m}`" for m in GLUE_ANY.findall(line)]
    return bad


def toc_pages(toc: dict) -> list[str]:
    """Every `file` entry of a jupyter-book table of contents, the root first."""
    out = [toc["root"]] if toc.get("root") else []

    def walk(entries):
        for e in entries:
            if "file" in e:
                out.append(e["file"])
            walk(e.get("sections", []) + e.get("chapters", []))
    walk(toc.get("parts", []) + toc.get("chapters", []))
    return out


# pages of a demo grid: made only when the README's main command runs that grid (not by CI's book
# from the committed result files); reported, not a problem
DEMO_PAGES = {"book/generated/analysis_default", "book/generated/retrieval_demo"}


def missing_chapters(root: Path, toc_path: Path, allow=()) -> tuple[list[str], list[str]]:
    """(problems, notes): pages the table of contents names that the build did not write. The root
    may be replaced by book/pending (scripts/book_toc.py): its absence is then the pending page's job."""
    import yaml

    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    bad, notes = [], []
    for i, entry in enumerate(toc_pages(toc)):
        if (root / f"{entry}.html").exists() or (i == 0 and (root / "book" / "pending.html").exists()):
            continue
        if entry in DEMO_PAGES or entry in allow:
            notes.append(f"{entry} (made only by the main command's demo grid)" if entry in DEMO_PAGES else entry)
        else:
            bad.append(entry)
    return bad, notes


# ---------------------------------------------------------------- width, in the browser and the PDF
PRINT_WIDTH_PX = 740  # US Letter (8.5 in) less Chromium's default print margins (0.4 in each), at 96 px/in
LAYOUT_PROBE = """<script>window.addEventListener('load', () => {
const PRINT = %s;
let unreadable = 0;
if (PRINT) {  // apply the @media print rules as the printer would
  for (const sheet of [...document.styleSheets]) {
    let rules; try { rules = [...sheet.cssRules]; } catch (e) { unreadable++; continue; }
    for (const r of rules) {
      if (r.media && [...r.media].some(m => m.trim() === 'print')) {
        for (const inner of [...r.cssRules]) {
          try { sheet.insertRule(inner.cssText, sheet.cssRules.length); } catch (e) {}
        }
      }
    }
  }
  document.querySelectorAll('details').forEach(d => d.removeAttribute('open'));
}
const art = document.querySelector('article.bd-article') || document.querySelector('[role=main]') || document.body;
const limit = art.getBoundingClientRect().right + 2;
const seen = new Set(), out = [];
const label = e => {
  const t = e.tagName.toLowerCase();
  const cap = t === 'table' && (e.querySelector('caption') || e.querySelector('thead tr'));
  const text = (cap || e).textContent.replace(/\\s+/g, ' ').trim().slice(0, 70);
  let h = e; while (h && !h.id) h = h.parentElement;
  return t + (h && h.id ? '#' + h.id : '') + ' "' + text + '"';
};
for (const e of art.querySelectorAll('table, pre, img, svg, mjx-container, .math')) {
  const r = e.getBoundingClientRect();
  if (!r.width || !r.height || e.closest('table') !== e && e.closest('table')) continue;
  let box = null;
  for (let a = e; a && a !== art.parentElement; a = a.parentElement) {
    if (getComputedStyle(a).overflowX !== 'visible') { box = a; break; }
  }
  if (box && seen.has(box)) continue;
  if (box) seen.add(box);
  const wide = box ? box.scrollWidth > box.clientWidth + 1 : false;
  const extra = box ? box.scrollWidth - box.clientWidth : 0;
  const right = box && box !== art ? Math.min(r.right, box.getBoundingClientRect().right) : r.right;
  const past = Math.round(right - limit);
  if (past > 0 || (box === art && wide)) {
    out.push('CUT ' + label(e) + ' runs ' + Math.max(past, extra) + ' px past the page');
  } else if (wide) {
    out.push((PRINT ? 'CUT ' : 'SCROLLS ') + label(e) + ' is ' + extra + ' px wider than its box'
             + (PRINT ? ' (a scroll box prints cut)' : ''));
  }
}
if (unreadable) out.push('PROBE ' + unreadable + ' style sheet(s) unreadable: print rules not applied');
const pre = document.createElement('pre'); pre.id = 'layout-probe';
pre.textContent = 'LAYOUT\\n' + out.join('\\n') + '\\nEND';
document.body.appendChild(pre);
});</script>"""


def layout_findings(dom: str) -> list[str]:
    """The lines the layout probe wrote into the page (html-escaped in the DOM dump)."""
    m = re.search(r"LAYOUT\n(.*?)\nEND", dom, re.S)
    if m is None:
        return ["PROBE the page did not report its layout"]
    return [html.unescape(line) for line in m.group(1).splitlines() if line.strip()]


def layout_problems(pages: list[Path], root: Path, width: int, print_mode: bool = False) -> tuple[list[str], list[str]]:
    """(cut, scrolls): content running past the page (or, in print mode, any scroll box), and scroll
    boxes in HTML (allowed: the reader can scroll), per page, from headless Chromium's layout."""
    cut, scrolls = [], []
    for page in pages:
        probe_page = page.with_name(f"_probe_layout_{page.name}")
        probe_page.write_text(page.read_text(encoding="utf-8").replace(
            "</body>", LAYOUT_PROBE % ("true" if print_mode else "false") + "</body>"), encoding="utf-8")
        try:
            # --allow-file-access-from-files: the probe reads the style sheets' @media print rules
            dom = chromium(f"--window-size={width},2000", "--virtual-time-budget=5000",
                           "--allow-file-access-from-files", "--dump-dom", probe_page.resolve().as_uri())
        finally:
            probe_page.unlink()
        name = page.relative_to(root)
        for line in layout_findings(dom):
            kind, _, what = line.partition(" ")
            (scrolls if kind == "SCROLLS" else cut).append(f"{name}: {what}")
    return cut, scrolls


def pdf_cut_text(pdf: Path, margin_pt: float = 28.8) -> list[str]:
    """Pages of the PDF with text beyond the right margin (cut where it was printed), from
    poppler's `pdftotext -bbox`: a word whose right edge passes the page width less `margin_pt`."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    bad = []
    for number, page in enumerate(re.findall(r"<page (.*?)</page>", out, re.S), start=1):
        width = float(re.search(r'width="([\d.]+)"', page).group(1))
        words = [(float(x), w) for x, w in re.findall(r'xMax="([\d.]+)"[^>]*>([^<]*)</word>', page)]
        past = [w for x, w in words if x > width - margin_pt + 1]
        if past:
            bad.append(f"page {number}: {len(past)} word(s) past the right margin, e.g. {html.unescape(past[0])!r}")
    return bad


def pdf_problems(pdf: Path, html_root: Path, min_pages: int) -> list[str]:
    """Page count and embedded figures of the PDF, from poppler's pdfinfo/pdfimages."""
    if not pdf.exists():
        return [f"no PDF at {pdf}"]
    for tool in ("pdfinfo", "pdfimages"):
        if not shutil.which(tool):
            return [f"{tool} not found (Debian package 'poppler-utils')"]
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    figures = sum(1 for line in listing.splitlines()[2:]
                  if len(f := line.split()) > 4 and f[2] == "image" and min(int(f[3]), int(f[4])) >= MIN_FIGURE_PX)
    expected = len(figure_files(html_root))
    print(f"pdf: {pdf} {pages} pages, {pdf.stat().st_size / 1e6:.1f} MB, {figures} figure images "
          f"(HTML book: {expected} figures)")
    problems = []
    if pages < min_pages:
        problems.append(f"PDF has {pages} pages, expected at least {min_pages}")
    if figures < expected:
        problems.append(f"PDF embeds {figures} figure images, the HTML book has {expected}")
    return problems


def figure_files(root: Path) -> set[Path]:
    """Raster images the HTML pages show (the theme's own files under _static excluded)."""
    files = set()
    for page in root.rglob("*.html"):
        p = Refs()
        p.feed(page.read_text(encoding="utf-8", errors="replace"))
        for ref in p.images:
            u = urlparse(ref)
            target = (page.parent / unquote(u.path)).resolve()
            if not u.scheme and "_static" not in target.parts and target.suffix.lower() in (".png", ".jpg", ".jpeg"):
                files.add(target)
    return files


def chromium(*args, timeout=120) -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        raise SystemExit("chromium not found (Debian package 'chromium')")
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                             text=True, timeout=timeout)
    return out.stdout


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", nargs="?", default="_build/html", type=Path)
    ap.add_argument("--screenshot", type=Path)
    ap.add_argument("--pdf", type=Path, help="also check this PDF (scripts/build_pdf.sh writes _build/paper.pdf)")
    ap.add_argument("--min-pages", type=int, default=10)
    ap.add_argument("--allow-zero", action="append", default=[], metavar="KEY",
                    help="a glue key whose value is known to be exactly zero (repeatable)")
    ap.add_argument("--source", type=Path, help="the book's source folder (default: two levels above root)")
    ap.add_argument("--toc", type=Path,
                    help="the table of contents whose pages must be built (default: _toc.yml in the source)")
    ap.add_argument("--allow-missing", action="append", default=[], metavar="PAGE",
                    help="a page of the table of contents this build may lack (repeatable)")
    ap.add_argument("--no-layout", action="store_true", help="skip the width checks in the browser")
    a = ap.parse_args(argv)
    problems = [f"broken link: {b}" for b in broken_links(a.root)]
    source = a.source or a.root.resolve().parent.parent
    problems += [f"degenerate glued number: {b}" for b in degenerate_glue(source, a.allow_zero)]
    problems += [f"unrendered MyST markup: {b}" for b in unrendered_markup(a.root)]
    pills, roles = code_pills(a.root), glue_code_roles(source)
    print(f"code pills in prose: {len(pills)} numbers in inline code on the pages, {len(roles)} {{glue:}} roles "
          "in the Markdown")
    problems += [f"number shown as a code pill: {b}" for b in pills]
    problems += [f"glue role shown as a code pill (use {{glue:text}}): {b}" for b in roles]
    toc = a.toc or source / "_toc.yml"
    if toc.exists():
        absent, demo = missing_chapters(a.root, toc, a.allow_missing)
        problems += [f"chapter named by {toc.name} not built: {b}" for b in absent]
        if demo:
            print("not in this build:", "; ".join(demo))
    if not a.no_layout:
        pages = sorted(p for p in a.root.rglob("*.html") if not {"_static", "_sources"} & set(p.parts)
                       and p.name not in ("genindex.html", "search.html") and not p.name.startswith("_probe")
                       and 'http-equiv="Refresh"' not in p.read_text(encoding="utf-8", errors="replace")[:2000])
        cut, scrolls = layout_problems(pages, a.root, 1280)
        print(f"HTML at 1280 px, {len(pages)} pages: {len(cut)} cut, {len(scrolls)} in a scroll box")
        for s in scrolls:
            print("  scrolls:", s)
        problems += [f"cut at the page edge (HTML): {b}" for b in cut]
    if a.pdf:
        problems += pdf_problems(a.pdf, a.root, a.min_pages)
        if a.pdf.exists() and shutil.which("pdftotext"):
            past = pdf_cut_text(a.pdf)
            print(f"PDF: {len(past)} page(s) with text past the right margin")
            problems += [f"text cut at the margin (PDF): {b}" for b in past]
        printed = a.root.resolve().parent / "singlehtml" / "paper.html"  # what scripts/build_pdf.sh prints
        if printed.exists() and not a.no_layout:
            cut, _ = layout_problems([printed], printed.parent, PRINT_WIDTH_PX, print_mode=True)
            print(f"print layout at {PRINT_WIDTH_PX} px: {len(cut)} cut")
            problems += [f"cut in print: {b}" for b in cut]
    # the results page; without the answer grid (scripts/book_toc.py left it out) the demo run's page
    page = next((p for p in (a.root / "book" / "results.html", a.root / "book" / "generated" / "analysis_default.html")
                 if p.exists()), None)
    if page is None:
        problems.append("neither the results page nor the demo run's page was built")
        for p in problems:
            print("PROBLEM:", p)
        return 1
    page = page.resolve()
    # the page's own script reports whether each figure decoded, after load
    probe = ("<script>window.addEventListener('load',()=>{const i=[...document.images];"
             "document.title='IMAGES '+i.length+' LOADED '+i.filter(x=>x.naturalWidth>0).length;});</script>")
    probe_page = page.with_name("_probe_results.html")
    probe_page.write_text(page.read_text(encoding="utf-8").replace("</body>", probe + "</body>"), encoding="utf-8")
    try:
        dom = chromium("--virtual-time-budget=5000", "--dump-dom", probe_page.as_uri())
    finally:
        probe_page.unlink()
    title = dom.split("<title>", 1)[-1].split("</title>", 1)[0]
    print("results page:", title)
    parts = title.split()
    if len(parts) < 4 or parts[0] != "IMAGES" or int(parts[1]) == 0 or parts[1] != parts[3]:
        problems.append(f"figures did not all load: {title!r}")
    if "{glue" in dom:
        problems.append("unresolved glue on the results page")
    if a.screenshot:
        chromium("--window-size=1280,2400", f"--screenshot={a.screenshot.resolve()}", page.as_uri())
        print("screenshot:", a.screenshot)
    for p in problems:
        print("PROBLEM:", p)
    print(f"checked {len(list(a.root.rglob('*.html')))} pages: {'OK' if not problems else 'FAILED'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
