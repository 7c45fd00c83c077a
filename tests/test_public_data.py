"""The public datasets as the project reads them: on the real mirror files when a mirror is there
(`XROBUST_DATA_MIRROR`; CI sets it), otherwise skipped with the reason;
the XNLI label join and the SIB-200 language table also on small fixtures, always."""
import os
from pathlib import Path

import pytest

from xrobust import language_meta, public_data, sources
from xrobust.tasks import SIB200_LABELS, TASKS

MIRROR = os.environ.get(sources.MIRROR_VARIABLE, "")
HAVE_MIRROR = any((Path(m) / "github" / "dadelani").is_dir() for m in MIRROR.split(os.pathsep) if m)
needs_mirror = pytest.mark.skipif(not HAVE_MIRROR, reason=f"no dataset mirror ({sources.MIRROR_VARIABLE} is unset "
                                                          "or holds none of the files)")


@pytest.fixture
def mirror(monkeypatch):
    monkeypatch.setenv(sources.MIRROR_VARIABLE, MIRROR)
    monkeypatch.delenv("XROBUST_DATA_DIR", raising=False)  # a folder of prepared files would take precedence


# ---------------------------------------------------------------- the language table (no data needed)
def test_sib200_table_is_what_the_rule_makes_from_the_pins(tmp_path):
    codes = sorted({f.url.split("/data/annotated/")[1].split("/")[0]
                    for f in sources.pinned(language_meta.SIB200_REPOSITORY)})
    assert len(codes) == 205
    language_meta.write_sib200_table(codes, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == language_meta.SIB200_TABLE.read_text()


def test_sib200_tags_follow_xtreme_r_and_keep_varieties_apart():
    tags = language_meta.sib200_tags(["deu_Latn", "zho_Hans", "zho_Hant", "arb_Arab", "arb_Latn", "aka_Latn",
                                      "twi_Latn", "zsm_Latn", "pes_Arab", "prs_Arab", "ace_Arab", "ace_Latn"])
    assert tags == {"deu_Latn": "de", "zho_Hans": "zh", "zho_Hant": "zh-Hant", "arb_Arab": "ar",
                    "arb_Latn": "ar-Latn", "aka_Latn": "ak", "twi_Latn": "tw", "zsm_Latn": "ms",
                    "pes_Arab": "fa", "prs_Arab": "prs", "ace_Arab": "ace-Arab", "ace_Latn": "ace"}


def test_every_xtreme_r_language_is_a_sib200_variety():
    xtreme_r_tasks = ("xnli", "xcopa", "udpos", "panx", "xquad", "mlqa", "tydiqa", "mewslix", "lareqa", "tatoeba")
    union = set().union(*(TASKS[t].languages for t in xtreme_r_tasks))
    assert union == language_meta.XTREME_R_LANGUAGES
    table = language_meta.sib200_language_frame()
    assert set(table.index[table.xtreme_r]) == union
    assert table.loc["en", "xlmr_pretraining"] and not table.loc["ar-Latn", "xlmr_pretraining"]
    assert set(TASKS["sib200"].languages) == set(table.index) and len(table) == 205


# ---------------------------------------------------------------- XNLI join on fixtures
def _fake_files(monkeypatch, tmp_path, files: dict[str, str]):
    paths = {}
    for url, text in files.items():
        p = tmp_path / str(len(paths))
        p.write_text(text, encoding="utf-8")
        paths[url] = p
    monkeypatch.setattr(public_data, "fetch", lambda url: paths[url])


def test_xnli_labels_join_row_by_row_up_to_whitespace(monkeypatch, tmp_path):
    _fake_files(monkeypatch, tmp_path, {
        public_data.XNLI_TEST_LABELS: "genre\tlabel\tsentence1_sw\tsentence2_sw\r\n"
                                      "a\tneutral\tNaam,  ndiyo\tSi hivyo\r\nb\tentailment\tHabari\tNzuri \r\n",
        public_data.XNLI_REPOSITORY + "test-sw.tsv": "Naam, ndiyo\tSi hivyo\r\nHabari\tNzuri\r\n"})
    assert public_data.xnli_test_labels() == ["neutral", "entailment"]


def test_xnli_join_refuses_a_row_that_differs_beyond_whitespace(monkeypatch, tmp_path):
    _fake_files(monkeypatch, tmp_path, {
        public_data.XNLI_TEST_LABELS: "genre\tlabel\tsentence1_sw\tsentence2_sw\na\tneutral\tNaam\tSi\n"
                                      "b\tentailment\tHabari\tNzuri\n",
        public_data.XNLI_REPOSITORY + "test-sw.tsv": "Habari\tNzuri\nNaam\tSi\n"})  # rows swapped
    with pytest.raises(ValueError, match="row 0 does not match"):
        public_data.xnli_test_labels()


# ---------------------------------------------------------------- the real files
@needs_mirror
def test_sib200_is_aligned_in_all_205_varieties(mirror, tmp_path):
    public_data.prepare_sib200(tmp_path)  # refuses any variety whose ids or labels differ from English's
    from xrobust.examples import read_jsonl
    sizes = {split: {p.stem: len(read_jsonl(p, SIB200_LABELS)) for p in (tmp_path / "sib200" / split).glob("*.jsonl")}
             for split in ("train", "validation", "test")}
    assert {split: set(s.values()) for split, s in sizes.items()} == {"train": {701}, "validation": {99}, "test": {204}}
    assert len(sizes["test"]) == 205
    test = read_jsonl(tmp_path / "sib200/test/en.jsonl", SIB200_LABELS)
    assert {e.label for e in test} == set(range(7))
    from collections import Counter
    assert max(Counter(e.label for e in test).values()) / len(test) == pytest.approx(0.25)


@needs_mirror
def test_sib200_pool_drops_every_test_text_seen_in_training(mirror, tmp_path, monkeypatch):
    """A few varieties repeat a test sentence in train or dev: the attack pool's cleaning drops it
    in every language, so no attacked item was trained on."""
    from xrobust.data import load_examples
    from xrobust.pool import _text, clean_parallel
    monkeypatch.setenv("XROBUST_CACHE", str(tmp_path))
    langs = [r["tag"] for r in language_meta.read_sib200_table()]
    test = {l: load_examples("sib200", l, "test") for l in langs}
    seen = {l: load_examples("sib200", l, "train") + load_examples("sib200", l, "validation") for l in langs}
    shared = {l for l in langs if {_text(e) for e in test[l]} & {_text(e) for e in seen[l]}}
    assert shared  # the data has such repeats, so the rule is exercised
    keep, report = clean_parallel(test, seen)
    for l in langs:
        train_texts = {_text(e) for e in seen[l]}
        assert not any(_text(test[l][i]) in train_texts for i in keep), l


@needs_mirror
def test_sst2_and_xnli_splits(mirror, tmp_path, monkeypatch):
    from xrobust.data import load_examples
    monkeypatch.setenv("XROBUST_CACHE", str(tmp_path))
    assert len(load_examples("sst2", "en", "train")) == 67349
    assert len(load_examples("sst2", "en", "validation")) == 872
    assert len(public_data.xnli_test_labels()) == 5010
    train, val = load_examples("xnli_en", "en", "train"), load_examples("xnli_en", "en", "validation")
    assert (len(train), len(val)) == (6500, 1000) and not {e.uid for e in train} & {e.uid for e in val}
    sw = load_examples("xnli_en", "sw", "validation")  # the same pairs in another language
    assert [e.uid for e in sw] == [e.uid for e in val] and [e.label for e in sw] == [e.label for e in val]


@needs_mirror
def test_pud_is_parallel_in_20_languages_and_ewt_has_its_sizes(mirror):
    pud = public_data.read_pud()
    assert len(pud) == 20
    english = [s["sent_id"] for s in pud["en"]]
    assert len(english) == 1000 and all([s["sent_id"] for s in v] == english for v in pud.values())
    assert all(len(s["tokens"]) == len(s["upos"]) for v in pud.values() for s in v)
    sizes = {split: len(public_data.read_ud("en", split)) for split in ("train", "validation")}
    assert sizes == {"train": 12544, "validation": 2001} and len(public_data.read_ud("en-ewt", "test")) == 2077
    tags = {t for s in public_data.read_ud("en", "train") for t in s["upos"]}
    assert len(tags) == 17


def test_examples_become_a_datasets_dataset(fixture_data):
    from xrobust.data import as_dataset, load_examples
    from xrobust.tasks import MULTIEMO_LABELS
    examples = load_examples("multiemo", "de", "test")
    ds = as_dataset(examples, MULTIEMO_LABELS)
    assert ds.num_rows == len(examples) and ds.column_names == ["id", "text_a", "text_b", "label", "label_name"]
    assert ds[0]["label_name"] == MULTIEMO_LABELS[examples[0].label] and ds[0]["id"] == examples[0].uid


def _sib200_fixture(monkeypatch, tmp_path, german_rows: str):
    header = "index_id\tcategory\ttext\n"
    english = header + "1\ttravel\tA trip.\n2\tsports\tA match.\n"
    files = {}
    for split in public_data.SIB200_SPLITS:
        files[public_data.sib200_url("eng_Latn", split)] = english
        files[public_data.sib200_url("deu_Latn", split)] = header + german_rows
    _fake_files(monkeypatch, tmp_path, files)
    monkeypatch.setattr(public_data, "require", lambda urls: None)
    monkeypatch.setattr(public_data, "read_sib200_table",
                        lambda: ({"tag": "en", "flores": "eng_Latn"}, {"tag": "de", "flores": "deu_Latn"}))


def test_sib200_preparation_writes_aligned_varieties(monkeypatch, tmp_path):
    _sib200_fixture(monkeypatch, tmp_path, "1\ttravel\tEine Reise.\n2\tsports\tEin Spiel.\n")
    public_data.prepare_sib200(tmp_path / "root")
    from xrobust.examples import read_jsonl
    de = read_jsonl(tmp_path / "root/sib200/test/de.jsonl", SIB200_LABELS)
    assert [(e.uid, SIB200_LABELS[e.label], e.text_a) for e in de] == [
        ("sib200-1", "travel", "Eine Reise."), ("sib200-2", "sports", "Ein Spiel.")]


def test_sib200_preparation_refuses_a_variety_out_of_line(monkeypatch, tmp_path):
    _sib200_fixture(monkeypatch, tmp_path, "2\tsports\tEin Spiel.\n1\ttravel\tEine Reise.\n")  # other order
    with pytest.raises(ValueError, match="deu_Latn/train is not aligned with eng_Latn"):
        public_data.prepare_sib200(tmp_path / "root")
