"""The one layout engine: heatmap panels in a grid, sized by their cells, fitted to the page.

Every figure is a grid of panels (one for most kinds, five for question-context, any
number for ``panels``) with an optional shared colour bar right of the grid and an
optional title above it. A heatmap axes is ``units * unit`` wide and high, so cells
are square and the same size in every panel. The text around each panel (labels,
titles, its own colour bar) is measured with Agg text metrics; the grid's columns and
rows take the widest and tallest panel they hold; panels may span several rows or
columns.

The cell size ``unit`` comes from one of:

- ``Sizing(unit_in=...)``: no page and no ``figsize``; cells grow with the token count
  and the figure is made as big as its contents (izzyfig's screen figures);
- ``Sizing(figsize=...)``: the largest cell size whose layout fits those inches;
- ``Sizing(area=...)``: a page. The figure is exactly the column or text width (or its
  own width) and at most the text height (or its own height); the cell size is the
  largest that fits. The panels are drawn *at* that size -- and drawn again when the
  fit changed it -- so fonts and the choice of token labels are those of the printed
  figure, never a bigger drawing scaled down.

On a page, what could not be shown at ``min_font`` (thinned labels, scores left out)
and sizes that overflow the page become ``IzzyfigWarning``s naming the spec key to
change. No layout engine of matplotlib and no ``bbox_inches='tight'``: the saved page
is the figure.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from izzyfig.errors import IzzyfigWarning
from izzyfig.page import PrintArea, ordinal, to_unit
from izzyfig.render.cells import ColorScale, ValueNote
from izzyfig.render.colorbar import bar_geometry, draw_colorbar
from izzyfig.render.style import Look, remember_font
from izzyfig.render.tokens import LabelNote

MEASURE_PAGE_IN = 20.0  # provisional margin around axes while text is measured
MIN_UNIT_PT = 1.0  # cells smaller than this are no figure: the text took all the room
_ATTEMPTS = 4
_GROWTH = 1.05  # a fit this much bigger than the drawing is placed without drawing again
_GROWTH_THINNED = 1.001  # ... unless labels were left out, which bigger cells may show
_REDRAW_SHARE = 0.97
# A fit this little under the drawing is placed as is (the labels' spacing has 20% to spare);
# so is a smaller fit that the drawn labels have room for.
_SHRINK_TOLERANCE = 0.995
_FIRST_SHARE = 0.68  # before anything is measured, cells get this share of the width


@dataclass(frozen=True)
class Spacing:
    """Inches around the figure (``pad``) and between panels (``gap``)."""

    pad: float
    gap: float


SCREEN_SPACING = Spacing(0.08, 0.25)
PAGE_SPACING = Spacing(0.02, 0.12)


@dataclass(frozen=True)
class Cell:
    """Where a panel sits in the grid (0-based) and how many rows/columns it spans."""

    row: int
    col: int
    rowspan: int = 1
    colspan: int = 1


@dataclass
class PanelDraft:
    """A panel before layout: its size in cell units and how to draw it.

    ``draw(ax, unit_pt, look)`` draws the heatmap (labels, title, overlays, and its own
    colour bar if it has one) for cells of ``unit_pt`` points. ``key`` prefixes the spec
    keys of the panel's warnings (``("panels", 2)`` for a panel of a ``panels`` figure).
    """

    width_units: float
    height_units: float
    draw: Callable[[Axes, float, Look], Any]
    cell: Cell = field(default_factory=lambda: Cell(0, 0))
    key: tuple = ()
    axes_id: tuple | None = None  # (columns, rows) identity: equal panels share edge labels


@dataclass(frozen=True)
class Sizing:
    """How big the cells are: natural ``unit_in``, a ``figsize`` (inches), or a page ``area``."""

    unit_in: float | None = None
    figsize: tuple[float, float] | None = None
    area: PrintArea | None = None


@dataclass(frozen=True)
class Margins:
    """Inches of text/colorbar around an axes; ``side`` is how far the panel reaches right
    of the axes beside it (its own colour bar), as opposed to ``right`` (titles and rotated
    labels above it reach further)."""

    left: float
    right: float
    top: float
    bottom: float
    side: float = 0.0
    centred: float = 0.0  # width of the title / axis label centred over the axes

    def sides(self, width: float) -> tuple[float, float]:
        """Left and right margins of an axes ``width`` inches wide: a centred title wider
        than the axes and its labels reaches past them, half on each side."""
        reach = self.centred / 2 - width / 2
        return max(self.left, reach), max(self.right, reach)


@dataclass
class _Attempt:
    """One drawing of every panel at one cell size, with what was measured."""

    fig: Figure
    axes: list[Axes]
    margins: list[Margins]
    bar_axes: Axes | None
    bar_label: float  # inches of tick labels right of the bar
    bar_below: float  # inches the lowest tick label reaches below the bar
    title: Any
    title_height: float
    look: Look
    unit: float
    title_width: float = 0.0


@dataclass(frozen=True)
class _Geometry:
    """Axes boxes ``(left, top, width, height)`` from the content's top-left corner, inches."""

    boxes: list[tuple[float, float, float, float]]
    bar: tuple[float, float, float, float] | None
    width: float
    height: float


def axes_id(grid, x_labels, y_labels) -> tuple:
    """What a panel's columns and rows show: equal ids mean the labels can be shared."""
    return ((tuple(x_labels), tuple(grid.col_edges)), (tuple(y_labels), tuple(grid.row_edges)))


def unit_inches(n_tokens: int, dense_labels: bool, *, scale: float = 1.0) -> float:
    """Screen cell size that grows the figure with the token count.

    Labelled cells stay big enough for a readable font (>= 0.17 in); sparsely
    labelled long inputs fill a ~10 in square instead.
    """
    if dense_labels:
        return float(np.clip(scale * 5.6 / n_tokens, 0.17, 0.42 * scale))
    return float(min(0.17, 10.0 / n_tokens))


def compose(
    drafts: list[PanelDraft], sizing: Sizing, look: Look, *, colorbar: ColorScale | None = None,
    title: str | None = None, bar_rows: tuple[int, int] | None = None, gap: float | None = None,
) -> Figure:
    """Draw ``drafts`` in their grid cells and size the figure (see the module docstring).

    ``colorbar`` adds one bar right of the grid, beside the panels of rows ``bar_rows``
    (first, last; default all); ``title`` a figure title above everything; ``gap`` the
    inches between panels (default ``Spacing.gap`` of the page or screen). Warnings about
    legibility and page fit are issued for the final drawing only.
    """
    spacing = PAGE_SPACING if look.on_page else SCREEN_SPACING
    if gap is not None:
        spacing = Spacing(spacing.pad, gap)
    unit = sizing.unit_in if sizing.unit_in is not None else _first_guess(drafts, sizing, spacing)
    for round_ in range(_ATTEMPTS):
        attempt = _draw(drafts, unit, look, colorbar, title, spacing)
        if sizing.unit_in is not None:
            break
        fitted = _fit_unit(drafts, attempt, sizing, spacing, bar_rows)
        room = min(attempt.look.room, default=float("inf"))
        if fitted < unit * min(_SHRINK_TOLERANCE, 1 / room):  # labels would crowd: draw it smaller
            unit = fitted
            continue
        thinned = bool(attempt.look.notes)
        growth = _GROWTH_THINNED if thinned else _GROWTH
        if fitted <= unit * growth or round_ == _ATTEMPTS - 1:
            unit = fitted  # bigger cells than drawn for: labels stay apart
            break
        # More room than drawn for: draw again -- at the fit when labels were left out (they
        # may all fit now), else a little under it (bigger type can widen the labels), so the
        # next fit is at least the drawing and needs no third draw.
        unit = fitted if thinned else fitted * _REDRAW_SHARE
    else:
        attempt = _draw(drafts, unit, look, colorbar, title, spacing)
        unit = min(unit, _fit_unit(drafts, attempt, sizing, spacing, bar_rows))
    _place(drafts, attempt, unit, sizing, spacing, bar_rows)
    if look.on_page:
        _warn(look, attempt.look.notes, unit, sizing)
    remember_font(attempt.fig, look.font)
    return attempt.fig


# ----------------------------------------------------------------------------- drawing
def _draw(drafts, unit: float, look: Look, colorbar: ColorScale | None, title: str | None,
          spacing: Spacing) -> _Attempt:
    """A fresh figure with every panel drawn for cells of ``unit`` inches, and measured."""
    fig = Figure(figsize=(8.0, 8.0), dpi=100)
    FigureCanvasAgg(fig)
    drawing = look.fresh()
    axes = [fig.add_axes((0.1, 0.1, 0.8, 0.8), label=f"heatmap {k}") for k in range(len(drafts))]
    for ax, draft in zip(axes, drafts):
        notes_before = len(drawing.notes)
        draft.draw(ax, unit * 72.0, drawing)
        drawing.notes[notes_before:] = [(draft.key, note) for note in drawing.notes[notes_before:]]
    _share_edge_labels(drafts, axes)
    if drawing.on_page:
        _wrap_centred_texts(fig, drafts, axes, 0.9 * (drawing.area.width - 2 * spacing.pad))
    bar_axes = fig.add_axes((0.1, 0.1, 0.02, 0.8), label="colorbar") if colorbar is not None else None
    if bar_axes is not None:
        draw_colorbar(bar_axes, colorbar, height_pt=_grid_height_units(drafts) * unit * 72.0, look=drawing)
    title_text = None
    if title:
        size = drawing.typo.title if drawing.on_page else drawing.typo.title + 1
        title_text = fig.text(0.5, 1.0, title, ha="center", va="top", fontsize=size, **drawing.text())
        if drawing.on_page:  # never wider than the page
            _wrap(title_text, (drawing.area.width - 2 * spacing.pad) * fig.dpi, fig.canvas.get_renderer())
    margins, (bar_label, bar_below), title_size = _measure(fig, drafts, axes, bar_axes, title_text, unit, drawing)
    return _Attempt(fig, axes, margins, bar_axes, bar_label, bar_below, title_text, title_size[1], drawing, unit,
                    title_size[0])


def _wrap_centred_texts(fig, drafts, axes, width_in: float) -> None:
    """On a page, break titles and axis titles that are wider than their share of the
    figure into lines (at spaces), so a long title never squeezes the cells."""
    columns = max(d.cell.col + d.cell.colspan for d in drafts)
    renderer = fig.canvas.get_renderer()
    for draft, ax in zip(drafts, axes):
        limit = width_in * draft.cell.colspan / columns * fig.dpi
        for text in (ax.title, ax.xaxis.label):
            _wrap(text, limit, renderer)


def _wrap(text, limit_px: float, renderer) -> None:
    """Break ``text`` at spaces into lines at most ``limit_px`` wide (each given line on its own)."""
    if text.get_window_extent(renderer).width <= limit_px:
        return
    lines = []
    for given in text.get_text().split("\n"):
        words = given.split(" ")
        lines.append(words[0])
        for word in words[1:]:
            text.set_text(lines[-1] + " " + word)
            if text.get_window_extent(renderer).width <= limit_px:
                lines[-1] += " " + word
            else:
                lines.append(word)
    text.set_text("\n".join(lines))


def _share_edge_labels(drafts, axes) -> None:
    """Token labels once per edge: a panel whose rows (columns) are those of the panel to
    its left (above) shows no row (column) labels, like the cells of one big matrix."""
    at = {(d.cell.row, d.cell.col): d for d in drafts if d.cell.rowspan == d.cell.colspan == 1}
    for draft, ax in zip(drafts, axes):
        if draft.axes_id is None or draft.cell.rowspan != 1 or draft.cell.colspan != 1:
            continue
        left = at.get((draft.cell.row, draft.cell.col - 1))
        above = at.get((draft.cell.row - 1, draft.cell.col))
        if left is not None and left.axes_id is not None and left.axes_id[1] == draft.axes_id[1]:
            ax.tick_params(axis="y", labelleft=False, length=0)
            ax.set_ylabel("")
        if above is not None and above.axes_id is not None and above.axes_id[0] == draft.axes_id[0]:
            ax.tick_params(axis="x", labeltop=False, length=0)
            ax.set_xlabel("")


def _measure(fig, drafts, axes, bar_axes, title_text, unit, look):
    """Margins of every axes at its final size, on a provisional large page."""
    big = MEASURE_PAGE_IN
    widest = max(d.width_units for d in drafts) * unit
    tallest = max(max(d.height_units for d in drafts), _grid_height_units(drafts)) * unit
    fig.set_size_inches(widest + 2 * big + 2.0, tallest + 2 * big)
    page_w, page_h = fig.get_size_inches()
    for ax, draft in zip(axes, drafts):
        ax.set_position((big / page_w, big / page_h, draft.width_units * unit / page_w,
                         draft.height_units * unit / page_h))
    if bar_axes is not None:
        width = bar_geometry(look).width
        bar_axes.set_position(((big + widest + 1.0) / page_w, big / page_h, width / page_w,
                               _grid_height_units(drafts) * unit / page_h))
    renderer = fig.canvas.get_renderer()
    dpi = fig.dpi
    margins = []
    for ax in axes:
        box, full = ax.get_window_extent(renderer), ax.get_tightbbox(renderer)  # also places the titles
        centred = [t for t in (ax.title, ax.xaxis.label) if t.get_visible() and t.get_text()]
        extents = [t.get_window_extent(renderer) for t in centred]
        wider = [t for t, e in zip(centred, extents) if e.x0 < box.x0 or e.x1 > box.x1]
        for text in wider:  # measured apart: they may reach over the labels beside them
            text.set_visible(False)
        tight = ax.get_tightbbox(renderer) if wider else full
        for text in wider:
            text.set_visible(True)
        top, bottom = full.y1, full.y0
        side = max([child.get_tightbbox(renderer).x1 - box.x1 for child in ax.child_axes], default=0.0)
        margins.append(Margins(
            max(0.0, box.x0 - tight.x0) / dpi, max(0.0, tight.x1 - box.x1) / dpi,
            max(0.0, top - box.y1) / dpi, max(0.0, box.y0 - bottom) / dpi, max(0.0, side) / dpi,
            max([e.width for e in extents], default=0.0) / dpi,
        ))
    bar_label = bar_below = 0.0
    if bar_axes is not None:
        box, tight = bar_axes.get_window_extent(renderer), bar_axes.get_tightbbox(renderer)
        bar_label = max(0.0, tight.x1 - box.x1) / dpi
        bar_below = max(0.0, box.y0 - tight.y0) / dpi
    title_size = (0.0, 0.0)
    if title_text is not None:
        extent = title_text.get_window_extent(renderer)
        title_size = (extent.width / dpi, extent.height / dpi)
    return margins, (bar_label, bar_below), title_size


def _grid_height_units(drafts) -> float:
    """Rough height of the grid in cell units (rows stacked), for the colour bar's ticks."""
    rows: dict[int, float] = {}
    for draft in drafts:
        if draft.cell.rowspan == 1:
            rows[draft.cell.row] = max(rows.get(draft.cell.row, 0.0), draft.height_units)
    spanning = max((d.height_units for d in drafts), default=1.0)
    return max(sum(rows.values()), spanning)


# ----------------------------------------------------------------------------- geometry
def _tracks(drafts, margins, unit, count: int, vertical: bool, gap: float):
    """Lead margin and body (axes + trailing margin) of each row or column, in inches.

    A panel that spans several tracks widens the last of them if it needs more room
    than they give (it is centred across columns and top-aligned across rows).
    """
    lead = np.zeros(count)
    body = np.zeros(count)
    spanning = []
    for draft, margin in zip(drafts, margins):
        if vertical:
            start, span, size = draft.cell.row, draft.cell.rowspan, draft.height_units * unit
            before, after = margin.top, margin.bottom
        else:
            start, span, size = draft.cell.col, draft.cell.colspan, draft.width_units * unit
            before, after = margin.sides(size)
        if span == 1:
            lead[start] = max(lead[start], before)
            body[start] = max(body[start], size + after)
        else:
            spanning.append((start, span, before, size + after))
    for start, span, before, rest in spanning:
        if vertical:
            lead[start] = max(lead[start], before)
            need = lead[start] + rest
        else:
            need = before + rest
        have = float(np.sum(lead[start:start + span] + body[start:start + span])) + gap * (span - 1)
        if need > have:
            body[start + span - 1] += need - have
    return lead, body


def _in_rows(cell: Cell, rows: tuple[int, int] | None) -> bool:
    return rows is None or (cell.row <= rows[1] and cell.row + cell.rowspan - 1 >= rows[0])


def _bar_left(boxes, margins, top: float, bottom: float) -> float:
    """Where a bar spanning [top, bottom] can start: right of every panel part beside it.

    A panel whose title and labels lie above ``top`` reaches only its ``side`` margin
    into the band; one that starts inside the band reaches its full ``right`` margin.
    """
    reach = 0.0
    for (left, box_top, width, height), margin in zip(boxes, margins):
        tight_top, tight_bottom = box_top - margin.top, box_top + height + margin.bottom
        if tight_bottom <= top or tight_top >= bottom:
            continue
        inside = tight_top >= top - 1e-9
        reach = max(reach, left + width + (margin.sides(width)[1] if inside else margin.side))
    return reach


def _geometry(drafts, attempt: _Attempt, unit: float, spacing: Spacing,
              bar_rows: tuple[int, int] | None = None) -> _Geometry:
    margins = attempt.margins
    n_cols = max(d.cell.col + d.cell.colspan for d in drafts)
    n_rows = max(d.cell.row + d.cell.rowspan for d in drafts)
    col_lead, col_body = _tracks(drafts, margins, unit, n_cols, False, spacing.gap)
    row_lead, row_body = _tracks(drafts, margins, unit, n_rows, True, spacing.gap)
    col_start = np.concatenate(([0.0], np.cumsum(col_lead + col_body + spacing.gap)))[:-1] + spacing.pad
    top = spacing.pad + (attempt.title_height + spacing.gap / 2 if attempt.title is not None else 0.0)
    row_start = np.concatenate(([0.0], np.cumsum(row_lead + row_body + spacing.gap)))[:-1] + top
    boxes = []
    for draft, margin in zip(drafts, margins):
        c, r = draft.cell.col, draft.cell.row
        w, h = draft.width_units * unit, draft.height_units * unit
        if draft.cell.colspan == 1:
            left = col_start[c] + col_lead[c]
        else:
            last = c + draft.cell.colspan - 1
            span = col_start[last] + col_lead[last] + col_body[last] - col_start[c]
            before, after = margin.sides(w)
            left = col_start[c] + (span - (before + w + after)) / 2 + before
        boxes.append((float(left), float(row_start[r] + row_lead[r]), w, h))
    right = max(b[0] + b[2] + m.sides(b[2])[1] for b, m in zip(boxes, margins))
    bottom = max(b[1] + b[3] + m.bottom for b, m in zip(boxes, margins))
    bar = None
    if attempt.bar_axes is not None:
        geometry = bar_geometry(attempt.look)
        beside = [(b, m) for b, m, d in zip(boxes, margins, drafts) if _in_rows(d.cell, bar_rows)]
        bar_top = min(b[1] for b, _ in beside)
        bar_bottom = max(b[1] + b[3] for b, _ in beside)
        bar_left = _bar_left(boxes, margins, bar_top, bar_bottom) + geometry.pad
        bar = (bar_left, bar_top, geometry.width, bar_bottom - bar_top)
        right = max(right, bar_left + geometry.width + attempt.bar_label)
        bottom = max(bottom, bar_bottom + attempt.bar_below)
    shift = (attempt.title_width - (right - spacing.pad)) / 2
    if shift > 0:  # a title wider than the grid: the grid is centred under it
        boxes = [(left + shift, top_, w, h) for left, top_, w, h in boxes]
        bar = bar and (bar[0] + shift, *bar[1:])
        right += 2 * shift
    return _Geometry(boxes, bar, right + spacing.pad, bottom + spacing.pad)


def _first_guess(drafts, sizing: Sizing, spacing: Spacing) -> float:
    """A cell size to draw at before anything is measured: ``_FIRST_SHARE`` of the width."""
    width = sizing.area.width if sizing.area is not None else sizing.figsize[0]
    n_cols = max(d.cell.col + d.cell.colspan for d in drafts)
    units = np.zeros(n_cols)
    for draft in drafts:
        if draft.cell.colspan == 1:
            units[draft.cell.col] = max(units[draft.cell.col], draft.width_units)
    units_total = max(float(units.sum()), max(d.width_units for d in drafts))
    return max(_FIRST_SHARE * (width - 2 * spacing.pad - spacing.gap * (n_cols - 1)) / units_total, 1e-3)


def _limits(sizing: Sizing) -> tuple[float, float]:
    if sizing.area is not None:
        return sizing.area.width, sizing.area.max_height
    return sizing.figsize


def _fit_unit(drafts, attempt: _Attempt, sizing: Sizing, spacing: Spacing, bar_rows=None) -> float:
    """Largest cell size whose layout fits the limits (bisection; extent grows with it)."""
    width, height = _limits(sizing)
    low, high = 1e-4, 5.0
    for _ in range(50):
        mid = (low + high) / 2
        geometry = _geometry(drafts, attempt, mid, spacing, bar_rows)
        if geometry.width <= width and geometry.height <= height:
            low = mid
        else:
            high = mid
    return low


def _place(drafts, attempt: _Attempt, unit: float, sizing: Sizing, spacing: Spacing, bar_rows=None) -> None:
    geometry = _geometry(drafts, attempt, unit, spacing, bar_rows)
    if sizing.area is not None:
        page = (sizing.area.width, sizing.area.height or min(geometry.height, sizing.area.max_height))
    else:
        page = sizing.figsize or (geometry.width, geometry.height)
    fig = attempt.fig
    fig.set_dpi(float(np.clip(4.0 / unit, 150.0, 400.0)))  # >= 4 px per cell when rasterised
    fig.set_size_inches(page)
    x0 = (page[0] - geometry.width) / 2
    y0 = max(0.0, (page[1] - geometry.height) / 2)

    def to_figure(left, top, width, height):
        return ((x0 + left) / page[0], 1 - (y0 + top + height) / page[1], width / page[0], height / page[1])

    for ax, box in zip(attempt.axes, geometry.boxes):
        ax.set_position(to_figure(*box))
    if attempt.bar_axes is not None:
        attempt.bar_axes.set_position(to_figure(*geometry.bar))
    if attempt.title is not None:
        attempt.title.set_position((0.5, 1 - (y0 + spacing.pad) / page[1]))


# ----------------------------------------------------------------------------- warnings
def _warn(look: Look, notes: list, unit: float, sizing: Sizing) -> None:
    """Turn the final drawing's notes and the page fit into positioned warnings."""
    area = sizing.area or look.area
    for key, message in _messages(notes, area):
        warnings.warn(IzzyfigWarning(message, key), stacklevel=3)
    for key, message in _page_fit(area, unit, sizing):
        warnings.warn(IzzyfigWarning(message, key), stacklevel=3)


def _messages(notes: list, area: PrintArea) -> list[tuple[tuple, str]]:
    """One message per panel key for its labels, one for its scores (worst case kept), and
    the kinds' own ``Look.note`` messages once each."""
    labels: dict[tuple, dict[str, LabelNote]] = {}
    values: dict[tuple, ValueNote] = {}
    own: list[tuple[tuple, str]] = []
    for key, note in notes:
        if isinstance(note, LabelNote):
            axes = labels.setdefault(key, {})
            if note.axis not in axes or _worse(note, axes[note.axis]):
                axes[note.axis] = note
        elif isinstance(note, ValueNote):
            old = values.get(key)
            if old is None or note.dropped > old.dropped:
                values[key] = note
        elif isinstance(note, tuple):  # Look.note(key, message): a kind's own finding
            own.append((key + note[0], note[1]))
    out = list(dict.fromkeys(own))
    for key, axes in labels.items():
        out.append((key, _label_message(axes, area)))
    for key, note in values.items():
        out.append((key + ("enlarged_size",),
                    f"the scores of {note.dropped} of {note.total} enlarged cells do not fit at "
                    f"{note.size:g} pt and are not shown (use "
                    + ("enlarged_size: or width: text)" if area.page.columns == 2 and not area.spans_columns
                       else "a larger enlarged_size:)")))
    return _merged(out)


def _merged(found: list[tuple[tuple, str]]) -> list[tuple[tuple, str]]:
    """The same message from several panels once, at the key they share."""
    by_message: dict[str, list[tuple]] = {}
    for key, message in found:
        by_message.setdefault(message, []).append(key)
    out = []
    for message, keys in by_message.items():
        if len(keys) == 1:
            out.append((keys[0], message))
            continue
        panels = [k[1] for k in keys if len(k) >= 2 and k[0] == "panels"]
        out.append(((), f"{message} (in {len(keys)} panels)" if panels else message))
    return out


def _worse(note: LabelNote, other: LabelNote) -> bool:
    return (note.stride or 0, note.total - note.shown) > (other.stride or 0, other.total - other.shown)


def _label_message(axes: dict[str, LabelNote], area: PrintArea) -> str:
    main = axes.get("x") or axes["y"]
    hint = area.wider_hint(label_rotation=main.rotatable)
    head = f"{main.total} tokens in {main.length_pt:.0f} pt need {main.need_pt:.0f} pt at {main.size:g} pt"
    if main.stride is None:
        text = f"{head}; {main.shown} of the labels are shown"
    else:
        text = f"{head}; every {ordinal(main.stride)} token is labelled"
    other = axes.get("y") if main.axis == "x" else None
    if other is not None and other.stride and other.stride != main.stride:
        text += f" (rows: every {ordinal(other.stride)})"
    return f"{text} ({hint})"


def _page_fit(area: PrintArea, unit: float, sizing: Sizing) -> list[tuple[tuple, str]]:
    """Sizes that do not fit the page, with the key to change."""
    page = area.page
    out = []
    if area.width_key == "length" and area.width > page.textwidth + 1e-6:
        out.append((("width",), f"{to_unit(area.width, 'pt'):.0f} pt is wider than the text block "
                                f"({to_unit(page.textwidth, 'pt'):.0f} pt): the figure overflows the page "
                                "(use width: text or column)"))
    if area.height is not None and area.height > page.textheight + 1e-6:
        out.append((("height",), f"{to_unit(area.height, 'pt'):.0f} pt is taller than the text block "
                                 f"({to_unit(page.textheight, 'pt'):.0f} pt): the figure overflows the page"))
    if unit * 72.0 < MIN_UNIT_PT:
        out.append((("width",), f"titles and labels leave no room for the cells in "
                                f"{to_unit(area.width, 'pt'):.0f} pt x {to_unit(area.max_height, 'pt'):.0f} pt "
                                f"({area.wider_hint()}, or shorten the title and labels)"))
    return out
