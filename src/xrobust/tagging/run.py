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


def tagging_pool(pud: dict[str, list[dict]], n_sentences: int, max_words: int, pool_seed: int) -> list[str]:
    """The attacked PUD sentences: `n_sentences` sent_ids drawn with `pool_seed` among those with
    at most `max_words` words in every language given, in PUD's order. The same pool serves
    every seed and condition (and every language, as PUD is parallel)."""
    first = next(iter(pud.values()))
    short = [i for i in range(len(first)) if all(len(s[i]["tokens"]) <= max_words for s in pud.values())]
    if not short:
        raise ValueError(f"no PUD sentence has at most {max_words} words in every language; raise 'max_words'")
    keep = subset(short, n_sentences, seed=pool_seed)
    return [first[i]["sent_id"] for i in keep]


def recipe_applicability(recipe: str, language: str) -> str | None:
    """Why `recipe` cannot attack `language` (None: it can). Code-switching swaps words for English
    translations: undefined for English, and only where a bilingual lexicon is installed."""
    if recipe != "codeswitch":
        return None
    if language == "en":
        return "code-switching into English is undefined for English"
    from ..attacks import lexicons

    try:
        lexicons.load_lexicon(language)
    except (FileNotFoundError, ValueError) as e:
        return f"no bilingual lexicon: {e}"
    return None


def run_tagging_attack(*args, **kwargs) -> dict:
    """Attack a tagger checkpoint on the shared PUD pool in each language with each recipe; one row
    per (language, recipe) with the success rate and accuracy on edited and unedited words, and
    every sentence's record (words, gold, clean and attacked tags). Takes a `TaggingAttackParams`
    or its fields as keyword arguments."""
    import time

    from .attack import TaggerWrapper, attack_sentence, build_attack, summarize
    from .params import TaggingAttackParams

    p = TaggingAttackParams.build(*args, **kwargs)
    try:
        meta = checkpoint_meta(Path(p.checkpoint))
    except CorruptCheckpoint as e:
        raise CorruptCheckpoint(f"invalid 'checkpoint': {e}") from None
    if meta.get("head") != "token":
        raise ValueError(f"invalid 'checkpoint': {p.checkpoint} is not a tagger checkpoint")
    dev = pick_device(p.device)
    precision = resolve_precision(p.precision, dev)
    config = {"step": "tagging_attack", **p.result_config(), "checkpoint_meta": meta, "precision": precision}
    out = Path(p.out_path)
    if resultfiles.is_complete(out):
        old = resultfiles.read_json(out)
        if old["config"] != config:
            raise ValueError(f"{out} holds a finished run with a different configuration; choose another 'out_path'")
        return old
    pud = read_pud(p.languages)
    pool = tagging_pool(pud, p.n_sentences, p.max_words, p.pool_seed)
    pairs, not_applicable = [], []
    for recipe in p.recipes:
        for lang in p.languages:
            reason = recipe_applicability(recipe, lang)
            if reason:
                not_applicable.append({"language": lang, "recipe": recipe, "reason": reason})
            else:
                pairs.append((lang, recipe))
    model, tokenizer, _ = TokenTagger.load(Path(p.checkpoint), device=dev)
    wrapper = TaggerWrapper(model, tokenizer, dev, p.batch_size, p.max_length, precision)
    similarity = None
    if p.similarity_model and any(r == "codeswitch" for _, r in pairs):
        from ..attacks.recipes import EncoderSimilarity

        sim_encoder, sim_tok = load_encoder(p.similarity_model)
        similarity = EncoderSimilarity(sim_encoder, sim_tok, device=dev, max_length=p.max_length)
    rows = []
    for lang, recipe in pairs:
        by_id = {s["sent_id"]: s for s in pud[lang]}
        attack = build_attack(recipe, wrapper, lang, success_drop=p.success_drop, similarity=similarity,
                              max_perturbed=p.max_perturbed, query_budget=p.query_budget, seed=p.seed,
                              device=dev, model_batch_size=p.batch_size)
        t0 = time.perf_counter()
        records = [attack_sentence(attack, by_id[sid]) for sid in pool]
        rows.append({"language": lang, "recipe": recipe, **summarize(records),
                     "seconds": round(time.perf_counter() - t0, 2), "records": records})
    result = {"config": config, "rows": rows, "not_applicable": not_applicable,
              "pool": {"sent_ids": pool, "pool_seed": p.pool_seed, "max_words": p.max_words},
              "provenance": provenance(config, dev)}
    resultfiles.write_json(out, result)
    return result
