"""Render + save time and PDF size of every figure kind, next to a bare-pcolormesh floor.

    python benchmarks/bench_render.py [--quick]

For each kind and token count the row holds the median wall time of rendering and
saving a PDF, the median time of the "floor" (one plain ``pcolormesh`` of a
same-sized matrix on a bare Figure, saved as PDF: what any heatmap costs), their
ratio, and the PDF size. Stability uses 5 runs, evolution 10 steps.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from izzyfig import render

SIZES = (32, 64, 128, 256, 512)
QUICK_SIZES = (32, 128)
KINDS = ("self-attention", "question-context", "cross-attention", "comparison", "stability",
         "evolution", "regions")


def attention(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A row-stochastic (rows, cols) map with a diagonal band and a heavy first column."""
    i = np.arange(rows)[:, None] * (cols / rows)
    logits = -np.abs(i - np.arange(cols)[None, :]) / 3 + rng.normal(0, 1, (rows, cols))
    logits[:, 0] += 2.0
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def figure_job(kind: str, n: int, rng: np.random.Generator):
    """A zero-argument callable that renders ``kind`` at ``n`` tokens."""
    tokens = ["[CLS]"] + [f"tok{i}" for i in range(1, n - 1)] + ["[SEP]"]
    base = attention(rng, n, n)
    if kind == "self-attention":
        return lambda: render.render_self_attention(base, tokens)
    if kind == "question-context":
        return lambda: render.render_question_context(base, tokens, n // 3)
    if kind == "cross-attention":
        return lambda: render.render_cross_attention(attention(rng, n, n), tokens, tokens)
    if kind == "comparison":
        other = attention(rng, n, n)
        return lambda: render.render_comparison(base, other, tokens, tokens)
    if kind == "stability":
        runs = np.stack([np.abs(base + rng.normal(0, 0.01, base.shape)) for _ in range(5)])
        return lambda: render.render_stability(runs, tokens, tokens)
    if kind == "evolution":
        steps = np.stack([base * (1 - t / 9) + base.T * t / 9 for t in range(10)])
        return lambda: render.render_evolution(steps, tokens, tokens)
    return lambda: render.render_regions(base, tokens, tokens)


def median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor_job(matrix: np.ndarray, path: Path):
    """The floor: a bare pcolormesh of ``matrix`` saved to PDF, no labels or layout."""
    def draw_and_save():
        fig = Figure(figsize=(10, 10))
        fig.add_subplot().pcolormesh(matrix, cmap="Blues")
        fig.savefig(path, format="pdf")
    return draw_and_save


def run(sizes=SIZES, quick: bool = False) -> list[dict]:
    """Rows {kind, tokens, seconds, floor_seconds, ratio, pdf_kb}; medians of >= 3 runs."""
    sizes = QUICK_SIZES if quick and sizes == SIZES else sizes
    repeats = 3
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        for n in sizes:
            rng = np.random.default_rng(n)
            floor = median_seconds(floor_job(attention(rng, n, n), out / "floor.pdf"), repeats)
            for kind in KINDS:
                job = figure_job(kind, n, rng)
                target = out / f"{kind}-{n}.pdf"
                seconds = median_seconds(lambda: render.save_figure(job(), target), repeats)
                rows.append({
                    "kind": kind, "tokens": n, "seconds": round(seconds, 3),
                    "floor_seconds": round(floor, 3), "ratio": round(seconds / floor, 2),
                    "pdf_kb": round(target.stat().st_size / 1024, 1),
                })
    return rows


def main(argv: list[str]) -> int:
    rows = run(quick="--quick" in argv)
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(str(row[k]) for k in keys))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
