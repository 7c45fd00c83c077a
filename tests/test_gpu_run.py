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


def test_grid_plan_targets_classification_then_the_seeds_retrieval(tmp_path):
    """Dry run of the GPU grid in a copy of the repository: every missing attack first, then the
    retrieval files of the config's seeds; the pretrained encoder's committed files are not made again."""
    import sys

    import yaml
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "gpu_run.sh").write_bytes(SCRIPT.read_bytes())
    for part in ("src", "workflow", "notebooks", "configs", "book", "_config.yml", "_toc.yml"):
        (tmp_path / part).symlink_to(ROOT / part)
    cfg = yaml.safe_load((ROOT / "configs" / "gpu.yaml").read_text())
    done = tmp_path / "results" / cfg["name"] / "retrieval" / "pretrained_paragraph.json"
    done.parent.mkdir(parents=True)
    done.write_text("{}")
    (tmp_path / ".gpu").mkdir()
    out = subprocess.run(["bash", "scripts/gpu_run.sh", "grid", "configs/gpu.yaml"], cwd=tmp_path,
                         env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PYTHON": sys.executable,
                              "SNAKEMAKE_ARGS": "-n", "HOME": str(tmp_path)},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    targets = [line.split()[1] for line in (tmp_path / ".gpu" / "targets.txt").read_text().splitlines()
               if line.startswith("target ")]
    kinds = [t.split("/")[2] for t in targets]
    n_attacks = kinds.count("attack")
    assert n_attacks == len(cfg["seeds"]) * 4 and set(kinds[:n_attacks]) == {"attack"}
    assert f"results/{cfg['name']}/retrieval/intermediate/vitaminc_s{cfg['seeds'][0]}_paragraph.json" in targets
    last = cfg["seeds"][-1]
    assert f"results/{cfg['name']}/retrieval_attack/intermediate/movie_sentiment_s{last}_paragraph.json" in targets
    assert str(done.relative_to(tmp_path)) not in targets
    assert "retrieval_middle/pretrained_paragraph.json" in " ".join(targets)  # missing here, so made
    assert "retrieval_encoder" in out.stdout + out.stderr  # snakemake plans the retrieval jobs


def test_commit_is_dirty_for_code_changes_not_for_result_files(tmp_path):
    def git(*args):
        subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=t", *args], cwd=tmp_path, check=True,
                       capture_output=True)
    (tmp_path / "src").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "src" / "code.py").write_text("x = 1\n")
    (tmp_path / "results" / "r.json").write_text("{}")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "init")
    (tmp_path / "results" / "r.json").unlink()  # a result file being made again
    assert not git_commit(tmp_path / "src").endswith("-dirty")
    (tmp_path / "src" / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path / "src").endswith("-dirty")
