"""Tags, labels and the baseline of the tagging family.

Words are UD's syntactic words (`public_data.read_ud`). Labels follow XTREME's UD-POS protocol:
the first sub-word of each word carries the word's tag, every other position (later sub-words,
special tokens, padding) the ignore index -100. Word-to-piece alignment comes from the fast
tokenizer's `word_ids()`, never from string matching.
"""
from __future__ import annotations

import re
from collections import Counter

# the 17 UPOS tags of Universal Dependencies v2, in the order of the UD documentation
UPOS_TAGS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
             "PUNCT", "SCONJ", "SYM", "VERB", "X")
TAG_INDEX = {t: i for i, t in enumerate(UPOS_TAGS)}
IGNORE_INDEX = -100


def tag_ids(upos: list[str]) -> list[int]:
    bad = sorted(set(upos) - set(TAG_INDEX))
    if bad:
        raise ValueError(f"unknown UPOS tag(s) {bad}; allowed: {', '.join(UPOS_TAGS)}")
    return [TAG_INDEX[t] for t in upos]


def clean_word(word: str) -> str:
    """A word as the tokenizer and the attack see it: a word that holds whitespace (a few PUD
    words such as numbers with digit-group spaces) gets no-break spaces, so that ASCII spaces
    separate words and nothing else."""
    return re.sub(r"\s", "\u00a0", word) or "_"


def first_subword_labels(tokenizer, words: list[list[str]], tags: list[list[int]] | None, max_length: int):
    """Tokenize pre-split sentences; return (encoding, labels, first) where `labels[i]` has the
    word's tag at the first sub-word of each word and -100 elsewhere, and `first[i][w]` is the
    position of word w's first sub-word (-1 if truncation cut the word off)."""
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("the tagging family needs a fast tokenizer (word_ids() aligns words and sub-words)")
    enc = tokenizer([[clean_word(w) for w in ws] for ws in words], is_split_into_words=True, truncation=True,
                    max_length=max_length)
    labels, firsts = [], []
    for i, ws in enumerate(words):
        first = [-1] * len(ws)
        row = []
        previous = None
        for pos, w in enumerate(enc.word_ids(i)):
            if w is not None and w != previous:
                first[w] = pos
                row.append(tags[i][w] if tags is not None else IGNORE_INDEX)
            else:
                row.append(IGNORE_INDEX)
            previous = w
        labels.append(row)
        firsts.append(first)
    return enc, labels, firsts


class MostFrequentTag:
    """The baseline: each word's most frequent tag in the training data (exact form; ties go to
    the tag listed first in `UPOS_TAGS`); an unseen word gets the most frequent tag overall."""

    def __init__(self, sentences: list[dict]):
        by_word: dict[str, Counter] = {}
        overall: Counter = Counter()
        for s in sentences:
            for w, t in zip(s["tokens"], s["upos"], strict=True):
                by_word.setdefault(w, Counter())[t] += 1
                overall[t] += 1
        if not overall:
            raise ValueError("MostFrequentTag needs at least one tagged word")

        def best(c: Counter) -> str:
            return max(UPOS_TAGS, key=lambda t: (c[t], -TAG_INDEX[t]))

        self.default = best(overall)
        self.table = {w: best(c) for w, c in by_word.items()}

    def predict(self, words: list[str]) -> list[str]:
        return [self.table.get(w, self.default) for w in words]

    def unknown_rate(self, sentences: list[dict]) -> float:
        words = [w for s in sentences for w in s["tokens"]]
        return sum(w not in self.table for w in words) / max(1, len(words))
