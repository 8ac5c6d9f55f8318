"""What the analysis kinds draw, from stacks of whole layers: atlas maps, head statistics, rollout.

A stack is every head of the figure's layer range, ``(layers, heads, query, key)``, of
one forward (one per text of a head-summary) or array. The numbers come from
``izzyfig.analysis`` on the model's token maps: the rollout is multiplied out over
tokens before word units merge it and a window crops it; an atlas's maps and a
head-summary's per-text maps are merged into the figure's units first, so a summary in
words is a summary of word maps. The checks that need the tokens (a special token to
sum over, an induction sequence that repeats) return positioned problems, so a build
reports them before any forward runs.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

import numpy as np

from izzyfig.analysis import attention_rollout, corpus_head_statistics, induction_positions
from izzyfig.errors import AnalysisError, SpecProblem
from izzyfig.extract.axes import FigureAxes, figure_axes
from izzyfig.extract.cells import preview
from izzyfig.extract.tokens import TokenizedInput
from izzyfig.plan.jobs import AttentionSelection, FigureJob, Forward
from izzyfig.special_tokens import special_positions

# Statistics whose per-row values depend on which tokens the keys are.
NEEDS_TOKENS = ("special", "induction")


def analysis_axes(job: FigureJob, tokens: Mapping[str, TokenizedInput]) -> tuple[list[FigureAxes], list[SpecProblem]]:
    """The axes of each selection: one for an atlas or rollout, one per text of a head-summary."""
    if job.kind != "head-summary":
        axes, problems = figure_axes(job, tokens)
        return [axes], problems
    found, problems = [], []
    for selection in job.selections:  # texts of any length: each is its own map
        axes, more = figure_axes(replace(job, selections=(selection,)), tokens)
        found.append(axes)
        problems += more
    return found, problems


def token_problems(job: FigureJob, axes: list[FigureAxes]) -> list[SpecProblem]:
    """What a head-summary's statistic cannot use in the tokens it got, positioned."""
    analysis = job.analysis
    if job.kind != "head-summary" or analysis.statistic not in NEEDS_TOKENS:
        return []
    inputs = [(selection, selection_axes.x.cells.raw) for selection, selection_axes in zip(job.selections, axes)]
    if analysis.statistic == "induction":
        return [problem for selection, keys in inputs if (problem := _induction_problem(selection, keys))]
    if analysis.special is not None:
        return _special_positions_problem(job, inputs)
    lacking = [(selection, keys) for selection, keys in inputs if not special_positions(keys)]
    if not lacking:
        return []
    selection, keys = lacking[0]
    more = f" (and {len(lacking) - 1} more)" if len(lacking) > 1 else ""
    return [SpecProblem(
        analysis.statistic_at, f"{analysis.path}.statistic",
        f"'special' sums the attention to special tokens, but {_input_name(selection)}{more} has none "
        f"({preview(keys)}){_adds_none(selection)}; give their positions with 'special:', e.g. special: [0]")]


def _induction_problem(selection: AttentionSelection, keys: tuple[str, ...]) -> SpecProblem | None:
    try:
        induction_positions(len(keys), keys)
    except AnalysisError as error:
        return SpecProblem(selection.input_at, _input_path(selection), str(error))
    return None


def _special_positions_problem(job: FigureJob, inputs: list) -> list[SpecProblem]:
    """``special:`` positions must name a key of every text (the shortest decides)."""
    selection, keys = min(inputs, key=lambda item: len(item[1]))
    outside = [p for p in job.analysis.special if not -len(keys) <= p < len(keys)]
    if not outside:
        return []
    return [SpecProblem(job.analysis.special_at, f"{job.analysis.path}.special",
                        f"position {outside[0]} is outside the {len(keys)} {_units(job)} of {_input_name(selection)}")]


def analysis_matrix(job: FigureJob, stacks: list[np.ndarray], axes: list[FigureAxes]) -> tuple[np.ndarray, dict[str, Any]]:
    """The array a renderer draws and its keyword arguments (layer and head indices, ...).

    Parameters
    ----------
    stacks
        One ``(layers, heads, query, key)`` array per selection, over the model's tokens.

    Returns
    -------
    tuple
        atlas: ``(layers, heads, query, key)`` maps in the figure's cells; head-summary:
        ``(layers, heads)`` statistics, the mean over texts; rollout: the ``(query, key)``
        rollout in the figure's cells.
    """
    analysis = job.analysis
    layer_ids = tuple(range(analysis.layers[0], analysis.layers[1] + 1))
    grouped = {"heads_per_group": analysis.heads_per_group} if analysis.heads_per_group > 1 else {}
    if job.kind == "rollout":
        rollout = attention_rollout(stacks[0], residual=analysis.residual)
        return axes[0].cells(rollout), {"layers": analysis.layers}
    if job.kind == "atlas":
        heads = analysis.heads if analysis.heads is not None else tuple(range(stacks[0].shape[1]))
        maps = axes[0].cells(stacks[0][:, list(heads)])
        return maps, {"layer_ids": layer_ids, "head_ids": heads, "highlight": analysis.highlight, **grouped}
    maps = [selection_axes.cells(stack) for stack, selection_axes in zip(stacks, axes)]
    keys = [selection_axes.x.cells.raw for selection_axes in axes] if analysis.special is None else None
    values = corpus_head_statistics(maps, analysis.statistic, keys if analysis.statistic in NEEDS_TOKENS else None,
                                    analysis.special)
    return values, {"layer_ids": layer_ids, "head_ids": tuple(range(values.shape[1])),
                    "highlight": analysis.highlight, "texts": len(maps), **grouped}


def _input_path(selection: AttentionSelection) -> str:
    if not isinstance(selection.input, Forward):
        return f"{selection.where}.array"
    key = f"texts[{selection.index}]" if selection.index is not None else next(iter(selection.input.inputs()))
    return f"{selection.where}.{key}"


def _input_name(selection: AttentionSelection) -> str:
    if not isinstance(selection.input, Forward):
        return "the array's tokens"
    return f"text {selection.index}" if selection.index is not None else "the text"


def _adds_none(selection: AttentionSelection) -> str:
    if isinstance(selection.input, Forward):
        return f": the tokenizer of model '{selection.model_name or selection.input.model.label()}' adds none"
    return ""


def _units(job: FigureJob) -> str:
    return "words" if job.units == "words" else "tokens"
