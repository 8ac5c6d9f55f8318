"""Stability: mean over N runs as cells, spread as one gradient circle per cell.

Each circle's radius is ``circle_scale * max_circle_ratio * err / max(err)`` cell
widths (err = standard error, or standard deviation), and it fades radially from
the colour of ``mean - k*err`` at the centre to ``mean + k*err`` at the edge
(k = ``color_contrast_scale``; with ``use_white_center`` from white to
``mean + err``). All circles are one RGBA image computed in NumPy.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from izzyfig.render import inputs, style
from izzyfig.render.boxes import box_width, draw_boxes
from izzyfig.render.cells import ColorScale
from izzyfig.render.grid import CellGrid
from izzyfig.render.heatmap import (
    KindPlan, Panel, axes_unit_pt, draw_heatmap, figure_scale, job_plan, plain_labels,
)
from izzyfig.render.inputs import Box
from izzyfig.render.lens import axis_texts
from izzyfig.render.style import SCREEN_LOOK, Look

DEFAULT_TITLE = "Check Stability Heatmap with Gradient Circles"
PIXELS_PER_INCH = 250  # gradient image resolution on the page
MAX_IMAGE_SIDE = 2048
_CHUNK_PIXELS = 1 << 21  # rows of cells are rendered in chunks of about this many pixels
_NO_ERROR = 1e-12


@dataclass(frozen=True)
class StabilityJob:
    """Validated inputs of one stability panel; ``mean`` and ``error`` have shape (rows, cols)."""

    mean: np.ndarray
    error: np.ndarray
    columns: list[str]
    rows: list[str]
    boxes: tuple[Box, ...]
    scale: ColorScale
    texts: tuple[str, str, str]
    linecolor: object
    linewidths: float
    radial_resolution: int
    use_white_center: bool
    color_contrast_scale: float
    circle_scale: float
    max_circle_ratio: float
    label_rotation: int = 90

    @property
    def grid(self) -> CellGrid:
        return CellGrid.uniform(*self.mean.shape)


def stability_job(
    runs, x_labels, y_labels, *, boxes=(), use_std_error=True, linecolor="white", linewidths=1.0,
    radial_resolution=100, use_white_center=False, color_contrast_scale=2.0, circle_scale=1.0,
    max_circle_ratio=0.45, label_rotation=90, title=None, xlabel=None, ylabel=None, cmap="Blues", gamma=1.5,
) -> StabilityJob:
    """Validate the options and compute mean and error of ``runs`` (n, rows, cols)."""
    maps = inputs.stack("runs", runs, "runs")
    mean, error = mean_and_error(maps, use_std_error)
    return StabilityJob(
        mean=mean, error=error,
        columns=inputs.labels("x_labels", x_labels, mean.shape[1], "columns"),
        rows=inputs.labels("y_labels", y_labels, mean.shape[0], "rows"),
        boxes=inputs.boxes(boxes, mean.shape),
        scale=figure_scale((mean - error).min(), (mean + error).max(), gamma, cmap),
        texts=axis_texts(title, xlabel, ylabel, (DEFAULT_TITLE, style.DEFAULT_XLABEL, style.DEFAULT_YLABEL)),
        linecolor=inputs.color("linecolor", linecolor),
        linewidths=inputs.at_least("linewidths", linewidths, 0.0),
        radial_resolution=int(inputs.within("radial_resolution", radial_resolution, 4, 1000)),
        use_white_center=bool(use_white_center),
        color_contrast_scale=inputs.at_least("color_contrast_scale", color_contrast_scale, 0.0),
        circle_scale=inputs.positive("circle_scale", circle_scale),
        max_circle_ratio=inputs.within("max_circle_ratio", max_circle_ratio, 0.0, 0.5, low_open=True),
        label_rotation=inputs.rotation(label_rotation),
    )


def render_stability(
    runs, x_labels, y_labels, *, boxes=(), use_std_error=True, linecolor="white", linewidths=1.0,
    radial_resolution=100, use_white_center=False, color_contrast_scale=2.0, circle_scale=1.0,
    max_circle_ratio=0.45, label_rotation=90, title=None, xlabel=None, ylabel=None, cmap="Blues",
    gamma=1.5, figsize=None, page=None, width=None, height=None, min_font=6.0, font="sans",
    mathtext=False,
) -> Figure:
    """Draw the stability of ``runs`` (n, query, key) across n >= 2 runs.

    ``page``, ``width``, ``height``, ``min_font``, ``font`` and ``mathtext`` are as for
    ``render_self_attention``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plan = stability_plan(
        runs, x_labels, y_labels, boxes=boxes, use_std_error=use_std_error, linecolor=linecolor,
        linewidths=linewidths, radial_resolution=radial_resolution, use_white_center=use_white_center,
        color_contrast_scale=color_contrast_scale, circle_scale=circle_scale,
        max_circle_ratio=max_circle_ratio, label_rotation=label_rotation, title=title, xlabel=xlabel,
        ylabel=ylabel, cmap=cmap, gamma=gamma,
    )
    return plan.figure(figsize=figsize, page=page, width=width, height=height, min_font=min_font,
                       font=font, mathtext=mathtext)


def stability_plan(runs, x_labels, y_labels, **options) -> KindPlan:
    """Validated inputs of ``render_stability`` (keywords as there) and how to draw its panel."""
    job = stability_job(runs, x_labels, y_labels, **options)
    texts = tuple((name, options.get(name)) for name in ("title", "xlabel", "ylabel"))
    return job_plan(job, draw_stability, job.mean.shape, texts)


def draw_stability(ax: Axes, job: StabilityJob, unit_pt: float | None = None, *,
                   scale: ColorScale | None = None, colorbar: bool = True, look: Look = SCREEN_LOOK) -> Panel:
    """Draw ``job`` into ``ax`` (cells, gradient circles, boxes, colour bar if ``colorbar``).

    ``scale`` replaces the job's own colour scale (panels that share one).
    """
    grid = job.grid
    unit_pt = axes_unit_pt(ax, grid) if unit_pt is None else unit_pt
    if scale is not None and scale is not job.scale:
        job = replace(job, scale=scale)
    panel = draw_heatmap(
        ax, job.mean, grid, job.scale, plain_labels(job.columns), plain_labels(job.rows),
        unit_pt=unit_pt, title=job.texts[0], xlabel=job.texts[1], ylabel=job.texts[2],
        rotation=job.label_rotation, rotatable=True, linecolor=job.linecolor, linewidth=job.linewidths,
        colorbar=colorbar, look=look,
    )
    pixels = int(np.clip(round(unit_pt / 72 * PIXELS_PER_INCH), 4, job.radial_resolution))
    pixels = max(2, min(pixels, MAX_IMAGE_SIDE // max(job.mean.shape)))
    inner, outer = gradient_colors(job)
    image = AxesImage(ax, interpolation="none", origin="upper", extent=(0, grid.width, grid.height, 0),
                      zorder=2)
    image.set_data(gradient_image(inner, outer, circle_radii(job), pixels))
    ax.add_image(image)
    draw_boxes(ax, grid, job.boxes, linewidth=box_width(look))
    return panel


def mean_and_error(maps: np.ndarray, use_std_error: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error (or population std) over axis 0, rounded like all inputs."""
    error = maps.std(axis=0)
    if use_std_error:
        error = error / np.sqrt(maps.shape[0])
    return inputs.quantize(maps.mean(axis=0)), inputs.quantize(error)


def circle_radii(job: StabilityJob) -> np.ndarray:
    """Radius per cell in cell widths (rows, cols); zero where the runs agree."""
    largest = job.error.max()
    if largest < _NO_ERROR:
        return np.zeros_like(job.error)
    radii = job.error / largest * job.max_circle_ratio * job.circle_scale
    return np.where(job.error < _NO_ERROR, 0.0, np.minimum(radii, 0.5))


def gradient_colors(job: StabilityJob) -> tuple[np.ndarray, np.ndarray]:
    """Centre and edge RGBA of every circle, each (rows, cols, 4)."""
    low, high = job.scale.norm.vmin, job.scale.norm.vmax
    if job.use_white_center:
        inner = np.ones(job.mean.shape + (4,))
        upper = job.mean + job.error
    else:
        reach = job.error * job.color_contrast_scale
        inner = job.scale.rgba(np.clip(job.mean - reach, low, high))
        upper = job.mean + reach
    return inner, job.scale.rgba(np.clip(upper, low, high))


def gradient_image(inner: np.ndarray, outer: np.ndarray, radii: np.ndarray, pixels: int) -> np.ndarray:
    """One RGBA image (rows*pixels, cols*pixels, 4) uint8 with every cell's gradient disc.

    Colour is linear in the distance from the cell centre (inner at the centre,
    outer at the radius); the disc edge is antialiased over one pixel.
    """
    rows, cols = radii.shape
    inner, outer = inner.astype(np.float32), outer.astype(np.float32)
    offsets = (np.arange(pixels, dtype=np.float32) + 0.5) / pixels - 0.5
    dist = np.hypot(offsets[:, None], offsets[None, :])  # (pixels, pixels), in cell widths
    out = np.empty((rows, pixels, cols, pixels, 4), dtype=np.uint8)
    step = max(1, _CHUNK_PIXELS // (cols * pixels * pixels))
    for start in range(0, rows, step):
        part = slice(start, start + step)
        radius = radii[part, :, None, None].astype(np.float32)  # (b, cols, 1, 1)
        t = np.clip(dist / np.where(radius > 0, radius, 1.0), 0.0, 1.0)[..., None]
        cover = np.where(radius > 0, np.clip((radius - dist) * pixels + 0.5, 0.0, 1.0), 0.0)
        rgba = inner[part, :, None, None, :] * (1 - t) + outer[part, :, None, None, :] * t
        rgba[..., 3] *= cover
        out[part] = np.rint(rgba.transpose(0, 2, 1, 3, 4) * 255).astype(np.uint8)
    return out.reshape(rows * pixels, cols * pixels, 4)
