"""``izzyfig watch``: rebuild what went stale each time a spec or an input of the build changes.

The loop is ``build`` run again and again in one process (a ``Session``): the build
decides what is stale by content hash, the attention cache stays warm, and the model
the last forwards needed stays loaded, so a render-only edit (``top_n``, a caption)
loads no model and runs no forward. The project lock is held only while a rebuild
runs, so ``izzyfig build`` or ``verify`` may run in between. Every file is written
atomically by the build (a temporary file renamed over the target), so a LaTeX
previewer never reads half a PDF.

What is watched (``WatchedPaths``): the spec files and directories given, the array
files and model directories the last good build read, and izzyfig's LaTeX templates.
Files the build writes (outputs, the cache, the lock) are ignored. Change sets come
from ``watchfiles`` (``izzyfig[watch]``), which groups a burst of saves, in a thread; the
loop itself takes any source of change sets, so tests drive it without a file watcher.
"""
from __future__ import annotations

import os
import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from izzyfig.build import BuildReport, Project, Session, build
from izzyfig.errors import BuildError, IzzyfigError, UsageError
from izzyfig.spec.loader import SPEC_SUFFIXES
from izzyfig.workspace import TEMP_PREFIX, run_file

DEFAULT_DEBOUNCE_MS = 100
MAX_GROUPING_MS = 1_600  # a stream of saves is rebuilt at least this often
READY_MS = 100  # the watcher thread says it is watching within this time
TEMPLATES = Path(__file__).parent / "templates"
EXTRA = "izzyfig watch needs watchfiles, in the extra izzyfig[watch]: pip install 'izzyfig[watch]'"


@dataclass(frozen=True)
class WatchedPaths:
    """The files whose changes make a rebuild, all as absolute paths.

    ``specs``: the spec files and directories given on the command line; ``arrays``:
    array files, ``models``: model directories (or GGUF files) read by the last good
    build; ``ignored``: what the build writes (output and cache directories, the lock).
    """

    specs: frozenset[Path]
    arrays: frozenset[Path] = frozenset()
    models: frozenset[Path] = frozenset()
    ignored: frozenset[Path] = frozenset()

    @classmethod
    def of(cls, project: Project, sources: Iterable[str] = ()) -> WatchedPaths:
        sources = [absolute(source) for source in sources]
        lock = absolute(project.lock_path)
        return cls(
            specs=frozenset(absolute(path) for path in project.paths),
            arrays=frozenset(path for path in sources if not is_model(path)),
            models=frozenset(path for path in sources if is_model(path)),
            ignored=frozenset({absolute(project.out_dir), absolute(project.cache_dir), lock,
                               absolute(run_file(lock))}),
        )

    def roots(self) -> list[Path]:
        """Existing directories to watch recursively, none inside another.

        A file is watched through its directory: an editor that saves by renaming a new
        file over the old one would leave a watch on the file itself looking at nothing.
        """
        wanted = {path if path.is_dir() else path.parent for path in self.specs | self.arrays | self.models}
        wanted = {path for path in wanted | {TEMPLATES} if path.is_dir()}
        return sorted(path for path in wanted if not any(other in path.parents for other in wanted))

    def kind(self, path: Path) -> str | None:
        """``spec``, ``array``, ``model`` or ``template`` for a path that makes a rebuild, else None."""
        path = absolute(path)
        if path.name.startswith(TEMP_PREFIX) or any(path == i or i in path.parents for i in self.ignored):
            return None
        if path in self.specs or (path.suffix in SPEC_SUFFIXES and any(
                spec in path.parents and not _hidden(path, spec) for spec in self.specs)):
            return "spec"
        if path in self.arrays:
            return "array"
        if any(path == model or model in path.parents for model in self.models):
            return "model"
        if TEMPLATES in path.parents:
            return "template"
        return None


def absolute(path: str | Path) -> Path:
    return Path(os.path.abspath(path))


def is_model(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() == ".gguf"


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


class Watcher:
    """Runs the builds of ``izzyfig watch``: the first one, then one per relevant change set.

    ``say`` prints one line (stderr by default). ``reports`` keeps each build's report,
    or ``None`` for a build stopped by an error (a spec error, the lock in use), and
    ``seconds`` how long each took.
    """

    def __init__(self, project: Project, session: Session, *, only: tuple[str, ...] = (),
                 keep_orphans: bool = False, say: Callable[[str], None] | None = None):
        self.project = project
        self.session = session
        self.only = only
        self.keep_orphans = keep_orphans
        self.say = say or _say
        self.watched = WatchedPaths.of(project)
        self.reports: list[BuildReport | None] = []
        self.seconds: list[float] = []

    def relevant(self, changed: Iterable[str | Path]) -> list[tuple[Path, str]]:
        """The changed paths that make a rebuild, with their kind, sorted."""
        found = {(absolute(path), kind) for path in changed if (kind := self.watched.kind(Path(path)))}
        return sorted(found)

    def changed(self, paths: Iterable[str | Path]) -> BuildReport | None:
        """Rebuild after ``paths`` changed, if any of them matters; returns the report."""
        relevant = self.relevant(paths)
        if not relevant:
            return None
        for path, kind in relevant:
            self.say(f"changed: {shown(path)} ({kind})")
        return self.rebuild()

    def rebuild(self) -> BuildReport | None:
        """One build; an error that stops it (a spec error) is printed, not raised."""
        start = time.perf_counter()
        try:
            report = build(self.project, only=self.only, keep_orphans=self.keep_orphans, session=self.session)
        except UsageError as error:
            self.say(f"izzyfig watch: error: {error}")
            report = None
        except IzzyfigError as error:
            self.say(str(error))
            report = None
        if report is not None:
            self.watched = WatchedPaths.of(self.project, report.sources)
        self.seconds.append(time.perf_counter() - start)
        self.reports.append(report)
        self.say(self._outcome(report, self.seconds[-1]))
        return report

    @staticmethod
    def _outcome(report: BuildReport | None, seconds: float) -> str:
        if report is None:
            return "not rebuilt: fix the error above and save again; watching (Ctrl-C stops)"
        built = ", ".join(report.built) or "nothing"
        failed = f"; {len(report.failed_ids)} failed: {', '.join(report.failed_ids)}" if report.failed_ids else ""
        return f"rebuilt {built} in {seconds:.2f} s{failed}; watching (Ctrl-C stops)"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class FileChanges:
    """Change sets from ``watchfiles``, watched in a thread from before the first build on,
    so that a save made while a build runs is seen when it ends.

    A burst of saves is one set, yielded once no file has changed for ``debounce_ms`` (or
    after ``MAX_GROUPING_MS`` of steady changes). ``watch(watched)`` (re)starts the watcher
    when the directories to watch differ; ``next(timeout)`` returns every path changed
    since the last call (``None`` after ``timeout`` seconds without changes).

    Raises
    ------
    BuildError
        watchfiles is not installed (the message names the extra).
    """

    def __init__(self, debounce_ms: int = DEFAULT_DEBOUNCE_MS):
        try:
            import watchfiles
        except ImportError:
            raise BuildError(EXTRA) from None
        self._watchfiles = watchfiles
        self.debounce_ms = debounce_ms
        self._queue: queue.Queue[set[str]] = queue.Queue()
        self._roots: list[Path] | None = None
        self._stop: threading.Event | None = None

    def watch(self, watched: WatchedPaths) -> None:
        roots = watched.roots()
        if roots == self._roots:
            return
        previous = self._stop
        self._roots, self._stop = roots, threading.Event()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(watched, roots, self._stop, ready),
                         name="izzyfig-watch", daemon=True).start()
        ready.wait(5)
        if previous is not None:  # stopped once the new watcher runs: no gap between them
            previous.set()

    def _run(self, watched: WatchedPaths, roots: list[Path], stop: threading.Event,
             ready: threading.Event) -> None:
        changes = self._watchfiles.watch(
            *roots, watch_filter=lambda change, path: watched.kind(Path(path)) is not None,
            debounce=max(MAX_GROUPING_MS, self.debounce_ms), step=self.debounce_ms, stop_event=stop,
            yield_on_timeout=True, rust_timeout=READY_MS,
        )
        try:
            for batch in changes:  # the first (empty) batch comes once the watcher is set up
                ready.set()
                if batch:
                    self._queue.put({path for _, path in batch})
        except OSError as error:  # a watched directory vanished while it was being set up
            _say(f"izzyfig watch: cannot watch {', '.join(map(shown, roots))}: {error}")
        finally:
            ready.set()

    def next(self, timeout: float | None = None) -> set[str] | None:
        try:
            paths = set(self._queue.get(timeout=timeout))
        except queue.Empty:
            return None
        while not self._queue.empty():
            paths |= self._queue.get_nowait()
        return paths

    def close(self) -> None:
        if self._stop is not None:
            self._stop.set()


def run(watcher: Watcher, changes, stop: threading.Event | None = None, poll: float = 0.2) -> None:
    """Build once, then once per change set of ``changes`` until ``stop`` is set.

    ``changes`` has ``watch(watched)``, called before each wait with what the last
    build read, and ``next(timeout)``, which returns the changed paths or ``None``
    (``FileChanges``, or a list of sets in tests). Ctrl-C while waiting raises
    ``Stopped``; during a build it interrupts the build (``KeyboardInterrupt``).
    """
    stop = stop or threading.Event()
    changes.watch(watcher.watched)
    watcher.rebuild()
    while not stop.is_set():
        changes.watch(watcher.watched)
        try:
            paths = changes.next(poll)
        except KeyboardInterrupt:
            raise Stopped() from None
        if paths:
            watcher.changed(paths)


class Stopped(Exception):
    """Ctrl-C while waiting for changes: the watch ends normally."""


def watch(project: Project, *, only: tuple[str, ...] = (), keep_orphans: bool = False,
          debounce_ms: int = DEFAULT_DEBOUNCE_MS, stop: threading.Event | None = None) -> int:
    """``izzyfig watch``: build, then rebuild on every change until Ctrl-C (exit 0).

    Ctrl-C during a rebuild interrupts it like a build (the cli exits 130; nothing
    half-written is left).
    """
    changes = FileChanges(debounce_ms)
    try:
        with Session() as session:
            watcher = Watcher(project, session, only=only, keep_orphans=keep_orphans)
            run(watcher, changes, stop)
    except Stopped:
        pass
    finally:
        changes.close()
    _say("stopped watching")
    return 0
