import numpy as np
import pytest

SENTENCES = [("de", "Das Hotel war sauber, das Personal sehr freundlich und das Frühstück ausgezeichnet."),
             ("de", "Leider war das Zimmer laut und das Bett unbequem, wir kommen nicht wieder."),
             ("zh", "酒店很干净，服务员非常友好，早餐也很好吃。"),
             ("ru", "Номер был грязный, а персонал грубый.")]


@pytest.fixture(scope="module")
def model(target_ckpt):
    from xrobust.attacks.recipes import BatchedModelWrapper
    from xrobust.models import EncoderClassifier

    m, tok, _ = EncoderClassifier.load(target_ckpt)
    return m, tok, BatchedModelWrapper(m, tok)


def _attack(model, recipe, lang, sim_dir=None, **kw):
    from xrobust.attacks.recipes import EncoderSimilarity, build
    from xrobust.models import load_encoder

    m, tok, wrapper = model
    sim = EncoderSimilarity(*load_encoder(sim_dir), threshold=0.5) if sim_dir else None
    return build(recipe, wrapper, lang, tokenizer=tok, similarity=sim,
                 embeddings=m.encoder.get_input_embeddings().weight, **kw)


def _p(wrapper, texts):
    logits = np.asarray(wrapper(texts), dtype=float)
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.mark.parametrize("recipe,lang,text", [("char", *SENTENCES[0]), ("char", *SENTENCES[1]),
                                               ("char", *SENTENCES[2]), ("char", *SENTENCES[3]),
                                               ("codeswitch", *SENTENCES[0]), ("codeswitch", *SENTENCES[2]),
                                               ("embedding", *SENTENCES[1])])
def test_replay_matches_the_real_attack(model, tiny_model_dir, recipe, lang, text):
    from xrobust.attacks.walkthrough import walk

    label = int(_p(model[2], [text])[0].argmax())  # the model's own prediction: the item is attacked
    sim = tiny_model_dir if recipe != "char" else None
    w = walk(_attack(model, recipe, lang, sim, query_budget=300), text, label)
    real = _attack(model, recipe, lang, sim, query_budget=300).attack(text, label)
    assert w.final_text == real.perturbed_result.attacked_text.text
    assert w.num_queries == real.perturbed_result.num_queries
    assert w.outcome == {"SuccessfulAttackResult": "success", "FailedAttackResult": "failed"}[type(real).__name__]
    assert w.steps, "the search visited no word"
    queries = [w.queries_after_ranking] + [s.queries for s in w.steps]
    assert queries == sorted(queries) and w.num_queries == queries[-1] <= 300
    for s in w.steps:
        assert all(c.kept == all(c.verdicts.values()) for c in s.candidates)
        assert all((c.score is not None) == c.kept for c in s.candidates)
        if s.chosen is not None:
            chosen = [c for c in s.candidates if c.text == s.chosen]
            assert chosen and chosen[0].kept and s.score_after > s.score_before
            assert chosen[0].score == pytest.approx(s.score_after, abs=1e-6)
            if s is not w.steps[-1] or w.outcome != "success":  # a success keeps the most similar winner
                assert max(c.score for c in s.candidates if c.kept) == pytest.approx(s.score_after, abs=1e-6)


def test_importance_is_deletion_ranking(model):
    from textattack.shared import AttackedText

    from xrobust.attacks.walkthrough import walk

    lang, text = SENTENCES[0]
    label = int(_p(model[2], [text])[0].argmax())
    w = walk(_attack(model, "char", lang, query_budget=300), text, label)
    words = AttackedText(text).words
    assert sorted(i for i, _, _ in w.importance) == list(range(len(words)))
    assert w.queries_after_ranking == 1 + len(words)  # the clean query, then one per deleted word
    # independent of TextAttack: 1 - p(gold) with each word deleted, straight from the model
    deleted = [AttackedText(text).delete_word_at_index(i).text for i, _, _ in w.importance]
    expected = 1 - _p(model[2], deleted)[:, label]
    got = np.array([s for _, _, s in w.importance])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.all(np.diff(got) <= 1e-9), "not ranked by the score after deletion"
    assert [word for _, word, _ in w.importance] == [words[i] for i, _, _ in w.importance]


def test_constraints_reject_what_they_should(model, tiny_model_dir):
    from xrobust.attacks.walkthrough import walk

    lang, text = SENTENCES[1]
    label = int(_p(model[2], [text])[0].argmax())
    # a budget of one word (MaxModificationRate, a pre-transformation constraint): after the
    # first kept swap no other word gets candidates
    w = walk(_attack(model, "char", lang, max_perturbed=0.07, query_budget=300), text, label)
    assert {"RepeatModification", "MaxModificationRate"} <= set(w.modifiable)
    first = next(i for i, s in enumerate(w.steps) if s.chosen)
    assert w.steps[first].candidates and all(not s.candidates for s in w.steps[first + 1:])
    # a similarity threshold nothing but the original text meets: the encoder rejects every
    # candidate, the others accept them, the model is never asked about a candidate
    strict = walk(_attack(model, "codeswitch", lang, tiny_model_dir, sim_threshold=0.999999, query_budget=300),
                  text, label)
    cands = [c for s in strict.steps for c in s.candidates]
    assert cands and all(not c.verdicts["EncoderSimilarity"] for c in cands)
    assert all(c.verdicts["MaxShareOfWordsPerturbed"] for c in cands)
    assert strict.outcome == "failed" and strict.final_text == text
    assert strict.num_queries == strict.queries_after_ranking
    loose = walk(_attack(model, "codeswitch", lang, tiny_model_dir, sim_threshold=0.0, query_budget=300), text, label)
    assert all(c.verdicts["EncoderSimilarity"] for s in loose.steps for c in s.candidates)


def test_misclassified_item_is_not_attacked(model):
    from xrobust.attacks.walkthrough import walk

    lang, text = SENTENCES[0]
    wrong = int(_p(model[2], [text])[0].argmin())
    w = walk(_attack(model, "char", lang), text, wrong)
    assert w.outcome == "misclassified" and w.steps == [] and w.num_queries == 1 and w.final_text == text


def test_bad_inputs_name_the_parameter(model, target_ckpt, tmp_path):
    from xrobust.attacks import walkthrough

    with pytest.raises(ValueError, match="'checkpoint'"):
        walkthrough.prepare(str(tmp_path / "missing"), "char", "de")
    with pytest.raises(ValueError, match="'recipe'"):
        walkthrough.prepare(target_ckpt, "fgsm", "de")
    with pytest.raises(ValueError, match="'text'"):
        walkthrough.walk(_attack(model, "char", "de"), "  ", 0)
    with pytest.raises(ValueError, match="'sentence_index'"):
        walkthrough.pick_sentence(_attack(model, "char", "de"), ["a", "b"], index=2)


def test_prepare_pick_and_tables(target_ckpt, fixture_data):
    from xrobust.attacks import walkthrough

    attack, meta, labels = walkthrough.prepare(target_ckpt, "char", "de", query_budget=200)
    items = walkthrough.grid_items(meta["task"], "de", n_examples=6)
    assert [ex.uid for ex in items] == [ex.uid for ex in walkthrough.grid_items(meta["task"], "de", n_examples=6)]
    predictions = np.asarray(attack.goal_function.model([ex.text_a for ex in items])).argmax(1)
    correct = [ex for ex, p in zip(items, predictions, strict=True) if p == ex.label]
    if not correct:
        with pytest.raises(ValueError, match="'sentence_index'"):
            walkthrough.pick_sentence(attack, items)
        return
    ex = walkthrough.pick_sentence(attack, items)
    assert ex is correct[0]
    w = walkthrough.walk(attack, ex.text_a, ex.label)
    assert w.outcome in ("success", "failed")
    imp = walkthrough.importance_table(w, labels)
    assert len(imp) == len(w.words) and list(imp.index) == list(range(1, len(imp) + 1))
    assert len(walkthrough.steps_table(w)) == len(w.steps)
    assert len(walkthrough.candidates_table(w.steps[0], labels)) == len(w.steps[0].candidates)
    wrong = walkthrough.walk(attack, ex.text_a, (ex.label + 1) % len(labels))
    assert walkthrough.importance_table(wrong).empty and walkthrough.steps_table(wrong).empty
