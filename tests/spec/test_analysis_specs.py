"""Spec keys of the analysis kinds (atlas, head-summary, rollout): closed, each error positioned."""
from __future__ import annotations

import pytest

from izzyfig.errors import SpecError
from izzyfig.spec import json_schema, load_spec_text


def test_analysis_figures_load_with_their_keys():
    loaded = load_spec_text(
        "version: 1\n"
        "figures:\n"
        "  a: {kind: atlas, model: minilm, text: hi, layers: [0, -1], heads: [0, 2], highlight: [[0, 2]],"
        " token_labels: edges, page: acl, width: text}\n"
        "  s: {kind: head-summary, model: minilm, texts: [one, two], statistic: special, special: [0, -1],"
        " annotate: 5}\n"
        "  r: {kind: rollout, model: minilm, text: hi, layers: [0, 2], residual: 0.25, top_n: 2}\n",
        "specs/a.yaml",
    )
    atlas, summary, rollout = (entry.figure for entry in loaded.figures)
    assert (atlas.layers, atlas.heads, atlas.highlight, atlas.token_labels) == ([0, -1], [0, 2], [[0, 2]], "edges")
    assert (summary.texts, summary.special, summary.annotate, summary.text) == (["one", "two"], [0, -1], 5, None)
    assert (rollout.residual, rollout.layers) == (0.25, [0, 2])
    # plan keys never reach the renderer; the page keys do
    assert "layers" not in atlas.render_options() and atlas.render_options()["token_labels"] == "edges"


def test_every_mistake_is_reported_at_its_key():
    text = (
        "version: 1\n"
        "figures:\n"
        "  a: {kind: atlas, model: minilm, text: hi, xlabel: x, token_labels: some, heads: [1, 1]}\n"
        "  b: {kind: head-summary, model: minilm, text: hi, texts: [x, y], statistic: special}\n"
        "  c: {kind: head-summary, model: minilm, text: hi, statistic: entropy, special: [0]}\n"
        "  d: {kind: head-summary, model: minilm, text: hi, statistic: attention-to-cls, window: {rows: [0, 2]}}\n"
        "  e: {kind: rollout, model: minilm, text: hi, residual: 1.5, layers: [3, 1], highlight: [[1]]}\n"
        "  f: {kind: atlas, model: minilm, text: hi, layer: 2}\n"
        "  g: {kind: head-summary, model: minilm, text: hi}\n"
    )
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, "specs/a.yaml")
    assert str(caught.value).splitlines() == [
        "specs/a.yaml:3:45: figures.a.xlabel: 'xlabel' does not apply to an atlas figure "
        "(rows are labelled by layer and columns by head)",
        "specs/a.yaml:3:56: figures.a.token_labels: expected 'auto', 'edges' or 'none', got 'some'",
        "specs/a.yaml:3:76: figures.a.heads: head 1 is listed twice",
        "specs/a.yaml:4:52: figures.b.texts: give either 'text' or 'texts', not both",
        "specs/a.yaml:5:72: figures.c.special: 'special' positions apply to statistic: special, not 'entropy'",
        "specs/a.yaml:6:52: figures.d.statistic: expected 'entropy', 'distance', 'previous-token', 'special', "
        "'max' or 'induction', got 'attention-to-cls'",
        "specs/a.yaml:6:81: figures.d.window: 'window' does not apply to a head-summary figure "
        "(its cells are heads, not tokens; use highlight to outline heads)",
        "specs/a.yaml:7:47: figures.e.residual: must be at most 1, got 1.5",
        "specs/a.yaml:7:62: figures.e.layers: inverted range [3, 1]: the first layer comes after the last",
        "specs/a.yaml:7:90: figures.e.highlight[0]: expected at least 2 items, got 1",
        "specs/a.yaml:8:45: figures.f: unknown key 'layer' (did you mean 'layers'?)",
        "specs/a.yaml:9:3: figures.g: missing required key 'statistic'",
    ]


def test_schema_describes_the_analysis_kinds():
    defs = json_schema()["$defs"]
    assert defs["AtlasFigure"]["properties"]["kind"]["const"] == "atlas"
    assert defs["HeadSummaryFigure"]["properties"]["statistic"]["anyOf"][0]["enum"] == [
        "entropy", "distance", "previous-token", "special", "max", "induction"]
    assert "residual" in defs["RolloutFigure"]["properties"]


def test_a_figures_texts_replace_the_default_text():
    loaded = load_spec_text(
        "version: 1\n"
        "defaults: {model: minilm, text: the default sentence}\n"
        "figures:\n"
        "  s: {kind: head-summary, texts: [one, two], statistic: entropy}\n"
        "  a: {kind: atlas}\n",
        "specs/a.yaml",
    )
    summary, atlas = (entry.figure for entry in loaded.figures)
    assert (summary.texts, summary.text) == (["one", "two"], None)
    assert atlas.text == "the default sentence"
