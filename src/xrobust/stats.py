"""Result files as tidy tables (checksums verified by `resultfiles.read_json`). The inference on them is
`xrobust.inference`; the paper's analysis of one grid is `xrobust.analysis`."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import resultfiles


def condition_label(info: dict, run_dir: str = "") -> str:
    """'direct', 'multilingual' or 'inter-<intermediate task>' from a target config or checkpoint meta.
    Files written before `intermediate_task` was recorded fall back to the run folder name
    (`<task>_s<seed>` or `inter-<task>_s<seed>`)."""
    if info.get("condition") in ("direct", "multilingual"):
        return info["condition"]
    task = info.get("intermediate_task") or \
        Path(run_dir).name.split("inter-", 1)[-1].rsplit("_s", 1)[0]
    return f"inter-{task}"


def load_clean(paths) -> pd.DataFrame:
    """Per-language clean accuracy of every target run found under `paths`."""
    rows = []
    for path in resultfiles.result_files(paths):
        doc = resultfiles.read_json(path)
        runs = doc.get("runs", [doc])
        for run in runs:
            cfg = run.get("config", {})
            if cfg.get("step") != "target":
                continue
            for r in run["per_language"]:
                cond = cfg.get("condition_label") or condition_label(
                    cfg, str(Path(cfg.get("intermediate_checkpoint") or "").parent))
                rows.append({"source": str(Path(path).parent), "condition": cond, "seed": cfg["seed"],
                             "model": cfg["model"], "train_seconds": run.get("train", {}).get("seconds"), **r})
    return pd.DataFrame(rows)


def load_attacks(paths) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary rows per condition/seed/language/recipe, per-example records)."""
    rows, recs = [], []
    for path in resultfiles.result_files(paths):
        doc = resultfiles.read_json(path)
        if doc.get("config", {}).get("step") != "attack":
            continue
        meta = doc["config"]["checkpoint_meta"]
        cond = condition_label(meta, str(Path(doc["config"]["checkpoint"]).parent))
        grid = Path(path).parent.parent.name  # results/<grid>/attack/<run>.json.gz
        for row in doc["rows"]:
            base = {"grid": grid, "condition": cond, "seed": meta["seed"], "language": row["language"],
                    "recipe": row["recipe"]}
            rows.append({**base, **{k: v for k, v in row.items() if k not in ("records", "language", "recipe")}})
            for r in row["records"]:
                if r["outcome"] in ("success", "failed", "misclassified"):
                    recs.append({**base, "uid": r["uid"], "outcome": r["outcome"],
                                 "robust": int(r["outcome"] == "failed"),
                                 "clean": int(r["outcome"] != "misclassified")})
    return pd.DataFrame(rows), pd.DataFrame(recs)
