"""Item 13: an array path that is a link to, or holds, something that is not an array.

``x.safetensors -> /etc/shadow`` passed the suffix check and the error echoed the file's
first 8 bytes as a number ("header size 3619251681095544690"). Now the link's target must
have the same suffix, every file must start with its format's magic number, and no
message quotes bytes of a file that failed to parse.
"""
from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SECRET = b"root:$6$Zr0dJ8sQ$secret-password-hash:19000:0:99999:7:::\n"
SPEC = """\
version: 1
defaults:
  tokens: [a, b, c, d]
figures:
  shadow:
    kind: self-attention
    array: {path: ../x.safetensors}
  other-kind:
    kind: self-attention
    array: {path: ../y.npy}
  text-as-npy:
    kind: self-attention
    array: {path: ../notes.npy}
  text-as-npz:
    kind: self-attention
    array: {path: ../notes.npz}
  text-as-safetensors:
    kind: self-attention
    array: {path: ../notes.safetensors}
  damaged-npy:
    kind: self-attention
    array: {path: ../damaged.npy}
  linked-npy:
    kind: self-attention
    array: {path: ../linked.npy}
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


def test_links_and_files_that_are_not_arrays_are_refused_without_their_bytes(tmp_path: Path) -> None:
    secret = tmp_path / "private" / "shadow"
    secret.parent.mkdir()
    secret.write_bytes(SECRET)
    (tmp_path / "x.safetensors").symlink_to(secret)
    np.save(tmp_path / "real.npy", np.full((4, 4), 0.25))
    header = b'{"attn": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}'
    (tmp_path / "real.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(64))
    (tmp_path / "y.npy").symlink_to(tmp_path / "real.safetensors")
    (tmp_path / "linked.npy").symlink_to(tmp_path / "real.npy")  # a link to an array is fine
    for name in ("notes.npy", "notes.npz", "notes.safetensors"):
        (tmp_path / name).write_bytes(SECRET)
    (tmp_path / "damaged.npy").write_bytes(b"\x93NUMPY\x01\x00\x20\x00" + SECRET[:32])
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "p.yaml").write_text(SPEC, encoding="utf-8")
    before = snapshot(tmp_path)

    for command in ("plan", "build"):
        result = run(tmp_path, command, "specs")
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            f"specs/p.yaml:7:13: figures.shadow.array.path: 'x.safetensors' is a link to '{secret}', "
            "which is not a .safetensors file",
            f"specs/p.yaml:10:13: figures.other-kind.array.path: 'y.npy' is a link to "
            f"'{tmp_path / 'real.safetensors'}', which is not a .npy file",
            "specs/p.yaml:13:13: figures.text-as-npy.array.path: 'notes.npy' is not a .npy file "
            "(it does not start with the NumPy magic string)",
            "specs/p.yaml:16:13: figures.text-as-npz.array.path: 'notes.npz' is not a .npz file "
            "(it is not a zip archive)",
            "specs/p.yaml:19:13: figures.text-as-safetensors.array.path: 'notes.safetensors' is not a "
            "safetensors file (it does not start with a safetensors header)",
            "specs/p.yaml:22:13: figures.damaged-npy.array.path: 'damaged.npy' has a damaged .npy header",
        ]
        leaked = [SECRET[:8].decode(), str(struct.unpack("<Q", SECRET[:8])[0]), "secret-password"]
        assert not any(text in result.stderr for text in leaked)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert snapshot(tmp_path) == before
