"""Retrieval evaluation: parameter checks, pooling, top-1 scoring, result files."""
import shutil
from pathlib import Path

import pytest
import torch

from xrobust.resultfiles import read_json
from xrobust.retrieval import embed, run_retrieval, top1_accuracy

FIXTURE = Path(__file__).parent / "fixtures" / "udhr"


@pytest.mark.parametrize("kwargs, msg", [
    ({"granularity": "sentence"}, "'granularity'"),
    ({"batch_size": 0}, "'batch_size'"),
    ({"max_length": 4096}, "'max_length'"),
    ({"languages": ["xx"]}, r"invalid 'languages': \['xx'\]; allowed values: all, "),
    ({"languages": ["all", "fr"]}, "'all' stands alone"),
    ({"model": "./no/such/folder"}, "'model'"),
    ({"out_path": "result.csv"}, "'out_path'"),
    ({"device": "tpu"}, "'device'"),
])
def test_bad_parameters_are_refused_before_any_compute(tmp_path, kwargs, msg):
    args = {"model": str(tmp_path), "granularity": "article", "out_path": tmp_path / "r.json",
            "source": FIXTURE, **kwargs}
    if "model" not in kwargs:
        (tmp_path / "config.json").write_text("{}")  # looks like a model folder; never loaded
    with pytest.raises(ValueError, match=msg):
        run_retrieval(**args)
    assert not (tmp_path / "r.json").exists()


def test_top1_accuracy_counts_rows_whose_nearest_key_is_gold():
    keys = torch.eye(3)
    queries = torch.tensor([[1.0, 0, 0], [0, 0, 1], [0, 0.1, 0.9]])  # rows 1 and 2 point to key 2
    assert top1_accuracy(queries, keys) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="align"):
        top1_accuracy(torch.eye(2), torch.eye(3))


def test_pooling_ignores_padding(tiny_model_dir):
    from xrobust.models import load_encoder

    encoder, tok = load_encoder(tiny_model_dir)
    texts = ["short", "a much longer text than the other ones in this batch", "mid length text"]
    one, _ = embed(texts, encoder, tok, batch_size=1)
    many, truncated = embed(texts, encoder, tok, batch_size=3)
    assert torch.allclose(one, many, atol=1e-5)
    assert torch.allclose(many.norm(dim=1), torch.ones(3))
    limit = len(tok("query: mid length text")["input_ids"])  # the prefix counts too
    _, truncated = embed(texts, encoder, tok, max_length=limit)
    assert truncated == [False, True, False]


def test_languages_present_in_the_registry_but_not_in_the_source_are_refused(tmp_path, tiny_model_dir):
    with pytest.raises(ValueError, match="unknown or empty 'languages' \\['sco'\\].*allowed values: de-1996, fr"):
        run_retrieval(tiny_model_dir, "article", tmp_path / "r.json", ["sco"], source=FIXTURE, progress=False)


def test_run_writes_rows_and_an_identical_copy_is_always_retrieved(tmp_path, tiny_model_dir):
    src = tmp_path / "src"
    shutil.copytree(FIXTURE, src)
    html = (src / "eng.html").read_text(encoding="utf-8")
    (src / "sco.html").write_text(html.replace('lang="en"', 'lang="sco"').replace('"eng"', '"sco"'),
                                  encoding="utf-8")
    out = tmp_path / "r.json"
    payload = run_retrieval(tiny_model_dir, "paragraph", out, source=src, device="cpu", progress=False)
    assert read_json(out) == payload
    rows = {r["language"]: r for r in payload["rows"]}
    assert sorted(rows) == ["de-1996", "sco"]  # fr is misaligned at paragraph level
    assert rows["sco"]["xx_to_en"] == rows["sco"]["en_to_xx"] == 1.0
    assert 0.0 <= rows["de-1996"]["xx_to_en"] <= 1.0 and rows["de-1996"]["tatoeba"]
    assert payload["units_per_language"] == 33 and payload["provenance"]["config_hash"]
    # unit by unit: the identical copy gets every unit, and the accuracy is the share of 1s
    assert rows["sco"]["correct_xx_to_en"] == "1" * 33
    for d in ("xx_to_en", "en_to_xx"):
        hits = rows["de-1996"][f"correct_{d}"]
        assert len(hits) == 33 and set(hits) <= {"0", "1"} and hits.count("1") / 33 == pytest.approx(rows["de-1996"][d])


def test_classifier_checkpoint_is_scored_by_its_encoder(tmp_path, tiny_model_dir):
    from xrobust.models import EncoderClassifier, load_encoder

    encoder, _ = load_encoder(tiny_model_dir)
    ckpt = EncoderClassifier(encoder, num_labels=3).save(tmp_path / "ckpt", base_model=tiny_model_dir)
    by_ckpt = run_retrieval(str(ckpt), "article", tmp_path / "a.json", source=FIXTURE, progress=False)
    by_name = run_retrieval(tiny_model_dir, "article", tmp_path / "b.json", source=FIXTURE, progress=False)
    assert by_ckpt["model"]["kind"] == "classifier checkpoint" and by_name["model"]["kind"] == "encoder"
    assert by_ckpt["rows"] == by_name["rows"]


def test_middle_layer_is_pooled_when_asked(tmp_path, tiny_model_dir):
    from xrobust.models import load_encoder

    encoder, tok = load_encoder(tiny_model_dir)
    texts = ["one short text", "another, somewhat longer text"]
    last, _ = embed(texts, encoder, tok)
    assert torch.allclose(embed(texts, encoder, tok, layer=encoder.config.num_hidden_layers)[0], last, atol=1e-6)
    first, _ = embed(texts, encoder, tok, layer=1)
    with torch.inference_mode():
        ids = tok(["query: " + t for t in texts], padding=True, return_tensors="pt")
        states = encoder(**ids, output_hidden_states=True).hidden_states[1]
        mask = ids["attention_mask"].unsqueeze(-1).float()
        expected = torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1)
    assert torch.allclose(first, expected, atol=1e-5) and not torch.allclose(first, last, atol=1e-3)
    with pytest.raises(ValueError, match="'layer': 99; allowed: -1 or 1.."):
        embed(texts, encoder, tok, layer=99)
    payload = run_retrieval(tiny_model_dir, "article", tmp_path / "m.json", source=FIXTURE, layer=1, progress=False)
    assert payload["pooling"] == "mean of layer 1 hidden states"
    with pytest.raises(ValueError, match="'layer': 0"):
        run_retrieval(tiny_model_dir, "article", tmp_path / "z.json", source=FIXTURE, layer=0)
