"""Build progress: a tqdm bar per phase on a terminal, plain lines elsewhere (CI logs, pipes).

tqdm gives the bar its rate, ETA and the terminal's width; it is imported only when a
phase has work, so a build with nothing to do stays fast.
"""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

UNITS = {"forward": "forward", "render": "fig"}  # what one item of a phase is
PLAIN_METER = "[{elapsed}<{remaining}, {rate_fmt}]"


class Progress:
    """Counts work items of one phase at a time.

    On a TTY each phase is a tqdm bar redrawn in place, with the last item (and the worker
    that did it) after it::

        render:  60%|██████    | 3/5 [00:01<00:00, 2.9fig/s, fig3 on tcp://127.0.0.1:40417]

    Otherwise every item is printed on its own line, which reads well in CI logs::

        render 3/5 fig3 on tcp://127.0.0.1:40417 [00:01<00:00, 2.90fig/s]

    ``quiet`` prints nothing but ``notice`` lines.
    """

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.name = ""
        self.total = 0
        self.done = 0
        self._bar: Any = None
        self._start = 0.0

    def phase(self, name: str, total: int) -> None:
        """Start phase ``name`` of ``total`` items (closing the bar of the previous one)."""
        self.close()
        self.name, self.total, self.done = name, total, 0
        self._start = time.monotonic()
        if not total or self.quiet:
            return
        if self.tty:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=name, unit=self._unit, file=self.stream,
                             dynamic_ncols=True, leave=True, mininterval=0.1)
        else:
            self._line(f"{name}: {total} to do")

    def advance(self, label: str, worker: str = "") -> None:
        """One more item done: ``label`` names it, ``worker`` where it ran (if known)."""
        self.done += 1
        shown = f"{label} on {worker}" if worker else label
        if self._bar is not None:
            self._bar.set_postfix_str(shown, refresh=False)
            self._bar.update(1)
            if self.done >= self.total:
                self.close()
        elif not self.quiet:
            self._line(f"{self.name} {self.done}/{self.total} {shown} {self._meter()}")

    def message(self, text: str) -> None:
        if not self.quiet:
            self._print(text)

    def notice(self, text: str) -> None:
        """A line shown even with ``quiet`` (waiting for the project lock, removed files)."""
        self._print(text)

    def close(self) -> None:
        """End the current bar (left on screen as the phase's last state)."""
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()

    @property
    def _unit(self) -> str:
        return UNITS.get(self.name, "item")

    def _meter(self) -> str:
        from tqdm import tqdm

        return tqdm.format_meter(self.done, self.total, time.monotonic() - self._start,
                                 unit=self._unit, bar_format=PLAIN_METER)

    def _print(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self.stream)  # above the bar, which is redrawn below
        else:
            self._line(text)

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
