#!/usr/bin/env bash
# What the PDF and the reader's checks need: Debian's chromium (prints the book, loads its figures),
# poppler-utils (pdfinfo/pdfimages check the PDF) and CJK fonts (the Chinese and Japanese examples).
# Installs them with apt-get when missing and this runs as root; otherwise says what is missing and
# exits 1, so the caller can go on without the PDF (build_paper.sh) or stop (ci_book.sh).
set -euo pipefail
command -v chromium >/dev/null && command -v pdfimages >/dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "reader_tools: installing Debian's chromium, poppler-utils and fonts-noto-cjk (once) ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium poppler-utils fonts-noto-cjk >/dev/null
  exit 0
fi
echo "reader_tools: chromium and pdfimages (Debian packages chromium, poppler-utils) are needed" \
  "for the PDF and the book checks; install them (as root: bash scripts/reader_tools.sh)" >&2
exit 1
