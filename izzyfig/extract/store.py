"""``AttentionStore``: turns a ``BuildPlan`` into cached attention, then figures' arrays.

``prepare(plan)`` reads what the cache has, tokenises what it lacks, checks every
figure against the real token counts (boxes, labels, lengths) and only then runs the
missing forwards, grouped by model so each model loads once. With everything cached,
no forward runs and torch is never imported. ``figure_data(job)`` then returns the
matrices and labels a renderer needs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from izzyfig.errors import ExtractError, SpecError, SpecProblem
from izzyfig.extract.analysis_data import analysis_axes, analysis_matrix, token_problems
from izzyfig.extract.arrays import load_array, select_from_array, select_from_layer, stack_from_array
from izzyfig.extract.attention_checks import warn_unlike_attention
from izzyfig.extract.axes import Box, figure_axes, length_problems, resolve_boxes
from izzyfig.extract.cache import AttentionCache
from izzyfig.extract.forwards import ForwardGroup, GroupOutcome, forward_groups, run_group
from izzyfig.extract.tokens import TokenizedInput, TokenSequence
from izzyfig.plan.jobs import ArrayLoad, AttentionSelection, BuildPlan, FigureJob, Forward, ModelLoad
from izzyfig.plan.planner import library_versions


@dataclass(frozen=True)
class FigureData:
    """What a renderer draws for one figure.

    ``matrices`` holds one ``(query, key)`` array per selection (two for a comparison);
    stability and evolution figures get one ``(n, query, key)`` stack. Rows are the
    attending cells (``y_labels``), columns the attended ones (``x_labels``); a cell
    is a token, or a word with ``units: words``, and only the window's cells are
    there. ``raw_*_tokens`` are the cells as the model sees them (a word's pieces
    joined by spaces). ``boxes`` are the spec's boxes as inclusive
    ``(top, left, bottom, right)`` cells of these matrices. ``keywords`` are renderer
    keyword arguments that come from the data, not the spec (the analysis kinds' layer
    and head indices, key/value groups, number of texts).
    """

    matrices: tuple[np.ndarray, ...]
    x_labels: tuple[str, ...]
    y_labels: tuple[str, ...]
    question_end: int | None
    raw_x_tokens: tuple[str, ...]
    raw_y_tokens: tuple[str, ...]
    boxes: tuple[Box, ...] = ()
    keywords: tuple[tuple[str, Any], ...] = ()


_NO_CELLS = TokenSequence((), ())  # a head-summary's cells are heads, not tokens


@dataclass(frozen=True)
class PrepareStats:
    """What ``prepare`` did: models loaded, forwards run, forwards served by the cache.

    With ``keep_going``, ``failed_figures`` lists the figures left out and ``failed``
    says why, one positioned problem each (``file:line:col: figures.<id>...: why``).
    """

    models_loaded: int
    forwards_run: int
    forwards_cached: int
    seconds: float
    failed: tuple[SpecProblem, ...] = ()
    failed_figures: tuple[str, ...] = ()


class AttentionStore:
    """The attention cache of a project, and the runner that fills it.

    Parameters
    ----------
    cache_dir
        Root of the cache (the build's default is ``.izzyfig/cache``).
    trust_remote_code
        Let models with their own code run it (off unless the user asks).
    progress
        Optional object with ``phase(name, total)`` and ``advance(label)``.
    raw_labels
        Label axes with the tokenizer's raw tokens (``##ing``, ``Ġthe``) instead of
        cleaned ones.
    run_groups
        ``run_groups(groups, runner)`` runs forwards, one ``ForwardGroup`` per model, and
        yields a ``GroupOutcome`` for each (the seam of the build's executors); ``runner``
        is this store's ``ModelRunner``, which has the tokenizers loaded, for an executor
        that runs in this process. Default: in this process.
    """

    def __init__(self, cache_dir: Path, *, trust_remote_code: bool = False, progress: Any = None,
                 raw_labels: bool = False,
                 run_groups: Callable[[list[ForwardGroup], Any], Iterable[GroupOutcome]] | None = None):
        self.cache = AttentionCache(Path(cache_dir))
        self.models_dir = Path(cache_dir) / "models"  # GGUF files converted to model directories
        self.trust_remote_code = trust_remote_code
        self.progress = progress
        self.raw_labels = raw_labels
        self.run_groups = run_groups or self._run_here
        self._runner = None
        self._loads = 0
        self._runs = 0
        self._tokens: dict[str, TokenizedInput] = {}
        self._arrays: dict[ArrayLoad, np.ndarray] = {}

    @property
    def runner(self):
        """The model runner, created on first use (importing it does not import torch)."""
        if self._runner is None:
            from izzyfig.extract.runner import ModelRunner

            self._runner = ModelRunner(trust_remote_code=self.trust_remote_code, models_dir=self.models_dir)
        return self._runner

    def is_cached(self, forward: Forward) -> bool:
        """Whether every layer ``forward.keep`` names is in the cache (digests not checked)."""
        entry = self.cache.read(forward.key)
        return entry is not None and entry.has(forward.keep)

    # -- prepare -------------------------------------------------------------------------
    def prepare(self, plan: BuildPlan, *, keep_going: bool = False) -> PrepareStats:
        """Make every map the plan's figures need available in the cache.

        Parameters
        ----------
        keep_going
            Instead of raising, leave out the figures that cannot be made and report them
            in ``PrepareStats.failed`` (one positioned problem per line); the forwards of
            the other figures still run.

        Raises
        ------
        SpecError
            Boxes, labels or input lengths that do not fit the tokenised inputs; raised
            before any forward runs.
        ExtractError
            A model or tokenizer that cannot be loaded or run.
        """
        start = time.perf_counter()
        before = self._counts()
        missing = self._missing(plan)
        broken: dict[Forward, ExtractError] = {}
        for forward in missing:
            self._guard(broken, forward, keep_going, lambda f=forward: self._tokenize(f))
        failures = {job.figure_id: problems for job in plan.figures if (problems := self._failure(job, broken))}
        if failures and not keep_going:
            raise SpecError(list(dict.fromkeys(p for problems in failures.values() for p in problems)))
        wanted = {s.input for job in plan.figures if job.figure_id not in failures for s in job.selections}
        todo = {f: layers for f, layers in missing.items() if f in wanted and f not in broken}
        self._run(plan.models, todo, broken, keep_going)
        for job in plan.figures:
            if job.figure_id not in failures and (problems := self._failure(job, broken)):
                failures[job.figure_id] = problems
        loads, runs = self._counts()
        return PrepareStats(
            models_loaded=loads - before[0],
            forwards_run=runs - before[1],
            forwards_cached=len(needed_layers(plan)) - len(missing),
            seconds=time.perf_counter() - start,
            failed=tuple(p for problems in failures.values() for p in problems),
            failed_figures=tuple(failures),
        )

    def _counts(self) -> tuple[int, int]:
        return self._loads, self._runs

    def _missing(self, plan: BuildPlan) -> dict[Forward, set]:
        """Forwards with layers absent from the cache, and those layers."""
        missing = {}
        for forward, layers in needed_layers(plan).items():
            entry = self.cache.read(forward.key)
            if entry is not None:
                self._tokens[forward.key] = entry.tokens
                layers = layers - self.cache.verified_layers(forward.key, entry, layers)
            if layers:
                missing[forward] = layers
        return missing

    def _tokenize(self, forward: Forward) -> None:
        self._tokens[forward.key] = self.runner.tokenize(forward)

    @staticmethod
    def _guard(broken: dict, forward: Forward, keep_going: bool, work) -> None:
        """Run ``work``; with ``keep_going`` an ExtractError marks ``forward`` broken."""
        try:
            work()
        except ExtractError as error:
            if not keep_going:
                raise
            broken[forward] = error

    def _failure(self, job: FigureJob, broken: dict[Forward, ExtractError]) -> list[SpecProblem]:
        """Why ``job`` cannot be made: a broken input, or problems against its tokens."""
        for selection in job.selections:
            if selection.input in broken:
                return [SpecProblem(job.position, job.path, str(broken[selection.input]))]
        return self.check(job)

    def check(self, job: FigureJob) -> list[SpecProblem]:
        """Positioned problems of ``job`` against its tokens (all tokens must be known)."""
        if job.panels:
            return [problem for panel in job.panels for problem in self.check(panel)]
        if job.analysis is not None:
            return self._analysis_problems(job)[1]
        axes, problems = figure_axes(job, self._tokens)
        problems += length_problems(job, self._tokens)
        return problems + resolve_boxes(job, axes)[1]

    def _run(self, models: tuple[ModelLoad, ...], todo: dict[Forward, set],
             broken: dict[Forward, ExtractError], keep_going: bool) -> None:
        """Run ``todo`` grouped by model (each loaded once) and store the maps."""
        if not todo:
            return
        self._phase("forward", len(todo))
        by_key = {forward.key: forward for forward in todo}
        groups = forward_groups(models, todo, self.trust_remote_code, str(self.models_dir))
        for group in self.run_groups(groups, self._runner):
            self._loads += group.models_loaded
            self._runs += group.forwards_run
            for outcome in group.outcomes:
                forward = by_key[outcome.key]
                if outcome.error is None:
                    store = lambda f=forward, o=outcome: self._store(f, o.maps)  # noqa: E731
                    self._guard(broken, forward, keep_going, store)
                elif keep_going:
                    broken[forward] = ExtractError(outcome.error)
                else:
                    raise ExtractError(outcome.error)
                failed = " FAILED" if forward in broken else ""
                self._advance(f"{forward.model.label()} {forward.summary()}{failed}")

    def _run_here(self, groups: list[ForwardGroup], runner: Any = None):
        """Run each group in this process, with the runner that tokenised its inputs."""
        for group in groups:
            yield run_group(group, runner or self.runner)

    def _store(self, forward: Forward, maps: dict) -> None:
        info = {"model": forward.model.label(), "inputs": forward.inputs(), "dtype": forward.model.dtype,
                "libraries": dict(library_versions())}
        try:
            self.cache.write(forward.key, self._tokens[forward.key], maps, info)
        except OSError as error:
            raise ExtractError(f"cannot write the attention cache in {self.cache.root}: "
                               f"{error.strerror or error}") from error

    def _phase(self, name: str, total: int) -> None:
        if self.progress is not None:
            self.progress.phase(name, total)

    def _advance(self, label: str) -> None:
        if self.progress is not None:
            self.progress.advance(label)

    # -- figure data ---------------------------------------------------------------------
    def figure_data(self, job: FigureJob) -> FigureData:
        """The matrices and labels of one figure, read from the cache and array files.

        A cache entry that is missing or damaged is recomputed (``prepare`` on this
        figure alone) rather than drawn. A ``panels`` figure gets a tuple with the data
        of each panel.
        """
        if job.panels:
            return tuple(self.figure_data(panel) for panel in job.panels)
        if not all(self._tokens_of(s.input) for s in job.selections if isinstance(s.input, Forward)):
            self.prepare(single_job_plan(job))
        if job.analysis is not None:
            return self._analysis_data(job)
        axes, problems = figure_axes(job, self._tokens)
        boxes, box_problems = resolve_boxes(job, axes)
        if problems or box_problems:
            raise SpecError(problems + box_problems)
        maps = [self._matrix(job, s) for s in job.selections]
        warn_unlike_attention(job, maps)  # whole rows, before words merge and windows crop
        matrices = [axes.cells(m) for m in maps]
        if job.stacked and len(matrices) > 1:
            matrices = [np.stack(matrices)]
        x, y = axes.x.cells, axes.y.cells
        return FigureData(
            matrices=tuple(matrices),
            x_labels=x.raw if self.raw_labels else x.labels,
            y_labels=y.raw if self.raw_labels else y.labels,
            question_end=axes.question_end,
            raw_x_tokens=x.raw,
            raw_y_tokens=y.raw,
            boxes=boxes,
        )

    def _analysis_data(self, job: FigureJob) -> FigureData:
        """An atlas's maps, a head-summary's statistics or a rollout, from whole-layer stacks."""
        (axes_list, boxes), problems = self._analysis_problems(job)
        if problems:
            raise SpecError(problems)
        stacks = [self._stack(job, selection) for selection in job.selections]
        warn_unlike_attention(job, stacks)  # whole rows, before words merge and windows crop
        matrix, keywords = analysis_matrix(job, stacks, axes_list)
        x, y = (axes_list[0].x.cells, axes_list[0].y.cells) if job.kind != "head-summary" else (_NO_CELLS, _NO_CELLS)
        return FigureData(
            matrices=(matrix,),
            x_labels=x.raw if self.raw_labels else x.labels,
            y_labels=y.raw if self.raw_labels else y.labels,
            question_end=None,
            raw_x_tokens=x.raw,
            raw_y_tokens=y.raw,
            boxes=boxes,
            keywords=tuple(sorted(keywords.items())),
        )

    def _analysis_problems(self, job: FigureJob) -> tuple[tuple, list[SpecProblem]]:
        """``((axes per selection, boxes), problems)`` of an analysis figure, against its tokens."""
        axes_list, problems = analysis_axes(job, self._tokens)
        problems += length_problems(job, self._tokens)
        if problems:
            return ([], ()), problems
        boxes, problems = resolve_boxes(job, axes_list[0])
        return (axes_list, boxes), problems + token_problems(job, axes_list)

    def _stack(self, job: FigureJob, selection: AttentionSelection) -> np.ndarray:
        """Every head of the selection's layer range: ``(layers, heads, query, key)``."""
        source = selection.input
        if isinstance(source, ArrayLoad):
            if source not in self._arrays:
                self._arrays[source] = load_array(source)
            return stack_from_array(self._arrays[source], source.layout, selection.layers)
        return np.stack([self._layer_maps(job, source, attention, layer)
                         for attention, layer in selection.maps_read()])

    def _layer_maps(self, job: FigureJob, source: Forward, attention: str, layer: int) -> np.ndarray:
        """One cached layer's ``(heads, query, key)`` maps; a damaged entry is recomputed."""
        maps = self.cache.load(source.key, attention, layer)
        if maps is None:  # damaged since prepare: recompute, never draw a bad entry
            self.prepare(single_job_plan(job))
            maps = self.cache.load(source.key, attention, layer)
        if maps is None:
            raise ExtractError(f"{job.path}: the cache at {self.cache.root} cannot keep attention maps")
        return maps

    def _tokens_of(self, forward: Forward) -> TokenizedInput | None:
        if forward.key not in self._tokens:
            entry = self.cache.read(forward.key)
            if entry is None:
                return None
            self._tokens[forward.key] = entry.tokens
        return self._tokens[forward.key]

    def _matrix(self, job: FigureJob, selection: AttentionSelection) -> np.ndarray:
        source = selection.input
        if isinstance(source, ArrayLoad):
            if source not in self._arrays:
                self._arrays[source] = load_array(source)
            return select_from_array(self._arrays[source], source.layout, selection)
        maps = self._layer_maps(job, source, selection.attention, selection.layer)
        return select_from_layer(maps, selection, source.model.shape.stack(selection.attention))


def needed_layers(plan: BuildPlan) -> dict[Forward, set[tuple[str, int]]]:
    """Each forward of the plan's figures, with the ``(attention, layer)`` maps they read."""
    needed: dict[Forward, set] = {}
    for job in plan.figures:
        for selection in job.selections:
            if isinstance(selection.input, Forward):
                needed.setdefault(selection.input, set()).update(selection.maps_read())
    return needed


def single_job_plan(job: FigureJob) -> BuildPlan:
    forwards = tuple(dict.fromkeys(s.input for s in job.selections if isinstance(s.input, Forward)))
    arrays = tuple(dict.fromkeys(s.input for s in job.selections if isinstance(s.input, ArrayLoad)))
    models = tuple(dict.fromkeys(f.model for f in forwards))
    return BuildPlan(models, forwards, arrays, (job,))
