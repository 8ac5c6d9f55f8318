"""The planner: validated specs -> ``BuildPlan``, without torch and without running anything.

It resolves model references to directories, fingerprints them (file digests memoised
in the cache dir), reads layer/head counts from ``config.json`` and array shapes from
file headers, checks every index against them, and shares identical forwards across
figures and files. Every problem of every figure is collected and raised once as a
``SpecError`` with spec positions.

Defaults when a spec leaves a selection field out: ``layer`` is the last layer,
``head`` (and ``kv_group``) unset means the mean over all heads, ``attention`` is
``cross`` for cross-attention figures (or what ``use_case`` names) and the encoder's
self-attention otherwise. Sources take precedence ``runs``/``steps`` > ``array`` >
``model``, because ``defaults:`` may put a ``model`` on every figure.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

from izzyfig.errors import Position, SpecError, SpecProblem
from izzyfig.files import canonical_json, sha256_text
from izzyfig.plan.hashing import MEMO_NAME, FileHashes
from izzyfig.plan.jobs import (
    AnalysisRef, ArrayLoad, AttentionSelection, BoxRef, BuildPlan, FigureJob, Forward, ModelLoad, WindowRef, maps_read,
)
from izzyfig.plan.analysis import add_analysis
from izzyfig.spec.models import ANALYSIS_KINDS
from izzyfig.plan.sources import (
    SourceError, array_header, model_fingerprint, model_shape, read_config, resolve_model,
)

# Bump when the cache entry format or the extraction's numbers change.
CACHE_FORMAT = 2
ARRAY_SUFFIXES = (".npy", ".npz", ".safetensors")
# Layout of an array file listed in runs/steps, by number of dimensions.
IMPLIED_LAYOUTS = {2: ("query", "key"), 3: ("heads", "query", "key"), 4: ("layers", "heads", "query", "key")}
CHECKPOINT_AXIS = {"stability": "runs", "evolution": "steps"}
USE_CASE_ATTENTION = {
    "cross_attention": "cross",
    "encoder_self_attention": "encoder",
    "decoder_self_attention": "decoder",
}


@lru_cache(maxsize=1)
def library_versions() -> tuple[tuple[str, str], ...]:
    """Versions in the cache key, read from package metadata (no import).

    transformers and tokenizers in full: a patch release can change tokenisation or a
    model's code. torch by major.minor only: its patch releases change attention values
    by at most a few ulps, which the renderer rounds away, and a torch bugfix should
    not throw away every cached forward.
    """
    versions = []
    for name, parts in (("transformers", None), ("tokenizers", None), ("torch", 2)):
        try:
            version = metadata.version(name).split("+")[0]
        except metadata.PackageNotFoundError:
            version = "none"
        versions.append((name, ".".join(version.split(".")[:parts]) if parts else version))
    return tuple(versions)


def forward_key(model: ModelLoad, inputs: dict[str, Any]) -> str:
    """Cache key: sha256 of canonical JSON of what the attention values depend on.

    The device is part of a forward's identity: a figure on ``cuda`` is another forward
    than the same input on ``cpu`` (its values differ in the last bits, and it can fail
    where the cpu forward does not). ``cpu``, the default, is left out of the key so
    that cache keys made before devices counted stay valid.
    """
    identity = {
        "format": CACHE_FORMAT,
        "model": model.fingerprint,
        "dtype": model.dtype,
        "inputs": inputs,
        "libraries": dict(library_versions()),
    }
    if model.device != "cpu":
        identity["device"] = model.device
    return sha256_text(canonical_json(identity))


def plan_build(specs: Sequence[Any], *, cache_dir: Path | None) -> BuildPlan:
    """Plan every figure of ``specs`` (``LoadedSpec`` objects).

    Parameters
    ----------
    specs
        Loaded, validated spec files; each has ``.figures``, a sequence of
        ``FigureEntry`` (``id``, ``figure``, ``file``, ``position``, ``position_of``).
    cache_dir
        Where the file-digest memo lives (``None``: do not remember digests).

    Raises
    ------
    SpecError
        With every positioned problem found (missing inputs, indices out of range,
        unknown models or arrays).
    """
    hashes = FileHashes(Path(cache_dir) / MEMO_NAME if cache_dir is not None else None)
    planner = Planner(hashes)
    for spec in specs:
        for entry in spec.figures:
            planner.add(entry)
    hashes.save()
    if planner.problems:
        # Runs of one figure share their fields, so one bad index is reported once.
        raise SpecError(list(dict.fromkeys(planner.problems)))
    return planner.plan()


# ----------------------------------------------------------------------------- field views
@dataclass(frozen=True)
class FieldView:
    """A figure's source/selection fields, with a comparison side's overrides on top."""

    entry: Any
    side: str | None = None

    def _override(self, name: str):
        if self.side is None:
            return None
        selection = getattr(self.entry.figure, self.side)
        return selection if name in selection.model_fields_set else None

    def get(self, name: str) -> Any:
        override = self._override(name)
        return getattr(override if override is not None else self.entry.figure, name, None)

    def parts(self, name: str, *more: Any) -> tuple:
        prefix = (self.side,) if self._override(name) is not None else ()
        return (*prefix, name, *more)

    def position(self, name: str, *more: Any) -> Position | None:
        return self.entry.position_of(*self.parts(name, *more))

    def path(self, name: str, *more: Any) -> str:
        return spec_path(self.entry.id, *self.parts(name, *more))

    @property
    def where(self) -> str:
        return spec_path(self.entry.id, *((self.side,) if self.side else ()))


def spec_path(figure_id: str, *parts: Any) -> str:
    """``figures.fig1.boxes[0].rows``: the dotted path used in messages."""
    text = f"figures.{figure_id}"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


# ----------------------------------------------------------------------------- the planner
@dataclass(frozen=True)
class Draft:
    """A selection before forwards are merged: what to read and which map."""

    source: ModelLoad | ArrayLoad
    inputs: tuple[tuple[str, Any], ...]
    attention: str
    layer: int | None
    head: int | str | None
    kv_group: int | None
    index: int | None
    where: str
    input_at: Position | None
    model_name: str = ""  # the model reference as this spec wrote it
    layers: tuple[int, int] | None = None  # a stack of every head of these layers (analysis kinds)


class Planner:
    """Collects figures one by one, then merges their forwards into a ``BuildPlan``."""

    def __init__(self, hashes: FileHashes):
        self.hashes = hashes
        self.problems: list[SpecProblem] = []
        self.models: dict[tuple, ModelLoad] = {}
        # Directories with the same content (a copy, a symlink, a final checkpoint saved
        # twice) are one load: the first spelling met names the load, and every
        # selection keeps the spelling its own spec wrote (for the lock and appendix).
        self.by_content: dict[tuple, ModelLoad] = {}
        self.arrays: dict[tuple, ArrayLoad] = {}
        self.failed_sources: dict[tuple, str] = {}
        self.figures: list[tuple[Any, list[Draft]]] = []
        self.panel_parts: dict[str, list[tuple[Any, list[Draft]]]] = {}
        self.analyses: dict[str, AnalysisRef] = {}

    def problem(self, position: Position | None, path: str, message: str) -> None:
        self.problems.append(SpecProblem(position, path, message))

    # -- figures -----------------------------------------------------------------------
    def add(self, entry: Any) -> None:
        figure = entry.figure
        if figure.kind == "panels":
            self.add_panels(entry)
            return
        if figure.kind in ANALYSIS_KINDS:
            planned = add_analysis(self, FieldView(entry))
            if planned is not None:
                self.figures.append((entry, planned[0]))
                self.analyses[entry.id] = planned[1]
            return
        sides = [FieldView(entry, "a"), FieldView(entry, "b")] if figure.kind == "comparison" else [FieldView(entry)]
        per_side = [self.side_drafts(view) for view in sides]
        if all(per_side):
            self.figures.append((entry, [draft for drafts in per_side for draft in drafts]))

    def add_panels(self, entry: Any) -> None:
        """A ``panels`` figure: each panel is planned like a figure of its own kind."""
        parts = []
        for index, figure in enumerate(entry.figure.panel_figures()):
            before = len(self.figures)
            self.add(PanelEntry(entry, index, figure))
            if len(self.figures) > before:
                parts.append(self.figures.pop())
        if len(parts) == len(entry.figure.panels):
            self.panel_parts[entry.id] = parts
            self.figures.append((entry, [draft for _, drafts in parts for draft in drafts]))

    def side_drafts(self, view: FieldView) -> list[Draft]:
        figure = view.entry.figure
        axis = CHECKPOINT_AXIS.get(figure.kind)
        checkpoints = getattr(figure, axis, None) if axis else None
        if checkpoints:
            return self.checkpoint_drafts(view, axis, checkpoints)
        if view.get("array") is not None:
            draft = self.array_draft(view, axis)
            return [draft] if draft else []
        if view.get("model") is not None:
            model = self.model_load(view, view.get("model"), view.position("model"), view.path("model"))
            draft = model and self.model_draft(view, model, name=view.get("model"))
            return [draft] if draft else []
        if axis:
            wanted = f"'{axis}' (checkpoint directories) or an 'array' with a '{axis}' axis"
        else:
            wanted = "'model' (with its text) or 'array'"
        self.problem(view.entry.position_of(*((view.side,) if view.side else ())), view.where,
                     f"no attention source: give {wanted}")
        return []

    def checkpoint_drafts(self, view: FieldView, axis: str, checkpoints: list[str]) -> list[Draft]:
        drafts = []
        for index, ref in enumerate(checkpoints):
            position, path = view.entry.position_of(axis, index), spec_path(view.entry.id, axis, index)
            if ref.endswith(ARRAY_SUFFIXES):
                array = self.array_load(view, ref, None, None, position, path)
                draft = array and self.select_array(view, array, index, position)
            else:
                model = self.model_load(view, ref, position, path)
                draft = model and self.model_draft(view, model, index, name=ref)
            if draft:
                drafts.append(draft)
        return drafts if len(drafts) == len(checkpoints) else []

    # -- models ------------------------------------------------------------------------
    def model_load(self, view: FieldView, ref: str, position: Position | None, path: str) -> ModelLoad | None:
        revision, dtype, device = view.get("revision"), view.get("dtype"), view.get("device")
        base = Path(view.entry.file).parent
        memo = ("model", str(base), ref, revision, dtype, device)
        if memo in self.failed_sources:
            self.problem(position, path, self.failed_sources[memo])
            return None
        if memo not in self.models:
            try:
                model_dir = resolve_model(ref, revision, base)
                shape = model_shape(read_config(model_dir))
                fingerprint = model_fingerprint(model_dir, self.hashes)
            except (SourceError, OSError) as error:
                self.failed_sources[memo] = str(error)
                self.problem(position, path, str(error))
                return None
            load = ModelLoad(str(model_dir), revision, dtype, device, fingerprint, shape, ref)
            self.models[memo] = self.by_content.setdefault((fingerprint, dtype, device), load)
        return self.models[memo]

    def model_draft(self, view: FieldView, model: ModelLoad, index: int | None = None,
                    name: str = "") -> Draft | None:
        shape = model.shape
        attention = self.attention_of(view, model)
        inputs = self.inputs_of(view, model, attention) if attention else None
        if attention is None or inputs is None:
            return None
        stack = shape.stack(attention)
        qualifier = f"{attention} " if shape.architecture == "encoder-decoder" else ""
        owner = f"model '{model.label()}'"
        known = len(self.problems)
        layer = self.index(view, "layer", stack.layers, f"{owner} ({stack.layers} {qualifier}layers)")
        head = self.index(view, "head", stack.heads, f"{owner} ({stack.heads} {qualifier}heads)")
        group = self.index(view, "kv_group", stack.kv_heads, f"{owner} ({stack.kv_heads} key/value heads)")
        if len(self.problems) > known:
            return None
        field = inputs[0][0]
        if field == "source" and view.get("source") is None:
            field = "text"  # an encoder-decoder reads 'text' as its source
        return Draft(model, inputs, attention, stack.layers - 1 if layer is None else layer, head, group,
                     index, view.where, view.position(field), name)

    def attention_of(self, view: FieldView, model: ModelLoad) -> str | None:
        """Which attention the figure reads, normalised to the model's stacks."""
        figure = view.entry.figure
        asked = view.get("attention")
        if asked is None and figure.kind == "cross-attention":
            asked = USE_CASE_ATTENTION[figure.use_case]
        if model.shape.architecture == "encoder-decoder":
            return "encoder" if asked in (None, "self") else asked
        if asked in (None, "self") or asked == model.shape.architecture:
            return "self"
        field = "attention" if view.get("attention") else "model"
        self.problem(view.position(field), view.path(field),
                     f"'{asked}' attention needs an encoder-decoder model; "
                     f"model '{model.label()}' is {model.shape.architecture}-only (use 'self')")
        return None

    def inputs_of(self, view: FieldView, model: ModelLoad, attention: str) -> tuple | None:
        """The forward's input texts as ``((name, value), ...)``, checked against the model."""
        if model.shape.architecture == "encoder-decoder":
            values = self.encoder_decoder_inputs(view, model, attention)
        else:
            values = self.single_stack_inputs(view, model)
        return tuple((k, v) for k, v in values.items() if v is not None) if values else None

    def encoder_decoder_inputs(self, view: FieldView, model: ModelLoad, attention: str) -> dict | None:
        name, source, target = model.label(), view.get("source") or view.get("text"), view.get("target")
        if view.get("pair") is not None:
            self.problem(view.position("pair"), view.path("pair"),
                         f"a text pair needs an encoder or decoder model; '{name}' is an encoder-decoder "
                         "(give 'source' and 'target')")
            return None
        if source is None or (target is None and attention != "encoder"):
            need = "'source'" if target is not None or attention == "encoder" else "'source' and 'target'"
            self.problem(view.position("model"), view.path("model"),
                         f"encoder-decoder model '{name}' needs {need} text for {attention} attention")
            return None
        return {"source": source, "target": target}

    def single_stack_inputs(self, view: FieldView, model: ModelLoad) -> dict | None:
        name, text, pair = model.label(), view.get("text"), view.get("pair")
        for field in ("source", "target"):
            if view.get(field) is not None:
                self.problem(view.position(field), view.path(field),
                             f"'source'/'target' need an encoder-decoder model; '{name}' is "
                             f"{model.shape.architecture}-only (use 'text' or 'pair')")
                return None
        if view.entry.figure.kind == "question-context" or (text is None and pair is not None):
            if pair is not None:
                return {"pair": tuple(pair)}
            message = "question-context figures need 'pair: [question, context]'"
        elif text is not None:
            return {"text": text}
        else:
            message = f"model '{name}' needs 'text' (or 'pair') to run on"
        # At the figure (or comparison side) that lacks the input, not at its model,
        # which may be written once in 'defaults:' for every figure.
        self.problem(view.entry.position_of(*((view.side,) if view.side else ())), view.where, message)
        return None

    def index(self, view: FieldView, name: str, size: int, owner: str) -> int | None:
        """The resolved non-negative index; ``None`` if unset or out of range (a problem).

        ``head: mean`` / ``head: max`` name no index and pass through as they are.
        """
        value = view.get(name)
        if value is None or isinstance(value, str):
            return value
        if not -size <= value < size:
            self.problem(view.position(name), view.path(name), f"{value} is out of range for {owner}")
            return None
        return value % size

    # -- arrays ------------------------------------------------------------------------
    def array_draft(self, view: FieldView, axis: str | None) -> Draft | None:
        spec = view.get("array")
        position, path = view.position("array", "path"), view.path("array", "path")
        array = self.array_load(view, spec.path, spec.key, spec.axes, position, path)
        if array is None:
            return None
        extra = [a for a in ("runs", "steps") if a in array.layout and a != axis]
        if extra or (axis and axis not in array.layout):
            if axis:
                message = f"a {view.entry.figure.kind} figure needs an array with a '{axis}' axis " \
                          f"or a list of '{axis}'"
            else:
                message = f"a '{extra[0]}' axis needs a {'stability' if extra[0] == 'runs' else 'evolution'} figure"
            self.problem(view.position("array", "layout"), view.path("array", "layout"),
                         f"{message} (layout '{' '.join(array.layout)}')")
            return None
        return self.select_array(view, array, None, position)

    def array_load(self, view: FieldView, ref: str, key: str | None, layout: tuple[str, ...] | None,
                   position: Position | None, path: str) -> ArrayLoad | None:
        # Not resolve(): a link is checked (and recorded) as the spec names it.
        file = Path(os.path.normpath(Path(view.entry.file).parent.absolute() / ref))
        try:
            shape, key = array_header(file, key)
            layout = layout or IMPLIED_LAYOUTS.get(len(shape))
            if layout is None:
                raise SourceError(f"array '{ref}' has {len(shape)} dimensions; a runs/steps entry "
                                  "needs (query, key), (heads, query, key) or (layers, heads, query, key)")
            if len(layout) != len(shape):
                raise SourceError(f"array '{ref}' has shape {shape}, which does not match the "
                                  f"layout '{' '.join(layout)}' ({len(layout)} axes)")
            digest = self.hashes.of(file)
        except (SourceError, OSError) as error:
            self.problem(position, path, str(error))
            return None
        array = ArrayLoad(str(file), key, tuple(layout), shape, digest)
        return self.arrays.setdefault((array.path, key, array.layout), array)

    def select_array(self, view: FieldView, array: ArrayLoad, index: int | None,
                     position: Position | None) -> Draft | None:
        owner = f"array '{Path(array.path).name}'"
        known = len(self.problems)
        chosen = {}
        for name, axis in (("layer", "layers"), ("head", "heads")):
            size = array.axis_size(axis)
            if size is not None:
                chosen[name] = self.index(view, name, size, f"{owner} ({size} {axis})")
            elif view.get(name) is not None:
                self.problem(view.position(name), view.path(name),
                             f"{owner} has no '{axis}' axis (layout '{' '.join(array.layout)}')")
        if view.get("kv_group") is not None:
            self.problem(view.position("kv_group"), view.path("kv_group"),
                         "'kv_group' needs a model (an array does not say which heads share keys)")
        if len(self.problems) > known:
            return None
        layers = array.axis_size("layers")
        layer = chosen.get("layer")
        if layers is not None and layer is None:
            layer = layers - 1  # the last layer, as for models
        return Draft(array, (), "self", layer, chosen.get("head"), None, index, view.where, position)

    # -- merging -----------------------------------------------------------------------
    def plan(self) -> BuildPlan:
        forwards: dict[str, Forward] = {}
        keep: dict[str, set[tuple[str, int]]] = {}
        for _, drafts in self.figures:
            for draft in drafts:
                if isinstance(draft.source, ModelLoad):
                    forward = make_forward(draft.source, dict(draft.inputs))
                    forwards.setdefault(forward.key, forward)
                    keep.setdefault(forward.key, set()).update(maps_read(draft.attention, draft.layer, draft.layers))
        forwards = {key: replace(f, keep=tuple(sorted(keep[key]))) for key, f in forwards.items()}
        jobs = tuple(self.job(entry, drafts, forwards) for entry, drafts in self.figures)
        used_models = dict.fromkeys(f.model for f in forwards.values())
        used_arrays = dict.fromkeys(s.input for job in jobs for s in job.selections if isinstance(s.input, ArrayLoad))
        return BuildPlan(tuple(used_models), tuple(forwards.values()), tuple(used_arrays), jobs)

    def job(self, entry: Any, drafts: list[Draft], forwards: dict[str, Forward]) -> FigureJob:
        selections = []
        for d in drafts:
            source = d.source
            if isinstance(source, ModelLoad):
                source = forwards[make_forward(source, dict(d.inputs)).key]
            selections.append(AttentionSelection(source, d.attention, d.layer, d.head, d.kv_group, d.index,
                                                 d.where, d.input_at, d.model_name, d.layers))
        figure = entry.figure
        panels = tuple(self.job(part, drafts, forwards) for part, drafts in self.panel_parts.get(entry.id, ()))
        return FigureJob(
            figure_id=entry.id,
            kind=figure.kind,
            spec_file=str(entry.file),
            position=entry.position,
            selections=tuple(selections),
            output=figure.output or f"{entry.id}.pdf",
            spec_hash=sha256_text(canonical_json(figure.model_dump(mode="json"))),
            boxes=box_refs(entry),
            tokens=_tuple(getattr(figure, "tokens", None)),
            x_labels=_tuple(getattr(figure, "x_labels", None)),
            y_labels=_tuple(getattr(figure, "y_labels", None)),
            question_end=getattr(figure, "question_end", None),
            panels=panels,
            units=figure.units,
            window=window_ref(entry),
            analysis=self.analyses.get(entry.id),
        )


@dataclass(frozen=True)
class PanelEntry:
    """One panel of a ``panels`` figure, planned like a figure: ``figures.<id>.panels[i]``.

    A key the panel sets is found under ``panels[i]``; an inherited one at the figure.
    """

    parent: Any
    index: int
    figure: Any

    @property
    def id(self) -> str:
        return f"{self.parent.id}.panels[{self.index}]"

    @property
    def file(self):
        return self.parent.file

    @property
    def position(self):
        return self.parent.position_of("panels", self.index)

    def position_of(self, *path):
        own = self.parent.figure.panels[self.index].model_fields_set
        if path and path[0] in own:
            return self.parent.position_of("panels", self.index, *path)
        return self.parent.position_of(*path)


def make_forward(model: ModelLoad, inputs: dict[str, Any]) -> Forward:
    json_inputs = {k: list(v) if isinstance(v, tuple) else v for k, v in inputs.items()}
    return Forward(model=model, key=forward_key(model, json_inputs), **inputs)


def box_refs(entry: Any) -> tuple[BoxRef, ...]:
    refs = []
    for index, box in enumerate(entry.figure.boxes):
        where = (entry.position_of("boxes", index), spec_path(entry.id, "boxes", index))
        if hasattr(box, "rows"):
            refs.append(BoxRef(*where, rows=tuple(box.rows), cols=tuple(box.cols)))
        else:
            rows = box.row_tokens or box.tokens
            cols = box.col_tokens or box.tokens
            refs.append(BoxRef(*where, row_tokens=tuple(rows), col_tokens=tuple(cols), occurrence=box.occurrence))
    return tuple(refs)


def window_ref(entry: Any) -> WindowRef | None:
    window = entry.figure.window
    if window is None:
        return None
    sides = {name: tuple(getattr(window, name)) for name in ("rows", "cols") if getattr(window, name) is not None}
    return WindowRef(spec_path(entry.id, "window"), **sides,
                     rows_at=entry.position_of("window", "rows"), cols_at=entry.position_of("window", "cols"))


def _tuple(values: list | None) -> tuple | None:
    return tuple(values) if values is not None else None
