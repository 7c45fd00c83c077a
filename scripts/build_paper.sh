#!/usr/bin/env bash
# Main job: run the experiment grid (default: configs/default.yaml, offline model, CPU or GPU),
# the analysis notebook, and build the HTML book into _build/html. Finished runs are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} HF_DATASETS_OFFLINE=${HF_DATASETS_OFFLINE:-1}
CONFIG=${CONFIG:-configs/default.yaml}
bash scripts/fetch_lexicons.sh  # code-switching lexicons into the (possibly new) cache; quick when present
SM=(snakemake -s workflow/Snakefile --configfile "$CONFIG")
# a run killed with SIGKILL leaves a lock behind: release it when no other run is active
pgrep -f "snakemake -s workflow/Snakefile" >/dev/null || "${SM[@]}" --unlock >/dev/null 2>&1 || true
# outputs of jobs that were interrupted are re-made, finished ones are skipped
"${SM[@]}" --cores "${CORES:-all}" --keep-going --rerun-incomplete ${SNAKEMAKE_ARGS:-}
out=book/generated/analysis.ipynb
# re-run the analysis only when a result file or the notebook changed
if [ ! -f "$out" ] || [ -n "$(find results notebooks/04_analysis.ipynb src -newer "$out" -type f 2>/dev/null | head -1)" ]; then
  mkdir -p book/generated
  papermill --no-progress-bar notebooks/04_analysis.ipynb "$out.tmp.ipynb"  # stops the script on failure
  mv "$out.tmp.ipynb" "$out"
fi
jupyter-book build . -W -n --keep-going
# what a reader sees: links resolve, figures load in a real browser (Debian chromium, if present)
if command -v chromium >/dev/null; then python scripts/check_book.py _build/html; fi
echo "book: $PWD/_build/html/index.html"
