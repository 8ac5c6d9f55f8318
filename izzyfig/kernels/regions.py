"""Key-region detection with IzzyViz's signature: validation here, the work in ``_regions``.

The compiled kernel trusts its input; this module turns what a user may pass (NumPy arrays,
torch tensors, nested lists) into a C-contiguous float32/float64 matrix and checks every
parameter, raising :class:`~izzyfig.errors.KernelError` with a one-line message.
"""
from __future__ import annotations

import math
import numbers
import os
from typing import Any, Callable

import numpy as np

from izzyfig.errors import KernelError

Region = tuple[int, int, int, int]
ALLOW_REFERENCE_ENV = "IZZYFIG_ALLOW_REFERENCE_KERNEL"
KEPT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
LARGEST_VALUE = 1e150


def find_attention_regions_with_merging(
    attention_matrix: Any,
    n_seeds: int = 3,
    min_distance: int = 2,
    expansion_threshold: float = 0.7,
    merge_std_threshold: float = 0.6,
    proximity_threshold: int = 2,
    max_expansion_steps: int = 3,
) -> list[Region]:
    """Rectangles of high attention, grown from seeds and merged when their spread allows.

    Same result as IzzyViz's function of the same name, with the tie rules of izzyfig's
    reference (/work/shared/reference/regions.md).

    Parameters
    ----------
    attention_matrix : array_like or torch.Tensor, shape (rows, cols)
        Finite real values; float32 and float64 are used as they are, other dtypes as float64.
    n_seeds : int
        Number of regions to grow (>= 1); 3 * n_seeds seeds are picked, the rest are reserve.
    min_distance : int
        Seeds closer than this in both axes are skipped (>= 0).
    expansion_threshold : float
        A candidate replaces the best one if its score beats ``best * threshold`` (> 0).
    merge_std_threshold : float
        Regions merge when the std ratio is at most ``1 / threshold`` (> 0).
    proximity_threshold : int
        Non-overlapping regions this close are merge candidates (>= 0).
    max_expansion_steps : int
        How far one side may move in one attempt (>= 1).

    Returns
    -------
    list of (top, left, bottom, right)
        Inclusive cell indices, sorted by mean value inside, highest first.
    """
    matrix = as_matrix(attention_matrix)
    check_parameters(n_seeds, min_distance, expansion_threshold, merge_std_threshold,
                     proximity_threshold, max_expansion_steps)
    rows, cols = matrix.shape
    reach = max(rows, cols)
    # Clamping keeps C integers small and changes nothing: no index distance exceeds reach - 1,
    # no more than rows*cols seeds exist, and steps past an edge repeat the clamped candidate.
    kernel = load_kernel()
    try:
        return kernel(
            matrix,
            min(n_seeds, rows * cols),
            min(min_distance, reach),
            float(expansion_threshold),
            float(merge_std_threshold),
            min(proximity_threshold, reach),
            min(max_expansion_steps, reach),
        )
    except MemoryError:
        raise KernelError(
            f"not enough memory for the region search on a {rows}x{cols} matrix"
        ) from None


def as_matrix(attention_matrix: Any) -> np.ndarray:
    """A validated, C-contiguous float32/float64 copy or view, shape (rows, cols)."""
    data = attention_matrix
    if all(hasattr(data, name) for name in ("detach", "cpu", "numpy")):
        data = tensor_to_numpy(data)
    try:
        array = np.asarray(data)
    except (TypeError, ValueError):
        raise KernelError(
            f"attention_matrix cannot be read as a numeric array, got {type(data).__name__}"
        ) from None
    if array.dtype.kind not in "biuf":
        raise KernelError(f"attention_matrix must hold real numbers, got dtype {array.dtype}")
    if array.ndim != 2:
        raise KernelError(f"attention_matrix must be 2-D, got shape {array.shape}")
    if array.size == 0:
        raise KernelError(f"attention_matrix must not be empty, got shape {array.shape}")
    dtype = array.dtype if array.dtype in KEPT_DTYPES else np.dtype(np.float64)
    matrix = np.ascontiguousarray(array, dtype=dtype)
    check_values(matrix)
    return matrix


def check_values(matrix: np.ndarray) -> None:
    """Raise KernelError naming the first cell that is not finite or too large to square."""
    bad = ~np.isfinite(matrix)
    if bad.any():
        raise KernelError(f"attention_matrix must be finite, found {first_cell(matrix, bad)}")
    if matrix.dtype == np.float64:  # float32 stays below 3.5e38
        bad = np.abs(matrix) > LARGEST_VALUE
        if bad.any():
            raise KernelError(
                f"attention_matrix values must lie within +-{LARGEST_VALUE:g} so that sums of "
                f"squares stay finite, found {first_cell(matrix, bad)}"
            )


def first_cell(matrix: np.ndarray, mask: np.ndarray) -> str:
    row, col = np.argwhere(mask)[0]
    return f"{matrix[row, col]} at row {row}, column {col}"


def tensor_to_numpy(tensor: Any) -> Any:
    """A NumPy view of a torch tensor, found by duck typing so torch is never imported here."""
    tensor = tensor.detach().cpu()
    try:
        return tensor.numpy()
    except TypeError:
        # bfloat16 has no NumPy dtype
        return tensor.float().numpy()


def check_parameters(
    n_seeds: Any,
    min_distance: Any,
    expansion_threshold: Any,
    merge_std_threshold: Any,
    proximity_threshold: Any,
    max_expansion_steps: Any,
) -> None:
    """Raise KernelError for the first parameter out of its range."""
    check_integer("n_seeds", n_seeds, 1)
    check_integer("min_distance", min_distance, 0)
    check_positive("expansion_threshold", expansion_threshold)
    check_positive("merge_std_threshold", merge_std_threshold)
    check_integer("proximity_threshold", proximity_threshold, 0)
    check_integer("max_expansion_steps", max_expansion_steps, 1)


def check_integer(name: str, value: Any, lowest: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lowest:
        raise KernelError(f"{name} must be an integer >= {lowest}, got {value!r}")


def check_positive(name: str, value: Any) -> None:
    if not isinstance(value, bool) and isinstance(value, numbers.Real):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if math.isfinite(number) and number > 0:
            return
    raise KernelError(f"{name} must be a finite number > 0, got {value!r}")


def load_kernel() -> Callable[..., list[Region]]:
    """The compiled search, or the NumPy reference if allowed by the environment."""
    try:
        from izzyfig.kernels._regions import find_regions
    except ImportError:
        if os.environ.get(ALLOW_REFERENCE_ENV) == "1":
            from izzyfig.kernels.reference import find_regions_reference

            return find_regions_reference
        raise KernelError(
            "the compiled region kernel izzyfig.kernels._regions is not built: run "
            "`pip install .` or `python setup.py build_ext --inplace` in the izzyfig source tree "
            f"(or set {ALLOW_REFERENCE_ENV}=1 to use the slow NumPy reference)"
        ) from None
    return find_regions
