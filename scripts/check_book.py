"""Check the built HTML book the way a reader sees it.

    python scripts/check_book.py [_build/html] [--screenshot shot.png]

1. every internal link and image of every page points at a file that exists;
2. the results page renders in headless Chromium with its figures loaded (naturalWidth > 0)
   and no unresolved glue (a `{glue` literal left in the text);
3. optionally saves a screenshot of that page.
Exits non-zero on any problem. Needs Debian's `chromium`.
"""
from __future__ import annotations

import argparse
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
        self.refs = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.refs.append(a["href"])
        if tag == "img" and a.get("src"):
            self.refs.append(a["src"])


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
    a = ap.parse_args(argv)
    problems = [f"broken link: {b}" for b in broken_links(a.root)]
    page = (a.root / "book" / "results.html").resolve()
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
