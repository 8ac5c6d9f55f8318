"""The build: the only module that knows every phase.

spec (load, validate) -> plan (jobs) -> extract (attention, cached) -> render (PDF)
-> lock + LaTeX. Figures are rebuilt only when what they are made of changed.
"""
from __future__ import annotations

import json
import os
import tempfile
import traceback
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from izzyfig import __version__
from izzyfig.errors import BuildError, IzzyfigError, IzzyfigWarning, SpecError, SpecWarning
from izzyfig.files import canonical_json, sha256_file, sha256_text, write_atomic
from izzyfig.lock import Lock, environment
from izzyfig.progress import Progress

# Bump when a renderer change alters output bytes, so locked figures rebuild.
# 2: one layout engine for every kind (the colour bar is its own axes right of the grid,
#    tick marks where labels skip tokens, page-sized figures).
RENDER_REVISION = 2


@dataclass(frozen=True)
class Project:
    """Where a build reads and writes; paths are relative to the working directory."""

    paths: tuple[str, ...]
    out_dir: Path = Path("figures")
    cache_dir: Path = Path(".izzyfig/cache")
    lock_path: Path = Path("izzyfig.lock")
    jobs: int = 1
    quiet: bool = False
    trust_remote_code: bool = False
    strict: bool = False


@dataclass
class BuildReport:
    built: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    models_loaded: int = 0
    forwards_run: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class RenderTask:
    """Everything a render process needs; plain picklable data."""

    job: Any
    figure: Any
    label: str
    cache_dir: Path
    out_path: Path
    temp_path: Path
    trust_remote_code: bool


@dataclass(frozen=True)
class RenderResult:
    """``warnings`` holds ``(key, message)`` pairs: the spec key blamed, and why."""

    figure_id: str
    error: str | None = None
    warnings: tuple[tuple[tuple, str], ...] = ()


# ----------------------------------------------------------------------------- planning
@dataclass(frozen=True)
class CompiledProject:
    """Loaded specs and their plan, with the figure entries by id."""

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


def is_up_to_date(job: Any, key: str, lock: Lock, out_dir: Path) -> bool:
    entry = lock.figures.get(job.figure_id)
    if not entry or entry.get("build_key") != key or entry.get("output") != job.output:
        return False
    path = out_dir / job.output
    return path.is_file() and sha256_file(path) == entry.get("sha256")


def select_jobs(compiled: CompiledProject, only: tuple[str, ...]) -> list:
    jobs = list(compiled.plan.figures)
    if not only:
        return jobs
    known = {job.figure_id for job in jobs}
    unknown = sorted(set(only) - known)
    if unknown:
        raise BuildError(
            f"--only: unknown figure id(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return [job for job in jobs if job.figure_id in only]


# ----------------------------------------------------------------------------- build
def build(project: Project, *, force: bool = False, only: tuple[str, ...] = ()) -> BuildReport:
    """Build every out-of-date figure; report failures per figure, keep going."""
    progress = Progress(quiet=project.quiet)
    compiled = compile_project(project)
    lock = Lock.read(project.lock_path)
    report = BuildReport()
    todo = []
    for job in select_jobs(compiled, only):
        key = build_key(job, job_inputs(job))
        if not force and is_up_to_date(job, key, lock, project.out_dir):
            report.up_to_date.append(job.figure_id)
            _locked_warnings(project, compiled, job, lock, report)
        else:
            todo.append(job)
    if todo:
        todo = _extract(project, compiled, todo, report, progress)
        _render_all(project, compiled, todo, lock, report, progress)
    if not only:
        _forget_removed(lock, compiled)
    lock.environment = environment()
    lock.write()
    _summarise(report, progress)
    return report


def _extract(project: Project, compiled: CompiledProject, todo: list, report, progress) -> list:
    """Fill the attention cache for ``todo``; returns the jobs that can be rendered.

    A figure that cannot be made (boxes that miss its tokens, a model that does not load)
    fails alone: it is reported with its position and the rest of the build goes on.
    """
    from izzyfig.extract import AttentionStore

    store = AttentionStore(
        project.cache_dir, trust_remote_code=project.trust_remote_code, progress=progress
    )
    plan = compiled.plan.restricted_to([job.figure_id for job in todo])
    stats = store.prepare(plan, keep_going=True)
    report.failed += [str(problem) for problem in stats.failed]
    report.forwards_run += stats.forwards_run
    report.models_loaded += stats.models_loaded
    return [job for job in todo if job.figure_id not in stats.failed_figures]


def _remove_leftovers(out_dir: Path) -> None:
    """Delete temporary files that a killed build left behind (they are never outputs)."""
    if out_dir.is_dir():
        for pattern in (".*.part.*", ".*.tmp"):
            for path in out_dir.rglob(pattern):
                path.unlink(missing_ok=True)


def _render_all(project, compiled, todo, lock, report, progress) -> None:
    _remove_leftovers(project.out_dir)
    tasks = [_render_task(project, compiled, job) for job in todo]
    progress.phase("render", len(tasks))
    by_id = {job.figure_id: job for job in todo}
    for result in _run_tasks(tasks, project.jobs):
        task = next(t for t in tasks if t.job.figure_id == result.figure_id)
        entry = compiled.entries[result.figure_id]
        found = [str(w) for w in positioned_warnings(entry, result.warnings)]
        error = result.error or (_strict_failure(found) if project.strict else None)
        if error is None:
            _commit_output(project, compiled, by_id[result.figure_id], task, lock, result.warnings)
            report.built.append(result.figure_id)
            report.warnings += found
        else:
            task.temp_path.unlink(missing_ok=True)
            report.failed.append(error)
        progress.advance(result.figure_id if error is None else f"{result.figure_id} FAILED")


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
        report.failed.append(_strict_failure(found))
    else:
        report.warnings += found


def _render_task(project: Project, compiled: CompiledProject, job: Any) -> RenderTask:
    entry = compiled.entries[job.figure_id]
    out_path = _confined(project.out_dir, job.output)
    temp = out_path.with_name(f".{out_path.name}.{os.getpid()}.part{out_path.suffix}")
    return RenderTask(
        job, entry.figure, str(entry.position), project.cache_dir, out_path, temp,
        project.trust_remote_code,
    )


def _confined(out_dir: Path, output: str) -> Path:
    """Resolve an output path, refusing anything (e.g. a symlink) that leaves ``out_dir``."""
    root = out_dir.resolve()
    path = (out_dir / output).resolve()
    if root != path and root not in path.parents:
        raise BuildError(f"output '{output}' resolves outside the output directory {out_dir}")
    return out_dir / output


def _run_tasks(tasks: list[RenderTask], jobs: int):
    if jobs <= 1 or len(tasks) <= 1:
        yield from map(render_task, tasks)
        return
    # spawn: a forked child would inherit torch's threads and locks from extraction.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        yield from pool.map(render_task, tasks)


def render_task(task: RenderTask) -> RenderResult:
    """Render one figure into ``task.temp_path``; never raises."""
    figure_id = task.job.figure_id
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", IzzyfigWarning)
            render_figure(task)
    except SpecError as error:
        return RenderResult(figure_id, str(error))
    except IzzyfigError as error:
        return RenderResult(figure_id, f"{task.label}: figures.{figure_id}: {error}")
    except Exception:  # one broken figure must not stop the others
        detail = traceback.format_exc(limit=-3).strip()
        return RenderResult(figure_id, f"{task.label}: figures.{figure_id}: internal error\n{detail}")
    found = [(w.message.key, w.message.text) for w in caught if isinstance(w.message, IzzyfigWarning)]
    return RenderResult(figure_id, warnings=tuple(dict.fromkeys(found)))


def render_figure(task: RenderTask) -> None:
    from izzyfig.extract import AttentionStore
    from izzyfig.render import save_figure

    store = AttentionStore(task.cache_dir, trust_remote_code=task.trust_remote_code)
    data = store.figure_data(task.job)
    figure = draw(task.job.kind, data, task.figure.render_options())
    task.temp_path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(figure, task.temp_path)


def draw(kind: str, data: Any, options: dict[str, Any]):
    """Call the renderer of ``kind`` with the extracted arrays and the spec's options.

    A ``panels`` figure gets one ``FigureData`` per panel in ``data`` and each panel's
    kind and options in ``options["panels"]``.
    """
    from izzyfig import render

    options = dict(options)
    if hasattr(options.get("page"), "model_dump"):  # a page given by its dimensions
        options["page"] = options["page"].model_dump()
    if kind == "panels":
        panels = [(panel["kind"], renderer_arrays(panel["kind"], part), {"boxes": list(part.boxes), **panel["options"]})
                  for panel, part in zip(options.pop("panels"), data)]
        return render.render_panels(panels, **options)
    if kind not in render.RENDERERS:
        raise BuildError(f"no renderer for figure kind '{kind}'")
    keywords = dict(getattr(data, "keywords", ()))  # from the data, not the spec (layer and head indices)
    return render.RENDERERS[kind](*renderer_arrays(kind, data), boxes=list(data.boxes), **keywords, **options)


def renderer_arrays(kind: str, data: Any) -> tuple:
    """The positional arguments of ``render_<kind>`` from a figure's extracted data."""
    first, x, y = data.matrices[0], data.x_labels, data.y_labels
    if kind in ("self-attention", "rollout"):
        return (first, x)
    if kind == "head-summary":
        return (first,)
    if kind == "question-context":
        return (first, x, data.question_end)
    if kind == "comparison":
        return (first, data.matrices[1], x, y)
    return (first, x, y)


def _commit_output(project, compiled, job, task: RenderTask, lock: Lock, found=()) -> None:
    """Replace the output, keeping the lock truthful at every instant."""
    lock.figures.pop(job.figure_id, None)
    lock.write()
    os.replace(task.temp_path, task.out_path)
    entry = lock_entry(compiled, job, task.out_path)
    if found:
        entry["warnings"] = [{"key": list(key), "message": message} for key, message in found]
    lock.figures[job.figure_id] = entry
    lock.write()
    write_snippet(project, job, entry)


def _forget_removed(lock: Lock, compiled: CompiledProject) -> None:
    for figure_id in list(lock.figures):
        if figure_id not in compiled.entries:
            del lock.figures[figure_id]


def _summarise(report: BuildReport, progress: Progress) -> None:
    for message in report.warnings + report.failed:
        progress.stream.write(message + "\n")
    warned = f", {len(report.warnings)} warning(s)" if report.warnings else ""
    progress.message(
        f"{len(report.built)} built, {len(report.up_to_date)} up to date, "
        f"{len(report.failed)} failed{warned} ({report.models_loaded} model load(s), "
        f"{report.forwards_run} forward pass(es))"
    )


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


def lock_entry(compiled: CompiledProject, job: Any, out_path: Path) -> dict[str, Any]:
    from izzyfig.latex import latex_options

    entry = compiled.entries[job.figure_id]
    inputs = job_inputs(job)
    return {
        "spec": str(entry.file),
        "kind": job.kind,
        "spec_hash": job.spec_hash,
        "caption": entry.figure.caption,
        "inputs": inputs,
        "parameters": json.loads(canonical_json({**changed_parameters(entry.figure), **job.view()})),
        "cache_key": getattr(job, "cache_key", None),
        "build_key": build_key(job, inputs),
        "output": job.output,
        "sha256": sha256_file(out_path),
        "latex": latex_options(entry.figure),
    }


def write_snippet(project: Project, job: Any, entry: dict) -> None:
    from izzyfig.latex import figure_snippet

    tex_path = project.out_dir / (Path(job.output).with_suffix("").as_posix() + ".tex")
    # graphicx resolves paths from where the paper is compiled (the project root), not from
    # the \input file, so the snippet names the output as seen from the working directory.
    text = figure_snippet(job.figure_id, entry, graphics_path=_from_root(project.out_dir / job.output))
    write_atomic(tex_path, text.encode("utf-8"))


def _from_root(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


# ----------------------------------------------------------------------------- other commands
def describe_plan(project: Project) -> str:
    from izzyfig.extract import AttentionStore

    compiled = compile_project(project)
    lock = Lock.read(project.lock_path)
    lines = [compiled.plan.describe(AttentionStore(project.cache_dir))]
    lines.append("figures:")
    for job in compiled.plan.figures:
        key = build_key(job, job_inputs(job))
        state = "up to date" if is_up_to_date(job, key, lock, project.out_dir) else "to build"
        lines.append(f"  {job.figure_id} ({job.kind}) -> {project.out_dir / job.output}: {state}")
    return "\n".join(lines)


@dataclass
class VerifyReport:
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def verify(project: Project) -> VerifyReport:
    """Rebuild every locked figure in a temporary directory and compare hashes."""
    lock = Lock.read(project.lock_path)
    if not lock.figures:
        raise BuildError(f"{project.lock_path}: no locked figures to verify; run izzyfig build first")
    with tempfile.TemporaryDirectory(prefix="izzyfig-verify-") as tmp:
        scratch = Project(
            paths=project.paths,
            out_dir=Path(tmp) / "out",
            cache_dir=project.cache_dir,
            lock_path=Path(tmp) / "izzyfig.lock",
            jobs=project.jobs,
            quiet=True,
            trust_remote_code=project.trust_remote_code,
        )
        result = build(scratch, force=True)
        rebuilt = Lock.read(scratch.lock_path)
    report = VerifyReport(differences=_compare_locks(lock, rebuilt))
    report.differences += result.failed
    for line in report.differences:
        print(line)
    same = len(lock.figures) - len(report.differences)
    print(f"verify: {same} of {len(lock.figures)} locked figure(s) reproduced byte for byte")
    return report


def _compare_locks(locked: Lock, rebuilt: Lock) -> list[str]:
    differences = []
    for figure_id, old in sorted(locked.figures.items()):
        new = rebuilt.figures.get(figure_id)
        if new is None:
            differences.append(f"{figure_id}: no longer built by the specs")
        elif new["sha256"] != old["sha256"]:
            differences.append(f"{figure_id}: {_why_different(old, new)}")
    return differences


def _why_different(old: dict, new: dict) -> str:
    if old.get("spec_hash") != new.get("spec_hash"):
        return "spec changed since it was locked"
    if old.get("inputs") != new.get("inputs"):
        return "inputs changed (model, text or array)"
    return f"renderer output differs (locked {old['sha256'][:12]}, now {new['sha256'][:12]})"


def write_appendix(project: Project, tex_path: Path | None = None) -> Path:
    from izzyfig.latex import appendix

    lock = Lock.read(project.lock_path)
    if not lock.figures:
        raise BuildError(f"{project.lock_path}: no locked figures; run izzyfig build first")
    path = tex_path or project.out_dir / "appendix.tex"
    write_atomic(path, appendix(lock.to_dict()).encode("utf-8"))
    return path

