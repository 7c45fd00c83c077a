#!/usr/bin/env bash
# Every Snakemake run of this checkout starts here (build_paper.sh, ci_book.sh, run_by_seed.sh): the
# environment, one run at a time per checkout (an flock on .snakemake/xrobust-run.lock that Snakemake holds for
# its lifetime), a lock left by a killed run released with Snakemake's --unlock (its error shown, and the run
# stopped, when that fails), then Snakemake with --rerun-incomplete. Arguments: see src/xrobust/runner.py.
#   bash scripts/snakemake_run.sh [--configfile CONFIG] [--cores N] [snakemake arguments and targets]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d .venv/bin ]; then export PATH="$PWD/.venv/bin:$PATH"; fi
PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec python -m xrobust.runner "$@"
