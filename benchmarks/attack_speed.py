"""Attack speed: stock TextAttack settings versus ours, same model, same examples, same recipe.

    python benchmarks/attack_speed.py [--checkpoint runs/default/target/direct_s0/checkpoint] [-n 30]

(a) stock: `textattack.Attacker` with the Hugging Face model wrapper as TextAttack ships it
    (every query padded to the tokenizer's maximum length, 512, batches of 32, fp32);
(b) stock_128: the same with the tokenizer's `model_max_length` set to 128, which is what a
    careful user would do for sentence-length inputs (the fair comparison);
(c) ours: `xrobust.attacks.run.attack_examples` with `BatchedModelWrapper` (dynamic padding,
    length-sorted batches, inference mode).
All use the same recipe on the same test items. Prints and writes (`--out`) examples/s, both
ratios, the fraction of our attack's wall time spent in the model's forward pass, the machine's
load, and how many examples got the same outcome and perturbed text in (a)/(b) as in (c).
Without the checkpoint, a short direct target run makes one first.
"""
from __future__ import annotations

import argparse
import copy
import os
import time
from pathlib import Path

import torch
from report import print_and_write


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="runs/default/target/direct_s0/checkpoint")
    p.add_argument("-n", type=int, default=30)
    p.add_argument("--language", default="de")
    p.add_argument("--recipe", default="char")
    p.add_argument("--out", default="results/benchmarks/attack.json")
    a = p.parse_args(argv)

    from transformers.modeling_outputs import SequenceClassifierOutput

    from xrobust.attacks.recipes import BatchedModelWrapper, build
    from xrobust.attacks.run import attack_examples
    from xrobust.data import load_examples
    from xrobust.models import EncoderClassifier, checkpoint_meta
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

    stock512, t_stock = stock(512)
    stock128, t_stock128 = stock(128)

    wrapper = BatchedModelWrapper(model, tok)
    ours_attack = build(a.recipe, wrapper, a.language, query_budget=2000)
    t0 = time.perf_counter()
    ours = attack_examples(ours_attack, examples, progress=False)
    t_ours = time.perf_counter() - t0

    def outcome(r):
        name = type(r).__name__
        return ("success" if name.startswith("Successful") else "misclassified" if name.startswith("Skipped")
                else "failed", r.perturbed_result.attacked_text.text)

    def same(stock_results):
        return sum(outcome(s) == (o["outcome"], o.get("perturbed", s.original_result.attacked_text.text))
                   for s, o in zip(stock_results, ours, strict=True))

    n = len(examples)
    result = {
        "examples": n, "task": task, "language": a.language, "recipe": a.recipe, "checkpoint": a.checkpoint,
        "stock_examples_per_s": round(n / t_stock, 3), "stock_128_examples_per_s": round(n / t_stock128, 3),
        "examples_per_s": round(n / t_ours, 3),
        "speedup_vs_stock": round(t_stock / t_ours, 2), "speedup_vs_stock_128": round(t_stock128 / t_ours, 2),
        "model_time_fraction": round(wrapper.timer.get("forward", 0.0) / t_ours, 3),
        "tokenize_time_fraction": round(wrapper.timer.get("tokenize", 0.0) / t_ours, 3),
        "queries": wrapper.n_calls,
        "identical_vs_stock": same(stock512), "identical_vs_stock_128": same(stock128),
        "threads": torch.get_num_threads(), "cores": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    return print_and_write("attack_speed", a, result)


def make_checkpoint(out_dir="runs/benchmarks/target"):
    """A direct MultiEmo model that learned (about 3 minutes on 2 cores)."""
    from xrobust.experiment import run_target

    run_target(model="e5-small-offline", task="multiemo", out_dir=out_dir, languages=["en", "de"], seed=0,
               lr=1e-4, epochs=1.0, batch_size=32, max_train_examples=3200, max_eval_examples=300,
               max_length=96)
    return f"{out_dir}/checkpoint"


if __name__ == "__main__":
    main()
