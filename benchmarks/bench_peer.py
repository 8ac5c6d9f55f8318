"""Peer benchmark: izzyfig against IzzyViz on the very same arrays, tokens and parameters.

IzzyViz is optional and never a dependency of izzyfig. This section only measures something
when the ``izzyviz`` package can be imported by the interpreter that runs the benchmark;
otherwise it returns a single row that says so. IzzyViz is not published on a package index,
so to include it, install it from its own source repository (WING-NUS/IzzyViz: clone it and
``pip install`` the checkout into this environment) or put the directory that contains its
``izzyviz/`` package on ``PYTHONPATH``. It imports torch and pandas at import time, so those
must be importable too.

What is measured, per figure kind and size:

- each library runs in its own subprocess with a time limit, so a case that is too slow is
  recorded as ``timeout`` instead of stalling the run, and IzzyViz's imports (torch, pyplot)
  never touch the benchmark process;
- inside the subprocess one untimed warm-up call on a 4-token input loads fonts and caches,
  then render+save is timed with ``time.perf_counter`` around the call alone (interpreter
  start-up and imports excluded), up to three times, and the median is reported;
- the PDF each library wrote, whatever its name (IzzyViz's encoder-decoder function ignores
  ``save_path``), is measured for size.

The region finder is timed the same way and its rectangles are compared with izzyfig's, and a
seeded parity sweep runs both finders on many small matrices with varied parameters.

Run it alone with ``python benchmarks/bench_peer.py [--quick]``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FIGURE_FUNCTIONS = {
    "self_attention": "visualize_attention_self_attention",
    "cross_attention": "visualize_attention_encoder_decoder",
    "comparison": "compare_two_attentions_with_circles",
    "stability": "check_stability_heatmap_with_gradient_color",
    "evolution": "visualize_attention_evolution_sparklines",
    "detected_regions": "visualize_attention_with_detected_regions",
}
REGION_FUNCTION = "find_attention_regions_with_merging"
# The finder's own defaults, and what IzzyViz's detected-regions figure passes to it.
REGION_PARAMS = {
    "defaults": {},
    "figure params": {"n_seeds": 3, "min_distance": 2, "expansion_threshold": 0.9,
                      "merge_std_threshold": 0.6, "proximity_threshold": 2,
                      "max_expansion_steps": 3},
}
# IzzyViz's __init__ does not re-export the two region functions; its visualization module has all.
PEER_MODULE = "izzyviz.visualization"
OWN_MODULE = "izzyfig.api"
TIME_LIMIT_S = 120.0
REPEAT_BUDGET_S = 45.0  # stop repeating once another call would push a case past this
REPEATS = 3
WARMUP_TOKENS = 4
STABILITY_RUNS = 5
EVOLUTION_STEPS = 10
PARITY_CASES = 300
PARITY_LIMIT_S = 600.0


def run(quick: bool = False) -> list[dict]:
    """Rows comparing izzyfig with IzzyViz; a single row when IzzyViz cannot be imported."""
    problem = import_problem(PEER_MODULE)
    if problem is not None:
        return [{"check": "peer", "note": f"izzyviz not importable ({problem})"}]
    render_sizes = (16, 32) if quick else (16, 32, 64, 128)
    region_sizes = render_sizes + ((256,) if quick else (256, 512))
    with tempfile.TemporaryDirectory(prefix="izzyfig-peer-") as scratch:
        work = Path(scratch)
        rows = render_rows(render_sizes, work)
        rows += region_rows(region_sizes, work)
        rows += parity_rows(PARITY_CASES // 3 if quick else PARITY_CASES, work)
    return rows


def import_problem(module: str) -> str | None:
    """The last line of the error raised by importing ``module`` in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                          text=True, timeout=TIME_LIMIT_S)
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


# ----------------------------------------------------------------------------- inputs


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis, in float32 like a model's attentions."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    weights = np.exp(shifted)
    return (weights / weights.sum(axis=-1, keepdims=True)).astype(np.float32)


def attention_logits(rng: np.random.Generator, n: int) -> np.ndarray:
    """Logits of shape (n, n): noise plus a diagonal band and a few hot columns, like real heads."""
    logits = rng.normal(scale=1.5, size=(n, n))
    index = np.arange(n)
    logits += 2.0 * (np.abs(index[:, None] - index[None, :]) <= 1)
    logits[:, rng.choice(n, size=max(1, n // 8), replace=False)] += 2.5
    return logits


def synthetic_inputs(kind: str, n: int, seed: int) -> dict[str, np.ndarray]:
    """Seeded arrays for one figure kind.

    Returns
    -------
    dict
        ``attention`` (n, n) for every kind; ``second`` (n, n) for comparison; ``runs``
        (5, n, n) for stability; ``steps`` (10, 1, 1, n, n) for evolution.
    """
    rng = np.random.default_rng([seed, n])
    logits = attention_logits(rng, n)
    arrays = {"attention": softmax_rows(logits)}
    if kind == "comparison":
        arrays["second"] = softmax_rows(logits + rng.normal(scale=1.0, size=(n, n)))
    if kind == "stability":
        noise = rng.normal(scale=0.6, size=(STABILITY_RUNS, n, n))
        arrays["runs"] = softmax_rows(logits[None] + noise)
    if kind == "evolution":
        sharpness = np.linspace(0.1, 1.0, EVOLUTION_STEPS)[:, None, None]
        noise = rng.normal(scale=0.3, size=(EVOLUTION_STEPS, n, n))
        arrays["steps"] = softmax_rows(sharpness * logits[None] + noise)[:, None, None]
    return arrays


def synthetic_tokens(n: int) -> list[str]:
    """``[CLS] w1 ... [SEP]``: both libraries bold the special tokens."""
    words = [f"w{i}" for i in range(1, n - 1)]
    return ["[CLS]", *words, "[SEP]"][:n]


def figure_call(kind: str, arrays: dict[str, np.ndarray], save_path: str) -> tuple[tuple, dict]:
    """Positional and keyword arguments of the same-named function of either library."""
    tokens = synthetic_tokens(arrays["attention"].shape[0])
    matrix = arrays["attention"]
    if kind == "self_attention":
        return ((matrix[None, None],), tokens, 0, 0), {"save_path": save_path}
    if kind == "cross_attention":
        return (matrix, tokens, tokens), {"save_path": save_path}
    if kind == "comparison":
        return (matrix, arrays["second"], tokens), {"save_path": save_path}
    if kind == "stability":
        return (arrays["runs"],), {"x_labels": tokens, "y_labels": tokens, "save_path": save_path}
    if kind == "evolution":
        return (arrays["steps"],), {"tokens": tokens, "layer": 0, "head": 0,
                                    "save_path": save_path}
    if kind == "detected_regions":
        return (matrix, tokens, tokens), {"save_path": save_path}
    raise ValueError(f"unknown figure kind {kind!r}")


# ----------------------------------------------------------------------------- parent side


def run_job(job: dict, work: Path, limit_s: float = TIME_LIMIT_S) -> dict:
    """Run one worker job in a fresh interpreter whose working directory is a new folder.

    Returns the worker's result, ``{"status": "timeout"}``, or ``{"status": "error", ...}``.
    """
    job_dir = Path(tempfile.mkdtemp(dir=work))
    (job_dir / "job.json").write_text(json.dumps(job))
    env = dict(os.environ, MPLBACKEND="Agg")
    try:
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker",
                               str(job_dir / "job.json")], cwd=job_dir, env=env,
                              capture_output=True, text=True, timeout=limit_s)
    except subprocess.TimeoutExpired:
        return {"status": "timeout"}
    result_path = job_dir / "result.json"
    if done.returncode != 0 or not result_path.exists():
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        return {"status": "error", "error": tail[0]}
    return json.loads(result_path.read_text())


def render_rows(sizes: tuple[int, ...], work: Path) -> list[dict]:
    """One row per figure kind and size: both libraries on the same arrays."""
    rows = []
    for kind in FIGURE_FUNCTIONS:
        for n in sizes:
            peer = run_job({"mode": "figure", "module": PEER_MODULE, "kind": kind, "n": n}, work)
            own = run_job({"mode": "figure", "module": OWN_MODULE, "kind": kind, "n": n}, work)
            rows.append(comparison_row("render", kind, n, peer, own))
    return rows


def region_rows(sizes: tuple[int, ...], work: Path) -> list[dict]:
    """One row per parameter set and size: the region finders timed, their rectangles compared."""
    rows = []
    for label in REGION_PARAMS:
        for n in sizes:
            job = {"mode": "regions", "n": n, "params": label}
            peer = run_job({**job, "module": PEER_MODULE}, work)
            own = run_job({**job, "module": OWN_MODULE}, work)
            row = comparison_row("regions", f"{REGION_FUNCTION} ({label})", n, peer, own)
            if "rects" in peer and "rects" in own:
                same = peer["rects"] == own["rects"]
                row["note"] = "identical rectangles" if same else (
                    f"DIFFERENT: izzyviz {peer['rects']} izzyfig {own['rects']}")
            rows.append(row)
    return rows


def parity_rows(count: int, work: Path) -> list[dict]:
    """The parity sweep as rows: one per matrix family and dtype, plus the first mismatch."""
    result = run_job({"mode": "parity", "count": count}, work, limit_s=PARITY_LIMIT_S)
    if "cases" not in result:
        return [{"check": "parity", "kind": REGION_FUNCTION, "note": result.get("status")}]
    rows = [{"check": "parity", "kind": family, "size": tally["sizes"], "note": tally_note(tally)}
            for family, tally in sorted(result["tally"].items())]
    for label in ("first_mismatch", "smallest_mismatch"):
        if result.get(label):
            rows.append({"check": "parity", "kind": label, "note": json.dumps(result[label])})
    return rows


def tally_note(tally: dict) -> str:
    note = f"{tally['mismatches']} mismatches in {tally['cases']} cases"
    if tally["mismatches"]:
        note += f" ({tally['tied']} of them on matrices with tied values)"
    if tally["both_raised"]:
        note += f", {tally['both_raised']} rejected by both"
    return note


def comparison_row(check: str, kind: str, n: int, peer: dict, own: dict) -> dict:
    """Times, speed-up (izzyviz / izzyfig) and PDF sizes of one case."""
    peer_s, own_s = median_or_status(peer), median_or_status(own)
    row = {"check": check, "kind": kind, "size": n, "izzyviz_s": peer_s, "izzyfig_s": own_s,
           "speedup": ratio(peer_s, own_s)}
    if check == "render":
        peer_kb, own_kb = pdf_kib(peer), pdf_kib(own)
        row.update(izzyviz_pdf_kib=peer_kb, izzyfig_pdf_kib=own_kb,
                   pdf_ratio=ratio(own_kb, peer_kb), note=pdf_note(peer, own))
    return row


def median_or_status(result: dict) -> float | str:
    if result.get("times"):
        return statistics.median(result["times"])
    return result.get("status", "error") + (f": {result['error']}" if result.get("error") else "")


def pdf_kib(result: dict) -> float | str:
    pdfs = result.get("pdfs")
    return sum(pdfs.values()) / 1024 if pdfs else "-"


def ratio(numerator, denominator) -> float | str:
    if isinstance(numerator, float) and isinstance(denominator, float) and denominator > 0:
        return numerator / denominator
    return "-"


def pdf_note(peer: dict, own: dict) -> str:
    """Say when a library wrote somewhere other than the ``save_path`` it was given."""
    notes = []
    for name, result in (("izzyviz", peer), ("izzyfig", own)):
        written = sorted(result.get("pdfs", {}))
        if written and written != ["out.pdf"]:
            notes.append(f"{name} wrote {', '.join(written)}")
        runs = len(result.get("times", []))
        if 0 < runs < REPEATS:
            notes.append(f"{name} ran {runs}x")
    return "; ".join(notes)


# ----------------------------------------------------------------------------- worker side


def worker_main(job_path: Path) -> None:
    """Entry point of a subprocess: run the job, write ``result.json`` beside the job file."""
    job = json.loads(job_path.read_text())
    runners = {"figure": figure_job, "regions": regions_job, "parity": parity_job}
    result = runners[job["mode"]](job)
    (job_path.parent / "result.json").write_text(json.dumps(result))


def figure_job(job: dict) -> dict:
    """Warm up on a tiny input, then time render+save of the same-named function."""
    import importlib

    import matplotlib.pyplot as plt  # only to close what IzzyViz leaves open between calls

    function = getattr(importlib.import_module(job["module"]), FIGURE_FUNCTIONS[job["kind"]])
    save_path = str(Path.cwd() / "out.pdf")

    def call(n: int) -> None:
        args, kwargs = figure_call(job["kind"], synthetic_inputs(job["kind"], n, 0), save_path)
        function(*args, **kwargs)

    call(WARMUP_TOKENS)
    clear_pdfs()
    plt.close("all")
    args, kwargs = figure_call(job["kind"], synthetic_inputs(job["kind"], job["n"], 0), save_path)
    times = timed_repeats(lambda: function(*args, **kwargs), after=lambda: plt.close("all"))
    return {"times": times, "pdfs": {p.name: p.stat().st_size for p in Path.cwd().glob("*.pdf")}}


def clear_pdfs() -> None:
    for pdf in Path.cwd().glob("*.pdf"):
        pdf.unlink()


def timed_repeats(call, after=lambda: None) -> list[float]:
    """Seconds of up to ``REPEATS`` calls, fewer when the budget would be exceeded."""
    times: list[float] = []
    while len(times) < REPEATS and (not times or sum(times) + times[-1] < REPEAT_BUDGET_S):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
        after()
    return times


def regions_job(job: dict) -> dict:
    """Time the region finder on one synthetic attention matrix and return its rectangles."""
    import importlib

    finder = getattr(importlib.import_module(job["module"]), REGION_FUNCTION)
    params = REGION_PARAMS[job["params"]]
    finder(synthetic_inputs("regions", WARMUP_TOKENS, 0)["attention"], **params)
    matrix = synthetic_inputs("regions", job["n"], 0)["attention"]
    found: list = []
    times = timed_repeats(lambda: found.append(finder(matrix, **params)))
    return {"times": times, "rects": as_rects(found[-1])}


def as_rects(rects) -> list[list[int]]:
    return [[int(v) for v in rect] for rect in rects]


# Hand-written matrices whose seeds tie: the order of equal cells decides the rectangles.
TIE_CASES = ([[0.5, 0.5], [0.0, 0.0]], [[0.0, 1.0, 1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]])
PARITY_FAMILIES = ("uniform", "softmax", "block", "banded", "causal", "quantized", "constant",
                   "sparse")


def parity_matrix(family: str, rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A float64 matrix of shape (rows, cols) from one structural family."""
    if family == "uniform":
        return rng.random((rows, cols))
    if family == "softmax":
        return softmax_rows(rng.normal(scale=2.0, size=(rows, cols))).astype(np.float64)
    if family == "block":
        r, c = np.arange(rows)[:, None] * 4 // rows, np.arange(cols)[None, :] * 4 // cols
        return (r == c) + 0.05 * rng.random((rows, cols))
    if family == "banded":
        r, c = np.arange(rows)[:, None], np.arange(cols)[None, :]
        return np.exp(-np.abs(r - c) / 1.5) + 0.02 * rng.random((rows, cols))
    if family == "causal":
        logits = rng.normal(scale=2.0, size=(rows, cols))
        logits[np.triu_indices(rows, 1, cols)] = -np.inf
        return softmax_rows(logits).astype(np.float64)
    if family == "quantized":
        return np.round(rng.random((rows, cols)), 1)
    if family == "constant":
        return np.full((rows, cols), 0.25)
    if family == "sparse":
        return (rng.random((rows, cols)) > 0.9) * rng.random((rows, cols))
    raise ValueError(f"unknown family {family!r}")


def parity_cases(count: int, seed: int = 20240611) -> list[dict]:
    """Seeded cases cycling through the families; every third case is given as float32."""
    rng = np.random.default_rng(seed)
    cases = []
    for index in range(count):
        family = PARITY_FAMILIES[index % len(PARITY_FAMILIES)]
        rows, cols = (int(v) for v in rng.integers(2, 41, size=2))
        matrix = parity_matrix(family, rng, rows, cols)
        dtype = "float32" if index % 3 == 2 else "float64"
        params = {"n_seeds": int(rng.integers(1, 6)), "min_distance": int(rng.integers(0, 4)),
                  "expansion_threshold": float(rng.choice([0.5, 0.7, 0.8, 0.9, 1.0])),
                  "merge_std_threshold": float(rng.choice([0.3, 0.6, 0.8, 1.0])),
                  "proximity_threshold": int(rng.integers(0, 4)),
                  "max_expansion_steps": int(rng.integers(1, 5))}
        cases.append({"index": index, "family": family, "dtype": dtype,
                      "matrix": matrix.astype(dtype), "params": params})
    for matrix in TIE_CASES:
        cases.append({"index": len(cases), "family": "fixed ties", "dtype": "float64",
                      "matrix": np.array(matrix, dtype=np.float64), "params": {}})
    return cases


def parity_job(job: dict) -> dict:
    """Run both region finders on every case; tally mismatches per family and dtype."""
    import importlib

    peer = getattr(importlib.import_module(PEER_MODULE), REGION_FUNCTION)
    own = getattr(importlib.import_module(OWN_MODULE), REGION_FUNCTION)
    tally: dict[str, dict[str, int]] = {}
    mismatches = []
    cases = parity_cases(job["count"])
    for case in cases:
        expected, actual = outcome(peer, case), outcome(own, case)
        key = f"{case['family']}/{case['dtype']}"
        counts = tally.setdefault(key, {"cases": 0, "mismatches": 0, "tied": 0, "both_raised": 0,
                                        "sizes": "-"})
        counts["cases"] += 1
        counts["sizes"] = size_range(counts["sizes"], case["matrix"].shape)
        both_raised = "raised" in expected and "raised" in actual
        counts["both_raised"] += both_raised
        if not both_raised and expected != actual:
            counts["mismatches"] += 1
            counts["tied"] += has_ties(case["matrix"])
            mismatches.append(describe(case, expected, actual, job["count"]))
    smallest = min(mismatches, key=lambda m: m["shape"][0] * m["shape"][1], default=None)
    return {"cases": len(cases), "tally": tally,
            "first_mismatch": mismatches[0] if mismatches else None,
            "smallest_mismatch": smallest}


def outcome(finder, case: dict) -> dict:
    try:
        return {"rects": as_rects(finder(case["matrix"], **case["params"]))}
    except Exception as error:  # a finder rejecting a case is an outcome to compare
        return {"raised": f"{type(error).__name__}: {error}"}


def size_range(seen: str, shape: tuple[int, int]) -> str:
    """Smallest and largest side so far, as ``"lo..hi"``."""
    sides = [int(v) for v in seen.split("..")] if seen != "-" else []
    sides += list(shape)
    return f"{min(sides)}..{max(sides)}"


def has_ties(matrix: np.ndarray) -> bool:
    return bool(np.unique(matrix).size < matrix.size)


def describe(case: dict, expected: dict, actual: dict, count: int) -> dict:
    """A mismatch; the matrix itself only when small, else how to regenerate it."""
    matrix = case["matrix"]
    shown = matrix.astype(float).tolist() if matrix.size <= 64 else (
        f"bench_peer.parity_cases({count})[{case['index']}]['matrix']")
    return {"index": case["index"], "family": case["family"], "dtype": case["dtype"],
            "shape": list(matrix.shape), "params": case["params"], "matrix": shown,
            "izzyviz": expected, "izzyfig": actual}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and parity cases")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.worker)
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import markdown_table

    print(markdown_table(run(quick=args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
