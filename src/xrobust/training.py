"""Fine-tuning and prediction, shared by the intermediate and the target stage.

One code path for both conditions of the paper: `train` takes an `EncoderClassifier` (fresh
or carrying an intermediate-trained encoder) and a list of `Example`s. Batches are padded to
their longest member (dynamic padding). `precision: auto` is bf16 autocast on CUDA and on a
CPU with native bf16 (AVX512-BF16 or AMX), fp32 elsewhere (`params.resolve_precision`). Under
bf16 the matrix products run in bf16 and so do the activations between them (layer norm,
GELU and softmax read bf16 and accumulate in fp32 inside their kernels); the weights,
gradients, AdamW state, the loss (cross-entropy on fp32 logits) and returned logits stay fp32. CPU kernels
are deterministic, so the same seed gives the same numbers on the same machine (across
machines up to floating-point differences: the BLAS library's code path may differ by CPU).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
from tqdm.auto import tqdm

from .examples import Example
from .params import PRECISIONS, TrainingParams, param, resolve_precision  # noqa: F401  (PRECISIONS: re-exported)


@dataclass
class TrainConfig(TrainingParams):
    """What `train` needs: the step's training parameters (declared in `params.TrainingParams`)
    plus settings the experiments keep fixed."""

    warmup_ratio: float = param(0.1, "Fraction of steps with linearly rising learning rate.", low=0, high=1)
    weight_decay: float = param(0.01, "AdamW weight decay of matrices (not biases or norms).", low=0, high=1)

    @classmethod
    def from_step(cls, step: TrainingParams, precision: str) -> "TrainConfig":
        """The training settings of a validated step, with its precision resolved for the device."""
        shared = {f.name: getattr(step, f.name) for f in fields(TrainingParams)}
        return cls(**{**shared, "precision": precision}).validate()

    def as_dict(self) -> dict:
        return asdict(self)


def set_seed(seed: int, full_determinism: bool = False) -> None:
    """Seed Python, NumPy and torch on every device (`transformers.set_seed`). With
    `full_determinism`, also deterministic kernels via `transformers.enable_full_determinism`
    (warn-only: an op without a deterministic kernel warns instead of failing). That call sets
    CUDA_LAUNCH_BLOCKING=1 for the process, which slows GPU runs."""
    import transformers

    if full_determinism:
        transformers.enable_full_determinism(seed, warn_only=True)
    else:
        transformers.set_seed(seed)


def autocast(device: torch.device, precision: str):
    """bf16 autocast for 'bf16' ('auto' resolved for the device first), none for 'fp32'."""
    if resolve_precision(precision, device) == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return torch.autocast(device_type=device.type, enabled=False)


def encode(tokenizer, examples: list[Example], max_length: int, device) -> dict:
    firsts = [e.text_a for e in examples]
    seconds = [e.text_b for e in examples] if examples and examples[0].text_b is not None else None
    batch = tokenizer(firsts, seconds, truncation=True, max_length=max_length, padding="longest",
                      return_tensors="pt")
    return {k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}


def non_embedding_params(model: torch.nn.Module) -> int:
    emb = {id(p) for n, p in model.named_parameters() if "embeddings" in n}
    return sum(p.numel() for p in model.parameters() if id(p) not in emb)


def length_grouped_batches(lengths: list[int], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """One epoch of batches whose members have similar lengths (Hugging Face's
    `get_length_grouped_indices`: shuffle, sort within mega-batches), in shuffled order.
    Padding to the longest member then wastes little compute: with random batches about half
    of every MultiEmo batch was padding."""
    from transformers.trainer_pt_utils import get_length_grouped_indices

    order = get_length_grouped_indices(lengths, batch_size, generator=generator)
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    # the library puts the longest batch first and sorts each mega-batch by length; shuffling the
    # batches keeps the learning-rate schedule from seeing long-to-short sweeps
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def start_training(model, cfg: TrainConfig, device) -> tuple[torch.device, torch.optim.Optimizer, list]:
    """What every training loop of the package does first (classifiers and taggers alike): deterministic
    kernels on CPU, the seed, the frozen word embeddings, train mode on `device`, and AdamW with weight
    decay on matrices only. Returns (device, optimizer, the trained parameters)."""
    device = torch.device(device)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    set_seed(cfg.seed)
    if cfg.freeze_embeddings:
        model.freeze_word_embeddings()
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, fused=True)
    return device, opt, params


def train(model, tokenizer, examples: list[Example], cfg: TrainConfig, device, desc="train",
          loss_curve: bool = False) -> dict:
    """Train `model` in place; return throughput and loss statistics (with `loss_curve`, also
    every step's loss as `losses`).

    Examples are tokenized once; batches group similar lengths; the loss stays on the device
    until the end (no host sync per step, which matters on GPUs)."""
    from transformers import get_linear_schedule_with_warmup

    cfg.validate()
    if not examples:
        raise ValueError("no training examples (check 'max_train_examples' and the data source)")
    device, opt, params = start_training(model, cfg, device)
    steps_per_epoch = math.ceil(len(examples) / cfg.batch_size)
    total = max(1, round(steps_per_epoch * cfg.epochs))
    sched = get_linear_schedule_with_warmup(opt, int(cfg.warmup_ratio * total), total)
    seconds_a = [e.text_b for e in examples] if examples[0].text_b is not None else None
    features = tokenizer([e.text_a for e in examples], seconds_a, truncation=True, max_length=cfg.max_length)
    ids = features["input_ids"]
    lengths = [len(x) for x in ids]
    labels_all = torch.tensor([e.label for e in examples])
    gen = torch.Generator().manual_seed(cfg.seed)
    batches: list[list[int]] = []
    losses, tokens, padded, t0 = [], 0, 0, time.perf_counter()
    for _ in tqdm(range(total), desc=desc, unit="step", mininterval=2):
        if not batches:
            batches = length_grouped_batches(lengths, cfg.batch_size, gen)
        idx = batches.pop()
        inputs = tokenizer.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt")
        inputs = {k: v.to(device, non_blocking=True) for k, v in inputs.items() if k in ("input_ids", "attention_mask")}
        labels = labels_all[idx].to(device, non_blocking=True)
        with autocast(device, cfg.precision):
            logits = model(**inputs)
        loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.detach())
        tokens += sum(lengths[i] for i in idx)
        padded += len(idx) * max(lengths[i] for i in idx)
    losses = torch.stack(losses).float().cpu().numpy()  # the only host sync of the loop
    seconds = time.perf_counter() - t0
    model.eval()
    flops = 6 * non_embedding_params(model) * tokens  # dense-layer FLOPs of real tokens, attention ignored
    return {"steps": total, "examples_seen": total * cfg.batch_size, "tokens": tokens,
            "padding_fraction": round(1 - tokens / padded, 4),
            "seconds": round(seconds, 3), "tokens_per_s": round(tokens / seconds, 1),
            "train_tflops_per_s": round(flops / seconds / 1e12, 4),
            "loss_first": round(float(np.mean(losses[:5])), 4),
            "loss_last": round(float(np.mean(losses[-5:])), 4),
            **({"losses": [round(float(x), 4) for x in losses]} if loss_curve else {})}


@torch.inference_mode()
def predict_logits(model, tokenizer, examples: list[Example], device, batch_size=64, max_length=128,
                   precision="auto", progress=False, timer: dict | None = None) -> np.ndarray:
    """Logits, batched by similar length (fewer pad tokens) and returned in input order.
    `timer`, if given, accumulates seconds spent tokenizing and in the forward pass."""
    device = torch.device(device)
    model.eval()
    out = np.zeros((len(examples), model.num_labels), dtype=np.float32)
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].text_a) + len(examples[i].text_b or ""))
    chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    for idx in tqdm(chunks, desc="predict", disable=not progress, mininterval=2):
        t0 = time.perf_counter()
        inputs = encode(tokenizer, [examples[i] for i in idx], max_length, device)
        t1 = time.perf_counter()
        with autocast(device, precision):
            logits = model(**inputs)
        out[idx] = logits.float().cpu().numpy()  # the copy waits for the device
        if timer is not None:
            timer["tokenize"] = timer.get("tokenize", 0.0) + t1 - t0
            timer["forward"] = timer.get("forward", 0.0) + time.perf_counter() - t1
    return out


def predict_proba(*args, **kwargs) -> np.ndarray:
    logits = torch.from_numpy(predict_logits(*args, **kwargs))
    return torch.softmax(logits, dim=-1).numpy()


def evaluate(model, tokenizer, examples: list[Example], device, batch_size=64, max_length=128,
             precision="auto") -> dict:
    """Accuracy and macro-F1 (the mean over the classes that occur in the gold labels or the
    predictions, as scikit-learn defines it)."""
    from sklearn.metrics import accuracy_score, f1_score

    if not examples:
        return {"n": 0, "accuracy": float("nan"), "macro_f1": float("nan"), "majority_rate": float("nan")}
    probs = predict_proba(model, tokenizer, examples, device, batch_size, max_length, precision)
    pred = probs.argmax(-1)
    gold = np.array([e.label for e in examples])
    macro_f1 = f1_score(gold, pred, average="macro", zero_division=0)
    # the constant predictor of the most frequent gold label: the bar a model must clear
    majority_rate = float(np.bincount(gold).max() / len(gold))
    return {"n": len(examples), "accuracy": float(accuracy_score(gold, pred)),
            "macro_f1": float(macro_f1), "majority_rate": majority_rate, "predictions": pred.tolist()}
