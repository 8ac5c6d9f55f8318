"""The local executors: this process (``-j 1``) and a spawn process pool (``-j N``).

Both run forwards in the build's own process: torch already spreads one forward over
the cores, and the build has loaded the tokenizers (and torch) to tokenise the inputs,
so a worker would only import torch again and hold a second model in memory (measured
on 2 busy cores: the gallery's 16 forwards took 30 s in two workers, 15 s here). The
pool renders, which is single-threaded matplotlib work.

Pool workers are started with ``spawn`` (a forked child would inherit torch's threads
and locks) and die with their parent: each worker asks Linux to kill it when the
parent dies (``PR_SET_PDEATHSIG``), and a watcher thread checks the parent pid twice a
second everywhere else. Workers ignore Ctrl-C; the build stops them when it is
interrupted. Nothing here imports an optional package.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections import deque
from concurrent import futures
from multiprocessing import get_context
from typing import Iterable, Iterator

from izzyfig.errors import BuildError
from izzyfig.executors.work import ForwardGroup, GroupOutcome, RenderJob, RenderResult, render_job, run_group
from izzyfig.extract.forwards import new_runner

PARENT_POLL_SECONDS = 0.5
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


class InProcessExecutor:
    """Runs every job here, one after the other."""

    name = "local"

    def __init__(self) -> None:
        self._runner = None

    def run_groups(self, groups: list[ForwardGroup], runner=None) -> Iterator[GroupOutcome]:
        """Run ``groups`` here, reusing ``runner`` (the build's, with its tokenizers) if given."""
        if runner is None and self._runner is None and groups:
            self._runner = new_runner(groups[0])
        for group in groups:
            yield run_group(group, runner or self._runner)

    def render(self, jobs: Iterable[RenderJob]) -> Iterator[RenderResult]:
        for job in jobs:
            yield render_job(job)

    def close(self, error: bool = False) -> None:
        self._runner = None

    def __enter__(self) -> InProcessExecutor:
        return self

    def __exit__(self, kind, value, trace) -> None:
        self.close(error=kind is not None)


class PoolExecutor:
    """Renders in ``workers`` spawned processes that die with this one; forwards run here.

    Renders are sent ahead by at most two per worker, so a large build never holds every
    figure's arrays at once.
    """

    def __init__(self, workers: int):
        self.workers = workers
        self.name = f"local -j {workers}"
        self._pool: futures.ProcessPoolExecutor | None = None
        self._here = InProcessExecutor()

    @property
    def pool(self) -> futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = futures.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=get_context("spawn"),
                initializer=die_with_parent, initargs=(os.getpid(),),
            )
        return self._pool

    def run_groups(self, groups: list[ForwardGroup], runner=None) -> Iterator[GroupOutcome]:
        """Run ``groups`` in this process, like ``InProcessExecutor`` (see the module docstring)."""
        return self._here.run_groups(groups, runner)

    def render(self, jobs: Iterable[RenderJob]) -> Iterator[RenderResult]:
        pending: deque[futures.Future] = deque()
        for job in jobs:
            pending.append(self.pool.submit(render_job, job))
            if len(pending) >= 2 * self.workers:
                yield self._result(pending.popleft())
        while pending:
            yield self._result(pending.popleft())

    def _result(self, future: futures.Future):
        try:
            return future.result()
        except futures.process.BrokenProcessPool:
            raise BuildError(f"a worker process of -j {self.workers} died (killed, or out of memory?); "
                             "the figures written so far are complete and locked") from None

    def close(self, error: bool = False) -> None:
        """Stop the workers: at once after an error or interruption, else when they are idle."""
        self._here.close(error)
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if error:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
        pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> PoolExecutor:
        return self

    def __exit__(self, kind, value, trace) -> None:
        self.close(error=kind is not None)


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: exit when process ``parent_pid`` dies; leave Ctrl-C to it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="izzyfig-parent-watch",
                     daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)
