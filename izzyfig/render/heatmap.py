"""The heatmap panel every kind starts from: mesh, token axes, values, colorbar."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colorbar import Colorbar
from matplotlib.figure import Figure

from izzyfig.render import inputs, layout, style, tokens
from izzyfig.render.cells import ColorScale, color_scale, draw_mesh, draw_values
from izzyfig.render.colorbar import add_colorbar
from izzyfig.render.grid import CellGrid


@dataclass
class Panel:
    """What a kind drew into one axes (tests and callers inspect these artists)."""

    ax: Axes
    grid: CellGrid
    scale: ColorScale
    mesh: QuadMesh
    colorbar: Colorbar | None


def plain_labels(labels: list[str]) -> tokens.AxisLabels:
    """Labels of kinds without table-lens options: every token, evenly thinned when long."""
    if len(labels) > style.DEFAULT_LENGTH_THRESHOLD:
        return tokens.strided(labels)
    return tokens.dense(labels)


def draw_heatmap(
    ax: Axes, data: np.ndarray, grid: CellGrid, scale: ColorScale,
    x: tokens.AxisLabels, y: tokens.AxisLabels, *, unit_pt: float, title: str, xlabel: str,
    ylabel: str, rotation: int = 45, linecolor="white", linewidth: float = 1.0,
    values_at: np.ndarray | None = None, colorbar: bool = True, title_size: float = style.TITLE_SIZE,
) -> Panel:
    """Cells, labels, optional values in ``values_at`` (k, 2) cells, titles and colorbar."""
    mesh = draw_mesh(ax, grid, data, scale, linecolor=linecolor, linewidth=linewidth, unit_pt=unit_pt)
    tokens.draw(ax, grid, x, y, rotation=rotation, unit_pt=unit_pt)
    if values_at is not None:
        draw_values(ax, grid, data, values_at, scale, unit_pt)
    ax.set_title(title, fontsize=title_size, pad=8.0)
    ax.set_xlabel(xlabel, fontsize=style.AXIS_LABEL_SIZE, labelpad=6.0)
    ax.set_ylabel(ylabel, fontsize=style.AXIS_LABEL_SIZE, labelpad=6.0)
    bar = add_colorbar(ax, scale, height_pt=grid.height * unit_pt) if colorbar else None
    return Panel(ax, grid, scale, mesh, bar)


def axes_unit_pt(ax: Axes, grid: CellGrid) -> float:
    """Points per cell unit of a caller's axes (the ``ax=`` path of the Python API)."""
    box = ax.get_window_extent()
    dpi = ax.get_figure().dpi
    return 72.0 / dpi * min(box.width / grid.width, box.height / grid.height)


def single_panel(
    grid: CellGrid, n_tokens: int, dense: bool, figsize, draw: Callable[[Axes, float], Panel],
    *, unit_scale: float = 1.0,
) -> Figure:
    """A figure holding one heatmap panel drawn by ``draw(ax, unit_pt)``, sized to fit."""
    fig, ax = layout.new_figure()
    if figsize is None:
        unit_in = layout.unit_inches(n_tokens, dense, scale=unit_scale)
    else:
        unit_in = layout.estimate_unit([[(grid.width, grid.height)]], figsize)
    panel = draw(ax, unit_in * 72.0)
    layout.arrange(fig, [[layout.Slot(panel.ax, grid.width, grid.height)]], unit_in, figsize=figsize)
    return fig


def figure_scale(low: float, high: float, gamma, cmap) -> ColorScale:
    """Validated ``cmap``/``gamma`` and the colour scale over [low, high]."""
    return color_scale(float(low), float(high), inputs.positive("gamma", gamma), inputs.colormap(cmap))


def text_or(value: str | None, default: str) -> str:
    """A title/axis label: ``None`` means the kind's default, ``""`` means none."""
    return default if value is None else str(value)
