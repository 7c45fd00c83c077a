"""Attacks on UDHR retrieval: per language and recipe, how often a perturbed unit loses its
English translation as nearest neighbour, and how many of its words had to change.

The same unit indices are attacked in every language (a seeded sample of the units whose
English text has at most `max_words` words), against the full English pool. `char` runs in
every language; `codeswitch` only where a bilingual lexicon exists for the language's base
code (the pair is recorded as not applicable otherwise).
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


def run_retrieval_attack(model: str, granularity: str, out_path, languages, recipes=RETRIEVAL_RECIPES,
                         n_units: int = 20, max_words: int = 60, seed: int = 0, max_perturbed: float = 0.25,
                         query_budget: int = 2000, similarity_model: str = "e5-small-offline",
                         batch_size: int = 32, device: str = "auto", source=None, progress: bool = True) -> dict:
    """Attack retrieval with each recipe in each language; write rows to `out_path` (JSON)."""
    from .attacks import lexicons
    from .attacks.recipes import EncoderSimilarity, build
    from .attacks.retrieval_goal import EnglishRetrievalWrapper, RetrievalGoalFunction
    from .attacks.run import attack_examples, summarize
    from .examples import Example
    from .models import load_encoder, pick_device
    from .params import check_list, check_number
    from .provenance import provenance
    from .resultfiles import write_json
    from .retrieval import _check_positive_int, check_model, load_for_retrieval
    from .udhr import ENGLISH, base_language, check_granularity, load_udhr

    check_granularity(granularity)
    model = check_model(model)
    recipes = check_list("recipes", recipes, RETRIEVAL_RECIPES)
    _check_positive_int("n_units", n_units)
    _check_positive_int("max_words", max_words)
    check_number("max_perturbed", max_perturbed, low=0.01, high=1.0)
    if not str(out_path).endswith(".json"):
        raise ValueError(f"'out_path' must name a .json file; got {out_path!r}")
    dev = pick_device(device)
    data = load_udhr(granularity, source)
    allowed = sorted(c for c in data if c != ENGLISH)
    languages = [languages] if isinstance(languages, str) else list(languages)
    bad = [l for l in languages if l not in allowed]
    if bad or not languages:
        raise ValueError(f"unknown or empty 'languages' {bad or languages} for granularity {granularity!r}; "
                         f"allowed values: {', '.join(allowed)}")
    switchable = {l for l in languages if base_language(l) in lexicons.LEXICON_LANGUAGES}
    if "codeswitch" in recipes:
        for lang in switchable:
            lexicons.load_lexicon(base_language(lang))  # a lexicon that exists but is not fetched fails here
    chosen = choose_units(data[ENGLISH], n_units, max_words, seed)
    if not chosen:
        raise ValueError(f"no English unit has at most {max_words} words; raise 'max_words'")

    encoder, tokenizer, described = load_for_retrieval(model, dev)
    wrapper = EnglishRetrievalWrapper(encoder, tokenizer, data[ENGLISH], batch_size=batch_size)
    similarity = None
    if "codeswitch" in recipes:
        sim_encoder, sim_tok = load_encoder(similarity_model)
        similarity = EncoderSimilarity(sim_encoder, sim_tok, device=dev, max_length=512)
    config = {"step": "retrieval_attack", "granularity": granularity, "model": described,
              "languages": languages, "recipes": recipes, "units": chosen, "max_words": max_words,
              "seed": seed, "max_perturbed": max_perturbed, "query_budget": query_budget,
              "similarity_model": similarity_model}
    rows = []
    for recipe in recipes:
        for lang in languages:
            base = base_language(lang)
            row = {"language": lang, "base": base, "recipe": recipe}
            if recipe == "codeswitch" and lang not in switchable:
                rows.append({**row, "applicable": False})
                continue
            examples = [Example(text_a=data[lang][i], label=i, uid=f"{lang}-{i}") for i in chosen]
            goal = RetrievalGoalFunction(wrapper, query_budget=query_budget)
            attack = build(recipe, wrapper, base, similarity=similarity, max_perturbed=max_perturbed,
                           query_budget=query_budget, seed=seed, device=dev, goal_function=goal)
            t0 = time.perf_counter()
            records = attack_examples(attack, examples, progress=progress, desc=f"{recipe} {lang}")
            rows.append({**row, "applicable": True, **summarize(records),
                         "seconds": round(time.perf_counter() - t0, 2), "records": records})
            write_json(Path(out_path), {"config": config, "rows": rows, "complete": False,
                                        "provenance": provenance(config, dev)})
    result = {"config": config, "rows": rows, "complete": True, "provenance": provenance(config, dev)}
    write_json(Path(out_path), result)
    return result
