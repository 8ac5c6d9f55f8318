"""Item 8: izzyfig removes only the temporary files it created itself, never by pattern."""
from __future__ import annotations

import json
from pathlib import Path

from izzyfig.files import sha256_file

USER_FILES = {
    "notes/.meeting.tmp": b"minutes of the meeting\n",
    "paper/.main.part.tex": b"\\section{Half-written}\n",
    ".git/.index.tmp": b"git's own temporary file\n",
}
KILL_AT_FIRST_RENAME = """\
import os, signal
from izzyfig import workspace
from izzyfig.cli import main

def commit(self, temp, path):
    os.kill(os.getpid(), signal.SIGKILL)  # staged files are on disk, nothing renamed yet

workspace.Workspace.commit = commit
main(['build', 'specs', '-o', '.'])
"""


def izzyfig_temps(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(".izzyfig-tmp-*"))


def test_build_into_the_project_root_keeps_every_user_file(project: Path, hostile):
    for name, data in USER_FILES.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes(data)
    spec = project / "specs" / "paper.yaml"
    spec.write_text(spec.read_text().replace("    head: 1\n", "    head: 1\n    output: sub/.x.part.pdf\n"))
    assert hostile.run_cli(project, "build", "specs", "-o", ".").returncode == 0
    assert (project / "sub" / ".x.part.pdf").is_file() and (project / "sub" / ".x.part.tex").is_file()

    spec.write_text(spec.read_text().replace("First figure.", "First figure.\n    title: New"))
    killed = hostile.run_python(project, KILL_AT_FIRST_RENAME)
    assert killed.returncode == -9
    left = izzyfig_temps(project)
    assert left and all(Path(name).name.startswith(".izzyfig-tmp-") for name in left)
    assert (project / ".izzyfig.lock.run").is_file()  # the killed build's journal

    result = hostile.run_cli(project, "build", "specs", "-o", ".")

    assert result.returncode == 0, result.stderr
    hostile.no_traceback(result)
    assert result.stderr.splitlines()[-1] == hostile.summary(1, 1)
    assert izzyfig_temps(project) == []
    assert not (project / ".izzyfig.lock.run").exists()
    for name, data in USER_FILES.items():
        assert (project / name).read_bytes() == data, name
    lock = json.loads((project / "izzyfig.lock").read_text())
    assert lock["figures"]["beta"]["output"] == "sub/.x.part.pdf"
    assert sha256_file(project / "sub" / ".x.part.pdf") == lock["figures"]["beta"]["sha256"]
    assert sha256_file(project / "sub" / ".x.part.tex") == lock["figures"]["beta"]["tex_sha256"]
