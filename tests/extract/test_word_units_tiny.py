"""Word units on byte-level BPE (Ġ) and SentencePiece-style (▁) tokenizers, head aggregates
everywhere, and the same merge on every map of comparison/stability/evolution figures."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from izzyfig.errors import SpecError
from izzyfig.extract import AttentionStore
from izzyfig.words import merge_groups  # equals a naive loop (test_words.py)

# Pieces the tiny tokenizers know, each with and without the word-start marker.
PIECES = ["the", "asp", "irin", "reduces", "risk", "after", "sur", "gery", "don", "'t", "it", "na", "ve",
          ",", ".", "?"]
TEXT = "the aspirin reduces risk after surgery, don't it? naïve"


def bpe_tokenizer(marker: str):
    """A BPE tokenizer whose merges spell exactly ``PIECES`` (with ``marker`` in front or not).

    ``Ġ``: GPT-2's byte-level BPE; ``▁``: SentencePiece's Metaspace, as Llama and T5 mark words.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = [marker + piece for piece in PIECES] + PIECES
    merges = list(dict.fromkeys((w[:i - 1], w[i - 1]) for w in words for i in range(2, len(w) + 1)))
    if marker == "Ġ":
        alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    else:
        alphabet = sorted(set("".join(words)) | set("abcdefghijklmnopqrstuvwxyzï"))
    specials = ["<pad>", "</s>", "<unk>"]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(specials + alphabet + ["".join(m) for m in merges]))}
    backend = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>"))
    if marker == "Ġ":
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = decoders.ByteLevel()
    else:
        backend.pre_tokenizer = pre_tokenizers.Metaspace()
        backend.decoder = decoders.Metaspace()
        backend.post_processor = processors.TemplateProcessing(
            single="$A </s>", special_tokens=[("</s>", vocab["</s>"])])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", eos_token="</s>",
                                        unk_token="<unk>", model_input_names=["input_ids", "attention_mask"])
    return tokenizer, len(vocab)


@pytest.fixture(scope="module")
def gpt2_bpe_dir(tmp_path_factory) -> Path:
    import torch
    from transformers import GPT2Config, GPT2Model

    tokenizer, size = bpe_tokenizer("Ġ")
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=size, n_embd=16, n_layer=2, n_head=4, n_positions=64, bos_token_id=1,
                        eos_token_id=1, initializer_range=0.5)
    folder = tmp_path_factory.mktemp("gpt2-bpe")
    GPT2Model(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def t5_spm_dir(tmp_path_factory) -> Path:
    import torch
    from transformers import T5Config, T5Model

    tokenizer, size = bpe_tokenizer("▁")
    torch.manual_seed(0)
    config = T5Config(vocab_size=size, d_model=16, d_kv=4, d_ff=32, num_layers=2, num_decoder_layers=2,
                      num_heads=4, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, initializer_factor=5.0)
    folder = tmp_path_factory.mktemp("t5-spm")
    T5Model(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_byte_level_pieces_merge_into_words(build, gpt2_bpe_dir):
    plan, store, _ = build(f"""
        version: 1
        defaults: {{model: {gpt2_bpe_dir}, text: "{TEXT}", layer: 1, head: 2}}
        figures:
          tokens: {{kind: self-attention}}
          words: {{kind: self-attention, units: words, boxes: [{{tokens: [aspirin, surgery]}}]}}
          boxed: {{kind: self-attention, boxes: [{{tokens: [aspirin, surgery]}}, {{tokens: [naïve, naïve]}}]}}
    """)
    tokens, words, boxed = (store.figure_data(job) for job in plan.figures)
    assert tokens.raw_x_tokens == ("the", "Ġasp", "irin", "Ġreduces", "Ġrisk", "Ġafter", "Ġsur", "gery", ",",
                                   "Ġdon", "'t", "Ġit", "?", "Ġna", "Ã", "¯", "ve")
    # GPT-2's pre-tokenizer makes "'t" a word of its own; the split UTF-8 of "ï" is one word again
    assert words.x_labels == ("the", "aspirin", "reduces", "risk", "after", "surgery", ",", "don", "'t", "it",
                              "?", "naïve")
    rows = [0, 1, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10, 11, 11, 11, 11]
    np.testing.assert_allclose(words.matrices[0], merge_groups(tokens.matrices[0], rows, rows), atol=1e-12)
    assert np.abs(words.matrices[0].sum(axis=-1) - 1).max() < 1e-6
    assert words.boxes == ((1, 1, 5, 5),)
    assert boxed.boxes == ((1, 1, 7, 7), (13, 13, 16, 16))


def test_cross_attention_words_have_decoder_rows_and_encoder_columns(build, t5_spm_dir):
    plan, store, _ = build(f"""
        version: 1
        defaults: {{model: {t5_spm_dir}, source: "{TEXT}", target: "surgery, naïve aspirin", layer: 1}}
        figures:
          tokens: {{kind: cross-attention, head: 0}}
          words: {{kind: cross-attention, head: 0, units: words, window: {{cols: [aspirin, surgery]}},
                   boxes: [{{row_tokens: [aspirin, aspirin], col_tokens: [surgery, surgery]}}]}}
    """)
    tokens, words = (store.figure_data(job) for job in plan.figures)
    assert tokens.raw_y_tokens == ("<pad>", "▁sur", "gery", ",", "▁na", "ï", "ve", "▁asp", "irin")
    assert tokens.raw_x_tokens[:4] == ("▁the", "▁asp", "irin", "▁reduces")
    assert words.y_labels == ("<pad>", "surgery", ",", "naïve", "aspirin")
    assert words.x_labels == ("aspirin", "reduces", "risk", "after", "surgery")  # the window of the columns
    source = [0, 1, 1, 2, 3, 4, 5, 5, 6, 7, 7, 8, 9, 10, 10, 10, 11]  # "surgery," and "it?" split at punctuation
    target = [0, 1, 1, 2, 3, 3, 3, 4, 4]
    np.testing.assert_allclose(words.matrices[0], merge_groups(tokens.matrices[0], target, source)[:, 1:6], atol=1e-12)
    assert words.boxes == ((4, 4, 4, 4),)


def test_head_max_of_a_kv_group_and_of_an_array(build, llama_dir, tmp_path):
    rng = np.random.default_rng(0)
    array = rng.random((2, 4, 5, 5))
    array /= array.sum(axis=-1, keepdims=True)  # attention rows sum to 1 (else: a data warning)
    np.save(tmp_path / "maps.npy", array)
    plan, store, _ = build(f"""
        version: 1
        defaults: {{text: "the quick brown fox", layer: 0}}
        figures:
          group_max: {{kind: self-attention, model: {llama_dir}, kv_group: 1, head: max}}
          group_mean: {{kind: self-attention, model: {llama_dir}, kv_group: 1}}
          array_max: {{kind: self-attention, array: {{path: maps.npy, layout: layers heads query key}}, head: max}}
          array_mean: {{kind: regions, array: {{path: maps.npy, layout: layers heads query key}}, head: mean}}
    """)
    group_max, group_mean, array_max, array_mean = (store.figure_data(job) for job in plan.figures)
    maps = store.cache.load(plan.forwards[0].key, "self", 0)  # 4 query heads, 2 per key/value head
    np.testing.assert_array_equal(group_max.matrices[0], maps[2:4].max(axis=0))
    np.testing.assert_array_equal(group_mean.matrices[0], maps[2:4].mean(axis=0))
    np.testing.assert_array_equal(array_max.matrices[0], array[0].max(axis=0))
    np.testing.assert_array_equal(array_mean.matrices[0], array[0].mean(axis=0))


def test_every_map_of_a_figure_gets_the_same_merge_and_window(build, tmp_path):
    tokens = ["[CLS]", "as", "##pi", "##rin", "works", ",", "[SEP]"]  # an array's tokens: merged by markers
    rng = np.random.default_rng(3)
    runs = rng.random((3, 2, 7, 7))
    runs /= runs.sum(axis=-1, keepdims=True)
    np.save(tmp_path / "runs.npy", runs)
    words = [0, 1, 1, 1, 2, 3, 4]
    plan, store, _ = build(f"""
        version: 1
        defaults: {{tokens: {tokens}, units: words, window: {{rows: [aspirin, ","], cols: [aspirin, ","]}}}}
        figures:
          stable: {{kind: stability, array: {{path: runs.npy, layout: runs heads query key}}, head: max}}
          evolve: {{kind: evolution, array: {{path: runs.npy, layout: steps heads query key}}, head: 1}}
          regions: {{kind: regions, array: {{path: runs.npy, layout: batch heads query key}}}}
          compare:
            kind: comparison
            array: {{path: runs.npy, layout: batch heads query key}}
            a: {{head: 0}}
            b: {{head: max}}
    """)
    stable, evolve, regions, compare = (store.figure_data(job) for job in plan.figures)
    assert stable.x_labels == stable.y_labels == compare.x_labels == ("aspirin", "works", ",")

    def shown(matrix):  # words aspirin..",": cells 1-3 of the merged map
        return merge_groups(matrix, words, words)[1:4, 1:4]

    np.testing.assert_allclose(stable.matrices[0], [shown(run.max(axis=0)) for run in runs], atol=1e-12)
    np.testing.assert_allclose(evolve.matrices[0], [shown(run[1]) for run in runs], atol=1e-12)
    np.testing.assert_allclose(regions.matrices[0], shown(runs[0].mean(axis=0)), atol=1e-12)
    np.testing.assert_allclose(compare.matrices[0], shown(runs[0, 0]), atol=1e-12)
    np.testing.assert_allclose(compare.matrices[1], shown(runs[0].max(axis=0)), atol=1e-12)


def test_comparison_sides_are_merged_alike(build, gpt2_bpe_dir):
    plan, store, _ = build(f"""
        version: 1
        defaults: {{model: {gpt2_bpe_dir}, text: "{TEXT}", units: words}}
        figures:
          compare: {{kind: comparison, a: {{layer: 0, head: max}}, b: {{layer: 1, head: mean}}}}
          layer0: {{kind: self-attention, layer: 0, head: max}}
          layer1: {{kind: self-attention, layer: 1, head: mean}}
    """)
    compare, layer0, layer1 = (store.figure_data(job) for job in plan.figures)
    np.testing.assert_array_equal(compare.matrices[0], layer0.matrices[0])
    np.testing.assert_array_equal(compare.matrices[1], layer1.matrices[0])
    assert compare.matrices[0].shape == (12, 12)


def test_cached_words_need_no_tokenizer(tmp_path, make_plan, gpt2_bpe_dir):
    text = f"""
        version: 1
        figures:
          f: {{kind: self-attention, model: {gpt2_bpe_dir}, text: "{TEXT}", units: words}}
    """
    plan = make_plan(text)
    first = AttentionStore(tmp_path / "cache")
    first.prepare(plan)
    again = AttentionStore(tmp_path / "cache")
    stats = again.prepare(plan)
    data = again.figure_data(plan.figures[0])
    assert stats.forwards_run == 0 and again._runner is None  # no tokenizer was loaded
    # the tokenizer's words, from the cache: by markers alone "Ġdon 't" would be one word
    assert data.x_labels[7:9] == ("don", "'t") and data.x_labels[-1] == "naïve"


def test_an_arrays_question_split_moves_to_word_cells_and_must_fall_between_words(build, make_plan, tmp_path):
    tokens = ["[CLS]", "is", "as", "##pi", "##rin", "safe", "[SEP]", "as", "##pi", "##rin", "works", "[SEP]"]
    maps = np.full((12, 12), 1 / 12)
    np.save(tmp_path / "pair.npy", maps)
    figure = f"{{kind: question-context, array: {{path: pair.npy}}, tokens: {tokens}, units: words"
    plan, store, _ = build(f"""
        version: 1
        figures:
          qc: {figure}, question_end: 7}}
          window: {figure}, question_end: 7, window: {{rows: [safe, aspirin]}}}}
    """)
    qc, window = (store.figure_data(job) for job in plan.figures)
    assert qc.x_labels == ("[CLS]", "is", "aspirin", "safe", "[SEP]", "aspirin", "works", "[SEP]")
    assert qc.question_end == 5
    assert (window.x_labels, window.question_end) == (("safe", "[SEP]", "aspirin"), 2)
    np.testing.assert_allclose(qc.matrices[0].sum(axis=-1), 1.0, atol=1e-12)
    plan = make_plan(f"""
        version: 1
        figures:
          qc: {figure}, question_end: 3}}
    """)
    with pytest.raises(SpecError) as caught:
        AttentionStore(tmp_path / "cache").prepare(plan)
    assert str(caught.value) == (f"{tmp_path / 'spec.yaml'}:4:3: figures.qc.question_end: 3 splits the word "
                                 "'aspirin' (tokens 2-4); in word units the split must fall between words")
