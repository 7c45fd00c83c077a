#!/usr/bin/env bash
# Fetch the FreeDict bilingual dictionaries used by the code-switching attack (Debian packages)
# and unpack them into the cache. Best effort: without apt, code-switching covers Chinese only.
set -u
dest="${XROBUST_CACHE:-$HOME/.cache/xrobust}/freedict"
mkdir -p "$dest"
pkgs="deu-eng fra-eng spa-eng ita-eng nld-eng pol-eng por-eng jpn-eng ell-eng ara-eng swh-eng eng-hin eng-bul eng-tur deu-rus"
missing=""
for p in $pkgs; do [ -f "$dest/freedict-$p.index" ] || missing="$missing $p"; done
[ -z "$missing" ] && { echo "lexicons: all present in $dest"; exit 0; }
command -v apt-get >/dev/null || { echo "lexicons: apt-get not available; code-switching limited to zh" >&2; exit 0; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && apt-get download $(for p in $missing; do echo dict-freedict-$p; done) >/dev/null 2>&1); then
  [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1
  (cd "$work" && apt-get download $(for p in $missing; do echo dict-freedict-$p; done) >/dev/null 2>&1) \
    || echo "lexicons: some FreeDict packages could not be downloaded" >&2
fi
for deb in "$work"/*.deb; do
  [ -f "$deb" ] || continue
  dpkg-deb -x "$deb" "$work/x"
done
cp "$work"/x/usr/share/dictd/freedict-*.index "$work"/x/usr/share/dictd/freedict-*.dict.dz "$dest"/ 2>/dev/null
echo "lexicons: $(ls "$dest" | grep -c index) FreeDict dictionaries in $dest"
