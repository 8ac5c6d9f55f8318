"""Build progress: a redrawn bar per phase on a terminal, plain lines elsewhere."""
from __future__ import annotations

import sys
from typing import TextIO

BAR_WIDTH = 24


class Progress:
    """Counts work items of one phase at a time.

    On a TTY each phase is one line redrawn in place (``render  [#####.....] 12/50 fig12``);
    otherwise every item is printed on its own line, which reads well in CI logs.
    """

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.name = ""
        self.total = 0
        self.done = 0

    def phase(self, name: str, total: int) -> None:
        self.name, self.total, self.done = name, total, 0
        if total and not self.tty:
            self._line(f"{name}: {total} to do")

    def advance(self, label: str) -> None:
        self.done += 1
        if self.tty:
            filled = BAR_WIDTH * self.done // max(self.total, 1)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            end = "\n" if self.done >= self.total else ""
            self._write(f"\r\x1b[2K{self.name:<8} [{bar}] {self.done}/{self.total} {label}{end}")
        else:
            self._line(f"{self.name} {self.done}/{self.total} {label}")

    def message(self, text: str) -> None:
        self._line(text)

    def notice(self, text: str) -> None:
        """A line shown even with ``quiet`` (waiting for the project lock, removed files)."""
        self.stream.write(text + "\n")
        self.stream.flush()

    def _line(self, text: str) -> None:
        self._write(text + "\n")

    def _write(self, text: str) -> None:
        if not self.quiet:
            self.stream.write(text)
            self.stream.flush()
