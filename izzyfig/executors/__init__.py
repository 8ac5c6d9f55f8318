"""Executors: where a build's work runs. A seam, not a fork of the build.

The build plans everything, then hands plain picklable jobs to an executor and gets
results back; only the build writes the cache and the project (figures, snippets, lock).
An executor implements this small interface (``Executor``):

``run_groups(groups, runner=None)``
    ``groups`` is a list of ``ForwardGroup`` (one model, its forwards, the layers to
    keep). Yields one ``GroupOutcome`` per group, in any order, each holding the kept
    ``(heads, query, key)`` arrays of every forward or a one-line error per forward.
    An executor calls ``izzyfig.executors.work.run_group`` wherever the model should
    load (once per group). ``runner`` is the build's own ``ModelRunner`` (it tokenised
    the inputs, so its tokenizers are loaded): an executor that runs groups in the
    build's process may pass it to ``run_group``; any other ignores it.
``render(jobs)``
    ``jobs`` is an iterable of ``RenderJob`` (consume it lazily: the build makes each
    job's arrays as it is pulled). Yields one ``RenderResult`` per job, **in the order
    of** ``jobs``, holding the file's bytes or a positioned error. An executor calls
    ``izzyfig.executors.work.render_job``.
``close(error=False)``
    Release workers; with ``error`` true (an interrupted build) stop them at once.
``name``
    Short name shown in messages (``local``, ``local -j 2``).

Executors are context managers (``with make_executor(...) as executor:``), which call
``close(error=...)``. The local executors live in ``izzyfig.executors.local`` and import
nothing optional (both run forwards in the build's process, and the pool renders); a new
executor (e.g. Dask, shipping forward groups and renders to workers) is one new module
implementing the same four members, chosen in ``make_executor``: ``izzyfig.executors.dask``
sends forward groups and renders to Dask workers, and is imported only when asked for.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Protocol

from izzyfig.executors.work import ForwardGroup, GroupOutcome, RenderJob, RenderResult


class Executor(Protocol):
    """Runs forwards and renders for a build; never writes the project."""

    name: str

    def run_groups(self, groups: list[ForwardGroup], runner: Any = None) -> Iterator[GroupOutcome]: ...

    def render(self, jobs: Iterable[RenderJob]) -> Iterator[RenderResult]: ...

    def close(self, error: bool = False) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc) -> None: ...


EXECUTORS = ("local", "dask")


def make_executor(jobs: int = 1, kind: str = "local", **options: Any) -> Executor:
    """The executor ``kind`` (``local`` or ``dask``) for ``-j jobs``.

    ``local``: this process for 1 job, a spawn process pool above. ``dask``: see
    ``izzyfig.executors.dask.DaskExecutor``, which takes ``options`` (``scheduler``,
    ``scheduler_file``, ``timeout``) and starts a ``LocalCluster`` of ``jobs`` workers
    when no scheduler is given.
    """
    if kind == "dask":
        from izzyfig.executors.dask import DaskExecutor

        return DaskExecutor(jobs, **options)
    from izzyfig.executors.local import InProcessExecutor, PoolExecutor

    return InProcessExecutor() if jobs <= 1 else PoolExecutor(jobs)


__all__ = ["EXECUTORS", "Executor", "ForwardGroup", "GroupOutcome", "RenderJob", "RenderResult", "make_executor"]
