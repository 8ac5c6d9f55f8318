"""The build calls ``render_<kind>(..., **figure.render_options())``: names and defaults must match."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from izzyfig import render
from izzyfig.spec.models import FIGURE_CLASSES

RENDERERS = {
    "self-attention": render.render_self_attention,
    "question-context": render.render_question_context,
    "cross-attention": render.render_cross_attention,
    "comparison": render.render_comparison,
    "stability": render.render_stability,
    "evolution": render.render_evolution,
    "regions": render.render_regions,
}
M = np.array([[0.5, 0.3, 0.2], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
T = ["[CLS]", "x", "[SEP]"]
ARRAYS = {
    "self-attention": (M, T),
    "question-context": (M, T, 1),
    "cross-attention": (M[:2], T, T[:2]),
    "comparison": (M, M.T, T, T),
    "stability": (np.stack([M, M.T, M]), T, T),
    "evolution": (np.stack([M, M.T, M]), T, T),
    "regions": (M, T, T),
}


def default_options(kind: str) -> dict:
    figure = FIGURE_CLASSES[kind].model_construct(kind=kind)  # defaults only, no sources needed
    return figure.render_options()


@pytest.mark.parametrize("kind", sorted(RENDERERS))
def test_keyword_names_and_defaults_match_the_spec(kind):
    parameters = inspect.signature(RENDERERS[kind]).parameters
    keywords = {name: p.default for name, p in parameters.items() if p.kind is p.KEYWORD_ONLY}
    options = default_options(kind)
    assert set(options) | {"boxes"} == set(keywords)
    for name, value in options.items():
        assert keywords[name] == value, f"{kind}: default of {name}"


@pytest.mark.parametrize("kind", sorted(RENDERERS))
def test_renders_with_the_spec_defaults(kind):
    fig = RENDERERS[kind](*ARRAYS[kind], boxes=[(0, 0, 1, 1)], **default_options(kind))
    assert fig.axes and fig.get_size_inches().min() > 1
