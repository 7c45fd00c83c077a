"""UDHR retrieval of a grid's encoders against the pretrained encoder, unit by unit.

A grid that sets `retrieval_encoders` scores, per granularity, the pretrained encoder once
(`results/<grid>/retrieval/pretrained_<g>.json`) and every intermediate and target encoder of
each training seed (`results/<grid>/retrieval/<stage>/<name>_s<seed>_<g>.json`). Each file keeps
which units each direction retrieved correctly, so an encoder is paired with the pretrained one
on (unit, language, direction), and the training seed is the unit of the statistics, exactly as
for classification (`xrobust.inference`): per seed, per language the mean change, then the
languages with equal weight; a t interval over seeds (a two-way bootstrap over seeds and units
from 10 seeds). The pretrained encoder is one fixed model, so its side has no seed.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import inference, resultfiles
from .language_meta import udhr_language_frame
from .tasks import get_task

DIRECTIONS = ("xx_to_en", "en_to_xx")
STAGES = ("intermediate", "target")
FILE = re.compile(r"(?P<name>.+)_s(?P<seed>\d+)_(?P<granularity>paragraph|article)")


def _units(doc: dict) -> pd.DataFrame:
    """Long table: language, direction, unit, correct (0/1) of one retrieval result file."""
    rows = []
    for r in doc["rows"]:
        for d in DIRECTIONS:
            hits = r.get(f"correct_{d}")
            if hits is None:
                raise ValueError(f"retrieval rows of {doc['model']} lack 'correct_{d}'; allowed: files written "
                                 "with unit-level results (re-run the retrieval step)")
            rows.append(pd.DataFrame({"language": r["language"], "direction": d, "unit": np.arange(len(hits)),
                                      "correct": np.frombuffer(hits.encode(), dtype=np.uint8) - ord("0")}))
    return pd.concat(rows, ignore_index=True)


def _design(doc: dict) -> dict:
    return {k: doc[k] for k in ("granularity", "prefix", "pooling", "similarity", "max_length", "units_per_language")}


def load(grid_dir, granularity: str = "paragraph") -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(pretrained units, encoder units with stage/name/seed, design) of one grid and granularity.

    Refuses a grid without the pretrained file, and encoder files whose settings (prefix, pooling,
    max_length, units) differ from the pretrained file's: such pairs would not compare like with like."""
    root = Path(grid_dir) / "retrieval"
    base_path = root / f"pretrained_{granularity}.json"
    if not base_path.is_file():
        raise ValueError(f"grid_dir={str(grid_dir)!r} has no {base_path.name}; allowed: a grid whose config sets "
                         "retrieval_encoders (with 'pretrained') and granularity "
                         f"{granularity!r} in retrieval_granularities")
    base_doc = resultfiles.read_json(base_path)
    design = _design(base_doc)
    base_model = base_doc["model"].get("name")
    frames = []
    for stage in STAGES:
        for path in sorted((root / stage).glob(f"*_{granularity}.json")):
            m = FILE.fullmatch(path.stem)
            doc = resultfiles.read_json(path)
            if _design(doc) != design:
                diff = sorted(k for k in design if _design(doc)[k] != design[k])
                raise ValueError(f"{path} differs from {base_path.name} in {diff}; allowed: one design per grid")
            ckpt_base = doc["model"].get("checkpoint", {}).get("base_model")
            if ckpt_base != base_model:
                raise ValueError(f"{path}: encoder trained from {ckpt_base!r}, but the pretrained file scores "
                                 f"{base_model!r}; allowed: encoders of the same base model")
            frames.append(_units(doc).assign(stage=stage, name=m["name"], seed=int(m["seed"])))
    encoders = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["language", "direction", "unit", "correct", "stage", "name", "seed"])
    return _units(base_doc), encoders, {**design, "model": base_model}


def paired(pretrained: pd.DataFrame, encoders: pd.DataFrame, stage: str, name: str) -> pd.DataFrame:
    """The encoder (stage, name) of every seed against the pretrained encoder, in the layout of
    `inference.pair` (recipe = direction, uid = unit): diff = encoder correct - pretrained correct."""
    mine = encoders[(encoders.stage == stage) & (encoders.name == name)]
    if mine.empty:
        raise ValueError(f"no retrieval results for stage={stage!r}, name={name!r}; allowed: "
                         f"{sorted(set(zip(encoders.stage, encoders.name, strict=True)))}")
    both = mine.merge(pretrained, on=["language", "direction", "unit"], suffixes=("", "_pretrained"),
                      validate="many_to_one")
    out = pd.DataFrame({"seed": both.seed, "uid": both.unit.astype(str), "language": both.language,
                        "recipe": both.direction, "control": both.correct_pretrained.astype(float),
                        "treated": both.correct.astype(float)})
    out["diff"] = out.treated - out.control
    out.attrs.update(metric="top-1", treated=f"{stage}:{name}", control="pretrained")
    return out


def encoder_effects(pretrained, encoders, n_boot: int = 2000, by_group=("xlmr_pretraining", "script_name")):
    """Per encoder (stage, name): the change in top-1 accuracy against the pretrained encoder over
    all languages, and over the languages of each value of each metadata column in `by_group`
    (e.g. in XLM-R's pretraining or not), with CI, seed-level p, n seeds, n units."""
    meta = udhr_language_frame()
    rows = []
    for stage, name in sorted(set(zip(encoders.stage, encoders.name, strict=True))):
        p = paired(pretrained, encoders, stage, name)
        rows.append({"stage": stage, "name": name, "group": "all languages", "n_languages": p.language.nunique(),
                     **inference.effect(p, n_boot=n_boot).iloc[0].to_dict()})
        for col in by_group:
            values = p.language.map(meta[col])
            for value, part in p.groupby(values):
                rows.append({"stage": stage, "name": name, "group": f"{col} = {value}",
                             "n_languages": part.language.nunique(),
                             **inference.effect(part, n_boot=n_boot).iloc[0].to_dict()})
    return pd.DataFrame(rows)


def language_effects(pretrained, encoders, stage: str, name: str, n_boot: int = 2000) -> pd.DataFrame:
    """Per language: pretrained accuracy, the encoder's change (both directions pooled) with CI
    over seeds, Holm-adjusted p across languages, and the language's metadata."""
    p = paired(pretrained, encoders, stage, name)
    table = inference.language_table(p, n_boot=n_boot).set_index("language")
    table["pretrained"] = pretrained.groupby("language").correct.mean()
    meta = udhr_language_frame()
    meta["tatoeba"] = meta["base"].isin(get_task("tatoeba").languages)
    return table.join(meta[["name", "script_name", "xlmr_pretraining", "tatoeba"]]).reset_index()
