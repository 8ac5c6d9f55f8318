"""Templated figures: ``foreach:`` expands one figure into many.

``foreach`` maps variable names to a list of values or ``{range: [start, stop(, step)]}``;
several variables give their cartesian product, in key order. The figure id and every
string value are rendered by a sandboxed Jinja2 environment that sees only the loop
variables. A string that is exactly one ``{{ expression }}`` takes the expression's
value with its type, so ``head: "{{head}}"`` and ``layer: "{{ i - 1 }}"`` are integers.

Template code is untrusted and bounded (``TemplateEnvironment``): every value it
computes and every output holds at most ``MAX_SIZE`` characters or items, no single
operation may multiply sizes beyond ``MAX_WORK``, and a templated figure may take
``MAX_STEPS`` steps, a spec file ``MAX_FILE_STEPS`` (loop iterations, operators, calls
and filters; larger values cost more). Going past a bound is a template error at the
string's position.

Problems are ``(path, message)`` with ``path`` relative to the figure; the loader
turns them into positioned ``SpecProblem``s.
"""
from __future__ import annotations

import itertools
import json
import re
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable

from jinja2 import StrictUndefined, Template, nodes, pass_environment
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from izzyfig.limits import MAX_TEXT
from izzyfig.spec.messages import describe, unknown_key

MAX_EXPANSIONS = 1000
MAX_REPEAT = 10_000
MAX_POWER_BITS = 4096
MAX_SIZE = MAX_TEXT  # characters or items of any value or output a template makes
MAX_WORK = 10_000_000  # product of the two largest argument sizes of one operation
MAX_STEPS = 200_000  # steps of one templated figure, all its expansions together
MAX_FILE_STEPS = 1_000_000  # steps of all templates of one spec file
CALL_COST = 5  # steps of one call of a macro, method or filter
STEP_SIZE = 20  # a value of this many characters or items costs one more step
# Calls whose integer arguments are sizes of the result (widths, counts).
SIZE_ARGUMENTS = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "indent", "wordwrap", "truncate", "batch", "slice"}
)
SIZED = (str, bytes, list, tuple, dict, set, frozenset)
FORMATTING = frozenset({"format", "format_map", "%"})  # the first value is a format string
NUMBER_IN_FORMAT = re.compile(r"\d+")
COUNTED_LOOP = "izzyfig_counted_loop"
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
JINJA_WORDS = frozenset({"and", "or", "not", "in", "is", "if", "else", "true", "false", "none"})
SINGLE_VARIABLE = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
SINGLE_EXPRESSION = re.compile(r"^\{\{(?P<expression>(?:(?!\}\}|\{\{|\{%|\{#).)*)\}\}$", re.DOTALL)
Problem = tuple[tuple, str]


# ----------------------------------------------------------------------------- bounds
class StepBudget:
    """The steps left for one templated figure (all its expansions) and for its file."""

    def __init__(self, per_figure: int = MAX_STEPS, per_file: int = MAX_FILE_STEPS):
        self.per_figure, self.per_file = per_figure, per_file
        self.figure_left, self.file_left = per_figure, per_file

    def start_figure(self) -> None:
        self.figure_left = self.per_figure

    def spend(self, size: int = 0, cost: int = 1) -> None:
        cost += size // STEP_SIZE
        self.figure_left -= cost
        self.file_left -= cost
        if self.figure_left < 0:
            raise SecurityError(
                f"the templates of this figure take more than {self.per_figure} steps "
                "(loop iterations, calls, filters); keep templates simple"
            )
        if self.file_left < 0:
            raise SecurityError(
                f"the templates of this file take more than {self.per_file} steps "
                "(loop iterations, calls, filters); keep templates simple"
            )


_BUDGET: ContextVar[StepBudget | None] = ContextVar("izzyfig_template_budget", default=None)


def _spend(size: int = 0, cost: int = 1) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.spend(size, cost)


def size_of(value: Any, limit: int = MAX_WORK) -> int:
    """Characters of a string, or items of a container counting nested ones; stops past ``limit``."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, dict):
        value = list(value.items())
    if not isinstance(value, (list, tuple, set, frozenset)):
        return 0
    total = len(value)
    types = set(map(type, value))  # at C speed: most lists hold numbers or strings only
    if not any(issubclass(t, SIZED) for t in types):
        return total
    if all(issubclass(t, (str, bytes)) for t in types):
        return total + sum(map(len, value))
    for item in value:
        if total > limit:
            break
        total += size_of(item, limit - total)
    return total


def _checked(value: Any, cost: int = 1) -> Any:
    """``value`` if it is within ``MAX_SIZE`` (steps spent by size); a template error otherwise."""
    size = size_of(value)
    if size > MAX_SIZE:
        raise SecurityError(f"a template value of more than {MAX_SIZE} characters or items is not allowed")
    _spend(size, cost)
    return value


def _check_arguments(name: str, values: list) -> None:
    """Refuse an operation whose result could be huge before it allocates anything.

    Sizes are the lengths of strings and containers, the numbers in a format string
    (widths), and the integer arguments of calls that take a width or a count (``center``).
    """
    sizes = [size_of(v) for v in values]
    if name in SIZE_ARGUMENTS:
        sizes += [abs(v) for v in values if isinstance(v, int) and not isinstance(v, bool)]
    if name in FORMATTING and values and isinstance(values[0], str):  # '%99999s', '{:>99999}'
        sizes += [int(n) for n in NUMBER_IN_FORMAT.findall(values[0])]
    largest = sorted(sizes)[-2:]
    if largest and largest[-1] > MAX_SIZE:
        raise SecurityError(f"'{name}' with a size of {largest[-1]} is not allowed (the limit is {MAX_SIZE})")
    if len(largest) == 2 and largest[0] * largest[1] > MAX_WORK:
        raise SecurityError(f"'{name}' on values of sizes {largest[0]} and {largest[1]} is too much work")


def _guarded_filter(name: str, function: Callable) -> Callable:
    """A filter that checks its arguments and result (keeps Jinja's pass_* marker)."""

    @wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        values = [a for a in args if not hasattr(a, "environment")] + list(kwargs.values())
        _check_arguments(name, values)
        return _checked(function(*args, **kwargs), CALL_COST)

    return guarded


@pass_environment
def _counted_loop(environment: Any, iterable: Any) -> Any:
    """The iterable of a ``{% for %}`` loop, one step per item."""
    for item in iterable:
        _spend()
        yield item


class GuardedCodeGenerator(CodeGenerator):
    """Jinja's code generator with two hooks it does not offer: ``~`` and ``for``.

    ``a ~ b`` joins through ``environment.guarded_concat`` (sizes checked), and every
    loop iterates through a counting filter (steps spent).
    """

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.guarded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        # Before the parent collects the filters a template uses, so the counter is one.
        for loop in node.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, COUNTED_LOOP, [], [], None, None, lineno=loop.iter.lineno)
        super().visit_Template(node, frame)


class TemplateEnvironment(ImmutableSandboxedEnvironment):
    """Sandboxed Jinja2: no globals, no Python internals, bounded sizes and work."""

    code_generator_class = GuardedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False)
        self.globals.clear()
        self.filters = {name: _guarded_filter(name, f) for name, f in self.filters.items()}
        self.filters[COUNTED_LOOP] = _counted_loop

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _huge_power(left, right):
            raise SecurityError(f"{left} ** {right} is too large")
        if operator == "*":
            sizes = [size_of(x) for x in (left, right) if isinstance(x, (str, list, tuple))]
            counts = [abs(x) for x in (left, right) if isinstance(x, int) and not isinstance(x, bool)]
            if sizes and counts and sizes[0] * counts[0] > MAX_REPEAT:
                raise SecurityError(f"repetition longer than {MAX_REPEAT} is not allowed")
        elif operator == "+" and size_of(left) + size_of(right) > MAX_SIZE:
            raise SecurityError(f"a template value of more than {MAX_SIZE} characters or items is not allowed")
        elif operator == "%":
            _check_arguments("%", [left, *(right if isinstance(right, tuple) else (right,))])
        return _checked(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        name = getattr(__obj, "__name__", "call")
        receiver = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        _check_arguments(name, ([receiver] if isinstance(receiver, str) else []) + list(args) + list(kwargs.values()))
        if isinstance(__obj, LoopContext) and args:  # loop(children) of a recursive for
            args = (_counted_loop(__self, args[0]), *args[1:])
        return _checked(super().call(__context, __obj, *args, **kwargs), CALL_COST)

    def guarded_concat(self, values: tuple) -> str:
        """``a ~ b ~ c``: the strings joined, refused if longer than ``MAX_SIZE``."""
        pieces = [str(value) for value in values]
        if sum(map(len, pieces)) > MAX_SIZE:
            raise SecurityError(f"a template value of more than {MAX_SIZE} characters or items is not allowed")
        return _checked("".join(pieces))


def _huge_power(base: Any, exponent: Any) -> bool:
    """Integer powers beyond 4096 bits would only burn time and memory."""
    if not (isinstance(base, int) and isinstance(exponent, int)) or abs(base) < 2 or exponent < 1:
        return False
    return abs(base).bit_length() * exponent > MAX_POWER_BITS


ENVIRONMENT = TemplateEnvironment()


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
        self.compiled: dict[str, Any] = {}
        self.problems: list[Problem] = []

    def text(self, source: str, variables: dict, path: tuple) -> Any:
        single = SINGLE_VARIABLE.match(source.strip())
        if single and single.group(1) in variables:
            return variables[single.group(1)]
        try:
            return self._render(source, variables)
        # Template code is user code: any failure is a problem of the spec, not a crash.
        except Exception as error:  # noqa: BLE001
            self.problems.append((path, f"template error: {_reason(error)}"))
            return source

    def _render(self, source: str, variables: dict) -> Any:
        """One expression keeps its value's type; anything else renders to a string."""
        if len(source) > MAX_SIZE:
            raise SecurityError(f"a template of {len(source)} characters is too long (the limit is {MAX_SIZE})")
        expression = SINGLE_EXPRESSION.match(source.strip())
        if source not in self.compiled:
            if expression:
                self.compiled[source] = ENVIRONMENT.compile_expression(expression["expression"], False)
            else:
                self.compiled[source] = ENVIRONMENT.from_string(source)
        compiled = self.compiled[source]
        if expression:
            value = compiled(variables)
            str(value)  # an undefined variable fails here, with its name
            return _checked(value)
        return _bounded_output(compiled, variables)

    def value(self, value: Any, variables: dict, path: tuple) -> Any:
        if isinstance(value, str):
            return self.text(value, variables, path) if "{" in value else value
        if isinstance(value, list):
            return [self.value(v, variables, path + (i,)) for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: self.value(v, variables, path + (k,)) for k, v in value.items()}
        return value


def _bounded_output(template: Template, variables: dict) -> str:
    """The rendered text, stopped as soon as it passes ``MAX_SIZE`` characters."""
    pieces, length = [], 0
    for piece in template.generate(variables):
        length += len(piece)
        if length > MAX_SIZE:
            raise SecurityError(f"the template renders more than {MAX_SIZE} characters")
        pieces.append(piece)
    return "".join(pieces)


def _reason(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return message.rstrip(".")


class Expander:
    """Expands the templated figures of one spec file, all sharing one step budget."""

    def __init__(self) -> None:
        self.budget = StepBudget()

    def expand(self, template_id: str, figure: dict) -> tuple[list[Expansion], list[tuple[Problem, str]]]:
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
        self.budget.start_figure()
        token = _BUDGET.set(self.budget)
        try:
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
        finally:
            _BUDGET.reset(token)
        return expansions, labelled


def expand(template_id: str, figure: dict) -> tuple[list[Expansion], list[tuple[Problem, str]]]:
    """Expand one templated figure with a budget of its own (see ``Expander.expand``)."""
    return Expander().expand(template_id, figure)
