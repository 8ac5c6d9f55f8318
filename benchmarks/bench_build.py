"""Whole builds through the command line: the gallery, a 50-figure project, start-up, memory.

Every measurement runs ``python -m izzyfig`` in a fresh process, as a user would, so
start-up (imports) is part of the number. ``run(quick)`` returns rows for the harness.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"(\d+) built, (\d+) up to date, (\d+) failed \((\d+) model load\(s\), (\d+) forward")
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Where is the Eiffel Tower? It is in Paris, France.",
    "Attention heads often attend to the previous token.",
    "A cat watches the dog from behind the old tree.",
    "Figures should be rebuilt from specs, not notebooks.",
]
FIFTY = """\
version: 1
defaults: {{model: minilm, layer: 2}}
figures:
  "{{{{s.id}}}}-h{{{{h}}}}":
    kind: self-attention
    foreach: {{s: {sentences}, h: {{range: [0, 10]}}}}
    text: "{{{{s.text}}}}"
    head: "{{{{h}}}}"
"""


def izzyfig(cwd: Path, *args: str) -> tuple[float, str, int]:
    """Run the CLI; returns (wall seconds, stderr, peak RSS of the child in MB)."""
    probe = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        "p = subprocess.run([sys.executable, '-m', 'izzyfig', *sys.argv[1:]], capture_output=True, text=True);"
        "dt = time.perf_counter() - t;"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024;"
        "print(dt, rss, p.returncode); sys.stderr.write(p.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", probe, *args], cwd=cwd, capture_output=True, text=True)
    seconds, rss, code = result.stdout.split()
    if code != "0":
        raise RuntimeError(f"izzyfig {' '.join(args)} failed:\n{result.stderr}")
    return float(seconds), result.stderr, int(rss)


def counts(stderr: str) -> dict[str, int]:
    match = SUMMARY.search(stderr)
    names = ("built", "up_to_date", "failed", "model_loads", "forwards")
    return dict(zip(names, map(int, match.groups()))) if match else {}


PHASES = {  # phase -> extra build arguments; "edited" edits one spec first
    "cold": (), "warm": (), "edited": (),
    # Every figure re-rendered from the warm cache, serially and in two processes.
    "forced -j 1": ("--force", "-j", "1"), "forced -j 2": ("--force", "-j", "2"),
}


def phases(project: Path, label: str, edit) -> list[dict]:
    """Cold (empty cache), warm (no change), one-spec-edited and forced builds of ``project``."""
    rows = []
    for phase, extra in PHASES.items():
        if phase == "edited":
            edit(project)
        seconds, stderr, rss = izzyfig(project, "build", "specs", *extra)
        rows.append({"case": f"{label} {phase}", "seconds": seconds, "peak_rss_mb": rss, **counts(stderr)})
    return rows


def gallery_rows() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copytree(ROOT / "specs", project / "specs")
        shutil.copytree(ROOT / "schemas", project / "schemas")
        if (ROOT / "models").is_dir():
            (project / "models").symlink_to(ROOT / "models")

        def edit(p: Path) -> None:
            spec = p / "specs" / "minilm.yaml"
            spec.write_text(spec.read_text().replace("top_n: 5", "top_n: 4", 1))

        return phases(project, "gallery", edit)


def fifty_rows() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "specs").mkdir()
        items = ", ".join(f'{{id: s{i}, text: "{s}"}}' for i, s in enumerate(SENTENCES))
        text = FIFTY.format(sentences=f"[{items}]")
        (project / "specs" / "fifty.yaml").write_text(text)

        def edit(p: Path) -> None:
            spec = p / "specs" / "fifty.yaml"
            spec.write_text(spec.read_text().replace("layer: 2", "layer: 2, top_n: 4"))

        return phases(project, "50 figures", edit)


def startup_rows() -> list[dict]:
    rows = []
    probe = (
        "import sys, time; t = time.perf_counter(); from izzyfig.cli import main;"
        "code = main(['validate', 'specs']); dt = time.perf_counter() - t;"
        "print(dt, 'torch' in sys.modules, file=sys.stderr)"
    )
    for _ in range(3):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - started
        inside, torch = result.stderr.split()[-2:]
        rows.append({"case": "izzyfig validate specs", "seconds": wall, "in_process_s": float(inside),
                     "torch_imported": torch})
    return rows[1:]  # the first run warms the file cache


def memory_rows() -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "specs").mkdir()
        words = ("attention " * 600).split()[:505]
        rng = np.random.default_rng(0)
        logits = rng.normal(size=(5, 256, 256)) * 2
        runs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        np.save(project / "specs" / "runs.npy", runs.astype(np.float32))
        (project / "specs" / "memory.yaml").write_text(
            "version: 1\nfigures:\n"
            f"  long:\n    kind: self-attention\n    model: minilm\n    text: \"{' '.join(words)}\"\n"
            "    layer: 0\n    head: 0\n"
            "  stable:\n    kind: stability\n    array: {path: runs.npy, layout: runs query key}\n"
        )
        for figure in ("long", "stable"):
            seconds, stderr, rss = izzyfig(project, "build", "specs", "-q", "--only", figure)
            size = (project / "figures" / f"{figure}.pdf").stat().st_size
            label = "self-attention 512 tokens (MiniLM)" if figure == "long" else "stability 5x256x256"
            rows.append({"case": label, "seconds": seconds, "peak_rss_mb": rss, "pdf_kb": size // 1024})
    return rows


def run(quick: bool = False) -> list[dict]:
    rows = gallery_rows() + startup_rows()
    if not quick:
        rows += fifty_rows()
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from run import markdown_table

    print(markdown_table(run(quick="--quick" in sys.argv)))
