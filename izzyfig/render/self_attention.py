"""Self-attention: one table-lens heatmap of a square (query, key) map."""
from __future__ import annotations

from matplotlib.figure import Figure

from izzyfig.render import inputs, style
from izzyfig.render.lens import TableLens, axis_texts, lens_figure

DEFAULT_TITLE = "Self-Attention Heatmap"


def render_self_attention(
    matrix, tokens, *, boxes=(), top_n=3, enlarged_size=1.8, auto_regions=False,
    length_threshold=64, if_interval=False, if_top_cells=True, interval=10,
    show_scores_in_enlarged_cells=True, label_rotation=45, title=None, xlabel=None,
    ylabel=None, cmap="Blues", gamma=1.5, figsize=None,
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
    Other keywords are the spec's table-lens options (see ``izzyfig.spec.models``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = inputs.square_matrix("matrix", matrix)
    labels = inputs.labels("tokens", tokens, data.shape[0], "tokens")
    lens = TableLens(
        top_n, enlarged_size, auto_regions, length_threshold, if_interval, if_top_cells, interval,
        show_scores_in_enlarged_cells, label_rotation,
    )
    title, xlabel, ylabel = axis_texts(
        title, xlabel, ylabel, (DEFAULT_TITLE, style.DEFAULT_XLABEL, style.DEFAULT_YLABEL)
    )
    return lens_figure(
        data, labels, labels, lens, boxes=boxes, title=title, xlabel=xlabel, ylabel=ylabel,
        cmap=cmap, gamma=gamma, figsize=figsize,
    )
