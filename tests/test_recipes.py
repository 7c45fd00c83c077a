"""Recipe construction, the neighbour index, case recovery and the perturbation bound (no attack runs)."""
import gc
import weakref

import pytest
import torch

from xrobust.attacks.constraints import MaxShareOfWordsPerturbed
from xrobust.attacks.recipes import BatchedModelWrapper, EncoderSimilarity, build
from xrobust.attacks.transformations import EmbeddingNeighbourSwap, LexiconSwap, neighbour_index
from xrobust.attacks.writing_systems import script_of, word_script


@pytest.fixture(scope="module")
def tokenizer(offline_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(offline_dir)


def _tiny_classifier(tokenizer, hidden=16):
    from transformers import BertConfig, BertModel

    from xrobust.models import EncoderClassifier

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=1, num_attention_heads=1,
                     intermediate_size=32, max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id)
    return EncoderClassifier(BertModel(cfg, add_pooling_layer=False), 2)


def test_run_time_settings_applied_and_shared_similarity_left_alone(tokenizer):
    model = _tiny_classifier(tokenizer)
    wrapper = BatchedModelWrapper(model, tokenizer)
    sim = EncoderSimilarity(model.encoder, tokenizer, threshold=0.85)
    emb = model.encoder.get_input_embeddings().weight
    a = build("embedding", wrapper, "de", tokenizer=tokenizer, embeddings=emb, similarity=sim,
              sim_threshold=0.6, query_budget=123, model_batch_size=7)
    b = build("embedding", wrapper, "ru", tokenizer=tokenizer, embeddings=emb, similarity=sim, sim_threshold=0.7)
    assert (a.goal_function.query_budget, a.goal_function.batch_size) == (123, 7)
    assert (b.goal_function.query_budget, b.goal_function.batch_size) == (2000, 256)
    used = [[c for c in x.constraints if isinstance(c, EncoderSimilarity)] for x in (a, b)]
    assert [c.threshold for c, in used] == [0.6, 0.7] and sim.threshold == 0.85
    assert all(c is not sim and c.encoder is sim.encoder for c, in used)
    # one neighbour index per embedding table, shared by both languages
    assert a.transformation.index is b.transformation.index
    assert any(isinstance(c, MaxShareOfWordsPerturbed) for c in a.constraints)


def test_neighbour_index_does_not_outlive_its_embedding_table(tokenizer):
    emb = torch.nn.Parameter(torch.randn(len(tokenizer), 8))
    swap = EmbeddingNeighbourSwap(neighbour_index(emb, tokenizer), k=2, min_cos=0.0)
    assert swap._get_replacement_words("Haus")  # fills the index's cache
    index = weakref.ref(swap.index)
    del swap, emb
    gc.collect()
    assert index() is None


def test_neighbours_keep_the_word_script_and_case(tokenizer):
    ids = tokenizer.convert_tokens_to_ids(["▁Haus", "▁Gebäude", "▁дом"])
    emb = torch.randn(len(tokenizer), 64)
    emb[ids[1]] = emb[ids[0]] + 0.01 * torch.randn(64)  # a Latin neighbour of "Haus" ...
    emb[ids[2]] = emb[ids[0]] + 0.01 * torch.randn(64)  # ... and a Cyrillic one, which is refused
    index = neighbour_index(emb, tokenizer)
    assert index.neighbours("Haus", 3, 0.9) == ("Gebäude",)
    assert EmbeddingNeighbourSwap(index, k=3, min_cos=0.9)._get_replacement_words("Haus") == ["Gebäude"]


def test_lexicon_swap_recovers_case_and_gives_only_lexicon_words():
    swap = LexiconSwap({"haus": ["house", "home", "living room"]}, k=3)
    assert swap._get_replacement_words("haus") == ["house", "home"]
    assert swap._get_replacement_words("Haus") == ["House", "Home"]
    assert swap._get_replacement_words("HAUS") == ["HOUSE", "HOME"]
    assert swap._get_replacement_words("Baum") == []


@pytest.mark.parametrize("text,changed,ok", [("a b c d e", 1, True), ("a b c d e", 2, False),
                                             ("a b c d e f g h", 2, True), ("a b c d e f g h", 3, False),
                                             ("a b", 1, True), ("a b", 2, False), ("a", 1, True)])
def test_perturbation_bound_is_max_quarter_or_one_word(text, changed, ok):
    from xrobust.textattack_offline import import_textattack

    AttackedText = import_textattack().shared.AttackedText
    words = text.split()
    perturbed = " ".join(w.upper() if i < changed else w for i, w in enumerate(words))
    check = MaxShareOfWordsPerturbed(max_percent=0.25)._check_constraint
    assert check(AttackedText(perturbed), AttackedText(text)) is ok


def test_unicode_script_property():
    assert [script_of(c) for c in "aяαا中かカ한अ"] == ["Latin", "Cyrillic", "Greek", "Arabic", "Han", "Hiragana",
                                                        "Katakana", "Hangul", "Devanagari"]
    assert script_of("1") == script_of("") == script_of("😀") == "Common"
    assert script_of("ꦗ") == "Other"  # Javanese: a letter of a script not told apart
    assert word_script("Hi酒店店") == "Han" and word_script("Hotel酒店") == "Latin" and word_script("42!") == "Common"


@pytest.mark.parametrize("kwargs,name", [({"recipe": "fgsm"}, "recipe"), ({"max_perturbed": 2.0}, "max_perturbed"),
                                         ({"query_budget": 0}, "query_budget"),
                                         ({"model_batch_size": 0}, "model_batch_size")])
def test_bad_settings_name_the_parameter(kwargs, name):
    args = {"recipe": "char", **kwargs}
    with pytest.raises(ValueError, match=f"'{name}'"):
        build(args.pop("recipe"), None, "de", **args)
