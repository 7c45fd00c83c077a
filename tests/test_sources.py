"""Pinned data files: read from a mirror folder when its copy has the pinned sha256, otherwise
downloaded once into the cache (a loopback server stands in for the canonical host); a file that
can be had neither way is refused with one error naming the file, URL, sha256 and both remedies."""
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from xrobust import sources

PAYLOAD = b"index_id\tcategory\ttext\n1\ttravel\tA pinned line.\n"


@pytest.fixture
def pins(monkeypatch, tmp_path):
    """One pinned file under a fake canonical host, an empty cache and no mirror."""
    monkeypatch.setenv("XROBUST_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(sources.MIRROR_VARIABLE, raising=False)
    sources._CHECKED.clear()

    def use(host: str, payload: bytes = PAYLOAD):
        monkeypatch.setattr(sources, "GITHUB_RAW", host)
        url = f"{host}owner/repo/0123abc/data/x.tsv"
        pin = sources.PinnedFile(url, hashlib.sha256(payload).hexdigest(), len(payload))
        monkeypatch.setattr(sources, "pinned_files", lambda: {url: pin})
        return pin
    return use


def mirror_with(root: Path, pin, data: bytes) -> Path:
    path = root / pin.mirror_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return root


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server for a folder; yields (base URL, folder)."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(folder), **k)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", folder
    httpd.shutdown()


def test_mirror_copy_is_read_in_place_and_its_hash_checked(pins, monkeypatch, tmp_path):
    pin = pins("https://raw.githubusercontent.com/")
    bad = mirror_with(tmp_path / "bad", pin, PAYLOAD.replace(b"A", b"B"))  # same size, other bytes
    good = mirror_with(tmp_path / "good", pin, PAYLOAD)
    monkeypatch.setenv(sources.MIRROR_VARIABLE, f"{tmp_path / 'empty'}:{bad}:{good}")
    assert sources.fetch(pin.url) == good / pin.mirror_path  # the first mirror whose copy matches
    assert not (tmp_path / "cache").exists()  # nothing downloaded or copied


def test_download_once_then_cached(pins, server, monkeypatch):
    base, folder = server
    pin = pins(base)
    (folder / "owner/repo/0123abc/data").mkdir(parents=True)
    (folder / "owner/repo/0123abc/data/x.tsv").write_bytes(PAYLOAD)
    first = sources.fetch(pin.url)
    assert first.read_bytes() == PAYLOAD and first.is_relative_to(sources.download_dir())
    (folder / "owner/repo/0123abc/data/x.tsv").unlink()  # the host is gone: the cached copy serves
    assert sources.fetch(pin.url) == first


def test_download_with_another_hash_is_refused_and_leaves_nothing(pins, server):
    base, folder = server
    pin = pins(base)
    (folder / "owner/repo/0123abc/data").mkdir(parents=True)
    (folder / "owner/repo/0123abc/data/x.tsv").write_bytes(PAYLOAD + b"tampered\n")
    with pytest.raises(sources.SourceUnavailable, match="sha256"):
        sources.fetch(pin.url)
    left = [p for p in sources.download_dir().rglob("*") if p.is_file()] if sources.download_dir().exists() else []
    assert left == []  # no partial or wrong file in the cache


def test_no_mirror_no_network_names_file_url_hash_and_remedies(pins, monkeypatch, tmp_path):
    pin = pins("http://127.0.0.1:9/")  # the discard port: nothing listens, the download fails at once
    monkeypatch.setenv(sources.MIRROR_VARIABLE, str(tmp_path / "no-such-mirror"))
    with pytest.raises(sources.SourceUnavailable) as e:
        sources.fetch(pin.url)
    text = str(e.value)
    for part in ("x.tsv", pin.url, pin.sha256, sources.MIRROR_VARIABLE, pin.mirror_path, "internet"):
        assert part in text, part


def test_require_counts_the_other_missing_files(pins, monkeypatch):
    pin = pins("http://127.0.0.1:9/")
    other = sources.PinnedFile("http://127.0.0.1:9/owner/repo/0123abc/data/y.tsv", "0" * 64, 3)
    monkeypatch.setattr(sources, "pinned_files", lambda: {pin.url: pin, other.url: other})
    with pytest.raises(sources.SourceUnavailable, match="1 more of the 2 files"):
        sources.require([pin.url, other.url])


def test_unpinned_url_is_refused():
    with pytest.raises(ValueError, match="not a pinned data file"):
        sources.fetch("https://raw.githubusercontent.com/someone/else/abc/file.tsv")


def test_pins_are_commit_addresses_with_sha256():
    files = sources.pinned_files()
    assert len(files) > 600
    for f in files.values():
        assert f.url.startswith(sources.GITHUB_RAW) and len(f.sha256) == 64 and f.size > 0
        owner_repo_commit = f.mirror_path.split("/")[1:4]
        assert len(owner_repo_commit[2]) == 40, f.url  # a full commit hash, never a branch
