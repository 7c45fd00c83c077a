"""Attacking retrieval: a perturbed unit should stop finding its translation.

`RetrievalWrapper` scores query texts against a fixed pool of units (cosine of the same
embeddings as `xrobust.retrieval`): the English units when a translation is attacked, a
translation's units when English is attacked (the reference side). `RetrievalGoalFunction`
succeeds when the gold unit is no longer the query's nearest neighbour. Its score is the margin by which the best wrong
unit beats the gold one, so TextAttack's greedy search climbs towards a wrong top-1. A query
whose gold unit is not top-1 before any perturbation is skipped, as TextAttack skips
misclassified examples. Use it with the usual recipes: `recipes.build(..., goal_function=...)`.
"""
from __future__ import annotations

import torch

from ..retrieval import MAX_POSITIONS, PREFIX, embed
from ..textattack_offline import import_textattack

ta = import_textattack()
from textattack.goal_function_results import ClassificationGoalFunctionResult  # noqa: E402
from textattack.goal_functions import GoalFunction  # noqa: E402
from textattack.models.wrappers import ModelWrapper  # noqa: E402
from textattack.shared import validators  # noqa: E402


class RetrievalWrapper(ModelWrapper):
    """Texts -> cosine similarity to each unit of the pool, shape (n_texts, n_pool)."""

    def __init__(self, encoder, tokenizer, pool_units: list[str], batch_size: int = 32,
                 max_length: int = MAX_POSITIONS, prefix: str = PREFIX):
        if not pool_units:
            raise ValueError("'pool_units' is empty: nothing to retrieve")
        self.model, self.tokenizer = encoder, tokenizer
        self.batch_size, self.max_length, self.prefix = batch_size, max_length, prefix
        self.pool = self.embed(pool_units)
        self.n_calls = 0

    def embed(self, texts: list[str]) -> torch.Tensor:
        vectors, _ = embed(texts, self.model, self.tokenizer, self.batch_size, self.max_length, self.prefix)
        return vectors

    def __call__(self, text_input_list):
        self.n_calls += len(text_input_list)
        return self.embed(list(text_input_list)) @ self.pool.T


class RetrievalGoalFunction(GoalFunction):
    """Untargeted retrieval attack: success when argmax similarity is not the gold unit."""

    def _process_model_outputs(self, inputs, scores):
        scores = torch.as_tensor(scores, dtype=torch.float32)
        if scores.ndim != 2 or len(scores) != len(inputs):
            raise ValueError(f"the retrieval wrapper must return one row of similarities per input; "
                             f"got shape {tuple(scores.shape)} for {len(inputs)} inputs")
        return scores

    def _is_goal_complete(self, model_output, _):
        return int(model_output.argmax()) != self.ground_truth_output

    def _get_score(self, model_output, _):
        others = model_output.clone()
        others[self.ground_truth_output] = -float("inf")
        return float(others.max() - model_output[self.ground_truth_output])

    def _goal_function_result_type(self):
        return ClassificationGoalFunctionResult  # output = index of the retrieved unit


# tell TextAttack's model/goal compatibility check that any encoder serves this goal
validators.MODELS_BY_GOAL_FUNCTION.setdefault(RetrievalGoalFunction, [r".*"])
