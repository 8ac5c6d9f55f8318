"""Attention maps out of array files and cached layers, never executing file contents.

``.npy``/``.npz`` are read with ``allow_pickle=False``; ``.safetensors`` through the
safetensors package's NumPy API. Nothing here calls ``torch.load``.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from izzyfig.errors import ExtractError
from izzyfig.files import sha256_file
from izzyfig.plan.jobs import ArrayLoad, AttentionSelection, StackShape


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
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise ExtractError(f"cannot read array file '{path}': {error}") from None
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
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as handle:
        return handle.get_tensor(key)


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
