"""Attention maps out of array files and cached layers, never executing file contents.

``.npy``/``.npz`` are read with ``allow_pickle=False``; ``.safetensors`` are read here
from their JSON header and raw little-endian bytes, so float16 and bfloat16 dumps load
without torch (a bfloat16 is the upper half of a float32). Nothing here calls
``torch.load``. Errors never quote the bytes of a file that failed to parse.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from izzyfig.errors import ExtractError
from izzyfig.files import sha256_file
from izzyfig.plan.jobs import ArrayLoad, AttentionSelection, StackShape
from izzyfig.plan.sources import SAFETENSORS_DTYPES, SourceError, safetensors_header


def load_array(array: ArrayLoad) -> np.ndarray:
    """The whole array of ``array`` with the shape the plan saw.

    Raises
    ------
    ExtractError
        If the file changed since planning or cannot be read.
    """
    path = Path(array.path)
    try:
        if sha256_file(path) != array.sha256:
            raise ExtractError(f"array file '{path}' changed since the build was planned; run the build again")
        data = _read(path, array.key)
    except OSError as error:
        raise ExtractError(f"cannot read array file '{path}': {error.strerror or error}") from None
    except SourceError as error:
        raise ExtractError(str(error)) from None
    except (ValueError, KeyError, EOFError, zipfile.BadZipFile):
        raise ExtractError(f"cannot read array file '{path}': it is damaged") from None
    if tuple(data.shape) != array.shape:
        raise ExtractError(f"array '{array.label()}' has shape {data.shape}, expected {array.shape}")
    if data.dtype.kind not in "fiu":
        raise ExtractError(f"array '{array.label()}' has dtype {data.dtype}; attention must be numbers")
    return data if data.dtype.kind == "f" else data.astype(np.float64)


def _read(path: Path, key: str | None) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            return archive[key]
    return read_safetensors(path, key)


def read_safetensors(path: Path, key: str) -> np.ndarray:
    """One tensor of a safetensors file as a NumPy array (bfloat16 becomes float32).

    The header is checked first (``safetensors_header``): offsets inside the file and
    sizes that match the shape.
    """
    entries, data_start = safetensors_header(path)
    entry = entries[key]
    stored = np.dtype(SAFETENSORS_DTYPES[entry.dtype][0])
    count = (entry.end - entry.begin) // stored.itemsize
    with open(path, "rb") as handle:
        handle.seek(data_start + entry.begin)
        values = np.fromfile(handle, dtype=stored, count=count)
    if values.size != count:
        raise ExtractError(f"array file '{path}' is truncated")
    values = values.reshape(entry.shape)
    if entry.dtype == "BF16":
        return bfloat16_to_float32(values)
    return values


def bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    """bfloat16 values, given as their ``uint16`` bit patterns, as float32.

    A bfloat16 is the upper 16 bits of a float32 (sign, 8 exponent bits, 7 mantissa
    bits), so shifting the pattern left by 16 gives the float32 exactly.
    """
    return (bits.astype(np.uint32) << 16).view(np.float32)


def select_from_array(data: np.ndarray, layout: tuple[str, ...], selection: AttentionSelection) -> np.ndarray:
    """One map, or a runs/steps stack of maps, out of an array with named axes.

    Parameters
    ----------
    data
        Array whose axes are named by ``layout`` (e.g. ``runs layers heads query key``).

    Returns
    -------
    ndarray
        ``(query, key)``, or ``(n, query, key)`` when the layout has a runs/steps axis.
        A ``batch`` axis is read at index 0; ``heads`` without a head index is
        aggregated (``head: max`` takes the maximum, otherwise the mean).
    """
    index, kept = [], []
    for axis in layout:
        if axis == "batch":
            index.append(0)
        elif axis == "layers":
            index.append(selection.layer)
        elif axis == "heads" and isinstance(selection.head, int):
            index.append(selection.head)
        else:
            index.append(slice(None))
            kept.append(axis)
    out = data[tuple(index)]
    if "heads" in kept:
        out = aggregate_heads(out, selection.head, kept.index("heads"))
    return np.ascontiguousarray(out)


def stack_from_array(data: np.ndarray, layout: tuple[str, ...], layers: tuple[int, int]) -> np.ndarray:
    """Every head of the inclusive ``layers`` range of an array with named axes.

    Returns
    -------
    ndarray
        ``(layers, heads, query, key)``, whatever the order of the file's leading axes
        (a ``batch`` axis is read at index 0).
    """
    index = tuple(0 if axis == "batch" else slice(layers[0], layers[1] + 1) if axis == "layers" else slice(None)
                  for axis in layout)
    kept = [axis for axis in layout if axis != "batch"]
    out = np.moveaxis(data[index], [kept.index("layers"), kept.index("heads")], [0, 1])
    return np.ascontiguousarray(out)


def select_from_layer(maps: np.ndarray, selection: AttentionSelection, stack: StackShape) -> np.ndarray:
    """One ``(query, key)`` map out of a layer's ``(heads, query, key)`` maps.

    A head index picks that head. Otherwise the heads are aggregated (``head: max``
    takes the maximum, ``head: mean`` or no head the mean): all of them, or with a
    ``kv_group`` the query heads that share that key/value head (grouped-query models
    order query heads group by group).
    """
    if isinstance(selection.head, int):
        return np.ascontiguousarray(maps[selection.head])
    if selection.kv_group is not None:
        size = stack.heads_per_group
        start = selection.kv_group * size
        maps = maps[start:start + size]
    return aggregate_heads(maps, selection.head, 0)


def aggregate_heads(maps: np.ndarray, how: str | None, axis: int) -> np.ndarray:
    """``maps`` reduced over its heads ``axis``: ``"max"``, or the mean (``"mean"``/``None``)."""
    return maps.max(axis=axis) if how == "max" else maps.mean(axis=axis)
