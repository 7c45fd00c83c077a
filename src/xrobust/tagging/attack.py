"""Attacking a tagger with TextAttack: a goal function for sequence labelling.

Model output. `TaggerWrapper` maps each (perturbed) sentence to one row of tag log-probabilities
per word, read at the word's first sub-word. A sentence is the UD words joined by ASCII spaces
(`sentence_text`; whitespace inside a word becomes a no-break space), so the tagger's words are
`text.split(" ")`. The transformations edit TextAttack's words (`AttackedText.words`, which can
be parts of a UD word, e.g. "3" of "3.5") within a word (`char`) or swap one word for one word
(`codeswitch`); neither adds or removes an ASCII space, so the word count and the word
boundaries, hence the alignment with the gold tags, are kept. The goal function checks this for
every query and refuses a text whose word count differs from the gold tags'.

Word importance is ranked by replacing a word with "[UNK]" (TextAttack's `unk` method), not by
deleting it as the classification recipes do: a deletion would change the word count.

Success rule (`SUCCESS_DROP`). An attack succeeds when the tagger's accuracy on the words the
attack did NOT edit falls by at least `SUCCESS_DROP` (absolute, 0.10 = ten points) below its
clean accuracy on the same words. Why the unedited words: an edit can change the true tag of the
edited word itself (a misspelt or code-switched word may be a different part of speech, or none:
Han, Zhang, Jiang & Tu, 2020, "Adversarial Attack and Defense of Structured Prediction Models",
EMNLP, stress that small perturbations of a sentence may well change the true output structure),
so errors there say little about robustness; errors on untouched words say that the context
representation broke, which is the research question's object (whether intermediate training
leaves contextual token representations easier to derail). Why a share and not "any change":
on a 30-word sentence one flipped word is a 3-point change that a tagger at 80-90% word
accuracy produces from small input noise, while ten points is several words (at least one; two on
an 11-20-word remainder). The threshold is a choice, not a literature value: every record keeps the clean and
attacked tags, so the grid can re-score at other thresholds. Accuracy on edited and on
unedited words is reported separately. (Yasunaga, Kasai & Radev, 2018, "Robust Multilingual
Part-of-Speech Tagging via Adversarial Training", NAACL, perturb word embeddings to train
taggers; they motivate robustness of multilingual POS taggers, not this rule.)

Search score. The greedy search maximises the accuracy drop on unedited words plus the drop in
their mean gold-tag probability (the latter breaks ties while no tag has flipped yet).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..textattack_offline import import_textattack
from .data import TAG_INDEX, UPOS_TAGS, clean_word
from .params import TAGGING_RECIPES

ta = import_textattack()
from textattack.goal_function_results import GoalFunctionResult  # noqa: E402
from textattack.goal_functions import GoalFunction  # noqa: E402
from textattack.models.wrappers import ModelWrapper  # noqa: E402
from textattack.search_methods import GreedyWordSwapWIR  # noqa: E402
from textattack.shared import AttackedText, validators  # noqa: E402

SUCCESS_DROP = 0.10
WORD_SEPARATOR = " "


def sentence_text(words: list[str]) -> str:
    return WORD_SEPARATOR.join(clean_word(w) for w in words)


def text_words(text: str) -> list[str]:
    return text.split(WORD_SEPARATOR)


@dataclass(frozen=True)
class WordScores:
    """One sentence's (n_words, n_tags) log-probabilities. A box, so that TextAttack's batching
    (which concatenates tensors and arrays along the first axis) keeps sentences apart."""

    log_probs: np.ndarray


class TaggerWrapper(ModelWrapper):
    """Sentences (words joined by spaces) -> `WordScores`, one per sentence."""

    def __init__(self, model, tokenizer, device="cpu", batch_size=64, max_length=256, precision="auto"):
        self.model, self.tokenizer, self.device = model, tokenizer, torch.device(device)
        self.batch_size, self.max_length, self.precision = batch_size, max_length, precision
        self.n_calls = 0

    def __call__(self, text_input_list):
        from .train import word_log_probs

        self.n_calls += len(text_input_list)
        scores = word_log_probs(self.model, self.tokenizer, [text_words(t) for t in text_input_list], self.device,
                                self.batch_size, self.max_length, self.precision)
        # a word cut off by truncation gets uniform scores (argmax: tag 0); attack pools hold
        # sentences short enough for `max_length` that this does not happen
        return [WordScores(np.nan_to_num(s, nan=-np.log(len(UPOS_TAGS)))) for s in scores]


def gold_string(upos: list[str]) -> str:
    """Gold tags as TextAttack's ground truth (it accepts only an int or a str)."""
    return " ".join(upos)


def word_split(clean: np.ndarray, attacked: np.ndarray, gold: np.ndarray, edited: np.ndarray) -> dict:
    """Clean and attacked accuracy on edited and on unedited words (counts, to pool over sentences)."""
    kept = ~edited
    return {"n_words": int(len(gold)), "edited_words": int(edited.sum()),
            "clean_correct_edited": int((clean[edited] == gold[edited]).sum()),
            "attacked_correct_edited": int((attacked[edited] == gold[edited]).sum()),
            "clean_correct_unedited": int((clean[kept] == gold[kept]).sum()),
            "attacked_correct_unedited": int((attacked[kept] == gold[kept]).sum())}


def unedited_drop(clean: np.ndarray, attacked: np.ndarray, gold: np.ndarray, edited: np.ndarray) -> float:
    """Clean minus attacked accuracy on the words not edited (0 when every word was edited)."""
    kept = ~edited
    if not kept.any():
        return 0.0
    return float((clean[kept] == gold[kept]).mean() - (attacked[kept] == gold[kept]).mean())


class TaggingGoalFunctionResult(GoalFunctionResult):
    def __init__(self, *args):
        super().__init__(*args, goal_function_result_type="Tagging")

    def get_text_color_input(self):
        return "red"

    def get_text_color_perturbed(self):
        return "blue"

    def get_colored_output(self, color_method=None):
        return " ".join(UPOS_TAGS[t] for t in self.output)


class TaggingGoalFunction(GoalFunction):
    """Untargeted attack on a tagger: success when accuracy on the unedited words drops by at
    least `success_drop` (see the module docstring). Never skips a sentence (the clean text has
    no edited words, hence no drop)."""

    def __init__(self, model_wrapper, success_drop: float = SUCCESS_DROP, **kwargs):
        if not 0 < success_drop <= 1:
            raise ValueError(f"invalid 'success_drop': {success_drop!r}; allowed range: (0, 1]")
        super().__init__(model_wrapper, **kwargs)
        self.success_drop = success_drop

    def init_attack_example(self, attacked_text, ground_truth_output):
        gold = ground_truth_output.split(" ") if isinstance(ground_truth_output, str) else list(ground_truth_output)
        self.gold = np.array([TAG_INDEX[t] if isinstance(t, str) else int(t) for t in gold])
        self.initial_words = text_words(attacked_text.text)
        if len(self.initial_words) != len(self.gold):
            raise ValueError(f"the sentence has {len(self.initial_words)} words but {len(self.gold)} gold tags")
        self.initial_attacked_text = attacked_text
        self.clean = self._call_model([attacked_text])[0].argmax(-1)
        return super().init_attack_example(attacked_text, ground_truth_output)

    def edited(self, attacked_text) -> np.ndarray:
        words = text_words(attacked_text.text)
        return np.array([a != b for a, b in zip(words, self.initial_words, strict=True)], dtype=bool)

    def _process_model_outputs(self, inputs, outputs):
        rows = []
        for text, out in zip(inputs, outputs, strict=True):
            scores = np.asarray(out.log_probs if isinstance(out, WordScores) else out, dtype=np.float32)
            n_words = len(text_words(text.text))
            if scores.ndim != 2 or scores.shape[0] != n_words or n_words != len(self.gold):
                raise ValueError(f"word count changed: the text has {n_words} words, the tagger returned "
                                 f"{scores.shape[0] if scores.ndim == 2 else scores.shape} rows, the gold tags "
                                 f"are {len(self.gold)}; a tagging attack must keep words and word boundaries "
                                 f"(text: {text.text[:80]!r})")
            rows.append(scores)
        return rows

    def _get_displayed_output(self, raw_output):
        return tuple(int(t) for t in np.asarray(raw_output).argmax(-1))

    def _is_goal_complete(self, model_output, attacked_text):
        pred = np.asarray(model_output).argmax(-1)
        return unedited_drop(self.clean, pred, self.gold, self.edited(attacked_text)) >= self.success_drop - 1e-9

    def _should_skip(self, model_output, attacked_text):
        return False

    def _get_score(self, model_output, attacked_text):
        scores = np.asarray(model_output)
        edited = self.edited(attacked_text)
        kept = ~edited
        if not kept.any():
            return 0.0
        drop = unedited_drop(self.clean, scores.argmax(-1), self.gold, edited)
        clean_scores = self._call_model([self.initial_attacked_text])[0]
        rows = np.flatnonzero(kept)
        p_clean = np.exp(clean_scores[rows, self.gold[rows]]).mean()
        p_now = np.exp(scores[rows, self.gold[rows]]).mean()
        return float(drop + (p_clean - p_now))

    def _goal_function_result_type(self):
        return TaggingGoalFunctionResult


# tell TextAttack's model/goal compatibility check that any model serves this goal
validators.MODELS_BY_GOAL_FUNCTION.setdefault(TaggingGoalFunction, [r".*"])


def build_attack(recipe: str, wrapper, language: str, *, success_drop: float = SUCCESS_DROP, **kwargs):
    """A recipe of `attacks.recipes` (transformation and constraints unchanged) with the tagging
    goal and word importance by [UNK] replacement. Only `char` and `codeswitch` keep word
    boundaries by construction; `embedding` is refused."""
    from textattack import Attack

    from ..attacks.recipes import build

    if recipe not in TAGGING_RECIPES:
        raise ValueError(f"invalid 'recipe' for tagging: {recipe!r}; allowed values: {', '.join(TAGGING_RECIPES)}")
    goal = TaggingGoalFunction(wrapper, success_drop=success_drop)
    attack = build(recipe, wrapper, language, goal_function=goal, **kwargs)
    search = GreedyWordSwapWIR(wir_method="unk", truncate_words_to=kwargs.get("truncate_words_to", 128))
    attack = Attack(attack.goal_function, attack.pre_transformation_constraints + attack.constraints,
                    attack.transformation, search)
    return attack


def attack_sentence(attack, sentence: dict) -> dict:
    """Attack one sentence {sent_id, tokens, upos}; return its record: words before and after,
    gold, clean and attacked tags, which words were edited, and the edited/unedited counts."""
    from textattack.attack_results import FailedAttackResult, SkippedAttackResult, SuccessfulAttackResult

    text = AttackedText(sentence_text(sentence["tokens"]))
    result = attack.attack(text, gold_string(sentence["upos"]))
    goal = attack.goal_function
    final = result.perturbed_result
    attacked = np.asarray(final.raw_output).argmax(-1)
    edited = goal.edited(final.attacked_text)
    status = ("succeeded" if isinstance(result, SuccessfulAttackResult) else
              "failed" if isinstance(result, FailedAttackResult) else
              "skipped" if isinstance(result, SkippedAttackResult) else "maximized")
    return {"sent_id": sentence["sent_id"], "status": status, "queries": int(final.num_queries),
            "words": goal.initial_words, "perturbed_words": text_words(final.attacked_text.text),
            "gold": [UPOS_TAGS[t] for t in goal.gold], "clean": [UPOS_TAGS[t] for t in goal.clean],
            "attacked": [UPOS_TAGS[t] for t in attacked], "edited": np.flatnonzero(edited).tolist(),
            "unedited_drop": round(unedited_drop(goal.clean, attacked, goal.gold, edited), 4),
            **word_split(goal.clean, attacked, goal.gold, edited)}


def summarize(records: list[dict]) -> dict:
    """Attack success rate and word accuracy, clean and attacked, on edited and unedited words
    (pooled over the sentences' words)."""
    def ratio(a, b):
        return round(a / b, 4) if b else None

    n = len(records)
    tot = {k: sum(r[k] for r in records) for k in ("n_words", "edited_words", "clean_correct_edited",
                                                   "attacked_correct_edited", "clean_correct_unedited",
                                                   "attacked_correct_unedited")}
    unedited = tot["n_words"] - tot["edited_words"]
    return {"n": n, "success_rate": ratio(sum(r["status"] == "succeeded" for r in records), n),
            "words": tot["n_words"], "edited_words": tot["edited_words"],
            "clean_accuracy": ratio(tot["clean_correct_edited"] + tot["clean_correct_unedited"], tot["n_words"]),
            "attacked_accuracy": ratio(tot["attacked_correct_edited"] + tot["attacked_correct_unedited"],
                                       tot["n_words"]),
            "clean_accuracy_edited": ratio(tot["clean_correct_edited"], tot["edited_words"]),
            "attacked_accuracy_edited": ratio(tot["attacked_correct_edited"], tot["edited_words"]),
            "clean_accuracy_unedited": ratio(tot["clean_correct_unedited"], unedited),
            "attacked_accuracy_unedited": ratio(tot["attacked_correct_unedited"], unedited),
            "mean_queries": ratio(sum(r["queries"] for r in records), n)}
