"""Fine-tuning and prediction, shared by the intermediate and the target stage.

One code path for both conditions of the paper: `train` takes an `EncoderClassifier` (fresh
or carrying an intermediate-trained encoder) and a list of `Example`s. Batches are padded to
their longest member (dynamic padding); on CUDA we use bf16 autocast, on CPU fp32 with
deterministic kernels so the same seed gives the same numbers.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .data import Example

PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class TrainConfig:
    lr: float = 3e-5
    epochs: float = 2.0
    batch_size: int = 32
    max_length: int = 128
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    seed: int = 0
    freeze_embeddings: bool = True
    precision: str = "auto"

    def validate(self) -> "TrainConfig":
        from .params import check_number, check_choice

        check_number("lr", self.lr, low=1e-7, high=1e-2)
        check_number("epochs", self.epochs, low=0.01, high=100)
        check_number("batch_size", self.batch_size, low=1, high=4096, integer=True)
        check_number("max_length", self.max_length, low=8, high=4096, integer=True)
        check_number("warmup_ratio", self.warmup_ratio, low=0, high=1)
        check_number("weight_decay", self.weight_decay, low=0, high=1)
        check_number("seed", self.seed, low=0, high=2**31 - 1, integer=True)
        check_choice("precision", self.precision, PRECISIONS)
        return self

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


def _autocast(device: torch.device, precision: str):
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    if use_bf16:
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


def train(model, tokenizer, examples: list[Example], cfg: TrainConfig, device, desc="train") -> dict:
    """Train `model` in place; return throughput and loss statistics."""
    from transformers import get_linear_schedule_with_warmup

    cfg.validate()
    if not examples:
        raise ValueError("no training examples (check 'max_train_examples' and the data source)")
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
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    steps_per_epoch = math.ceil(len(examples) / cfg.batch_size)
    total = max(1, round(steps_per_epoch * cfg.epochs))
    sched = get_linear_schedule_with_warmup(opt, int(cfg.warmup_ratio * total), total)
    gen = torch.Generator().manual_seed(cfg.seed)
    order: list[int] = []
    losses, tokens, t0 = [], 0, time.perf_counter()
    for step in tqdm(range(total), desc=desc, unit="step", mininterval=2):
        if not order:
            order = torch.randperm(len(examples), generator=gen).tolist()
        idx, order = order[:cfg.batch_size], order[cfg.batch_size:]
        batch = [examples[i] for i in idx]
        inputs = encode(tokenizer, batch, cfg.max_length, device)
        labels = torch.tensor([e.label for e in batch], device=device)
        with _autocast(device, cfg.precision):
            logits = model(**inputs)
        loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        tokens += int(inputs["attention_mask"].sum())
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    model.eval()
    flops = 6 * non_embedding_params(model) * tokens  # dense-layer FLOPs, attention ignored
    return {"steps": total, "examples_seen": total * cfg.batch_size, "tokens": tokens,
            "seconds": round(seconds, 3), "tokens_per_s": round(tokens / seconds, 1),
            "train_tflops_per_s": round(flops / seconds / 1e12, 4),
            "loss_first": round(float(np.mean(losses[:5])), 4),
            "loss_last": round(float(np.mean(losses[-5:])), 4)}


@torch.inference_mode()
def predict_logits(model, tokenizer, examples: list[Example], device, batch_size=64, max_length=128,
                   precision="auto", progress=False) -> np.ndarray:
    """Logits, batched by similar length (fewer pad tokens) and returned in input order."""
    device = torch.device(device)
    model.eval()
    out = np.zeros((len(examples), model.num_labels), dtype=np.float32)
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].text_a) + len(examples[i].text_b or ""))
    chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    for idx in tqdm(chunks, desc="predict", disable=not progress, mininterval=2):
        inputs = encode(tokenizer, [examples[i] for i in idx], max_length, device)
        with _autocast(device, precision):
            logits = model(**inputs)
        out[idx] = logits.float().cpu().numpy()
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
        return {"n": 0, "accuracy": float("nan"), "macro_f1": float("nan")}
    probs = predict_proba(model, tokenizer, examples, device, batch_size, max_length, precision)
    pred = probs.argmax(-1)
    gold = np.array([e.label for e in examples])
    macro_f1 = f1_score(gold, pred, average="macro", zero_division=0)
    return {"n": len(examples), "accuracy": float(accuracy_score(gold, pred)),
            "macro_f1": float(macro_f1), "predictions": pred.tolist()}
