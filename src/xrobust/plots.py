"""Seaborn figures of the results chapter. Every figure names its model and data in the title."""
from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

sns.set_theme(style="whitegrid", context="notebook")


def robustness_drop(attacks, subtitle: str):
    """Clean minus attacked accuracy per language, one bar per condition, a panel per recipe."""
    df = attacks.assign(drop=attacks.clean_accuracy - attacks.attacked_accuracy)
    g = sns.catplot(df, x="language", y="drop", hue="condition", col="recipe", kind="bar",
                    errorbar=("ci", 95), height=3.6, aspect=1.6)
    g.set_axis_labels("language", "accuracy drop under attack")
    g.figure.suptitle(f"Robustness drop per language — {subtitle}", y=1.04)
    return g.figure


def success_vs_language(attacks, subtitle: str):
    g = sns.catplot(attacks, x="language", y="attack_success_rate", hue="condition", col="recipe",
                    kind="point", errorbar=("ci", 95), dodge=0.3, height=3.6, aspect=1.6)
    g.set_axis_labels("language", "attack success rate")
    g.figure.suptitle(f"Attack success rate per language — {subtitle}", y=1.04)
    return g.figure


def clean_vs_robust(attacks, subtitle: str):
    fig, ax = plt.subplots(figsize=(6.5, 5))
    sns.scatterplot(attacks, x="clean_accuracy", y="attacked_accuracy", hue="condition", style="recipe",
                    s=60, ax=ax)
    ax.set(xlabel="clean accuracy (attacked items)", ylabel="accuracy under attack",
           title=f"Clean vs robust accuracy, one point per seed x language\n{subtitle}")
    return fig


def clean_accuracy(clean, subtitle: str):
    fig, ax = plt.subplots(figsize=(10, 4))
    sns.barplot(clean, x="language", y="accuracy", hue="condition", errorbar=("ci", 95), ax=ax)
    ax.set(ylabel="clean accuracy", title=f"Zero-shot clean accuracy (trained on English) — {subtitle}")
    ax.set_ylim(0, 1)
    return fig
