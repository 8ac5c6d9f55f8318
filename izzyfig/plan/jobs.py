"""The jobs of a build: frozen, picklable plain data, ready to ship to another process.

``ModelLoad`` -> ``Forward`` (one model run on one input) -> ``AttentionSelection``
(one map out of a forward or an array file) -> ``FigureJob``. ``BuildPlan`` holds each
model, forward and array once, however many figures use it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, Union

from izzyfig.errors import Position

Architecture = Literal["encoder", "decoder", "encoder-decoder"]
# Which attention of a model: "self" for encoder- or decoder-only models; the three
# stacks of an encoder-decoder are "encoder", "decoder" and "cross".
ATTENTIONS = ("self", "encoder", "decoder", "cross")


@dataclass(frozen=True)
class StackShape:
    """Layer and head counts of one transformer stack, read from ``config.json``."""

    layers: int
    heads: int
    kv_heads: int

    @property
    def heads_per_group(self) -> int:
        """Query heads sharing one key/value head (1 without grouped-query attention)."""
        return self.heads // self.kv_heads


@dataclass(frozen=True)
class ModelShape:
    """What the planner knows of a model without loading it."""

    architecture: Architecture
    encoder: StackShape | None
    decoder: StackShape | None
    max_positions: int | None = None

    def attentions(self) -> tuple[str, ...]:
        if self.architecture == "encoder-decoder":
            return ("encoder", "decoder", "cross")
        return ("self",)

    def stack(self, attention: str) -> StackShape:
        """The stack whose layers produce ``attention`` (cross lives in the decoder)."""
        if self.architecture == "encoder-decoder":
            found = self.encoder if attention == "encoder" else self.decoder
        else:
            found = self.encoder or self.decoder
        assert found is not None
        return found


@dataclass(frozen=True)
class ModelLoad:
    """One model to load: a local directory, identified by its content fingerprint.

    ``name`` is what the spec wrote (an alias, path or hub id) and is kept for messages
    only; two spellings of the same directory are one load.
    """

    ref: str
    revision: str | None
    dtype: str
    device: str
    fingerprint: str
    shape: ModelShape
    name: str = field(default="", compare=False)

    def label(self) -> str:
        return self.name or self.ref


@dataclass(frozen=True)
class Forward:
    """One forward pass: a model on a text, a text pair, or a source + target.

    ``key`` is the content hash of everything the attention values depend on (model
    fingerprint, inputs, dtype, library versions) and names the cache entry.
    ``keep`` lists the ``(attention, layer)`` maps that figures need; only those are
    stored. It does not take part in equality: a forward is its key.
    """

    model: ModelLoad
    key: str
    text: str | None = None
    pair: tuple[str, str] | None = None
    source: str | None = None
    target: str | None = None
    keep: tuple[tuple[str, int], ...] = field(default=(), compare=False)

    def inputs(self) -> dict[str, Any]:
        """The input texts that are set, as plain JSON data."""
        values = {"text": self.text, "pair": self.pair, "source": self.source, "target": self.target}
        return {name: list(v) if isinstance(v, tuple) else v for name, v in values.items() if v is not None}

    def summary(self, width: int = 40) -> str:
        text = self.text or self.source or " | ".join(self.pair or ())
        if self.target:
            text = f"{text} -> {self.target}"
        return repr(text if len(text) <= width else text[: width - 1] + "…")


@dataclass(frozen=True)
class ArrayLoad:
    """An attention array file: ``.npy``, or one ``key`` of a ``.npz``/``.safetensors``.

    ``layout`` names the axes of ``shape`` (ending with ``query``, ``key``); ``sha256``
    is the file's digest at planning time.
    """

    path: str
    key: str | None
    layout: tuple[str, ...]
    shape: tuple[int, ...]
    sha256: str

    def axis_size(self, name: str) -> int | None:
        return self.shape[self.layout.index(name)] if name in self.layout else None

    def label(self) -> str:
        return f"{self.path}[{self.key}]" if self.key else self.path


Input = Union[Forward, ArrayLoad]


@dataclass(frozen=True)
class AttentionSelection:
    """One attention map out of a forward or an array.

    Indices are resolved (non-negative). ``head`` is a head index, or ``"mean"`` /
    ``"max"`` over the heads (of ``kv_group`` if set); ``head`` and ``kv_group`` both
    ``None`` means the mean over all heads. ``layer`` is ``None`` only for arrays
    without a layers axis.
    ``layers`` (first, last), inclusive, makes it a stack: every head of those layers,
    for the analysis kinds (atlas, head-summary, rollout); ``layer`` is then ``None``.
    ``index`` is the position in a figure's ``runs``/``steps`` list (a text's position
    in a head-summary's ``texts``). ``where`` is the
    spec path of the fields it came from (``figures.fig2`` or ``figures.fig2.a``).
    ``model_name`` is the model reference as the spec wrote it: directories with the
    same content share one ``ModelLoad``, named by the first spelling met, but the
    lock and the appendix record what each spec says.
    """

    input: Input
    attention: str
    layer: int | None
    head: int | str | None = None
    kv_group: int | None = None
    index: int | None = None
    where: str = ""
    input_at: Position | None = None
    model_name: str = ""
    layers: tuple[int, int] | None = None

    def maps_read(self) -> tuple[tuple[str, int], ...]:
        """The ``(attention, layer)`` maps of a forward this selection reads."""
        return maps_read(self.attention, self.layer, self.layers)

    def describe(self) -> dict[str, Any]:
        """Plain JSON data saying what the numbers come from (for lock and appendix)."""
        chosen = {"layer": self.layer, "head": self.head, "kv_group": self.kv_group,
                  "layers": list(self.layers) if self.layers else None}
        chosen = {k: v for k, v in chosen.items() if v is not None}
        if isinstance(self.input, ArrayLoad):
            array = self.input
            return {"array": array.path, "key": array.key, "layout": " ".join(array.layout),
                    "sha256": array.sha256, **chosen}
        forward = self.input
        device = {"device": forward.model.device} if forward.model.device != "cpu" else {}
        return {"model": self.model_name or forward.model.label(), "fingerprint": forward.model.fingerprint,
                "dtype": forward.model.dtype, **device, **forward.inputs(), "attention": self.attention,
                "cache_key": forward.key, **chosen}


def maps_read(attention: str, layer: int | None, layers: tuple[int, int] | None) -> tuple[tuple[str, int], ...]:
    """``(attention, layer)`` pairs: one layer, or every layer of an inclusive range."""
    if layers is None:
        return ((attention, layer),)
    return tuple((attention, index) for index in range(layers[0], layers[1] + 1))


@dataclass(frozen=True)
class AnalysisRef:
    """What an analysis figure (atlas, head-summary, rollout) computes from its stacks.

    Indices are resolved against the model (non-negative). ``layers`` is the inclusive
    range every selection reads; ``heads`` the atlas's columns (``None``: all);
    ``heads_per_group`` the query heads sharing one key/value head (1 without
    grouped-query attention); ``statistic`` and ``special`` the head-summary's;
    ``residual`` the rollout's; ``highlight`` the ``(layer, head)`` pairs to outline.
    ``statistic_at`` and ``special_at`` position the checks made once tokens are known.
    """

    layers: tuple[int, int] | None
    heads: tuple[int, ...] | None = None
    heads_per_group: int = 1
    statistic: str | None = None
    special: tuple[int, ...] | None = None
    residual: float | None = None
    highlight: tuple[tuple[int, int], ...] = ()
    path: str = ""
    statistic_at: Position | None = None
    special_at: Position | None = None

    def describe(self) -> dict[str, Any]:
        """The resolved choices, as plain JSON data for the lock's parameters."""
        values = {"layers": list(self.layers) if self.layers else None,
                  "heads": list(self.heads) if self.heads is not None else None,
                  "statistic": self.statistic, "special": list(self.special) if self.special else None,
                  "residual": self.residual, "highlight": [list(pair) for pair in self.highlight] or None}
        return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class BoxRef:
    """A highlight box as the spec wrote it, resolved once the tokens are known.

    Either ``rows``/``cols`` (inclusive cell indices) or ``row_tokens``/``col_tokens``
    (first and last token string of each axis) are set.
    """

    position: Position | None
    path: str
    rows: tuple[int, int] | None = None
    cols: tuple[int, int] | None = None
    row_tokens: tuple[str, str] | None = None
    col_tokens: tuple[str, str] | None = None
    occurrence: str = "first"


@dataclass(frozen=True)
class WindowRef:
    """A ``window:`` as the spec wrote it: inclusive bounds, indices or token strings.

    A side that is ``None`` was left out. ``rows_at``/``cols_at`` are the positions
    of the two sides (the window's own position where a side is left out).
    """

    path: str
    rows: tuple[int | str, int | str] | None = None
    cols: tuple[int | str, int | str] | None = None
    rows_at: Position | None = None
    cols_at: Position | None = None

    def describe(self) -> dict[str, list]:
        return {name: list(getattr(self, name)) for name in ("rows", "cols") if getattr(self, name) is not None}


@dataclass(frozen=True)
class FigureJob:
    """Everything needed to produce one figure's arrays and labels.

    ``selections`` has one entry per map (two for a comparison; one per run/step for
    stability/evolution from checkpoints, or one selecting a whole runs/steps axis).
    ``tokens``/``x_labels``/``y_labels``/``question_end`` are the spec's own values.
    A ``panels`` figure has one job per panel in ``panels``; its ``selections`` are
    theirs, in panel order.
    ``units`` (``tokens`` or ``words``) and ``window`` say which cells are shown.
    ``analysis`` is set for the analysis kinds (atlas, head-summary, rollout).
    """

    figure_id: str
    kind: str
    spec_file: str
    position: Position
    selections: tuple[AttentionSelection, ...]
    output: str
    spec_hash: str
    boxes: tuple[BoxRef, ...] = ()
    tokens: tuple[str, ...] | None = None
    x_labels: tuple[str, ...] | None = None
    y_labels: tuple[str, ...] | None = None
    question_end: int | None = None
    panels: tuple[FigureJob, ...] = ()
    units: str = "tokens"
    window: WindowRef | None = None
    analysis: AnalysisRef | None = None

    def view(self) -> dict[str, Any]:
        """``units``, ``window`` (where not the defaults) and an analysis figure's resolved
        choices (for the lock)."""
        view: dict[str, Any] = {"units": self.units} if self.units != "tokens" else {}
        if self.window is not None:
            view["window"] = self.window.describe()
        if self.analysis is not None:
            view.update(self.analysis.describe())
        return view

    @property
    def stacked(self) -> bool:
        """Stability and evolution figures take one ``(n, query, key)`` stack."""
        return self.kind in ("stability", "evolution")

    @property
    def cache_key(self) -> str:
        """The cache keys / array digests this figure reads, joined in order."""
        parts = [s.input.key if isinstance(s.input, Forward) else s.input.sha256 for s in self.selections]
        return "+".join(dict.fromkeys(parts))

    @property
    def path(self) -> str:
        return f"figures.{self.figure_id}"


class CacheView(Protocol):
    def is_cached(self, forward: Forward) -> bool: ...


@dataclass(frozen=True)
class BuildPlan:
    """Each model, forward and array once, in first-use order, and every figure job."""

    models: tuple[ModelLoad, ...]
    forwards: tuple[Forward, ...]
    arrays: tuple[ArrayLoad, ...]
    figures: tuple[FigureJob, ...]

    def restricted_to(self, figure_ids) -> BuildPlan:
        """The part of the plan that the figures ``figure_ids`` need."""
        wanted = set(figure_ids)
        figures = tuple(job for job in self.figures if job.figure_id in wanted)
        keep: dict[str, set[tuple[str, int]]] = {}
        arrays = set()
        for job in figures:
            for selection in job.selections:
                if isinstance(selection.input, Forward):
                    keep.setdefault(selection.input.key, set()).update(selection.maps_read())
                else:
                    arrays.add(selection.input)
        forwards = tuple(
            replace(forward, keep=tuple(sorted(keep[forward.key])))
            for forward in self.forwards
            if forward.key in keep
        )
        used = {forward.model for forward in forwards}
        return BuildPlan(
            models=tuple(m for m in self.models if m in used),
            forwards=forwards,
            arrays=tuple(a for a in self.arrays if a in arrays),
            figures=figures,
        )

    def describe(self, cache: CacheView | None = None) -> str:
        """Models to load, forwards to run (or cached), arrays to read, as text."""
        lines = [f"models ({len(self.models)}):"]
        for model in self.models:
            lines.append(
                f"  {model.label()}: {model.shape.architecture}, {model.dtype} on {model.device}, "
                f"fingerprint {model.fingerprint[:12]} ({model.ref})"
            )
        lines.append(f"forwards ({len(self.forwards)}):")
        cached = 0
        for forward in self.forwards:
            state = ""
            if cache is not None:
                hit = cache.is_cached(forward)
                cached += hit
                state = "  [cached]" if hit else "  [to run]"
            layers = ", ".join(f"{att} {layer}" for att, layer in forward.keep)
            device = f" ({forward.model.device})" if forward.model.device != "cpu" else ""
            lines.append(
                f"  {forward.key[:12]} {forward.model.label()}{device} on {forward.summary()}"
                f" (layers: {layers}){state}"
            )
        lines.append(f"arrays ({len(self.arrays)}):")
        for array in self.arrays:
            shape = "x".join(map(str, array.shape))
            lines.append(f"  {array.label()}: {' '.join(array.layout)} ({shape}), sha256 {array.sha256[:12]}")
        if cache is not None:
            lines.append(
                f"{len(self.models)} model(s), {len(self.forwards) - cached} forward(s) to run, "
                f"{cached} cached, {len(self.arrays)} array(s), {len(self.figures)} figure(s)"
            )
        return "\n".join(lines)
