"""Word pieces -> words without a tokenizer: grouping by markers, labels, and the merge."""
from __future__ import annotations

import numpy as np
import pytest

from izzyfig.errors import RenderError
from izzyfig.words import group_words, is_punctuation, merge_groups, merge_word_pieces, word_labels


def naive_merge(matrix: np.ndarray, rows: list[int], cols: list[int]) -> np.ndarray:
    """Sum over each key word's columns, mean over each query word's rows, by loops."""
    out = np.zeros((max(rows) + 1, max(cols) + 1))
    for a in range(out.shape[0]):
        members = [i for i, w in enumerate(rows) if w == a]
        for b in range(out.shape[1]):
            out[a, b] = sum(matrix[i, j] for i in members for j, w in enumerate(cols) if w == b) / len(members)
    return out


def softmax(rng: np.random.Generator, *shape: int) -> np.ndarray:
    logits = rng.normal(size=shape)
    return np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)


@pytest.mark.parametrize(
    ("tokens", "words"),
    [
        # WordPiece: ## continues; punctuation and specials are words of their own
        (["[CLS]", "as", "##pi", "##rin", "reduces", "surgery", ",", "it", "[SEP]"],
         ["[CLS]", "aspirin", "reduces", "surgery", ",", "it", "[SEP]"]),
        # byte-level BPE: a piece without Ġ continues; GPT-2's bytes decode to UTF-8
        (["<|endoftext|>", "The", "Ġasp", "irin", "Ġna", "Ã¯", "ve", ",", "Ġ(", "a", ")"],
         ["<|endoftext|>", "The", "aspirin", "naïve", ",", "(", "a", ")"]),
        # SentencePiece: a bare ▁ starts a word that its next piece continues
        (["▁", "the", "▁asp", "irin", "▁sur", "gery", ".", "</s>"], ["the", "aspirin", "surgery", ".", "</s>"]),
    ],
    ids=["wordpiece", "byte-level", "sentencepiece"],
)
def test_words_by_markers(tokens, words):
    groups = group_words(tokens)
    assert word_labels(tokens, groups) == tuple(words)


def test_tokenizer_word_ids_win_over_markers_but_punctuation_stays_apart():
    # A SentencePiece tokenizer's word_ids() keep "surgery," together; izzyfig splits the comma.
    tokens = ["▁sur", "gery", ",", "▁don", "'", "t", "</s>"]
    ids = [0, 0, 0, 1, 1, 1, None]
    assert group_words(tokens, word_ids=ids) == (0, 0, 1, 2, 3, 4, 5)
    # Without word_ids, the same pieces by markers: "'" and "t" are apart too.
    assert group_words(tokens) == (0, 0, 1, 2, 3, 4, 5)
    # word_ids can split what markers would join (GPT-2 pre-tokenises "'t" apart).
    assert group_words(["Ġdon", "'t"], word_ids=[0, 1]) == (0, 1)
    assert group_words(["Ġdon", "'t"]) == (0, 0)


def test_punctuation_is_bert_punctuation():
    assert is_punctuation(",") and is_punctuation("$") and is_punctuation("«»") and is_punctuation("...")
    assert not is_punctuation("a,") and not is_punctuation("") and not is_punctuation("€")
    # In GPT-2's byte alphabet, '·' is the byte 0xB7 of a longer character, not punctuation.
    assert is_punctuation("·") and not is_punctuation("·", byte_level=True)


def test_merge_matches_a_naive_loop_and_keeps_rows_summing_to_one():
    rng = np.random.default_rng(0)
    rows, cols = [0, 0, 1, 2, 2, 2, 3], [0, 1, 1, 2, 3]
    matrix = softmax(rng, len(rows), len(cols))
    merged = merge_groups(matrix, rows, cols)
    np.testing.assert_allclose(merged, naive_merge(matrix, rows, cols), rtol=0, atol=1e-15)
    np.testing.assert_allclose(merged.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    stack = softmax(rng, 3, len(rows), len(cols))  # leading axes (runs, steps) merge map by map
    np.testing.assert_allclose(merge_groups(stack, rows, cols)[2], naive_merge(stack[2], rows, cols), atol=1e-15)


def test_merge_word_pieces_api():
    tokens = ["[CLS]", "as", "##pi", "##rin", "works", "[SEP]"]
    matrix = softmax(np.random.default_rng(1), 6, 6)
    merged, rows, cols = merge_word_pieces(matrix, tokens)
    assert rows == cols == ("[CLS]", "aspirin", "works", "[SEP]")
    assert merged.shape == (4, 4)
    assert merged[1, 1] == pytest.approx(matrix[1:4, 1:4].sum(axis=1).mean())
    # cross-attention: decoder rows, encoder columns
    cross = softmax(np.random.default_rng(2), 3, 6)
    merged, rows, cols = merge_word_pieces(cross, ["<pad>", "▁asp", "irin"], key_tokens=tokens)
    assert (merged.shape, rows) == ((2, 4), ("<pad>", "aspirin"))
    np.testing.assert_allclose(merged.sum(axis=-1), 1.0, atol=1e-12)


def test_merge_refuses_tokens_that_do_not_match_the_map():
    with pytest.raises(RenderError, match=r"^a map of shape \(3, 3\) does not match 2 query and 2 key tokens$"):
        merge_word_pieces(np.eye(3), ["a", "b"])
    with pytest.raises(RenderError, match="^word indices must start at 0 and grow by 0 or 1 from token to token$"):
        merge_groups(np.eye(3), [0, 2, 2], [0, 1, 2])
