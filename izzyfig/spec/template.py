"""Templated figures: ``foreach:`` expands one figure into many.

``foreach`` maps variable names to a list of values or ``{range: [start, stop(, step)]}``;
several variables give their cartesian product, in key order. The figure id and every
string value are rendered by a sandboxed Jinja2 environment that sees only the loop
variables. A string that is exactly ``{{ var }}`` takes the variable's value with its
type, so ``head: "{{head}}"`` is an integer.

Problems are ``(path, message)`` with ``path`` relative to the figure; the loader
turns them into positioned ``SpecProblem``s.
"""
from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from izzyfig.spec.messages import describe, unknown_key

MAX_EXPANSIONS = 1000
MAX_REPEAT = 10_000
MAX_POWER_BITS = 4096
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
JINJA_WORDS = frozenset({"and", "or", "not", "in", "is", "if", "else", "true", "false", "none"})
SINGLE_VARIABLE = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
Problem = tuple[tuple, str]


class TemplateEnvironment(ImmutableSandboxedEnvironment):
    """Sandboxed Jinja2: no globals, no Python internals, no huge ``*``/``**`` results."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _huge_power(left, right):
            raise SecurityError(f"{left} ** {right} is too large")
        sizes = [len(x) for x in (left, right) if isinstance(x, (str, list, tuple))]
        counts = [abs(x) for x in (left, right) if isinstance(x, int)]
        if operator == "*" and sizes and counts and sizes[0] * counts[0] > MAX_REPEAT:
            raise SecurityError(f"repetition longer than {MAX_REPEAT} is not allowed")
        return super().call_binop(context, operator, left, right)


def _huge_power(base: Any, exponent: Any) -> bool:
    """Integer powers beyond 4096 bits would only burn time and memory."""
    if not (isinstance(base, int) and isinstance(exponent, int)) or abs(base) < 2 or exponent < 1:
        return False
    return abs(base).bit_length() * exponent > MAX_POWER_BITS


def _environment() -> TemplateEnvironment:
    environment = TemplateEnvironment(undefined=StrictUndefined, autoescape=False)
    environment.globals.clear()
    return environment


ENVIRONMENT = _environment()


@dataclass(frozen=True)
class Expansion:
    """One figure made from a template: its id, data and the values that made it."""

    id: str
    data: dict
    variables: dict

    @property
    def label(self) -> str:
        """``head=3`` or ``layer=2, head=3``; empty for a figure without foreach."""
        return ", ".join(f"{k}={_shown(v)}" for k, v in self.variables.items())


def _shown(value: Any) -> str:
    """A loop value as a label shows it: ``3``, ``'The cat'``, ``[4, 3]``."""
    if isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        return text if len(text) <= 40 else text[:37] + "..."
    return describe(value)


def _range_values(spec: dict, path: tuple) -> tuple[list, list[Problem]]:
    extra = [k for k in spec if k != "range"]
    if extra:
        return [], [(path + (extra[0],), unknown_key(extra[0], ["range"]))]
    bounds = spec.get("range")
    ok = isinstance(bounds, list) and len(bounds) in (2, 3)
    if not ok or not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
        wanted = "[start, stop] or [start, stop, step] integers"
        return [], [(path + ("range",), f"expected {wanted}, got {describe(bounds)}")]
    if len(bounds) == 3 and bounds[2] == 0:
        return [], [(path + ("range",), "the step of a range must not be 0")]
    values = range(*bounds)
    if len(values) > MAX_EXPANSIONS:
        return [], [(path + ("range",), f"a range of {len(values)} values is more than {MAX_EXPANSIONS}")]
    return list(values), []


def _variable_values(name: str, spec: Any, path: tuple) -> tuple[list, list[Problem]]:
    if not NAME.match(name) or name in JINJA_WORDS:
        rule = "use letters, digits and '_', not a leading digit"
        return [], [(path, f"invalid variable name '{name}' ({rule})")]
    if isinstance(spec, dict):
        values, problems = _range_values(spec, path)
    elif isinstance(spec, list):
        values, problems = spec, []
    else:
        return [], [(path, f"expected a list of values or {{range: [start, stop]}}, got {describe(spec)}")]
    if not values and not problems:
        problems = [(path, "expected at least one value")]
    return values, problems


def foreach_values(spec: Any) -> tuple[dict[str, list], list[Problem]]:
    """Validate a ``foreach`` mapping; return ``{variable: values}`` and problems."""
    path = ("foreach",)
    if not isinstance(spec, dict) or not spec:
        wanted = "a mapping from variable name to values"
        return {}, [(path, f"expected {wanted}, got {describe(spec) if spec != {} else 'an empty mapping'}")]
    variables, problems = {}, []
    for name, values_spec in spec.items():
        values, found = _variable_values(name, values_spec, path + (name,))
        variables[name], problems = values, problems + found
    count = 1
    for values in variables.values():
        count *= len(values)
    if not problems and count > MAX_EXPANSIONS:
        problems.append((path, f"expands to {count} figures; the limit is {MAX_EXPANSIONS}"))
    return variables, problems


class _Renderer:
    """Renders the strings of one template figure for each set of variables."""

    def __init__(self) -> None:
        self.compiled: dict[str, Template] = {}
        self.problems: list[Problem] = []

    def text(self, source: str, variables: dict, path: tuple) -> Any:
        single = SINGLE_VARIABLE.match(source.strip())
        if single and single.group(1) in variables:
            return variables[single.group(1)]
        try:
            if source not in self.compiled:
                self.compiled[source] = ENVIRONMENT.from_string(source)
            return self.compiled[source].render(variables)
        # Template code is user code: any failure is a problem of the spec, not a crash.
        except Exception as error:  # noqa: BLE001
            self.problems.append((path, f"template error: {_reason(error)}"))
            return source

    def value(self, value: Any, variables: dict, path: tuple) -> Any:
        if isinstance(value, str):
            return self.text(value, variables, path) if "{" in value else value
        if isinstance(value, list):
            return [self.value(v, variables, path + (i,)) for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: self.value(v, variables, path + (k,)) for k, v in value.items()}
        return value


def _reason(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return message.rstrip(".")


def expand(template_id: str, figure: dict) -> tuple[list[Expansion], list[tuple[Problem, str]]]:
    """Expand a figure that has ``foreach`` into one ``Expansion`` per variable set.

    Returns the expansions that rendered cleanly and ``((path, message), label)``
    problems, where ``label`` names the expansion the problem happened in ('' for
    problems of ``foreach`` itself).
    """
    variables, problems = foreach_values(figure["foreach"])
    if problems:
        return [], [(p, "") for p in problems]
    body = {k: v for k, v in figure.items() if k != "foreach"}
    renderer = _Renderer()
    expansions, labelled = [], []
    for values in itertools.product(*variables.values()):
        current = dict(zip(variables, values))
        figure_id = renderer.value(template_id, current, ())
        data = renderer.value(body, current, ())
        expansion = Expansion(str(figure_id), data, current)
        if renderer.problems:  # a half-rendered figure would only add confusing errors
            labelled += [(p, expansion.label) for p in renderer.problems]
            renderer.problems = []
        else:
            expansions.append(expansion)
    return expansions, labelled
