"""The validating wrapper: inputs, parameters, error messages, and which kernel runs."""
from __future__ import annotations

import importlib.machinery
import subprocess
import sys

import numpy as np
import pytest

from izzyfig.errors import KernelError
from izzyfig.kernels import _regions, find_attention_regions_with_merging, reference, regions

MATRIX = np.array([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.6, 0.1, 0.3], [0.2, 0.5, 0.3]])
BUILD_MESSAGE = (
    "the compiled region kernel izzyfig.kernels._regions is not built: run `pip install .` or "
    "`python setup.py build_ext --inplace` in the izzyfig source tree "
    "(or set IZZYFIG_ALLOW_REFERENCE_KERNEL=1 to use the slow NumPy reference)"
)


def test_the_package_runs_the_compiled_extension(monkeypatch):
    assert _regions.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    assert regions.load_kernel() is _regions.find_regions

    def forbidden(*args, **kwargs):
        raise AssertionError("the reference must not run")

    monkeypatch.setattr(reference, "find_regions_reference", forbidden)
    assert find_attention_regions_with_merging(MATRIX) == \
        _regions.find_regions(MATRIX, 3, 2, 0.7, 0.6, 2, 3)


def test_missing_extension_is_a_kernel_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "izzyfig.kernels._regions", None)  # import fails
    monkeypatch.delenv("IZZYFIG_ALLOW_REFERENCE_KERNEL", raising=False)
    with pytest.raises(KernelError) as error:
        find_attention_regions_with_merging(MATRIX)
    assert str(error.value) == BUILD_MESSAGE


def test_missing_extension_falls_back_to_the_reference_only_when_allowed(monkeypatch):
    monkeypatch.setitem(sys.modules, "izzyfig.kernels._regions", None)
    monkeypatch.setenv("IZZYFIG_ALLOW_REFERENCE_KERNEL", "1")
    assert regions.load_kernel() is reference.find_regions_reference
    assert find_attention_regions_with_merging(MATRIX) == reference.find_regions_reference(MATRIX)
    monkeypatch.setenv("IZZYFIG_ALLOW_REFERENCE_KERNEL", "yes")
    with pytest.raises(KernelError):
        find_attention_regions_with_merging(MATRIX)


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.zeros(3), "attention_matrix must be 2-D, got shape (3,)"),
        (np.zeros((2, 2, 2)), "attention_matrix must be 2-D, got shape (2, 2, 2)"),
        (np.zeros((0, 4)), "attention_matrix must not be empty, got shape (0, 4)"),
        (np.array([[1.0, np.nan]]), "attention_matrix must be finite, found nan at row 0, column 1"),
        (np.array([[1.0], [-np.inf]], dtype=np.float32),
         "attention_matrix must be finite, found -inf at row 1, column 0"),
        (np.array([[1e151]]),
         "attention_matrix values must lie within +-1e+150 so that sums of squares stay "
         "finite, found 1e+151 at row 0, column 0"),
        (np.array([[1j]]), "attention_matrix must hold real numbers, got dtype complex128"),
        (np.array([["a"]]), "attention_matrix must hold real numbers, got dtype <U1"),
        (np.array([[1]], dtype=object), "attention_matrix must hold real numbers, got dtype object"),
        ([[1.0, 2.0], [3.0]], "attention_matrix cannot be read as a numeric array, got list"),
    ],
)
def test_invalid_matrices_are_rejected(matrix, message):
    with pytest.raises(KernelError) as error:
        find_attention_regions_with_merging(matrix)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"n_seeds": 0}, "n_seeds must be an integer >= 1, got 0"),
        ({"n_seeds": 2.0}, "n_seeds must be an integer >= 1, got 2.0"),
        ({"n_seeds": True}, "n_seeds must be an integer >= 1, got True"),
        ({"min_distance": -1}, "min_distance must be an integer >= 0, got -1"),
        ({"expansion_threshold": 0}, "expansion_threshold must be a finite number > 0, got 0"),
        ({"expansion_threshold": -0.5},
         "expansion_threshold must be a finite number > 0, got -0.5"),
        ({"expansion_threshold": float("inf")},
         "expansion_threshold must be a finite number > 0, got inf"),
        ({"expansion_threshold": "0.7"},
         "expansion_threshold must be a finite number > 0, got '0.7'"),
        ({"merge_std_threshold": 0.0}, "merge_std_threshold must be a finite number > 0, got 0.0"),
        ({"merge_std_threshold": float("nan")},
         "merge_std_threshold must be a finite number > 0, got nan"),
        ({"merge_std_threshold": 10**400},
         f"merge_std_threshold must be a finite number > 0, got {10**400!r}"),
        ({"proximity_threshold": -2}, "proximity_threshold must be an integer >= 0, got -2"),
        ({"proximity_threshold": 1.5}, "proximity_threshold must be an integer >= 0, got 1.5"),
        ({"max_expansion_steps": 0}, "max_expansion_steps must be an integer >= 1, got 0"),
        ({"max_expansion_steps": None}, "max_expansion_steps must be an integer >= 1, got None"),
    ],
)
def test_invalid_parameters_are_rejected(parameters, message):
    with pytest.raises(KernelError) as error:
        find_attention_regions_with_merging(MATRIX, **parameters)
    assert str(error.value) == message


def test_numpy_scalars_and_huge_integers_are_accepted():
    expected = find_attention_regions_with_merging(MATRIX, n_seeds=2, min_distance=1)
    assert find_attention_regions_with_merging(
        MATRIX, n_seeds=np.int64(2), min_distance=np.int32(1),
        expansion_threshold=np.float32(0.7), merge_std_threshold=np.float64(0.6),
    ) == expected
    # Clamped to the matrix size; the reference, unclamped, agrees.
    huge = {"n_seeds": 10**30, "min_distance": 10**30, "proximity_threshold": 10**30,
            "max_expansion_steps": 10**30}
    assert find_attention_regions_with_merging(MATRIX, **huge) == \
        reference.find_regions_reference(MATRIX, **{**huge, "n_seeds": 12, "max_expansion_steps": 4})


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_, np.float16, np.longdouble])
def test_other_dtypes_are_read_as_float64(dtype):
    matrix = (np.arange(20).reshape(4, 5) % 3).astype(dtype)
    assert find_attention_regions_with_merging(matrix) == \
        find_attention_regions_with_merging(matrix.astype(np.float64))


def test_non_contiguous_views_and_nested_lists_work():
    rng = np.random.default_rng(3)
    base = rng.random((12, 9))
    expected = find_attention_regions_with_merging(np.ascontiguousarray(base.T[::2]))
    assert find_attention_regions_with_merging(base.T[::2]) == expected
    assert find_attention_regions_with_merging(np.asfortranarray(base)) == \
        find_attention_regions_with_merging(base)
    assert find_attention_regions_with_merging(base.tolist()) == \
        find_attention_regions_with_merging(base)


def test_float32_input_is_not_widened_first():
    # Both widths go to the kernel as they are; float32 values are exact in float64.
    matrix = np.random.default_rng(4).random((30, 20)).astype(np.float32)
    assert regions.as_matrix(matrix).dtype == np.float32
    assert find_attention_regions_with_merging(matrix) == \
        find_attention_regions_with_merging(matrix.astype(np.float64))


def test_torch_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    logits = torch.from_numpy(rng.normal(size=(16, 16)))
    attention = torch.softmax(logits, dim=-1).float().requires_grad_(True)
    expected = find_attention_regions_with_merging(attention.detach().numpy())
    assert find_attention_regions_with_merging(attention) == expected
    assert find_attention_regions_with_merging(attention.double()) == \
        find_attention_regions_with_merging(attention.detach().double().numpy())
    halves = attention.detach().bfloat16()
    assert find_attention_regions_with_merging(halves) == \
        find_attention_regions_with_merging(halves.float().numpy())


def test_importing_the_kernels_does_not_import_torch():
    code = "import sys, izzyfig.kernels; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_results_are_plain_int_tuples():
    found = find_attention_regions_with_merging(MATRIX.astype(np.float32))
    assert all(type(v) is int for region in found for v in region)
