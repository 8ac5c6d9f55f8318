"""Does a map look like attention? Warnings for values that softmax cannot produce.

Attention weights are probabilities: never negative, and each row (one query token)
sums to 1 over the keys. A map that breaks this is usually the wrong array, a wrong
``layout`` (axes swapped), or scores taken before the softmax; it is drawn anyway,
with a positioned warning (``build --strict`` makes it an error). Only the maps a
figure reads are checked, never derived values such as a comparison's differences.
"""
from __future__ import annotations

import warnings

import numpy as np

from izzyfig.errors import IzzyfigWarning
from izzyfig.plan.jobs import ArrayLoad, AttentionSelection, FigureJob

# Row sums of float16/bfloat16 dumps are off by a few thousandths; more is not rounding.
ROW_SUM_TOLERANCE = 0.01
CHECKPOINT_AXIS = {"stability": "runs", "evolution": "steps"}


def warn_unlike_attention(job: FigureJob, matrices: list[np.ndarray]) -> None:
    """Warn, at the spec key each map comes from, about maps that are not attention.

    Parameters
    ----------
    matrices
        One map per selection of ``job``, whole (before word units or a window):
        ``(query, key)``, or ``(n, query, key)`` for an array with a runs/steps axis.
    """
    for selection, maps in zip(job.selections, matrices):
        rows = selection.head != "max"  # the maximum over heads has no row sums to check
        for message in attention_problems(maps, rows=rows):
            warnings.warn(IzzyfigWarning(message, spec_key(job, selection)), stacklevel=2)


def attention_problems(maps: np.ndarray, *, rows: bool = True) -> list[str]:
    """Why ``maps`` (``(..., query, key)``) cannot be softmax attention; empty if they can.

    ``rows=False`` skips the row sums (for an aggregate such as the maximum over heads).
    """
    problems = []
    negative = maps < 0
    if negative.any():
        problems.append(
            f"{int(negative.sum())} negative value(s), the smallest {float(maps.min()):.3g}: attention "
            "weights are never negative (scores before the softmax?)"
        )
    sums = maps.sum(axis=-1)
    off = np.abs(sums - 1.0) > ROW_SUM_TOLERANCE
    if rows and off.any():
        first = tuple(int(i) for i in np.argwhere(off)[0])
        where = f"row {first[-1]}" + (f" of map {first[0]}" if len(first) > 1 else "")
        problems.append(
            f"{int(off.sum())} of {off.size} rows do not sum to 1 ({where} sums to {float(sums[first]):.3g}): "
            "attention rows sum to 1 over the keys (wrong array or layout?)"
        )
    return problems


def spec_key(job: FigureJob, selection: AttentionSelection) -> tuple[str | int, ...]:
    """The spec key a selection's numbers come from: ``("array",)``, ``("b", "model")``,
    ``("runs", 2)``."""
    if selection.index is not None and job.kind in CHECKPOINT_AXIS:
        return (CHECKPOINT_AXIS[job.kind], selection.index)
    side = selection.where[len(job.path) + 1:]
    source = "array" if isinstance(selection.input, ArrayLoad) else "model"
    return ((side,) if side else ()) + (source,)
