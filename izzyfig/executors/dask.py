"""The Dask executor: forward groups and renders run on Dask workers; the build writes.

``izzyfig build --executor dask`` connects to a scheduler (``--scheduler ADDRESS``,
``--scheduler-file PATH``, or ``$IZZYFIG_DASK_SCHEDULER``), or starts a ``LocalCluster``
of ``-j`` worker processes on 127.0.0.1. Then:

- each ``ForwardGroup`` (one model and its forwards) is one task, so a worker loads a
  model once per group; a group on ``cuda`` asks for the worker resource ``GPU: 1``;
- a worker returns only the kept ``(heads, query, key)`` maps; the build stores them in
  its cache exactly as after a local forward (same code, same checks);
- each render is a task, at most two per worker in flight, and returns the file's bytes;
- a task that raises is retried (``RETRIES``); a task whose worker died is run again
  elsewhere by the scheduler (``distributed.scheduler.allowed-failures``, 3 by default),
  and past that comes back as the failure of its figures, with their positions.

Workers must see model directories at the same paths (one machine, or a shared
filesystem) and run the versions of izzyfig, NumPy, matplotlib, torch and transformers
that the build records in its cache keys and lock: a task on a worker with others fails
its figures with one line saying which. Dask is imported here only, and this module only when
``--executor dask`` is asked for.
"""
from __future__ import annotations

import functools
import importlib.util
import logging
import os
import uuid
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Iterator

from izzyfig.errors import BuildError, UsageError
from izzyfig.executors.work import ForwardGroup, GroupOutcome, RenderJob, RenderResult, render_job, run_group
from izzyfig.extract.forwards import ForwardOutcome

SCHEDULER_ENV = "IZZYFIG_DASK_SCHEDULER"
DEFAULT_TIMEOUT = 10.0  # seconds to reach a scheduler (--scheduler-timeout)
RETRIES = 2
RENDERS_PER_WORKER = 2  # renders in flight per worker: the client holds their arrays
INSTALL_HINT = "pip install 'izzyfig[dask]'"


def require_distributed() -> None:
    """Fail with one line, without importing it, when Dask distributed is not installed."""
    try:
        found = importlib.util.find_spec("distributed") is not None
    except (ImportError, ValueError):  # a broken or stubbed-out module
        found = False
    if not found:
        raise BuildError(f"--executor dask needs Dask distributed, which is not installed: {INSTALL_HINT}")


def _distributed():
    require_distributed()
    try:
        import distributed
    except ImportError as error:
        raise BuildError(f"--executor dask: cannot import Dask distributed ({error}): {INSTALL_HINT}") from None
    return distributed


@dataclass(frozen=True)
class SchedulerTarget:
    """Where the work goes: a scheduler address, a scheduler file, or (neither) a LocalCluster."""

    address: str | None = None
    scheduler_file: str | None = None
    workers: int = 1

    @classmethod
    def resolve(cls, scheduler: str | None, scheduler_file: str | Path | None, workers: int) -> SchedulerTarget:
        """``--scheduler``, else ``--scheduler-file``, else ``$IZZYFIG_DASK_SCHEDULER``, else local."""
        if scheduler and scheduler_file:
            raise UsageError("give --scheduler or --scheduler-file, not both")
        if scheduler_file:
            return cls(scheduler_file=str(scheduler_file), workers=workers)
        return cls(address=scheduler or os.environ.get(SCHEDULER_ENV) or None, workers=workers)

    @property
    def local(self) -> bool:
        return self.address is None and self.scheduler_file is None

    def describe(self) -> str:
        if self.address:
            return f"the Dask scheduler at {self.address}"
        if self.scheduler_file:
            return f"the Dask scheduler of {self.scheduler_file}"
        plural = "es" if self.workers > 1 else ""
        return f"a LocalCluster of {self.workers} worker process{plural} on 127.0.0.1"


class DaskExecutor:
    """Runs forward groups and renders as Dask tasks; never writes the project.

    Parameters
    ----------
    jobs
        Workers of the ``LocalCluster`` started when no scheduler is given.
    scheduler, scheduler_file
        The scheduler to connect to (else ``$IZZYFIG_DASK_SCHEDULER``, else local).
    timeout
        Seconds to wait for the scheduler before failing with one line.
    """

    def __init__(self, jobs: int = 1, *, scheduler: str | None = None, scheduler_file: str | Path | None = None,
                 timeout: float = DEFAULT_TIMEOUT):
        self.target = SchedulerTarget.resolve(scheduler, scheduler_file, jobs)
        self.timeout = timeout
        self.name = f"dask ({self.target.describe()})"
        self._cluster = None
        self._client = None
        self._pending: list = []
        self._versions = build_versions()
        self._connect()

    def _connect(self) -> None:
        distributed = _distributed()
        target = self.target
        if target.scheduler_file and not Path(target.scheduler_file).is_file():
            raise BuildError(f"--scheduler-file {target.scheduler_file}: no such file (the scheduler writes it "
                             "when it starts: dask scheduler --scheduler-file PATH)")
        try:
            if target.local:
                self._cluster = distributed.LocalCluster(
                    n_workers=target.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=None, silence_logs=logging.ERROR,
                )
                self._client = distributed.Client(self._cluster, timeout=self.timeout, set_as_default=False)
            else:
                self._client = distributed.Client(target.address, scheduler_file=target.scheduler_file,
                                                  timeout=self.timeout, set_as_default=False)
        except Exception as error:  # OSError on a timeout; ValueError on a malformed address
            self.close(error=True)
            raise BuildError(f"cannot reach {target.describe()} within {self.timeout:g} s "
                             f"(--scheduler-timeout): {_first_line(error)}") from None

    # -- forwards --------------------------------------------------------------------------
    def run_groups(self, groups: list[ForwardGroup], runner: Any = None) -> Iterator[GroupOutcome]:
        """One task per group, results as they finish; ``runner`` (this process's) is not used."""
        distributed = _distributed()
        submitted = {}
        for index, group in enumerate(groups):
            resources = self._resources(group)
            if resources and not self._offered(resources):
                yield failed_group(group, f"model '{group.model.label()}' on device '{group.model.device}': "
                                          "no Dask worker offers the resource GPU (start GPU workers with "
                                          "`dask worker ADDRESS --resources GPU=1`)")
                continue
            future = self._client.submit(run_group_on_worker, portable(group), self._versions,
                                         key=_key("forwards", index),
                                         resources=resources, retries=RETRIES, pure=False)
            submitted[future] = group
        self._pending = list(submitted)
        for future in distributed.as_completed(list(submitted), loop=self._client.loop):
            group = submitted.pop(future)
            try:
                outcome = future.result()
            except Exception as error:  # the worker died each time, the scheduler went away...
                outcome = failed_group(group, task_failure(error, f"the forwards of model '{group.model.label()}'"))
            future.release()
            yield outcome
        self._pending = []

    def _resources(self, group: ForwardGroup) -> dict[str, int] | None:
        """``GPU: 1`` for a group on CUDA (a LocalCluster is one machine: any worker may run it)."""
        if group.model.device.startswith("cuda") and not self.target.local:
            return {"GPU": 1}
        return None

    def _offered(self, resources: dict[str, int]) -> bool:
        workers = self._client.scheduler_info(n_workers=-1)["workers"].values()
        return any(all(w.get("resources", {}).get(name, 0) >= need for name, need in resources.items())
                   for w in workers)

    # -- renders ---------------------------------------------------------------------------
    def render(self, jobs: Iterable[RenderJob]) -> Iterator[RenderResult]:
        """Render tasks in the order of ``jobs``, a few per worker ahead."""
        window = RENDERS_PER_WORKER * max(1, self._worker_count())
        pending: deque = deque()
        for index, job in enumerate(jobs):
            future = self._client.submit(render_on_worker, job, self._versions, key=_key("render", index),
                                         retries=RETRIES, pure=False)
            pending.append((job, future))
            self._pending = [f for _, f in pending]
            if len(pending) >= window:
                yield _render_result(*pending.popleft())
        while pending:
            yield _render_result(*pending.popleft())
        self._pending = []

    def _worker_count(self) -> int:
        return len(self._client.scheduler_info(n_workers=-1)["workers"])

    # -- lifetime --------------------------------------------------------------------------
    def close(self, error: bool = False) -> None:
        """Cancel this build's tasks after an error, then leave the scheduler (stop a LocalCluster)."""
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        pending, self._pending = self._pending, []
        if client is not None:
            if error and pending:
                _quietly(client.cancel, pending, force=True)
            _quietly(client.close, timeout=self.timeout)
        if cluster is not None:
            _quietly(cluster.close, timeout=self.timeout)

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, kind, value, trace) -> None:
        self.close(error=kind is not None)


# ----------------------------------------------------------------------------- on the workers
def run_group_on_worker(group: ForwardGroup, versions: dict[str, str]) -> GroupOutcome:
    """``run_group`` with a fresh runner, saying which worker ran it (also in its errors)."""
    worker = worker_address()
    problem = version_problem(versions, worker)
    if problem:
        return replace(failed_group(group, problem), worker=worker)
    outcome = run_group(group)
    outcomes = tuple(replace(o, error=f"{o.error} (on Dask worker {worker})") if o.error else o
                     for o in outcome.outcomes)
    return replace(outcome, outcomes=outcomes, worker=worker)


def render_on_worker(job: RenderJob, versions: dict[str, str]) -> RenderResult:
    """``render_job``, saying which worker drew it."""
    worker = worker_address()
    problem = version_problem(versions, worker)
    if problem:
        return RenderResult(job.figure_id, f"{job.label}: figures.{job.figure_id}: {problem}", worker=worker)
    return replace(render_job(job), worker=worker)


def build_versions() -> dict[str, str]:
    """The versions that make a build's numbers and bytes (the lock's environment, Python aside)."""
    from izzyfig.lock import environment

    return {name: version for name, version in environment().items() if name != "python"}


@functools.lru_cache(maxsize=1)
def _versions_here() -> tuple[tuple[str, str], ...]:
    return tuple(sorted(build_versions().items()))


def version_problem(expected: dict[str, str], worker: str) -> str | None:
    """Why this worker must not run a build made with ``expected`` versions, or ``None``."""
    here = dict(_versions_here())
    differ = [f"{name} {here.get(name, 'not installed')} (the build has {version})"
              for name, version in sorted(expected.items()) if here.get(name) != version]
    if not differ:
        return None
    return f"Dask worker {worker or 'here'} runs {', '.join(differ)}; workers need the build's versions"


def worker_address() -> str:
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:  # not in a worker (a test calling it directly)
        return ""


# ----------------------------------------------------------------------------- helpers
def portable(group: ForwardGroup) -> ForwardGroup:
    """``group`` with its GGUF conversion directory absolute: a worker has its own working directory."""
    if group.models_dir is None:
        return group
    return replace(group, models_dir=str(Path(group.models_dir).resolve()))


def failed_group(group: ForwardGroup, message: str) -> GroupOutcome:
    return GroupOutcome(tuple(ForwardOutcome(f.key, error=message) for f in group.forwards), 0, 0)


def _render_result(job: RenderJob, future) -> RenderResult:
    try:
        result = future.result()
    except Exception as error:
        result = RenderResult(job.figure_id, f"{job.label}: figures.{job.figure_id}: "
                                             f"{task_failure(error, 'its render')}")
    future.release()
    return result


def task_failure(error: BaseException, what: str) -> str:
    """One line on why a task came back without a result."""
    name = type(error).__name__
    if name == "KilledWorker":
        return f"{what} stopped: each Dask worker that ran it died (killed, or out of memory?)"
    if name in ("CancelledError", "FutureCancelledError"):
        return f"{what} was cancelled (did the Dask scheduler stop?)"
    return f"{what} failed on a Dask worker: {name}: {_first_line(error)}"


def _quietly(call, *args, **kwargs) -> None:
    """Call ``call``; an error while closing must not hide the build's own."""
    try:
        call(*args, **kwargs)
    except Exception:
        pass


def _key(kind: str, index: int) -> str:
    return f"izzyfig-{kind}-{index}-{uuid.uuid4().hex[:12]}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


# ----------------------------------------------------------------------------- plan
def describe_split(target: SchedulerTarget, groups: list[ForwardGroup], renders: int) -> str:
    """How ``izzyfig build --executor dask`` would split the work (no connection made)."""
    lines = [f"dask: on {target.describe()}"]
    lines.append(f"  forward tasks ({len(groups)}, one per model; each loads its model once):")
    for group in groups:
        maps = sum(len(layers) for layers in group.layers)
        needs = ", resources GPU=1" if group.model.device.startswith("cuda") and not target.local else ""
        device = f" on {group.model.device}" if group.model.device != "cpu" else ""
        lines.append(f"    {group.model.label()}{device}: {len(group.forwards)} forward(s), "
                     f"{maps} map(s) of (heads, query, key) sent back{needs}")
    lines.append(f"  render tasks ({renders}, one per figure to build; {RENDERS_PER_WORKER} per worker "
                 "in flight, each returns the file's bytes)")
    lines.append(f"  retries: {RETRIES} per task that raises; a task whose worker dies runs again on another")
    return "\n".join(lines)
