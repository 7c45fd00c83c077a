"""The three conditions (direct, intermediate, multilingual) and the fixed attack pool."""
from pathlib import Path

import pytest

from xrobust import experiment
from xrobust.data import check_parallel, load_examples, load_multilingual
from xrobust.examples import Example, read_jsonl
from xrobust.pool import attack_pool, clean_parallel
from xrobust.tasks import get_task

CLEANING = Path(__file__).parent / "fixtures" / "cleaning"


def _split(split: str) -> dict[str, list[Example]]:
    return {lang: read_jsonl(CLEANING / split / f"{lang}.jsonl", ("positive", "negative"))
            for lang in ("en", "de", "ja")}


def test_cleaning_rules_on_fixture_data():
    keep, report = clean_parallel(_split("test"), _split("train"), source_language="en")
    assert keep == [0, 5]  # c-1 empty (de), c-2 untranslated (ja), c-3 in train (de), c-4 in train (en)
    assert report["fired"] == {"empty": {"en": 0, "de": 1, "ja": 0},
                               "untranslated": {"en": 0, "de": 0, "ja": 1},
                               "in_train": {"en": 1, "de": 1, "ja": 0}}
    assert (report["items"], report["kept"], report["dropped_items"]) == (6, 2, 4)


def test_parallel_split_is_checked():
    a = [Example("x", 0, uid="1"), Example("y", 1, uid="2")]
    with pytest.raises(ValueError, match="not parallel across languages"):
        check_parallel("test", {"en": a, "de": a[:1]})
    with pytest.raises(ValueError, match="item 1 has another label in 'de'"):
        check_parallel("test", {"en": a, "de": [a[0], Example("z", 0)]})


def test_pool_is_the_same_items_in_every_language(fixture_data):
    task = get_task("multiemo")
    pool = attack_pool(task, n_examples=5, max_words=40, pool_seed=0)
    uids = pool.uids("en")
    assert len(uids) == 5 and all(pool.uids(lang) == uids for lang in task.languages)
    assert [e.text_a for e in pool.examples("de")] == \
        [e.text_a for e in load_examples("multiemo", "de", "test") if e.uid in uids]
    assert attack_pool(task, 5, 40, pool_seed=0).positions == pool.positions  # drawn once: reproducible
    assert any(attack_pool(task, 5, 40, pool_seed=s).positions != pool.positions for s in (1, 2, 3))
    # nested: a larger draw keeps a smaller one's items, so a grid can grow its items K
    assert set(attack_pool(task, 3, 40, pool_seed=0).positions) < set(pool.positions)
    assert pool.report["kept"] == 8 and pool.report["original_language"] == "pl"
    assert set(pool.report["fired"]["in_train"]) == set(task.languages)  # counted per language


def test_multilingual_training_set_has_equal_shares_of_the_same_items(fixture_data):
    direct = load_examples("multiemo", "en", "train", max_examples=10)
    shares = load_multilingual("multiemo", ["en", "de", "zh"], "train", max_examples=10)
    assert sorted(len(s) for s in shares.values()) == [3, 3, 4]  # equal up to one
    uids = [e.uid for s in shares.values() for e in s]
    assert sorted(uids) == sorted(e.uid for e in direct)  # each item once, in one language
    de = {e.uid: e.text_a for e in load_examples("multiemo", "de", "train")}
    assert all(de[e.uid] == e.text_a for e in shares["de"])
    assert load_multilingual("multiemo", ["en", "de", "zh"], "train", max_examples=10) == shares


def _target(tiny_model_dir, tmp_path, name, **kw):
    return experiment.run_target(model=tiny_model_dir, task="multiemo", out_dir=str(tmp_path / name),
                                 languages=["en", "de", "zh"], max_train_examples=12, epochs=1.0,
                                 batch_size=4, lr=1e-3, device="cpu", **kw)


def test_multilingual_condition_trains_as_long_as_direct(tiny_model_dir, fixture_data, tmp_path):
    from xrobust.models import checkpoint_meta
    from xrobust.stats import condition_label

    direct = _target(tiny_model_dir, tmp_path, "d")
    multi = _target(tiny_model_dir, tmp_path, "m", condition="multilingual", train_languages=["en", "de", "zh"])
    assert multi["train"]["steps"] == direct["train"]["steps"] == 3
    assert multi["train"]["examples_per_language"] == {"en": 4, "de": 4, "zh": 4}
    assert direct["train"]["examples_per_language"] == {"en": 12}
    assert [r["zero_shot"] for r in multi["per_language"]] == [False, False, False]
    assert [r["zero_shot"] for r in direct["per_language"]] == [False, True, True]
    meta = checkpoint_meta(tmp_path / "m" / "checkpoint")
    assert meta["condition"] == "multilingual" and condition_label(meta) == "multilingual"


@pytest.mark.parametrize("kw,message", [
    (dict(train_languages=["en", "de"]), r"invalid 'train_languages'.*'direct' trains on one language"),
    (dict(condition="multilingual"),
     r"invalid 'train_languages': \['en'\]; condition 'multilingual' trains on at least two"),
    (dict(condition="multilingual", train_languages=["en", "de"], intermediate_checkpoint="x"),
     r"invalid 'intermediate_checkpoint'.*must be empty when 'condition' is 'multilingual'"),
    (dict(condition="multilingual", train_languages=["en", "de", "zh"], max_train_examples=2),
     r"invalid 'max_train_examples': 2; at least one example per training language"),
    (dict(train_languages=["xx"]), r"invalid 'train_languages': \['xx'\]; allowed values: ace, .*, en, "),
])
def test_condition_rules_are_checked_first(tmp_path, kw, message):
    with pytest.raises(ValueError, match=message):
        experiment.run_target(out_dir=str(tmp_path), device="cpu", **{"max_train_examples": 12, **kw})
