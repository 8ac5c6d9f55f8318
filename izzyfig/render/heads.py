"""Layer and head indices of the analysis kinds (atlas, head-summary): labels and highlights.

The arrays these kinds draw are indexed from 0 along their rows (layers) and columns
(heads); ``layer_ids``/``head_ids`` say which model layer and head each one is, so a
figure of layers 2-4 is labelled ``L2``-``L4``. Grouped-query models label a head with
its key/value group: ``H4 · kv1`` when three query heads share each key/value head.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from izzyfig.errors import RenderError


def indices(name: str, ids: Sequence[int] | None, count: int) -> tuple[int, ...]:
    """``ids`` checked (``count`` distinct integers >= 0), or ``0..count-1``."""
    if ids is None:
        return tuple(range(count))
    if isinstance(ids, (str, bytes)):
        raise RenderError(f"{name}: expected a list of {count} integers, got a string")
    values = tuple(ids)
    if len(values) != count or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0
                                       for v in values):
        raise RenderError(f"{name}: expected {count} integers >= 0 (one per row or column), got {list(values)!r}")
    if len(set(values)) != count:
        raise RenderError(f"{name}: {list(values)!r} lists an index twice")
    return tuple(int(v) for v in values)


def group_size(heads_per_group) -> int | None:
    """Query heads per key/value head: ``None`` (or 1) means no grouped-query labels."""
    if heads_per_group is None:
        return None
    if isinstance(heads_per_group, bool) or not isinstance(heads_per_group, (int, np.integer)) or heads_per_group < 1:
        raise RenderError(f"heads_per_group: expected a positive integer, got {heads_per_group!r}")
    return int(heads_per_group) if heads_per_group > 1 else None


def head_label(head: int, per_group: int | None) -> str:
    """``H4``, or ``H4 · kv1`` with ``per_group`` query heads per key/value head."""
    return f"H{head}" if per_group is None else f"H{head} \N{MIDDLE DOT} kv{head // per_group}"


def highlighted(highlight, layer_ids: tuple[int, ...], head_ids: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """``(row, column)`` of each ``(layer, head)`` pair in ``highlight``; every pair must be drawn."""
    cells = []
    for index, pair in enumerate(highlight or ()):
        try:
            layer, head = (int(v) for v in pair)
        except (TypeError, ValueError):
            raise RenderError(f"highlight[{index}]: expected a (layer, head) pair, got {pair!r}") from None
        if layer not in layer_ids or head not in head_ids:
            raise RenderError(f"highlight[{index}]: ({layer}, {head}) is not drawn (layers {_listed(layer_ids)}, "
                              f"heads {_listed(head_ids)})")
        cells.append((layer_ids.index(layer), head_ids.index(head)))
    return tuple(dict.fromkeys(cells))


def _listed(ids: tuple[int, ...]) -> str:
    if ids == tuple(range(ids[0], ids[-1] + 1)) and len(ids) > 2:
        return f"{ids[0]}-{ids[-1]}"
    return ", ".join(map(str, ids))
