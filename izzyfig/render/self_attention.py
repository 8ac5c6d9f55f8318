"""Self-attention: one table-lens heatmap of a square (query, key) map."""
from __future__ import annotations

from matplotlib.figure import Figure

from izzyfig.render import inputs, style
from izzyfig.render.heatmap import KindPlan
from izzyfig.render.lens import TableLens, axis_texts, lens_plan

DEFAULT_TITLE = "Self-Attention Heatmap"


def render_self_attention(
    matrix, tokens, *, boxes=(), top_n=3, enlarged_size=1.8, auto_regions=False,
    length_threshold=64, if_interval=False, if_top_cells=True, interval=10,
    show_scores_in_enlarged_cells=True, label_rotation=45, title=None, xlabel=None,
    ylabel=None, cmap="Blues", gamma=1.5, figsize=None, page=None, width=None, height=None, min_font=6.0, font="sans",
    mathtext=False,
) -> Figure:
    """Draw a (tokens, tokens) self-attention map as IzzyViz's table-lens heatmap.

    Parameters
    ----------
    matrix : array-like, shape (n, n)
        Attention of row token (query) to column token (key).
    tokens : sequence of str, length n
        Labels of both axes.
    boxes : sequence of (top, left, bottom, right)
        Inclusive cell ranges outlined in red.
    page : str or dict, optional
        Draw at the printed size: a venue preset (``'acl'``, ``'icml'``, ...) or a mapping
        ``{columnwidth, textwidth, textheight, fontsize, columns}`` (see ``izzyfig.page``).
    width : {'column', 'text'} or str, optional
        With a page: the column (default), the text width, or a length such as ``'8cm'``.
    height : str, optional
        With a page: a fixed height; default as tall as the contents need.
    min_font : float
        With a page: the smallest font size in points; labels that do not fit are thinned.
    font : {'sans', 'serif', 'cm'}
    mathtext : bool
        Parse ``$...$`` in the title and axis labels (default: drawn literally).
    Other keywords are the spec's table-lens options (see ``izzyfig.spec.models``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plan = self_attention_plan(
        matrix, tokens, boxes=boxes, top_n=top_n, enlarged_size=enlarged_size, auto_regions=auto_regions,
        length_threshold=length_threshold, if_interval=if_interval, if_top_cells=if_top_cells,
        interval=interval, show_scores_in_enlarged_cells=show_scores_in_enlarged_cells,
        label_rotation=label_rotation, title=title, xlabel=xlabel, ylabel=ylabel, cmap=cmap, gamma=gamma,
    )
    return plan.figure(figsize=figsize, page=page, width=width, height=height, min_font=min_font,
                       font=font, mathtext=mathtext)


def self_attention_plan(
    matrix, tokens, *, boxes=(), top_n=3, enlarged_size=1.8, auto_regions=False,
    length_threshold=64, if_interval=False, if_top_cells=True, interval=10,
    show_scores_in_enlarged_cells=True, label_rotation=45, title=None, xlabel=None,
    ylabel=None, cmap="Blues", gamma=1.5,
) -> KindPlan:
    """Validated inputs of ``render_self_attention`` and how to draw its panel."""
    data = inputs.square_matrix("matrix", matrix)
    labels = inputs.labels("tokens", tokens, data.shape[0], "tokens")
    lens = TableLens(
        top_n, enlarged_size, auto_regions, length_threshold, if_interval, if_top_cells, interval,
        show_scores_in_enlarged_cells, label_rotation,
    )
    title, xlabel, ylabel = axis_texts(
        title, xlabel, ylabel, (DEFAULT_TITLE, style.DEFAULT_XLABEL, style.DEFAULT_YLABEL)
    )
    return lens_plan(
        data, labels, labels, lens, boxes=boxes, title=title, xlabel=xlabel, ylabel=ylabel,
        cmap=cmap, gamma=gamma,
    )
