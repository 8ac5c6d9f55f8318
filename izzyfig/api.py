"""IzzyViz-compatible Python API: the same function names, parameters and defaults.

Each function accepts NumPy arrays or tensors (converted by duck typing; torch is
never imported here), selects the map the way IzzyViz does, draws it with
:mod:`izzyfig.render`, saves it where IzzyViz would, and returns the Figure
(IzzyViz returned nothing or an Axes, and printed; nothing is printed here).

Deliberate differences from IzzyViz:

- question-context titles A→B / B→A match the blocks they show (IzzyViz swaps them);
- ``visualize_attention_encoder_decoder`` honours ``save_path`` (IzzyViz ignores it);
- ``auto_detect_regions`` adds the region kernel's boxes (orange) to the manual ones
  (IzzyViz replaces the manual boxes with those of a brute-force search over every
  rectangle, which is quartic in the number of tokens; izzyfig uses the same
  seed-grow-merge regions as ``visualize_attention_with_detected_regions``);
- exactly ``top_n`` cells are enlarged (ties go to the earlier cell);
- ``gamma`` of the evolution figure is used (IzzyViz fixes it at 1.5);
- comparison axes get the usual axis labels when ``xlabel``/``ylabel`` are None;
- long inputs get sparse, non-overlapping labels in every kind;
- mistakes raise :class:`izzyfig.errors.RenderError` with one-line messages.

Three functions have no IzzyViz counterpart and follow the same conventions (model
outputs in, a saved and returned Figure out): ``visualize_attention_atlas``,
``visualize_head_summary`` and ``visualize_attention_rollout``, the analysis kinds.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from matplotlib.figure import Figure

from izzyfig.errors import AnalysisError, RenderError
from izzyfig.render import (
    render_atlas,
    render_comparison,
    render_cross_attention,
    render_evolution,
    render_head_summary,
    render_question_context,
    render_regions,
    render_rollout,
    render_self_attention,
    render_stability,
    save_figure,
)
from izzyfig.render import inputs
from izzyfig.render.regions import draw_regions, regions_job
from izzyfig.render.stability import draw_stability, stability_job
from izzyfig.render.style import rendering

__all__ = [
    "check_stability_heatmap_with_gradient_color",
    "compare_two_attentions_with_circles",
    "find_attention_regions_with_merging",
    "visualize_attention_encoder_decoder",
    "visualize_attention_evolution_sparklines",
    "visualize_attention_self_attention",
    "visualize_attention_with_detected_regions",
    "visualize_attention_atlas",
    "visualize_head_summary",
    "visualize_attention_rollout",
]

_CROSS_SAVE_PATHS = {
    "cross_attention": "cross_attention_heatmap.pdf",
    "encoder_self_attention": "encoder_self_attention_heatmap.pdf",
    "decoder_self_attention": "decoder_self_attention_heatmap.pdf",
}


def visualize_attention_self_attention(
    attentions, tokens, layer, head, xlabel="Tokens Attended to", ylabel="Tokens Attending",
    question_end=None, top_n=3, enlarged_size=1.8, gamma=1.5, mode="self_attention",
    plot_titles=None, left_top_cells=None, right_bottom_cells=None, auto_detect_regions=False,
    save_path=None, length_threshold=64, if_interval=False, if_top_cells=True, interval=10,
    show_scores_in_enlarged_cells=True, lean_more=False,
) -> Figure:
    """Self-attention (one panel) or question-context (five panels) of one layer and head.

    ``attentions`` is the model's per-layer tuple of (1, heads, q, k) tensors (or
    (heads, q, k) maps, or one (layers, [1,] heads, q, k) array). Saved to
    ``save_path`` (default ``self_attention_heatmap.pdf`` or ``QC_attention_heatmaps.pdf``).
    """
    matrix = select_layer_head(attentions, layer, head)
    options = dict(
        boxes=cell_boxes(left_top_cells, right_bottom_cells), top_n=top_n,
        enlarged_size=enlarged_size, auto_regions=auto_detect_regions,
        length_threshold=length_threshold, if_interval=if_interval, if_top_cells=if_top_cells,
        interval=interval, show_scores_in_enlarged_cells=show_scores_in_enlarged_cells,
        label_rotation=90 if lean_more else 45, xlabel=xlabel, ylabel=ylabel, gamma=gamma,
    )
    with _renamed(matrix=f"attentions[{layer}][{head}]", titles="plot_titles"):
        if mode == "self_attention":
            fig = render_self_attention(matrix, tokens, title=_single_title(plot_titles), **options)
            default_path = "self_attention_heatmap.pdf"
        elif mode == "question_context":
            if question_end is None:
                raise RenderError("question_end: required for mode='question_context'")
            fig = render_question_context(matrix, tokens, question_end, titles=plot_titles, **options)
            default_path = "QC_attention_heatmaps.pdf"
        else:
            raise RenderError(f"mode: must be 'self_attention' or 'question_context', got {mode!r}")
    save_figure(fig, save_path or default_path)
    return fig


def visualize_attention_encoder_decoder(
    attention_matrix, encoder_tokens, decoder_tokens, xlabel=None, ylabel=None, top_n=3,
    enlarged_size=1.8, gamma=1.5, plot_title=None, left_top_cells=None, right_bottom_cells=None,
    save_path=None, use_case="cross_attention", lean_more=False,
) -> Figure:
    """Cross-attention (decoder rows, encoder columns) or an encoder/decoder self-attention map."""
    if use_case not in _CROSS_SAVE_PATHS:
        raise RenderError(f"use_case: must be one of {', '.join(_CROSS_SAVE_PATHS)}, got {use_case!r}")
    columns = decoder_tokens if use_case == "decoder_self_attention" else encoder_tokens
    rows = encoder_tokens if use_case == "encoder_self_attention" else decoder_tokens
    column_name = "decoder_tokens" if use_case == "decoder_self_attention" else "encoder_tokens"
    row_name = "encoder_tokens" if use_case == "encoder_self_attention" else "decoder_tokens"
    with _renamed(matrix="attention_matrix", x_labels=column_name, y_labels=row_name):
        fig = render_cross_attention(
            attention_matrix, columns, rows, boxes=cell_boxes(left_top_cells, right_bottom_cells),
            use_case=use_case, top_n=top_n, enlarged_size=enlarged_size,
            label_rotation=90 if lean_more else 45, title=plot_title, xlabel=xlabel, ylabel=ylabel,
            gamma=gamma,
        )
    save_figure(fig, save_path or _CROSS_SAVE_PATHS[use_case])
    return fig


def compare_two_attentions_with_circles(
    attn1, attn2, tokens, title="Comparison with Circles", xlabel=None, ylabel=None,
    save_path=None, circle_scale=1.0, gamma=1.5, cmap="Blues", max_circle_ratio=0.45,
) -> Figure:
    """``attn1`` as cells, ``attn2`` as circles sized by ``|attn2 - attn1|``."""
    with _renamed(a="attn1", b="attn2", x_labels="tokens", y_labels="tokens"):
        fig = render_comparison(
            attn1, attn2, tokens, tokens, circle_scale=circle_scale,
            max_circle_ratio=max_circle_ratio, title=title, xlabel=xlabel, ylabel=ylabel, cmap=cmap,
            gamma=gamma,
        )
    save_figure(fig, save_path or "attention_comparison_circles.pdf")
    return fig


def check_stability_heatmap_with_gradient_color(
    matrices, x_labels=None, y_labels=None, title="Check Stability Heatmap with Gradient Circles",
    xlabel="Tokens Attended to", ylabel="Tokens Attending", ax=None, use_std_error=True,
    circle_scale=1.0, cmap="Blues", linecolor="white", linewidths=1.0,
    save_path="check_stability_heatmap_with_gradient_color.pdf", gamma=1.5, radial_resolution=100,
    use_white_center=False, color_contrast_scale=2.0, max_circle_ratio=0.45,
) -> Figure:
    """Stability of ``matrices`` (n, R, C) over n runs; draws into ``ax`` when given."""
    runs = stacked(matrices, "matrices")
    rows, cols = runs.shape[1:] if runs.ndim == 3 else (0, 0)
    options = dict(
        use_std_error=use_std_error, linecolor=linecolor, linewidths=linewidths,
        radial_resolution=radial_resolution, use_white_center=use_white_center,
        color_contrast_scale=color_contrast_scale, circle_scale=circle_scale,
        max_circle_ratio=max_circle_ratio, title=title, xlabel=xlabel, ylabel=ylabel, cmap=cmap,
        gamma=gamma,
    )
    x_labels = [f"X{j}" for j in range(cols)] if x_labels is None else x_labels
    y_labels = [f"Y{i}" for i in range(rows)] if y_labels is None else y_labels
    with _renamed(runs="matrices"):
        fig = _into(ax, render_stability, stability_job, draw_stability, runs, x_labels, y_labels, **options)
    if save_path:
        save_figure(fig, save_path)
    return fig


def visualize_attention_evolution_sparklines(
    attentions_over_time, tokens=None, layer=None, head=None,
    title="Attention Evolution Over Training", xlabel="Tokens Attended to",
    ylabel="Tokens Attending", figsize=(12, 10), sparkline_color_dark="darkblue",
    sparkline_color_light="white", sparkline_linewidth=1.0, sparkline_alpha=0.8, gamma=1.5,
    normalize_sparklines=False, save_path="attention_evolution_sparklines.pdf",
) -> Figure:
    """Evolution over T steps of (T, layers, heads, q, k) at ``layer``/``head`` (or of (T, q, k))."""
    steps = select_steps(attentions_over_time, layer, head)
    with _renamed(steps="attentions_over_time", x_labels="tokens", y_labels="tokens"):
        fig = render_evolution(
            steps, tokens, tokens, sparkline_color_dark=sparkline_color_dark,
            sparkline_color_light=sparkline_color_light, sparkline_linewidth=sparkline_linewidth,
            sparkline_alpha=sparkline_alpha, normalize_sparklines=normalize_sparklines, title=title,
            xlabel=xlabel, ylabel=ylabel, gamma=gamma, figsize=figsize,
        )
    if save_path:
        save_figure(fig, save_path)
    return fig


def visualize_attention_with_detected_regions(
    attention_matrix, source_tokens, target_tokens, title="Attention with Detected Regions",
    xlabel="Tokens Attended to", ylabel="Tokens Attending", n_regions=3, min_distance=2,
    expansion_threshold=0.9, merge_threshold=0.6, region_color="orange", region_linewidth=2,
    region_alpha=0.7, label_regions=False, gamma=1.5,
    save_path="attention_with_detected_regions.pdf", ax=None, cmap="Blues",
    max_expansion_steps=3, proximity_threshold=2,
) -> Figure:
    """``attention_matrix`` (target, source) with key regions; draws into ``ax`` when given."""
    options = dict(
        n_regions=n_regions, min_distance=min_distance, expansion_threshold=expansion_threshold,
        merge_threshold=merge_threshold, proximity_threshold=proximity_threshold,
        max_expansion_steps=max_expansion_steps, region_color=region_color,
        region_linewidth=region_linewidth, region_alpha=region_alpha, label_regions=label_regions,
        title=title, xlabel=xlabel, ylabel=ylabel, cmap=cmap, gamma=gamma,
    )
    with _renamed(matrix="attention_matrix", x_labels="source_tokens", y_labels="target_tokens"):
        fig = _into(ax, render_regions, regions_job, draw_regions, attention_matrix, source_tokens,
                    target_tokens, **options)
    if save_path:
        save_figure(fig, save_path)
    return fig


def find_attention_regions_with_merging(
    attention_matrix, n_seeds=3, min_distance=2, expansion_threshold=0.7, merge_std_threshold=0.6,
    proximity_threshold=2, max_expansion_steps=3,
) -> list[tuple[int, int, int, int]]:
    """IzzyViz's key-region search (izzyfig.kernels); accepts arrays or tensors."""
    from izzyfig import kernels

    return kernels.find_attention_regions_with_merging(
        inputs.to_numpy("attention_matrix", attention_matrix), n_seeds=n_seeds,
        min_distance=min_distance, expansion_threshold=expansion_threshold,
        merge_std_threshold=merge_std_threshold, proximity_threshold=proximity_threshold,
        max_expansion_steps=max_expansion_steps,
    )


# --------------------------------------------------------------------------- analysis kinds
def visualize_attention_atlas(
    attentions, tokens=None, layers=None, heads=None, highlight=None, heads_per_group=None,
    token_labels="auto", title=None, gamma=1.5, cmap="Blues", save_path="attention_atlas.pdf",
    page=None, width=None, height=None, min_font=6.0, font="sans",
) -> Figure:
    """Every head of ``layers`` (first, last; default all) as small multiples on one colour scale.

    ``attentions`` as for ``visualize_attention_self_attention`` (a per-layer tuple of
    (1, heads, q, k) tensors, or a (layers, [1,] heads, q, k) array). ``heads`` picks and
    orders the columns; ``highlight`` is a list of (layer, head) pairs to outline;
    ``heads_per_group`` (query heads per key/value head) labels heads ``H4 · kv1``.
    """
    maps = layer_stack(attentions)
    first, last = _layer_span(layers, maps.shape[0])
    head_ids = tuple(range(maps.shape[1])) if heads is None else \
        tuple(_index("heads", h, maps.shape[1], "heads") % maps.shape[1] for h in heads)
    with _renamed(x_labels="tokens", layer_ids="layers", head_ids="heads"):
        fig = render_atlas(
            maps[first:last + 1][:, list(head_ids)], tokens, layer_ids=range(first, last + 1), head_ids=head_ids,
            heads_per_group=heads_per_group, highlight=highlight or (), token_labels=token_labels, title=title,
            gamma=gamma, cmap=cmap, page=page, width=width, height=height, min_font=min_font, font=font,
        )
    if save_path:
        save_figure(fig, save_path)
    return fig


def visualize_head_summary(
    attentions, statistic, tokens=None, special=None, layers=None, highlight=None, heads_per_group=None,
    annotate="all", title=None, gamma=1.0, cmap="Blues", save_path="head_summary.pdf",
    page=None, width=None, height=None, min_font=6.0, font="sans",
) -> Figure:
    """One ``statistic`` per head (``izzyfig.analysis.head_statistics``) as a layers x heads heatmap.

    ``attentions`` is one text's per-layer maps (as for ``visualize_attention_self_attention``),
    or a list of several texts' (then ``tokens`` is a list of token lists, and the value
    is the mean over texts). ``tokens`` find the special tokens for ``special`` (or give
    ``special`` key positions) and check an ``induction`` sequence's repetition.
    """
    from izzyfig.analysis import corpus_head_statistics

    several = isinstance(attentions, (list, tuple)) and len(attentions) > 0 and \
        isinstance(attentions[0], (list, tuple))
    texts = [layer_stack(maps, f"attentions[{i}]") for i, maps in enumerate(attentions)] if several \
        else [layer_stack(attentions)]
    first, last = _layer_span(layers, texts[0].shape[0])
    token_lists = tokens if several or tokens is None else [tokens]
    try:
        values = corpus_head_statistics([maps[first:last + 1] for maps in texts], statistic, token_lists, special)
    except AnalysisError as error:
        message = str(error) if several else str(error).removeprefix("text 0: ")
        raise RenderError(f"attentions: {message}") from None
    fig = render_head_summary(
        values, statistic=statistic, layer_ids=range(first, last + 1), heads_per_group=heads_per_group,
        highlight=highlight or (), annotate=annotate, texts=len(texts), title=title, gamma=gamma, cmap=cmap,
        page=page, width=width, height=height, min_font=min_font, font=font,
    )
    if save_path:
        save_figure(fig, save_path)
    return fig


def visualize_attention_rollout(
    attentions, tokens, residual=0.5, layers=None, xlabel="Tokens Attended to", ylabel="Tokens Attending",
    top_n=3, enlarged_size=1.8, gamma=1.5, left_top_cells=None, right_bottom_cells=None,
    auto_detect_regions=False, title=None, save_path="attention_rollout.pdf", lean_more=False,
    page=None, width=None, height=None, min_font=6.0, font="sans",
) -> Figure:
    """Attention rollout (``izzyfig.analysis.attention_rollout``) of ``layers`` drawn like self-attention."""
    from izzyfig.analysis import attention_rollout

    maps = layer_stack(attentions)
    first, last = _layer_span(layers, maps.shape[0])
    try:
        rollout = attention_rollout(maps, residual=residual, layers=(first, last))
    except AnalysisError as error:
        raise RenderError(f"attentions: {error}") from None
    with _renamed(matrix="attentions"):
        fig = render_rollout(
            rollout, tokens, layers=(first, last), residual=residual,
            boxes=cell_boxes(left_top_cells, right_bottom_cells), top_n=top_n, enlarged_size=enlarged_size,
            auto_regions=auto_detect_regions, label_rotation=90 if lean_more else 45, title=title,
            xlabel=xlabel, ylabel=ylabel, gamma=gamma, page=page, width=width, height=height,
            min_font=min_font, font=font,
        )
    if save_path:
        save_figure(fig, save_path)
    return fig


# --------------------------------------------------------------------------- selection
def layer_stack(attentions, name: str = "attentions") -> np.ndarray:
    """``(layers, heads, query, key)`` from per-layer maps or a (layers, [1,] heads, q, k) array."""
    if isinstance(attentions, (list, tuple)):
        if not attentions or attentions[0] is None:
            raise RenderError(
                f"{name}: the model returned no attention weights; load it with "
                "attn_implementation=\"eager\" and call it with output_attentions=True"
            )
        stack = stacked(attentions, name)
    else:
        stack = inputs.to_numpy(name, attentions)
    if stack.ndim == 5 and stack.shape[1] == 1:
        stack = stack[:, 0]
    if stack.ndim != 4:
        raise RenderError(f"{name}: expected per-layer (1, heads, query, key) maps or a "
                          f"(layers, [1,] heads, query, key) array, got shape {stack.shape}")
    return stack


def _layer_span(layers, count: int) -> tuple[int, int]:
    """An inclusive (first, last) layer range, negatives from the end; ``None``: every layer."""
    if layers is None:
        return 0, count - 1
    if isinstance(layers, (str, bytes)) or len(layers) != 2:
        raise RenderError(f"layers: expected (first, last), got {layers!r}")
    first, last = (_index("layers", value, count, "layers") % count for value in layers)
    if first > last:
        raise RenderError(f"layers: {tuple(layers)!r} is inverted: layer {first} comes after layer {last}")
    return first, last


def select_layer_head(attentions, layer, head) -> np.ndarray:
    """The (q, k) map of ``layer``/``head`` from per-layer maps or a stacked array."""
    if isinstance(attentions, (list, tuple)):
        count = len(attentions)
        if count == 0 or attentions[0] is None:
            # transformers' sdpa/flash attention computes no weights and returns () or Nones.
            raise RenderError(
                "attentions: the model returned no attention weights; load it with "
                "attn_implementation=\"eager\" and call it with output_attentions=True"
            )
        layer_maps = inputs.to_numpy("attentions", attentions[_index("layer", layer, count, "layers")])
    else:
        stack = inputs.to_numpy("attentions", attentions)
        if stack.ndim not in (4, 5):
            raise RenderError(
                f"attentions: expected per-layer maps or a (layers, [1,] heads, query, key) array, "
                f"got shape {stack.shape}"
            )
        layer_maps = stack[_index("layer", layer, stack.shape[0], "layers")]
    if layer_maps.ndim == 4 and layer_maps.shape[0] == 1:
        layer_maps = layer_maps[0]
    if layer_maps.ndim != 3:
        raise RenderError(
            f"attentions[{layer}]: expected shape (1, heads, query, key) or (heads, query, key), "
            f"got {layer_maps.shape}"
        )
    return layer_maps[_index("head", head, layer_maps.shape[0], "heads")]


def select_steps(attentions_over_time, layer, head) -> np.ndarray:
    """(T, q, k) maps: from (T, layers, heads, q, k) at ``layer``/``head``, or as given."""
    steps = stacked(attentions_over_time, "attentions_over_time")
    if steps.ndim == 3 and layer is None and head is None:
        return steps
    if steps.ndim != 5:
        raise RenderError(
            f"attentions_over_time: expected shape (steps, layers, heads, query, key), got {steps.shape}"
        )
    if layer is None or head is None:
        raise RenderError("layer, head: both are required for (steps, layers, heads, query, key) input")
    layer = _index("layer", layer, steps.shape[1], "layers")
    return steps[:, layer, _index("head", head, steps.shape[2], "heads")]


def stacked(value, name: str) -> np.ndarray:
    """An array from an array, a tensor, or a list of either (stacked along a new axis 0)."""
    if isinstance(value, (list, tuple)):
        parts = [inputs.to_numpy(f"{name}[{i}]", v) for i, v in enumerate(value)]
        if len({p.shape for p in parts}) > 1:
            raise RenderError(f"{name}: items have different shapes {sorted({p.shape for p in parts})}")
        return np.stack(parts) if parts else np.zeros((0,))
    return inputs.to_numpy(name, value)


def cell_boxes(left_top_cells, right_bottom_cells) -> list[tuple[int, int, int, int]]:
    """IzzyViz's paired (row, col) corner lists as (top, left, bottom, right) boxes."""
    if left_top_cells is None or right_bottom_cells is None:
        return []
    if len(left_top_cells) != len(right_bottom_cells):
        raise RenderError(
            f"left_top_cells, right_bottom_cells: {len(left_top_cells)} and "
            f"{len(right_bottom_cells)} corners; they must pair up"
        )
    return [(lt[0], lt[1], rb[0], rb[1]) for lt, rb in zip(left_top_cells, right_bottom_cells)]


def _index(name: str, value, count: int, what: str) -> int:
    """A Python-style index (negatives count from the end) checked against ``count``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise RenderError(f"{name}: expected an integer index, got {value!r}")
    if not -count <= value < count:
        raise RenderError(f"{name}: {value} is out of range for {count} {what}")
    return int(value)


def _single_title(plot_titles) -> str | None:
    if plot_titles is None:
        return None
    if not isinstance(plot_titles, (list, tuple)) or len(plot_titles) != 1:
        raise RenderError("plot_titles: mode='self_attention' takes a list with one title")
    return plot_titles[0]


def _into(ax, render, make_job, draw, *args, **options) -> Figure:
    """A new figure from ``render``, or ``draw`` into the caller's ``ax`` (IzzyViz's ``ax=``).

    Returns the Figure to save: the root figure when ``ax`` sits in a SubFigure.
    """
    if ax is None:
        return render(*args, **options)
    job = make_job(*args, **options)
    with rendering():
        draw(ax, job)
    fig = ax.figure
    return fig if isinstance(fig, Figure) else fig.figure


@contextmanager
def _renamed(**names):
    """Report renderer errors under the IzzyViz parameter names (``x_labels`` -> ``tokens``)."""
    try:
        yield
    except RenderError as exc:
        name, sep, rest = str(exc).partition(": ")
        if sep and name in names:
            raise RenderError(f"{names[name]}: {rest}") from None
        raise
