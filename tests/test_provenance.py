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
