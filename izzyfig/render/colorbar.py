"""A slim colorbar glued to the right edge of a heatmap, with 7 evenly spaced value ticks."""
from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from izzyfig.render import style
from izzyfig.render.cells import ColorScale
from izzyfig.render.tokens import keep_apart

N_TICKS = 7
WIDTH_IN = 0.14
PAD_IN = 0.12


def add_colorbar(ax: Axes, scale: ColorScale, *, height_pt: float, label: str | None = None) -> Colorbar:
    """Colorbar in an inset axes ``PAD_IN`` right of ``ax``, ``WIDTH_IN`` wide, full height.

    The inset is positioned in inches from the axes' right edge, so it follows the
    heatmap wherever the layout (or the caller's own axes) puts it. Ticks closer
    than a line of text on a bar ``height_pt`` tall are dropped (ends kept).
    """
    fig = ax.get_figure()
    x_inches = fig.dpi_scale_trans + ScaledTranslation(1.0, 0.0, ax.transAxes)
    cax = ax.inset_axes(
        (PAD_IN, 0.0, WIDTH_IN, 1.0), transform=blended_transform_factory(x_inches, ax.transAxes)
    )
    bar = fig.colorbar(ScalarMappable(norm=scale.norm, cmap=scale.cmap), cax=cax)
    bar.outline.set_visible(False)
    values = tick_values(scale)
    values = values[readable_ticks(scale, values, height_pt)]
    bar.set_ticks(values, labels=tick_labels(values))
    cax.tick_params(labelsize=style.COLORBAR_TICK_SIZE, length=2.0, width=0.6, color="0.4", pad=2.0)
    if label:
        bar.set_label(label, fontsize=style.COLORBAR_TICK_SIZE + 1)
    return bar


def tick_values(scale: ColorScale) -> np.ndarray:
    """Seven values from vmin to vmax (the single value of a constant map)."""
    if scale.constant:
        return np.array([(scale.norm.vmin + scale.norm.vmax) / 2])
    return np.linspace(scale.norm.vmin, scale.norm.vmax, N_TICKS)


def readable_ticks(scale: ColorScale, values: np.ndarray, height_pt: float) -> np.ndarray:
    """Indices of ``values`` whose labels do not collide on the (PowerNorm-spaced) bar."""
    positions = np.asarray(scale.norm(values), dtype=float) * height_pt
    priority = np.ones(len(values), dtype=int)
    priority[[0, -1]] = 0
    return keep_apart(positions, priority, 1.2 * style.COLORBAR_TICK_SIZE)


def tick_labels(values: np.ndarray) -> list[str]:
    """Fixed decimals, at least 2, as many as needed to tell the ticks apart."""
    if np.max(np.abs(values)) >= 1e4:
        return [_minus(f"{v:.3g}") for v in values]
    for decimals in range(2, 9):
        labels = [_minus(f"{v:.{decimals}f}") for v in values]
        if len(set(labels)) == len(labels):
            break
    return labels


def _minus(text: str) -> str:
    """Typographic minus; no "-0.00"."""
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", "\N{MINUS SIGN}")
