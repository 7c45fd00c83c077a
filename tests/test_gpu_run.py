"""The GPU run script refuses bad arguments before doing anything, and provenance names the
commit on a machine that receives the working tree without its .git folder."""
import os
import subprocess
from pathlib import Path

from xrobust.provenance import git_commit

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_run.sh"


def _git(cwd, *args):
    subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=t", *args], cwd=cwd, check=True,
                   capture_output=True)


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
                              "SNAKEMAKE_ARGS": "-n", "HOME": str(tmp_path), "OUT": str(tmp_path / "out")},
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
    # what comes back from the machine: files at the top of $OUT (deeper ones do not come back)
    import tarfile
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"results-{cfg['name']}.tar.gz"]
    with tarfile.open(tmp_path / "out" / f"results-{cfg['name']}.tar.gz") as tar:
        assert str(done.relative_to(tmp_path)) in tar.getnames()


def test_commit_is_dirty_for_code_changes_not_for_result_files(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "src" / "code.py").write_text("x = 1\n")
    (tmp_path / "results" / "r.json").write_text("{}")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "init")
    (tmp_path / "results" / "r.json").unlink()  # a result file being made again
    assert not git_commit(tmp_path / "src").endswith("-dirty")
    (tmp_path / "src" / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path / "src").endswith("-dirty")


def test_committed_results_are_dated_in_workflow_order(tmp_path):
    from xrobust.provenance import CHECKOUT_EPOCH, order_committed_results

    grid = tmp_path / "results" / "g"
    names = ["intermediate/a_s0.json", "target/inter-a_s0.json", "attack/inter-a_s0.json.gz",
             "retrieval/intermediate/a_s0_paragraph.json"]
    for name in names:
        (grid / name).parent.mkdir(parents=True, exist_ok=True)
        (grid / name).write_text("{}")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "results")
    (grid / "attack" / "direct_s0.json.gz").write_text("{}")  # made here, not committed
    (grid / "target" / "inter-a_s0.json").write_text('{"remade": 1}')  # made again here
    for name in names + ["attack/direct_s0.json.gz"]:
        os.utime(grid / name, (2e9, 2e9))  # as a checkout leaves them: all "now", in any order
    assert order_committed_results(grid) == 3
    mtime = {name: (grid / name).stat().st_mtime for name in names + ["attack/direct_s0.json.gz"]}
    assert mtime["intermediate/a_s0.json"] == CHECKOUT_EPOCH + 1
    assert mtime["attack/inter-a_s0.json.gz"] == CHECKOUT_EPOCH + 3
    assert mtime["retrieval/intermediate/a_s0_paragraph.json"] == CHECKOUT_EPOCH + 3
    assert mtime["target/inter-a_s0.json"] == mtime["attack/direct_s0.json.gz"] == 2e9  # changed or new: kept
    assert order_committed_results(grid) == 0  # already in order
    assert order_committed_results(tmp_path / "missing") == 0


def test_a_fresh_checkout_reruns_no_committed_result(tmp_path):
    """Committed results of a grid, written by the checkout with attacks older than their models'
    results, are up to date for Snakemake; a result made again here still re-runs what reads it."""
    import sys

    import yaml

    from xrobust.params import RETRIEVAL_STEPS, grid_conditions, retrieval_results
    repo = tmp_path / "repo"
    (repo / "configs").mkdir(parents=True)
    for part in ("src", "workflow", "notebooks", "book", "_config.yml", "_toc.yml"):
        (repo / part).symlink_to(ROOT / part)
    cfg = yaml.safe_load((ROOT / "configs" / "pilot.yaml").read_text())
    cfg = {**cfg, "name": "fresh", "seeds": [0]}
    (repo / "configs" / "fresh.yaml").write_text(yaml.safe_dump(cfg))
    conditions = grid_conditions(cfg)
    paths = [f"results/fresh/intermediate/{t}_s0.json" for t in cfg["intermediate_tasks"]]
    paths += [f"results/fresh/target/{c}_s0.json" for c in conditions]
    paths += [f"results/fresh/attack/{c}_s0.json.gz" for c in conditions]
    paths += [p for step in RETRIEVAL_STEPS for p, _ in retrieval_results(cfg, step)]
    for i, path in enumerate(paths):
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("{}")
        os.utime(repo / path, (2e9 - i, 2e9 - i))  # every downstream file older than its inputs
    _git(repo, "init", "-q")
    _git(repo, "add", "results", "configs")
    _git(repo, "commit", "-qm", "results")

    def plan(*args):
        out = subprocess.run([sys.executable, "-m", "snakemake", "-s", "workflow/Snakefile", "--configfile",
                              "configs/fresh.yaml", "-n", "--nolock", *args], cwd=repo, capture_output=True,
                             text=True, timeout=300, env={**os.environ, "HOME": str(tmp_path)})
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout + out.stderr

    first = plan()
    assert "Nothing to be done" in first and "dated in workflow order" in first
    (repo / "results/fresh/target/direct_s0.json").write_text('{"remade": 1}')  # made again here
    made = {line.split()[1].rstrip(",") for line in plan().splitlines() if line.strip().startswith("output:")}
    assert "results/fresh/attack/direct_s0.json.gz" in made  # reads the model made again
    assert "results/fresh/retrieval/target/direct_s0_paragraph.json" in made
    assert "results/fresh/attack/multilingual_s0.json.gz" not in made and len(made) == 2
