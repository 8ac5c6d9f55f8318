"""Item 1: figures that would write the same file are refused at validation.

Two figures with one ``output``, an output equal to another figure's default
``<id>.pdf``, ``z.svg`` and ``z.png`` sharing ``z.tex``, an id that makes
``appendix.tex``, and names that differ only in case used to build with exit 0,
one PDF silently showing the other's map.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
version: 1
defaults:
  array: {path: ../attn.npy, layout: query key}
  tokens: [a, b, c, d]
figures:
  a:
    kind: self-attention
    output: same.pdf
  b:
    kind: self-attention
"""

COLLIDING = """\
version: 1
defaults:
  array: {path: ../attn.npy, layout: query key}
  tokens: [a, b, c, d]
figures:
  a:
    kind: self-attention
    output: same.pdf
  b:
    kind: self-attention
    output: same.pdf
  c:
    kind: self-attention
    output: d.pdf
  d:
    kind: self-attention
  zsvg:
    kind: self-attention
    output: z.svg
  zpng:
    kind: self-attention
    output: z.png
  appendix:
    kind: self-attention
  upper:
    kind: self-attention
    output: Same.pdf
"""


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "izzyfig", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": path}, timeout=600,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file the user owns (all but izzyfig's cache) with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".izzyfig" not in p.relative_to(root).parts
    }


def test_every_collision_is_refused_and_names_both_figures(tmp_path: Path) -> None:
    np.save(tmp_path / "attn.npy", np.full((4, 4), 0.25))
    spec = tmp_path / "specs" / "p.yaml"
    spec.parent.mkdir()
    spec.write_text(GOOD, encoding="utf-8")
    first = run(tmp_path, "build", "specs")
    assert first.returncode == 0, first.stderr
    spec.write_text(COLLIDING, encoding="utf-8")
    before = snapshot(tmp_path)

    for command in ("validate", "build"):
        result = run(tmp_path, command, "specs")
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            "specs/p.yaml:11:5: figures.b.output: output 'same.pdf' collides with the output 'same.pdf' "
            "of figure 'a' (specs/p.yaml:8:5)",
            "specs/p.yaml:15:3: figures.d: output 'd.pdf' (the default '<id>.pdf') collides with the "
            "output 'd.pdf' of figure 'c' (specs/p.yaml:14:5)",
            "specs/p.yaml:22:5: figures.zpng.output: LaTeX snippet 'z.tex' (of output 'z.png') collides "
            "with the LaTeX snippet 'z.tex' (of output 'z.svg') of figure 'zsvg' (specs/p.yaml:19:5)",
            "specs/p.yaml:23:3: figures.appendix: LaTeX snippet 'appendix.tex' (of output 'appendix.pdf') "
            "is the file `izzyfig appendix` writes; choose another id or output",
            "specs/p.yaml:27:5: figures.upper.output: output 'Same.pdf' collides with the output "
            "'same.pdf' of figure 'a' (specs/p.yaml:8:5); the names differ only in case, and macOS and "
            "Windows treat them as one file",
        ]
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert snapshot(tmp_path) == before  # the first build's PDFs, snippets and lock are untouched
