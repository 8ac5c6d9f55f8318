"""Item 4: staleness is decided by content; a stat check only skips hashing when it is safe."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from izzyfig.files import sha256_file
from izzyfig.plan.hashing import RACY_NS, FileHashes


def rewrite_keeping_size_and_mtime(path: Path, array: np.ndarray) -> None:
    before = path.stat()
    np.save(path, array)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_array_changed_with_same_size_and_mtime_is_rebuilt(project: Path, hostile):
    array = project / "specs" / "arrays" / "attn.npy"
    assert hostile.run_cli(project, "build", "specs").returncode == 0
    old_pdf = (project / "figures" / "alpha.pdf").read_bytes()
    rewrite_keeping_size_and_mtime(array, hostile.attention(seed=11))

    result = hostile.run_cli(project, "build", "specs")

    assert result.returncode == 0, result.stderr
    hostile.no_traceback(result)
    assert result.stderr.splitlines()[-1] == hostile.summary(2, 0)
    assert (project / "figures" / "alpha.pdf").read_bytes() != old_pdf
    lock = json.loads((project / "izzyfig.lock").read_text())
    assert lock["figures"]["alpha"]["inputs"][0]["sha256"] == sha256_file(array)


def test_force_and_verify_after_a_same_stat_change_do_not_fail(project: Path, hostile):
    array = project / "specs" / "arrays" / "attn.npy"
    assert hostile.run_cli(project, "build", "specs").returncode == 0
    rewrite_keeping_size_and_mtime(array, hostile.attention(seed=12))

    forced = hostile.run_cli(project, "build", "specs", "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stderr.splitlines()[-1] == hostile.summary(2, 0)
    verified = hostile.run_cli(project, "verify", "specs")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.splitlines()[-1] == (
        "verify: 2 of 2 locked figure(s) reproduced byte for byte and match the files on disk"
    )


def test_memo_is_trusted_only_for_an_old_unchanged_file(tmp_path: Path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"A" * 64)
    hashes = FileHashes(tmp_path / "memo.json")
    first = hashes.of(path)
    stat = path.stat()
    path.write_bytes(b"B" * 64)  # same size; mtime set back below
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert hashes.of(path) != first  # ctime moved: hashed again
    # An entry whose file changed within RACY_NS of its hashing is not trusted...
    name = str(path.resolve())
    assert hashes.memo[name][-1] == sha256_file(path)
    entry = hashes.memo[name]
    hashes.memo[name] = [*entry[:-2], entry[-2], "0" * 64]
    assert hashes.of(path) == sha256_file(path)
    # ...but one hashed well after its last change is.
    entry = hashes.memo[name]
    hashes.memo[name] = [*entry[:-2], time.time_ns() + RACY_NS, "f" * 64]
    assert hashes.of(path) == "f" * 64
