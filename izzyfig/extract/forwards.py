"""Forwards as shippable work: one model's forwards in, the kept attention maps out.

``ForwardGroup`` is plain picklable data (the model to load once, its forwards, the
``(attention, layer)`` maps to keep of each); ``run_group`` loads the model, runs the
forwards and returns the maps as arrays. It writes nothing: whoever called it (the
attention store of the build) writes the cache. An executor may run ``run_group`` in
this process, in a worker process, or on another machine.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from izzyfig.errors import ExtractError
from izzyfig.plan.jobs import Forward, ModelLoad

Layer = tuple[str, int]


@dataclass(frozen=True)
class ForwardGroup:
    """The forwards of one model, run where the model is loaded once.

    ``layers[i]`` lists the ``(attention, layer)`` maps to keep of ``forwards[i]``;
    ``models_dir`` is where a GGUF model is converted (once) where the group runs.
    """

    model: ModelLoad
    forwards: tuple[Forward, ...]
    layers: tuple[tuple[Layer, ...], ...]
    trust_remote_code: bool = False
    models_dir: str | None = None


@dataclass(frozen=True)
class ForwardOutcome:
    """One forward's kept maps, each ``(heads, query, key)``, or why it failed (one line)."""

    key: str
    maps: dict[Layer, np.ndarray] | None = None
    error: str | None = None


@dataclass(frozen=True)
class GroupOutcome:
    """What ``run_group`` did: one outcome per forward, in the group's order."""

    outcomes: tuple[ForwardOutcome, ...]
    models_loaded: int
    forwards_run: int
    worker: str = ""  # where it ran, when an executor knows (shown by progress)


def forward_groups(models: tuple[ModelLoad, ...], todo: dict[Forward, set[Layer]],
                   trust_remote_code: bool, models_dir: str | None = None) -> list[ForwardGroup]:
    """``todo`` grouped by model, models in plan order, forwards in key order."""
    order = {model: index for index, model in enumerate(models)}
    by_model: dict[ModelLoad, list[Forward]] = {}
    for forward in sorted(todo, key=lambda f: (order.get(f.model, len(order)), f.key)):
        by_model.setdefault(forward.model, []).append(forward)
    return [
        ForwardGroup(model, tuple(forwards), tuple(tuple(sorted(todo[f])) for f in forwards),
                     trust_remote_code, models_dir)
        for model, forwards in by_model.items()
    ]


def run_group(group: ForwardGroup, runner: Any = None) -> GroupOutcome:
    """Load ``group.model`` once and run its forwards; never raises ``ExtractError``.

    Parameters
    ----------
    runner
        A ``ModelRunner`` to reuse (its tokenizers and encodings); a new one if ``None``.
    """
    if runner is None:
        runner = new_runner(group)
    loads, runs = runner.loads, runner.forwards
    try:
        runner.load(group.model)
    except ExtractError as error:
        outcomes = tuple(ForwardOutcome(f.key, error=str(error)) for f in group.forwards)
        return GroupOutcome(outcomes, runner.loads - loads, runner.forwards - runs)
    outcomes = []
    for forward, layers in zip(group.forwards, group.layers):
        try:
            outcomes.append(ForwardOutcome(forward.key, maps=runner.attentions(forward, set(layers))))
        except ExtractError as error:
            outcomes.append(ForwardOutcome(forward.key, error=str(error)))
    if not getattr(runner, "keep_model", False):
        runner.release()
    return GroupOutcome(tuple(outcomes), runner.loads - loads, runner.forwards - runs)


def new_runner(group: ForwardGroup):
    """A ``ModelRunner`` set up as ``group`` asks (remote code, GGUF conversion directory)."""
    from izzyfig.extract.runner import ModelRunner

    if group.models_dir is None:
        return ModelRunner(trust_remote_code=group.trust_remote_code)
    return ModelRunner(trust_remote_code=group.trust_remote_code, models_dir=Path(group.models_dir))
