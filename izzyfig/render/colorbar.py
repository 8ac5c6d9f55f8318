"""A slim colorbar beside a heatmap (or a grid of them), with up to 7 evenly spaced value ticks."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from izzyfig.render.cells import ColorScale
from izzyfig.render.style import SCREEN_LOOK, Look
from izzyfig.render.tokens import keep_apart

N_TICKS = 7


@dataclass(frozen=True)
class BarGeometry:
    """Width of the bar and its distance from the heatmap, in inches."""

    width: float
    pad: float


SCREEN_BAR = BarGeometry(0.14, 0.12)
PAGE_BAR = BarGeometry(0.09, 0.06)


def bar_geometry(look: Look) -> BarGeometry:
    return PAGE_BAR if look.on_page else SCREEN_BAR


def add_colorbar(ax: Axes, scale: ColorScale, *, height_pt: float, look: Look = SCREEN_LOOK) -> Colorbar:
    """Colorbar in an inset axes right of ``ax``, full height (the caller's-axes path).

    The inset is positioned in inches from the axes' right edge, so it follows the
    heatmap wherever the layout (or the caller's own axes) puts it.
    """
    fig = ax.get_figure()
    geometry = bar_geometry(look)
    x_inches = fig.dpi_scale_trans + ScaledTranslation(1.0, 0.0, ax.transAxes)
    cax = ax.inset_axes(
        (geometry.pad, 0.0, geometry.width, 1.0), transform=blended_transform_factory(x_inches, ax.transAxes)
    )
    cax.set_label("colorbar")
    return draw_colorbar(cax, scale, height_pt=height_pt, look=look)


def draw_colorbar(cax: Axes, scale: ColorScale, *, height_pt: float, look: Look = SCREEN_LOOK) -> Colorbar:
    """Draw the bar of ``scale`` into ``cax``; ticks closer than a line of text on a bar
    ``height_pt`` tall are dropped (the ends are kept)."""
    bar = cax.get_figure().colorbar(ScalarMappable(norm=scale.norm, cmap=scale.cmap), cax=cax)
    bar.outline.set_visible(False)
    size = look.typo.colorbar_tick
    values = tick_values(scale)
    values = values[readable_ticks(scale, values, height_pt, size)]
    if look.on_page and len(values) > 1:
        spacing = np.min(np.diff(np.asarray(scale.norm(values), dtype=float))) * height_pt
        look.room.append(spacing / (1.2 * size))
    bar.set_ticks(values, labels=tick_labels(values, mathtext_minus=look.font == "cm"))
    cax.tick_params(labelsize=size, length=2.0, width=0.6, color="0.4", pad=2.0)
    return bar


def tick_values(scale: ColorScale) -> np.ndarray:
    """Seven values from vmin to vmax (the single value of a constant map)."""
    if scale.constant:
        return np.array([(scale.norm.vmin + scale.norm.vmax) / 2])
    return np.linspace(scale.norm.vmin, scale.norm.vmax, N_TICKS)


def readable_ticks(scale: ColorScale, values: np.ndarray, height_pt: float, size: float = 8.0) -> np.ndarray:
    """Indices of ``values`` whose labels do not collide on the (PowerNorm-spaced) bar."""
    positions = np.asarray(scale.norm(values), dtype=float) * height_pt
    priority = np.ones(len(values), dtype=int)
    priority[[0, -1]] = 0
    return keep_apart(positions, priority, 1.2 * size)


def tick_labels(values: np.ndarray, *, mathtext_minus: bool = False) -> list[str]:
    """Fixed decimals, at least 2, as many as needed to tell the ticks apart.

    ``mathtext_minus`` writes negative numbers as mathtext (Computer Modern has no
    Unicode minus; mathtext takes it from ``cmsy10``).
    """
    if np.max(np.abs(values)) >= 1e4:
        labels = [_minus(f"{v:.3g}") for v in values]
    else:
        for decimals in range(2, 9):
            labels = [_minus(f"{v:.{decimals}f}") for v in values]
            if len(set(labels)) == len(labels):
                break
    if mathtext_minus:
        labels = [f"${label.replace(chr(0x2212), '-')}$" if "\N{MINUS SIGN}" in label else label
                  for label in labels]
    return labels


def _minus(text: str) -> str:
    """Typographic minus; no "-0.00"."""
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", "\N{MINUS SIGN}")
