"""The IzzyViz-compatible API: README examples (with arrays shaped like the models' outputs)."""
from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.collections import PatchCollection, QuadMesh
from matplotlib.figure import Figure

from izzyfig import api, kernels
from izzyfig.errors import RenderError

RNG = np.random.default_rng(5)
TOKENS = ["[CLS]", "the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", ".", "[SEP]"]


def softmax_maps(*shape) -> np.ndarray:
    logits = RNG.normal(0, 2, shape)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


class FakeTensor:
    """Duck-typed stand-in for a torch tensor (detach/cpu/numpy), without torch."""

    def __init__(self, values):
        self.values = np.asarray(values)

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.values

    def __getitem__(self, index):
        return FakeTensor(self.values[index])


def mesh_data(fig: Figure) -> np.ndarray:
    heatmaps = [ax for ax in fig.axes if ax.get_label().startswith("heatmap")]
    (mesh,) = [c for c in heatmaps[-1].collections if isinstance(c, QuadMesh)]
    return np.asarray(mesh.get_array())


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# IzzyViz README "Function Reference": parameter names and defaults, in order
README_SIGNATURES = {
    "visualize_attention_self_attention": dict(
        attentions=None, tokens=None, layer=None, head=None, xlabel="Tokens Attended to",
        ylabel="Tokens Attending", question_end=None, top_n=3, enlarged_size=1.8, gamma=1.5,
        mode="self_attention", plot_titles=None, left_top_cells=None, right_bottom_cells=None,
        auto_detect_regions=False, save_path=None, length_threshold=64, if_interval=False,
        if_top_cells=True, interval=10, show_scores_in_enlarged_cells=True, lean_more=False),
    "visualize_attention_encoder_decoder": dict(
        attention_matrix=None, encoder_tokens=None, decoder_tokens=None, xlabel=None, ylabel=None,
        top_n=3, enlarged_size=1.8, gamma=1.5, plot_title=None, left_top_cells=None,
        right_bottom_cells=None, save_path=None, use_case="cross_attention", lean_more=False),
    "compare_two_attentions_with_circles": dict(
        attn1=None, attn2=None, tokens=None, title="Comparison with Circles", xlabel=None, ylabel=None,
        save_path=None, circle_scale=1.0, gamma=1.5, cmap="Blues", max_circle_ratio=0.45),
    "check_stability_heatmap_with_gradient_color": dict(
        matrices=None, x_labels=None, y_labels=None, title="Check Stability Heatmap with Gradient Circles",
        xlabel="Tokens Attended to", ylabel="Tokens Attending", ax=None, use_std_error=True,
        circle_scale=1.0, cmap="Blues", linecolor="white", linewidths=1.0,
        save_path="check_stability_heatmap_with_gradient_color.pdf", gamma=1.5, radial_resolution=100,
        use_white_center=False, color_contrast_scale=2.0, max_circle_ratio=0.45),
    "visualize_attention_evolution_sparklines": dict(
        attentions_over_time=None, tokens=None, layer=None, head=None,
        title="Attention Evolution Over Training", xlabel="Tokens Attended to", ylabel="Tokens Attending",
        figsize=(12, 10), sparkline_color_dark="darkblue", sparkline_color_light="white",
        sparkline_linewidth=1.0, sparkline_alpha=0.8, gamma=1.5, normalize_sparklines=False,
        save_path="attention_evolution_sparklines.pdf"),
    "visualize_attention_with_detected_regions": dict(
        attention_matrix=None, source_tokens=None, target_tokens=None,
        title="Attention with Detected Regions", xlabel="Tokens Attended to", ylabel="Tokens Attending",
        n_regions=3, min_distance=2, expansion_threshold=0.9, merge_threshold=0.6, region_color="orange",
        region_linewidth=2, region_alpha=0.7, label_regions=False, gamma=1.5,
        save_path="attention_with_detected_regions.pdf", ax=None, cmap="Blues", max_expansion_steps=3,
        proximity_threshold=2),
    "find_attention_regions_with_merging": dict(
        attention_matrix=None, n_seeds=3, min_distance=2, expansion_threshold=0.7,
        merge_std_threshold=0.6, proximity_threshold=2, max_expansion_steps=3),
}


@pytest.mark.parametrize("name", sorted(README_SIGNATURES))
def test_signatures_match_the_izzyviz_readme(name):
    parameters = inspect.signature(getattr(api, name)).parameters
    expected = README_SIGNATURES[name]
    assert list(parameters) == list(expected)
    for key, value in expected.items():
        default = parameters[key].default
        assert (None if default is inspect.Parameter.empty else default) == value, key


def test_quick_start(in_tmp, capsys):
    attentions = tuple(FakeTensor(softmax_maps(1, 12, 12, 12)) for _ in range(12))
    fig = api.visualize_attention_self_attention(
        attentions, TOKENS, layer=-1, head=8, top_n=5, mode="self_attention",
        left_top_cells=[(4, 4)], right_bottom_cells=[(8, 8)],
        plot_titles=["Custom Self-Attention Heatmap Title"],
    )
    assert isinstance(fig, Figure) and (in_tmp / "self_attention_heatmap.pdf").exists()
    assert np.allclose(mesh_data(fig), attentions[-1].values[0, 8])
    assert fig.axes[0].get_title() == "Custom Self-Attention Heatmap Title"
    assert any(isinstance(c, PatchCollection) for c in fig.axes[0].collections)
    assert capsys.readouterr().out == ""


def test_question_context_example(in_tmp):
    attentions = tuple(softmax_maps(1, 12, 16, 16) for _ in range(12))
    fig = api.visualize_attention_self_attention(
        attentions, [f"t{i}" for i in range(16)], layer=6, head=5, question_end=7, top_n=3,
        enlarged_size=2.3, mode="question_context",
    )
    assert [ax.get_label() for ax in fig.axes].count("colorbar") == 1
    assert len(fig.axes) == 6 and (in_tmp / "QC_attention_heatmaps.pdf").exists()
    assert np.allclose(mesh_data(fig), attentions[6][0, 5])


def test_cross_attention_example_with_a_real_tensor(in_tmp):
    torch = pytest.importorskip("torch")
    encoder = ["▁The", "▁scientists", "▁have", "▁discovered", "</s>"]
    decoder = ["▁Die", "▁Wissenschaftler", "▁haben", "</s>"]
    cross = torch.softmax(torch.randn(1, 8, 4, 5, dtype=torch.bfloat16), -1).requires_grad_(True)
    fig = api.visualize_attention_encoder_decoder(
        attention_matrix=cross[0, 3], encoder_tokens=encoder, decoder_tokens=decoder, top_n=3
    )
    assert (in_tmp / "cross_attention_heatmap.pdf").exists()
    assert np.allclose(mesh_data(fig), cross[0, 3].detach().float().numpy(), atol=1e-9)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == encoder


def test_cross_attention_honours_save_path(in_tmp):
    api.visualize_attention_encoder_decoder(np.eye(3) + 0.1, list("abc"), list("abc"),
                                            use_case="encoder_self_attention", save_path="mine.svg")
    assert [p.name for p in in_tmp.iterdir()] == ["mine.svg"]


def test_comparison_example(in_tmp):
    layers = softmax_maps(2, 12, 14, 14)
    tokens = [f"t{i}" for i in range(14)]
    fig = api.compare_two_attentions_with_circles(
        attn1=FakeTensor(layers[0, 8]), attn2=FakeTensor(layers[1, 8]), tokens=tokens,
        title="Comparison: Layer 8 Head 9 vs Layer 9 Head 9",
    )
    assert (in_tmp / "attention_comparison_circles.pdf").exists()
    assert fig.axes[0].get_title() == "Comparison: Layer 8 Head 9 vs Layer 9 Head 9"


def test_stability_example(in_tmp):
    attn_array = softmax_maps(5, 12, 12, 64, 64)
    labels = [f"t{i}" for i in range(24)]
    fig = api.check_stability_heatmap_with_gradient_color(attn_array[:, 6, 9, :24, :24], x_labels=labels,
                                                          y_labels=labels)
    assert (in_tmp / "check_stability_heatmap_with_gradient_color.pdf").exists()
    assert np.allclose(mesh_data(fig), attn_array[:, 6, 9, :24, :24].mean(axis=0))


def test_stability_draws_into_a_given_axes_with_izzyviz_default_labels(in_tmp):
    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot()
    runs = [softmax_maps(3, 4) for _ in range(3)]  # a list of (R, C) maps works too
    returned = api.check_stability_heatmap_with_gradient_color(runs, ax=ax, save_path=None)
    assert returned is fig and len(ax.images) == 1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["X0", "X1", "X2", "X3"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Y0", "Y1", "Y2"]
    assert list(in_tmp.iterdir()) == []


def test_evolution_example(in_tmp):
    selected = softmax_maps(5, 12, 12, 64, 64)[:, :, :, :19, :19]
    fig = api.visualize_attention_evolution_sparklines(selected, tokens=[f"t{i}" for i in range(19)],
                                                       layer=11, head=9)
    assert (in_tmp / "attention_evolution_sparklines.pdf").exists()
    assert np.allclose(fig.get_size_inches(), (12, 10))
    assert np.allclose(mesh_data(fig), selected[:, 11, 9].mean(axis=0))


def test_regions_example_and_axes(in_tmp):
    attentions = tuple(FakeTensor(softmax_maps(1, 12, 19, 19)) for _ in range(2))
    tokens = [f"t{i}" for i in range(19)]
    fig = api.visualize_attention_with_detected_regions(attention_matrix=attentions[0][0, 3],
                                                        source_tokens=tokens, target_tokens=tokens)
    assert (in_tmp / "attention_with_detected_regions.pdf").exists()
    expected = kernels.find_attention_regions_with_merging(attentions[0].values[0, 3], n_seeds=3,
                                                           expansion_threshold=0.9)
    (boxes,) = [c for c in fig.axes[0].collections if isinstance(c, PatchCollection)]
    assert len(boxes.get_paths()) == len(expected) > 0
    own = Figure()
    ax = own.add_subplot()
    assert api.visualize_attention_with_detected_regions(attentions[1][0, 3], tokens, tokens, ax=ax,
                                                         save_path="own.png") is own
    assert (in_tmp / "own.png").exists()


def test_find_regions_takes_izzyviz_keywords_and_tensors():
    data = softmax_maps(10, 10)
    expected = kernels.find_attention_regions_with_merging(data, n_seeds=2)
    assert api.find_attention_regions_with_merging(attention_matrix=FakeTensor(data), n_seeds=2) == expected


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: api.visualize_attention_self_attention([np.ones((1, 2, 3, 3))] * 4, list("abc"), 4, 0),
         "layer: 4 is out of range for 4 layers"),
        (lambda: api.visualize_attention_self_attention([np.ones((1, 2, 3, 3))], list("abc"), 0, -3),
         "head: -3 is out of range for 2 heads"),
        (lambda: api.visualize_attention_self_attention([np.ones((2, 2, 3, 3))], list("abc"), 0, 0),
         "attentions[0]: expected shape (1, heads, query, key) or (heads, query, key), got (2, 2, 3, 3)"),
        (lambda: api.visualize_attention_self_attention([np.ones((2, 3, 3))], list("ab"), 0, 0),
         "tokens: got 2 labels for 3 tokens"),
        (lambda: api.visualize_attention_self_attention([np.ones((2, 3, 3))], list("abc"), 0, 0,
                                                        mode="question_context"),
         "question_end: required for mode='question_context'"),
        (lambda: api.visualize_attention_self_attention([np.ones((2, 3, 3))], list("abc"), 0, 0,
                                                        mode="translation"),
         "mode: must be 'self_attention' or 'question_context', got 'translation'"),
        (lambda: api.visualize_attention_self_attention([np.ones((2, 3, 3))], list("abc"), 0, 0,
                                                        left_top_cells=[(0, 0)], right_bottom_cells=[]),
         "left_top_cells, right_bottom_cells: 1 and 0 corners; they must pair up"),
        (lambda: api.compare_two_attentions_with_circles(np.ones((3, 3)), np.ones((3, 3)), list("ab")),
         "tokens: got 2 labels for 3 columns"),
        (lambda: api.visualize_attention_evolution_sparklines(np.ones((2, 1, 1, 3, 3)), list("abc")),
         "layer, head: both are required for (steps, layers, heads, query, key) input"),
        (lambda: api.visualize_attention_evolution_sparklines(np.ones((2, 1, 1, 3, 3)), list("abc"), 0, 1),
         "head: 1 is out of range for 1 heads"),
        (lambda: api.check_stability_heatmap_with_gradient_color([np.ones((2, 2)), np.ones((3, 3))]),
         "matrices: items have different shapes [(2, 2), (3, 3)]"),
        (lambda: api.visualize_attention_with_detected_regions(np.ones((3, 3)), list("abc"), list("ab")),
         "target_tokens: got 2 labels for 3 rows"),
    ],
)
def test_mistakes_raise_render_errors_and_write_nothing(in_tmp, call, message):
    with pytest.raises(RenderError) as caught:
        call()
    assert str(caught.value) == message
    assert list(in_tmp.iterdir()) == []


def test_importing_the_api_imports_neither_torch_nor_pyplot():
    code = "import sys, izzyfig.api; print('torch' in sys.modules, 'matplotlib.pyplot' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
