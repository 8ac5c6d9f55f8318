"""Tokens of a forward: raw tokenizer strings, display labels, words, the question split.

Raw tokens are what the tokenizer produced (``##ing``, ``Ġthe``, ``▁the``); labels are
the same tokens cleaned for a figure axis; words say which tokens form one word and
how the tokenizer writes that word (``as ##pi ##rin`` -> ``aspirin``), as the
tokenizer said at tokenisation time. All are cached, so a figure can show tokens or
words without re-tokenising.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from izzyfig.words import CONTINUATION, SPACE_MARKERS, group_words, word_spans

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
    """One axis worth of tokens: ``raw`` from the tokenizer, ``labels`` for display.

    ``words`` is the word index of each token (non-decreasing from 0) and
    ``word_labels`` each word as the tokenizer writes it, both recorded when a
    tokenizer made the tokens; ``None`` where no tokenizer did (array sources, where
    the pieces' markers decide, see ``izzyfig.words``).
    """

    raw: tuple[str, ...]
    labels: tuple[str, ...]
    words: tuple[int, ...] | None = None
    word_labels: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.raw)

    def to_json(self) -> dict[str, Any]:
        return {"raw": list(self.raw), "labels": list(self.labels), "words": list(self.words or ()),
                "word_labels": list(self.word_labels or ())}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenSequence:
        raw, labels = tuple(data["raw"]), tuple(data["labels"])
        words, word_labels = tuple(data.get("words", ())), tuple(data.get("word_labels", ()))
        if len(raw) != len(labels) or not all(isinstance(t, str) for t in raw + labels + word_labels):
            raise ValueError("token lists do not match")
        if not words:
            return cls(raw, labels)
        steps = {b - a for a, b in zip(words, words[1:])}
        if len(words) != len(raw) or not all(type(w) is int for w in words) or words[0] != 0 \
                or not steps <= {0, 1} or words[-1] + 1 != len(word_labels):
            raise ValueError("word lists do not match the tokens")
        return cls(raw, labels, words, word_labels)


def token_sequence(raw: Sequence[str], decode: Callable[[list[str]], str], special: set[str],
                   word_ids: Sequence[int | None] | None = None) -> TokenSequence:
    """Tokens with labels and words, as the tokenizer that made them says.

    Parameters
    ----------
    raw : sequence of str, length n
        ``tokenizer.convert_ids_to_tokens(ids)``.
    decode
        ``tokenizer.convert_tokens_to_string``: text of a list of tokens.
    special
        The tokenizer's special tokens (kept as they are, one word each).
    word_ids : length n, optional
        Word of each token from ``encoding.word_ids()`` (``None``: by markers).
    """
    raw = tuple(raw)
    flags = [token in special for token in raw]
    texts = [decode([token]) for token in raw]
    labels = tuple(t if s else clean_label(text, t) for t, s, text in zip(raw, flags, texts))
    words = group_words(raw, special=flags, word_ids=word_ids, texts=texts)
    word_labels = tuple(
        raw[first] if flags[first] else clean_label(decode(list(raw[first:last + 1])), "".join(raw[first:last + 1]))
        for first, last in word_spans(words)
    ) if raw else ()
    return TokenSequence(raw, labels, words, word_labels)


def encoding_word_ids(encoding) -> list[int | None] | None:
    """The tokenizer's word of each token, unique across the two texts of a pair.

    ``None`` for tokenizers that do not track words (slow, pure-Python ones).
    """
    try:
        words, sequences = encoding.word_ids(), encoding.sequence_ids()
    except (ValueError, AttributeError):
        return None
    seen: dict[tuple, int] = {}
    return [None if w is None else seen.setdefault((s, w), len(seen)) for w, s in zip(words, sequences)]


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
