"""The hand-written dictionary readers on small fixture dictionaries in the real file formats."""
import gzip

import pytest

from xrobust.attacks import lexicons

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64_encode(n: int) -> str:  # dictd's base-64 numbers, written independently of the reader
    digits = ""
    while True:
        n, r = divmod(n, 64)
        digits = B64[r] + digits
        if n == 0:
            return digits


def write_dictd(base, entries):
    """A dictd `.index` + `.dict.dz` pair holding (headword, entry text) pairs, as dictzip writes them
    (a gzip file; the reader ignores dictzip's random-access header)."""
    data, index = b"", []  # index sorted by headword, entries of one headword in file order
    for head, text in [("00-database-info", "fixture\n"), *entries]:
        raw = text.encode("utf-8")
        index.append(f"{head}\t{_b64_encode(len(data))}\t{_b64_encode(len(raw))}\n")
        data += raw
    by_headword = sorted(index, key=lambda line: line.split("\t")[0])
    base.with_suffix(".index").write_text("".join(by_headword), encoding="utf-8")
    with gzip.open(base.with_suffix(".dict.dz"), "wb") as f:
        f.write(data)
    return base.with_suffix(".index"), base.with_suffix(".dict.dz")


# entries in the layout of the Debian dict-freedict-* packages (FreeDict TEI rendered by dictd)
DEU_ENG = [
    ("Haus", "Haus /haʊ̯s/ <n, neut>\nhouse, home\n   Synonyms: {Gebäude}\n\n see: {Häuser}\n"),
    ("Haus", "Haus /haʊ̯s/\n1. building\n2. dynasty (royal)\n"),
    ("Haus", "Haus /haʊ̯s/\n1. building\n2. dynasty (royal)\n"),  # a repeated entry is read once
    ("laufen", "laufen /ˈlaʊ̯fn̩/ <v>\nrun, walk 2\n      \"Ich laufe jeden Tag.\"\n"),
    ("schön", "schön /ʃøːn/\nbeautiful [obs.], nice; lovely\n"),
    ("guten Morgen", "guten Morgen\ngood morning\n"),
]
ENG_HIN = [  # English -> Hindi: inverted, and only Devanagari headwords are kept
    ("house", "house /haʊs/ <N>\n1. घर, मकान\n      \"This is my house.\"\n"),
    ("home", "home /hoʊm/ <N>\n1. घर, Ghar\n"),
]


def test_dictd_numbers_and_reader(tmp_path):
    assert [lexicons._b64(s) for s in ("A", "Z", "a", "/", "BA", "B0")] == [0, 25, 26, 63, 64, 116]
    index, data = write_dictd(tmp_path / "freedict-deu-eng", DEU_ENG)
    read = list(lexicons.read_dictd(index, data))
    assert sorted(read) == sorted(DEU_ENG)  # the 00-database header entry is skipped


def test_freedict_parser(tmp_path):
    lex = lexicons.parse_freedict(*write_dictd(tmp_path / "freedict-deu-eng", DEU_ENG))
    assert lex == {"haus": ["house", "home", "building", "dynasty"], "laufen": ["run", "walk"],
                   "schön": ["beautiful", "nice", "lovely"]}


def test_inverted_freedict_keeps_the_language_script(tmp_path, monkeypatch):
    monkeypatch.setenv("XROBUST_CACHE", str(tmp_path))
    (tmp_path / "freedict").mkdir()
    write_dictd(tmp_path / "freedict" / "freedict-eng-hin", ENG_HIN)
    lexicons.load_lexicon.cache_clear()
    try:
        assert lexicons.load_lexicon("hi") == {"घर": ["home", "house"], "मकान": ["house"]}
        with pytest.raises(FileNotFoundError, match="fetch_lexicons.sh"):
            lexicons.load_lexicon("de")
        with pytest.raises(ValueError, match="allowed values: .*zh"):
            lexicons.load_lexicon("xx")
    finally:
        lexicons.load_lexicon.cache_clear()


CEDICT = """# CC-CEDICT fixture
#! version=1
中國 中国 [Zhong1 guo2] /China/Middle Kingdom/
學習 学习 [xue2 xi2] /to learn/to study/
書 书 [shu1] /book/letter/CL:本[ben3]/
王 王 [Wang2] /surname Wang/
好 好 [hao3] /good/well/proper/good to/easy to/very/so/(suffix indicating completion or readiness)/
不規則行 malformed line without brackets
"""


def test_cedict_parser(tmp_path):
    path = tmp_path / "cedict.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(CEDICT)
    lex = lexicons.parse_cedict(path)
    assert lex == {"中国": ["China"], "中國": ["China"], "学习": ["learn", "study"], "學習": ["learn", "study"],
                   "书": ["book", "letter"], "書": ["book", "letter"], "好": ["good", "well", "proper", "very", "so"]}
