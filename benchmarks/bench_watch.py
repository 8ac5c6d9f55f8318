"""Watch latency: from saving a spec (a ``top_n`` change, warm) to the new PDF on disk.

``izzyfig watch specs`` runs in its own process, as a user runs it next to ``latexmk -pvc``;
this process edits the spec and polls the output until its bytes change. For each figure
the same edits are then made with one ``izzyfig build specs`` per save (a fresh process:
start-up, planning, the render), which is what the writing loop costs without watch.
``rebuild_s`` is the rebuild as the watcher timed it (plan + render + write), so
``latency_s - rebuild_s`` is the file watcher, its debounce and the loop.
"""
from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEBOUNCE_MS = 100
SPEC = """\
version: 1
figures:
  tiny:
    kind: self-attention
    model: {root}/models/tiny-repeat
    text: a big red fox chases the small grey mouse . a big red fox chases the small grey mouse .
    layer: 1
    head: 3
    top_n: 3
  minilm:
    kind: self-attention
    model: minilm
    text: The quick brown fox jumps over the lazy dog, and the dog sleeps on in the warm sun.
    layer: 2
    head: 4
    top_n: 3
"""
REBUILT = re.compile(r"rebuilt (\S+) in ([\d.]+) s")
LOADS = re.compile(r"\((\d+) model load")


def run(quick: bool = False) -> list[dict]:
    saves = 3 if quick else 6
    with tempfile.TemporaryDirectory(prefix="izzyfig-bench-watch-") as tmp:
        project = Path(tmp)
        (project / "specs").mkdir()
        spec = project / "specs" / "paper.yaml"
        spec.write_text(SPEC.format(root=ROOT), encoding="utf-8")
        rows = [watched(project, spec, figure, saves) for figure in ("tiny", "minilm")]
        for row in rows:
            row.update(one_shot(project, spec, row["figure"], saves))
            row["one_shot_over_watch"] = round(row["one_shot_s"] / row["latency_s"], 2)
    return rows


def watched(project: Path, spec: Path, figure: str, saves: int) -> dict:
    """Median save-to-PDF latency of ``saves`` top_n edits of ``figure`` under ``izzyfig watch``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "izzyfig", "watch", "specs", "--debounce", str(DEBOUNCE_MS)], cwd=project,
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=dict(os.environ, PYTHONHASHSEED="0"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True).start()
    try:
        wait(lambda: any("watching" in line for line in lines))
        latencies, rebuilds = [], []
        for save in range(saves):
            pdf = project / "figures" / f"{figure}.pdf"
            before, seen = pdf.read_bytes(), len(lines)
            start = time.perf_counter()
            set_top_n(spec, figure, save % 3)
            wait(lambda: pdf.read_bytes() != before, poll=0.002)
            latencies.append(time.perf_counter() - start)
            wait(lambda: any(REBUILT.search(line) for line in lines[seen:]))
            rebuilds.append(float(next(REBUILT.search(line) for line in lines[seen:] if REBUILT.search(line))[2]))
        loads = sum(int(m[1]) for line in lines if (m := LOADS.search(line)))
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
    latency, rebuild = statistics.median(latencies), statistics.median(rebuilds)
    return {"figure": figure, "saves": saves, "latency_s": round(latency, 3),
            "latency_min_s": round(min(latencies), 3), "latency_max_s": round(max(latencies), 3),
            "rebuild_s": round(rebuild, 3), "watch_overhead_s": round(latency - rebuild, 3),
            "debounce_s": DEBOUNCE_MS / 1000, "model_loads_after_first": loads - first_build_loads(lines)}


def first_build_loads(lines: list[str]) -> int:
    for line in lines:
        if (match := LOADS.search(line)):
            return int(match[1])
    return 0


def one_shot(project: Path, spec: Path, figure: str, saves: int) -> dict:
    """The same edits, each followed by ``izzyfig build specs`` in a fresh process."""
    times = []
    for save in range(saves):
        set_top_n(spec, figure, 3 + save % 3)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "izzyfig", "build", "specs", "-q"], cwd=project, check=True,
                       env=dict(os.environ, PYTHONHASHSEED="0"))
        times.append(time.perf_counter() - start)
    return {"one_shot_s": round(statistics.median(times), 3)}


def set_top_n(spec: Path, figure: str, value: int) -> None:
    """Rewrite ``top_n`` of ``figure`` (the file is written in place, as editors do)."""
    text = spec.read_text(encoding="utf-8")
    head, _, tail = text.partition(f"  {figure}:\n")
    tail = re.sub(r"top_n: \d+", f"top_n: {value}", tail, count=1)
    spec.write_text(f"{head}  {figure}:\n{tail}", encoding="utf-8")


def wait(condition, timeout: float = 300, poll: float = 0.02) -> None:
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("benchmark step timed out")
        time.sleep(poll)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import markdown_table

    print(markdown_table(run(quick="--quick" in sys.argv)))
