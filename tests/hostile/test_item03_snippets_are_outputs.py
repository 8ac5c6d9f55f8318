"""Item 3: LaTeX snippets are outputs: hashed in the lock, restored, never left stale."""
from __future__ import annotations

import json
from pathlib import Path

from izzyfig.files import sha256_file

KILL_AT_SNIPPET = """\
import os, signal
from izzyfig import workspace
from izzyfig.cli import main

real = workspace.Workspace.commit

def commit(self, temp, path):
    if str(path).endswith('.tex'):
        os.kill(os.getpid(), signal.SIGKILL)  # killed after the figure, before its snippet
    return real(self, temp, path)

workspace.Workspace.commit = commit
main(['build', 'specs'])
"""


def lock_is_truthful(project: Path) -> dict:
    lock = json.loads((project / "izzyfig.lock").read_text())
    for figure_id, entry in lock["figures"].items():
        assert sha256_file(project / "figures" / entry["output"]) == entry["sha256"], figure_id
        assert sha256_file(project / "figures" / entry["tex"]) == entry["tex_sha256"], figure_id
    return lock


def test_deleted_and_edited_snippets_are_rebuilt(project: Path, hostile):
    assert hostile.run_cli(project, "build", "specs").returncode == 0
    lock = lock_is_truthful(project)
    assert lock["figures"]["alpha"]["tex"] == "alpha.tex"
    alpha_tex = (project / "figures" / "alpha.tex").read_bytes()
    (project / "figures" / "alpha.tex").unlink()
    (project / "figures" / "beta.tex").write_text("% my edit\n")

    result = hostile.run_cli(project, "build", "specs")

    assert result.returncode == 0, result.stderr
    hostile.no_traceback(result)
    assert result.stderr.splitlines()[-1] == hostile.summary(2, 0)
    assert (project / "figures" / "alpha.tex").read_bytes() == alpha_tex
    assert "% my edit" not in (project / "figures" / "beta.tex").read_text()
    lock_is_truthful(project)


def test_a_build_killed_between_figure_and_snippet_leaves_no_stale_snippet(project: Path, hostile):
    assert hostile.run_cli(project, "build", "specs").returncode == 0
    spec = project / "specs" / "paper.yaml"
    spec.write_text(spec.read_text().replace("caption: First figure.", "caption: A new caption."))

    killed = hostile.run_python(project, KILL_AT_SNIPPET)

    assert killed.returncode == -9
    lock = lock_is_truthful(project)  # the lock never names a snippet it does not have
    assert "alpha" not in lock["figures"]
    result = hostile.run_cli(project, "build", "specs")
    assert result.returncode == 0, result.stderr
    assert "A new caption." in (project / "figures" / "alpha.tex").read_text()
    lock_is_truthful(project)
    names = sorted(p.name for p in (project / "figures").iterdir())
    assert names == ["alpha.pdf", "alpha.tex", "beta.pdf", "beta.tex"]
