"""Item 2: ``verify`` compares every locked file (figures and snippets) with the disk."""
from __future__ import annotations

import json
from pathlib import Path


def test_verify_reports_each_file_that_differs_from_the_lock(project: Path, hostile):
    assert hostile.run_cli(project, "build", "specs").returncode == 0
    lock = json.loads((project / "izzyfig.lock").read_text())
    alpha = project / "figures" / "alpha.pdf"
    alpha.write_bytes(alpha.read_bytes() + b"% edited after the build\n")
    (project / "figures" / "beta.tex").unlink()
    before = hostile.snapshot(project, skip=(".izzyfig/",))

    result = hostile.run_cli(project, "verify", "specs")

    assert result.returncode == 1
    hostile.no_traceback(result)
    on_disk = hostile.snapshot(project, skip=(".izzyfig/",))["figures/alpha.pdf"]
    assert result.stdout.splitlines() == [
        f"figures/alpha.pdf: differs from the lock (locked {lock['figures']['alpha']['sha256'][:12]}, "
        f"on disk {on_disk[:12]})",
        "figures/beta.tex: missing (figure beta)",
        "verify: 0 of 2 locked figure(s) reproduced byte for byte and match the files on disk",
    ]
    assert hostile.snapshot(project, skip=(".izzyfig/",)) == before  # verify only reads the project


def test_verify_passes_when_disk_and_rebuild_match(project: Path, hostile):
    assert hostile.run_cli(project, "build", "specs").returncode == 0
    result = hostile.run_cli(project, "verify", "specs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        "verify: 2 of 2 locked figure(s) reproduced byte for byte and match the files on disk\n")
