"""The analysis kinds drawn: atlas grids, head-summary values, rollout rows, at print size."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib.collections import PatchCollection, QuadMesh
from matplotlib.colors import to_rgba

from izzyfig.analysis import attention_rollout, head_statistics
from izzyfig.errors import IzzyfigWarning, RenderError
from izzyfig.render import render_atlas, render_head_summary, render_rollout, save_figure
from izzyfig.render.head_summary import format_values
from izzyfig.render.style import BOX_COLOR
from pdfcheck import font_sizes, overlapping_texts, page_size

RNG = np.random.default_rng(11)
TEXT_BP = 455.24 * 72 / 72.27  # ACL text width in big points


def maps(layers: int, heads: int, n: int) -> np.ndarray:
    raw = RNG.random((layers, heads, n, n)) ** 4
    return raw / raw.sum(axis=-1, keepdims=True)


def words(n: int) -> list[str]:
    return ["[CLS]"] + [f"w{i}" for i in range(n - 2)] + ["[SEP]"]


def heatmaps(fig) -> list:
    return [ax for ax in fig.axes if ax.get_label().startswith("heatmap")]


def mesh_of(ax) -> QuadMesh:
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    return mesh


def outlined(ax) -> bool:
    spine = ax.spines["left"]
    return spine.get_visible() and spine.get_edgecolor() == to_rgba(BOX_COLOR)


def quiet(render, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = render(*args, **kwargs)
    return fig, [str(w.message) for w in caught if isinstance(w.message, IzzyfigWarning)]


# --------------------------------------------------------------------------- atlas
def test_atlas_draws_one_map_per_head_in_layer_rows_on_one_colour_scale():
    data = maps(3, 4, 6)
    fig = render_atlas(data, words(6), layer_ids=[2, 3, 4])
    axes = heatmaps(fig)
    assert len(axes) == 12
    for index, ax in enumerate(axes):
        mesh = mesh_of(ax)
        np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(6, 6), data[index // 4, index % 4], atol=1e-6)
        assert (mesh.norm.vmin, mesh.norm.vmax) == pytest.approx((data.min(), data.max()), abs=1e-6)
    assert [ax.get_title() for ax in axes[:4]] == ["H0", "H1", "H2", "H3"]
    assert [ax.get_ylabel() for ax in axes[::4]] == ["L2", "L3", "L4"]
    assert all(ax.get_title() == "" for ax in axes[4:]) and all(ax.get_ylabel() == "" for i, ax in enumerate(axes)
                                                                if i % 4)
    assert [t.get_text() for t in fig.texts] == ["Attention heads of layers 2\N{EN DASH}4"]


def test_atlas_tokens_once_per_edge():
    fig = render_atlas(maps(2, 3, 5), words(5), token_labels="edges")
    axes = heatmaps(fig)
    top = [[t.get_text() for t in ax.get_xticklabels() if t.get_visible()] for ax in axes]
    left = [[t.get_text() for t in ax.get_yticklabels() if t.get_visible()] for ax in axes]
    assert top[:3] == [words(5)] * 3 and top[3:] == [[]] * 3
    assert left[0] == left[3] == words(5) and all(labels == [] for i, labels in enumerate(left) if i % 3)


def test_atlas_leaves_tokens_out_when_they_cannot_fit_and_says_so():
    fig = render_atlas(maps(6, 12, 30), words(30), page="acl", width="text")
    assert all(not ax.get_xticklabels() or not any(t.get_text() for t in ax.get_xticklabels())
               for ax in heatmaps(fig))
    assert fig.texts[0].get_text() == "Attention heads of layers 0\N{EN DASH}5\n30 tokens per map, labels left out"
    fig = render_atlas(maps(6, 12, 30), words(30), page="acl", width="text", token_labels="none")
    assert fig.texts[0].get_text() == "Attention heads of layers 0\N{EN DASH}5"


def test_atlas_labels_key_value_groups_and_outlines_highlighted_heads():
    fig = render_atlas(maps(2, 6, 5), words(5), layer_ids=[4, 5], heads_per_group=3, highlight=[(5, 4), (4, 0)])
    axes = heatmaps(fig)
    assert [ax.get_title() for ax in axes[:6]] == [f"H{h} \N{MIDDLE DOT} kv{h // 3}" for h in range(6)]
    assert [index for index, ax in enumerate(axes) if outlined(ax)] == [0, 10]


def test_atlas_highlight_of_a_head_not_drawn_is_an_error():
    with pytest.raises(RenderError, match=r"^highlight\[0\]: \(1, 9\) is not drawn \(layers 0, 1, heads 0-3\)$"):
        render_atlas(maps(2, 4, 5), highlight=[(1, 9)])


def test_acl_text_atlas_of_72_heads_fits_the_text_width_at_six_points(tmp_path):
    fig, found = quiet(render_atlas, maps(6, 12, 30), words(30), page="acl", width="text", highlight=[(0, 2)])
    save_figure(fig, tmp_path / "atlas.pdf")
    width, height = page_size(tmp_path / "atlas.pdf")
    assert abs(width - TEXT_BP) < 0.5 and height < width
    assert min(font_sizes(tmp_path / "atlas.pdf")) >= 6.0
    assert overlapping_texts(fig) == [] and found == []


# --------------------------------------------------------------------------- head summary
def test_head_summary_writes_every_value_of_the_statistic():
    data = maps(3, 4, 7)
    values = head_statistics(data, "entropy")
    fig = render_head_summary(values, statistic="entropy", layer_ids=[1, 2, 3])
    (ax,) = heatmaps(fig)
    np.testing.assert_allclose(np.asarray(mesh_of(ax).get_array()).reshape(3, 4), values, atol=1e-6)
    assert [t.get_text() for t in ax.texts] == format_values(values.ravel(), False)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "2", "3"]
    best = np.unravel_index(values.argmax(), values.shape)
    assert fig.texts[0].get_text() == (f"Attention entropy (nats)\nhighest: L{best[0] + 1} H{best[1]} "
                                       f"({values.max():.2f})")


def test_head_summary_annotates_the_top_k_only():
    values = np.arange(12.0).reshape(3, 4) / 12
    fig = render_head_summary(values, annotate=3, texts=8)
    (ax,) = heatmaps(fig)
    assert [t.get_text() for t in ax.texts] == ["0.92", "0.83", "0.75"]
    assert "mean over 8 texts; highest: L2 H3 (0.92)" in fig.texts[0].get_text()


def test_head_summary_sets_key_value_groups_apart_and_outlines_highlights():
    values = np.linspace(0, 1, 2 * 9).reshape(2, 9)
    fig = render_head_summary(values, heads_per_group=3, highlight=[(0, 4)])
    (ax,) = heatmaps(fig)
    assert ax.get_xlabel() == "head (key/value groups of 3)"
    white = [c for c in ax.collections if c.__class__.__name__ == "LineCollection" and
             len(c.get_segments()) == 2 and to_rgba(c.get_color()[0]) == to_rgba("white")]
    assert [seg[0][0] for seg in white[0].get_segments()] == [3.0, 6.0]
    (red,) = [c for c in ax.collections if isinstance(c, PatchCollection)
              and to_rgba(c.get_edgecolor()[0]) == to_rgba(BOX_COLOR)]
    assert [tuple(path.vertices.min(axis=0)) for path in red.get_paths()] == [(4.0, 0.0)]


def test_head_summary_values_that_do_not_fit_warn_at_annotate():
    fig, found = quiet(render_head_summary, RNG.random((30, 40)), page="acl", width="column")
    (ax,) = heatmaps(fig)
    assert len(ax.texts) == 0 and any("1200 cells do not fit at 6 pt" in message for message in found)


# --------------------------------------------------------------------------- rollout
def test_rollout_draws_the_rollout_rows_and_names_what_it_rolled_out():
    data = maps(4, 3, 6)
    rollout = attention_rollout(data, residual=0.4, layers=(1, 3))
    fig = render_rollout(rollout, words(6), layers=(1, 3), residual=0.4, top_n=0)
    (ax,) = heatmaps(fig)
    drawn = np.asarray(mesh_of(ax).get_array()).reshape(6, 6)
    np.testing.assert_allclose(drawn, rollout, atol=1e-6)
    np.testing.assert_allclose(drawn.sum(axis=1), 1.0, atol=1e-5)
    assert ax.get_title() == "Attention Rollout, layers 1\N{EN DASH}3, residual 0.4"


@pytest.mark.parametrize("render, args", [
    (render_atlas, (maps(6, 12, 12), words(12))),
    (render_head_summary, (RNG.random((6, 12)),)),
    (render_rollout, (attention_rollout(maps(6, 2, 12)), words(12))),
])
@pytest.mark.parametrize("width", ["column", "text"])
def test_analysis_kinds_at_print_size_are_legible(tmp_path, render, args, width):
    fig, _ = quiet(render, *args, page="acl", width=width)
    save_figure(fig, tmp_path / "f.pdf")
    assert abs(page_size(tmp_path / "f.pdf")[0] - (TEXT_BP if width == "text" else 218.27)) < 0.5
    assert min(font_sizes(tmp_path / "f.pdf")) >= 6.0
    assert overlapping_texts(fig) == []
