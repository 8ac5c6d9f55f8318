"""Cross-attention: decoder tokens (rows) attending to encoder tokens (columns)."""
from __future__ import annotations

from matplotlib.figure import Figure

from izzyfig.errors import RenderError
from izzyfig.render import inputs
from izzyfig.render.heatmap import KindPlan
from izzyfig.render.lens import TableLens, axis_texts, lens_plan

# use_case -> (title, xlabel, ylabel), IzzyViz's defaults
USE_CASES = {
    "cross_attention": ("Cross-Attention Heatmap (Decoder to Encoder)", "Encoder Tokens", "Decoder Tokens"),
    "encoder_self_attention": ("Encoder Self-Attention Heatmap", "Encoder Tokens", "Encoder Tokens"),
    "decoder_self_attention": ("Decoder Self-Attention Heatmap", "Decoder Tokens", "Decoder Tokens"),
}


def render_cross_attention(
    matrix, x_labels, y_labels, *, boxes=(), use_case="cross_attention", top_n=3,
    enlarged_size=1.8, auto_regions=False, length_threshold=64, if_interval=False,
    if_top_cells=True, interval=10, show_scores_in_enlarged_cells=True, label_rotation=45,
    title=None, xlabel=None, ylabel=None, cmap="Blues", gamma=1.5, figsize=None, page=None,
    width=None, height=None, min_font=6.0, font="sans", mathtext=False,
) -> Figure:
    """Draw a (target, source) attention map as a table-lens heatmap.

    Parameters
    ----------
    matrix : array-like, shape (target, source)
        Rows are the attending (decoder) tokens, columns the attended (encoder) tokens.
    x_labels : sequence of str, length source
    y_labels : sequence of str, length target
    use_case : {'cross_attention', 'encoder_self_attention', 'decoder_self_attention'}
        Only changes the default title and axis labels (self-attention cases need a square map).
    page, width, height, min_font, font, mathtext
        As for ``render_self_attention``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plan = cross_attention_plan(
        matrix, x_labels, y_labels, boxes=boxes, use_case=use_case, top_n=top_n,
        enlarged_size=enlarged_size, auto_regions=auto_regions, length_threshold=length_threshold,
        if_interval=if_interval, if_top_cells=if_top_cells, interval=interval,
        show_scores_in_enlarged_cells=show_scores_in_enlarged_cells, label_rotation=label_rotation,
        title=title, xlabel=xlabel, ylabel=ylabel, cmap=cmap, gamma=gamma,
    )
    return plan.figure(figsize=figsize, page=page, width=width, height=height, min_font=min_font,
                       font=font, mathtext=mathtext)


def cross_attention_plan(
    matrix, x_labels, y_labels, *, boxes=(), use_case="cross_attention", top_n=3,
    enlarged_size=1.8, auto_regions=False, length_threshold=64, if_interval=False,
    if_top_cells=True, interval=10, show_scores_in_enlarged_cells=True, label_rotation=45,
    title=None, xlabel=None, ylabel=None, cmap="Blues", gamma=1.5,
) -> KindPlan:
    """Validated inputs of ``render_cross_attention`` and how to draw its panel."""
    if use_case not in USE_CASES:
        raise RenderError(f"use_case: must be one of {', '.join(USE_CASES)}, got {use_case!r}")
    data = inputs.matrix("matrix", matrix)
    if use_case != "cross_attention" and data.shape[0] != data.shape[1]:
        raise RenderError(f"matrix: {use_case} needs a square matrix, got shape {data.shape}")
    columns = inputs.labels("x_labels", x_labels, data.shape[1], "columns")
    rows = inputs.labels("y_labels", y_labels, data.shape[0], "rows")
    lens = TableLens(
        top_n, enlarged_size, auto_regions, length_threshold, if_interval, if_top_cells, interval,
        show_scores_in_enlarged_cells, label_rotation,
    )
    title, xlabel, ylabel = axis_texts(title, xlabel, ylabel, USE_CASES[use_case])
    return lens_plan(
        data, columns, rows, lens, boxes=boxes, title=title, xlabel=xlabel, ylabel=ylabel,
        cmap=cmap, gamma=gamma,
    )
