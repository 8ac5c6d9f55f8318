"""YAML text -> plain data plus the position of every key and value.

The event stream of PyYAML's safe parser is composed here rather than by PyYAML's
composer, so that aliases can be refused before anything expands (no alias bombs),
duplicate keys are reported instead of silently overwritten, and each node keeps
its line and column. The C parser (libyaml) is used when present because it is
about ten times faster; any file it rejects is parsed again by the pure-Python
parser, whose error messages are more precise and do not depend on libyaml.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from izzyfig.errors import Position, SpecProblem

MAX_DEPTH = 64
_STANDARD = "tag:yaml.org,2002:"
SCALAR_TAGS = frozenset(_STANDARD + t for t in ("null", "bool", "int", "float", "str"))
_TIMESTAMP = _STANDARD + "timestamp"


_FLOAT = _STANDARD + "float"
# YAML 1.2 floats: ``1e6`` and ``2E-3`` are numbers (YAML 1.1 wants ``1.0e+6``), plus
# YAML 1.1's ``.inf``/``.nan`` forms, which validation then refuses with a message.
FLOAT_1_2 = re.compile(
    r"""^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


def _spec_resolvers(resolvers: dict) -> dict:
    """Implicit resolvers minus ``timestamp`` (``2024-01-01`` stays a string), with
    YAML 1.2 floats (``1e6`` is a number, as in JSON)."""
    out: dict = {}
    for first, entries in resolvers.items():
        kept = [(tag, regexp) for tag, regexp in entries if tag not in (_TIMESTAMP, _FLOAT)]
        if first in "-+.0123456789":
            kept.append((_FLOAT, FLOAT_1_2))
        out[first] = kept
    return out


class SpecYamlLoader(yaml.SafeLoader):
    """Safe loader whose scalars resolve like JSON values (no dates, ``1e6`` a number)."""

    yaml_implicit_resolvers = _spec_resolvers(yaml.SafeLoader.yaml_implicit_resolvers)


if getattr(yaml, "__with_libyaml__", False):

    class FastSpecYamlLoader(yaml.CSafeLoader):
        """The same loader on libyaml's parser."""

        yaml_implicit_resolvers = SpecYamlLoader.yaml_implicit_resolvers

else:  # pragma: no cover - libyaml ships with PyYAML's wheels
    FastSpecYamlLoader = SpecYamlLoader


@dataclass
class Marks:
    """Where a YAML node and its key are, and the marks of its children.

    ``value`` is where the node starts, ``key`` where its mapping key starts
    (None for list items and the document root). ``text`` is the source text of a
    plain scalar that YAML did not read as a string (``on`` read as true), so that a
    message can say how to quote it; ``quoted`` says the scalar was written in quotes.
    """

    value: Position
    key: Position | None = None
    children: dict[str | int, Marks] = field(default_factory=dict)
    text: str | None = None
    quoted: bool = False

    @property
    def position(self) -> Position:
        """The key's position if the node has one, else the value's."""
        return self.key or self.value

    def find(self, path: tuple[str | int, ...]) -> Marks | None:
        """The marks of exactly ``path``, or None if it is not written in the file."""
        node: Marks | None = self
        for part in path:
            node = node.children.get(part) if node is not None else None
        return node

    def nearest(self, path: tuple[str | int, ...]) -> Marks:
        """The marks of ``path``, or of its deepest ancestor that exists."""
        node = self
        for part in path:
            child = node.children.get(part)
            if child is None:
                break
            node = child
        return node


class _Refused(Exception):
    """A node izzyfig will not read (alias, tag, nesting); stops the file."""

    def __init__(self, problem: SpecProblem):
        super().__init__(str(problem))
        self.problem = problem


def format_path(path: tuple[str | int, ...]) -> str:
    """``("figures", "f", "boxes", 0)`` -> ``figures.f.boxes[0]``.

    A key with a newline or another unprintable character is shown quoted
    (``figures.'fig\\n'``), so that every message stays on one line.
    """
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        part = shown_key(part)
        text += f".{part}" if text else part
    return text


def shown_key(key: str) -> str:
    """A mapping key as paths show it: as written, quoted if it has unprintable
    characters, shortened if it is longer than 60 characters."""
    key = str(key)
    key = key if len(key) <= 60 else key[:57] + "..."
    return key if key.isprintable() else repr(key)


def quoted_key(key: str) -> str:
    """A mapping key as messages quote it: ``'top-n'``, or ``'fig\\n'`` escaped."""
    key = str(key)
    return f"'{key}'" if key.isprintable() else repr(key)


def _short_tag(tag: str) -> str:
    """``tag:yaml.org,2002:set`` -> ``!!set``, as the user wrote it."""
    return "!!" + tag[len(_STANDARD) :] if tag.startswith(_STANDARD) else tag


def _position(name: str, mark: Any) -> Position:
    return Position(name, mark.line + 1, mark.column + 1)


class _Composer:
    """Turns the event stream of one document into data and ``Marks``."""

    def __init__(self, loader: yaml.SafeLoader, name: str):
        self.loader = loader
        self.name = name
        self.problems: list[SpecProblem] = []

    def document(self) -> tuple[Any, Marks | None]:
        self.loader.get_event()  # StreamStart
        if self.loader.check_event(yaml.StreamEndEvent):
            return None, None
        self.loader.get_event()  # DocumentStart
        data, marks = self.node((), None, 0)
        self.loader.get_event()  # DocumentEnd
        if not self.loader.check_event(yaml.StreamEndEvent):
            start = self.loader.peek_event().start_mark
            self.refuse(start, (), "a spec file holds one YAML document; remove the second '---'")
        return data, marks

    def refuse(self, mark: Any, path: tuple, message: str) -> None:
        raise _Refused(SpecProblem(_position(self.name, mark), format_path(path), message))

    def node(self, path: tuple, key: Position | None, depth: int) -> tuple[Any, Marks]:
        event = self.loader.get_event()
        if isinstance(event, yaml.AliasEvent):
            self.refuse(
                event.start_mark,
                path,
                f"YAML aliases (*{event.anchor}) are not supported; "
                "use 'defaults:' or 'foreach:' to share values",
            )
        if depth > MAX_DEPTH:
            self.refuse(event.start_mark, (), f"nesting is deeper than {MAX_DEPTH} levels")
        marks = Marks(_position(self.name, event.start_mark), key)
        if isinstance(event, yaml.ScalarEvent):
            value = self.scalar(event, path)
            if not event.style and not isinstance(value, str) and event.value:  # plain: None or ''
                marks.text = event.value
            marks.quoted = event.style in ("'", '"')
            return value, marks
        if isinstance(event, yaml.SequenceStartEvent):
            self.check_tag(event, path, _STANDARD + "seq")
            return self.sequence(path, marks, depth), marks
        self.check_tag(event, path, _STANDARD + "map")
        return self.mapping(path, marks, depth), marks

    def check_tag(self, event: Any, path: tuple, default: str) -> None:
        if event.tag not in (None, "!", default):
            self.refuse(event.start_mark, path, f"unsupported YAML tag '{_short_tag(event.tag)}'")

    def scalar(self, event: Any, path: tuple) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag not in SCALAR_TAGS:
            self.refuse(event.start_mark, path, f"unsupported YAML tag '{_short_tag(tag)}'")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return self.loader.yaml_constructors[tag](self.loader, node)
        except (ValueError, yaml.YAMLError):
            self.refuse(event.start_mark, path, f"'{event.value}' is not a valid {_short_tag(tag)}")

    def sequence(self, path: tuple, marks: Marks, depth: int) -> list:
        items = []
        while not self.loader.check_event(yaml.SequenceEndEvent):
            index = len(items)
            value, marks.children[index] = self.node(path + (index,), None, depth + 1)
            items.append(value)
        self.loader.get_event()
        return items

    def mapping(self, path: tuple, marks: Marks, depth: int) -> dict:
        data: dict[str, Any] = {}
        while not self.loader.check_event(yaml.MappingEndEvent):
            event = self.loader.get_event()
            if not isinstance(event, yaml.ScalarEvent):
                self.refuse(event.start_mark, path, _complex_key_message(event))
            key, key_position = event.value, _position(self.name, event.start_mark)
            value, child = self.node(path + (key,), key_position, depth + 1)
            if key in data:
                first = marks.children[key].position.line
                self.problems.append(
                    SpecProblem(
                        key_position,
                        format_path(path),
                        f"duplicate key {quoted_key(key)} (first at line {first}, "
                        f"again at line {key_position.line})",
                    )
                )
                continue
            data[key], marks.children[key] = value, child
        self.loader.get_event()
        return data


def _complex_key_message(event: Any) -> str:
    message = "mapping keys must be plain strings"
    if isinstance(event, yaml.MappingStartEvent) and event.flow_style:
        # `head: {{head}}` is a YAML mapping inside a mapping, not a template.
        message += "; a template value must be quoted: \"{{ var }}\""
    return message


def _syntax_problem(error: yaml.YAMLError, text: str, name: str) -> SpecProblem:
    """A positioned one-line message for a PyYAML reader, scanner or parser error."""
    if isinstance(error, yaml.reader.ReaderError):
        line = text.count("\n", 0, error.position) + 1
        col = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        code = error.character if isinstance(error.character, int) else ord(error.character)
        return SpecProblem(Position(name, line, col), "", f"character U+{code:04X} is not allowed in YAML")
    mark = error.problem_mark or error.context_mark
    position = _position(name, mark) if mark else Position(name, 1, 1)
    if mark and text[mark.index : mark.index + 1] == "\t":
        return SpecProblem(position, "", "tab character in indentation; YAML indents with spaces")
    message = f"invalid YAML: {error.problem}"
    context = error.context_mark
    if error.context and context and context.line != getattr(mark, "line", None):
        message += f" ({error.context} at line {context.line + 1})"
    hint = _syntax_hint(str(error.problem), text, mark)
    return SpecProblem(position, "", f"{message}; {hint}" if hint else message)


def _syntax_hint(problem: str, text: str, mark: Any) -> str | None:
    """What usually causes a parser error: a key indented unlike its neighbours, or an
    unquoted ``: `` inside a value (``title: Layer 3: head 2``)."""
    if mark is None:
        return None
    line = text.splitlines()[mark.line] if mark.line < len(text.splitlines()) else ""
    if problem.startswith("mapping values are not allowed"):
        before = line[: mark.column]
        if ": " in before.lstrip("- ") or before.rstrip().endswith(":"):
            return "quote a value that contains ': '"
        return "check the indentation of the line above and of this line"
    if problem.startswith(("expected <block end>", "did not find expected")):
        return "check the indentation of the line above and of this line"
    return None


def _compose(text: str, name: str, loader_class: type) -> tuple[Any, Marks | None, list[SpecProblem]]:
    loader = loader_class(text)
    composer = _Composer(loader, name)
    try:
        data, marks = composer.document()
    finally:
        loader.dispose()
    return data, marks, composer.problems


def parse_yaml(text: str, name: str) -> tuple[Any, Marks | None, list[SpecProblem]]:
    """Parse one YAML document into ``(data, marks, problems)``.

    ``data`` and ``marks`` are None when the document is empty or unreadable; then
    ``problems`` says why (an empty document has no problem: the caller decides).
    Duplicate keys are reported in ``problems`` while the rest is still read.
    """
    try:
        return _compose(text, name, FastSpecYamlLoader)
    except _Refused as refused:
        return None, None, [refused.problem]
    except yaml.YAMLError:
        pass  # parse again below for libyaml-independent messages
    try:
        return _compose(text, name, SpecYamlLoader)
    except _Refused as refused:
        return None, None, [refused.problem]
    except yaml.YAMLError as error:
        return None, None, [_syntax_problem(error, text, name)]

