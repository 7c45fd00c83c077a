"""Inference with seeds AND items random: the headline of the paired comparison.

A new seed is a new model and a new item is a new text; the claim is about both populations, so
the uncertainty of a treated-minus-direct effect must include the spread over items as well as
over seeds. `inference.effect`'s seed-level t interval conditions on the attacked item pool (the
items recur in every seed, so the spread of seed means holds no item variance) and is too narrow
for that claim when items differ much. The primary interval here is the two-way cluster
("pigeonhole") bootstrap: seeds and items resampled independently with replacement (Owen 2007;
two-way clustering as in Cameron, Gelbach & Miller 2011), recomputing the estimator of `effect`
(per seed: each language's mean over the items both models classify correctly, languages with
equal weight; then the mean over seeds). Known property: its variance is about s2_seed/S +
s2_item/K + 3 s2_seed:item/(S K) against a true s2_seed/S + s2_item/K + s2_seed:item/(S K), so it
is conservative, most where the seed x item residual dominates (binary outcomes), up to sqrt(3)
wider in the limit. The seed-level t interval is reported beside it as a secondary reading.

Also here: Holm across treated conditions (`holm`, `headline_table`), the equivalence test used
wherever the text says "no effect" (`tost`, with `EQUIVALENCE_MARGIN` fixed before any grid), the
minimum detectable effect of an achieved design, the English reference and non-English minus
English contrast on one recipe, and the design (S, K) with the data's ask and the seed floor apart.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import inference

# Stated before any grid: an effect on attack success within +-0.02 (2 percentage points) is
# "no effect" for this study; equivalence = both one-sided tests reject at 0.05, i.e. the 90%
# two-way interval lies inside (-0.02, 0.02).
EQUIVALENCE_MARGIN = 0.02
EQUIVALENCE_ALPHA = 0.05
# Design targets (95% half-widths) and the floor on seeds, which the data do not set: below 10
# seeds the seed variance is estimated poorly and `inference.effect` does not bootstrap.
OVERALL_HALF_WIDTH, LANGUAGE_HALF_WIDTH, SEED_FLOOR = 0.02, 0.05, 10
ENGLISH = "en"
SEED_T = 10 ** 9  # bootstrap_min_seeds that keeps `inference.effect` on its seed-level t interval


# ---------------------------------------------------------------- the two-way bootstrap

def _two_way(total, count, statistic, n_boot, rng):
    """Estimate and bootstrap draws of a statistic of per-(seed, group) means (see `_cells`)."""
    n_seeds, n_items = total.shape[:2]
    per_seed = statistic(inference._seed_group_means(total, count, np.ones((1, n_items))))[0]
    ok = np.isfinite(per_seed)
    estimate = float(per_seed[ok].mean()) if ok.any() else float("nan")
    seed_w = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=n_boot).astype(float)
    item_w = rng.multinomial(n_items, np.full(n_items, 1 / n_items), size=n_boot).astype(float)
    draws = inference._combine_seeds(statistic(inference._seed_group_means(total, count, item_w)), seed_w)
    return estimate, draws[np.isfinite(draws)]


def _summary(estimate, draws, level):
    """CI (percentile), percentile-based two-sided p for zero, bootstrap SE."""
    if len(draws) < 2:
        return {"estimate": estimate, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan, "se": np.nan}
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return {"estimate": estimate, "ci_low": float(lo), "ci_high": float(hi), "p": bootstrap_p(draws),
            "se": float(draws.std(ddof=1))}


def bootstrap_p(draws) -> float:
    """Two-sided percentile p for zero: 2 x the smaller share of draws on either side of 0 (with
    +1 in numerator and denominator, so never 0). It is below 1 - level exactly when 0 lies outside
    the percentile interval of that level, so p and CI tell the same story."""
    draws = np.asarray(draws, dtype=float)
    below, above = (draws <= 0).sum(), (draws >= 0).sum()
    return float(min(1.0, 2 * (min(below, above) + 1) / (len(draws) + 1)))


def two_way_bootstrap(paired: pd.DataFrame, *, average: str = "languages", n_boot: int = 2000,
                      level: float = 0.95, seed: int = 0) -> dict:
    """Effect of `paired` (the output of `inference.pair`) with a two-way cluster bootstrap CI.

    The estimate is `inference.effect`'s (average="languages": languages weigh equally; "pairs":
    every pair equally). Each of `n_boot` draws resamples seeds and items independently with
    replacement (a drawn item brings its pairs in every language and recipe of the drawn seeds)
    and recomputes the estimate. Returns estimate, ci_low, ci_high (percentile), p (`bootstrap_p`),
    se (SD of the draws), n_seeds, n_items, n_languages, n_boot, level and `draws` (for `tost`).
    Conservative: see the module's docstring.
    """
    inference._check_paired(paired)
    inference._check_options("t", level, 2, n_boot)
    if average not in inference.AVERAGES:
        raise ValueError(f"average={average!r}: allowed values are {inference.AVERAGES}")
    by_language = average == "languages"
    total, count, _ = inference._cells(paired, "language" if by_language else None)
    statistic = inference._language_mean if by_language else inference._overall
    estimate, draws = _two_way(total, count, statistic, n_boot, np.random.default_rng(seed))
    return {**_summary(estimate, draws, level), "n_seeds": int(paired.seed.nunique()),
            "n_items": int(paired.uid.nunique()), "n_languages": int(paired.language.nunique()),
            "n_boot": n_boot, "level": level, "draws": draws}


# ---------------------------------------------------------------- multiplicity

def holm(pvalues) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels' `multipletests`); NaNs stay NaN and are not counted
    in the family."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def headline_table(records: pd.DataFrame, treated, control: str = "direct", metric: str = "success",
                   english: str = ENGLISH, n_boot: int = 2000, level: float = 0.95, seed: int = 0,
                   margin: float = EQUIVALENCE_MARGIN) -> pd.DataFrame:
    """Each treated condition against `control` over the non-English languages (equal weights).

    Columns: condition, metric, delta, ci_low, ci_high (two-way bootstrap), t_ci_low, t_ci_high
    (seed-level t, secondary), p (two-way), p_t (seed-level t), p_holm (Holm across the treated
    conditions, on the two-way p), n_seeds, n_items, n_languages, mde (`minimum_detectable_effect`
    of the bootstrap SE), equivalent (`tost` at `margin`). metric: `success` (primary), `robust`
    (accuracy under attack) or `clean` (clean accuracy), as `inference.pair`.
    """
    treated = [treated] if isinstance(treated, str) else list(treated)
    non_english = records[records.language.astype(str) != english]
    rows = []
    for i, cond in enumerate(treated):
        paired = inference.pair(non_english, cond, control, metric)
        boot = two_way_bootstrap(paired, n_boot=n_boot, level=level, seed=seed + i)
        t = inference.effect(paired, bootstrap_min_seeds=SEED_T, level=level).iloc[0]
        rows.append({"condition": cond, "metric": metric, "delta": boot["estimate"], "ci_low": boot["ci_low"],
                     "ci_high": boot["ci_high"], "t_ci_low": t.ci_low, "t_ci_high": t.ci_high, "p": boot["p"],
                     "p_t": t.p, "n_seeds": boot["n_seeds"], "n_items": boot["n_items"],
                     "n_languages": boot["n_languages"], "mde": minimum_detectable_effect(boot["se"]),
                     "equivalent": tost(boot, margin)["equivalent"]})
    table = pd.DataFrame(rows)
    table.insert(table.columns.get_loc("p_t") + 1, "p_holm", holm(table.p))
    return table


def language_table(paired: pd.DataFrame, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Per language of `paired`: the effect with a two-way bootstrap CI and p (one draw of seeds
    and items shared by all languages), and `p_holm`, Holm across the languages of this condition.
    Columns: language, estimate, ci_low, ci_high, p, se, p_holm, n_seeds, n_items."""
    inference._check_paired(paired)
    total, count, labels = inference._cells(paired, "language")
    rows = []
    for i, lang in enumerate(labels):
        estimate, draws = _two_way(total, count, lambda m, i=i: m[..., i], n_boot, np.random.default_rng(seed))
        part = paired[paired.language.astype(str) == lang]
        rows.append({"language": lang, **_summary(estimate, draws, level), "n_seeds": int(part.seed.nunique()),
                     "n_items": int(part.uid.nunique())})
    table = pd.DataFrame(rows)
    table.insert(table.columns.get_loc("se") + 1, "p_holm", holm(table.p))
    return table


def english_contrast(paired: pd.DataFrame, recipe: str | None = "char", english: str = ENGLISH,
                     n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """English reference, non-English mean (languages equal) and non-English minus English, on one
    recipe (default `char`, the recipe every language has), each with a two-way bootstrap CI and p;
    the three share the draws of seeds and items. `paired`: `inference.pair` of all languages."""
    inference._check_paired(paired)
    if recipe is not None:
        paired = paired[paired.recipe.astype(str) == recipe]
    langs = sorted(paired.language.astype(str).unique())
    if english not in langs or len(langs) < 2:
        raise ValueError(f"english={english!r}, recipe={recipe!r}: allowed are pairs with English and at least "
                         f"one other language (languages present: {langs})")
    total, count, labels = inference._cells(paired, "language")
    en = labels == english

    def others(m):
        return inference._language_mean(m[..., ~en])

    statistics = (("English", lambda m: m[..., en][..., 0]), ("non-English mean", others),
                  ("non-English minus English", lambda m: others(m) - m[..., en][..., 0]))
    rows = []
    for name, statistic in statistics:  # the same seed: the same draws of seeds and items
        estimate, draws = _two_way(total, count, statistic, n_boot, np.random.default_rng(seed))
        rows.append({"comparison": name, "recipe": recipe, **_summary(estimate, draws, level),
                     "n_seeds": int(paired.seed.nunique()), "n_items": int(paired.uid.nunique()),
                     "n_languages": len(langs) - 1})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- equivalence and power

def tost(result, margin: float = EQUIVALENCE_MARGIN, alpha: float = EQUIVALENCE_ALPHA, **bootstrap) -> dict:
    """Two one-sided tests of |effect| < margin on the two-way bootstrap distribution.

    result: the dict of `two_way_bootstrap`, or a paired table (then bootstrapped with `bootstrap`
    options). H0-: effect <= -margin, rejected when fewer than alpha of the draws lie at or below
    -margin; H0+ likewise at +margin. Equivalent = both rejected = the (1 - 2 alpha) percentile
    interval (90% for alpha 0.05) lies inside (-margin, margin). Returns margin, alpha, estimate,
    ci_low, ci_high (that interval), p_lower, p_upper, p (the larger) and equivalent.
    """
    if not margin > 0 or not 0 < alpha < 0.5:
        raise ValueError(f"margin={margin!r}, alpha={alpha!r}: allowed are margin > 0 and 0 < alpha < 0.5")
    if isinstance(result, pd.DataFrame):
        result = two_way_bootstrap(result, **bootstrap)
    draws = np.asarray(result["draws"], dtype=float)
    n = len(draws)
    p_lower = float(((draws <= -margin).sum() + 1) / (n + 1))
    p_upper = float(((draws >= margin).sum() + 1) / (n + 1))
    lo, hi = np.quantile(draws, [alpha, 1 - alpha])
    return {"margin": margin, "alpha": alpha, "estimate": result["estimate"], "ci_low": float(lo),
            "ci_high": float(hi), "p_lower": p_lower, "p_upper": p_upper, "p": max(p_lower, p_upper),
            "equivalent": bool(max(p_lower, p_upper) < alpha)}


def minimum_detectable_effect(se: float | None = None, *, components: dict | None = None,
                              n_seeds: int | None = None, n_items: int | None = None, per_language: bool = False,
                              n_languages: int | None = None, alpha: float = 0.05, power: float = 0.8) -> float:
    """(z_{1-alpha/2} + z_power) x SE: the true effect a two-sided test at `alpha` detects with
    probability `power`. SE: given (e.g. a two-way bootstrap's `se`), or predicted from pilot
    variance components for S = n_seeds and K = n_items (the pigeonhole bootstrap's variance,
    `inference.predicted_half_width`)."""
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha={alpha!r}, power={power!r}: allowed values are between 0 and 1")
    if se is None:
        if components is None or n_seeds is None or n_items is None:
            raise ValueError("allowed: se, or components with n_seeds and n_items")
        se = inference.predicted_half_width(components, n_seeds, n_items, per_language, n_languages,
                                            level=0.95) / sps.norm.ppf(0.975)
    return float((sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)) * se)


# ---------------------------------------------------------------- design

def _both_met(components, S, items, overall, per_language, n_languages):
    """Fewest items (of `items`) meeting both targets at S seeds, with both half-widths; or None."""
    for K in sorted(items):
        hw = inference.predicted_half_width(components, S, K, False, n_languages)
        hl = inference.predicted_half_width(components, S, K, True, n_languages)
        if hw <= overall and hl <= per_language:
            return K, hw, hl
    return None


def design(components: dict, overall: float = OVERALL_HALF_WIDTH, per_language: float = LANGUAGE_HALF_WIDTH,
           seed_floor: int = SEED_FLOOR, n_languages: int | None = None, max_seeds: int = 100,
           items=(50, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000)) -> pd.DataFrame:
    """The design (S seeds, K items) for 95% half-widths <= `overall` and <= `per_language` with
    seeds and items random, the data's ask apart from the floor.

    Half-width (the interval the headline reports, the two-way bootstrap):
    1.96 x sqrt(s2_seed/S + s2_item/K + 3 s2_seed:item/(S K)), with the language-specific
    components divided by the number of languages for the overall mean (`inference.predicted_half_width`).
    Rows (`row`): `data`: the cheapest (fewest S x K) design meeting both targets with S >= 2, what
    the pilot's components ask; `floor`: the floor on seeds (`seed_floor`, not from the data);
    `planned`: S = max(data, floor) and the fewest items meeting both targets at that S. Columns:
    row, n_seeds, n_items, half_width_overall, half_width_per_language, feasible, reason.
    """
    best = None
    for S in range(2, max_seeds + 1):
        met = _both_met(components, S, items, overall, per_language, n_languages)
        if met and (best is None or S * met[0] < best[0] * best[1]):
            best = (S, *met)
    nan_row = {"n_items": np.nan, "half_width_overall": np.nan, "half_width_per_language": np.nan}
    targets = f"half-widths <= {overall} overall and <= {per_language} per language"
    if best is None:
        data = {"row": "data", "n_seeds": np.nan, **nan_row, "feasible": False,
                "reason": f"no design with S <= {max_seeds} and K <= {max(items)} reaches {targets}"}
    else:
        data = {"row": "data", "n_seeds": best[0], "n_items": best[1], "half_width_overall": best[2],
                "half_width_per_language": best[3], "feasible": True,
                "reason": f"cheapest S x K with predicted {targets}"}
    floor = {"row": "floor", "n_seeds": seed_floor, **nan_row, "feasible": True,
             "reason": "minimum seeds set before the data (seed variance estimable; the bootstrap needs seeds)"}
    S = max(seed_floor, best[0]) if best else np.nan
    met = _both_met(components, S, items, overall, per_language, n_languages) if best else None
    names = ("n_items", "half_width_overall", "half_width_per_language")
    planned = {"row": "planned", "n_seeds": S, **(dict(zip(names, met, strict=True)) if met else nan_row),
               "feasible": met is not None, "reason": "S = max(data, floor); fewest items meeting both targets"}
    return pd.DataFrame([data, floor, planned])


def design_text(components: dict, table: pd.DataFrame | None = None, n_languages: int | None = None,
                level: float = 0.95) -> str:
    """The design's computation in words and numbers, for the book: the components, the formula
    with them, the half-widths of the `data` and `planned` rows of `design` (or of `table`), the floor apart."""
    table = design(components, n_languages=n_languages) if table is None else table
    c, z = components, sps.norm.ppf((1 + level) / 2)
    L = n_languages or c.get("n_languages")
    lines = [f"Pilot variance components of the paired difference ({c.get('n_seeds')} seeds x {c.get('n_items')} "
             f"items x {c.get('n_languages')} languages; observed cells {c.get('cell_fraction', 1.0):.2f}): "
             + ", ".join(f"s2_{k} = {c[k]:.2e}" for k in inference.COMPONENTS) + ".",
             f"Half-width = {z:.2f} x sqrt(A/S + B/K + 3 C/(S K)) (two-way bootstrap, seeds and items random): "
             f"overall over {L} languages A = s2_seed + s2_seed:language/{L}, B = s2_item + s2_item:language/{L}, "
             f"C = (s2_seed:item + s2_resid/{L}) / cell fraction; per language the same with 1 for {L}."]
    for r in table.itertuples():
        if r.row == "floor":
            lines.append(f"Floor (set before the data, not asked by them): S >= {r.n_seeds}.")
        elif r.feasible:
            lines.append(f"{'Asked by the data' if r.row == 'data' else 'Planned'}: S = {int(r.n_seeds)}, "
                         f"K = {int(r.n_items)}: half-width {r.half_width_overall:.3f} overall, "
                         f"{r.half_width_per_language:.3f} per language ({r.reason}).")
        else:
            lines.append(f"{r.row}: not feasible ({r.reason}).")
    return "\n".join(lines)
