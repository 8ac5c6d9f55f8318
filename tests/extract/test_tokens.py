"""Display labels of tokens: subword markers removed, whitespace made visible."""
from __future__ import annotations

import pytest

from izzyfig.extract.tokens import TokenizedInput, TokenSequence, clean_label


@pytest.mark.parametrize(
    ("decoded", "raw", "label"),
    [
        ("##zzle", "##zzle", "zzle"),  # WordPiece continuation
        (" the", "Ġthe", "the"),  # byte-level BPE, decoded by the tokenizer
        ("Ġthe", "Ġthe", "the"),  # byte-level BPE, undecoded
        ("▁the", "▁the", "the"),  # SentencePiece
        ("\n", "Ċ", "\\n"),  # a newline stays visible
        (" ", "Ġ", "␣"),
        ("\ufffd", "Ã", "Ã"),  # half a UTF-8 character: show the raw piece
        ("##", "##", "##"),
        ("[CLS]", "[CLS]", "[CLS]"),
    ],
)
def test_clean_label(decoded, raw, label):
    assert clean_label(decoded, raw) == label


def test_tokens_round_trip_and_axes():
    source = TokenSequence(("a", "b"), ("a", "b"))
    target = TokenSequence(("<s>", "x", "y"), ("<s>", "x", "y"))
    tokens = TokenizedInput(source, target, None)
    assert TokenizedInput.from_json(tokens.to_json()) == tokens
    assert tokens.axes("cross") == (target, source)
    assert tokens.axes("decoder") == (target, target)
    assert tokens.axes("encoder") == (source, source)
    with pytest.raises(ValueError):
        TokenSequence.from_json({"raw": ["a"], "labels": []})
