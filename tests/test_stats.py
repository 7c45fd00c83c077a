import pandas as pd

from xrobust import stats


def _records(grids=("g1",), control=1, treated=0):
    rows = []
    for grid in grids:
        for seed in (0, 1):
            for lang in ("de", "zh"):
                for i in range(5):
                    for cond, val in (("direct", control), ("inter-x", treated)):
                        rows.append({"grid": grid, "condition": cond, "seed": seed, "language": lang,
                                     "recipe": "char", "uid": f"u{i}", "robust": val if i < 4 else 1, "clean": 1})
    return pd.DataFrame(rows)


def test_paired_delta_and_interval():
    d = stats.paired_deltas(_records(), "inter-x", n_boot=200).set_index("language")
    assert d.loc["all", "delta"] == -0.8 and d.loc["all", "n_pairs"] == 20
    assert d.loc["all", "ci_low"] <= -0.8 <= d.loc["all", "ci_high"] < 0


def test_same_items_in_two_grids_are_kept_apart():
    d = stats.paired_deltas(_records(grids=("default", "grid")), "inter-x", n_boot=50).set_index("language")
    assert d.loc["all", "n_pairs"] == 40 and d.loc["all", "n_seeds"] == 4
    assert stats.paired_test(_records(grids=("default", "grid")), "inter-x")["n_cells"] == 8


def test_paired_test_no_difference():
    assert stats.paired_test(_records(treated=1), "inter-x")["p_value"] == 1.0
