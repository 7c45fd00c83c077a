import subprocess
import sys
import textwrap

import pytest

from xrobust import experiment
from xrobust.resultfiles import read_json

HOSTILE = ["", "   ", "word " * 2000, "مرحبا بالعالم هذا نص عربي", "नमस्ते दुनिया", "e\u0301te\u0301 café",
           "great 😀🔥 product", "Hotel 酒店 отель ξενοδοχείο", "null\x00byte text", "x" * 25_000]


@pytest.mark.parametrize("recipe,lang", [("char", "de"), ("char", "zh"), ("char", "ru"),
                                         ("embedding", "de"), ("codeswitch", "zh"), ("codeswitch", "de")])
def test_recipes_produce_valid_perturbations(target_ckpt, tmp_path, recipe, lang):
    from xrobust.attacks.lexicons import load_lexicon
    from xrobust.textattack_offline import import_textattack

    AttackedText = import_textattack().shared.AttackedText

    res = experiment.run_attack(target_ckpt, str(tmp_path / "a.json"), languages=[lang], recipes=[recipe],
                                n_examples=8, similarity_model=_sim_dir(target_ckpt), device="cpu",
                                progress=False)
    row = res["rows"][0]
    assert row["n"] == 8 and row["n_error"] == 0
    assert row["n_success"] + row["n_failed"] + row["n_misclassified"] == 8
    for r in row["records"]:  # the recorded predictions agree with the outcome
        assert (r["original_output"] == r["label"]) == (r["outcome"] != "misclassified")
        if r["outcome"] in ("success", "failed"):
            assert (r["perturbed_output"] == r["label"]) == (r["outcome"] == "failed")
    for r in row["records"]:
        if r["outcome"] != "success":
            continue
        assert r["perturbed"] != r["original"]
        # at most 25% of the words, but always one: max(0.25, 1/n_words)
        assert 0 < r["perturbed_ratio"] <= max(0.25, 1 / r["n_words"]) + 1e-12
        if recipe == "codeswitch":  # every substitute is a translation the lexicon gives for that word
            lexicon = load_lexicon(lang)
            orig, pert = AttackedText(r["original"]), AttackedText(r["perturbed"])
            for i in orig.all_words_diff(pert):
                before, after = orig.words[i], pert.words[i]
                translations = lexicon.get(before.lower()) or lexicon.get(before) or []
                assert after.lower() in {t.lower() for t in translations}, (before, after)


def _sim_dir(ckpt):
    from xrobust.models import checkpoint_meta

    return checkpoint_meta(ckpt)["base_model"]


def test_transformations_are_script_aware():
    from xrobust.attacks.transformations import ScriptAwareCharEdit
    from xrobust.attacks.writing_systems import graphemes, word_script

    t = ScriptAwareCharEdit(max_candidates=50)
    for word in ["नमस्ते", "مرحبا", "привет", "酒店"]:
        cands = t._get_replacement_words(word)
        assert cands and word not in cands
        for c in cands:
            assert word_script(c) == word_script(word)
            assert not any(g[0] in "\u093e\u093f\u0940\u094d" for g in graphemes(c))  # no dangling matra
    assert t._get_replacement_words("😀🔥") == [] and t._get_replacement_words("") == []


def test_hostile_inputs_do_not_crash(target_ckpt):
    from xrobust.attacks.recipes import BatchedModelWrapper, build
    from xrobust.attacks.run import attack_examples, summarize
    from xrobust.examples import Example
    from xrobust.models import EncoderClassifier

    model, tok, _ = EncoderClassifier.load(target_ckpt)
    attack = build("char", BatchedModelWrapper(model, tok), "de", query_budget=300)
    recs = attack_examples(attack, [Example(text_a=t, label=0, uid=str(i)) for i, t in enumerate(HOSTILE)],
                           progress=False)
    assert len(recs) == len(HOSTILE)
    assert {r["outcome"] for r in recs} <= {"success", "failed", "misclassified", "skipped"}
    assert recs[0]["skip_reason"] == "empty" and recs[1]["skip_reason"] == "empty"
    assert "longer than" in recs[-1]["skip_reason"]
    assert summarize(recs)["n_skipped"] == 3


def test_bad_recipe_and_language_are_refused(target_ckpt, tmp_path):
    with pytest.raises(ValueError, match="'recipes'.*allowed values: char, embedding, codeswitch"):
        experiment.run_attack(target_ckpt, str(tmp_path / "x.json"), recipes=["fgsm"])
    with pytest.raises(ValueError, match="'languages'"):
        experiment.run_attack(target_ckpt, str(tmp_path / "x.json"), languages=["klingon"])
    assert not (tmp_path / "x.json").exists()


def test_attack_file_resumes(target_ckpt, tmp_path):
    out = tmp_path / "r.json"
    kw = dict(languages=["de", "ru"], recipes=["char"], n_examples=4, device="cpu", progress=False)
    full = experiment.run_attack(target_ckpt, str(out), **kw)
    doc = read_json(out)
    assert doc["complete"] is True and len(doc["rows"]) == 2
    finished = out.read_bytes()
    again = experiment.run_attack(target_ckpt, str(out), **kw)  # nothing recomputed: identical rows
    assert out.read_bytes() == finished  # a finished file is kept byte for byte (provenance included)
    import json

    # compared as JSON text: NaN-safe
    assert json.dumps(again["rows"], sort_keys=True) == json.dumps(full["rows"], sort_keys=True)
    # a stopped run: the result file was deleted (as Snakemake does), one finished row is kept aside
    from xrobust.resultfiles import write_json

    out.unlink()
    first = {**doc["rows"][0], "seconds": -1.0}  # marked, to see that it is reused, not recomputed
    write_json(experiment.partial_path(out), {**doc, "rows": [first], "complete": False})
    resumed = experiment.run_attack(target_ckpt, str(out), **kw)
    assert resumed["complete"] and [r["seconds"] for r in resumed["rows"]][0] == -1.0
    def untimed(records):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in records]

    assert untimed(resumed["rows"][1]["records"]) == untimed(full["rows"][1]["records"])  # recomputed alike
    assert not experiment.partial_path(out).exists()


def test_attack_runs_with_network_disabled(target_ckpt, tmp_path):
    code = textwrap.dedent(f"""
        import socket
        def refuse(*a, **k):
            raise OSError("network disabled in this test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from xrobust.experiment import run_attack
        res = run_attack({target_ckpt!r}, {str(tmp_path / 'n.json')!r}, languages=["de"], recipes=["char"],
                         n_examples=4, device="cpu", progress=False)
        assert res["rows"][0]["n_error"] == 0, res
        print("OK", res["rows"][0]["n"])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={**__import__("os").environ})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "OK 4" in out.stdout


def test_fixed_pool_with_english_as_reference(target_ckpt, tiny_model_dir, tmp_path):
    """Same items in every language, recipe and training seed; code-switching skips English, on record."""
    kw = dict(n_examples=3, device="cpu", progress=False)
    res = experiment.run_attack(target_ckpt, str(tmp_path / "p.json.gz"), languages=["en", "de"],
                                recipes=["char", "codeswitch"], **kw)
    assert (tmp_path / "p.json.gz").read_bytes()[:2] == b"\x1f\x8b"  # the grid's form: gzip-compressed
    assert read_json(tmp_path / "p.json.gz")["pool"]["uids"] == res["pool"]["uids"]
    assert [(r["language"], r["recipe"]) for r in res["rows"]] == [("en", "char"), ("de", "char"), ("de", "codeswitch")]
    assert [(x["language"], x["recipe"]) for x in res["not_applicable"]] == [("en", "codeswitch")]
    uids = res["pool"]["uids"]
    assert len(uids) == 3 and all([rec["uid"] for rec in row["records"]] == uids for row in res["rows"])
    assert res["pool"]["original_language"] == "pl" and res["pool"]["kept"] == 8
    # a model trained with another seed is attacked on the same items
    experiment.run_target(model=tiny_model_dir, task="multiemo", out_dir=str(tmp_path / "t1"), languages=["en"],
                          max_train_examples=16, epochs=1.0, batch_size=8, lr=1e-3, device="cpu", seed=1)
    other = experiment.run_attack(str(tmp_path / "t1" / "checkpoint"), str(tmp_path / "s.json"), languages=["ru"],
                                  recipes=["char"], seed=1, **kw)
    assert [rec["uid"] for rec in other["rows"][0]["records"]] == uids
    moved = experiment.run_attack(target_ckpt, str(tmp_path / "q.json"), languages=["de"], recipes=["char"],
                                  pool_seed=1, n_examples=3, device="cpu", progress=False)
    assert moved["pool"]["pool_seed"] == 1 and moved["config"]["pool_seed"] == 1
