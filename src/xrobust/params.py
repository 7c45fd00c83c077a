"""Parameters of the three experiment steps, each declared once, and their checks.

A step's dataclass (`IntermediateParams`, `TargetParams`, `AttackParams`) is the single
source of its parameters: `experiment.run_*` takes it (or the same keyword arguments), the
notebooks' parameters cells list the same names, types, defaults and help texts, and the
step sections of configs/*.yaml use its field names (tests/test_params.py checks all three).
`validate()` checks every field before any model or data is loaded and raises a ValueError
that names the parameter and what it allows.
"""
from __future__ import annotations

import math
import numbers
import re
import sys
import typing
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path

PRECISIONS = ("auto", "fp32", "bf16")
DEVICES = ("auto", "cpu", "cuda")  # and cuda:N
CONDITIONS = ("direct", "intermediate", "multilingual")
RECIPES = ("char", "embedding", "codeswitch")
OFFLINE_MODEL = "e5-small-offline"  # e5_offline.OFFLINE_MODEL_NAME, without importing torch here
MAX_SEED = 2**31 - 1


# --- checkers: each returns the (normalised) value or raises a ValueError naming the parameter ---

def check_choice(name: str, value, allowed) -> object:
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"invalid {name!r}: {value!r}; allowed values: {', '.join(map(str, allowed))}")
    return value


def check_number(name: str, value, low=None, high=None, integer=False):
    """A finite real number (an integer if `integer`; an integral float such as 2.0 counts) in
    [low, high]. Bools, strings, None, NaN and infinities are refused."""
    kind = "an integer" if integer else "a finite number"
    span = f" in [{low}, {high}]" if low is not None and high is not None else ""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and not isinstance(value, numbers.Integral):
        ok = math.isfinite(value) and (not integer or float(value).is_integer())
    if not ok:
        raise ValueError(f"invalid {name!r}: {value!r} ({type(value).__name__}); expected {kind}{span}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"invalid {name!r}: {value!r}; allowed range: [{low}, {high}]")
    return int(value) if integer else float(value)


def check_text(name: str, value, allowed=None, optional=False) -> str:
    """A non-empty string (or, if `optional`, "" / None, both meaning 'none')."""
    if optional and (value is None or value == ""):
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"invalid {name!r}: {value!r}; expected a non-empty string"
                         + (f", one of: {', '.join(map(str, allowed))}" if allowed else "")
                         + (" (or empty for none)" if optional else ""))
    if allowed is not None:
        check_choice(name, value, allowed)
    return value


def check_list(name: str, value, allowed=None) -> list:
    """A non-empty list of distinct non-empty strings (a single string counts as a list of one)."""
    items = [value] if isinstance(value, str) else value
    what = f"a non-empty list of distinct strings{' from: ' + ', '.join(map(str, allowed)) if allowed else ''}"
    if not isinstance(items, (list, tuple)) or not items or \
            not all(isinstance(v, str) and v.strip() for v in items) or len(set(items)) != len(items):
        raise ValueError(f"invalid {name!r}: {value!r}; expected {what}")
    if allowed is not None:
        bad = [v for v in items if v not in allowed]
        if bad:
            raise ValueError(f"invalid {name!r}: {bad}; allowed values: {', '.join(map(str, allowed))}")
    return list(items)


def check_bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"invalid {name!r}: {value!r} ({type(value).__name__}); expected true or false")
    return value


def check_device(value) -> str:
    """'auto', 'cpu', 'cuda' or 'cuda:N' (whether a GPU is visible is checked by models.pick_device)."""
    if not isinstance(value, str) or not (value in DEVICES or re.fullmatch(r"cuda:\d+", value)):
        raise ValueError(f"invalid 'device': {value!r}; allowed values: {', '.join(DEVICES)}, cuda:N")
    return value


def resolve_model(name_or_path: str) -> str:
    """Map a model parameter to something `from_pretrained` accepts."""
    if not isinstance(name_or_path, str) or not name_or_path.strip():
        raise ValueError(f"'model' must be a non-empty string: {OFFLINE_MODEL!r}, a Hugging "
                         f"Face model id such as 'xlm-roberta-large', or a local folder; got {name_or_path!r}")
    if name_or_path == OFFLINE_MODEL:
        from .e5_offline import offline_model_dir  # converts once; not needed to check other names

        return str(offline_model_dir())
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ValueError(f"'model' folder {path} has no config.json (not a from_pretrained folder)")
        return str(path)
    # meant as a path, not a hub id ('org/name'): e.g. a checkpoint folder runs/<grid>/target/<run>/checkpoint
    if name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1:
        raise ValueError(f"'model' path {name_or_path!r} does not exist; allowed values: "
                         f"{OFFLINE_MODEL!r}, a hub id, or an existing local folder")
    return name_or_path  # a hub id; from_pretrained reports if it cannot be fetched


def check_out_path(value: str) -> str:
    """An attack step's result file: .json, or .json.gz for gzip."""
    if not value.endswith((".json", ".json.gz")):
        raise ValueError(f"invalid 'out_path': {value!r}; expected a .json or .json.gz file")
    return value


def check_model(name: str, value) -> str:
    """A model name or folder; a path that does not exist is refused here, a hub id when loading."""
    check_text(name, value)
    if value != OFFLINE_MODEL:
        try:
            resolve_model(value)
        except ValueError as e:
            raise ValueError(f"invalid {name!r}: {e}") from None
    return value


def resolve_precision(precision: str, device) -> str:
    """The numeric format a run really uses, so that stored configurations say what was computed:
    'auto' is bf16 autocast on CUDA and on a CPU that multiplies bf16 in hardware (AVX512-BF16
    or AMX, `provenance.cpu_native_bf16`), fp32 elsewhere. bf16 covers the matrix products only:
    weights, gradients, AdamW state, the loss and the returned logits stay fp32 (`training`)."""
    from .provenance import cpu_native_bf16

    check_choice("precision", precision, PRECISIONS)
    if precision != "auto":
        return precision
    if getattr(device, "type", str(device)).startswith("cuda"):
        return "bf16"
    return "bf16" if cpu_native_bf16() else "fp32"


# --- declaring fields ---

def param(default, help: str, *, low=None, high=None, choices=None, optional=False,
          affects_result=True):
    """A parameter with its help text and range, in the style of transformers' argument dataclasses.
    `choices` may be a function of the parameters (e.g. the languages of the chosen task);
    `affects_result=False` marks where-to/how-fast settings that a stored configuration leaves out."""
    meta = {"help": help, "low": low, "high": high, "choices": choices, "optional": optional,
            "affects_result": affects_result}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


def _epochs(default: float):
    return param(default, "Passes over the training set "
                          "(fractions allowed: steps are ceil(examples / batch_size) x epochs).",
                 low=0.01, high=100)


def _seed(help="Random seed of training (head initialisation, batch order, dropout).", default=0):
    return param(default, help, low=0, high=MAX_SEED)


def _max_words(default: int = 60):
    return param(default, "Keep only items whose English text has at most this many words "
                     "(the same items in every language).",
                 low=1, high=100_000)


def _max_length(default: int = 128):
    return param(default, "Maximum number of tokens per input; longer inputs are truncated.", low=8, high=4096)


def _device():
    return param("auto", "'auto' (a GPU if one is visible), 'cpu', 'cuda' or 'cuda:N'.", affects_result=False)


def _precision():
    return param("auto", "Numeric format: 'auto' (bf16 on a GPU or a CPU with native bf16, else fp32), "
                         "'fp32' or 'bf16'; results record the resolved one.",
                 choices=PRECISIONS)


def _max_perturbed():
    return param(0.25, "Largest fraction of words an attack may change.", low=0.01, high=1.0)


def _query_budget(what: str):
    return param(2000, f"Most {what}.", low=1, high=10**7)


def _progress():
    return param(True, "Show progress bars.", affects_result=False)


def _max_examples(default: int, what: str):
    return param(default, f"Number of {what} examples, a fixed random subset (more than the split holds: all of it).",
                 low=1, high=10**8)


def _field_kind(cls, name: str):
    return typing.get_type_hints(cls)[name]


def check_field(name: str, value, kind, meta: dict):
    if kind is bool:
        return check_bool(name, value)
    if kind in (int, float):
        return check_number(name, value, meta["low"], meta["high"], integer=kind is int)
    if kind is str:
        if name == "device":
            return check_device(value)
        return check_text(name, value, meta["choices"], optional=meta["optional"])
    if typing.get_origin(kind) is list:
        return check_list(name, value, meta["choices"])
    raise TypeError(f"no check for parameter {name!r} of type {kind}")


class Params:
    """Behaviour shared by the parameter dataclasses."""

    @classmethod
    def build(cls, *args, **kwargs):
        """Validated parameters from an instance of `cls` or from the same positional/keyword arguments."""
        if len(args) == 1 and not kwargs and isinstance(args[0], cls):
            return replace(args[0]).validate()
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(kwargs) - set(names))
        if unknown or len(args) > len(names):
            raise ValueError(f"unknown parameter(s) {unknown or list(args[len(names):])} for "
                             f"{cls.__name__}; allowed parameters: {', '.join(names)}")
        return cls(*args, **kwargs).validate()

    @classmethod
    def from_namespace(cls, namespace: dict):
        """Parameters from a notebook's variables (its parameters cell, after papermill's injection); a name
        that is not a field (a misspelt parameter) is refused, naming the fields."""
        check_parameter_names(namespace, [f.name for f in fields(cls)], f"{cls.__name__} (the notebook's "
                              "parameters cell)")
        missing = [f.name for f in fields(cls) if f.name not in namespace]
        if missing:
            raise ValueError(f"the parameters cell lacks {missing} (fields of {cls.__name__})")
        return cls(**{f.name: namespace[f.name] for f in fields(cls)})

    def validate(self):
        """Check and normalise every field, then the rules that tie fields together."""
        for f in fields(self):  # in declaration order: a field's allowed values may depend on earlier ones
            meta = dict(f.metadata)
            if callable(meta["choices"]):
                meta["choices"] = meta["choices"](self)
            setattr(self, f.name, check_field(f.name, getattr(self, f.name), _field_kind(type(self), f.name), meta))
        self.check_together()
        return self

    def check_together(self) -> None:
        """Rules that involve several fields or the task registry (overridden by the steps)."""

    def result_config(self) -> dict:
        """The fields that determine the result (not where it is written or on which device)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata["affects_result"]}

    @classmethod
    def defaults(cls) -> dict:
        return {f.name: f.default if f.default is not MISSING else f.default_factory() for f in fields(cls)}

    @classmethod
    def help(cls) -> dict:
        return {f.name: f.metadata["help"] for f in fields(cls)}


def _check_runnable(task: str):
    from .tasks import check_runnable

    return check_runnable(task)


def _task_languages(p) -> tuple[str, ...]:
    return _check_runnable(p.task).languages


@dataclass
class TrainingParams(Params):
    """What the training loop consumes; shared by the intermediate and the target step."""

    seed: int = _seed()
    lr: float = param(1e-4, "Peak learning rate of AdamW (linear warm-up, then linear decay).", low=1e-7, high=1e-2)
    epochs: float = _epochs(1.0)
    batch_size: int = param(32, "Training examples per optimisation step.", low=1, high=4096)
    max_length: int = _max_length()
    precision: str = _precision()
    freeze_embeddings: bool = param(True, "Keep the word-embedding table fixed, as it is shared by all languages "
                                          "(False: the unfrozen ablation).")


@dataclass
class IntermediateParams(TrainingParams):
    """Step 1: fine-tune the encoder on an English intermediate task."""

    model: str = param(OFFLINE_MODEL,
                       f"Encoder to start from: {OFFLINE_MODEL!r}, a Hugging Face model id or a local folder.")
    task: str = param("sst2", "English intermediate task (a runnable task of xrobust.tasks).")
    out_dir: str = param("runs/scratch/intermediate",
                         "Folder for the checkpoint (and result.json unless 'result_path' is set).",
                         affects_result=False)
    result_path: str = param("", "Where to write the result JSON; empty: out_dir/result.json.", optional=True,
                             affects_result=False)
    epochs: float = _epochs(1.0)
    max_words: int = _max_words()
    max_train_examples: int = _max_examples(1280, "training")
    max_eval_examples: int = _max_examples(300, "validation")
    device: str = _device()

    def check_together(self) -> None:
        check_model("model", self.model)
        task = _check_runnable(self.task)
        if "en" not in task.languages:
            raise ValueError(f"invalid 'task': {self.task!r} has no English data; intermediate tasks are English")


@dataclass
class TargetParams(TrainingParams):
    """Step 2: fine-tune on the target task and evaluate per language."""

    model: str = param(OFFLINE_MODEL,
                       f"Encoder to start from (condition 'direct'): {OFFLINE_MODEL!r}, a Hugging Face model id "
                       "or a local folder; the intermediate checkpoint must come from the same one.")
    task: str = param("sib200", "Target task (a runnable task of xrobust.tasks).")
    condition: str = param("direct",
                           "'direct': the pretrained encoder, trained in one language; 'intermediate': the encoder "
                           "of an intermediate checkpoint, trained in one language; 'multilingual': the pretrained "
                           "encoder, trained in several languages.",
                           choices=CONDITIONS)
    intermediate_checkpoint: str = param("", "Checkpoint folder of step 1; required for condition 'intermediate', "
                                             "empty otherwise.",
                                         optional=True)
    languages: list[str] = param(["en", "de", "ru", "zh", "ar", "hi", "th", "sw"],
                                 "Languages to evaluate on (test split).", choices=_task_languages)
    train_languages: list[str] = param(["en"],
                                       "Languages of the training data: one for 'direct' and 'intermediate' (the "
                                       "others are zero-shot), at least two for 'multilingual' (equal shares of "
                                       "max_train_examples).",
                                       choices=_task_languages)
    out_dir: str = param("runs/scratch/target",
                         "Folder for the checkpoint (and result.json unless 'result_path' is set).",
                         affects_result=False)
    result_path: str = param("", "Where to write the result JSON; empty: out_dir/result.json.", optional=True,
                             affects_result=False)
    epochs: float = _epochs(2.0)
    max_words: int = _max_words()
    max_train_examples: int = _max_examples(701, "training")
    max_eval_examples: int = _max_examples(204, "test (per language)")
    device: str = _device()

    def check_together(self) -> None:
        check_model("model", self.model)
        if self.condition == "intermediate" and not self.intermediate_checkpoint:
            raise ValueError("invalid 'intermediate_checkpoint': required when 'condition' is 'intermediate'")
        if self.condition != "intermediate" and self.intermediate_checkpoint:
            raise ValueError(f"invalid 'intermediate_checkpoint': {self.intermediate_checkpoint!r}; must be "
                             f"empty when 'condition' is {self.condition!r}")
        multilingual = self.condition == "multilingual"
        if multilingual != (len(self.train_languages) > 1):
            raise ValueError(f"invalid 'train_languages': {self.train_languages}; condition {self.condition!r} "
                             + ("trains on at least two languages" if multilingual else
                                "trains on one language (the others are zero-shot)"))
        if self.max_train_examples < len(self.train_languages):
            raise ValueError(f"invalid 'max_train_examples': {self.max_train_examples}; at least one example "
                             f"per training language ({len(self.train_languages)})")


@dataclass
class AttackParams(Params):
    """Step 3: attack a target checkpoint in each language with each recipe."""

    checkpoint: str = param("runs/scratch/target/checkpoint", "Target checkpoint folder (from step 2).")
    out_path: str = param("runs/scratch/attack.json",
                          "Result JSON, gzip-compressed when it ends in .json.gz (resumed if it holds a partial "
                          "run of the same configuration).",
                          affects_result=False)
    languages: list[str] = param(["en", "de", "ru", "zh", "ar"],
                                 "Languages to attack (languages of the checkpoint's task; English is the reference).")
    recipes: list[str] = param(["char", "codeswitch"], "Attack recipes: 'char', 'embedding', 'codeswitch'.",
                               choices=RECIPES)
    n_examples: int = param(8, "Number of test items attacked, the same items in every language, seed and condition.",
                            low=1, high=10**6)
    pool_seed: int = _seed("Seed of the draw of the attacked items from the cleaned test split (not a training seed).")
    max_words: int = _max_words()
    seed: int = _seed("Random seed of the attack's transformations.")
    max_perturbed: float = _max_perturbed()
    query_budget: int = _query_budget("model queries per attacked item")
    similarity_model: str = param(OFFLINE_MODEL, "Sentence encoder of the similarity constraint (word-level recipes).")
    batch_size: int = param(128, "Texts per model query batch (speed only).", low=1, high=4096, affects_result=False)
    max_length: int = _max_length()
    device: str = _device()
    precision: str = _precision()
    progress: bool = _progress()

    def check_together(self) -> None:
        check_out_path(self.out_path)
        check_model("similarity_model", self.similarity_model)

    def check_task(self, task) -> None:
        """Checks that need the checkpoint's task (read from the checkpoint, before any model load).
        Whether each recipe can serve these languages is checked by `attacks.recipes.check_recipes`."""
        self.languages = check_list("languages", self.languages, task.languages)


def _check_udhr_job(p) -> None:
    """Checks shared by the UDHR steps: an encoder (or a classifier checkpoint folder), 'all'
    alone or registry codes, a .json result path."""
    if not Path(p.model).expanduser().joinpath("checkpoint.json").is_file():
        check_model("model", p.model)
    if "all" in p.languages and len(p.languages) > 1:
        raise ValueError(f"invalid 'languages': {p.languages}; 'all' stands alone")
    if not p.out_path.endswith(".json"):
        raise ValueError(f"invalid 'out_path': {p.out_path!r}; expected a .json file")


def _udhr_languages(p) -> tuple[str, ...]:
    from .language_meta import udhr_language_codes

    return ("all",) + tuple(c for c in udhr_language_codes(p.granularity) if c != "en")


@dataclass
class RetrievalParams(Params):
    """UDHR retrieval: one encoder, every aligned language to English and back (no training)."""

    model: str = param(OFFLINE_MODEL, f"Encoder: {OFFLINE_MODEL!r}, a Hugging Face model id or a local folder, or a "
                                      "classifier checkpoint folder of steps 1-2 (its encoder is used, the head "
                                      "dropped).")
    granularity: str = param("paragraph", "Retrieval unit: 'paragraph' (116 translations aligned paragraph by "
                                          "paragraph) or 'article' (521 translations with all 30 articles).",
                             choices=("paragraph", "article"))
    out_path: str = param("results/retrieval/pretrained_paragraph.json", "Result JSON.", affects_result=False)
    languages: list[str] = param(["all"], "Registry codes of the translations to score, or ['all'] (every "
                                          "translation aligned at this granularity).",
                                 choices=_udhr_languages)
    batch_size: int = param(32, "Texts per forward pass (speed only).", low=1, high=4096, affects_result=False)
    max_length: int = param(512, "Maximum tokens per unit; longer units are cut (the count is recorded).",
                            low=8, high=512)
    layer: int = param(-1, "Hidden layer whose token states are mean-pooled: -1 the last (what multilingual-e5 "
                           "was trained to make a sentence embedding), 1..N a transformer layer (XTREME pools a "
                           "middle layer of mBERT/XLM-R).", low=-1, high=128)
    device: str = _device()
    progress: bool = _progress()

    def check_together(self) -> None:
        _check_udhr_job(self)
        if self.layer == 0:
            raise ValueError("invalid 'layer': 0 (the embedding output); allowed: -1 or a transformer layer 1..N")


ATTACKED_SIDES = ("translation", "english")


@dataclass
class RetrievalAttackParams(Params):
    """Attacks on UDHR retrieval: a perturbed unit should lose its translation as top-1."""

    model: str = param(OFFLINE_MODEL, "Encoder (as for retrieval): a model name or folder, or a classifier "
                                      "checkpoint folder (its encoder).")
    granularity: str = param("paragraph", "Retrieval unit: 'paragraph' or 'article'.", choices=("paragraph", "article"))
    out_path: str = param("runs/scratch/retrieval_attack.json", "Result JSON.", affects_result=False)
    languages: list[str] = param(["all"], "Registry codes of the translations to attack, or ['all'].",
                                 choices=_udhr_languages)
    recipes: list[str] = param(["char", "codeswitch"], "'char' (every language) and 'codeswitch' (languages with "
                                                       "a bilingual lexicon; not applicable elsewhere).",
                               choices=("char", "codeswitch"))
    attacked_side: str = param("translation", "Which text the attack perturbs: 'translation' (a unit of each "
                                              "language, against the English pool) or 'english' (the English "
                                              "unit, against each translation's pool: the reference side).",
                               choices=ATTACKED_SIDES)
    n_units: int = param(8, "Units attacked per language: one seeded draw, the same units in every language.",
                         low=1, high=10**5)
    max_words: int = param(60, "Draw only units whose English text has at most this many words.", low=1, high=10**5)
    seed: int = _seed("Seed of the draw of the attacked units and of the attack's transformations.")
    max_perturbed: float = _max_perturbed()
    query_budget: int = _query_budget("encoder queries per attacked unit")
    similarity_model: str = param(OFFLINE_MODEL, "Sentence encoder of the similarity constraint (codeswitch).")
    batch_size: int = param(32, "Texts per forward pass (speed only).", low=1, high=4096, affects_result=False)
    device: str = _device()
    progress: bool = _progress()

    def check_together(self) -> None:
        _check_udhr_job(self)
        check_model("similarity_model", self.similarity_model)
        if self.attacked_side == "english" and "codeswitch" in self.recipes:
            raise ValueError("invalid 'recipes' with attacked_side='english': 'codeswitch' swaps words of a "
                             "translation for English ones, so it has no English side; allowed values: ['char']")


STEPS = {"intermediate": IntermediateParams, "target": TargetParams, "attack": AttackParams,
         "retrieval": RetrievalParams, "retrieval_attack": RetrievalAttackParams}
# workflow keys that choose which retrieval jobs a grid runs (not notebook parameters)
RETRIEVAL_ENCODERS = ("pretrained", "intermediate", "target")
# retrieval steps of the workflow -> their parameters (a config section of the same name each;
# `retrieval_middle` is the retrieval step again, pooling the middle layer set in its section)
# `retrieval_attack_english` the attack again, on the English side: the reference, as English is
# for classification)
RETRIEVAL_STEPS = {"retrieval": RetrievalParams, "retrieval_attack": RetrievalAttackParams,
                   "retrieval_middle": RetrievalParams, "retrieval_attack_english": RetrievalAttackParams}
INPUT_SETTINGS = ("max_words", "max_length")  # of the config's `train` section, shared with the attack


def config_params(config: dict, step: str, **job) -> dict:
    """What a workflow job of `step` passes to its notebook: the config's top-level `model`,
    `device` and `precision`, for the target step `target_task` and `languages`, the `train`
    section (for the attack only its input settings: its batch_size is the training batch),
    the step's own section, then the job's values. A key that is not a field of the step is refused."""
    names = {f.name for f in fields(RETRIEVAL_STEPS.get(step) or STEPS[step])}
    out = {k: config[k] for k in ("model", "device", "precision") if k in config and k in names}
    if step in RETRIEVAL_STEPS:  # its own section only: the training sections' max_length is not the encoder's
        out.update(config.get(step) or {})
        unknown = sorted(set(out) - names)
        if unknown:
            raise ValueError(f"config {config.get('name')!r}: unknown key(s) {unknown} for step {step!r} "
                             f"(section {step!r}); allowed: {', '.join(sorted(names))}")
        return {**out, **job}
    if step == "target":
        out.update(task=config["target_task"], languages=config["languages"])
        if job.get("condition") == "multilingual":
            out["train_languages"] = config["languages"]  # the multilingual condition trains in all of them
    train = config.get("train") or {}
    out.update({k: v for k, v in train.items() if k in INPUT_SETTINGS} if step == "attack" else train)
    out.update(config.get(step) or {})
    unknown = sorted(set(out) - names)
    if unknown:
        raise ValueError(f"config {config.get('name')!r}: unknown key(s) {unknown} for step {step!r} "
                         f"(sections 'train' and {step!r}); allowed: {', '.join(sorted(names))}")
    return {**out, **job}


def config_conditions(config: dict) -> list[str]:
    """The conditions a workflow config runs (`conditions`; default: direct and intermediate).
    `conditions: []` trains no classifier: a retrieval-only grid, whose encoders are the pretrained
    one and its intermediate encoders (no target training, as Phang et al. evaluate retrieval)."""
    if config.get("conditions") == []:
        return []
    try:
        return check_list("conditions", config.get("conditions", ["direct", "intermediate"]), CONDITIONS)
    except ValueError as e:
        raise ValueError(f"config {config.get('name')!r}: {e}") from None


def grid_conditions(config: dict) -> list[str]:
    """The condition of each target job of a config: `intermediate` becomes one `inter-<task>`
    per intermediate task (the names in result paths: results/<grid>/attack/<condition>_s<seed>.json.gz)."""
    return [c for cond in config_conditions(config)
            for c in ([f"inter-{t}" for t in config["intermediate_tasks"]] if cond == "intermediate" else [cond])]


def data_tasks(config: dict, outputs) -> list[str]:
    """The tasks whose data the jobs making `outputs` read (the result paths of the jobs a run is
    about to start, as Snakemake lists them): the target task for a target or attack file, the
    intermediate task for an intermediate file. Retrieval jobs read the UDHR, not these, so they
    run while a task's source cannot be had."""
    kind = rf"results/{re.escape(config['name'])}/(target|attack|intermediate)/(.+)_s\d+\.json(?:\.gz)?"
    tasks = set()
    for path in map(str, outputs):
        if m := re.fullmatch(kind, path):
            tasks.add(m[2] if m[1] == "intermediate" else config["target_task"])
    return sorted(tasks)


def retrieval_results(config: dict, step: str, seeds: list[int] | None = None) -> list[tuple[str, str | None]]:
    """(result path, the training job whose checkpoint it reads) of each retrieval job of `step`:
    the pretrained encoder once per granularity (job None), then each seed's intermediate
    encoders ('intermediate/<task>_s<seed>', one per `intermediate_tasks`) and target encoders
    ('target/<condition>_s<seed>'), lowest seed first. `seeds` defaults to the config's."""
    encoders, _ = retrieval_jobs(config)
    chosen, name = encoders[step], config["name"]
    stages = {"intermediate": list(config.get("intermediate_tasks") or []), "target": grid_conditions(config)}
    out = [(f"results/{name}/{step}/pretrained_{g}.json", None)
           for g in stage_granularities(config, step, "pretrained") if "pretrained" in chosen]
    for seed in config.get("seeds", []) if seeds is None else seeds:
        for stage in (s for s in stages if s in chosen):
            for job in (f"{n}_s{seed}" for n in stages[stage]):
                out += [(f"results/{name}/{step}/{stage}/{job}_{g}.json", f"{stage}/{job}")
                        for g in stage_granularities(config, step, stage)]
    return out


def condition_results(config: dict, condition: str, seed: int) -> list[str]:
    """The result files one (condition, seed) makes while its checkpoints exist: its attack, then
    the retrieval results of its target encoder and, for inter-<task>, of its intermediate encoder.
    A run that stops between conditions then leaves none of them needing a retrained model."""
    if condition not in grid_conditions(config):
        raise ValueError(f"invalid condition {condition!r}; allowed values: {', '.join(grid_conditions(config))}")
    jobs = {f"target/{condition}_s{seed}"}
    if condition.startswith("inter-"):
        jobs.add(f"intermediate/{condition[len('inter-'):]}_s{seed}")
    encoders, _ = retrieval_jobs(config)
    retrieval = [path for step in encoders for path, job in retrieval_results(config, step, [seed]) if job in jobs]
    return [f"results/{config['name']}/attack/{condition}_s{seed}.json.gz", *retrieval]


def config_data_tasks(config: dict) -> list[str]:
    """Every task whose data a config's training jobs read: its intermediate tasks, and its target
    task unless it trains no classifier (`conditions: []`). Retrieval jobs read the UDHR only."""
    tasks = set(config.get("intermediate_tasks") or [])
    if config_conditions(config):
        tasks.add(config["target_task"])
    return sorted(tasks)


def main_config(config_path: str, fallback_path: str) -> str:
    """The config of the README's main command: `config_path` when the data of its training jobs can
    be had (downloaded and prepared here, once), else `fallback_path`, whose data must be had, with
    the reason on stderr. A source can vanish from its registry; the main command then still runs
    a real experiment, on the data that is there, and says which one."""
    import yaml

    from .offline_data import SourceUnavailable, require

    configs = [yaml.safe_load(Path(p).read_text(encoding="utf-8")) for p in (config_path, fallback_path)]
    for config in configs:
        check_config(config)  # both, before any download: a broken fallback is found at once
    try:
        require(config_data_tasks(configs[0]))
        return config_path
    except SourceUnavailable as e:
        print(f"xrobust: the grid of {config_path} cannot run here: {e}\n"
              f"xrobust: running {fallback_path} instead (grid {configs[1]['name']!r}; its data: "
              f"{', '.join(config_data_tasks(configs[1]))} and the UDHR). Set CONFIG to choose a grid.",
              file=sys.stderr)
    require(config_data_tasks(configs[1]))
    return fallback_path


def check_config(config: dict) -> None:
    """Validate every key and value of a workflow config before any job runs."""
    conditions = config_conditions(config)
    jobs = [("intermediate", {"task": t}) for t in config.get("intermediate_tasks") or []]
    step1 = {"intermediate_checkpoint": "<step 1 checkpoint>"}
    jobs += [("target", {"condition": c, **(step1 if c == "intermediate" else {})}) for c in conditions]
    encoders, _ = retrieval_jobs(config)
    if not conditions and not any(encoders.values()):
        raise ValueError(f"config {config.get('name')!r}: 'conditions: []' and no retrieval encoders: nothing to "
                         f"run; allowed: conditions from {', '.join(CONDITIONS)}, or retrieval_encoders "
                         f"(any of {', '.join(RETRIEVAL_ENCODERS)})")
    if not conditions and "target" in {e for chosen in encoders.values() for e in chosen}:
        raise ValueError(f"config {config.get('name')!r}: 'target' retrieval encoders with 'conditions: []' (no "
                         "target training); allowed: pretrained, intermediate")
    jobs += [(step, {"granularity": g}) for step in encoders
             for g in sorted({g for stage in encoders[step] for g in stage_granularities(config, step, stage)})]
    for step, job in jobs + ([("attack", {})] if conditions else []):
        try:
            (RETRIEVAL_STEPS.get(step) or STEPS[step]).build(**config_params(config, step, **job))
        except ValueError as e:
            raise ValueError(f"config {config.get('name')!r}, step {step!r}: {e}") from None


def retrieval_jobs(config: dict) -> tuple[dict[str, list[str]], list[str]]:
    """({step: encoders}, granularities) of a config's UDHR retrieval jobs. `<step>_encoders`
    (any of pretrained, intermediate, target; default none) lists the encoders of each step of
    `RETRIEVAL_STEPS`: `retrieval_encoders` are scored, `retrieval_attack_encoders` attacked,
    `retrieval_middle_encoders` scored on the layer of the `retrieval_middle` section,
    `retrieval_attack_english_encoders` attacked on the English side (its section says
    `attacked_side: english`); at each of
    `retrieval_granularities` (default paragraph). `retrieval_article_encoders`, a subset of
    `retrieval_encoders`, are scored at article level too (see `stage_granularities`)."""
    try:
        encoders = {step: check_list(f"{step}_encoders", config[f"{step}_encoders"], RETRIEVAL_ENCODERS)
                    if f"{step}_encoders" in config else [] for step in RETRIEVAL_STEPS}
        granularities = check_list("retrieval_granularities", config.get("retrieval_granularities", ["paragraph"]),
                                   ("paragraph", "article"))
        article = _article_encoders(config)
    except ValueError as e:
        raise ValueError(f"config {config.get('name')!r}: {e}") from None
    unscored = [e for e in article if e not in encoders["retrieval"]]
    if unscored:
        scored = ", ".join(encoders["retrieval"]) or "none"
        raise ValueError(f"config {config.get('name')!r}: invalid 'retrieval_article_encoders': {unscored} are not "
                         f"scored; allowed values: those of 'retrieval_encoders' ({scored})")
    for step, chosen in encoders.items():
        if step in config and not chosen:
            raise ValueError(f"config {config.get('name')!r}: a {step!r} section without '{step}_encoders'; "
                             f"allowed: list the encoders, any of {', '.join(RETRIEVAL_ENCODERS)}")
    if encoders["retrieval_middle"] and (config.get("retrieval_middle") or {}).get("layer", -1) == -1:
        raise ValueError(f"config {config.get('name')!r}: 'retrieval_middle_encoders' needs a 'retrieval_middle' "
                         "section with a 'layer' (a transformer layer, 1..N)")
    side = (config.get("retrieval_attack_english") or {}).get("attacked_side")
    if encoders["retrieval_attack_english"] and side != "english":
        raise ValueError(f"config {config.get('name')!r}: 'retrieval_attack_english_encoders' needs a "
                         f"'retrieval_attack_english' section with 'attacked_side: english' (got {side!r}); "
                         "allowed: english")
    return encoders, granularities


def stage_granularities(config: dict, step: str, stage: str) -> list[str]:
    """The granularities at which `step` runs for the encoders of `stage` (pretrained, intermediate,
    target): `retrieval_granularities`, and article level as well for the scoring step `retrieval`
    and a stage in `retrieval_article_encoders`. Article level (the whole text of 520 translations)
    reads about four times the text of paragraph level (115), so a grid can score there the
    encoders Phang et al. score (pretrained and intermediate) without scoring every classifier."""
    _, granularities = retrieval_jobs(config)  # validates `retrieval_article_encoders` too
    if step == "retrieval" and stage in _article_encoders(config):
        return list(dict.fromkeys([*granularities, "article"]))
    return granularities


def _article_encoders(config: dict) -> list[str]:
    """`retrieval_article_encoders` as a list (a single string counts as a list of one)."""
    if "retrieval_article_encoders" not in config:
        return []
    return check_list("retrieval_article_encoders", config["retrieval_article_encoders"], RETRIEVAL_ENCODERS)

STEP_NOTEBOOKS = {"notebooks/01_intermediate.ipynb": IntermediateParams,
                  "notebooks/02_target.ipynb": TargetParams,
                  "notebooks/03_attack.ipynb": AttackParams,
                  "notebooks/05_retrieval.ipynb": RetrievalParams,
                  "notebooks/07_retrieval_attack.ipynb": RetrievalAttackParams}


def parameters_cell(cls) -> str:
    """Source of a notebook's parameters cell: one annotated line per field with its default
    and help (papermill's `inspect_notebook` reads the type and the help from it)."""
    hints = typing.get_type_hints(cls)
    lines = [f"# Parameters: the fields of xrobust.params.{cls.__name__} (papermill overrides them)"]
    for name, default in cls.defaults().items():
        kind = hints[name]
        type_name = f"list[{typing.get_args(kind)[0].__name__}]" if typing.get_origin(kind) is list else kind.__name__
        lines.append(f"{name}: {type_name} = {default!r}  # {cls.help()[name]}")
    return "\n".join(lines)


# --- the parameters of a notebook, as papermill sets them ---

# names IPython puts in a notebook's namespace besides the notebook's own
IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})


def notebook_names(namespace: dict) -> set[str]:
    """The names a notebook's namespace holds that can be parameters: not private (`_x`), not IPython's own,
    not modules, classes or functions (papermill sets plain values only)."""
    import types

    return {k for k, v in namespace.items() if not k.startswith("_") and k not in IPYTHON_NAMES
            and not isinstance(v, types.ModuleType) and not callable(v)}


def check_parameter_names(namespace: dict, declared, where: str) -> None:
    """Refuse names set in a notebook (by papermill's `-p name value`) that its parameters cell does not
    declare (`declared`: the names, or one string of them): a misspelt parameter would otherwise be ignored
    and the run go on with the default."""
    declared = re.split(r"[,\s]+", declared.strip()) if isinstance(declared, str) else list(declared)
    unknown = sorted(notebook_names(namespace) - set(declared))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for {where}; declared parameters: {', '.join(declared)}")


def check_folder(name: str, value, optional: bool = False) -> str:
    """An existing folder (or, if `optional`, "" for none): an input a notebook reads."""
    if optional and value in ("", None):
        return ""
    check_text(name, value)
    if not Path(value).expanduser().is_dir():
        raise ValueError(f"invalid {name!r}: {value!r} is not a folder (no such input)"
                         + ("; empty for none" if optional else ""))
    return value


def check_notebook_parameters(namespace: dict, declared, where: str, *, folders=(), optional_folders=(),
                              integers: dict | None = None, optional_integers: dict | None = None) -> None:
    """The checks a notebook without a parameter dataclass runs first, before any compute: no name that its
    parameters cell does not declare (`declared`), its input `folders` exist, its `optional_folders` exist
    unless empty, each of `integers` ({name: (low, high)}) is an integer in [low, high], and each of
    `optional_integers` is one too, or None."""
    check_parameter_names(namespace, declared, where)
    for name in folders:
        check_folder(name, namespace[name])
    for name in optional_folders:
        check_folder(name, namespace[name], optional=True)
    ranges = {**(integers or {}), **{k: v for k, v in (optional_integers or {}).items() if namespace[k] is not None}}
    for name, (low, high) in ranges.items():
        check_number(name, namespace[name], low, high, integer=True)
