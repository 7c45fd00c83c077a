import pytest

from xrobust import experiment
from xrobust.models import CorruptCheckpoint, EncoderClassifier, checkpoint_meta
from xrobust.resultfiles import CorruptResult, read_json, write_json


def _target(tiny_model_dir, tmp_path, name, **kw):
    return experiment.run_target(model=tiny_model_dir, task="multiemo", out_dir=str(tmp_path / name),
                                 languages=["en", "de", "zh"], max_train_examples=16, epochs=1.0,
                                 batch_size=8, lr=1e-3, device="cpu", **kw)


def test_tiny_train_eval_and_determinism(tiny_model_dir, fixture_data, tmp_path):
    a = _target(tiny_model_dir, tmp_path, "a", seed=3)
    b = _target(tiny_model_dir, tmp_path, "b", seed=3)
    assert [r["language"] for r in a["per_language"]] == ["en", "de", "zh"]
    assert a["per_language"] == b["per_language"] and a["train"]["loss_last"] == b["train"]["loss_last"]
    assert a["provenance"]["config_hash"] == b["provenance"]["config_hash"]
    timing = {"seconds", "tokens_per_s", "train_tflops_per_s"}  # wall-clock fields may differ
    assert {k: v for k, v in a["train"].items() if k not in timing} == \
        {k: v for k, v in b["train"].items() if k not in timing}
    assert a["config"] == b["config"] and a["provenance"] == b["provenance"]
    # 'auto' is stored as what ran on this device, and the provenance says why
    from xrobust.params import resolve_precision
    from xrobust.provenance import cpu_native_bf16

    assert a["config"]["precision"] == resolve_precision("auto", "cpu") == ("bf16" if cpu_native_bf16() else "fp32")
    assert a["provenance"]["precision"] == a["config"]["precision"]
    assert a["provenance"]["cpu_bf16"] is cpu_native_bf16()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_train_step_and_predictions_in_each_precision(tiny_model_dir, fixture_data, precision):
    """A bf16 training step runs with a finite loss and keeps fp32 weights and optimizer state;
    predictions under bf16 come back as fp32 logits close to the fp32 ones."""
    import numpy as np
    import torch

    from xrobust.data import load_examples
    from xrobust.models import EncoderClassifier, load_encoder
    from xrobust.training import TrainConfig, predict_logits, train

    examples = load_examples("multiemo", "en", "train")
    torch.manual_seed(0)
    encoder, tok = load_encoder(tiny_model_dir)
    clf = EncoderClassifier(encoder, 4)  # MultiEmo's four labels
    cfg = TrainConfig(lr=1e-3, epochs=1.0, batch_size=4, max_length=32, seed=0, precision=precision)
    stats = train(clf, tok, examples, cfg, "cpu")
    assert np.isfinite(stats["loss_first"]) and np.isfinite(stats["loss_last"])
    assert all(p.dtype == torch.float32 for p in clf.parameters())
    fp32 = predict_logits(clf, tok, examples, "cpu", precision="fp32")
    logits = predict_logits(clf, tok, examples, "cpu", precision=precision)
    assert logits.dtype == np.float32 and logits.shape == (len(examples), 4) and np.isfinite(logits).all()
    assert np.allclose(logits, fp32, atol=0.1)


def test_training_fits_the_fixture_task(tiny_model_dir, fixture_data, tmp_path):
    """A working training loop must fit its own 12 English training sentences (two labels,
    6 of 12 each); the loss must at least halve."""
    from xrobust.data import load_examples
    from xrobust.training import evaluate

    res = experiment.run_target(model=tiny_model_dir, task="multiemo", out_dir=str(tmp_path / "fit"),
                                languages=["en"], max_train_examples=12, epochs=60.0, batch_size=4, lr=1e-3,
                                device="cpu", seed=0)
    clf, tok, _ = EncoderClassifier.load(tmp_path / "fit" / "checkpoint")
    train_ex = load_examples("multiemo", "en", "train")
    fit = evaluate(clf, tok, train_ex, "cpu")
    assert fit["n"] == 12 and fit["majority_rate"] == 0.5  # 6 positive, 6 negative
    # clean accuracy is measured on the cleaned parallel test items, reported with their count
    assert res["per_language"][0]["majority_rate"] > 0
    assert res["evaluation_items"]["kept"] >= res["per_language"][0]["n"]
    assert fit["accuracy"] >= 11 / 12 and fit["macro_f1"] >= 0.85
    assert res["train"]["loss_last"] < res["train"]["loss_first"] / 2


def test_target_training_starts_from_the_intermediate_encoder(tiny_model_dir, fixture_data, tmp_path,
                                                               monkeypatch):
    """The encoder that target training receives is, tensor for tensor, the intermediate
    checkpoint's encoder; only the head is new. Direct training starts from the base encoder."""
    import torch

    from xrobust.models import load_encoder

    experiment.run_intermediate(model=tiny_model_dir, task="vitaminc", out_dir=str(tmp_path / "i"),
                                max_train_examples=16, batch_size=8, lr=1e-3, device="cpu")
    inter, _, _ = EncoderClassifier.load(tmp_path / "i" / "checkpoint")
    base, _ = load_encoder(tiny_model_dir)
    seen = {}
    real_train = experiment.train

    def spy(model, *args, **kwargs):
        seen[kwargs.get("desc", "")] = ({k: v.detach().clone() for k, v in model.encoder.state_dict().items()},
                                        model.head.out_features)
        return real_train(model, *args, **kwargs)

    monkeypatch.setattr(experiment, "train", spy)
    _target(tiny_model_dir, tmp_path, "t", condition="intermediate",
            intermediate_checkpoint=str(tmp_path / "i" / "checkpoint"))
    _target(tiny_model_dir, tmp_path, "d")
    (start_inter, n_inter), (start_direct, n_direct) = seen.values()
    assert n_inter == n_direct == 4 and inter.head.out_features == 3
    trained = [k for k, v in inter.encoder.state_dict().items() if not torch.equal(v, base.state_dict()[k])]
    assert trained, "intermediate training changed no encoder tensor"
    for k, v in inter.encoder.state_dict().items():
        assert torch.equal(start_inter[k], v), k
        assert torch.equal(start_direct[k], base.state_dict()[k]), k


def test_intermediate_then_target_keeps_encoder(tiny_model_dir, fixture_data, tmp_path):
    inter = experiment.run_intermediate(model=tiny_model_dir, task="vitaminc", out_dir=str(tmp_path / "i"),
                                        max_train_examples=16, batch_size=8, lr=1e-3, device="cpu")
    assert inter["eval"]["n"] == 4
    res = _target(tiny_model_dir, tmp_path, "t", condition="intermediate",
                  intermediate_checkpoint=str(tmp_path / "i" / "checkpoint"))
    assert res["config"]["condition"] == "intermediate" and res["config"]["intermediate_task"] == "vitaminc"
    model, _, meta = EncoderClassifier.load(tmp_path / "t" / "checkpoint")
    assert model.num_labels == 4 and meta["task"] == "multiemo"
    from xrobust.stats import condition_label

    assert condition_label(meta) == "inter-vitaminc" and condition_label({"condition": "direct"}) == "direct"


def test_condition_checks_before_compute(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match="'condition'.*allowed values: direct, intermediate"):
        _target(tiny_model_dir, tmp_path, "x", condition="both")
    with pytest.raises(ValueError,
                       match="invalid 'intermediate_checkpoint': required when 'condition' is 'intermediate'"):
        _target(tiny_model_dir, tmp_path, "x", condition="intermediate")


def test_corrupt_checkpoint_and_result_are_detected(tiny_model_dir, fixture_data, tmp_path):
    _target(tiny_model_dir, tmp_path, "c")
    w = tmp_path / "c" / "checkpoint" / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:-100])
    with pytest.raises(CorruptCheckpoint):
        checkpoint_meta(w.parent)
    p = write_json(tmp_path / "r.json", {"x": 1})
    text = p.read_text()
    assert '"x":1' in text  # the file is compact JSON
    p.write_text(text.replace('"x":1', '"x":2'))
    with pytest.raises(CorruptResult):
        read_json(p)
    # a corrupt checkpoint is retrained, not loaded
    res = _target(tiny_model_dir, tmp_path, "c")
    assert checkpoint_meta(w.parent)["weights_sha256"]
    assert res["per_language"]


def test_unfrozen_ablation_trains_and_saves_the_word_embeddings(tiny_model_dir, fixture_data, tmp_path):
    """`freeze_embeddings=False` (the ablation) updates the shared word-embedding table and keeps it in
    the checkpoint; the default leaves it out (it is re-read from the base model)."""
    import torch
    from safetensors.torch import load_file

    key = "encoder.embeddings.word_embeddings.weight"
    for freeze in (True, False):
        out = tmp_path / str(freeze)
        experiment.run_target(model=tiny_model_dir, task="multiemo", out_dir=str(out), languages=["en"],
                              max_train_examples=8, batch_size=4, lr=1e-3, device="cpu", freeze_embeddings=freeze)
        saved = load_file(str(out / "checkpoint" / "weights.safetensors"))
        assert (key in saved) is (not freeze)
        if not freeze:
            base = EncoderClassifier.load(tmp_path / "True" / "checkpoint")[0].encoder.get_input_embeddings().weight
            assert not torch.equal(saved[key], base.detach())
