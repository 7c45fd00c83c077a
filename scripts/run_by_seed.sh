#!/usr/bin/env bash
# Grow a grid one training seed at a time (all of a seed's jobs before the next seed starts), so
# each seed's small result files can be committed as soon as they exist. Killed runs resume.
#   bash scripts/run_by_seed.sh configs/pilot.yaml [seed ...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} HF_DATASETS_OFFLINE=${HF_DATASETS_OFFLINE:-1}
CONFIG=${1:?usage: run_by_seed.sh CONFIG [seed ...]}
shift
SEEDS=("$@")
if [ ${#SEEDS[@]} -eq 0 ]; then
  mapfile -t SEEDS < <(python -c 'import sys, yaml; print(*yaml.safe_load(open(sys.argv[1]))["seeds"], sep="\n")' "$CONFIG")
fi
SM=(snakemake -s workflow/Snakefile --configfile "$CONFIG")
pgrep -f "snakemake -s workflow/Snakefile" >/dev/null || "${SM[@]}" --unlock >/dev/null 2>&1 || true
for seed in "${SEEDS[@]}"; do
  echo "== seed $seed ($(date -u +%H:%M:%S))"
  "${SM[@]}" --cores "${CORES:-all}" --keep-going --rerun-incomplete --config "seeds=[$seed]" ${SNAKEMAKE_ARGS:-}
done
