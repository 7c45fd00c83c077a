import pytest

from xrobust.data import load_examples
from xrobust.tasks import check_languages, check_runnable, get_task
from xrobust.training import TrainConfig


def test_unknown_task_names_allowed_values():
    with pytest.raises(ValueError, match=r"unknown task 'xnlii'.*allowed values.*xnli"):
        get_task("xnlii")


def test_unknown_language_names_allowed_values():
    with pytest.raises(ValueError, match=r"unknown language\(s\) \['xx'\].*'languages'.*de"):
        check_languages(get_task("xnli"), ["de", "xx"])


def test_xtreme_r_tables():
    assert len(get_task("xnli").languages) == 15
    assert "qu" in get_task("xcopa").languages and "yo" in get_task("panx").languages


def test_non_classification_task_is_refused_clearly():
    with pytest.raises(ValueError, match="cannot be trained.*Allowed values.*multiemo"):
        check_runnable("xquad")


@pytest.mark.parametrize("field,value,msg", [("lr", "3e-5", "expected a finite number"), ("lr", 1.0, "allowed range"),
                                             ("batch_size", 0, "allowed range"), ("epochs", -1, "allowed range"),
                                             ("batch_size", 2.5, "integer"), ("precision", "fp8", "allowed values")])
def test_bad_training_parameters(field, value, msg):
    with pytest.raises(ValueError, match=f"'{field}'.*{msg}"):
        TrainConfig(**{field: value}).validate()


def test_local_data_and_parallel_filter(fixture_data):
    en = load_examples("multiemo", "en", "test")
    de = load_examples("multiemo", "de", "test", max_words=6)
    en6 = load_examples("multiemo", "en", "test", max_words=6)
    assert len(en) == 8 and [e.uid for e in de] == [e.uid for e in en6]
    assert load_examples("multiemo", "de", "test", max_examples=3, data_seed=1) == \
        load_examples("multiemo", "de", "test", max_examples=3, data_seed=1)


def test_hub_loader_with_a_local_hub_layout(tmp_path, monkeypatch):
    """`datasets.load_dataset` path of the hub loader, run against a local repository copy."""
    import json

    monkeypatch.delenv("XROBUST_DATA_DIR", raising=False)
    (tmp_path / "de").mkdir()
    rows = [{"premise": "Ein Mann isst.", "hypothesis": "Jemand isst.", "label": 0},
            {"premise": "Ein Mann isst.", "hypothesis": "Niemand isst.", "label": 2}]
    (tmp_path / "de" / "test.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (tmp_path / "README.md").write_text("---\nconfigs:\n- config_name: de\n  data_files:\n"
                                        "  - split: test\n    path: de/test.jsonl\n---\n")
    ex = load_examples("xnli", "de", "test", hub_path=str(tmp_path))
    assert [e.label for e in ex] == [0, 2] and ex[0].text_b == "Jemand isst."
