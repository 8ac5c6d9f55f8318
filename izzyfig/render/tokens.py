"""Token axes: which positions get a label, and drawing them without overlaps.

x labels sit on top (rotated 45 or 90 degrees), y labels on the left. Special
tokens are bold. Short inputs label every token; long inputs label sparsely
(IzzyViz: every ``interval``-th index and/or the tokens of the top cells). Any
labels that would still collide at the chosen font size are dropped, least
important first, so text never overlaps.

On a page (``Look.on_page``) the font never goes below ``min_font``; when every
token cannot be labelled at that size, a regular subset is: every k-th token, the
first and last, and the tokens of the top cells. What was left out is noted
(``LabelNote``) and becomes a warning once the figure is laid out.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes

from izzyfig.render import style
from izzyfig.render.grid import CellGrid
from izzyfig.render.style import SCREEN_LOOK, Look

TOP_CELL, SPECIAL, PLAIN, INTERVAL = 0, 1, 2, 3  # label priorities, most important first
_LINE_GAP = 1.05  # labels need this many font sizes between their baselines
_PAGE_LINE_GAP = 1.2  # on a page: the boxes of neighbouring labels (ascent + descent) never overlap
_SCREEN_TICK_MIN = 5.0


@dataclass(frozen=True)
class LabelNote:
    """Labels of one axis that did not all fit: ``total`` tokens on ``length_pt`` points
    need ``need_pt`` at ``size``; ``stride`` is k of "every k-th" (None for sparse axes)."""

    axis: str
    total: int
    shown: int
    length_pt: float
    need_pt: float
    size: float
    stride: int | None
    rotatable: bool = False  # x labels at 45 degrees of a kind with a label_rotation key


@dataclass(frozen=True)
class AxisLabels:
    """Candidate labels of one axis: positions ``index`` (m,), their ``text`` and ``priority``."""

    index: np.ndarray
    text: tuple[str, ...]
    priority: np.ndarray
    highlight: frozenset[int] = field(default_factory=frozenset)
    sparse: bool = False


def dense(tokens: list[str], highlight=()) -> AxisLabels:
    """Every token labelled; ``highlight`` indices get the soft background."""
    marked = frozenset(int(i) for i in highlight)
    priority = [
        TOP_CELL if i in marked else SPECIAL if style.is_special_token(t) else PLAIN
        for i, t in enumerate(tokens)
    ]
    return AxisLabels(np.arange(len(tokens)), tuple(tokens), np.array(priority), marked)


def sparse(
    tokens: list[str], top_index, *, interval: int, if_interval: bool, if_top_cells: bool
) -> AxisLabels:
    """IzzyViz's sparse labels: index numbers every ``interval`` and/or top-cell tokens."""
    chosen: dict[int, tuple[str, int]] = {}
    if if_interval:
        for i in range(0, len(tokens), interval):
            chosen[i] = (str(i), INTERVAL)
    if if_top_cells:
        for i in dict.fromkeys(int(v) for v in top_index):
            chosen[i] = (tokens[i], TOP_CELL)
    index = np.array(sorted(chosen), dtype=np.intp)
    text = tuple(chosen[i][0] for i in index)
    priority = np.array([chosen[i][1] for i in index], dtype=np.intp)
    return AxisLabels(index, text, priority, sparse=True)


def strided(tokens: list[str]) -> AxisLabels:
    """Long inputs of kinds without sparse options: token text, thinned evenly when drawn."""
    labels = dense(tokens)
    return AxisLabels(labels.index, labels.text, np.full(len(tokens), PLAIN), sparse=True)


def tick_fontsize(unit_pt: float, labels: AxisLabels, look: Look = SCREEN_LOOK) -> float:
    """Font size that fits one label per cell of ``unit_pt`` points (within the look's range)."""
    typo = look.typo
    if labels.sparse:
        return typo.sparse_tick
    low = typo.tick_min if look.on_page else _SCREEN_TICK_MIN
    return float(np.clip(round(unit_pt * 0.6 * 2) / 2, low, typo.tick_max))


def keep_apart(positions: np.ndarray, priority: np.ndarray, gap: float) -> np.ndarray:
    """Indices into ``positions`` to keep so kept positions are >= ``gap`` apart.

    Greedy in (priority, position) order; returns the kept indices sorted by position.
    """
    kept: list[float] = []
    chosen: list[int] = []
    for k in np.lexsort((positions, priority)):
        p = positions[k]
        at = bisect.bisect_left(kept, p)
        if at > 0 and p - kept[at - 1] < gap:
            continue
        if at < len(kept) and kept[at] - p < gap:
            continue
        kept.insert(at, p)
        chosen.append(int(k))
    return np.array(sorted(chosen, key=lambda k: positions[k]), dtype=np.intp)


def draw(
    ax: Axes, grid: CellGrid, x: AxisLabels, y: AxisLabels, *, rotation: int, unit_pt: float,
    look: Look = SCREEN_LOOK, rotatable: bool = False,
) -> None:
    """Put the x labels on top (rotated) and the y labels on the left of ``ax``.

    ``rotatable``: the kind has a ``label_rotation`` option (named in warnings at 45°).
    """
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    # Tick marks only where labels skip tokens; next to every token they read as a "." token.
    x_size = tick_fontsize(unit_pt, x, look)
    y_size = tick_fontsize(unit_pt, y, look)
    line_gap = _PAGE_LINE_GAP if look.on_page else _LINE_GAP
    x_gap = line_gap * x_size / math.sin(math.radians(rotation)) / unit_pt
    x_keep = _chosen(grid.col_centers, x, x_gap, grid.width, unit_pt, x_size, "x", look,
                     rotatable and rotation == 45)
    y_keep = _chosen(grid.row_centers, y, line_gap * y_size / unit_pt, grid.height, unit_pt, y_size, "y", look)
    tick = dict(width=0.6, color="0.4", pad=2.5)
    ax.tick_params(axis="x", length=2.0 if x.sparse or len(x_keep) < len(x.index) else 0.0, **tick)
    ax.tick_params(axis="y", length=2.0 if y.sparse or len(y_keep) < len(y.index) else 0.0, **tick)
    _set_axis(ax.xaxis, grid.col_centers, x, x_size, x_keep, look)
    _set_axis(ax.yaxis, grid.row_centers, y, y_size, y_keep, look)
    for tick_artist in ax.xaxis.get_major_ticks():
        tick_artist.label2.set(rotation=rotation, rotation_mode="anchor", ha="left", va="center")


def _chosen(centers: np.ndarray, labels: AxisLabels, gap: float, length: float, unit_pt: float,
            size: float, axis: str, look: Look, rotatable: bool = False) -> np.ndarray:
    """Indices into ``labels`` to draw; on a page, a regular subset when all do not fit.

    ``gap`` (the distance labels need) and ``length`` (of the axis) are in cell units.
    """
    positions = centers[labels.index] if len(labels.index) else np.zeros(0)
    if not look.on_page:
        return keep_apart(positions, labels.priority, gap)
    keep = _chosen_on_page(positions, labels, gap, len(centers), length, unit_pt, size, axis, look, rotatable)
    if len(keep) > 1:
        look.room.append(float(np.min(np.diff(positions[keep]))) / gap)
    return keep


def _chosen_on_page(positions, labels, gap, count, length, unit_pt, size, axis, look, rotatable) -> np.ndarray:
    """Every label if they fit; else every k-th (plus first, last, top cells), noted."""

    def note(keep: np.ndarray, stride: int | None) -> None:
        total = count if stride else len(positions)
        look.notes.append(LabelNote(axis, total, len(keep), length * unit_pt, total * gap * unit_pt, size,
                                    stride, rotatable))

    if labels.sparse:
        keep = keep_apart(positions, labels.priority, gap)
        if len(keep) < len(positions):
            note(keep, None)
        return keep
    if len(positions) < 2 or np.min(np.diff(positions)) >= gap:
        return np.arange(len(positions), dtype=np.intp)
    stride = max(2, math.ceil(gap / _plain_pitch(positions)))
    priority = _strided_priority(labels, stride)
    candidates = np.flatnonzero(priority >= 0)
    keep = candidates[keep_apart(positions[candidates], priority[candidates], gap)]
    note(keep, stride)
    return keep


def _plain_pitch(positions: np.ndarray) -> float:
    """Spacing of ordinary (not enlarged) cells: the smallest distance between centres."""
    return float(np.min(np.diff(positions)))


def _strided_priority(labels: AxisLabels, stride: int) -> np.ndarray:
    """-1 for left out; 0 top cells, first and last; 1 every ``stride``-th; 2 special tokens."""
    count = len(labels.index)
    priority = np.full(count, -1, dtype=np.intp)
    priority[np.arange(count) % stride == 0] = 1
    for k, text in enumerate(labels.text):
        if priority[k] < 0 and style.is_special_token(text):
            priority[k] = 2
    priority[[0, count - 1]] = 0
    priority[labels.priority == TOP_CELL] = 0
    return priority


def _set_axis(axis, centers: np.ndarray, labels: AxisLabels, size: float, keep: np.ndarray,
              look: Look) -> None:
    positions = centers[labels.index] if len(labels.index) else np.zeros(0)
    axis.set_ticks(positions[keep], labels=[labels.text[k] for k in keep])
    bold = style.bold_family(look.font)
    for tick, k in zip(axis.get_major_ticks(len(keep)), keep):
        token_index = int(labels.index[k])
        for text in (tick.label1, tick.label2):
            text.set_parse_math(False)  # a "$" in a token is text, not mathtext
            text.set_fontsize(size)
            if style.is_special_token(labels.text[k]):
                text.set_fontweight("bold")
                if bold:
                    text.set_family(bold)
            if token_index in labels.highlight:
                text.set_bbox(
                    dict(boxstyle="round,pad=0.2", facecolor=style.LABEL_HIGHLIGHT,
                         edgecolor="none", alpha=0.5)
                )
