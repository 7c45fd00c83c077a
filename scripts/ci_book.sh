#!/usr/bin/env bash
# CI job for the book, from the committed result files only (no training, no attacks):
# the Snakemake `book` rule (analysis notebook per grid with results, gallery, walkthrough when
# its checkpoint runs/default/target/direct_s0/checkpoint exists, HTML book) -> PDF -> checks
# (links, figures in Chromium, glued numbers, PDF pages and figures). Installs Debian's chromium,
# poppler-utils and CJK fonts when missing (scripts/reader_tools.sh, apt-get as root).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
[ -d .venv/bin ] && export PATH="$PWD/.venv/bin:$PATH"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
bash scripts/reader_tools.sh
bash scripts/fetch_lexicons.sh  # the walkthrough's code-switching step needs them; quick when present

# no config: Snakemake runs no experiment, only the notebooks and the book of the result files
# already there (the walkthrough only when runs/default/target/direct_s0/checkpoint exists)
bash scripts/snakemake_run.sh --forcerun book -- book
bash scripts/build_pdf.sh --toc _build/toc.yml
python scripts/check_book.py _build/html --pdf _build/paper.pdf ${CHECK_BOOK_ARGS:-}
echo "ci_book: book and PDF built and checked in $(( $(date +%s) - start )) s"
