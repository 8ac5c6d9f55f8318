"""Builds are reproducible byte for byte, and a killed build never leaves a lying lock."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from izzyfig.files import sha256_file


def test_two_clean_builds_are_identical_and_verify(project: Path, run_cli):
    for name in ("one", "two"):
        result = run_cli(
            project, "build", "specs", "-o", name, "--lock", f"{name}.lock",
            "--cache-dir", f".cache-{name}",
        )
        assert result.returncode == 0, result.stderr
    one = sorted(p.name for p in (project / "one").iterdir())
    assert one == sorted(p.name for p in (project / "two").iterdir())
    assert len([n for n in one if n.endswith(".pdf")]) == 7
    for name in one:
        first = (project / "one" / name).read_bytes()
        if name.endswith(".tex"):  # snippets name their graphics by output directory
            first = first.replace(b"{one/", b"{two/")
        assert first == (project / "two" / name).read_bytes(), name
    locks = [json.loads((project / f"{name}.lock").read_text()) for name in ("one", "two")]
    for name, lock in zip(("one", "two"), locks):
        for entry in lock["figures"].values():  # a snippet names its graphics by output directory
            assert entry.pop("tex_sha256") == sha256_file(project / name / entry["tex"])
    assert locks[0] == locks[1]
    result = run_cli(project, "verify", "specs", "-o", "one", "--lock", "one.lock")
    assert result.returncode == 0, result.stdout + result.stderr


def lock_is_truthful(project: Path) -> None:
    """Every lock entry names a complete file on disk with exactly the locked bytes."""
    lock_path = project / "izzyfig.lock"
    if not lock_path.exists():
        return
    lock = json.loads(lock_path.read_text())
    for figure_id, entry in lock["figures"].items():
        path = project / "figures" / entry["output"]
        assert path.is_file(), figure_id
        assert sha256_file(path) == entry["sha256"], figure_id
    for pdf in (project / "figures").glob("*.pdf"):
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), pdf.name


def test_sigkill_at_any_moment_leaves_old_or_new_files_and_a_truthful_lock(project: Path, run_cli):
    assert run_cli(project, "build", "specs").returncode == 0
    spec = project / "specs" / "paper.yaml"
    command = [sys.executable, "-m", "izzyfig", "build", "specs", "--force"]
    started = time.perf_counter()
    assert subprocess.run(command, cwd=project, capture_output=True, timeout=300).returncode == 0
    duration = time.perf_counter() - started
    original = spec.read_text()
    for step, fraction in enumerate((0.35, 0.55, 0.75, 0.9)):
        # A new default title changes every figure's bytes, so old and new files differ.
        spec.write_text(original.replace("defaults:\n", f"defaults:\n  title: edit {step}\n", 1))
        process = subprocess.Popen(command, cwd=project, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(duration * fraction)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        lock_is_truthful(project)
    result = run_cli(project, "build", "specs")
    assert result.returncode == 0, result.stderr
    lock_is_truthful(project)
    leftovers = [p.name for p in (project / "figures").iterdir() if p.name.startswith(".")]
    assert leftovers == []
