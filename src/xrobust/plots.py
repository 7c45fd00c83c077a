"""Seaborn figures of the results chapter. Each draws a tidy table of `xrobust.analysis` with
the intervals computed there (not seaborn's own bootstrap), in a colour-blind-safe palette,
languages sorted by effect, and names model, data and n (seeds, items) in the title."""
from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

from .plot_parts import PALETTE, check_columns, forest

sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE)


def _n_text(table) -> str:
    return f"n = {table.n_seeds.max()} seeds, {table.n_items.max()} distinct items"


def effect_by_language(table, title: str, xlabel: str):
    """Point estimate and 95% CI per language, one colour per condition, languages sorted by the
    mean effect; English (the reference) is drawn like the others and labelled as such."""
    check_columns(table, ["condition", "language", "delta", "ci_low", "ci_high", "n_seeds", "n_items"])
    order = table.groupby("language").delta.mean().sort_values().index.tolist()
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(order) + 1.8))
    forest(ax, table, order, "language", "condition", sorted(table.condition.unique()), lambda c: f"{c} − direct")
    ax.set_yticks(range(len(order)), [f"{lang} (reference)" if lang == "en" else lang for lang in order])
    ax.set(xlabel=xlabel, ylabel="language (sorted by effect)", title=f"{title}\n{_n_text(table)}")
    ax.legend(loc="best", fontsize="small")
    return fig


def clean_accuracy(clean, majority, title: str):
    """Clean accuracy per language and condition (mean over seeds, 95% t interval over seeds
    from the table's ci columns), with the majority-class rate as a dashed line."""
    check_columns(clean, ["condition", "language", "accuracy", "ci_low", "ci_high", "n_seeds", "n_items"])
    order = clean.groupby("language").accuracy.mean().sort_values().index.tolist()
    conds = sorted(clean.condition.unique())
    colours = dict(zip(conds, sns.color_palette(PALETTE, len(conds)), strict=True))
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(conds)
    for i, (cond, part) in enumerate(clean.groupby("condition")):
        x = [order.index(lang) + (i - (len(conds) - 1) / 2) * width for lang in part.language]
        ax.errorbar(x, part.accuracy, yerr=[part.accuracy - part.ci_low, part.ci_high - part.accuracy], fmt="o",
                    color=colours[cond], label=cond, capsize=3)
    ax.axhline(majority, color="0.3", ls="--", lw=1, label="majority class")
    ax.set_xticks(range(len(order)), order)
    ax.set(xlabel="language (sorted by mean accuracy)", ylabel="clean accuracy", ylim=(0, 1),
           title=f"{title}\nn = {clean.n_seeds.max()} seeds, up to {clean.n_items.max()} test items per language")
    ax.legend(loc="best", fontsize="small", ncol=2)
    return fig
