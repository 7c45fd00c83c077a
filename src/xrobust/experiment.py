"""The three steps of one experiment, each called by one notebook.

    intermediate: encoder -> English intermediate task           (checkpoint, result JSON)
    target:       encoder [-> intermediate ckpt] -> target task  (checkpoint, per-language clean accuracy)
                  in one language (direct, intermediate) or several (multilingual)
    attack:       target checkpoint x recipes x languages        (per-language robustness rows)
                  on one fixed pool of cleaned parallel test items (xrobust.pool)

Every step validates all parameters before computing, skips work whose result file is
complete, and writes results atomically with provenance.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from . import resultfiles
from .data import load_examples, load_multilingual
from .models import CorruptCheckpoint, EncoderClassifier, checkpoint_meta, checkpoint_ok, load_encoder, pick_device
from .params import AttackParams, IntermediateParams, TargetParams, resolve_precision
from .pool import attack_pool
from .provenance import provenance
from .resultfiles import partial_path
from .tasks import get_task
from .training import TrainConfig, evaluate, set_seed, train


def _reuse(result_path: Path, ckpt: Path, config: dict) -> dict | None:
    """A finished run with the same config is reused; one with another config is never
    silently returned or overwritten."""
    if not (resultfiles.is_complete(result_path) and checkpoint_ok(ckpt)):
        return None
    old = resultfiles.read_json(result_path)
    if old["config"] != config:
        raise ValueError(f"{result_path} holds a finished run with a different configuration; "
                         f"choose another 'out_dir'/'result_path' or delete it")
    return old


def _checkpoint_meta(name: str, path: str) -> dict:
    """A checkpoint's metadata (checksum verified), with the parameter named if it is missing or unusable."""
    if not Path(path).is_dir():
        raise ValueError(f"invalid {name!r}: {str(path)!r} is not a folder (no such checkpoint: the grid's "
                         "training steps make it)")
    try:
        return checkpoint_meta(Path(path))
    except CorruptCheckpoint as e:
        raise CorruptCheckpoint(f"invalid {name!r}: {e}") from None


def _training_step(p):
    """Device, training settings (precision resolved), task, run folder and result path of a step."""
    dev = pick_device(p.device)
    cfg = TrainConfig.from_step(p, resolve_precision(p.precision, dev))
    out = Path(p.out_dir)
    return dev, cfg, get_task(p.task), out, Path(p.result_path) if p.result_path else out / "result.json"


def run_intermediate(*args, **kwargs) -> dict:
    """Train encoder + head on an English intermediate task; keep the checkpoint for target runs.
    Takes an `IntermediateParams` or its fields as keyword arguments."""
    p = IntermediateParams.build(*args, **kwargs)
    dev, cfg, t, out, result_path = _training_step(p)
    config = {"step": "intermediate", **p.result_config(), **cfg.as_dict()}
    if (old := _reuse(result_path, out / "checkpoint", config)) is not None:
        return old
    train_ex = load_examples(t, "en", "train", max_examples=p.max_train_examples, max_words=p.max_words)
    eval_ex = load_examples(t, "en", "validation" if t.offline else "test", max_examples=p.max_eval_examples,
                            max_words=p.max_words)
    set_seed(p.seed)  # the new head's initialisation depends on it
    encoder, tokenizer = load_encoder(p.model)
    clf = EncoderClassifier(encoder, len(t.labels))
    stats = train(clf, tokenizer, train_ex, cfg, dev, desc=f"intermediate {p.task}")
    metrics = evaluate(clf, tokenizer, eval_ex, dev, max_length=p.max_length, precision=cfg.precision)
    metrics.pop("predictions")
    clf.save(out / "checkpoint", base_model=p.model, extra={"task": p.task, "seed": p.seed})
    result = {"config": config, "train": stats, "eval": metrics, "provenance": provenance(config, dev)}
    resultfiles.write_json(result_path, result)
    return result


def run_target(*args, **kwargs) -> dict:
    """Fine-tune on the target task in `train_languages` (one, or several for the multilingual
    condition); evaluate on `languages` (zero-shot where not trained on).
    The checkpoint goes to `out_dir/checkpoint`, the result JSON to `result_path`.
    Takes a `TargetParams` or its fields as keyword arguments."""
    p = TargetParams.build(*args, **kwargs)
    dev, cfg, t, out, result_path = _training_step(p)
    # read (and checksum) the intermediate checkpoint before any compute; its task names the condition
    inter_task = _checkpoint_meta("intermediate_checkpoint", p.intermediate_checkpoint)["task"] \
        if p.condition == "intermediate" else None
    config = {"step": "target", **p.result_config(), "intermediate_task": inter_task, **cfg.as_dict()}
    if (old := _reuse(result_path, out / "checkpoint", config)) is not None:
        return old
    # the multilingual set has as many examples (hence steps) as a one-language set
    shares = load_multilingual(t, p.train_languages, "train", p.max_train_examples, max_words=p.max_words) \
        if p.condition == "multilingual" else \
        {p.train_languages[0]: load_examples(t, p.train_languages[0], "train", max_examples=p.max_train_examples,
                                             max_words=p.max_words)}
    train_ex = [e for share in shares.values() for e in share]
    set_seed(p.seed)  # the new head's initialisation depends on it
    if p.condition == "intermediate":
        clf, tokenizer, meta = EncoderClassifier.load(p.intermediate_checkpoint)
        if meta["base_model"] != p.model:
            raise ValueError(f"invalid 'intermediate_checkpoint': trained from {meta['base_model']!r}, "
                             f"not from 'model' {p.model!r}")
        clf.new_head(len(t.labels))  # the intermediate head is dropped, the encoder kept
    else:
        encoder, tokenizer = load_encoder(p.model)
        clf = EncoderClassifier(encoder, len(t.labels))
    stats = train(clf, tokenizer, train_ex, cfg, dev, desc=f"target {p.task} ({p.condition})")
    rows = []
    # clean accuracy on the cleaned parallel test items, the same in every language (the attack
    # pool, drawn with the same seed, is a subset of them when it is smaller)
    evaluation = attack_pool(t, p.max_eval_examples, p.max_words, pool_seed=0)
    for lang in p.languages:
        m = evaluate(clf, tokenizer, evaluation.examples(lang), dev, max_length=p.max_length,
                     precision=cfg.precision)
        rows.append({"language": lang, "n": m["n"], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                     "majority_rate": m["majority_rate"],
                     "zero_shot": lang not in p.train_languages, "original": lang == t.original_language})
    clf.save(out / "checkpoint", base_model=p.model,
             extra={"task": p.task, "seed": p.seed, "condition": p.condition, "intermediate_task": inter_task})
    stats["examples_per_language"] = {lang: len(share) for lang, share in shares.items()}
    result = {"config": config, "train": stats, "per_language": rows, "evaluation_items": evaluation.report,
              "provenance": provenance(config, dev)}
    resultfiles.write_json(result_path, result)
    return result


def run_attack(*args, **kwargs) -> dict:
    """Attack a target checkpoint in each language with each recipe. Rows are written as
    they finish (a partial file is resumed, never trusted as complete).
    Takes an `AttackParams` or its fields (checkpoint and out_path may be positional)."""
    p = AttackParams.build(*args, **kwargs)
    meta = _checkpoint_meta("checkpoint", p.checkpoint)
    t = get_task(meta["task"])
    p.check_task(t)
    from .attacks.recipes import BatchedModelWrapper, EncoderSimilarity, build, check_recipes, recipe_applies
    from .attacks.run import attack_examples, summarize

    check_recipes(p.recipes, p.languages)
    dev = pick_device(p.device)
    precision = resolve_precision(p.precision, dev)

    languages, recipes, seed = p.languages, p.recipes, p.seed
    pairs = [(l, r) for r in recipes for l in languages if recipe_applies(r, l)]
    not_applicable = [{"language": l, "recipe": r, "reason": "code-switching into English is undefined for English"}
                      for r in recipes for l in languages if not recipe_applies(r, l)]
    # the same items in every language, seed and condition (see xrobust.pool)
    pool = attack_pool(t, p.n_examples, p.max_words, p.pool_seed)
    pool_info = {**pool.report, "positions": pool.positions, "uids": pool.uids(t.source_language)}
    config = {"step": "attack", **p.result_config(), "checkpoint": str(p.checkpoint), "checkpoint_meta": meta,
              "precision": precision}
    out = Path(p.out_path)
    partial = partial_path(out)  # rows finished so far (resumed after a stop)
    done = resultfiles.finished_rows(out, config, lambda r: (r["language"], r["recipe"]))
    todo = [pair for pair in pairs if pair not in done]
    if not todo and resultfiles.is_complete(out):
        old = resultfiles.read_json(out)
        if old["config"] == config and [(r["language"], r["recipe"]) for r in old["rows"]] == pairs:
            # a finished run is kept byte for byte: a job re-run after a kill (Snakemake had not yet
            # recorded it as finished) must not rewrite it with a new provenance
            partial.unlink(missing_ok=True)
            return old
    if todo:
        model, tokenizer, _ = EncoderClassifier.load(p.checkpoint, device=dev)
        wrapper = BatchedModelWrapper(model, tokenizer, dev, p.batch_size, p.max_length, precision)
        sim = None
        if any(r != "char" for _, r in todo):
            sim_encoder, sim_tok = load_encoder(p.similarity_model)
            sim = EncoderSimilarity(sim_encoder, sim_tok, device=dev, max_length=p.max_length,
                                    precision=precision)
        columns = ("premise", "hypothesis") if t.text_fields and len(t.text_fields) == 2 else ("text",)
        for lang, recipe in todo:
            chosen = pool.examples(lang)
            attack = build(recipe, wrapper, lang, tokenizer=tokenizer, similarity=sim,
                           embeddings=model.encoder.get_input_embeddings().weight, columns=columns,
                           max_perturbed=p.max_perturbed, query_budget=p.query_budget, seed=seed, device=dev)
            t0 = time.perf_counter()
            records = attack_examples(attack, chosen, columns=columns, progress=p.progress,
                                      desc=f"{recipe} {lang}")
            seconds = time.perf_counter() - t0
            done[(lang, recipe)] = {"language": lang, "recipe": recipe, "original": lang == t.original_language,
                                    **summarize(records),
                                    "seconds": round(seconds, 2),
                                    "examples_per_s": round(len(records) / seconds, 3) if seconds else None,
                                    "records": records}
            resultfiles.write_json(partial, {"config": config, "rows": list(done.values()), "complete": False,
                                         "pool": pool_info, "not_applicable": not_applicable,
                                         "provenance": provenance(config, dev)})
        del model
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    result = {"config": config, "rows": [done[pair] for pair in pairs], "complete": True, "pool": pool_info,
              "not_applicable": not_applicable, "provenance": provenance(config, dev)}
    resultfiles.write_json(out, result)
    partial.unlink(missing_ok=True)
    return result


