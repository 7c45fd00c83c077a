"""TextAttack `WordSwap` transformations that make sense in any language."""
from __future__ import annotations

import functools
import re
import weakref
import zlib

import numpy as np
import torch

from ..textattack_offline import import_textattack
from .writing_systems import HOMOGLYPHS, graphemes, is_wordlike, word_script

ta = import_textattack()
from textattack.transformations import WordSwap  # noqa: E402
from textattack.transformations.word_swaps.word_swap_embedding import recover_word_case  # noqa: E402

# letters used for substitutions/insertions, per script; other scripts reuse the word's own letters
ALPHABETS = {
    "Latin": "abcdefghijklmnopqrstuvwxyz",
    "Cyrillic": "абвгдежзийклмнопрстуфхцчшщъыьэюя",
    "Greek": "αβγδεζηθικλμνξοπρστυφχψω",
    "Arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "Devanagari": "कखगघचछजझटठडढणतथदधनपफबभमयरलवशषसह",
    "Hebrew": "אבגדהוזחטיכלמנסעפצקרשת",
    "Thai": "กขคฆงจฉชซฌญฎฏฐฑฒณดตถทธนบปผฝพฟภมยรลวศษสหฬอฮ",
}


def _rng(word: str, seed: int) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(word.encode("utf-8")) + seed)


class ScriptAwareCharEdit(WordSwap):
    """DeepWordBug-style typos (swap, delete, substitute, insert, homoglyph) on grapheme clusters.

    Edits never split a letter from its combining marks (Devanagari, Thai, Arabic diacritics),
    new letters come from the word's own script, and the candidate set is a deterministic
    function of (word, seed), so attacks are reproducible.
    """

    OPS = ("swap", "delete", "substitute", "insert", "homoglyph")

    def __init__(self, max_candidates: int = 12, seed: int = 0, ops=OPS):
        super().__init__()
        self.max_candidates, self.seed, self.ops = max_candidates, seed, tuple(ops)

    def _get_replacement_words(self, word: str) -> list[str]:
        if not is_wordlike(word):
            return []
        g = graphemes(word)
        rng = _rng(word, self.seed)
        alphabet = ALPHABETS.get(word_script(word)) or "".join(dict.fromkeys(g))
        cands: list[str] = []
        n = len(g)
        if "swap" in self.ops:
            cands += ["".join(g[:i] + [g[i + 1], g[i]] + g[i + 2:]) for i in range(n - 1) if g[i] != g[i + 1]]
        if "delete" in self.ops and n > 1:
            cands += ["".join(g[:i] + g[i + 1:]) for i in range(n)]
        if "substitute" in self.ops:
            for i in rng.choice(n, size=min(n, 3), replace=False):
                c = alphabet[rng.integers(len(alphabet))]
                cands.append("".join(g[:i] + [c] + g[i + 1:]))
        if "insert" in self.ops:
            for i in rng.choice(n + 1, size=min(n + 1, 2), replace=False):
                c = alphabet[rng.integers(len(alphabet))]
                cands.append("".join(g[:i] + [c] + g[i:]))
        if "homoglyph" in self.ops:
            cands += ["".join(g[:i] + [HOMOGLYPHS[g[i]]] + g[i + 1:]) for i in range(n) if g[i] in HOMOGLYPHS]
        cands = [c for c in dict.fromkeys(cands) if c and c != word]
        if len(cands) > self.max_candidates:
            keep = np.sort(rng.choice(len(cands), size=self.max_candidates, replace=False))
            cands = [cands[i] for i in keep]
        return cands


class EmbeddingNeighbourIndex:
    """Whole-word pieces of an encoder's multilingual input-embedding table, unit-normalised,
    with the script of each; `neighbours(word, k, min_cos)` searches them by cosine.

    Built once per embedding table by `neighbour_index` and shared by every language: the
    table is frozen during fine-tuning, so both conditions of the paper face exactly the same
    candidate substitutions.
    """

    def __init__(self, embeddings: torch.Tensor, tokenizer, device="cpu", cache_size: int = 100_000):
        self.tokenizer = tokenizer
        vocab = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        special = set(tokenizer.all_special_ids)
        marker = "▁" if any(t.startswith("▁") for t in vocab[:1000]) else ""
        keep, words = [], []
        for i, piece in enumerate(vocab):
            if i in special or i >= embeddings.shape[0] or (marker and not piece.startswith(marker)):
                continue
            w = piece[len(marker):]
            if len(w) >= 2 and w.isalpha():
                keep.append(i)
                words.append(w)
        self.words = words
        self.scripts = np.array([word_script(w) for w in words])
        self.table = torch.nn.functional.normalize(embeddings.detach().float(), dim=-1).to(device)
        self.cand = self.table[torch.tensor(keep, device=device)]
        # a cache per index (not per class), so dropping the index frees it
        self.neighbours = functools.lru_cache(maxsize=cache_size)(self._neighbours)

    def _neighbours(self, word: str, k: int, min_cos: float) -> tuple[str, ...]:
        """Up to `k` vocabulary words of the word's script, most similar first, cosine >= `min_cos`,
        in lower case as the vocabulary has them (the caller restores the word's case)."""
        ids = self.tokenizer(word, add_special_tokens=False)["input_ids"]
        if not ids:
            return ()
        vec = torch.nn.functional.normalize(self.table[torch.tensor(ids, device=self.table.device)].mean(0), dim=0)
        top = torch.topk(self.cand @ vec, min(len(self.words), 20 * k))
        script, out, low = word_script(word), [], word.lower()
        for s, i in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            cand = self.words[i]
            if s < min_cos or len(out) >= k:
                break
            if self.scripts[i] == script and cand.lower() != low and cand.lower() not in low:
                out.append(cand)
        return tuple(out)


_INDEXES: dict[tuple, EmbeddingNeighbourIndex] = {}


def neighbour_index(embeddings: torch.Tensor, tokenizer, device="cpu") -> EmbeddingNeighbourIndex:
    """The index of this embedding table, built on first use. The entry goes when the table is
    garbage-collected, so the cache never keeps a model alive."""
    key = (id(embeddings), id(tokenizer), str(torch.device(device)))
    index = _INDEXES.get(key)
    if index is None:
        index = _INDEXES[key] = EmbeddingNeighbourIndex(embeddings, tokenizer, device)
        weakref.finalize(embeddings, _INDEXES.pop, key, None)
    return index


class EmbeddingNeighbourSwap(WordSwap):
    """Replace a word by its nearest neighbours in an `EmbeddingNeighbourIndex` (same script as
    the word, cosine >= `min_cos`), in the word's case."""

    def __init__(self, index: EmbeddingNeighbourIndex, k: int = 8, min_cos: float = 0.5):
        super().__init__()
        self.index, self.k, self.min_cos = index, k, min_cos

    def _get_replacement_words(self, word: str) -> list[str]:
        if not is_wordlike(word):
            return []
        return [recover_word_case(c, word) for c in self.index.neighbours(word, self.k, self.min_cos)]


class LexiconSwap(WordSwap):
    """Code-switching: replace a word by its translation(s) from a bilingual lexicon."""

    def __init__(self, lexicon: dict[str, list[str]], k: int = 3):
        super().__init__()
        self.lexicon, self.k = lexicon, k

    def _get_replacement_words(self, word: str) -> list[str]:
        trans = self.lexicon.get(word.lower()) or self.lexicon.get(word) or []
        out = [recover_word_case(t, word) for t in trans[:self.k]]
        # one plain word only: TextAttack re-splits the text and must find the same word count
        return [t for t in out if t != word and re.fullmatch(r"\w+", t)]
