"""IzzyViz's table-lens heatmap: top-n cells widen their rows and columns and show values.

Shared by the self-attention, question-context and cross-attention kinds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes

from izzyfig.errors import RenderError
from izzyfig.render import inputs, tokens
from izzyfig.render.boxes import box_width, draw_boxes
from izzyfig.render.cells import ColorScale
from izzyfig.render.detect import REGION_ALPHA, REGION_COLOR, REGION_LINEWIDTH, detect_regions
from izzyfig.render.grid import CellGrid, top_cells
from izzyfig.render.heatmap import KindPlan, Panel, draw_heatmap, figure_scale, text_or
from izzyfig.render.inputs import Box
from izzyfig.render.layout import PanelDraft, axes_id
from izzyfig.render.style import SCREEN_LOOK, Look


@dataclass(frozen=True)
class TableLens:
    """IzzyViz's table-lens options, named as in the spec."""

    top_n: int = 3
    enlarged_size: float = 1.8
    auto_regions: bool = False
    length_threshold: int = 64
    if_interval: bool = False
    if_top_cells: bool = True
    interval: int = 10
    show_scores_in_enlarged_cells: bool = True
    label_rotation: int = 45

    def __post_init__(self) -> None:
        inputs.at_least("top_n", self.top_n, 0, integer=True)
        inputs.at_least("enlarged_size", self.enlarged_size, 1.0)
        inputs.positive("length_threshold", self.length_threshold, integer=True)
        inputs.positive("interval", self.interval, integer=True)
        if self.label_rotation not in (45, 90):
            raise RenderError(f"label_rotation: must be 45 or 90, got {self.label_rotation!r}")


@dataclass(frozen=True)
class LensCells:
    """Table-lens geometry of one matrix: its grid, top cells (k, 2) and label density."""

    grid: CellGrid
    top: np.ndarray
    sparse: bool


def lens_cells(data: np.ndarray, lens: TableLens, n_tokens: int | None = None) -> LensCells:
    """Top cells and grid of ``data``; labels turn sparse above ``length_threshold`` tokens
    (``n_tokens``, default the larger side: panels of one figure pass the whole count)."""
    top = top_cells(data, lens.top_n)
    grid = CellGrid.table_lens(*data.shape, top, lens.enlarged_size)
    return LensCells(grid, top, (n_tokens or max(data.shape)) > lens.length_threshold)


def lens_labels(x_tokens: list[str], y_tokens: list[str], cells: LensCells, lens: TableLens):
    """(x, y) labels: dense with highlighted top rows/columns, or IzzyViz's sparse labels."""
    if cells.sparse:
        options = dict(interval=lens.interval, if_interval=lens.if_interval, if_top_cells=lens.if_top_cells)
        return (tokens.sparse(x_tokens, cells.top[:, 1], **options),
                tokens.sparse(y_tokens, cells.top[:, 0], **options))
    return tokens.dense(x_tokens, cells.top[:, 1]), tokens.dense(y_tokens, cells.top[:, 0])


def draw_lens_panel(
    ax: Axes, data: np.ndarray, cells: LensCells, x_tokens: list[str], y_tokens: list[str],
    lens: TableLens, scale: ColorScale, *, unit_pt: float, boxes: tuple[Box, ...] = (),
    regions: tuple[Box, ...] = (), title: str, xlabel: str, ylabel: str, colorbar: bool = False,
    title_size: float | None = None, look: Look = SCREEN_LOOK,
) -> Panel:
    """One table-lens heatmap with user boxes (red) and detected regions (orange)."""
    x, y = lens_labels(x_tokens, y_tokens, cells, lens)
    show_values = lens.show_scores_in_enlarged_cells and not cells.sparse
    panel = draw_heatmap(
        ax, data, cells.grid, scale, x, y, unit_pt=unit_pt, title=title, xlabel=xlabel, ylabel=ylabel,
        rotation=lens.label_rotation, values_at=cells.top if show_values else None, colorbar=colorbar,
        title_size=title_size, look=look, rotatable=True,
    )
    width = box_width(look)
    draw_boxes(ax, cells.grid, regions, color=REGION_COLOR, linewidth=min(REGION_LINEWIDTH, width),
               alpha=REGION_ALPHA)
    draw_boxes(ax, cells.grid, boxes, linewidth=width)
    return panel


def lens_plan(
    data: np.ndarray, x_tokens: list[str], y_tokens: list[str], lens: TableLens, *, boxes,
    title: str, xlabel: str, ylabel: str, cmap, gamma,
) -> KindPlan:
    """A one-panel table-lens figure (self-attention and cross-attention)."""
    box_list = inputs.boxes(boxes, data.shape)
    scale = figure_scale(data.min(), data.max(), gamma, cmap)
    regions = detect_regions(data) if lens.auto_regions else ()
    cells = lens_cells(data, lens)

    def panels(scale: ColorScale, own_colorbar: bool) -> list[PanelDraft]:
        def draw(ax: Axes, unit_pt: float, look: Look) -> Panel:
            return draw_lens_panel(
                ax, data, cells, x_tokens, y_tokens, lens, scale, unit_pt=unit_pt, boxes=box_list,
                regions=regions, title=title, xlabel=xlabel, ylabel=ylabel, colorbar=own_colorbar, look=look,
            )

        return [PanelDraft(cells.grid.width, cells.grid.height, draw,
                           axes_id=axes_id(cells.grid, x_tokens, y_tokens))]

    return KindPlan(scale, max(data.shape), not cells.sparse, panels,
                    texts=(("title", title), ("xlabel", xlabel), ("ylabel", ylabel)))


def axis_texts(title, xlabel, ylabel, defaults: tuple[str, str, str]) -> tuple[str, str, str]:
    """Title and axis labels with the kind's defaults for ``None``."""
    return tuple(text_or(v, d) for v, d in zip((title, xlabel, ylabel), defaults))
