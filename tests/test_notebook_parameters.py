"""Every notebook refuses, before any compute, a parameter name its parameters cell does not declare (a
misspelt `-p max_pertubed 0.1` would otherwise be ignored and the run go on with the default), listing the
declared names, and a missing input folder; the analysis notebooks refuse an `n_boot` that is not an integer,
the walkthrough a negative seed and a language its checkpoint's task does not have, naming the parameter."""
import ast
import json
from pathlib import Path

import pytest

from xrobust.params import IntermediateParams, check_notebook_parameters, check_parameter_names

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
# notebook -> (parameter, a folder that is not there): its input
MISSING_INPUT = {
    "01_intermediate.ipynb": ("model", "runs/missing/intermediate/vitaminc_s0/checkpoint"),
    "02_target.ipynb": ("model", "runs/missing/intermediate/vitaminc_s0/checkpoint"),
    "03_attack.ipynb": ("checkpoint", "runs/missing/target/direct_s0/checkpoint"),
    "04_analysis.ipynb": ("grid_dir", "results/missing"),
    "05_retrieval.ipynb": ("model", "runs/missing/target/direct_s0/checkpoint"),
    "05_walkthrough.ipynb": ("checkpoint", "runs/missing/target/direct_s0/checkpoint"),
    "06_gallery.ipynb": ("attack_dir", "results/missing/attack"),
    "06_retrieval_analysis.ipynb": ("results_dir", "results/missing/retrieval"),
    "07_retrieval_attack.ipynb": ("model", "runs/missing/target/direct_s0/checkpoint"),
    "08_tagging.ipynb": ("model", "runs/missing/intermediate/sst2_s0/checkpoint"),
}


def declared(notebook: str) -> list[str]:
    """The names the notebook's parameters cell assigns, in order."""
    nb = json.loads((ROOT / "notebooks" / notebook).read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    src = "".join(line for line in cell["source"] if not line.lstrip().startswith("%"))
    return [t.id for node in ast.parse(src).body if isinstance(node, (ast.Assign, ast.AnnAssign))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])]


def execute(notebook: str, tmp_path: Path, **parameters) -> tuple[str, int]:
    """(the error papermill reports, the index of the failing cell among the code cells after the parameters)."""
    import papermill

    out = tmp_path / f"out_{notebook}"
    for attempt in range(3):  # a kernel can lose its TCP port to another process while it starts
        try:
            papermill.execute_notebook(str(ROOT / "notebooks" / notebook), str(out), parameters=parameters,
                                       cwd=str(tmp_path), progress_bar=False, kernel_name="python3")
        except papermill.PapermillExecutionError as e:
            error = e
            break
        except RuntimeError as e:
            if "Kernel died before replying" not in str(e) or attempt == 2:
                raise
    else:
        pytest.fail(f"{notebook} ran to the end with {parameters}")
    cells = json.loads(out.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"
            and not {"parameters", "injected-parameters"} & set(c["metadata"].get("tags", []))]
    failing = next(i for i, c in enumerate(code) if any(o.get("output_type") == "error" for o in c["outputs"]))
    return f"{error.ename}: {error.evalue}", failing


def test_every_notebook_declares_its_names_to_the_check():
    for notebook in NOTEBOOKS:
        text = (ROOT / "notebooks" / notebook).read_text(encoding="utf-8")
        if "check_notebook_parameters(" in text:  # the notebooks without a parameter dataclass
            assert json.dumps(" ".join(declared(notebook)))[1:-1] in text, notebook
        else:
            assert ".from_namespace(globals())" in text, notebook


def test_unknown_names_are_refused_with_the_declared_ones():
    space = {"grid_dir": "x", "max_pertubed": 0.1, "In": [], "get_ipython": print, "Path": Path, "json": json,
             "_i1": "", "_": None}
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['max_pertubed'\] for nb; declared "
                                         r"parameters: grid_dir, n_boot"):
        check_parameter_names(space, "grid_dir n_boot", "nb")
    check_parameter_names({k: v for k, v in space.items() if k != "max_pertubed"}, ["grid_dir"], "nb")
    fields = IntermediateParams.defaults()
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['bogus'\] for IntermediateParams.*seed, lr"):
        IntermediateParams.from_namespace({**fields, "bogus": 1})
    assert IntermediateParams.from_namespace({**fields, "IntermediateParams": IntermediateParams}).seed == 0


def test_inputs_and_numbers_are_checked(tmp_path):
    space = {"grid_dir": str(tmp_path), "extra_dir": "", "n_boot": 2000, "seed": None}
    check = dict(folders=["grid_dir"], optional_folders=["extra_dir"], integers={"n_boot": (100, 10**7)},
                 optional_integers={"seed": (0, 10)})
    check_notebook_parameters(space, list(space), "nb", **check)
    for change, message in [({"grid_dir": str(tmp_path / "no")}, "invalid 'grid_dir': .* is not a folder"),
                            ({"extra_dir": "no/such"}, "invalid 'extra_dir': 'no/such' is not a folder"),
                            ({"n_boot": "abc"}, "invalid 'n_boot': 'abc' \\(str\\); expected an integer"),
                            ({"seed": -3}, "invalid 'seed': -3; allowed range: \\[0, 10\\]")]:
        with pytest.raises(ValueError, match=message):
            check_notebook_parameters({**space, **change}, list(space), "nb", **check)


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_each_notebook_refuses_an_unknown_name_and_a_missing_input_before_any_compute(notebook, tmp_path):
    unknown, cell = execute(notebook, tmp_path, bogus=1)
    assert "unknown parameter(s) ['bogus']" in unknown, unknown
    assert "declared parameters: " + ", ".join(declared(notebook)) in unknown, unknown
    assert cell == 0  # the first code cell after the parameters: nothing computed yet
    name, missing = MISSING_INPUT[notebook]
    error, cell = execute(notebook, tmp_path, **{name: missing})
    assert f"invalid '{name}'" in error and missing in error, error
    assert cell == 0
    print(f"\n{notebook}: -p bogus 1 -> {unknown.splitlines()[0][:100]}...\n"
          f"{notebook}: -p {name} {missing} -> {error.splitlines()[0][:140]}")


@pytest.mark.slow
@pytest.mark.parametrize("notebook", ["04_analysis.ipynb", "06_retrieval_analysis.ipynb"])
def test_n_boot_that_is_not_an_integer_is_refused(notebook, tmp_path):
    (tmp_path / "results" / "pilot").mkdir(parents=True)
    (tmp_path / "results" / "retrieval").mkdir(parents=True)
    error, cell = execute(notebook, tmp_path, n_boot="abc", grid_dir="results/pilot",
                          **({"results_dir": "results/retrieval", "article_grid_dir": "", "sides_grid_dir": ""}
                             if "retrieval" in notebook else {}))
    assert "invalid 'n_boot': 'abc' (str); expected an integer" in error, error
    assert cell == 0


@pytest.mark.slow
def test_walkthrough_refuses_a_negative_seed_and_names_an_unknown_language(tmp_path, target_ckpt):
    error, cell = execute("05_walkthrough.ipynb", tmp_path, checkpoint=target_ckpt, seed=-3)
    assert "invalid 'seed': -3; allowed range: [0, 2147483647]" in error and cell == 0, error
    error, cell = execute("05_walkthrough.ipynb", tmp_path, checkpoint=target_ckpt, language="xx", recipe="char")
    assert "invalid 'language': 'xx'; allowed values for the checkpoint's task 'multiemo'" in error, error
    assert cell == 0
