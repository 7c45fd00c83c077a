"""Retrieval of a grid's encoders against the pretrained encoder: pairing by unit, seeds as the unit."""
import numpy as np
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
    fig = retrieval_plots.change_per_language(langs.reset_index().assign(encoder="inter x"), "t")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 3 and any(label.startswith("★ French") for label in labels)


def test_mixed_designs_and_missing_baseline_are_refused(tmp_path):
    with pytest.raises(ValueError, match="no pretrained_paragraph.json"):
        retrieval_stats.load(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"differs from pretrained_paragraph.json in \['max_length'\]"):
        retrieval_stats.load(_grid(tmp_path / "g", max_length=128))
    with pytest.raises(ValueError, match="no retrieval results for stage='target'"):
        pre, enc, _ = retrieval_stats.load(_grid(tmp_path / "h"))
        retrieval_stats.paired(pre, enc, "target", "direct")
