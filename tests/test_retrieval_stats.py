"""Retrieval of a grid's encoders against the pretrained encoder: pairing by unit, seeds as the unit."""
import numpy as np
import pandas as pd
import pytest

from xrobust import resultfiles, retrieval_plots, retrieval_stats

LANGS = ["fr", "sco", "yo"]  # in XLM-R pretraining: fr only
N = 40
DESIGN = {"granularity": "paragraph", "prefix": "query: ", "pooling": "mean of last hidden states",
          "similarity": "cosine", "max_length": 512, "units_per_language": N}


def _doc(hits: dict, model: dict) -> dict:
    rows = [{"language": lang, "correct_xx_to_en": "".join(map(str, h)), "correct_en_to_xx": "".join(map(str, h)),
             "xx_to_en": float(np.mean(h)), "en_to_xx": float(np.mean(h))} for lang, h in hits.items()]
    return {**DESIGN, "model": model, "rows": rows}


def _grid(root, gain=0.25, seeds=(0, 1, 2), **design):
    """pretrained: the first half of the units right in every language; the intermediate encoder
    also gets round(gain * N) (+- 1 unit by seed) of the second half right in sco and yo."""
    base = {lang: [1] * (N // 2) + [0] * (N // 2) for lang in LANGS}
    resultfiles.write_json(root / "retrieval" / "pretrained_paragraph.json",
                           _doc(base, {"kind": "encoder", "name": "m"}))
    for seed in seeds:
        extra = round(gain * N) + (0, 1, -1)[seed % 3]
        hits = {lang: base[lang][:N // 2] + ([1] * extra + [0] * (N // 2 - extra) if lang != "fr" else [0] * (N // 2))
                for lang in LANGS}
        model = {"kind": "classifier checkpoint", "checkpoint": {"base_model": "m", "task": "x", "seed": seed}}
        doc = {**_doc(hits, model), **design}
        resultfiles.write_json(root / "retrieval" / "intermediate" / f"x_s{seed}_paragraph.json", doc)
    return root


def test_effect_is_paired_by_unit_with_seeds_as_the_unit(tmp_path):
    pre, enc, design = retrieval_stats.load(_grid(tmp_path / "g"))
    assert design["model"] == "m" and len(pre) == len(LANGS) * 2 * N
    p = retrieval_stats.paired(pre, enc, "intermediate", "x")
    assert len(p) == 3 * len(LANGS) * 2 * N and set(p.recipe) == {"xx_to_en", "en_to_xx"}
    effects = retrieval_stats.encoder_effects(pre, enc, n_boot=200).set_index("group")
    overall = effects.loc["all languages"]
    assert overall.delta == pytest.approx(2 / 3 * 10 / N)  # +10 units in two of three languages
    assert overall.n_seeds == 3 and overall.n_items == N and overall.ci_low < overall.delta < overall.ci_high
    assert effects.loc["xlmr_pretraining = True", "delta"] == 0.0
    assert effects.loc["xlmr_pretraining = False", "delta"] == pytest.approx(10 / N)
    langs = retrieval_stats.language_effects(pre, enc, "intermediate", "x", n_boot=200).set_index("language")
    assert langs.loc["yo", "pretrained"] == 0.5 and langs.loc["fr", "delta"] == 0.0
    assert langs.loc["sco", "xlmr_pretraining"] == False and "p_holm" in langs  # noqa: E712
    assert langs.loc["fr", "tatoeba"] and not langs.loc["yo", "tatoeba"]
    two = langs.reset_index().assign(  # yo in a script of its own, with the best pretrained top-1
        pretrained=lambda d: d.language.map({"fr": 0.5, "sco": 0.9, "yo": 0.99}),
        script_name=lambda d: d.script_name.where(d.language != "yo", "Other"))
    two = pd.concat([two.assign(encoder="x"), two.assign(encoder="y", delta=-two.delta, n_seeds=2)])
    table = retrieval_stats.change_table(two)
    assert list(table.index) == ["sco", "fr", "yo"]  # the script with more languages first, then by pretrained
    assert table.loc["fr", "pretrained top-1"] == 0.5 and table.loc["sco", "script"] == "Latin"
    x, y = f"x, {langs.n_seeds.max()} seeds: change [95% CI]", "y, 2 seeds: change [95% CI]"
    assert table.loc["yo", x] == f"{langs.loc['yo', 'delta']:+.3f} [{langs.loc['yo', 'ci_low']:+.3f}, " \
                                 f"{langs.loc['yo', 'ci_high']:+.3f}]"
    assert table.loc["yo", y].startswith(f"{-langs.loc['yo', 'delta']:+.3f} [")
    fig = retrieval_plots.change_per_language(langs.reset_index().assign(encoder="inter x"), "t")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 3 and any(label.startswith("★ French") for label in labels)
    _assert_legend_below_axis(fig)
    fig = retrieval_plots.change_against_pretrained(langs.reset_index().assign(encoder="inter x"), "t")
    points = fig.axes[0].collections[0].get_offsets()
    assert sorted(map(tuple, points.round(3))) == [(0.5, 0.0), (0.5, 0.25), (0.5, 0.25)]  # fr, then sco and yo


def test_mixed_designs_and_missing_baseline_are_refused(tmp_path):
    with pytest.raises(ValueError, match="no retrieval/pretrained_paragraph.json"):
        retrieval_stats.load(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"differs from pretrained_paragraph.json in \['max_length'\]"):
        retrieval_stats.load(_grid(tmp_path / "g", max_length=128))
    with pytest.raises(ValueError, match="no retrieval results for stage='target'"):
        pre, enc, _ = retrieval_stats.load(_grid(tmp_path / "h"))
        retrieval_stats.paired(pre, enc, "target", "direct")


def _attack_doc(success_units: dict, units=range(8), clean_units=None, complete=True, ratio=0.1, **config):
    """Every unit retrieved correctly (or those in `clean_units`); attacks succeed on `success_units[lang]`,
    changing the share `ratio` of the words."""
    rows = []
    for lang, won in success_units.items():
        recs = [{"uid": f"{lang}-{u}", "label": u,
                 "outcome": ("misclassified" if clean_units is not None and u not in clean_units
                             else "success" if u in won else "failed"),
                 "perturbed_ratio": ratio if u in won else None, "num_queries": 30} for u in units]
        rows.append({"language": lang, "recipe": "char", "applicable": True, "records": recs})
    rows.append({"language": "fr", "recipe": "codeswitch", "applicable": False})
    cfg = {"granularity": "paragraph", "units": list(units), "max_words": 60, "seed": 0, "max_perturbed": 0.25,
           "query_budget": 2000, "recipes": ["char", "codeswitch"], **config}
    return {"config": cfg, "rows": rows, "complete": complete}


def test_attack_effect_pairs_each_seed_with_the_pretrained_encoder(tmp_path):
    root = tmp_path / "g" / "retrieval_attack"
    base = {lang: {0, 1} for lang in LANGS}  # 2 of 8 units broken in every language
    resultfiles.write_json(root / "pretrained_paragraph.json", _attack_doc(base))
    for seed in (0, 1, 2):
        extra = {0: {2, 3}, 1: {2, 3, 4}, 2: {2}}[seed]  # 4, 5 or 3 of 8 broken
        resultfiles.write_json(root / "intermediate" / f"x_s{seed}_paragraph.json",
                               _attack_doc({lang: base[lang] | extra for lang in LANGS}, ratio=0.1 * (seed + 1)))
    records = retrieval_stats.load_attacks(tmp_path / "g")
    assert set(records.condition) == {"pretrained", "intermediate:x"} and set(records.seed) == {0, 1, 2}
    effects = retrieval_stats.attack_effects(records, n_boot=200).set_index(["metric", "recipe"])
    success = effects.loc[("success", "all recipes")]
    assert success.delta == pytest.approx(np.mean([2, 3, 1]) / 8)
    assert success.n_seeds == 3 and success.n_items == 8 and success.n_languages == 3
    assert success.ci_low < success.delta < success.ci_high
    assert effects.loc[("robust", "char"), "delta"] == pytest.approx(-success.delta)
    # the cost, on units 0 and 1 (broken in both): 0.1 of the words in the pretrained encoder, 0.1 to 0.3 in seeds 0-2
    cost = effects.loc[("perturbed", "char")]
    assert cost.delta == pytest.approx(0.1) and cost.n_items == 2 and cost.n_pairs == 3 * 2 * len(LANGS)
    summary = retrieval_stats.attack_summary(records).set_index(["condition", "language"])
    assert summary.loc[("pretrained", "fr"), "success_rate"] == 0.25
    assert summary.loc[("pretrained", "fr"), "n_seeds"] == 1  # one model, counted once
    # the mean over the successful attacks of all seeds: 4, 5 and 3 of them changing 0.1, 0.2 and 0.3
    assert summary.loc[("intermediate:x", "yo"), "perturbed_ratio"] == pytest.approx((4 * .1 + 5 * .2 + 3 * .3) / 12)
    table = retrieval_stats.attack_language_table(summary.reset_index())
    assert list(table.columns) == ["language", "script", "pretrained: success (units)", "pretrained: perturbed words",
                                   "x, 3 seeds: success (units)", "x, 3 seeds: perturbed words"]
    assert table.loc["fr", "pretrained: success (units)"] == "0.250 (8)"  # 2 of 8 broken, one model
    assert table.loc["fr", "pretrained: perturbed words"] == "0.100"
    # per seed 4, 5 and 3 of the 8 units broken: 12 of 24 (seeds pooled)
    assert table.loc["fr", "x, 3 seeds: success (units)"] == "0.500 (24)"
    assert table.loc["fr", "x, 3 seeds: perturbed words"] == f"{2.3 / 12:.3f}"
    meta = retrieval_stats.udhr_language_frame()[["name", "script_name"]]
    table = summary.reset_index().assign(encoder=lambda d: d.condition).join(meta, on="language")
    fig = retrieval_plots.success_per_language(table, "t")
    assert len(fig.axes[0].get_yticklabels()) == 3 and len(fig.axes[0].collections) == 2  # 2 encoders
    _assert_legend_below_axis(fig)


def test_side_effects_compare_the_translation_attacked_with_english_attacked(tmp_path):
    grid = tmp_path / "g"
    base = {lang: {0, 1} for lang in LANGS}
    english = {"attacked_side": "english", "recipes": ["char"]}
    resultfiles.write_json(grid / "retrieval_attack" / "pretrained_paragraph.json", _attack_doc(base))
    resultfiles.write_json(grid / "retrieval_attack_english" / "pretrained_paragraph.json",
                           _attack_doc(base, **english))
    for seed in (0, 1, 2):
        extra = {0: {2, 3}, 1: {2, 3, 4}, 2: {2}}[seed]  # translation attacked: 2, 3 or 1 more of 8 broken
        resultfiles.write_json(grid / "retrieval_attack" / "intermediate" / f"x_s{seed}_paragraph.json",
                               _attack_doc({lang: base[lang] | extra for lang in LANGS}, ratio=0.05))
        if seed < 2:  # English attacked: one more of 8 broken, in seeds 0 and 1 only
            resultfiles.write_json(grid / "retrieval_attack_english" / "intermediate" / f"x_s{seed}_paragraph.json",
                                   _attack_doc({lang: base[lang] | {5} for lang in LANGS}, **english))
    translation = retrieval_stats.load_attacks(grid)
    en = retrieval_stats.load_attacks(grid, step="retrieval_attack_english")
    assert set(en.seed) == {0, 1} and set(en.recipe) == {"char"}
    sides = retrieval_stats.side_effects(translation, en, n_boot=200).set_index("comparison")
    assert sides.loc["translation", "delta"] == pytest.approx(np.mean([2, 3]) / 8)  # the seeds with both sides
    assert sides.loc["english", "delta"] == pytest.approx(1 / 8) and sides.loc["english", "n_seeds"] == 2
    # the levels behind each change, on the same paired units and seeds: 2 of 8 broken in the pretrained encoder
    assert sides.loc[["translation", "english"], "control_mean"].tolist() == pytest.approx([2 / 8, 2 / 8])
    assert sides.loc["translation", "treated_mean"] == pytest.approx(np.mean([4, 5]) / 8)
    assert sides.loc["english", "treated_mean"] == pytest.approx(3 / 8)
    assert np.isnan(sides.loc["translation minus english", "control_mean"])
    # the attack's cost on the units both attacks break (0 and 1): the pretrained encoder's attacks change
    # 0.1 of the words; the intermediate encoders', 0.05 on the translation and 0.1 on English
    cost = retrieval_stats.side_effects(translation, en, n_boot=200, metric="perturbed").set_index("comparison")
    assert cost.loc["translation", "treated_mean"] == pytest.approx(0.05)
    assert cost.loc["translation", "delta"] == pytest.approx(-0.05) and cost.loc["english", "delta"] == pytest.approx(0)
    assert cost.loc["translation minus english", "delta"] == pytest.approx(-0.05)
    assert cost.loc["english", "n_items"] == 2 and cost.loc["english", "control_mean"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"metric='queries': allowed values are \('success', 'perturbed'\)"):
        retrieval_stats.side_effects(translation, en, metric="queries")
    contrast = sides.loc["translation minus english"]
    assert contrast.delta == pytest.approx(np.mean([1, 2]) / 8) and contrast.n_languages == len(LANGS)
    assert contrast.n_items == 8 and (sides.condition == "intermediate:x").all()
    per_language = retrieval_stats.side_language_changes(translation, en).set_index("language")
    assert per_language.loc["fr", "translation"] == pytest.approx(np.mean([2, 3]) / 8)
    assert per_language.loc["fr", "english"] == pytest.approx(1 / 8) and per_language.n_seeds.max() == 2
    assert per_language.loc["fr", ["translation_control", "english_control"]].tolist() == pytest.approx([2 / 8, 2 / 8])
    fig = retrieval_plots.sides_per_language(per_language.reset_index().assign(encoder="x (2 seeds)"), "t")
    ax = fig.axes[0]
    assert ax.get_xlabel().endswith("English attacked") and len(ax.collections[0].get_offsets()) == len(LANGS)
    # a file of the other side in the English folder is another design
    resultfiles.write_json(grid / "retrieval_attack_english" / "intermediate" / "x_s2_paragraph.json",
                           _attack_doc(base, recipes=["char"]))
    with pytest.raises(ValueError, match=r"differs from pretrained_paragraph.json in \['attacked_side'\]"):
        retrieval_stats.load_attacks(grid, step="retrieval_attack_english")
    with pytest.raises(ValueError, match="step='retrieval': allowed values are retrieval_attack, retrieval_attack_en"):
        retrieval_stats.load_attacks(grid, step="retrieval")
    with pytest.raises(ValueError, match="no encoder is attacked on both sides"):
        retrieval_stats.side_effects(translation, en[en.condition == "pretrained"])


def _assert_legend_below_axis(fig):
    """The legend hides no language row: it lies wholly under the axis and its x label."""
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.y1 < ax.xaxis.label.get_window_extent(renderer).y0 < ax.get_window_extent(renderer).y0


def test_attack_files_of_another_design_or_unfinished_are_refused(tmp_path):
    root = tmp_path / "g" / "retrieval_attack"
    resultfiles.write_json(root / "pretrained_paragraph.json", _attack_doc({"fr": {0}}))
    resultfiles.write_json(root / "intermediate" / "x_s0_paragraph.json", _attack_doc({"fr": {0}}, units=range(4)))
    with pytest.raises(ValueError, match=r"differs from pretrained_paragraph.json in \['units'\]"):
        retrieval_stats.load_attacks(tmp_path / "g")
    resultfiles.write_json(root / "intermediate" / "x_s0_paragraph.json", _attack_doc({"fr": {0}}, complete=False))
    with pytest.raises(ValueError, match="unfinished"):
        retrieval_stats.load_attacks(tmp_path / "g")


def test_rerun_check_compares_the_files_both_grids_have_outcome_by_outcome(tmp_path):
    old, new = _grid(tmp_path / "old", seeds=(0, 1, 2)), _grid(tmp_path / "new", seeds=(0, 1))
    for root in (old, new):
        resultfiles.write_json(root / "retrieval_attack" / "pretrained_paragraph.json",
                               _attack_doc({lang: {0, 1} for lang in LANGS}))
    # the re-made seed 1 differs in one unit of one language, one direction
    doc = resultfiles.read_json(new / "retrieval" / "intermediate" / "x_s1_paragraph.json")
    hits = doc["rows"][2]["correct_xx_to_en"]
    doc["rows"][2]["correct_xx_to_en"] = ("0" if hits[0] == "1" else "1") + hits[1:]
    resultfiles.write_json(new / "retrieval" / "intermediate" / "x_s1_paragraph.json", doc)
    (new / "retrieval" / "intermediate" / "x_s9_paragraph.json").write_text("{}")  # only here: not compared
    check = retrieval_stats.rerun_check(new, old).set_index("file")
    assert list(check.index) == ["retrieval/intermediate/x_s0_paragraph.json",
                                 "retrieval/intermediate/x_s1_paragraph.json", "retrieval/pretrained_paragraph.json",
                                 "retrieval_attack/pretrained_paragraph.json"]
    s0, s1 = (check.loc[f"retrieval/intermediate/x_s{seed}_paragraph.json"] for seed in (0, 1))
    assert s0.identical == 1.0 and s0.compared == len(LANGS) * 2 * N and s0.here == s0.there
    assert s1.identical == pytest.approx(1 - 1 / (len(LANGS) * 2 * N)) and s1.here != s1.there
    attack = check.loc["retrieval_attack/pretrained_paragraph.json"]
    assert attack.value == "attack success" and attack.identical == 1.0 and attack.here == 0.25
    assert attack.compared == len(LANGS) * 8 and attack.weights == "no checkpoint"


def test_target_encoders_are_compared_with_each_other_seed_by_seed(tmp_path):
    """inter-x minus direct: seed s against seed s, on the seeds both have; a seed's gap is
    (2 + seed) units in sco and yo, none in fr; the two share seeds 1 to 3."""
    root = _grid(tmp_path / "g")
    for name, seeds in (("direct", (0, 1, 2, 3)), ("inter-x", (1, 2, 3, 4))):
        for seed in seeds:
            right = 30 - (2 + seed if name == "inter-x" else 0)
            hits = {lang: [1] * (30 if lang == "fr" else right) + [0] * (N - (30 if lang == "fr" else right))
                    for lang in LANGS}
            model = {"kind": "classifier checkpoint", "checkpoint": {"base_model": "m", "task": "t", "seed": seed}}
            resultfiles.write_json(root / "retrieval" / "target" / f"{name}_s{seed}_paragraph.json", _doc(hits, model))
    _, enc, _ = retrieval_stats.load(root)
    p = retrieval_stats.between_encoders(enc, "target", "inter-x", "direct")
    assert p.attrs["seeds"] == [1, 2, 3] and len(p) == 3 * len(LANGS) * 2 * N
    table = retrieval_stats.condition_contrasts(enc, [("inter-x", "direct")], n_boot=200).set_index("group")
    overall = table.loc["all languages"]
    assert overall.seeds == "1, 2, 3" and overall.n_seeds == 3 and overall.n_items == N
    assert overall.delta == pytest.approx(-2 / 3 * 4 / N)  # 3, 4 and 5 units lost in two of three languages
    assert overall.ci_low < overall.delta < overall.ci_high < 0
    assert table.loc["xlmr_pretraining = True", "delta"] == 0.0
    assert table.loc["xlmr_pretraining = False", "delta"] == pytest.approx(-4 / N)
    fig = retrieval_plots.contrasts(table.reset_index(), "t")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["inter-x − direct\n(seeds 1, 2, 3)"]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "all languages (3)", "in XLM-R pretraining (1)", "not in XLM-R pretraining (2)"]
    with pytest.raises(ValueError, match=r"control='multilingual': no retrieval results at stage='target'; "
                                         r"allowed: \['direct', 'inter-x'\]"):
        retrieval_stats.between_encoders(enc, "target", "inter-x", "multilingual")
    only_0 = enc[~((enc.name == "inter-x") & (enc.seed < 3)) & ~((enc.name == "direct") & (enc.seed > 0))]
    with pytest.raises(ValueError, match="share no seed"):
        retrieval_stats.between_encoders(only_0, "target", "inter-x", "direct")


def test_lost_share_counts_only_the_units_the_pretrained_encoder_retrieves(tmp_path):
    """The encoder keeps k of fr's 20 units, all 20 of sco's, and gains units yo never had."""
    root = tmp_path / "g"
    base = {"fr": [1] * 20 + [0] * 20, "sco": [1] * 20 + [0] * 20, "yo": [0] * N}
    resultfiles.write_json(root / "retrieval" / "pretrained_paragraph.json",
                           _doc(base, {"kind": "encoder", "name": "m"}))
    for seed, k in ((0, 4), (1, 5), (2, 6)):
        hits = {"fr": [1] * k + [0] * (N - k), "sco": [1] * N, "yo": [1] * 10 + [0] * 30}
        model = {"kind": "classifier checkpoint", "checkpoint": {"base_model": "m", "task": "x", "seed": seed}}
        resultfiles.write_json(root / "retrieval" / "intermediate" / f"x_s{seed}_paragraph.json", _doc(hits, model))
    pre, enc, _ = retrieval_stats.load(root)
    table = retrieval_stats.lost_share(pre, enc, n_boot=200).set_index("group")
    overall = table.loc["all languages"]
    assert overall.n_languages == 2  # yo: no unit to lose
    assert overall.lost == pytest.approx((15 / 20 + 0) / 2)  # fr loses 16, 15, 14 of 20; sco none
    assert overall.ci_low < overall.lost < overall.ci_high
    assert table.loc["xlmr_pretraining = True", "lost"] == pytest.approx(15 / 20)
    assert table.loc["xlmr_pretraining = False", "lost"] == 0.0 and "p" not in table

    two = enc[enc.seed.isin([0, 2])].assign(correct=lambda d: d.correct.where(  # fr keeps 4 or 19 of 20
        ~((d.seed == 2) & (d.language == "fr")), (d.unit < 19).astype(int)))
    fr = retrieval_stats.lost_share(pre, two[two.language == "fr"], n_boot=200).iloc[0]
    assert fr.lost == pytest.approx((16 / 20 + 1 / 20) / 2) and (fr.ci_low, fr.ci_high) == (0.0, 1.0)


def test_target_comparisons_pair_each_intermediate_with_both_baselines_where_present():
    def frame(names):
        return pd.DataFrame({"stage": ["target"] * len(names) + ["intermediate"], "name": [*names, "inter-z"]})
    assert retrieval_stats.target_comparisons(frame(["direct", "inter-a", "inter-b", "multilingual"])) == [
        ("inter-a", "direct"), ("inter-b", "direct"), ("inter-a", "multilingual"), ("inter-b", "multilingual"),
        ("multilingual", "direct")]
    assert retrieval_stats.target_comparisons(frame(["inter-a", "multilingual"])) == [("inter-a", "multilingual")]
    assert retrieval_stats.target_comparisons(frame(["direct"])) == []  # nothing to compare: the cell says so
