"""Item 15 (array part): safetensors offsets past the end of the file are a one-line error.

The header of a safetensors file names where each tensor's bytes are; offsets beyond
the file, or a span that does not hold ``prod(shape)`` values, used to end in a
traceback when the array was read.
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPEC = """\
version: 1
defaults:
  tokens: [a, b, c, d]
figures:
  past-the-end:
    kind: self-attention
    array: {path: ../short.safetensors}
  wrong-span:
    kind: self-attention
    array: {path: ../span.safetensors}
"""


def safetensors(entries: dict, data: bytes) -> bytes:
    header = json.dumps(entries).encode()
    return struct.pack("<Q", len(header)) + header + data


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


def test_offsets_outside_the_file_are_positioned_one_line_errors(tmp_path: Path) -> None:
    attn = {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}
    (tmp_path / "short.safetensors").write_bytes(safetensors({"attn": attn}, bytes(16)))
    span = {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 32]}
    (tmp_path / "span.safetensors").write_bytes(safetensors({"attn": span}, bytes(64)))
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "p.yaml").write_text(SPEC, encoding="utf-8")
    before = snapshot(tmp_path)
    for command in ("plan", "build"):
        result = run(tmp_path, command, "specs")
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            "specs/p.yaml:7:13: figures.past-the-end.array.path: 'short.safetensors' is truncated or "
            "damaged: tensor 'attn' lies at bytes 0..64 of a data section of 16 bytes",
            "specs/p.yaml:10:13: figures.wrong-span.array.path: 'span.safetensors' has a damaged "
            "safetensors header: tensor 'attn' of shape (4, 4) (F32) cannot take 32 bytes",
        ]
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert snapshot(tmp_path) == before
