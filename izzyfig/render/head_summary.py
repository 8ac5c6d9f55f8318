"""Head summary: one statistic per head as a layers x heads heatmap (Clark et al. 2019).

Rows are layers, columns heads; every cell (or the top ``annotate`` cells) carries its
value, the highest head(s) are outlined in orange and named in the default title, and
heads chosen with ``highlight`` are outlined in red. Grouped-query models get a gap
between the heads of two key/value groups. The values come from
``izzyfig.analysis.head_statistics`` (``corpus_head_statistics`` over several texts).
"""
from __future__ import annotations

import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from izzyfig.analysis import STATISTICS
from izzyfig.errors import RenderError
from izzyfig.render import heads, inputs, tokens
from izzyfig.render.boxes import box_width, draw_boxes
from izzyfig.render.cells import ColorScale, grid_linewidth, text_colors
from izzyfig.render.detect import REGION_COLOR
from izzyfig.render.grid import CellGrid, top_cells
from izzyfig.render.heatmap import KindPlan, Panel, draw_heatmap, figure_scale, text_or
from izzyfig.render.layout import PanelDraft
from izzyfig.render.style import BOX_COLOR, Look

STATISTIC_TITLES = {
    "entropy": "Attention entropy (nats)",
    "distance": "Mean attention distance (tokens)",
    "previous-token": "Previous-token score",
    "special": "Attention to special tokens",
    "max": "Largest attention weight",
    "induction": "Induction score",
}
CHAR_EM = 0.6  # advance of a digit, in font sizes
SCREEN_UNIT_IN = (0.3, 0.42)  # screen cells: room for a value, and the whole figure about 10 in tall
NAMED_BEST = 3  # the default title names at most this many tied highest heads


def render_head_summary(
    values, *, statistic=None, layer_ids=None, head_ids=None, heads_per_group=None, highlight=(),
    annotate="all", texts=None, boxes=(), title=None, xlabel=None, ylabel=None, cmap="Blues", gamma=1.0,
    figsize=None, page=None, width=None, height=None, min_font=6.0, font="sans", mathtext=False,
) -> Figure:
    """Draw one number per head as a layers x heads heatmap, values written in the cells.

    Parameters
    ----------
    values : array-like, shape (layers, heads)
        E.g. ``izzyfig.analysis.head_statistics(maps, "previous-token")``.
    statistic : str, optional
        Which statistic ``values`` holds (one of ``izzyfig.analysis.STATISTICS``); names it
        in the default title.
    layer_ids, head_ids : sequence of int, optional
        The model layer of each row and head of each column (default ``0, 1, ...``).
    heads_per_group : int, optional
        Query heads per key/value head of a grouped-query model: the groups are set apart.
    highlight : sequence of (layer, head)
        Heads to outline in red, as model indices.
    annotate : 'all' or int
        Write the value in every cell, or in the ``annotate`` highest cells (0: none).
    texts : int, optional
        Number of texts ``values`` is the mean over (named in the default title).
    boxes : sequence of (top, left, bottom, right)
        Cell ranges (rows and columns of ``values``) outlined in red.
    title, xlabel, ylabel, cmap, gamma, figsize, page, width, height, min_font, font, mathtext
        As for ``render_self_attention``; the default title names the statistic and the
        highest head(s), which are outlined in orange.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plan = head_summary_plan(
        values, statistic=statistic, layer_ids=layer_ids, head_ids=head_ids, heads_per_group=heads_per_group,
        highlight=highlight, annotate=annotate, texts=texts, boxes=boxes, title=title, xlabel=xlabel,
        ylabel=ylabel, cmap=cmap, gamma=gamma,
    )
    return plan.figure(figsize=figsize, page=page, width=width, height=height, min_font=min_font, font=font,
                       mathtext=mathtext)


def head_summary_plan(
    values, *, statistic=None, layer_ids=None, head_ids=None, heads_per_group=None, highlight=(),
    annotate="all", texts=None, boxes=(), title=None, xlabel=None, ylabel=None, cmap="Blues", gamma=1.0,
) -> KindPlan:
    """Validated inputs of ``render_head_summary`` and how to draw its panel."""
    data = inputs.array("values", values, 2, "(layers, heads)")
    rows, cols = data.shape
    layers = heads.indices("layer_ids", layer_ids, rows)
    head_list = heads.indices("head_ids", head_ids, cols)
    per_group = heads.group_size(heads_per_group)
    if statistic is not None and statistic not in STATISTICS:
        raise RenderError(f"statistic: must be one of {', '.join(STATISTICS)}, got {statistic!r}")
    outlined = tuple((r, c, r, c) for r, c in heads.highlighted(highlight, layers, head_list))
    best = tuple((int(r), int(c), int(r), int(c)) for r, c in np.argwhere(data == data.max()))
    written = _annotated(annotate, data)
    summary = SummaryPanel(data, CellGrid.uniform(rows, cols), tokens.dense([str(h) for h in head_list]),
                           tokens.dense([str(layer) for layer in layers]), written, per_group,
                           inputs.boxes(boxes, data.shape) + outlined, best)
    texts_ = (text_or(xlabel, "head" if per_group is None else f"head (key/value groups of {per_group})"),
              text_or(ylabel, "layer"))

    def panels(scale: ColorScale, own_colorbar: bool) -> list[PanelDraft]:
        def draw(ax: Axes, unit_pt: float, look: Look) -> Panel:
            return summary.draw(ax, scale, unit_pt, look, *texts_, colorbar=own_colorbar)

        return [PanelDraft(cols, rows, draw)]

    default = _default_title(statistic, texts, data, best, layers, head_list)
    return KindPlan(figure_scale(data.min(), data.max(), gamma, cmap), max(rows, cols), True, panels,
                    title=text_or(title, default) or None,
                    texts=(("title", title), ("xlabel", xlabel), ("ylabel", ylabel)),
                    unit_in=float(np.clip(10.0 / rows, *SCREEN_UNIT_IN)))


class SummaryPanel:
    """The one panel of a head summary: cells, head and layer numbers, values, outlines."""

    def __init__(self, data, grid, x, y, written, per_group, boxes, best):
        self.data, self.grid, self.x, self.y = data, grid, x, y
        self.written, self.per_group, self.boxes, self.best = written, per_group, boxes, best

    def draw(self, ax: Axes, scale: ColorScale, unit_pt: float, look: Look, xlabel: str, ylabel: str, *,
             colorbar: bool) -> Panel:
        panel = draw_heatmap(ax, self.data, self.grid, scale, self.x, self.y, unit_pt=unit_pt, title="",
                             xlabel=xlabel, ylabel=ylabel, rotation=90, colorbar=colorbar, look=look)
        for tick in ax.xaxis.get_major_ticks():  # head numbers read across, centred on their column
            tick.label2.set(rotation=0, rotation_mode="default", ha="center", va="bottom")
        if self.per_group is not None:
            _group_gaps(ax, self.grid, self.per_group, unit_pt)
        write_values(ax, self.grid, self.data, self.written, scale, unit_pt, look)
        width = box_width(look)
        draw_boxes(ax, self.grid, self.best, color=REGION_COLOR, linewidth=width)
        draw_boxes(ax, self.grid, self.boxes, color=BOX_COLOR, linewidth=width)
        return panel


def write_values(ax: Axes, grid: CellGrid, data: np.ndarray, cells: np.ndarray, scale: ColorScale,
                 unit_pt: float, look: Look) -> list:
    """The value of each of ``cells`` (k, 2) in its cell, at one size for all of them.

    Values share their number of decimals (2 below 10, then 1, then none); on a page a
    leading zero is dropped (``.80``). When they do not fit at the smallest value size,
    none is written and, on a page, the figure warns at ``annotate``.
    """
    if len(cells) == 0:
        return []
    values = data[cells[:, 0], cells[:, 1]]
    texts = format_values(values, look.on_page)
    chars = max(len(t) for t in texts)
    size = min(look.typo.value_max, 0.9 * unit_pt / (CHAR_EM * chars), unit_pt / 1.5)
    if size < look.typo.value_min:
        if look.on_page:
            look.note(("annotate",), f"the values of {len(cells)} cells do not fit at {look.typo.value_min:g} pt "
                                     "and are not shown (use annotate: with fewer cells, or a larger width: or height:)")
        return []
    size = math.floor(size * 2) / 2 if look.on_page else round(size * 2) / 2
    if look.on_page:
        look.room.append(min(0.9 * unit_pt / (CHAR_EM * chars), unit_pt / 1.5) / size)
    colors = text_colors(scale.rgba(values))
    return [ax.text(grid.col_centers[c], grid.row_centers[r], text, ha="center", va="center", fontsize=size,
                    color=color, parse_math=False, zorder=3)
            for (r, c), text, color in zip(cells, texts, colors)]


def format_values(values: np.ndarray, on_page: bool) -> list[str]:
    """Numbers with the same decimals: ``0.80``/``.80`` below 10, ``12.3``, ``123``."""
    largest = float(np.max(np.abs(values)))
    decimals = 2 if largest < 9.995 else 1 if largest < 99.95 else 0
    texts = [f"{v:.{decimals}f}" for v in values]
    if on_page:
        texts = [t.replace("0.", ".", 1) if t.startswith(("0.", "-0.")) else t for t in texts]
    return [t.replace("-", "\N{MINUS SIGN}") if float(t.replace("\N{MINUS SIGN}", "-")) != 0 else t.lstrip("-")
            for t in texts]


def _annotated(annotate, data: np.ndarray) -> np.ndarray:
    """The ``(row, column)`` cells to write values in: all, or the ``annotate`` highest."""
    if annotate == "all":
        return np.argwhere(np.ones(data.shape, dtype=bool))
    if isinstance(annotate, bool) or not isinstance(annotate, (int, np.integer)) or annotate < 0:
        raise RenderError(f"annotate: expected 'all' or a number of cells >= 0, got {annotate!r}")
    return top_cells(data, int(annotate))


def _group_gaps(ax: Axes, grid: CellGrid, per_group: int, unit_pt: float) -> None:
    """White lines between the heads of two key/value groups, wider than the cell lines."""
    edges = grid.col_edges[per_group:-1:per_group]
    if len(edges):
        width = max(3 * grid_linewidth(1.0, unit_pt), 1.5)
        segments = [((x, 0.0), (x, grid.height)) for x in edges]
        ax.add_collection(LineCollection(segments, colors="white", linewidths=width, zorder=2), autolim=False)


def _default_title(statistic, texts, data: np.ndarray, best: tuple, layers: tuple, head_list: tuple) -> str:
    """``Previous-token score`` and, below, ``mean over 8 texts; highest: L1 H3 (0.91)``."""
    name = STATISTIC_TITLES.get(statistic, "Per-head statistic")
    mean = f"mean over {texts} texts; " if texts is not None and texts > 1 else ""
    named = [f"L{layers[r]} H{head_list[c]}" for r, c, _, _ in best[:NAMED_BEST]]
    more = f" and {len(best) - NAMED_BEST} more" if len(best) > NAMED_BEST else ""
    return f"{name}\n{mean}highest: {', '.join(named)}{more} ({format_values(np.array([data.max()]), False)[0]})"
