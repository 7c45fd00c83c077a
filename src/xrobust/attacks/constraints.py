"""Constraints that TextAttack's own versions round differently from what the method states."""
from __future__ import annotations

import math

from ..textattack_offline import import_textattack

ta = import_textattack()
from textattack.constraints.overlap import MaxWordsPerturbed  # noqa: E402


class MaxShareOfWordsPerturbed(MaxWordsPerturbed):
    """At most `max_percent` of the words changed, and always at least one word: a text of
    `n` words keeps `max(max_percent, 1/n)` as its bound. TextAttack's `MaxWordsPerturbed`
    rounds the count up, which lets 2 of 5 words (40%) change at 25%."""

    def __init__(self, max_percent: float, compare_against_original: bool = True):
        super().__init__(max_percent=max_percent, compare_against_original=compare_against_original)

    def _check_constraint(self, transformed_text, reference_text):
        n_words = min(len(transformed_text.words), len(reference_text.words))
        allowed = max(1, math.floor(n_words * self.max_percent + 1e-9))  # 1e-9: 0.29 * 100 is 28.99...
        return len(transformed_text.all_words_diff(reference_text)) <= allowed
