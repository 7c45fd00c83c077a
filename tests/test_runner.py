"""scripts/snakemake_run.sh (xrobust.runner): one run at a time per checkout, a stale Snakemake lock released
with the arguments Snakemake needs, and an unlock that fails shown and stopping the run."""
import fcntl
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINKED = ("src", "workflow", "notebooks", "configs", "book", "_config.yml", "_toc.yml")


def scratch_repo(tmp_path: Path) -> Path:
    """A scratch checkout: the start-up script copied, the rest linked, so that .snakemake/ lands here."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "snakemake_run.sh").write_bytes((ROOT / "scripts" / "snakemake_run.sh").read_bytes())
    for part in LINKED:
        (repo / part).symlink_to(ROOT / part)
    return repo


def stale_lock(repo: Path) -> Path:
    """What a run killed with SIGKILL leaves in .snakemake/locks/."""
    locks = repo / ".snakemake" / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    (locks / "0.input.lock").write_text(str(repo / "results" / "x.json") + "\n")
    (locks / "0.output.lock").write_text(str(repo / "results" / "y.json") + "\n")
    return locks


def start(repo: Path, *args: str, timeout=300):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    return subprocess.run(["bash", "scripts/snakemake_run.sh", *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_a_stale_lock_is_released_with_the_cores_snakemake_needs(tmp_path):
    repo = scratch_repo(tmp_path)
    locks = stale_lock(repo)
    out = start(repo, "--configfile", "configs/default.yaml", "--unlock-only")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "releasing the lock a stopped run left" in out.stderr
    assert "--cores all --unlock" in out.stderr
    assert not (locks.is_dir() and list(locks.iterdir()))
    # a run with no stale lock goes straight on (a dry run here: it makes nothing)
    out = start(repo, "--configfile", "configs/default.yaml", "-n", "all")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "releasing" not in out.stderr


def test_a_run_is_refused_while_another_holds_the_checkout_and_its_lock_stays(tmp_path):
    repo = scratch_repo(tmp_path)
    locks = stale_lock(repo)  # here: the lock of the live run
    with open(repo / ".snakemake" / "xrobust-run.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        out = start(repo, "--configfile", "configs/default.yaml", "all")
    assert out.returncode == 3
    assert "another run of this checkout" in out.stderr and "is under way" in out.stderr
    assert sorted(p.name for p in locks.iterdir()) == ["0.input.lock", "0.output.lock"]


def _sleeper(folder: Path, cwd: Path):
    """A process named snakemake working in `cwd` (as a Snakemake run started by hand would)."""
    folder.mkdir(parents=True, exist_ok=True)
    fake = folder / "snakemake"
    fake.write_text("sleep 60\n")
    return subprocess.Popen(["bash", str(fake)], cwd=cwd)


def test_a_live_snakemake_of_this_checkout_keeps_its_lock_and_one_elsewhere_does_not(tmp_path):
    repo = scratch_repo(tmp_path)
    locks = stale_lock(repo)
    here = _sleeper(tmp_path / "bin", repo)
    try:
        time.sleep(0.5)
        out = start(repo, "--configfile", "configs/default.yaml", "--unlock-only")
    finally:
        here.kill()
        here.wait()
    assert out.returncode == 3
    assert f"pid {here.pid}" in out.stderr and "works in this checkout" in out.stderr
    assert len(list(locks.iterdir())) == 2
    # a Snakemake run of another checkout on the same machine is not this one's business
    (tmp_path / "other").mkdir()
    elsewhere = _sleeper(tmp_path / "bin2", tmp_path / "other")
    try:
        time.sleep(0.5)
        out = start(repo, "--configfile", "configs/default.yaml", "--unlock-only")
    finally:
        elsewhere.kill()
        elsewhere.wait()
    assert out.returncode == 0, out.stderr[-2000:]
    assert not (locks.is_dir() and list(locks.iterdir()))


def test_an_unlock_that_fails_is_shown_and_stops_the_run(tmp_path):
    repo = scratch_repo(tmp_path)
    locks = stale_lock(repo)
    bad = tmp_path / "bad.yaml"
    demo = (ROOT / "configs" / "default.yaml").read_text()
    bad.write_text(re.sub(r"(?m)^(\s+)n_examples: \d+", r"\1n_examples: 0", demo))  # the attack's only
    out = start(repo, "--configfile", str(bad), "all")
    assert out.returncode == 3
    assert "could not release the stale Snakemake lock" in out.stderr
    assert "invalid 'n_examples': 0" in out.stderr  # Snakemake's own reason
    assert len(list(locks.iterdir())) == 2


@pytest.mark.parametrize("args, message", [(["--configfile", "configs/nope.yaml"], "no such file"),
                                           (["--cores"], "--cores needs a value")])
def test_bad_runner_arguments_are_refused(tmp_path, args, message):
    out = start(scratch_repo(tmp_path), *args)
    assert out.returncode != 0 and message in out.stderr


def test_the_scripts_start_snakemake_through_the_runner_only():
    for script in ("build_paper.sh", "ci_book.sh", "run_by_seed.sh"):
        text = (ROOT / "scripts" / script).read_text()
        assert "scripts/snakemake_run.sh" in text, script
        assert "--unlock" not in text and "pgrep" not in text, script
        assert not [line for line in text.splitlines() if line.lstrip().startswith("snakemake ")], script


def test_a_job_killed_after_its_result_was_written_is_kept(tmp_path):
    """Snakemake's incomplete marks of a job whose result file is complete are dropped (so --rerun-incomplete keeps
    it byte for byte); a job without a complete result keeps its marks and is made again."""
    import base64

    from xrobust.resultfiles import write_json
    from xrobust.runner import keep_finished_jobs

    marks = tmp_path / ".snakemake" / "incomplete"
    marks.mkdir(parents=True)

    def mark(path):
        (marks / base64.urlsafe_b64encode(path.encode()).decode()).write_text("")

    write_json(tmp_path / "results/g/attack/direct_s0.json.gz", {"rows": [], "complete": True})
    for path in ("results/g/attack/direct_s0.json.gz", "runs/g/attack/direct_s0/03_attack.ipynb",
                 "results/g/attack/multilingual_s0.json.gz", "runs/g/attack/multilingual_s0/03_attack.ipynb"):
        mark(path)
    assert keep_finished_jobs(tmp_path) == ["results/g/attack/direct_s0.json.gz"]
    left = sorted(base64.urlsafe_b64decode(m.name).decode() for m in marks.iterdir())
    assert left == ["results/g/attack/multilingual_s0.json.gz", "runs/g/attack/multilingual_s0/03_attack.ipynb"]
