import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "data"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def offline_dir():
    from xrobust.e5_offline import offline_model_dir

    return offline_model_dir()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, offline_dir):
    """A tiny random-init BERT with the real XLM-R tokenizer (fast to train in tests)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(offline_dir)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=512, pad_token_id=tok.pad_token_id)
    out = tmp_path_factory.mktemp("tiny")
    BertModel(cfg, add_pooling_layer=False).save_pretrained(out)
    tok.save_pretrained(out)
    return str(out)


@pytest.fixture
def fixture_data(monkeypatch):
    monkeypatch.setenv("XROBUST_DATA_DIR", str(FIXTURES))
    return FIXTURES


@pytest.fixture(scope="module")
def target_ckpt(tiny_model_dir, tmp_path_factory):
    """A tiny MultiEmo target checkpoint trained on the fixture data (for attack tests)."""
    from xrobust import experiment

    os.environ["XROBUST_DATA_DIR"] = str(FIXTURES)
    out = tmp_path_factory.mktemp("t")
    experiment.run_target(model=tiny_model_dir, task="multiemo", out_dir=str(out), languages=["en"],
                          max_train_examples=16, epochs=1.0, batch_size=8, lr=1e-3, device="cpu")
    return str(out / "checkpoint")
