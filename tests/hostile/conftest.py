"""Shared pieces of the hostile tests: a small project, the CLI as a user runs it, and
proof that nothing a user owns changed.

Every hostile test asserts the exit code, the exact message (one line, positioned where
a spec is to blame, never a traceback or "internal error"), and that the user's files
are as they were.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
TOKENS = ["a", "b", "c", "d", "e", "f"]
HEADS = 6
SPEC = """\
version: 1
figures:
  alpha:
    kind: self-attention
    array: {path: arrays/attn.npy, layout: heads query key}
    tokens: [a, b, c, d, e, f]
    head: 0
    caption: First figure.
  beta:
    kind: regions
    array: {path: arrays/attn.npy, layout: heads query key}
    tokens: [a, b, c, d, e, f]
    head: 1
"""


def attention(seed: int = 3, heads: int = HEADS, n: int = len(TOKENS)) -> np.ndarray:
    """``(heads, n, n)`` rows that sum to 1."""
    logits = np.random.default_rng(seed).normal(size=(heads, n, n)) * 2.0
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """``specs/paper.yaml`` with two figures (``alpha``, ``beta``) over ``specs/arrays/attn.npy``."""
    (tmp_path / "specs" / "arrays").mkdir(parents=True)
    np.save(tmp_path / "specs" / "arrays" / "attn.npy", attention())
    (tmp_path / "specs" / "paper.yaml").write_text(SPEC, encoding="utf-8")
    return tmp_path


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "izzyfig", *args]


def cli_env() -> dict[str, str]:
    return dict(os.environ, PYTHONHASHSEED="0")


def run_cli(cwd: Path, *args: str, timeout: float = 300,
            prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run ``python -m izzyfig ARGS`` in ``cwd`` as a user would (``prefix``: e.g. setpriv)."""
    return subprocess.run([*prefix, *cli_command(*args)], cwd=cwd, env=cli_env(),
                          capture_output=True, text=True, timeout=timeout)


def run_python(cwd: Path, script: str, timeout: float = 300,
               prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run a Python ``script`` in a fresh process in ``cwd`` (for a patched izzyfig)."""
    return subprocess.run([*prefix, sys.executable, "-c", script], cwd=cwd, env=cli_env(),
                          capture_output=True, text=True, timeout=timeout)


def summary(built: int, up_to_date: int, failed: int = 0, loads: int = 0, forwards: int = 0) -> str:
    """The last line of a build's output."""
    return (f"{built} built, {up_to_date} up to date, {failed} failed "
            f"({loads} model load(s), {forwards} forward pass(es))")


def no_traceback(result: subprocess.CompletedProcess) -> None:
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream and "internal error" not in stream, stream


def snapshot(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative names), except under ``skip`` prefixes."""
    files = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_file() and not name.startswith(skip):
            files[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def without_privileges() -> tuple[str, ...]:
    """A command prefix under which root obeys file permissions (empty for other users)."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search")


def proc_table() -> dict[int, tuple[int, int, str]]:
    """Live processes as ``pid -> (ppid, process group, state)`` from ``/proc``."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0])
    return table


@pytest.fixture
def hostile() -> SimpleNamespace:
    """The helpers above, for test modules (conftest is not importable under importlib mode)."""
    return SimpleNamespace(
        REPO=REPO, SPEC=SPEC, attention=attention, cli_command=cli_command, cli_env=cli_env,
        run_cli=run_cli, run_python=run_python, summary=summary, no_traceback=no_traceback,
        snapshot=snapshot,
        without_privileges=without_privileges, proc_table=proc_table,
    )
