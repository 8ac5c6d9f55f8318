"""Item 7: one izzyfig at a time writes a project (``flock`` on a file beside the lock)."""
from __future__ import annotations

import fcntl
import json
import os
import select
import subprocess
import time
from pathlib import Path

from izzyfig.files import sha256_file

WAIT_TIMEOUT = 120.0


def read_line(process: subprocess.Popen, timeout: float = WAIT_TIMEOUT) -> str:
    """The next line of ``process``'s stderr, or fail after ``timeout`` seconds."""
    ready, _, _ = select.select([process.stderr], [], [], timeout)
    assert ready, "no output from the waiting build"
    return process.stderr.readline()


def hold_project_lock(project: Path):
    """Take the project lock as another izzyfig would; returns the open file (close to release)."""
    handle = open(project / ".izzyfig.lock.run", "a+")
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return handle


def lock_is_truthful(project: Path) -> None:
    lock = json.loads((project / "izzyfig.lock").read_text())
    for figure_id, entry in lock["figures"].items():
        assert sha256_file(project / "figures" / entry["output"]) == entry["sha256"], figure_id
        assert sha256_file(project / "figures" / entry["tex"]) == entry["tex_sha256"], figure_id


def test_no_wait_fails_at_once_and_writes_nothing(project: Path, hostile):
    holder = hold_project_lock(project)
    try:
        before = hostile.snapshot(project)
        result = hostile.run_cli(project, "build", "specs", "--no-wait")
    finally:
        holder.close()
    assert result.returncode == 1
    hostile.no_traceback(result)
    assert result.stderr == (
        f"izzyfig.lock is in use by another izzyfig (pid {os.getpid()}); not waiting (--no-wait): "
        "run again when it has finished\n"
    )
    assert hostile.snapshot(project) == before
    assert not (project / "figures").exists()


def test_a_second_build_waits_with_a_message_then_builds(project: Path, hostile):
    holder = hold_project_lock(project)
    process = subprocess.Popen(hostile.cli_command("build", "specs"), cwd=project, env=hostile.cli_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(process)
        assert line == (f"izzyfig.lock is in use by another izzyfig (pid {os.getpid()}); "
                        "waiting for it to finish (--no-wait fails instead)\n")
        assert process.poll() is None and not (project / "figures").exists()
    finally:
        holder.close()
    _, rest = process.communicate(timeout=WAIT_TIMEOUT)
    assert process.returncode == 0, rest
    assert rest.splitlines()[-1] == hostile.summary(2, 0)
    lock_is_truthful(project)


def test_two_real_builds_at_once_leave_a_truthful_lock(project: Path, hostile):
    spec = project / "specs" / "paper.yaml"
    spec.write_text(spec.read_text() + (  # four more figures: the first build holds the lock for seconds
        "  gamma{{h}}:\n    kind: regions\n    foreach: {h: {range: [2, 6]}}\n"
        "    array: {path: arrays/attn.npy, layout: heads query key}\n    tokens: [a, b, c, d, e, f]\n"
        "    head: '{{h}}'\n"))
    first = subprocess.Popen(hostile.cli_command("build", "specs", "--force"), cwd=project,
                             env=hostile.cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_file = project / ".izzyfig.lock.run"
    deadline = time.monotonic() + WAIT_TIMEOUT
    while not (run_file.exists() and run_file.read_text().startswith(f"pid {first.pid}\n")):
        assert time.monotonic() < deadline and first.poll() is None, "the first build never took the lock"
        time.sleep(0.02)
    second = subprocess.Popen(hostile.cli_command("build", "specs", "--force"), cwd=project,
                              env=hostile.cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    outputs = [process.communicate(timeout=WAIT_TIMEOUT)[1] for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    for output in outputs:
        assert "Traceback" not in output
        assert output.splitlines()[-1] == hostile.summary(6, 0)
    assert outputs[1].splitlines()[0] == (f"izzyfig.lock is in use by another izzyfig (pid {first.pid}); "
                                          "waiting for it to finish (--no-wait fails instead)")
    lock_is_truthful(project)
    assert not run_file.exists()
    names = ["alpha", "beta", "gamma2", "gamma3", "gamma4", "gamma5"]
    assert sorted(p.name for p in (project / "figures").iterdir()) == sorted(
        f"{name}{suffix}" for name in names for suffix in (".pdf", ".tex"))
