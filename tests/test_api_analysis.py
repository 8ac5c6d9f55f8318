"""The API functions of the analysis kinds: model outputs in, a saved Figure out."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import QuadMesh

import izzyfig
from izzyfig import api
from izzyfig.analysis import attention_rollout, corpus_head_statistics
from izzyfig.errors import RenderError

RNG = np.random.default_rng(3)
TOKENS = ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]


def per_layer(layers: int = 3, heads: int = 4, n: int = len(TOKENS)) -> tuple[np.ndarray, ...]:
    """A model's ``outputs.attentions``: one (1, heads, n, n) array per layer."""
    logits = RNG.normal(0, 2, (layers, 1, heads, n, n))
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return tuple(e / e.sum(-1, keepdims=True))


def meshes(fig) -> list[np.ndarray]:
    axes = [ax for ax in fig.axes if ax.get_label().startswith("heatmap")]
    return [np.asarray(next(c for c in ax.collections if isinstance(c, QuadMesh)).get_array()) for ax in axes]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_analysis_functions_are_importable_from_izzyfig():
    assert izzyfig.visualize_attention_atlas is api.visualize_attention_atlas
    assert {"visualize_attention_atlas", "visualize_head_summary", "visualize_attention_rollout"} <= set(api.__all__)


def test_atlas_of_a_layer_range_and_chosen_heads_saves_where_asked(in_tmp):
    attentions = per_layer()
    fig = api.visualize_attention_atlas(attentions, TOKENS, layers=(1, -1), heads=[3, 0], highlight=[(2, 0)],
                                        heads_per_group=2)
    assert (in_tmp / "attention_atlas.pdf").read_bytes().startswith(b"%PDF-")
    drawn = meshes(fig)
    assert len(drawn) == 4
    np.testing.assert_allclose(drawn[1].reshape(8, 8), attentions[1][0, 0], atol=1e-6)
    titles = [ax.get_title() for ax in fig.axes[:2]]
    assert titles == ["H3 \N{MIDDLE DOT} kv1", "H0 \N{MIDDLE DOT} kv0"]
    assert [ax.get_ylabel() for ax in fig.axes[:4:2]] == ["L1", "L2"]


def test_head_summary_over_several_texts_is_the_mean_of_their_statistics():
    texts = [per_layer(), per_layer(n=6)]
    tokens = [TOKENS, TOKENS[:5] + ["[SEP]"]]
    fig = api.visualize_head_summary(texts, "special", tokens=tokens, save_path=None)
    expected = corpus_head_statistics([np.concatenate(t) for t in texts], "special", tokens)
    np.testing.assert_allclose(meshes(fig)[0].reshape(3, 4), expected, atol=1e-6)
    assert "mean over 2 texts" in fig.texts[0].get_text()


def test_rollout_is_drawn_from_per_layer_maps():
    attentions = per_layer()
    fig = api.visualize_attention_rollout(attentions, TOKENS, residual=0.3, layers=(0, 1), top_n=0,
                                          save_path="roll.pdf")
    expected = attention_rollout(np.concatenate(attentions), residual=0.3, layers=(0, 1))
    np.testing.assert_allclose(meshes(fig)[0].reshape(8, 8), expected, atol=1e-6)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: api.visualize_attention_atlas(per_layer(), TOKENS, layers=(2, 0)),
     "layers: (2, 0) is inverted: layer 2 comes after layer 0"),
    (lambda: api.visualize_attention_atlas(per_layer(), TOKENS, layers=(0, 3)),
     "layers: 3 is out of range for 3 layers"),
    (lambda: api.visualize_attention_atlas(per_layer(), ["a", "b"]),
     "tokens: got 2 labels for 8 key tokens"),
    (lambda: api.visualize_attention_atlas((None, None), TOKENS),
     'attentions: the model returned no attention weights; load it with attn_implementation="eager" '
     "and call it with output_attentions=True"),
    (lambda: api.visualize_head_summary(per_layer(), "induction", tokens=TOKENS),
     "attentions: the 'induction' statistic needs a sequence whose second half repeats the first; 7 tokens "
     "after the leading '[CLS]' cannot be split in two halves"),
    (lambda: api.visualize_attention_rollout(np.zeros((3, 8, 8)), TOKENS),
     "attentions: expected per-layer (1, heads, query, key) maps or a (layers, [1,] heads, query, key) array, "
     "got shape (3, 8, 8)"),
])
def test_mistakes_are_one_line_errors(call, message):
    with pytest.raises(RenderError) as caught:
        call()
    assert str(caught.value) == message
