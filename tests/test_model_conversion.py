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
