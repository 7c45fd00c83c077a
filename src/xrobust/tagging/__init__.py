"""The tagging family: UD part-of-speech tagging, an XTREME-R task.

Trained on English UD EWT only (XTREME-R's UD-POS protocol), selected on EWT's dev set, and
evaluated zero-shot on the parallel PUD test treebanks (the same 1,000 sentences in 20
languages). There is no multilingual training data in this family: no condition trains on
anything but English EWT. Conditions: `direct` (the pretrained encoder) and `intermediate`
(an encoder trained first on an English intermediate task, e.g. SST-2 or English XNLI, from the
same checkpoints as the classification family).

- `data`: the 17 UPOS tags, first-sub-word labels (XTREME's protocol), the most-frequent-tag baseline;
- `model`: `TokenTagger`, the shared encoder with a token-level head;
- `train`: training with validation-based selection, word-level prediction and metrics;
- `params`, `run`: the steps' parameters, the train + evaluate step (`run_tagging`) and the
  attack step (`run_tagging_attack`: one pool of PUD sent_ids for every language, seed and condition);
- `attack`: the goal function and model wrapper that attack a tagger with TextAttack (success rule
  `attack.SUCCESS_DROP`, justified there);
- `analysis`: attack results as (seed, item) units for `xrobust.inference`, the classification
  answer's statistics.

Where this departs from XTREME: XTREME's preprocessing (google-research/xtreme,
`utils_preprocess.py`, `udpos_preprocess`) pools every UD v2.5 treebank of a language, for
English training (not EWT alone) and for each language's test set (not PUD alone). Here English
training is EWT only and every test set is PUD, so that the test sentences are parallel.
The published XLM-R UD-POS numbers of XTREME-R are not included: they could not be checked
against a source here, and they were measured on those pooled test sets, so they would be
context on other data in any case.
"""
