"""Plain NumPy oracle for key-region detection; the tests compare the compiled kernel with it.

It follows /work/shared/reference/regions.md step by step on slices of the matrix, recomputing
every statistic from the cells, and is never used at run time (unless
``IZZYFIG_ALLOW_REFERENCE_KERNEL=1`` is set and the compiled kernel is missing).

Numerics, shared on purpose with the compiled kernel so that both take the same decisions:

- The matrix is read as float64.
- A mean is the correctly rounded sum of the cells (``math.fsum``) divided by their count.
  ``np.mean`` sums pairwise and lands an ulp away in an order-dependent way, so two rectangles
  with mathematically equal means (ties in the final ordering, or in ``score > best * threshold``
  when ``expansion_threshold == 1``) could compare differently here and in any other summation
  order. A correctly rounded sum is one well-defined number that the kernel reproduces.
- A standard deviation (population, ddof=0) is the square root of the correctly rounded
  variance, computed exactly with Python integers. ``np.std`` rounds several times: it gives
  1.4e-17 for three cells of 0.1, which turns the merge ratio from +inf (no merge) into a
  finite number, and it misses exact ties of ``ratio <= 1 / merge_std_threshold`` that small
  matrices with few distinct values produce.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np

Rect = tuple[int, int, int, int]
MAX_ROUNDS = 1000
SIDES = ("top", "left", "bottom", "right")


def find_regions_reference(
    matrix,
    n_seeds: int = 3,
    min_distance: int = 2,
    expansion_threshold: float = 0.7,
    merge_std_threshold: float = 0.6,
    proximity_threshold: int = 2,
    max_expansion_steps: int = 3,
) -> list[Rect]:
    """Key regions of ``matrix``, computed literally from slices.

    Parameters
    ----------
    matrix : array_like, shape (rows, cols)
        Finite values; validation is the caller's job.
    n_seeds, min_distance, expansion_threshold, merge_std_threshold, proximity_threshold,
    max_expansion_steps
        As in :func:`izzyfig.kernels.find_attention_regions_with_merging`.

    Returns
    -------
    list of (top, left, bottom, right)
        Inclusive rectangles sorted by mean value, highest first.
    """
    a = np.asarray(matrix, dtype=np.float64)
    seeds = select_seeds(a, 3 * n_seeds, min_distance)
    slots: list[Rect | None] = [(r, c, r, c) for r, c in seeds[:n_seeds]]
    reserve = deque(seeds[n_seeds:])
    for _ in range(MAX_ROUNDS):
        changed = False
        for i in range(len(slots)):
            if slots[i] is not None and grow_slot(
                a, slots, i, reserve, expansion_threshold, merge_std_threshold,
                proximity_threshold, max_expansion_steps,
            ):
                changed = True
        if not changed:
            break
    rects = [rect for rect in slots if rect is not None]
    while len(rects) < n_seeds and reserve:
        r, c = reserve.popleft()
        rects.append((r, c, r, c))
    # sorted() is stable, also with reverse=True: equal means keep slot order.
    return sorted(rects, key=lambda rect: mean(cells(a, rect)), reverse=True)


def select_seeds(a: np.ndarray, wanted: int, min_distance: int) -> list[tuple[int, int]]:
    """Seed cells ``(row, col)``: by decreasing value, larger flat index first on ties."""
    rows, cols = a.shape
    order = np.argsort(a.ravel(), kind="stable")[::-1]
    seeds: list[tuple[int, int]] = []
    for flat in order.tolist():
        r, c = divmod(flat, cols)
        crowded = any(
            abs(r - sr) <= min_distance and abs(c - sc) <= min_distance for sr, sc in seeds
        )
        if not crowded:
            seeds.append((r, c))
            if len(seeds) == wanted:
                break
    return seeds


def grow_slot(
    a: np.ndarray,
    slots: list[Rect | None],
    i: int,
    reserve: deque,
    expansion_threshold: float,
    merge_std_threshold: float,
    proximity_threshold: int,
    max_expansion_steps: int,
) -> bool:
    """One visit of slot ``i`` in a growth round; returns whether anything changed."""
    current = slots[i]
    best = best_expansion(a, current, expansion_threshold, max_expansion_steps)
    if best is None:
        return False
    others = [j for j in range(len(slots)) if j != i and slots[j] is not None]
    overlapping = [j for j in others if overlap(best, slots[j])]
    close = [
        j for j in others
        if not overlap(best, slots[j]) and nearby(best, slots[j], proximity_threshold)
    ]
    collected = overlapping + close
    if not collected:
        slots[i] = best
        return True
    if not all(should_merge(a, current, slots[j], merge_std_threshold) for j in collected):
        return False
    slots[i] = bbox([current] + [slots[j] for j in collected])
    for j in collected:
        slots[j] = None
    for _ in collected:
        if reserve:
            r, c = reserve.popleft()
            slots[slots.index(None)] = (r, c, r, c)
    return True


def best_expansion(
    a: np.ndarray, current: Rect, expansion_threshold: float, max_expansion_steps: int
) -> Rect | None:
    """The accepted expansion of ``current``, or None when no candidate beat the threshold."""
    best_score = score(a, current)
    best = None
    for side in SIDES:
        for step in range(1, max_expansion_steps + 1):
            candidate = expand(current, side, step, a.shape)
            if candidate == current:
                continue
            candidate_score = score(a, candidate)
            if candidate_score > best_score * expansion_threshold:
                best, best_score = candidate, candidate_score
    return best


def expand(rect: Rect, side: str, step: int, shape: tuple[int, int]) -> Rect:
    """``rect`` with one side moved outwards by ``step`` cells, clamped to the matrix."""
    top, left, bottom, right = rect
    rows, cols = shape
    if side == "top":
        return (max(0, top - step), left, bottom, right)
    if side == "left":
        return (top, max(0, left - step), bottom, right)
    if side == "bottom":
        return (top, left, min(rows - 1, bottom + step), right)
    return (top, left, bottom, min(cols - 1, right + step))


def cells(a: np.ndarray, rect: Rect) -> np.ndarray:
    """The block ``a[top..bottom, left..right]``, shape (bottom-top+1, right-left+1)."""
    top, left, bottom, right = rect
    return a[top:bottom + 1, left:right + 1]


def mean(values: np.ndarray) -> float:
    """Correctly rounded sum divided by the count (see the module docstring)."""
    return math.fsum(values.ravel().tolist()) / values.size


def std(values: np.ndarray) -> float:
    """Population std: sqrt of the correctly rounded variance (see the module docstring)."""
    return math.sqrt(variance(values))


def variance(values: np.ndarray) -> float:
    """Population variance (n*sum(x**2) - sum(x)**2) / n**2 in exact integer arithmetic."""
    mantissas, exponents = np.frexp(values.ravel())
    # every float64 is an integer of at most 53 bits times a power of two
    integers = (mantissas * 2.0**53).astype(np.int64).tolist()
    lowest = int(exponents.min())
    scaled = [m << (e - lowest) for m, e in zip(integers, exponents.tolist())]
    n = len(scaled)
    numerator = n * sum(x * x for x in scaled) - sum(scaled) ** 2
    power = 2 * (lowest - 53)  # variance = numerator / n**2 * 2**power
    if power >= 0:
        return (numerator << power) / (n * n)
    return numerator / ((n * n) << -power)  # int / int rounds correctly


def border_cells(a: np.ndarray, rect: Rect) -> np.ndarray:
    """The 1-cell ring around ``rect`` inside the matrix, corners with the top/bottom rows."""
    top, left, bottom, right = rect
    rows, cols = a.shape
    first, last = max(0, left - 1), min(cols - 1, right + 1)
    parts = []
    if top > 0:
        parts.append(a[top - 1, first:last + 1])
    if bottom < rows - 1:
        parts.append(a[bottom + 1, first:last + 1])
    if left > 0:
        parts.append(a[top:bottom + 1, left - 1])
    if right < cols - 1:
        parts.append(a[top:bottom + 1, right + 1])
    return np.concatenate(parts) if parts else np.empty(0)


def score(a: np.ndarray, rect: Rect) -> float:
    """Expansion score: inside mean, times contrast to the border, times a size bonus."""
    block = cells(a, rect)
    inside = mean(block)
    ring = border_cells(a, rect)
    border = mean(ring) if ring.size else 0.0
    size_factor = math.log1p(block.size) / 10
    if border == 0:
        return inside * (1 + size_factor)
    return inside * (inside / border) * (1 + size_factor)


def overlap(a: Rect, b: Rect) -> bool:
    """Whether two inclusive rectangles share a cell."""
    return not (a[3] < b[1] or b[3] < a[1] or a[2] < b[0] or b[2] < a[0])


def nearby(a: Rect, b: Rect, threshold: int) -> bool:
    """Whether the facing edges are at most ``threshold`` indices apart in both axes."""
    h = max(0, max(a[1], b[1]) - min(a[3], b[3]))
    v = max(0, max(a[0], b[0]) - min(a[2], b[2]))
    return h <= threshold and v <= threshold


def bbox(rects: list[Rect]) -> Rect:
    """The smallest rectangle containing all of ``rects``."""
    tops, lefts, bottoms, rights = zip(*rects)
    return (min(tops), min(lefts), max(bottoms), max(rights))


def should_merge(a_matrix: np.ndarray, a: Rect, b: Rect, merge_std_threshold: float) -> bool:
    """Merge test: std of the bounding box against the size-weighted std of the parts."""
    block_a, block_b = cells(a_matrix, a), cells(a_matrix, b)
    size_a, size_b = block_a.size, block_b.size
    merged_std = std(cells(a_matrix, bbox([a, b])))
    weighted = (std(block_a) * size_a + std(block_b) * size_b) / (size_a + size_b)
    ratio = merged_std / weighted if weighted > 0 else math.inf
    return ratio <= 1 / merge_std_threshold
