"""Question-context: five table-lens panels of one map split at ``question_end``.

A = question tokens (before ``question_end``), B = context tokens. The panels are
laid out like the blocks of the matrix (A→A | A→B over B→A | B→B) with the whole
map (All→All) below; all five share one colour scale and one colorbar. IzzyViz
swaps the A→B and B→A titles; here "A→B" is the question rows attending to the
context columns.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from izzyfig.errors import RenderError
from izzyfig.render import inputs, layout, style
from izzyfig.render.boxes import clip_boxes
from izzyfig.render.detect import detect_regions
from izzyfig.render.heatmap import figure_scale, text_or
from izzyfig.render.lens import TableLens, draw_lens_panel, lens_cells

# Two lines each: one-line titles are wider than small panels and would spread them apart.
DEFAULT_TITLES = (
    "A → A\nQuestion attending to Question",
    "B → B\nContext attending to Context",
    "A → B\nQuestion attending to Context",
    "B → A\nContext attending to Question",
    "All → All\nAll tokens attending to all tokens",
)
PANEL_TITLE_SIZE = 11.0
AA, BB, AB, BA, ALL = range(5)
GRID_ROWS = ((AA, AB), (BA, BB), (ALL,))  # panel placement, top to bottom


def render_question_context(
    matrix, tokens, question_end, *, boxes=(), titles=None, top_n=3, enlarged_size=1.8,
    auto_regions=False, length_threshold=64, if_interval=False, if_top_cells=True, interval=10,
    show_scores_in_enlarged_cells=True, label_rotation=45, title=None, xlabel=None, ylabel=None,
    cmap="Blues", gamma=1.5, figsize=None,
) -> Figure:
    """Draw the A→A, B→B, A→B, B→A and All→All panels of an (n, n) map.

    Parameters
    ----------
    matrix : array-like, shape (n, n)
    tokens : sequence of str, length n
    question_end : int
        Tokens ``[0, question_end)`` are the question (A), the rest the context (B).
    boxes : sequence of (top, left, bottom, right)
        Cell ranges of the full map; each panel shows the part that falls inside it.
    titles : five str, optional
        Panel titles in the order A→A, B→B, A→B, B→A, All→All.
    title : str, optional
        Figure title above all panels (none by default).

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = inputs.square_matrix("matrix", matrix)
    labels = inputs.labels("tokens", tokens, data.shape[0], "tokens")
    split = _question_end(question_end, data.shape[0])
    lens = TableLens(
        top_n, enlarged_size, auto_regions, length_threshold, if_interval, if_top_cells, interval,
        show_scores_in_enlarged_cells, label_rotation,
    )
    names = _titles(titles)
    box_list = inputs.boxes(boxes, data.shape)
    scale = figure_scale(data.min(), data.max(), gamma, cmap)
    size = inputs.figsize(figsize)
    regions = detect_regions(data) if lens.auto_regions else ()
    texts = (text_or(xlabel, style.DEFAULT_XLABEL), text_or(ylabel, style.DEFAULT_YLABEL))
    with style.rendering():
        return _five_panels(data, labels, _spans(data.shape[0], split), lens, scale, names=names,
                            boxes=box_list, regions=regions, texts=texts, title=title, figsize=size)


def _five_panels(
    data, labels, spans, lens, scale, *, names, boxes, regions, texts, title, figsize,
) -> Figure:
    """Draw the panels of ``spans`` (AA, BB, AB, BA, ALL) and lay them out like the matrix."""
    fig, first_ax = layout.new_figure()
    axes = [first_ax] + [fig.add_axes((0.1, 0.1, 0.8, 0.8)) for _ in range(4)]
    cells = [lens_cells(data[rows][:, cols], lens, data.shape[0]) for rows, cols in spans]
    slots = [[layout.Slot(axes[k], cells[k].grid.width, cells[k].grid.height) for k in row]
             for row in GRID_ROWS]
    if figsize is None:
        unit_in = layout.unit_inches(data.shape[0], data.shape[0] <= lens.length_threshold)
    else:
        sizes = [[(s.width_units, s.height_units) for s in row] for row in slots]
        unit_in = layout.estimate_unit(sizes, figsize)
    for k, ((rows, cols), ax) in enumerate(zip(spans, axes)):
        row_range, col_range = range(rows.start, rows.stop), range(cols.start, cols.stop)
        draw_lens_panel(
            ax, data[rows][:, cols], cells[k], labels[cols], labels[rows], lens, scale,
            unit_pt=unit_in * 72.0, boxes=clip_boxes(boxes, row_range, col_range),
            regions=clip_boxes(regions, row_range, col_range), title=names[k], xlabel=texts[0],
            ylabel=texts[1], colorbar=k == ALL, title_size=PANEL_TITLE_SIZE,
        )
    suptitle = None if title is None else fig.text(
        0.5, 1.0, title, ha="center", va="top", fontsize=style.TITLE_SIZE + 1)
    layout.arrange(fig, slots, unit_in, figsize=figsize, suptitle=suptitle)
    return fig


def _question_end(value, n: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise RenderError(f"question_end: expected an integer token index, got {value!r}")
    if not 1 <= value <= n - 1:
        raise RenderError(
            f"question_end: {value} does not split the {n} tokens into two non-empty parts "
            f"(use 1..{n - 1})"
        )
    return int(value)


def _titles(titles) -> tuple[str, ...]:
    if titles is None:
        return DEFAULT_TITLES
    names = tuple(str(t) for t in titles)
    if len(names) != 5:
        raise RenderError(f"titles: expected 5 panel titles (A→A, B→B, A→B, B→A, All→All), got {len(names)}")
    return names


def _spans(n: int, split: int) -> list[tuple[slice, slice]]:
    """(rows, cols) slices of the panels in the order AA, BB, AB, BA, ALL."""
    a, b, full = slice(0, split), slice(split, n), slice(0, n)
    return [(a, a), (b, b), (a, b), (b, a), (full, full)]
