"""Training throughput in fp32 and bf16: our training step against Hugging Face `Trainer` and the
machine's own matrix-multiply rate in both formats, same model, data, batch size and threads.

    python benchmarks/train_speed.py [--steps 30] [--repeats 3] [--out results/benchmarks/cpu_train.json]

(a) ours: `xrobust.training.train` (length-grouped batches, tokenized once, fused AdamW), once
    with `precision: fp32` and once with `precision: bf16` (bf16 autocast of the matrix products;
    weights, gradients, AdamW state and the loss in fp32);
(b) `Trainer` as a user would set it up (`DataCollatorWithPadding`, default random batches, fp32),
    and the same with `group_by_length=True`;
(c) the roofline: GEMMs of the encoder's own shapes (Q/K/V/output and the two FFN layers,
    forward and both backward products) for the mean number of real tokens per batch, in fp32
    and in bf16.
All of them run in one process, alternating, `--repeats` rounds (a busy moment on a shared
machine then slows one round, not one format); each reports the median of its rounds.
`roofline_fraction` = our dense-layer FLOP rate in the precision `auto` chooses on this machine
(6 x non-embedding parameters x real tokens / s; padding counts against us, attention is not
counted) / the GEMM rate of the fastest format.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from report import print_and_write


def gemm_rate(tokens: int, hidden: int, ffn: int, repeats: int = 20, dtype=torch.float32) -> float:
    """GFLOP/s of the GEMMs one encoder layer runs per batch (forward and backward), in the
    proportions the layer runs them, with operands of `dtype` (bf16: what autocast passes to
    the matrix products)."""
    shapes = []
    for n_in, n_out, count in [(hidden, hidden, 4), (hidden, ffn, 1), (ffn, hidden, 1)]:
        shapes += [((tokens, n_in), (n_in, n_out), count),   # forward  Y = X W
                   ((tokens, n_out), (n_out, n_in), count),  # backward dX = dY W^T
                   ((n_in, tokens), (tokens, n_out), count)]  # backward dW = X^T dY
    flops = seconds = 0.0
    for a_shape, b_shape, count in shapes:
        a, b = torch.randn(*a_shape, dtype=dtype), torch.randn(*b_shape, dtype=dtype)
        for _ in range(3):
            torch.mm(a, b)
        t0 = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b)
        dt = (time.perf_counter() - t0) / repeats
        flops += count * 2 * a_shape[0] * a_shape[1] * b_shape[1]
        seconds += count * dt
    return flops / seconds / 1e9


def run_ours(model_name, examples, steps, batch_size, lr, precision, n_labels):
    from xrobust.models import EncoderClassifier, load_encoder
    from xrobust.training import TrainConfig, train

    encoder, tok = load_encoder(model_name)
    clf = EncoderClassifier(encoder, n_labels)
    cfg = TrainConfig(lr=lr, epochs=steps * batch_size / len(examples), batch_size=batch_size,
                      max_length=128, seed=0, precision=precision)
    stats = train(clf, tok, examples, cfg, "cpu", desc=f"ours {precision}")
    return stats, clf


def run_trainer(model_name, examples, steps, batch_size, lr, group_by_length, n_labels):
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from xrobust.models import EncoderClassifier, load_encoder

    encoder, tok = load_encoder(model_name)

    class WithLoss(torch.nn.Module):  # what Trainer expects: labels in, loss out
        def __init__(self, clf):
            super().__init__()
            self.clf, self.tokens = clf, 0

        def forward(self, input_ids, attention_mask, labels=None):
            self.tokens += int(attention_mask.sum())
            logits = self.clf(input_ids, attention_mask)
            return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}

    clf = EncoderClassifier(encoder, n_labels)
    clf.freeze_word_embeddings()
    model = WithLoss(clf)
    ds = Dataset.from_dict({"text": [e.text_a for e in examples], "labels": [e.label for e in examples]})
    ds = ds.map(lambda b: tok(b["text"], truncation=True, max_length=128), batched=True, remove_columns=["text"])
    args = TrainingArguments(output_dir="/tmp/xrobust-trainer-bench", max_steps=steps,
                             per_device_train_batch_size=batch_size, learning_rate=lr, warmup_ratio=0.1,
                             weight_decay=0.01, max_grad_norm=1.0, lr_scheduler_type="linear", use_cpu=True,
                             dataloader_num_workers=0, report_to=[], save_strategy="no", logging_strategy="no",
                             disable_tqdm=True, seed=0, group_by_length=group_by_length,
                             length_column_name="length")
    if group_by_length:
        ds = ds.map(lambda b: {"length": [len(x) for x in b["input_ids"]]}, batched=True)
    trainer = Trainer(model=model, args=args, train_dataset=ds, data_collator=DataCollatorWithPadding(tok))
    out = trainer.train()
    return model.tokens / out.metrics["train_runtime"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="e5-small-offline")
    p.add_argument("--task", default="sib200", help="task whose English training sentences are used")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--pool", type=int, default=701, help="training examples the batches are drawn from")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--repeats", type=int, default=3, help="alternating rounds; the median of each counts")
    p.add_argument("--no-trainer", action="store_true", help="skip the Trainer comparison")
    p.add_argument("--out", default="results/benchmarks/cpu_train.json")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)

    from xrobust.data import load_examples
    from xrobust.params import resolve_precision
    from xrobust.provenance import cpu_native_bf16
    from xrobust.tasks import get_task
    from xrobust.training import non_embedding_params

    examples = load_examples(a.task, "en", "train", max_examples=a.pool, max_words=100)
    n_labels = len(get_task(a.task).labels)
    chosen = resolve_precision("auto", "cpu")
    load_before = os.getloadavg()
    rounds = {k: [] for k in ("fp32", "bf16", "gemm_fp32", "gemm_bf16", "trainer", "trainer_grouped")}
    losses = {"fp32": [], "bf16": []}
    for _ in range(a.repeats):
        for precision in ("fp32", "bf16"):
            stats, clf = run_ours(a.model, examples, a.steps, a.batch_size, 1e-4, precision, n_labels)
            rounds[precision].append(stats["tokens_per_s"])
            losses[precision].append(stats["loss_last"])
        tokens_per_batch = stats["tokens"] / stats["steps"]
        cfg = clf.encoder.config
        for name, dtype in (("gemm_fp32", torch.float32), ("gemm_bf16", torch.bfloat16)):
            rounds[name].append(gemm_rate(round(tokens_per_batch), cfg.hidden_size, cfg.intermediate_size,
                                          dtype=dtype))
        if not a.no_trainer:
            rounds["trainer"].append(run_trainer(a.model, examples, a.steps, a.batch_size, 1e-4, False, n_labels))
            rounds["trainer_grouped"].append(run_trainer(a.model, examples, a.steps, a.batch_size, 1e-4, True,
                                                         n_labels))
    med = {k: float(np.median(v)) if v else None for k, v in rounds.items()}
    flop_per_token = 6 * non_embedding_params(clf)
    gflops = {prec: flop_per_token * med[prec] / 1e9 for prec in ("fp32", "bf16")}
    fastest = max(("fp32", "bf16"), key=lambda k: med[f"gemm_{k}"])
    result = {
        "tokens_per_s_fp32": round(med["fp32"], 1),
        "tokens_per_s_bf16": round(med["bf16"], 1),
        "speedup_bf16": round(med["bf16"] / med["fp32"], 2),
        "gemm_gflops_fp32": round(med["gemm_fp32"], 1),
        "gemm_gflops_bf16": round(med["gemm_bf16"], 1),
        "train_gflops_fp32": round(gflops["fp32"], 1),
        "train_gflops_bf16": round(gflops["bf16"], 1),
        "precision": chosen, "cpu_bf16": cpu_native_bf16(), "fastest_gemm_format": fastest,
        "tokens_per_s": round(med[chosen], 1),
        "roofline_fraction": round(gflops[chosen] / med[f"gemm_{fastest}"], 3),
        "roofline_fraction_fp32_vs_fp32_gemm": round(gflops["fp32"] / med["gemm_fp32"], 3),
        "roofline_fraction_bf16_vs_bf16_gemm": round(gflops["bf16"] / med["gemm_bf16"], 3),
        "loss_last_fp32": losses["fp32"][0], "loss_last_bf16": losses["bf16"][0],
        "padding_fraction": stats["padding_fraction"],
        "tokens_per_batch": round(tokens_per_batch, 1),
        "rounds": {k: [round(x, 1) for x in v] for k, v in rounds.items()},
        "steps": a.steps, "batch_size": a.batch_size, "repeats": a.repeats, "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "model": a.model, "data": f"{a.task} English train, {len(examples)} sentences",
    }
    if not a.no_trainer:
        result.update(trainer_tokens_per_s=round(med["trainer"], 1),
                      trainer_group_by_length_tokens_per_s=round(med["trainer_grouped"], 1),
                      speedup_vs_trainer=round(med[chosen] / med["trainer"], 2))
    out = print_and_write("train_speed", a, result)
    plot(result, Path(a.out).with_suffix(".png"))
    return out


def plot(result: dict, path: Path) -> None:
    """Two panels: training tokens/s and GEMM GFLOP/s, fp32 against bf16, each bar the median of
    its rounds with the rounds as points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    rows = [{"panel": panel, "format": fmt, "value": v}
            for panel, key in (("training step (tokens/s)", ""), ("GEMM, training shapes (GFLOP/s)", "gemm_"))
            for fmt in ("fp32", "bf16") for v in result["rounds"][f"{key}{fmt}"]]
    df = pd.DataFrame(rows)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4))
    for ax, (panel, sub) in zip(axes, df.groupby("panel", sort=False), strict=True):
        sns.barplot(data=sub, x="format", y="value", estimator="median", errorbar=None, ax=ax,
                    hue="format", palette="deep", legend=False)
        sns.stripplot(data=sub, x="format", y="value", color="black", size=4, ax=ax)
        ax.set(title=panel, xlabel="", ylabel=panel.split("(")[1].rstrip(")"))
    fig.suptitle(f"e5-small training, {result['threads']} torch thread(s) on {result['cores']} cores, "
                 f"batch {result['batch_size']}: "
                 f"median of n={result['repeats']} alternating rounds (points); "
                 f"roofline fraction {result['roofline_fraction']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
