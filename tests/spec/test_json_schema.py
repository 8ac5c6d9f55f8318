"""The tracked JSON Schema is what the models generate, and it accepts real specs."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from izzyfig.spec import json_schema, load_spec_text, starter_spec, write_schema
from izzyfig.spec.schema import schema_text

TRACKED = Path(__file__).resolve().parents[2] / "schemas" / "izzyfig.schema.json"


def test_tracked_schema_is_up_to_date() -> None:
    assert TRACKED.read_text(encoding="utf-8") == schema_text(), (
        "schemas/izzyfig.schema.json is stale: regenerate it with "
        "python -c 'from izzyfig.spec import write_schema; write_schema(\"schemas/izzyfig.schema.json\")'"
    )


def test_write_schema_is_deterministic(tmp_path) -> None:
    write_schema(tmp_path / "a" / "s.json")
    write_schema(tmp_path / "b.json")
    text = (tmp_path / "a" / "s.json").read_text()
    assert text == (tmp_path / "b.json").read_text() and text.endswith("}\n")
    assert list(tmp_path.glob("**/*.tmp")) == []


def test_schema_suits_yaml_language_server() -> None:
    schema = json_schema()
    text = json.dumps(schema)
    assert "prefixItems" not in text
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] and schema["description"]
    figure = schema["$defs"]["SelfAttentionFigure"]["properties"]
    assert figure["foreach"] == {"$ref": "#/$defs/Foreach"}
    assert {"$ref": "#/$defs/Template"} in figure["head"]["anyOf"]
    assert "kind" not in schema["$defs"]["Defaults"]["properties"]


def test_starter_spec_validates() -> None:
    loaded = load_spec_text(starter_spec(), "specs/figures.yaml")
    assert [e.id for e in loaded.figures] == ["cat-sat", "cat-regions", "cat-head0", "cat-head1", "cat-head2", "cat-head3"]
    assert starter_spec().startswith("# yaml-language-server: $schema=../schemas/izzyfig.schema.json\n")


@pytest.fixture(scope="module")
def validator():
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(json_schema())  # slow (~0.7 s): once
    return jsonschema.Draft202012Validator(json_schema())


@pytest.mark.parametrize(
    "text, valid",
    [
        (starter_spec(), True),
        ("version: 1\nfigures:\n  f: {kind: regions, gamma: 0}\n", False),
        ("version: 1\nfigures:\n  f: {kind: regions, top-n: 3}\n", False),
        ("version: 1\ndefaults: {cmapp: Reds}\nfigures:\n  f: {kind: regions}\n", False),
        ("version: 1\nfigures:\n  f: {kind: regions, boxes: [{rows: [0, 1], cols: [0, 1]}]}\n", True),
    ],
    ids=["starter", "gamma", "unknown-key", "unknown-default", "box"],
)
def test_schema_agrees_with_the_loader(validator, text: str, valid: bool) -> None:
    assert validator.is_valid(yaml.safe_load(text)) is valid
