"""Item 18: ``device`` is a per-figure choice and part of a forward's identity.

One ``device: cuda`` figure made the CPU figures with the same model and text fail
("device 'cuda' was asked for"), and an ``mps`` figure reported ``cuda``: the forwards
were shared because the device was not part of their key. (No GPU is needed: the
figures on cuda and mps fail here, each with its own message, and the CPU one builds.)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPEC = """\
version: 1
defaults:
  model: ../models/tiny-repeat
  text: a big red fox chases the small grey mouse .
  layer: 1
  head: 3
figures:
  on-gpu:
    kind: self-attention
    device: cuda
  on-cpu:
    kind: self-attention
  on-mac:
    kind: self-attention
    device: mps
"""


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "izzyfig", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": path}, timeout=600,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_figure_on_an_absent_device_fails_alone_and_names_its_device(tmp_path: Path) -> None:
    shutil.copytree(REPO / "models" / "tiny-repeat", tmp_path / "models" / "tiny-repeat")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "p.yaml").write_text(SPEC, encoding="utf-8")
    user_files = snapshot(tmp_path)

    plan = run(tmp_path, "plan", "specs")
    assert plan.returncode == 0, plan.stderr
    models = [line for line in plan.stdout.splitlines() if line.startswith("  ../models/tiny-repeat: ")]
    assert [line.split(", ")[1].split(" on ")[1] for line in models] == ["cuda", "cpu", "mps"]
    forwards = [line.split()[0] for line in plan.stdout.splitlines() if "(layers: self 1)" in line]
    assert len(set(forwards)) == 3  # three forwards, one per device

    build = run(tmp_path, "build", "specs")
    assert build.returncode == 1
    errors = [line for line in build.stderr.splitlines() if line.startswith("specs/")]
    assert errors == [
        "specs/p.yaml:8:3: figures.on-gpu: device 'cuda' was asked for, but torch finds no CUDA device; use 'cpu'",
        "specs/p.yaml:13:3: figures.on-mac: device 'mps' was asked for, but torch finds no MPS device; use 'cpu'",
    ]
    assert build.stderr.splitlines()[-1] == "1 built, 0 up to date, 2 failed (1 model load(s), 1 forward pass(es))"
    assert "Traceback" not in build.stderr and "internal error" not in build.stderr
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["on-cpu.pdf", "on-cpu.tex"]
    assert {k: v for k, v in snapshot(tmp_path).items() if k in user_files} == user_files
