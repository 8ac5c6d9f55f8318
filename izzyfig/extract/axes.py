"""A figure's axes once its tokens are known: labels, sizes, boxes, and their checks.

Everything here is pure and positioned: each check returns ``SpecProblem`` objects
pointing at the spec, so a build can report all of them before any forward runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from izzyfig.errors import SpecProblem
from izzyfig.extract.tokens import TokenizedInput, TokenSequence
from izzyfig.plan.jobs import AttentionSelection, BoxRef, FigureJob, Forward

Box = tuple[int, int, int, int]  # (top, left, bottom, right), inclusive cells
LIST_PREVIEW = 12


@dataclass(frozen=True)
class FigureAxes:
    """Rows attend to columns: ``y`` labels are the rows, ``x`` labels the columns."""

    x: TokenSequence
    y: TokenSequence
    question_end: int | None


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
    """The figure's axes (first selection's tokens, spec labels on top) and problems."""
    first = job.selections[0]
    rows, cols = selection_axes(first, tokens)
    problems = _shape_problems(job, tokens, (len(rows), len(cols)))
    y = _override(job, rows, job.y_labels or job.tokens, "y_labels" if job.y_labels else "tokens", problems)
    x = _override(job, cols, job.x_labels or job.tokens, "x_labels" if job.x_labels else "tokens", problems)
    question_end = tokens[first.input.key].question_end if isinstance(first.input, Forward) else job.question_end
    if question_end is not None and not 0 < question_end < len(rows):
        problems.append(SpecProblem(job.position, f"{job.path}.question_end",
                                    f"{question_end} does not split the {len(rows)} tokens in two"))
    return FigureAxes(x, y, question_end), problems


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
    return TokenSequence(seq.raw if isinstance(job.selections[0].input, Forward) else tuple(labels), tuple(labels))


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
    """Each box as inclusive ``(top, left, bottom, right)`` cells, or its problem."""
    boxes, problems = [], []
    for box in job.boxes:
        try:
            boxes.append(_resolve(box, axes))
        except BoxProblem as problem:
            problems.append(SpecProblem(box.position, box.path, str(problem)))
    return tuple(boxes), problems


class BoxProblem(Exception):
    pass


def _resolve(box: BoxRef, axes: FigureAxes) -> Box:
    if box.rows is not None:
        (top, bottom), (left, right) = box.rows, box.cols
        for name, (first, last), size in (("rows", box.rows, len(axes.y)), ("cols", box.cols, len(axes.x))):
            if last >= size:
                raise BoxProblem(f"{name} [{first}, {last}] reach past the {size} {name} of the "
                                 f"{len(axes.y)} x {len(axes.x)} matrix")
        return top, left, bottom, right
    top, bottom = _token_span(box.row_tokens, axes.y, box.occurrence, "row")
    left, right = _token_span(box.col_tokens, axes.x, box.occurrence, "column")
    return top, left, bottom, right


def _token_span(pair: tuple[str, str], seq: TokenSequence, occurrence: str, axis: str) -> tuple[int, int]:
    """Indices of the first and last token of a span, in order along the axis."""
    start_token, end_token = pair
    starts, ends = _hits(start_token, seq), _hits(end_token, seq)
    for token, hits in ((start_token, starts), (end_token, ends)):
        if not hits:
            raise BoxProblem(f"token '{token}' is not among the {axis} tokens ({_preview(seq.labels)})")
    if occurrence == "first":
        start = starts[0]
        end = next((i for i in ends if i >= start), None)
    else:
        end = ends[-1]
        start = next((i for i in reversed(starts) if i <= end), None)
    if start is None or end is None:
        raise BoxProblem(f"no {axis} token '{end_token}' at or after '{start_token}'")
    return start, end


def _hits(token: str, seq: TokenSequence) -> list[int]:
    return [i for i, (raw, label) in enumerate(zip(seq.raw, seq.labels)) if token in (raw, label)]


def _preview(labels: tuple[str, ...]) -> str:
    shown = ", ".join(labels[:LIST_PREVIEW])
    return shown + (", ..." if len(labels) > LIST_PREVIEW else "")
