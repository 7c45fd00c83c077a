"""Parameters of the tagging step (train on English EWT, evaluate on the PUD languages).

Declared like the other steps (`xrobust.params`): every field is checked before any data or
model is loaded, and an error names the parameter and what it allows.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..params import (
    OFFLINE_MODEL,
    Params,
    TrainingParams,
    _device,
    _epochs,
    _max_length,
    _max_perturbed,
    _precision,
    _progress,
    _query_budget,
    _seed,
    check_model,
    check_out_path,
    check_text,
    param,
)
from ..public_data import UD_PUD_LANGUAGES

TAGGING_CONDITIONS = ("direct", "intermediate")
EWT_TRAIN_SENTENCES = 12_544


@dataclass
class TaggingParams(TrainingParams):
    """Train a UPOS tagger on English EWT (selected on EWT dev), evaluate it on PUD."""

    model: str = param(OFFLINE_MODEL,
                       f"Encoder to start from: {OFFLINE_MODEL!r}, a Hugging Face model id or a local folder.")
    condition: str = param("direct", "'direct' (the pretrained encoder) or 'intermediate' (the encoder of "
                                     "'intermediate_checkpoint'). English EWT is the only training data in "
                                     "both: there is no multilingual condition in this family.",
                           choices=TAGGING_CONDITIONS)
    intermediate_checkpoint: str = param("", "Intermediate-task checkpoint folder (condition 'intermediate' "
                                             "only; its task names the condition).", optional=True)
    out_dir: str = param("runs/scratch/tagging", "Folder for the checkpoint (and result.json unless "
                                                 "'result_path' is set).", affects_result=False)
    result_path: str = param("", "Where to write the result JSON; empty: out_dir/result.json.", optional=True,
                             affects_result=False)
    epochs: float = _epochs(1.0)
    max_length: int = _max_length(256)
    max_train_sentences: int = param(EWT_TRAIN_SENTENCES, "EWT training sentences used (a fixed seeded subset "
                                                         "when fewer than the 12,544 of the split).",
                                     low=1, high=EWT_TRAIN_SENTENCES)
    max_dev_sentences: int = param(500, "EWT dev sentences scored for model selection (a fixed subset, the same "
                                        "for every seed and condition; 2001 for the whole split).", low=1, high=2001)
    eval_every: int = param(100, "Score on the dev sentences every this many steps (and after the last); "
                                 "the best-scoring parameters are kept.", low=1, high=10**6)
    languages: list[str] = param(list(UD_PUD_LANGUAGES), "PUD test languages to evaluate on.",
                                 choices=UD_PUD_LANGUAGES)
    max_test_sentences: int = param(1000, "PUD sentences per language (the first ones in PUD's order, the "
                                          "same sent_ids in every language).", low=1, high=1000)
    device: str = _device()

    def check_together(self) -> None:
        check_model("model", self.model)  # a missing folder is named before any compute, as in the other steps
        if self.condition == "intermediate":
            check_text("intermediate_checkpoint", self.intermediate_checkpoint)
        elif self.intermediate_checkpoint:
            raise ValueError(f"invalid 'intermediate_checkpoint': {self.intermediate_checkpoint!r}; "
                             "allowed only with condition 'intermediate' (leave it empty for 'direct')")


TAGGING_RECIPES = ("char", "codeswitch")  # the recipes that keep word count and word boundaries


@dataclass
class TaggingAttackParams(Params):
    """Attack a tagger checkpoint on one pool of PUD sentences, the same in every language,
    seed and condition, with each recipe."""

    checkpoint: str = param("runs/scratch/tagging/checkpoint", "Tagger checkpoint folder (from the tagging step).")
    out_path: str = param("runs/scratch/tagging_attack.json", "Result JSON (.json or .json.gz).",
                          affects_result=False)
    languages: list[str] = param(list(UD_PUD_LANGUAGES), "PUD languages to attack (English is the reference).",
                                 choices=UD_PUD_LANGUAGES)
    recipes: list[str] = param(list(TAGGING_RECIPES), "Attack recipes that keep the words: 'char', 'codeswitch'.",
                               choices=TAGGING_RECIPES)
    n_sentences: int = param(100, "PUD sentences attacked, the same sent_ids in every language, seed and condition.",
                             low=1, high=1000)
    pool_seed: int = _seed("Seed of the draw of the attacked sentences (not a training seed).")
    max_words: int = param(40, "Draw only sentences with at most this many words in every attacked language.",
                           low=1, high=1000)
    seed: int = _seed("Random seed of the attack's transformations.")
    max_perturbed: float = _max_perturbed()
    success_drop: float = param(0.10, "Success: accuracy on the unedited words falls by at least this much "
                                      "(absolute) below its clean value.", low=0.01, high=1.0)
    query_budget: int = _query_budget("model queries per attacked sentence")
    similarity_model: str = param(OFFLINE_MODEL, "Sentence encoder of the similarity constraint of 'codeswitch' "
                                                 "(empty: none).", optional=True)
    batch_size: int = param(128, "Texts per model query batch (speed only).", low=1, high=4096, affects_result=False)
    max_length: int = _max_length(256)
    device: str = _device()
    precision: str = _precision()
    progress: bool = _progress()

    def check_together(self) -> None:
        check_out_path(self.out_path)
        if self.similarity_model:
            check_model("similarity_model", self.similarity_model)
