"""Retrieval goal function: success means the gold English unit lost the top-1 place."""
from pathlib import Path

import pytest
import torch

from xrobust.udhr import load_udhr

FIXTURE = Path(__file__).parent / "fixtures" / "udhr"


@pytest.fixture(scope="module")
def wrapper(tiny_model_dir):
    from xrobust.attacks.retrieval_goal import RetrievalWrapper
    from xrobust.models import load_encoder

    encoder, tok = load_encoder(tiny_model_dir)
    return RetrievalWrapper(encoder, tok, load_udhr("article", FIXTURE)["en"])


def _goal(wrapper, budget=200):
    from xrobust.attacks.retrieval_goal import RetrievalGoalFunction

    return RetrievalGoalFunction(wrapper, query_budget=budget)


def test_gold_on_top_is_searching_and_gold_elsewhere_is_skipped(wrapper):
    from textattack.goal_function_results import GoalFunctionResultStatus
    from textattack.shared import AttackedText

    english = load_udhr("article", FIXTURE)["en"]
    goal = _goal(wrapper)
    result, _ = goal.init_attack_example(AttackedText(english[4]), 4)  # identical text: cosine 1 on gold
    assert result.goal_status == GoalFunctionResultStatus.SEARCHING and result.score < 0
    result, _ = goal.init_attack_example(AttackedText(english[4]), 7)  # its nearest unit is not 7
    assert result.goal_status == GoalFunctionResultStatus.SKIPPED and result.score > 0
    scores = wrapper([english[0], english[1]])
    assert scores.shape == (2, 30) and torch.allclose(scores.diagonal(), torch.ones(2), atol=1e-5)


def test_char_attack_success_really_moves_the_top1(wrapper):
    from xrobust.attacks import recipes
    from xrobust.attacks.run import attack_examples, summarize
    from xrobust.examples import Example

    german = load_udhr("article", FIXTURE)["de-1996"]
    examples = [Example(text_a=german[i], label=i, uid=str(i)) for i in range(6)]
    attack = recipes.build("char", wrapper, "de", goal_function=_goal(wrapper), max_perturbed=0.5)
    records = attack_examples(attack, examples, progress=False)
    summary = summarize(records)
    assert summary["n_error"] == 0 and summary["n_attacked"] == 6
    for r in records:
        top1 = int(wrapper([r["original"]]).argmax())
        assert (r["outcome"] == "misclassified") == (top1 != r["label"])  # skipped iff wrong before
        if r["outcome"] == "success":
            assert int(wrapper([r["perturbed"]]).argmax()) != r["label"] and r["perturbed_ratio"] <= 0.5
        if r["outcome"] == "failed":
            assert int(wrapper([r["perturbed"]]).argmax()) == r["label"]


def test_run_retrieval_attack_rows_per_language_and_recipe(tmp_path, tiny_model_dir):
    import shutil

    from xrobust.resultfiles import read_json
    from xrobust.retrieval_attack import run_retrieval_attack

    src = tmp_path / "src"
    shutil.copytree(FIXTURE, src)
    html = (src / "deu_1996.html").read_text(encoding="utf-8")
    (src / "sco.html").write_text(html.replace('lang="de-1996"', 'lang="sco"').replace('"deu"', '"sco"'),
                                  encoding="utf-8")
    with pytest.raises(ValueError, match="'recipes'"):
        run_retrieval_attack(tiny_model_dir, "article", tmp_path / "x.json", ["fr"], recipes=["embedding"],
                             source=src)
    with pytest.raises(ValueError, match=r"invalid 'languages': \['xx'\]; allowed values: all, "):
        run_retrieval_attack(tiny_model_dir, "article", tmp_path / "x.json", ["xx"], source=src)
    with pytest.raises(ValueError, match=r"unknown 'languages' \['yo'\].*allowed values: de-1996, fr, sco"):
        run_retrieval_attack(tiny_model_dir, "article", tmp_path / "x.json", ["yo"], source=src)
    out = tmp_path / "a.json"
    res = run_retrieval_attack(tiny_model_dir, "article", out, ["fr", "sco"], n_units=3, max_words=12,
                               similarity_model=tiny_model_dir, device="cpu", source=src, progress=False)
    assert read_json(out)["complete"] is True
    rows = {(r["language"], r["recipe"]): r for r in res["rows"]}
    assert rows[("sco", "codeswitch")]["applicable"] is False  # no Scots lexicon
    for key in [("fr", "char"), ("sco", "char"), ("fr", "codeswitch")]:
        assert rows[key]["applicable"] and rows[key]["n"] == 3 and rows[key]["n_error"] == 0
        assert [r["label"] for r in rows[key]["records"]] == res["config"]["units"]
    # a stopped run resumes: finished rows come from the partial file, the rest is recomputed
    from xrobust.resultfiles import partial_path, write_json

    first = res["rows"][0]
    marked = {**first, "seconds": -1.0}  # a value no run writes: it must come back untouched
    write_json(partial_path(out), {"config": res["config"], "rows": [marked], "complete": False})
    out.unlink()
    again = run_retrieval_attack(tiny_model_dir, "article", out, ["fr", "sco"], n_units=3, max_words=12,
                                 similarity_model=tiny_model_dir, device="cpu", source=src, progress=False)
    assert again["rows"][0]["seconds"] == -1.0 and not partial_path(out).exists()
    outcomes = lambda rows: [(r["language"], r["recipe"], [(x["uid"], x["outcome"], x.get("perturbed"))  # noqa: E731
                                                           for x in r.get("records", [])]) for r in rows]
    assert outcomes(again["rows"]) == outcomes(res["rows"])


def test_english_side_perturbs_the_english_units_against_each_translation(tmp_path, tiny_model_dir):
    from xrobust.attacks.retrieval_goal import RetrievalWrapper
    from xrobust.models import load_encoder
    from xrobust.resultfiles import read_json
    from xrobust.retrieval_attack import run_retrieval_attack

    with pytest.raises(ValueError, match=r"invalid 'recipes' with attacked_side='english'.*allowed values: \['char'\]"):
        run_retrieval_attack(tiny_model_dir, "article", tmp_path / "x.json", ["fr"], attacked_side="english",
                             source=FIXTURE)
    out = tmp_path / "en.json"
    res = run_retrieval_attack(tiny_model_dir, "article", out, ["fr", "de-1996"], recipes=["char"],
                               attacked_side="english", n_units=4, max_words=12, max_perturbed=0.5, device="cpu",
                               source=FIXTURE, progress=False)
    assert read_json(out)["config"]["attacked_side"] == "english" and res["complete"]
    data = load_udhr("article", FIXTURE)
    encoder, tok = load_encoder(tiny_model_dir)
    for row in res["rows"]:
        pool = RetrievalWrapper(encoder, tok, data[row["language"]])  # the translation is the candidate pool
        for r in row["records"]:
            assert r["original"] == data["en"][r["label"]]  # the English unit is the attacked text
            top1 = int(pool([r["original"]]).argmax())
            assert (r["outcome"] == "misclassified") == (top1 != r["label"])
            if r["outcome"] == "success":
                assert int(pool([r["perturbed"]]).argmax()) != r["label"]
    outcomes = [r["outcome"] for row in res["rows"] for r in row["records"]]
    assert "success" in outcomes and len(outcomes) == 8  # attacks ran, and some moved the top-1
    # the translation side keeps its config as before (no attacked_side recorded)
    side = run_retrieval_attack(tiny_model_dir, "article", tmp_path / "tr.json", ["fr"], recipes=["char"], n_units=2,
                                max_words=12, device="cpu", source=FIXTURE, progress=False)
    assert "attacked_side" not in side["config"] and side["rows"][0]["records"][0]["original"] != data["en"][
        side["config"]["units"][0]]
