#!/usr/bin/env bash
# CI job for the book, from the committed result files only (no training, no attacks):
# analysis and gallery notebooks -> HTML book -> PDF -> checks (links, figures in Chromium,
# glued numbers, PDF pages and figures). Installs Debian's chromium, poppler-utils and CJK fonts
# when missing (apt-get, as root). The walkthrough notebook needs a trained target checkpoint:
# it runs when WALKTHROUGH_CHECKPOINT (default: the default grid's direct_s0) exists.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
[ -d .venv/bin ] && export PATH="$PWD/.venv/bin:$PATH"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
if ! command -v chromium >/dev/null || ! command -v pdfimages >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium poppler-utils fonts-noto-cjk >/dev/null
fi

run_notebook() {  # input, output, papermill arguments...
  papermill --no-progress-bar "$1" "$2.tmp.ipynb" "${@:3}"
  mv "$2.tmp.ipynb" "$2"
}
mkdir -p book/generated
run_notebook notebooks/04_analysis.ipynb book/generated/analysis.ipynb
run_notebook notebooks/06_gallery.ipynb book/generated/gallery.ipynb
ckpt=${WALKTHROUGH_CHECKPOINT:-runs/default/target/direct_s0/checkpoint}
if [ -d "$ckpt" ]; then
  run_notebook notebooks/05_walkthrough.ipynb book/generated/walkthrough.ipynb -p checkpoint "$ckpt"
else
  echo "ci_book: no checkpoint at $ckpt: the walkthrough page is left out"
fi

# the table of contents without the pages this job cannot make (experiment runs, walkthrough)
mkdir -p _build
toc=_build/ci_toc.yml
python - _toc.yml "$toc" <<'PY'
import sys
from pathlib import Path

import yaml


def exists(entry):
    if "file" in entry:
        return any(Path(entry["file"] + ext).exists() for ext in ("", ".md", ".ipynb"))
    if "glob" in entry:
        return any(p.suffix in (".md", ".ipynb") for p in Path().glob(entry["glob"]))
    return True


def prune(entries):
    kept = []
    for e in entries:
        if not exists(e):
            print(f"ci_book: left out of the book (not made by this job): {e.get('file') or e.get('glob')}")
            continue
        for key in ("sections", "chapters"):
            if key in e:
                e[key] = prune(e[key])
                if not e[key]:
                    del e[key]
        kept.append(e)
    return kept


toc = yaml.safe_load(open(sys.argv[1]))
for part in toc.get("parts", []):
    part["chapters"] = prune(part["chapters"])
for key in ("chapters", "sections"):
    if key in toc:
        toc[key] = prune(toc[key])
if "parts" in toc:
    toc["parts"] = [p for p in toc["parts"] if p["chapters"]]
Path(sys.argv[2]).write_text(yaml.safe_dump(toc, sort_keys=False))
PY

jupyter-book build . -W -n --keep-going --toc "$toc"
bash scripts/build_pdf.sh --toc "$toc"
python scripts/check_book.py _build/html --pdf _build/paper.pdf ${CHECK_BOOK_ARGS:-}
echo "ci_book: book and PDF built and checked in $(( $(date +%s) - start )) s"
