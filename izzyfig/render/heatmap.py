"""The heatmap panel every kind starts from: mesh, token axes, values, titles, colour bar."""
from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colorbar import Colorbar
from matplotlib.figure import Figure

from izzyfig.errors import IzzyfigWarning, RenderError
from izzyfig.page import DEFAULT_MIN_FONT, LengthError, PrintArea, print_area, to_unit
from izzyfig.render import inputs, layout, style, tokens
from izzyfig.render.cells import ColorScale, color_scale, draw_mesh, draw_values
from izzyfig.render.colorbar import add_colorbar
from izzyfig.render.grid import CellGrid
from izzyfig.render.style import SCREEN_LOOK, Look


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
    values_at: np.ndarray | None = None, colorbar: bool = False, look: Look = SCREEN_LOOK,
    title_size: float | None = None, rotatable: bool = False,
) -> Panel:
    """Cells, labels, optional values in ``values_at`` (k, 2) cells, titles, own colour bar.

    Titles and axis labels are user text: literal unless ``look.mathtext``. ``rotatable``
    says the kind has a ``label_rotation`` option (for the hint of a thinning warning).
    """
    mesh = draw_mesh(ax, grid, data, scale, linecolor=linecolor, linewidth=linewidth, unit_pt=unit_pt)
    tokens.draw(ax, grid, x, y, rotation=rotation, unit_pt=unit_pt, look=look, rotatable=rotatable)
    if values_at is not None:
        draw_values(ax, grid, data, values_at, scale, unit_pt, look)
    pad = 4.0 if look.on_page else 8.0
    ax.set_title(title, fontsize=title_size or look.typo.title, pad=pad, **look.text())
    label_pad = 3.0 if look.on_page else 6.0
    ax.set_xlabel(xlabel, fontsize=look.typo.label, labelpad=label_pad, **look.text())
    ax.set_ylabel(ylabel, fontsize=look.typo.label, labelpad=label_pad, **look.text())
    bar = add_colorbar(ax, scale, height_pt=grid.height * unit_pt, look=look) if colorbar else None
    return Panel(ax, grid, scale, mesh, bar)


def axes_unit_pt(ax: Axes, grid: CellGrid) -> float:
    """Points per cell unit of a caller's axes (the ``ax=`` path of the Python API)."""
    box = ax.get_window_extent()
    dpi = ax.get_figure().dpi
    return 72.0 / dpi * min(box.width / grid.width, box.height / grid.height)


def figure_of(
    drafts: list[layout.PanelDraft], look: Look, *, n_tokens: int, dense: bool, figsize,
    colorbar: ColorScale | None, title: str | None = None, unit_scale: float = 1.0,
    bar_rows: tuple[int, int] | None = None, unit_in: float | None = None, gap_in: float | None = None,
) -> Figure:
    """Lay out ``drafts`` (see ``layout.compose``): on the page of ``look``, in ``figsize``
    inches, or at the natural cell size of ``n_tokens`` tokens (or ``unit_in`` inches).
    ``gap_in`` replaces the default space between panels."""
    size = inputs.figsize(figsize)
    if size is not None:
        if look.area is not None:
            _figsize_fits(size, look.area)
        sizing = layout.Sizing(figsize=size)
    elif look.area is not None:
        sizing = layout.Sizing(area=look.area)
    else:
        sizing = layout.Sizing(unit_in=unit_in or layout.unit_inches(n_tokens, dense, scale=unit_scale))
    with style.rendering(look.font):
        return layout.compose(drafts, sizing, look, colorbar=colorbar, title=title, bar_rows=bar_rows, gap=gap_in)


def _figsize_fits(size: tuple[float, float], area: PrintArea) -> None:
    page = area.page
    if size[0] > page.textwidth + 1e-6 or size[1] > page.textheight + 1e-6:
        warnings.warn(IzzyfigWarning(
            f"figsize {size[0]:g} x {size[1]:g} in does not fit the text block "
            f"({to_unit(page.textwidth, 'in'):.2f} x {to_unit(page.textheight, 'in'):.2f} in): "
            "the figure overflows the page (use width: and height: instead)", ("figsize",)), stacklevel=3)


def figure_scale(low: float, high: float, gamma, cmap) -> ColorScale:
    """Validated ``cmap``/``gamma`` and the colour scale over [low, high]."""
    return color_scale(float(low), float(high), inputs.positive("gamma", gamma), inputs.colormap(cmap))


def text_or(value: str | None, default: str) -> str:
    """A title/axis label: ``None`` means the kind's default, ``""`` means none."""
    return default if value is None else str(value)


@dataclass
class KindPlan:
    """A kind's validated inputs before drawing: its colour scale and how to draw its panels.

    ``panels(scale, own_colorbar)`` returns the kind's panel drafts drawn on ``scale``
    (each with its own colour bar when ``own_colorbar``); ``title`` is a title above all
    panels. A ``panels`` figure asks each of its kinds for its plan, then shares one scale.
    ``unit_in`` (screen cell size, inches) and ``gap_in`` (space between panels) replace
    the defaults of ``figure_of`` for kinds with many small panels (the atlas).
    """

    scale: ColorScale
    n_tokens: int
    dense: bool
    panels: Callable[[ColorScale, bool], list[layout.PanelDraft]]
    title: str | None = None
    unit_scale: float = 1.0
    texts: tuple[tuple[str, str | None], ...] = ()
    bar_rows: tuple[int, int] | None = None
    unit_in: float | None = None
    gap_in: float | None = None

    def figure(self, *, figsize=None, page=None, width=None, height=None, min_font=DEFAULT_MIN_FONT,
               font: str = "sans", mathtext: bool = False) -> Figure:
        """The kind's own figure: its panels and one colour bar."""
        look = make_look(page_area(page, width, height, min_font), font, mathtext, self.texts)
        return figure_of(self.panels(self.scale, False), look, n_tokens=self.n_tokens, dense=self.dense,
                         figsize=figsize, colorbar=self.scale, title=self.title, unit_scale=self.unit_scale,
                         bar_rows=self.bar_rows, unit_in=self.unit_in, gap_in=self.gap_in)


def page_area(page, width=None, height=None, min_font=DEFAULT_MIN_FONT) -> PrintArea | None:
    """The validated print area of a page (preset name, mapping, or ``Page``); None without one."""
    if page is None:
        given = [name for name, value in (("width", width), ("height", height)) if value is not None]
        if given:
            raise RenderError(f"{given[0]}: needs a page (e.g. page='acl')")
        return None
    try:
        return print_area(page, width, height, inputs.within("min_font", min_font, 4.0, 12.0))
    except LengthError as error:
        raise RenderError(f"page: {error}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise RenderError(f"page: expected a preset name or a mapping with textwidth and textheight "
                          f"({error})") from None


def make_look(area: PrintArea | None, font: str, mathtext: bool, texts=()) -> Look:
    """A validated ``Look``; with ``mathtext`` every user text in ``texts`` must parse.

    ``texts`` holds ``(option name, text)`` pairs, e.g. ``("title", "$\\\\alpha$ head")``.
    """
    for name, text in texts:  # a 200,000-character title took gigabytes to lay out
        if text is not None:
            inputs.text(name, text)
    if font not in style.FONTS:
        raise RenderError(f"font: must be one of {', '.join(style.FONTS)}, got {font!r}")
    if area is not None and not isinstance(area, PrintArea):
        raise RenderError(f"area: expected an izzyfig.page.PrintArea, got {type(area).__name__}")
    if mathtext:
        from izzyfig.textmath import mathtext_error

        for name, text in texts:
            problem = text and mathtext_error(text)
            if problem:
                raise RenderError(f"{name}: {problem}")
    return Look.make(area, font, bool(mathtext))


def job_plan(job, draw_job: Callable, shape: tuple[int, int], texts) -> KindPlan:
    """The plan of a kind validated into a ``job`` (``columns``, ``rows``, ``grid``, ``scale``)
    and drawn by ``draw_job(ax, job, unit_pt, scale=, colorbar=, look=)``: stability, regions."""
    x, y = plain_labels(job.columns), plain_labels(job.rows)
    grid = job.grid

    def panels(scale: ColorScale, own_colorbar: bool) -> list[layout.PanelDraft]:
        def draw(ax: Axes, unit_pt: float, look: Look) -> Panel:
            return draw_job(ax, job, unit_pt, scale=scale, colorbar=own_colorbar, look=look)

        return [layout.PanelDraft(grid.width, grid.height, draw,
                                  axes_id=layout.axes_id(grid, job.columns, job.rows))]

    return KindPlan(job.scale, max(shape), not (x.sparse or y.sparse), panels, texts=texts)
