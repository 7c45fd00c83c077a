"""The mean loss of a model's first five training steps, with the offline encoder found in the
cache or converted inside the run (as the first run on a fresh machine does). Two runs with the
same seed start from the same point exactly when these agree; the powered grid's re-run check
(book chapter "The powered grid") compares the values recorded in the result files.

    python scripts/first_losses.py configs/powered.yaml vitaminc 1 [--convert]

Intermediate tasks, with the config's settings, on CPU; about a minute on 2 cores.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import yaml

from xrobust import e5_offline, training
from xrobust.data import load_examples
from xrobust.models import EncoderClassifier, load_encoder
from xrobust.params import IntermediateParams, config_params
from xrobust.tasks import get_task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", help="a grid config, e.g. configs/powered.yaml")
    ap.add_argument("task", help="an English intermediate task, e.g. vitaminc or movie_sentiment")
    ap.add_argument("seed", type=int)
    ap.add_argument("--convert", action="store_true",
                    help="convert the offline encoder inside the run after seeding, as a first run on a fresh "
                         "machine did before conversion kept the random-number generator apart")
    args = ap.parse_args()
    config = yaml.safe_load(Path(args.config).read_text())
    p = IntermediateParams.build(**{**config_params(config, "intermediate", task=args.task, seed=args.seed),
                                    "device": "cpu"})
    cfg = training.TrainConfig.from_step(p, "fp32")
    task = get_task(p.task)
    examples = load_examples(task, "en", "train", max_examples=p.max_train_examples, max_words=p.max_words)
    training.tqdm = lambda steps, **_: list(steps)[:5]  # the first five steps of the full schedule
    training.set_seed(p.seed)  # as experiment.run_intermediate: seed, load, then the new head
    if args.convert:
        with tempfile.TemporaryDirectory() as tmp:
            e5_offline.convert(Path(tmp) / "model")  # what first use did inside the run
    encoder, tokenizer = load_encoder(p.model)
    stats = training.train(EncoderClassifier(encoder, len(task.labels)), tokenizer, examples, cfg, "cpu")
    print(f"{p.task} seed {p.seed} ({'converting' if args.convert else 'converted folder found'}): "
          f"first-five-step loss {stats['loss_first']:.4f}")


if __name__ == "__main__":
    main()
