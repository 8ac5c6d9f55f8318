"""``defaults:`` merge into each figure only where that figure's kind has the key."""
from __future__ import annotations

import pytest

from izzyfig.errors import SpecError
from izzyfig.spec import load_spec_text

HEADER = """\
version: 1
defaults:
  model: minilm
  text: The cat sat.
  top_n: 5
  n_regions: 4
  gamma: 2.0
figures:
"""


def figures(body: str) -> dict:
    loaded = load_spec_text(HEADER + body, "specs/d.yaml")
    return {entry.id: entry.figure for entry in loaded.figures}


def test_defaults_fill_missing_keys() -> None:
    fig = figures("  f: {kind: self-attention}\n")["f"]
    assert (fig.model, fig.text, fig.top_n, fig.gamma) == ("minilm", "The cat sat.", 5, 2.0)


def test_figure_value_wins() -> None:
    fig = figures("  f: {kind: self-attention, gamma: 3.0, top_n: 1}\n")["f"]
    assert (fig.gamma, fig.top_n) == (3.0, 1)


def test_only_keys_of_the_kind_are_merged() -> None:
    found = figures("  s: {kind: self-attention}\n  r: {kind: regions}\n  e: {kind: evolution, steps: [a, b]}\n")
    assert found["s"].top_n == 5 and not hasattr(found["s"], "n_regions")
    assert found["r"].n_regions == 4 and not hasattr(found["r"], "top_n")
    assert found["e"].gamma == 2.0


def test_own_source_blocks_default_source_keys() -> None:
    fig = figures("  f: {kind: self-attention, array: {path: a.npy}}\n")["f"]
    assert fig.model is None and fig.array.path == "a.npy"
    assert fig.text == "The cat sat."  # not a source key: still merged


def test_own_runs_block_default_model() -> None:
    fig = figures("  f: {kind: stability, runs: [r1, r2]}\n")["f"]
    assert fig.model is None and fig.runs == ["r1", "r2"]


def test_spec_keeps_defaults_as_written() -> None:
    loaded = load_spec_text(HEADER + "  f: {kind: regions}\n", "specs/d.yaml")
    assert loaded.spec.defaults["top_n"] == 5
    assert list(loaded.spec.figures) == ["f"]


def test_error_in_default_points_at_default_once() -> None:
    text = "version: 1\ndefaults:\n  top_n: -3\nfigures:\n  a: {kind: self-attention}\n  b: {kind: self-attention}\n"
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, "specs/d.yaml")
    assert str(caught.value) == "specs/d.yaml:3:3: defaults.top_n: must be at least 0, got -3"


def test_default_unused_by_any_figure_is_not_an_error() -> None:
    text = "version: 1\ndefaults:\n  top_n: -3\nfigures:\n  r: {kind: regions}\n"
    assert load_spec_text(text, "specs/d.yaml").figures[0].id == "r"


def test_empty_defaults() -> None:
    text = "version: 1\ndefaults:\nfigures:\n  r: {kind: regions}\n"
    assert load_spec_text(text, "specs/d.yaml").figures[0].figure.gamma == 1.5


def test_defaults_must_be_a_mapping() -> None:
    text = "version: 1\ndefaults: [1]\nfigures:\n  r: {kind: regions}\n"
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, "specs/d.yaml")
    assert str(caught.value) == "specs/d.yaml:2:1: defaults: expected a mapping of figure keys, got a list"


def test_kind_cannot_be_a_default() -> None:
    text = "version: 1\ndefaults:\n  kind: regions\nfigures:\n  r: {kind: regions}\n"
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, "specs/d.yaml")
    assert str(caught.value) == "specs/d.yaml:3:3: defaults: 'kind' cannot be a default: each figure names its own kind"
