#!/usr/bin/env bash
# PDF of the book: the whole book as one HTML page (Sphinx `singlehtml`), printed by headless
# Chromium (Debian package `chromium`). Run after the HTML build (`jupyter-book build .`); the
# PDF is written to _build/paper.pdf and copied to _build/html/_static/paper.pdf, where the
# front page links it. Extra arguments go to `jupyter-book build` (e.g. `--toc other_toc.yml`).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d .venv/bin ] && export PATH="$PWD/.venv/bin:$PATH"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then echo "build_pdf: chromium not found (Debian package 'chromium')" >&2; exit 1; fi
jupyter-book build . --builder singlehtml --all -W -n --keep-going "$@"  # --all: see the Snakefile's rule book
# the one page is written to book/index.html (or book/pending.html: the root document), but its links to
# _static/ and _images/ are relative to the output root: print a copy placed at the root
page=_build/singlehtml/paper.html
root=_build/singlehtml/book/index.html
[ -f "$root" ] || root=_build/singlehtml/book/pending.html  # the root without the answer grid (scripts/book_toc.py)
cp "$root" "$page"
rm -f _build/paper.pdf
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# --virtual-time-budget: let fonts and images finish loading before printing; no network is needed
timeout 300 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --no-pdf-header-footer \
  --virtual-time-budget=20000 --print-to-pdf=_build/paper.pdf "file://$PWD/$page" 2>/dev/null
[ -s _build/paper.pdf ] || { echo "build_pdf: chromium wrote no PDF" >&2; exit 1; }
mkdir -p _build/html/_static
cp _build/paper.pdf _build/html/_static/paper.pdf
echo "pdf: $PWD/_build/paper.pdf ($(du -h _build/paper.pdf | cut -f1))"
