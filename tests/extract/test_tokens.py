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


def test_thread_count_follows_idle_cores(monkeypatch):
    from izzyfig.extract import runner

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(runner.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(runner.os, "getloadavg", lambda: (5.2, 0.0, 0.0))
    assert runner.thread_count(4) == 2
    monkeypatch.setattr(runner.os, "getloadavg", lambda: (12.0, 0.0, 0.0))
    assert runner.thread_count(4) == 1
    monkeypatch.setattr(runner.os, "getloadavg", lambda: (0.1, 0.0, 0.0))
    assert runner.thread_count(4) == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert runner.thread_count(3) == 3
