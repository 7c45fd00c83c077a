"""One attack, step by step, for teaching: the same search that `recipes.build` returns,
replayed so that every intermediate decision can be shown.

1. word importance by deletion: TextAttack's own `GreedyWordSwapWIR._get_index_order`
   (wir_method="delete") gives the order; the scores behind it are read back from the goal
   function's cache (no extra model queries);
2. for each word in that order: the candidates the recipe's transformation proposes, each
   constraint's verdict on each candidate (`call_many`), the model's score for the survivors;
3. the swap is kept when it raises the score, until the prediction flips or the words or the
   query budget run out.

The replay follows `GreedyWordSwapWIR.perform_search` (textattack 0.3.11) and is tested to end
in the same text with the same number of queries as `attack.attack(...)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..textattack_offline import import_textattack

ta = import_textattack()
from textattack.goal_function_results import GoalFunctionResultStatus  # noqa: E402
from textattack.shared import AttackedText  # noqa: E402


@dataclass
class Candidate:
    text: str
    new_word: str
    verdicts: dict[str, bool]  # constraint name -> accepted
    score: float | None = None  # goal score (1 - p(gold)) if it reached the model
    prediction: int | None = None

    @property
    def kept(self) -> bool:
        return all(self.verdicts.values())


@dataclass
class Step:
    index: int
    word: str
    current_text: str
    candidates: list[Candidate]
    score_before: float
    chosen: str | None  # the text kept after this step (None: no candidate improved the score)
    score_after: float
    queries: int  # goal function's num_queries after this step


@dataclass
class Walkthrough:
    text: str
    label: int
    words: list[str]
    initial_probs: list[float]
    initial_prediction: int
    importance: list[tuple[int, str, float]]  # (word index, word, score after deleting it), ranked
    queries_after_ranking: int
    modifiable: dict[str, list[int]] = field(default_factory=dict)  # pre-transformation constraint -> word indices
    steps: list[Step] = field(default_factory=list)
    final_text: str = ""
    final_prediction: int | None = None
    final_probs: list[float] | None = None
    outcome: str = ""  # success | failed | misclassified
    num_queries: int = 0


def constraint_name(constraint) -> str:
    return type(constraint).__name__


def walk(attack, text: str, label: int) -> Walkthrough:
    """Attack `text` (gold `label`) with `attack`, recording every step."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"invalid 'text': {text!r}; expected a non-empty sentence")
    goal, search = attack.goal_function, attack.search_method
    attack.clear_cache()
    initial, _ = goal.init_attack_example(AttackedText(text), label)
    w = Walkthrough(text=text, label=label, words=list(initial.attacked_text.words),
                    initial_probs=_probs(initial), initial_prediction=int(initial.output),
                    importance=[], queries_after_ranking=goal.num_queries)
    if initial.goal_status == GoalFunctionResultStatus.SKIPPED:
        return _finish(w, initial, "misclassified", goal)
    w.modifiable = {constraint_name(c): sorted(c(initial.attacked_text, attack.transformation))
                    for c in attack.pre_transformation_constraints}

    # 1. importance: TextAttack's own ranking, then the scores it ranked by (cached outputs)
    index_order, search_over = search._get_index_order(initial.attacked_text)
    w.queries_after_ranking = goal.num_queries
    w.importance = [(int(i), w.words[i], _cached_score(goal, initial.attacked_text.delete_word_at_index(i)))
                    for i in index_order]

    # 2./3. the greedy search of GreedyWordSwapWIR.perform_search, one index at a time
    original, current = initial.attacked_text, initial
    for i in index_order:
        if search_over:
            break
        step, raw = _step(attack, current, original, int(i))
        survivors = [(c, t) for c, t in zip(step.candidates, raw, strict=True) if c.kept]
        if not survivors:
            w.steps.append(step)
            continue
        results, search_over = goal.get_results([t for _, t in survivors])
        # results stop where the query budget ran out, so may be fewer than the survivors
        for (c, _), r in zip(survivors, results, strict=False):
            c.score, c.prediction = float(r.score), int(r.output)
        results = sorted(results, key=lambda r: -r.score)
        step.queries = goal.num_queries
        if results and results[0].score > current.score:
            current = _best_success(results) if results[0].goal_status == GoalFunctionResultStatus.SUCCEEDED \
                else results[0]
            step.chosen, step.score_after = current.attacked_text.text, float(current.score)
        w.steps.append(step)
        if current.goal_status == GoalFunctionResultStatus.SUCCEEDED:
            break
    outcome = "success" if current.goal_status == GoalFunctionResultStatus.SUCCEEDED else "failed"
    return _finish(w, current, outcome, goal)


def _step(attack, current, original, index: int) -> tuple[Step, list]:
    """Candidates for the word at `index` and every constraint's verdict on each of them."""
    raw = _candidates(attack, current, index)
    candidates = [Candidate(text=t.text, new_word=_new_word(t, index), verdicts={}) for t in raw]
    for constraint in attack.constraints:
        ref = original if constraint.compare_against_original else current.attacked_text
        accepted = {id(t) for t in constraint.call_many(raw, ref)}
        for c, t in zip(candidates, raw, strict=True):
            c.verdicts[constraint_name(constraint)] = id(t) in accepted
    score = float(current.score)
    return Step(index=index, word=current.attacked_text.words[index], current_text=current.attacked_text.text,
                candidates=candidates, score_before=score, chosen=None, score_after=score,
                queries=attack.goal_function.num_queries), raw


def _candidates(attack, current, index: int) -> list:
    """The transformation's candidates for one word, as `Attack.get_transformations` makes them
    (pre-transformation constraints applied, the unchanged text dropped), ordered by text as
    `Attack.filter_transformations` orders them."""
    raw = attack.transformation(current.attacked_text,
                                pre_transformation_constraints=attack.pre_transformation_constraints,
                                indices_to_modify=[index])
    return sorted((t for t in raw if t.text != current.attacked_text.text), key=lambda t: t.text)


def _best_success(results):
    """Among successful candidates, the most similar one (as TextAttack picks)."""
    best, best_sim = results[0], -float("inf")
    for r in results:
        if r.goal_status != GoalFunctionResultStatus.SUCCEEDED:
            break
        sim = r.attacked_text.attack_attrs.get("similarity_score")
        if sim is None:
            break
        if sim > best_sim:
            best, best_sim = r, sim
    return best


def _new_word(text, index: int) -> str:
    idx = text.attack_attrs.get("newly_modified_indices") or {index}
    return " ".join(text.words[i] for i in sorted(idx) if i < len(text.words))


def _cached_score(goal, text) -> float:
    out = goal._call_model([text])[0]  # served from the goal function's cache: no new query
    return float(goal._get_score(out, text))


def _probs(result) -> list[float]:
    return [float(p) for p in np.asarray(result.raw_output, dtype=float).ravel()]


def _finish(w: Walkthrough, result, outcome: str, goal) -> Walkthrough:
    w.final_text, w.final_prediction = result.attacked_text.text, int(result.output)
    w.final_probs, w.outcome, w.num_queries = _probs(result), outcome, goal.num_queries
    return w


# --- what the notebook needs around `walk` -------------------------------------------------

def check_checkpoint(checkpoint: str) -> Path:
    """A clear error naming the parameter when the target checkpoint is not there."""
    path = Path(checkpoint)
    if not path.is_dir():
        raise ValueError(f"invalid 'checkpoint': {checkpoint!r} does not exist. It is made by the experiment "
                         "grid (scripts/build_paper.sh); set the 'checkpoint' parameter to a target checkpoint "
                         "folder, e.g. runs/<grid>/target/direct_s0/checkpoint")
    return path


def prepare(checkpoint: str, recipe: str, language: str, *, similarity_model: str = "e5-small-offline",
            max_perturbed: float = 0.25, query_budget: int = 2000, seed: int = 0, device: str = "cpu"):
    """(attack, checkpoint meta, label names) for a target checkpoint, built as the grid builds it."""
    from ..models import EncoderClassifier, checkpoint_meta, load_encoder
    from ..tasks import check_runnable
    from .recipes import BatchedModelWrapper, EncoderSimilarity, build, check_recipe_language

    check_checkpoint(checkpoint)
    meta = checkpoint_meta(checkpoint)
    task = check_runnable(meta["task"])
    if not isinstance(language, str) or language not in task.languages:
        raise ValueError(f"invalid 'language': {language!r}; allowed values for the checkpoint's task "
                         f"{task.name!r}: {', '.join(task.languages)}")
    check_recipe_language(recipe, language)
    model, tokenizer, _ = EncoderClassifier.load(checkpoint, device=device)
    similarity = None
    if recipe != "char":
        encoder, sim_tok = load_encoder(similarity_model)
        similarity = EncoderSimilarity(encoder, sim_tok, device=device)
    attack = build(recipe, BatchedModelWrapper(model, tokenizer, device), language, tokenizer=tokenizer,
                   similarity=similarity, embeddings=model.encoder.get_input_embeddings().weight,
                   max_perturbed=max_perturbed, query_budget=query_budget, seed=seed, device=device)
    return attack, meta, task.labels


def grid_items(task: str, language: str, n_examples: int = 20, max_words: int = 40, seed: int = 0):
    """The items the attack grid attacks in `language` (same subset, same order)."""
    from ..data import load_examples
    from ..params import check_number

    check_number("n_examples", n_examples, low=1, high=10**6, integer=True)
    return load_examples(task, language, "test", max_examples=n_examples, max_words=max_words, data_seed=seed)


def pick_sentence(attack, items, index: int | None = None):
    """`items[index]`, or with `index=None` the first item the model classifies correctly
    (a misclassified item is not attacked, so it would show nothing)."""
    from ..params import check_number

    if index is not None:
        check_number("sentence_index", index, low=0, high=len(items) - 1, integer=True)
        return items[index]
    predictions = np.asarray(attack.goal_function.model([ex.text_a for ex in items])).argmax(axis=1)
    for ex, pred in zip(items, predictions, strict=True):
        if int(pred) == ex.label:
            return ex
    raise ValueError("no item is classified correctly by this checkpoint; set 'sentence_index' or 'text'")


def importance_table(w: Walkthrough, labels=()):
    import pandas as pd

    gold_p = w.initial_probs[w.label]
    columns = ["rank", "word index", "word", "score without it", "p(gold) without it", "drop in p(gold)"]
    return pd.DataFrame([(r + 1, i, word, round(s, 4), round(1 - s, 4), round(gold_p - (1 - s), 4))
                         for r, (i, word, s) in enumerate(w.importance)], columns=columns).set_index("rank")


def candidates_table(step: Step, labels=()):
    import pandas as pd

    rows = []
    for c in step.candidates:
        rows.append({"candidate word": c.new_word, **{k: "accept" if v else "reject" for k, v in c.verdicts.items()},
                     "kept": c.kept, "score": None if c.score is None else round(c.score, 4),
                     "prediction": None if c.prediction is None else _label(labels, c.prediction),
                     "chosen": c.text == step.chosen})
    return pd.DataFrame(rows)


def steps_table(w: Walkthrough):
    import pandas as pd

    columns = ["word index", "word", "candidates", "pass all constraints", "score before", "score after",
               "swap kept", "queries so far"]
    return pd.DataFrame([(s.index, s.word, len(s.candidates), sum(c.kept for c in s.candidates),
                          round(s.score_before, 4), round(s.score_after, 4), s.chosen is not None, s.queries)
                         for s in w.steps], columns=columns)


def _label(labels, i: int):
    return labels[i] if 0 <= i < len(labels) else i
