"""Evolution: mean over T steps as cells, and each cell's T values as a sparkline.

Sparklines share one y scale (global min..max) or use each cell's own range
(``normalize_sparklines``); they are dark on light cells and light on dark cells
(switching where the colour scale reaches its middle). All sparklines are one
LineCollection.
"""
from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from izzyfig.errors import RenderError
from izzyfig.render import inputs, style
from izzyfig.render.boxes import box_width, draw_boxes
from izzyfig.render.cells import RASTER_CELLS, ColorScale
from izzyfig.render.grid import CellGrid
from izzyfig.render.heatmap import KindPlan, Panel, draw_heatmap, figure_scale, plain_labels
from izzyfig.render.layout import PanelDraft, axes_id
from izzyfig.render.lens import axis_texts
from izzyfig.render.style import SCREEN_LOOK, Look

DEFAULT_TITLE = "Attention Evolution Over Training"
SPARK_WIDTH = 0.8  # of the cell width
SPARK_HEIGHT = 0.7  # of the cell height


def render_evolution(
    steps, x_labels, y_labels, *, boxes=(), step_labels=None, sparkline_color_dark="darkblue",
    sparkline_color_light="white", sparkline_linewidth=1.0, sparkline_alpha=0.8,
    normalize_sparklines=False, label_rotation=45, title=None, xlabel=None, ylabel=None, cmap="Blues",
    gamma=1.5, figsize=None, page=None, width=None, height=None, min_font=6.0, font="sans",
    mathtext=False,
) -> Figure:
    """Draw ``steps`` (T, query, key), T >= 2 snapshots in training order.

    Parameters
    ----------
    step_labels : sequence of T str, optional
        Names of the steps; the legend names the first and last.
    page, width, height, min_font, font, mathtext
        As for ``render_self_attention``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plan = evolution_plan(
        steps, x_labels, y_labels, boxes=boxes, step_labels=step_labels,
        sparkline_color_dark=sparkline_color_dark, sparkline_color_light=sparkline_color_light,
        sparkline_linewidth=sparkline_linewidth, sparkline_alpha=sparkline_alpha,
        normalize_sparklines=normalize_sparklines, label_rotation=label_rotation, title=title, xlabel=xlabel,
        ylabel=ylabel, cmap=cmap, gamma=gamma,
    )
    return plan.figure(figsize=figsize, page=page, width=width, height=height, min_font=min_font,
                       font=font, mathtext=mathtext)


def evolution_plan(
    steps, x_labels, y_labels, *, boxes=(), step_labels=None, sparkline_color_dark="darkblue",
    sparkline_color_light="white", sparkline_linewidth=1.0, sparkline_alpha=0.8,
    normalize_sparklines=False, label_rotation=45, title=None, xlabel=None, ylabel=None, cmap="Blues",
    gamma=1.5,
) -> KindPlan:
    """Validated inputs of ``render_evolution`` and how to draw its panel."""
    maps = inputs.stack("steps", steps, "steps")
    mean = inputs.quantize(maps.mean(axis=0))
    columns = inputs.labels("x_labels", x_labels, mean.shape[1], "columns")
    rows = inputs.labels("y_labels", y_labels, mean.shape[0], "rows")
    names = _step_names(step_labels, maps.shape[0])
    box_list = inputs.boxes(boxes, mean.shape)
    colors = (inputs.color("sparkline_color_dark", sparkline_color_dark),
              inputs.color("sparkline_color_light", sparkline_color_light))
    linewidth = inputs.positive("sparkline_linewidth", sparkline_linewidth)
    alpha = inputs.within("sparkline_alpha", sparkline_alpha, 0.0, 1.0)
    rotation = inputs.rotation(label_rotation)
    scale = figure_scale(mean.min(), mean.max(), gamma, cmap)
    texts = axis_texts(title, xlabel, ylabel, (DEFAULT_TITLE, style.DEFAULT_XLABEL, style.DEFAULT_YLABEL))
    grid = CellGrid.uniform(*mean.shape)
    x, y = plain_labels(columns), plain_labels(rows)

    def panels(scale: ColorScale, own_colorbar: bool) -> list[PanelDraft]:
        def draw(ax: Axes, unit_pt: float, look: Look) -> Panel:
            panel = draw_heatmap(ax, mean, grid, scale, x, y, unit_pt=unit_pt, title=texts[0],
                                 xlabel=texts[1], ylabel=texts[2], colorbar=own_colorbar, look=look,
                                 rotation=rotation, rotatable=True)
            lines = draw_sparklines(ax, grid, maps, mean, scale, colors=colors, normalize=normalize_sparklines,
                                    linewidth=min(linewidth, 0.08 * unit_pt), alpha=alpha)
            draw_boxes(ax, grid, box_list, linewidth=box_width(look))
            add_legend(ax, lines, colors, scale, names, look)
            return panel

        return [PanelDraft(grid.width, grid.height, draw, axes_id=axes_id(grid, columns, rows))]

    user_texts = (("title", title), ("xlabel", xlabel), ("ylabel", ylabel)) + tuple(
        ("step_labels", name) for name in (step_labels or ()))
    return KindPlan(scale, max(mean.shape), not (x.sparse or y.sparse), panels, unit_scale=1.2,
                    texts=user_texts)


def sparkline_paths(maps: np.ndarray, grid: CellGrid, normalize: bool) -> np.ndarray:
    """Polyline vertices (rows*cols, T, 2) of every cell's values, row-major."""
    steps = maps.shape[0]
    if normalize:
        low, high = maps.min(axis=0), maps.max(axis=0)
    else:
        low, high = np.full(maps.shape[1:], maps.min()), np.full(maps.shape[1:], maps.max())
    span = high - low
    level = np.where(span > 0, (maps - low) / np.where(span > 0, span, 1.0), 0.5)  # (T, rows, cols)
    ramp = np.linspace(-0.5, 0.5, steps)
    x = grid.col_centers[None, :, None] + SPARK_WIDTH * grid.col_widths[None, :, None] * ramp
    height = SPARK_HEIGHT * grid.row_heights[:, None, None]
    y = grid.row_centers[:, None, None] - (level.transpose(1, 2, 0) - 0.5) * height
    x = np.broadcast_to(x, y.shape)
    return np.stack([x, y], axis=-1).reshape(-1, steps, 2)


def light_cells(mean: np.ndarray, scale: ColorScale) -> np.ndarray:
    """True where the background is dark (above the middle of the colour scale)."""
    return mean > scale.norm.inverse(0.5)


def draw_sparklines(
    ax: Axes, grid: CellGrid, maps: np.ndarray, mean: np.ndarray, scale: ColorScale, *,
    colors: tuple, normalize: bool, linewidth: float, alpha: float,
) -> LineCollection:
    """All sparklines as one LineCollection of two NaN-separated polylines (dark, light).

    Joining the cells' polylines keeps 262k sparklines (512 tokens) at two paths,
    which matplotlib draws and writes as fast as one.
    """
    paths = sparkline_paths(maps, grid, normalize)
    use_light = light_cells(mean, scale).ravel()
    lines = LineCollection(
        [join_polylines(paths[~use_light]), join_polylines(paths[use_light])],
        colors=[to_rgba(colors[0]), to_rgba(colors[1])], linewidths=linewidth, alpha=alpha,
        zorder=2, capstyle="round", joinstyle="round",
    )
    lines.set_rasterized(mean.size > RASTER_CELLS)
    ax.add_collection(lines, autolim=False)
    return lines


def join_polylines(paths: np.ndarray) -> np.ndarray:
    """(k, T, 2) polylines as one (k * (T + 1), 2) array with a NaN row after each."""
    gap = np.full((len(paths), 1, 2), np.nan)
    return np.concatenate([paths, gap], axis=1).reshape(-1, 2)


def add_legend(ax: Axes, lines: LineCollection, colors: tuple, scale: ColorScale, names: tuple[str, str],
               look: Look = SCREEN_LOOK):
    """Legend under the heatmap on the mid-scale colour, where both line colours show."""
    width = float(np.atleast_1d(lines.get_linewidths())[0])
    handles = [
        Line2D([], [], color=colors[0], lw=max(width, 1.0), label="Trend (low attention)"),
        Line2D([], [], color=colors[1], lw=max(width, 1.0), label="Trend (high attention)"),
    ]
    size = look.typo.legend
    legend = ax.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=2, fontsize=size,
        title=f"Sparklines: {names[0]} → {names[1]}", title_fontsize=size, frameon=True,
        facecolor=scale.cmap(0.5), edgecolor="none", framealpha=1.0,
        **({"handlelength": 1.5, "columnspacing": 1.0, "borderpad": 0.3} if look.on_page else {}),
    )
    legend.get_title().set_parse_math(look.mathtext)
    for text in legend.get_texts():
        text.set_parse_math(False)
    return legend


def _step_names(step_labels, steps: int) -> tuple[str, str]:
    if step_labels is None:
        return ("step 1", f"step {steps}")
    names = [str(s) for s in step_labels]
    if len(names) != steps:
        raise RenderError(f"step_labels: got {len(names)} labels for {steps} steps")
    return (names[0], names[-1])
