"""Item 16: bfloat16 and float16 safetensors, the usual dtype of attention dumps, are read
without torch (a bfloat16 is the upper half of a float32).

bfloat16 used to give "internal error ... data type 'bfloat16' not understood".
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

from izzyfig.extract.arrays import read_safetensors

REPO = Path(__file__).resolve().parents[2]
SPEC = """\
version: 1
defaults:
  tokens: [a, b, c, d, e, f]
figures:
  bf16:
    kind: self-attention
    array: {path: ../bf16.safetensors, layout: layers heads query key}
    head: 1
  f16:
    kind: regions
    array: {path: ../f16.safetensors, key: attn, layout: layers heads query key}
    layer: 0
"""
BUILD_WITHOUT_TORCH = (
    "import sys; from izzyfig.cli import main; code = main(['build', 'specs']); "
    "print('torch imported' if 'torch' in sys.modules else 'no torch'); sys.exit(code)"
)


def attention(seed: int) -> np.ndarray:
    """``(2 layers, 2 heads, 6, 6)`` float32 maps whose rows sum to 1."""
    scores = np.random.default_rng(seed).normal(size=(2, 2, 6, 6)).astype(np.float32)
    weights = np.exp(scores)
    return (weights / weights.sum(-1, keepdims=True)).astype(np.float32)


def safetensors(name: str, dtype: str, data: np.ndarray) -> bytes:
    header = json.dumps({name: {"dtype": dtype, "shape": list(data.shape), "data_offsets": [0, data.nbytes]}})
    return struct.pack("<Q", len(header)) + header.encode() + data.tobytes()


def bfloat16_bits(values: np.ndarray) -> np.ndarray:
    """Round-toward-zero bfloat16 of float32 values: their upper 16 bits."""
    return (values.view(np.uint32) >> 16).astype("<u2")


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": path}, timeout=600,
    )


def test_bfloat16_and_float16_dumps_build_without_torch(tmp_path: Path) -> None:
    bf16, f16 = attention(0), attention(1)
    (tmp_path / "bf16.safetensors").write_bytes(safetensors("attn", "BF16", bfloat16_bits(bf16)))
    (tmp_path / "f16.safetensors").write_bytes(safetensors("attn", "F16", f16.astype("<f2")))
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "p.yaml").write_text(SPEC, encoding="utf-8")
    inputs = {p.name: p.read_bytes() for p in tmp_path.glob("*.safetensors")}

    result = run(tmp_path, "-c", BUILD_WITHOUT_TORCH)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "no torch"
    assert "warning" not in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("2 built, 0 up to date, 0 failed")
    assert (tmp_path / "figures" / "bf16.pdf").stat().st_size > 0
    assert (tmp_path / "figures" / "f16.pdf").stat().st_size > 0
    lock = json.loads((tmp_path / "izzyfig.lock").read_text())
    assert lock["figures"]["bf16"]["inputs"][0]["array"] == str(tmp_path / "bf16.safetensors")
    assert inputs == {p.name: p.read_bytes() for p in tmp_path.glob("*.safetensors")}


def test_bfloat16_values_are_the_upper_half_of_float32(tmp_path: Path) -> None:
    values = np.array([[1.0, -2.5, 3.140625, 1e-3], [65504.0, 0.0, -0.0, 2.0**-130]], dtype=np.float32)
    (tmp_path / "x.safetensors").write_bytes(safetensors("x", "BF16", bfloat16_bits(values)))
    read = read_safetensors(tmp_path / "x.safetensors", "x")
    assert read.dtype == np.float32 and read.shape == (2, 4)
    expected = (values.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)
    assert read.tobytes() == expected.tobytes()  # exact, bit for bit (signed zero too)
    assert read[0, :3].tolist() == [1.0, -2.5, 3.140625]  # exactly representable in bfloat16
