"""Detected regions: the heatmap with the region kernel's boxes, optionally labelled R1, R2…"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from izzyfig.render import inputs, style
from izzyfig.render.boxes import box_width, draw_boxes
from izzyfig.render.cells import ColorScale
from izzyfig.render.detect import detect_regions
from izzyfig.render.grid import CellGrid
from izzyfig.render.heatmap import (
    KindPlan, Panel, axes_unit_pt, draw_heatmap, figure_scale, job_plan, plain_labels,
)
from izzyfig.render.inputs import Box
from izzyfig.render.lens import axis_texts
from izzyfig.render.style import SCREEN_LOOK, Look

DEFAULT_TITLE = "Attention with Detected Regions"


@dataclass(frozen=True)
class RegionsJob:
    """Validated inputs of one regions panel; ``data`` has shape (rows, cols)."""

    data: np.ndarray
    columns: list[str]
    rows: list[str]
    boxes: tuple[Box, ...]
    regions: tuple[Box, ...]
    scale: ColorScale
    texts: tuple[str, str, str]
    region_color: object
    region_linewidth: float
    region_alpha: float
    label_regions: bool
    label_rotation: int = 45

    @property
    def grid(self) -> CellGrid:
        return CellGrid.uniform(*self.data.shape)


def regions_job(
    matrix, x_labels, y_labels, *, boxes=(), n_regions=3, min_distance=2, expansion_threshold=0.9,
    merge_threshold=0.6, proximity_threshold=2, max_expansion_steps=3, region_color="orange",
    region_linewidth=2.0, region_alpha=0.7, label_regions=False, label_rotation=45, title=None,
    xlabel=None, ylabel=None, cmap="Blues", gamma=1.5,
) -> RegionsJob:
    """Validate the options and run the region kernel on ``matrix`` (query, key)."""
    data = inputs.matrix("matrix", matrix)
    columns = inputs.labels("x_labels", x_labels, data.shape[1], "columns")
    rows = inputs.labels("y_labels", y_labels, data.shape[0], "rows")
    box_list = inputs.boxes(boxes, data.shape)
    color = inputs.color("region_color", region_color)
    linewidth = inputs.positive("region_linewidth", region_linewidth)
    alpha = inputs.within("region_alpha", region_alpha, 0.0, 1.0)
    scale = figure_scale(data.min(), data.max(), gamma, cmap)
    texts = axis_texts(title, xlabel, ylabel, (DEFAULT_TITLE, style.DEFAULT_XLABEL, style.DEFAULT_YLABEL))
    found = detect_regions(
        data, n_regions=inputs.positive("n_regions", n_regions, integer=True),
        min_distance=inputs.at_least("min_distance", min_distance, 0, integer=True),
        expansion_threshold=inputs.positive("expansion_threshold", expansion_threshold),
        merge_threshold=inputs.within("merge_threshold", merge_threshold, 0.0, 1.0, low_open=True),
        proximity_threshold=inputs.at_least("proximity_threshold", proximity_threshold, 0, integer=True),
        max_expansion_steps=inputs.positive("max_expansion_steps", max_expansion_steps, integer=True),
    )
    return RegionsJob(data, columns, rows, box_list, inputs.boxes(found, data.shape), scale, texts,
                      color, linewidth, alpha, bool(label_regions), inputs.rotation(label_rotation))


def render_regions(
    matrix, x_labels, y_labels, *, boxes=(), n_regions=3, min_distance=2, expansion_threshold=0.9,
    merge_threshold=0.6, proximity_threshold=2, max_expansion_steps=3, region_color="orange",
    region_linewidth=2.0, region_alpha=0.7, label_regions=False, label_rotation=45, title=None,
    xlabel=None, ylabel=None, cmap="Blues", gamma=1.5, figsize=None, page=None, width=None, height=None, min_font=6.0, font="sans",
    mathtext=False,
) -> Figure:
    """Draw ``matrix`` (query, key) with the key regions found by the region kernel.

    ``page``, ``width``, ``height``, ``min_font``, ``font`` and ``mathtext`` are as for
    ``render_self_attention``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plan = regions_plan(
        matrix, x_labels, y_labels, boxes=boxes, n_regions=n_regions, min_distance=min_distance,
        expansion_threshold=expansion_threshold, merge_threshold=merge_threshold,
        proximity_threshold=proximity_threshold, max_expansion_steps=max_expansion_steps,
        region_color=region_color, region_linewidth=region_linewidth, region_alpha=region_alpha,
        label_regions=label_regions, label_rotation=label_rotation, title=title, xlabel=xlabel, ylabel=ylabel,
        cmap=cmap, gamma=gamma,
    )
    return plan.figure(figsize=figsize, page=page, width=width, height=height, min_font=min_font,
                       font=font, mathtext=mathtext)


def regions_plan(matrix, x_labels, y_labels, **options) -> KindPlan:
    """Validated inputs of ``render_regions`` (keywords as there) and how to draw its panel."""
    job = regions_job(matrix, x_labels, y_labels, **options)
    texts = tuple((name, options.get(name)) for name in ("title", "xlabel", "ylabel"))
    return job_plan(job, draw_regions, job.data.shape, texts)


def draw_regions(ax: Axes, job: RegionsJob, unit_pt: float | None = None, *,
                 scale: ColorScale | None = None, colorbar: bool = True, look: Look = SCREEN_LOOK) -> Panel:
    """Draw ``job`` into ``ax``: cells, region boxes and labels, user boxes, colour bar."""
    grid = job.grid
    unit_pt = axes_unit_pt(ax, grid) if unit_pt is None else unit_pt
    panel = draw_heatmap(
        ax, job.data, grid, scale or job.scale, plain_labels(job.columns), plain_labels(job.rows),
        unit_pt=unit_pt, title=job.texts[0], xlabel=job.texts[1], ylabel=job.texts[2],
        rotation=job.label_rotation, rotatable=True, colorbar=colorbar, look=look,
    )
    draw_boxes(ax, grid, job.regions, color=job.region_color,
               linewidth=box_width(look, job.region_linewidth), alpha=job.region_alpha, zorder=10)
    if job.label_regions:
        label_boxes(ax, grid, job.regions, job.region_color, look)
    draw_boxes(ax, grid, job.boxes, linewidth=box_width(look))
    return panel


def label_boxes(ax: Axes, grid: CellGrid, regions: tuple[Box, ...], color, look: Look = SCREEN_LOOK) -> None:
    """"R1", "R2", … in the middle of each region, in region order."""
    for number, box in enumerate(regions, start=1):
        x, y, width, height = grid.box_rect(box)
        ax.text(
            x + width / 2, y + height / 2, f"R{number}", color="white", fontweight="bold",
            fontsize=look.typo.region_label, ha="center", va="center", zorder=11,
            bbox=dict(facecolor=color, alpha=0.5, boxstyle="round", edgecolor="none"),
        )
