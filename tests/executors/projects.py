"""Small projects for the executor tests, and a closed port on 127.0.0.1."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
TINY = """\
version: 1
defaults:
  layer: 1
figures:
  induction:
    kind: self-attention
    model: ../models/tiny-repeat
    text: a big red fox chases the small grey mouse . a big red fox chases the small grey mouse .
    head: 3
  reversal:
    kind: cross-attention
    model: ../models/tiny-reverse
    source: the quick brown fox jumps over the lazy dog .
    target: . dog lazy the over jumps fox brown quick the
    head: 2
  before-after:
    kind: comparison
    source: one two three four five six seven eight
    target: eight seven six five four three two one
    attention: cross
    head: 1
    a: {model: ../models/tiny-reverse-steps/step0000}
    b: {model: ../models/tiny-reverse-steps/step1000}
"""
ARRAYS = """\
version: 1
figures:
  self:
    kind: self-attention
    array: {path: attn.npy, layout: query key}
    tokens: [a, b, c, d]
"""


def run_cli(cwd: Path, *args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m izzyfig ARGS`` in ``cwd`` the way a user would."""
    return subprocess.run([sys.executable, "-m", "izzyfig", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, PYTHONHASHSEED="0", **(env or {})))


def model_project(folder: Path, spec: str = TINY) -> Path:
    """``folder/specs/tiny.yaml`` over the repository's tiny models (``folder/models`` links them)."""
    (folder / "specs").mkdir(parents=True)
    (folder / "specs" / "tiny.yaml").write_text(spec)
    (folder / "models").symlink_to(ROOT / "models")
    return folder


def array_project(folder: Path) -> Path:
    """``folder/specs/arrays.yaml``: one figure from an array file, no model."""
    (folder / "specs").mkdir(parents=True)
    matrix = np.random.default_rng(0).random((4, 4))
    np.save(folder / "specs" / "attn.npy", matrix / matrix.sum(axis=1, keepdims=True))
    (folder / "specs" / "arrays.yaml").write_text(ARRAYS)
    return folder


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
