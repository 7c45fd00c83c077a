import json
import random
import re
from pathlib import Path

import pytest

from xrobust import gallery, resultfiles

MARK = re.compile(r"<mark>(.*?)</mark>")
COMMITTED = Path(__file__).parent.parent / "results" / "pilot" / "attack"


def _attack_file(path, condition, records, language="de", recipe="char", seed=0):
    meta = {"condition": condition, "seed": seed, "task": "multiemo"}
    if condition != "direct":
        meta["intermediate_task"] = condition.split("inter-", 1)[1]
    checkpoint = f"runs/x/target/{condition}_s{seed}/checkpoint"
    resultfiles.write_json(path, {"config": {"step": "attack", "checkpoint": checkpoint, "checkpoint_meta": meta},
                                  "rows": [{"language": language, "recipe": recipe, "records": records}]})
    return path


def _rec(uid, outcome, original, perturbed=None, label=0, **extra):
    r = {"uid": uid, "label": label, "original": original, "outcome": outcome, **extra}
    if perturbed is not None:
        r["perturbed"] = perturbed
    return r


@pytest.mark.parametrize("language,original,perturbed,expected", [
    ("de", "Das Zimmer war sehr sauber und ruhig.", "Das Zimmer wr sehr sauber und ruihg.", ["wr", "ruihg."]),
    ("de", "Das Zimmer war sauber.", "Das Zimmer war sauber.", []),
    ("de", "ein schönes Hotel", "ein beautiful Hotel", ["beautiful"]),
    ("zh", "这个酒店很好，服务也不错。", "这个旅馆很好，服务也不措。", ["旅馆", "措"]),
    ("zh", "这个酒店很好", "这个hotel很好", ["hotel"]),
    ("ja", "部屋はとても綺麗でした", "部屋はとても奇麗でした", ["奇"]),
    ("ar", "هذا الفندق جميل جدا", "هذا الفنذق جميل جدا", ["الفنذق"]),
    ("ar", "الخدمة ممتازة والغرفة نظيفة", "الخدمة ممتازه والغرفة نضيفة", ["ممتازه", "نضيفة"]),
])
def test_highlight_marks_exactly_the_changed_words(language, original, perturbed, expected):
    assert gallery.changed_words(original, perturbed, language) == expected
    html = gallery.highlight(gallery.diff(original, perturbed, language)[1])
    assert MARK.findall(html) == expected
    assert MARK.sub(r"\1", html) == perturbed  # nothing lost or added around the marks
    orig_html = gallery.highlight(gallery.diff(original, perturbed, language)[0])
    assert MARK.sub(r"\1", orig_html) == original and (len(MARK.findall(orig_html)) > 0) == bool(expected)


@pytest.mark.parametrize("language,original,perturbed,expected_html,n", [
    ("ja", "非常に気候の良い", "非に気候の良い", "非<del>常</del>に気候の良い", 1),
    ("de", "das Zimmer war sehr laut", "das Zimmer sehr laut", "das Zimmer <del>war </del>sehr laut", 1),
    ("zh", "酒店很好", "酒店很好吗", "酒店很好<mark>吗</mark>", 1),
    ("de", "sehr gut", "sehr gut", "sehr gut", 0),
])
def test_deletions_are_shown(language, original, perturbed, expected_html, n):
    got = gallery.highlight(gallery.inline_diff(original, perturbed, language))
    assert got == expected_html
    assert gallery.n_changes(original, perturbed, language) == n


def test_record_text_is_escaped(tmp_path):
    evil = '<script>alert("x")</script> <img src=x onerror=alert(1)>'
    f = _attack_file(tmp_path / "a.json", "direct",
                     [_rec('u"1<b>', "success", evil + " gut", evil + " gutt", label=7)])
    page = gallery.gallery_html(f)
    assert "<script" not in page and "<img" not in page and 'u"1<b>' not in page
    assert "&lt;script&gt;" in page and "u&quot;1&lt;b&gt;" in page
    assert "<mark>gutt</mark>" in page
    assert "gold: <b>7</b>" in page  # an unknown label id is shown as the id


def test_language_attribute_is_validated():
    pair = {"language": '"><script>', "recipe": "char"}
    with pytest.raises(ValueError, match="'language'"):
        gallery.render({('"><script>', "char"): {"u": {"direct": pair}}})


def test_cells_carry_lang_and_dir_for_rtl_and_cjk(tmp_path):
    _attack_file(tmp_path / "ar.json", "direct", [_rec("a1", "success", "هذا الفندق جميل", "هذا الفنذق جميل")],
                 language="ar")
    _attack_file(tmp_path / "zh.json", "direct", [_rec("z1", "success", "酒店很好", "酒店很坏")], language="zh")
    page = gallery.gallery_html(tmp_path)
    assert '<div lang="ar" dir="auto">هذا <mark>الفنذق</mark> جميل</div>' in page
    assert '<div lang="zh" dir="auto">酒店很<mark>坏</mark></div>' in page


def test_selection_is_deterministic_and_puts_successes_first(tmp_path):
    texts = {u: (f"Satz Nummer {u} ist gut", f"Satz Nummer {u} ist gutt") for u in "abcdef"}
    plan = {"direct": {"a": "failed", "b": "success", "c": "failed", "d": "misclassified", "e": "success",
                       "f": "failed"},
            "inter-vitaminc": {"a": "failed", "b": "success", "c": "success", "d": "success", "e": "failed",
                               "f": "failed"}}
    for cond, outcomes in plan.items():
        _attack_file(tmp_path / f"{cond}.json", cond,
                     [_rec(u, o, texts[u][0], None if o == "misclassified" else texts[u][1])
                      for u, o in outcomes.items()])
    pairs = gallery.load_pairs(tmp_path)
    chosen = gallery.select(pairs, per_cell=3)
    # b: 2 successes; c, d, e: 1 each, e attacked under both conditions, d under one; then by uid
    assert list(chosen[("de", "char")]) == ["b", "c", "e"]
    shuffled = pairs[:]
    random.Random(1).shuffle(shuffled)
    assert gallery.select(shuffled, per_cell=3) == chosen
    assert gallery.render(gallery.select(shuffled, per_cell=3)) == gallery.render(chosen)
    page = gallery.render(chosen)
    assert page.index("<th>direct</th>") < page.index("<th>inter-vitaminc</th>")
    assert "misclassified before the attack" not in page
    assert "misclassified before the attack" in gallery.render(gallery.select(pairs, per_cell=4))  # d


def test_predictions_shown_when_recorded_and_explained_when_not(tmp_path):
    _attack_file(tmp_path / "a.json", "direct", [
        _rec("p", "success", "sehr gut", "sehr gutt", label=2, original_output=2, perturbed_output=0),
        _rec("q", "success", "gut", "gutt", label=2)])
    page = gallery.render(gallery.select(gallery.load_pairs(tmp_path)))
    assert "prediction: positive → negative" in page
    assert "do not store the predicted label" in page
    p_only = [p for p in gallery.load_pairs(tmp_path) if p["uid"] == "p"]
    assert "do not store" not in gallery.render(gallery.select(p_only))
    assert "prediction: positive (correct) → not recorded, not positive" in page


def test_checksum_is_checked(tmp_path):
    f = _attack_file(tmp_path / "a.json", "direct", [_rec("u", "success", "gut", "gutt")])
    doc = json.loads(f.read_text())
    doc["payload"]["rows"][0]["records"][0]["perturbed"] = "edited"
    f.write_text(json.dumps(doc))
    with pytest.raises(resultfiles.CorruptResult, match="checksum"):
        gallery.load_pairs(f)


def test_bad_parameters_are_refused(tmp_path):
    _attack_file(tmp_path / "a.json", "direct", [_rec("u", "success", "gut", "gutt")])
    pairs = gallery.load_pairs(tmp_path)
    with pytest.raises(ValueError, match="'per_cell'"):
        gallery.select(pairs, per_cell=0)
    with pytest.raises(ValueError, match="'seed'.*allowed values: 0"):
        gallery.select(pairs, seed=5)


@pytest.mark.skipif(not COMMITTED.exists(), reason="no committed attack results")
def test_committed_results_render():
    pairs = gallery.load_pairs(COMMITTED)
    assert {p["gold"] for p in pairs} <= {"negative", "neutral", "positive", "ambivalent"}
    chosen = gallery.select(pairs, per_cell=2)
    assert all(len(items) == 2 for items in chosen.values())
    page = gallery.render(chosen)
    assert page.count("<table") == len(chosen) and "<mark>" in page
