"""From result files to the paper's numbers: tidy tables, paired differences with bootstrap
confidence intervals, a paired test, and a mixed-effects model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import resultfiles as io


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
    for path in _files(paths):
        doc = io.read_json(path)
        runs = doc["runs"] if "runs" in doc else [doc]
        for run in runs:
            cfg = run.get("config", {})
            if cfg.get("step") != "target":
                continue
            for r in run["per_language"]:
                cond = cfg.get("condition_label") or condition_label(
                    cfg, str(Path(cfg.get("intermediate_checkpoint") or "").parent))
                rows.append({"source": str(Path(path).parent), "condition": cond, "seed": cfg["seed"],
                             "model": cfg["model"], **r})
    return pd.DataFrame(rows)


def load_attacks(paths) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary rows per condition/seed/language/recipe, per-example records)."""
    rows, recs = [], []
    for path in _files(paths):
        doc = io.read_json(path)
        if doc.get("config", {}).get("step") != "attack":
            continue
        meta = doc["config"]["checkpoint_meta"]
        cond = condition_label(meta, str(Path(doc["config"]["checkpoint"]).parent))
        grid = Path(path).parent.parent.name  # results/<grid>/attack/<run>.json
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


def _files(paths):
    out = []
    for p in [paths] if isinstance(paths, (str, Path)) else paths:
        p = Path(p)
        out += sorted(p.rglob("*.json")) if p.is_dir() else [p] if p.is_file() else []
    return out


def paired_deltas(records: pd.DataFrame, treated: str, metric: str = "robust",
                  control: str = "direct", n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per language (and overall): mean of `metric` under `treated` minus `control`, over the
    same attacked items, with a two-level bootstrap CI (seeds, then items within a seed)."""
    rng = np.random.default_rng(seed)
    keys = ["grid", "seed", "language", "recipe", "uid"]
    a = records[records.condition == control].set_index(keys)[metric]
    b = records[records.condition == treated].set_index(keys)[metric]
    paired = pd.concat([a.rename("control"), b.rename("treated")], axis=1).dropna().reset_index()
    paired["diff"] = paired["treated"] - paired["control"]
    out = []
    for lang, g in list(paired.groupby("language")) + [("all", paired)]:
        by_seed = [s["diff"].to_numpy() for _, s in g.groupby(["grid", "seed"])]
        boots = np.empty(n_boot)
        for i in range(n_boot):
            pick = rng.integers(len(by_seed), size=len(by_seed))
            boots[i] = np.mean(np.concatenate([by_seed[j][rng.integers(len(by_seed[j]), size=len(by_seed[j]))]
                                               for j in pick]))
        out.append({"language": lang, "delta": g["diff"].mean(), "ci_low": np.quantile(boots, 0.025),
                    "ci_high": np.quantile(boots, 0.975), "n_pairs": len(g), "n_seeds": len(by_seed),
                    "control_mean": g["control"].mean(), "treated_mean": g["treated"].mean()})
    return pd.DataFrame(out)


def paired_test(records: pd.DataFrame, treated: str, metric: str = "robust", control: str = "direct") -> dict:
    """Wilcoxon signed-rank test over (grid, seed, language, recipe) cells of the paired difference."""
    from scipy.stats import wilcoxon

    cells = records.groupby(["condition", "grid", "seed", "language", "recipe"])[metric].mean().unstack("condition")
    cells = cells[[control, treated]].dropna()
    d = cells[treated] - cells[control]
    if len(d) < 2 or np.allclose(d, 0):
        return {"n_cells": len(d), "mean_delta": float(d.mean()) if len(d) else float("nan"),
                "statistic": float("nan"), "p_value": 1.0}
    res = wilcoxon(d)
    return {"n_cells": len(d), "mean_delta": float(d.mean()), "statistic": float(res.statistic),
            "p_value": float(res.pvalue)}


def mixed_effects(records: pd.DataFrame, treated: str, metric: str = "robust", control: str = "direct") -> dict:
    """Linear mixed model: metric ~ condition, random intercepts for language, variance
    component for seed (statsmodels MixedLM)."""
    import statsmodels.formula.api as smf

    df = records[records.condition.isin([control, treated])].copy()
    df["treated"] = (df.condition == treated).astype(int)
    df["seed"] = df["grid"] + "/" + df["seed"].astype(str)  # a seed of one grid is its own run
    try:
        fit = smf.mixedlm(f"{metric} ~ treated", df, groups=df["language"],
                          vc_formula={"seed": "0 + C(seed)"}).fit(method="lbfgs")
        lo, hi = fit.conf_int().loc["treated"]
        return {"effect": float(fit.params["treated"]), "ci_low": float(lo), "ci_high": float(hi),
                "p_value": float(fit.pvalues["treated"]), "n": len(df), "converged": bool(fit.converged)}
    except (ValueError, np.linalg.LinAlgError) as e:
        return {"effect": float("nan"), "error": str(e), "n": len(df)}
