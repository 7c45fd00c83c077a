"""scripts/run_by_seed.sh plans a seed one condition at a time (models, attack, the retrieval jobs of its
encoders), then the rest, and with COMMIT=1 commits each finished condition's result files."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def runner_repo(tmp_path: Path, *parts: str) -> Path:
    """A copy of the script in a scratch folder that links the repository's `parts`, so that what the
    script makes lands in the scratch folder."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    for script in ("run_by_seed.sh", "snakemake_run.sh"):  # the runner, and the start-up of its Snakemake calls
        (repo / "scripts" / script).write_bytes((ROOT / "scripts" / script).read_bytes())
    for part in parts:
        (repo / part).symlink_to(ROOT / part)
    return repo


def test_a_seed_is_planned_condition_by_condition(tmp_path):
    import yaml

    from xrobust.params import grid_conditions
    repo = runner_repo(tmp_path, "src", "workflow", "notebooks", "configs", "book", "_config.yml", "_toc.yml")
    out = subprocess.run(["bash", "scripts/run_by_seed.sh", "configs/powered.yaml", "7"], cwd=repo,
                         env={**os.environ, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                              "SNAKEMAKE_ARGS": "-n --nolock", "HOME": str(tmp_path)},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout + out.stderr
    conditions = grid_conditions(yaml.safe_load((ROOT / "configs" / "powered.yaml").read_text()))
    steps = re.findall(r"^== seed 7, (.+?) \(", text, flags=re.M)
    assert steps == [*conditions, "the rest of its jobs"]  # every condition, then the seed's remaining (retrieval) jobs
    # each condition's step plans its own attack and no other condition's
    blocks = re.split(r"^== seed 7, ", text, flags=re.M)[1:]
    for cond, block in zip(conditions, blocks[:-1], strict=True):
        attacks = set(re.findall(r"results/powered/attack/(\S+?)_s7\.json\.gz", block))
        assert attacks == {cond}, (cond, attacks)
        # and the retrieval jobs of its own encoders, while its checkpoints exist
        encoders = set(re.findall(r"results/powered/retrieval\w*/(\w+/\S+?)_s7_paragraph\.json", block))
        task = cond[len("inter-"):] if cond.startswith("inter-") else None
        assert encoders == {f"target/{cond}"} | ({f"intermediate/{task}"} if task else set()), (cond, encoders)
        assert "pretrained" not in block
    # the rest: what no condition needs, such as the pretrained encoder's (a dry run plans all again)
    assert "results/powered/retrieval/pretrained_paragraph.json" in blocks[-1]
    assert not (repo / "results").exists()  # a dry run makes nothing


def test_condition_results_are_its_attack_and_its_encoders_retrieval():
    import pytest
    import yaml

    from xrobust.params import condition_results
    config = yaml.safe_load((ROOT / "configs" / "powered.yaml").read_text())
    files = condition_results(config, "inter-vitaminc", 3)
    assert files[0] == "results/powered/attack/inter-vitaminc_s3.json.gz"
    assert sorted(files[1:]) == sorted([
        "results/powered/retrieval/intermediate/vitaminc_s3_paragraph.json",
        "results/powered/retrieval/intermediate/vitaminc_s3_article.json",  # retrieval_article_encoders
        "results/powered/retrieval/target/inter-vitaminc_s3_paragraph.json",
        "results/powered/retrieval_attack/intermediate/vitaminc_s3_paragraph.json",
        "results/powered/retrieval_middle/intermediate/vitaminc_s3_paragraph.json"])
    assert condition_results(config, "direct", 0) == ["results/powered/attack/direct_s0.json.gz",
                                                      "results/powered/retrieval/target/direct_s0_paragraph.json"]
    with pytest.raises(ValueError, match="invalid condition 'intermediate'; allowed values: direct, inter-"):
        condition_results(config, "intermediate", 0)


FAKE_SNAKEMAKE = """#!/usr/bin/env bash
# makes every results/ file it is asked for; fails, having made part of them, on $FAIL_ON
for arg in "$@"; do
  case "$arg" in results/*) mkdir -p "$(dirname "$arg")"; echo made > "$arg";; esac
  if [ -n "${FAIL_ON:-}" ] && [[ "$arg" == *"$FAIL_ON"* ]]; then exit 1; fi
done
"""


def committing_repo(tmp_path: Path, **extra_env):
    """A git repo with the runner, a fake `snakemake` (FAKE_SNAKEMAKE) first on PATH, COMMIT=1 and
    one empty commit: (repo, env, git), git(*args) returning its stdout."""
    repo = runner_repo(tmp_path, "src", "configs", "workflow")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "snakemake").write_text(FAKE_SNAKEMAKE)
    (fake / "snakemake").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "COMMIT": "1", **extra_env}
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout  # noqa: E731
    git("init", "-q")
    git("commit", "-q", "--allow-empty", "-m", "start")
    return repo, env, git


def test_commit_records_each_finished_condition_and_never_a_failed_one(tmp_path):
    repo, env, git = committing_repo(tmp_path, FAIL_ON="inter-movie_sentiment_s7_paragraph")
    out = subprocess.run(["bash", "scripts/run_by_seed.sh", "configs/powered.yaml", "7"], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0  # the movie-sentiment condition failed, and the script stopped there
    log = git("log", "--format=%s").splitlines()
    # the conditions before it (powered.yaml's order: direct, inter-vitaminc, inter-movie_sentiment)
    assert log == ["powered grid: seed 7, inter-vitaminc (result files)",
                   "powered grid: seed 7, direct (result files)", "start"]
    committed = set(git("ls-files").split())
    assert "results/powered/attack/inter-vitaminc_s7.json.gz" in committed
    assert "results/powered/retrieval/intermediate/vitaminc_s7_article.json" in committed
    # the failed condition made its attack file, which stays uncommitted
    assert (repo / "results/powered/attack/inter-movie_sentiment_s7.json.gz").exists()
    assert not any("movie_sentiment" in f for f in committed)


def test_a_grid_without_conditions_runs_each_seed_once_and_commits_it(tmp_path):
    """conditions: [] (a retrieval-only grid, e.g. configs/retrieval_sides.yaml): no empty condition
    step, one Snakemake call per seed and one commit of its result files."""
    repo, env, git = committing_repo(tmp_path)
    fake = tmp_path / "bin"
    (fake / "snakemake").write_text(FAKE_SNAKEMAKE.replace('for arg in "$@"; do', 'mkdir -p results/retrieval_sides\n'
                                                           'echo "$*" >> results/retrieval_sides/calls\n'
                                                           'for arg in "$@"; do'))
    out = subprocess.run(["bash", "scripts/run_by_seed.sh", "configs/retrieval_sides.yaml", "3", "4"], cwd=repo,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.findall(r"^== seed (\d), (.+?) \(", out.stdout, flags=re.M) == [("3", "the rest of its jobs"),
                                                                             ("4", "the rest of its jobs")]
    assert git("log", "--format=%s").splitlines() == [
        "retrieval_sides grid: seed 4, the rest of its jobs (result files)",
        "retrieval_sides grid: seed 3, the rest of its jobs (result files)", "start"]


def test_a_data_source_that_cannot_be_had_stops_the_run_before_any_job(tmp_path):
    """The pinned data files cannot be had (no mirror, and every download goes to a closed proxy port):
    the first Snakemake call stops before its first job with the file's remedies, and makes nothing."""
    repo = runner_repo(tmp_path, "src", "workflow", "notebooks", "configs", "book", "_config.yml", "_toc.yml")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path),
           "XROBUST_CACHE": str(tmp_path / "cache"), "HTTPS_PROXY": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "", "COMMIT": "1"}
    env.pop("XROBUST_DATA_DIR", None)
    env.pop("XROBUST_DATA_MIRROR", None)
    out = subprocess.run(["bash", "scripts/run_by_seed.sh", "configs/default.yaml", "0"], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=300)
    text = out.stdout + out.stderr
    assert out.returncode != 0, text[-2000:]
    assert "could not be had: downloading https://raw.githubusercontent.com/dadelani/sib-200/" in text, text[-2000:]
    assert "XROBUST_DATA_MIRROR" in text
    assert text.count("== seed 0,") == 1  # stopped at its first condition
    assert not (repo / "results").exists() and not (repo / "runs").exists()  # no job ran


def test_jobs_that_read_no_unavailable_data_still_run(tmp_path):
    """With the data sdist refused, the check before the first job looks at the jobs about to run:
    a retrieval job (UDHR only) passes it, a target job stops there. `--touch` runs the check and no job."""
    repo = runner_repo(tmp_path, "src", "workflow", "notebooks", "configs", "book", "_config.yml", "_toc.yml")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path),
           "XROBUST_CACHE": str(tmp_path / "cache"), "HTTPS_PROXY": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    env.pop("XROBUST_DATA_DIR", None)

    def touch(target):
        return subprocess.run(["snakemake", "-s", "workflow/Snakefile", "--configfile", "configs/powered.yaml",
                               "--cores", "1", "--touch", target, "--config", "seeds=[6]"],
                              cwd=repo, env=env, capture_output=True, text=True, timeout=300)

    retrieval = touch("results/powered/retrieval/pretrained_paragraph.json")
    assert retrieval.returncode == 0, (retrieval.stdout + retrieval.stderr)[-2000:]
    assert "could not be had" not in retrieval.stdout + retrieval.stderr
    target = touch("results/powered/target/direct_s6.json")
    assert target.returncode != 0
    assert "could not be had: downloading bigbench-1.0.0.tar.gz" in target.stdout + target.stderr
