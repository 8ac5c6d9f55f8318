"""Table-lens kinds (self-attention, question-context, cross-attention): inspect the artists."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PatchCollection, QuadMesh

from izzyfig.render import render_cross_attention, render_question_context, render_self_attention
from izzyfig.render.grid import top_cells


def mesh_of(ax) -> QuadMesh:
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    return mesh


def edges(mesh: QuadMesh) -> tuple[np.ndarray, np.ndarray]:
    """(column edges, row edges) of a pcolormesh."""
    coords = mesh.get_coordinates()
    return coords[0, :, 0], coords[:, 0, 1]


def texts(axis) -> list[str]:
    return [t.get_text() for t in axis.get_ticklabels()]


def cell_texts(ax) -> dict[tuple[float, float], str]:
    return {tuple(np.round(t.get_position(), 6)): t.get_text() for t in ax.texts}


def test_top_n_rows_and_columns_are_enlarged(matrix_5, tokens_5):
    fig = render_self_attention(matrix_5, tokens_5, top_n=3, enlarged_size=2.5)
    x_edges, y_edges = edges(mesh_of(fig.axes[0]))
    # top cells (0, 1), (2, 3), (4, 1): rows 0, 2, 4 and columns 1, 3 widen, nothing else
    assert np.allclose(np.diff(y_edges), [2.5, 1, 2.5, 1, 2.5])
    assert np.allclose(np.diff(x_edges), [1, 2.5, 1, 2.5, 1])


def test_enlarged_cells_show_their_values_at_their_centres(matrix_5, tokens_5):
    fig = render_self_attention(matrix_5, tokens_5, top_n=3, enlarged_size=2.0)
    # column edges 0,1,3,4,6,7 and row edges 0,2,3,5,6,8
    assert cell_texts(fig.axes[0]) == {(2.0, 1.0): "0.900", (5.0, 4.0): "0.800", (2.0, 7.0): "0.700"}


def test_scores_can_be_hidden(matrix_5, tokens_5):
    fig = render_self_attention(matrix_5, tokens_5, show_scores_in_enlarged_cells=False)
    assert len(fig.axes[0].texts) == 0


def test_ties_enlarge_exactly_top_n_cells():
    data = np.ones((4, 4))
    assert top_cells(data, 2).tolist() == [[0, 0], [0, 1]]
    fig = render_self_attention(data, list("abcd"), top_n=2, enlarged_size=3.0)
    x_edges, y_edges = edges(mesh_of(fig.axes[0]))
    assert np.allclose(np.diff(x_edges), [3, 3, 1, 1])
    assert np.allclose(np.diff(y_edges), [3, 1, 1, 1])


def test_top_n_zero_gives_a_uniform_grid(matrix_5, tokens_5):
    fig = render_self_attention(matrix_5, tokens_5, top_n=0)
    x_edges, y_edges = edges(mesh_of(fig.axes[0]))
    assert np.allclose(x_edges, np.arange(6)) and np.allclose(y_edges, np.arange(6))


def test_dense_labels_bold_special_tokens_and_highlight_top_rows(matrix_5, tokens_5):
    ax = render_self_attention(matrix_5, tokens_5, label_rotation=90).axes[0]
    assert texts(ax.xaxis) == tokens_5 and texts(ax.yaxis) == tokens_5
    weights = {t.get_text(): t.get_fontweight() for t in ax.get_yticklabels()}
    assert weights["[CLS]"] == "bold" and weights["[SEP]"] == "bold" and weights["cat"] == "normal"
    highlighted = [t.get_text() for t in ax.get_yticklabels() if t.get_bbox_patch() is not None]
    assert highlighted == ["[CLS]", "cat", "[SEP]"]  # rows 0, 2, 4
    assert {t.get_rotation() for t in ax.get_xticklabels()} == {90.0}


def test_long_inputs_label_sparsely_without_scores():
    n = 80
    data = np.full((n, n), 0.01)
    data[70, 5], data[10, 60] = 0.9, 0.8
    words = [f"w{i}" for i in range(n)]
    ax = render_self_attention(data, words, top_n=2, if_interval=True, interval=20).axes[0]
    assert texts(ax.xaxis) == ["0", "w5", "20", "40", "w60"]  # interval indices + top-cell tokens
    assert texts(ax.yaxis) == ["0", "w10", "20", "40", "60", "w70"]
    assert len(ax.texts) == 0


def test_sparse_labels_that_would_collide_are_dropped_interval_first():
    n = 100
    data = np.full((n, n), 0.01)
    data[41, 41] = 0.9
    ax = render_self_attention(data, [f"w{i}" for i in range(n)], top_n=1, if_interval=True,
                               interval=1, figsize=(6, 6)).axes[0]
    labels = texts(ax.yaxis)
    assert "w41" in labels and "41" not in labels and "40" not in labels
    assert 5 < len(labels) < n  # thinned, not emptied


def test_boxes_follow_the_enlarged_cell_edges(matrix_5, tokens_5):
    ax = render_self_attention(matrix_5, tokens_5, enlarged_size=2.0, boxes=[(1, 1, 2, 3)]).axes[0]
    (boxes,) = [c for c in ax.collections if isinstance(c, PatchCollection)]
    (path,) = boxes.get_paths()
    extent = path.get_extents()
    # columns 1..3 span x 1..6 and rows 1..2 span y 2..5 (rows 0 and 2 are enlarged)
    assert np.allclose([extent.x0, extent.y0, extent.x1, extent.y1], [1, 2, 6, 5])
    assert np.allclose(boxes.get_edgecolor()[0], [1, 0, 0, 1])


def test_question_context_panels_are_the_right_blocks_and_share_one_scale():
    rng = np.random.default_rng(3)
    data = rng.random((7, 7))
    words = ["[CLS]", "who", "?", "[SEP]", "it", "was", "[SEP]"]
    fig = render_question_context(data, words, 4, top_n=0)
    panels = {ax.get_title(): ax for ax in fig.axes if ax.get_label().startswith("heatmap")}
    ab = panels["A → B\nQuestion attending to Context"]
    ba = panels["B → A\nContext attending to Question"]
    aa = panels["A → A\nQuestion attending to Question"]
    assert np.allclose(mesh_of(ab).get_array(), data[:4, 4:])
    assert texts(ab.xaxis) == words[4:]
    assert np.allclose(mesh_of(ba).get_array(), data[4:, :4])
    assert texts(ba.yaxis) == words[4:]
    # Without enlarged cells the blocks line up like one matrix: token labels once per edge.
    assert texts(aa.yaxis) == words[:4] and texts(aa.xaxis) == words[:4]
    assert texts(ab.yaxis) == [] and texts(ba.xaxis) == []
    for ax in panels.values():  # values are rounded to 10 significant digits before drawing
        norm = mesh_of(ax).norm
        assert (norm.vmin, norm.vmax) == pytest.approx((data.min(), data.max()), abs=1e-9)
    assert [ax.get_label() for ax in fig.axes].count("colorbar") == 1  # one colour bar for five panels
    assert not any(ax.child_axes for ax in fig.axes)


def test_question_context_clips_boxes_into_the_panels():
    data = np.linspace(0, 1, 36).reshape(6, 6)
    fig = render_question_context(data, list("abcdef"), 2, top_n=0, boxes=[(1, 1, 3, 3)])
    found = {}
    for ax in fig.axes:
        for coll in ax.collections:
            if isinstance(coll, PatchCollection):
                e = coll.get_paths()[0].get_extents()
                found[ax.get_title().split("\n")[0]] = [e.x0, e.y0, e.x1, e.y1]
    assert found == {
        "A → A": [1, 1, 2, 2], "B → B": [0, 0, 2, 2], "A → B": [0, 1, 2, 2],
        "B → A": [1, 0, 2, 2], "All → All": [1, 1, 4, 4],
    }


def test_question_context_custom_titles_in_spec_order():
    titles = ["aa", "bb", "ab", "ba", "all"]
    fig = render_question_context(np.eye(4) + 0.1, list("wxyz"), 1, titles=titles)
    assert sorted(ax.get_title() for ax in fig.axes if ax.get_label() != "colorbar") == sorted(titles)


def test_cross_attention_is_rows_target_columns_source():
    data = np.arange(12, dtype=float).reshape(3, 4)
    ax = render_cross_attention(data, ["s0", "s1", "s2", "s3"], ["t0", "t1", "t2"], top_n=1).axes[0]
    assert texts(ax.xaxis) == ["s0", "s1", "s2", "s3"] and texts(ax.yaxis) == ["t0", "t1", "t2"]
    assert ax.get_title() == "Cross-Attention Heatmap (Decoder to Encoder)"
    assert ax.get_xlabel() == "Encoder Tokens" and ax.get_ylabel() == "Decoder Tokens"
    x_edges, y_edges = edges(mesh_of(ax))
    assert np.allclose(np.diff(x_edges), [1, 1, 1, 1.8]) and np.allclose(np.diff(y_edges), [1, 1, 1.8])


@pytest.mark.parametrize("title, expected", [(None, "Self-Attention Heatmap"), ("", ""), ("Mine", "Mine")])
def test_titles_default_per_kind(matrix_5, tokens_5, title, expected):
    assert render_self_attention(matrix_5, tokens_5, title=title).axes[0].get_title() == expected


def test_figure_grows_with_the_token_count():
    small = render_self_attention(np.eye(8) + 0.1, list("abcdefgh")).get_size_inches()
    words = [f"w{i}" for i in range(48)]
    large = render_self_attention(np.eye(48) + 0.1, words).get_size_inches()
    assert small[0] < large[0] and 3 < small[0] < 8 and large[0] < 14


def test_user_figsize_is_the_page_size(matrix_5, tokens_5):
    fig = render_self_attention(matrix_5, tokens_5, figsize=[4.0, 3.0])
    assert np.allclose(fig.get_size_inches(), [4.0, 3.0])
    box = fig.axes[0].get_position()
    assert 0 <= box.x0 and box.x1 <= 1 and 0 <= box.y0 and box.y1 <= 1


def test_auto_regions_add_orange_boxes_beside_the_user_boxes(matrix_5, tokens_5, monkeypatch):
    from izzyfig import kernels

    monkeypatch.setattr(kernels, "find_attention_regions_with_merging", lambda m, **kw: [(0, 0, 1, 1)])
    ax = render_self_attention(matrix_5, tokens_5, top_n=0, auto_regions=True, boxes=[(3, 3, 4, 4)]).axes[0]
    regions, user = [c for c in ax.collections if isinstance(c, PatchCollection)]
    assert np.allclose(regions.get_edgecolor()[0], [1, 0.647, 0, 0.7], atol=1e-3)
    assert np.allclose(user.get_edgecolor()[0], [1, 0, 0, 1])
    assert [regions.get_paths()[0].get_extents().bounds, user.get_paths()[0].get_extents().bounds] == [
        (0, 0, 2, 2), (3, 3, 2, 2)]


def test_colorbar_drops_ticks_that_would_collide_but_keeps_the_ends(matrix_5, tokens_5):
    (bar,) = colorbars(render_self_attention(matrix_5, tokens_5, gamma=4.0))
    labels = [t.get_text() for t in bar.get_yticklabels()]
    assert labels[0] == "0.05" and labels[-1] == "0.90" and 2 < len(labels) < 7
    (bar,) = colorbars(render_self_attention(matrix_5, tokens_5, gamma=1.0))
    assert len(bar.get_yticklabels()) == 7


def colorbars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "colorbar"]
