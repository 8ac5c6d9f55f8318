"""Highlight boxes around inclusive (top, left, bottom, right) cell ranges: one collection."""
from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.patches import Rectangle

from izzyfig.render import style
from izzyfig.render.grid import CellGrid
from izzyfig.render.inputs import Box
from izzyfig.render.style import Look

PAGE_BOX_LINEWIDTH = 1.0  # points: a 2 pt outline would cover a printed cell


def box_width(look: Look, linewidth: float = style.BOX_LINEWIDTH) -> float:
    """Outline width in points: thinner on a page, where cells are a few points wide."""
    return min(linewidth, PAGE_BOX_LINEWIDTH) if look.on_page else linewidth


def draw_boxes(
    ax: Axes, grid: CellGrid, boxes: Sequence[Box], *, color=style.BOX_COLOR,
    linewidth: float = style.BOX_LINEWIDTH, alpha: float = 1.0, zorder: float = 5.0,
) -> PatchCollection | None:
    """Outline every box with its cell edges (table-lens aware); ``None`` when there are none."""
    if not boxes:
        return None
    rects = [Rectangle(grid.box_rect(box)[:2], *grid.box_rect(box)[2:]) for box in boxes]
    collection = PatchCollection(
        rects, facecolor="none", edgecolor=color, linewidth=linewidth, alpha=alpha,
        zorder=zorder, joinstyle="miter",
    )
    ax.add_collection(collection, autolim=False)
    return collection


def clip_boxes(boxes: Sequence[Box], rows: range, cols: range) -> tuple[Box, ...]:
    """The parts of full-matrix ``boxes`` inside a sub-matrix, in sub-matrix indices."""
    out = []
    for top, left, bottom, right in boxes:
        t, b = max(top, rows.start), min(bottom, rows.stop - 1)
        l, r = max(left, cols.start), min(right, cols.stop - 1)
        if t <= b and l <= r:
            out.append((t - rows.start, l - cols.start, b - rows.start, r - cols.start))
    return tuple(out)
