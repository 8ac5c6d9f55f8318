"""A small project on disk whose figures come from array files (no model needed)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TOKENS = ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]
N = len(TOKENS)

SPEC = """\
version: 1
defaults:
  tokens: {tokens}
figures:
  self:
    kind: self-attention
    array: {{path: arrays/attn.npy, layout: layers heads query key}}
    layer: -1
    head: 1
    boxes:
      - {{tokens: [cat, mat]}}
    caption: Self attention with a box from cat to mat.
  qc:
    kind: question-context
    array: {{path: arrays/attn.npy, layout: layers heads query key}}
    layer: 0
    head: 0
    question_end: 3
  cross:
    kind: cross-attention
    array: {{path: arrays/cross.npz, key: cross, layout: query key}}
    x_labels: [a, b, c, d, e]
    y_labels: [v, w, x]
  compare:
    kind: comparison
    array: {{path: arrays/attn.npy, layout: layers heads query key}}
    head: 0
    a: {{layer: 0}}
    b: {{layer: 1}}
  stable:
    kind: stability
    array: {{path: arrays/runs.npy, layout: runs query key}}
  evolve:
    kind: evolution
    array: {{path: arrays/steps.npy, layout: steps query key}}
  regions:
    kind: regions
    array: {{path: arrays/attn.npy, layout: layers heads query key}}
    layer: 1
    head: 1
    label_regions: true
"""


def softmax_rows(rng: np.random.Generator, *shape: int) -> np.ndarray:
    logits = rng.normal(size=shape) * 2.0
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def write_arrays(folder: Path) -> None:
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "attn.npy", softmax_rows(rng, 2, 2, N, N))
    np.savez(folder / "cross.npz", cross=softmax_rows(rng, 3, 5))
    np.save(folder / "runs.npy", softmax_rows(rng, 5, N, N))
    np.save(folder / "steps.npy", softmax_rows(rng, 6, N, N))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project directory with ``specs/paper.yaml`` and its arrays."""
    specs = tmp_path / "specs"
    write_arrays(specs / "arrays")
    (specs / "paper.yaml").write_text(SPEC.format(tokens=TOKENS), encoding="utf-8")
    return tmp_path


def run_cli(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m izzyfig ARGS`` in ``cwd`` the way a user would."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    return subprocess.run(
        [sys.executable, "-m", "izzyfig", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(name="run_cli")
def run_cli_fixture():
    return run_cli
