"""Key-region search: compiled kernel vs the NumPy reference (and IzzyViz, when installed).

    python benchmarks/bench_regions.py [--quick] [--sizes 64,256,512,1024]

Matrices are float32 softmax rows of seeded normal logits, in two workloads that bracket
what attention looks like:

- ``diffuse`` (logit scale 0.1): no cell stands out, the regions grow over the whole matrix,
  and the reference re-slices ever larger blocks -- this is where the kernel matters.
- ``peaked`` (logit scale 1.0): isolated maxima stay 1x1 regions; the reference's work is
  then one argsort, so both are fast and the ratio is small.

Times are medians over repeats measured in the same run; the reference runs once at 512 and
above. Every timed pair is checked to return the same rectangles.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Callable

import numpy as np

from izzyfig.kernels import find_attention_regions_with_merging, reference

SIZES = (64, 256, 512, 1024)
QUICK_SIZES = (64, 256, 512)
WORKLOADS = {"diffuse": 0.1, "peaked": 1.0}


def attention_matrix(size: int, logit_scale: float, seed: int = 0) -> np.ndarray:
    """Softmax rows of seeded normal logits, shape (size, size), float32."""
    rng = np.random.default_rng([seed, size])
    logits = rng.normal(scale=logit_scale, size=(size, size))
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def median_time(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time in seconds over ``repeats`` calls, and the last result."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def izzyviz_function() -> Callable | None:
    try:
        from izzyviz import find_attention_regions_with_merging as izzyviz_find
    except ImportError:
        try:
            from izzyviz.visualization import find_attention_regions_with_merging as izzyviz_find
        except ImportError:
            return None
    return izzyviz_find


def run(sizes=None, quick: bool = False) -> list[dict]:
    """Time every workload at every size; one row per (workload, size)."""
    sizes = tuple(sizes) if sizes else (QUICK_SIZES if quick else SIZES)
    kernel_repeats = 3 if quick else 7
    izzyviz_find = izzyviz_function()
    rows = []
    for workload, scale in WORKLOADS.items():
        for size in sizes:
            matrix = attention_matrix(size, scale)
            kernel_s, found = median_time(
                lambda: find_attention_regions_with_merging(matrix), kernel_repeats)
            reference_repeats = 1 if quick or size >= 512 else 3
            reference_s, expected = median_time(
                lambda: reference.find_regions_reference(matrix), reference_repeats)
            if found != expected:
                raise RuntimeError(
                    f"kernel and reference disagree on the {workload} {size}x{size} matrix: "
                    f"{found} != {expected}")
            row = {"workload": workload, "size": size, "kernel_ms": kernel_s * 1e3,
                   "reference_ms": reference_s * 1e3, "speedup": reference_s / kernel_s,
                   "largest_region": max(region_cells(r) for r in found)}
            row.update(time_izzyviz(izzyviz_find, matrix, found))
            rows.append(row)
    return rows


def region_cells(region: tuple[int, int, int, int]) -> int:
    top, left, bottom, right = region
    return (bottom - top + 1) * (right - left + 1)


def time_izzyviz(izzyviz_find: Callable | None, matrix: np.ndarray, found: list) -> dict:
    """IzzyViz's time and agreement (its unstable argsort may order tied seeds differently)."""
    if izzyviz_find is None:
        return {"izzyviz_ms": "not installed"}
    izzyviz_s, theirs = median_time(lambda: izzyviz_find(matrix), 1)
    same = [tuple(int(v) for v in region) for region in theirs] == found
    return {"izzyviz_ms": izzyviz_s * 1e3, "izzyviz_same": same}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes up to 512, fewer repeats")
    parser.add_argument("--sizes", help="comma-separated matrix sizes")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else None
    rows = run(sizes, quick=args.quick)
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = (f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c]) for c in columns)
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
