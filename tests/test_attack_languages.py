"""The SIB-200 pilot's attack languages are the output of the rule fixed before any attack result."""
import math
from pathlib import Path

import yaml

from xrobust.attack_languages import attack_languages_rule
from xrobust.attacks.lexicons import LEXICON_LANGUAGES
from xrobust.language_meta import read_sib200_table

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "sib200_pilot.yaml"


def test_pilot_config_attacks_the_rules_languages():
    config = yaml.safe_load(CONFIG.read_text())
    table = read_sib200_table()
    rule = attack_languages_rule(table, LEXICON_LANGUAGES)
    assert config["attack"]["languages"] == rule
    xtreme = {r["tag"]: r for r in table if r["xtreme_r"]}
    assert sorted(config["languages"]) == sorted(xtreme)  # all 50 XTREME-R languages, multilingual training too
    chosen = [xtreme[t] for t in rule[1:]]
    assert rule[0] == "en" and len(chosen) >= 20 and set(rule) <= set(config["languages"])
    assert {r["script"] for r in chosen} == {r["script"] for t, r in xtreme.items() if t != "en"}
    assert {"qu", "ht", "wo", "yo"} <= set(rule) and any(r["xlmr_pretraining"] for r in chosen)
    assert set(LEXICON_LANGUAGES) & set(xtreme) <= set(rule)


def test_pilot_config_design():
    config = yaml.safe_load(CONFIG.read_text())
    assert config["seeds"] == [100, 101, 102, 103, 104] and config["attack"]["n_examples"] == 50
    target, train = config["target"], config["train"]
    assert round(math.ceil(target["max_train_examples"] / train["batch_size"]) * target["epochs"]) == 200
    assert config["attack"]["pool_seed"] == 7 and config["attack"]["recipes"] == ["char", "codeswitch"]


def test_rule_on_a_small_table():
    rows = [{"tag": t, "script": s, "xtreme_r": x, "xlmr_pretraining": p} for t, s, x, p in (
        ("en", "Latn", True, True), ("de", "Latn", True, True), ("fi", "Latn", True, True),
        ("yo", "Latn", True, False), ("th", "Thai", True, True), ("ko", "Hang", True, True),
        ("ka", "Geor", True, True), ("km", "Khmr", False, True))]
    assert attack_languages_rule(rows, ["de", "zh"]) == ["en", "de", "ka", "ko", "th", "yo"]
