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


# XTREME_R_TASK2LANGS as published in evaluate.py of github.com/google-research/xtreme
# (commit 838c13b69daafb9328785d16caae2711e4012123); LAReQA is listed there without languages.
OFFICIAL_XTREME_R = {
    "xnli": "ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh",
    "panx": "ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,"
            "th,sw,yo,my,zh,kk,tr,et,fi,hu,qu,pl,uk,az,lt,pa,gu,ro",
    "udpos": "af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,nl,pt,ru,ta,te,th,tl,tr,ur,"
             "vi,yo,zh,lt,pl,uk,wo,ro",
    "tatoeba": "ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,"
               "zh,kk,tr,et,fi,hu,az,lt,pl,uk,ro",
    "xcopa": "et,ht,id,it,qu,sw,ta,th,tr,vi,zh",
    "mewslix": "ar,de,en,es,fa,ja,pl,ro,ta,tr,uk",
    "xquad": "en,es,de,el,ru,tr,ar,vi,th,zh,hi,ro",
    "mlqa": "en,es,de,ar,hi,vi,zh",
    "tydiqa": "en,ar,bn,fi,id,ko,ru,sw,te",
}


@pytest.mark.parametrize("task", sorted(OFFICIAL_XTREME_R))
def test_xtreme_r_tables_match_the_official_lists(task):
    official = OFFICIAL_XTREME_R[task].split(",")
    ours = get_task(task).languages
    assert len(set(ours)) == len(ours), "a language is listed twice"
    assert set(ours) == set(official)


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
