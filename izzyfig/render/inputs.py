"""Validate and normalise renderer inputs; every user mistake becomes a RenderError.

Arrays may be NumPy arrays, nested lists or tensors (converted by duck typing, so
torch is never imported here). Values are rounded to 10 significant digits so that
last-bit noise from a different BLAS cannot change the drawn file.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import matplotlib
import numpy as np
from matplotlib.colors import Colormap, is_color_like

from izzyfig import limits
from izzyfig.errors import RenderError

SIGNIFICANT_DIGITS = 10
LARGEST = 1e300  # beyond this, colour scales and rounding overflow
# Upper bounds of named options, the same the spec validates (izzyfig.limits).
UPPER_BOUNDS = {"enlarged_size": limits.MAX_ENLARGED}

Box = tuple[int, int, int, int]


def to_numpy(name: str, value) -> np.ndarray:
    """Convert an array-like or tensor (anything with ``detach``/``numpy``) to float64."""
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "cpu"):
        value = value.cpu()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        try:
            value = value.numpy()
        except TypeError:  # bfloat16 and friends have no NumPy dtype
            value = value.float().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise RenderError(f"{name}: cannot read {type(value).__name__} as a numeric array ({exc})") from None


def quantize(values: np.ndarray) -> np.ndarray:
    """Round to SIGNIFICANT_DIGITS relative to the largest magnitude; -0.0 becomes 0.0."""
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    if scale == 0.0:
        return np.zeros_like(values)
    unit = 10.0 ** max(math.floor(math.log10(scale)), -300)  # scale first: tiny and huge stay finite
    return np.round(values / unit, SIGNIFICANT_DIGITS - 1) * unit + 0.0


def array(name: str, value, ndim: int, axes: str) -> np.ndarray:
    """A finite, non-empty, rounded float64 array with ``ndim`` axes named in ``axes``."""
    arr = to_numpy(name, value)
    if arr.ndim != ndim:
        raise RenderError(f"{name}: expected a {ndim}-D array {axes}, got shape {arr.shape}")
    if arr.size == 0:
        raise RenderError(f"{name}: empty array of shape {arr.shape}")
    if max(arr.shape[-2:]) > limits.MAX_TOKENS:
        raise RenderError(f"{name}: shape {arr.shape} has more than {limits.MAX_TOKENS} rows or columns to draw")
    bad = ~np.isfinite(arr)
    if bad.any():
        first = [int(i) for i in np.argwhere(bad)[0]]
        raise RenderError(f"{name}: {int(bad.sum())} NaN/inf value(s), first at index {first}")
    largest = float(np.max(np.abs(arr)))
    if largest > LARGEST:
        raise RenderError(f"{name}: values too large to draw (max |x| = {largest:.3g} > {LARGEST:g})")
    return quantize(arr)


def matrix(name: str, value) -> np.ndarray:
    """A 2-D attention map of shape (query, key)."""
    return array(name, value, 2, "(query, key)")


def square_matrix(name: str, value) -> np.ndarray:
    """A 2-D attention map whose rows and columns are the same tokens."""
    arr = matrix(name, value)
    if arr.shape[0] != arr.shape[1]:
        raise RenderError(f"{name}: self-attention needs a square matrix, got shape {arr.shape}")
    return arr


def stack(name: str, value, axis: str, minimum: int = 2) -> np.ndarray:
    """A 3-D stack of maps, shape (``axis``, query, key), with at least ``minimum`` maps."""
    arr = array(name, value, 3, f"({axis}, query, key)")
    if arr.shape[0] < minimum:
        raise RenderError(f"{name}: needs at least {minimum} {axis}, got {arr.shape[0]}")
    return arr


def same_shape(name: str, arr: np.ndarray, other_name: str, other: np.ndarray) -> None:
    if arr.shape != other.shape:
        raise RenderError(f"{name}: shape {arr.shape} does not match {other_name} shape {other.shape}")


def labels(name: str, values: Iterable | None, count: int, what: str) -> list[str]:
    """Token labels, one per row or column; ``None`` gives the indices ``0..count-1``."""
    if values is None:
        return [str(i) for i in range(count)]
    if isinstance(values, str):
        raise RenderError(f"{name}: expected a list of token strings, got a single string")
    out = [str(v) for v in values]
    if len(out) != count:
        raise RenderError(f"{name}: got {len(out)} labels for {count} {what}")
    longest = max(range(len(out)), key=lambda i: len(out[i]), default=None)
    if longest is not None and len(out[longest]) > limits.MAX_LABEL:
        raise RenderError(
            f"{name}[{longest}]: a label of {len(out[longest])} characters; the limit is {limits.MAX_LABEL}"
        )
    return out


def text(name: str, value, limit: int = limits.MAX_TITLE) -> str:
    """A title or axis label as a string of at most ``limit`` characters."""
    out = str(value)
    if len(out) > limit:
        raise RenderError(f"{name}: {len(out)} characters; the limit is {limit}")
    return out


def boxes(values: Iterable, shape: tuple[int, int]) -> tuple[Box, ...]:
    """Inclusive (top, left, bottom, right) cell boxes inside a matrix of ``shape``."""
    rows, cols = shape
    out = []
    for i, box in enumerate(values or ()):
        try:
            top, left, bottom, right = (int(v) for v in box)
        except (TypeError, ValueError):
            raise RenderError(f"boxes[{i}]: expected (top, left, bottom, right), got {box!r}") from None
        if top > bottom or left > right:
            raise RenderError(
                f"boxes[{i}]: ({top}, {left}, {bottom}, {right}) is inverted; "
                "need top <= bottom and left <= right"
            )
        if min(top, left) < 0 or bottom >= rows or right >= cols:
            raise RenderError(
                f"boxes[{i}]: ({top}, {left}, {bottom}, {right}) lies outside the "
                f"{rows}x{cols} matrix"
            )
        out.append((top, left, bottom, right))
    return tuple(out)


def colormap(value) -> Colormap:
    """A registered colormap name (or a Colormap instance)."""
    if isinstance(value, Colormap):
        return value
    try:
        return matplotlib.colormaps[value]
    except (KeyError, TypeError):
        raise RenderError(f"cmap: unknown colormap {value!r} (e.g. 'Blues', 'viridis', 'magma')") from None


def color(name: str, value) -> str | tuple:
    if not is_color_like(value):
        raise RenderError(f"{name}: {value!r} is not a matplotlib colour")
    return value


def positive(name: str, value, *, integer: bool = False) -> float:
    """A number > 0 (an int when ``integer``)."""
    number = _number(name, value, integer)
    if not number > 0:
        raise RenderError(f"{name}: must be > 0, got {value!r}")
    return number


def at_least(name: str, value, low: float, *, integer: bool = False) -> float:
    number = _number(name, value, integer)
    if not number >= low:
        raise RenderError(f"{name}: must be >= {low}, got {value!r}")
    high = UPPER_BOUNDS.get(name)
    if high is not None and number > high:
        raise RenderError(f"{name}: must be <= {high:g}, got {value!r}")
    return number


def within(name: str, value, low: float, high: float, *, low_open: bool = False) -> float:
    """A number in [low, high] (or (low, high] when ``low_open``)."""
    number = _number(name, value, False)
    if number > high or number < low or (low_open and number == low):
        bracket = "(" if low_open else "["
        raise RenderError(f"{name}: must be in {bracket}{low}, {high}], got {value!r}")
    return number


def rotation(value) -> int:
    """An x label angle: 45 or 90 degrees."""
    if isinstance(value, bool) or value not in (45, 90):
        raise RenderError(f"label_rotation: must be 45 or 90, got {value!r}")
    return int(value)


def figsize(value: Sequence[float] | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        width, height = (float(v) for v in value)
    except (TypeError, ValueError):
        raise RenderError(f"figsize: expected (width, height) in inches, got {value!r}") from None
    if not (width > 0 and height > 0 and math.isfinite(width) and math.isfinite(height)):
        raise RenderError(f"figsize: width and height must be positive, got {value!r}")
    if max(width, height) > limits.MAX_INCHES:
        raise RenderError(f"figsize: at most {limits.MAX_INCHES:g} inches a side, got {value!r}")
    return (width, height)


def _number(name: str, value, integer: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise RenderError(f"{name}: expected a number, got {value!r}")
    if integer and int(value) != value:
        raise RenderError(f"{name}: expected an integer, got {value!r}")
    if not math.isfinite(float(value)):
        raise RenderError(f"{name}: must be finite, got {value!r}")
    return int(value) if integer else float(value)
