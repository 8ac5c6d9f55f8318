"""Item 10: every size a user controls is bounded, at validation and in the renderers.

A 200,000-character title or one 50,000-character token drove RSS to 14.5 GB; a
``.npy`` header declaring 100000 x 100000 tried to allocate 74.5 GiB; ``figsize: [1e6,
1e6]`` and ``enlarged_size: 1e6`` gave "internal error".
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from izzyfig.errors import RenderError
from izzyfig import limits
from izzyfig.render import render_comparison, render_question_context, render_self_attention

REPO = Path(__file__).resolve().parents[2]
TOKENS = ["a", "b", "c", "d"]
SPEC = """\
version: 1
defaults:
  array: {{path: ../attn.npy, layout: query key}}
  tokens: [a, b, c, d]
figures:
  long-title:
    kind: self-attention
    title: {title}
  long-token:
    kind: self-attention
    tokens: [{token}, b, c, d]
  huge-figure:
    kind: self-attention
    figsize: [1e6, 1e6]
  huge-cells:
    kind: self-attention
    enlarged_size: 1e6
"""
ARRAYS = """\
version: 1
defaults:
  tokens: [a, b, c, d]
figures:
  truncated:
    kind: self-attention
    array: {path: ../header-only.npy}
  too-big:
    kind: self-attention
    array: {path: ../sparse.npy}
"""


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "izzyfig", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": path}, timeout=600,
    )


def snapshot(root: Path) -> dict[str, object]:
    """Digest of every small user file; size and mtime of the huge sparse ones."""
    found = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".izzyfig" not in p.relative_to(root).parts:
            stat = p.stat()
            small = stat.st_size < 1 << 20
            found[p.relative_to(root).as_posix()] = (
                hashlib.sha256(p.read_bytes()).hexdigest() if small else (stat.st_size, stat.st_mtime_ns)
            )
    return found


def npy_header(shape: tuple[int, ...]) -> bytes:
    """The bytes of a version 1.0 ``.npy`` header for float64 values of ``shape``."""
    text = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}"
    text += " " * (64 - (10 + len(text) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin1")


def test_texts_figure_size_and_enlarged_cells_are_bounded_at_validation(tmp_path: Path) -> None:
    np.save(tmp_path / "attn.npy", np.full((4, 4), 0.25))
    (tmp_path / "specs").mkdir()
    spec = SPEC.format(title="T" * 200_000, token="w" * 50_000)
    (tmp_path / "specs" / "p.yaml").write_text(spec, encoding="utf-8")
    before = snapshot(tmp_path)
    for command in ("validate", "build"):
        result = run(tmp_path, command, "specs")
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            "specs/p.yaml:8:5: figures.long-title.title: expected at most 300 characters, got 200000",
            "specs/p.yaml:11:14: figures.long-token.tokens[0]: expected at most 200 characters, got 50000",
            "specs/p.yaml:14:15: figures.huge-figure.figsize[0]: must be at most 50, got 1000000.0",
            "specs/p.yaml:14:20: figures.huge-figure.figsize[1]: must be at most 50, got 1000000.0",
            "specs/p.yaml:17:5: figures.huge-cells.enlarged_size: must be at most 10, got 1000000.0",
        ]
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert snapshot(tmp_path) == before


def test_array_headers_are_checked_against_the_file_and_the_memory(tmp_path: Path) -> None:
    shape = (100_000, 100_000)
    (tmp_path / "header-only.npy").write_bytes(npy_header(shape))
    sparse = npy_header(shape)
    with open(tmp_path / "sparse.npy", "wb") as handle:  # all 74.5 GiB present, none on disk
        handle.write(sparse)
        handle.truncate(len(sparse) + 8 * shape[0] * shape[1])
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "p.yaml").write_text(ARRAYS, encoding="utf-8")
    before = snapshot(tmp_path)
    for command in ("plan", "build"):
        result = run(tmp_path, command, "specs")
        assert result.returncode == 1
        lines = result.stderr.splitlines()
        assert lines[0] == (
            "specs/p.yaml:7:13: figures.truncated.array.path: 'header-only.npy' is truncated: its header "
            "declares 100000 x 100000 values (74.5 GiB) but the file holds 0 bytes of data"
        )
        assert re.fullmatch(
            r"specs/p\.yaml:10:13: figures\.too-big\.array\.path: array 'sparse\.npy' of 100000 x 100000 "
            r"values needs 74\.5 GiB of memory; izzyfig uses at most half of the \d+\.\d (GiB|MiB) available",
            lines[1],
        ), lines[1]
        assert len(lines) == 2
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"enlarged_size": 1e6}, "enlarged_size: must be <= 10, got 1000000.0"),
        ({"figsize": (1e6, 1e6)}, "figsize: at most 50 inches a side, got (1000000.0, 1000000.0)"),
        ({"tokens": ["w" * 50_000, "b", "c", "d"]}, "tokens[0]: a label of 50000 characters; the limit is 200"),
    ],
)
def test_the_renderers_refuse_the_same_values(options: dict, message: str) -> None:
    tokens = options.pop("tokens", TOKENS)
    with pytest.raises(RenderError) as caught:
        render_self_attention(np.full((4, 4), 0.25), tokens, **options)
    assert str(caught.value) == message


LONG = "t" * 200_000


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: render_self_attention(np.full((4, 4), 0.25), TOKENS, title=LONG), "title"),
        (lambda: render_self_attention(np.full((4, 4), 0.25), TOKENS, ylabel=LONG), "ylabel"),
        (lambda: render_comparison(np.full((4, 4), 0.25), np.full((4, 4), 0.25), TOKENS, TOKENS, xlabel=LONG),
         "xlabel"),
        (lambda: render_question_context(np.full((4, 4), 0.25), TOKENS, 2, titles=["a", "b", "c", "d", LONG]),
         "titles"),
    ],
)
def test_the_python_api_bounds_titles_and_axis_labels(call, name: str) -> None:
    with pytest.raises(RenderError) as caught:
        call()
    assert str(caught.value) == f"{name}: 200000 characters; the limit is {limits.MAX_TITLE}"
