"""Drawing parts that the figures of both families share (`plots`, `retrieval_plots`); no theme
is set here, so each family keeps its own look."""
from __future__ import annotations

import seaborn as sns

PALETTE = "colorblind"  # Okabe-Ito-like, distinguishable under the common colour-vision deficiencies


def check_columns(table, columns):
    missing = [c for c in columns if c not in table.columns]
    if missing or table.empty:
        raise ValueError(f"table is missing columns {missing} or has no rows; "
                         f"allowed: a non-empty table with {columns}")


def forest(ax, table, rows: list, row_col: str, hue_col: str, hues: list, label=str):
    """Effects with their 95% intervals (`delta`, `ci_low`, `ci_high`), one row per value of
    `rows` (top to bottom in that order) and, within a row, one colour per value of `hues`."""
    colours = dict(zip(hues, sns.color_palette(PALETTE, len(hues)), strict=True))
    for i, hue in enumerate(hues):
        part = table[table[hue_col] == hue]
        y = [rows.index(r) + (i - (len(hues) - 1) / 2) * 0.22 for r in part[row_col]]
        ax.errorbar(part.delta, y, xerr=[part.delta - part.ci_low, part.ci_high - part.delta], fmt="o",
                    color=colours[hue], label=label(hue), capsize=3)
    ax.axvline(0, color="0.3", lw=1)
