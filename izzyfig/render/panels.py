"""Multi-panel figures: figures of any single-map kind in a grid, on one colour scale.

Each panel is planned by its kind (``<kind>_plan``: inputs validated, colour scale
known), then drawn by the one layout engine (``layout.compose``) in its grid cell.
When the panels share a colour scale (same colormap and gamma, or ``scale='shared'``)
they are drawn on the range of all of them together with one colour bar right of the
grid; otherwise each panel keeps its own scale and bar.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from string import ascii_lowercase

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from izzyfig.errors import RenderError
from izzyfig.render.cells import color_scale
from izzyfig.render.comparison import comparison_plan
from izzyfig.render.cross_attention import cross_attention_plan
from izzyfig.render.evolution import evolution_plan
from izzyfig.render.heatmap import KindPlan, figure_of, make_look, page_area
from izzyfig.render.layout import Cell, PanelDraft
from izzyfig.render.regions import regions_plan
from izzyfig.render.self_attention import self_attention_plan
from izzyfig.render.stability import stability_plan
from izzyfig.render.style import Look

PANEL_PLANS = {
    "self-attention": self_attention_plan,
    "cross-attention": cross_attention_plan,
    "comparison": comparison_plan,
    "stability": stability_plan,
    "evolution": evolution_plan,
    "regions": regions_plan,
}
SCALES = ("auto", "shared", "each")
DEFAULT_COLUMNS = 4


def render_panels(
    panels: Sequence[tuple[str, tuple, dict]], *, columns=None, letters=True, scale="auto", title=None,
    figsize=None, page=None, width=None, height=None, min_font=6.0, font="sans", mathtext=False,
) -> Figure:
    """Draw several figures as panels of one figure.

    Parameters
    ----------
    panels : sequence of (kind, arrays, options)
        ``kind`` is a single-map kind (``'self-attention'``, ``'comparison'``, ...);
        ``arrays`` the positional arguments of its ``render_<kind>`` (e.g. ``(matrix,
        tokens)``); ``options`` its keyword options (``title`` is the panel's title).
    columns : int, optional
        Panels per row; default all in one row, at most 4.
    letters : bool
        Prefix panel titles with (a), (b), ...
    scale : {'auto', 'shared', 'each'}
        One colour scale and bar for all panels, one per panel, or shared when every
        panel uses the same colormap and gamma.
    title : str, optional
        Title above all panels.
    figsize, page, width, height, min_font, font, mathtext
        As for ``render_self_attention``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if scale not in SCALES:
        raise RenderError(f"scale: must be one of {', '.join(SCALES)}, got {scale!r}")
    plans = [_plan(index, *panel) for index, panel in enumerate(panels)]
    if not plans:
        raise RenderError("panels: expected at least one panel")
    per_row = _columns(columns, len(plans))
    shared = _shared_scale(plans) if scale == "shared" or (scale == "auto" and _same_colors(plans)) else None
    drafts = []
    for index, plan in enumerate(plans):
        (draft,) = plan.panels(shared or plan.scale, shared is None)
        draft.cell = Cell(index // per_row, index % per_row)
        draft.key = ("panels", index)
        if letters:
            draft.draw = _lettered(draft.draw, ascii_lowercase[index % 26])
        drafts.append(draft)
    texts = (("title", title),) + tuple(text for plan in plans for text in plan.texts)
    look = make_look(page_area(page, width, height, min_font), font, mathtext, texts)
    return figure_of(drafts, look, n_tokens=max(p.n_tokens for p in plans), dense=all(p.dense for p in plans),
                     figsize=figsize, colorbar=shared, title=title)


def _plan(index: int, kind: str, arrays: tuple, options: dict) -> KindPlan:
    if kind not in PANEL_PLANS:
        raise RenderError(f"panels[{index}]: kind must be one of {', '.join(PANEL_PLANS)}, got {kind!r}")
    try:
        return PANEL_PLANS[kind](*arrays, **options)
    except RenderError as error:
        raise RenderError(f"panels[{index}]: {error}") from None
    except TypeError as error:
        raise RenderError(f"panels[{index}]: {error}") from None


def _columns(columns, count: int) -> int:
    if columns is None:
        return min(count, DEFAULT_COLUMNS)
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise RenderError(f"columns: expected a positive integer, got {columns!r}")
    return min(columns, count)


def _same_colors(plans: list[KindPlan]) -> bool:
    first = plans[0].scale
    return all(p.scale.cmap.name == first.cmap.name and p.scale.norm.gamma == first.norm.gamma for p in plans)


def _shared_scale(plans: list[KindPlan]):
    """One scale over every panel's range, with the first panel's colormap and gamma."""
    first = plans[0].scale
    low = min(float(p.scale.norm.vmin) for p in plans)
    high = max(float(p.scale.norm.vmax) for p in plans)
    if all(p.scale.constant for p in plans) and math.isclose(low, high):
        return first
    return color_scale(low, high, first.norm.gamma, first.cmap)


def _lettered(draw, letter: str):
    """``draw`` followed by putting ``(letter)`` before the panel's title."""

    def lettered(ax: Axes, unit_pt: float, look: Look):
        panel = draw(ax, unit_pt, look)
        title = ax.title.get_text()
        ax.title.set_text(f"({letter}) {title}" if title else f"({letter})")
        return panel

    return lettered
