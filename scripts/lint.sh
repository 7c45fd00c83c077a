#!/usr/bin/env bash
# Static checks: ruff (pycodestyle, pyflakes, bugbear, import order) and the layer contract of
# src/xrobust (import-linter; both configured in pyproject.toml). Uses .venv when it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=""
[ -x .venv/bin/ruff ] && bin=.venv/bin/
"${bin}ruff" check src tests benchmarks scripts
PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" "${bin}lint-imports"
