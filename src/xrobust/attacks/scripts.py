"""Unicode script helpers: which script a word is in, and its grapheme clusters."""
from __future__ import annotations

import unicodedata

import regex

# Latin/Cyrillic/Greek letters that look alike (a subset of Unicode's confusables.txt).
HOMOGLYPHS = {
    "a": "а", "c": "с", "e": "е", "i": "і", "j": "ј", "o": "о", "p": "р", "s": "ѕ", "x": "х",
    "y": "у", "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "K": "К", "M": "М", "O": "О",
    "P": "Р", "T": "Т", "X": "Х", "Y": "У",
}
HOMOGLYPHS.update({v: k for k, v in list(HOMOGLYPHS.items())})  # Cyrillic -> Latin
HOMOGLYPHS.update({"ο": "o", "α": "a", "ν": "v", "ρ": "p", "τ": "t", "ι": "i"})  # Greek -> Latin

# scripts written without spaces between words: a "word" from TextAttack may be a phrase
NO_SPACE_SCRIPTS = {"Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar"}


def graphemes(text: str) -> list[str]:
    """User-perceived characters: a base letter with its combining marks (Devanagari matras,
    Arabic harakat, accents) stays one unit, so edits never leave a dangling mark."""
    return regex.findall(r"\X", text)


def script_of(ch: str) -> str:
    """Unicode script of a character via its name prefix (good enough for the XTREME scripts)."""
    if not ch or not ch[0].isalpha():
        return "Common"
    name = unicodedata.name(ch[0], "")
    for script, prefix in (("Han", "CJK"), ("Latin", "LATIN"), ("Cyrillic", "CYRILLIC"),
                           ("Greek", "GREEK"), ("Arabic", "ARABIC"), ("Devanagari", "DEVANAGARI"),
                           ("Thai", "THAI"), ("Hebrew", "HEBREW"), ("Hangul", "HANGUL"),
                           ("Hiragana", "HIRAGANA"), ("Katakana", "KATAKANA"), ("Bengali", "BENGALI"),
                           ("Tamil", "TAMIL"), ("Telugu", "TELUGU"), ("Georgian", "GEORGIAN")):
        if name.startswith(prefix):
            return script
    return name.split(" ")[0].title() or "Common"


def word_script(word: str) -> str:
    """Most frequent script among the word's letters ("Common" when it has none)."""
    counts: dict[str, int] = {}
    for ch in word:
        s = script_of(ch)
        if s != "Common":
            counts[s] = counts.get(s, 0) + 1
    return max(counts, key=counts.get) if counts else "Common"


def is_wordlike(word: str) -> bool:
    return any(ch.isalpha() for ch in word)
