"""UDHR retrieval of a grid's encoders against the pretrained encoder, unit by unit.

A grid that sets `retrieval_encoders` scores, per granularity, the pretrained encoder once
(`results/<grid>/retrieval/pretrained_<g>.json`) and every intermediate and target encoder of
each training seed (`results/<grid>/retrieval/<stage>/<name>_s<seed>_<g>.json`). Each file keeps
which units each direction retrieved correctly, so an encoder is paired with the pretrained one
on (unit, language, direction), and the training seed is the unit of the statistics, exactly as
for classification (`xrobust.inference`): per seed, per language the mean change, then the
languages with equal weight; a t interval over seeds (a two-way bootstrap over seeds and units
from 10 seeds). The pretrained encoder is one fixed model, so its side has no seed.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import inference, resultfiles
from .language_meta import udhr_language_frame
from .tasks import get_task

DIRECTIONS = ("xx_to_en", "en_to_xx")
STAGES = ("intermediate", "target")
FILE = re.compile(r"(?P<name>.+)_s(?P<seed>\d+)_(?P<granularity>paragraph|article)")


def _units(doc: dict) -> pd.DataFrame:
    """Long table: language, direction, unit, correct (0/1) of one retrieval result file."""
    rows = []
    for r in doc["rows"]:
        for d in DIRECTIONS:
            hits = r.get(f"correct_{d}")
            if hits is None:
                raise ValueError(f"retrieval rows of {doc['model']} lack 'correct_{d}'; allowed: files written "
                                 "with unit-level results (re-run the retrieval step)")
            rows.append(pd.DataFrame({"language": r["language"], "direction": d, "unit": np.arange(len(hits)),
                                      "correct": np.frombuffer(hits.encode(), dtype=np.uint8) - ord("0")}))
    return pd.concat(rows, ignore_index=True)


def _design(doc: dict) -> dict:
    return {k: doc[k] for k in ("granularity", "prefix", "pooling", "similarity", "max_length", "units_per_language")}


def load(grid_dir, granularity: str = "paragraph", step: str = "retrieval") -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(pretrained units, encoder units with stage/name/seed, design) of one grid, granularity and
    retrieval step (`retrieval`: the last layer; `retrieval_middle`: the middle layer).

    Refuses a grid without the pretrained file, and encoder files whose settings (prefix, pooling,
    max_length, units) differ from the pretrained file's: such pairs would not compare like with like."""
    if step not in ("retrieval", "retrieval_middle"):
        raise ValueError(f"step={step!r}: allowed values are 'retrieval', 'retrieval_middle'")
    root = Path(grid_dir) / step
    base_path = root / f"pretrained_{granularity}.json"
    if not base_path.is_file():
        raise ValueError(f"grid_dir={str(grid_dir)!r} has no {step}/{base_path.name}; allowed: a grid whose config "
                         f"sets {step}_encoders (with 'pretrained') and granularity "
                         f"{granularity!r} in retrieval_granularities")
    base_doc = resultfiles.read_json(base_path)
    design = _design(base_doc)
    base_model = base_doc["model"].get("name")
    frames = []
    for stage in STAGES:
        for path in sorted((root / stage).glob(f"*_{granularity}.json")):
            m = FILE.fullmatch(path.stem)
            doc = resultfiles.read_json(path)
            if _design(doc) != design:
                diff = sorted(k for k in design if _design(doc)[k] != design[k])
                raise ValueError(f"{path} differs from {base_path.name} in {diff}; allowed: one design per grid")
            ckpt_base = doc["model"].get("checkpoint", {}).get("base_model")
            if ckpt_base != base_model:
                raise ValueError(f"{path}: encoder trained from {ckpt_base!r}, but the pretrained file scores "
                                 f"{base_model!r}; allowed: encoders of the same base model")
            frames.append(_units(doc).assign(stage=stage, name=m["name"], seed=int(m["seed"])))
    encoders = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["language", "direction", "unit", "correct", "stage", "name", "seed"])
    return _units(base_doc), encoders, {**design, "model": base_model}


def paired(pretrained: pd.DataFrame, encoders: pd.DataFrame, stage: str, name: str) -> pd.DataFrame:
    """The encoder (stage, name) of every seed against the pretrained encoder, in the layout of
    `inference.pair` (recipe = direction, uid = unit): diff = encoder correct - pretrained correct."""
    mine = encoders[(encoders.stage == stage) & (encoders.name == name)]
    if mine.empty:
        raise ValueError(f"no retrieval results for stage={stage!r}, name={name!r}; allowed: "
                         f"{sorted(set(zip(encoders.stage, encoders.name, strict=True)))}")
    both = mine.merge(pretrained, on=["language", "direction", "unit"], suffixes=("", "_control"),
                      validate="many_to_one")
    return _pair_layout(both, treated=f"{stage}:{name}", control="pretrained")


def _pair_layout(both: pd.DataFrame, treated: str, control: str) -> pd.DataFrame:
    """Merged unit outcomes (`correct`, `correct_control`) in the layout of `inference.pair`."""
    out = pd.DataFrame({"seed": both.seed, "uid": both.unit.astype(str), "language": both.language,
                        "recipe": both.direction, "control": both.correct_control.astype(float),
                        "treated": both.correct.astype(float)})
    out["diff"] = out.treated - out.control
    out.attrs.update(metric="top-1", treated=treated, control=control)
    return out


def _effect_rows(p: pd.DataFrame, n_boot: int, by_group, **labels) -> list[dict]:
    """Effect rows of one paired frame: over all languages, and over the languages of each value of
    each metadata column in `by_group`."""
    meta = udhr_language_frame()
    rows = [{**labels, "group": "all languages", "n_languages": p.language.nunique(),
             **inference.effect(p, n_boot=n_boot).iloc[0].to_dict()}]
    for col in by_group:
        for value, part in p.groupby(p.language.map(meta[col])):
            rows.append({**labels, "group": f"{col} = {value}", "n_languages": part.language.nunique(),
                         **inference.effect(part, n_boot=n_boot).iloc[0].to_dict()})
    return rows


def encoder_effects(pretrained, encoders, n_boot: int = 2000, by_group=("xlmr_pretraining", "script_name")):
    """Per encoder (stage, name): the change in top-1 accuracy against the pretrained encoder over
    all languages, and over the languages of each value of each metadata column in `by_group`
    (e.g. in XLM-R's pretraining or not), with CI, seed-level p, n seeds, n units."""
    rows = []
    for stage, name in sorted(set(zip(encoders.stage, encoders.name, strict=True))):
        rows += _effect_rows(paired(pretrained, encoders, stage, name), n_boot, by_group, stage=stage, name=name)
    return pd.DataFrame(rows)


def between_encoders(encoders: pd.DataFrame, stage: str, treated: str, control: str) -> pd.DataFrame:
    """Two encoders of one stage paired on (seed, language, direction, unit): seed s of `treated`
    against seed s of `control`, as `inference.pair` pairs the classification conditions. Seeds
    that only one of the two has are left out; `attrs["seeds"]` lists the seeds compared."""
    names = sorted(set(encoders.loc[encoders.stage == stage, "name"]))
    for arg, value in (("treated", treated), ("control", control)):
        if value not in names:
            raise ValueError(f"{arg}={value!r}: no retrieval results at stage={stage!r}; allowed: {names}")
    mine = encoders[encoders.stage == stage]
    both = mine[mine.name == treated].merge(mine[mine.name == control], on=["seed", "language", "direction", "unit"],
                                            suffixes=("", "_control"), validate="one_to_one")
    if both.empty:
        have = {n: sorted(mine.loc[mine.name == n, "seed"].unique()) for n in (treated, control)}
        raise ValueError(f"{treated!r} and {control!r} share no seed (seeds: {have}); allowed: encoders "
                         "with at least one seed in common")
    out = _pair_layout(both, treated=f"{stage}:{treated}", control=f"{stage}:{control}")
    out.attrs["seeds"] = sorted(int(s) for s in out.seed.unique())
    return out


def target_comparisons(encoders: pd.DataFrame, stage: str = "target") -> list[tuple[str, str]]:
    """The (treated, control) pairs the paper's question asks of the encoders a grid scored at
    `stage`: each `inter-*` against `direct` and against `multilingual`, and `multilingual`
    against `direct`, where both conditions are there."""
    names = sorted(set(encoders.loc[encoders.stage == stage, "name"]))
    inter = [n for n in names if n.startswith("inter-")]
    pairs = [(t, c) for c in ("direct", "multilingual") if c in names for t in inter]
    return pairs + ([("multilingual", "direct")] if {"multilingual", "direct"} <= set(names) else [])


def condition_contrasts(encoders: pd.DataFrame, comparisons, stage: str = "target", n_boot: int = 2000,
                        by_group=("xlmr_pretraining",)) -> pd.DataFrame:
    """Top-1 change of each (treated, control) pair in `comparisons`, e.g. ('inter-vitaminc',
    'direct'): the question of the paper asked of retrieval after target training. One row per
    comparison and language group, with the seeds compared (`seeds`)."""
    rows = []
    for treated, control in comparisons:
        p = between_encoders(encoders, stage, treated, control)
        seeds = ", ".join(map(str, p.attrs["seeds"]))
        rows += _effect_rows(p, n_boot, by_group, treated=treated, control=control, seeds=seeds)
    return pd.DataFrame(rows)


def lost_share(pretrained, encoders, n_boot: int = 2000, by_group=("xlmr_pretraining",)) -> pd.DataFrame:
    """Per encoder (stage, name): of the units the pretrained encoder retrieves, the share the
    encoder no longer retrieves (`lost`, with its 95% interval over seeds, as `encoder_effects`),
    over all languages and per metadata group. Unlike the change in top-1, it is not bounded by
    what a language had to lose, so languages the pretrained encoder retrieves poorly and well
    compare on one scale. Languages where the pretrained encoder retrieves no unit drop out
    (`n_languages` counts the rest)."""
    rows = []
    for stage, name in sorted(set(zip(encoders.stage, encoders.name, strict=True))):
        p = paired(pretrained, encoders, stage, name)
        rows += _effect_rows(p[p.control == 1], n_boot, by_group, stage=stage, name=name)
    out = pd.DataFrame(rows)
    # on these units diff = encoder - 1, so the share lost is -delta and its interval flips; a t
    # interval over few seeds can pass the bounds of a share, so it is cut to [0, 1]
    out["lost"], out["ci_low"], out["ci_high"] = -out.delta, (-out.ci_high).clip(lower=0), (-out.ci_low).clip(upper=1)
    return out.drop(columns=["delta", "p"])


def language_effects(pretrained, encoders, stage: str, name: str, n_boot: int = 2000) -> pd.DataFrame:
    """Per language: pretrained accuracy, the encoder's change (both directions pooled) with CI
    over seeds, Holm-adjusted p across languages, and the language's metadata."""
    p = paired(pretrained, encoders, stage, name)
    table = inference.language_table(p, n_boot=n_boot).set_index("language")
    table["pretrained"] = pretrained.groupby("language").correct.mean()
    meta = udhr_language_frame()
    meta["tatoeba"] = meta["base"].isin(get_task("tatoeba").languages)
    return table.join(meta[["name", "script_name", "xlmr_pretraining", "tatoeba"]]).reset_index()


# ---------------------------------------------------------------- attacks on retrieval

def _attack_records(doc: dict) -> pd.DataFrame:
    """One row per attacked unit: language, recipe, uid (the unit index), clean, robust, perturbed ratio."""
    rows = []
    for r in doc["rows"]:
        if not r.get("applicable", True):
            continue
        for x in r["records"]:
            if x["outcome"] in ("skipped", "error"):
                continue
            clean = x["outcome"] in ("success", "failed")
            rows.append({"language": r["language"], "recipe": r["recipe"], "uid": str(x["label"]),
                         "clean": int(clean), "robust": int(x["outcome"] == "failed"),
                         "perturbed_ratio": x.get("perturbed_ratio") if x["outcome"] == "success" else np.nan,
                         "queries": x.get("num_queries")})
    return pd.DataFrame(rows)


ATTACK_STEPS = ("retrieval_attack", "retrieval_attack_english")


def load_attacks(grid_dir, granularity: str = "paragraph", step: str = "retrieval_attack") -> pd.DataFrame:
    """Attack records of the pretrained encoder (condition 'pretrained') and of every encoder of
    the grid (condition '<stage>:<name>', with its seed), of one attack step (`retrieval_attack`:
    the translations attacked; `retrieval_attack_english`: English attacked, the reference). The
    pretrained encoder is one model, so its records are repeated under every seed of the grid, the
    control of each seed's pair. Refuses files that attack different units or under different settings."""
    if step not in ATTACK_STEPS:
        raise ValueError(f"step={step!r}: allowed values are {', '.join(ATTACK_STEPS)}")
    root = Path(grid_dir) / step
    base_path = root / f"pretrained_{granularity}.json"
    if not base_path.is_file():
        raise ValueError(f"grid_dir={str(grid_dir)!r} has no {step}/{base_path.name}; allowed: a grid "
                         f"whose config sets {step}_encoders (with 'pretrained')")
    base_doc = resultfiles.read_json(base_path)
    keys = ("granularity", "units", "max_words", "seed", "max_perturbed", "query_budget", "recipes", "attacked_side")
    design = {k: base_doc["config"].get(k, "translation" if k == "attacked_side" else None) for k in keys}
    frames = []
    for stage in STAGES:
        for path in sorted((root / stage).glob(f"*_{granularity}.json")):
            doc = resultfiles.read_json(path)
            if not doc.get("complete"):
                raise ValueError(f"{path} is unfinished; allowed: complete files only")
            diff = sorted(k for k in keys if doc["config"].get(k, "translation" if k == "attacked_side" else None)
                          != design[k])
            if diff:
                raise ValueError(f"{path} differs from {base_path.name} in {diff}; allowed: one design per grid")
            m = FILE.fullmatch(path.stem)
            frames.append(_attack_records(doc).assign(condition=f"{stage}:{m['name']}", seed=int(m["seed"])))
    if not frames:
        raise ValueError(f"{root} holds no attacked encoders besides the pretrained one")
    encoders = pd.concat(frames, ignore_index=True)
    base = _attack_records(base_doc)
    control = pd.concat([base.assign(seed=s) for s in sorted(encoders.seed.unique())], ignore_index=True)
    return pd.concat([control.assign(condition="pretrained"), encoders], ignore_index=True)


def attack_effects(records: pd.DataFrame, n_boot: int = 2000) -> pd.DataFrame:
    """Per attacked encoder against the pretrained one, per recipe and over all languages: the
    change in attack success on units both retrieve correctly (the primary metric, as for
    classification), in top-1 under attack, and in the attack's cost (`perturbed`: the share of
    words changed on units both attacks break, which has room where success nears 1), with CI
    over seeds; n seeds, units, languages."""
    rows = []
    for cond in sorted(set(records.condition) - {"pretrained"}):
        for metric in ("success", "robust", "perturbed"):
            p = inference.pair(records, cond, "pretrained", metric)
            for recipe, part in [("all recipes", p), *p.groupby("recipe")]:
                if part.empty:
                    continue
                rows.append({"condition": cond, "metric": metric, "recipe": recipe,
                             "n_languages": part.language.nunique(),
                             **inference.effect(part, n_boot=n_boot).iloc[0].to_dict()})
    return pd.DataFrame(rows)


SIDE_METRICS = ("success", "perturbed")


def _side_pairs(translation: pd.DataFrame, english: pd.DataFrame, recipe: str, metric: str):
    """Per encoder attacked on both sides: (condition, its pairs against the pretrained encoder on
    both sides, column `side`, on the seeds with both, number of those seeds)."""
    for cond in sorted((set(translation.condition) & set(english.condition)) - {"pretrained"}):
        sides = [inference.pair(r[r.recipe == recipe], cond, "pretrained", metric).assign(side=side)
                 for side, r in (("translation", translation), ("english", english))]
        seeds = set(sides[0].seed) & set(sides[1].seed)
        both = pd.concat(sides, ignore_index=True)
        yield cond, both[both.seed.isin(seeds)], len(seeds)


def _side_cells(both: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per (seed, language) with pairs on both sides, the mean of `columns` per side."""
    cells = both.groupby(["seed", "language", "side"])[columns].mean().unstack("side")
    return cells[cells.notna().all(axis=1)]


def side_effects(translation: pd.DataFrame, english: pd.DataFrame, recipe: str = "char",
                 n_boot: int = 2000, metric: str = "success") -> pd.DataFrame:
    """Per encoder attacked on both sides (records of `load_attacks` for each step): the change in
    attack success of `recipe` against the pretrained encoder when the translation is attacked,
    when English is attacked (the same units, each against that translation's pool), and the
    first minus the second, per language and then over the languages with both, on the seeds
    with both (`inference.contrast_within_languages`). A negative or positive difference says
    the change is specific to the non-English side; zero, that English changes alike. The two
    side rows carry their levels too (control_mean, treated_mean; `_side_levels`). metric:
    `success`, or `perturbed`, the share of words changed on units both attacks break (the
    attack's cost, which still varies where nearly every attack succeeds; `inference.pair`)."""
    if metric not in SIDE_METRICS:
        raise ValueError(f"metric={metric!r}: allowed values are {SIDE_METRICS}")
    rows = []
    for cond, both, _ in _side_pairs(translation, english, recipe, metric):
        effects = inference.contrast_within_languages(both, "side", "translation", "english", n_boot=n_boot)
        rows.append(effects.join(_side_levels(both), on="comparison").assign(condition=cond))
    if not rows:
        raise ValueError("no encoder is attacked on both sides besides the pretrained one; allowed: records of "
                         "load_attacks for 'retrieval_attack' and 'retrieval_attack_english' of one grid")
    return pd.concat(rows, ignore_index=True)


def _side_levels(both: pd.DataFrame) -> pd.DataFrame:
    """Per side, the mean outcome (attack success, or perturbed share) of the pretrained encoder
    (control_mean) and of the encoder (treated_mean) on the paired units, weighted as in
    `contrast_within_languages` (per seed the languages with both sides, each equally; then the
    seeds), so that treated_mean minus control_mean is the side's change. Near 1, a change in
    success is bounded by 1 - control_mean."""
    per_seed = _side_cells(both, ["control", "treated"]).groupby(level="seed").mean().mean()
    return per_seed.unstack(level=0).rename(columns=lambda c: f"{c}_mean")


def side_language_changes(translation: pd.DataFrame, english: pd.DataFrame, recipe: str = "char") -> pd.DataFrame:
    """Per encoder and language, the change in attack success of `recipe` (per seed the mean over
    the paired units, then the mean over the seeds with both sides) with the translation attacked
    and with English attacked, and the pretrained encoder's success on those units
    (`<side>_control`; at 1, the change cannot be positive: the ceiling); languages with pairs on
    both sides, with their metadata."""
    rows = []
    for cond, both, n_seeds in _side_pairs(translation, english, recipe, "success"):
        means = _side_cells(both, ["diff", "control"]).groupby(level="language").mean()
        means.columns = [side if col == "diff" else f"{side}_{col}" for col, side in means.columns]
        rows.append(means.assign(condition=cond, n_seeds=n_seeds).reset_index())
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["language", "translation", "english", "translation_control", "english_control", "condition",
                 "n_seeds"])
    return out.join(udhr_language_frame()[["name", "script_name", "xlmr_pretraining"]], on="language")


def attack_summary(records: pd.DataFrame) -> pd.DataFrame:
    """Per condition, recipe and language (seeds pooled): top-1 of the attacked units, attack
    success rate on units retrieved correctly, perturbed-word ratio of successes, queries, n."""
    records = records[(records.condition != "pretrained") | (records.seed == records.seed.min())]  # one copy
    g = records.groupby(["condition", "recipe", "language"])
    out = pd.DataFrame({"clean": g.clean.mean(), "n_units": g.uid.nunique(), "n_seeds": g.seed.nunique(),
                        "n_clean": g.clean.sum()})
    ok = records[records.clean == 1].groupby(["condition", "recipe", "language"])
    out["success_rate"] = 1 - ok.robust.mean()
    out["perturbed_ratio"] = ok.perturbed_ratio.mean()
    out["queries"] = ok.queries.mean()
    return out.reset_index()


# ---------------------------------------------------------------- per-language tables of the chapter

def by_script(table: pd.DataFrame, within: str) -> pd.DataFrame:
    """Scripts with the most languages first, then by name; within a script, `within` descending."""
    n_script = table.groupby("script_name")["script_name"].transform("count")
    return (table.assign(n_script=n_script).sort_values(["n_script", "script_name", within],
                                                         ascending=[False, True, False]).drop(columns="n_script"))


def change_table(per_language: pd.DataFrame) -> pd.DataFrame:
    """One row per language (from `language_effects` of several encoders, an `encoder` column
    naming each): its metadata, the pretrained encoder's top-1, and per encoder the change with
    its 95% CI, the encoder's seeds in the column name; grouped by script, sorted by pretrained."""
    meta = ["name", "script_name", "xlmr_pretraining", "tatoeba", "pretrained"]
    table = per_language.drop_duplicates("language").set_index("language")[meta]
    for encoder, part in per_language.groupby("encoder", sort=True):
        part = part.set_index("language")
        text = [f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for d, lo, hi in zip(part.delta, part.ci_low, part.ci_high,
                                                                         strict=True)]
        table[f"{encoder}, {int(part.n_seeds.max())} seeds: change [95% CI]"] = pd.Series(text, part.index)
    return (by_script(table, "pretrained").round({"pretrained": 3}).rename_axis("code")
            .rename(columns={"name": "language", "script_name": "script", "xlmr_pretraining": "in XLM-R pretraining",
                             "tatoeba": "Tatoeba", "pretrained": "pretrained top-1"}))


def attack_language_table(summary: pd.DataFrame, recipe: str = "char") -> pd.DataFrame:
    """One row per language (from `attack_summary`): per condition, the attack success rate of
    `recipe` on the units retrieved correctly before the attack, with their number (seeds pooled),
    and the mean share of words the successful attacks changed; grouped by script and sorted by
    the pretrained encoder's rate."""
    part = summary[summary.recipe == recipe]
    meta = udhr_language_frame()[["name", "script_name"]]
    table = meta.loc[sorted(set(part.language))]
    for cond in sorted(set(part.condition), key=lambda c: (c != "pretrained", c)):  # the control first
        rows = part[part.condition == cond].set_index("language").reindex(table.index)
        label = "pretrained" if cond == "pretrained" else f"{cond.split(':', 1)[-1]}, {int(rows.n_seeds.max())} seeds"
        table[f"{label}: success (units)"] = [
            "n/a (0)" if n == 0 else f"{r:.3f} ({int(n)})" for r, n in zip(rows.success_rate,
                                                                          rows.n_clean.fillna(0), strict=True)]
        table[f"{label}: perturbed words"] = ["n/a" if pd.isna(r) else f"{r:.3f}" for r in rows.perturbed_ratio]
    order = part[part.condition == "pretrained"].set_index("language").success_rate.reindex(table.index).fillna(-1)
    return (by_script(table.assign(order=order), "order").drop(columns="order").rename_axis("code")
            .rename(columns={"name": "language", "script_name": "script"}))


# ---------------------------------------------------------------- re-run check

def rerun_check(grid_dir, compare_dir) -> pd.DataFrame:
    """Every retrieval result file of `grid_dir` that `compare_dir` also has (the same path under
    each grid: a grid that re-runs some seeds of another's design), compared outcome by outcome:
    the encoder's weights sha256 in both, how many outcomes (unit, language, direction; or attacked
    unit and recipe) were compared, the share identical, and top-1 (attack success) in each.
    The outcomes of a re-run should agree everywhere; its weights agree bit for bit only where the
    CPU rounds as the first run's did (`provenance.processor`)."""
    rows = []
    for path in sorted(Path(grid_dir).glob("retrieval*/**/*.json")):
        rel = path.relative_to(grid_dir)
        other = Path(compare_dir) / rel
        if not other.is_file():
            continue
        docs = [resultfiles.read_json(p) for p in (path, other)]
        if rel.parts[0] in ATTACK_STEPS:  # success: a unit retrieved correctly whose attack broke it
            frames = [_attack_records(d).set_index(["language", "recipe", "uid"]) for d in docs]
            value, outcomes, models = "attack success", ["clean", "robust"], [d["config"] for d in docs]
            means = [(f.clean - f.robust).sum() / max(f.clean.sum(), 1) for f in frames]
        else:
            frames = [_units(d).set_index(["language", "direction", "unit"]) for d in docs]
            value, outcomes, models = "top-1", ["correct"], docs
            means = [f.correct.mean() for f in frames]
        shas = [m.get("model", {}).get("checkpoint", {}).get("weights_sha256") for m in models]
        here, there = frames
        both = here[outcomes].merge(there[outcomes], left_index=True, right_index=True, suffixes=("", "_there"))
        same = (both[outcomes].to_numpy() == both[[f"{o}_there" for o in outcomes]].to_numpy()).all(axis=1)
        rows.append({"file": str(rel), "value": value, "weights": "no checkpoint" if shas[0] is None else
                     ("same" if shas[0] == shas[1] else "different"),
                     "compared": len(both), "only_one_grid": len(here) + len(there) - 2 * len(both),
                     "identical": float(same.mean()) if len(both) else float("nan"),
                     "here": means[0], "there": means[1]})
    return pd.DataFrame(rows, columns=["file", "value", "weights", "compared", "only_one_grid", "identical",
                                       "here", "there"])
