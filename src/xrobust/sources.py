"""Public data files by canonical URL and sha256, read from a mirror folder or downloaded once.

Every file the project reads from a public dataset is pinned in `data_files.tsv` (next to this
module): its canonical address, `https://raw.githubusercontent.com/<owner>/<repo>/<commit>/<path>`
(a commit, so the bytes never change), its sha256 and size. `fetch(url)` returns a local copy:

1. the first folder of `XROBUST_DATA_MIRROR` (a path list, `:`-separated) that holds
   `github/<owner>/<repo>/<commit>/<path>` with the pinned sha256 (read in place, not copied);
2. otherwise the download cache (`$XROBUST_CACHE/downloads/...`), filled once from the URL by
   pooch, which refuses a file whose sha256 differs.

When neither works, `SourceUnavailable` names the file, its URL and sha256 and both remedies, and
nothing is left half-written (pooch downloads to a temporary file and renames it when it matches).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .paths import cache_dir
from .resultfiles import file_sha256

MIRROR_VARIABLE = "XROBUST_DATA_MIRROR"
PINS = Path(__file__).with_name("data_files.tsv")
GITHUB_RAW = "https://raw.githubusercontent.com/"


class SourceUnavailable(RuntimeError):
    """A pinned data file could be had neither from a mirror nor from its URL."""


@dataclass(frozen=True)
class PinnedFile:
    url: str
    sha256: str
    size: int

    @property
    def mirror_path(self) -> str:
        """Where a mirror keeps the file: `github/<owner>/<repo>/<commit>/<path>`."""
        if not self.url.startswith(GITHUB_RAW):
            raise ValueError(f"not a pinned GitHub file: {self.url}")
        return "github/" + self.url[len(GITHUB_RAW):]

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@lru_cache(maxsize=1)
def pinned_files() -> dict[str, PinnedFile]:
    out = {}
    for line in PINS.read_text(encoding="utf-8").splitlines()[1:]:
        if line.startswith("#") or line.startswith("url\t") or not line.strip():
            continue
        url, sha256, size = line.split("\t")
        out[url] = PinnedFile(url, sha256, int(size))
    return out


def pinned(prefix: str) -> list[PinnedFile]:
    """The pinned files whose URL starts with `prefix` (a repository at a commit, a folder), sorted."""
    files = [f for url, f in sorted(pinned_files().items()) if url.startswith(prefix)]
    if not files:
        raise ValueError(f"no pinned data file under {prefix!r} (see {PINS.name})")
    return files


def mirrors() -> list[Path]:
    return [Path(p) for p in os.environ.get(MIRROR_VARIABLE, "").split(os.pathsep) if p.strip()]


_CHECKED: dict[tuple[str, int, int], str] = {}


def _matches(path: Path, f: PinnedFile) -> bool:
    """Whether `path` holds the pinned bytes (hashes are remembered per path, size and mtime)."""
    try:
        st = path.stat()
    except OSError:
        return False
    if st.st_size != f.size:
        return False
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _CHECKED:
        _CHECKED[key] = file_sha256(path)
    return _CHECKED[key] == f.sha256


def download_dir() -> Path:
    return cache_dir() / "downloads"


def local_copy(url: str) -> Path | None:
    """A verified local copy of `url` (mirror first, then the download cache), or None."""
    f = pin(url)
    for root in mirrors():
        if _matches(root / f.mirror_path, f):
            return root / f.mirror_path
    cached = download_dir() / f.mirror_path
    return cached if _matches(cached, f) else None


def pin(url: str) -> PinnedFile:
    try:
        return pinned_files()[url]
    except KeyError:
        raise ValueError(f"{url} is not a pinned data file; allowed: the URLs in {PINS}") from None


def fetch(url: str) -> Path:
    """A local copy of the pinned file `url`, with its sha256 checked (see the module docstring)."""
    found = local_copy(url)
    if found is not None:
        return found
    f = pin(url)
    import pooch
    import requests

    cached = download_dir() / f.mirror_path
    try:
        return Path(pooch.retrieve(f.url, known_hash=f"sha256:{f.sha256}", fname=cached.name,
                                   path=cached.parent, progressbar=False))
    except (requests.RequestException, ValueError, OSError) as e:
        looked = ", ".join(str(m / f.mirror_path) for m in mirrors()) or f"none ({MIRROR_VARIABLE} is not set)"
        reason = str(e).split(" (Caused by")[0][:200]
        raise SourceUnavailable(
            f"data file {f.name} could not be had: downloading {f.url} (sha256 {f.sha256}) failed "
            f"({type(e).__name__}: {reason}); mirror copies looked at: {looked}. Remedies: connect to "
            f"the internet (the file is downloaded once into {download_dir()}), or set {MIRROR_VARIABLE} to a "
            f"folder that mirrors the file as <folder>/{f.mirror_path} (for example a copy of the project's "
            "dataset mirror; the committed result files need no data: `bash scripts/ci_book.sh`).") from None


def require(urls) -> list[Path]:
    """`fetch` every file of `urls` before any compute. The first file that cannot be had raises
    `SourceUnavailable`, which also counts the other files with no local copy (not tried online:
    one failed download says what the remedy is)."""
    urls = list(urls)
    out = []
    for i, url in enumerate(urls):
        try:
            out.append(fetch(url))
        except SourceUnavailable as e:
            rest = sum(local_copy(u) is None for u in urls[i + 1:])
            more = f" {rest} more of the {len(urls)} files needed have no local copy either." if rest else ""
            raise SourceUnavailable(f"{e}{more}") from None
    return out
