"""Statistical inference for the paired robustness comparison.

Design. Every condition (`direct` = control, `multilingual`, `inter-<task>` = treated) is
trained with several seeds, and every seed's model is attacked on ONE fixed pool of items whose
ids (`uid`) are the same in every language, seed and condition. The random units are therefore
the training seed (a new seed is a new model) and the item (a new item is a new text); the cells
of a language x recipe table share both and are not independent. All intervals here are computed
at the unit (seed, item): differences are paired on (seed, uid, language, recipe), averaged to
one value per seed, and the uncertainty comes from seeds (t interval) or from seeds and items
together (two-way cluster bootstrap). Languages and recipes are fixed conditions, not samples.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

METRICS = ("success", "robust", "clean", "perturbed")
TESTS = ("t", "wilcoxon")
KEYS = ["seed", "uid", "language", "recipe"]
REQUIRED = ("seed", "uid", "language", "recipe", "condition", "clean", "robust")
BY_COLUMNS = ("language", "recipe")


# ---------------------------------------------------------------- pairing

def pair(records: pd.DataFrame, treated: str, control: str = "direct", metric: str = "success") -> pd.DataFrame:
    """Align control and treated outcomes on (seed, uid, language, recipe).

    metric: `success` (primary) = attack success, 1 - robust, on items that BOTH compared models
    classify correctly when clean (so a clean error of either model does not count as a
    "successful attack"); `robust` = accuracy under attack; `clean` = clean accuracy;
    `perturbed` = the share of words the attack changed, on items both models classify correctly
    and both attacks break (the attack's cost; it has no ceiling where nearly every attack succeeds).
    Returns columns seed, uid, language, recipe, control, treated, diff (= treated - control);
    `attrs` carries metric, treated and control. The pair is the (seed, item) unit's observation.
    """
    _check_records(records, treated, control, metric)
    cols = {"control": control, "treated": treated}
    columns = ["clean", "robust"] + (["perturbed_ratio"] if metric == "perturbed" else [])
    sides = [records.loc[records.condition == cond, KEYS + columns].set_index(KEYS)
             .add_suffix("_" + name) for name, cond in cols.items()]
    both = sides[0].join(sides[1], how="inner").reset_index()
    if metric in ("success", "perturbed"):
        both = both[(both.clean_control == 1) & (both.clean_treated == 1)]
    if metric == "success":
        values = {name: 1 - both["robust_" + name] for name in cols}
    elif metric == "perturbed":
        both = both[(both.robust_control == 0) & (both.robust_treated == 0)]
        values = {name: both["perturbed_ratio_" + name] for name in cols}
    else:
        values = {name: both[f"{metric}_{name}"] for name in cols}
    out = both[KEYS].assign(**{k: v.astype(float) for k, v in values.items()})
    out["diff"] = out.treated - out.control
    out = out.reset_index(drop=True)
    out.attrs.update(metric=metric, treated=treated, control=control)
    return out


def _check_records(records, treated, control, metric):
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r}: allowed values are {METRICS}")
    required = REQUIRED + (("perturbed_ratio",) if metric == "perturbed" else ())
    missing = [c for c in required if c not in records.columns]
    if missing:
        raise ValueError(f"records is missing columns {missing}; required columns are {required}")
    present = sorted(records.condition.unique())
    for name, cond in (("treated", treated), ("control", control)):
        if cond not in present:
            raise ValueError(f"{name}={cond!r} is not a condition in records; allowed values are {present}")
    if treated == control:
        raise ValueError(f"treated and control are both {treated!r}; allowed: two different conditions of {present}")
    dup = records[records.condition.isin([treated, control])].duplicated(KEYS + ["condition"])
    if dup.any():
        raise ValueError("records has several rows per (seed, uid, language, recipe, condition); "
                         "allowed: one row each (filter to one grid/run first)")


def _check_paired(paired):
    missing = [c for c in KEYS + ["control", "treated", "diff"] if c not in paired.columns]
    if missing:
        raise ValueError(f"paired is missing columns {missing}; pass the output of pair()")
    if paired.empty:
        raise ValueError("paired has no rows; allowed: the non-empty output of pair()")


# ---------------------------------------------------------------- seed x item arrays

def _cells(paired: pd.DataFrame, group: str | None = None):
    """Sums and counts of `diff` in a seeds x items x groups array (groups: one, or `group`)."""
    seeds, s_idx = np.unique(paired.seed.to_numpy(), return_inverse=True)
    uids, k_idx = np.unique(paired.uid.astype(str).to_numpy(), return_inverse=True)
    if group is None:
        labels, g_idx = np.array(["all"]), np.zeros(len(paired), dtype=int)
    else:
        labels, g_idx = np.unique(paired[group].astype(str).to_numpy(), return_inverse=True)
    shape = (len(seeds), len(uids), len(labels))
    total, count = np.zeros(shape), np.zeros(shape)
    np.add.at(total, (s_idx, k_idx, g_idx), paired["diff"].to_numpy(float))
    np.add.at(count, (s_idx, k_idx, g_idx), 1.0)
    return total, count, labels


def _seed_group_means(total, count, item_weights):
    """Per (draw, seed, group) mean difference with items weighted by `item_weights` (draws x K)."""
    num = np.einsum("bk,skg->bsg", item_weights, total)
    den = np.einsum("bk,skg->bsg", item_weights, count)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def _combine_seeds(per_seed, seed_weights):
    """Weighted mean over seeds, skipping seeds without data (NaN)."""
    ok = np.isfinite(per_seed)
    w = np.where(ok, seed_weights, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(ok, per_seed, 0.0) * w).sum(1) / w.sum(1)


def _overall(means):
    return means[..., 0]


def _interval(total, count, statistic, *, test, bootstrap_min_seeds, n_boot, level, rng):
    """Point estimate, CI and seed-level p for a statistic of per-(seed, group) means.

    The estimate is the mean over seeds of a per-seed value, so every seed (model) counts once.
    Fewer than `bootstrap_min_seeds` seeds: t interval on the per-seed values (df = S - 1).
    Otherwise: two-way cluster ("pigeonhole", Owen 2007) bootstrap that resamples seeds and items
    independently with replacement. It is conservative: its variance is about s2_seed/S +
    s2_item/K + 3 s2_resid/(S*K) (Owen 2007; checked by simulation) against a true
    s2_seed/S + s2_item/K + s2_resid/(S*K), so when the seed x item residual dominates (binary
    outcomes) it is up to sqrt(3) times too wide. The seed t interval instead conditions on the
    item pool: the spread of seed means does not contain s2_item (the items are shared), so it
    generalises to new seeds on these items. p is always the seed-level test (`test`).
    """
    n_seeds, n_items = total.shape[:2]
    per_seed = statistic(_seed_group_means(total, count, np.ones((1, n_items))))[0]
    per_seed = per_seed[np.isfinite(per_seed)]
    delta = float(per_seed.mean()) if len(per_seed) else float("nan")
    p = _seed_test(per_seed, test)
    if len(per_seed) < bootstrap_min_seeds:
        lo, hi = t_interval(per_seed, level)
        return delta, lo, hi, p, f"seed t interval (S={len(per_seed)}, df={len(per_seed) - 1})"
    seed_w = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=n_boot).astype(float)
    item_w = rng.multinomial(n_items, np.full(n_items, 1 / n_items), size=n_boot).astype(float)
    draws = _combine_seeds(statistic(_seed_group_means(total, count, item_w)), seed_w)
    lo, hi = np.nanquantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return delta, float(lo), float(hi), p, f"two-way cluster bootstrap over seeds and items (B={n_boot})"


def t_interval(values, level: float = 0.95) -> tuple[float, float]:
    """t interval of the mean of per-seed values; NaN with fewer than two values, and when all
    values are identical: a zero-width interval would claim a certainty that a few identical
    seed values (common with binary outcomes on few items) cannot give."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2 or np.allclose(values, values[0], rtol=0, atol=1e-12):  # identical up to rounding
        return float("nan"), float("nan")
    half = sps.t.ppf((1 + level) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def _seed_test(values, test):
    """Seed-level paired test: one-sample t (or Wilcoxon signed-rank) on per-seed differences."""
    if len(values) < 2 or np.allclose(values, values[0]):
        return 1.0 if len(values) >= 2 and np.allclose(values, 0) else float("nan")
    if test == "wilcoxon":
        return float(sps.wilcoxon(values).pvalue)
    return float(sps.ttest_1samp(values, 0.0).pvalue)


def _check_options(test, level, bootstrap_min_seeds, n_boot):
    if test not in TESTS:
        raise ValueError(f"test={test!r}: allowed values are {TESTS}")
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: allowed values are between 0 and 1")
    if bootstrap_min_seeds < 2:
        raise ValueError(f"bootstrap_min_seeds={bootstrap_min_seeds!r}: allowed values are integers >= 2")
    if n_boot < 100:
        raise ValueError(f"n_boot={n_boot!r}: allowed values are integers >= 100")


# ---------------------------------------------------------------- effects

def _language_mean(means):
    """Per seed, the unweighted mean over languages of each language's mean difference."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a seed lacking every language: NaN
        return np.nanmean(means, axis=-1)


AVERAGES = ("languages", "pairs")


def effect(paired: pd.DataFrame, by=None, *, average: str = "languages", test: str = "t",
           bootstrap_min_seeds: int = 10, n_boot: int = 2000, level: float = 0.95,
           random_state: int = 0) -> pd.DataFrame:
    """Mean treated-minus-control difference with a CI at the (seed, item) unit.

    by: None (one overall row), "language", "recipe", or a list of them (one row per group).
    average: how a seed's pairs of a group are averaged. `languages` (default): per language
    first, then the languages with equal weight, so a language with more eligible pairs (items
    both models classify correctly) does not weigh more; `pairs`: all pairs with equal weight.
    The two agree within one language. Then the seeds are averaged; the CI is a seed-level t
    interval when the group has fewer than `bootstrap_min_seeds` seeds, else a two-way cluster
    bootstrap over seeds and items. Pairs of one seed are never treated as independent: they
    share a model, and the same items recur in every seed, language and recipe.
    Columns: [by...], delta, ci_low, ci_high, n_seeds, n_items, n_pairs, p, test, method.
    """
    _check_paired(paired)
    _check_options(test, level, bootstrap_min_seeds, n_boot)
    if average not in AVERAGES:
        raise ValueError(f"average={average!r}: allowed values are {AVERAGES}")
    by_cols = [] if by is None else [by] if isinstance(by, str) else list(by)
    bad = [b for b in by_cols if b not in BY_COLUMNS]
    if bad:
        raise ValueError(f"by={by!r}: allowed values are None or any of {BY_COLUMNS}")
    rng = np.random.default_rng(random_state)
    groups = paired.groupby(by_cols, sort=True) if by_cols else [((), paired)]
    rows = []
    for key, part in groups:
        by_language = average == "languages"
        total, count, _ = _cells(part, "language" if by_language else None)
        statistic = _language_mean if by_language else _overall
        delta, lo, hi, p, method = _interval(total, count, statistic, test=test, rng=rng, n_boot=n_boot,
                                             bootstrap_min_seeds=bootstrap_min_seeds, level=level)
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by_cols, key)), **_row(part, delta, lo, hi, p, test, method)})
    return pd.DataFrame(rows)


def _row(part, delta, lo, hi, p, test, method):
    return {"delta": delta, "ci_low": lo, "ci_high": hi, "n_seeds": part.seed.nunique(),
            "n_items": part.uid.nunique(), "n_pairs": len(part), "p": p, "test": test, "method": method}


def per_seed_effects(paired: pd.DataFrame, average: str = "languages") -> pd.Series:
    """Each seed's effect alone (its pairs averaged as `effect` averages them), indexed by seed."""
    _check_paired(paired)
    return pd.Series({seed: effect(part, average=average).delta.iloc[0] for seed, part in paired.groupby("seed")},
                     name="delta", dtype=float).rename_axis("seed")


def seed_difference(treated: pd.Series, control: pd.Series, *, test: str = "t", level: float = 0.95) -> dict:
    """Mean of per-seed differences `treated - control` over the seeds both have (a seed is the
    unit: the same seed draws the same data order in both), with a seed-level t interval and test."""
    if test not in TESTS:
        raise ValueError(f"test={test!r}: allowed values are {TESTS}")
    seeds = sorted(set(treated.index) & set(control.index))
    if not seeds:
        raise ValueError("no seed in common; allowed: per-seed effects of the same seeds")
    diff = treated.loc[seeds].to_numpy(float) - control.loc[seeds].to_numpy(float)
    lo, hi = t_interval(diff, level)
    return {"delta": float(diff.mean()), "ci_low": lo, "ci_high": hi, "n_seeds": len(seeds),
            "p": _seed_test(diff, test), "test": test}


def language_table(paired: pd.DataFrame, **options) -> pd.DataFrame:
    """Per-language effects (see `effect`) with Holm-adjusted p across the languages (`p_holm`).

    The family is the set of languages in `paired`; the overall effect is not part of it.
    """
    from statsmodels.stats.multitest import multipletests

    table = effect(paired, by="language", **options)
    p = table.p.to_numpy(float)
    table["p_holm"] = np.nan
    ok = np.isfinite(p)
    if ok.any():
        table.loc[ok, "p_holm"] = multipletests(p[ok], method="holm")[1]
    return table


def contrast_non_english_minus_english(paired: pd.DataFrame, english: str = "en", *, test: str = "t",
                                       bootstrap_min_seeds: int = 10, n_boot: int = 2000,
                                       level: float = 0.95, random_state: int = 0) -> pd.DataFrame:
    """(Mean effect over non-English languages) minus (effect in English), per seed, then an
    interval over seeds (t) or seeds and items (bootstrap), as in `effect`.

    Each non-English language weighs equally in its mean. Rows: `English` (the reference
    effect), `non-English mean`, `non-English minus English`. Only seeds with English and at
    least one other language count for the contrast.
    """
    _check_paired(paired)
    _check_options(test, level, bootstrap_min_seeds, n_boot)
    langs = sorted(paired.language.astype(str).unique())
    if english not in langs or len(langs) < 2:
        raise ValueError(f"english={english!r}: allowed values are a language of paired {langs}, "
                         "and paired needs at least one other language")
    total, count, labels = _cells(paired, "language")
    en = labels == english

    def english_effect(m):
        return m[..., en][..., 0]

    def others(m):  # as `effect`'s default average: languages with equal weight
        return _language_mean(m[..., ~en])

    is_en = paired.language.astype(str) == english
    rows, rng = [], np.random.default_rng(random_state)
    for name, statistic, part in (("English", english_effect, paired[is_en]),
                                  ("non-English mean", others, paired[~is_en]),
                                  ("non-English minus English", lambda m: others(m) - english_effect(m), paired)):
        delta, lo, hi, p, method = _interval(total, count, statistic, test=test, rng=rng, n_boot=n_boot,
                                             bootstrap_min_seeds=bootstrap_min_seeds, level=level)
        rows.append({"comparison": name, **_row(part, delta, lo, hi, p, test, method)})
    return pd.DataFrame(rows)


def contrast_within_languages(paired: pd.DataFrame, column: str, first: str, second: str, *, test: str = "t",
                              bootstrap_min_seeds: int = 10, n_boot: int = 2000, level: float = 0.95,
                              random_state: int = 0) -> pd.DataFrame:
    """Per language, (mean difference where `column` == first) minus (where it == second), over the
    languages that have both, each weighing equally (in each seed, the languages with pairs on both
    sides, in the side rows too, so that their difference is the contrast); per seed, then an interval over seeds (t) or
    seeds and items (bootstrap), as in `effect`. Both sides share seeds and items (e.g. the same
    units attacked on the translation side and on the English side), so they are resampled together.

    Rows (`comparison`): first, second, "<first> minus <second>"; with n_languages.
    """
    _check_paired(paired)
    _check_options(test, level, bootstrap_min_seeds, n_boot)
    if column not in paired.columns or column in KEYS:
        raise ValueError(f"column={column!r}: allowed values are the columns of paired besides {KEYS}: "
                         f"{sorted(set(paired.columns) - set(KEYS))}")
    values = paired[column].astype(str)
    present = sorted(values.unique())
    if first == second or {first, second} - set(present):
        raise ValueError(f"first={first!r}, second={second!r}: allowed values are two different values of "
                         f"{column!r}: {present}")
    by_side = {v: set(paired.language.astype(str)[values == v]) for v in (first, second)}
    languages = sorted(by_side[first] & by_side[second])
    if not languages:
        raise ValueError(f"no language has pairs with both {column}={first!r} and {column}={second!r}")
    part = paired[values.isin([first, second]) & paired.language.astype(str).isin(languages)]
    cell = part.language.astype(str) + "\x1f" + part[column].astype(str)
    total, count, labels = _cells(part.assign(_cell=cell), "_cell")
    where = {label: i for i, label in enumerate(labels)}
    a = np.array([where[f"{lang}\x1f{first}"] for lang in languages])
    b = np.array([where[f"{lang}\x1f{second}"] for lang in languages])
    def both(m, side):  # a (seed, language) cell counts only where both sides have pairs, so first - second = contrast
        keep = np.isfinite(m[..., a]) & np.isfinite(m[..., b])
        return np.where(keep, m[..., side], np.nan)

    statistics = ((first, lambda m: _language_mean(both(m, a))), (second, lambda m: _language_mean(both(m, b))),
                  (f"{first} minus {second}", lambda m: _language_mean(m[..., a] - m[..., b])))
    per_seed = count.sum(axis=1)  # seeds x cells: pairs
    n_languages = int(((per_seed[:, a] > 0) & (per_seed[:, b] > 0)).any(axis=0).sum())  # both sides in one seed
    rows, rng = [], np.random.default_rng(random_state)
    for name, statistic in statistics:
        delta, lo, hi, p, method = _interval(total, count, statistic, test=test, rng=rng, n_boot=n_boot,
                                             bootstrap_min_seeds=bootstrap_min_seeds, level=level)
        side = part if " minus " in name else part[part[column].astype(str) == name]
        rows.append({"comparison": name, "n_languages": n_languages, **_row(side, delta, lo, hi, p, test, method)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- mixed model

def mixed_model(data: pd.DataFrame, treated: str | None = None, control: str = "direct",
                metric: str = "success", reml: bool = True, optimizers=("powell", "lbfgs")) -> dict:
    """Linear mixed model on item-level outcomes: outcome ~ treated.

    data: the output of `pair` or a records table (then `treated` is required). Random effects:
    per seed an intercept and a treatment slope (groups=seed, re_formula="~treated": the effect
    may differ between training runs), and variance components for item and language. statsmodels
    nests variance components inside the groups, so these are item-within-seed and
    language-within-seed effects; the item component also carries the control/treated pairing.
    The model is fitted with each of `optimizers` and the fit with the highest (REML) likelihood
    is kept: on binary outcomes lbfgs alone can stop far from the optimum with an inflated seed
    covariance. Warnings raised by the kept fit (e.g. a singular random-effects covariance, an MLE
    on the boundary, no convergence) are returned in `warnings`, not hidden (those of the other
    fits in `other_fits`); with few seeds the
    Wald CI is then unreliable. A failed fit returns `error` and NaNs. Cost grows with items x rows
    per seed (tens of seconds for 10 seeds x 100 items x 5 languages on one core); the primary
    analysis is `effect`.
    """
    if "diff" in data.columns:
        paired = data
    elif treated is None:
        raise ValueError("treated=None: allowed values are the conditions in records when data are records "
                         "(not the output of pair())")
    else:
        paired = pair(data, treated, control, metric)
    _check_paired(paired)
    long = pd.concat([paired[KEYS].assign(outcome=paired[side], treated=float(side == "treated"))
                      for side in ("control", "treated")], ignore_index=True)
    long["uid"] = long.uid.astype(str)
    out = {"effect": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan, "converged": False,
           "n_obs": len(long), "n_seeds": long.seed.nunique(), "optimizer": None, "warnings": [], "error": None}
    fits = [_fit_mixed(long, reml, name) for name in optimizers]
    good = [f for f in fits if f[0] is not None]
    if not good:
        return {**out, "error": "; ".join(f"{name}: {err}" for _, _, err, name in fits),
                "warnings": list(dict.fromkeys(w for f in fits for w in f[1]))}
    fit, caught, _, name = max(good, key=lambda f: f[0].llf if np.isfinite(f[0].llf) else -np.inf)
    lo, hi = fit.conf_int().loc["treated"]
    others = [{"optimizer": o, "llf": float(f.llf) if f is not None else np.nan, "warnings": w, "error": e}
              for f, w, e, o in fits if o != name]
    return {**out, "effect": float(fit.params["treated"]), "ci_low": float(lo), "ci_high": float(hi),
            "p": float(fit.pvalues["treated"]), "converged": bool(fit.converged), "optimizer": name,
            "llf": float(fit.llf), "warnings": caught, "other_fits": others,
            "variance_components": dict(zip(fit.model.exog_vc.names, map(float, fit.vcomp))),
            "seed_cov": fit.cov_re.to_numpy().tolist()}


def _fit_mixed(long, reml, optimizer):
    """(fit or None, warning messages, error or None, optimizer) of one MixedLM fit."""
    import statsmodels.formula.api as smf

    fit = error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = smf.mixedlm("outcome ~ treated", long, groups=long["seed"], re_formula="~treated",
                                vc_formula={"item": "0 + C(uid)", "language": "0 + C(language)"})
            fit = model.fit(reml=reml, method=optimizer)
        except (ValueError, np.linalg.LinAlgError, ZeroDivisionError) as e:
            error = f"{type(e).__name__}: {e}"
    return fit, list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught)), error, optimizer


# ---------------------------------------------------------------- formatting

def format_p(p: float) -> str:
    """'< 0.001' below 0.001, else two significant digits ('0.012', '0.43', '1.0'); 'n/a' for NaN."""
    if p is None or not np.isfinite(p):
        return "n/a"
    if not 0 <= p <= 1:
        raise ValueError(f"p={p!r}: allowed values are between 0 and 1")
    return "< 0.001" if p < 0.001 else f"{p:#.2g}"


def format_effect(delta: float, lo: float, hi: float, digits: int = 2, level: float = 0.95) -> str:
    """'-0.04 (95% CI -0.06 to -0.02)' with ASCII hyphen-minus signs and `digits` decimals."""
    def num(x):
        text = f"{x:.{digits}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"

    if not (np.isfinite(lo) and np.isfinite(hi)):  # e.g. one seed: no seed-level interval exists
        return f"{num(delta)} (no {level * 100:g}% CI)"
    return f"{num(delta)} ({level * 100:g}% CI {num(lo)} to {num(hi)})"


# ---------------------------------------------------------------- variance components and design

COMPONENTS = {"seed": {"seed"}, "item": {"uid"}, "seed:item": {"seed", "uid"}, "seed:language": {"seed", "language"},
              "item:language": {"uid", "language"}, "resid": {"seed", "uid", "language"}}


def variance_components(pilot_paired: pd.DataFrame) -> dict:
    """Method-of-moments variance components of the paired difference from a pilot.

    Model for the difference d[s, k, l] of seed s, item k, language l (recipes averaged into
    the cell; language means fixed and removed): d = mu_l + a_s + b_k + ab_sk + al_sl + bl_kl + e.
    Two cells that share exactly the factors F differ by every component not inside F, so half
    their mean squared difference estimates the sum of those variances (U-statistics for crossed
    random effects, Gao & Owen 2017). The pair sums come from group sums, and the six variances
    from non-negative least squares over the seven sharing patterns. Unlike a balanced ANOVA this
    uses every observed cell: with metric `success` the clean filter leaves cells empty, and
    `cell_fraction` (observed / S*K*L) records how many. With one language the language terms
    cannot be separated and are 0 (seed:item is then part of resid).
    """
    _check_paired(pilot_paired)
    cells = pilot_paired.groupby(["seed", "uid", "language"], observed=True)["diff"].mean().reset_index()
    cells["y"] = cells["diff"] - cells.groupby("language")["diff"].transform("mean")
    S, K, L = (cells[c].nunique() for c in ("seed", "uid", "language"))
    if S < 2 or K < 2:
        raise ValueError(f"pilot_paired: allowed are pilots with >= 2 seeds and >= 2 items (has {S}, {K})")
    names = list(COMPONENTS) if L > 1 else ["seed", "item", "resid"]
    rows, targets = [], []
    for shared, half_msd in _half_mean_squared_differences(cells).items():
        rows.append([float(not COMPONENTS[n] <= set(shared)) for n in names])
        targets.append(half_msd)
    from scipy.optimize import nnls

    est = dict(zip(names, nnls(np.array(rows), np.array(targets))[0]))
    comps = {n: float(est.get(n, 0.0)) for n in COMPONENTS}
    return {**comps, "n_seeds": S, "n_items": K, "n_languages": L,
            "cell_fraction": len(cells) / (S * K * L), "metric": pilot_paired.attrs.get("metric")}


def _half_mean_squared_differences(cells):
    """{factors shared: mean of (y_i - y_j)^2 / 2 over cell pairs sharing exactly those factors}.

    Sum over pairs within groups of F: n * sum(y^2) - sum(y)^2; pairs sharing exactly F follow
    by inclusion-exclusion over the supersets of F.
    """
    from itertools import combinations

    factors = ("seed", "uid", "language")
    subsets = [c for r in range(4) for c in combinations(factors, r)]
    sums, pairs = {}, {}
    for f in subsets:
        g = cells.assign(y2=cells.y ** 2).groupby(list(f) or np.zeros(len(cells)), observed=True)
        n, s1, s2 = g.size().to_numpy(float), g.y.sum().to_numpy(), g.y2.sum().to_numpy()
        sums[f], pairs[f] = float((n * s2 - s1 ** 2).sum()), float((n * (n - 1) / 2).sum())
    out = {}
    for f in subsets[:-1]:  # sharing all three factors: the same cell
        sup = [g for g in subsets if set(f) <= set(g)]
        sign = {g: (-1) ** (len(g) - len(f)) for g in sup}
        n_pairs = sum(sign[g] * pairs[g] for g in sup)
        if n_pairs > 0:
            out[f] = sum(sign[g] * sums[g] for g in sup) / n_pairs / 2
    return out


def _effective(components, per_language, n_languages):
    """The three terms of Var(mean) = s2_seed/S + s2_item/K + s2_resid/(S*K) for a mean over
    `n_languages` fixed languages (1 for a per-language effect): language-specific deviations
    average out over languages, so they are divided by the number of languages averaged; cells
    left empty (clean filter) shrink the number of residuals averaged by `cell_fraction`."""
    L = 1 if per_language else (n_languages or components["n_languages"])
    c = components
    return (c["seed"] + c["seed:language"] / L, c["item"] + c["item:language"] / L,
            (c["seed:item"] + c["resid"] / L) / c.get("cell_fraction", 1.0))


INTERVALS = ("pigeonhole", "exact")


def predicted_half_width(components: dict, n_seeds: int, n_items: int, per_language: bool = False,
                         n_languages: int | None = None, level: float = 0.95, interval: str = "pigeonhole") -> float:
    """Predicted CI half-width of the mean effect for S = n_seeds and K = n_items.

    Why the formula Var(mean) = s2_seed/S + s2_item/K + s2_resid/(S*K): the mean of the S x K
    paired differences averages S independent seed effects, K independent item effects and
    S*K independent seed-by-item residuals; items recur in every seed, so the item term does not
    shrink with S, and the seed term does not shrink with K. interval="exact" gives
    t_{S-1} * sqrt(Var). interval="pigeonhole" (the default: the interval `effect` reports for
    S >= 10) gives the width the two-way bootstrap will actually produce, z * sqrt(s2_seed/S +
    s2_item/K + 3 * s2_resid/(S*K)): resampling seeds and items each re-draws the residual, so
    the bootstrap counts it three times (Owen 2007).
    """
    if interval not in INTERVALS:
        raise ValueError(f"interval={interval!r}: allowed values are {INTERVALS}")
    s2_seed, s2_item, s2_resid = _effective(components, per_language, n_languages)
    resid_copies, quantile = (3, sps.norm.ppf((1 + level) / 2)) if interval == "pigeonhole" else \
        (1, sps.t.ppf((1 + level) / 2, n_seeds - 1))
    var = s2_seed / n_seeds + s2_item / n_items + resid_copies * s2_resid / (n_seeds * n_items)
    return float(quantile * np.sqrt(var))


def design_for_half_width(components: dict, half_width: float | None = None, per_language: bool = False,
                          n_languages: int | None = None, min_seeds: int = 10, max_seeds: int = 100,
                          items=(50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000),
                          level: float = 0.95, interval: str = "pigeonhole", seed_cost: float = 0.0) -> dict:
    """Smallest design (S seeds, K items) whose predicted half-width is <= `half_width`.

    Default target: 0.02 for the overall effect, 0.05 per language. S is at least `min_seeds`
    (10: the floor from which `effect` uses the two-way bootstrap over seeds and items; fewer
    seeds estimate the seed variance poorly). "Smallest" = lowest cost S * (K + seed_cost):
    attacked (seed, item) units plus `seed_cost` (a training run, in item-attack units) per seed;
    ties go to fewer seeds. K counts items in the attacked
    pool; `cell_fraction` of the pilot accounts for cells the clean filter empties. Returns S, K,
    the predicted half-width (see `predicted_half_width`), and `feasible` (False with NaNs if no
    design in the grid reaches the target, e.g. when s2_seed alone is too large for `max_seeds`).
    """
    target = half_width if half_width is not None else (0.05 if per_language else 0.02)
    if not target > 0:
        raise ValueError(f"half_width={half_width!r}: allowed values are > 0")
    if seed_cost < 0:
        raise ValueError(f"seed_cost={seed_cost!r}: allowed values are >= 0")
    if min_seeds < 2 or max_seeds < min_seeds:
        raise ValueError(f"min_seeds={min_seeds!r}, max_seeds={max_seeds!r}: allowed 2 <= min_seeds <= max_seeds")
    best = None
    for S in range(min_seeds, max_seeds + 1):
        widths = ((K, predicted_half_width(components, S, K, per_language, n_languages, level, interval))
                  for K in sorted(items))
        K, hw = next(((K, hw) for K, hw in widths if hw <= target), (None, None))  # fewest items at this S
        if K is not None and (best is None or S * (K + seed_cost) < best[0] * (best[1] + seed_cost)):
            best = (S, K, hw)
    S, K, hw = best or (np.nan, np.nan, np.nan)
    return {"n_seeds": S, "n_items": K, "half_width": hw, "target": target, "feasible": best is not None,
            "per_language": per_language, "min_seeds": min_seeds, "interval": interval, "seed_cost": seed_cost}


def design_table(components: dict, seeds=(10, 15, 20, 30), items=(100, 200, 500, 1000),
                 n_languages: int | None = None, level: float = 0.95, interval: str = "pigeonhole") -> pd.DataFrame:
    """Predicted CI half-widths, overall and per language, for a few (S, K) options."""
    def width(S, K, per_language):
        return predicted_half_width(components, S, K, per_language, n_languages, level, interval)

    return pd.DataFrame([{"n_seeds": S, "n_items": K, "half_width_overall": width(S, K, False),
                          "half_width_per_language": width(S, K, True)} for S in seeds for K in items])
