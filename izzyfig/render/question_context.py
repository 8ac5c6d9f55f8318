"""Question-context: five table-lens panels of one map split at ``question_end``.

A = question tokens (before ``question_end``), B = context tokens. The panels are
laid out like the blocks of the matrix (A→A | A→B over B→A | B→B) with the whole
map (All→All) below, or beside them in a figure as wide as the text; all five share
one colour scale and one colour bar. IzzyViz
swaps the A→B and B→A titles; here "A→B" is the question rows attending to the
context columns.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from izzyfig.errors import RenderError
from izzyfig.render import inputs, style
from izzyfig.render.boxes import clip_boxes
from izzyfig.render.detect import detect_regions
from izzyfig.render.heatmap import KindPlan, figure_scale, page_area, text_or
from izzyfig.render.layout import Cell, PanelDraft, axes_id
from izzyfig.render.lens import TableLens, draw_lens_panel, lens_cells

# Two lines each: one-line titles are wider than small panels and would spread them apart.
DEFAULT_TITLES = (
    "A → A\nQuestion attending to Question",
    "B → B\nContext attending to Context",
    "A → B\nQuestion attending to Context",
    "B → A\nContext attending to Question",
    "All → All\nAll tokens attending to all tokens",
)
# On a page the second line is short: a panel is a few centimetres wide.
PAGE_TITLES = (
    "A → A\nquestion to question",
    "B → B\ncontext to context",
    "A → B\nquestion to context",
    "B → A\ncontext to question",
    "All → All\nwhole pair",
)
AA, BB, AB, BA, ALL = range(5)
# Panel placement, like the blocks of the matrix: A→A | A→B over B→A | B→B, the whole map
# below them (a column) or beside them (a text-width figure).
STACKED = (Cell(0, 0), Cell(1, 1), Cell(0, 1), Cell(1, 0), Cell(2, 0, colspan=2))
SIDE_BY_SIDE = (Cell(0, 0), Cell(1, 1), Cell(0, 1), Cell(1, 0), Cell(0, 2, rowspan=2))
WIDE_IN = 4.5  # a one-column page at least this wide also puts the whole map beside the blocks


def render_question_context(
    matrix, tokens, question_end, *, boxes=(), titles=None, top_n=3, enlarged_size=1.8,
    auto_regions=False, length_threshold=64, if_interval=False, if_top_cells=True, interval=10,
    show_scores_in_enlarged_cells=True, label_rotation=45, title=None, xlabel=None, ylabel=None,
    cmap="Blues", gamma=1.5, figsize=None, page=None, width=None, height=None, min_font=6.0, font="sans",
    mathtext=False,
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
    page, width, height, min_font, font, mathtext
        As for ``render_self_attention``. On a page wider than a column the whole map
        is drawn beside the four blocks instead of below them.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plan = question_context_plan(
        matrix, tokens, question_end, boxes=boxes, titles=titles, top_n=top_n,
        enlarged_size=enlarged_size, auto_regions=auto_regions, length_threshold=length_threshold,
        if_interval=if_interval, if_top_cells=if_top_cells, interval=interval,
        show_scores_in_enlarged_cells=show_scores_in_enlarged_cells, label_rotation=label_rotation,
        title=title, xlabel=xlabel, ylabel=ylabel, cmap=cmap, gamma=gamma,
        wide=_wide(page_area(page, width, height, min_font)),
    )
    return plan.figure(figsize=figsize, page=page, width=width, height=height, min_font=min_font,
                       font=font, mathtext=mathtext)


def question_context_plan(
    matrix, tokens, question_end, *, boxes=(), titles=None, top_n=3, enlarged_size=1.8,
    auto_regions=False, length_threshold=64, if_interval=False, if_top_cells=True, interval=10,
    show_scores_in_enlarged_cells=True, label_rotation=45, title=None, xlabel=None, ylabel=None,
    cmap="Blues", gamma=1.5, wide=False,
) -> KindPlan:
    """Validated inputs of ``render_question_context`` and how to draw its five panels."""
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
    regions = detect_regions(data) if lens.auto_regions else ()
    texts = (text_or(xlabel, style.DEFAULT_XLABEL), text_or(ylabel, style.DEFAULT_YLABEL))
    spans = _spans(data.shape[0], split)
    cells = [lens_cells(data[rows][:, cols], lens, data.shape[0]) for rows, cols in spans]
    places = SIDE_BY_SIDE if wide else STACKED

    def panels(scale, own_colorbar: bool) -> list[PanelDraft]:
        drafts = []
        for k, (rows, cols) in enumerate(spans):
            row_range, col_range = range(rows.start, rows.stop), range(cols.start, cols.stop)

            def draw(ax, unit_pt, look, k=k, rows=rows, cols=cols, row_range=row_range, col_range=col_range):
                shown = names if titles is not None or not look.on_page else PAGE_TITLES
                axis_texts = texts if k == ALL or not look.on_page else ("", "")
                return draw_lens_panel(
                    ax, data[rows][:, cols], cells[k], labels[cols], labels[rows], lens, scale,
                    unit_pt=unit_pt, boxes=clip_boxes(box_list, row_range, col_range),
                    regions=clip_boxes(regions, row_range, col_range), title=shown[k],
                    xlabel=axis_texts[0], ylabel=axis_texts[1], colorbar=own_colorbar and k == ALL,
                    title_size=look.typo.panel_title, look=look,
                )

            grid = cells[k].grid
            drafts.append(PanelDraft(grid.width, grid.height, draw, places[k],
                                     axes_id=axes_id(grid, labels[cols], labels[rows])))
        return drafts

    user_texts = (("title", title), ("xlabel", xlabel), ("ylabel", ylabel)) + tuple(
        ("titles", name) for name in (titles or ()))
    return KindPlan(scale, data.shape[0], data.shape[0] <= lens.length_threshold, panels,
                    title=title, texts=user_texts, bar_rows=None if wide else (2, 2))


def _wide(area) -> bool:
    """Whole map beside the blocks: a figure across both columns, or a wide one-column page."""
    return area is not None and (area.spans_columns or area.width >= WIDE_IN)


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
