"""Attack speed: ours in fp32 and in bf16, and stock TextAttack settings, same model, same
examples, same recipe.

    python benchmarks/attack_speed.py [--checkpoint runs/benchmarks/parity/direct_fp32_checkpoint] [-n 20]

(a) stock: `textattack.Attacker` with the Hugging Face model wrapper as TextAttack ships it
    (every query padded to the tokenizer's maximum length, 512, batches of 32, fp32);
(b) stock_128: the same with the tokenizer's `model_max_length` set to 128, which is what a
    careful user would do for sentence-length inputs (the fair comparison);
(c) ours: `xrobust.attacks.run.attack_examples` with `BatchedModelWrapper` (dynamic padding,
    length-sorted batches, inference mode), once with `precision: fp32` and once with
    `precision: bf16` (bf16 autocast of the model's matrix products; logits returned in fp32),
    alternating in one process for `--repeats` rounds (medians).
All use the same recipe on the same test items. Prints and writes (`--out`) examples/s of each,
the ratios, how many examples got the same outcome and perturbed text in bf16 as in fp32 and in
(a)/(b) as in (c) fp32, the fraction of our attack's wall time in the model's forward pass, and the
machine's load. Without the checkpoint, a short direct SIB-200 target run makes one first.
"""
from __future__ import annotations

import argparse
import copy
import os
import time
from pathlib import Path

import numpy as np
import torch
from report import print_and_write


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="runs/benchmarks/parity/direct_fp32_checkpoint")
    p.add_argument("-n", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3, help="alternating fp32/bf16 rounds of ours (medians)")
    p.add_argument("--no-stock", action="store_true", help="skip the stock TextAttack comparisons")
    p.add_argument("--language", default="de")
    p.add_argument("--recipe", default="char")
    p.add_argument("--out", default="results/benchmarks/attack.json")
    a = p.parse_args(argv)

    from transformers.modeling_outputs import SequenceClassifierOutput

    from xrobust.attacks.recipes import BatchedModelWrapper, build
    from xrobust.attacks.run import attack_examples
    from xrobust.data import load_examples
    from xrobust.models import EncoderClassifier, checkpoint_meta
    from xrobust.params import resolve_precision
    from xrobust.provenance import cpu_native_bf16
    from xrobust.textattack_offline import import_textattack

    ta = import_textattack()
    if not Path(a.checkpoint, "checkpoint.json").is_file():
        a.checkpoint = make_checkpoint()
    load_before = os.getloadavg()
    model, tok, _ = EncoderClassifier.load(a.checkpoint)
    task = checkpoint_meta(a.checkpoint)["task"]
    examples = load_examples(task, a.language, "test", max_examples=a.n, max_words=40)

    class HFStyle(torch.nn.Module):  # what the stock wrapper expects: kwargs in, `.logits` out
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            return SequenceClassifierOutput(logits=self.m(input_ids, attention_mask))

    def stock(max_len):
        """Attacker + HuggingFaceModelWrapper as shipped; the wrapper pads every query to the
        tokenizer's `model_max_length` (512 here; 128 in the careful variant)."""
        t = copy.copy(tok)
        t.model_max_length = max_len
        wrapper = ta.models.wrappers.HuggingFaceModelWrapper.__new__(ta.models.wrappers.HuggingFaceModelWrapper)
        wrapper.model, wrapper.tokenizer, wrapper.max_length = HFStyle(model).eval(), t, None
        attack = build(a.recipe, wrapper, a.language, query_budget=2000)
        attack.goal_function.batch_size = 32  # TextAttack's default model_batch_size
        dataset = ta.datasets.Dataset([(e.text_a, e.label) for e in examples])
        args = ta.AttackArgs(num_examples=len(examples), disable_stdout=True, silent=True, random_seed=0)
        t0 = time.perf_counter()
        results = ta.Attacker(attack, dataset, args).attack_dataset()
        return results, time.perf_counter() - t0

    def ours(precision):
        wrapper = BatchedModelWrapper(model, tok, "cpu", 128, 128, precision)
        attack = build(a.recipe, wrapper, a.language, query_budget=2000)
        t0 = time.perf_counter()
        records = attack_examples(attack, examples, progress=False)
        return records, time.perf_counter() - t0, wrapper

    rounds = {"fp32": [], "bf16": []}
    for _ in range(a.repeats):
        for precision in ("fp32", "bf16"):
            rounds[precision].append(ours(precision))
    chosen = resolve_precision("auto", "cpu")
    seconds = {p: float(np.median([r[1] for r in rs])) for p, rs in rounds.items()}
    runs = {p: rs[0][0] for p, rs in rounds.items()}
    wrapper = rounds[chosen][0][2]

    def key(o):
        return o["outcome"], o.get("perturbed", o["original"])

    def outcome(r):
        name = type(r).__name__
        return ("success" if name.startswith("Successful") else "misclassified" if name.startswith("Skipped")
                else "failed", r.perturbed_result.attacked_text.text)

    def same(stock_results):
        return sum(outcome(s) == (o["outcome"], o.get("perturbed", s.original_result.attacked_text.text))
                   for s, o in zip(stock_results, runs["fp32"], strict=True))

    def success_rate(records):
        won = sum(r["outcome"] == "success" for r in records)
        tried = sum(r["outcome"] in ("success", "failed") for r in records)
        return round(won / tried, 3) if tried else None

    n = len(examples)
    result = {
        "examples": n, "task": task, "language": a.language, "recipe": a.recipe, "checkpoint": a.checkpoint,
        "examples_per_s_fp32": round(n / seconds["fp32"], 3), "examples_per_s_bf16": round(n / seconds["bf16"], 3),
        "speedup_bf16": round(seconds["fp32"] / seconds["bf16"], 2),
        "precision": chosen, "cpu_bf16": cpu_native_bf16(),
        "examples_per_s": round(n / seconds[chosen], 3),
        "identical_bf16_vs_fp32": sum(key(x) == key(y) for x, y in zip(runs["fp32"], runs["bf16"], strict=True)),
        "same_outcome_bf16_vs_fp32": sum(x["outcome"] == y["outcome"]
                                         for x, y in zip(runs["fp32"], runs["bf16"], strict=True)),
        "same_clean_prediction_bf16_vs_fp32": sum(x.get("original_output") == y.get("original_output")
                                                  for x, y in zip(runs["fp32"], runs["bf16"], strict=True)),
        "attack_success_fp32": success_rate(runs["fp32"]), "attack_success_bf16": success_rate(runs["bf16"]),
        "repeatable_across_rounds": all([key(r) for r in rs[0][0]] == [key(r) for r in other[0]]
                                        for rs in rounds.values() for other in rs[1:]),
        "rounds_seconds": {p: [round(r[1], 2) for r in rs] for p, rs in rounds.items()},
        "model_time_fraction": round(wrapper.timer.get("forward", 0.0) / rounds[chosen][0][1], 3),
        "tokenize_time_fraction": round(wrapper.timer.get("tokenize", 0.0) / rounds[chosen][0][1], 3),
        "queries": wrapper.n_calls, "repeats": a.repeats,
    }
    if not a.no_stock:
        stock512, t_stock = stock(512)
        stock128, t_stock128 = stock(128)
        result.update({
            "stock_examples_per_s": round(n / t_stock, 3), "stock_128_examples_per_s": round(n / t_stock128, 3),
            "speedup_vs_stock": round(t_stock / seconds[chosen], 2),
            "speedup_vs_stock_128": round(t_stock128 / seconds[chosen], 2),
            "identical_vs_stock": same(stock512), "identical_vs_stock_128": same(stock128)})
    result.update({"threads": torch.get_num_threads(), "cores": os.cpu_count(),
                   "loadavg_before": [round(x, 2) for x in load_before],
                   "loadavg_after": [round(x, 2) for x in os.getloadavg()]})
    out = print_and_write("attack_speed", a, result)
    plot(result, Path(a.out).with_suffix(".png"))
    return out


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    n = result["examples"]
    # bars: the reported rates (items / median seconds); points: each round
    bars = [{"run": name, "examples/s": result[k]} for name, k in
            (("ours fp32", "examples_per_s_fp32"), ("ours bf16", "examples_per_s_bf16"),
             ("stock 512 (fp32)", "stock_examples_per_s"), ("stock 128 (fp32)", "stock_128_examples_per_s"))
            if k in result]
    points = pd.DataFrame([{"run": f"ours {p}", "examples/s": n / sec} for p in ("fp32", "bf16")
                           for sec in result["rounds_seconds"][p]])
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    sns.barplot(data=pd.DataFrame(bars), x="run", y="examples/s", errorbar=None, ax=ax, hue="run",
                palette="deep", legend=False)
    sns.stripplot(data=points, x="run", y="examples/s", color="black", size=4, ax=ax,
                  order=[b["run"] for b in bars])
    ax.set(xlabel="", title=f"{result['recipe']} attack, {result['task']} {result['language']}, n={n} items, "
                            f"{result['threads']} torch thread(s)\nours: median of {result['repeats']} "
                            f"alternating rounds (points); bf16 = fp32 on {result['identical_bf16_vs_fp32']}/{n} items")
    ax.title.set_fontsize(9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def make_checkpoint(out_dir="runs/benchmarks/target_sib200"):
    """A direct SIB-200 model that learned (English, 4 epochs of 701 sentences: 88 steps of 32)."""
    from xrobust.experiment import run_target

    run_target(model="e5-small-offline", task="sib200", out_dir=out_dir, languages=["en", "de"], seed=0,
               lr=1e-4, epochs=4.0, batch_size=32, max_train_examples=701, max_eval_examples=204,
               max_words=100, max_length=128)
    return f"{out_dir}/checkpoint"


if __name__ == "__main__":
    main()
