"""Attacks on UDHR retrieval: per language and recipe, how often a perturbed unit loses its
English translation as nearest neighbour, and how many of its words had to change.

The same unit indices are attacked in every language (a seeded sample of the units whose
English text has at most `max_words` words), against the full English pool. `char` runs in
every language; `codeswitch` only where a bilingual lexicon exists for the language's base
code (the pair is recorded as not applicable otherwise).

`attacked_side='english'` is the reference: the same English units are perturbed (`char`), and
each must still find its translation among the units of each language's text. Paired with the
translation side on (language, unit), it tells whether a change in robustness is specific to the
non-English text or holds for English as well.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

RETRIEVAL_RECIPES = ("char", "codeswitch")


def choose_units(english: list[str], n_units: int, max_words: int, seed: int) -> list[int]:
    """A seeded sample of unit indices whose English text is short enough to attack."""
    short = [i for i, t in enumerate(english) if len(t.split()) <= max_words]
    if len(short) <= n_units:
        return short
    return sorted(np.random.default_rng(seed).choice(short, size=n_units, replace=False).tolist())


def run_retrieval_attack(*args, source=None, **kwargs) -> dict:
    """Attack retrieval with each recipe in each language; write rows to `out_path` (JSON).

    Takes a `params.RetrievalAttackParams` or its fields; `source` as for `retrieval.run_retrieval`."""
    from tqdm.auto import tqdm

    from .attacks import lexicons
    from .attacks.recipes import EncoderSimilarity, build
    from .attacks.retrieval_goal import RetrievalGoalFunction, RetrievalWrapper
    from .attacks.run import attack_examples, summarize
    from .examples import Example
    from .models import load_encoder, pick_device
    from .params import RetrievalAttackParams
    from .provenance import provenance
    from .resultfiles import finished_rows, partial_path, write_json
    from .retrieval import build_params, check_model, load_for_retrieval
    from .udhr import ENGLISH, base_language, load_udhr

    p = build_params(RetrievalAttackParams, args, kwargs)
    model, granularity, out_path, recipes, seed = check_model(p.model), p.granularity, p.out_path, p.recipes, p.seed
    english_side = p.attacked_side == "english"
    dev = pick_device(p.device)
    data = load_udhr(granularity, source)
    allowed = sorted(c for c in data if c != ENGLISH)
    languages = allowed if p.languages == ["all"] else p.languages
    bad = [lang for lang in languages if lang not in allowed]
    if bad:
        raise ValueError(f"unknown 'languages' {bad} for granularity {granularity!r}; "
                         f"allowed values: {', '.join(allowed)}")
    switchable = {lang for lang in languages if base_language(lang) in lexicons.LEXICON_LANGUAGES and not english_side}
    if "codeswitch" in recipes:
        for lang in switchable:
            lexicons.load_lexicon(base_language(lang))  # a lexicon that exists but is not fetched fails here
    chosen = choose_units(data[ENGLISH], p.n_units, p.max_words, seed)
    if not chosen:
        raise ValueError(f"no English unit has at most {p.max_words} words; raise 'max_words'")
    max_perturbed, query_budget, similarity_model = p.max_perturbed, p.query_budget, p.similarity_model

    encoder, tokenizer, described = load_for_retrieval(model, dev)
    def pool(lang):  # a translation's units (or the English ones) as the candidates of retrieval
        return RetrievalWrapper(encoder, tokenizer, data[lang], batch_size=p.batch_size)

    english_pool = None if english_side else pool(ENGLISH)
    similarity = None
    if "codeswitch" in recipes:
        sim_encoder, sim_tok = load_encoder(similarity_model)
        similarity = EncoderSimilarity(sim_encoder, sim_tok, device=dev, max_length=512)
    config = {"step": "retrieval_attack", "granularity": granularity, "model": described,
              "languages": languages, "recipes": recipes, "units": chosen, "max_words": p.max_words,
              "seed": seed, "max_perturbed": max_perturbed, "query_budget": query_budget,
              "similarity_model": similarity_model}
    if english_side:  # recorded only when set: files of the translation side keep their config
        config["attacked_side"] = p.attacked_side
    cells = [(lang, recipe) for recipe in recipes for lang in languages]
    out = Path(out_path)
    done = finished_rows(out, config, lambda r: (r["language"], r["recipe"]))  # resumed after a stop
    started = time.perf_counter()
    for lang, recipe in tqdm([c for c in cells if c not in done], desc="retrieval attack (language x recipe)",
                             unit="cell", disable=not p.progress, mininterval=5):
        row = {"language": lang, "base": base_language(lang), "recipe": recipe}
        if recipe == "codeswitch" and lang not in switchable:
            done[(lang, recipe)] = {**row, "applicable": False}
            continue
        # the attacked text and the pool it must find its translation in
        query, wrapper = (data[ENGLISH], pool(lang)) if english_side else (data[lang], english_pool)
        examples = [Example(text_a=query[i], label=i, uid=f"{lang}-{i}") for i in chosen]
        goal = RetrievalGoalFunction(wrapper, query_budget=query_budget)
        text_language = "en" if english_side else row["base"]
        attack = build(recipe, wrapper, text_language, similarity=similarity, max_perturbed=max_perturbed,
                       query_budget=query_budget, seed=seed, device=dev, goal_function=goal)
        t0 = time.perf_counter()
        records = attack_examples(attack, examples, progress=False)
        done[(lang, recipe)] = {**row, "applicable": True, **summarize(records),
                                "seconds": round(time.perf_counter() - t0, 2), "records": records}
        write_json(partial_path(out), {"config": config, "rows": list(done.values()), "complete": False,
                                       "provenance": provenance(config, dev)})
    result = {"config": config, "rows": [done[c] for c in cells], "complete": True,
              "wall_seconds": round(time.perf_counter() - started, 1), "provenance": provenance(config, dev)}
    write_json(out, result)
    partial_path(out).unlink(missing_ok=True)
    return result
