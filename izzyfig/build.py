"""The build: the only module that knows every phase.

spec (load, validate) -> plan (jobs) -> extract (attention, cached) -> render (bytes)
-> outputs + LaTeX snippets + lock. Figures are rebuilt only when what they are made of,
or one of their files, changed.

The work runs on an executor (``izzyfig.executors``): the build hands it plain jobs and
gets arrays and file bytes back. Only this module writes the project, through a
``Workspace`` that holds the project lock and journals every temporary file.
"""
from __future__ import annotations

import json
import tempfile
from contextlib import contextmanager
import traceback
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from izzyfig import __version__
from izzyfig.errors import BuildError, IzzyfigError, IzzyfigWarning, SpecError, SpecWarning, UsageError
from izzyfig.files import canonical_json, sha256_bytes, sha256_file, sha256_text
from izzyfig.lock import Lock, environment
from izzyfig.progress import Progress
from izzyfig.workspace import Workspace
from izzyfig.spec.outputs import snippet_name

if TYPE_CHECKING:  # the executors import numpy and the extraction layer: not for a warm build
    from izzyfig.executors import Executor, RenderJob, RenderResult

# Bump when a renderer change alters output bytes, so locked figures rebuild.
# 2: one layout engine for every kind (the colour bar is its own axes right of the grid,
#    tick marks where labels skip tokens, page-sized figures).
RENDER_REVISION = 2

__all__ = [
    "BuildReport", "CompiledProject", "Project", "Session", "VerifyReport", "build",
    "compile_project", "describe_plan", "validate", "verify", "write_appendix",
]


@dataclass(frozen=True)
class Project:
    """Where a build reads and writes; paths are relative to the working directory.

    ``wait``: when another izzyfig holds the project lock, wait for it (else fail at once).
    ``executor``: where forwards and renders run, ``local`` (``jobs`` processes) or ``dask``
    (``scheduler`` or ``scheduler_file``, else ``$IZZYFIG_DASK_SCHEDULER``, else a
    ``LocalCluster`` of ``jobs`` workers; ``scheduler_timeout`` seconds to reach it).
    """

    paths: tuple[str, ...]
    out_dir: Path = Path("figures")
    cache_dir: Path = Path(".izzyfig/cache")
    lock_path: Path = Path("izzyfig.lock")
    jobs: int = 1
    quiet: bool = False
    trust_remote_code: bool = False
    strict: bool = False
    wait: bool = True
    executor: str = "local"
    scheduler: str | None = None
    scheduler_file: str | None = None
    scheduler_timeout: float | None = None  # None: the executor's default (10 s)

    def executor_options(self) -> dict[str, Any]:
        """Keyword arguments of ``make_executor`` besides the jobs and the kind."""
        if self.executor == "local":
            return {}
        options = {"scheduler": self.scheduler, "scheduler_file": self.scheduler_file}
        return options if self.scheduler_timeout is None else {**options, "timeout": self.scheduler_timeout}


@dataclass
class BuildReport:
    """What a build did. ``failed`` holds messages, ``failed_ids`` the figures they are about;
    ``orphans`` says what happened to files no figure makes any more; ``sources`` lists
    the array files and model directories the figures are made from (``izzyfig watch``
    watches them)."""

    built: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    failed_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    models_loaded: int = 0
    forwards_run: int = 0
    sources: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def fail(self, figure_id: str | None, message: str) -> None:
        self.failed.append(message)
        if figure_id is not None:
            self.failed_ids.append(figure_id)


# ----------------------------------------------------------------------------- planning
@dataclass(frozen=True)
class CompiledProject:
    """Loaded specs and their plan, with the figure entries by id (in spec order)."""

    specs: list
    plan: Any
    entries: dict[str, Any]


def compile_project(project: Project) -> CompiledProject:
    from izzyfig.plan import plan_build
    from izzyfig.spec import load_specs

    specs = load_specs(project.paths)
    plan = plan_build(specs, cache_dir=project.cache_dir)
    entries = {entry.id: entry for spec in specs for entry in spec.figures}
    return CompiledProject(specs, plan, entries)


def validate(project: Project) -> str:
    """Every check that needs no forward pass: the specs, then the planner's checks.

    The planner reads model configs and array headers (layer and head ranges, missing
    texts or pairs, models that are not installed); nothing imports torch.
    """
    compiled = compile_project(project)
    return f"{len(compiled.specs)} spec file(s), {len(compiled.entries)} figure(s): valid"


def build_key(job: Any, inputs: list[dict]) -> str:
    """Hash of everything a figure's bytes depend on."""
    return sha256_text(
        canonical_json(
            {
                "spec": job.spec_hash,
                "inputs": inputs,
                "renderer": [__version__, RENDER_REVISION, environment()["matplotlib"]],
            }
        )
    )


def select_ids(known: list[str], only: tuple[str, ...]) -> list[str]:
    """``known`` ids restricted to ``only`` (all when empty), in ``known``'s order.

    Raises
    ------
    UsageError
        If ``only`` names an id that no spec makes.
    """
    if not only:
        return list(known)
    unknown = sorted(set(only) - set(known))
    if unknown:
        raise UsageError(f"--only: unknown figure id(s) {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known))})")
    return [figure_id for figure_id in known if figure_id in only]


def select_jobs(compiled: CompiledProject, only: tuple[str, ...]) -> list:
    chosen = set(select_ids([job.figure_id for job in compiled.plan.figures], only))
    return [job for job in compiled.plan.figures if job.figure_id in chosen]


# ----------------------------------------------------------------------------- output files
def snippet_text(project: Project, figure_id: str, entry: dict) -> str:
    from izzyfig.latex import figure_snippet

    # graphicx resolves paths from where the paper is compiled (the project root), not from
    # the \input file, so the snippet names the output as seen from the working directory.
    graphics = _from_root(project.out_dir / entry["output"])
    return figure_snippet(figure_id, entry, graphics_path=graphics)


def _from_root(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _confined(out_dir: Path, output: str) -> Path:
    """Resolve an output path, refusing anything (e.g. a symlink) that leaves ``out_dir``."""
    root = out_dir.resolve()
    path = (out_dir / output).resolve()
    if root != path and root not in path.parents:
        raise BuildError(f"output '{output}' resolves outside the output directory {out_dir}")
    return out_dir / output


def _disk_sha(path: Path) -> str | None:
    """sha256 of a regular file, ``None`` if there is none (missing, a directory, unreadable)."""
    try:
        return sha256_file(path) if path.is_file() else None
    except OSError:
        return None


def is_up_to_date(project: Project, job: Any, lock: Lock) -> bool:
    """The lock entry matches the job, and the figure and its snippet are on disk as locked."""
    entry = lock.figures.get(job.figure_id)
    key = build_key(job, job_inputs(job))
    if not entry or entry.get("build_key") != key or entry.get("output") != job.output:
        return False
    if entry.get("spec") != job.spec_file or entry.get("tex") != snippet_name(job.output):
        return False
    try:
        snippet = snippet_text(project, job.figure_id, entry).encode("utf-8")
    except BuildError:
        return False  # the rebuild reports why
    return (
        entry.get("tex_sha256") == sha256_bytes(snippet)
        and _disk_sha(project.out_dir / job.output) == entry.get("sha256")
        and _disk_sha(project.out_dir / entry["tex"]) == entry["tex_sha256"]
    )


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise BuildError(f"output directory {out_dir} is a file, not a directory; choose another with -o")


def _write_problem(path: Path, error: OSError) -> str:
    """Why ``path`` cannot be written, in words (a file where a directory should be...)."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"cannot write {path}: {parent} is a file, not a directory"
            break
    if path.is_dir():
        return f"cannot write {path}: it is a directory"
    return f"cannot write {path}: {error.strerror or error}"


def _write_lock(workspace: Workspace, lock: Lock) -> None:
    try:
        workspace.write(lock.path, lock.to_bytes())
    except OSError as error:
        raise BuildError(_write_problem(lock.path, error)) from None


# ----------------------------------------------------------------------------- build
def build(project: Project, *, force: bool = False, only: tuple[str, ...] = (),
          keep_orphans: bool = False, session: Session | None = None) -> BuildReport:
    """Build every out-of-date figure; report failures per figure, keep going.

    Holds the project lock throughout (waits for another izzyfig, or fails at once when
    ``project.wait`` is false). Files of the previous lock that no figure makes any
    more are removed if unchanged since they were built, and kept otherwise or with
    ``keep_orphans``; each is reported. A ``session`` (``izzyfig watch``) keeps the
    loaded model and the executor for the next build.
    """
    progress = Progress(quiet=project.quiet)
    try:
        with Workspace.acquire(project.lock_path, wait=project.wait, notify=progress.notice) as workspace:
            report = _build(project, workspace, progress, force=force, only=only,
                            keep_orphans=keep_orphans, session=session)
    finally:
        progress.close()
    _summarise(report, progress)
    return report


def _build(project: Project, workspace: Workspace, progress: Progress, *, force: bool,
           only: tuple[str, ...], keep_orphans: bool, session: Session | None = None) -> BuildReport:
    _check_out_dir(project.out_dir)
    _check_executor(project)
    lock = Lock.read(project.lock_path)
    compiled = compile_project(project)
    previous = owned_files(lock)
    report = BuildReport(sources=plan_sources(compiled.plan))
    todo = []
    for job in select_jobs(compiled, only):
        if not force and is_up_to_date(project, job, lock):
            report.up_to_date.append(job.figure_id)
            _locked_warnings(project, compiled, job, lock, report)
        else:
            todo.append(job)
    if todo:
        from izzyfig.extract import AttentionStore

        with _executor(project, session) as executor:
            store = AttentionStore(project.cache_dir, trust_remote_code=project.trust_remote_code,
                                   progress=progress, run_groups=executor.run_groups,
                                   runner=session.runner(project) if session else None)
            todo = _extract(compiled, store, todo, report)
            _render_all(project, compiled, store, todo, lock, report, progress, executor, workspace)
        lock.executor = project.executor
    if not only:
        _forget_removed(lock, compiled)
    lock.environment = environment()
    _write_lock(workspace, lock)
    report.orphans += clear_orphans(project, previous, owned_files(lock), keep=keep_orphans)
    return report


class Session:
    """What one process keeps between its builds (``izzyfig watch``).

    A model runner that keeps its tokenizers and the last model it loaded (a build alone
    drops each model after its forwards), and the executor with its worker processes.
    Use as a context manager: leaving it closes the executor.
    """

    def __init__(self) -> None:
        self._runner: Any = None
        self._executor: Executor | None = None

    def runner(self, project: Project) -> Any:
        if self._runner is None:
            from izzyfig.extract.runner import ModelRunner

            self._runner = ModelRunner(trust_remote_code=project.trust_remote_code,
                                       models_dir=Path(project.cache_dir) / "models", keep_model=True)
        return self._runner

    @property
    def models_loaded(self) -> int:
        """Models loaded by this session's runner so far."""
        return self._runner.loads if self._runner is not None else 0

    def executor(self, project: Project) -> Executor:
        if self._executor is None:
            from izzyfig.executors import make_executor

            self._executor = new_executor(project)
        return self._executor

    def close(self, error: bool = False) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.close(error=error)
        if self._runner is not None:
            self._runner.release()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, kind, value, trace) -> None:
        self.close(error=kind is not None)


@contextmanager
def _executor(project: Project, session: Session | None) -> Iterator[Executor]:
    """The build's executor: a new one, closed after the build, or the session's."""
    if session is None:
        with new_executor(project) as executor:
            yield executor
        return
    try:
        yield session.executor(project)
    except BaseException:
        session.close(error=True)  # an interrupted or broken executor is not reused
        raise


def new_executor(project: Project) -> Executor:
    """The executor the project asks for (``-j``, ``--executor`` and its options)."""
    from izzyfig.executors import make_executor

    return make_executor(project.jobs, project.executor, **project.executor_options())


def plan_sources(plan: Any) -> list[str]:
    """The array files and model directories (or GGUF files) the plan's figures read."""
    found = {array.path for array in plan.arrays} | {model.ref for model in plan.models}
    return sorted(found)


def _check_executor(project: Project) -> None:
    """A Dask build without Dask installed fails at once, built or not (without importing it)."""
    if project.executor == "dask":
        from izzyfig.executors.dask import require_distributed

        require_distributed()


def _extract(compiled: CompiledProject, store: Any, todo: list, report: BuildReport) -> list:
    """Fill the attention cache for ``todo`` (forwards run on the store's executor); returns
    the jobs that can be rendered.

    A figure that cannot be made (boxes that miss its tokens, a model that does not load)
    fails alone: it is reported with its position and the rest of the build goes on.
    """
    plan = compiled.plan.restricted_to([job.figure_id for job in todo])
    stats = store.prepare(plan, keep_going=True)
    for problem in stats.failed:
        report.fail(None, str(problem))
    report.failed_ids += stats.failed_figures
    report.forwards_run += stats.forwards_run
    report.models_loaded += stats.models_loaded
    return [job for job in todo if job.figure_id not in stats.failed_figures]


def _render_all(project: Project, compiled: CompiledProject, store: Any, todo: list, lock: Lock,
                report: BuildReport, progress: Progress, executor: Executor, workspace: Workspace) -> None:
    """Render ``todo`` on the executor and commit each result as it comes back.

    Each job's arrays are read from ``store`` as the executor asks for the next job.
    """
    progress.phase("render", len(todo))
    store.progress = None  # a damaged cache entry recomputed now must not take over the render bar
    early: dict[str, tuple] = {}  # warnings raised while reading each figure's arrays

    def jobs():
        for job in todo:
            made, early[job.figure_id], error = prepare_render(compiled, store, job)
            if error is None:
                yield made
            else:
                report.fail(job.figure_id, error)
                progress.advance(f"{job.figure_id} FAILED")

    by_id = {job.figure_id: job for job in todo}
    for result in executor.render(jobs()):
        job = by_id[result.figure_id]
        found = tuple(dict.fromkeys(early.pop(job.figure_id, ()) + tuple(result.warnings)))
        _finish(project, compiled, job, replace(result, warnings=found), lock, report, workspace)
        failed = " FAILED" if job.figure_id in report.failed_ids else ""
        progress.advance(f"{job.figure_id}{failed}", result.worker)


def prepare_render(compiled: CompiledProject, store: Any,
                   job: Any) -> tuple[RenderJob | None, tuple, str | None]:
    """The executor's job for ``job`` (its arrays read from the cache), its warnings, or an error."""
    from izzyfig.executors.work import RenderJob, caught_warnings

    entry = compiled.entries[job.figure_id]
    where = f"{entry.position}: figures.{job.figure_id}"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", IzzyfigWarning)
            data = store.figure_data(job)
    except SpecError as error:
        return None, (), str(error)
    except IzzyfigError as error:
        return None, (), f"{where}: {error}"
    except Exception:  # one broken figure must not stop the others
        return None, (), f"{where}: internal error\n{traceback.format_exc(limit=-3).strip()}"
    options = entry.figure.render_options()
    made = RenderJob(job.figure_id, job.kind, data, options, job.output, str(entry.position))
    return made, caught_warnings(caught), None


def _finish(project: Project, compiled: CompiledProject, job: Any, result: RenderResult, lock: Lock,
            report: BuildReport, workspace: Workspace) -> None:
    entry = compiled.entries[job.figure_id]
    found = [str(w) for w in positioned_warnings(entry, result.warnings)]
    error = result.error or (_strict_failure(found) if project.strict else None)
    if error is None:
        error = _commit_output(project, compiled, job, result, lock, workspace)
    if error is None:
        report.built.append(job.figure_id)
        report.warnings += found
    else:
        report.fail(job.figure_id, error)


def positioned_warnings(entry: Any, found) -> list[SpecWarning]:
    """``(key, message)`` pairs of one figure as warnings at the key's spec position."""
    out = []
    for key, message in found:
        key = tuple(key)
        path = f"figures.{entry.id}" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in key)
        out.append(SpecWarning(entry.position_of(*key), path, message))
    return out


def _strict_failure(found: list[str]) -> str | None:
    if not found:
        return None
    return "\n".join(line.replace(": warning: ", ": error: ", 1) + " (--strict)" for line in found)


def _locked_warnings(project: Project, compiled: CompiledProject, job: Any, lock: Lock, report) -> None:
    """An up-to-date figure's warnings, as recorded when it was built."""
    recorded = lock.figures[job.figure_id].get("warnings") or []
    pairs = [(tuple(w.get("key", ())), str(w.get("message", ""))) for w in recorded if isinstance(w, dict)]
    found = [str(w) for w in positioned_warnings(compiled.entries[job.figure_id], pairs)]
    if project.strict and found:
        report.up_to_date.remove(job.figure_id)
        report.fail(job.figure_id, _strict_failure(found))
    else:
        report.warnings += found


def _commit_output(project: Project, compiled: CompiledProject, job: Any, result: RenderResult, lock: Lock,
                   workspace: Workspace) -> str | None:
    """Write the figure and its snippet, keeping the lock truthful at every instant.

    Both files are staged first; if either differs from the disk, the figure's entry
    leaves the lock before the renames and comes back, with both hashes, after them.
    Returns a positioned message if an output cannot be written (the lock then has no
    entry for the figure, so the next build makes it again).

    Raises
    ------
    BuildError
        The lock itself cannot be written.
    """
    where = f"{compiled.entries[job.figure_id].position}: figures.{job.figure_id}"
    try:
        entry = lock_entry(compiled, job, sha256_bytes(result.content))
        if result.warnings:
            entry["warnings"] = [{"key": list(key), "message": message} for key, message in result.warnings]
        snippet = snippet_text(project, job.figure_id, entry).encode("utf-8")
        entry["tex_sha256"] = sha256_bytes(snippet)
        files = [(_confined(project.out_dir, job.output), result.content),
                 (_confined(project.out_dir, entry["tex"]), snippet)]
    except BuildError as error:
        return f"{where}: {error}"
    changed = [(path, data) for path, data in files if _disk_sha(path) != sha256_bytes(data)]
    staged = []
    try:
        for path, data in changed:
            staged.append((workspace.stage(path, data), path))
    except OSError as error:
        for temp, _ in staged:
            workspace.discard(temp)
        return f"{where}: {_write_problem(path, error)}"
    if changed and lock.figures.pop(job.figure_id, None) is not None:
        _write_lock(workspace, lock)
    for temp, path in staged:
        try:
            workspace.commit(temp, path)
        except OSError as error:  # e.g. a directory where the file should be
            for left, _ in staged:
                workspace.discard(left)
            return f"{where}: {_write_problem(path, error)}"
    lock.figures[job.figure_id] = entry
    _write_lock(workspace, lock)
    return None


def _forget_removed(lock: Lock, compiled: CompiledProject) -> None:
    for figure_id in list(lock.figures):
        if figure_id not in compiled.entries:
            del lock.figures[figure_id]


def _summarise(report: BuildReport, progress: Progress) -> None:
    for message in report.orphans:
        progress.notice(message)
    for message in report.warnings + report.failed:
        progress.stream.write(message + "\n")
    warned = f", {len(report.warnings)} warning(s)" if report.warnings else ""
    progress.message(
        f"{len(report.built)} built, {len(report.up_to_date)} up to date, "
        f"{len(report.failed)} failed{warned} ({report.models_loaded} model load(s), "
        f"{report.forwards_run} forward pass(es))"
    )


# ----------------------------------------------------------------------------- orphans
def owned_files(lock: Lock) -> dict[str, str | None]:
    """Every file the lock's figures own (outputs and snippets), with its locked sha256."""
    owned: dict[str, str | None] = {}
    for entry in lock.figures.values():
        owned[entry["output"]] = entry.get("sha256")
        owned[entry.get("tex") or snippet_name(entry["output"])] = entry.get("tex_sha256")
    return owned


def clear_orphans(project: Project, previous: dict[str, str | None], now: dict[str, str | None], *,
                  keep: bool) -> list[str]:
    """Remove the files the previous lock owned and the new one does not, if unchanged.

    Returns one message per orphan still on disk: removed, or kept (changed since it was
    built, or ``keep``). Nothing outside the output directory is touched.
    """
    messages = []
    for name in sorted(set(previous) - set(now)):
        shown = project.out_dir / name
        try:
            path = _confined(project.out_dir, name)
        except BuildError:
            messages.append(f"kept {shown}: it is no longer made, but it lies outside the output directory")
            continue
        digest = _disk_sha(path)
        if digest is None:
            continue
        if keep:
            messages.append(f"kept {shown}: no figure makes it any more (--keep-orphans)")
        elif digest != previous[name]:
            messages.append(f"kept {shown}: no figure makes it any more, but it changed after izzyfig "
                            "wrote it; delete it yourself if it is not needed")
        else:
            try:
                path.unlink()
                messages.append(f"removed {shown}: no figure makes it any more (it was unchanged)")
            except OSError as error:
                messages.append(f"kept {shown}: no figure makes it any more, but it cannot be removed "
                                f"({error.strerror or error})")
    return messages


# ----------------------------------------------------------------------------- lock entries
def job_inputs(job: Any) -> list[dict]:
    """One plain dict per attention selection: what the figure's numbers come from."""
    return [selection.describe() for selection in job.selections]


def changed_parameters(figure: Any) -> dict[str, Any]:
    """Render options that differ from the kind's defaults (for the appendix)."""
    options = figure.render_options()
    defaults = type(figure)(kind=figure.kind, **_required_fields(figure)).render_options()
    return {k: v for k, v in options.items() if v != defaults.get(k)}


def _required_fields(figure: Any) -> dict[str, Any]:
    return {
        name: getattr(figure, name)
        for name, info in type(figure).model_fields.items()
        if info.is_required() and name != "kind"
    }


def lock_entry(compiled: CompiledProject, job: Any, digest: str) -> dict[str, Any]:
    """The lock entry of ``job`` whose output has sha256 ``digest`` (the snippet's hash is added later)."""
    from izzyfig.latex import latex_options

    entry = compiled.entries[job.figure_id]
    inputs = job_inputs(job)
    record = {
        "spec": str(entry.file),
        "kind": job.kind,
        "spec_hash": job.spec_hash,
        "caption": entry.figure.caption,
        "inputs": inputs,
        "parameters": json.loads(canonical_json({**changed_parameters(entry.figure), **job.view()})),
        "cache_key": getattr(job, "cache_key", None),
        "build_key": build_key(job, inputs),
        "output": job.output,
        "sha256": digest,
        "tex": snippet_name(job.output),
        "latex": latex_options(entry.figure),
    }
    if entry.figure.boxes:
        record["boxes"] = [box.model_dump(mode="json", exclude_defaults=True) for box in entry.figure.boxes]
    return record


# ----------------------------------------------------------------------------- other commands
def describe_plan(project: Project) -> str:
    from izzyfig.extract import AttentionStore

    lock = Lock.read(project.lock_path)
    compiled = compile_project(project)
    store = AttentionStore(project.cache_dir)
    lines = [compiled.plan.describe(store)]
    lines.append("figures:")
    todo = []
    for job in compiled.plan.figures:
        state = "up to date" if is_up_to_date(project, job, lock) else "to build"
        todo += [job.figure_id] if state == "to build" else []
        lines.append(f"  {job.figure_id} ({job.kind}) -> {project.out_dir / job.output}: {state}")
    if project.executor == "dask":
        lines.append(_dask_split(project, compiled, store, todo))
    return "\n".join(lines)


def _dask_split(project: Project, compiled: CompiledProject, store: Any, todo: list[str]) -> str:
    """How a Dask build would split the figures to build: forward groups, renders, resources."""
    from izzyfig.executors.dask import SchedulerTarget, describe_split
    from izzyfig.extract.forwards import forward_groups
    from izzyfig.extract.store import needed_layers

    plan = compiled.plan.restricted_to(todo)
    missing = {f: layers for f, layers in needed_layers(plan).items() if not store.is_cached(f)}
    groups = forward_groups(plan.models, missing, project.trust_remote_code)
    target = SchedulerTarget.resolve(project.scheduler, project.scheduler_file, project.jobs)
    return describe_split(target, groups, len(todo))


@dataclass
class VerifyReport:
    """Differences found, one line each; ``figures`` locked, ``differing`` the ids concerned."""

    differences: list[str] = field(default_factory=list)
    figures: int = 0
    differing: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.differences

    def add(self, figure_id: str | None, message: str) -> None:
        self.differences.append(message)
        if figure_id is not None:
            self.differing.add(figure_id)


def verify(project: Project) -> VerifyReport:
    """Compare every locked file with the disk, then rebuild every locked figure elsewhere.

    The rebuild goes to a temporary directory (the project is only read) and its
    figures and snippets are compared with the lock's hashes.
    """
    progress = Progress(quiet=True)
    with Workspace.acquire(project.lock_path, wait=project.wait, notify=progress.notice):
        lock = Lock.read(project.lock_path)
        if not lock.figures:
            raise BuildError(f"{project.lock_path}: no locked figures to verify; run izzyfig build first")
        report = VerifyReport(figures=len(lock.figures))
        for figure_id, message in disk_differences(project, lock):
            report.add(figure_id, message)
        rebuilt, result = _rebuild_elsewhere(project)
        for figure_id, message in _compare_locks(project, lock, rebuilt):
            report.add(figure_id, message)
        for message in result.failed:
            report.add(None, message)
        report.differing |= set(result.failed_ids) & set(lock.figures)
    for line in report.differences:
        print(line)
    same = report.figures - len(report.differing)
    print(f"verify: {same} of {report.figures} locked figure(s) reproduced byte for byte "
          "and match the files on disk")
    return report


def disk_differences(project: Project, lock: Lock) -> list[tuple[str, str]]:
    """``(figure id, message)`` for every locked file whose bytes on disk are not the locked ones."""
    found = []
    for figure_id, entry in sorted(lock.figures.items()):
        for name, locked in ((entry["output"], entry["sha256"]),
                             (entry.get("tex") or snippet_name(entry["output"]), entry.get("tex_sha256"))):
            digest = _disk_sha(project.out_dir / name)
            shown = project.out_dir / name
            if digest is None:
                found.append((figure_id, f"{shown}: missing (figure {figure_id})"))
            elif locked is None:
                found.append((figure_id, f"{shown}: its sha256 is not in the lock; build again to record it"))
            elif digest != locked:
                found.append((figure_id, f"{shown}: differs from the lock (locked {locked[:12]}, "
                                         f"on disk {digest[:12]})"))
    return found


def _rebuild_elsewhere(project: Project) -> tuple[Lock, BuildReport]:
    with tempfile.TemporaryDirectory(prefix="izzyfig-verify-") as tmp:
        scratch = replace(project, out_dir=Path(tmp) / "out", lock_path=Path(tmp) / "izzyfig.lock",
                          quiet=True)
        with Workspace.acquire(scratch.lock_path) as workspace:
            result = _build(scratch, workspace, Progress(quiet=True), force=True, only=(), keep_orphans=True)
        return Lock.read(scratch.lock_path), result


def _compare_locks(project: Project, locked: Lock, rebuilt: Lock) -> list[tuple[str, str]]:
    differences = []
    for figure_id, old in sorted(locked.figures.items()):
        new = rebuilt.figures.get(figure_id)
        if new is None:
            differences.append((figure_id, f"{figure_id}: no longer built by the specs"))
        elif new["sha256"] != old["sha256"]:
            differences.append((figure_id, f"{figure_id}: {_why_different(old, new)}"))
        else:
            snippet = sha256_bytes(snippet_text(project, figure_id, new).encode("utf-8"))
            locked = str(old.get("tex_sha256"))
            if snippet != locked:
                differences.append((figure_id, f"{figure_id}: the LaTeX snippet differs "
                                                f"(locked {locked[:12]}, now {snippet[:12]})"))
    return differences


def _why_different(old: dict, new: dict) -> str:
    if old.get("spec_hash") != new.get("spec_hash"):
        return "spec changed since it was locked"
    if old.get("inputs") != new.get("inputs"):
        return "inputs changed (model, text or array)"
    return f"renderer output differs (locked {old['sha256'][:12]}, now {new['sha256'][:12]})"


def write_appendix(project: Project, tex_path: Path | None = None, only: tuple[str, ...] = ()) -> Path:
    """Write the reproducibility appendix of the locked figures, in spec order.

    Raises
    ------
    BuildError
        A chosen figure is not in the lock, or its spec changed since it was built.
    UsageError
        ``only`` names an id that no spec makes.
    """
    from izzyfig.latex import appendix
    from izzyfig.spec import load_specs

    progress = Progress(quiet=True)
    with Workspace.acquire(project.lock_path, wait=project.wait, notify=progress.notice) as workspace:
        lock = Lock.read(project.lock_path)
        entries = {entry.id: entry for spec in load_specs(project.paths) for entry in spec.figures}
        ids = select_ids(list(entries), only)
        stale = [_not_current(entries[figure_id], lock) for figure_id in ids]
        if any(stale):
            raise BuildError("\n".join(problem for problem in stale if problem))
        path = tex_path or project.out_dir / "appendix.tex"
        try:
            workspace.write(path, appendix(lock.to_dict(), order=ids).encode("utf-8"))
        except OSError as error:
            raise BuildError(_write_problem(path, error)) from None
    return path


def _not_current(entry: Any, lock: Lock) -> str | None:
    """Why the lock cannot describe figure ``entry`` (not built, or built from another spec)."""
    locked = lock.figures.get(entry.id)
    where = f"{entry.position}: figures.{entry.id}"
    if locked is None:
        return f"{where}: not in {lock.path}; build it first (izzyfig build), or leave it out with --only"
    if locked.get("spec_hash") != sha256_text(canonical_json(entry.figure.model_dump(mode="json"))):
        return f"{where}: the spec changed since the figure was built; build it first (izzyfig build)"
    return None
