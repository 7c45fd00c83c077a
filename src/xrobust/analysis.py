"""The paper's analysis of ONE grid: result files -> tidy tables -> values glued into the book.

    grid = load_grid("results/pilot")        # checksums verified; one design or ValueError
    learned_model_check(grid)                # did every model learn more than the majority class?
    intermediate_check(grid)                 # ... and every intermediate model, on its validation set?
    headline_table(grid)                     # each treated condition vs direct, non-English overall
    language_effects(grid)                   # per language, Holm-adjusted across languages
    english_contrast(grid)                   # English reference and non-English minus English
    clean_deltas(grid)                       # clean accuracy on the full test sets
    design_from_pilot(grid)                  # variance components -> seeds S and items K needed
    ablation_table(grid, load_grid("results/pilot_unfrozen"))  # an ablation grid beside it
    glue_values(...)                         # flat raw numbers for `{glue:text}` in the book

Grids are never pooled: a seed of one grid and a seed of another are different models trained
under different designs, so every table comes from one grid directory (an ablation grid is shown
beside its base grid, each effect from its own grid). Inference (pairing,
intervals, Holm, variance components) is `xrobust.inference`; this module only assembles it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import inference, resultfiles, stats
from .data import load_examples, majority_rate

CONTROL = "direct"
ENGLISH = "en"
METRICS = {"success": "attack success", "robust": "accuracy under attack"}
# config keys that differ between the runs of one design (which run, where, on what device)
PER_RUN_KEYS = {"seed", "condition", "intermediate_checkpoint", "intermediate_task", "train_languages",
                "out_dir", "result_path", "out_path", "checkpoint", "checkpoint_meta", "device", "precision"}
OVERALL_HALF_WIDTH, LANGUAGE_HALF_WIDTH, MIN_SEEDS = 0.02, 0.05, 10
MIN_MIXED_SEEDS = 3
# an intermediate model counts as trained when it beats its validation majority rate by this much
INTERMEDIATE_MARGIN, INTERMEDIATE_MIN_F1 = 0.10, 0.5


@dataclass
class Grid:
    """The result files of one grid, as tidy tables."""
    name: str
    path: Path
    clean: pd.DataFrame      # target runs: condition, seed, language, n, accuracy, macro_f1, majority_rate
    attacks: pd.DataFrame    # one row per condition x seed x language x recipe (summaries)
    records: pd.DataFrame    # one row per attacked item: condition, seed, language, recipe, uid, clean, robust
    design: dict             # the shared configuration of the target and attack steps
    files: list = field(default_factory=list)
    intermediate: pd.DataFrame = field(default_factory=pd.DataFrame)  # task, seed, validation scores
    training: pd.DataFrame = field(default_factory=pd.DataFrame)  # stage, name, seed, loss_first

    @property
    def treated(self) -> list[str]:
        """Conditions compared with `direct`: inter-<task> first (the question), then multilingual."""
        conds = set(self.records.condition) - {CONTROL}
        return sorted(conds, key=lambda c: (not c.startswith("inter-"), c))


# ---------------------------------------------------------------- loading

def load_grid(grid_dir) -> Grid:
    """Read results/<grid>/{target,intermediate}/*.json and attack/*.json.gz (checksums verified by
    `resultfiles.read_json`).

    Refuses (ValueError) a folder without result files, a partial attack file, and files whose
    configurations differ in design (training size, steps, epochs, model, attacked pool, ...):
    only the seed and the condition may vary within a grid.
    """
    path = Path(grid_dir)
    target_files = resultfiles.result_files(path / "target")
    attack_files = resultfiles.result_files(path / "attack")
    if not path.is_dir() or not target_files or not attack_files:
        raise ValueError(f"grid_dir={str(grid_dir)!r}: allowed values are one grid folder results/<grid> with "
                         "result files under target/ and attack/ (grids are never pooled)")
    files = target_files + attack_files + resultfiles.result_files(path / "intermediate")
    docs = {f: resultfiles.read_json(f) for f in files}
    partial = [str(f) for f in attack_files if not docs[f].get("complete", False)]
    if partial:
        raise ValueError(f"grid_dir={str(grid_dir)!r} holds unfinished attack files {partial}; "
                         "allowed: complete files only (let the workflow finish them)")
    design = _check_one_design(docs)
    _check_one_precision_per_seed(docs)
    clean = stats.load_clean(target_files)
    clean["majority_rate"] = _majority_rates(docs, target_files, clean)
    attacks, records = stats.load_attacks(attack_files)
    intermediate = pd.DataFrame([{"task": d["config"]["task"], "seed": d["config"]["seed"], **d["eval"],
                                  "train_seconds": d.get("train", {}).get("seconds")}
                                 for d in docs.values() if d["config"]["step"] == "intermediate"])
    return Grid(path.name, path, clean.drop(columns=["source"]), attacks.drop(columns=["grid"]),
                records.drop(columns=["grid"]), design, [str(f) for f in docs], intermediate, _training(docs))


def _training(docs: dict) -> pd.DataFrame:
    """Per trained model: its stage, name (intermediate task or target condition), seed and mean
    loss over its first five steps (which tells whether two runs started from the same point)."""
    rows = []
    for d in docs.values():
        step = d["config"]["step"]
        if step in ("intermediate", "target"):
            name = d["config"]["task"] if step == "intermediate" else stats.condition_label(d["config"])
            rows.append({"stage": step, "name": name, "seed": d["config"]["seed"],
                         "loss_first": d.get("train", {}).get("loss_first", np.nan)})
    return pd.DataFrame(rows, columns=["stage", "name", "seed", "loss_first"])


def _design_of(doc: dict) -> dict:
    cfg = doc["config"]
    # the intermediate task varies between inter-<task> conditions; the target task does not
    per_run = PER_RUN_KEYS | ({"task"} if cfg["step"] == "intermediate" else set())
    design = {k: v for k, v in cfg.items() if k not in per_run}
    if cfg["step"] == "target":
        design["train_steps"] = doc["train"]["steps"]  # what training actually did
    if cfg["step"] == "attack":
        design["pool_uids"] = doc["pool"]["uids"]
        design["base_model"] = cfg["checkpoint_meta"].get("base_model")
    return design


def _check_one_design(docs: dict) -> dict:
    """The design shared by every file of each step; ValueError naming the keys that differ."""
    by_step = {}
    for f, doc in docs.items():
        by_step.setdefault(doc["config"]["step"], []).append((f, _design_of(doc)))
    for step, items in by_step.items():
        first_file, first = items[0]
        for f, d in items[1:]:
            diff = sorted(k for k in set(first) | set(d) if first.get(k) != d.get(k))
            if diff:
                raise ValueError(f"grid_dir {Path(f).parent.parent}: {step} files differ in design keys {diff} "
                                 f"({first_file.name} vs {f.name}); allowed: one design per grid (only seed and "
                                 "condition vary); put the other design in its own grid folder")
    out = {f"{step}.{k}": v for step, items in by_step.items() for k, v in items[0][1].items() if k != "pool_uids"}
    out["n_pool_items"] = len(by_step["attack"][0][1]["pool_uids"])
    return out


def _check_one_precision_per_seed(docs: dict) -> None:
    """The models of one seed (intermediate, target, attack) share one numeric format, so that a
    paired contrast of conditions is not one of formats. Seeds may differ (a grid's CPU seeds and
    GPU seeds can): the format is per run (`PER_RUN_KEYS`), recorded in each file."""
    formats: dict[int, dict[str, str]] = {}
    for f, doc in docs.items():
        cfg = doc["config"]
        seed = cfg["checkpoint_meta"].get("seed") if cfg["step"] == "attack" else cfg.get("seed")
        if cfg.get("precision") is not None and seed is not None:
            formats.setdefault(seed, {})[Path(f).name] = cfg["precision"]
    for seed, by_file in formats.items():
        if len(set(by_file.values())) > 1:
            raise ValueError(f"seed {seed}: result files ran in different numeric formats {by_file}; allowed: "
                             "one precision for all conditions of a seed (re-run them with one 'precision')")


def _majority_rates(docs, target_files, clean) -> pd.Series:
    """Share of the most frequent label in each evaluated test set: from the result file, or (files
    written before it was recorded) recounted from the same test examples."""
    recorded = {(doc["config"]["seed"], r["language"]): r.get("majority_rate")
                for doc in (docs[f] for f in target_files) for r in doc["per_language"]}
    if all(v is not None for v in recorded.values()):
        pairs = zip(clean.seed, clean.language, strict=True)
        return pd.Series([recorded[seed_language] for seed_language in pairs], index=clean.index)
    from .tasks import get_task

    cfg = docs[target_files[0]]["config"]
    rates = {}
    for lang in clean.language.unique():
        ex = load_examples(get_task(cfg["task"]), lang, "test", max_examples=cfg["max_eval_examples"],
                           max_words=cfg["max_words"])
        rates[lang] = majority_rate([e.label for e in ex])
    return clean.language.map(rates)


# ---------------------------------------------------------------- learned-model check

def learned_model_check(grid: Grid, n_labels: int | None = None) -> pd.DataFrame:
    """Per model (condition, seed): accuracy and macro-F1 in English (the training language of
    direct and inter-*) and averaged over the other languages, against the majority-class rate
    and the macro-F1 a majority-class predictor gets (2p/(1+p) for its class, 0 for the others).
    `learned` is True when the model beats both in English."""
    if n_labels is None:
        from .tasks import get_task

        n_labels = len(get_task(grid.design["target.task"]).labels)
    c = grid.clean.assign(non_english=grid.clean.language != ENGLISH)
    en = c[~c.non_english].set_index(["condition", "seed"])
    other = c[c.non_english].groupby(["condition", "seed"])[["accuracy", "macro_f1", "majority_rate"]].mean()
    out = pd.DataFrame({"accuracy_en": en.accuracy, "macro_f1_en": en.macro_f1, "majority_rate_en": en.majority_rate,
                        "accuracy_non_en": other.accuracy, "macro_f1_non_en": other.macro_f1,
                        "majority_rate_non_en": other.majority_rate}).reset_index()
    p = out.majority_rate_en
    out["majority_macro_f1_en"] = 2 * p / (1 + p) / n_labels
    out["learned"] = (out.accuracy_en > out.majority_rate_en) & (out.macro_f1_en > out.majority_macro_f1_en)
    return out


def intermediate_check(grid: Grid, margin: float = INTERMEDIATE_MARGIN,
                       min_macro_f1: float = INTERMEDIATE_MIN_F1) -> pd.DataFrame:
    """Per intermediate model (task, seed), on its English validation set: accuracy, macro-F1,
    majority-class rate and accuracy minus that rate. `learned` when the accuracy beats the
    majority rate by at least `margin` and macro-F1 reaches `min_macro_f1`: only then has the
    treatment (intermediate training) been applied to the encoder the target step starts from."""
    if grid.intermediate.empty:
        return pd.DataFrame(columns=["task", "seed", "accuracy", "macro_f1", "majority_rate", "n", "margin",
                                     "learned"])
    out = grid.intermediate[["task", "seed", "accuracy", "macro_f1", "majority_rate", "n"]].copy()
    out["margin"] = out.accuracy - out.majority_rate
    out["learned"] = (out.margin >= margin) & (out.macro_f1 >= min_macro_f1)
    return out.sort_values(["task", "seed"], ignore_index=True)


def progress_table(grid: Grid, planned_seeds: int = MIN_SEEDS) -> pd.DataFrame:
    """Per condition of a growing grid: the seeds with a trained model and with a finished attack,
    the distinct attacked items, the seeds still missing to `planned_seeds` (the design), and the
    minutes one seed's training (its intermediate model included) and its attack took (means over
    seeds, as recorded in the result files)."""
    if not (isinstance(planned_seeds, int) and planned_seeds >= 1):
        raise ValueError(f"planned_seeds={planned_seeds!r}: allowed values are integers >= 1")
    rows = []
    for cond in [CONTROL, *grid.treated] if CONTROL in set(grid.clean.condition) else sorted(set(grid.clean.condition)):
        trained = sorted(int(s) for s in grid.clean.seed[grid.clean.condition == cond].unique())
        recs = grid.records[grid.records.condition == cond]
        attacked = sorted(int(s) for s in recs.seed.unique())
        runs = grid.attacks[grid.attacks.condition == cond]
        minutes = runs.groupby("seed").seconds.sum().mean() / 60 if "seconds" in runs and len(runs) else np.nan
        rows.append({"condition": cond, "seeds_trained": len(trained), "seeds_attacked": len(attacked),
                     "attacked_seeds": ", ".join(map(str, attacked)), "n_items": int(recs.uid.nunique()),
                     "seeds_to_go": max(planned_seeds - len(attacked), 0),
                     "train_minutes": _train_minutes(grid, cond), "attack_minutes": float(minutes)})
    return pd.DataFrame(rows)


def _train_minutes(grid: Grid, cond: str) -> float:
    """Mean over seeds of the minutes a condition's training took: its target model plus, for
    inter-<task>, the intermediate model of the same seed (NaN where a file lacks the time)."""
    target = grid.clean[grid.clean.condition == cond].groupby("seed").train_seconds.first() \
        if "train_seconds" in grid.clean else pd.Series(dtype=float)
    if cond.startswith("inter-") and len(grid.intermediate) and "train_seconds" in grid.intermediate:
        inter = grid.intermediate[grid.intermediate.task == cond[len("inter-"):]].set_index("seed").train_seconds
        target = target + inter.reindex(target.index)
    return float(target.mean() / 60) if len(target) else np.nan


def progress_values(progress: pd.DataFrame, planned_seeds: int = MIN_SEEDS) -> dict:
    """Values for the book from a `progress_table`: the seeds every condition has been attacked
    with (the least across conditions), of `planned_seeds`, and the progress as one sentence."""
    done = int(progress.seeds_attacked.min()) if len(progress) else 0
    parts = "; ".join(f"{r.condition} {r.seeds_attacked}" for r in progress.itertuples())
    return {"progress_seeds_done": done, "progress_seeds_planned": planned_seeds,
            "progress_train_minutes_min": float(progress.train_minutes.min()),
            "progress_train_minutes_max": float(progress.train_minutes.max()),
            "progress_attack_minutes_min": float(progress.attack_minutes.min()),
            "progress_attack_minutes_max": float(progress.attack_minutes.max()),
            "progress_text": f"{done} of {planned_seeds} planned seeds in every condition "
                             f"(attacked seeds per condition: {parts or 'none'})"}


def shared_item_agreement(grid: Grid, other: Grid) -> pd.DataFrame:
    """A grid against another grid of the same training design whose attacked pool it contains
    (the powered grid against its pilot), on what both made: per condition and seed, the
    (language, recipe, item) cells attacked in both and the share with the same outcome, and the
    largest difference in clean accuracy of that model between the grids. A re-run check: the same
    seed should train the same model, so both should agree (up to floating-point order effects);
    a (condition, seed) that departs is a model that was not reproduced. The grids stay separate
    in every other table. The first-five-step training losses of both grids' models (target, and
    intermediate for inter-<task>) tell a model that started elsewhere from one that drifted."""
    keys = ["condition", "seed", "language", "recipe", "uid"]
    recs = grid.records.merge(other.records, on=keys, suffixes=("", "_other"))
    clean = grid.clean.merge(other.clean, on=["condition", "seed", "language"], suffixes=("", "_other"))
    rows = []
    pairs = set(zip(recs.condition, recs.seed, strict=True)) | set(zip(clean.condition, clean.seed, strict=True))
    for cond, seed in sorted(pairs):
        r = recs[(recs.condition == cond) & (recs.seed == seed)]
        c = clean[(clean.condition == cond) & (clean.seed == seed)]
        task = cond[len("inter-"):] if cond.startswith("inter-") else None
        rows.append({"condition": cond, "seed": int(seed), "n_items": int(r.uid.nunique()), "n_cells": len(r),
                     "outcome_agreement": float((r.outcome == r.outcome_other).mean()) if len(r) else np.nan,
                     "clean_accuracy_max_abs_diff": float((c.accuracy - c.accuracy_other).abs().max())
                     if len(c) else np.nan,
                     "first_loss": _first_loss(grid, "target", cond, seed),
                     "first_loss_other": _first_loss(other, "target", cond, seed),
                     "intermediate_first_loss": _first_loss(grid, "intermediate", task, seed),
                     "intermediate_first_loss_other": _first_loss(other, "intermediate", task, seed)})
    return pd.DataFrame(rows, columns=["condition", "seed", "n_items", "n_cells", "outcome_agreement",
                                       "clean_accuracy_max_abs_diff", "first_loss", "first_loss_other",
                                       "intermediate_first_loss", "intermediate_first_loss_other"])


def _first_loss(grid: Grid, stage: str, name: str | None, seed: int) -> float:
    t = grid.training
    hit = t[(t.stage == stage) & (t.name == name) & (t.seed == seed)] if len(t) and name else t.iloc[:0]
    return float(hit.loss_first.iloc[0]) if len(hit) else np.nan


# a re-trained model counts as reproduced when this share of its shared cells has the same
# outcome and its clean accuracies differ by at most this much (floating-point order effects)
REPRODUCED_AGREEMENT, REPRODUCED_CLEAN_DIFF = 0.99, 0.01


def agreement_values(agreement: pd.DataFrame, other_name: str) -> dict:
    """Values for the book from a `shared_item_agreement` table (pooled over conditions and seeds),
    and a sentence naming each (condition, seed) model that was not reproduced."""
    n = int(agreement.n_cells.sum()) if len(agreement) else 0
    share = float((agreement.outcome_agreement * agreement.n_cells).sum() / n) if n else float("nan")
    diff = float(agreement.clean_accuracy_max_abs_diff.max()) if len(agreement) else float("nan")
    off = agreement[(agreement.outcome_agreement < REPRODUCED_AGREEMENT)
                    | (agreement.clean_accuracy_max_abs_diff > REPRODUCED_CLEAN_DIFF)]
    departures = "; ".join(f"{r.condition} seed {r.seed} ({r.outcome_agreement:.1%} of {r.n_cells} cells agree, "
                           f"clean accuracy differs by up to {r.clean_accuracy_max_abs_diff:.3f}"
                           f"{_start_text(r, other_name)})" for r in off.itertuples())
    return {"compare_grid": other_name, "compare_n_cells": n, "compare_outcome_agreement": share,
            "compare_n_seeds": int(agreement.seed.nunique()) if n else 0,
            "compare_n_items": int(agreement.n_items.max()) if n else 0,
            "compare_clean_max_abs_diff": diff, "compare_clean_text": (
                "are identical in every language" if diff == 0 else f"differ by at most {diff:.3f}"
                if np.isfinite(diff) else "were not both made"),
            "compare_n_departures": len(off),
            "compare_departures_text": (
                f"every (condition, seed) model was reproduced (at least {REPRODUCED_AGREEMENT:.0%} of its cells "
                f"agree and its clean accuracies differ by at most {REPRODUCED_CLEAN_DIFF})" if off.empty else
                f"{len(off)} of {len(agreement)} (condition, seed) models were not reproduced: {departures}")}


def _start_text(r, other_name: str) -> str:
    """'; <stage> first-five-step loss <here> here and <there> in <other>' for each training stage
    of the model whose first losses differ between the grids: another starting point, not drift."""
    parts = [f"{label} {here:.4f} here and {there:.4f} in {other_name}"
             for label, here, there in (("intermediate model's first-five-step loss", r.intermediate_first_loss,
                                         r.intermediate_first_loss_other),
                                        ("first-five-step loss", r.first_loss, r.first_loss_other))
             if np.isfinite(here) and np.isfinite(there) and here != there]
    return "".join(f"; {p}" for p in parts)


t_interval = inference.t_interval  # clean-accuracy intervals use the same rule


# ---------------------------------------------------------------- effects

def _paired(grid: Grid, treated: str, metric: str, languages: str = "non-English") -> pd.DataFrame:
    recs = grid.records
    if languages == "non-English":
        recs = recs[recs.language != ENGLISH]
    return inference.pair(recs, treated, CONTROL, metric)


def headline_table(grid: Grid, **options) -> pd.DataFrame:
    """Per treated condition and metric (attack success, accuracy under attack): the change
    against direct over all attacked non-English languages, 95% CI, seed-level p, n seeds,
    n distinct items (see `inference.effect`)."""
    rows = []
    for cond in grid.treated:
        for metric, label in METRICS.items():
            row = inference.effect(_paired(grid, cond, metric), **options).iloc[0]
            rows.append({"condition": cond, "metric": label, **row.to_dict()})
    return pd.DataFrame(rows)


def language_effects(grid: Grid, metric: str = "success", **options) -> pd.DataFrame:
    """Per treated condition and attacked language (English included as the reference row):
    the change against direct with 95% CI, n seeds, n items; `p_holm` is Holm-adjusted across
    the non-English languages of that condition (English is not part of the family)."""
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r}: allowed values are {tuple(METRICS)}")
    out = []
    for cond in grid.treated:
        table = inference.language_table(_paired(grid, cond, metric), **options)
        en = inference.effect(_paired(grid, cond, metric, "all").query("language == @ENGLISH"), by="language",
                              **options) if (grid.records.language == ENGLISH).any() else pd.DataFrame()
        both = pd.concat([table, en.assign(p_holm=np.nan)], ignore_index=True)
        out.append(both.assign(condition=cond, metric=METRICS[metric]))
    return pd.concat(out, ignore_index=True).sort_values(["condition", "delta"], ignore_index=True)


def english_contrast(grid: Grid, metric: str = "success", **options) -> pd.DataFrame:
    """English reference effect, non-English mean effect and their difference, per treated condition."""
    if not (grid.records.language == ENGLISH).any():
        raise ValueError(f"grid {grid.name!r} has no English attack rows; allowed: grids that attack 'en'")
    return pd.concat([inference.contrast_non_english_minus_english(_paired(grid, c, metric, "all"), ENGLISH, **options)
                      .assign(condition=c, metric=METRICS[metric]) for c in grid.treated], ignore_index=True)


def ablation_table(base: Grid, ablation: Grid, **options) -> pd.DataFrame:
    """An ablation grid (the base design with one change, in its own folder) beside its base grid.
    Not pooling: per condition both grids compare with direct and metric, each grid's
    non-English effect on the seeds both grids have, then `<ablation> - <base>`: the per-seed
    difference of the two effects (the same seed draws the same data in both), seed-level t."""
    seeds = sorted(set(base.records.seed) & set(ablation.records.seed))
    conditions = [c for c in ablation.treated if c in base.treated]
    if not seeds or not conditions:
        raise ValueError(f"grids {base.name!r} and {ablation.name!r} share no seed or no treated condition; "
                         "allowed: an ablation run on seeds and conditions of its base grid")
    rows = []
    for cond in conditions:
        for metric, label in METRICS.items():
            per_seed = {}
            for g in (base, ablation):
                paired = _paired(g, cond, metric)
                paired = paired[paired.seed.isin(seeds)]
                rows.append({"condition": cond, "metric": label, "comparison": g.name,
                             **inference.effect(paired, **options).iloc[0].to_dict()})
                per_seed[g.name] = inference.per_seed_effects(paired)
            diff = inference.seed_difference(per_seed[ablation.name], per_seed[base.name])
            rows.append({"condition": cond, "metric": label, "comparison": f"{ablation.name} − {base.name}",
                         **diff, "n_items": rows[-1]["n_items"], "method": "per-seed difference, t interval"})
    return pd.DataFrame(rows)


def clean_deltas(grid: Grid, level: float = 0.95) -> pd.DataFrame:
    """Clean accuracy (full test sets of the target runs) of each treated condition minus direct,
    paired on (seed, language); per seed averaged over the non-English languages, then a t
    interval over seeds. Rows: per language and `non-English`."""
    c = grid.clean.pivot_table(index=["seed", "language"], columns="condition", values="accuracy")
    rows = []
    for cond in [x for x in grid.treated if x in c.columns]:
        d = (c[cond] - c[CONTROL]).dropna().rename("diff").reset_index()
        groups = [(lang, g.set_index("seed")["diff"]) for lang, g in d.groupby("language")]
        groups.append(("non-English", d[d.language != ENGLISH].groupby("seed")["diff"].mean()))
        for lang, per_seed in groups:
            lo, hi = t_interval(per_seed.to_numpy(float), level)
            p = float(sps.ttest_1samp(per_seed, 0).pvalue) if len(per_seed) > 1 and per_seed.std() > 0 else np.nan
            in_row = (grid.clean.language == lang) if lang != "non-English" else (grid.clean.language != ENGLISH)
            n_items = grid.clean[(grid.clean.condition == cond) & in_row].n
            rows.append({"condition": cond, "language": lang, "delta": float(per_seed.mean()), "ci_low": lo,
                         "ci_high": hi, "p": p, "n_seeds": len(per_seed), "n_items": int(n_items.max())})
    return pd.DataFrame(rows)


def clean_table(grid: Grid, level: float = 0.95) -> pd.DataFrame:
    """Clean accuracy per condition and language: mean over seeds with a t interval over seeds,
    n seeds, n test items, and the majority-class rate of that test set."""
    rows = []
    for (cond, lang), g in grid.clean.groupby(["condition", "language"]):
        lo, hi = t_interval(g.accuracy.to_numpy(float), level)
        rows.append({"condition": cond, "language": lang, "accuracy": float(g.accuracy.mean()), "ci_low": lo,
                     "ci_high": hi, "macro_f1": float(g.macro_f1.mean()),
                     "majority_rate": float(g.majority_rate.mean()),
                     "n_seeds": g.seed.nunique(), "n_items": int(g.n.max())})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- design from the pilot

def mixed_models(grid: Grid, metric: str = "success") -> pd.DataFrame:
    """Per treated condition: the linear mixed model of `inference.mixed_model` (a random intercept
    and treatment slope per seed, item and language variance components) on the non-English
    pairs; a check of the seed-level analysis under a different model of the same data. Its fit
    warnings are counted in `n_warnings` (with few seeds the slope variance is poorly estimated).
    With fewer than `MIN_MIXED_SEEDS` seeds the model is not fitted (NaN, `error` says why): a
    slope variance from one or two seeds gives meaningless Wald intervals."""
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r}: allowed values are {tuple(METRICS)}")
    rows = []
    for cond in grid.treated:
        paired = _paired(grid, cond, metric)
        n_seeds = paired.seed.nunique()
        fit = inference.mixed_model(paired) if n_seeds >= MIN_MIXED_SEEDS else \
            {"effect": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan, "converged": False, "warnings": [],
             "error": f"not fitted: {n_seeds} seed(s); a seed-specific slope needs at least {MIN_MIXED_SEEDS}"}
        rows.append({"condition": cond, "metric": METRICS[metric], "delta": fit["effect"], "ci_low": fit["ci_low"],
                     "ci_high": fit["ci_high"], "p": fit["p"], "converged": fit["converged"],
                     "n_warnings": len(fit["warnings"]), "error": fit["error"], "n_seeds": paired.seed.nunique(),
                     "n_items": paired.uid.nunique(), "n_pairs": len(paired)})
    return pd.DataFrame(rows)


def design_from_pilot(grid: Grid, overall: float = OVERALL_HALF_WIDTH, per_language: float = LANGUAGE_HALF_WIDTH,
                      min_seeds: int = MIN_SEEDS) -> pd.DataFrame:
    """Per treated condition: variance components of the attack-success difference (non-English
    languages) and the cheapest (S seeds, K items) whose predicted 95% half-width reaches
    `overall` for the non-English effect and `per_language` for each language, with at least
    `min_seeds` seeds (`inference.design_for_half_width`).

    `feasible` is False (S, K NaN) when no design within `inference.design_for_half_width`'s
    grid reaches the target, and when the grid has fewer than two seeds or items, from which no
    seed variance can be estimated (e.g. the one-seed demo grid)."""
    rows = []
    for cond in grid.treated:
        paired = _paired(grid, cond, "success")
        enough = paired.seed.nunique() >= 2 and paired.uid.nunique() >= 2
        comps = inference.variance_components(paired) if enough else \
            {"n_seeds": paired.seed.nunique(), "n_items": paired.uid.nunique(),
             **dict.fromkeys(inference.COMPONENTS, np.nan)}
        for scope, target, per_lang in (("overall", overall, False), ("per language", per_language, True)):
            d = inference.design_for_half_width(comps, target, per_language=per_lang, min_seeds=min_seeds) if enough \
                else {"n_seeds": np.nan, "n_items": np.nan, "half_width": np.nan, "feasible": False}
            rows.append({"condition": cond, "scope": scope, "target_half_width": target,
                         "n_seeds": d["n_seeds"], "n_items": d["n_items"], "predicted_half_width": d["half_width"],
                         "feasible": d["feasible"], "pilot_seeds": comps["n_seeds"], "pilot_items": comps["n_items"],
                         **{f"var_{k}": comps[k] for k in inference.COMPONENTS}})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- values for the book

def key(condition: str) -> str:
    """A glue-key-safe name of a condition: inter-movie_sentiment -> inter_movie_sentiment."""
    return condition.replace("-", "_")


def is_preliminary(n_seeds: int, min_seeds: int = MIN_SEEDS) -> bool:
    return n_seeds < min_seeds


def glue_values(grid: Grid, learned: pd.DataFrame, headline: pd.DataFrame, contrast: pd.DataFrame,
                clean: pd.DataFrame, languages: pd.DataFrame, design: pd.DataFrame, primary: str = "",
                intermediate: pd.DataFrame | None = None, mixed: pd.DataFrame | None = None) -> dict:
    """Flat {key: raw value} for the book. Numbers stay numbers (the text formats them with
    `{glue:text}` format specs); p-values are glued formatted (`inference.format_p`: '< 0.001'),
    since no format spec writes that; names are strings. Per treated condition keys are
    prefixed `<condition>_`; `primary_` repeats them for `primary` (default: the first inter-<task>
    condition by name), the condition the abstract reports."""
    if primary and primary not in grid.treated:
        raise ValueError(f"primary={primary!r}: allowed values are '' or one of {grid.treated}")
    primary = primary or grid.treated[0]
    d = grid.design
    seeds = sorted(grid.records.seed.unique())
    out = {"grid": grid.name, "n_seeds": len(seeds), "n_items": int(grid.records.uid.nunique()),
           "n_pool_items": d["n_pool_items"],
           "n_languages_non_en": int(grid.records.language[grid.records.language != ENGLISH].nunique()),
           "languages": ", ".join(sorted(set(grid.records.language) - {ENGLISH})),
           "recipes": ", ".join(sorted(grid.records.recipe.unique())),
           "model": str(d.get("target.model")), "task": str(d.get("target.task")),
           "train_examples": d.get("target.max_train_examples"),
           "train_steps": d.get("target.train_steps"), "epochs": d.get("target.epochs"),
           "pool_seed": d.get("attack.pool_seed"), "min_seeds": MIN_SEEDS,
           "word_embeddings": "frozen" if d.get("target.freeze_embeddings") else "trained",
           "max_eval_examples": d.get("target.max_eval_examples"),
           "n_models": len(learned), "n_models_learned": int(learned.learned.sum()),
           "majority_rate_en": float(learned.majority_rate_en.mean()),
           "accuracy_en_min": float(learned.accuracy_en.min()), "accuracy_en_max": float(learned.accuracy_en.max()),
           "macro_f1_en_min": float(learned.macro_f1_en.min()),
           "treated_conditions": ", ".join(grid.treated),
           "status": ("preliminary" if is_preliminary(len(seeds)) else "final")}
    if intermediate is not None and len(intermediate):
        out.update({"n_intermediate_models": len(intermediate),
                    "n_intermediate_learned": int(intermediate.learned.sum()),
                    "intermediate_margin_min": float(intermediate.margin.min()),
                    "intermediate_macro_f1_min": float(intermediate.macro_f1.min()),
                    "intermediate_margin_target": INTERMEDIATE_MARGIN, "intermediate_f1_target": INTERMEDIATE_MIN_F1})
    for cond in grid.treated:
        k = key(cond)
        for metric, label in METRICS.items():
            row = headline[(headline.condition == cond) & (headline.metric == label)].iloc[0]
            out.update(_effect_keys(f"{k}_{metric}", row))
        for name, part in (("en", "English"), ("non_en_minus_en", "non-English minus English")):
            row = contrast[(contrast.condition == cond) & (contrast.comparison == part)].iloc[0]
            out.update(_effect_keys(f"{k}_{name}", row))
        row = clean[(clean.condition == cond) & (clean.language == "non-English")].iloc[0]
        out.update(_effect_keys(f"{k}_clean", row))
        if mixed is not None:
            row = mixed[mixed.condition == cond].iloc[0]
            out.update(_effect_keys(f"{k}_mixed", row))
            if np.isfinite(row.ci_low):  # a Wald interval, not the seed t interval
                out[f"{k}_mixed_ci"] = f"95% Wald CI {row.ci_low:.3f} to {row.ci_high:.3f}"
            elif row.n_seeds >= MIN_MIXED_SEEDS:
                out[f"{k}_mixed_ci"] = "no CI: the mixed model did not fit"
            else:
                out[f"{k}_mixed_ci"] = f"not fitted with {int(row.n_seeds)} seed(s)"
            out[f"{k}_mixed_n_warnings"] = int(row.n_warnings)
            out[f"{k}_mixed_text"] = (f"{row.delta:.3f} ({out[f'{k}_mixed_ci']}; p {inference.format_p(row.p)})"
                                      if np.isfinite(row.delta) else out[f"{k}_mixed_ci"])
        lang = languages[(languages.condition == cond) & (languages.language != ENGLISH)]
        out[f"{k}_n_languages_holm_05"] = int((lang.p_holm < 0.05).sum())
        for scope, name in (("overall", "overall"), ("per language", "language")):
            row = design[(design.condition == cond) & (design.scope == scope)].iloc[0]
            out[f"{k}_design_{name}_seeds"] = _count_or_na(row.n_seeds)
            out[f"{k}_design_{name}_items"] = _count_or_na(row.n_items)
            out[f"{k}_design_{name}_target"] = float(row.target_half_width)
    out["primary_condition"] = primary
    prefix = key(primary) + "_"
    out.update({"primary_" + k[len(prefix):]: v for k, v in list(out.items()) if k.startswith(prefix)})
    return out


def ablation_text(table: pd.DataFrame | None, learned: pd.DataFrame | None = None,
                  intermediate: pd.DataFrame | None = None, metric: str = "attack success") -> str:
    """One sentence per treated condition of an `ablation_table` for the book: the effect in the
    ablation, in the base grid on the same seeds, and their difference, each with its CI and n;
    with how many of the ablation's models learned. `None`: the ablation has not been run."""
    if table is None or table.empty:
        return "has not been run in this version, so the answer holds for frozen tables only"
    parts = []
    for cond, rows in table[table.metric == metric].groupby("condition", sort=False):
        base, ablation, diff = (rows.iloc[i] for i in range(3))
        parts.append(f"{cond} minus direct, non-English {metric}: {ablation.delta:+.3f} "
                     f"({interval_text(ablation.ci_low, ablation.ci_high, int(ablation.n_seeds))}) in "
                     f"{ablation.comparison} against {base.delta:+.3f} "
                     f"({interval_text(base.ci_low, base.ci_high, int(base.n_seeds))}) in {base.comparison} on the "
                     f"same seeds; difference {diff.delta:+.3f} "
                     f"({interval_text(diff.ci_low, diff.ci_high, int(diff.n_seeds))}, p {inference.format_p(diff.p)}; "
                     f"n = {int(diff.n_seeds)} seed{'s' if int(diff.n_seeds) != 1 else ''}, "
                     f"{int(diff.n_items)} distinct items)")
    models = [] if learned is None else [f"{int(learned.learned.sum())} of {len(learned)} target models"]
    models += [] if intermediate is None or intermediate.empty else \
        [f"{int(intermediate.learned.sum())} of {len(intermediate)} intermediate models"]
    learned_text = f" ({' and '.join(models)} learned)" if models else ""
    return f"ran{learned_text}: " + "; ".join(parts)


def _effect_keys(prefix: str, row) -> dict:
    return {f"{prefix}_delta": float(row.delta), f"{prefix}_lo": float(row.ci_low), f"{prefix}_hi": float(row.ci_high),
            f"{prefix}_ci": interval_text(row.ci_low, row.ci_high, int(row.n_seeds)),
            f"{prefix}_p": inference.format_p(row.p), f"{prefix}_n_seeds": int(row.n_seeds),
            f"{prefix}_n_items": int(row.n_items)}


def interval_text(lo: float, hi: float, n_seeds: int, digits: int = 3, level: float = 0.95) -> str:
    """'95% CI -0.060 to -0.020', or why there is none (a seed-level interval needs two seeds
    whose values differ)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        if n_seeds >= 2:
            return f"no {level * 100:g}% CI: the {n_seeds} seed values are identical"
        return f"no {level * 100:g}% CI with {n_seeds} seed{'s' if n_seeds != 1 else ''}"
    return f"{level * 100:g}% CI {lo:.{digits}f} to {hi:.{digits}f}"


def _count_or_na(x):
    """A design count, or why there is none (variance components need at least two seeds)."""
    return int(x) if np.isfinite(x) else "n/a (not estimable from fewer than two seeds)"


def with_effect_text(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """A display copy: 'effect' as '-0.040 (95% CI -0.060 to -0.020)' (the book's prose quotes three
    decimals), 'p' as '< 0.001', then the seeds and items in columns of their own; a column that
    says nothing in any row (an `error` column that is all None) is dropped."""
    out = table.copy()
    out["effect"] = [inference.format_effect(r.delta, r.ci_low, r.ci_high, digits) for r in table.itertuples()]
    out["seeds"] = table["n_seeds"].to_numpy()
    out["items"] = table["n_items"].to_numpy()
    for col in ("p", "p_holm"):
        if col in out:
            out[col] = out[col].map(inference.format_p)
    out = out.drop(columns=[c for c in ("delta", "ci_low", "ci_high", "n_seeds", "n_items", "n_pairs", "test", "method")
                            if c in out] + [c for c in ("error",) if c in out and out[c].isna().all()])
    labels = [c for c in ("condition", "metric", "comparison", "language") if c in out]
    first = ["effect"] + [c for c in ("p", "p_holm") if c in out] + ["seeds", "items"]
    return out.set_index(labels)[first + [c for c in out if c not in first + labels]]
