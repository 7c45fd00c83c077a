"""Fault injection: a run of the real Snakefile and notebooks (papermill) on a tiny grid (the tiny random BERT
of conftest, the fixture data, one seed, two conditions, three languages, eight items), started through the
start-up every script uses (scripts/snakemake_run.sh), is killed with SIGKILL (or SIGTERM, as a cluster
scheduler sends at its time limit) on its whole process group while a given phase runs, then started again
the same way. The second run must exit 0, finish every job, keep every result file the first run finished byte
for byte, leave no partial file and give the outcomes of an uninterrupted run. A run started while another
holds the checkout is refused and leaves the other run's lock alone.

The book phase here is the analysis notebook of the grid (the `analysis` rule, what the `book` rule waits
for); the Jupyter Book build itself (`rule book`) takes minutes over the whole book and is not run here."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xrobust.resultfiles import read_json

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "data"
GRID = "default"  # the demo grid's name, so that the book rules make its analysis page
TARGETS = ["all", f"book/generated/analysis_{GRID}.ipynb", "book/generated/gallery.ipynb"]
CONDITIONS = ("direct", "multilingual")
RESULTS = [f"results/{GRID}/{step}/{c}_s0.{ext}" for step, ext in (("target", "json"), ("attack", "json.gz"))
           for c in CONDITIONS]
OUTPUTS = [*RESULTS, *TARGETS[1:]]
# what differs between two runs of the same job: timings and the machine
VOLATILE = {"seconds", "wall_seconds", "tokens_per_s", "train_tflops_per_s", "examples_per_s", "provenance"}


def tiny_config(model: str) -> dict:
    return {"name": GRID, "model": model, "target_task": "multiemo", "languages": ["en", "de", "es"],
            "conditions": list(CONDITIONS), "seeds": [0], "device": "cpu",
            "train": {"lr": 1e-3, "batch_size": 8, "max_length": 32, "max_words": 40},
            "target": {"epochs": 1.0, "max_train_examples": 16, "max_eval_examples": 8},
            "attack": {"languages": ["en", "de", "es"], "recipes": ["char"], "n_examples": 8, "query_budget": 40,
                       "batch_size": 16}}


def grid_repo(tmp_path: Path, model: str) -> Path:
    """A scratch checkout: code linked, the start-up script copied; results/, runs/, book/ and .snakemake/
    are its own."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "snakemake_run.sh").write_bytes((ROOT / "scripts" / "snakemake_run.sh").read_bytes())
    for part in ("src", "workflow", "notebooks", "configs"):
        (repo / part).symlink_to(ROOT / part)
    (repo / "book").mkdir()
    (repo / "tiny.yaml").write_text(json.dumps(tiny_config(model)))  # JSON is YAML
    return repo


def env() -> dict:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "XROBUST_DATA_DIR": str(FIXTURES),
            "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def command() -> list[str]:
    return ["bash", "scripts/snakemake_run.sh", "--configfile", "tiny.yaml", "--cores", "2", *TARGETS]


def start(repo: Path, log: str) -> subprocess.Popen:
    """The run in its own process group (as a shell or a scheduler starts it)."""
    out = open(repo.parent / log, "w")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(command(), cwd=repo, env=env(), stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def run(repo: Path, log: str) -> tuple[int, float]:
    t0 = time.monotonic()
    proc = start(repo, log)
    rc = proc.wait(timeout=900)
    return rc, time.monotonic() - t0


def wait_for(repo: Path, pattern: str, proc: subprocess.Popen, log: str, timeout=600) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(repo.glob(pattern))
        if found:
            return found[0]
        if proc.poll() is not None:
            pytest.fail(f"the run ended (rc {proc.returncode}) before {pattern} appeared:\n"
                        + (repo.parent / log).read_text()[-3000:])
        time.sleep(0.05)
    pytest.fail(f"{pattern} did not appear in {timeout} s")


def processes_in(repo: Path) -> list[str]:
    """Processes working in `repo` (the killed run's Snakemake, papermill jobs and their kernels)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if Path(os.readlink(proc / "cwd")).resolve() == repo.resolve():
                    cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    found.append(f"{proc.name}: {cmdline}")
            except OSError:
                continue
    return found


def kill_group(proc: subprocess.Popen, repo: Path, sig: int) -> None:
    os.killpg(proc.pid, sig)
    proc.wait(timeout=120)
    deadline = time.monotonic() + 60  # kernels, in their own sessions, follow their papermill
    while processes_in(repo) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not processes_in(repo), processes_in(repo)


def files(repo: Path) -> dict[str, bytes]:
    """Every file under results/ (partial files included)."""
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted((repo / "results").rglob("*")) if p.is_file()}


def leftovers(repo: Path) -> list[str]:
    return sorted(str(p.relative_to(repo)) for d in ("results", "runs", "book") for pattern in ("*.partial", "*.tmp")
                  for p in (repo / d).rglob(pattern))


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def outcomes(repo: Path) -> dict:
    """What the grid found: the result files without timings and machine details."""
    return {f: strip(read_json(repo / f)) for f in RESULTS}


@pytest.fixture(scope="module")
def uninterrupted(tiny_model_dir, tmp_path_factory):
    repo = grid_repo(tmp_path_factory.mktemp("uninterrupted"), tiny_model_dir)
    rc, wall = run(repo, "run.log")
    assert rc == 0, (repo.parent / "run.log").read_text()[-3000:]
    print(f"\nuninterrupted run: rc {rc}, {wall:.1f} s")
    return outcomes(repo)


def resume_after(tmp_path, model, uninterrupted, phase: str, rule: str, pattern: str, sig=signal.SIGKILL):
    """Start the run, kill its process group with `sig` once `pattern` (made by a job of `rule`) exists, start
    it again; check the second run."""
    repo = grid_repo(tmp_path, model)
    t0 = time.monotonic()
    first = start(repo, "first.log")
    wait_for(repo, pattern, first, "first.log")
    kill_group(first, repo, sig)
    killed_after = time.monotonic() - t0
    if sig == signal.SIGKILL:  # what made the second run fail before: the lock of a run that cannot clean up
        assert list((repo / ".snakemake" / "locks").iterdir())
    before = files(repo)
    rc, wall = run(repo, "second.log")
    log = (repo.parent / "second.log").read_text()
    assert rc == 0, log[-3000:]
    assert f"localrule {rule}:" in log  # the killed job was run again
    after = files(repo)
    finished = {f for f in before if not Path(f).name.endswith(".partial")}
    changed = sorted(f for f in finished if after.get(f) != before[f])
    print(f"\n{phase} ({signal.Signals(sig).name} after {killed_after:.1f} s, result files then: "
          f"{sorted(before)}): re-run rc {rc}, {wall:.1f} s, finished result files changed: {changed or 'none'}")
    assert not changed  # what was finished is kept byte for byte
    assert all((repo / f).is_file() for f in OUTPUTS), [f for f in OUTPUTS if not (repo / f).is_file()]
    assert not leftovers(repo), leftovers(repo)
    assert outcomes(repo) == uninterrupted
    return repo, log


def test_sigkill_during_a_training_job_then_rerun(tiny_model_dir, uninterrupted, tmp_path):
    _, log = resume_after(tmp_path, tiny_model_dir, uninterrupted, "training", "target",
                          f"runs/{GRID}/target/*/02_target.ipynb")
    assert "releasing the lock a stopped run left" in log


def test_sigkill_during_an_attack_job_then_rerun(tiny_model_dir, uninterrupted, tmp_path):
    # once the attack has written its first row to its partial file: the re-run resumes from it
    resume_after(tmp_path, tiny_model_dir, uninterrupted, "attack", "attack",
                 f"results/{GRID}/attack/.*.partial")


def test_sigkill_during_the_book_phase_then_rerun(tiny_model_dir, uninterrupted, tmp_path):
    resume_after(tmp_path, tiny_model_dir, uninterrupted, "book (analysis notebook)", "analysis",
                 f"book/generated/analysis_{GRID}.ipynb")


def test_a_second_run_is_refused_then_sigterm_then_rerun(tiny_model_dir, uninterrupted, tmp_path):
    """While a run trains, a second run of the same checkout is refused with a clear message and leaves the
    first run's Snakemake lock in place; then the first run gets SIGTERM (a scheduler's time limit) and a
    re-run finishes it."""
    repo = grid_repo(tmp_path, tiny_model_dir)
    first = start(repo, "first.log")
    wait_for(repo, f"runs/{GRID}/target/*/02_target.ipynb", first, "first.log")
    locks = sorted(p.name for p in (repo / ".snakemake" / "locks").iterdir())
    second = subprocess.run(command(), cwd=repo, env=env(), capture_output=True, text=True, timeout=120)
    assert first.poll() is None, "the first run ended before the second was started"
    assert second.returncode == 3, second.stderr[-2000:]
    assert "another run of this checkout" in second.stderr and "is under way" in second.stderr
    assert sorted(p.name for p in (repo / ".snakemake" / "locks").iterdir()) == locks
    print(f"\nsecond run refused: {second.stderr.strip()}")
    t0 = time.monotonic()
    kill_group(first, repo, signal.SIGTERM)
    print(f"SIGTERM: the first run stopped in {time.monotonic() - t0:.1f} s (rc {first.returncode})")
    before = files(repo)
    rc, wall = run(repo, "second.log")
    log = (repo.parent / "second.log").read_text()
    assert rc == 0, log[-3000:]
    assert "localrule target:" in log  # the stopped training job was run again
    after = files(repo)
    changed = sorted(f for f in before if not f.endswith(".partial") and after.get(f) != before[f])
    print(f"training (SIGTERM): re-run rc {rc}, {wall:.1f} s, finished result files changed: {changed or 'none'}")
    assert not changed
    assert all((repo / f).is_file() for f in OUTPUTS)
    assert not leftovers(repo), leftovers(repo)
    assert outcomes(repo) == uninterrupted
