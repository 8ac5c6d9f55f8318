"""The spec language: YAML specs -> validated, positioned figure models.

``load_specs`` reads spec files and returns ``LoadedSpec``s whose ``FigureEntry``s
know where each figure (and each of its keys) is written, so later phases can point
their errors at the spec. This package imports neither torch nor matplotlib.
"""
from izzyfig.spec.loader import (
    FigureEntry,
    LoadedSpec,
    find_spec_files,
    load_spec_text,
    load_specs,
    resolve_model_ref,
    resolve_path,
)
from izzyfig.spec.schema import json_schema, schema_text, write_schema
from izzyfig.spec.starter import starter_spec

__all__ = [
    "FigureEntry",
    "LoadedSpec",
    "find_spec_files",
    "json_schema",
    "load_spec_text",
    "load_specs",
    "resolve_model_ref",
    "resolve_path",
    "schema_text",
    "starter_spec",
    "write_schema",
]
