#!/usr/bin/env bash
# Grow a grid one training seed at a time, and within a seed one condition at a time (its models,
# its attack, then the UDHR retrieval jobs of its encoders; the grid's remaining jobs last), so each
# condition's small result files can be committed as soon as they exist and a stopped run leaves
# whole conditions, none of whose retrieval jobs needs a retrained model. Killed runs resume.
#   bash scripts/run_by_seed.sh configs/pilot.yaml [seed ...]
# COMMIT=1 commits results/<grid> after each condition that finished (never a partial one: a failed
# or killed condition stops the script before its commit).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} HF_DATASETS_OFFLINE=${HF_DATASETS_OFFLINE:-1}
CONFIG=${1:?usage: run_by_seed.sh CONFIG [seed ...]}
shift
SEEDS=("$@")
if [ ${#SEEDS[@]} -eq 0 ]; then
  mapfile -t SEEDS < <(python -c 'import sys, yaml; print(*yaml.safe_load(open(sys.argv[1]))["seeds"], sep="\n")' "$CONFIG")
fi
read -r GRID < <(python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["name"])' "$CONFIG")
mapfile -t CONDS < <(PYTHONPATH=src python -c 'import sys, yaml; from xrobust.params import grid_conditions
print(*grid_conditions(yaml.safe_load(open(sys.argv[1]))), sep="\n")' "$CONFIG" | grep .)  # none: conditions: []
commit() {  # $1: what was made
  [ "${COMMIT:-0}" = 1 ] || return 0
  git add "results/$GRID"
  git diff --cached --quiet -- "results/$GRID" || git commit -q -m "$GRID grid: $1 (result files)" -- "results/$GRID"
}
# each call: one run at a time per checkout, a killed run's lock released, interrupted jobs re-made
SM=(bash scripts/snakemake_run.sh --configfile "$CONFIG" --keep-going)
for seed in "${SEEDS[@]}"; do
  for cond in "${CONDS[@]}"; do
    echo "== seed $seed, $cond ($(date -u +%H:%M:%S))"
    # its attack and the retrieval jobs of its encoders, while its checkpoints exist
    mapfile -t TARGETS < <(PYTHONPATH=src python -c 'import sys, yaml; from xrobust.params import condition_results
print(*condition_results(yaml.safe_load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])), sep="\n")' "$CONFIG" "$cond" "$seed")
    # shellcheck disable=SC2086
    "${SM[@]}" ${SNAKEMAKE_ARGS:-} "${TARGETS[@]}" --config "seeds=[$seed]"
    commit "seed $seed, $cond"
  done
  echo "== seed $seed, the rest of its jobs ($(date -u +%H:%M:%S))"
  # shellcheck disable=SC2086
  "${SM[@]}" ${SNAKEMAKE_ARGS:-} --config "seeds=[$seed]"
  commit "seed $seed, the rest of its jobs"
done
