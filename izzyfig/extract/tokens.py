"""Tokens of a forward: raw tokenizer strings, display labels, and the question split.

Raw tokens are what the tokenizer produced (``##ing``, ``Ġthe``, ``▁the``); labels are
the same tokens cleaned for a figure axis. Both are cached, so a figure can show
either without re-tokenising.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Subword markers: WordPiece continuation, byte-level BPE space, SentencePiece space.
CONTINUATION = "##"
SPACE_MARKERS = ("Ġ", "▁")
VISIBLE_WHITESPACE = {"\n": "\\n", "\t": "\\t", "\r": "\\r", " ": "␣"}


def clean_label(text: str, raw: str) -> str:
    """Display form of one token.

    Parameters
    ----------
    text
        The token as its tokenizer decodes it alone (may still carry markers).
    raw
        The raw token string, used when decoding gives nothing printable.
    """
    if "\ufffd" in text:  # a byte-level piece of a multi-byte character
        text = raw
    if text.startswith(CONTINUATION) and len(text) > len(CONTINUATION):
        text = text[len(CONTINUATION):]
    for marker in SPACE_MARKERS:
        text = text.replace(marker, " ")
    stripped = text.strip()
    if stripped:
        return stripped
    return "".join(VISIBLE_WHITESPACE.get(ch, ch) for ch in text) or raw


@dataclass(frozen=True)
class TokenSequence:
    """One axis worth of tokens: ``raw`` from the tokenizer, ``labels`` for display."""

    raw: tuple[str, ...]
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.raw)

    def to_json(self) -> dict[str, list[str]]:
        return {"raw": list(self.raw), "labels": list(self.labels)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenSequence:
        raw, labels = tuple(data["raw"]), tuple(data["labels"])
        if len(raw) != len(labels) or not all(isinstance(t, str) for t in raw + labels):
            raise ValueError("token lists do not match")
        return cls(raw, labels)


@dataclass(frozen=True)
class TokenizedInput:
    """The tokens of one forward.

    ``input`` is the text, pair or encoder source; ``decoder`` the teacher-forced
    decoder input of an encoder-decoder (its rows); ``question_end`` the index of the
    first context token of a text pair.
    """

    input: TokenSequence
    decoder: TokenSequence | None = None
    question_end: int | None = None

    def axes(self, attention: str) -> tuple[TokenSequence, TokenSequence]:
        """``(rows, columns)`` of an attention map: who attends, and to whom."""
        if attention == "decoder":
            return self.decoder, self.decoder
        if attention == "cross":
            return self.decoder, self.input
        return self.input, self.input

    def to_json(self) -> dict[str, Any]:
        return {
            "input": self.input.to_json(),
            "decoder": self.decoder.to_json() if self.decoder else None,
            "question_end": self.question_end,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenizedInput:
        decoder = data.get("decoder")
        return cls(
            TokenSequence.from_json(data["input"]),
            TokenSequence.from_json(decoder) if decoder else None,
            data.get("question_end"),
        )
