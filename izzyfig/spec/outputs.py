"""The files each figure writes, and the figures that would write the same file.

A figure writes its ``output`` (default ``<id>.pdf``) and, beside it, its LaTeX
snippet ``<output without suffix>.tex``; ``izzyfig appendix`` writes ``appendix.tex``.
Two figures that write one file would overwrite each other, so every collision is a
spec problem. Names are compared case-folded: macOS and Windows file systems treat
``Fig.pdf`` and ``fig.pdf`` as one file.
"""
from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from izzyfig.errors import SpecProblem

APPENDIX = "appendix.tex"


def output_name(figure_id: str, output: str | None) -> str:
    """The output path relative to the output directory: ``output`` or ``<id>.pdf``."""
    return output or f"{figure_id}.pdf"


def snippet_name(output: str) -> str:
    """The LaTeX snippet written beside ``output``: ``sub/fig.png`` -> ``sub/fig.tex``."""
    return posixpath.splitext(output)[0] + ".tex"


@dataclass(frozen=True)
class WrittenFile:
    """One file a figure writes, as the messages name it."""

    entry: Any  # FigureEntry
    path: str  # normalised, relative to the output directory
    what: str  # "output" or "LaTeX snippet"

    @property
    def key(self) -> str:
        return self.path.casefold()

    def describe(self) -> str:
        output = output_name(self.entry.id, self.entry.figure.output)
        if self.what == "output":
            default = "" if self.entry.figure.output else " (the default '<id>.pdf')"
            return f"output '{self.path}'{default}"
        return f"LaTeX snippet '{self.path}' (of output '{output}')"


def written_files(entry: Any) -> tuple[WrittenFile, WrittenFile]:
    """The output and the LaTeX snippet of one figure entry."""
    output = posixpath.normpath(output_name(entry.id, entry.figure.output))
    return WrittenFile(entry, output, "output"), WrittenFile(entry, snippet_name(output), "LaTeX snippet")


def output_collisions(entries: Iterable[Any]) -> list[SpecProblem]:
    """Every file that two figures (or a figure and the appendix) would both write.

    The first figure to name a file keeps it; each later one gets a problem at its
    ``output`` key (or at the figure, for a default output) that names the other
    figure and where it is. A file where another figure needs a directory
    (``a.pdf`` and ``a.pdf/b.pdf``) collides too. Entries whose id repeats an earlier
    one are skipped: the duplicate id is already reported.
    """
    files: dict[str, WrittenFile] = {}
    directories: dict[str, WrittenFile] = {}
    seen_ids: set[str] = set()
    problems: list[SpecProblem] = []
    reported: set[tuple] = set()
    for entry in entries:
        if entry.id in seen_ids:
            continue
        seen_ids.add(entry.id)
        written = written_files(entry)
        for mine in written:
            found = _collision(mine, files, directories)
            if found is None:
                continue
            theirs, message = found
            once = (entry.position, theirs.entry.position)  # once per pair of figures (or templates)
            if once not in reported:
                reported.add(once)
                problems.append(_problem(entry, message))
        for mine in written:
            files.setdefault(mine.key, mine)
            for parent in _parents(mine.key):
                directories.setdefault(parent, mine)
    return problems


def _parents(key: str) -> list[str]:
    parents, parent = [], posixpath.dirname(key)
    while parent:
        parents.append(parent)
        parent = posixpath.dirname(parent)
    return parents


def _collision(mine: WrittenFile, files: dict, directories: dict) -> tuple[WrittenFile, str] | None:
    if mine.key == APPENDIX:
        return mine, f"{mine.describe()} is the file `izzyfig appendix` writes; choose another id or output"
    if mine.key in files:
        theirs = files[mine.key]
        message = f"{mine.describe()} collides with the {theirs.describe()} of figure {_named(theirs)}"
        if theirs.path != mine.path:
            message += "; the names differ only in case, and macOS and Windows treat them as one file"
        return theirs, message
    if mine.key in directories:
        theirs = directories[mine.key]
        return theirs, (f"{mine.describe()} is the directory that the {theirs.describe()} of figure "
                        f"{_named(theirs)} needs")
    owner = next((files[p] for p in _parents(mine.key) if p in files), None)
    if owner is not None:
        return owner, (f"{mine.describe()} needs a directory '{owner.path}' where figure "
                       f"{_named(owner)} writes its {owner.describe()}")
    return None


def _named(theirs: WrittenFile) -> str:
    """``'fig1' (specs/paper.yaml:4:5)``: the other figure and where its output is set."""
    other = theirs.entry
    at = f"{other.position_of('output')}" + (f", {other.expansion}" if other.expansion else "")
    return f"'{other.id}' ({at})"


def _problem(entry: Any, message: str) -> SpecProblem:
    if entry.expansion:
        message += f" ({entry.expansion})"
    written = entry.figure.output is not None
    path = f"figures.{entry.id}" + (".output" if written else "")
    return SpecProblem(entry.position_of("output") if written else entry.position, path, message)
