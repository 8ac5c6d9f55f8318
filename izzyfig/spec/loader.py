"""Spec files -> validated figures, every problem positioned at ``file:line:col``.

One file goes through these steps, each collecting problems rather than stopping:
read (size, UTF-8) -> parse (positions, duplicate keys, no aliases) -> check the top
level and ``defaults`` -> expand ``foreach`` templates -> merge defaults -> validate
each figure with the model of its kind. ``load_specs`` then checks figure ids across
files and raises one ``SpecError`` holding every problem of every file.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from izzyfig.errors import Position, SpecError, SpecProblem
from izzyfig.limits import MAX_ID
from izzyfig.spec.messages import describe, figure_errors, quote_hint, suggestion, unknown_key
from izzyfig.spec.models import FIGURE_CLASSES, KINDS, FigureBase, SourceFields, SpecFile
from izzyfig.spec.outputs import output_collisions
from izzyfig.spec.yamltree import Marks, format_path, parse_yaml

MAX_BYTES = 1 << 20
SPEC_SUFFIXES = (".yaml", ".yml")
FIGURE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
TOP_KEYS = ("version", "defaults", "figures")
FIGURE_KEYS = frozenset().union(*(cls.model_fields for cls in FIGURE_CLASSES.values()))
NOT_DEFAULTS = {
    "kind": "'kind' cannot be a default: each figure names its own kind",
    "output": "'output' cannot be a default: every figure would write the same file",
}
# A found problem before it is labelled: (position, shown path, message).
Found = tuple[Position, tuple, str]


@dataclass(frozen=True)
class FigureEntry:
    """One validated figure and where it was written.

    ``position`` is the figure's key in the spec file; ``expansion`` names the
    ``foreach`` values that made it (``head=3``), empty for a plain figure.
    """

    id: str
    figure: FigureBase
    file: Path
    position: Position
    expansion: str = ""
    marks: Marks | None = field(default=None, repr=False, compare=False)

    def position_of(self, *path: str | int) -> Position:
        """Where a key of this figure is written, e.g. ``position_of("boxes", 0)``.

        Falls back to the nearest ancestor that is written (a defaulted key points at
        ``defaults``, a key left at its model default at the figure).
        """
        return self.marks.nearest(path).position if self.marks else self.position


@dataclass(frozen=True)
class LoadedSpec:
    """One valid spec file: its model and its figures with their positions."""

    path: Path
    spec: SpecFile
    figures: tuple[FigureEntry, ...]


@dataclass(frozen=True)
class _FileContext:
    """What every figure of one file needs: where it is and the valid defaults.

    ``templates`` holds the file's template expander once a figure uses ``foreach``:
    all templates of a file share one budget of work.
    """

    path: Path
    name: str
    defaults: dict
    default_marks: Marks | None
    templates: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- files
def find_spec_files(paths: Iterable[str | Path]) -> list[Path]:
    """Spec files named by ``paths``: files as given, directories searched recursively.

    Directory contents (``*.yaml``, ``*.yml``, not under hidden directories) are sorted;
    a file named twice is kept once. A missing path is a ``SpecError``.
    """
    found: list[Path] = []
    problems: list[SpecProblem] = []
    for path in map(Path, paths):
        if path.is_dir():
            files = _specs_in(path)
            if not files:
                problems.append(SpecProblem(None, "", f"no *.yaml or *.yml files in {path}"))
            found += files
        elif path.is_file():
            found.append(path)
        else:
            problems.append(SpecProblem(None, "", f"no such file or directory: {path}"))
    if problems:
        raise SpecError(problems)
    unique = {os.path.realpath(p): p for p in reversed(found)}
    return [p for p in found if unique[os.path.realpath(p)] is p]


def _specs_in(directory: Path) -> list[Path]:
    files = (p for p in directory.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file())
    visible = (p for p in files if not any(part.startswith(".") for part in p.relative_to(directory).parts))
    return sorted(visible)


def _read_text(path: Path, name: str) -> tuple[str | None, list[SpecProblem]]:
    """The text of a spec file, or the problem that stops it being read."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, [_too_large(size, name)]
        data = path.read_bytes()
    except OSError as error:
        return None, [SpecProblem(None, "", f"cannot read {name}: {error.strerror or error}")]
    try:
        return data.decode("utf-8").removeprefix("\ufeff"), []
    except UnicodeDecodeError as error:
        return None, [_not_utf8(data, error, name)]


def _too_large(size: int, name: str) -> SpecProblem:
    message = f"file is {size} bytes; spec files are limited to 1 MiB ({MAX_BYTES} bytes)"
    return SpecProblem(Position(name, 1, 1), "", message)


def _not_utf8(data: bytes, error: UnicodeDecodeError, name: str) -> SpecProblem:
    start = error.start
    line_start = data.rfind(b"\n", 0, start) + 1
    col = len(data[line_start:start].decode("utf-8", errors="replace")) + 1
    line = data.count(b"\n", 0, start) + 1
    message = f"not UTF-8: invalid byte 0x{data[start]:02x}; save the file as UTF-8"
    return SpecProblem(Position(name, line, col), "", message)


# --------------------------------------------------------------------------- top level
def _check_top(data: dict, marks: Marks) -> list[Found]:
    found: list[Found] = []
    for key in data:
        if key not in TOP_KEYS:
            found.append((marks.children[key].position, (), unknown_key(key, TOP_KEYS)))
    if "version" not in data:
        found.append((marks.position, (), "missing required key 'version' (add 'version: 1')"))
    elif data["version"] != 1 or isinstance(data["version"], bool):
        version = data["version"]
        at = marks.children["version"].position
        found.append((at, ("version",), f"expected 1, got {describe(version)}"))
    figures = data.get("figures")
    if "figures" not in data:
        found.append((marks.position, (), "missing required key 'figures'"))
    elif not isinstance(figures, dict) or not figures:
        got = "no figures" if figures in ({}, None) else describe(figures)
        message = f"expected a mapping from figure id to figure, got {got}"
        found.append((marks.children["figures"].position, ("figures",), message))
    return found


def _check_defaults(data: dict, marks: Marks) -> tuple[dict, list[Found]]:
    """The usable defaults of a file (bad keys dropped) and the problems of the others."""
    defaults = data.get("defaults")
    if defaults is None:
        return {}, []
    here = marks.children["defaults"]
    if not isinstance(defaults, dict):
        message = f"expected a mapping of figure keys, got {describe(defaults)}"
        return {}, [(here.position, ("defaults",), message)]
    usable, found = {}, []
    for key, value in defaults.items():
        at = here.children[key].position
        if key in NOT_DEFAULTS:
            found.append((at, ("defaults",), NOT_DEFAULTS[key]))
        elif key not in FIGURE_KEYS:
            message = unknown_key(key, FIGURE_KEYS - set(NOT_DEFAULTS), " in defaults")
            found.append((at, ("defaults",), message))
        else:
            usable[key] = value
    return usable, found


# --------------------------------------------------------------------------- figures
def _kind_problem(shown: tuple, data: dict, marks: Marks) -> Found | None:
    valid = "valid kinds: " + ", ".join(KINDS)
    if "kind" not in data:
        return marks.position, shown, f"missing required key 'kind' ({valid})"
    kind = data["kind"]
    if isinstance(kind, str) and kind in FIGURE_CLASSES:
        return None
    close = suggestion(kind, KINDS) if isinstance(kind, str) else None
    hint = f"did you mean '{close}'? " if close else ""
    message = f"unknown kind {describe(kind)} ({hint}{valid})"
    return marks.children["kind"].position, shown + ("kind",), message


# Keys a figure gives instead of a default: its own one takes the place of the default's.
ALTERNATIVES = {"text": ("texts",), "texts": ("text",)}


def _merge_defaults(data: dict, defaults: dict, model: type[FigureBase]) -> tuple[dict, set[str]]:
    """The figure with the defaults its kind accepts; also which keys came from defaults.

    A figure that names its own source (model, array, runs or steps) takes none of the
    defaults' source keys: a default model must not sneak into an array figure.
    """
    own_source = any(key in data for key in SourceFields.SOURCE_KEYS)
    merged, taken = dict(data), set()
    for key, value in defaults.items():
        if key in data or key not in model.model_fields:
            continue
        if any(other in data for other in ALTERNATIVES.get(key, ())):  # a figure's texts replace a default text
            continue
        if own_source and key in SourceFields.SOURCE_KEYS:
            continue
        merged[key] = value
        taken.add(key)
    return merged, taken


def _validate_figure(
    ctx: _FileContext, shown: tuple, data: dict, marks: Marks
) -> tuple[FigureBase | None, Marks, list[Found]]:
    """Validate one (expanded) figure; returns the model, its merged marks and problems.

    ``shown`` is the path problems name the figure by (``figures``, id as written).
    """
    kind_problem = _kind_problem(shown, data, marks)
    if kind_problem:
        return None, marks, [kind_problem]
    model = FIGURE_CLASSES[data["kind"]]
    merged, taken = _merge_defaults(data, ctx.defaults, model)
    children = dict(marks.children)
    children.update({key: ctx.default_marks.children[key] for key in taken})
    merged_marks = Marks(marks.value, marks.key, children)
    try:
        return model.model_validate(merged), merged_marks, []
    except ValidationError as error:
        found = []
        for path, at, message in figure_errors(error, model, extra_keys=("foreach",)):
            prefix = ("defaults",) if path and path[0] in taken else shown
            message = quote_hint(message, merged_marks.find(at))
            found.append((merged_marks.nearest(at).position, prefix + path, message))
        return None, merged_marks, found


def _expansions(ctx: _FileContext, figure_id: str, data: dict) -> tuple[list[tuple[str, dict, str]], list]:
    """``(id, data, label)`` per figure a spec entry stands for, and template problems
    as ``((path, message), label)``."""
    if "foreach" not in data:
        return [(figure_id, data, "")], []
    from izzyfig.spec import template  # Jinja2 is imported only by specs that use it

    expander = ctx.templates.setdefault("expander", template.Expander())
    expansions, problems = expander.expand(figure_id, data)
    return [(e.id, e.data, e.label) for e in expansions], problems


def _unique_expansions(expansions: list) -> tuple[list, tuple[str, str, str] | None]:
    """Expansions with distinct ids, and the first collision ``(id, label, label)``."""
    made_by: dict[str, str] = {}
    unique, collision = [], None
    for expanded_id, data, label in expansions:
        if expanded_id in made_by:
            collision = collision or (expanded_id, made_by[expanded_id], label)
            continue
        made_by[expanded_id] = label
        unique.append((expanded_id, data, label))
    return unique, collision


def _id_problem(figure_id: str, shown: tuple, marks: Marks) -> Found | None:
    """Ids name files and LaTeX labels: ASCII letters, digits, '_', '.', '-', at most 100."""
    if len(figure_id) > MAX_ID:
        message = f"figure id {describe(figure_id)} has {len(figure_id)} characters; the limit is {MAX_ID}"
    elif not FIGURE_ID.fullmatch(figure_id):
        message = (
            f"invalid figure id {describe(figure_id)}: use ASCII letters, digits, '_', '.' and '-', "
            "starting with a letter or digit"
        )
    else:
        return None
    return marks.position, shown, message


def _labelled(found: Found, label: str) -> SpecProblem:
    position, shown, message = found
    if label and shown[:1] != ("defaults",):  # defaults are not templated
        message = f"{message} ({label})"
    return SpecProblem(position, format_path(shown), message)


def _figure_entries(
    ctx: _FileContext, figure_id: str, data: Any, marks: Marks
) -> tuple[list[FigureEntry], list[SpecProblem]]:
    """The entries one spec figure stands for (several with ``foreach``) and its problems.

    Problems of an expanded figure name the template as written and end with the
    expansion, e.g. ``(head=3)``; a mistake that repeats in every expansion is
    reported once, for the first.
    """
    shown = ("figures", figure_id)
    if not isinstance(data, dict):
        message = f"expected a mapping of figure keys, got {describe(data)}"
        return [], [SpecProblem(marks.position, format_path(shown), message)]
    expansions, template_problems = _expansions(ctx, figure_id, data)
    found = [
        ((marks.nearest(path).position, shown + path, text), label)
        for (path, text), label in template_problems
    ]
    expansions, collision = _unique_expansions(expansions)
    if collision:
        found.append((_same_id(figure_id, data, marks, *collision), ""))
    entries = []
    for expanded_id, expanded, label in expansions:
        figure, figure_marks, problems = _validate_figure(ctx, shown, expanded, marks)
        problems += filter(None, [_id_problem(expanded_id, shown, marks)])
        found += [(item, label) for item in problems]
        if not problems:
            entries.append(FigureEntry(expanded_id, figure, ctx.path, marks.position, label, figure_marks))
    first: dict[Found, str] = {}
    for item, label in found:
        first.setdefault(item, label)
    return entries, [_labelled(item, label) for item, label in first.items()]


def _same_id(template_id: str, data: dict, marks: Marks, figure_id: str, first: str, again: str) -> Found:
    unused = [name for name in data["foreach"] if name not in template_id] or list(data["foreach"])
    example = template_id + "".join(f"-{{{{{name}}}}}" for name in unused)
    message = (
        f"foreach gives the id '{figure_id}' to more than one figure, e.g. ({first}) and ({again}); "
        f"use every variable in the id, e.g. '{example}'"
    )
    return marks.position, ("figures", template_id), message


def _duplicate_ids(entries: Iterable[FigureEntry]) -> list[SpecProblem]:
    """Figure ids must be unique across every file of a build."""
    first: dict[str, FigureEntry] = {}
    problems = []
    for entry in entries:
        if entry.id not in first:
            first[entry.id] = entry
            continue
        other = first[entry.id]
        where = f"{other.position}" + (f", {other.expansion}" if other.expansion else "")
        message = f"duplicate figure id '{entry.id}' (also defined at {where})"
        shown = format_path(("figures", entry.id))
        if entry.expansion:
            message += f" ({entry.expansion})"
        problems.append(SpecProblem(entry.position, shown, message))
    return problems


# --------------------------------------------------------------------------- one file
def _load_text(
    text: str, path: Path, name: str
) -> tuple[LoadedSpec | None, list[FigureEntry], list[SpecProblem]]:
    """Check one spec text; returns the spec (None if any problem), its entries, problems."""
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_BYTES:
        return None, [], [_too_large(size, name)]
    data, marks, problems = parse_yaml(text, name)
    if marks is None or (data is None and not problems):  # no document, or a bare '---'
        empty = "file is empty; a spec starts with 'version: 1' and 'figures:'"
        return None, [], problems or [SpecProblem(Position(name, 1, 1), "", empty)]
    if not isinstance(data, dict):
        message = f"expected a mapping with 'version' and 'figures' at the top level, got {describe(data)}"
        return None, [], problems + [SpecProblem(marks.value, "", message)]
    found = _check_top(data, marks)
    defaults, default_problems = _check_defaults(data, marks)
    problems += [_labelled(item, "") for item in found + default_problems]
    ctx = _FileContext(path, name, defaults, marks.children.get("defaults"))
    entries: list[FigureEntry] = []
    figures = data.get("figures")
    for figure_id, figure in (figures.items() if isinstance(figures, dict) else ()):
        figure_marks = marks.children["figures"].children[figure_id]
        more, more_problems = _figure_entries(ctx, figure_id, figure, figure_marks)
        entries += more
        problems += more_problems
    problems = list(dict.fromkeys(problems))  # a bad default is found once per figure
    if problems:
        return None, entries, problems
    spec = SpecFile.model_validate(
        {"version": 1, "defaults": data.get("defaults") or {}, "figures": {e.id: e.figure for e in entries}}
    )
    return LoadedSpec(path, spec, tuple(entries)), entries, []


def load_spec_text(text: str, name: str) -> LoadedSpec:
    """Load one spec from text (tests, stdin); relative paths resolve against ``name``'s directory."""
    spec, entries, problems = _load_text(text, Path(name), name)
    problems += _duplicate_ids(entries) + output_collisions(entries)
    if problems:
        raise SpecError(problems)
    return spec


def load_specs(paths: Iterable[str | Path]) -> list[LoadedSpec]:
    """Load every spec file under ``paths``; raise one ``SpecError`` with all problems."""
    loaded: list[LoadedSpec] = []
    entries: list[FigureEntry] = []
    problems: list[SpecProblem] = []
    for path in find_spec_files(paths):
        text, read_problems = _read_text(path, str(path))
        if text is None:
            problems += read_problems
            continue
        spec, file_entries, file_problems = _load_text(text, path, str(path))
        entries += file_entries
        problems += file_problems
        if spec is not None:
            loaded.append(spec)
    problems += _duplicate_ids(entries) + output_collisions(entries)
    if problems:
        raise SpecError(problems)
    return loaded


# --------------------------------------------------------------------------- paths
def resolve_path(entry: FigureEntry, path: str) -> Path:
    """A path written in ``entry``'s spec (array file, checkpoint), as an absolute path.

    Relative paths are relative to the directory of the spec file, never to the
    working directory; the spec keeps the path as written so its hash is portable.
    """
    return Path(os.path.normpath(entry.file.parent.absolute() / os.path.expanduser(path)))


def resolve_model_ref(entry: FigureEntry, ref: str) -> Path | None:
    """The local directory a model (or run/step) reference names, or None.

    A ref starting with '.', '/' or '~' is a local path. A ref with a path separator
    ('org/name') is local only if it exists next to the spec; otherwise it is, like a
    bare name, an alias or a hub id for the extraction phase to resolve.
    """
    if ref.startswith((".", "/", "~")) or os.path.isabs(ref):
        return resolve_path(entry, ref)
    if "/" in ref or os.sep in ref:
        local = resolve_path(entry, ref)
        return local if local.exists() else None
    return None
