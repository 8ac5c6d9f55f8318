"""Rasterise renders to PNG and check pixel colours at known cell centres."""
from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import PowerNorm
from matplotlib.image import imread

from izzyfig.render import render_comparison, render_self_attention, save_figure

DATA = np.array(
    [[0.05, 0.30, 0.10, 0.55], [0.20, 0.20, 0.40, 0.20], [0.70, 0.05, 0.05, 0.20], [0.25, 0.25, 0.25, 0.25]]
)
WORDS = ["[CLS]", "a", "b", "[SEP]"]


def png_pixels(fig, tmp_path) -> np.ndarray:
    path = tmp_path / "fig.png"
    save_figure(fig, path)
    return imread(path)[..., :3]


def cell_pixel(fig, pixels: np.ndarray, row: float, col: float, rows: int, cols: int) -> np.ndarray:
    """Pixel at (row, col) in cell units of a uniform ``rows`` x ``cols`` heatmap (row 0 on top)."""
    box = fig.axes[0].get_window_extent()
    x = box.x0 + col / cols * box.width
    y = box.y1 - row / rows * box.height
    return pixels[int(round(pixels.shape[0] - y)), int(round(x))]


def test_cell_centres_have_the_colormap_colour(tmp_path):
    fig = render_self_attention(DATA, WORDS, top_n=0, gamma=1.5, cmap="viridis")
    pixels = png_pixels(fig, tmp_path)
    expected = colormaps["viridis"](PowerNorm(1.5, vmin=0.05, vmax=0.70)(DATA))[..., :3]
    for i in range(4):
        for j in range(4):
            assert np.allclose(cell_pixel(fig, pixels, i + 0.5, j + 0.5, 4, 4), expected[i, j], atol=2 / 255)


def test_grid_lines_are_white_and_boxes_red(tmp_path):
    fig = render_self_attention(DATA, WORDS, top_n=0, boxes=[(1, 1, 2, 2)])
    pixels = png_pixels(fig, tmp_path)
    assert np.allclose(cell_pixel(fig, pixels, 0.5, 3.0, 4, 4), [1, 1, 1], atol=0.02)  # between cells
    assert np.allclose(cell_pixel(fig, pixels, 1.5, 1.0, 4, 4), [1, 0, 0], atol=0.02)  # box left edge
    assert np.allclose(cell_pixel(fig, pixels, 3.0, 1.5, 4, 4), [1, 0, 0], atol=0.02)  # box bottom edge


def test_comparison_circle_blends_over_its_cell(tmp_path):
    second = DATA.copy()
    second[2, 0] = 0.05  # the only difference: a full-size circle at (2, 0)
    fig = render_comparison(DATA, second, WORDS, WORDS, gamma=1.0)
    pixels = png_pixels(fig, tmp_path)
    cmap, norm = colormaps["Blues"], PowerNorm(1.0, vmin=0.05, vmax=0.70)
    cell, circle = cmap(norm(0.70))[:3], cmap(norm(0.05))[:3]
    blended = 0.7 * np.array(circle) + 0.3 * np.array(cell)
    assert np.allclose(cell_pixel(fig, pixels, 2.5, 0.5, 4, 4), blended, atol=3 / 255)
    assert np.allclose(cell_pixel(fig, pixels, 2.08, 0.08, 4, 4), cell, atol=3 / 255)  # corner: no circle
    assert np.allclose(cell_pixel(fig, pixels, 1.5, 1.5, 4, 4), cmap(norm(0.20))[:3], atol=3 / 255)
