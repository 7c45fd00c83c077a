"""Adversarial-examples gallery: original -> perturbed pairs from attack result files, with the
changed words highlighted, the same item shown side by side under every condition.

Text from result files is escaped before it goes into HTML; each text cell carries `lang` and
`dir="auto"` so that right-to-left scripts and CJK fonts display correctly.
"""
from __future__ import annotations

import difflib
import html
import re
from pathlib import Path

from . import resultfiles
from .languages import LANGUAGES
from .params import check_number
from .stats import condition_label

# written without spaces between words: a word-level diff would mark the whole sentence
CHAR_LEVEL_LANGUAGES = frozenset({"zh", "ja", "th"})
ATTACKED = ("success", "failed", "misclassified")
_LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_WORD_OR_SPACE = re.compile(r"\s+|\S+")


def load_pairs(paths) -> list[dict]:
    """One dict per attacked record of every attack result file under `paths` (files or
    folders). Files are read with their checksum checked (`resultfiles.read_json`)."""
    out = []
    for path in resultfiles.result_files(paths):
        doc = resultfiles.read_json(path)
        if doc.get("config", {}).get("step") != "attack":
            continue
        meta = doc["config"]["checkpoint_meta"]
        cond = condition_label(meta, str(Path(doc["config"]["checkpoint"]).parent))
        names = _label_names(meta.get("task"))
        for row in doc["rows"]:
            for r in row["records"]:
                if r["outcome"] not in ATTACKED:
                    continue
                out.append({"condition": cond, "seed": meta["seed"], "language": row["language"],
                            "recipe": row["recipe"], "uid": r["uid"], "gold": _name(names, r["label"]),
                            "original": r["original"], "perturbed": r.get("perturbed"),
                            "outcome": r["outcome"], "clean_correct": r.get("clean_correct"),
                            "pred_before": _name(names, r.get("original_output")),
                            "pred_after": _name(names, r.get("perturbed_output"))})
    return out


def select(pairs: list[dict], per_cell: int = 2, seed: int | None = None) -> dict:
    """Per (language, recipe): the `per_cell` items to show, as {uid: {condition: pair}}.

    Items whose attack succeeded under more conditions come first, then items attacked
    (not misclassified) under more conditions, then by uid, so the choice depends on the
    results only. One seed is shown (default: the smallest)."""
    check_number("per_cell", per_cell, low=1, high=100, integer=True)
    if not pairs:
        return {}
    seeds = sorted({p["seed"] for p in pairs})
    if seed is None:
        seed = seeds[0]
    elif seed not in seeds:
        raise ValueError(f"invalid 'seed': {seed!r}; allowed values: {', '.join(map(str, seeds))}")
    cells: dict = {}
    for p in pairs:
        if p["seed"] == seed:
            cells.setdefault((p["language"], p["recipe"]), {}).setdefault(p["uid"], {})[p["condition"]] = p
    chosen = {}
    for key in sorted(cells):
        items = cells[key]
        rank = sorted(items, key=lambda uid: (-sum(p["outcome"] == "success" for p in items[uid].values()),
                                              -sum(p["perturbed"] is not None for p in items[uid].values()),
                                              uid))
        chosen[key] = {uid: items[uid] for uid in rank[:per_cell]}
    return chosen


def tokens(text: str, language: str) -> list[str]:
    """Units of the diff: characters for languages written without spaces, else words and
    the whitespace between them (kept, so that the text can be rebuilt exactly)."""
    if language in CHAR_LEVEL_LANGUAGES:
        return list(text)
    return _WORD_OR_SPACE.findall(text)


def diff(original: str, perturbed: str, language: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """(original, perturbed) as lists of (token, changed); whitespace is never 'changed'."""
    a, b = tokens(original, language), tokens(perturbed, language)
    changed_a, changed_b = [False] * len(a), [False] * len(b)
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "equal":
            changed_a[i1:i2] = [True] * (i2 - i1)
            changed_b[j1:j2] = [True] * (j2 - j1)
    return ([(t, c and not t.isspace()) for t, c in zip(a, changed_a, strict=True)],
            [(t, c and not t.isspace()) for t, c in zip(b, changed_b, strict=True)])


def inline_diff(original: str, perturbed: str, language: str) -> list[tuple[str, str]]:
    """The perturbed text as (token, kind) with kind "same", "new" (inserted or replacing) or
    "gone" (deleted from the original: shown struck through, else a deletion would be invisible)."""
    a, b = tokens(original, language), tokens(perturbed, language)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out += [(t, "same") for t in b[j1:j2]]
        elif op == "delete":
            out += [(t, "gone") for t in a[i1:i2]]
        else:
            out += [(t, "same" if t.isspace() else "new") for t in b[j1:j2]]
    return out


def changed_words(original: str, perturbed: str, language: str) -> list[str]:
    """The highlighted runs of the perturbed text, in order."""
    return _runs(diff(original, perturbed, language)[1])


def n_changes(original: str, perturbed: str, language: str) -> int:
    """Changed places: runs of new words plus runs of deleted ones."""
    kinds = [k for _, k in inline_diff(original, perturbed, language)]
    return sum(k != "same" and (i == 0 or kinds[i - 1] != k) for i, k in enumerate(kinds))


def highlight(pieces) -> str:
    """Escaped HTML: each run of changed tokens ("new" or True) inside one <mark>, each run of
    deleted ones ("gone") inside <del> (a deleted space as a visible ␣)."""
    out, run, kind = [], [], None
    for text, k in list(pieces) + [("", "same")]:
        k = "new" if k is True else "same" if k is False else k
        if run and k != kind:
            body = "".join(run)
            tag = "mark" if kind == "new" else "del"
            out.append(f"<{tag}>{html.escape(body if body.strip() else '␣')}</{tag}>")
            run = []
        if k == "same":
            out.append(html.escape(text))
        else:
            run.append(text)
            kind = k
    return "".join(out)


def render(chosen: dict, conditions: list[str] | None = None) -> str:
    """HTML for `select(...)`: per (language, recipe) a table, one row per item, the
    original and then each condition's perturbed text side by side."""
    if conditions is None:
        found = {c for items in chosen.values() for by_cond in items.values() for c in by_cond}
        conditions = sorted(found, key=lambda c: (c != "direct", c))
    # the theme keeps a table on one printed page; the gallery's may break between rows
    parts = ['<div class="xr-gallery"><style>.xr-gallery td{vertical-align:top}'
             '.xr-gallery tr{break-inside:avoid}</style>']
    if any(p.get("perturbed") is not None and not p.get("pred_after")
           for items in chosen.values() for by_cond in items.values() for p in by_cond.values()):
        parts.append("<p><small>These result files do not store the predicted label after the attack; "
                     "a successful attack changed the prediction away from the gold label.</small></p>")
    for (language, recipe), items in chosen.items():
        lang = _lang_attr(language)
        name = LANGUAGES.get(language, (language,))[0]
        parts.append(f"<h3>{html.escape(name)} ({html.escape(language)}), recipe "
                     f"<code>{html.escape(recipe)}</code></h3>")
        parts.append('<table class="xr-gallery-table" style="table-layout:fixed;width:100%;break-inside:auto">'
                     "<thead><tr><th>original</th>"
                     + "".join(f"<th>{html.escape(c)}</th>" for c in conditions) + "</tr></thead><tbody>")
        for uid, by_cond in items.items():
            first = next(iter(by_cond.values()))
            parts.append(f'<tr><td><div lang="{lang}" dir="auto">{html.escape(first["original"])}</div>'
                         f'<small>{html.escape(uid)} · gold: <b>{html.escape(first["gold"])}</b></small></td>')
            parts += [_cell(by_cond.get(c), lang) for c in conditions]
            parts.append("</tr>")
        parts.append("</tbody></table>")
    parts.append("</div>")
    return "\n".join(parts)


def gallery_html(paths, per_cell: int = 2, seed: int | None = None) -> str:
    """Load, select and render in one call (what the gallery notebook shows)."""
    return render(select(load_pairs(paths), per_cell=per_cell, seed=seed))


def _cell(pair: dict | None, lang: str) -> str:
    if pair is None:
        return "<td><i>not in this condition's results</i></td>"
    if pair["perturbed"] is None:
        return ("<td><i>misclassified before the attack: not attacked</i>"
                f"<br><small>prediction before: {html.escape(pair['pred_before'] or 'not recorded')}</small></td>")
    text = highlight(inline_diff(pair["original"], pair["perturbed"], pair["language"]))
    n = n_changes(pair["original"], pair["perturbed"], pair["language"])
    return (f'<td><div lang="{lang}" dir="auto">{text}</div><small>outcome: <b>{html.escape(pair["outcome"])}</b>'
            f" · {n} change{'s' if n != 1 else ''} · {_predictions(pair)}</small></td>")


def _predictions(pair: dict) -> str:
    """Before -> after. When the files lack the predicted labels, say what the outcome implies:
    the attack starts only from a correct prediction, and a failed untargeted attack keeps it."""
    before = pair["pred_before"] or f"{pair['gold']} (correct)"
    if pair["pred_after"]:
        after = pair["pred_after"]
    elif pair["outcome"] == "failed":
        after = f"{pair['gold']} (kept)"
    else:
        after = f"not recorded, not {pair['gold']}"
    return f"prediction: {html.escape(before)} → {html.escape(after)}"


def _runs(pieces: list[tuple[str, bool]]) -> list[str]:
    runs, run = [], []
    for text, changed in pieces + [("", False)]:
        if changed:
            run.append(text)
        elif run:
            runs.append("".join(run))
            run = []
    return runs


def _lang_attr(language: str) -> str:
    if not isinstance(language, str) or not _LANG_TAG.match(language):
        raise ValueError(f"invalid 'language': {language!r}; expected a BCP 47 tag such as 'de' or 'zh'")
    return language


def _label_names(task: str | None) -> tuple[str, ...]:
    if not task:
        return ()
    from .tasks import get_task

    try:
        return get_task(task).labels
    except ValueError:  # a task this version does not know: show label ids
        return ()


def _name(names: tuple[str, ...], label) -> str | None:
    if label is None:
        return None
    return names[label] if isinstance(label, int) and 0 <= label < len(names) else str(label)
