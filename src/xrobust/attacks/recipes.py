"""Attack recipes, one builder per recipe as in `textattack.attack_recipes`.

`build(recipe, model_wrapper, language, ...)` checks the settings, calls the recipe's builder,
then applies the run-time settings (query budget, model batch size) to the built attack, as
TextAttack's `Attacker` does with its `AttackArgs`.

All three recipes use TextAttack's greedy word-importance search (deletion-based ranking,
so it works with any tokenizer) and untargeted goal; they differ in the transformation and
its constraints. Each builder's docstring cites its paper and says where it departs from it.
"""
from __future__ import annotations

import copy

import torch

from ..examples import Example
from ..params import RECIPES, check_choice, check_number
from ..textattack_offline import import_textattack
from ..training import autocast, encode
from . import lexicons
from .constraints import MaxShareOfWordsPerturbed
from .transformations import EmbeddingNeighbourSwap, LexiconSwap, ScriptAwareCharEdit, neighbour_index

ta = import_textattack()
from textattack import Attack  # noqa: E402
from textattack.constraints.pre_transformation import InputColumnModification, MaxModificationRate, RepeatModification  # noqa: E402
from textattack.constraints.semantics.sentence_encoders import SentenceEncoder  # noqa: E402
from textattack.goal_functions import UntargetedClassification  # noqa: E402
from textattack.models.wrappers import ModelWrapper  # noqa: E402
from textattack.search_methods import GreedyWordSwapWIR  # noqa: E402


class BatchedModelWrapper(ModelWrapper):
    """Model queries for TextAttack: dynamic padding, length-sorted batches, inference mode,
    on the model's device. Returns logits, as the stock Hugging Face wrapper does."""

    def __init__(self, model, tokenizer, device="cpu", batch_size=128, max_length=128, precision="auto"):
        self.model, self.tokenizer, self.device = model, tokenizer, torch.device(device)
        self.batch_size, self.max_length, self.precision = batch_size, max_length, precision
        self.n_calls = 0
        self.timer: dict[str, float] = {}  # seconds tokenizing / in the forward pass

    def __call__(self, text_input_list):
        from ..training import predict_logits

        examples = [Example(text_a=t[0], text_b=t[1], label=0) if isinstance(t, (tuple, list))
                    else Example(text_a=t, label=0) for t in text_input_list]
        self.n_calls += len(examples)
        return predict_logits(self.model, self.tokenizer, examples, self.device, self.batch_size,
                              self.max_length, self.precision, timer=self.timer)


class EncoderSimilarity(SentenceEncoder):
    """Multilingual sentence similarity: cosine of mean-pooled embeddings of a frozen encoder
    (by default the pretrained multilingual-e5-small, itself a sentence-embedding model).
    `precision`: the attack's numeric format ('bf16': the encoder's matrix products in bf16
    autocast; the pooling and cosine stay fp32)."""

    def __init__(self, encoder, tokenizer, threshold=0.85, device="cpu", max_length=128, precision="fp32"):
        super().__init__(threshold=threshold, metric="cosine", compare_against_original=True)
        self.encoder, self.tokenizer = encoder.to(device).eval(), tokenizer
        self.device, self.max_length, self.precision = torch.device(device), max_length, precision

    @torch.inference_mode()
    def encode(self, sentences):
        sentences = [s if s.strip() else "." for s in sentences]
        batch = encode(self.tokenizer, [Example(text_a=s, label=0) for s in sentences], self.max_length,
                       self.device)
        with autocast(self.device, self.precision):
            hidden = self.encoder(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).cpu()


def _shared_constraints(max_perturbed: float, columns: tuple[str, ...]) -> list:
    """Every recipe: no word changed twice, at most `max_perturbed` of the words changed (at
    least one; enforced by `MaxShareOfWordsPerturbed`, as TextAttack's rate constraints round
    up), and for sentence pairs only the second column (hypothesis/claim) perturbed,
    as in TextAttack's NLI recipes."""
    constraints = [RepeatModification(), MaxModificationRate(max_rate=max_perturbed, min_threshold=1),
                   MaxShareOfWordsPerturbed(max_percent=max_perturbed)]
    if len(columns) == 2:
        constraints.append(InputColumnModification(list(columns), {columns[0]}))
    return constraints


def _with_threshold(similarity: EncoderSimilarity, threshold: float) -> EncoderSimilarity:
    """A copy with its own threshold: the caller's object (shared across languages and
    recipes) is never changed; the encoder inside is shared, not copied."""
    constraint = copy.copy(similarity)
    constraint.threshold = threshold
    return constraint


def script_aware_deepwordbug(model_wrapper, *, max_perturbed: float = 0.25, max_candidates: int = 12,
                             seed: int = 0, columns: tuple[str, ...] = ("text",),
                             truncate_words_to: int = 128) -> Attack:
    """Recipe `char`. Gao, Lanchantin, Soffa & Qi (2018), "Black-box Generation of Adversarial
    Text Sequences to Evade Deep Learning Classifiers", IEEE S&P Workshops,
    https://arxiv.org/abs/1801.04354 (TextAttack: `DeepWordBugGao2018`).

    As in the paper: character swap, substitution, deletion and insertion inside the most
    important words, chosen greedily.
    Differs from the paper and from TextAttack's recipe:
    - edits act on grapheme clusters (a letter stays with its combining marks), new letters
      come from the word's own script, and a homoglyph swap is added;
    - no stop-word constraint (TextAttack's list is English) and no edit-distance bound
      (the paper's epsilon = 30); instead at most `max_perturbed` of the words change;
    - words are ranked by the effect of deleting them, not by the paper's combined score.
    """
    transformation = ScriptAwareCharEdit(max_candidates=max_candidates, seed=seed)
    return Attack(UntargetedClassification(model_wrapper), _shared_constraints(max_perturbed, columns),
                  transformation, GreedyWordSwapWIR(wir_method="delete", truncate_words_to=truncate_words_to))


def embedding_textfooler(model_wrapper, *, embeddings, tokenizer, similarity=None, sim_threshold: float = 0.85,
                         max_perturbed: float = 0.25, max_candidates: int = 12, columns: tuple[str, ...] = ("text",),
                         truncate_words_to: int = 128, device="cpu") -> Attack:
    """Recipe `embedding`. Jin, Jin, Zhou & Szolovits (2020), "Is BERT Really Robust? A Strong
    Baseline for Natural Language Attack on Text Classification and Entailment", AAAI,
    https://arxiv.org/abs/1907.11932 (TextAttack: `TextFoolerJin2019`).

    As in the paper: important words (ranked by deleting them) are replaced by their nearest
    embedding neighbours with cosine >= 0.5, under a sentence-similarity constraint.
    Differs from the paper and from TextAttack's recipe:
    - neighbours come from the victim encoder's own multilingual input-embedding table
      (whole-word pieces of the word's script), not counter-fitted English word vectors, and
      `max_candidates` (12) of them instead of 50;
    - sentence similarity is the cosine of mean-pooled embeddings of a frozen multilingual
      encoder against the original text, >= `sim_threshold`, instead of the Universal Sentence
      Encoder on a 15-word window; omitted when `similarity` is None;
    - no part-of-speech or stop-word constraint (no offline multilingual tagger); at most
      `max_perturbed` of the words change.
    """
    if embeddings is None or tokenizer is None:
        raise ValueError("recipe 'embedding' needs the encoder's 'embeddings' and 'tokenizer'")
    transformation = EmbeddingNeighbourSwap(neighbour_index(embeddings, tokenizer, device), k=max_candidates,
                                            min_cos=0.5)
    constraints = _shared_constraints(max_perturbed, columns)
    if similarity is not None:
        constraints.append(_with_threshold(similarity, sim_threshold))
    return Attack(UntargetedClassification(model_wrapper), constraints, transformation,
                  GreedyWordSwapWIR(wir_method="delete", truncate_words_to=truncate_words_to))


def lexicon_codeswitch(model_wrapper, *, language: str, similarity=None, sim_threshold: float = 0.85,
                       max_perturbed: float = 0.25, max_candidates: int = 12, columns: tuple[str, ...] = ("text",),
                       truncate_words_to: int = 128) -> Attack:
    """Recipe `codeswitch`. Closest to PolyGloss in Tan & Joty (2021), "Code-Mixing on Sesame
    Street: Dawn of the Adversarial Polyglots", NAACL, https://arxiv.org/abs/2103.09593:
    words are replaced by their translations from bilingual dictionaries.

    Differs from the paper:
    - one embedded language (English; German for Russian, see `lexicons`), from FreeDict or
      CC-CEDICT, up to `max_candidates // 4` translations per word, in the word's case;
    - TextAttack's greedy word-importance search (by deletion) under the same sentence-
      similarity constraint as the `embedding` recipe (omitted when `similarity` is None),
      and at most `max_perturbed` of the words change.
    """
    transformation = LexiconSwap(lexicons.load_lexicon(language), k=max(1, max_candidates // 4))
    constraints = _shared_constraints(max_perturbed, columns)
    if similarity is not None:
        constraints.append(_with_threshold(similarity, sim_threshold))
    return Attack(UntargetedClassification(model_wrapper), constraints, transformation,
                  GreedyWordSwapWIR(wir_method="delete", truncate_words_to=truncate_words_to))


RECIPE_BUILDERS = {"char": script_aware_deepwordbug, "embedding": embedding_textfooler,
                   "codeswitch": lexicon_codeswitch}


def build(recipe: str, model_wrapper, language: str, *, tokenizer=None, embeddings=None,
          similarity=None, columns: tuple[str, ...] = ("text",), max_perturbed: float = 0.25,
          query_budget: int = 2000, max_candidates: int = 12, sim_threshold: float = 0.85,
          truncate_words_to: int = 128, seed: int = 0, device="cpu", model_batch_size: int = 256,
          goal_function=None) -> Attack:
    """Build recipe `recipe` for texts in `language`, then apply the run-time settings.

    `similarity` is an `EncoderSimilarity` (word-level recipes; left unchanged: each attack
    gets a copy with `sim_threshold`); `embeddings`/`tokenizer` give the neighbour index of
    `embedding`, built once per embedding table and shared across languages. `goal_function`
    replaces the untargeted classification goal (e.g. `retrieval_goal.RetrievalGoalFunction`).
    """
    check_choice("recipe", recipe, RECIPES)
    check_number("max_perturbed", max_perturbed, low=0.01, high=1.0)
    check_number("query_budget", query_budget, low=1, high=10**7, integer=True)
    check_number("max_candidates", max_candidates, low=1, high=10**4, integer=True)
    check_number("model_batch_size", model_batch_size, low=1, high=10**6, integer=True)
    common = dict(max_perturbed=max_perturbed, max_candidates=max_candidates, columns=tuple(columns),
                  truncate_words_to=truncate_words_to)
    if recipe == "char":
        attack = script_aware_deepwordbug(model_wrapper, seed=seed, **common)
    elif recipe == "embedding":
        attack = embedding_textfooler(model_wrapper, embeddings=embeddings, tokenizer=tokenizer,
                                      similarity=similarity, sim_threshold=sim_threshold, device=device, **common)
    else:
        attack = lexicon_codeswitch(model_wrapper, language=language, similarity=similarity,
                                    sim_threshold=sim_threshold, **common)
    if goal_function is not None:  # same constraints, transformation and search; another goal
        attack = Attack(goal_function, attack.pre_transformation_constraints + attack.constraints,
                        attack.transformation, attack.search_method)
    attack.goal_function.query_budget = query_budget
    attack.goal_function.batch_size = model_batch_size
    return attack


def recipe_applies(recipe: str, language: str) -> bool:
    """Code-switching replaces words with their English translations: undefined for English."""
    return not (recipe == "codeswitch" and language == "en")


def check_recipe_language(recipe: str, language: str) -> None:
    """Fail before any compute when a recipe cannot serve a language."""
    check_choice("recipe", recipe, RECIPES)
    if recipe == "codeswitch":
        lexicons.load_lexicon(language)


def check_recipes(recipes, languages) -> None:
    """`check_recipe_language` for every pair a run attacks (pairs a recipe does not apply to are skipped)."""
    for recipe in recipes:
        for lang in languages:
            if not recipe_applies(recipe, lang):
                continue  # recorded as not applicable in the result
            try:
                check_recipe_language(recipe, lang)
            except ValueError as e:
                raise ValueError(f"invalid 'languages' for recipe {recipe!r}: {e}") from None

