"""Quality parity of bf16 and fp32: the same seeds trained, evaluated and attacked in each format.

    python benchmarks/precision_parity.py [--task sib200] [--seeds 0 1 2] [--steps 120]
        [--languages en de zh ar hi sw] [--out results/benchmarks/precision_parity.json]

For every seed and condition, one model is trained with `precision: fp32` and one with
`precision: bf16` (the same seed: the same head initialisation, batch order and dropout masks);
each is evaluated in its own format on the same test items (accuracy and macro-F1 per language)
and attacked in its own format with the `char` recipe on the same pool of items. The formats
alternate within each seed, so a busy moment on a shared machine hits both.

Parity is judged against seed-to-seed noise: per language and metric, the mean paired
difference bf16 - fp32 over seeds is set beside the standard deviation across seeds within
one format. Writes the table, the loss curves and a figure (`--out` with .png).
Conditions: `direct` (the encoder as released), and with `--intermediate TASK` also an
intermediate condition (English TASK first, same steps, then the target task).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from report import print_and_write

PRECISIONS = ("fp32", "bf16")


def eval_items(task, languages):
    """Test items per language: the parallel test split of a multilingual task (SIB-200: the same
    204 items in every language), the validation split of an English-only one."""
    from xrobust.data import load_examples

    split = "test" if len(task.languages) > 1 else "validation"
    return {lang: load_examples(task, lang, split) for lang in languages}


def train_model(model_name, task, train_ex, steps, args, precision, seed, start=None):
    from xrobust.models import EncoderClassifier, load_encoder
    from xrobust.training import TrainConfig, set_seed, train

    set_seed(seed)  # the new head's initialisation depends on it
    if start is not None:
        clf, tok, _ = EncoderClassifier.load(start)
        clf.new_head(len(task.labels))
    else:
        encoder, tok = load_encoder(model_name)
        clf = EncoderClassifier(encoder, len(task.labels))
    cfg = TrainConfig(lr=args.lr, epochs=steps * args.batch_size / len(train_ex), batch_size=args.batch_size,
                      max_length=args.max_length, seed=seed, precision=precision)
    stats = train(clf, tok, train_ex, cfg, "cpu", desc=f"{task.name} {precision} s{seed}", loss_curve=True)
    return clf, tok, stats


def attack_model(clf, tok, items, precision, language, args):
    from xrobust.attacks.recipes import BatchedModelWrapper, build
    from xrobust.attacks.run import attack_examples, summarize

    wrapper = BatchedModelWrapper(clf, tok, "cpu", 128, args.max_length, precision)
    attack = build("char", wrapper, language, query_budget=2000, seed=0)
    records = attack_examples(attack, items, progress=False)
    return summarize(records), [r["outcome"] for r in records]


def run(args):
    from xrobust.data import load_examples
    from xrobust.tasks import get_task
    from xrobust.training import evaluate

    task = get_task(args.task)
    train_ex = load_examples(task, task.source_language, "train", max_examples=args.max_train,
                             max_words=args.max_words)
    evals = {lang: items[:args.max_eval] for lang, items in eval_items(task, args.languages).items()}
    attack_items = {lang: evals[lang][:args.attack_n] for lang in args.attack_languages}
    inter_task = get_task(args.intermediate) if args.intermediate else None
    inter_ex = load_examples(inter_task, "en", "train", max_examples=args.max_inter_train, max_words=args.max_words) \
        if inter_task else None
    conditions = ["direct"] + ([f"inter-{inter_task.name}"] if inter_task else [])
    runs = []
    for condition in conditions:  # all seeds of one condition before the next: a stopped run has whole conditions
        for seed in args.seeds:
            for precision in PRECISIONS:
                t0 = time.perf_counter()
                start = None
                if condition != "direct":
                    inter, _, _ = train_model(args.model, inter_task, inter_ex, args.steps, args, precision, seed)
                    start = Path(args.scratch) / f"{condition}_{precision}_s{seed}"
                    inter.save(start, base_model=args.model, extra={"task": inter_task.name, "seed": seed})
                clf, tok, stats = train_model(args.model, task, train_ex, args.steps, args, precision, seed, start)
                if (condition, precision, seed) == ("direct", "fp32", args.seeds[0]):  # for benchmarks/attack_speed.py
                    clf.save(Path(args.scratch) / "direct_fp32_checkpoint", base_model=args.model,
                             extra={"task": task.name, "seed": seed, "condition": condition})
                rows = []
                for lang, items in evals.items():
                    m = evaluate(clf, tok, items, "cpu", max_length=args.max_length, precision=precision)
                    rows.append({"language": lang, "n": m["n"], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                                 "predictions": m["predictions"]})
                attacks = []
                for lang, items in attack_items.items():
                    summary, outcomes = attack_model(clf, tok, items, precision, lang, args)
                    attacks.append({"language": lang, "recipe": "char", **summary, "outcomes": outcomes})
                runs.append({"seed": seed, "precision": precision, "condition": condition,
                             "loss_first": stats["loss_first"], "loss_last": stats["loss_last"],
                             "losses": stats["losses"], "tokens_per_s": stats["tokens_per_s"],
                             "per_language": rows, "attack": attacks,
                             "seconds": round(time.perf_counter() - t0, 1)})
                Path(args.scratch).mkdir(parents=True, exist_ok=True)
                Path(args.scratch, "runs.json").write_text(json.dumps(runs))  # so far (for --from-runs)
                print(f"seed {seed} {precision} {condition}: loss {stats['loss_first']} -> {stats['loss_last']}, "
                      f"accuracy " + " ".join(f"{r['language']} {r['accuracy']:.3f}" for r in rows)
                      + ", attack success " + " ".join(f"{a['language']} {a['attack_success_rate']:.2f}"
                                                       for a in attacks), flush=True)
    return runs, conditions


def parity_table(runs, conditions, all_seeds):
    """Per condition, language and metric: mean over seeds in each format, the mean paired
    difference bf16 - fp32, and the seed-to-seed standard deviation within each format."""
    by = {(r["condition"], r["precision"], r["seed"]): r for r in runs}
    table = []
    for cond in conditions:
        seeds = [s for s in all_seeds if (cond, "fp32", s) in by and (cond, "bf16", s) in by]
        first = by[(cond, "fp32", seeds[0])]
        metrics = [(row["language"], m, lambda r, lang=row["language"], m=m:
                    next(x[m] for x in r["per_language"] if x["language"] == lang))
                   for row in first["per_language"] for m in ("accuracy", "macro_f1")]
        metrics += [(a["language"], "attack_success_rate", lambda r, lang=a["language"]:
                     next(x["attack_success_rate"] for x in r["attack"] if x["language"] == lang))
                    for a in first["attack"]]
        metrics += [("all", "loss_last", lambda r: r["loss_last"])]
        for lang, metric, get in metrics:
            vals = {p: np.array([get(by[(cond, p, s)]) for s in seeds], dtype=float) for p in PRECISIONS}
            diff = vals["bf16"] - vals["fp32"]
            sd = {p: float(np.std(vals[p], ddof=1)) if len(seeds) > 1 else float("nan") for p in PRECISIONS}
            noise = float(np.nanmean([sd["fp32"], sd["bf16"]]))
            row = {"condition": cond, "language": lang, "metric": metric, "n_seeds": len(seeds),
                   "fp32_mean": round(float(vals["fp32"].mean()), 4), "bf16_mean": round(float(vals["bf16"].mean()), 4),
                   "diff_mean": round(float(diff.mean()), 4), "diff_max_abs": round(float(np.abs(diff).max()), 4),
                   "seed_sd_fp32": round(sd["fp32"], 4), "seed_sd_bf16": round(sd["bf16"], 4),
                   "within_noise": bool(abs(diff.mean()) <= noise) if noise == noise else None}
            if metric == "accuracy":  # the same items: how often the two formats' models agree
                preds = [(next(x["predictions"] for x in by[(cond, p, s)]["per_language"] if x["language"] == lang)
                          for p in PRECISIONS) for s in seeds]
                row["prediction_agreement"] = round(float(np.mean([np.mean(np.equal(a, b)) for a, b in preds])), 4)
            table.append(row)
    return table


def plot(result, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    runs = result["runs"]
    acc = pd.DataFrame([{"condition": r["condition"], "precision": r["precision"], "seed": r["seed"],
                         "language": x["language"], "accuracy": x["accuracy"], "macro-F1": x["macro_f1"]}
                        for r in runs for x in r["per_language"]])
    att = pd.DataFrame([{"condition": r["condition"], "precision": r["precision"], "seed": r["seed"],
                         "language": a["language"], "attack success": a["attack_success_rate"]}
                        for r in runs for a in r["attack"]])
    curves = pd.DataFrame([{"condition": r["condition"], "precision": r["precision"], "seed": r["seed"],
                            "step": i + 1, "loss": v}
                           for r in runs for i, v in enumerate(pd.Series(r["losses"]).rolling(10, min_periods=1)
                                                              .mean())])
    if len(result["conditions"]) > 1:  # one column per language and condition
        for df in (acc, att):
            df["language"] = df["language"] + "\n" + df["condition"]
    wide = len(result["conditions"]) > 1
    fig, axes = plt.subplots(1, 4, figsize=(22 if wide else 17, 4.2 if wide else 3.8),
                             gridspec_kw={"width_ratios": [3, 3, 1.5, 2] if wide else [1, 1, 1, 1]})
    kw = {"hue": "precision", "hue_order": list(PRECISIONS), "palette": "deep"}
    points = {**kw, "dodge": 0.3, "errorbar": "sd", "linestyle": "none"}
    sns.pointplot(data=acc, x="language", y="accuracy", ax=axes[0], **points)
    sns.pointplot(data=acc, x="language", y="macro-F1", ax=axes[1], legend=False, **points)
    sns.pointplot(data=att, x="language", y="attack success", ax=axes[2], legend=False, **points)
    curves["run"] = curves["condition"] + " s" + curves["seed"].astype(str)
    sns.lineplot(data=curves, x="step", y="loss", units="run", estimator=None, ax=axes[3], legend=False,
                 alpha=0.8, **kw)
    titles = [f"clean accuracy (n={result['eval_items']} items/language)", "macro-F1",
              f"char attack success (n={result['attack_n']} items/language)",
              "loss, 10-step mean, per seed (formats overlap)"]
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title, fontsize=9)
    seeds = ", ".join(f"{c}: {k}" for c, k in result["seeds_per_condition"].items())
    fig.suptitle(f"{result['task']}: fp32 vs bf16, the same seeds ({seeds}) "
                 f"({result['steps']} steps x {result['batch_size']}); points: mean over seeds, bars: SD", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="e5-small-offline")
    p.add_argument("--task", default="sib200")
    p.add_argument("--intermediate", default="", help="English intermediate task of a second condition")
    p.add_argument("--languages", nargs="+", default=["en", "de", "zh", "ar", "hi", "sw"])
    p.add_argument("--attack-languages", nargs="+", default=["en", "de"])
    p.add_argument("--attack-n", type=int, default=20)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--max-words", type=int, default=100)
    p.add_argument("--max-train", type=int, default=None)
    p.add_argument("--max-eval", type=int, default=None, help="test items per language (default: all)")
    p.add_argument("--max-inter-train", type=int, default=4800, help="intermediate training examples drawn")
    p.add_argument("--from-runs", default="", help="summarise the runs.json of a stopped invocation")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--scratch", default="runs/benchmarks/parity")
    p.add_argument("--out", default="results/benchmarks/precision_parity.json")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    from xrobust.provenance import cpu_native_bf16

    load_before = os.getloadavg()
    if a.from_runs:  # the runs a stopped invocation finished: whole (condition, seed) pairs only
        runs = json.loads(Path(a.from_runs).read_text())
        done = {(r["condition"], r["seed"]) for r in runs if r["precision"] == "bf16"}
        runs = [r for r in runs if (r["condition"], r["seed"]) in done]
        conditions = list(dict.fromkeys(r["condition"] for r in runs))
        a.seeds = sorted({s for c, s in done})
    else:
        runs, conditions = run(a)
    table = parity_table(runs, conditions, a.seeds)
    seeds_per_condition = {c: len({r["seed"] for r in runs if r["condition"] == c}) for c in conditions}
    result = {"task": a.task, "conditions": conditions, "n_seeds": len(a.seeds), "seeds": a.seeds,
              "seeds_per_condition": seeds_per_condition,
              "steps": a.steps, "batch_size": a.batch_size, "lr": a.lr, "max_length": a.max_length,
              "eval_items": runs[0]["per_language"][0]["n"], "attack_n": a.attack_n,
              "all_within_noise": all(r["within_noise"] is not False for r in table),
              "kept_in_fp32": "weights (master copy), gradients, AdamW state, the loss (cross-entropy on fp32 "
                              "logits) and the returned logits; activations between the matrix products are bf16",
              "cpu_bf16": cpu_native_bf16(), "table": table, "runs": runs,
              "minutes": round(sum(r["seconds"] for r in runs) / 60, 1), "threads": torch.get_num_threads(),
              "loadavg_before": [round(x, 2) for x in load_before],
              "loadavg_after": [round(x, 2) for x in os.getloadavg()]}
    for row in table:
        print({k: v for k, v in row.items() if k not in ("condition",)})
    print_and_write("precision_parity", a, {k: v for k, v in result.items() if k not in ("runs", "table")} |
                    {"table": table, "runs": runs})
    plot(result, Path(a.out).with_suffix(".png"))
    return result


if __name__ == "__main__":
    main()
