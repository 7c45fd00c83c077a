"""Inference on simulated experiments with a known effect (seeds x items x languages)."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from xrobust import inference as inf

LANGS = ("en", "de", "pl", "fr")


def simulate(n_seeds=5, n_items=300, languages=LANGS, effect=-0.10, english_effect=0.0, recipes=("char",),
             seed_sd=0.015, slope_sd=0.01, rng_seed=0):
    """Records of an experiment: attack success probability = item base + language shift +
    seed-and-condition shift + (treated) the language's true effect + a seed-specific slope.
    Clean correctness depends on the item only, so the true `success` delta is `effect` in
    every non-English language and `english_effect` in English."""
    rng = np.random.default_rng(rng_seed)
    base, p_clean = rng.uniform(0.35, 0.65, n_items), rng.uniform(0.8, 0.98, n_items)
    shift = dict(zip(languages, rng.uniform(-0.05, 0.05, len(languages)), strict=True))
    rows = []
    for s in range(n_seeds):
        slope = rng.normal(0, slope_sd)
        for cond in ("direct", "inter-x"):
            u, treated = rng.normal(0, seed_sd), cond == "inter-x"
            for lang in languages:
                for recipe in recipes:
                    eff = (english_effect if lang == "en" else effect) + slope
                    p = base + shift[lang] + u + treated * eff
                    clean = rng.random(n_items) < p_clean
                    robust = clean & (rng.random(n_items) >= p)
                    rows.append(pd.DataFrame({"seed": s, "uid": [f"u{k}" for k in range(n_items)], "language": lang,
                                              "recipe": recipe, "condition": cond, "clean": clean.astype(int),
                                              "robust": robust.astype(int)}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def paired():
    # 8 seeds: the t path (< 10) with enough power. Each check below holds in 86-97% of 100
    # simulated draws (rng_seed 0 fails one of them); the coverage test guards against luck.
    return inf.pair(simulate(n_seeds=8, rng_seed=1), "inter-x")


def test_pair_success_counts_only_items_both_models_classify_correctly():
    rec = simulate(n_seeds=2, n_items=50)
    p = inf.pair(rec, "inter-x")
    keys = ["seed", "uid", "language", "recipe"]
    c = rec[rec.condition == "direct"].set_index(keys)
    t = rec[rec.condition == "inter-x"].set_index(keys)
    both_clean = ((c.clean == 1) & (t.clean == 1)).sum()
    assert len(p) == both_clean < len(c)
    row = p.iloc[0]
    key = tuple(row[keys])
    assert row.control == 1 - c.loc[key, "robust"] and row.treated == 1 - t.loc[key, "robust"]
    assert len(inf.pair(rec, "inter-x", metric="robust")) == len(c)
    assert p.attrs == {"metric": "success", "treated": "inter-x", "control": "direct"}


def test_pair_perturbed_counts_only_items_both_attacks_break():
    rec = simulate(n_seeds=2, n_items=50)
    with pytest.raises(ValueError, match=r"missing columns \['perturbed_ratio'\]"):
        inf.pair(rec, "inter-x", metric="perturbed")
    rec["perturbed_ratio"] = np.where(rec.robust == 0, np.linspace(0.05, 0.3, len(rec)), np.nan)
    rec.loc[rec.clean == 0, "perturbed_ratio"] = np.nan
    p = inf.pair(rec, "inter-x", metric="perturbed")
    keys = ["seed", "uid", "language", "recipe"]
    c = rec[rec.condition == "direct"].set_index(keys)
    t = rec[rec.condition == "inter-x"].set_index(keys)
    both_broken = ((c.clean == 1) & (t.clean == 1) & (c.robust == 0) & (t.robust == 0))
    assert len(p) == both_broken.sum() < len(inf.pair(rec, "inter-x"))
    assert p.notna().all().all()  # no unbroken item, whose ratio is undefined, enters
    row = p.iloc[0]
    key = tuple(row[keys])
    assert row.control == c.loc[key, "perturbed_ratio"] and row.treated == t.loc[key, "perturbed_ratio"]


def test_overall_and_language_effects_cover_truth_and_exclude_zero(paired):
    overall = inf.effect(paired).iloc[0]
    truth = -0.10 * 3 / 4  # three of four languages carry the effect
    assert overall.ci_low <= truth <= overall.ci_high < 0
    assert overall.n_seeds == 8 and overall.n_items == 300 and overall.n_pairs == len(paired)
    assert overall.method.startswith("seed t interval") and overall.p < 0.01
    table = inf.language_table(paired).set_index("language")
    for lang in ("de", "pl", "fr"):
        assert table.loc[lang, "ci_low"] <= -0.10 <= table.loc[lang, "ci_high"] < 0
    assert table.loc["en", "ci_low"] <= 0 <= table.loc["en", "ci_high"]


def test_interval_is_at_seed_level_not_pair_level(paired):
    # per seed: the mean of the language means; then a t interval over the seeds
    per_seed = paired.groupby(["seed", "language"])["diff"].mean().groupby("seed").mean()
    row = inf.effect(paired).iloc[0]
    assert row.delta == pytest.approx(per_seed.mean())
    lo, hi = stats.t.interval(0.95, len(per_seed) - 1, per_seed.mean(), stats.sem(per_seed))
    assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi))
    assert row.p == pytest.approx(stats.ttest_1samp(per_seed, 0).pvalue)
    pooled = inf.effect(paired, average="pairs").iloc[0]
    assert pooled.delta == pytest.approx(paired.groupby("seed")["diff"].mean().mean())


def test_coverage_over_repeated_simulations():
    """About 95% of intervals cover the truth when seeds and items vary (not only one lucky draw)."""
    hits = []
    for r in range(40):
        p = inf.pair(simulate(n_items=100, languages=("en", "de"), rng_seed=100 + r), "inter-x")
        hits.append(inf.effect(p).iloc[0].pipe(lambda e: e.ci_low <= -0.05 <= e.ci_high))
    assert np.mean(hits) >= 0.85


def test_holm_matches_multipletests(paired):
    table = inf.language_table(paired)
    assert np.allclose(table.p_holm, multipletests(table.p, method="holm")[1])
    assert (table.p_holm >= table.p).all()


def test_by_recipe_and_wilcoxon():
    p = inf.pair(simulate(n_seeds=6, n_items=60, recipes=("char", "codeswitch")), "inter-x")
    table = inf.effect(p, by=["language", "recipe"], test="wilcoxon")
    assert len(table) == 8 and set(table.test) == {"wilcoxon"}
    assert (table.p >= 2 / 2 ** 6).all()  # the exact Wilcoxon floor with 6 seeds


def test_contrast_recovers_non_english_minus_english(paired):
    c = inf.contrast_non_english_minus_english(paired).set_index("comparison")
    assert list(c.index) == ["English", "non-English mean", "non-English minus English"]
    con = c.loc["non-English minus English"]
    assert con.ci_low <= -0.10 <= con.ci_high < 0
    assert con.delta == pytest.approx(c.loc["non-English mean", "delta"] - c.loc["English", "delta"])
    assert c.loc["English", "ci_low"] <= 0 <= c.loc["English", "ci_high"]


def test_languages_weigh_equally_by_default_whatever_their_number_of_pairs():
    # two languages, one seed each way: de has 4 eligible pairs with diff 1, pl has 1 with diff 0
    rows = [{"seed": s, "uid": f"u{k}", "language": lang, "recipe": "char", "control": 0.0, "treated": d,
             "diff": d} for s in (0, 1) for lang, n, d in (("de", 4, 1.0), ("pl", 1, 0.0)) for k in range(n)]
    paired = pd.DataFrame(rows)
    assert inf.effect(paired).delta[0] == pytest.approx(0.5)
    assert inf.effect(paired, average="pairs").delta[0] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="average='items'.*languages.*pairs"):
        inf.effect(paired, average="items")


def test_contrast_non_english_row_is_the_non_english_effect(paired):
    c = inf.contrast_non_english_minus_english(paired).set_index("comparison")
    non_en = inf.effect(paired[paired.language != "en"]).iloc[0]
    assert c.loc["non-English mean", "delta"] == pytest.approx(non_en.delta)
    assert c.loc["non-English mean", "ci_low"] == pytest.approx(non_en.ci_low)


def _two_sides(first_effect, second_effect, n_seeds=8, languages=LANGS):
    """The same seeds, items and languages measured on two sides (e.g. the translation attacked and
    English attacked), with a true effect of `first_effect` and `second_effect`."""
    sides = []
    for side, eff, rng_seed in (("translation", first_effect, 1), ("english", second_effect, 2)):
        rec = simulate(n_seeds=n_seeds, languages=languages, effect=eff, english_effect=eff, rng_seed=rng_seed)
        sides.append(inf.pair(rec, "inter-x").assign(side=side))
    return pd.concat(sides, ignore_index=True)


def test_contrast_within_languages_recovers_the_difference_of_sides():
    both = _two_sides(-0.10, 0.0)
    c = inf.contrast_within_languages(both, "side", "translation", "english").set_index("comparison")
    row = c.loc["translation minus english"]
    assert row.ci_low <= -0.10 <= row.ci_high < 0 and row.p < 0.05 and row.n_languages == len(LANGS)
    first = inf.effect(both[both.side == "translation"]).iloc[0]  # each side alone is `effect`'s estimate
    assert c.loc["translation", "delta"] == pytest.approx(first.delta) and c.loc["english", "ci_low"] <= 0
    assert row.delta == pytest.approx(c.loc["translation", "delta"] - c.loc["english", "delta"])
    # by hand: per seed, per language the side means, their difference, languages equally, then seeds
    means = both.groupby(["seed", "language", "side"])["diff"].mean().unstack("side")
    by_hand = (means.translation - means.english).groupby("seed").mean().mean()
    assert row.delta == pytest.approx(by_hand)
    assert row.n_seeds == 8 and row.n_pairs == len(both)


def test_contrast_within_languages_uses_only_languages_with_both_sides_and_refuses_bad_input():
    both = _two_sides(-0.10, 0.0)
    both = both[~((both.side == "english") & (both.language == "pl"))]  # pl measured on one side only
    row = inf.contrast_within_languages(both, "side", "translation", "english").iloc[-1]
    kept = both[both.language != "pl"]
    assert row.n_languages == 3 and row.delta == pytest.approx(
        inf.contrast_within_languages(kept, "side", "translation", "english").iloc[-1].delta)
    # a seed in which one side of a language has no pairs: that (seed, language) leaves both side rows
    gap = both[~((both.seed == 0) & (both.language == "de") & (both.side == "english"))]
    c = inf.contrast_within_languages(gap, "side", "translation", "english").set_index("comparison")
    assert c.loc["translation minus english", "delta"] == pytest.approx(
        c.loc["translation", "delta"] - c.loc["english", "delta"])
    assert c.loc["translation", "delta"] != pytest.approx(inf.effect(gap[gap.side == "translation"]).delta[0])
    # a language whose two sides never share a seed contributes nothing and is not counted
    apart = both[~((both.language == "fr") & (((both.side == "english") & (both.seed < 4))
                                               | ((both.side == "translation") & (both.seed >= 4))))]
    assert inf.contrast_within_languages(apart, "side", "translation", "english").iloc[-1].n_languages == 2
    with pytest.raises(ValueError, match=r"column='recipe': allowed values are the columns .*'side'"):
        inf.contrast_within_languages(both, "recipe", "char", "char")
    with pytest.raises(ValueError, match=r"allowed values are two different values of 'side': \['english', "
                                         r"'translation'\]"):
        inf.contrast_within_languages(both, "side", "translation", "french")


def test_null_simulation_covers_zero():
    p = inf.pair(simulate(effect=0.0, rng_seed=3), "inter-x")
    row = inf.effect(p).iloc[0]
    assert row.ci_low <= 0 <= row.ci_high and row.p > 0.01
    con = inf.contrast_non_english_minus_english(p).iloc[-1]
    assert con.ci_low <= 0 <= con.ci_high
    sides = inf.contrast_within_languages(_two_sides(0.0, 0.0), "side", "translation", "english").iloc[-1]
    assert sides.ci_low <= 0 <= sides.ci_high


def test_cluster_bootstrap_for_ten_or_more_seeds():
    p = inf.pair(simulate(n_seeds=10, n_items=60, languages=("en", "de", "pl"), rng_seed=1), "inter-x")
    boot = inf.effect(p, n_boot=500).iloc[0]
    t = inf.effect(p, bootstrap_min_seeds=11).iloc[0]
    assert boot.method.startswith("two-way cluster bootstrap") and t.method.startswith("seed t")
    assert boot.delta == t.delta and boot.ci_low <= -0.10 * 2 / 3 <= boot.ci_high < 0
    width_ratio = (boot.ci_high - boot.ci_low) / (t.ci_high - t.ci_low)
    assert 0.6 < width_ratio < 2.5  # the item margin adds some width; same order as the seed interval
    con = inf.contrast_non_english_minus_english(p, n_boot=500).iloc[-1]
    assert con.method.startswith("two-way") and con.ci_low <= -0.10 <= con.ci_high


def test_mixed_model_estimates_effect_and_reports_warnings():
    p = inf.pair(simulate(n_seeds=6, n_items=30, languages=("en", "de", "pl")), "inter-x")
    res = inf.mixed_model(p)
    assert res["error"] is None and isinstance(res["converged"], bool) and res["optimizer"] in ("powell", "lbfgs")
    assert res["ci_low"] < -0.10 * 2 / 3 < res["ci_high"]
    assert res["effect"] == pytest.approx(inf.effect(p).delta[0], abs=0.02)
    assert set(res["variance_components"]) == {"item", "language"}


def test_mixed_model_returns_boundary_warning_when_seeds_do_not_vary():
    rec = simulate(n_seeds=4, n_items=30, languages=("en", "de"), seed_sd=0.0, slope_sd=0.0)
    res = inf.mixed_model(rec, "inter-x")  # records in, paired inside
    assert any("boundary" in w or "singular" in w.lower() for w in res["warnings"]), res["warnings"]
    assert np.isfinite(res["effect"])


def test_mixed_model_failure_returns_error_not_exception(monkeypatch):
    import statsmodels.regression.mixed_linear_model as mlm

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(mlm.MixedLM, "fit", broken)
    res = inf.mixed_model(simulate(n_seeds=2, n_items=10), "inter-x")
    assert "Singular matrix" in res["error"] and np.isnan(res["effect"]) and not res["converged"]


def _gaussian_pilot(S=12, K=300, L=4, sd=None, rng_seed=0):
    """Paired differences with known variance components (the three-way model of the module)."""
    sd = sd or {"seed": 0.04, "item": 0.05, "seed:item": 0.06, "seed:language": 0.03,
                "item:language": 0.08, "resid": 0.3}
    rng = np.random.default_rng(rng_seed)
    d = (rng.normal(0, sd["seed"], (S, 1, 1)) + rng.normal(0, sd["item"], (1, K, 1))
         + rng.normal(0, sd["seed:item"], (S, K, 1)) + rng.normal(0, sd["seed:language"], (S, 1, L))
         + rng.normal(0, sd["item:language"], (1, K, L)) + rng.normal(0, sd["resid"], (S, K, L)) - 0.05)
    s, k, l = np.meshgrid(range(S), range(K), range(L), indexing="ij")
    frame = pd.DataFrame({"seed": s.ravel(), "uid": [f"u{i}" for i in k.ravel()],
                          "language": np.array(LANGS)[l.ravel()], "recipe": "char", "diff": d.ravel()})
    return frame.assign(control=0.0, treated=frame["diff"]), {k: v ** 2 for k, v in sd.items()}


# About 3 sampling standard deviations of each estimate (20 simulated pilots, 12 seeds x 300 items)
TOLERANCE = {"item": 0.6, "seed:item": 0.8, "item:language": 0.4, "resid": 0.1}


def test_variance_components_near_simulated_values():
    pilot, truth = _gaussian_pilot()
    est = inf.variance_components(pilot)
    assert est["n_seeds"] == 12 and est["n_items"] == 300 and est["n_languages"] == 4
    for name, rel in TOLERANCE.items():
        assert est[name] == pytest.approx(truth[name], rel=rel), name
    for name in ("seed", "seed:language"):  # only 12 seeds: loose
        assert truth[name] / 4 < est[name] < truth[name] * 4, name


def test_variance_components_use_incomplete_cells():
    pilot, truth = _gaussian_pilot()
    keep = np.random.default_rng(5).random(len(pilot)) > 0.3  # like cells emptied by the clean filter
    est = inf.variance_components(pilot[keep])
    assert est["cell_fraction"] == pytest.approx(0.7, abs=0.01) and est["n_items"] == 300
    for name, rel in TOLERANCE.items():
        assert est[name] == pytest.approx(truth[name], rel=rel), name
    full = inf.variance_components(pilot)  # empty cells leave fewer residuals to average
    assert inf.predicted_half_width({**full, "cell_fraction": 0.7}, 10, 200) > inf.predicted_half_width(full, 10, 200)


def test_variance_components_of_binary_success_differences(paired):
    est = inf.variance_components(paired)
    # a difference of two Bernoulli(p ~ 0.5) outcomes has variance ~ 2 p (1 - p) ~ 0.5
    assert 0.4 < est["resid"] < 0.52 and est["item"] < 0.01 and est["metric"] == "success"
    assert 0.6 < est["cell_fraction"] < 0.95  # pairs where either model misclassifies the clean item


def test_variance_components_single_language():
    pilot, truth = _gaussian_pilot(L=1)
    est = inf.variance_components(pilot)
    assert est["seed:language"] == est["item:language"] == 0 and est["n_languages"] == 1
    assert est["resid"] + est["seed:item"] == pytest.approx(truth["resid"] + truth["seed:item"], rel=0.2)


def test_design_grows_when_target_shrinks():
    comps, _ = _gaussian_pilot()
    comps = inf.variance_components(comps)
    wide = inf.design_for_half_width(comps, 0.04)
    narrow = inf.design_for_half_width(comps, 0.02)
    assert wide["feasible"] and narrow["feasible"] and wide["n_seeds"] >= 10
    assert narrow["n_seeds"] * narrow["n_items"] > wide["n_seeds"] * wide["n_items"]
    assert narrow["n_seeds"] > wide["n_seeds"] or narrow["n_items"] > wide["n_items"]
    assert inf.design_for_half_width(comps, 0.04, min_seeds=15)["n_seeds"] >= 15
    costly_seeds = inf.design_for_half_width(comps, 0.02, seed_cost=5000)
    assert costly_seeds["n_seeds"] < narrow["n_seeds"] and costly_seeds["n_items"] > narrow["n_items"]
    assert narrow["half_width"] <= 0.02
    grid = [(S, K) for S in range(10, 101) for K in (50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000)]
    cheaper = [(S, K) for S, K in grid if S * K < narrow["n_seeds"] * narrow["n_items"]]
    assert all(inf.predicted_half_width(comps, S, K) > 0.02 for S, K in cheaper)  # the smallest design
    per_lang = inf.design_for_half_width(comps, per_language=True)
    assert per_lang["target"] == 0.05 and per_lang["half_width"] <= 0.05
    assert not inf.design_for_half_width(comps, 0.001, max_seeds=12)["feasible"]
    table = inf.design_table(comps)
    assert (table.half_width_per_language > table.half_width_overall).all()
    assert table.sort_values("n_items").groupby("n_seeds").half_width_overall.is_monotonic_decreasing.all()


def test_predicted_half_width_matches_simulated_spread():
    """The formula's standard error matches the spread of simulated means (the formula's reason)."""
    _, truth = _gaussian_pilot()
    comps = {**truth, "n_languages": 4}
    means = [_gaussian_pilot(S=10, K=100, rng_seed=r)[0]["diff"].mean() for r in range(1, 121)]
    predicted_se = inf.predicted_half_width(comps, 10, 100, interval="exact") / 2.262  # t_{9, .975}
    assert np.std(means, ddof=1) == pytest.approx(predicted_se, rel=0.25)


def test_predicted_pigeonhole_width_matches_bootstrap_interval():
    """`effect`'s two-way bootstrap (S >= 10) is as wide as predicted, 3 residual copies included."""
    sd = {"seed": 0.02, "item": 0.03, "seed:item": 0.0, "seed:language": 0.0, "item:language": 0.0, "resid": 0.5}
    widths = []
    for r in range(4):
        pilot, truth = _gaussian_pilot(S=10, K=100, L=1, sd=sd, rng_seed=r)
        row = inf.effect(pilot, n_boot=1000, random_state=r).iloc[0]
        widths.append((row.ci_high - row.ci_low) / 2)
    comps = {**truth, "n_languages": 1}
    assert np.mean(widths) == pytest.approx(inf.predicted_half_width(comps, 10, 100), rel=0.15)
    assert np.mean(widths) > 1.3 * inf.predicted_half_width(comps, 10, 100, interval="exact")


def test_format_p_and_effect():
    assert inf.format_p(0.0) == "< 0.001" and inf.format_p(0.0004) == "< 0.001"
    assert inf.format_p(0.012) == "0.012" and inf.format_p(0.43) == "0.43" and inf.format_p(0.001) == "0.0010"
    assert all(inf.format_p(p) != "0.000" for p in np.linspace(0, 1, 10001))
    assert inf.format_p(float("nan")) == "n/a"
    assert inf.format_effect(-0.0412, -0.063, -0.018) == "-0.04 (95% CI -0.06 to -0.02)"
    assert inf.format_effect(-0.001, -0.0204, 0.0182, digits=3) == "-0.001 (95% CI -0.020 to 0.018)"
    assert inf.format_effect(-0.001, -0.02, 0.02) == "0.00 (95% CI -0.02 to 0.02)"
    assert inf.format_effect(0.02, float("nan"), float("nan")) == "0.02 (no 95% CI)"  # one seed


@pytest.mark.parametrize("call, name", [
    (lambda r: inf.pair(r, "inter-x", metric="accuracy"), "metric"),
    (lambda r: inf.pair(r, "inter-y"), "treated"),
    (lambda r: inf.pair(r, "inter-x", control="multilingual"), "control"),
    (lambda r: inf.pair(r.drop(columns="uid"), "inter-x"), "uid"),
    (lambda r: inf.pair(pd.concat([r, r]), "inter-x"), "one row"),
    (lambda r: inf.effect(inf.pair(r, "inter-x"), by="seed"), "by"),
    (lambda r: inf.effect(inf.pair(r, "inter-x"), test="z"), "test"),
    (lambda r: inf.effect(r), "pair()"),
    (lambda r: inf.contrast_non_english_minus_english(inf.pair(r, "inter-x"), english="eng"), "english"),
    (lambda r: inf.mixed_model(r), "treated"),
    (lambda r: inf.format_p(1.5), "p="),
    (lambda r: inf.predicted_half_width({}, 10, 100, interval="wald"), "interval"),
    (lambda r: inf.design_for_half_width({}, 0.02, min_seeds=1), "min_seeds"),
])
def test_bad_inputs_raise_value_error_naming_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call(simulate(n_seeds=2, n_items=5, languages=("en", "de")))


def test_identical_seed_values_give_no_interval_rather_than_a_zero_width_one():
    assert inf.t_interval([0.0, 0.0]) == pytest.approx((np.nan, np.nan), nan_ok=True)
    lo, hi = inf.t_interval([0.1, 0.3])
    assert lo < 0.2 < hi
    rows = [{"seed": s, "uid": f"u{k}", "language": "de", "recipe": "char", "control": 1.0, "treated": 1.0,
             "diff": 0.0} for s in (0, 1) for k in range(5)]
    row = inf.effect(pd.DataFrame(rows)).iloc[0]
    assert row.delta == 0.0 and np.isnan(row.ci_low) and row.p == 1.0
