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
5. optionally saves a screenshot of the results page.
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
    a = ap.parse_args(argv)
    problems = [f"broken link: {b}" for b in broken_links(a.root)]
    source = a.source or a.root.resolve().parent.parent
    problems += [f"degenerate glued number: {b}" for b in degenerate_glue(source, a.allow_zero)]
    problems += [f"unrendered MyST markup: {b}" for b in unrendered_markup(a.root)]
    if a.pdf:
        problems += pdf_problems(a.pdf, a.root, a.min_pages)
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
