"""Bad input: one clear RenderError per mistake, and nothing drawn or written."""
from __future__ import annotations

import numpy as np
import pytest

from izzyfig.errors import RenderError
from izzyfig.render import (
    render_comparison,
    render_cross_attention,
    render_evolution,
    render_question_context,
    render_regions,
    render_self_attention,
    render_stability,
    save_figure,
)

M = np.full((3, 3), 1 / 3)
T = ["a", "b", "c"]
NAN = M.copy()
NAN[1, 2] = np.nan


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: render_self_attention(np.ones(3), T),
         "matrix: expected a 2-D array (query, key), got shape (3,)"),
        (lambda: render_self_attention(np.ones((2, 3)), T),
         "matrix: self-attention needs a square matrix, got shape (2, 3)"),
        (lambda: render_self_attention(M, ["a", "b"]), "tokens: got 2 labels for 3 tokens"),
        (lambda: render_self_attention(M, "abc"),
         "tokens: expected a list of token strings, got a single string"),
        (lambda: render_self_attention(NAN, T), "matrix: 1 NaN/inf value(s), first at index [1, 2]"),
        (lambda: render_self_attention(np.zeros((0, 0)), []), "matrix: empty array of shape (0, 0)"),
        (lambda: render_self_attention([[1, 2], [3]], T), "matrix: cannot read list as a numeric array"),
        (lambda: render_self_attention(M, T, boxes=[(0, 0, 3, 1)]),
         "boxes[0]: (0, 0, 3, 1) lies outside the 3x3 matrix"),
        (lambda: render_self_attention(M, T, boxes=[(2, 0, 1, 1)]),
         "boxes[0]: (2, 0, 1, 1) is inverted; need top <= bottom and left <= right"),
        (lambda: render_self_attention(M, T, boxes=[(1, 2)]),
         "boxes[0]: expected (top, left, bottom, right), got (1, 2)"),
        (lambda: render_self_attention(M, T, cmap="Bluez"),
         "cmap: unknown colormap 'Bluez' (e.g. 'Blues', 'viridis', 'magma')"),
        (lambda: render_self_attention(M, T, gamma=0), "gamma: must be > 0, got 0"),
        (lambda: render_self_attention(M, T, enlarged_size=0.5), "enlarged_size: must be >= 1.0, got 0.5"),
        (lambda: render_self_attention(M, T, label_rotation=30), "label_rotation: must be 45 or 90, got 30"),
        (lambda: render_self_attention(M, T, figsize=(4, -1)),
         "figsize: width and height must be positive, got (4, -1)"),
        (lambda: render_question_context(M, T, 3),
         "question_end: 3 does not split the 3 tokens into two non-empty parts (use 1..2)"),
        (lambda: render_question_context(M, T, 1, titles=["x"]),
         "titles: expected 5 panel titles (A→A, B→B, A→B, B→A, All→All), got 1"),
        (lambda: render_cross_attention(np.ones((2, 3)), T, ["x"]), "y_labels: got 1 labels for 2 rows"),
        (lambda: render_cross_attention(np.ones((2, 3)), T, ["x", "y"], use_case="encoder_self_attention"),
         "matrix: encoder_self_attention needs a square matrix, got shape (2, 3)"),
        (lambda: render_cross_attention(M, T, T, use_case="both"),
         "use_case: must be one of cross_attention, encoder_self_attention, decoder_self_attention, got 'both'"),
        (lambda: render_comparison(M, np.ones((3, 2)), T, T), "b: shape (3, 2) does not match a shape (3, 3)"),
        (lambda: render_comparison(M, M, T, T, max_circle_ratio=0.6),
         "max_circle_ratio: must be in (0.0, 0.5], got 0.6"),
        (lambda: render_stability(M, T, T), "runs: expected a 3-D array (runs, query, key), got shape (3, 3)"),
        (lambda: render_stability(M[None], T, T), "runs: needs at least 2 runs, got 1"),
        (lambda: render_stability(np.stack([M, M]), T, T, linecolor="whitish"),
         "linecolor: 'whitish' is not a matplotlib colour"),
        (lambda: render_evolution(np.stack([M, M]), T, T, step_labels=["only"]),
         "step_labels: got 1 labels for 2 steps"),
        (lambda: render_evolution(np.stack([M, M]), T, T, sparkline_color_dark="nope"),
         "sparkline_color_dark: 'nope' is not a matplotlib colour"),
        (lambda: render_regions(M, T, T, region_color="nope"), "region_color: 'nope' is not a matplotlib colour"),
        (lambda: render_regions(M, T, T, n_regions=0), "n_regions: must be > 0, got 0"),
        (lambda: render_regions(M, T, T, merge_threshold=2), "merge_threshold: must be in (0.0, 1.0], got 2"),
        (lambda: render_regions(M, T, T, max_expansion_steps=1.5),
         "max_expansion_steps: expected an integer, got 1.5"),
        (lambda: render_regions(np.full((3, 3), np.inf), T, T), "matrix: 9 NaN/inf value(s), first at index [0, 0]"),
    ],
)
def test_bad_input_raises_a_clear_render_error(call, message):
    with pytest.raises(RenderError) as caught:
        call()
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("value", [0.0, -2.5, 1e-300, 7.0])
def test_a_constant_matrix_still_renders_with_a_single_colorbar_tick(value):
    fig = render_self_attention(np.full((4, 4), value), list("abcd"))
    (bar,) = [ax for ax in fig.axes if ax.get_label() == "colorbar"]
    assert [t.get_text() for t in bar.get_yticklabels()] == [f"{value:.2f}".replace("-", "\N{MINUS SIGN}")]
    colors = fig.axes[0].collections[0].get_facecolors()
    assert np.allclose(colors, colors[0])


def test_bad_suffix_writes_nothing(tmp_path):
    fig = render_self_attention(M, T)
    with pytest.raises(RenderError, match=r"unsupported suffix '\.jpg' \(use \.pdf, \.svg or \.png\)"):
        save_figure(fig, tmp_path / "fig.jpg")
    assert list(tmp_path.iterdir()) == []
