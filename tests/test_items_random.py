"""Seeds and items random: simulations with known effects and nulls (small, fast)."""
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from xrobust import inference as inf
from xrobust import items_random as ir

LANGS = ("de", "pl", "fr")


def simulate_paired(n_seeds=10, n_items=60, languages=LANGS, effect=-0.05, seed_sd=0.01, item_sd=0.05,
                    seed_item_sd=0.02, resid_sd=0.05, missing=0.1, rng_seed=0):
    """Paired differences d[s, k, l] = effect + a_s + b_k + ab_sk + e_skl (a: seed, b: item,
    ab: seed x item random effects), with a share `missing` of cells dropped as the clean filter
    drops them. The true effect over the populations of seeds and items is `effect`."""
    rng = np.random.default_rng(rng_seed)
    a, b = rng.normal(0, seed_sd, n_seeds), rng.normal(0, item_sd, n_items)
    ab = rng.normal(0, seed_item_sd, (n_seeds, n_items))
    S, K, L = np.meshgrid(np.arange(n_seeds), np.arange(n_items), np.arange(len(languages)), indexing="ij")
    d = effect + a[S] + b[K] + ab[S, K] + rng.normal(0, resid_sd, S.shape)
    out = pd.DataFrame({"seed": S.ravel(), "uid": [f"u{k}" for k in K.ravel()],
                        "language": np.asarray(languages)[L.ravel()], "recipe": "char", "diff": d.ravel()})
    out["control"], out["treated"] = 0.0, out["diff"]
    return out[rng.random(len(out)) >= missing].reset_index(drop=True)


def test_estimate_is_the_estimate_of_effect():
    p = simulate_paired()
    boot = ir.two_way_bootstrap(p, n_boot=200)
    assert boot["estimate"] == pytest.approx(inf.effect(p).delta.iloc[0])
    assert (boot["n_seeds"], boot["n_items"], boot["n_languages"]) == (10, 60, 3)
    assert boot["ci_low"] < boot["estimate"] < boot["ci_high"] and len(boot["draws"]) == 200
    pooled = ir.two_way_bootstrap(p, average="pairs", n_boot=200)
    assert pooled["estimate"] == pytest.approx(inf.effect(p, average="pairs").delta.iloc[0])


def test_two_way_covers_truth_and_is_wider_than_seed_t_when_items_vary():
    """Item variance large: the seed-t interval (conditional on the items) misses the population
    effect often; the two-way interval covers it in most replications and is wider."""
    hits, t_hits, ratio = [], [], []
    for r in range(20):
        p = simulate_paired(rng_seed=10 + r)
        boot = ir.two_way_bootstrap(p, n_boot=300, seed=r)
        t = inf.effect(p, bootstrap_min_seeds=ir.SEED_T).iloc[0]
        hits.append(boot["ci_low"] <= -0.05 <= boot["ci_high"])
        t_hits.append(t.ci_low <= -0.05 <= t.ci_high)
        ratio.append((boot["ci_high"] - boot["ci_low"]) / (t.ci_high - t.ci_low))
    assert np.mean(hits) >= 0.8  # 0.97 over 60 replications (seed-t: 0.73)
    assert np.mean(t_hits) < np.mean(hits)
    assert min(ratio) > 1.2 and np.mean(ratio) > 1.5  # item SD 0.05 over 60 items dominates the seed spread


def test_widths_agree_when_items_do_not_vary():
    """No item variance: both intervals measure mostly the seed spread and are of similar width
    (the two-way one a little wider: it counts the seed x item residual more than once)."""
    ratio = []
    for r in range(4):
        p = simulate_paired(item_sd=0.0, seed_item_sd=0.0, seed_sd=0.02, rng_seed=50 + r)
        boot = ir.two_way_bootstrap(p, n_boot=400, seed=r)
        t = inf.effect(p, bootstrap_min_seeds=ir.SEED_T).iloc[0]
        ratio.append((boot["ci_high"] - boot["ci_low"]) / (t.ci_high - t.ci_low))
    assert 0.7 < np.mean(ratio) < 1.4


def test_p_and_interval_agree_and_null_is_not_rejected_often():
    p = simulate_paired(effect=-0.05)
    boot = ir.two_way_bootstrap(p, n_boot=400)
    assert boot["p"] < 0.05 and boot["ci_high"] < 0
    rejections = [ir.two_way_bootstrap(simulate_paired(effect=0.0, rng_seed=200 + r), n_boot=400, seed=r)["p"] < 0.05
                  for r in range(10)]
    assert sum(rejections) <= 2
    assert ir.bootstrap_p(np.r_[np.full(99, 1.0)]) == pytest.approx(2 / 100)


def test_tost_declares_equivalence_for_a_tight_design_not_for_a_loose_one():
    tight = simulate_paired(n_seeds=12, n_items=150, effect=0.0, item_sd=0.02, rng_seed=3)
    loose = simulate_paired(n_seeds=4, n_items=20, effect=0.0, item_sd=0.08, rng_seed=3)
    t_res, l_res = ir.tost(tight, n_boot=400), ir.tost(loose, n_boot=400)
    assert t_res["equivalent"] and -ir.EQUIVALENCE_MARGIN < t_res["ci_low"] < t_res["ci_high"] < ir.EQUIVALENCE_MARGIN
    assert not l_res["equivalent"] and l_res["p"] >= 0.05
    effect = simulate_paired(n_seeds=12, n_items=150, effect=-0.05, item_sd=0.02, rng_seed=3)
    assert not ir.tost(effect, n_boot=400)["equivalent"]
    assert ir.EQUIVALENCE_MARGIN == 0.02


def test_holm_matches_statsmodels_and_keeps_nans():
    p = [0.019, 0.04, 0.30, np.nan, 0.001]
    ok = np.isfinite(p)
    out = ir.holm(p)
    assert np.allclose(out[ok], multipletests(np.asarray(p)[ok], method="holm")[1]) and np.isnan(out[3])
    assert ir.holm([0.019, 0.03, 0.5])[0] == pytest.approx(0.057)  # the archived grid's 0.019 -> 0.057


def test_mde_shrinks_with_seeds_and_items():
    comps = {**dict.fromkeys(inf.COMPONENTS, 0.0), "seed": 1e-4, "item": 0.01, "seed:item": 0.02, "resid": 0.05,
             "n_languages": 10, "cell_fraction": 0.8}
    mde = {(S, K): ir.minimum_detectable_effect(components=comps, n_seeds=S, n_items=K)
           for S in (5, 10, 20) for K in (50, 200)}
    assert mde[(5, 50)] > mde[(10, 50)] > mde[(20, 50)] and mde[(10, 50)] > mde[(10, 200)]
    assert ir.minimum_detectable_effect(0.01) == pytest.approx((1.959964 + 0.841621) * 0.01, rel=1e-5)
    assert ir.minimum_detectable_effect(0.01, power=0.9) > ir.minimum_detectable_effect(0.01)


def test_design_grows_with_components_and_keeps_the_floor_apart():
    small = {**dict.fromkeys(inf.COMPONENTS, 0.0), "seed": 1e-5, "item": 0.002, "seed:item": 0.01, "resid": 0.02,
             "n_languages": 20, "cell_fraction": 1.0}
    d = ir.design(small).set_index("row")
    assert list(d.index) == ["data", "floor", "planned"]
    assert d.loc["floor", "n_seeds"] == ir.SEED_FLOOR and d.loc["data", "n_seeds"] < ir.SEED_FLOOR
    assert d.loc["planned", "n_seeds"] == ir.SEED_FLOOR and d.loc["planned", "n_items"] <= d.loc["data", "n_items"]
    for row in ("data", "planned"):
        assert d.loc[row, "half_width_overall"] <= 0.02 and d.loc[row, "half_width_per_language"] <= 0.05
    big_items = ir.design({**small, "item": 0.01}).set_index("row")
    big_seeds = ir.design({**small, "seed": 5e-4}).set_index("row")
    assert big_items.loc["data", "n_items"] > d.loc["data", "n_items"]
    assert big_seeds.loc["data", "n_seeds"] > d.loc["data", "n_seeds"]
    hopeless = ir.design({**small, "seed": 1.0}).set_index("row")
    assert not hopeless.loc["data", "feasible"] and not hopeless.loc["planned", "feasible"]


def test_variance_components_separate_seed_item_and_seed_by_item():
    p = simulate_paired(n_seeds=10, n_items=80, seed_sd=0.05, item_sd=0.1, seed_item_sd=0.07, resid_sd=0.05,
                        missing=0.0, rng_seed=7)
    c = inf.variance_components(p)
    assert c["seed"] == pytest.approx(0.05 ** 2, rel=0.8)
    assert c["item"] == pytest.approx(0.1 ** 2, rel=0.4)
    assert c["seed:item"] == pytest.approx(0.07 ** 2, rel=0.3)


def records(n_seeds=6, n_items=40, languages=("en", "de", "pl"), effects=None, rng_seed=0):
    """Binary records: success probability = item base + condition effect (English unaffected)."""
    effects = effects or {"direct": 0.0, "intermediate": -0.15, "multilingual": 0.0}
    rng = np.random.default_rng(rng_seed)
    base = rng.uniform(0.3, 0.7, n_items)
    rows = []
    for s in range(n_seeds):
        for cond, eff in effects.items():
            for lang in languages:
                p = base + (0 if lang == "en" else eff)
                rows.append(pd.DataFrame({"seed": s, "uid": [f"u{k}" for k in range(n_items)], "language": lang,
                                          "recipe": "char", "condition": cond, "clean": 1,
                                          "robust": (rng.random(n_items) >= p).astype(int)}))
    return pd.concat(rows, ignore_index=True)


def test_headline_table_holm_across_conditions():
    rec = records()
    table = ir.headline_table(rec, ["intermediate", "multilingual"], n_boot=300)
    assert list(table.condition) == ["intermediate", "multilingual"]
    assert np.allclose(table.p_holm, multipletests(table.p, method="holm")[1])
    row = table.set_index("condition").loc["intermediate"]
    assert row.ci_low <= -0.15 <= row.ci_high < 0 and row.n_languages == 2 and row.n_seeds == 6
    assert row.t_ci_low < row.delta < row.t_ci_high and row.mde > 0
    robust = ir.headline_table(rec, "intermediate", metric="robust", n_boot=300)
    assert robust.delta.iloc[0] > 0  # less attack success = more accuracy under attack


def test_english_contrast_on_char():
    rec = records(n_items=120, rng_seed=1)
    rec = pd.concat([rec, rec.assign(recipe="codeswitch", robust=1)], ignore_index=True)
    c = ir.english_contrast(inf.pair(rec, "intermediate")).set_index("comparison")
    assert list(c.index) == ["English", "non-English mean", "non-English minus English"]
    assert c.loc["non-English minus English", "estimate"] == pytest.approx(
        c.loc["non-English mean", "estimate"] - c.loc["English", "estimate"])
    con = c.loc["non-English minus English"]
    assert con.ci_low <= -0.15 <= con.ci_high < 0 and c.loc["English", "ci_low"] <= 0 <= c.loc["English", "ci_high"]
    assert set(c.recipe) == {"char"} and (c.n_languages == 2).all()


def test_language_table_holm_across_languages():
    p = simulate_paired(n_seeds=8, n_items=60, rng_seed=4)
    p = pd.concat([p, simulate_paired(n_seeds=8, n_items=60, languages=("en",), effect=0.0, rng_seed=5)])
    table = ir.language_table(p, n_boot=300).set_index("language")
    assert np.allclose(table.p_holm, multipletests(table.p, method="holm")[1])
    for lang in LANGS:
        assert table.loc[lang, "ci_low"] <= -0.05 <= table.loc[lang, "ci_high"] < 0
    assert table.loc["en", "ci_low"] <= 0 <= table.loc["en", "ci_high"]
    one = ir.two_way_bootstrap(p[p.language == "de"], n_boot=300)
    assert table.loc["de", "estimate"] == pytest.approx(one["estimate"])


def test_design_text_shows_the_computation_and_the_floor_apart():
    comps = {**dict.fromkeys(inf.COMPONENTS, 0.0), "seed": 1e-5, "item": 0.002, "seed:item": 0.01, "resid": 0.02,
             "n_seeds": 5, "n_items": 50, "n_languages": 20, "cell_fraction": 1.0}
    text = ir.design_text(comps)
    assert "sqrt(A/S + B/K + 3 C/(S K))" in text and "Floor (set before the data, not asked by them): S >= 10" in text
    assert "Asked by the data: S = " in text and "Planned: S = 10" in text
