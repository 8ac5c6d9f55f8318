"""Planning the analysis kinds (atlas, head-summary, rollout): whole layers, not one map.

Each reads a stack -- every head of an inclusive range of layers -- from one forward per
text (or from an array with ``layers`` and ``heads`` axes), so the planner keeps every
layer of the range in that forward's cache entry. The layer range, the atlas's heads,
the heads to highlight and the statistic are checked against the model's shape here,
with positions, without torch; what depends on the tokens (special tokens, an
induction sequence's repetition) is checked by the extraction before any forward runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from izzyfig.analysis import POSITIONAL
from izzyfig.plan.jobs import AnalysisRef, ArrayLoad, ModelLoad

if TYPE_CHECKING:
    from izzyfig.plan.planner import Draft, FieldView, Planner

STACK_AXES = ("layers", "heads")


@dataclass(frozen=True)
class StackSource:
    """What an analysis figure reads: a model (or array), its attention, and its shape."""

    source: ModelLoad | ArrayLoad
    attention: str
    layers: int
    heads: int
    heads_per_group: int
    owner: str  # "model 'minilm'" or "array 'attn.npy'", for messages


def add_analysis(planner: Planner, view: FieldView) -> tuple[list[Draft], AnalysisRef] | None:
    """The drafts (one per text) and the resolved choices of an analysis figure, or
    ``None`` after recording its problems on ``planner``."""
    figure = view.entry.figure
    found = _array_stack(planner, view) if figure.array is not None else _model_stack(planner, view)
    if found is None:
        return None
    known = len(planner.problems)
    layers = _layer_range(planner, view, found)
    before = len(planner.problems)
    heads = _heads(planner, view, found)
    drawn = heads if len(planner.problems) == before else None  # unknown heads: no 'not drawn' checks
    highlight = _highlight(planner, view, found, layers, drawn)
    _square(planner, view, found)
    if len(planner.problems) > known:
        return None
    drafts = _drafts(planner, view, found, layers)
    if drafts is None:
        return None
    entry = view.entry
    analysis = AnalysisRef(
        layers=layers, heads=heads, heads_per_group=found.heads_per_group,
        statistic=getattr(figure, "statistic", None),
        special=tuple(figure.special) if getattr(figure, "special", None) else None,
        residual=getattr(figure, "residual", None), highlight=highlight, path=view.where,
        statistic_at=entry.position_of("statistic"), special_at=entry.position_of("special"),
    )
    return drafts, analysis


# ----------------------------------------------------------------------------- sources
def _model_stack(planner: Planner, view: FieldView) -> StackSource | None:
    figure = view.entry.figure
    if figure.model is None:
        planner.problem(view.entry.position, view.where, "no attention source: give 'model' (with its text) or 'array'")
        return None
    model = planner.model_load(view, figure.model, view.position("model"), view.path("model"))
    attention = model and planner.attention_of(view, model)
    if not attention:
        return None
    stack = model.shape.stack(attention)
    return StackSource(model, attention, stack.layers, stack.heads, stack.heads_per_group, f"model '{model.label()}'")


def _array_stack(planner: Planner, view: FieldView) -> StackSource | None:
    figure = view.entry.figure
    spec = figure.array
    position, path = view.position("array", "path"), view.path("array", "path")
    array = planner.array_load(view, spec.path, spec.key, spec.axes, position, path)
    if array is None:
        return None
    missing = [axis for axis in STACK_AXES if axis not in array.layout]
    extra = [axis for axis in ("runs", "steps") if axis in array.layout]
    if missing or extra:
        need = f"an array with 'layers' and 'heads' axes and no '{extra[0]}' axis" if extra else \
            "an array with 'layers' and 'heads' axes"
        planner.problem(view.position("array", "layout"), view.path("array", "layout"),
                        f"{_a(figure.kind)} figure needs {need} (layout '{' '.join(array.layout)}')")
        return None
    for key in ("texts",):
        if getattr(figure, key, None) is not None:
            planner.problem(view.position(key), view.path(key), f"'{key}' needs a model to run on (an array is one input)")
            return None
    return StackSource(array, "self", array.axis_size("layers"), array.axis_size("heads"), 1,
                       f"array '{array.path.rsplit('/', 1)[-1]}'")


# ----------------------------------------------------------------------------- indices
def _layer_range(planner: Planner, view: FieldView, found: StackSource) -> tuple[int, int] | None:
    """The resolved inclusive layer range (default every layer)."""
    asked = view.entry.figure.layers
    if asked is None:
        return 0, found.layers - 1
    where = (view.position("layers"), view.path("layers"))
    outside = [value for value in asked if not -found.layers <= value < found.layers]
    if outside:
        planner.problem(*where, f"{_pair(asked)}: layer {outside[0]} is out of range for {found.owner} "
                                f"({found.layers} layers)")
        return None
    first, last = (value % found.layers for value in asked)
    if first > last:
        planner.problem(*where, f"{_pair(asked)} is inverted for {found.owner}: layer {first} comes after layer {last}")
        return None
    return first, last


def _heads(planner: Planner, view: FieldView, found: StackSource) -> tuple[int, ...] | None:
    """An atlas's resolved heads, in the spec's order; ``None``: every head."""
    asked = getattr(view.entry.figure, "heads", None)
    if asked is None:
        return None
    resolved = []
    for index, head in enumerate(asked):
        if not -found.heads <= head < found.heads:
            planner.problem(view.position("heads", index), view.path("heads", index),
                            f"{head} is out of range for {found.owner} ({found.heads} heads)")
        else:
            resolved.append(head % found.heads)
    if len(set(resolved)) != len(resolved):
        repeated = next(h for h in resolved if resolved.count(h) > 1)
        planner.problem(view.position("heads"), view.path("heads"),
                        f"head {repeated} is listed twice (negative indices count from the end)")
    return tuple(resolved)


def _highlight(planner: Planner, view: FieldView, found: StackSource, layers: tuple[int, int] | None,
               heads: tuple[int, ...] | None) -> tuple[tuple[int, int], ...]:
    """Resolved ``(layer, head)`` pairs; each must be a head of the model that is drawn
    (checked against ``layers`` and ``heads`` where they are known)."""
    pairs = []
    for index, (layer, head) in enumerate(view.entry.figure.highlight):
        where = (view.position("highlight", index), view.path("highlight", index))
        if not -found.layers <= layer < found.layers:
            planner.problem(*where, f"{_pair((layer, head))}: layer {layer} is out of range for {found.owner} "
                                    f"({found.layers} layers)")
        elif not -found.heads <= head < found.heads:
            planner.problem(*where, f"{_pair((layer, head))}: head {head} is out of range for {found.owner} "
                                    f"({found.heads} heads)")
        elif layers is not None and not layers[0] <= layer % found.layers <= layers[1]:
            planner.problem(*where, f"{_pair((layer, head))}: layer {layer % found.layers} is not drawn "
                                    f"(layers: {_pair(layers)})")
        elif heads is not None and head % found.heads not in heads:
            planner.problem(*where, f"{_pair((layer, head))}: head {head % found.heads} is not drawn "
                                    f"(heads: {_pair(heads)})")
        else:
            pairs.append((layer % found.layers, head % found.heads))
    return tuple(pairs)


def _square(planner: Planner, view: FieldView, found: StackSource) -> None:
    """Rollout and the positional statistics compare query and key positions: no cross-attention."""
    figure = view.entry.figure
    statistic = getattr(figure, "statistic", None)
    if figure.kind != "rollout" and statistic not in POSITIONAL:
        return
    need = "rollout multiplies the maps of successive layers" if figure.kind == "rollout" else \
        f"the '{statistic}' statistic compares query and key positions"
    if found.attention == "cross":
        field = "attention" if figure.attention else "model"
        planner.problem(view.position(field), view.path(field),
                        f"{need}, so it needs self-attention; cross-attention maps have other rows than columns")
    elif isinstance(found.source, ArrayLoad) and found.source.shape[-1] != found.source.shape[-2]:
        rows, cols = found.source.shape[-2:]
        planner.problem(view.position("array", "path"), view.path("array", "path"),
                        f"{need}, so it needs square maps; {found.owner} has {rows} rows and {cols} columns")


# ----------------------------------------------------------------------------- drafts
def _drafts(planner: Planner, view: FieldView, found: StackSource, layers: tuple[int, int]) -> list[Draft] | None:
    """One draft per input text (one for an array), each reading the whole layer range."""
    from izzyfig.plan.planner import Draft

    figure = view.entry.figure
    if isinstance(found.source, ArrayLoad):
        return [Draft(found.source, (), "self", None, None, None, None, view.where,
                      view.position("array", "path"), layers=layers)]
    model = found.source
    texts = getattr(figure, "texts", None)
    if texts is None:
        inputs = planner.inputs_of(view, model, found.attention)
        if inputs is None:
            return None
        field = inputs[0][0] if inputs[0][0] != "source" or figure.source is not None else "text"
        return [Draft(model, inputs, found.attention, None, None, None, None, view.where, view.position(field),
                      figure.model, layers=layers)]
    name = "source" if model.shape.architecture == "encoder-decoder" else "text"
    if name == "source" and found.attention != "encoder":
        planner.problem(view.position("texts"), view.path("texts"),
                        f"'texts' on encoder-decoder model '{model.label()}' reads its encoder only "
                        f"(attention: encoder); for {found.attention} attention give 'source' and 'target'")
        return None
    return [Draft(model, ((name, text),), found.attention, None, None, None, index, view.where,
                  view.position("texts", index), figure.model, layers=layers)
            for index, text in enumerate(texts)]


def _pair(values: Any) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
