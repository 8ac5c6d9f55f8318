"""One error hierarchy for every phase; the CLI catches only ``IzzyfigError``."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Position:
    """A place in a spec file, 1-based like editors show it."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class IzzyfigError(Exception):
    """Base of every error izzyfig reports to a user without a traceback."""


@dataclass(frozen=True)
class SpecProblem:
    """One positioned problem in a spec: ``file:line:col: path: message``."""

    position: Position | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.position}: " if self.position else ""
        what = f"{self.path}: " if self.path else ""
        return f"{where}{what}{self.message}"


@dataclass(frozen=True)
class SpecWarning:
    """A positioned warning: ``file:line:col: warning: path: message``.

    The figure is still built; ``izzyfig build --strict`` turns warnings into errors.
    """

    position: Position | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.position}: " if self.position else ""
        what = f"{self.path}: " if self.path else ""
        return f"{where}warning: {what}{self.message}"


class IzzyfigWarning(UserWarning):
    """A warning raised while a figure is made (data, legibility, page fit).

    Renderers and the extraction layer know nothing of YAML, so they name the spec
    key to blame as ``key``, a path inside the figure such as ``("width",)`` or
    ``("window", "rows")``; the build turns it into a positioned ``SpecWarning``.
    Python API users see an ordinary ``warnings.warn`` message.
    """

    def __init__(self, message: str, key: tuple[str | int, ...] = ()):
        super().__init__(message)
        self.key = tuple(key)

    @property
    def text(self) -> str:
        return str(self.args[0])


class SpecError(IzzyfigError):
    """Invalid specs; carries every problem found, sorted by position."""

    def __init__(self, problems: list[SpecProblem]):
        self.problems = sorted(
            problems, key=lambda p: (p.position or Position("", 0, 0), p.path, p.message)
        )
        super().__init__("\n".join(str(p) for p in self.problems))


class PlanError(IzzyfigError):
    """The specs are valid but cannot be planned (ranges, missing inputs)."""


class ExtractError(IzzyfigError):
    """Loading a model or array, or running a forward pass, failed."""


class KernelError(IzzyfigError):
    """Invalid input to a compiled kernel, or the kernel is not built."""


class AnalysisError(IzzyfigError):
    """Arrays or options that ``izzyfig.analysis`` cannot compute a statistic of."""


class RenderError(IzzyfigError):
    """The arrays or options given to a renderer cannot be drawn."""


class BuildError(IzzyfigError):
    """One or more figures of a build failed; the others were still written."""


class UsageError(IzzyfigError):
    """A command line asking for something that does not exist (e.g. an unknown ``--only`` id).

    The command line exits with 2, as for any other usage error.
    """
