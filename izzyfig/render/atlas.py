"""The atlas: every head of a layer range as small multiples on one colour scale.

Rows are layers, columns heads (Clark et al. 2019, *What Does BERT Look At?*). The
atlas is a grid of heatmap panels laid out by the one layout engine
(``layout.compose``): one colour scale and one colour bar for all panels, the head
above each column (``H4``, or ``H4 · kv1`` for grouped-query models), the layer left
of each row (``L3``). Token labels are drawn once per edge -- above the top row and
left of the first column -- when every token fits at the smallest font (``min_font``
on a page) without thinning; otherwise they are left out and the title says so
(``token_labels: edges`` forces them, ``none`` leaves them out silently). Chosen heads
are outlined (``highlight``).
"""
from __future__ import annotations

import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from izzyfig.errors import RenderError
from izzyfig.page import Typography
from izzyfig.render import heads, inputs, tokens
from izzyfig.render.boxes import box_width, draw_boxes
from izzyfig.render.cells import RASTER_CELLS, ColorScale
from izzyfig.render.colorbar import PAGE_BAR
from izzyfig.render.grid import CellGrid
from izzyfig.render.heatmap import KindPlan, Panel, draw_heatmap, figure_scale, page_area
from izzyfig.render.layout import PAGE_SPACING, Cell, PanelDraft
from izzyfig.render.style import BOX_COLOR, Look

TOKEN_LABELS = ("auto", "edges", "none")
PAGE_GAP_IN = 0.03  # between panels on a page: the panels read as one table
SCREEN_GAP_IN = 0.08
SCREEN_PANEL_IN = 1.0  # a panel's side on screen when its tokens are not labelled
SCREEN_UNIT_IN = 0.16  # a labelled cell on screen (6 pt labels)
SCREEN_BUDGET_IN = 14.0  # screen atlases label tokens while the grid stays this small
LABEL_PITCH = 1.2  # labels need this many font sizes between their centres (as tokens.py on a page)
CHAR_EM = 0.62  # mean advance of a character, in font sizes (DejaVu Sans is wide)
HIGHLIGHT_WIDTH = {True: 1.2, False: 2.0}  # points: page, screen


def render_atlas(
    maps, x_labels=None, y_labels=None, *, layer_ids=None, head_ids=None, heads_per_group=None, highlight=(),
    boxes=(), token_labels="auto", label_rotation=90, title=None, cmap="Blues", gamma=1.5, figsize=None,
    page=None, width=None, height=None, min_font=6.0, font="sans", mathtext=False,
) -> Figure:
    """Draw every head of several layers as a grid of small heatmaps on one colour scale.

    Parameters
    ----------
    maps : array-like, shape (layers, heads, query, key)
        The maps to draw: row ``r``, column ``c`` is ``maps[r, c]``.
    x_labels : sequence of str, length key, optional
        Key (column) tokens; default their indices.
    y_labels : sequence of str, length query, optional
        Query (row) tokens; default ``x_labels`` when the maps are square.
    layer_ids, head_ids : sequence of int, optional
        The model layer of each row and head of each column (default ``0, 1, ...``): labels
        ``L{layer}`` and ``H{head}``.
    heads_per_group : int, optional
        Query heads per key/value head of a grouped-query model: heads are labelled
        ``H4 · kv1``.
    highlight : sequence of (layer, head)
        Heads to outline, as model indices among ``layer_ids`` x ``head_ids``.
    boxes : sequence of (top, left, bottom, right)
        Cell ranges outlined in every panel.
    token_labels : {'auto', 'edges', 'none'}
        Tokens above the top row and left of the first column (``edges``), none, or
        ``auto``: edges when every token fits at the smallest font without thinning, else
        none, said in the title.
    label_rotation : {45, 90}
    title : str, optional
        Title above the grid; default names the layers.
    figsize, page, width, height, min_font, font, mathtext
        As for ``render_self_attention``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> maps = np.stack([a[0] for a in outputs.attentions])    # (layers, heads, n, n)
    >>> fig = render_atlas(maps, tokens, page="acl", width="text")
    """
    area = page_area(page, width, height, min_font)
    plan = atlas_plan(
        maps, x_labels, y_labels, layer_ids=layer_ids, head_ids=head_ids, heads_per_group=heads_per_group,
        highlight=highlight, boxes=boxes, token_labels=token_labels, label_rotation=label_rotation, title=title,
        cmap=cmap, gamma=gamma, area=area,
    )
    return plan.figure(figsize=figsize, page=page, width=width, height=height, min_font=min_font, font=font,
                       mathtext=mathtext)


def atlas_plan(
    maps, x_labels=None, y_labels=None, *, layer_ids=None, head_ids=None, heads_per_group=None, highlight=(),
    boxes=(), token_labels="auto", label_rotation=90, title=None, cmap="Blues", gamma=1.5, area=None,
) -> KindPlan:
    """Validated inputs of ``render_atlas`` and how to draw its panels, for the print ``area``."""
    data = inputs.array("maps", maps, 4, "(layers, heads, query, key)")
    rows, cols, n_query, n_key = data.shape
    xs = inputs.labels("x_labels", x_labels, n_key, "key tokens")
    ys = inputs.labels("y_labels", y_labels if y_labels is not None or n_query != n_key else x_labels,
                       n_query, "query tokens")
    layers = heads.indices("layer_ids", layer_ids, rows)
    head_list = heads.indices("head_ids", head_ids, cols)
    per_group = heads.group_size(heads_per_group)
    marked = frozenset(heads.highlighted(highlight, layers, head_list))
    if token_labels not in TOKEN_LABELS:
        raise RenderError(f"token_labels: must be one of {', '.join(TOKEN_LABELS)}, got {token_labels!r}")
    rotation = inputs.rotation(label_rotation)
    labelled = token_labels == "edges" or (token_labels == "auto" and fits_labels(area, data.shape, xs, ys, rotation))
    note = None if labelled or token_labels == "none" else \
        f"{_tokens_per_map(n_query, n_key)} per map, labels left out"
    panel = AtlasPanel(
        grid=CellGrid.uniform(n_query, n_key), x=tokens.dense(xs) if labelled else tokens.dense([]),
        y=tokens.dense(ys) if labelled else tokens.dense([]), rotation=rotation,
        boxes=inputs.boxes(boxes, (n_query, n_key)), rasterized=data.size > RASTER_CELLS,
    )
    titles = [heads.head_label(h, per_group) for h in head_list]
    narrow = [title.replace(" \N{MIDDLE DOT} ", "\n") for title in titles]  # H4 over kv1

    def panels(scale: ColorScale, own_colorbar: bool) -> list[PanelDraft]:
        drafts = []
        for r in range(rows):
            for c in range(cols):
                def draw(ax: Axes, unit_pt: float, look: Look, r=r, c=c) -> Panel:
                    title = None
                    if r == 0:  # a head label wider than its panel is set on two lines
                        wide = len(titles[c]) * CHAR_EM * look.typo.panel_title > n_key * unit_pt
                        title = narrow[c] if wide else titles[c]
                    return panel.draw(ax, data[r, c], scale, unit_pt, look, title=title,
                                      row=f"L{layers[r]}" if c == 0 else None, outlined=(r, c) in marked)

                drafts.append(PanelDraft(n_key, n_query, draw, Cell(r, c)))
        return drafts

    scale = figure_scale(data.min(), data.max(), gamma, cmap)
    screen_unit = SCREEN_UNIT_IN if labelled else SCREEN_PANEL_IN / max(n_query, n_key)
    return KindPlan(scale, max(n_query, n_key), labelled, panels, title=_title(title, layers, note),
                    texts=(("title", title),), unit_in=screen_unit,
                    gap_in=PAGE_GAP_IN if area is not None else SCREEN_GAP_IN)


class AtlasPanel:
    """What every panel of an atlas shares: its grid, edge labels, boxes and how it is drawn."""

    def __init__(self, *, grid: CellGrid, x: tokens.AxisLabels, y: tokens.AxisLabels, rotation: int,
                 boxes: tuple, rasterized: bool):
        self.grid, self.x, self.y, self.rotation = grid, x, y, rotation
        self.boxes, self.rasterized = boxes, rasterized
        self.no_labels = tokens.dense([])

    def draw(self, ax: Axes, matrix: np.ndarray, scale: ColorScale, unit_pt: float, look: Look, *,
             title: str | None, row: str | None, outlined: bool) -> Panel:
        """One head: its map, tokens on the grid's edges (top row, first column), its labels."""
        panel = draw_heatmap(
            ax, matrix, self.grid, scale, self.x if title is not None else self.no_labels,
            self.y if row is not None else self.no_labels, unit_pt=unit_pt, title=title or "", xlabel="",
            ylabel="", rotation=self.rotation, look=look, title_size=look.typo.panel_title, rotatable=True,
        )
        panel.mesh.set_rasterized(self.rasterized)
        if row is not None:
            ax.set_ylabel(row, rotation=0, ha="right", va="center", fontsize=look.typo.panel_title,
                          labelpad=2.0 if look.on_page else 4.0)
        draw_boxes(ax, self.grid, self.boxes, linewidth=box_width(look))
        if outlined:
            for spine in ax.spines.values():
                spine.set(visible=True, edgecolor=BOX_COLOR, linewidth=HIGHLIGHT_WIDTH[look.on_page], zorder=6)
        return panel


def fits_labels(area, shape: tuple[int, ...], xs: list[str], ys: list[str], rotation: int) -> bool:
    """Whether every token can be labelled on the grid's edges without thinning.

    On a page: the grid with cells one label apart (``LABEL_PITCH`` times the smallest
    font) plus the labels, layer and head names and colour bar must fit the print area.
    On screen: the grid with ``SCREEN_UNIT_IN`` cells fits ``SCREEN_BUDGET_IN`` a side.
    """
    rows, cols, n_query, n_key = shape
    if area is None:
        return max(cols * n_key, rows * n_query) * SCREEN_UNIT_IN <= SCREEN_BUDGET_IN
    typo = Typography.for_area(area)
    size = typo.tick_min
    sine = math.sin(math.radians(rotation))
    unit = max(LABEL_PITCH * size / sine, LABEL_PITCH * size)  # points per cell
    gap, pad = PAGE_GAP_IN * 72, PAGE_SPACING.pad * 72
    x_text = _longest(xs) * CHAR_EM * size
    bar = (PAGE_BAR.pad + PAGE_BAR.width) * 72 + 4 * CHAR_EM * typo.colorbar_tick
    width = cols * n_key * unit + (cols - 1) * gap + _longest(ys) * CHAR_EM * size + 4 * CHAR_EM * typo.panel_title
    width += bar + 2 * pad + x_text * math.cos(math.radians(rotation))
    height = rows * n_query * unit + (rows - 1) * gap + x_text * sine + 1.4 * typo.panel_title
    height += 2 * 1.3 * typo.title + 2 * pad
    return width <= area.width * 72 and height <= area.max_height * 72


def _longest(labels: list[str]) -> int:
    return max((len(label) for label in labels), default=0)


def _tokens_per_map(n_query: int, n_key: int) -> str:
    return f"{n_query} tokens" if n_query == n_key else f"{n_query} x {n_key} tokens"


def _title(title: str | None, layers: tuple[int, ...], note: str | None) -> str | None:
    """The user's title, or one naming the layers; the note about left-out labels below it."""
    if title is None:
        contiguous = layers == tuple(range(layers[0], layers[-1] + 1))
        span = f"{layers[0]}\N{EN DASH}{layers[-1]}" if contiguous else ", ".join(map(str, layers))
        title = f"Attention heads of layer {layers[0]}" if len(layers) == 1 else f"Attention heads of layers {span}"
    lines = [line for line in (str(title), note) if line]
    return "\n".join(lines) or None
