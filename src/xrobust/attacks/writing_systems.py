"""Unicode script helpers: which script a word is in, and its grapheme clusters."""
from __future__ import annotations

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


# Unicode scripts told apart (those of the XTREME-R languages and their neighbours); a letter
# of any other script is "Other"
SCRIPTS = ("Latin", "Cyrillic", "Greek", "Armenian", "Georgian", "Arabic", "Hebrew", "Syriac", "Thaana",
           "Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Oriya", "Tamil", "Telugu", "Kannada",
           "Malayalam", "Sinhala", "Thai", "Lao", "Tibetan", "Myanmar", "Khmer", "Mongolian", "Ethiopic",
           "Cherokee", "Canadian_Aboriginal", "Tifinagh", "Hangul", "Hiragana", "Katakana", "Bopomofo",
           "Han", "Yi")
_SCRIPT_OF_LETTER = regex.compile("|".join(rf"(?P<{s}>\p{{Script={s}}})" for s in SCRIPTS))


def script_of(ch: str) -> str:
    """Unicode Script property of a letter ("Common" for anything that is not a letter)."""
    if not ch or not ch[0].isalpha():
        return "Common"
    m = _SCRIPT_OF_LETTER.match(ch[0])
    return m.lastgroup if m else "Other"


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
