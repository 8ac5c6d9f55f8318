"""Item 19: strict types, YAML 1.1 booleans named, and data that is not attention warned about.

``layer: true``, ``layer: 1.0`` and ``layer: "1"`` were accepted as layer 1; ``on`` in
``tokens: [the, cat, sat, on]`` became ``true`` without a word; negative attention or
rows that do not sum to 1 were drawn without comment.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
TYPES = """\
version: 1
defaults:
  array: {path: ../attn.npy, layout: layers heads query key}
  tokens: [a, b, c, d]
figures:
  bool-layer:
    kind: self-attention
    layer: true
  float-layer:
    kind: self-attention
    layer: 1.0
  string-layer:
    kind: self-attention
    layer: "1"
  float-count:
    kind: self-attention
    top_n: 2.0
  yaml-on:
    kind: self-attention
    tokens: [the, cat, sat, on]
  yaml-no:
    kind: self-attention
    tokens: [yes, "no", b, off]
"""
DATA = """\
version: 1
defaults:
  tokens: [a, b, c, d]
figures:
  negative:
    kind: self-attention
    array: {path: ../negative.npy}
  counts:
    kind: regions
    array: {path: ../counts.npy}
  cross:
    kind: cross-attention
    array: {path: ../cross.npy}
    x_labels: [a, b, c, d, e]
    y_labels: [v, w, x]
  fine-comparison:
    kind: comparison
    array: {path: ../attn.npy, layout: layers heads query key}
    head: 0
    a: {layer: 0}
    b: {layer: 1}
  bad-side:
    kind: comparison
    array: {path: ../attn.npy, layout: layers heads query key}
    layer: 0
    head: 0
    a: {}
    b:
      array: {path: ../counts4.npy, layout: layers heads query key}
"""


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "izzyfig", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": path}, timeout=600,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".izzyfig" not in p.relative_to(root).parts
    }


def attention(rng: np.random.Generator, *shape: int) -> np.ndarray:
    weights = rng.random(shape) + 0.05
    return weights / weights.sum(-1, keepdims=True)


def test_loose_types_and_yaml_booleans_are_positioned_errors(tmp_path: Path) -> None:
    np.save(tmp_path / "attn.npy", attention(np.random.default_rng(0), 2, 2, 4, 4))
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "p.yaml").write_text(TYPES, encoding="utf-8")
    before = snapshot(tmp_path)
    for command in ("validate", "build"):
        result = run(tmp_path, command, "specs")
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            "specs/p.yaml:8:5: figures.bool-layer.layer: expected an integer, got true",
            "specs/p.yaml:11:5: figures.float-layer.layer: expected an integer, got 1.0",
            "specs/p.yaml:14:5: figures.string-layer.layer: expected an integer, got '1' (remove the quotes)",
            "specs/p.yaml:17:5: figures.float-count.top_n: expected an integer, got 2.0",
            "specs/p.yaml:20:29: figures.yaml-on.tokens[3]: expected a string, got true "
            "(YAML reads on as true; quote it: 'on')",
            "specs/p.yaml:23:14: figures.yaml-no.tokens[0]: expected a string, got true "
            "(YAML reads yes as true; quote it: 'yes')",
            "specs/p.yaml:23:28: figures.yaml-no.tokens[3]: expected a string, got false "
            "(YAML reads off as false; quote it: 'off')",
        ]
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert snapshot(tmp_path) == before


def test_maps_that_are_not_attention_are_drawn_with_a_positioned_warning(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    negative = np.full((4, 4), 0.25)
    negative[1] = [1.25, -0.25, 0.0, 0.0]  # sums to 1, but no softmax gives -0.25
    np.save(tmp_path / "negative.npy", negative)
    np.save(tmp_path / "counts.npy", rng.integers(0, 5, size=(4, 4)).astype(np.float64) + 1)
    cross = attention(rng, 3, 5)
    cross[2] *= 0.5
    np.save(tmp_path / "cross.npy", cross)
    np.save(tmp_path / "attn.npy", attention(rng, 2, 2, 4, 4))
    np.save(tmp_path / "counts4.npy", np.ones((2, 2, 4, 4)))
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "p.yaml").write_text(DATA, encoding="utf-8")
    before = snapshot(tmp_path)
    counts_sum = np.load(tmp_path / "counts.npy")[0].sum()

    result = run(tmp_path, "build", "specs")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("specs/")]
    assert warnings == [
        "specs/p.yaml:7:5: warning: figures.negative.array: 1 negative value(s), the smallest -0.25: "
        "attention weights are never negative (scores before the softmax?)",
        f"specs/p.yaml:10:5: warning: figures.counts.array: 4 of 4 rows do not sum to 1 (row 0 sums to "
        f"{counts_sum:.3g}): attention rows sum to 1 over the keys (wrong array or layout?)",
        "specs/p.yaml:13:5: warning: figures.cross.array: 1 of 3 rows do not sum to 1 (row 2 sums to 0.5): "
        "attention rows sum to 1 over the keys (wrong array or layout?)",
        "specs/p.yaml:29:7: warning: figures.bad-side.b.array: 4 of 4 rows do not sum to 1 (row 0 sums to 4): "
        "attention rows sum to 1 over the keys (wrong array or layout?)",
    ]
    assert result.stderr.splitlines()[-1].startswith("5 built, 0 up to date, 0 failed, 4 warning(s)")
    lock = json.loads((tmp_path / "izzyfig.lock").read_text())
    assert "warnings" not in lock["figures"]["fine-comparison"]
    assert lock["figures"]["bad-side"]["warnings"][0]["key"] == ["b", "array"]

    strict = run(tmp_path, "build", "--strict", "specs")
    assert strict.returncode == 1
    assert "specs/p.yaml:7:5: error: figures.negative.array: 1 negative value(s)" in strict.stderr
    assert "Traceback" not in result.stderr + strict.stderr and "internal error" not in result.stderr
    assert {k: v for k, v in snapshot(tmp_path).items() if k in before} == before
