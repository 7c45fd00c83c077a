"""The tagging family on tiny models: labels, baseline, metrics, the goal function's verdicts,
word alignment under attack, a known-vulnerable toy tagger, and the train + evaluate step."""
import json

import numpy as np
import pytest

from xrobust.tagging.data import IGNORE_INDEX, TAG_INDEX, UPOS_TAGS, MostFrequentTag, first_subword_labels, tag_ids

SENTENCE = {"sent_id": "s1", "tokens": ["The", "unbelievably", "cheap", "hotel", "costs", "3.5", "euros", "."],
            "upos": ["DET", "ADV", "ADJ", "NOUN", "VERB", "NUM", "NOUN", "PUNCT"]}


@pytest.fixture(scope="module")
def tiny_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="module")
def tiny_tagger(tiny_model_dir):
    import torch

    from xrobust.models import load_encoder
    from xrobust.tagging.model import TokenTagger

    torch.manual_seed(0)
    return TokenTagger(load_encoder(tiny_model_dir)[0], len(UPOS_TAGS)).eval()


def test_upos_tags_are_the_17_of_ud():
    assert len(UPOS_TAGS) == 17 and len(set(UPOS_TAGS)) == 17
    with pytest.raises(ValueError, match="unknown UPOS tag"):
        tag_ids(["NOUN", "N"])


def test_first_subword_carries_the_tag_and_the_rest_is_ignored(tiny_tokenizer):
    tags = tag_ids(SENTENCE["upos"])
    enc, labels, firsts = first_subword_labels(tiny_tokenizer, [SENTENCE["tokens"]], [tags], max_length=64)
    word_ids = enc.word_ids(0)
    pieces = [tiny_tokenizer.convert_ids_to_tokens(i) for i in enc["input_ids"][0]]
    assert word_ids.count(1) > 1  # "unbelievably" is several sub-words: only the first is labelled
    assert [lab for lab in labels[0] if lab != IGNORE_INDEX] == tags
    for pos, (w, lab) in enumerate(zip(word_ids, labels[0], strict=True)):
        is_first = w is not None and (pos == 0 or word_ids[pos - 1] != w)
        assert (lab != IGNORE_INDEX) == is_first
        if is_first:
            assert firsts[0][w] == pos and lab == tags[w]
    assert pieces[firsts[0][1]].startswith("\u2581")  # the word's first piece starts the word
    # truncation: words cut off have no position
    _, labels_short, firsts_short = first_subword_labels(tiny_tokenizer, [SENTENCE["tokens"]], [tags], max_length=4)
    assert firsts_short[0][-1] == -1 and sum(lab != IGNORE_INDEX for lab in labels_short[0]) < len(tags)


def test_most_frequent_tag_baseline():
    train = [{"tokens": ["run", "run", "the", "dog"], "upos": ["VERB", "NOUN", "DET", "NOUN"]},
             {"tokens": ["run", "the", "cat"], "upos": ["VERB", "DET", "NOUN"]}]
    b = MostFrequentTag(train)
    assert b.predict(["run", "the", "dog", "emu"]) == ["VERB", "DET", "NOUN", "NOUN"]  # unseen: NOUN (most frequent)
    assert b.unknown_rate([{"tokens": ["run", "emu"]}]) == 0.5
    tie = MostFrequentTag([{"tokens": ["a", "a"], "upos": ["NOUN", "ADJ"]}])
    assert tie.predict(["a"]) == ["ADJ"]  # ties go to the tag listed first


def test_tag_metrics_counts_truncated_words_as_wrong():
    from xrobust.tagging.train import tag_metrics

    m = tag_metrics([[0, 1, 2], [3]], [[0, 1, 1], [-1]])
    assert m["words"] == 4 and m["accuracy"] == 0.5 and m["truncated"] == 1
    with pytest.raises(ValueError, match="differ in length"):
        tag_metrics([[0, 1]], [[0]])


# --------------------------------------------------------------- the goal function
class ScriptedTagger:
    """A model wrapper with hand-made outputs: a dict text -> tag names (one-hot log-probs)."""

    class model:  # TextAttack's compatibility check looks at wrapper.model's class
        pass

    def __init__(self, outputs):
        self.outputs = outputs

    def __call__(self, texts):
        from xrobust.tagging.attack import WordScores

        out = []
        for t in texts:
            tags = self.outputs[t]
            scores = np.full((len(tags), len(UPOS_TAGS)), np.log(1e-4), dtype=np.float32)
            scores[np.arange(len(tags)), [TAG_INDEX[x] for x in tags]] = np.log(0.9)
            out.append(WordScores(scores))
        return out


def _status():
    from xrobust.textattack_offline import import_textattack

    return import_textattack().goal_function_results.GoalFunctionResultStatus


def _goal(outputs, gold, text):
    from xrobust.tagging.attack import TaggingGoalFunction
    from xrobust.textattack_offline import import_textattack

    AttackedText = import_textattack().shared.AttackedText
    goal = TaggingGoalFunction(ScriptedTagger(outputs))
    first, _ = goal.init_attack_example(AttackedText(text), " ".join(gold))
    return goal, first, AttackedText


def test_goal_function_verdicts_on_hand_made_outputs():
    S = _status()

    clean = "the cat sat on the mat"
    gold = ["DET", "NOUN", "VERB", "ADP", "DET", "NOUN"]
    outputs = {
        clean: gold,
        # only the edited word's tag changes: the context held, no success
        "the cta sat on the mat": ["DET", "X", "VERB", "ADP", "DET", "NOUN"],
        # one of five unedited words flips: a 20-point drop >= 10 points, success
        "the cta sat on the mta": ["DET", "X", "NOUN", "ADP", "DET", "X"],
        # one of four unedited words flips after two edits: 25 points, success
        "the cta sta on the mat": ["DET", "NOUN", "VERB", "ADP", "ADJ", "NOUN"],
        # an unedited error is fixed and another made: no net drop
        "thx cat sat on the mat": ["DET", "NOUN", "NOUN", "ADP", "DET", "NOUN"],
        # the word count changes: refused
        "the c at sat on the mat": gold + ["NOUN"],
    }
    outputs["thx cat sat on the mat"] = ["DET", "NOUN", "NOUN", "ADP", "DET", "NOUN"]
    goal, first, AttackedText = _goal(outputs, gold, clean)
    assert first.goal_status == S.SEARCHING and first.score == pytest.approx(0.0)
    verdict = {t: goal.get_result(AttackedText(t))[0] for t in list(outputs)[1:4]}
    assert verdict["the cta sat on the mat"].goal_status == S.SEARCHING
    assert verdict["the cta sat on the mta"].goal_status == S.SUCCEEDED
    assert verdict["the cta sta on the mat"].goal_status == S.SUCCEEDED
    # the score grows with the damage to the unedited words
    assert verdict["the cta sat on the mat"].score < verdict["the cta sat on the mta"].score
    assert goal.get_result(AttackedText("thx cat sat on the mat"))[0].goal_status == S.SUCCEEDED  # 1 of 5: 20 pts
    with pytest.raises(ValueError, match="word count changed"):
        goal.get_result(AttackedText("the c at sat on the mat"))


def test_goal_function_counts_only_net_drop_on_unedited_words():
    S = _status()

    gold = ["DET", "NOUN", "VERB", "ADP", "DET", "NOUN"]
    clean_pred = ["DET", "NOUN", "NOUN", "ADP", "DET", "NOUN"]  # one clean error (word 2)
    outputs = {"the cat sat on the mat": clean_pred,
               # word 2 is fixed, word 3 broken: net drop 0 on the five unedited words
               "thx cat sat on the mat": ["DET", "NOUN", "VERB", "NOUN", "DET", "NOUN"]}
    goal, _, AttackedText = _goal(outputs, gold, "the cat sat on the mat")
    assert goal.get_result(AttackedText("thx cat sat on the mat"))[0].goal_status == S.SEARCHING


def test_gold_and_words_must_align():
    with pytest.raises(ValueError, match="5 words but 6 gold tags"):
        _goal({"a b c d e": ["X"] * 5}, ["X"] * 6, "a b c d e")


# --------------------------------------------------------------- attacks
class TriggerTagger:
    """A known-vulnerable toy tagger: it tags every word correctly (gold given) unless some word
    of the sentence is not in its vocabulary (a typo anywhere, the trigger); then every word X."""

    class model:
        pass

    def __init__(self, sentence):
        self.vocab = set(sentence["tokens"])
        self.tags = sentence["upos"]

    def __call__(self, texts):
        from xrobust.tagging.attack import WordScores, text_words

        out = []
        for t in texts:
            words = text_words(t)
            tags = self.tags if all(w in self.vocab for w in words) else ["X"] * len(words)
            scores = np.full((len(words), len(UPOS_TAGS)), -9.0, dtype=np.float32)
            scores[np.arange(len(words)), [TAG_INDEX[x] for x in tags]] = 0.0
            out.append(WordScores(scores))
        return out


def test_char_attack_breaks_the_known_vulnerable_tagger():
    from xrobust.tagging.attack import attack_sentence, build_attack, summarize

    attack = build_attack("char", TriggerTagger(SENTENCE), "en", query_budget=200)
    record = attack_sentence(attack, SENTENCE)
    assert record["status"] == "succeeded"
    assert len(record["edited"]) == 1 and record["clean"] == SENTENCE["upos"]
    unedited = [i for i in range(len(SENTENCE["tokens"])) if i not in record["edited"]]
    assert all(record["attacked"][i] == "X" for i in unedited)
    s = summarize([record])
    assert s["success_rate"] == 1.0 and s["clean_accuracy_unedited"] == 1.0
    assert s["attacked_accuracy_unedited"] == 0.0 and s["edited_words"] == 1


def test_a_robust_tagger_is_not_broken():
    from xrobust.tagging.attack import attack_sentence, build_attack

    class Constant(TriggerTagger):
        def __call__(self, texts):
            self.vocab = None
            from xrobust.tagging.attack import WordScores, text_words

            return [WordScores(np.where(np.arange(len(UPOS_TAGS)) == TAG_INDEX["NOUN"], 0.0, -9.0)
                               [None].repeat(len(text_words(t)), 0).astype(np.float32)) for t in texts]

    attack = build_attack("char", Constant(SENTENCE), "en", query_budget=100)
    assert attack_sentence(attack, SENTENCE)["status"] == "failed"


@pytest.mark.parametrize("recipe,lang,sentence", [
    ("char", "en", SENTENCE),
    ("char", "zh", {"sent_id": "z", "tokens": ["酒店", "的", "价格", "是", "3.5", "欧元", "。"],
                    "upos": ["NOUN", "PART", "NOUN", "AUX", "NUM", "NOUN", "PUNCT"]}),
    ("codeswitch", "de", {"sent_id": "d", "tokens": ["Das", "Haus", "ist", "sehr", "groß", "und", "alt", "."],
                          "upos": ["DET", "NOUN", "AUX", "ADV", "ADJ", "CCONJ", "ADJ", "PUNCT"]}),
])
def test_perturbations_keep_words_aligned(tiny_tagger, tiny_tokenizer, recipe, lang, sentence):
    from xrobust.tagging.attack import TaggerWrapper, attack_sentence, build_attack, sentence_text, text_words
    from xrobust.textattack_offline import import_textattack

    wrapper = TaggerWrapper(tiny_tagger, tiny_tokenizer, batch_size=16, max_length=64)
    attack = build_attack(recipe, wrapper, lang, query_budget=60, max_perturbed=0.5)
    n = len(sentence["tokens"])
    # every candidate the recipe proposes keeps the words: same count, one word changed
    text = import_textattack().shared.AttackedText(sentence_text(sentence["tokens"]))
    candidates = attack.get_transformations(text, original_text=text)
    assert candidates
    for c in candidates:
        words = text_words(c.text)
        assert len(words) == n and sum(a != b for a, b in zip(words, sentence["tokens"], strict=True)) == 1
    r = attack_sentence(attack, sentence)
    assert len(r["perturbed_words"]) == len(r["attacked"]) == len(r["clean"]) == len(r["gold"]) == n
    changed = [i for i in range(n) if r["perturbed_words"][i] != r["words"][i]]
    assert changed == r["edited"]
    assert r["words"][-1] == r["perturbed_words"][-1]  # punctuation is never edited
    if r["status"] == "succeeded":
        assert r["edited"] and r["unedited_drop"] >= 0.1


def test_embedding_recipe_is_refused_for_tagging():
    from xrobust.tagging.attack import build_attack

    with pytest.raises(ValueError, match="allowed values: char, codeswitch"):
        build_attack("embedding", TriggerTagger(SENTENCE), "en")


# --------------------------------------------------------------- params and the step
def test_params_are_checked_before_compute():
    from xrobust.tagging.params import TaggingParams

    with pytest.raises(ValueError, match="'condition'.*allowed values: direct, intermediate"):
        TaggingParams.build(condition="multilingual")
    with pytest.raises(ValueError, match="'intermediate_checkpoint'"):
        TaggingParams.build(condition="intermediate")
    with pytest.raises(ValueError, match="'intermediate_checkpoint'.*only with condition 'intermediate'"):
        TaggingParams.build(intermediate_checkpoint="runs/x")
    with pytest.raises(ValueError, match="'languages'.*allowed values"):
        TaggingParams.build(languages=["en", "nl"])
    with pytest.raises(ValueError, match="'eval_every'"):
        TaggingParams.build(eval_every=0)


def _toy_treebank(n, seed):
    rng = np.random.default_rng(seed)
    lexicon = {"the": "DET", "a": "DET", "dog": "NOUN", "cat": "NOUN", "runs": "VERB", "sleeps": "VERB",
               "big": "ADJ", "small": "ADJ", ".": "PUNCT"}
    out = []
    for i in range(n):
        words = [str(rng.choice(["the", "a"])), str(rng.choice(["big", "small"])), str(rng.choice(["dog", "cat"])),
                 str(rng.choice(["runs", "sleeps"])), "."]
        out.append({"sent_id": f"t{i}", "tokens": words, "upos": [lexicon[w] for w in words]})
    return out


def test_run_tagging_trains_selects_and_evaluates(tiny_model_dir, tmp_path, monkeypatch):
    from xrobust.tagging import run

    train, dev, test = _toy_treebank(64, 0), _toy_treebank(16, 1), _toy_treebank(10, 2)
    monkeypatch.setattr(run, "read_ud", lambda lang, split: train if split == "train" else dev)
    monkeypatch.setattr(run, "read_pud", lambda languages: {lang: test for lang in languages})
    res = run.run_tagging(model=tiny_model_dir, out_dir=str(tmp_path / "r"), languages=["en", "de"], epochs=6.0,
                          batch_size=16, lr=3e-3, eval_every=8, max_dev_sentences=16, device="cpu",
                          freeze_embeddings=False)
    history = res["train"]["dev_history"]
    assert [h["step"] for h in history] == [8, 16, 24]
    best = max(history, key=lambda h: h["dev_accuracy"])
    assert res["train"]["selected_step"] == best["step"]
    rows = {r["language"]: r for r in res["per_language"]}
    assert set(rows) == {"en", "de"} and rows["de"]["zero_shot"] and not rows["en"]["zero_shot"]
    assert rows["en"]["words"] == 50 and rows["en"]["baseline_accuracy"] == 1.0
    assert rows["en"]["accuracy"] > 0.6  # the toy language is learnable
    assert res["provenance"] and json.loads((tmp_path / "r" / "checkpoint" / "checkpoint.json").read_text())["head"] \
        == "token"
    # the kept parameters are the selected ones: reloading reproduces the reported accuracy
    from xrobust.tagging.model import TokenTagger
    from xrobust.tagging.train import evaluate_sentences

    model, tok, _ = TokenTagger.load(tmp_path / "r" / "checkpoint")
    m, _ = evaluate_sentences(model, tok, test, "cpu")
    assert m["accuracy"] == pytest.approx(rows["en"]["accuracy"])
    again = run.run_tagging(model=tiny_model_dir, out_dir=str(tmp_path / "r"), languages=["en", "de"], epochs=6.0,
                            batch_size=16, lr=3e-3, eval_every=8, max_dev_sentences=16, device="cpu",
                            freeze_embeddings=False)
    assert again == res  # a finished run is reused


def test_notebook_parameters_are_the_dataclass_fields():
    import ast
    import typing
    from pathlib import Path

    import papermill

    from xrobust.tagging.params import TaggingParams

    found = papermill.inspect_notebook(str(Path(__file__).parents[1] / "notebooks" / "08_tagging.ipynb"))
    assert list(found) == list(TaggingParams.defaults())
    hints = typing.get_type_hints(TaggingParams)
    for name, default in TaggingParams.defaults().items():
        assert ast.literal_eval(found[name]["default"]) == default, name
        kind = hints[name]
        assert found[name]["inferred_type_name"] == (f"list[{typing.get_args(kind)[0].__name__}]"
                                                     if typing.get_origin(kind) is list else kind.__name__), name
        assert found[name]["help"] == TaggingParams.help()[name], name
    TaggingParams().validate()  # the defaults are valid


def test_papermill_rejects_a_bad_parameter_before_compute(tmp_path):
    from pathlib import Path

    import papermill

    root = Path(__file__).parents[1]
    with pytest.raises(papermill.PapermillExecutionError, match="invalid 'condition': 'multilingual'"):
        papermill.execute_notebook(str(root / "notebooks" / "08_tagging.ipynb"), str(tmp_path / "out.ipynb"),
                                   parameters={"condition": "multilingual", "out_dir": str(tmp_path / "t")},
                                   cwd=str(root), progress_bar=False)
    assert not (tmp_path / "t").exists()


def test_pool_is_shared_and_short_in_every_language():
    from xrobust.tagging.run import tagging_pool

    en = [{"sent_id": f"s{i}", "tokens": ["w"] * (3 + i), "upos": ["X"] * (3 + i)} for i in range(6)]
    de = [{"sent_id": f"s{i}", "tokens": ["w"] * (3 + (5 - i)), "upos": ["X"] * (3 + (5 - i))} for i in range(6)]
    pool = tagging_pool({"en": en, "de": de}, n_sentences=10, max_words=6, pool_seed=0)
    assert pool == ["s2", "s3"]  # 3+i <= 6 and 8-i <= 6
    assert tagging_pool({"en": en, "de": de}, 1, 6, 0) == tagging_pool({"en": en, "de": de}, 1, 6, 0)
    with pytest.raises(ValueError, match="raise 'max_words'"):
        tagging_pool({"en": en, "de": de}, 1, 2, 0)


def test_run_tagging_attack_on_a_tiny_tagger(tiny_tagger, tiny_model_dir, tmp_path, monkeypatch):
    from xrobust.tagging import run

    ckpt = tiny_tagger.save(tmp_path / "ckpt", base_model=tiny_model_dir, extra={"task": "udpos", "seed": 0})
    en = [SENTENCE, {"sent_id": "s2", "tokens": ["The", "house", "is", "very", "old", "."],
                     "upos": ["DET", "NOUN", "AUX", "ADV", "ADJ", "PUNCT"]}]
    de = [{**SENTENCE, "tokens": ["Das", "unglaublich", "billige", "Hotel", "kostet", "3,5", "Euro", "."]},
          {"sent_id": "s2", "tokens": ["Das", "Haus", "ist", "sehr", "alt", "."],
           "upos": ["DET", "NOUN", "AUX", "ADV", "ADJ", "PUNCT"]}]
    monkeypatch.setattr(run, "read_pud", lambda languages: {"en": en, "de": de})
    res = run.run_tagging_attack(checkpoint=str(ckpt), out_path=str(tmp_path / "a.json"), languages=["en", "de"],
                                 n_sentences=2, max_words=10, query_budget=40, similarity_model="", device="cpu",
                                 progress=False)
    assert [(r["language"], r["recipe"]) for r in res["rows"]] == [("en", "char"), ("de", "char"),
                                                                   ("de", "codeswitch")]
    assert res["not_applicable"][0]["language"] == "en" and res["not_applicable"][0]["recipe"] == "codeswitch"
    for row in res["rows"]:
        assert [r["sent_id"] for r in row["records"]] == res["pool"]["sent_ids"]
        for r in row["records"]:
            assert len(r["perturbed_words"]) == len(r["words"]) == len(r["attacked"])
        assert row["n"] == 2 and 0 <= row["success_rate"] <= 1
    with pytest.raises(ValueError, match="'recipes'.*allowed values: char, codeswitch"):
        run.run_tagging_attack(checkpoint=str(ckpt), recipes=["embedding"])


def test_attack_units_feed_the_classification_inference():
    from xrobust import inference
    from xrobust.tagging.analysis import attack_units

    def result(condition, seed, successes):
        meta = {"seed": seed, "condition": "intermediate" if condition != "direct" else "direct",
                "intermediate_task": None if condition == "direct" else condition}
        rows = []
        for (lang, recipe), flags in successes.items():
            rows.append({"language": lang, "recipe": recipe, "records": [
                {"sent_id": f"s{i}", "status": "succeeded" if f else "failed", "n_words": 10, "edited_words": 2,
                 "clean_correct_edited": 2, "clean_correct_unedited": 8, "attacked_correct_edited": 1,
                 "attacked_correct_unedited": 6 if f else 8, "unedited_drop": 0.25 if f else 0.0}
                for i, f in enumerate(flags)]})
        return {"config": {"checkpoint_meta": meta}, "rows": rows}

    results = []
    for seed in range(3):
        results.append(result("direct", seed, {("en", "char"): [1, 0, 0, 0], ("de", "char"): [1, 0, 0, 0]}))
        results.append(result("sst2", seed, {("en", "char"): [1, 0, 0, 0], ("de", "char"): [1, 1, 0, 0]}))
    units = attack_units(results)
    assert set(units.condition) == {"direct", "inter-sst2"} and len(units) == 48
    paired = inference.pair(units, "inter-sst2", "direct", metric="success")
    by_language = inference.effect(paired, by="language").set_index("language")
    assert by_language.loc["de", "delta"] == pytest.approx(0.25) and by_language.loc["en", "delta"] == 0
    contrast = inference.contrast_non_english_minus_english(paired)
    assert len(contrast) == 3
    with pytest.raises(ValueError, match="one result per model"):
        attack_units(results + results[:1])


def test_aligned_tags_marks_edited_words():
    from xrobust.tagging.analysis import aligned_tags

    record = {"sent_id": "s", "edited": [1], "words": ["a", "cat"], "perturbed_words": ["a", "cta"],
              "gold": ["DET", "NOUN"], "clean": ["DET", "NOUN"], "attacked": ["X", "X"]}
    table = aligned_tags(record)
    assert list(table.columns) == ["0", "1*"] and table.loc["attacked", "0"] == "X"
    with pytest.raises(ValueError, match="not aligned"):
        aligned_tags({**record, "attacked": ["X"]})
