"""Attention rollout (Abnar & Zuidema 2020) drawn as a table-lens heatmap.

The map is ``izzyfig.analysis.attention_rollout`` of a model's attention: row ``i`` says
how much of token ``i``'s representation after the last layer of the range flows from
each input token. It is drawn like a self-attention map, with its options (top cells,
boxes, detected regions).
"""
from __future__ import annotations

from matplotlib.figure import Figure

from izzyfig.render import inputs
from izzyfig.render.heatmap import KindPlan
from izzyfig.render.self_attention import self_attention_plan

DEFAULT_TITLE = "Attention Rollout"


def render_rollout(
    matrix, tokens, *, layers=None, residual=None, boxes=(), top_n=3, enlarged_size=1.8, auto_regions=False,
    length_threshold=64, if_interval=False, if_top_cells=True, interval=10, show_scores_in_enlarged_cells=True,
    label_rotation=45, title=None, xlabel=None, ylabel=None, cmap="Blues", gamma=1.5, figsize=None, page=None,
    width=None, height=None, min_font=6.0, font="sans", mathtext=False,
) -> Figure:
    """Draw an (n, n) attention rollout as a table-lens heatmap.

    Parameters
    ----------
    matrix : array-like, shape (n, n)
        The rollout, ``izzyfig.analysis.attention_rollout(maps, residual, layers)``.
    tokens : sequence of str, length n
    layers : (first, last), optional
        The inclusive layer range ``matrix`` rolls out; named in the default title.
    residual : float, optional
        The residual weight it was computed with; named in the default title.
    Other keywords
        As for ``render_self_attention``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> rollout = attention_rollout(maps, residual=0.5)        # maps: (layers, heads, n, n)
    >>> fig = render_rollout(rollout, tokens, layers=(0, len(maps) - 1), residual=0.5)
    """
    plan = rollout_plan(
        matrix, tokens, layers=layers, residual=residual, boxes=boxes, top_n=top_n, enlarged_size=enlarged_size,
        auto_regions=auto_regions, length_threshold=length_threshold, if_interval=if_interval,
        if_top_cells=if_top_cells, interval=interval, show_scores_in_enlarged_cells=show_scores_in_enlarged_cells,
        label_rotation=label_rotation, title=title, xlabel=xlabel, ylabel=ylabel, cmap=cmap, gamma=gamma,
    )
    return plan.figure(figsize=figsize, page=page, width=width, height=height, min_font=min_font, font=font,
                       mathtext=mathtext)


def rollout_plan(matrix, tokens, *, layers=None, residual=None, title=None, **options) -> KindPlan:
    """Validated inputs of ``render_rollout`` and how to draw its panel."""
    return self_attention_plan(matrix, tokens, title=title if title is not None else rollout_title(layers, residual),
                               **options)


def rollout_title(layers, residual) -> str:
    """``Attention Rollout, layers 0–5, residual 0.5``: what the map was computed from."""
    parts = [DEFAULT_TITLE]
    if layers is not None:
        first, last = (int(v) for v in layers)
        parts.append(f"layer {first}" if first == last else f"layers {first}\N{EN DASH}{last}")
    if residual is not None:
        parts.append(f"residual {inputs.within('residual', residual, 0.0, 1.0):g}")
    return ", ".join(parts)
