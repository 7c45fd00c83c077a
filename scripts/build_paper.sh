#!/usr/bin/env bash
# Main job: run the experiment grid (default: configs/default.yaml, offline model, CPU or GPU),
# then the analysis, gallery and walkthrough notebooks and the HTML book, all as Snakemake rules
# (finished and up-to-date outputs are skipped), then the PDF and the reader's checks.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} HF_DATASETS_OFFLINE=${HF_DATASETS_OFFLINE:-1}
# without CONFIG: the classification demo, or, when its data cannot be had (a source gone from its
# registry), the retrieval demo on the data that is there (xrobust.params.main_config says why)
if [ -z "${CONFIG:-}" ]; then
  CONFIG=$(PYTHONPATH="$PWD/src" python -c 'from xrobust.params import main_config
print(main_config("configs/default.yaml", "configs/demo_retrieval.yaml"))')
fi
echo "build_paper: grid $CONFIG"
# the last lines of every run, also a failed one: what ran and why, what was left out, the re-run verdict
trap 'python scripts/run_summary.py --config "$CONFIG" --status $?' EXIT
bash scripts/fetch_lexicons.sh  # code-switching lexicons into the (possibly new) cache; quick when present
# one run at a time per checkout; a lock left by a killed run is released (or the reason shown), and the
# outputs of jobs that were interrupted are re-made (scripts/snakemake_run.sh); the book waits for the grid
# shellcheck disable=SC2086
bash scripts/snakemake_run.sh --configfile "$CONFIG" --keep-going ${SNAKEMAKE_ARGS:-} all book
# what a reader sees: the PDF (linked from the front page), links, figures in a real browser
# (Debian chromium, poppler-utils; installed when missing and run as root)
if bash scripts/reader_tools.sh; then
  bash scripts/build_pdf.sh --toc _build/toc.yml
  python scripts/check_book.py _build/html --pdf _build/paper.pdf
else
  echo "build_paper: no PDF and no browser checks (see the line above); the HTML book is built" >&2
fi
echo "book: $PWD/_build/html/index.html"
