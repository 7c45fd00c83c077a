"""Public, human-translated datasets read from pinned files (`xrobust.sources`), prepared into JSONL.

- `sib200` (target task): SIB-200 (Adelani et al., 2024), 7-way topic classification of FLORES-200
  sentences in 205 varieties, professionally translated from English; the same 701 / 99 / 204
  `index_id`s in every variety (checked here). Splits train / validation (SIB-200's dev) / test.
- `sst2` (English intermediate task; Phang et al., 2020): GLUE's SST-2, 67,349 training
  sentences; validation is SST-2's dev split (the test split is not used).
- `xnli_en` (English intermediate task, NLI): XNLI's English dev (2,490) and test (5,010) pairs,
  the test labels joined row by row from a labelled copy and checked against its text. The 7,500
  pairs are split once (seeded, stratified) into 6,500 for training and 1,000 for validation; the
  other 14 XNLI languages are parallel, so the same 1,000 validation pairs score the NLI model in
  every XNLI language.
- UD-POS (`read_ud`): English EWT and the 20 parallel PUD test treebanks, parsed with `conllu`.
"""
from __future__ import annotations

import csv
from pathlib import Path

from .examples import write_jsonl
from .language_meta import SIB200_REPOSITORY, read_sib200_table
from .sources import fetch, pinned
from .tasks import SIB200_LABELS, XNLI_LANGUAGES

SIB200_SPLITS = {"train": "train", "validation": "dev", "test": "test"}
SST2_REPOSITORY = "https://raw.githubusercontent.com/awake020/pytorch_Bert_sst2/ce2ab1719d32182e6233b24b2de246bd32814fde/"
XNLI_REPOSITORY = ("https://raw.githubusercontent.com/wuhjie/few_shots_that_matters_wu/"
                   "6bfe6324e428ec21a777b5543cd8e50ec82dcb3c/data/xnli/")
XNLI_TEST_LABELS = ("https://raw.githubusercontent.com/akhtet/myXNLI/397fce4c163213dc132966ee5692b245b80886d3/"
                    "output/sw/sw.genre.test.tsv")
XNLI_LABELS = ("entailment", "neutral", "contradiction")
XNLI_VALIDATION_SIZE = 1000
UD_PUD_LANGUAGES = tuple("ar cs de en es fi fr hi id is it ja ko pl pt ru sv th tr zh".split())
UD_EWT = "https://raw.githubusercontent.com/UniversalDependencies/UD_English-EWT/"
UD_SPLITS = {"train": "train", "validation": "dev", "test": "test"}


def _tsv(path: Path) -> list[list[str]]:
    # CRLF files; fields hold quotes that are text, not quoting
    with open(path, encoding="utf-8", newline="") as f:
        return [[cell.rstrip("\r") for cell in row] for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


# ---------------------------------------------------------------- SIB-200
def sib200_url(flores: str, split: str) -> str:
    return f"{SIB200_REPOSITORY}data/annotated/{flores}/{SIB200_SPLITS[split]}.tsv"


def sib200_urls() -> list[str]:
    return [f.url for f in pinned(SIB200_REPOSITORY + "data/annotated/")]


def read_sib200(flores: str, split: str) -> list[dict]:
    rows = _tsv(fetch(sib200_url(flores, split)))
    if rows[0] != ["index_id", "category", "text"]:
        raise ValueError(f"SIB-200 {flores}/{split}: unexpected header {rows[0]}")
    out = [{"id": f"sib200-{r[0]}", "text_a": r[2], "label": r[1]} for r in rows[1:] if r]
    bad = {r["label"] for r in out} - set(SIB200_LABELS)
    if bad:
        raise ValueError(f"SIB-200 {flores}/{split}: labels {sorted(bad)} not in {SIB200_LABELS}")
    return out


def prepare_sib200(root: Path) -> None:
    """Every variety and split as `sib200/<split>/<tag>.jsonl`; refuses a split whose ids or labels
    differ from English's, position by position (the test set must be parallel)."""
    table = read_sib200_table()
    for split in SIB200_SPLITS:
        english = read_sib200("eng_Latn", split)
        for row in table:
            rows = read_sib200(row["flores"], split)
            if [(r["id"], r["label"]) for r in rows] != [(r["id"], r["label"]) for r in english]:
                raise ValueError(f"SIB-200 {row['flores']}/{split} is not aligned with eng_Latn (ids or labels differ)")
            write_jsonl(root / "sib200" / split / f"{row['tag']}.jsonl", rows)


# ---------------------------------------------------------------- SST-2
def prepare_sst2(root: Path) -> None:
    for split, name in (("train", "train"), ("validation", "dev")):
        rows = _tsv(fetch(f"{SST2_REPOSITORY}SST-2/{name}.tsv"))
        if rows[0] not in (["label", "sentence"], ["label", "content"]):  # dev names its column "content"
            raise ValueError(f"SST-2 {name}: unexpected header {rows[0]}")
        write_jsonl(root / "sst2" / split / "en.jsonl",
                    [{"id": f"sst2-{name}-{i}", "text_a": r[1], "label": ("negative", "positive")[int(r[0])]}
                     for i, r in enumerate(rows[1:]) if r])


# ---------------------------------------------------------------- XNLI
def _norm(text: str) -> str:
    return " ".join(text.split())


def xnli_test_labels() -> list[str]:
    """XNLI's test labels, joined row by row from the labelled Swahili copy: each row's Swahili pair
    must equal XNLI's Swahili test pair up to whitespace, or the join is refused."""
    labelled = _tsv(fetch(XNLI_TEST_LABELS))
    if labelled[0][:2] != ["genre", "label"]:
        raise ValueError(f"XNLI test labels: unexpected header {labelled[0]}")
    labelled = [r for r in labelled[1:] if r]
    swahili = [r for r in _tsv(fetch(f"{XNLI_REPOSITORY}test-sw.tsv")) if r]
    if len(labelled) != len(swahili):
        raise ValueError(f"XNLI test labels: {len(labelled)} labelled rows against {len(swahili)} test pairs")
    for i, (lab, pair) in enumerate(zip(labelled, swahili, strict=True)):
        if (_norm(lab[2]), _norm(lab[3])) != (_norm(pair[0]), _norm(pair[1])):
            raise ValueError(f"XNLI test labels: row {i} does not match the test pair (beyond whitespace): "
                             f"{lab[2][:60]!r} / {pair[0][:60]!r}")
        if lab[1] not in XNLI_LABELS:
            raise ValueError(f"XNLI test labels: row {i} has label {lab[1]!r}; allowed: {XNLI_LABELS}")
    return [r[1] for r in labelled]


def read_xnli(lang: str) -> list[dict]:
    """The 7,500 labelled pairs of one language: dev (2,490), then test (5,010) with joined labels."""
    dev = [r for r in _tsv(fetch(f"{XNLI_REPOSITORY}dev-{lang}.tsv")) if r]
    test = [r for r in _tsv(fetch(f"{XNLI_REPOSITORY}test-{lang}.tsv")) if r]
    labels = xnli_test_labels()
    if len(test) != len(labels):
        raise ValueError(f"XNLI test-{lang}: {len(test)} pairs against {len(labels)} labels")
    return ([{"id": f"xnli-dev-{i}", "text_a": r[0], "text_b": r[1], "label": r[2]} for i, r in enumerate(dev)]
            + [{"id": f"xnli-test-{i}", "text_a": r[0], "text_b": r[1], "label": lab}
               for i, (r, lab) in enumerate(zip(test, labels, strict=True))])


def xnli_validation_ids(rows: list[dict]) -> set[str]:
    """The held-out validation pairs: a seeded draw stratified by label (the same in every language)."""
    from sklearn.model_selection import train_test_split

    _, held = train_test_split([r["id"] for r in rows], test_size=XNLI_VALIDATION_SIZE, random_state=0,
                               stratify=[r["label"] for r in rows])
    return set(held)


def prepare_xnli(root: Path) -> None:
    english = read_xnli("en")
    held = xnli_validation_ids(english)
    for lang in XNLI_LANGUAGES:
        rows = english if lang == "en" else read_xnli(lang)
        if [r["label"] for r in rows] != [r["label"] for r in english]:
            raise ValueError(f"XNLI {lang} is not aligned with English")
        write_jsonl(root / "xnli_en" / "train" / f"{lang}.jsonl", [r for r in rows if r["id"] not in held])
        write_jsonl(root / "xnli_en" / "validation" / f"{lang}.jsonl", [r for r in rows if r["id"] in held])


# ---------------------------------------------------------------- UD-POS
def ud_url(lang: str, split: str) -> str:
    """The pinned CoNLL-U file: EWT's train/validation/test for English training, PUD's test otherwise."""
    if split != "test" or lang == "en-ewt":
        if lang not in ("en", "en-ewt"):
            raise ValueError(f"invalid 'split' {split!r} for UD language {lang!r}: PUD has only 'test'; "
                             "allowed: train/validation/test for 'en' (EWT), test for the PUD languages")
        (f,) = [f for f in pinned(UD_EWT) if f.url.endswith(f"-ud-{UD_SPLITS[split]}.conllu")]
        return f.url
    if lang not in UD_PUD_LANGUAGES:
        raise ValueError(f"invalid UD language {lang!r}; allowed values: {', '.join(UD_PUD_LANGUAGES)}")
    (f,) = [f for f in pinned("https://raw.githubusercontent.com/UniversalDependencies/")
            if f.url.endswith(f"/{lang}_pud-ud-test.conllu")]
    return f.url


def read_ud(lang: str, split: str) -> list[dict]:
    """Sentences of a UD treebank as {sent_id, tokens, upos}: syntactic words only (multi-word
    token ranges and empty nodes dropped, as XTREME's UD-POS does), `lang` 'en' for EWT's splits
    (EWT's test: 'en-ewt'), a PUD language for its test set."""
    import conllu

    with open(fetch(ud_url(lang, split)), encoding="utf-8") as f:
        sentences = conllu.parse(f.read())
    return [{"sent_id": s.metadata["sent_id"], "tokens": [t["form"] for t in s if isinstance(t["id"], int)],
             "upos": [t["upos"] for t in s if isinstance(t["id"], int)]} for s in sentences]


def read_pud(languages=UD_PUD_LANGUAGES) -> dict[str, list[dict]]:
    """The PUD test sets of `languages`, each in English's sentence order (Icelandic's file orders
    its 1,000 sentences differently); refuses a language whose `sent_id`s are not English's."""
    english = read_ud("en", "test")
    order = {s["sent_id"]: i for i, s in enumerate(english)}
    out = {}
    for lang in languages:
        sentences = english if lang == "en" else read_ud(lang, "test")
        if sorted(s["sent_id"] for s in sentences) != sorted(order):
            raise ValueError(f"PUD {lang}: its sent_ids are not those of English PUD")
        out[lang] = sorted(sentences, key=lambda s: order[s["sent_id"]])
    return out
