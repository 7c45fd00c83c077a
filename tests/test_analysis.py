"""xrobust.analysis on small synthetic grids written in the real result-file format."""
import numpy as np
import pytest
from myst_nb.core.variables import format_plain_text

from xrobust import analysis, resultfiles

LANGS = ["en", "de", "zh"]
UIDS = [f"u{i}" for i in range(12)]


def _target(cond, seed, acc, max_train=100, steps=4):
    cfg = {"step": "target", "model": "m", "task": "multiemo", "seed": seed, "max_train_examples": max_train,
           "epochs": 1.0, "batch_size": 25, "lr": 3e-5, "max_eval_examples": 40, "max_words": 40,
           "languages": LANGS, "train_languages": ["en"],
           "condition": "direct" if cond == "direct" else "intermediate",
           "intermediate_task": None if cond == "direct" else cond.split("-", 1)[1]}
    rows = [{"language": lang, "n": 40, "accuracy": acc[lang], "macro_f1": acc[lang] / 2, "majority_rate": 0.4,
             "zero_shot": lang != "en", "original": False} for lang in LANGS]
    return {"config": cfg, "train": {"steps": steps, "seconds": 120.0 + 60 * seed, "loss_first": 1.3 + seed / 100},
            "per_language": rows}


def _attack(cond, seed, success, uids=UIDS, pool_seed=0):
    """Every item clean-correct; the attack succeeds on the first round(success[lang] * K) items."""
    meta = {"seed": seed, "task": "multiemo", "base_model": "m",
            "condition": "direct" if cond == "direct" else "intermediate",
            "intermediate_task": None if cond == "direct" else cond.split("-", 1)[1]}
    cfg = {"step": "attack", "seed": seed, "checkpoint": f"runs/g/target/{cond}_s{seed}/checkpoint",
           "checkpoint_meta": meta, "languages": LANGS, "recipes": ["char"], "n_examples": len(uids),
           "pool_seed": pool_seed, "max_perturbed": 0.25, "query_budget": 2000}
    rows = []
    for lang in LANGS:
        n_success = round(success[lang] * len(uids))
        recs = [{"uid": u, "label": 0, "outcome": "success" if i < n_success else "failed"} for i, u in enumerate(uids)]
        rows.append({"language": lang, "recipe": "char", "clean_accuracy": 1.0, "seconds": 30.0,
                     "attacked_accuracy": 1 - n_success / len(uids), "records": recs})
    return {"config": cfg, "rows": rows, "complete": True, "pool": {"uids": list(uids)}, "not_applicable": []}


def _grid(root, seeds=(0, 1, 2), effect=0.25, **overrides):
    """direct: success 0.25 everywhere; inter-x: + `effect` in non-English languages, + 0 in English."""
    for seed in seeds:
        jitter = (0, 1, -1)[seed % 3] / len(UIDS)  # +-1 item: seeds differ (mean 0), so intervals have a width
        for cond, add in (("direct", 0.0), ("inter-x", effect + jitter)):
            succ = {lang: 0.25 + (add if lang != "en" else 0.0) for lang in LANGS}
            acc = {lang: 0.7 + (0.05 if cond == "inter-x" else 0.0) + 0.01 * seed for lang in LANGS}
            resultfiles.write_json(root / "target" / f"{cond}_s{seed}.json", _target(cond, seed, acc, **overrides))
            resultfiles.write_json(root / "attack" / f"{cond}_s{seed}.json.gz", _attack(cond, seed, succ))
    return root


@pytest.fixture
def grid(tmp_path):
    return analysis.load_grid(_grid(tmp_path / "g"))


def test_headline_table_recovers_the_effect(grid):
    table = analysis.headline_table(grid, n_boot=200).set_index("metric")
    success = table.loc["attack success"]
    assert success.condition == "inter-x"
    assert success.delta == pytest.approx(0.25, abs=1e-3)  # non-English only: English (+0) is the reference
    assert success.ci_low < 0.25 < success.ci_high and success.ci_low > 0
    assert (success.n_seeds, success.n_items) == (3, 12)
    assert table.loc["accuracy under attack"].delta == pytest.approx(-0.25, abs=1e-3)


def test_english_reference_and_contrast(grid):
    c = analysis.english_contrast(grid).set_index("comparison").delta
    assert c["English"] == pytest.approx(0.0, abs=1e-9)
    assert c["non-English minus English"] == pytest.approx(0.25, abs=1e-3)
    langs = analysis.language_effects(grid)
    assert set(langs.language) == set(LANGS)
    assert np.isnan(langs.set_index("language").loc["en", "p_holm"])  # not in the Holm family
    assert langs.set_index("language").loc[["de", "zh"], "p_holm"].notna().all()


def test_clean_deltas_pair_seeds_and_languages(grid):
    d = analysis.clean_deltas(grid).set_index("language")
    assert d.loc["non-English", "delta"] == pytest.approx(0.05)
    assert d.loc["non-English", "n_seeds"] == 3 and d.loc["non-English", "n_items"] == 40


def test_refuses_to_pool_different_designs(tmp_path):
    root = _grid(tmp_path / "g", seeds=(0, 1))
    resultfiles.write_json(root / "target" / "direct_s2.json",
                           _target("direct", 2, dict.fromkeys(LANGS, 0.7), max_train=999))
    with pytest.raises(ValueError, match="max_train_examples"):
        analysis.load_grid(root)
    root = _grid(tmp_path / "h", seeds=(0, 1))
    other_pool = _attack("direct", 2, dict.fromkeys(LANGS, 0.5), uids=UIDS[1:] + ["v"])
    resultfiles.write_json(root / "attack" / "direct_s2.json.gz", other_pool)
    with pytest.raises(ValueError, match="pool_uids"):
        analysis.load_grid(root)


def test_refuses_missing_grid_partial_and_corrupt_files(tmp_path):
    with pytest.raises(ValueError, match="grid_dir"):
        analysis.load_grid(tmp_path / "nothing")
    root = _grid(tmp_path / "g", seeds=(0, 1))
    partial = {**_attack("direct", 1, dict.fromkeys(LANGS, 0.5)), "complete": False}
    resultfiles.write_json(root / "attack" / "direct_s1.json.gz", partial)
    with pytest.raises(ValueError, match="unfinished"):
        analysis.load_grid(root)
    path = _grid(tmp_path / "c", seeds=(0, 1)) / "target" / "direct_s0.json"
    path.write_text(path.read_text().replace("0.7", "0.9", 1))
    with pytest.raises(resultfiles.CorruptResult, match="checksum"):
        analysis.load_grid(tmp_path / "c")


def test_learned_model_check_flags_a_majority_class_model(tmp_path):
    root = _grid(tmp_path / "g", seeds=(0, 1))
    stuck = _target("direct", 1, dict.fromkeys(LANGS, 0.4))  # = the majority rate
    resultfiles.write_json(root / "target" / "direct_s1.json", stuck)
    check = analysis.learned_model_check(analysis.load_grid(root), n_labels=4).set_index(["condition", "seed"])
    assert not check.loc[("direct", 1), "learned"]
    assert check.drop(("direct", 1)).learned.all()
    assert check.loc[("direct", 0), "majority_macro_f1_en"] == pytest.approx(2 * 0.4 / 1.4 / 4)
    assert analysis.majority_rate([0, 0, 1, 2]) == 0.5
    with pytest.raises(ValueError, match="labels"):
        analysis.majority_rate([])


def _intermediate(task, seed, accuracy, majority_rate, macro_f1):
    cfg = {"step": "intermediate", "model": "m", "task": task, "seed": seed, "max_train_examples": 100,
           "epochs": 1.0, "batch_size": 25, "lr": 3e-5, "max_eval_examples": 40, "max_words": 40}
    return {"config": cfg, "train": {"steps": 4, "seconds": 300.0},
            "eval": {"accuracy": accuracy, "macro_f1": macro_f1, "majority_rate": majority_rate, "n": 40}}


def test_intermediate_check_needs_margin_and_macro_f1(tmp_path):
    root = _grid(tmp_path / "g", seeds=(0, 1))
    for seed, (acc, maj, f1) in enumerate([(0.80, 0.55, 0.70), (0.88, 0.86, 0.80)]):  # seed 1: +0.02 only
        resultfiles.write_json(root / "intermediate" / f"x_s{seed}.json", _intermediate("x", seed, acc, maj, f1))
    resultfiles.write_json(root / "intermediate" / "y_s0.json", _intermediate("y", 0, 0.80, 0.50, 0.45))
    check = analysis.intermediate_check(analysis.load_grid(root)).set_index(["task", "seed"])
    assert check.loc[("x", 0), "margin"] == pytest.approx(0.25) and check.loc[("x", 0), "learned"]
    assert not check.loc[("x", 1), "learned"]  # beats the majority, but by less than 0.10
    assert not check.loc[("y", 0), "learned"]  # macro-F1 below 0.5
    empty = analysis.intermediate_check(analysis.load_grid(_grid(tmp_path / "h", seeds=(0,))))
    assert empty.empty and "learned" in empty.columns


def test_mixed_model_agrees_with_the_seed_level_effect(grid):
    mixed = analysis.mixed_models(grid).set_index("condition")
    headline = analysis.headline_table(grid, n_boot=200).set_index(["condition", "metric"])
    assert mixed.loc["inter-x", "delta"] == pytest.approx(headline.loc[("inter-x", "attack success"), "delta"],
                                                          abs=0.02)
    assert mixed.loc["inter-x", "n_seeds"] == 3 and mixed.loc["inter-x", "n_items"] == 12
    values = analysis.glue_values(grid, analysis.learned_model_check(grid, n_labels=4), headline.reset_index(),
                                  analysis.english_contrast(grid), analysis.clean_deltas(grid),
                                  analysis.language_effects(grid), analysis.design_from_pilot(grid),
                                  mixed=mixed.reset_index())
    assert values["primary_mixed_delta"] == pytest.approx(mixed.loc["inter-x", "delta"])
    assert "CI" in values["primary_mixed_ci"] and "nan" not in values["primary_mixed_ci"]
    assert values["primary_mixed_text"].startswith(f"{mixed.loc['inter-x', 'delta']:.3f} (95% Wald CI")
    with pytest.raises(ValueError, match="metric='clean'"):
        analysis.mixed_models(grid, metric="clean")


def test_glue_values_are_raw_and_format_in_the_text(grid):
    learned = analysis.learned_model_check(grid, n_labels=4)
    headline = analysis.headline_table(grid, n_boot=200)
    values = analysis.glue_values(grid, learned, headline, analysis.english_contrast(grid), analysis.clean_deltas(grid),
                                  analysis.language_effects(grid), analysis.design_from_pilot(grid))
    assert isinstance(values["primary_success_delta"], float) and values["primary_condition"] == "inter-x"
    assert values["n_seeds"] == 3 and values["n_items"] == 12 and values["status"] == "preliminary"
    assert values["primary_design_overall_seeds"] >= analysis.MIN_SEEDS
    # what the book's {glue:text}`...:.2f` shows: the text/plain form of the glued value, formatted
    assert format_plain_text(repr(values["primary_success_delta"]), ".2f") == "0.25"
    assert format_plain_text(repr(values["primary_condition"]), "s") == "inter-x"
    assert values["primary_success_p"] == "< 0.001" or float(values["primary_success_p"]) < 0.05
    text = analysis.with_effect_text(headline).loc[("inter-x", "attack success")]
    assert text.effect.startswith("0.250 (95% CI ") and (text.seeds, text["items"]) == (3, 12)


def test_one_seed_grid_runs_through_without_intervals(tmp_path):
    """The README's demo grid has one seed: every table is made; intervals and design are NaN in
    the tables and glued as text that says why (never 'nan' in the book)."""
    grid = analysis.load_grid(_grid(tmp_path / "g", seeds=(0,)))
    headline = analysis.headline_table(grid, n_boot=200)
    assert headline.delta.notna().all() and headline.ci_low.isna().all() and (headline.n_seeds == 1).all()
    design = analysis.design_from_pilot(grid)
    assert not design.feasible.any() and design.n_seeds.isna().all()
    values = analysis.glue_values(grid, analysis.learned_model_check(grid, n_labels=4), headline,
                                  analysis.english_contrast(grid), analysis.clean_deltas(grid),
                                  analysis.language_effects(grid), design)
    assert values["primary_success_p"] == "n/a" and values["primary_success_ci"] == "no 95% CI with 1 seed"
    assert values["primary_design_overall_seeds"].startswith("n/a (not estimable")
    mixed = analysis.mixed_models(grid)
    assert mixed.delta.isna().all() and mixed.error.str.contains("at least 3").all()


def test_primary_condition_is_checked(grid):
    tables = (analysis.learned_model_check(grid, n_labels=4), analysis.headline_table(grid, n_boot=200),
              analysis.english_contrast(grid), analysis.clean_deltas(grid), analysis.language_effects(grid),
              analysis.design_from_pilot(grid))
    with pytest.raises(ValueError, match="primary"):
        analysis.glue_values(grid, *tables, primary="multilingual")
    assert analysis.glue_values(grid, *tables, primary="inter-x")["primary_condition"] == "inter-x"


def test_interval_text_says_why_there_is_no_interval():
    """One seed gives no seed-level interval: the book says so instead of printing nan."""
    assert analysis.interval_text(-0.06, -0.02, 5) == "95% CI -0.060 to -0.020"
    text = analysis.interval_text(float("nan"), float("nan"), 1)
    assert text == "no 95% CI with 1 seed" and "nan" not in text


def test_interval_text_for_identical_seed_values():
    assert analysis.interval_text(float("nan"), float("nan"), 2) == "no 95% CI: the 2 seed values are identical"
    assert analysis.interval_text(float("nan"), float("nan"), 1) == "no 95% CI with 1 seed"


def test_ablation_table_sets_each_grid_beside_the_other_and_differences_seeds(tmp_path):
    base = analysis.load_grid(_grid(tmp_path / "base", seeds=(0, 1, 2, 3), effect=0.25))
    root = tmp_path / "base_unfrozen"
    for seed, k in ((0, 2), (1, 1), (2, 3)):  # ablation effects of k items in 12 differ by seed: mean 2/12
        _grid(root, seeds=(seed,), effect=k / len(UIDS))
    ablation = analysis.load_grid(root)
    table = analysis.ablation_table(base, ablation).set_index(["metric", "comparison"])
    success = table.loc["attack success"]
    assert success.loc["base", "delta"] == pytest.approx(0.25, abs=1e-3)  # seeds 0-2 only, as the ablation
    assert success.loc["base_unfrozen", "delta"] == pytest.approx(2 / 12, abs=1e-3)
    diff = success.loc["base_unfrozen − base"]
    assert diff.delta == pytest.approx(2 / 12 - 0.25, abs=1e-3)
    assert diff.ci_low < 2 / 12 - 0.25 < diff.ci_high and diff.n_seeds == 3 and diff.n_items == 12
    assert set(success.n_seeds) == {3}
    robust = table.loc[("accuracy under attack", "base_unfrozen − base"), "delta"]
    assert robust == pytest.approx(0.25 - 2 / 12, abs=1e-3)
    # identical per-seed differences: no interval rather than a zero-width one
    same = analysis.ablation_table(base, analysis.load_grid(_grid(tmp_path / "same", seeds=(0, 1), effect=1 / 12)))
    row = same.set_index(["metric", "comparison"]).loc[("attack success", "same − base")]
    assert row.delta == pytest.approx(1 / 12 - 0.25, abs=1e-3) and np.isnan(row.ci_low) and row.n_seeds == 2
    with pytest.raises(ValueError, match="share no seed"):
        analysis.ablation_table(base, analysis.load_grid(_grid(tmp_path / "other", seeds=(7,))))


def test_ablation_text_quotes_both_grids_and_the_difference(tmp_path):
    base = analysis.load_grid(_grid(tmp_path / "base", seeds=(0, 1, 2), effect=0.25))
    ablation = analysis.load_grid(_grid(tmp_path / "abl", seeds=(0, 1), effect=1 / 12))
    table = analysis.ablation_table(base, ablation)
    text = analysis.ablation_text(table, analysis.learned_model_check(ablation, n_labels=4))
    assert text.startswith("ran (4 of 4 target models learned): "
                           "inter-x minus direct, non-English attack success: +0.125")
    assert "+0.292" in text and "in base on the same seeds" in text and "difference -0.167" in text
    assert "n = 2 seeds, 12 distinct items" in text and "seed values are identical" in text
    assert "has not been run" in analysis.ablation_text(None)


def test_progress_table_counts_seeds_per_condition_of_a_growing_grid(tmp_path):
    root = _grid(tmp_path / "g", seeds=(0, 1, 2))
    (root / "attack" / "inter-x_s2.json.gz").unlink()  # seed 2's treated model trained, not yet attacked
    for seed in (0, 1, 2):  # inter-x's training time includes its intermediate model's
        resultfiles.write_json(root / "intermediate" / f"x_s{seed}.json", _intermediate("x", seed, 0.8, 0.5, 0.7))
    progress = analysis.progress_table(analysis.load_grid(root), planned_seeds=5).set_index("condition")
    # target 2, 3 and 4 minutes for seeds 0-2: mean 3; plus 5 minutes of intermediate training
    assert progress.train_minutes.tolist() == [3.0, 8.0]
    assert progress.loc["direct", ["seeds_trained", "seeds_attacked", "seeds_to_go"]].tolist() == [3, 3, 2]
    assert progress.loc["inter-x", ["seeds_trained", "seeds_attacked", "seeds_to_go"]].tolist() == [3, 2, 3]
    assert progress.loc["inter-x", "attacked_seeds"] == "0, 1" and progress.loc["direct", "n_items"] == len(UIDS)
    values = analysis.progress_values(progress.reset_index(), planned_seeds=5)
    assert progress.attack_minutes.tolist() == [len(LANGS) * 0.5] * 2  # 30 s a language, per seed
    assert values["progress_seeds_done"] == 2 and values["progress_seeds_planned"] == 5
    assert values["progress_attack_minutes_max"] == len(LANGS) * 0.5
    assert (values["progress_train_minutes_min"], values["progress_train_minutes_max"]) == (3.0, 8.0)
    assert values["progress_text"].startswith("2 of 5 planned seeds") and "inter-x 2" in values["progress_text"]
    with pytest.raises(ValueError, match="planned_seeds"):
        analysis.progress_table(analysis.load_grid(root), planned_seeds=0)


def test_compared_seeds_need_the_control_and_another_condition(tmp_path):
    root = tmp_path / "g"
    assert resultfiles.compared_seeds(root) == []  # no folder yet
    for name in ("direct_s0", "direct_s1", "inter-x_s1", "inter-movie_sentiment_s3", "direct_s12", "multilingual_s12"):
        resultfiles.write_json(root / "attack" / f"{name}.json.gz", {"complete": True})
    (root / "attack" / ".inter-x_s0.json.gz.partial").write_text("{}")  # an unfinished attack does not count
    assert resultfiles.compared_seeds(root) == [1, 12]


def test_shared_item_agreement_compares_only_the_cells_both_grids_made(tmp_path):
    big = analysis.load_grid(_grid(tmp_path / "powered", seeds=(0, 1)))
    # the "pilot": seed 0 only, half the items, one item's outcome flipped in German
    small_root = _grid(tmp_path / "pilot", seeds=(0,))
    for cond in ("direct", "inter-x"):
        doc = resultfiles.read_json(small_root / "attack" / f"{cond}_s0.json.gz")
        for row in doc["rows"]:
            row["records"] = row["records"][:6]
        doc["pool"]["uids"], doc["config"]["n_examples"] = UIDS[:6], 6
        if cond == "inter-x":
            de = next(r for r in doc["rows"] if r["language"] == "de")["records"][0]
            de["outcome"] = "failed" if de["outcome"] == "success" else "success"
        resultfiles.write_json(small_root / "attack" / f"{cond}_s0.json.gz", doc)
    # the pilot's inter-x model started elsewhere: another first loss (direct's is the same)
    target = resultfiles.read_json(small_root / "target" / "inter-x_s0.json")
    target["train"]["loss_first"] = 1.25
    resultfiles.write_json(small_root / "target" / "inter-x_s0.json", target)
    small = analysis.load_grid(small_root)
    agree = analysis.shared_item_agreement(big, small).set_index("condition")
    assert agree.loc["inter-x", "n_cells"] == 6 * len(LANGS) and agree.seed.tolist() == [0, 0]
    assert agree.loc["inter-x", "outcome_agreement"] == pytest.approx(1 - 1 / (6 * len(LANGS)))
    assert agree.loc["direct", "outcome_agreement"] == 1.0 and agree.loc["direct", "n_items"] == 6
    assert agree.loc["direct", "clean_accuracy_max_abs_diff"] == 0.0
    values = analysis.agreement_values(agree.reset_index(), "pilot")
    assert values["compare_n_cells"] == 2 * 6 * len(LANGS) and values["compare_grid"] == "pilot"
    assert values["compare_outcome_agreement"] == pytest.approx(1 - 1 / (2 * 6 * len(LANGS)))
    assert values["compare_clean_text"] == "are identical in every language"
    assert values["compare_n_seeds"] == 1 and values["compare_n_departures"] == 1  # one flip in 6 x 3 cells: 94%
    assert values["compare_departures_text"].startswith("1 of 2 (condition, seed) models were not reproduced: "
                                                        "inter-x seed 0 (94.4% of 18 cells agree")
    assert values["compare_departures_text"].endswith("; first-five-step loss 1.3000 here and 1.2500 in pilot)")
    assert agree.loc["direct", "first_loss"] == agree.loc["direct", "first_loss_other"] == 1.3
    assert np.isnan(agree.loc["inter-x", "intermediate_first_loss"])  # no intermediate files in these grids
    same = analysis.agreement_values(agree[agree.index == "direct"].reset_index(), "pilot")
    assert same["compare_n_departures"] == 0 and same["compare_departures_text"].startswith("every")


def test_analysis_notebook_refuses_an_unknown_role_before_reading_the_grid(tmp_path):
    from pathlib import Path

    import papermill
    root = Path(__file__).resolve().parents[1]
    message = "invalid 'role': 'final'; allowed values: answer, powered, demo"
    (tmp_path / "empty").mkdir()  # a grid folder that is not there is refused before the role
    with pytest.raises(papermill.PapermillExecutionError, match=message):
        papermill.execute_notebook(str(root / "notebooks" / "04_analysis.ipynb"), str(tmp_path / "out.ipynb"),
                                   parameters={"role": "final", "grid_dir": str(tmp_path / "empty"),
                                               "figures_dir": str(tmp_path / "figures")},
                                   cwd=str(root), progress_bar=False)
    assert not (tmp_path / "figures").exists()  # nothing made


def test_one_precision_for_all_conditions_of_a_seed():
    from xrobust.analysis import _check_one_precision_per_seed

    def doc(step, seed, precision):
        cfg = {"step": step, "precision": precision}
        cfg.update({"checkpoint_meta": {"seed": seed}, "seed": 0} if step == "attack" else {"seed": seed})
        return {"config": cfg}

    same = {"t/direct_s0.json": doc("target", 0, "bf16"), "a/direct_s0.json": doc("attack", 0, "bf16"),
            "t/direct_s8.json": doc("target", 8, "fp32")}  # another seed may run in another format
    _check_one_precision_per_seed(same)
    mixed = {**same, "a/inter_s8.json": doc("attack", 8, "bf16")}
    with pytest.raises(ValueError, match="seed 8: result files ran in different numeric formats"):
        _check_one_precision_per_seed(mixed)
