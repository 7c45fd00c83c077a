"""Remake the intermediate checkpoint of a grid's committed result file, for its retrieval jobs.

A checkpoint stays on the machine that trained it, so a retrieval job added later (e.g. article
level for seeds trained before `retrieval_article_encoders`) finds none. This re-runs the training
step from the config and seed into a scratch folder and moves the checkpoint to
runs/<grid>/intermediate/<task>_s<seed>/checkpoint only if the remade run is the committed one:
the same config, steps, tokens, first and last losses and evaluation, and the weights' sha256 that
committed retrieval files recorded, if any (training on this machine kind is bit-reproducible).
The committed result file is never rewritten; a record of the check goes to
results/<grid>/remade/intermediate/<task>_s<seed>.json. Prints the retrieval result files that the
checkpoint lets Snakemake make.

    python scripts/remake_checkpoint.py configs/powered.yaml movie_sentiment 0
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from xrobust import resultfiles
from xrobust.models import checkpoint_meta
from xrobust.offline_data import require
from xrobust.params import RETRIEVAL_STEPS, config_params, retrieval_results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("task", help="an intermediate task of the config")
    ap.add_argument("seed", type=int, help="a seed of the config")
    a = ap.parse_args(argv)
    config = yaml.safe_load(Path(a.config).read_text())
    grid, tasks, seeds = config["name"], config.get("intermediate_tasks") or [], config["seeds"]
    if a.task not in tasks:
        allowed = ", ".join(tasks) or "none (the config has no intermediate_tasks)"
        ap.error(f"invalid task {a.task!r}; allowed values: {allowed}")
    if a.seed not in seeds:
        ap.error(f"invalid seed {a.seed}; allowed values: {', '.join(map(str, seeds))}")
    name = f"{a.task}_s{a.seed}"
    committed_path = Path("results", grid, "intermediate", f"{name}.json")
    if not committed_path.is_file():
        ap.error(f"{committed_path} is not there: Snakemake trains this model (and keeps its checkpoint) itself")
    run_dir, scratch = Path("runs", grid, "intermediate", name), Path("runs", grid, "intermediate", f"{name}.remake")
    if (run_dir / "checkpoint").is_dir():
        print(f"{run_dir / 'checkpoint'} is already there")
        return 0
    require([a.task])  # its data, before any compute
    scratch.mkdir(parents=True, exist_ok=True)
    params = config_params(config, "intermediate", task=a.task, seed=a.seed, out_dir=str(scratch),
                           result_path=str(scratch / "result.json"))
    subprocess.run(["papermill", "--log-output", "--no-progress-bar", "notebooks/01_intermediate.ipynb",
                    str(scratch / "01_intermediate.ipynb"), "-y",
                    yaml.safe_dump(params, default_flow_style=True, width=10**6).strip()], check=True)
    committed = resultfiles.read_json(committed_path)
    remade = resultfiles.read_json(scratch / "result.json")
    weights = checkpoint_meta(scratch / "checkpoint")["weights_sha256"]
    recorded = resultfiles.recorded_weights(Path("results", grid), "intermediate", a.task, a.seed)
    diffs = resultfiles.remade_differences(committed, remade, weights, recorded)
    if diffs:
        print(f"the remade {name} is not the committed model; its checkpoint stays in {scratch}:\n  "
              + "\n  ".join(diffs), file=sys.stderr)
        return 1
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.move(str(scratch / "checkpoint"), str(run_dir / "checkpoint"))
    record = {"committed": str(committed_path), "weights_sha256": weights, "recorded_weights": sorted(recorded),
              "checked": [f"{p}.{k}" if k else p for p, k in resultfiles.REMADE_CHECKS],
              "remade": {"train": remade["train"], "eval": remade["eval"]},
              "provenance": remade["provenance"]}
    resultfiles.write_json(Path("results", grid, "remade", "intermediate", f"{name}.json"), record)
    shutil.rmtree(scratch)
    job = f"intermediate/{name}"
    todo = [path for step in RETRIEVAL_STEPS for path, j in retrieval_results(config, step, [a.seed])
            if j == job and not Path(path).exists()]
    print(f"{run_dir / 'checkpoint'}: the committed model (sha256 {weights[:12]}...); its retrieval jobs:")
    print("\n".join(todo) or "(none left)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
