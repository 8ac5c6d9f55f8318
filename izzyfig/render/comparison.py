"""Comparison with circles: map A as cells, map B as one circle per cell.

A circle's colour is B's value on the shared colour scale (min..max of both maps);
its radius is ``circle_scale * max_circle_ratio * |B - A| / max|B - A|`` cell
widths (at most half a cell), so big circles mark big differences.
"""
from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import EllipseCollection
from matplotlib.figure import Figure

from izzyfig.render import inputs, style
from izzyfig.render.boxes import box_width, draw_boxes
from izzyfig.render.cells import RASTER_CELLS, ColorScale
from izzyfig.render.grid import CellGrid
from izzyfig.render.heatmap import KindPlan, Panel, draw_heatmap, figure_scale, plain_labels
from izzyfig.render.layout import PanelDraft, axes_id
from izzyfig.render.lens import axis_texts
from izzyfig.render.style import Look

DEFAULT_TITLE = "Comparison with Circles"
CIRCLE_ALPHA = 0.7


def render_comparison(
    a, b, x_labels, y_labels, *, boxes=(), circle_scale=1.0, max_circle_ratio=0.45, label_rotation=45,
    title=None, xlabel=None, ylabel=None, cmap="Blues", gamma=1.5, figsize=None, page=None, width=None,
    height=None, min_font=6.0, font="sans", mathtext=False,
) -> Figure:
    """Draw map ``a`` as the heatmap and map ``b`` as circles sized by ``|b - a|``.

    Parameters
    ----------
    a, b : array-like, shape (query, key)
    x_labels : sequence of str, length key
    y_labels : sequence of str, length query
    page, width, height, min_font, font, mathtext
        As for ``render_self_attention``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plan = comparison_plan(a, b, x_labels, y_labels, boxes=boxes, circle_scale=circle_scale,
                           max_circle_ratio=max_circle_ratio, label_rotation=label_rotation, title=title,
                           xlabel=xlabel, ylabel=ylabel, cmap=cmap, gamma=gamma)
    return plan.figure(figsize=figsize, page=page, width=width, height=height, min_font=min_font,
                       font=font, mathtext=mathtext)


def comparison_plan(
    a, b, x_labels, y_labels, *, boxes=(), circle_scale=1.0, max_circle_ratio=0.45, label_rotation=45,
    title=None, xlabel=None, ylabel=None, cmap="Blues", gamma=1.5,
) -> KindPlan:
    """Validated inputs of ``render_comparison`` and how to draw its panel."""
    first = inputs.matrix("a", a)
    second = inputs.matrix("b", b)
    inputs.same_shape("b", second, "a", first)
    columns = inputs.labels("x_labels", x_labels, first.shape[1], "columns")
    rows = inputs.labels("y_labels", y_labels, first.shape[0], "rows")
    box_list = inputs.boxes(boxes, first.shape)
    circle_scale = inputs.positive("circle_scale", circle_scale)
    ratio = inputs.within("max_circle_ratio", max_circle_ratio, 0.0, 0.5, low_open=True)
    rotation = inputs.rotation(label_rotation)
    scale = figure_scale(min(first.min(), second.min()), max(first.max(), second.max()), gamma, cmap)
    texts = axis_texts(title, xlabel, ylabel, (DEFAULT_TITLE, style.DEFAULT_XLABEL, style.DEFAULT_YLABEL))
    grid = CellGrid.uniform(*first.shape)
    x, y = plain_labels(columns), plain_labels(rows)

    def panels(scale: ColorScale, own_colorbar: bool) -> list[PanelDraft]:
        def draw(ax: Axes, unit_pt: float, look: Look) -> Panel:
            panel = draw_heatmap(ax, first, grid, scale, x, y, unit_pt=unit_pt, title=texts[0],
                                 xlabel=texts[1], ylabel=texts[2], colorbar=own_colorbar, look=look,
                                 rotation=rotation, rotatable=True)
            draw_circles(ax, grid, first, second, scale, circle_scale=circle_scale, max_circle_ratio=ratio)
            draw_boxes(ax, grid, box_list, linewidth=box_width(look))
            return panel

        return [PanelDraft(grid.width, grid.height, draw, axes_id=axes_id(grid, columns, rows))]

    return KindPlan(scale, max(first.shape), not x.sparse and not y.sparse, panels,
                    texts=(("title", title), ("xlabel", xlabel), ("ylabel", ylabel)))


def circle_radii(a: np.ndarray, b: np.ndarray, circle_scale: float, max_circle_ratio: float) -> np.ndarray:
    """Radius per cell in cell widths, shape a.shape; zero where the maps agree."""
    diff = np.abs(b - a)
    largest = diff.max()
    if largest == 0:
        return np.zeros_like(diff)
    return np.minimum(circle_scale * max_circle_ratio * diff / largest, 0.5)


def draw_circles(
    ax: Axes, grid: CellGrid, a: np.ndarray, b: np.ndarray, scale: ColorScale, *,
    circle_scale: float, max_circle_ratio: float,
) -> EllipseCollection:
    """All circles as one EllipseCollection in data units, coloured by ``b``."""
    radii = circle_radii(a, b, circle_scale, max_circle_ratio)
    rows, cols = np.nonzero(radii > 0)
    colors = scale.rgba(b[rows, cols])
    colors[:, 3] = CIRCLE_ALPHA
    diameters = 2 * radii[rows, cols]
    circles = EllipseCollection(
        diameters, diameters, np.zeros(len(rows)), units="xy",
        offsets=np.column_stack([grid.col_centers[cols], grid.row_centers[rows]]),
        offset_transform=ax.transData, facecolors=colors, edgecolors="none", zorder=2,
    )
    circles.set_rasterized(a.size > RASTER_CELLS)
    ax.add_collection(circles, autolim=False)
    return circles

