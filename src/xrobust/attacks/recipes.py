"""Attack recipes: `build(recipe, model_wrapper, language, ...)` returns a `textattack.Attack`.

All three share TextAttack's greedy word-importance search (deletion-based ranking, so it
works with any tokenizer) and untargeted goal; they differ in the transformation and its
constraints, as TextAttack's own recipes do (DeepWordBug, TextFooler, ...).
"""
from __future__ import annotations

import torch

from ..params import check_choice, check_number
from ..textattack_offline import import_textattack
from ..training import encode
from ..data import Example
from . import lexicons
from .transformations import EmbeddingNeighbourSwap, LexiconSwap, ScriptAwareCharEdit

ta = import_textattack()
from textattack import Attack  # noqa: E402
from textattack.constraints.overlap import MaxWordsPerturbed  # noqa: E402
from textattack.constraints.pre_transformation import (  # noqa: E402
    InputColumnModification, MaxModificationRate, RepeatModification)
from textattack.constraints.semantics.sentence_encoders import SentenceEncoder  # noqa: E402
from textattack.goal_functions import UntargetedClassification  # noqa: E402
from textattack.models.wrappers import ModelWrapper  # noqa: E402
from textattack.search_methods import GreedyWordSwapWIR  # noqa: E402

RECIPES = ("char", "embedding", "codeswitch")


class BatchedModelWrapper(ModelWrapper):
    """Model queries for TextAttack: dynamic padding, length-sorted batches, inference mode,
    on the model's device. Returns logits, as the stock Hugging Face wrapper does."""

    def __init__(self, model, tokenizer, device="cpu", batch_size=128, max_length=128, precision="auto"):
        self.model, self.tokenizer, self.device = model, tokenizer, torch.device(device)
        self.batch_size, self.max_length, self.precision = batch_size, max_length, precision
        self.n_calls = 0

    def __call__(self, text_input_list):
        from ..training import predict_logits

        examples = [Example(text_a=t[0], text_b=t[1], label=0) if isinstance(t, (tuple, list))
                    else Example(text_a=t, label=0) for t in text_input_list]
        self.n_calls += len(examples)
        return predict_logits(self.model, self.tokenizer, examples, self.device, self.batch_size,
                              self.max_length, self.precision)


class EncoderSimilarity(SentenceEncoder):
    """Multilingual sentence similarity: cosine of mean-pooled embeddings of a frozen encoder
    (by default the pretrained multilingual-e5-small, itself a sentence-embedding model)."""

    def __init__(self, encoder, tokenizer, threshold=0.85, device="cpu", max_length=128):
        super().__init__(threshold=threshold, metric="cosine", compare_against_original=True)
        self.encoder, self.tokenizer = encoder.to(device).eval(), tokenizer
        self.device, self.max_length = torch.device(device), max_length

    @torch.inference_mode()
    def encode(self, sentences):
        sentences = [s if s.strip() else "." for s in sentences]
        batch = encode(self.tokenizer, [Example(text_a=s, label=0) for s in sentences], self.max_length,
                       self.device)
        hidden = self.encoder(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).cpu()


def build(recipe: str, model_wrapper, language: str, *, tokenizer=None, embeddings=None,
          similarity=None, columns: tuple[str, ...] = ("text",), max_perturbed: float = 0.25,
          query_budget: int = 2000, max_candidates: int = 12, sim_threshold: float = 0.85,
          truncate_words_to: int = 128, seed: int = 0, device="cpu", goal_function=None) -> Attack:
    """Build an attack for texts in `language`.

    `similarity` is an `EncoderSimilarity` (word-level recipes); `embeddings`/`tokenizer`
    give the neighbour table for `embedding`. For sentence pairs only the second column
    (hypothesis/claim) is perturbed, as in TextAttack's NLI recipes. `goal_function` replaces the
    untargeted classification goal (e.g. `retrieval_goal.RetrievalGoalFunction`).
    """
    check_choice("recipe", recipe, RECIPES)
    check_number("max_perturbed", max_perturbed, low=0.01, high=1.0)
    check_number("query_budget", query_budget, low=1, high=10**7, integer=True)
    goal = goal_function or UntargetedClassification(model_wrapper, query_budget=query_budget,
                                                     model_batch_size=256)
    constraints = [RepeatModification(), MaxModificationRate(max_rate=max_perturbed, min_threshold=1),
                   MaxWordsPerturbed(max_percent=max_perturbed)]
    if len(columns) == 2:
        constraints.append(InputColumnModification(list(columns), {columns[0]}))
    if recipe == "char":
        transformation = ScriptAwareCharEdit(max_candidates=max_candidates, seed=seed)
    elif recipe == "embedding":
        if embeddings is None or tokenizer is None:
            raise ValueError("recipe 'embedding' needs the encoder's 'embeddings' and 'tokenizer'")
        transformation = EmbeddingNeighbourSwap(embeddings, tokenizer, k=max_candidates, device=device)
    else:
        transformation = LexiconSwap(lexicons.load_lexicon(language), k=max(1, max_candidates // 4))
    if recipe != "char" and similarity is not None:
        similarity.threshold = sim_threshold
        constraints.append(similarity)
    search = GreedyWordSwapWIR(wir_method="delete", truncate_words_to=truncate_words_to)
    return Attack(goal, constraints, transformation, search)


def check_recipe_language(recipe: str, language: str) -> None:
    """Fail before any compute when a recipe cannot serve a language."""
    check_choice("recipe", recipe, RECIPES)
    if recipe == "codeswitch":
        lexicons.load_lexicon(language)

