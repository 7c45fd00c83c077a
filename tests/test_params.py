"""One declaration per parameter: dataclasses, notebooks, configs and the workflow agree, and
every bad value is refused, with the parameter named, before any model or data is loaded."""
import ast
import dataclasses
import json
import math
import re
import shlex
import subprocess
import sys
import typing
from pathlib import Path

import papermill
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xrobust import experiment, retrieval, retrieval_attack, udhr
from xrobust.params import (
    STEP_NOTEBOOKS,
    STEPS,
    AttackParams,
    IntermediateParams,
    RetrievalAttackParams,
    RetrievalParams,
    TargetParams,
    check_config,
    config_conditions,
    config_params,
    resolve_precision,
)
from xrobust.tasks import TASKS, get_task

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def _type_name(kind) -> str:
    return f"list[{typing.get_args(kind)[0].__name__}]" if typing.get_origin(kind) is list else kind.__name__


@pytest.mark.parametrize("notebook", list(STEP_NOTEBOOKS))
def test_notebook_parameters_are_the_dataclass_fields(notebook):
    cls = STEP_NOTEBOOKS[notebook]
    found = papermill.inspect_notebook(str(ROOT / notebook))
    hints = typing.get_type_hints(cls)
    assert list(found) == list(cls.defaults()), "run scripts/sync_notebook_parameters.py"
    for name, default in cls.defaults().items():
        assert ast.literal_eval(found[name]["default"]) == default, name
        assert found[name]["inferred_type_name"] == _type_name(hints[name]), name
        assert found[name]["help"] == cls.help()[name], name


def test_every_field_has_help_and_a_checked_type():
    for cls in STEPS.values():
        for f in dataclasses.fields(cls):
            assert f.metadata["help"].strip(), f.name
        cls().validate()  # the defaults themselves are valid


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_configs_are_valid_step_parameters(path):
    config = yaml.safe_load(path.read_text())
    check_config(config)
    for step in STEPS:
        for section in ("train", step):
            for key in config.get(section) or {}:
                # a `train` key serves both training steps; the attack takes only its input settings
                assert key in {f.name for f in dataclasses.fields(STEPS["target" if section == "train" else step])}


def test_default_config_is_the_dataclass_defaults():
    config = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    for step, cls in STEPS.items():
        defaults = cls.defaults()
        given_values = config_params(config, step)
        assert {k: v for k, v in given_values.items()} == {k: defaults[k] for k in given_values}, step


def test_config_with_unknown_key_or_bad_value_is_refused():
    config = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['precison'\] for step 'target'.*allowed: .*precision"):
        check_config({**config, "target": {**config["target"], "precison": "bf16"}})
    with pytest.raises(ValueError, match=r"step 'attack': invalid 'query_budget': 0; allowed range"):
        check_config({**config, "attack": {**config["attack"], "query_budget": 0}})
    with pytest.raises(ValueError, match=r"step 'intermediate': invalid 'epochs': nan"):
        check_config({**config, "intermediate": {**config["intermediate"], "epochs": float("nan")}})


def _workflow_commands(config: Path, workdir: Path) -> list[list[str]]:
    out = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "workflow" / "Snakefile"),
                          "--configfile", str(config), "-n", "-p", "-d", str(workdir)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    lines = [l.split("Shell command: ", 1)[1] for l in (out.stdout + out.stderr).splitlines()
             if "Shell command: papermill" in l]
    return [shlex.split(l) for l in lines]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_workflow_passes_only_notebook_parameters(path, tmp_path):
    """What papermill injects is a parameter of the notebook and valid for its step (an unknown
    key would be injected and silently ignored)."""
    commands = _workflow_commands(path, tmp_path)
    made = tmp_path / "made_checkpoint"  # stands in for a checkpoint an earlier job of the plan makes
    made.mkdir()
    (made / "config.json").write_text("{}")
    conditions = set()
    for cmd in commands:
        notebook = cmd[cmd.index("--no-progress-bar") + 1]
        values = yaml.safe_load(cmd[cmd.index("-y") + 1])
        assert set(values) <= set(papermill.inspect_notebook(str(ROOT / notebook)))
        if str(values.get("model", "")).startswith("runs/"):  # a path must exist when its job runs
            values["model"] = str(made)
        STEP_NOTEBOOKS[notebook].build(**values)
        if notebook.endswith("02_target.ipynb"):
            conditions.add(values["condition"])
            if values["condition"] == "multilingual":
                assert values["train_languages"] == yaml.safe_load(path.read_text())["languages"]
    # one target job per listed condition
    assert conditions == set(config_conditions(yaml.safe_load(path.read_text())))


# --- bad values: generated from each field's type and range ---

class Loaded(Exception):
    """Raised by the stand-ins for every model and data loader."""


def _refuse(*args, **kwargs):
    raise Loaded("a model or data loader was called")


@pytest.fixture(scope="module")
def no_loading():
    from xrobust import data, models

    with pytest.MonkeyPatch.context() as mp:
        for target, name in [(experiment, "load_encoder"), (experiment, "load_examples"), (experiment, "train"),
                             (models, "load_encoder"), (data, "_load_all")]:
            mp.setattr(target, name, _refuse)
        mp.setattr(models.EncoderClassifier, "load", classmethod(_refuse))
        mp.setattr(retrieval, "load_udhr", _refuse)
        mp.setattr(retrieval, "load_for_retrieval", _refuse)
        mp.setattr(udhr, "load_udhr", _refuse)  # retrieval_attack imports it when it runs
        yield


@pytest.fixture(scope="module")
def fake_checkpoint(tmp_path_factory):
    """A checkpoint whose metadata and checksum are valid (the weights are never loaded here)."""
    from xrobust.resultfiles import file_sha256

    ckpt = tmp_path_factory.mktemp("ckpt")
    (ckpt / "weights.safetensors").write_bytes(b"not loaded in these tests")
    meta = {"base_model": "e5-small-offline", "num_labels": 7, "pooling": "mean", "task": "sib200",
            "weights_sha256": file_sha256(ckpt / "weights.safetensors")}
    (ckpt / "checkpoint.json").write_text(json.dumps(meta))
    return str(ckpt)


def _valid(cls, tmp: Path, ckpt: str) -> dict:
    base = {"out_dir": str(tmp / "out"), "device": "cpu"}
    if cls is AttackParams:
        # 'char' only: the code-switching lexicons are checked in their own tests
        return {"checkpoint": ckpt, "out_path": str(tmp / "a.json"), "device": "cpu", "recipes": ["char"]}
    if cls is RetrievalParams:
        return {"out_path": str(tmp / "a.json"), "device": "cpu"}
    if cls is RetrievalAttackParams:
        return {"out_path": str(tmp / "a.json"), "device": "cpu", "recipes": ["char"]}
    return base


RUN = {IntermediateParams: experiment.run_intermediate, TargetParams: experiment.run_target,
       AttackParams: experiment.run_attack, RetrievalParams: retrieval.run_retrieval,
       RetrievalAttackParams: retrieval_attack.run_retrieval_attack}
MULTIEMO = get_task("multiemo").languages
RUNNABLE = {t.name for t in TASKS.values() if t.runnable}
WRONG_TYPES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
                        st.lists(st.integers(), max_size=2),
                        st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])


def _allowed(cls, f) -> tuple | None:
    choices = f.metadata["choices"]
    if callable(choices):
        return tuple(choices(cls()))
    if cls is AttackParams and f.name == "languages":
        return MULTIEMO  # the fake checkpoint's task
    return choices


def bad_values(cls, f) -> st.SearchStrategy:
    """Out-of-range, wrong-type, NaN/inf and empty values for one field."""
    kind = typing.get_type_hints(cls)[f.name]
    low, high, allowed = f.metadata["low"], f.metadata["high"], _allowed(cls, f)
    if kind is bool:
        return WRONG_TYPES.filter(lambda v: not isinstance(v, bool))
    if kind in (int, float):
        finite = dict(allow_nan=False, allow_infinity=False)
        out = [NON_FINITE, st.booleans(), st.none(), st.text(max_size=6), st.lists(st.integers(), max_size=2),
               st.sampled_from([str(low), str(high)]),  # numbers written as strings
               st.floats(max_value=low, **finite).filter(lambda v: v < low),
               st.floats(min_value=high, **finite).filter(lambda v: v > high)]
        if kind is int:
            out += [st.integers(max_value=low - 1), st.integers(min_value=high + 1),
                    st.floats(min_value=low, max_value=high, **finite).filter(lambda v: not v.is_integer())]
        return st.one_of(out)
    if kind is str:
        out = [WRONG_TYPES.filter(lambda v: not isinstance(v, str) and v is not None),
               st.sampled_from(["   ", "\t"])]
        if not f.metadata["optional"]:
            out += [st.just(""), st.none()]
        elif f.name == "intermediate_checkpoint":  # the valid defaults use condition 'direct'
            out.append(st.text(min_size=1, max_size=10))
        if allowed is not None:
            out.append(st.text(max_size=10).filter(lambda v: v not in allowed))
        if f.name == "task":
            out.append(st.text(max_size=10).filter(lambda v: v not in RUNNABLE))
        if f.name == "device":
            out.append(st.text(max_size=10).filter(lambda v: not re.fullmatch(r"auto|cpu|cuda(:\d+)?", v)))
        if f.name in ("model", "similarity_model"):
            out.append(st.just("./no/such/model"))
        if f.name == "checkpoint":
            out.append(st.just("/no/such/checkpoint"))
        return st.one_of(out)
    # lists of strings
    out = [st.just([]), st.just([""]), st.none(), st.integers(), st.floats(), st.booleans(),
           st.lists(st.integers(), min_size=1, max_size=2), st.just(""),
           st.sampled_from(allowed).map(lambda v: [v, v])]  # duplicates
    out.append(st.lists(st.text(min_size=1, max_size=6).filter(lambda v: v not in allowed), min_size=1, max_size=2))
    return st.one_of(out)


CASES = [(cls, f) for cls in STEPS.values() for f in dataclasses.fields(cls)]


def test_valid_parameters_reach_the_loaders(no_loading, fake_checkpoint, tmp_path):
    """The stand-ins are in place: with valid parameters each step gets as far as loading."""
    for cls, run in RUN.items():
        with pytest.raises(Loaded):
            run(**_valid(cls, tmp_path, fake_checkpoint))


@pytest.mark.parametrize("cls,field", CASES, ids=[f"{c.__name__}.{f.name}" for c, f in CASES])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bad_value_is_refused_before_loading(no_loading, fake_checkpoint, tmp_path, cls, field, data):
    value = data.draw(bad_values(cls, field), label=field.name)
    kwargs = {**_valid(cls, tmp_path, fake_checkpoint), field.name: value}
    with pytest.raises(ValueError) as err:  # not `Loaded`: refused before any loader ran
        RUN[cls](**kwargs)
    assert f"'{field.name}'" in str(err.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / "a.json").exists()


# --- the cases of the issue, spelled out ---

@pytest.mark.parametrize("name,value,message", [
    ("max_train_examples", 0, r"invalid 'max_train_examples': 0; allowed range: \[1, "),
    ("epochs", float("nan"), r"invalid 'epochs': nan \(float\); expected a finite number"),
    ("batch_size", True, r"invalid 'batch_size': True \(bool\); expected an integer"),
    ("lr", "3e-5", r"invalid 'lr': '3e-5' \(str\)"),
    ("languages", [], r"invalid 'languages': \[\]; expected a non-empty list"),
    ("precision", "fp8", r"invalid 'precision': 'fp8'; allowed values: auto, fp32, bf16"),
])
def test_issue_examples_target(no_loading, tmp_path, name, value, message):
    with pytest.raises(ValueError, match=message):
        experiment.run_target(out_dir=str(tmp_path), device="cpu", **{name: value})


@pytest.mark.parametrize("name,value", [("max_perturbed", 0.0), ("max_perturbed", math.inf),
                                        ("query_budget", 0), ("query_budget", 10.5)])
def test_attack_limits_checked_before_the_model_loads(no_loading, fake_checkpoint, tmp_path, name, value):
    with pytest.raises(ValueError, match=f"invalid '{name}'"):
        experiment.run_attack(fake_checkpoint, str(tmp_path / "a.json"), recipes=["char"], **{name: value})


def test_unknown_parameter_is_named():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['precison'\].*allowed parameters: .*precision"):
        experiment.run_target(precison="bf16")


def test_precision_is_stored_resolved(monkeypatch):
    import torch

    from xrobust import provenance

    for native, auto_cpu in ((True, "bf16"), (False, "fp32")):  # 'auto' on a CPU: bf16 where it is native
        monkeypatch.setattr(provenance, "cpu_native_bf16", lambda native=native: native)
        assert resolve_precision("auto", torch.device("cpu")) == auto_cpu
        assert resolve_precision("auto", "cpu") == auto_cpu
        assert resolve_precision("auto", torch.device("cuda", 0)) == "bf16"  # CUDA: as before
        assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
        assert resolve_precision("fp32", torch.device("cpu")) == "fp32"


def test_dataclass_or_keywords_give_the_same_parameters(tmp_path):
    p = TargetParams(out_dir=str(tmp_path), epochs=1, max_train_examples=16.0)
    assert TargetParams.build(p) == TargetParams.build(out_dir=str(tmp_path), epochs=1.0, max_train_examples=16)
    assert isinstance(TargetParams.build(p).max_train_examples, int)


def test_papermill_rejects_a_bad_parameter_in_the_notebook(tmp_path, fixture_data):
    """The issue's measurement: `-p max_train_examples 0` on 02_target.ipynb must fail, naming it."""
    with pytest.raises(papermill.PapermillExecutionError, match="invalid 'max_train_examples': 0"):
        papermill.execute_notebook(str(ROOT / "notebooks" / "02_target.ipynb"), str(tmp_path / "out.ipynb"),
                                   parameters={"max_train_examples": 0, "out_dir": str(tmp_path / "t")},
                                   cwd=str(ROOT), progress_bar=False)
    assert not (tmp_path / "t").exists()


def test_result_paths_of_a_config_retrieval_step():
    from xrobust.params import grid_conditions, retrieval_results

    config = yaml.safe_load((ROOT / "configs" / "pilot.yaml").read_text())
    conditions = grid_conditions(config)
    tasks = config["intermediate_tasks"]
    assert conditions == ["direct"] + [f"inter-{t}" for t in tasks] + ["multilingual"]
    rows = retrieval_results(config, "retrieval", seeds=[7, 8])
    assert rows[0] == ("results/pilot/retrieval/pretrained_paragraph.json", None)
    assert ("results/pilot/retrieval/intermediate/vitaminc_s7_paragraph.json", "intermediate/vitaminc_s7") in rows
    assert ("results/pilot/retrieval/target/inter-vitaminc_s8_paragraph.json", "target/inter-vitaminc_s8") in rows
    assert len(rows) == 1 + 2 * (len(tasks) + len(conditions))
    assert [r for r in rows if r[1] and r[1].endswith("_s8")] == rows[1 + len(tasks) + len(conditions):]  # seed by seed
    # the attack step of the pilot attacks pretrained and intermediate encoders only
    attacked = retrieval_results(config, "retrieval_attack")
    assert {job.split("/")[0] for _, job in attacked if job} == {"intermediate"}
    assert len(attacked) == 1 + len(tasks) * len(config["seeds"])
    assert retrieval_results({**config, "retrieval_granularities": ["paragraph", "article"]}, "retrieval",
                             seeds=[]) == [("results/pilot/retrieval/pretrained_paragraph.json", None),
                                           ("results/pilot/retrieval/pretrained_article.json", None)]


def test_retrieval_jobs_of_a_config():
    from xrobust.params import retrieval_jobs, retrieval_results

    config = yaml.safe_load((ROOT / "configs" / "pilot.yaml").read_text())
    encoders, granularities = retrieval_jobs(config)
    assert encoders["retrieval"] == ["pretrained", "intermediate", "target"] and granularities == ["paragraph"]
    assert encoders["retrieval_middle"] and config["retrieval_middle"]["layer"] > 0
    assert retrieval_jobs({"name": "x"}) == ({"retrieval": [], "retrieval_attack": [], "retrieval_middle": [],
                                             "retrieval_attack_english": []}, ["paragraph"])
    with pytest.raises(ValueError, match=r"invalid 'retrieval_encoders': \['final'\]; allowed values: pretrained"):
        check_config({**config, "retrieval_encoders": ["final"]})
    with pytest.raises(ValueError, match="'retrieval_middle_encoders' needs a 'retrieval_middle' section"):
        check_config({**config, "retrieval_middle": {}})
    with pytest.raises(ValueError, match=r"step 'retrieval_attack': invalid 'n_units': 0"):
        check_config({**config, "retrieval_attack": {"n_units": 0}})
    # the English side of the attack: its section must say so, and codeswitch has no English side
    english = {**config, "retrieval_attack_english_encoders": ["pretrained"]}
    with pytest.raises(ValueError, match=r"needs a 'retrieval_attack_english' section with 'attacked_side: english' "
                                         r"\(got None\); allowed: english"):
        check_config(english)
    with pytest.raises(ValueError, match=r"invalid 'recipes' with attacked_side='english'.*allowed values: \['char'\]"):
        check_config({**english, "retrieval_attack_english": {"attacked_side": "english"}})  # default: both recipes
    with pytest.raises(ValueError, match=r"invalid 'attacked_side': 'french'; allowed values: translation, english"):
        check_config({**config, "retrieval_attack": {"attacked_side": "french"}})
    english["retrieval_attack_english"] = {"attacked_side": "english", "recipes": ["char"]}
    check_config(english)
    assert retrieval_results(english, "retrieval_attack_english", seeds=[0]) == [
        ("results/pilot/retrieval_attack_english/pretrained_paragraph.json", None)]
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['units'\] for step 'retrieval'"):
        check_config({**config, "retrieval": {"units": 3}})


def test_the_powered_grid_is_the_pilot_design_with_more_seeds_and_items():
    """configs/powered.yaml and its GPU twin differ from the pilot only where the design from the
    pilot says (seeds, attacked items) and, on the GPU, in run-only settings; so the powered
    grid answers the pilot's question, and the GPU's files join the CPU's in one grid."""
    load = lambda name: yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())  # noqa: E731
    pilot, powered, gpu = load("pilot"), load("powered"), load("gpu")
    check_config(powered)
    check_config(gpu)
    strip = lambda c, keys: {k: v for k, v in c.items() if k not in keys}  # noqa: E731
    # article-level retrieval adds jobs beside the pilot's; it changes none of them
    assert strip(powered, {"name", "seeds", "attack", "retrieval_article_encoders"}) == \
        strip(pilot, {"name", "seeds", "attack"})
    assert strip(powered["attack"], {"n_examples"}) == strip(pilot["attack"], {"n_examples"})
    assert (powered["name"], powered["attack"]["n_examples"], len(powered["seeds"])) == ("powered", 200, 10)
    assert strip(gpu, {"seeds", "precision", "attack"}) == strip(powered, {"seeds", "attack"})
    assert strip(gpu["attack"], {"batch_size"}) == powered["attack"]
    assert set(gpu["seeds"]) <= set(powered["seeds"])


def test_article_level_for_some_encoders():
    from xrobust.params import condition_results, retrieval_results, stage_granularities

    config = {**yaml.safe_load((ROOT / "configs" / "pilot.yaml").read_text()),
              "retrieval_article_encoders": ["pretrained", "intermediate"]}
    scored = [path for path, _ in retrieval_results(config, "retrieval", seeds=[4])]
    assert scored[:2] == ["results/pilot/retrieval/pretrained_paragraph.json",
                          "results/pilot/retrieval/pretrained_article.json"]
    assert "results/pilot/retrieval/intermediate/vitaminc_s4_article.json" in scored
    assert not [p for p in scored if "/target/" in p and p.endswith("_article.json")]  # classifiers: paragraph only
    # the other steps keep their granularities
    assert not [p for step in ("retrieval_attack", "retrieval_middle")
                for p, _ in retrieval_results(config, step, seeds=[4]) if p.endswith("_article.json")]
    assert stage_granularities(config, "retrieval", "target") == ["paragraph"]
    article_only = {**config, "retrieval_granularities": ["article"]}
    assert stage_granularities(article_only, "retrieval", "intermediate") == ["article"]
    # a condition's step makes its intermediate encoder's article file while the checkpoint exists
    assert "results/pilot/retrieval/intermediate/movie_sentiment_s4_article.json" in \
        condition_results(config, "inter-movie_sentiment", 4)
    assert not [p for p in condition_results(config, "direct", 4) if p.endswith("_article.json")]
    check_config(config)
    unscored = {**config, "retrieval_encoders": ["pretrained", "intermediate"],
                "retrieval_article_encoders": ["target"]}
    with pytest.raises(ValueError, match=r"invalid 'retrieval_article_encoders': \['target'\] are not scored; "
                                         r"allowed values: those of 'retrieval_encoders' \(pretrained, intermediate\)"):
        check_config(unscored)
    with pytest.raises(ValueError, match=r"invalid 'retrieval_article_encoders': \['all'\]; allowed values: pre"):
        check_config({**config, "retrieval_article_encoders": ["all"]})


def test_data_tasks_are_those_the_jobs_about_to_run_read():
    from xrobust.params import data_tasks, retrieval_results
    config = {**yaml.safe_load((ROOT / "configs" / "powered.yaml").read_text()), "seeds": [6]}
    assert data_tasks(config, []) == []  # nothing to run reads no data
    assert data_tasks(config, ["results/powered/attack/multilingual_s6.json.gz"]) == ["multiemo"]
    assert data_tasks(config, ["results/powered/target/inter-vitaminc_s6.json",
                               "runs/powered/target/inter-vitaminc_s6/02_target.ipynb"]) == ["multiemo"]
    assert data_tasks(config, ["results/powered/intermediate/movie_sentiment_s6.json",
                               "runs/powered/intermediate/movie_sentiment_s6/01_intermediate.ipynb"]) \
        == ["movie_sentiment"]
    # an intermediate encoder and its retrieval jobs read the intermediate task's data only
    retrieval = [path for step in ("retrieval", "retrieval_attack", "retrieval_middle")
                 for path, _ in retrieval_results(config, step)]
    assert retrieval and data_tasks(config, retrieval) == []
    assert data_tasks(config, ["results/powered/intermediate/vitaminc_s6.json", *retrieval]) == ["vitaminc"]
    # another grid's files are not this run's jobs
    assert data_tasks(config, ["results/pilot/target/direct_s6.json"]) == []


def test_a_retrieval_only_grid_trains_intermediate_encoders_and_no_classifier():
    from xrobust.params import config_data_tasks, grid_conditions, retrieval_results
    config = yaml.safe_load((ROOT / "configs" / "demo_retrieval.yaml").read_text())
    check_config(config)
    assert grid_conditions(config) == [] and config_data_tasks(config) == ["movie_sentiment"]
    assert [job for _, job in retrieval_results(config, "retrieval_attack")] == [
        None, "intermediate/movie_sentiment_s0", "intermediate/movie_sentiment_s1"]
    # it re-makes the powered grid's retrieval design, so its files compare with the committed ones
    powered = yaml.safe_load((ROOT / "configs" / "powered.yaml").read_text())
    for step, job in [("intermediate", {"task": "movie_sentiment", "seed": 0}), ("retrieval", {}),
                      ("retrieval_attack", {})]:
        assert config_params(config, step, **job) == config_params(powered, step, **job)
    with pytest.raises(ValueError, match="nothing to run; allowed: conditions from direct"):
        check_config({k: v for k, v in config.items() if not k.startswith("retrieval")})
    with pytest.raises(ValueError, match="'target' retrieval encoders with 'conditions: \\[\\]'"):
        check_config({**config, "retrieval_encoders": ["pretrained", "target"]})


def test_main_config_falls_back_to_the_retrieval_demo_when_the_data_cannot_be_had(monkeypatch, capsys):
    from xrobust import offline_data
    from xrobust.params import main_config
    asked = []

    def require(tasks):
        asked.append(list(tasks))
        if "sib200" in tasks:
            raise offline_data.SourceUnavailable("data file train.tsv could not be had")

    monkeypatch.setattr(offline_data, "require", require)
    default, demo = str(ROOT / "configs" / "default.yaml"), str(ROOT / "configs" / "demo_retrieval.yaml")
    assert main_config(default, demo) == demo
    assert asked == [["sib200", "sst2"], ["movie_sentiment"]]
    err = capsys.readouterr().err
    assert "cannot run here: data file train.tsv could not be had" in err and "demo_retrieval" in err
    monkeypatch.setattr(offline_data, "require", lambda tasks: None)
    assert main_config(default, demo) == default
