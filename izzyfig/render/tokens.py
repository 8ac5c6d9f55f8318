"""Token axes: which positions get a label, and drawing them without overlaps.

x labels sit on top (rotated 45 or 90 degrees), y labels on the left. Special
tokens are bold. Short inputs label every token; long inputs label sparsely
(IzzyViz: every ``interval``-th index and/or the tokens of the top cells). Any
labels that would still collide at the chosen font size are dropped, least
important first, so text never overlaps.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes

from izzyfig.render import style
from izzyfig.render.grid import CellGrid

TOP_CELL, SPECIAL, PLAIN, INTERVAL = 0, 1, 2, 3  # label priorities, most important first
_LINE_GAP = 1.05  # labels need this many font sizes between their baselines


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


def tick_fontsize(unit_pt: float, labels: AxisLabels) -> float:
    """Font size that fits one label per cell of ``unit_pt`` points."""
    if labels.sparse:
        return style.SPARSE_TICK_SIZE
    return float(np.clip(round(unit_pt * 0.6 * 2) / 2, style.TICK_SIZE_MIN, style.TICK_SIZE_MAX))


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
    ax: Axes, grid: CellGrid, x: AxisLabels, y: AxisLabels, *, rotation: int, unit_pt: float
) -> None:
    """Put the x labels on top (rotated) and the y labels on the left of ``ax``."""
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    # Tick marks only where labels skip tokens; next to every token they read as a "." token.
    ax.tick_params(axis="x", length=2.0 if x.sparse else 0.0, width=0.6, color="0.4", pad=2.5)
    ax.tick_params(axis="y", length=2.0 if y.sparse else 0.0, width=0.6, color="0.4", pad=2.5)
    x_size = tick_fontsize(unit_pt, x)
    y_size = tick_fontsize(unit_pt, y)
    x_gap = _LINE_GAP * x_size / math.sin(math.radians(rotation)) / unit_pt
    _set_axis(ax.xaxis, grid.col_centers, x, x_size, x_gap)
    _set_axis(ax.yaxis, grid.row_centers, y, y_size, _LINE_GAP * y_size / unit_pt)
    for tick in ax.xaxis.get_major_ticks():
        tick.label2.set(rotation=rotation, rotation_mode="anchor", ha="left", va="center")


def _set_axis(axis, centers: np.ndarray, labels: AxisLabels, size: float, gap: float) -> None:
    positions = centers[labels.index] if len(labels.index) else np.zeros(0)
    keep = keep_apart(positions, labels.priority, gap)
    axis.set_ticks(positions[keep], labels=[labels.text[k] for k in keep])
    for tick, k in zip(axis.get_major_ticks(len(keep)), keep):
        token_index = int(labels.index[k])
        for text in (tick.label1, tick.label2):
            text.set_parse_math(False)  # a "$" in a token is text, not mathtext
            text.set_fontsize(size)
            if style.is_special_token(labels.text[k]):
                text.set_fontweight("bold")
            if token_index in labels.highlight:
                text.set_bbox(
                    dict(boxstyle="round,pad=0.2", facecolor=style.LABEL_HIGHLIGHT,
                         edgecolor="none", alpha=0.5)
                )
