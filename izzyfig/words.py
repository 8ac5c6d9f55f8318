"""Word pieces -> words: which tokens make one word, and attention between words.

Subword tokenizers split rare words (MiniLM reads ``aspirin`` as ``as ##pi ##rin``).
``units: words`` in a spec, or :func:`merge_word_pieces` in Python, shows one row and
one column per word instead, following Clark et al. (2019), *What does BERT look at?
An analysis of BERT's attention*:

- attention **to** a word is the **sum** over its pieces (columns), so the attention a
  row gives stays complete;
- attention **from** a word is the **mean** over its pieces (rows), so a word's row is
  a distribution again: rows that sum to 1 still sum to 1.

For a ``(query, key)`` map ``A`` with query words ``Q_1..Q_m`` and key words
``K_1..K_n`` (contiguous token index sets),
``W[a, b] = (1 / |Q_a|) * sum_{i in Q_a} sum_{j in K_b} A[i, j]``.

Which tokens form a word comes, in order of preference, from the tokenizer's
``word_ids()`` (recorded at tokenisation time, see ``izzyfig.extract.tokens``) or from
the pieces' markers: a WordPiece ``##`` piece continues the word before it, and in
byte-level BPE (``Ġ``) or SentencePiece (``▁``) vocabularies a piece without the
space marker continues the word before it. Either way, special tokens (``[CLS]``,
``</s>``) are words of their own, and so is punctuation (``surgery,`` is two words,
as BERT splits it), even where a SentencePiece tokenizer's ``word_ids()`` keep it with
the word it is attached to.

Pure NumPy; no tokenizer, torch or matplotlib needed.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple, Sequence

import numpy as np

from izzyfig.errors import RenderError

CONTINUATION = "##"  # WordPiece: this piece continues the previous one
SPACE_MARKERS = ("Ġ", "▁")  # byte-level BPE and SentencePiece: a word starts here
BYTE_LEVEL_MARKER = "Ġ"
# [CLS], [SEP], <s>, </s>, <pad>, <|endoftext|>: what special tokens look like when
# the tokenizer is not at hand to say which tokens are special.
SPECIAL_PATTERN = re.compile(r"\[[A-Za-z_]+\]|</?[A-Za-z_]+>|<\|[A-Za-z_]+\|>")


class WordMerge(NamedTuple):
    """A map in word units: ``matrix`` is ``(..., query words, key words)``."""

    matrix: np.ndarray
    rows: tuple[str, ...]
    cols: tuple[str, ...]


# ----------------------------------------------------------------------------- pieces
def piece_text(token: str) -> str:
    """A piece without its subword marker: ``##pi`` -> ``pi``, ``Ġthe`` -> ``the``."""
    if token.startswith(CONTINUATION) and len(token) > len(CONTINUATION):
        token = token[len(CONTINUATION):]
    for marker in SPACE_MARKERS:
        token = token.replace(marker, "")
    return token


def is_punctuation(text: str, *, byte_level: bool = False) -> bool:
    """Whether ``text`` is only punctuation, as BERT's basic tokenizer counts it.

    A character is punctuation if it is ASCII and neither a letter, a digit nor a
    space (``$``, ``+`` and ``'`` included), or if its Unicode category is ``P*``.
    With ``byte_level``, characters above ASCII stand for bytes of a longer UTF-8
    character (GPT-2's byte alphabet), never for punctuation.
    """
    text = text.strip()
    if not text:
        return False
    for char in text:
        if ord(char) < 128:
            if char.isalnum() or not char.isprintable():
                return False
        elif byte_level or not unicodedata.category(char).startswith("P"):
            return False
    return True


def looks_special(token: str) -> bool:
    """``[CLS]``, ``<s>``, ``<|endoftext|>``: a special token by its spelling."""
    return SPECIAL_PATTERN.fullmatch(token) is not None


# ----------------------------------------------------------------------------- grouping
def group_words(
    tokens: Sequence[str],
    *,
    special: Sequence[bool] | None = None,
    word_ids: Sequence[int | None] | None = None,
    texts: Sequence[str] | None = None,
) -> tuple[int, ...]:
    """The word index of every token: contiguous, starting at 0.

    Parameters
    ----------
    tokens : sequence of str, length n
        The tokens as the tokenizer produced them (``as``, ``##pi``, ``Ġthe``).
    special : sequence of bool, length n, optional
        Which tokens are special; default: those spelt like ``[CLS]`` or ``</s>``.
    word_ids : sequence of int or None, length n, optional
        The tokenizer's word of each token (``encoding.word_ids()``; ``None`` for
        special tokens). Without it, the pieces' markers decide.
    texts : sequence of str, length n, optional
        Each token decoded alone, to tell punctuation; default: the token without
        its marker.

    Returns
    -------
    tuple of int, length n
        Non-decreasing word indices; token ``i`` starts a word when its index is
        greater than token ``i - 1``'s.
    """
    tokens = list(tokens)
    if not tokens:
        return ()
    special = [looks_special(t) for t in tokens] if special is None else list(special)
    byte_level = texts is None and any(t.startswith(BYTE_LEVEL_MARKER) for t in tokens)
    texts = [piece_text(t) for t in tokens] if texts is None else list(texts)
    punct = [not s and is_punctuation(x, byte_level=byte_level) for s, x in zip(special, texts)]
    spaced = any(t.startswith(SPACE_MARKERS) for t, s in zip(tokens, special) if not s)
    words, index = [0], 0
    for i in range(1, len(tokens)):
        if word_ids is not None:
            same = word_ids[i] is not None and word_ids[i] == word_ids[i - 1]
        else:
            same = _continues(tokens[i], spaced)
        if special[i] or special[i - 1] or punct[i - 1] or not same:
            starts = True
        else:
            starts = punct[i] and tokens[i - 1] not in SPACE_MARKERS
        index += starts
        words.append(index)
    return tuple(words)


def _continues(token: str, spaced: bool) -> bool:
    """Marker rule: does ``token`` continue the word before it?"""
    if spaced:
        return not token.startswith(SPACE_MARKERS)
    return token.startswith(CONTINUATION) and len(token) > len(CONTINUATION)


def word_spans(words: Sequence[int]) -> list[tuple[int, int]]:
    """``(first, last)`` token index of each word, from per-token word indices."""
    starts = _starts(words).tolist()
    ends = [*(s - 1 for s in starts[1:]), len(words) - 1]
    return list(zip(starts, ends))


def _starts(words: Sequence[int]) -> np.ndarray:
    groups = np.asarray(words, dtype=np.int64)
    if groups.ndim != 1 or groups.size == 0 or groups[0] != 0 or not np.isin(np.diff(groups), (0, 1)).all():
        raise RenderError("word indices must start at 0 and grow by 0 or 1 from token to token")
    return np.flatnonzero(np.diff(groups, prepend=-1))


def join_pieces(pieces: Sequence[str], *, byte_level: bool = False) -> str:
    """A word's label from its pieces alone: markers dropped (and GPT-2's byte
    alphabet decoded with ``byte_level``); the pieces themselves if nothing is left."""
    text = "".join(piece_text(p) for p in pieces)
    if byte_level:
        text = _byte_level_decode(text) or text
    return text or "".join(pieces)


def _byte_level_decode(text: str) -> str | None:
    """GPT-2's byte alphabet back to UTF-8, or ``None`` if ``text`` is not in it."""
    table = _byte_alphabet()
    if not all(char in table for char in text):
        return None
    raw = bytes(table[char] for char in text)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


@lru_cache(maxsize=1)
def _byte_alphabet() -> dict[str, int]:
    """GPT-2's byte alphabet: the printable character that stands for each byte.

    Printable Latin-1 bytes stand for themselves; the others, in order, for
    ``chr(256)``, ``chr(257)``, ... (so a space is ``Ġ``, ``chr(256 + 32)``).
    """
    kept = {*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)}
    table, extra = {}, 0
    for byte in range(256):
        if byte in kept:
            table[chr(byte)] = byte
        else:
            table[chr(256 + extra)] = byte
            extra += 1
    return table


def word_labels(tokens: Sequence[str], words: Sequence[int], special: Sequence[bool] | None = None) -> tuple[str, ...]:
    """One label per word from the pieces alone (special tokens keep their spelling)."""
    special = [looks_special(t) for t in tokens] if special is None else list(special)
    byte_level = any(t.startswith(BYTE_LEVEL_MARKER) for t in tokens)
    labels = []
    for first, last in word_spans(words):
        pieces = list(tokens[first:last + 1])
        labels.append(pieces[0] if special[first] else join_pieces(pieces, byte_level=byte_level))
    return tuple(labels)


# ----------------------------------------------------------------------------- merging
def merge_groups(matrix, rows: Sequence[int], cols: Sequence[int]) -> np.ndarray:
    """Attention between words: sum over a word's columns, mean over its rows.

    Parameters
    ----------
    matrix : array-like, shape (..., query, key)
        One map or a stack of maps (runs, steps, heads...).
    rows : sequence of int, length query
        Word index of each query token (see :func:`group_words`).
    cols : sequence of int, length key
        Word index of each key token.

    Returns
    -------
    ndarray, float64, shape (..., query words, key words)
        ``W[a, b] = mean_{i in word a} sum_{j in word b} A[i, j]``.
    """
    data = np.asarray(matrix, dtype=np.float64)
    if data.ndim < 2 or data.shape[-2:] != (len(rows), len(cols)):
        raise RenderError(f"a map of shape {data.shape} does not match {len(rows)} query and "
                          f"{len(cols)} key tokens")
    row_starts, col_starts = _starts(rows), _starts(cols)
    summed = np.add.reduceat(data, col_starts, axis=-1)
    counts = np.diff(np.append(row_starts, len(rows)))
    return np.add.reduceat(summed, row_starts, axis=-2) / counts[:, None]


def merge_word_pieces(matrix, tokens: Sequence[str], key_tokens: Sequence[str] | None = None) -> WordMerge:
    """Merge a map over word pieces into a map over words (Clark et al., 2019).

    Attention to a word is the sum over its pieces, attention from a word the mean
    over its pieces; rows that summed to 1 still do. Words are told by the pieces'
    markers (``##``, ``Ġ``, ``▁``); special tokens and punctuation are words of
    their own.

    Parameters
    ----------
    matrix : array-like, shape (..., query, key)
        Attention of query tokens (rows) to key tokens (columns); NumPy or a CPU tensor.
    tokens : sequence of str, length query
        Query tokens as the tokenizer wrote them (``convert_ids_to_tokens``).
    key_tokens : sequence of str, length key, optional
        Key tokens, for cross-attention; default ``tokens``.

    Returns
    -------
    WordMerge
        ``(matrix, rows, cols)``: the ``(..., query words, key words)`` map (float64)
        and the word labels of its rows and columns.

    Examples
    --------
    >>> merged, words, _ = merge_word_pieces(attention, ["[CLS]", "as", "##pi", "##rin", "[SEP]"])
    >>> words
    ('[CLS]', 'aspirin', '[SEP]')
    """
    key_tokens = tokens if key_tokens is None else key_tokens
    rows, cols = group_words(tokens), group_words(key_tokens)
    merged = merge_groups(matrix, rows, cols)
    return WordMerge(merged, word_labels(tokens, rows), word_labels(key_tokens, cols))
