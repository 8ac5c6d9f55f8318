"""Attention analysis in NumPy: rollout, per-head statistics, head aggregates.

Pure functions over attention arrays shaped ``(layers, heads, query, key)``, where
``maps[l, h, i, j]`` is how much query position ``i`` attends to key position ``j``
in head ``h`` of layer ``l`` (each row a probability distribution). No torch, no
matplotlib: the figure kinds that draw these numbers (atlas, head-summary, rollout)
call them on arrays the extraction layer produced, and tests compare them with plain
Python loops.

Layers and heads are 0-based. Every statistic is computed in float64; arrays may be
any real dtype. Invalid input raises :class:`izzyfig.errors.AnalysisError` with a
one-line message.

References: Abnar & Zuidema 2020, *Quantifying Attention Flow in Transformers*
(rollout); Clark et al. 2019, *What Does BERT Look At?* (entropy, distance, attention
to special tokens); Olsson et al. 2022, *In-context Learning and Induction Heads*
(previous-token and induction scores).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Integral, Real

import numpy as np

from izzyfig.errors import AnalysisError
from izzyfig.special_tokens import is_special_token, special_positions

STATISTICS = ("entropy", "distance", "previous-token", "special", "max", "induction")
# Statistics that relate query and key positions, so both axes must be one sequence.
POSITIONAL = frozenset({"distance", "previous-token", "induction"})
AGGREGATES = ("mean", "max")
AXES = {"layers": 0, "heads": 1}
MAPS_SHAPE = "(layers, heads, query, key)"

# A statistic of one layer: ``(heads, query, key)`` float64 -> ``(heads,)``.
LayerStatistic = Callable[[np.ndarray], np.ndarray]


# ----------------------------------------------------------------------------- rollout
def attention_rollout(maps, residual: float = 0.5, layers: tuple[int, int] | None = None) -> np.ndarray:
    """Attention rollout across layers (Abnar & Zuidema 2020).

    Each layer's heads are averaged and mixed with the identity, standing for the
    residual connection, and the rows are renormalised:

    ``Â_l = norm(residual · I + (1 − residual) · mean_h A_l)``, where ``norm`` divides
    every row by its sum.

    The rollout over the inclusive layer range ``first..last`` is the product

    ``R = Â_last ⋯ Â_(first+1) · Â_first``,

    so ``R[i, j]`` is how much of position ``i``'s representation after layer
    ``last`` flows from input position ``j``. Every row of ``R`` sums to 1.

    Parameters
    ----------
    maps
        Attention of shape ``(layers, heads, n, n)``.
    residual
        Weight of the identity, in ``[0, 1]``; 1 gives ``R = I``, 0 the plain product
        of the head means.
    layers
        Inclusive ``(first, last)`` layer range; negative indices count from the end.
        ``None`` rolls out every layer.

    Returns
    -------
    numpy.ndarray
        ``R``, float64 of shape ``(n, n)``.
    """
    array = _attention(maps, square=True)
    weight = _fraction(residual, "residual")
    first, last = layer_range(layers, array.shape[0])
    rollout = np.eye(array.shape[-1])
    for layer in range(first, last + 1):
        rollout = residual_attention(array[layer], weight, layer) @ rollout
    return rollout


def residual_attention(heads: np.ndarray, residual: float, layer: int = 0) -> np.ndarray:
    """``Â = norm(residual · I + (1 − residual) · mean_h A)`` of one layer.

    Parameters
    ----------
    heads
        One layer's attention, shape ``(heads, n, n)``.
    residual
        Weight of the identity, in ``[0, 1]``.
    layer
        The layer's index, for the error message only.

    Returns
    -------
    numpy.ndarray
        Float64 ``(n, n)`` with rows summing to 1.
    """
    mixed = (1.0 - residual) * heads.mean(axis=0, dtype=np.float64)
    mixed[np.diag_indices_from(mixed)] += residual
    sums = mixed.sum(axis=1, keepdims=True)
    empty = np.flatnonzero(sums[:, 0] <= 0)
    if empty.size:
        raise AnalysisError(f"rollout: row {empty[0]} of layer {layer} has no attention in any head, "
                            "so it cannot be renormalised (use residual > 0)")
    return mixed / sums


def layer_range(layers: tuple[int, int] | None, count: int) -> tuple[int, int]:
    """The non-negative inclusive ``(first, last)`` of ``layers`` among ``count`` layers."""
    if layers is None:
        return 0, count - 1
    if (isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or len(layers) != 2
            or not all(_is_int(value) for value in layers)):
        raise AnalysisError(f"layers must be a (first, last) pair of integers, got {layers!r}")
    first, last = (int(value) for value in layers)
    for value in (first, last):
        if not -count <= value < count:
            raise AnalysisError(f"layer {value} is out of range for {count} layers")
    first, last = first % count, last % count
    if first > last:
        raise AnalysisError(f"layers ({first}, {last}): the first layer comes after the last")
    return first, last


# ----------------------------------------------------------------------------- statistics
def head_statistics(maps, statistic: str, tokens: Sequence[str] | None = None,
                    special: Sequence[int] | None = None) -> np.ndarray:
    """One number per head: a statistic of its attention rows, averaged over queries.

    With ``p = maps[l, h]`` of shape ``(q, k)``, each statistic is the mean over the
    query rows ``i`` of a per-row value:

    ============== ======================================= =============================
    statistic      per-row value                           rows averaged
    ============== ======================================= =============================
    entropy        ``−Σ_j p_ij ln p_ij`` (nats, 0·ln 0 = 0) all ``i``
    distance       ``Σ_j p_ij |i − j|`` (tokens)           all ``i``
    previous-token ``p_{i, i−1}``                          ``1 ≤ i < n``
    special        ``Σ_{j ∈ S} p_ij``                      all ``i``
    max            ``max_j p_ij``                          all ``i``
    induction      ``p_{i, i−m+1}``                        the second half
    ============== ======================================= =============================

    ``distance``, ``previous-token`` and ``induction`` compare query and key
    positions, so they need square maps (``q = k = n``).

    ``special``: ``S`` is the explicit index list ``special`` (negative indices count
    from the end), or the positions of ``tokens`` that are tokenizer markers
    (``[CLS]``, ``</s>``, ``<|endoftext|>``, ...). Give one of the two.

    ``induction``: the sequence is ``w_1 … w_m w_1 … w_m``, optionally after one
    leading BOS token, so ``n = 2m`` or ``2m + 1``. A token ``i`` of the second half
    has seen its own token ``m`` positions earlier; an induction head attends to the
    token that followed it there, at ``i − m + 1``. With ``tokens``, the leading BOS
    is the first token if it is a special token, and the repetition is checked (an
    error says where it breaks). Without ``tokens`` the repetition is taken as given
    and an odd ``n`` means a leading BOS. ``m`` must be at least 2.

    Parameters
    ----------
    maps
        Attention of shape ``(layers, heads, query, key)``.
    statistic
        One of ``STATISTICS``.
    tokens
        The key axis's tokens, ``key`` strings (raw tokenizer tokens or labels).
    special
        Key positions for ``special``.

    Returns
    -------
    numpy.ndarray
        Float64 ``(layers, heads)``.
    """
    if statistic not in STATISTICS:
        raise AnalysisError(f"unknown statistic {statistic!r}; expected one of: {', '.join(STATISTICS)}")
    array = _attention(maps, square=statistic in POSITIONAL, purpose=f"the '{statistic}' statistic")
    tokens = _tokens(tokens, array.shape[-1])
    per_layer = _layer_statistic(statistic, array.shape[-2:], tokens, special)
    values = np.empty(array.shape[:2])
    for layer in range(array.shape[0]):
        values[layer] = per_layer(array[layer].astype(np.float64, copy=False))
    return values


def corpus_head_statistics(maps: Sequence, statistic: str, tokens: Sequence[Sequence[str]] | None = None,
                           special: Sequence[int] | None = None) -> np.ndarray:
    """A statistic over several texts: the mean of the per-text head statistics.

    ``S̄[l, h] = (1/T) Σ_t head_statistics(maps[t], statistic, tokens[t], special)[l, h]``

    Texts may differ in length; each counts once, whatever its number of tokens.

    Parameters
    ----------
    maps
        ``T`` attention arrays, each ``(layers, heads, query_t, key_t)`` with the same
        layers and heads.
    statistic
        One of ``STATISTICS``.
    tokens
        ``T`` token lists (one per text), or ``None``.
    special
        Key positions for ``special``, the same for every text; negative indices
        count from the end of each text (``[-1]`` is every text's last token).

    Returns
    -------
    numpy.ndarray
        Float64 ``(layers, heads)``.
    """
    if isinstance(maps, np.ndarray) or not isinstance(maps, Sequence) or not maps:
        raise AnalysisError("maps must be a non-empty list of per-text attention arrays")
    if tokens is not None and len(tokens) != len(maps):
        raise AnalysisError(f"got {len(tokens)} token lists for {len(maps)} texts")
    per_text = []
    for index, text_maps in enumerate(maps):
        try:
            per_text.append(head_statistics(text_maps, statistic, tokens[index] if tokens else None, special))
        except AnalysisError as error:
            raise AnalysisError(f"text {index}: {error}") from None
        if per_text[-1].shape != per_text[0].shape:
            raise AnalysisError(f"text {index} has {per_text[-1].shape[0]} layers x {per_text[-1].shape[1]} "
                                f"heads, text 0 has {per_text[0].shape[0]} x {per_text[0].shape[1]}")
    return np.mean(per_text, axis=0)


def _layer_statistic(statistic: str, shape: tuple[int, int], tokens: tuple[str, ...] | None,
                     special: Sequence[int] | None) -> LayerStatistic:
    """The function computing ``statistic`` for one ``(heads, q, k)`` layer."""
    queries, keys = shape
    if statistic == "entropy":
        return _entropy
    if statistic == "max":
        return lambda p: p.max(axis=-1).mean(axis=-1)
    if statistic == "distance":
        offsets = np.abs(np.subtract.outer(np.arange(queries), np.arange(keys))).astype(np.float64)
        return lambda p: (p * offsets).sum(axis=-1).mean(axis=-1)
    if statistic == "special":
        columns = np.asarray(_special_columns(tokens, special, keys))
        return lambda p: p[:, :, columns].sum(axis=-1).mean(axis=-1)
    if statistic == "previous-token":
        if queries < 2:
            raise AnalysisError("the 'previous-token' statistic needs at least 2 tokens")
        rows = np.arange(1, queries)
        return lambda p: p[:, rows, rows - 1].mean(axis=-1)
    rows, columns = induction_positions(queries, tokens)
    return lambda p: p[:, rows, columns].mean(axis=-1)


def _entropy(p: np.ndarray) -> np.ndarray:
    logs = np.zeros_like(p)
    np.log(p, out=logs, where=p > 0)  # 0 · ln 0 = 0: zero weights add nothing
    return -(p * logs).sum(axis=-1).mean(axis=-1)


def induction_positions(n: int, tokens: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``i`` of the second half and the columns ``i − m + 1`` an induction head reads.

    Parameters
    ----------
    n
        Sequence length: ``2m``, or ``2m + 1`` with a leading BOS.
    tokens
        The ``n`` tokens; when given, the BOS is read from them and the repetition
        is checked. Without them, an odd ``n`` means a leading BOS.

    Returns
    -------
    tuple of numpy.ndarray
        ``(rows, columns)``, each of length ``m``.
    """
    if tokens is None:
        start = n % 2
    else:
        start = 1 if tokens and is_special_token(tokens[0]) else 0
    body = n - start
    bos = f" after the leading '{tokens[0]}'" if tokens is not None and start else ""
    if body % 2:
        raise AnalysisError(f"the 'induction' statistic needs a sequence whose second half repeats the first; "
                            f"{body} tokens{bos} cannot be split in two halves")
    if body < 4:
        raise AnalysisError(f"the 'induction' statistic needs at least 2 tokens repeated; got {body} tokens{bos}")
    half = body // 2
    if tokens is not None:
        for offset in range(half):
            first, second = tokens[start + offset], tokens[start + half + offset]
            if first != second:
                raise AnalysisError(f"the 'induction' statistic needs the second half to repeat the first: token "
                                    f"{start + half + offset} {second!r} differs from token {start + offset} {first!r}")
    rows = np.arange(start + half, n)
    return rows, rows - half + 1


def _special_columns(tokens: tuple[str, ...] | None, special: Sequence[int] | None, keys: int) -> list[int]:
    """The key positions ``S`` of the ``special`` statistic, ascending and distinct."""
    if (tokens is None) == (special is None):
        raise AnalysisError("the 'special' statistic needs either tokens (to find the special tokens) "
                            "or an explicit list of special positions, not " + ("both" if tokens else "neither"))
    if tokens is not None:
        found = special_positions(tokens)
        if not found:
            raise AnalysisError("the 'special' statistic found no special token ([CLS], </s>, <|endoftext|>, ...) "
                                "among the tokens; give the positions explicitly")
        return list(found)
    if isinstance(special, (str, bytes)) or not isinstance(special, Sequence) or not special:
        raise AnalysisError(f"special must be a non-empty list of key positions, got {special!r}")
    columns = set()
    for value in special:
        if not _is_int(value) or not -keys <= value < keys:
            raise AnalysisError(f"special position {value!r} is not a key position (0..{keys - 1}, or negative)")
        columns.add(int(value) % keys)
    return sorted(columns)


# ----------------------------------------------------------------------------- aggregates
def aggregate(maps, over: str = "heads", how: str = "mean") -> np.ndarray:
    """Collapse the heads (or the layers) of attention maps into one map each.

    ``mean``: ``M[l, i, j] = (1/H) Σ_h A[l, h, i, j]`` (rows still sum to 1).
    ``max``: ``M[l, i, j] = max_h A[l, h, i, j]`` (rows no longer sum to 1: the
    strongest head's weight at every cell). ``over="layers"`` does the same across
    layers for every head.

    Parameters
    ----------
    maps
        Attention of shape ``(layers, heads, query, key)``.
    over
        ``"heads"`` or ``"layers"``: the axis to collapse.
    how
        ``"mean"`` or ``"max"``.

    Returns
    -------
    numpy.ndarray
        Float64 ``(layers, query, key)`` over heads, ``(heads, query, key)`` over layers.
    """
    if over not in AXES:
        raise AnalysisError(f"cannot aggregate over {over!r}; expected one of: {', '.join(AXES)}")
    if how not in AGGREGATES:
        raise AnalysisError(f"unknown aggregate {how!r}; expected one of: {', '.join(AGGREGATES)}")
    array = _attention(maps)
    if how == "mean":
        return array.mean(axis=AXES[over], dtype=np.float64)
    return array.max(axis=AXES[over]).astype(np.float64)


# ----------------------------------------------------------------------------- validation
def _attention(maps, *, square: bool = False, purpose: str = "") -> np.ndarray:
    """``maps`` as an array, checked: 4-D, real, finite, non-negative, not empty."""
    array = np.asarray(maps)
    if array.ndim != 4:
        raise AnalysisError(f"attention maps must have shape {MAPS_SHAPE}; got {array.ndim} "
                            f"dimension(s), shape {array.shape}")
    if array.dtype.kind not in "fiu":
        raise AnalysisError(f"attention maps must be real numbers; got dtype {array.dtype}")
    if 0 in array.shape:
        raise AnalysisError(f"attention maps {MAPS_SHAPE} have an empty axis: shape {array.shape}")
    if square and array.shape[-1] != array.shape[-2]:
        raise AnalysisError(f"{purpose} compares query and key positions, so it needs square maps "
                            f"(self-attention); got {array.shape[-2]} queries x {array.shape[-1]} keys")
    low, high = array.min(), array.max()  # NaN propagates to both; no full-size temporary
    if not (np.isfinite(low) and np.isfinite(high)):
        raise AnalysisError("attention maps contain NaN or infinite values")
    if low < 0:
        raise AnalysisError(f"attention maps contain negative values (minimum {float(low):.4g}); "
                            "attention weights are probabilities")
    return array


def _tokens(tokens: Sequence[str] | None, keys: int) -> tuple[str, ...] | None:
    if tokens is None:
        return None
    if isinstance(tokens, str) or not all(isinstance(token, str) for token in tokens):
        raise AnalysisError("tokens must be a list of strings")
    if len(tokens) != keys:
        raise AnalysisError(f"got {len(tokens)} tokens for maps with {keys} key positions")
    return tuple(tokens)


def _fraction(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= float(value) <= 1.0:
        raise AnalysisError(f"{name} must be a number between 0 and 1, got {value!r}")
    return float(value)


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)
