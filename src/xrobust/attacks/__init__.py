"""Multilingual adversarial attacks built from TextAttack's search/goal/constraint parts.

Recipes (`recipes.build(name, model_wrapper, language, ...)`):
- `char`: DeepWordBug-style edits on grapheme clusters of the word's own script.
- `embedding`: word substitution by nearest neighbours in the encoder's multilingual
  input-embedding space, with a sentence-similarity and a max-perturbation constraint.
- `codeswitch`: replace words by English translations from a bilingual lexicon.
"""
