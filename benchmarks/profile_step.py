"""Where the time of a training step and of an attack goes, in fp32 and in bf16 (torch.profiler).

    python benchmarks/profile_step.py [--checkpoint runs/benchmarks/parity/direct_fp32_checkpoint]
        [--out results/benchmarks/profile.json]

(a) training: `--steps` steps of the e5-small classifier as `xrobust.training.train` runs them
    (batch 32 of SIB-200 English sentences, frozen word embeddings, fused AdamW, clipping), after
    two warm-up steps;
(b) attack: the char recipe on `--items` German SIB-200 test items with `BatchedModelWrapper`
    (the checkpoint's model; a fresh head if there is none).
Each runs in fp32 (the format before the switch) and in bf16 (after), alternating in one process.
For each: the wall time, the share of the profiled operator time spent in matrix products
(aten::mm/addmm/bmm/linear/matmul and the fused attention kernel; self time, so a product is
not counted twice through its callers), and the top operators by self time.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
from report import print_and_write

GEMM = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::matmul", "aten::linear",
        "aten::_scaled_dot_product_flash_attention_for_cpu",
        "aten::_scaled_dot_product_flash_attention_for_cpu_backward", "mkldnn")


def summarize(prof, wall: float, top: int) -> dict:
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    gemm = sum(e.self_cpu_time_total for e in events if e.key.startswith(GEMM))
    events.sort(key=lambda e: -e.self_cpu_time_total)
    return {"wall_s": round(wall, 3), "profiled_op_s": round(total / 1e6, 3), "gemm_share": round(gemm / total, 3),
            "top_ops": [{"op": e.key, "self_s": round(e.self_cpu_time_total / 1e6, 3),
                         "share": round(e.self_cpu_time_total / total, 3), "calls": e.count} for e in events[:top]]}


def profile_training(model_name, examples, precision, steps, top):
    from transformers import get_linear_schedule_with_warmup

    from xrobust.models import EncoderClassifier, load_encoder
    from xrobust.training import autocast, length_grouped_batches, set_seed

    set_seed(0)
    encoder, tok = load_encoder(model_name)
    clf = EncoderClassifier(encoder, 7)
    clf.freeze_word_embeddings()
    clf.train()
    params = [p for p in clf.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, fused=True)
    sched = get_linear_schedule_with_warmup(opt, 2, 100)
    ids = tok([e.text_a for e in examples], truncation=True, max_length=128)["input_ids"]
    labels = torch.tensor([e.label for e in examples])
    batches = length_grouped_batches([len(x) for x in ids], 32, torch.Generator().manual_seed(0))
    device = torch.device("cpu")

    def step(idx):
        inputs = tok.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt")
        with autocast(device, precision):
            logits = clf(inputs["input_ids"], inputs["attention_mask"])
        loss = torch.nn.functional.cross_entropy(logits.float(), labels[idx])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(2):
        step(batches.pop())
    chosen = [batches.pop() for _ in range(steps)]
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        for idx in chosen:
            step(idx)
        wall = time.perf_counter() - t0
    out = summarize(prof, wall, top)
    out["tokens"] = sum(len(ids[i]) for idx in chosen for i in idx)
    out["steps"] = steps
    return out


def profile_attack(clf, tok, examples, precision, language, top):
    from xrobust.attacks.recipes import BatchedModelWrapper, build
    from xrobust.attacks.run import attack_examples

    wrapper = BatchedModelWrapper(clf, tok, "cpu", 128, 128, precision)
    attack = build("char", wrapper, language, query_budget=2000)
    attack_examples(attack, examples[:1], progress=False)  # warm-up
    wrapper.timer.clear()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        records = attack_examples(attack, examples, progress=False)
        wall = time.perf_counter() - t0
    out = summarize(prof, wall, top)
    out["queries"] = sum(r.get("num_queries", 0) for r in records)
    out["forward_share_of_wall"] = round(wrapper.timer.get("forward", 0.0) / wall, 3)
    out["items"] = len(examples)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="e5-small-offline")
    p.add_argument("--checkpoint", default="runs/benchmarks/parity/direct_fp32_checkpoint")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--items", type=int, default=6)
    p.add_argument("--language", default="de")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--out", default="results/benchmarks/profile.json")
    a = p.parse_args(argv)

    from xrobust.data import load_examples
    from xrobust.models import EncoderClassifier, load_encoder

    train_ex = load_examples("sib200", "en", "train")
    test_ex = load_examples("sib200", a.language, "test", max_examples=a.items, max_words=40)
    if Path(a.checkpoint, "checkpoint.json").is_file():
        clf, tok, _ = EncoderClassifier.load(a.checkpoint)
    else:
        encoder, tok = load_encoder(a.model)
        clf = EncoderClassifier(encoder, 7)
    clf.eval()
    load_before = os.getloadavg()
    result = {"training": {}, "attack": {}}
    for precision in ("fp32", "bf16"):
        result["training"][precision] = profile_training(a.model, train_ex, precision, a.steps, a.top)
        result["attack"][precision] = profile_attack(clf, tok, test_ex, precision, a.language, a.top)
    result.update({"checkpoint": a.checkpoint if Path(a.checkpoint, "checkpoint.json").is_file() else None,
                   "threads": torch.get_num_threads(), "cores": os.cpu_count(),
                   "loadavg_before": [round(x, 2) for x in load_before],
                   "loadavg_after": [round(x, 2) for x in os.getloadavg()]})
    return print_and_write("profile_step", a, result)


if __name__ == "__main__":
    main()
