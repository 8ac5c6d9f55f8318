"""Figure layout: size every heatmap by its cells, then fit the figure around the text.

A heatmap axes is ``units * unit_in`` inches wide and high, so cells are square and
the same size in every panel. The space the labels, title and colorbar need is
measured (Agg text metrics) and the figure is made exactly that big, or, with a
user ``figsize``, the cell size is shrunk until everything fits. No layout engine,
no ``bbox_inches='tight'``: the saved page is the figure.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PAD_IN = 0.08  # around the whole figure
GAP_IN = 0.25  # between panels
_GUESS_MARGINS = (1.3, 0.9, 1.5, 0.3)  # left, right, top, bottom: before anything is measured


@dataclass
class Slot:
    """One heatmap axes and its size in cell units (columns, rows)."""

    ax: Axes
    width_units: float
    height_units: float


@dataclass(frozen=True)
class Margins:
    """Inches of text/colorbar around an axes."""

    left: float
    right: float
    top: float
    bottom: float


def new_figure() -> tuple[Figure, Axes]:
    """A pyplot-free figure with an Agg canvas (for text metrics) and one axes."""
    fig = Figure(figsize=(8.0, 8.0), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_axes((0.1, 0.1, 0.8, 0.8))


def unit_inches(n_tokens: int, dense_labels: bool, *, scale: float = 1.0) -> float:
    """Cell size that grows the figure with the token count.

    Labelled cells stay big enough for a readable font (>= 0.17 in); sparsely
    labelled long inputs fill a ~10 in square instead.
    """
    if dense_labels:
        return float(np.clip(scale * 5.6 / n_tokens, 0.17, 0.42 * scale))
    return float(min(0.17, 10.0 / n_tokens))


def estimate_unit(rows: list[list[tuple[float, float]]], figsize: tuple[float, float]) -> float:
    """Cell size for a user ``figsize`` before any text is measured (for font choices)."""
    margins = [[Margins(*_GUESS_MARGINS) for _ in row] for row in rows]
    return _fit_unit(rows, margins, figsize, title_in=0.0)


def arrange(
    fig: Figure, rows: list[list[Slot]], unit_in: float, *,
    figsize: tuple[float, float] | None = None, suptitle=None,
) -> float:
    """Place the slots in rows (top to bottom) and size the figure; returns the cell size.

    Rows with the same number of slots share column positions (aligned panels).
    """
    sizes = [[(s.width_units, s.height_units) for s in row] for row in rows]
    margins = _measure(fig, rows, unit_in)
    title_in = _text_height(fig, suptitle)
    if figsize is not None:
        unit_in = _fit_unit(sizes, margins, figsize, title_in)
        margins = _measure(fig, rows, unit_in)
    width, height = _extent(sizes, margins, unit_in, title_in)
    page = figsize or (width, height)
    fig.set_dpi(float(np.clip(4.0 / unit_in, 150.0, 400.0)))  # >= 4 px per cell when rasterised
    fig.set_size_inches(page)
    x0 = (page[0] - width) / 2
    y_top = page[1] - (page[1] - height) / 2 - PAD_IN - title_in
    _place(rows, margins, unit_in, page, x0, y_top, width)
    if suptitle is not None:
        suptitle.set_position((0.5, 1 - ((page[1] - height) / 2 + PAD_IN) / page[1]))
    return unit_in


def _measure(fig: Figure, rows: list[list[Slot]], unit_in: float) -> list[list[Margins]]:
    """Margins of every slot's axes at its final size, on a provisional large page."""
    slots = [s for row in rows for s in row]
    big = 20.0
    widest = max(s.width_units for s in slots) * unit_in
    tallest = max(s.height_units for s in slots) * unit_in
    fig.set_size_inches(widest + 2 * big, tallest + 2 * big)
    page_w, page_h = fig.get_size_inches()
    for s in slots:
        s.ax.set_position(
            (big / page_w, big / page_h, s.width_units * unit_in / page_w, s.height_units * unit_in / page_h)
        )
    renderer = fig.canvas.get_renderer()
    dpi = fig.dpi
    out = []
    for row in rows:
        measured = []
        for s in row:
            axes_box = s.ax.get_window_extent(renderer)
            tight = s.ax.get_tightbbox(renderer)
            measured.append(
                Margins(
                    max(0.0, axes_box.x0 - tight.x0) / dpi, max(0.0, tight.x1 - axes_box.x1) / dpi,
                    max(0.0, tight.y1 - axes_box.y1) / dpi, max(0.0, axes_box.y0 - tight.y0) / dpi,
                )
            )
        out.append(measured)
    return out


def _text_height(fig: Figure, text) -> float:
    if text is None:
        return 0.0
    return text.get_window_extent(fig.canvas.get_renderer()).height / fig.dpi + GAP_IN / 2


def _columns(sizes, margins, unit_in):
    """Per slot count: column left margins and spans (axes width + right margin), in inches."""
    columns: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for count in {len(row) for row in sizes}:
        group = [i for i, row in enumerate(sizes) if len(row) == count]
        left = np.array([max(margins[i][j].left for i in group) for j in range(count)])
        span = np.array(
            [max(sizes[i][j][0] * unit_in + margins[i][j].right for i in group) for j in range(count)]
        )
        columns[count] = (left, span)
    return columns


def _row_heights(sizes, margins, unit_in) -> list[tuple[float, float, float]]:
    """(top margin, axes height, bottom margin) of each row, in inches."""
    return [
        (max(m.top for m in mrow), max(h for _, h in row) * unit_in, max(m.bottom for m in mrow))
        for row, mrow in zip(sizes, margins)
    ]


def _extent(sizes, margins, unit_in, title_in) -> tuple[float, float]:
    columns = _columns(sizes, margins, unit_in)
    widths = [float(np.sum(columns[len(row)][0] + columns[len(row)][1])) + GAP_IN * (len(row) - 1)
              for row in sizes]
    heights = [sum(parts) for parts in _row_heights(sizes, margins, unit_in)]
    return (max(widths) + 2 * PAD_IN, sum(heights) + GAP_IN * (len(sizes) - 1) + 2 * PAD_IN + title_in)


def _fit_unit(sizes, margins, figsize, title_in) -> float:
    """Largest cell size whose layout fits in ``figsize`` (bisection; extent grows with it)."""
    low, high = 1e-4, 5.0
    for _ in range(50):
        mid = (low + high) / 2
        width, height = _extent(sizes, margins, mid, title_in)
        if width <= figsize[0] and height <= figsize[1]:
            low = mid
        else:
            high = mid
    return low


def _place(rows, margins, unit_in, page, x0, y_top, content_width) -> None:
    sizes = [[(s.width_units, s.height_units) for s in row] for row in rows]
    columns = _columns(sizes, margins, unit_in)
    for row, (top, _, bottom), mrow in zip(rows, _row_heights(sizes, margins, unit_in), margins):
        left, span = columns[len(row)]
        row_width = float(np.sum(left + span)) + GAP_IN * (len(row) - 1)
        x = x0 + PAD_IN + (content_width - 2 * PAD_IN - row_width) / 2
        for j, slot in enumerate(row):
            ax_left = x + left[j]
            w = slot.width_units * unit_in
            h = slot.height_units * unit_in
            ax_top = y_top - top
            slot.ax.set_position((ax_left / page[0], (ax_top - h) / page[1], w / page[0], h / page[1]))
            x += left[j] + span[j] + GAP_IN
        y_top -= top + max(s.height_units for s in row) * unit_in + bottom + GAP_IN
