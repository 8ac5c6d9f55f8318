"""A figure's axes once its tokens are known: units, window, labels, boxes, and their checks.

Tokens (with the spec's labels) -> units (tokens, or words merged from pieces) ->
window -> boxes: each step works on the cells of the one before, so boxes and
detected regions are in the coordinates of what is drawn. Everything here is pure
and positioned: each check returns ``SpecProblem`` objects pointing at the spec, so
a build can report all of them before any forward runs.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from izzyfig.errors import SpecProblem
from izzyfig.extract.cells import CellAxis, SpanProblem, cell_axis, hits_of, name_span
from izzyfig.extract.tokens import TokenizedInput, TokenSequence
from izzyfig.plan.jobs import AttentionSelection, BoxRef, FigureJob, Forward, WindowRef
from izzyfig.words import merge_groups

Box = tuple[int, int, int, int]  # (top, left, bottom, right), inclusive cells
# Kinds that draw one token axis for rows and columns (an atlas too, unless of cross-attention).
ONE_AXIS_KINDS = ("self-attention", "question-context", "rollout")


def one_axis(job: FigureJob) -> bool:
    """Whether rows and columns of ``job`` are the same tokens, shown once as one axis."""
    return job.kind in ONE_AXIS_KINDS or (job.kind == "atlas" and job.selections[0].attention != "cross")


@dataclass(frozen=True)
class FigureAxes:
    """Rows attend to columns: ``y`` is the rows, ``x`` the columns, as drawn.

    ``question_end`` is the first context cell of a text pair, in the same cells.
    """

    x: CellAxis
    y: CellAxis
    question_end: int | None

    def cells(self, matrix) -> np.ndarray:
        """A ``(..., query, key)`` map over the model's tokens -> the drawn cells.

        Word units merge pieces (sum over a word's columns, mean over its rows, see
        ``izzyfig.words``); a window then keeps its rows and columns.
        """
        x, y = self.x, self.y
        if y.words is not None:
            matrix = merge_groups(matrix, y.words, x.words)
        return np.ascontiguousarray(matrix[..., y.start:y.start + len(y), x.start:x.start + len(x)])


def selection_axes(selection: AttentionSelection,
                   tokens: Mapping[str, TokenizedInput]) -> tuple[TokenSequence, TokenSequence]:
    """``(rows, columns)`` tokens of one selection; numbered labels for an array."""
    if isinstance(selection.input, Forward):
        return tokens[selection.input.key].axes(selection.attention)
    rows, cols = selection.input.shape[-2:]
    return _numbered(rows), _numbered(cols)


def _numbered(size: int) -> TokenSequence:
    labels = tuple(str(i) for i in range(size))
    return TokenSequence(labels, labels)


def figure_axes(job: FigureJob, tokens: Mapping[str, TokenizedInput]) -> tuple[FigureAxes, list[SpecProblem]]:
    """The figure's axes (first selection's tokens, spec labels on top, in the
    figure's units and window) and the problems found on the way."""
    first = job.selections[0]
    rows, cols = selection_axes(first, tokens)
    problems = _shape_problems(job, tokens, (len(rows), len(cols)))
    y = _override(job, rows, job.y_labels or job.tokens, "y_labels" if job.y_labels else "tokens", problems)
    x = _override(job, cols, job.x_labels or job.tokens, "x_labels" if job.x_labels else "tokens", problems)
    question_end = tokens[first.input.key].question_end if isinstance(first.input, Forward) else job.question_end
    if question_end is not None and not 0 < question_end < len(rows):
        problems.append(SpecProblem(job.position, f"{job.path}.question_end",
                                    f"{question_end} does not split the {len(rows)} tokens in two"))
        question_end = None
    axes = FigureAxes(cell_axis(x, job.units), cell_axis(y, job.units), question_end)
    if question_end is not None and job.units == "words":
        axes = _word_split(job, axes, problems)
    if job.window is not None:
        axes = _windowed(job, job.window, axes, problems)
    return axes, problems


def _shape_problems(job: FigureJob, tokens, size: tuple[int, int]) -> list[SpecProblem]:
    sizes = [tuple(map(len, selection_axes(s, tokens))) for s in job.selections]
    if all(s == size for s in sizes):
        return []
    shown = ", ".join(dict.fromkeys(f"{r} x {c}" for r, c in sizes))
    return [SpecProblem(job.position, job.path,
                        f"its maps have different sizes ({shown}); use the same text for every map")]


def _override(job: FigureJob, seq: TokenSequence, labels, field: str, problems: list) -> TokenSequence:
    if labels is None:
        return seq
    if len(labels) != len(seq):
        problems.append(SpecProblem(job.position, f"{job.path}.{field}",
                                    f"{len(labels)} labels for an axis of {len(seq)} tokens"))
        return seq
    if isinstance(job.selections[0].input, Forward):  # the tokenizer's words, the spec's labels
        return TokenSequence(seq.raw, tuple(labels), seq.words)
    return TokenSequence(tuple(labels), tuple(labels))


def _word_split(job: FigureJob, axes: FigureAxes, problems: list) -> FigureAxes:
    """The question split in word cells; it must fall between two words."""
    split = axes.question_end
    cell = next(i for i, (first, last) in enumerate(axes.y.pieces) if first <= split <= last)
    first, last = axes.y.pieces[cell]
    if first != split:
        problems.append(SpecProblem(job.position, f"{job.path}.question_end",
                                    f"{split} splits the word '{axes.y.cells.labels[cell]}' (tokens "
                                    f"{first}-{last}); in word units the split must fall between words"))
        return replace(axes, question_end=None)
    return replace(axes, question_end=cell)


# ----------------------------------------------------------------------------- windows
def _windowed(job: FigureJob, window: WindowRef, axes: FigureAxes, problems: list) -> FigureAxes:
    """``axes`` cut to the window; problems for bounds that do not resolve.

    Figures that draw one token axis take a side left out from the other side and
    need both sides to cover the same cells; a question-context window must hold
    both sides of the split.
    """
    rows, cols = window.rows, window.cols
    spans, known = {}, len(problems)
    for side, bounds, axis, at in (("rows", rows, axes.y, window.rows_at), ("cols", cols, axes.x, window.cols_at)):
        try:
            spans[side] = window_span(bounds, axis, side) if bounds else None
        except SpanProblem as problem:
            problems.append(SpecProblem(at, f"{window.path}.{side}", str(problem)))
    if len(problems) > known:
        return axes
    if one_axis(job):  # one token axis: a side left out is the other side
        spans["rows"], spans["cols"] = spans["rows"] or spans["cols"], spans["cols"] or spans["rows"]
        rows, cols = rows or cols, cols or rows
    top, bottom = spans["rows"] or (0, len(axes.y) - 1)
    left, right = spans["cols"] or (0, len(axes.x) - 1)
    if one_axis(job) and (top, bottom) != (left, right):
        problems.append(SpecProblem(window.rows_at, window.path,
                                    f"{'an' if job.kind[0] in 'aeiou' else 'a'} {job.kind} figure shows the same "
                                    f"cells on both axes, but rows "
                                    f"{_side(rows)} cover cells {top}-{bottom} and cols {_side(cols)} cells "
                                    f"{left}-{right}; give both the same range (kind: regions draws any rectangle)"))
        return axes
    split = _window_split(job, window, axes, top, bottom, problems)
    return FigureAxes(axes.x.window(left, right), axes.y.window(top, bottom), split)


def _window_split(job: FigureJob, window: WindowRef, axes: FigureAxes, top: int, bottom: int,
                  problems: list) -> int | None:
    """The question split in window cells; a question-context window must contain it."""
    split = axes.question_end
    if split is not None and top < split <= bottom:
        return split - top
    if job.kind == "question-context" and split is not None:
        problems.append(SpecProblem(
            window.rows_at, window.path,
            f"a question-context window must show both the question and the context, but cells "
            f"{top}-{bottom} lie on one side of the split (the context starts at cell {split}, "
            f"'{axes.y.cells.labels[split]}')"))
    return None


def window_span(bounds: tuple, axis: CellAxis, side: str) -> tuple[int, int]:
    """Inclusive cells of one window side; bounds are indices or token strings.

    A string start is the first cell of its first occurrence; a string end the last
    cell of its first occurrence at or after the start.
    """
    what = side[:-1].replace("col", "column")
    first, last = bounds
    size = len(axis)
    for bound in (first, last):
        if isinstance(bound, int) and bound >= size:
            raise SpanProblem(f"{_side(bounds)} reaches past the last of the {size} {side} (index {size - 1})")
    if isinstance(first, str):
        first = hits_of(first, axis, what)[0][0]
    if isinstance(last, str):
        last = next((end for start, end in hits_of(last, axis, what) if start >= first), None)
        if last is None:
            raise SpanProblem(f"no {what} token '{bounds[1]}' at or after {_where(bounds[0], first, what)}")
    if last < first:
        raise SpanProblem(f"{_side(bounds)} is inverted: {_where(bounds[0], first, what)} comes after "
                          f"{_where(bounds[1], last, what)}")
    return first, last


def _side(bounds) -> str:
    return "[" + ", ".join(str(b) for b in bounds) + "]"


def _where(bound, cell: int, what: str) -> str:
    return f"'{bound}' ({what} {cell})" if isinstance(bound, str) else f"{what} {cell}"


def length_problems(job: FigureJob, tokens: Mapping[str, TokenizedInput]) -> list[SpecProblem]:
    """Inputs longer than the model's position embeddings."""
    problems = []
    for selection in job.selections:
        forward = selection.input
        limit = forward.model.shape.max_positions if isinstance(forward, Forward) else None
        if limit is None:
            continue
        tokenized = tokens[forward.key]
        field = "source" if forward.source else ("pair" if forward.pair else "text")
        for name, seq in ((field, tokenized.input), ("target", tokenized.decoder)):
            if seq is not None and len(seq) > limit:
                problems.append(SpecProblem(
                    selection.input_at, f"{selection.where}.{name}",
                    f"{len(seq)} tokens exceed the {limit} positions of model '{forward.model.label()}'"))
    return problems


# ----------------------------------------------------------------------------- boxes
def resolve_boxes(job: FigureJob, axes: FigureAxes) -> tuple[tuple[Box, ...], list[SpecProblem]]:
    """Each box as inclusive ``(top, left, bottom, right)`` cells of ``axes``, or its problem."""
    boxes, problems = [], []
    for box in job.boxes:
        try:
            boxes.append(_resolve(box, axes))
        except SpanProblem as problem:
            problems.append(SpecProblem(box.position, box.path, str(problem)))
    return tuple(boxes), problems


def _resolve(box: BoxRef, axes: FigureAxes) -> Box:
    if box.rows is not None:
        (top, bottom), (left, right) = box.rows, box.cols
        shape = f"{len(axes.y)} x {len(axes.x)} " + ("window" if axes.x.windowed or axes.y.windowed else "matrix")
        for name, (first, last), size in (("rows", box.rows, len(axes.y)), ("cols", box.cols, len(axes.x))):
            if last >= size:
                raise SpanProblem(f"{name} [{first}, {last}] reach past the {size} {name} of the {shape}")
        return top, left, bottom, right
    top, bottom = name_span(box.row_tokens, axes.y, box.occurrence, "row")
    left, right = name_span(box.col_tokens, axes.x, box.occurrence, "column")
    return top, left, bottom, right
