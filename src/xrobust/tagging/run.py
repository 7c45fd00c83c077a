"""The tagging step: train on English EWT (validation-based selection), evaluate on PUD.

One result JSON per run, with provenance: per PUD language the tagger's word accuracy and
macro-F1 beside the most-frequent-tag baseline fitted on EWT train (same words), plus the
training statistics and the dev history that chose the kept parameters. The checkpoint goes
to `out_dir/checkpoint`; weights are never part of a result.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import resultfiles
from ..models import CorruptCheckpoint, checkpoint_meta, checkpoint_ok, load_encoder, pick_device
from ..params import resolve_precision
from ..provenance import provenance
from ..public_data import read_pud, read_ud
from ..training import TrainConfig, set_seed
from .data import UPOS_TAGS, MostFrequentTag, tag_ids
from .model import TokenTagger
from .params import TaggingParams
from .train import evaluate_sentences, tag_metrics, train_tagger


def subset(sentences: list[dict], n: int, seed: int = 0) -> list[dict]:
    """A fixed random subset in corpus order (the data seed is not the training seed)."""
    if n >= len(sentences):
        return list(sentences)
    keep = np.sort(np.random.default_rng(seed).permutation(len(sentences))[:n])
    return [sentences[i] for i in keep]


def baseline_rows(baseline: MostFrequentTag, pud: dict[str, list[dict]]) -> dict[str, dict]:
    out = {}
    for lang, sentences in pud.items():
        gold = [tag_ids(s["upos"]) for s in sentences]
        pred = [tag_ids(baseline.predict(s["tokens"])) for s in sentences]
        m = tag_metrics(gold, pred)
        out[lang] = {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                     "unknown_words": round(baseline.unknown_rate(sentences), 4)}
    return out


def run_tagging(*args, **kwargs) -> dict:
    """Train and evaluate one tagger. Takes a `TaggingParams` or its fields as keyword arguments."""
    p = TaggingParams.build(*args, **kwargs)
    dev = pick_device(p.device)
    cfg = TrainConfig.from_step(p, resolve_precision(p.precision, dev))
    out = Path(p.out_dir)
    result_path = Path(p.result_path) if p.result_path else out / "result.json"
    inter_task = None
    if p.condition == "intermediate":
        try:  # read and checksum the intermediate checkpoint before any compute
            inter_task = checkpoint_meta(Path(p.intermediate_checkpoint))["task"]
        except CorruptCheckpoint as e:
            raise CorruptCheckpoint(f"invalid 'intermediate_checkpoint': {e}") from None
    config = {"step": "tagging", **p.result_config(), "intermediate_task": inter_task, **cfg.as_dict()}
    if resultfiles.is_complete(result_path) and checkpoint_ok(out / "checkpoint"):
        old = resultfiles.read_json(result_path)
        if old["config"] != config:
            raise ValueError(f"{result_path} holds a finished run with a different configuration; "
                             "choose another 'out_dir'/'result_path' or delete it")
        return old
    train_sents = subset(read_ud("en", "train"), p.max_train_sentences)
    dev_sents = subset(read_ud("en", "validation"), p.max_dev_sentences)
    pud = {lang: s[:p.max_test_sentences] for lang, s in read_pud(p.languages).items()}

    set_seed(p.seed)  # the new head's initialisation depends on it
    if p.condition == "intermediate":
        model, tokenizer, meta = TokenTagger.from_intermediate(p.intermediate_checkpoint, len(UPOS_TAGS))
        if meta["base_model"] != p.model:
            raise ValueError(f"invalid 'intermediate_checkpoint': trained from {meta['base_model']!r}, "
                             f"not from 'model' {p.model!r}")
    else:
        encoder, tokenizer = load_encoder(p.model)
        model = TokenTagger(encoder, len(UPOS_TAGS))
    stats = train_tagger(model, tokenizer, train_sents, dev_sents, cfg, dev, p.eval_every,
                         desc=f"tagging ({p.condition})")
    baseline = MostFrequentTag(train_sents)
    base = baseline_rows(baseline, pud)
    rows = []
    for lang, sentences in pud.items():
        m, _ = evaluate_sentences(model, tokenizer, sentences, dev, max_length=p.max_length, precision=cfg.precision)
        rows.append({"language": lang, "sentences": len(sentences), "words": m["words"],
                     "accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "truncated_words": m["truncated"],
                     "baseline_accuracy": base[lang]["accuracy"], "baseline_macro_f1": base[lang]["macro_f1"],
                     "baseline_unknown_words": base[lang]["unknown_words"], "zero_shot": lang != "en"})
    model.save(out / "checkpoint", base_model=p.model,
               extra={"task": "udpos", "seed": p.seed, "condition": p.condition, "intermediate_task": inter_task})
    result = {"config": config, "train": {**stats, "train_sentences": len(train_sents),
                                          "dev_sentences": len(dev_sents)},
              "per_language": rows,
              "test_items": {"treebank": "PUD", "sent_ids": [s["sent_id"] for s in pud[p.languages[0]]]},
              "provenance": provenance(config, dev)}
    resultfiles.write_json(result_path, result)
    return result
