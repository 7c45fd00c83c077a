"""Training with validation-based selection, word-level prediction, and tagging metrics.

The loop is the classification family's (`xrobust.training`): AdamW with decoupled weight
decay on matrices, linear warm-up and decay, length-grouped batches, gradient clipping at 1,
bf16 autocast where the precision says so. Added here: every `eval_every` steps (and at the
end) the tagger is scored on the validation sentences and the trainable parameters of the best
score so far are kept; the returned model carries them (XTREME selects on English dev).
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from ..training import TrainConfig, autocast, length_grouped_batches, non_embedding_params, start_training
from .data import IGNORE_INDEX, UPOS_TAGS, first_subword_labels, tag_ids


def _pad(tokenizer, ids: list[list[int]], labels: list[list[int]] | None, device):
    batch = tokenizer.pad({"input_ids": ids}, return_tensors="pt")
    out = {k: batch[k].to(device) for k in ("input_ids", "attention_mask")}
    if labels is not None:
        width = out["input_ids"].shape[1]
        side = tokenizer.padding_side
        rows = [([IGNORE_INDEX] * (width - len(r)) + r) if side == "left" else (r + [IGNORE_INDEX] * (width - len(r)))
                for r in labels]
        out["labels"] = torch.tensor(rows, device=device)
    return out


@torch.inference_mode()
def word_log_probs(model, tokenizer, words: list[list[str]], device, batch_size: int = 64, max_length: int = 256,
                   precision: str = "auto") -> list[np.ndarray]:
    """Per sentence, an array (n_words, n_tags) of log-probabilities read at each word's first
    sub-word. A word that truncation cut off gets a row of NaN (scored as wrong by `tag_metrics`)."""
    device = torch.device(device)
    model.eval()
    out: list[np.ndarray | None] = [None] * len(words)
    order = sorted(range(len(words)), key=lambda i: sum(len(w) for w in words[i]))
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        enc, _, firsts = first_subword_labels(tokenizer, [words[i] for i in idx], None, max_length)
        inputs = _pad(tokenizer, enc["input_ids"], None, device)
        with autocast(device, precision):
            logits = model(**inputs)
        logp = torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
        for row, i in enumerate(idx):
            first = np.array(firsts[row])
            scores = np.full((len(first), logp.shape[-1]), np.nan, dtype=np.float32)
            kept = first >= 0
            scores[kept] = logp[row, first[kept]]
            out[i] = scores
    return out  # type: ignore[return-value]


def predict_tags(model, tokenizer, words, device, **kwargs) -> list[list[int]]:
    """Tag ids per word; -1 for a word that truncation cut off."""
    return [[-1 if np.isnan(r).any() else int(r.argmax()) for r in s]
            for s in word_log_probs(model, tokenizer, words, device, **kwargs)]


def tag_metrics(gold: list[list[int]], pred: list[list[int]]) -> dict:
    """Word accuracy, and macro-F1 over the tags that occur in the gold or predicted tags
    (scikit-learn's definition, as the classification family uses); words cut off by
    truncation count as wrong (`truncated` says how many)."""
    from sklearn.metrics import f1_score

    g = np.array([t for s in gold for t in s])
    p = np.array([t for s in pred for t in s])
    if g.shape != p.shape:
        raise ValueError(f"gold and predicted tags differ in length ({g.shape} vs {p.shape})")
    if not len(g):
        return {"words": 0, "accuracy": float("nan"), "macro_f1": float("nan"), "truncated": 0}
    labels = sorted(set(g.tolist()) | (set(p.tolist()) - {-1}))
    return {"words": int(len(g)), "accuracy": float((g == p).mean()),
            "macro_f1": float(f1_score(g, p, labels=labels, average="macro", zero_division=0)),
            "truncated": int((p == -1).sum())}


def per_tag_f1(gold, pred) -> dict:
    from sklearn.metrics import f1_score

    g = [t for s in gold for t in s]
    p = [t for s in pred for t in s]
    scores = f1_score(g, p, labels=list(range(len(UPOS_TAGS))), average=None, zero_division=0)
    return {t: round(float(f), 4) for t, f in zip(UPOS_TAGS, scores, strict=True)}


def evaluate_sentences(model, tokenizer, sentences: list[dict], device, **kwargs) -> tuple[dict, list[list[int]]]:
    gold = [tag_ids(s["upos"]) for s in sentences]
    pred = predict_tags(model, tokenizer, [s["tokens"] for s in sentences], device, **kwargs)
    return tag_metrics(gold, pred), pred


def train_tagger(model, tokenizer, train_sents: list[dict], dev_sents: list[dict], cfg: TrainConfig, device,
                 eval_every: int, desc: str = "tagging") -> dict:
    """Train `model` in place on `train_sents`; score on `dev_sents` every `eval_every` steps and
    at the end; load the best-scoring parameters back. Returns statistics and the dev history."""
    from transformers import get_linear_schedule_with_warmup

    cfg.validate()
    if not train_sents or not dev_sents:
        raise ValueError("tagging needs training and validation sentences")
    device, opt, params = start_training(model, cfg, device)
    total = max(1, round(math.ceil(len(train_sents) / cfg.batch_size) * cfg.epochs))
    sched = get_linear_schedule_with_warmup(opt, int(cfg.warmup_ratio * total), total)
    enc, labels, _ = first_subword_labels(tokenizer, [s["tokens"] for s in train_sents],
                                          [tag_ids(s["upos"]) for s in train_sents], cfg.max_length)
    ids = enc["input_ids"]
    lengths = [len(x) for x in ids]
    gen = torch.Generator().manual_seed(cfg.seed)
    batches: list[list[int]] = []
    losses, history, tokens = [], [], 0
    best = {"accuracy": -1.0}
    best_state = None
    t0 = time.perf_counter()
    eval_seconds = 0.0
    for step in tqdm(range(1, total + 1), desc=desc, unit="step", mininterval=5):
        if not batches:
            batches = length_grouped_batches(lengths, cfg.batch_size, gen)
        idx = batches.pop()
        inputs = _pad(tokenizer, [ids[i] for i in idx], [labels[i] for i in idx], device)
        gold = inputs.pop("labels")
        with autocast(device, cfg.precision):
            logits = model(**inputs)
        loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), gold.flatten(),
                                                 ignore_index=IGNORE_INDEX)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        tokens += sum(lengths[i] for i in idx)
        if step % eval_every == 0 or step == total:
            e0 = time.perf_counter()
            metrics, _ = evaluate_sentences(model, tokenizer, dev_sents, device, max_length=cfg.max_length,
                                            precision=cfg.precision)
            eval_seconds += time.perf_counter() - e0
            history.append({"step": step, "dev_accuracy": round(metrics["accuracy"], 5),
                            "dev_macro_f1": round(metrics["macro_f1"], 5),
                            "train_loss": round(float(np.mean(losses[-eval_every:])), 4)})
            if metrics["accuracy"] > best["accuracy"]:
                best = {"step": step, **metrics}
                best_state = model.trainable_state()
            model.train()
    model.load_state_dict(best_state, strict=False)
    model.eval()
    seconds = time.perf_counter() - t0
    return {"steps": total, "examples_seen": total * cfg.batch_size, "tokens": tokens,
            "seconds": round(seconds, 1), "eval_seconds": round(eval_seconds, 1),
            "train_tflops_per_s": round(6 * non_embedding_params(model) * tokens / max(1e-9, seconds - eval_seconds)
                                        / 1e12, 4),
            "loss_first": round(float(np.mean(losses[:5])), 4), "loss_last": round(float(np.mean(losses[-5:])), 4),
            "selected_step": best["step"], "selected_dev_accuracy": best["accuracy"],
            "selected_dev_macro_f1": best["macro_f1"], "dev_history": history}
