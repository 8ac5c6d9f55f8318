"""Heatmap cells: the colour scale, the single QuadMesh, and value annotations."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colors import Colormap, PowerNorm

from izzyfig.render.grid import CellGrid
from izzyfig.render.style import SCREEN_LOOK, Look

# Above this many cells a mesh (and its overlays) is drawn as one raster image
# inside the PDF: hundreds of thousands of vector paths are slow and large.
RASTER_CELLS = 96 * 96
VALUE_DECIMALS = 3


@dataclass(frozen=True)
class ValueNote:
    """Scores of ``dropped`` of ``total`` top cells did not fit at ``size`` points."""

    dropped: int
    total: int
    size: float


@dataclass(frozen=True)
class ColorScale:
    """A colormap with a PowerNorm over [vmin, vmax]; ``constant`` when the data had no range."""

    cmap: Colormap
    norm: PowerNorm
    constant: bool = False

    def rgba(self, values: np.ndarray) -> np.ndarray:
        """RGBA colours, shape values.shape + (4,)."""
        return self.cmap(self.norm(values))


def color_scale(low: float, high: float, gamma: float, cmap: Colormap) -> ColorScale:
    """PowerNorm(gamma) over [low, high]; a constant range is widened around its value."""
    if high > low:
        return ColorScale(cmap, PowerNorm(gamma=gamma, vmin=low, vmax=high))
    pad = max(abs(low) * 1e-3, 1e-6)
    return ColorScale(cmap, PowerNorm(gamma=gamma, vmin=low - pad, vmax=low + pad), constant=True)


def grid_linewidth(linewidth: float, unit_pt: float) -> float:
    """Grid lines at most a tenth of a cell wide, and none when cells are tiny."""
    if unit_pt < 3.0:
        return 0.0
    return float(min(linewidth, 0.1 * unit_pt))


def draw_mesh(
    ax: Axes, grid: CellGrid, data: np.ndarray, scale: ColorScale, *,
    linecolor="white", linewidth: float = 1.0, unit_pt: float,
) -> QuadMesh:
    """One pcolormesh over the (possibly non-uniform) grid; y runs downwards."""
    width = grid_linewidth(linewidth, unit_pt)
    mesh = ax.pcolormesh(
        grid.col_edges, grid.row_edges, data, cmap=scale.cmap, norm=scale.norm,
        edgecolors=linecolor if width > 0 else "face", linewidth=width, shading="flat",
    )
    mesh.set_rasterized(data.size > RASTER_CELLS)
    ax.set_xlim(0.0, grid.width)
    ax.set_ylim(grid.height, 0.0)
    ax.set_aspect("equal")
    for spine in ax.spines.values():
        spine.set_visible(False)
    return mesh


def text_colors(rgba: np.ndarray) -> list[str]:
    """Black on light backgrounds, white on dark ones (WCAG relative luminance)."""
    rgb = np.asarray(rgba, dtype=float)[..., :3]
    linear = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    luminance = linear @ np.array([0.2126, 0.7152, 0.0722])
    return ["black" if v > 0.408 else "white" for v in np.atleast_1d(luminance)]


def _page_value(value: float) -> str:
    """Two decimals without the leading zero (``.56``), as tables in papers print them."""
    text = f"{value:.2f}"
    if text.startswith(("0.", "-0.")):
        text = text.replace("0.", ".", 1)
    return text.replace("-", "\N{MINUS SIGN}")


def draw_values(
    ax: Axes, grid: CellGrid, data: np.ndarray, cells: np.ndarray, scale: ColorScale, unit_pt: float,
    look: Look = SCREEN_LOOK,
) -> list:
    """Write the value (3 decimals) in each of ``cells`` (k, 2) where the text fits.

    A value is written only at ``look.typo.value_min`` points or more; on a page the
    cells whose score does not fit are noted.
    """
    if len(cells) == 0:
        return []
    rows, cols = cells[:, 0], cells[:, 1]
    values = data[rows, cols]
    texts = [_page_value(v) if look.on_page else f"{v:.{VALUE_DECIMALS}f}" for v in values]
    widths = grid.col_widths[cols] * unit_pt
    heights = grid.row_heights[rows] * unit_pt
    chars = np.array([len(t) for t in texts])
    # ~0.6 em per character must fit 90% of the width; the line must fit the height
    sizes = np.minimum(np.minimum(0.9 * widths / (0.6 * chars), heights / 1.5), look.typo.value_max)
    colors = text_colors(scale.rgba(values))
    artists = []
    fits = np.flatnonzero(sizes >= look.typo.value_min)
    if look.on_page and len(fits) < len(cells):
        look.notes.append(ValueNote(len(cells) - len(fits), len(cells), look.typo.value_min))
    step = math.floor if look.on_page else round  # on a page never above the size that fits
    used = {int(k): max(step(sizes[k] * 2) / 2, look.typo.value_min) for k in fits}
    if look.on_page and used:
        look.room.append(min(sizes[k] / size for k, size in used.items()))
    for k in fits:
        artists.append(
            ax.text(
                grid.col_centers[cols[k]], grid.row_centers[rows[k]], texts[k],
                ha="center", va="center", fontsize=used[int(k)],
                color=colors[k], parse_math=False, zorder=3,
            )
        )
    return artists
