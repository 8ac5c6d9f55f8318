"""The cells of one figure axis: tokens or words, a window of them, and the names that reach them.

A figure shows one cell per token (``units: tokens``) or per word (``units: words``,
pieces merged as ``izzyfig.words`` describes), possibly only a window of them. Token
boxes and window bounds name cells by strings; ``CellAxis.names`` lists every string
that names cells, with the cells it covers, so both resolve the same way in both
units: a whole word (``aspirin``) covers its pieces ``as ##pi ##rin`` in token units
and its one cell in word units; a piece (``##pi``) names its own cell in token units
and its word's cell in word units.
"""
from __future__ import annotations

from dataclasses import dataclass

from izzyfig.extract.tokens import TokenSequence
from izzyfig.words import group_words, looks_special, word_labels, word_spans

Span = tuple[int, int]  # first and last cell (or token), inclusive
LIST_PREVIEW = 12


class SpanProblem(Exception):
    """A name or range that does not resolve on an axis; the message says why."""


@dataclass(frozen=True)
class CellAxis:
    """One axis of a figure in its units, after its window.

    Attributes
    ----------
    cells
        What each shown cell is: ``raw`` as the model sees it (a word cell: its pieces
        joined by spaces, ``as ##pi ##rin``) and ``labels`` as the figure shows it.
    names
        ``(name, first, last)``: each string that names shown cells, in cell order.
    pieces
        ``(first, last)`` model token of each shown cell.
    tokens
        The model's tokens of the whole axis (messages list them as the model sees them).
    words
        Word index of each model token when the units are words (what to merge), else ``None``.
    start
        Index of the first shown cell among all cells of the axis (the window's offset).
    windowed
        Whether a window cut this axis.
    """

    cells: TokenSequence
    names: tuple[tuple[str, int, int], ...]
    pieces: tuple[Span, ...]
    tokens: tuple[str, ...]
    words: tuple[int, ...] | None = None
    start: int = 0
    windowed: bool = False

    def __len__(self) -> int:
        return len(self.cells)

    @property
    def shown_tokens(self) -> tuple[str, ...]:
        """The model tokens under the shown cells."""
        return self.tokens[self.pieces[0][0]:self.pieces[-1][1] + 1] if self.pieces else ()

    def hits(self, name: str) -> list[Span]:
        """The cell spans that ``name`` names, in order along the axis."""
        return [(first, last) for known, first, last in self.names if known == name]

    def window(self, first: int, last: int) -> CellAxis:
        """Only cells ``first..last`` (inclusive), renumbered from 0."""
        names = tuple((name, max(f, first) - first, min(l, last) - first)
                      for name, f, l in self.names if f <= last and l >= first)
        cells = TokenSequence(self.cells.raw[first:last + 1], self.cells.labels[first:last + 1])
        return CellAxis(cells, names, self.pieces[first:last + 1], self.tokens, self.words, self.start + first,
                        windowed=True)


def cell_axis(seq: TokenSequence, units: str) -> CellAxis:
    """The whole axis of ``seq`` in ``units`` (``"tokens"`` or ``"words"``).

    Words come from the tokenizer (recorded in ``seq``) or, for tokens a tokenizer did
    not make here (array sources), from the pieces' markers. A word's label is the
    tokenizer's spelling, or its pieces' labels joined when the spec gave labels.
    """
    words = seq.words if seq.words is not None else group_words(seq.raw)
    spans = word_spans(words) if len(seq) else []
    labels = seq.word_labels if seq.word_labels is not None else _joined_labels(seq, words)
    if units == "words":
        return _word_axis(seq, words, spans, labels)
    names = [(name, i, i) for i, token in enumerate(zip(seq.raw, seq.labels)) for name in token]
    names += [(label, first, last) for label, (first, last) in zip(labels, spans)]
    pieces = tuple((i, i) for i in range(len(seq)))
    return CellAxis(seq, _ordered(names), pieces, seq.raw)


def _word_axis(seq: TokenSequence, words, spans: list[Span], labels) -> CellAxis:
    names = []
    for cell, (label, (first, last)) in enumerate(zip(labels, spans)):
        names.append((label, cell, cell))
        names += [(name, cell, cell) for i in range(first, last + 1) for name in (seq.raw[i], seq.labels[i])]
    raw = tuple(" ".join(seq.raw[first:last + 1]) for first, last in spans)
    return CellAxis(TokenSequence(raw, tuple(labels)), _ordered(names), tuple(spans), seq.raw, tuple(words))


def _joined_labels(seq: TokenSequence, words) -> tuple[str, ...]:
    """Word labels from the token labels (spec labels, or an array's tokens)."""
    special = [looks_special(token) for token in seq.raw]
    return word_labels(seq.labels, words, special) if len(seq) else ()


def _ordered(names) -> tuple[tuple[str, int, int], ...]:
    unique = dict.fromkeys(names)
    return tuple(sorted(unique, key=lambda item: (item[1], item[2])))


# ----------------------------------------------------------------------------- spans
def name_span(pair: tuple, axis: CellAxis, occurrence: str, what: str) -> Span:
    """First and last cell of a span named by two strings, in order along the axis.

    ``what`` names the axis in messages (``row``, ``column``). The span runs from the
    first cell of ``pair[0]`` to the last cell of ``pair[1]``; ``occurrence`` picks
    the first such span, or the last.
    """
    start_name, end_name = pair
    starts, ends = hits_of(start_name, axis, what), hits_of(end_name, axis, what)
    if occurrence == "first":
        start = starts[0][0]
        end = next((last for first, last in ends if first >= start), None)
    else:
        end = ends[-1][1]
        start = next((first for first, last in reversed(starts) if last <= end), None)
    if start is None or end is None:
        raise SpanProblem(f"no {what} token '{end_name}' at or after '{start_name}'")
    return start, end


def hits_of(name: str, axis: CellAxis, what: str) -> list[Span]:
    """``axis.hits(name)``; a problem listing the axis' tokens if there are none."""
    hits = axis.hits(name)
    if not hits:
        where = " in the window" if axis.windowed else ""
        raise SpanProblem(f"token '{name}' is not among the {what} tokens{where} ({preview(axis.shown_tokens)})")
    return hits


def preview(tokens: tuple[str, ...]) -> str:
    shown = ", ".join(tokens[:LIST_PREVIEW])
    return shown + (", ..." if len(tokens) > LIST_PREVIEW else "")
