import torch

from xrobust.models import load_encoder


def test_translation_pairs_closer_than_unrelated(offline_dir):
    enc, tok = load_encoder(str(offline_dir))
    pairs = [("The cat sleeps on the sofa.", "Die Katze schläft auf dem Sofa."),
             ("I would like a cup of coffee.", "Je voudrais une tasse de café."),
             ("The weather is nice today.", "今天天气很好。"),
             ("Where is the train station?", "أين محطة القطار؟")]

    def emb(texts):
        b = tok(["query: " + t for t in texts], padding=True, return_tensors="pt")
        with torch.no_grad():
            h = enc(**b).last_hidden_state
        m = b["attention_mask"].unsqueeze(-1)
        return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)

    sims = emb([a for a, _ in pairs]) @ emb([b for _, b in pairs]).T
    diag = sims.diag()
    off = sims[~torch.eye(len(pairs), dtype=bool)]
    assert diag.min() > off.mean() + 0.05
    assert all(sims[i, i] == sims[i].max() for i in range(len(pairs)))


def test_tokenizer_round_trips_scripts(offline_dir):
    _, tok = load_encoder(str(offline_dir))
    for text in ["Die Katze schläft auf dem Sofa.", "今天天气很好。", "أين محطة القطار؟"]:
        ids = tok(text)["input_ids"]
        assert tok.unk_token_id not in ids
        assert tok.decode(ids, skip_special_tokens=True) == text


def _q4_block(scale: float, q: list[int]) -> bytes:
    """One Q4_0 block written from its definition: fp16 scale, then byte j holds
    q[j] + 8 in its low and q[j + 16] + 8 in its high nibble."""
    import numpy as np

    assert len(q) == 32 and all(-8 <= v <= 7 for v in q)
    return np.float16(scale).tobytes() + bytes((q[j] + 8) | ((q[j + 16] + 8) << 4) for j in range(16))


def test_dequantize_q4_follows_the_block_layout():
    import numpy as np

    from xrobust.e5_offline import dequantize_q4

    # scale 1.0 is fp16 0x3C00; byte 0x8F is 7 (low nibble, element 0) and 0 (high nibble, element 16)
    one = bytes([0x00, 0x3C, 0x8F]) + bytes([0x88] * 15)
    assert dequantize_q4(np.frombuffer(one, np.uint8), 32).tolist() == [7.0] + [0.0] * 31
    q1 = list(range(-8, 8)) * 2
    q2 = [7 - (i % 16) for i in range(32)]
    raw = np.frombuffer(_q4_block(0.5, q1) + _q4_block(-0.25, q2), np.uint8)
    out = dequantize_q4(raw, 40)  # a tensor of 40 elements: the second block is padded
    assert out.dtype == np.float32 and out.shape == (40,)
    assert out.tolist() == [0.5 * v for v in q1] + [-0.25 * v for v in q2[:8]]


def test_converting_on_first_use_leaves_the_torch_rng_alone(tmp_path, monkeypatch):
    """A run that converts the offline model on first use must initialise its head as a run
    with the same seed that finds the converted folder (the head is made after loading)."""
    from xrobust.e5_offline import offline_model_dir

    monkeypatch.setenv("XROBUST_CACHE", str(tmp_path))
    heads = []
    for _ in ("converts", "finds the folder"):
        torch.manual_seed(1)
        load_encoder("e5-small-offline")
        heads.append(torch.nn.Linear(384, 3).weight.detach().clone())
    assert (tmp_path / "models" / "multilingual-e5-small" / "model.safetensors").is_file()
    assert torch.equal(heads[0], heads[1])
    torch.manual_seed(1)
    expected = torch.nn.Linear(384, 3).weight  # loading a converted folder draws nothing either
    assert torch.equal(heads[1], expected)
    assert offline_model_dir() == tmp_path / "models" / "multilingual-e5-small"
