"""What a result file records about the machine that made it."""
from xrobust.provenance import processor_name, provenance


def test_processor_name_reads_the_cpu_model(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8480C\n"
                       "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Platinum 8480C\n")
    assert processor_name(cpuinfo) == "Intel(R) Xeon(R) Platinum 8480C"


def test_processor_name_falls_back_without_cpuinfo(tmp_path):
    # no /proc (macOS, some containers), or a cpuinfo without a model name (some ARM kernels)
    (tmp_path / "arm").write_text("processor\t: 0\nBogoMIPS\t: 50.00\n")
    for path in (tmp_path / "missing", tmp_path / "arm"):
        name = processor_name(path)
        assert isinstance(name, str) and name and "model name" not in name


def test_provenance_names_the_processor():
    record = provenance({"seed": 0})
    assert record["processor"] == processor_name() and record["device"].startswith("cpu:")


def test_provenance_names_the_precision_and_the_cpu_bf16_capability(monkeypatch):
    from xrobust import provenance as prov

    for native in (True, False):
        monkeypatch.setattr(prov, "cpu_native_bf16", lambda native=native: native)
        record = prov.provenance({"seed": 0, "precision": "bf16"})
        assert record["precision"] == "bf16" and record["cpu_bf16"] is native
    assert prov.provenance({"seed": 0})["precision"] is None  # a config without a numeric format


def test_cpu_native_bf16_follows_torch(monkeypatch):
    import torch

    from xrobust.provenance import cpu_native_bf16

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert cpu_native_bf16() is False
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert cpu_native_bf16() is True
