"""The spec language: closed, frozen pydantic models, one per figure kind.

A spec file is ``version: 1``, optional ``defaults:`` and ``figures:`` (id -> figure).
Each figure says where its attention comes from (source fields), which map to take
(selection fields) and how to draw it (render options). Render option names are the
keyword names of the matching ``izzyfig.render`` function, so the build passes
``figure.render_options()`` straight through.
"""
from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, ClassVar, Literal, Union

from izzyfig import page as page_geometry
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from izzyfig import limits
from izzyfig.analysis import STATISTICS

KINDS = (
    "self-attention",
    "question-context",
    "cross-attention",
    "comparison",
    "stability",
    "evolution",
    "regions",
    "panels",
    "atlas",
    "head-summary",
    "rollout",
)
AXES = ("batch", "runs", "steps", "layers", "heads", "query", "key")
OUTPUT_SUFFIXES = (".pdf", ".svg", ".png")
# Output paths: ASCII letters, digits, '_', '-', '.' and '/' only; every other character
# means something to LaTeX (~ { } % # \ $ ^), the shell (" ' spaces) or the file system.
OUTPUT_CHARACTERS = re.compile(r"[A-Za-z0-9_./-]")

NonNegInt = Annotated[int, Field(ge=0)]
PositiveInt = Annotated[int, Field(ge=1)]
PositiveFloat = Annotated[float, Field(gt=0)]
Ratio = Annotated[float, Field(gt=0, le=0.5)]
Unit = Annotated[float, Field(ge=0, le=1)]
# Lists, not tuples: tuples become ``prefixItems``, which yaml-language-server ignores.
IndexPair = Annotated[list[NonNegInt], Field(min_length=2, max_length=2)]
Name = Annotated[str, Field(max_length=100)]  # colormaps, colours
Title = Annotated[str, Field(max_length=limits.MAX_TITLE)]
Label = Annotated[str, Field(max_length=limits.MAX_LABEL)]
Text = Annotated[str, Field(min_length=1, max_length=limits.MAX_TEXT)]
Labels = Annotated[list[Label], Field(max_length=limits.MAX_TOKENS)]
Ref = Annotated[str, Field(max_length=1000)]  # paths, model references, array keys
Checkpoints = Annotated[list[Ref], Field(min_length=2, max_length=limits.MAX_MAPS)]
TokenPair = Annotated[list[Label], Field(min_length=2, max_length=2)]
TextPair = Annotated[list[Text], Field(min_length=2, max_length=2)]
Inches = Annotated[float, Field(gt=0, le=limits.MAX_INCHES)]
Size = Annotated[list[Inches], Field(min_length=2, max_length=2)]


class Strict(BaseModel):
    """Closed, frozen and strict: unknown keys are errors, validated specs never change.

    ``inf`` and ``nan`` are refused: no option means anything with them. Types are
    strict: ``layer: true``, ``layer: 1.0`` and ``layer: "1"`` are not layer 1, and
    ``gamma: "2"`` is not a number (an integer is a valid number).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


# --------------------------------------------------------------------------- boxes
class CellBox(Strict):
    """A highlight box by inclusive cell indices (row = attending token)."""

    rows: IndexPair = Field(description="First and last row, inclusive.")
    cols: IndexPair = Field(description="First and last column, inclusive.")

    @model_validator(mode="after")
    def _ordered(self) -> CellBox:
        for name in ("rows", "cols"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"inverted box: {name} [{lo}, {hi}] must have first <= last")
        return self


class TokenBox(Strict):
    """A highlight box by token strings, resolved against the tokenised input.

    ``tokens: [a, b]`` spans rows and columns from token ``a`` to token ``b``;
    ``row_tokens``/``col_tokens`` set the two axes separately (cross-attention).
    """

    tokens: TokenPair | None = Field(None, description="Start and end token for both axes.")
    row_tokens: TokenPair | None = Field(None, description="Start and end token of the rows.")
    col_tokens: TokenPair | None = Field(None, description="Start and end token of the columns.")
    occurrence: Literal["first", "last"] = Field(
        "first", description="Which occurrence of a repeated token to use."
    )

    @model_validator(mode="after")
    def _one_form(self) -> TokenBox:
        split = self.row_tokens is not None or self.col_tokens is not None
        if self.tokens is not None and split:
            raise ValueError("give either 'tokens' or 'row_tokens'/'col_tokens', not both")
        if self.tokens is None and (self.row_tokens is None or self.col_tokens is None):
            raise ValueError("a token box needs 'tokens' or both 'row_tokens' and 'col_tokens'")
        return self


CELL_BOX_KEYS = frozenset(CellBox.model_fields)
TOKEN_BOX_KEYS = frozenset(TokenBox.model_fields)


def box_form(value: Any) -> str:
    """Which box a value means, from the keys it has: ``"cells"`` or ``"tokens"``.

    Picking the form from the keys (misspelt keys count for the form they resemble)
    makes a bad box report the errors of the form the user meant, not of both.
    """
    if isinstance(value, (CellBox, TokenBox)):
        return "cells" if isinstance(value, CellBox) else "tokens"
    if not isinstance(value, dict):
        return "cells"
    keys = [_closest_box_key(str(key)) for key in value]
    cells = sum(key in CELL_BOX_KEYS for key in keys)
    tokens = sum(key in TOKEN_BOX_KEYS for key in keys)
    return "tokens" if tokens > cells else "cells"


def _closest_box_key(key: str) -> str:
    known = CELL_BOX_KEYS | TOKEN_BOX_KEYS
    if key in known:
        return key
    return (difflib.get_close_matches(key, sorted(known), n=1) or [key])[0]


BOX_FORMS: dict[str, type[Strict]] = {"cells": CellBox, "tokens": TokenBox}
Box = Annotated[
    Union[Annotated[CellBox, Tag("cells")], Annotated[TokenBox, Tag("tokens")]],
    Discriminator(box_form),
]


# --------------------------------------------------------------------------- sources
class ArraySource(Strict):
    """Attention stored in a file instead of computed by a model."""

    path: Ref = Field(
        description="Array file, relative to the spec file (.npy, .npz, .safetensors)."
    )
    key: Ref | None = Field(
        None, description="Array name inside a .npz or .safetensors file."
    )
    layout: Annotated[str, Field(max_length=200)] = Field(
        "query key",
        description="Space-separated axis names, ending with 'query key'; "
        "leading axes from: batch, runs, steps, layers, heads.",
    )

    @field_validator("path")
    @classmethod
    def _suffix(cls, value: str) -> str:
        if not value.endswith((".npy", ".npz", ".safetensors")):
            raise ValueError(f"unsupported array file '{value}' (use .npy, .npz or .safetensors)")
        return value

    @field_validator("layout")
    @classmethod
    def _layout(cls, value: str) -> str:
        axes = value.split()
        unknown = [a for a in axes if a not in AXES]
        if unknown:
            raise ValueError(f"unknown axis '{unknown[0]}' (valid axes: {', '.join(AXES)})")
        if len(set(axes)) != len(axes):
            raise ValueError(f"repeated axis in layout '{value}'")
        if axes[-2:] != ["query", "key"]:
            raise ValueError(f"layout '{value}' must end with 'query key'")
        if "runs" in axes and "steps" in axes:
            raise ValueError("a layout has either a 'runs' or a 'steps' axis, not both")
        return " ".join(axes)

    @property
    def axes(self) -> tuple[str, ...]:
        return tuple(self.layout.split())


DEVICE_PATTERN = r"^(cpu|mps|cuda(:\d+)?)$"


class SourceFields(Strict):
    """Where the attention comes from: a model run on text, or an array file."""

    SOURCE_KEYS: ClassVar[tuple[str, ...]] = ("model", "array", "runs", "steps")

    model: Ref | None = Field(
        None, description="Model alias (e.g. 'minilm'), local directory, or cached hub id."
    )
    revision: Ref | None = Field(None, description="Hub revision of the model.")
    dtype: Literal["float32", "float64", "float16", "bfloat16"] = "float32"
    device: Name = Field(
        "cpu",
        description="Torch device of the forward pass: cpu, mps, cuda or cuda:N.",
        json_schema_extra={"pattern": DEVICE_PATTERN},
    )
    text: Text | None = Field(None, description="Input text for a self-attention map.")
    pair: TextPair | None = Field(None, description="Question and context for a text pair.")
    source: Text | None = Field(None, description="Encoder (source) text.")
    target: Text | None = Field(None, description="Decoder (target) text, teacher-forced.")
    array: ArraySource | None = None
    tokens: Labels | None = Field(None, description="Token labels of an array source (both axes).")
    x_labels: Labels | None = Field(None, description="Column (attended-to) labels; overrides tokens.")
    y_labels: Labels | None = Field(None, description="Row (attending) labels; overrides tokens.")

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not re.fullmatch(DEVICE_PATTERN, value):
            raise ValueError(f"expected 'cpu', 'mps', 'cuda' or 'cuda:N', got '{value}'")
        return value


# ----------------------------------------------------------------- heads, units, windows
HEAD_AGGREGATES = ("mean", "max")


def _head_choice(value: Any) -> int | str:
    if (isinstance(value, int) and not isinstance(value, bool)) or value in HEAD_AGGREGATES:
        return value
    raise ValueError(f"expected an integer, 'mean' or 'max', got {_shown(value)}")


def _window_bound(value: Any) -> int | str:
    if isinstance(value, str) and len(value) > limits.MAX_LABEL:
        raise ValueError(f"expected at most {limits.MAX_LABEL} characters, got {len(value)}")
    if (isinstance(value, int) and not isinstance(value, bool) and value >= 0) or (isinstance(value, str) and value):
        return value
    raise ValueError(f"expected a token index (an integer >= 0) or a token string, got {_shown(value)}")


def _shown(value: Any) -> str:
    from izzyfig.spec.messages import describe  # messages imports this module

    return "an empty string" if value == "" else describe(value)


# ``head``: an index, or how to aggregate the heads (of a ``kv_group`` if one is given).
HeadChoice = Annotated[
    Union[int, str],
    PlainValidator(_head_choice),
    WithJsonSchema({"anyOf": [{"type": "integer"}, {"enum": list(HEAD_AGGREGATES)}]}),
]
WindowBound = Annotated[
    Union[int, str],
    PlainValidator(_window_bound),
    WithJsonSchema(
        {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "minLength": 1, "maxLength": limits.MAX_LABEL}]}
    ),
]
WindowRange = Annotated[list[WindowBound], Field(min_length=2, max_length=2)]


class Window(Strict):
    """A contiguous part of the map: first and last row/column, inclusive.

    Bounds are cell indices or token strings (the first occurrence; resolved like a
    token box, in the figure's units). A side left out is the whole axis, except in
    self-attention and question-context figures, which show one token axis: there it
    is the other side.
    """

    rows: WindowRange | None = Field(None, description="First and last row (index or token), inclusive.")
    cols: WindowRange | None = Field(None, description="First and last column (index or token), inclusive.")

    @model_validator(mode="after")
    def _given_and_ordered(self) -> Window:
        if self.rows is None and self.cols is None:
            raise ValueError("a window needs 'rows', 'cols' or both")
        for name in ("rows", "cols"):
            bounds = getattr(self, name)
            if bounds and all(isinstance(b, int) for b in bounds) and bounds[0] > bounds[1]:
                raise ValueError(f"inverted window: {name} [{bounds[0]}, {bounds[1]}] must have first <= last")
        return self


class ViewFields(Strict):
    """Which cells a figure shows: token or word units, and an optional window.

    Both act on the selected map before it is drawn (attention is always computed on
    the whole input), the same way on every map of a figure.
    """

    VIEW_KEYS: ClassVar[tuple[str, ...]] = ("units", "window")

    units: Literal["tokens", "words"] = Field(
        "tokens",
        description="'words' merges word pieces into words: attention to a word is the sum over its "
        "pieces, from a word the mean over its pieces (Clark et al., 2019).",
    )
    window: Window | None = Field(
        None, description="Show only rows/cols [first, last] of a long input (indices or tokens)."
    )


class SelectFields(Strict):
    """Which map to take from the model's (or array's) attentions."""

    layer: int | None = Field(None, description="Layer index; negative counts from the end.")
    head: HeadChoice | None = Field(
        None,
        description="Head index (negative counts from the end), or 'mean'/'max' over the heads "
        "(over the kv_group's heads if one is given); default: the mean.",
    )
    kv_group: int | None = Field(
        None, description="Grouped-query models: average the query heads sharing this key/value head."
    )
    attention: Literal["self", "encoder", "decoder", "cross"] | None = Field(
        None,
        description="Which attention of an encoder-decoder model; default 'cross' for "
        "cross-attention figures, else 'self' (the encoder's for encoder-decoders).",
    )

    @model_validator(mode="after")
    def _head_or_group(self) -> SelectFields:
        if isinstance(self.head, int) and self.kv_group is not None:
            raise ValueError("give either a 'head' index or 'kv_group', not both "
                             "('head: mean' or 'head: max' aggregate the group's heads)")
        return self


class Selection(SourceFields, SelectFields):
    """One side of a comparison: overrides the figure's own source and selection."""


# --------------------------------------------------------------------------- page and LaTeX
FONTS = ("sans", "serif", "cm")
PLACEMENT_PATTERN = r"^[htbpH!]+$"


class PageSpec(Strict):
    """A page given by its dimensions instead of a preset name."""

    columnwidth: str | None = Field(None, description="Column width, e.g. '3.25in' (default: textwidth).")
    textwidth: str = Field(description="Text block width, e.g. '6.75in', '16cm', '455pt'.")
    textheight: str = Field(description="Text block height, e.g. '9in'.")
    fontsize: Annotated[float, Field(gt=4, le=30)] | str = Field(
        10, description="Body font size in TeX points (a number or a length such as '11pt')."
    )
    columns: Literal[1, 2] | None = Field(None, description="1 or 2; default 2 if columnwidth < textwidth.")

    @field_validator("columnwidth", "textwidth", "textheight")
    @classmethod
    def _length(cls, value: str | None, info) -> str | None:
        if value is not None:
            page_geometry.parse_length(value, what=info.field_name)
        return value

    @model_validator(mode="after")
    def _fits(self) -> PageSpec:
        page_geometry.page_from(self.model_dump())
        return self


def _page_form(value: Any) -> str:
    return "mapping" if isinstance(value, (dict, PageSpec)) else "name"


PageChoice = Annotated[
    Union[Annotated[str, Tag("name")], Annotated[PageSpec, Tag("mapping")]], Discriminator(_page_form)
]


class PrintOptions(Strict):
    """How a figure fits the paper: page geometry, size, fonts, LaTeX float and captions."""

    LATEX_KEYS: ClassVar[frozenset[str]] = frozenset({"placement", "latex_caption", "short_caption"})
    SIZE_KEYS: ClassVar[frozenset[str]] = frozenset({"page", "width", "height", "min_font"})

    mathtext: bool = Field(
        False, description="Parse '$...$' in titles and labels as mathtext (default: drawn literally)."
    )
    page: PageChoice | None = Field(
        None,
        description="Venue preset (" + ", ".join(page_geometry.PRESETS) + ") or a mapping with "
        "columnwidth, textwidth, textheight, fontsize, columns. Draws the figure at its printed size.",
        json_schema_extra={"examples": list(page_geometry.PRESETS)},
    )
    width: str | None = Field(
        None, description="With a page: 'column' (default), 'text', or a length such as '8cm'."
    )
    height: str | None = Field(None, description="With a page: a fixed height such as '6cm'.")
    min_font: Annotated[float, Field(ge=4, le=12)] = Field(
        page_geometry.DEFAULT_MIN_FONT,
        description="With a page: smallest font size in points; labels that do not fit are thinned.",
    )
    font: Literal["sans", "serif", "cm"] = Field(
        "sans", description="sans (DejaVu Sans), serif (STIX, for Times venues) or cm (Computer Modern)."
    )
    placement: str | None = Field(
        None, description="LaTeX float placement, e.g. 't' or 'htbp'.",
        json_schema_extra={"pattern": PLACEMENT_PATTERN},
    )
    latex_caption: str | None = Field(
        None, description="Caption as raw LaTeX (\\cite, \\ref, $math$), written verbatim."
    )
    short_caption: str | None = Field(None, description="Short caption for the list of figures.")

    @field_validator("page")
    @classmethod
    def _page(cls, value):
        if isinstance(value, str):
            page_geometry.page_from(value)
        return value

    @field_validator("width")
    @classmethod
    def _width(cls, value: str | None) -> str | None:
        if value is not None and value not in page_geometry.WIDTH_KEYWORDS:
            try:
                page_geometry.parse_length(value, what="width")
            except page_geometry.LengthError as error:
                raise ValueError(f"{error}, or 'column' or 'text'") from None
        return value

    @field_validator("height")
    @classmethod
    def _height(cls, value: str | None) -> str | None:
        if value is not None:
            page_geometry.parse_length(value, what="height")
        return value

    @field_validator("placement")
    @classmethod
    def _placement(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(PLACEMENT_PATTERN, value):
            raise ValueError(f"expected LaTeX float placement letters from h, t, b, p, H, !, got '{value}'")
        return value

    def print_area(self) -> page_geometry.PrintArea | None:
        """The page area this figure is drawn for; ``None`` without a page."""
        if self.page is None:
            return None
        page = self.page.model_dump() if isinstance(self.page, PageSpec) else self.page
        return page_geometry.print_area(page, self.width, self.height, self.min_font)


def _check_mathtext(value, info):
    """With ``mathtext: true``, a text matplotlib cannot parse is an error at its key."""
    if value is not None and info.data.get("mathtext"):
        from izzyfig.textmath import mathtext_error

        for text in [value] if isinstance(value, str) else value:
            problem = mathtext_error(text)
            if problem:
                raise ValueError(problem)
    return value


# --------------------------------------------------------------------------- options
class FigureBase(PrintOptions, ViewFields):
    """Options every figure kind has."""

    NON_RENDER_KEYS: ClassVar[frozenset[str]] = frozenset({"kind", "output", "caption"}) | PrintOptions.LATEX_KEYS

    title: Title | None = Field(None, description="Figure title; each kind has its own default.")
    xlabel: Title | None = Field(None, description="Label of the x axis (attended-to tokens).")
    ylabel: Title | None = Field(None, description="Label of the y axis (attending tokens).")
    cmap: Name = Field("Blues", description="Matplotlib colormap name.")
    gamma: PositiveFloat = Field(1.5, description="PowerNorm exponent of the colour scale.")
    boxes: list[Box] = Field(default_factory=list, description="Highlight boxes.")
    figsize: Size | None = Field(
        None, description="Figure size in inches (at most 50 a side); default grows with tokens."
    )
    output: str | None = Field(
        None,
        description="Output path relative to the output dir; default '<figure id>.pdf'. "
        "ASCII letters, digits, '_', '-', '.' and '/', at most 100 characters.",
    )
    caption: Annotated[str, Field(max_length=limits.MAX_CAPTION)] | None = Field(
        None, description="Caption of the LaTeX snippet."
    )

    _mathtext = field_validator("title", "xlabel", "ylabel")(_check_mathtext)

    @model_validator(mode="after")
    def _page_keys(self) -> FigureBase:
        given = self.model_fields_set
        if self.page is None:
            needs = sorted(k for k in ("width", "height", "min_font") if k in given)
            if needs:
                raise ValueError(f"'{needs[0]}' needs a 'page' (a preset such as 'acl', or a mapping)")
        if self.figsize is not None and given & {"width", "height"}:
            raise ValueError("give either 'figsize' (inches) or 'width'/'height' (with a page), not both")
        if self.caption is not None and self.latex_caption is not None:
            raise ValueError("give either 'caption' (plain text, escaped) or 'latex_caption' (raw LaTeX), not both")
        return self

    @field_validator("output")
    @classmethod
    def _relative_output(cls, value: str | None) -> str | None:
        if value is None:
            return value
        shown = repr(value if len(value) <= 60 else value[:57] + "...")
        if len(value) > limits.MAX_OUTPUT:
            raise ValueError(f"output {shown} has {len(value)} characters; the limit is {limits.MAX_OUTPUT}")
        bad = next((char for char in value if not OUTPUT_CHARACTERS.match(char)), None)
        if bad is not None:
            raise ValueError(
                f"output {shown} contains {bad!r}; use ASCII letters, digits, '_', '-', '.' and '/' "
                "(LaTeX and the shell give other characters a meaning)"
            )
        if value.startswith("/"):
            raise ValueError(f"output {shown} must be a relative path")
        if ".." in value.split("/"):
            raise ValueError(f"output {shown} escapes the output directory")
        if not value.endswith(OUTPUT_SUFFIXES) or value.rsplit("/", 1)[-1] in OUTPUT_SUFFIXES:
            raise ValueError(f"output {shown} must be a file name ending with one of {', '.join(OUTPUT_SUFFIXES)}")
        return value

    def render_options(self) -> dict[str, Any]:
        """Keyword arguments for the matching ``izzyfig.render`` function."""
        skip = self.NON_RENDER_KEYS | set(SourceFields.model_fields) | set(SelectFields.model_fields)
        skip |= set(ViewFields.VIEW_KEYS)
        skip |= {"a", "b", "runs", "steps", "boxes", "question_end"}
        return {k: getattr(self, k) for k in type(self).model_fields if k not in skip}


class TableLensOptions(Strict):
    """IzzyViz's table-lens heatmap: enlarged top cells, sparse labels for long inputs."""

    top_n: NonNegInt = Field(3, description="Widen the rows/columns of the top-n cells.")
    enlarged_size: Annotated[float, Field(ge=1, le=limits.MAX_ENLARGED)] = Field(
        1.8, description="Width of widened rows/cols, in cells (1 to 10)."
    )
    auto_regions: bool = Field(False, description="Add boxes from key-region detection.")
    length_threshold: PositiveInt = Field(64, description="Above this many tokens, labels turn sparse.")
    if_interval: bool = Field(False, description="Sparse mode: label every 'interval'-th token.")
    if_top_cells: bool = Field(True, description="Sparse mode: label the tokens of top cells.")
    interval: PositiveInt = Field(10, description="Label spacing in sparse mode.")
    show_scores_in_enlarged_cells: bool = True
    label_rotation: Literal[45, 90] = Field(45, description="x label angle (IzzyViz 'lean_more' = 90).")


class LabelRotation(Strict):
    """x label angle of the kinds without table-lens options (45 degrees, as in IzzyViz)."""

    label_rotation: Literal[45, 90] = Field(45, description="x label angle; 90 fits more labels.")


class CircleOptions(Strict):
    circle_scale: PositiveFloat = 1.0
    max_circle_ratio: Ratio = Field(0.45, description="Largest circle radius as a fraction of a cell.")


# --------------------------------------------------------------------------- kinds
class SelfAttentionFigure(FigureBase, TableLensOptions, SourceFields, SelectFields):
    kind: Literal["self-attention"]


class QuestionContextFigure(FigureBase, TableLensOptions, SourceFields, SelectFields):
    kind: Literal["question-context"]
    question_end: PositiveInt | None = Field(
        None, description="Array sources only: tokens before this index are the question."
    )
    titles: Annotated[list[Title], Field(min_length=5, max_length=5)] | None = Field(
        None, description="Titles of the five panels (A->A, B->B, A->B, B->A, all)."
    )

    _mathtext = field_validator("title", "xlabel", "ylabel", "titles")(_check_mathtext)


class CrossAttentionFigure(FigureBase, TableLensOptions, SourceFields, SelectFields):
    kind: Literal["cross-attention"]
    use_case: Literal["cross_attention", "encoder_self_attention", "decoder_self_attention"] = (
        "cross_attention"
    )


class ComparisonFigure(FigureBase, CircleOptions, LabelRotation, SourceFields, SelectFields):
    kind: Literal["comparison"]
    a: Selection = Field(description="Background map (overrides the figure's source/selection).")
    b: Selection = Field(description="Circle map (overrides the figure's source/selection).")


class StabilityFigure(FigureBase, CircleOptions, SourceFields, SelectFields):
    kind: Literal["stability"]
    label_rotation: Literal[45, 90] = Field(90, description="x label angle (IzzyViz draws 90).")
    runs: Checkpoints | None = Field(
        None, description="Checkpoint directories of independent runs (or use an array with a 'runs' axis)."
    )
    use_std_error: bool = True
    linecolor: Name = "white"
    linewidths: Annotated[float, Field(ge=0)] = 1.0
    radial_resolution: Annotated[int, Field(ge=4, le=1000)] = 100
    use_white_center: bool = False
    color_contrast_scale: Annotated[float, Field(ge=0)] = 2.0


class EvolutionFigure(FigureBase, LabelRotation, SourceFields, SelectFields):
    kind: Literal["evolution"]
    steps: Checkpoints | None = Field(
        None, description="Checkpoint directories in training order (or an array with a 'steps' axis)."
    )
    step_labels: Annotated[list[Label], Field(max_length=limits.MAX_MAPS)] | None = Field(
        None, description="Legend names of the steps."
    )

    _mathtext = field_validator("title", "xlabel", "ylabel", "step_labels")(_check_mathtext)
    sparkline_color_dark: Name = "darkblue"
    sparkline_color_light: Name = "white"
    sparkline_linewidth: PositiveFloat = 1.0
    sparkline_alpha: Unit = 0.8
    normalize_sparklines: bool = False


class RegionsFigure(FigureBase, LabelRotation, SourceFields, SelectFields):
    kind: Literal["regions"]
    n_regions: PositiveInt = 3
    min_distance: NonNegInt = 2
    expansion_threshold: PositiveFloat = 0.9
    merge_threshold: Annotated[float, Field(gt=0, le=1)] = 0.6
    proximity_threshold: NonNegInt = 2
    max_expansion_steps: PositiveInt = 3
    region_color: Name = "orange"
    region_linewidth: PositiveFloat = 2.0
    region_alpha: Unit = 0.7
    label_regions: bool = False


# --------------------------------------------------------------------------- analysis kinds
# Overviews of many heads and layers (izzyfig.analysis): each reads whole layers of one
# forward per text, never one map, so they select with 'layers'/'heads', not 'layer'/'head'.
ANALYSIS_KINDS = ("atlas", "head-summary", "rollout")
TOKEN_LABELS = ("auto", "edges", "none")
LayerRange = Annotated[list[int], Field(min_length=2, max_length=2)]
HeadPair = Annotated[list[int], Field(min_length=2, max_length=2)]
Texts = Annotated[list[Text], Field(min_length=1, max_length=limits.MAX_MAPS)]


def _annotate_choice(value: Any) -> int | str:
    if value == "all" or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ValueError(f"expected 'all' or a number of cells (an integer >= 0), got {_shown(value)}")


Annotate = Annotated[
    Union[int, str],
    PlainValidator(_annotate_choice),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0}, {"const": "all"}]}),
]


def _refuse(kind: str, why: str):
    """A field validator refusing a key that ``kind`` ("an atlas") cannot use (runs only when given)."""

    def refuse(value, info):
        raise ValueError(f"'{info.field_name}' does not apply to {kind} figure ({why})")

    return refuse


class AnalysisFields(Strict):
    """Which layers an analysis figure reads, and which heads it outlines."""

    # Keys the planner resolves against the model (and passes on, resolved, with the data).
    PLAN_KEYS: ClassVar[tuple[str, ...]] = ("layers", "heads", "highlight", "texts", "special", "attention")

    layers: LayerRange | None = Field(
        None, description="First and last layer, inclusive (negative counts from the end); default all."
    )
    highlight: list[HeadPair] = Field(
        default_factory=list, description="[layer, head] pairs to outline (negative counts from the end)."
    )
    attention: Literal["self", "encoder", "decoder", "cross"] | None = Field(
        None, description="Which attention of an encoder-decoder model; default its encoder's self-attention.",
    )

    @field_validator("layers")
    @classmethod
    def _ordered_layers(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (value[0] < 0) == (value[1] < 0) and value[0] > value[1]:
            raise ValueError(f"inverted range [{value[0]}, {value[1]}]: the first layer comes after the last")
        return value

    def render_options(self) -> dict[str, Any]:
        """The render options; layers, heads, texts and positions are the plan's, not the renderer's."""
        options = super().render_options()
        return {k: v for k, v in options.items() if k not in self.PLAN_KEYS}


class AtlasFigure(AnalysisFields, FigureBase, SourceFields):
    """Every head of a layer range as small multiples: rows are layers, columns heads."""

    kind: Literal["atlas"]
    PLAN_KEYS: ClassVar[tuple[str, ...]] = AnalysisFields.PLAN_KEYS + ("xlabel", "ylabel")  # refused below
    heads: Annotated[list[int], Field(min_length=1, max_length=limits.MAX_MAPS)] | None = Field(
        None, description="The heads to show, in this order (negative counts from the end); default all."
    )
    token_labels: Literal["auto", "edges", "none"] = Field(
        "auto", description="Tokens at the grid's left and top edges (edges), none, or edges only where "
        "every token fits at min_font without thinning (auto; otherwise the title says they are left out)."
    )
    label_rotation: Literal[45, 90] = Field(90, description="x token label angle.")

    _no_axis_titles = field_validator("xlabel", "ylabel")(
        _refuse("an atlas", "rows are labelled by layer and columns by head"))

    @field_validator("heads")
    @classmethod
    def _distinct_heads(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(set(value)) != len(value):
            repeated = next(h for h in value if value.count(h) > 1)
            raise ValueError(f"head {repeated} is listed twice")
        return value


class HeadSummaryFigure(AnalysisFields, FigureBase, SourceFields):
    """One statistic per head (izzyfig.analysis.head_statistics) as a layers x heads heatmap."""

    kind: Literal["head-summary"]
    statistic: Literal[STATISTICS] = Field(
        description="entropy, distance, previous-token, special, max or induction (see the README's table)."
    )
    texts: Texts | None = Field(
        None, description="Several input texts, one forward each; the statistic is the mean of per-text values."
    )
    special: Annotated[list[int], Field(min_length=1, max_length=limits.MAX_TOKENS)] | None = Field(
        None, description="statistic: special -- the key positions to sum over (negative counts from the end); "
        "default the tokenizer's special tokens."
    )
    annotate: Annotate = Field("all", description="Write the value in every cell ('all') or in the top k cells.")
    gamma: PositiveFloat = Field(1.0, description="PowerNorm exponent of the colour scale (1: linear).")

    _no_window = field_validator("window", "boxes")(
        _refuse("a head-summary", "its cells are heads, not tokens; use highlight to outline heads"))

    @field_validator("texts")
    @classmethod
    def _text_or_texts(cls, value, info):
        if value is not None and info.data.get("text") is not None:
            raise ValueError("give either 'text' or 'texts', not both")
        return value

    @field_validator("special")
    @classmethod
    def _special_statistic(cls, value, info):
        statistic = info.data.get("statistic")
        if value is not None and statistic not in (None, "special"):
            raise ValueError(f"'special' positions apply to statistic: special, not '{statistic}'")
        return value


class RolloutFigure(AnalysisFields, FigureBase, TableLensOptions, SourceFields):
    """Attention rollout (Abnar & Zuidema 2020) over a layer range, drawn like self-attention."""

    kind: Literal["rollout"]
    residual: Unit = Field(0.5, description="Weight of the identity (the residual connection) in every layer.")


# --------------------------------------------------------------------------- panels
# A panel is a figure of any single-map kind; question-context is itself five panels.
PANEL_KINDS = ("self-attention", "cross-attention", "comparison", "stability", "evolution", "regions")
PANEL_CLASSES: dict[str, type[FigureBase]] = {
    "self-attention": SelfAttentionFigure,
    "cross-attention": CrossAttentionFigure,
    "comparison": ComparisonFigure,
    "stability": StabilityFigure,
    "evolution": EvolutionFigure,
    "regions": RegionsFigure,
}
# Keys a panel inherits from its panels figure unless it sets them itself.
INHERITED_RENDER_KEYS = ("xlabel", "ylabel", "cmap", "gamma", "boxes")
# Keys that belong to the whole figure, never to one panel.
FIGURE_ONLY_KEYS = ("output", "caption", "figsize") + tuple(PrintOptions.model_fields)


def panel_kind(value: Any) -> str:
    """The kind of a panel; a panel without ``kind`` is a self-attention panel."""
    if isinstance(value, dict):
        return value.get("kind", "self-attention")
    return getattr(value, "kind", "self-attention")


Panel = Annotated[
    Union[tuple(Annotated[cls, Tag(kind)] for kind, cls in PANEL_CLASSES.items())],
    Discriminator(panel_kind),
]


class PanelsFigure(FigureBase, SourceFields, SelectFields):
    """Several figures of any single-map kind in one grid, on one colour scale where they share it.

    Each panel inherits the figure's source and selection keys (model, text, layer, head,
    ...) and its ``xlabel``, ``ylabel``, ``cmap``, ``gamma`` and ``boxes``, like the
    ``a:``/``b:`` sides of a comparison; ``title`` is the title above all panels.
    """

    kind: Literal["panels"]
    panel: dict[str, Any] = Field(
        default_factory=dict,
        description="Keys applied to every panel whose kind accepts them and that does not set them, "
        "e.g. {kind: regions, top_n: 0}.",
    )
    panels: Annotated[list[Panel], Field(min_length=1, max_length=64)] = Field(
        description="The panels, in reading order; each a figure mapping (kind defaults to self-attention)."
    )
    columns: Annotated[int, Field(ge=1, le=16)] | None = Field(
        None, description="Panels per row (default: all in one row, at most 4)."
    )
    letters: bool = Field(True, description="Prefix panel titles with (a), (b), ...")
    scale: Literal["auto", "shared", "each"] = Field(
        "auto", description="One colour scale and bar for all panels (shared), one per panel (each), "
        "or shared when the panels use the same cmap and gamma (auto)."
    )

    @model_validator(mode="before")
    @classmethod
    def _panel_defaults(cls, data):
        """Every panel gets the ``panel:`` keys it does not set, and a kind."""
        if not isinstance(data, dict) or not isinstance(data.get("panels"), list):
            return data
        shared = data.get("panel") if isinstance(data.get("panel"), dict) else {}
        panels = []
        for panel in data["panels"]:
            if isinstance(panel, dict):
                kind = panel.get("kind", shared.get("kind", "self-attention"))
                accepted = PANEL_CLASSES[kind].model_fields if kind in PANEL_CLASSES else shared
                panel = {"kind": kind, **{k: v for k, v in shared.items() if k in accepted}, **panel}
            panels.append(panel)
        return {**data, "panels": panels}

    @field_validator("panels")
    @classmethod
    def _panel_keys(cls, panels: list) -> list:
        for index, panel in enumerate(panels):
            wrong = sorted(set(panel.model_fields_set) & set(FIGURE_ONLY_KEYS))
            if wrong:
                raise ValueError(f"panels[{index}]: '{wrong[0]}' belongs to the panels figure, not to one panel")
        return panels

    def panel_figures(self) -> list[FigureBase]:
        """Each panel with what it inherits from this figure filled in (see the class doc)."""
        return [self._merged(panel) for panel in self.panels]

    def _merged(self, panel: FigureBase) -> FigureBase:
        own = set(panel.model_fields_set)
        fields = type(panel).model_fields
        shared = set(SourceFields.model_fields) | set(SelectFields.model_fields) | set(INHERITED_RENDER_KEYS)
        shared |= set(ViewFields.VIEW_KEYS)
        if own & set(SourceFields.SOURCE_KEYS):  # a panel naming its own source takes none of ours
            shared -= set(SourceFields.SOURCE_KEYS)
        if own & {"head", "kv_group"}:
            shared -= {"head", "kv_group"}
        data = panel.model_dump(exclude_unset=True)
        for key in sorted(shared & self.model_fields_set & set(fields)):
            if key not in own:
                data[key] = getattr(self, key)
        for key in ("xlabel", "ylabel"):  # panels carry no axis titles unless asked for
            data.setdefault(key, "")
        if "title" not in own:
            data["title"] = _panel_title(panel)
        return type(panel).model_validate(data)

    def render_options(self) -> dict[str, Any]:
        options = super().render_options()
        options["panels"] = [
            {"kind": figure.kind, "options": {k: v for k, v in figure.render_options().items()
                                               if k not in FIGURE_ONLY_KEYS}}
            for figure in self.panel_figures()
        ]
        for key in ("xlabel", "ylabel", "cmap", "gamma", "panel"):  # given to the panels instead
            options.pop(key, None)
        return options


def _panel_title(panel: FigureBase) -> str:
    """A short default title from what the panel sets itself: ``head 3``, ``step1000``."""
    parts = []
    for key in ("model", "layer", "head", "kv_group", "attention"):
        if key in panel.model_fields_set and getattr(panel, key) is not None:
            value = getattr(panel, key)
            if key == "model":
                parts.append(str(value).rstrip("/").rsplit("/", 1)[-1])
            elif key == "kv_group":
                parts.append(f"KV group {value}")
            else:
                parts.append(f"{key} {value}")
    return ", ".join(parts)


Figure = Annotated[
    Union[
        SelfAttentionFigure,
        QuestionContextFigure,
        CrossAttentionFigure,
        ComparisonFigure,
        StabilityFigure,
        EvolutionFigure,
        RegionsFigure,
        PanelsFigure,
        AtlasFigure,
        HeadSummaryFigure,
        RolloutFigure,
    ],
    Field(discriminator="kind"),
]
FIGURE_CLASSES: dict[str, type[FigureBase]] = dict(
    zip(
        KINDS,
        (
            SelfAttentionFigure,
            QuestionContextFigure,
            CrossAttentionFigure,
            ComparisonFigure,
            StabilityFigure,
            EvolutionFigure,
            RegionsFigure,
            PanelsFigure,
            AtlasFigure,
            HeadSummaryFigure,
            RolloutFigure,
        ),
    )
)


class SpecFile(Strict):
    """One YAML file: ``version``, ``defaults`` (merged into each figure), ``figures``."""

    version: Literal[1]
    defaults: dict[str, Any] = Field(
        default_factory=dict, description="Figure keys applied to every figure that accepts them."
    )
    figures: Annotated[dict[str, Figure], Field(min_length=1)]
