"""The GPU run script refuses bad arguments before doing anything, and provenance names the
commit on a machine that receives the working tree without its .git folder."""
import subprocess
from pathlib import Path

from xrobust.provenance import git_commit

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_run.sh"


def run(*args, cwd=ROOT):
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_unknown_stage_names_the_allowed_values():
    for args in [(), ("train",)]:
        out = run(*args)
        assert out.returncode == 2
        assert "allowed values: receive install model grid all" in out.stderr


def test_grid_needs_a_config_file(tmp_path):
    out = run("grid", str(tmp_path / "missing.yaml"))
    assert out.returncode == 2 and "grid needs a CONFIG file" in out.stderr
    out = run("grid", "configs/gpu.yaml", "soon")
    assert out.returncode == 2 and "SECONDS must be a whole number" in out.stderr


def test_commit_outside_a_checkout_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("XROBUST_GIT_COMMIT", raising=False)
    assert git_commit(tmp_path) == "unknown"
    monkeypatch.setenv("XROBUST_GIT_COMMIT", "abc123")
    assert git_commit(tmp_path) == "abc123"
    assert git_commit(ROOT) not in ("unknown", "abc123")  # a checkout reports its own commit
