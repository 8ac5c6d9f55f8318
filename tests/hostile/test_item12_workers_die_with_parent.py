"""Item 12: ``build -j 2`` workers (and multiprocessing's resource tracker) die with their parent."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

MANY = """\
version: 1
figures:
  fig{{i}}:
    kind: regions
    foreach: {i: {range: [0, 60]}}
    array: {path: arrays/attn.npy, layout: heads query key}
    tokens: [a, b, c, d, e, f]
    head: 1
    title: "Figure {{i}}"
"""
SETTLE_SECONDS = 20.0

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def group_members(hostile, group: int) -> list[int]:
    """Live (not zombie) processes of process group ``group``."""
    table = hostile.proc_table()
    return sorted(pid for pid, (_, pgrp, state) in table.items() if pgrp == group and state != "Z")


def start_parallel_build(project: Path, hostile, stderr) -> subprocess.Popen:
    """``build -j 2`` in its own process group, returned once both workers are running.

    Its stderr goes to a file: a pipe would stay open as long as any worker lives.
    """
    (project / "specs" / "paper.yaml").write_text(MANY)
    process = subprocess.Popen(hostile.cli_command("build", "specs", "-j", "2"), cwd=project,
                               env=hostile.cli_env(), stdout=subprocess.DEVNULL, stderr=stderr,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while len([p for p in group_members(hostile, process.pid) if p != process.pid]) < 2:
        assert process.poll() is None, "the build ended before its workers started"
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.05)
    time.sleep(1.0)  # let the workers take jobs
    return process


def wait_until_gone(hostile, group: int) -> list[int]:
    deadline = time.monotonic() + SETTLE_SECONDS
    while (left := group_members(hostile, group)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_no_worker_survives_its_parent(project: Path, hostile, how, tmp_path: Path):
    with open(tmp_path / "stderr.txt", "w") as stream:
        process = start_parallel_build(project, hostile, stream)
    children = [p for p in group_members(hostile, process.pid) if p != process.pid]
    os.kill(process.pid, how)
    process.wait(timeout=60)
    stderr = (tmp_path / "stderr.txt").read_text()
    left = wait_until_gone(hostile, process.pid)
    for pid in left:  # never leave them behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"still running after {SETTLE_SECONDS} s: {left} (children were {children})"
    if how == signal.SIGTERM:
        assert process.returncode == 143
        assert "Traceback" not in stderr
        assert stderr.splitlines()[-1] == "terminated"
        assert not (project / ".izzyfig.lock.run").exists()
        assert hidden_files(project / "figures") == []
    else:
        assert process.returncode == -signal.SIGKILL
    result = hostile.run_cli(project, "build", "specs", "--only", "fig0")  # the next build cleans up
    assert result.returncode == 0, result.stderr
    assert hidden_files(project / "figures") == []
    assert not (project / ".izzyfig.lock.run").exists()


def hidden_files(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] if folder.exists() else []
