"""The published JSON Schema of spec files, generated from the pydantic models.

Pydantic's schema is extended with what the loader accepts beyond the models:
``foreach`` on every figure, template strings (``"{{head}}"``) for any figure key,
and ``defaults`` as a closed mapping of figure keys. Output is deterministic (sorted
keys, fixed indentation) so a test can compare it with the tracked file.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from izzyfig.files import write_atomic
from izzyfig.spec.models import FIGURE_CLASSES, SpecFile

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_ANNOTATIONS = ("title", "description", "default", "examples")
_TEMPLATE = {
    "type": "string",
    "pattern": r"\{\{.*\}\}",
    "description": "A Jinja2 template, rendered for each expansion of the figure's 'foreach'.",
}
_FOREACH = {
    "type": "object",
    "title": "Foreach",
    "description": (
        "Expand this figure once per value (several variables: every combination, in order). "
        "The figure id and string values are Jinja2 templates over the variables, "
        "e.g. id 'head{{head}}' and 'head: \"{{head}}\"'."
    ),
    "minProperties": 1,
    "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "minItems": 1, "description": "The values of the variable."},
            {"$ref": "#/$defs/ForeachRange"},
        ]
    },
}
_RANGE = {
    "type": "object",
    "title": "ForeachRange",
    "description": "Integers from start up to (not including) stop, like Python's range().",
    "properties": {
        "range": {
            "type": "array",
            "items": {"type": "integer"},
            "minItems": 2,
            "maxItems": 3,
            "description": "[start, stop] or [start, stop, step].",
        }
    },
    "required": ["range"],
    "additionalProperties": False,
}


def _allow_template(prop: dict) -> dict:
    """A property schema that also accepts a template string."""
    if prop.get("type") == "string" and not ({"pattern", "enum", "const"} & set(prop)):
        return prop
    annotations = {k: v for k, v in prop.items() if k in _ANNOTATIONS}
    rest = {k: v for k, v in prop.items() if k not in _ANNOTATIONS}
    branches = rest["anyOf"] if list(rest) == ["anyOf"] else [rest]
    return {**annotations, "anyOf": branches + [{"$ref": "#/$defs/Template"}]}


def _defaults_schema(defs: dict) -> dict:
    """``defaults``: any figure key except ``kind`` and ``output``, none required."""
    properties: dict[str, Any] = {}
    for model in FIGURE_CLASSES.values():
        for name, prop in defs[model.__name__]["properties"].items():
            if name not in ("kind", "output"):
                properties.setdefault(name, copy.deepcopy(prop))
    return {
        "type": "object",
        "title": "Defaults",
        "description": "Figure keys applied to every figure whose kind accepts them.",
        "properties": properties,
        "additionalProperties": False,
    }


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of an izzyfig spec file."""
    schema = SpecFile.model_json_schema()
    defs = schema["$defs"]
    defs["Defaults"] = _defaults_schema(defs)
    for model in FIGURE_CLASSES.values():
        properties = defs[model.__name__]["properties"]
        for name, prop in properties.items():
            if name != "kind":
                properties[name] = _allow_template(prop)
        properties["foreach"] = {"$ref": "#/$defs/Foreach"}
    defs.update(Foreach=_FOREACH, ForeachRange=_RANGE, Template=_TEMPLATE)
    schema["properties"]["defaults"] = {"$ref": "#/$defs/Defaults"}
    schema.update(
        {
            "$schema": DIALECT,
            "title": "izzyfig spec",
            "description": "A file of attention figures for izzyfig: 'version: 1', "
            "optional 'defaults', and 'figures' (figure id -> figure).",
        }
    )
    return schema


def schema_text() -> str:
    """The schema as it is written to disk: sorted keys, two-space indent, final newline."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schema(path: str | Path) -> None:
    """Write the schema to ``path`` atomically (a reader never sees half a file)."""
    write_atomic(Path(path), schema_text().encode("utf-8"))
