"""The three steps of one experiment, each called by one notebook.

    intermediate: encoder -> English intermediate task           (checkpoint, result JSON)
    target:       encoder [-> intermediate ckpt] -> target task  (checkpoint, per-language clean accuracy)
    attack:       target checkpoint x recipes x languages        (per-language robustness rows)

Every step validates all parameters before computing, skips work whose result file is
complete, and writes results atomically with provenance.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from . import io
from .data import load_examples
from .models import EncoderClassifier, checkpoint_meta, checkpoint_ok, load_encoder, pick_device
from .params import check_list, check_number
from .provenance import provenance
from .tasks import check_languages, check_runnable
from .training import TrainConfig, evaluate, set_seed, train

CONDITIONS = ("direct", "intermediate")


def _reuse(result_path: Path, ckpt: Path, config: dict) -> dict | None:
    """A finished run with the same config is reused; one with another config is never
    silently returned or overwritten."""
    if not (io.is_complete(result_path) and checkpoint_ok(ckpt)):
        return None
    old = io.read_json(result_path)
    if old["config"] != config:
        raise ValueError(f"{result_path} holds a finished run with a different configuration; "
                         f"choose another 'out_dir'/'result_path' or delete it")
    return old


def _train_cfg(seed, lr, epochs, batch_size, max_length, precision) -> TrainConfig:
    return TrainConfig(lr=lr, epochs=epochs, batch_size=batch_size, max_length=max_length, seed=seed,
                       precision=precision).validate()


def run_intermediate(model: str, task: str, out_dir: str, seed: int = 0, lr: float = 3e-5,
                     epochs: float = 1.0, batch_size: int = 32, max_length: int = 128,
                     max_train_examples: int = 2000, max_eval_examples: int = 500, max_words: int = 40,
                     device: str = "auto", precision: str = "auto") -> dict:
    """Train encoder + head on an English intermediate task; keep the checkpoint for target runs."""
    t = check_runnable(task)
    cfg = _train_cfg(seed, lr, epochs, batch_size, max_length, precision)
    check_number("max_train_examples", max_train_examples, low=1, high=10**8, integer=True)
    dev = pick_device(device)
    out = Path(out_dir)
    result_path = out / "result.json"
    config = {"step": "intermediate", "model": model, "task": task, "max_train_examples": max_train_examples,
              "max_eval_examples": max_eval_examples, "max_words": max_words, **cfg.as_dict()}
    if (old := _reuse(result_path, out / "checkpoint", config)) is not None:
        return old
    train_ex = load_examples(t, "en", "train", max_examples=max_train_examples, max_words=max_words)
    eval_ex = load_examples(t, "en", "validation" if t.offline else "test", max_examples=max_eval_examples,
                            max_words=max_words)
    set_seed(seed)  # the new head's initialisation depends on it
    encoder, tokenizer = load_encoder(model)
    clf = EncoderClassifier(encoder, len(t.labels))
    stats = train(clf, tokenizer, train_ex, cfg, dev, desc=f"intermediate {task}")
    metrics = evaluate(clf, tokenizer, eval_ex, dev, max_length=max_length)
    metrics.pop("predictions")
    clf.save(out / "checkpoint", base_model=model, extra={"task": task, "seed": seed})
    result = {"config": config, "train": stats, "eval": metrics, "provenance": provenance(config, dev)}
    io.write_json(result_path, result)
    return result


def run_target(model: str, task: str, out_dir: str, condition: str = "direct",
               intermediate_checkpoint: str | None = None, languages=("en",), seed: int = 0,
               lr: float = 3e-5, epochs: float = 2.0, batch_size: int = 32, max_length: int = 128,
               max_train_examples: int = 2000, max_eval_examples: int = 500, max_words: int = 40,
               train_language: str = "en", result_path: str | None = None, device: str = "auto",
               precision: str = "auto") -> dict:
    """Fine-tune on the target task in `train_language`; evaluate zero-shot on `languages`.
    The checkpoint goes to `out_dir/checkpoint`, the result JSON to `result_path`."""
    t = check_runnable(task)
    languages = check_languages(t, check_list("languages", languages))
    check_languages(t, [train_language])
    if condition not in CONDITIONS:
        raise ValueError(f"invalid 'condition': {condition!r}; allowed values: {', '.join(CONDITIONS)}")
    if condition == "intermediate" and not intermediate_checkpoint:
        raise ValueError("'intermediate_checkpoint' is required when 'condition' is 'intermediate'")
    if condition == "direct" and intermediate_checkpoint:
        raise ValueError("'intermediate_checkpoint' must be empty when 'condition' is 'direct'")
    cfg = _train_cfg(seed, lr, epochs, batch_size, max_length, precision)
    check_number("max_eval_examples", max_eval_examples, low=1, high=10**8, integer=True)
    dev = pick_device(device)
    out = Path(out_dir)
    result_path = Path(result_path) if result_path else out / "result.json"
    # read (and checksum) the intermediate checkpoint before any compute; its task names the condition
    inter_task = checkpoint_meta(intermediate_checkpoint)["task"] if condition == "intermediate" else None
    config = {"step": "target", "model": model, "task": task, "condition": condition,
              "intermediate_checkpoint": intermediate_checkpoint, "intermediate_task": inter_task,
              "languages": languages,
              "train_language": train_language, "max_train_examples": max_train_examples,
              "max_eval_examples": max_eval_examples, "max_words": max_words, **cfg.as_dict()}
    if (old := _reuse(result_path, out / "checkpoint", config)) is not None:
        return old
    train_ex = load_examples(t, train_language, "train", max_examples=max_train_examples, max_words=max_words)
    set_seed(seed)  # the new head's initialisation depends on it
    if condition == "intermediate":
        clf, tokenizer, meta = EncoderClassifier.load(intermediate_checkpoint)
        if meta["base_model"] != model:
            raise ValueError(f"intermediate checkpoint was trained from {meta['base_model']!r}, not {model!r}")
        clf.new_head(len(t.labels))  # the intermediate head is dropped, the encoder kept
    else:
        encoder, tokenizer = load_encoder(model)
        clf = EncoderClassifier(encoder, len(t.labels))
    stats = train(clf, tokenizer, train_ex, cfg, dev, desc=f"target {task} ({condition})")
    rows = []
    for lang in languages:
        ex = load_examples(t, lang, "test", max_examples=max_eval_examples, max_words=max_words)
        m = evaluate(clf, tokenizer, ex, dev, max_length=max_length)
        rows.append({"language": lang, "n": m["n"], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"]})
    clf.save(out / "checkpoint", base_model=model,
             extra={"task": task, "seed": seed, "condition": condition, "intermediate_task": inter_task})
    result = {"config": config, "train": stats, "per_language": rows, "provenance": provenance(config, dev)}
    io.write_json(result_path, result)
    return result


def run_attack(checkpoint: str, out_path: str, languages=("de",), recipes=("char",),
               n_examples: int = 50, max_words: int = 40, seed: int = 0, max_perturbed: float = 0.25,
               query_budget: int = 2000, similarity_model: str = "e5-small-offline",
               batch_size: int = 128, max_length: int = 128, device: str = "auto",
               precision: str = "auto", progress: bool = True) -> dict:
    """Attack a target checkpoint in each language with each recipe. Rows are written as
    they finish (a partial file is resumed, never trusted as complete)."""
    from .attacks.recipes import RECIPES, BatchedModelWrapper, EncoderSimilarity, build, check_recipe_language
    from .attacks.run import attack_examples, summarize

    recipes = check_list("recipes", recipes, RECIPES)
    check_number("n_examples", n_examples, low=1, high=10**6, integer=True)
    check_number("max_words", max_words, low=1, high=10**5, integer=True)
    meta = checkpoint_meta(checkpoint)
    t = check_runnable(meta["task"])
    languages = check_languages(t, check_list("languages", languages))
    for r in recipes:
        for lang in languages:
            check_recipe_language(r, lang)
    dev = pick_device(device)
    config = {"step": "attack", "checkpoint": str(checkpoint), "checkpoint_meta": meta,
              "languages": languages, "recipes": recipes, "n_examples": n_examples, "max_words": max_words,
              "seed": seed, "max_perturbed": max_perturbed, "query_budget": query_budget,
              "similarity_model": similarity_model, "max_length": max_length, "precision": precision}
    out = Path(out_path)
    done = {}
    if out.exists():
        try:
            prev = io.read_json(out)
            if prev["config"] == config:
                done = {(r["language"], r["recipe"]): r for r in prev["rows"]}
        except io.CorruptResult:
            pass  # unreadable partial file: recompute
    todo = [(l, r) for r in recipes for l in languages if (l, r) not in done]
    if todo:
        model, tokenizer, _ = EncoderClassifier.load(checkpoint, device=dev)
        wrapper = BatchedModelWrapper(model, tokenizer, dev, batch_size, max_length, precision)
        sim = None
        if any(r != "char" for r in recipes):
            sim_encoder, sim_tok = load_encoder(similarity_model)
            sim = EncoderSimilarity(sim_encoder, sim_tok, device=dev, max_length=max_length)
        columns = ("premise", "hypothesis") if t.text_fields and len(t.text_fields) == 2 else ("text",)
        for lang, recipe in todo:
            # the same items in every language (a fixed subset of the evaluation items)
            chosen = load_examples(t, lang, "test", max_examples=n_examples, max_words=max_words, data_seed=seed)
            attack = build(recipe, wrapper, lang, tokenizer=tokenizer, similarity=sim,
                           embeddings=model.encoder.get_input_embeddings().weight, columns=columns,
                           max_perturbed=max_perturbed, query_budget=query_budget, seed=seed, device=dev)
            t0 = time.perf_counter()
            records = attack_examples(attack, chosen, columns=columns, progress=progress,
                                      desc=f"{recipe} {lang}")
            seconds = time.perf_counter() - t0
            done[(lang, recipe)] = {"language": lang, "recipe": recipe, **summarize(records),
                                    "seconds": round(seconds, 2),
                                    "examples_per_s": round(len(records) / seconds, 3) if seconds else None,
                                    "records": records}
            io.write_json(out, {"config": config, "rows": list(done.values()), "complete": False,
                                "provenance": provenance(config, dev)})
        del model
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    result = {"config": config, "rows": [done[(l, r)] for r in recipes for l in languages], "complete": True,
              "provenance": provenance(config, dev)}
    io.write_json(out, result)
    return result
