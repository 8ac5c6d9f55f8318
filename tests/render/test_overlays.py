"""Overlay kinds (comparison, stability, evolution, regions): artists against the formulas."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.collections import EllipseCollection, LineCollection, PatchCollection
from matplotlib.colors import PowerNorm

from izzyfig import kernels
from izzyfig.render import render_comparison, render_evolution, render_regions, render_stability

A = np.array([[0.10, 0.20, 0.70], [0.30, 0.30, 0.40], [0.50, 0.25, 0.25]])
B = np.array([[0.40, 0.20, 0.70], [0.30, 0.15, 0.40], [0.50, 0.10, 0.25]])
LABELS = ["x", "y", "z"]


def one(ax, kind):
    (found,) = [c for c in ax.collections if isinstance(c, kind)]
    return found


# --------------------------------------------------------------------------- comparison
def test_comparison_circles_follow_the_formula():
    ax = render_comparison(A, B, LABELS, LABELS, circle_scale=1.0, max_circle_ratio=0.4, gamma=2.0).axes[0]
    circles = one(ax, EllipseCollection)
    # |B - A| = 0.3 at (0, 0), 0.15 at (1, 1) and (2, 1); zero elsewhere: no circle there
    assert np.allclose(circles.get_offsets(), [[0.5, 0.5], [1.5, 1.5], [1.5, 2.5]])
    assert np.allclose(circles.get_widths(), 2 * 0.4 * np.array([1.0, 0.5, 0.5]))
    norm = PowerNorm(gamma=2.0, vmin=0.10, vmax=0.70)  # one scale over both maps
    expected = colormaps["Blues"](norm([0.40, 0.15, 0.10]))
    expected[:, 3] = 0.7
    assert np.allclose(circles.get_facecolors(), expected)


def test_comparison_circle_radius_is_capped_at_half_a_cell():
    ax = render_comparison(A, B, LABELS, LABELS, circle_scale=3.0, max_circle_ratio=0.5).axes[0]
    assert np.allclose(one(ax, EllipseCollection).get_widths(), [1.0, 1.0, 1.0])


def test_identical_maps_draw_no_circles():
    ax = render_comparison(A, A, LABELS, LABELS).axes[0]
    assert len(one(ax, EllipseCollection).get_offsets()) == 0


# --------------------------------------------------------------------------- stability
RUNS = np.stack([A, A + 0.1 * B, A - 0.1 * B, A + 0.05])


def stability_image(**options) -> tuple[np.ndarray, int]:
    ax = render_stability(RUNS, LABELS, LABELS, radial_resolution=40, **options).axes[0]
    (image,) = ax.images
    pixels = image.get_array().shape[0] // 3
    assert tuple(image.get_extent()) == (0, 3, 3, 0)
    return np.asarray(image.get_array()), pixels


def test_stability_circle_radius_follows_the_standard_error():
    image, p = stability_image(max_circle_ratio=0.4)
    assert p == 40
    error = RUNS.std(axis=0) / np.sqrt(len(RUNS))
    radius = 0.4 * error / error.max()
    covered = image[..., 3].reshape(3, p, 3, p).astype(float).sum(axis=(1, 3)) / 255 / p**2
    assert np.allclose(covered, np.pi * radius**2, atol=0.01)


def test_stability_gradient_runs_from_lower_to_upper_bound():
    image, p = stability_image(color_contrast_scale=1.5, gamma=1.0)
    mean, error = RUNS.mean(axis=0), RUNS.std(axis=0) / 2
    vmin, vmax = (mean - error).min(), (mean + error).max()
    cmap, norm = colormaps["Blues"], PowerNorm(1.0, vmin=vmin, vmax=vmax)
    i, j = np.unravel_index(np.argmax(error), error.shape)
    radius_px = 0.45 * p
    centre = image[i * p + p // 2, j * p + p // 2]
    rim = image[i * p + p // 2, j * p + p // 2 + int(radius_px) - 2]
    inner = cmap(norm(np.clip(mean[i, j] - 1.5 * error[i, j], vmin, vmax)))
    outer = cmap(norm(np.clip(mean[i, j] + 1.5 * error[i, j], vmin, vmax)))
    assert np.allclose(centre[:3] / 255, inner[:3], atol=0.03)
    assert np.allclose(rim[:3] / 255, outer[:3], atol=0.06)
    assert image[i * p + 1, j * p + 1, 3] == 0  # corners of the cell stay clear


def test_stability_white_centre():
    image, p = stability_image(use_white_center=True)
    i, j = np.unravel_index(np.argmax(RUNS.std(axis=0)), A.shape)
    t = np.hypot(0.5 / p, 0.5 / p) / 0.45  # centre pixel's distance in radii (largest circle)
    rim = image[i * p + p // 2, j * p + p // 2 + int(0.45 * p) - 1, :3].astype(float)
    centre = image[i * p + p // 2, j * p + p // 2, :3].astype(float)
    assert np.allclose(centre, 255 * (1 - t) + rim * t, atol=3)
    assert rim.max() < 200  # the edge has the colour of mean + err, not white


def test_stability_background_is_the_mean_and_scale_spans_the_bounds():
    ax = render_stability(RUNS, LABELS, LABELS, use_std_error=False).axes[0]
    mesh = ax.collections[0]
    mean, std = RUNS.mean(axis=0), RUNS.std(axis=0)
    assert np.allclose(mesh.get_array(), mean)
    assert (mesh.norm.vmin, mesh.norm.vmax) == pytest.approx(((mean - std).min(), (mean + std).max()))


# --------------------------------------------------------------------------- evolution
STEPS = np.stack([A * (1 - t / 4) + B * t / 4 for t in range(5)])


def sparklines(ax) -> list[np.ndarray]:
    """Every sparkline polyline, split at the NaN rows."""
    out = []
    for path in one(ax, LineCollection).get_paths():
        vertices = path.vertices
        for part in np.split(vertices, np.flatnonzero(np.isnan(vertices[:, 0]))):
            part = part[~np.isnan(part[:, 0])]
            if len(part):
                out.append(part)
    return out


def test_one_sparkline_per_cell_with_one_point_per_step():
    lines = sparklines(render_evolution(STEPS, LABELS, LABELS).axes[0])
    assert len(lines) == 9 and {len(line) for line in lines} == {5}


def test_sparklines_use_the_global_scale_and_sit_in_their_cells():
    ax = render_evolution(STEPS, LABELS, LABELS, normalize_sparklines=False).axes[0]
    low, high = STEPS.min(), STEPS.max()
    by_cell = {(int(line[0, 1] // 1), int(line[0, 0] // 1)): line for line in sparklines(ax)}
    for (i, j), line in by_cell.items():
        level = (STEPS[:, i, j] - low) / (high - low)
        assert np.allclose(line[:, 0], j + 0.5 + 0.8 * np.linspace(-0.5, 0.5, 5))
        assert np.allclose(line[:, 1], i + 0.5 - (level - 0.5) * 0.7)


def test_normalised_sparklines_span_each_cell_range():
    ax = render_evolution(STEPS, LABELS, LABELS, normalize_sparklines=True).axes[0]
    for line in sparklines(ax):
        centre = np.floor(line[0, 1]) + 0.5
        if np.ptp(line[:, 1]) > 0:
            assert np.isclose(line[:, 1].min(), centre - 0.35) and np.isclose(line[:, 1].max(), centre + 0.35)
        else:
            assert np.allclose(line[:, 1], centre)  # a constant cell is a flat line in the middle


def test_sparklines_are_light_on_dark_cells():
    ax = render_evolution(STEPS, LABELS, LABELS, sparkline_color_dark="black",
                          sparkline_color_light="yellow").axes[0]
    collection = one(ax, LineCollection)
    mean = STEPS.mean(axis=0)
    dark_cells = int((mean > PowerNorm(1.5, mean.min(), mean.max()).inverse(0.5)).sum())
    dark_path, light_path = collection.get_paths()
    assert np.isnan(light_path.vertices[:, 0]).sum() == dark_cells
    assert np.isnan(dark_path.vertices[:, 0]).sum() == 9 - dark_cells
    assert np.allclose(collection.get_colors()[:, :3], [[0, 0, 0], [1, 1, 0]])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["Trend (low attention)", "Trend (high attention)"]


def test_step_labels_name_the_first_and_last_step():
    ax = render_evolution(STEPS, LABELS, LABELS, step_labels=["e1", "e2", "e3", "e4", "final"]).axes[0]
    assert ax.get_legend().get_title().get_text() == "Sparklines: e1 → final"


# --------------------------------------------------------------------------- regions
def test_regions_draws_the_kernel_boxes(monkeypatch):
    calls = []

    def fake(matrix, **options):
        calls.append(options)
        return [(0, 1, 1, 2), (2, 0, 2, 0)]

    monkeypatch.setattr(kernels, "find_attention_regions_with_merging", fake)
    ax = render_regions(A, LABELS, LABELS, n_regions=2, merge_threshold=0.5, label_regions=True,
                        region_color="green").axes[0]
    assert calls == [dict(n_seeds=2, min_distance=2, expansion_threshold=0.9, merge_std_threshold=0.5,
                          proximity_threshold=2, max_expansion_steps=3)]
    boxes = one(ax, PatchCollection)
    extents = [[e.x0, e.y0, e.x1, e.y1] for e in (p.get_extents() for p in boxes.get_paths())]
    assert extents == [[1, 0, 3, 2], [0, 2, 1, 3]]
    assert np.allclose(boxes.get_edgecolor()[0], [0, 0.50196, 0, 0.7], atol=1e-4)
    assert [(t.get_text(), t.get_position()) for t in ax.texts] == [("R1", (2.0, 1.0)), ("R2", (0.5, 2.5))]


def test_regions_match_the_real_kernel():
    rng = np.random.default_rng(7)
    data = rng.random((10, 10)) * 0.1
    data[2:4, 5:8] += 0.8
    expected = kernels.find_attention_regions_with_merging(data, n_seeds=3, expansion_threshold=0.9)
    ax = render_regions(data, list("abcdefghij"), list("abcdefghij")).axes[0]
    drawn = [(int(e.y0), int(e.x0), int(e.y1) - 1, int(e.x1) - 1)
             for e in (p.get_extents() for p in one(ax, PatchCollection).get_paths())]
    assert drawn == [tuple(box) for box in expected]
