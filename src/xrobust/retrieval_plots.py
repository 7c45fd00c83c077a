"""Figures of the retrieval chapter: readable with 100+ languages (grouped by script, sorted)."""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import seaborn as sns

from .plot_parts import check_columns, forest
from .retrieval import DIRECTIONS

LABELS = {"xx_to_en": "language → English", "en_to_xx": "English → language"}


def _ordered(df, min_group: int):
    """Scripts with fewer than `min_group` languages pooled as 'other scripts'; sorted by group mean."""
    counts = df["script_name"].value_counts()
    group = df["script_name"].where(df["script_name"].map(counts) >= min_group, "other scripts")
    df = df.assign(group=group)
    order = df.groupby("group")["mean_both"].mean().sort_values(ascending=False).index
    df["group"] = df["group"].astype("category").cat.set_categories(list(order))
    return df.sort_values(["group", "mean_both"], ascending=[True, False])


# Per-language figures: 115+ rows in one figure that the page shows about 7 in wide.
# 8.5 pt labels and 0.22 in per row keep each name legible on screen and in print (at 6 pt and
# 0.16 in the names were about 6 px high in the HTML book).
# The figure is 5.5 in wide (plus its labels), so the page scales it down less than a 7.5 in one.
ROW_INCHES, LABEL_PT, WIDTH_INCHES = 0.22, 8.5, 5.5


def _title(ax, title: str):
    """A title wrapped to the narrower figure (a long one would widen the saved image and shrink its labels)."""
    ax.set_title("\n".join(textwrap.fill(line, 75) for line in title.split("\n")), fontsize=9)


def _language_axis(ax, order, labels):
    """One row per language of `order` (from `_ordered`), top to bottom, with script groups
    separated by lines and named on the right."""
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels(labels, fontsize=LABEL_PT)
    ax.set_ylim(len(order) - 0.5, -0.5)  # first row on top, no empty margin
    edges = order["group"].cat.codes.diff().fillna(0).to_numpy().nonzero()[0]
    for e in edges:
        ax.axhline(e - 0.5, color="grey", lw=0.6)
    starts = [0, *edges]
    for s, name in zip(starts, order["group"].iloc[starts], strict=True):
        ax.text(1.02, s, name, transform=ax.get_yaxis_transform(), fontsize=LABEL_PT, va="top")


def _starred(order):
    rows = zip(order["name"], order.index, order["tatoeba"], strict=True)
    return [f"{'★ ' if t else ''}{n} ({c})" for n, c, t in rows]


def _legend_below(ax, ncol: int):
    """The legend under the x label, where it hides no language's row (the axis is 100+ rows tall)."""
    height = ax.get_position().height * ax.figure.get_figheight()  # inches
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45 / height), ncol=ncol, fontsize=7, frameon=False)


def per_language(df, title: str, min_group: int = 2):
    """One row per language, both directions as dots; grouped by script; Tatoeba languages starred."""
    df = _ordered(df, min_group)
    fig, ax = plt.subplots(figsize=(WIDTH_INCHES, ROW_INCHES * len(df) + 1.5))
    y = range(len(df))
    for direction, marker in zip(DIRECTIONS, ("o", "x"), strict=True):
        ax.scatter(df[direction], y, marker=marker, s=18, label=LABELS[direction])
    _language_axis(ax, df, _starred(df))
    ax.set(xlim=(-0.02, 1.02), xlabel="top-1 accuracy")
    _title(ax, title)
    _legend_below(ax, ncol=2)
    return fig


def by_script(df, title: str, min_group: int = 3):
    """Top-1 accuracy (mean of both directions) per script group, split by XLM-R pretraining."""
    df = _ordered(df, min_group).assign(
        pretraining=lambda d: d["xlmr_pretraining"].map({True: "in XLM-R pretraining", False: "not in it"}))
    counts = df["group"].value_counts()
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * df["group"].nunique() + 1.5))
    sns.stripplot(df, y="group", x="mean_both", hue="pretraining", dodge=True, size=3, alpha=0.7, ax=ax)
    ax.set_yticklabels([f"{t.get_text()} (n={counts[t.get_text()]})" for t in ax.get_yticklabels()])
    ax.set(xlim=(-0.02, 1.02), xlabel="top-1 accuracy (mean of both directions)", ylabel="", title=title)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    return fig


def change_per_language(table, title: str, min_group: int = 2):
    """Change in top-1 accuracy (encoder minus pretrained, both directions) per language with its
    interval over seeds; one colour per encoder; languages grouped by script and sorted by the
    pretrained encoder's accuracy, so the reader sees where the change happens."""
    df = table.assign(mean_both=table["pretrained"]).set_index("language")
    first = df[df["encoder"] == df["encoder"].iloc[0]]
    order = _ordered(first, min_group)
    encoders = list(dict.fromkeys(df["encoder"]))
    fig, ax = plt.subplots(figsize=(WIDTH_INCHES, ROW_INCHES * len(order) + 1.8))
    palette = sns.color_palette("colorblind", len(encoders))
    for k, (enc, colour) in enumerate(zip(encoders, palette, strict=True)):
        part = df[df["encoder"] == enc].reindex(order.index)
        y = [i + (k - (len(encoders) - 1) / 2) * 0.25 for i in range(len(part))]
        ax.errorbar(part["delta"], y, xerr=[part["delta"] - part["ci_low"], part["ci_high"] - part["delta"]],
                    fmt="o", ms=2.5, lw=0.7, color=colour, label=enc)
    ax.axvline(0, color="black", lw=0.6)
    _language_axis(ax, order, _starred(order))
    ax.set(xlabel="change in top-1 accuracy against the pretrained encoder (95% CI)")
    _title(ax, title)
    _legend_below(ax, ncol=1)
    return fig


def success_per_language(summary, title: str, min_group: int = 2):
    """Attack success rate per language (units retrieved correctly before the attack; seeds
    pooled), one marker per encoder, languages grouped by script and sorted by the first
    encoder's rate. Marker size: number of units retrieved correctly before the attack."""
    encoders = list(dict.fromkeys(summary["encoder"]))
    first = summary[summary["encoder"] == encoders[0]].set_index("language")
    order = _ordered(first.assign(mean_both=first["success_rate"].fillna(-1), tatoeba=False), min_group)
    fig, ax = plt.subplots(figsize=(WIDTH_INCHES, ROW_INCHES * len(order) + 1.8))
    palette = sns.color_palette("colorblind", len(encoders))
    for enc, colour, marker in zip(encoders, palette, "oxs^dv", strict=False):
        part = summary[summary["encoder"] == enc].set_index("language").reindex(order.index)
        ax.scatter(part["success_rate"], range(len(part)), s=4 + 3 * part["n_clean"].fillna(0) / part["n_seeds"].max(),
                   marker=marker, color=colour, label=enc, alpha=0.8)
    _language_axis(ax, order, [f"{n} ({c})" for n, c in zip(order["name"], order.index, strict=True)])
    ax.set(xlim=(-0.02, 1.02), xlabel="attack success rate (units retrieved correctly before the attack)")
    _title(ax, title)
    _legend_below(ax, ncol=len(encoders))
    return fig


def change_against_pretrained(table, title: str):
    """Each language's change in top-1 accuracy (encoder minus pretrained, mean over seeds)
    against the pretrained encoder's accuracy, one panel per encoder, coloured by XLM-R
    pretraining: readable with 500+ languages, where one row per language is not. The dashed
    line is the floor (every unit the pretrained encoder retrieved is lost)."""
    df = table.assign(pretraining=table["xlmr_pretraining"].map({True: "in XLM-R pretraining",
                                                                False: "not in it"}))
    grid = sns.relplot(df, x="pretrained", y="delta", hue="pretraining", col="encoder", kind="scatter",
                       hue_order=["in XLM-R pretraining", "not in it"], s=12, alpha=0.6, height=3.6, aspect=1.1,
                       facet_kws={"sharey": True})
    for ax in grid.axes.flat:
        ax.plot([0, 1], [0, -1], ls="--", lw=0.7, color="grey")
        ax.axhline(0, color="black", lw=0.6)
        ax.set(xlim=(-0.02, 1.02))
    grid.set_axis_labels("pretrained encoder's top-1 accuracy", "change in top-1 accuracy")
    grid.set_titles("{col_name}", size=9)
    sns.move_legend(grid, "upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, title=None, frameon=False)
    grid.figure.suptitle(title, y=1.0, fontsize=9)
    grid.figure.tight_layout()
    return grid.figure


def sides_per_language(table, title: str):
    """Each language's change in attack success (encoder minus pretrained) with English attacked
    (x) against the translation attacked (y), one panel per encoder, coloured by XLM-R
    pretraining. On the diagonal, the change is the same whichever side is attacked; above it,
    the non-English side loses more robustness than English."""
    df = table.assign(pretraining=table["xlmr_pretraining"].map({True: "in XLM-R pretraining",
                                                                False: "not in it"}))
    grid = sns.relplot(df, x="english", y="translation", hue="pretraining", col="encoder", kind="scatter",
                       hue_order=["in XLM-R pretraining", "not in it"], s=14, alpha=0.6, height=3.6, aspect=1.1)
    for ax in grid.axes.flat:
        ax.axline((0, 0), slope=1, ls="--", lw=0.7, color="grey")
        ax.axhline(0, color="black", lw=0.6)
        ax.axvline(0, color="black", lw=0.6)
    grid.set_axis_labels("change in attack success, English attacked", "change, translation attacked")
    grid.set_titles("{col_name}", size=9)
    sns.move_legend(grid, "upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, title=None, frameon=False)
    grid.figure.suptitle(title, y=1.0, fontsize=9)
    grid.figure.tight_layout()
    return grid.figure


GROUP_LABELS = {"all languages": "all languages", "xlmr_pretraining = True": "in XLM-R pretraining",
                "xlmr_pretraining = False": "not in XLM-R pretraining"}


def contrasts(table, title: str):
    """Change in top-1 accuracy of each comparison (treated minus control, from
    `retrieval_stats.condition_contrasts`) with its 95% interval, one colour per language group;
    each row names the seeds and languages behind it."""
    check_columns(table, ["treated", "control", "group", "delta", "ci_low", "ci_high", "seeds", "n_items",
                          "n_languages"])
    df = table[table.group.isin(GROUP_LABELS)].sort_values("group", key=lambda g: g.map(list(GROUP_LABELS).index),
                                                           kind="stable").assign(
        comparison=lambda d: d.treated + " − " + d.control + "\n(seeds " + d.seeds + ")",
        language_group=lambda d: d.group.map(GROUP_LABELS) + " (" + d.n_languages.astype(str) + ")")
    order = list(dict.fromkeys(df.comparison))
    groups = list(dict.fromkeys(df.language_group))
    fig, ax = plt.subplots(figsize=(7.5, 0.75 * len(order) + 1.6))
    forest(ax, df, order, "comparison", "language_group", groups)
    ax.set_yticks(range(len(order)), order, fontsize=8)
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set(xlabel="change in top-1 accuracy (treated minus control, paired by seed; 95% CI)",
           title=f"{title}\nn = {df.n_items.max()} units per language; languages per group in the legend")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.9 / fig.get_figheight()), ncol=len(groups),
              fontsize=7, frameon=False)
    return fig
