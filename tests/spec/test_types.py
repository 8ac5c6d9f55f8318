"""Strict types, YAML scalars read like JSON values, and hints that say how to fix them."""
from __future__ import annotations

import pytest

from izzyfig.errors import SpecError
from izzyfig.spec import load_spec_text
from izzyfig.spec.yamltree import parse_yaml

HEAD = "version: 1\nfigures:\n  f:\n    kind: regions\n    array: {path: a.npy}\n"


def problems(body: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec_text(HEAD + body, "specs/p.yaml")
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e6", 1e6), ("-2E-3", -0.002), (".5", 0.5), ("1.0e+6", 1e6), ("7", 7), ("1e", "1e"), ("e5", "e5"),
     ("2024-01-01", "2024-01-01"), ("on", True), ("'on'", "on")],
)
def test_scalars_resolve_like_json_numbers(text: str, value) -> None:
    data, _, problems_found = parse_yaml(f"a: {text}\n", "x.yaml")
    assert problems_found == [] and data["a"] == value and type(data["a"]) is type(value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("    head: yes\n", "specs/p.yaml:6:5: figures.f.head: expected an integer, 'mean' or 'max', got true"),
        ("    n_regions: 2.0\n", "specs/p.yaml:6:5: figures.f.n_regions: expected an integer, got 2.0"),
        ('    min_distance: "2"\n',
         "specs/p.yaml:6:5: figures.f.min_distance: expected an integer, got '2' (remove the quotes)"),
        ('    gamma: "1.5"\n', "specs/p.yaml:6:5: figures.f.gamma: expected a number, got '1.5' (remove the quotes)"),
        ("    gamma: true\n", "specs/p.yaml:6:5: figures.f.gamma: expected a number, got true"),
        ("    label_regions: 1\n", "specs/p.yaml:6:5: figures.f.label_regions: expected true or false, got 1"),
        ("    boxes: [{rows: [0, true], cols: [0, 1]}]\n",
         "specs/p.yaml:6:24: figures.f.boxes[0].rows[1]: expected an integer, got true"),
        ("    title: no\n", "specs/p.yaml:6:5: figures.f.title: expected a string, got false "
                            "(YAML reads no as false; quote it: 'no')"),
        ("    tokens: [a, 12]\n", "specs/p.yaml:6:17: figures.f.tokens[1]: expected a string, got 12 "
                                "(YAML reads 12 as a number; quote it: '12')"),
        ("    boxes: [{tokens: [a, off]}]\n", "specs/p.yaml:6:26: figures.f.boxes[0].tokens[1]: expected a "
                                            "string, got false (YAML reads off as false; quote it: 'off')"),
    ],
)
def test_loose_values_are_refused_with_a_hint(body: str, message: str) -> None:
    assert problems(body) == [message]


def test_a_number_is_a_valid_float() -> None:
    figure = load_spec_text(HEAD + "    gamma: 2\n    figsize: [4, 3.5]\n", "specs/p.yaml").figures[0].figure
    assert (figure.gamma, figure.figsize) == (2.0, [4.0, 3.5])
