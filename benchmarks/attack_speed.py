"""Attack speed: stock TextAttack settings versus ours, same model, same examples, same recipe.

    python benchmarks/attack_speed.py [--checkpoint runs/default/target/direct_s0/checkpoint] [-n 30]

(a) stock: `textattack.Attacker` with the Hugging Face model wrapper as TextAttack ships it
    (every query padded to the tokenizer's maximum length, 512, batches of 32, fp32);
(b) ours: `xrobust.attacks.run.attack_examples` with `BatchedModelWrapper` (dynamic padding,
    length-sorted batches, inference mode).
Both use the same `char` recipe on the same German test items. Prints examples/s for both, the
ratio, and whether every example got the same outcome and the same perturbed text.
"""
from __future__ import annotations

import argparse
import time

import torch


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="runs/default/target/direct_s0/checkpoint")
    p.add_argument("-n", type=int, default=30)
    p.add_argument("--language", default="de")
    p.add_argument("--recipe", default="char")
    a = p.parse_args(argv)

    from transformers.modeling_outputs import SequenceClassifierOutput

    from xrobust.attacks.recipes import BatchedModelWrapper, build
    from xrobust.attacks.run import attack_examples
    from xrobust.data import load_examples
    from xrobust.models import EncoderClassifier, checkpoint_meta
    from xrobust.textattack_offline import import_textattack

    ta = import_textattack()
    model, tok, _ = EncoderClassifier.load(a.checkpoint)
    task = checkpoint_meta(a.checkpoint)["task"]
    examples = load_examples(task, a.language, "test", max_examples=a.n, max_words=40)

    class HFStyle(torch.nn.Module):  # what the stock wrapper expects: kwargs in, `.logits` out
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            return SequenceClassifierOutput(logits=self.m(input_ids, attention_mask))

    stock_wrapper = ta.models.wrappers.HuggingFaceModelWrapper.__new__(ta.models.wrappers.HuggingFaceModelWrapper)
    stock_wrapper.model, stock_wrapper.tokenizer, stock_wrapper.max_length = HFStyle(model).eval(), tok, None
    stock_attack = build(a.recipe, stock_wrapper, a.language, query_budget=2000)
    stock_attack.goal_function.batch_size = 32  # TextAttack's default model_batch_size
    dataset = ta.datasets.Dataset([(e.text_a, e.label) for e in examples])
    args = ta.AttackArgs(num_examples=len(examples), disable_stdout=True, silent=True, random_seed=0)
    t0 = time.perf_counter()
    stock = ta.Attacker(stock_attack, dataset, args).attack_dataset()
    t_stock = time.perf_counter() - t0

    ours_attack = build(a.recipe, BatchedModelWrapper(model, tok), a.language, query_budget=2000)
    t0 = time.perf_counter()
    ours = attack_examples(ours_attack, examples, progress=False)
    t_ours = time.perf_counter() - t0

    def outcome(r):
        name = type(r).__name__
        return ("success" if name.startswith("Successful") else "misclassified" if name.startswith("Skipped")
                else "failed", r.perturbed_result.attacked_text.text)

    same = sum(outcome(s) == (o["outcome"], o.get("perturbed", s.original_result.attacked_text.text))
               for s, o in zip(stock, ours))
    print(f"examples: {len(examples)} ({task}, {a.language}, recipe {a.recipe}, {a.checkpoint})")
    print(f"stock TextAttack: {len(examples) / t_stock:.2f} examples/s ({t_stock:.1f} s)")
    print(f"ours:             {len(examples) / t_ours:.2f} examples/s ({t_ours:.1f} s)")
    print(f"speed-up: {t_stock / t_ours:.1f}x; identical outcome and perturbed text: {same}/{len(examples)}")


if __name__ == "__main__":
    main()
