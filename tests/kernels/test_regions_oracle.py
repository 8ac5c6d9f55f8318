"""The compiled region kernel against the plain NumPy reference on many seeded matrices."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from izzyfig.kernels import _regions, reference
from izzyfig.kernels.regions import find_attention_regions_with_merging

PARAMETER_CHOICES = {
    "n_seeds": (1, 2, 3, 5),
    "min_distance": (0, 1, 2, 4),
    "expansion_threshold": (0.05, 0.3, 0.7, 0.9, 1.0, 1.3),
    "merge_std_threshold": (0.1, 0.6, 1.0, 3.0),
    "proximity_threshold": (0, 1, 2, 5),
    "max_expansion_steps": (1, 2, 3, 6),
}


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def make_matrix(family: str, rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """One (rows, cols) matrix of the named family."""
    i, j = np.indices((rows, cols))
    if family == "uniform":
        return rng.random((rows, cols))
    if family == "softmax":
        return softmax_rows(rng.normal(scale=rng.choice([0.1, 1.0, 3.0]), size=(rows, cols)))
    if family == "causal":
        logits = np.where(j <= i, rng.normal(size=(rows, cols)), -np.inf)
        logits[:, 0] = np.maximum(logits[:, 0], 0.0)  # every row keeps a finite entry
        return softmax_rows(logits)
    if family == "uniform_causal":  # equal weights 1/(i+1): many exact ties, none dyadic
        return softmax_rows(np.where(j <= i, 0.0, -np.inf))
    if family == "block_diagonal":
        matrix = rng.random((rows, cols)) * 0.1
        start = 0
        while start < min(rows, cols):
            width = int(rng.integers(1, 6))
            matrix[start:start + width, start:start + width] += rng.uniform(0.5, 1.0)
            start += width
        return matrix
    if family == "block_constant":
        matrix = np.zeros((rows, cols))
        start = 0
        while start < min(rows, cols):
            width = int(rng.integers(1, 6))
            matrix[start:start + width, start:start + width] = rng.integers(1, 4) / 4
            start += width
        return matrix
    if family == "banded":
        width = int(rng.integers(0, 4))
        return np.where(abs(i - j) <= width, 1.0, 0.05) * (1 + 0.1 * rng.random((rows, cols)))
    if family == "ties":  # few dyadic values: sums are exact, ties everywhere
        return rng.integers(0, 4, (rows, cols)) / 4
    if family == "constant":
        return np.full((rows, cols), rng.choice([0.0, 0.1, 1 / 3, 2.0]))
    if family == "signed":
        return rng.normal(size=(rows, cols))
    raise ValueError(family)


FAMILIES = ("uniform", "softmax", "causal", "uniform_causal", "block_diagonal", "block_constant",
            "banded", "ties", "constant", "signed")


def random_parameters(rng: np.random.Generator) -> dict:
    return {name: choices[int(rng.integers(len(choices)))]
            for name, choices in PARAMETER_CHOICES.items()}


def random_shape(rng: np.random.Generator) -> tuple[int, int]:
    """Mostly small and medium shapes (the reference is slow), square 40% of the time."""
    limit = 60 if rng.random() < 0.8 else 120
    rows, cols = (int(n) for n in rng.integers(1, limit + 1, 2))
    return (rows, rows) if rng.random() < 0.4 else (rows, cols)


def kernel(matrix: np.ndarray, params: dict) -> list:
    return _regions.find_regions(matrix, *params.values())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("family", FAMILIES)
def test_kernel_matches_reference_on_random_matrices(family, dtype):
    # 10 families x 2 dtypes x 55 matrices = 1100 seeded cases
    rng = np.random.default_rng([FAMILIES.index(family), np.dtype(dtype).itemsize])
    for case in range(55):
        rows, cols = (1, 1) if case == 0 else (1, int(rng.integers(2, 30))) if case == 1 \
            else random_shape(rng)
        matrix = np.ascontiguousarray(make_matrix(family, rows, cols, rng), dtype=dtype)
        params = random_parameters(rng)
        expected = reference.find_regions_reference(matrix, **params)
        assert kernel(matrix, params) == expected, (family, dtype, case, matrix.shape, params)


@pytest.mark.parametrize("family", ["softmax", "causal", "block_diagonal", "uniform_causal"])
def test_kernel_matches_reference_on_200x200(family):
    rng = np.random.default_rng(200 + FAMILIES.index(family))
    matrix = make_matrix(family, 200, 200, rng).astype(np.float32)
    params = {**random_parameters(rng), "expansion_threshold": 0.9}
    assert kernel(matrix, params) == reference.find_regions_reference(matrix, **params)


def test_kernel_matches_reference_on_a_non_square_200_row_matrix():
    rng = np.random.default_rng(7)
    matrix = make_matrix("softmax", 200, 37, rng)
    params = random_parameters(rng)
    assert kernel(matrix, params) == reference.find_regions_reference(matrix, **params)


@pytest.mark.parametrize("family", ["block_diagonal", "ties", "uniform_causal"])
def test_kernel_matches_reference_at_parameter_corners(family):
    rng = np.random.default_rng(11)
    matrix = make_matrix(family, 9, 12, rng)
    corners = itertools.product((1, 4), (0, 3), (0.05, 1.0, 1.5), (0.1, 1.0, 5.0), (0, 5), (1, 6))
    for values in corners:
        params = dict(zip(PARAMETER_CHOICES, values))
        assert kernel(matrix, params) == reference.find_regions_reference(matrix, **params), params


def test_kernel_matches_reference_on_exact_std_ratio_ties():
    # Few quarter values make bbox std / weighted std hit 1 / merge_std_threshold exactly
    # (e.g. 2 for 0.5); both sides must then compute the same correctly rounded stds.
    rng = np.random.default_rng(12)
    for case in range(1500):
        rows, cols = (int(n) for n in rng.integers(1, 8, 2))
        matrix = rng.integers(0, 5, (rows, cols)) / 4
        params = {**random_parameters(rng), "merge_std_threshold": (0.25, 0.5, 1.0)[case % 3],
                  "max_expansion_steps": 1 + case % 2, "min_distance": case % 2}
        assert kernel(matrix, params) == reference.find_regions_reference(matrix, **params), \
            (matrix.tolist(), params)


small_matrices = arrays(
    dtype=st.sampled_from([np.float32, np.float64]),
    shape=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    elements=st.sampled_from([0.0, 0.125, 0.25, 0.5, 1.0, 0.1, 1 / 3]),
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    matrix=small_matrices,
    n_seeds=st.integers(1, 6),
    min_distance=st.integers(0, 3),
    expansion_threshold=st.sampled_from([0.1, 0.5, 0.7, 1.0, 1.2]),
    merge_std_threshold=st.sampled_from([0.2, 0.6, 1.0, 4.0]),
    proximity_threshold=st.integers(0, 4),
    max_expansion_steps=st.integers(1, 4),
)
def test_kernel_matches_reference_on_tied_small_matrices(matrix, **params):
    assert kernel(matrix, params) == reference.find_regions_reference(matrix, **params)


def test_public_function_matches_reference_with_defaults():
    rng = np.random.default_rng(5)
    for _ in range(20):
        matrix = make_matrix("block_diagonal", 30, 30, rng)
        assert find_attention_regions_with_merging(matrix) == \
            reference.find_regions_reference(matrix)


def random_rects(rng: np.random.Generator, rows: int, cols: int, count: int) -> np.ndarray:
    rects = []
    for _ in range(count):
        small = rng.random() < 0.7
        height = int(rng.integers(1, 4 if small else rows // 2 + 1))
        width = int(rng.integers(1, 4 if small else cols // 2 + 1))
        top, left = int(rng.integers(0, rows - height + 1)), int(rng.integers(0, cols - width + 1))
        rects.append((top, left, top + height - 1, left + width - 1))
    rects += [(0, 0, rows - 1, cols - 1), (0, 0, 0, 0), (rows - 1, cols - 1, rows - 1, cols - 1)]
    return np.array(rects, dtype=np.intp)


@pytest.mark.parametrize(
    ("family", "size", "dtype"),
    [("softmax", 1024, np.float32), ("softmax", 512, np.float64), ("uniform", 300, np.float64),
     ("causal", 256, np.float32), ("block_constant", 128, np.float64)],
)
def test_summed_area_statistics_agree_with_direct_computation(family, size, dtype):
    # Means, border means and scores are bit-identical; std from prefix sums within 1e-12.
    rng = np.random.default_rng(size)
    matrix = np.ascontiguousarray(make_matrix(family, size, size, rng), dtype=dtype)
    rects = random_rects(rng, size, size, 150)
    got = _regions.rectangle_statistics(matrix, rects)
    exact = matrix.astype(np.float64)
    for (mean, std, border, score), rect in zip(got, map(tuple, rects.tolist())):
        block, ring = reference.cells(exact, rect), reference.border_cells(exact, rect)
        assert mean == reference.mean(block), rect
        assert border == (reference.mean(ring) if ring.size else 0.0), rect
        assert score == reference.score(exact, rect), rect
        assert std == pytest.approx(reference.std(block), rel=1e-12, abs=0.0), rect


@pytest.mark.parametrize("family", ["uniform", "softmax", "ties", "signed", "uniform_causal"])
def test_statistics_of_every_rectangle_of_small_matrices_are_bit_identical(family):
    # Here the double-double sums are exact, so even the std is the correctly rounded one.
    rng = np.random.default_rng(FAMILIES.index(family))
    for _ in range(8):
        rows, cols = (int(n) for n in rng.integers(1, 9, 2))
        matrix = make_matrix(family, rows, cols, rng)
        rects = [(t, l, b, r) for t in range(rows) for b in range(t, rows)
                 for l in range(cols) for r in range(l, cols)]
        got = _regions.rectangle_statistics(matrix, np.array(rects, dtype=np.intp))
        for (mean, std, border, score), rect in zip(got.tolist(), rects):
            block = reference.cells(matrix, rect)
            assert (mean, std, score) == (reference.mean(block), reference.std(block),
                                          reference.score(matrix, rect)), rect


def test_constant_rectangles_have_zero_std_where_np_std_does_not():
    matrix = np.full((4, 6), 0.1)
    matrix[3, 5] = 0.7
    assert np.std(matrix[:1, :3]) > 0  # 1.4e-17: float noise the kernel must not reproduce
    rects = np.array([(0, 0, 0, 2), (0, 0, 3, 4), (0, 0, 3, 5)], dtype=np.intp)
    stds = _regions.rectangle_statistics(matrix, rects)[:, 1]
    assert stds[0] == 0.0 and stds[1] == 0.0
    assert stds[2] == pytest.approx(np.std(matrix), rel=1e-14)
