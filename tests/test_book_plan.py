"""The book's plan (Snakemake dry run, no config): which grids get an analysis page, in which role."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _plan(repo: Path, home: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "snakemake", "-s", "workflow/Snakefile", "-n", "-p", "--nolock",
                          "--cores", "1", "book"], cwd=repo, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HOME": str(home)})
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout + out.stderr


def test_a_growing_grid_gets_its_page_once_a_seed_compares_two_conditions(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for part in ("src", "workflow", "notebooks", "book", "_config.yml", "_toc.yml"):
        (repo / part).symlink_to(ROOT / part)

    def result(path):
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("{}")

    for step in ("target", "attack"):
        for cond in ("direct", "inter-a"):
            result(f"results/pilot/{step}/{cond}_s0.json" + (".gz" if step == "attack" else ""))
    result("results/powered/target/direct_s0.json")
    result("results/powered/attack/direct_s0.json.gz")  # the control alone: nothing to compare yet
    first = _plan(repo, tmp_path)
    assert "analysis_pilot.ipynb" in first and "analysis_powered.ipynb" not in first
    result("results/powered/target/inter-a_s0.json")
    result("results/powered/attack/inter-a_s0.json.gz")
    second = _plan(repo, tmp_path)
    command = next(line for line in second.splitlines() if "papermill" in line and "analysis_powered.ipynb" in line)
    assert "role: powered" in command and "compare_dir: results/pilot" in command
    pilot = next(line for line in second.splitlines() if "papermill" in line and "analysis_pilot.ipynb" in line)
    assert "role: answer" in pilot and "compare_dir: results/" not in pilot  # the pilot re-runs no grid


def test_the_retrieval_demo_gets_a_page_with_its_rerun_check_once_its_files_are_there(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for part in ("src", "workflow", "notebooks", "book", "_config.yml", "_toc.yml"):
        (repo / part).symlink_to(ROOT / part)
    assert "retrieval_demo.ipynb" not in _plan(repo, tmp_path)
    path = repo / "results/demo_retrieval/retrieval/pretrained_paragraph.json"
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    command = next(line for line in _plan(repo, tmp_path).splitlines()
                   if "papermill" in line and "retrieval_demo.ipynb" in line)
    assert "role: demo" in command and "compare_dir: results/powered" in command
    assert "grid_dir: results/demo_retrieval" in command
