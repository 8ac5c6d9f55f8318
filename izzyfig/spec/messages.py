"""Pydantic validation errors rewritten for people.

Each error becomes ``(path, message)`` where ``path`` is the data path of the node to
point at: the offending value, the unknown key, or, for a missing key, the mapping
that lacks it. Messages say what was expected and what was found, in YAML words
("a mapping", "true or false"), never in Python's.
"""
from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from izzyfig.spec.models import BOX_FORMS, CELL_BOX_KEYS, PANEL_CLASSES, TOKEN_BOX_KEYS, CellBox, TokenBox
from izzyfig.spec.yamltree import quoted_key

BOX_TAGS = tuple(BOX_FORMS)
# Union tags pydantic puts after a list index: the form of a box, the kind of a panel.
_TAGS = {"boxes": BOX_TAGS, "panels": tuple(PANEL_CLASSES)}
_FIELD_TAGS = {"page": ("name", "mapping")}  # tags right after a field's name
_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "a string",
    "list": "a list",
    "dict": "a mapping",
    "model": "a mapping",
}


def describe(value: Any) -> str:
    """How a value reads in an error message: ``'eight'``, ``-1``, ``a mapping``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _number(value: Any) -> str:
    """``0.0`` -> ``0``: bounds read like the user wrote them."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def suggestion(key: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt key, if one is close enough."""
    candidates = sorted(candidates)
    normal = key.strip().lower().replace("-", "_").replace(" ", "_")
    if normal in candidates:
        return normal
    close = difflib.get_close_matches(normal, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def unknown_key(key: str, candidates: Iterable[str], where: str = "") -> str:
    """``unknown key 'top-n' (did you mean 'top_n'?)``, or the list of valid keys."""
    candidates = sorted(candidates)
    close = suggestion(key, candidates)
    hint = f"did you mean '{close}'?" if close else "valid keys: " + ", ".join(candidates)
    return f"unknown key {quoted_key(key)}{where} ({hint})"


def _type_message(kind: str, error: dict) -> str:
    return f"expected {_TYPE_WORDS[kind]}, got {describe(error['input'])}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def quote_hint(message: str, marks: Any) -> str:
    """Add how to quote (or unquote) a YAML scalar that has the wrong type.

    YAML 1.1 reads ``on``, ``yes``, ``no`` and ``off`` as booleans, so ``tokens: [the,
    cat, sat, on]`` holds ``true``: the fix is ``'on'``. A number written in quotes
    (``layer: "1"``) is a string: the fix is ``1``. ``marks`` is the value's ``Marks``
    (``text`` is a plain scalar's source, ``quoted`` a quoted scalar), or None.
    """
    text = getattr(marks, "text", None)
    got = message.rsplit(", got ", 1)[-1]
    if text is not None and message.startswith(("expected a string", "expected '")):
        read_as = got if got in ("true", "false", "null") else "a number"
        return f"{message} (YAML reads {text} as {read_as}; quote it: '{text}')"
    number = message.startswith(("expected an integer, got '", "expected a number, got '"))
    if getattr(marks, "quoted", False) and number and _is_number(got.strip("'")):
        return f"{message} (remove the quotes)"
    return message


def _length_message(error: dict) -> str:
    ctx, value = error["ctx"], error["input"]
    if error["type"].startswith("string"):
        if error["type"] == "string_too_short" and ctx["min_length"] == 1:
            return "must not be empty"
        bound = ctx.get("min_length", ctx.get("max_length"))
        word = "at least" if error["type"] == "string_too_short" else "at most"
        return f"expected {word} {bound} characters, got {len(value)}"
    if error["type"] == "too_short":
        return f"expected at least {ctx['min_length']} items, got {ctx['actual_length']}"
    return f"expected at most {ctx['max_length']} items, got {ctx['actual_length']}"


_BOUNDS = {
    "greater_than": ("gt", "must be greater than"),
    "greater_than_equal": ("ge", "must be at least"),
    "less_than": ("lt", "must be less than"),
    "less_than_equal": ("le", "must be at most"),
}


def value_message(error: dict) -> str:
    """The message of one pydantic error about a value (not about a key)."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    family = kind.split("_")[0]
    if kind in ("value_error", "assertion_error"):
        return str(ctx["error"])
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        return f"{words} {_number(ctx[name])}, got {describe(error['input'])}"
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        return _length_message(error)
    if kind == "int_from_float" or (family in _TYPE_WORDS and kind.endswith(("_type", "_parsing"))):
        return _type_message("int" if kind == "int_from_float" else family, error)
    if kind == "model_attributes_type":
        return _type_message("dict", error)
    if kind == "finite_number":
        return f"expected a finite number, got {describe(error['input'])}"
    if kind == "literal_error":
        return f"expected {ctx['expected']}, got {describe(error['input'])}"
    if kind == "string_pattern_mismatch":
        return f"expected a string matching {ctx['pattern']}, got {describe(error['input'])}"
    message = error["msg"]
    return message[:1].lower() + message[1:]


def _strip_box_tags(loc: tuple) -> tuple:
    """Drop the union tag pydantic puts after a box's or panel's index (``boxes, 0, cells``)."""
    return tuple(
        part
        for i, part in enumerate(loc)
        if not (i >= 2 and isinstance(loc[i - 1], int) and part in _TAGS.get(loc[i - 2], ()))
        and not (i >= 1 and part in _FIELD_TAGS.get(loc[i - 1], ()))
    )


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every pydantic model class inside a (possibly nested) type annotation."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += [m for m in _models_in(arg) if m not in found]
    return found


def model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc`` (a raw pydantic location).

    Where a field's union offers several models (boxes), the union tag that pydantic
    puts in the location says which one was used.
    """
    choices: dict[str, type[BaseModel]] = {}
    for part in loc:
        if isinstance(part, int):
            continue
        if part in choices:
            model, choices = choices[part], {}
            continue
        field = model.model_fields.get(part)
        models = _models_in(field.annotation) if field else []
        if not models:
            return None
        if len(models) == 1:
            model = models[0]
            choices = {tag: model for tag in _FIELD_TAGS.get(part, ())}
        elif set(models) == set(BOX_FORMS.values()):
            choices = BOX_FORMS
        elif set(models) == set(PANEL_CLASSES.values()):
            choices = PANEL_CLASSES
        else:
            return None
    return model


def figure_errors(
    error: ValidationError, model: type[BaseModel], extra_keys: Iterable[str] = ()
) -> list[tuple[tuple, tuple, str]]:
    """Rewrite the errors of validating data with ``model``.

    Returns ``(shown_path, position_path, message)`` per error: the path the message
    names, and the path whose position it points at (for a missing key the parent
    mapping, for an unknown key the key itself). ``extra_keys`` are accepted top-level
    keys that the model does not have (``foreach``), offered as suggestions.
    """
    out = []
    for item in error.errors(include_url=False):
        loc = _strip_box_tags(tuple(item["loc"]))
        if item["type"] == "missing":
            out.append((loc[:-1], loc[:-1], f"missing required key '{loc[-1]}'"))
        elif item["type"] == "union_tag_invalid" and loc[-2:-1] == ("panels",):
            tag = item["ctx"]["tag"]
            message = f"unknown panel kind '{tag}' (panel kinds: {', '.join(PANEL_CLASSES)})"
            out.append((loc + ("kind",), loc + ("kind",), message))
        elif item["type"] == "extra_forbidden":
            raw = tuple(item["loc"])
            out.append((loc[:-1], loc, _unknown_in(model, raw, extra_keys)))
        else:
            out.append((loc, loc, value_message(item)))
    return out


def _box_keys(model: type[BaseModel]) -> str:
    return "'rows'/'cols'" if model is CellBox else "token keys"


def _unknown_in(model: type[BaseModel], raw_loc: tuple, extra_keys: Iterable[str]) -> str:
    parent, key = model_at(model, raw_loc[:-1]), str(raw_loc[-1])
    if parent in (CellBox, TokenBox) and key in (CELL_BOX_KEYS | TOKEN_BOX_KEYS):
        return f"cannot mix '{key}' with {_box_keys(parent)}: a box is given by cells or by tokens"
    candidates = set(parent.model_fields) if parent else set()
    if len(raw_loc) == 1:
        candidates |= set(extra_keys)
    return unknown_key(key, candidates)
