"""Item 15 (build side): one-line errors, never tracebacks, for a damaged lock, an output
directory that is a file, an unwritable lock directory, and a cache file replaced by a directory."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

DAMAGED = "; the lock is damaged: fix it, or delete it to rebuild every figure\n"
BECOME_READ_ONLY = """\
import os
from izzyfig import workspace
from izzyfig.cli import main

real = workspace.Workspace.acquire.__func__

def acquire(cls, lock_path, **options):
    taken = real(cls, lock_path, **options)
    os.chmod('locked', 0o555)  # the lock's directory turns read-only during the build
    return taken

workspace.Workspace.acquire = classmethod(acquire)
raise SystemExit(main(['build', 'specs', '--lock', 'locked/izzyfig.lock']))
"""


@pytest.mark.parametrize("damage, message", [
    (lambda lock: lock["figures"]["alpha"].update(output=5),
     "izzyfig.lock: figures.alpha.output: expected a string, got the number 5"),
    (lambda lock: lock["figures"]["beta"].update(sha256=["not", "a", "hash"]),
     "izzyfig.lock: figures.beta.sha256: expected a string, got a list"),
    (lambda lock: lock["figures"]["beta"].update(tex="../../outside.tex"),
     "izzyfig.lock: figures.beta.tex: '../../outside.tex' is not a relative path inside the output "
     "directory"),
    (lambda lock: lock.update(figures=["alpha"]), "izzyfig.lock: figures: expected an object, got a list"),
], ids=["number", "list", "escaping path", "figures list"])
def test_a_lock_with_wrong_types_is_one_line(project: Path, hostile, damage, message):
    entry = {"output": "x.pdf", "sha256": "0" * 64, "build_key": "k", "tex": "x.tex", "tex_sha256": "1" * 64}
    lock = {"lock_version": 1, "environment": {}, "figures": {"alpha": dict(entry), "beta": dict(entry)}}
    damage(lock)
    (project / "izzyfig.lock").write_text(json.dumps(lock))
    before = hostile.snapshot(project, skip=(".izzyfig/",))
    for command in (["build", "specs"], ["verify", "specs"], ["appendix", "specs"], ["plan", "specs"]):
        result = hostile.run_cli(project, *command)
        assert result.returncode == 1, command
        hostile.no_traceback(result)
        assert result.stderr == message + DAMAGED, command
    assert hostile.snapshot(project, skip=(".izzyfig/",)) == before


def test_an_output_directory_that_is_a_file(project: Path, hostile):
    (project / "notes.txt").write_text("my notes\n")
    result = hostile.run_cli(project, "build", "specs", "-o", "notes.txt")
    assert result.returncode == 1
    hostile.no_traceback(result)
    assert result.stderr == "output directory notes.txt is a file, not a directory; choose another with -o\n"
    assert (project / "notes.txt").read_text() == "my notes\n"
    assert sorted(p.name for p in project.iterdir()) == ["notes.txt", "specs"]


def test_an_output_subdirectory_that_is_a_file_fails_that_figure_only(project: Path, hostile):
    spec = project / "specs" / "paper.yaml"
    spec.write_text(spec.read_text().replace("First figure.", "First figure.\n    output: sub/a.pdf"))
    (project / "figures").mkdir()
    (project / "figures" / "sub").write_text("a file, not a directory\n")
    result = hostile.run_cli(project, "build", "specs")
    assert result.returncode == 1
    hostile.no_traceback(result)
    assert result.stderr.splitlines()[-2:] == [
        "specs/paper.yaml:3:3: figures.alpha: cannot write figures/sub/a.pdf: figures/sub is a file, "
        "not a directory",
        hostile.summary(1, 0, 1),
    ]
    assert (project / "figures" / "sub").read_text() == "a file, not a directory\n"
    assert sorted(json.loads((project / "izzyfig.lock").read_text())["figures"]) == ["beta"]
    assert sorted(p.name for p in (project / "figures").iterdir()) == ["beta.pdf", "beta.tex", "sub"]


def test_an_unwritable_lock_directory(project: Path, hostile):
    (project / "locked").mkdir()
    os.chmod(project / "locked", 0o555)
    try:
        result = hostile.run_cli(project, "build", "specs", "--lock", "locked/izzyfig.lock",
                                 prefix=hostile.without_privileges())
    finally:
        os.chmod(project / "locked", 0o755)
    assert result.returncode == 1
    hostile.no_traceback(result)
    assert result.stderr == (
        "cannot lock the project: cannot create locked/.izzyfig.lock.run: Permission denied\n")
    assert list((project / "locked").iterdir()) == []
    assert not (project / "figures").exists()


def test_a_lock_directory_that_turns_unwritable_during_the_build(project: Path, hostile):
    (project / "locked").mkdir()
    try:
        result = hostile.run_python(project, BECOME_READ_ONLY, prefix=hostile.without_privileges())
    finally:
        os.chmod(project / "locked", 0o755)
    assert result.returncode == 1
    hostile.no_traceback(result)
    assert result.stderr.splitlines()[-1] == "cannot write locked/izzyfig.lock: Permission denied"
    assert list(project.rglob(".izzyfig-tmp-*")) == []
    assert not (project / "locked" / "izzyfig.lock").exists()
    again = hostile.run_cli(project, "build", "specs", "--lock", "locked/izzyfig.lock")
    assert again.returncode == 0, again.stderr
    locked = json.loads((project / "locked" / "izzyfig.lock").read_text())
    assert sorted(locked["figures"]) == ["alpha", "beta"]
    assert not (project / "locked" / ".izzyfig.lock.run").exists()


def test_a_cache_file_replaced_by_a_directory_is_recomputed(tmp_path: Path, hostile, monkeypatch, capsys):
    from izzyfig.cli import main  # in this process: one torch import for both builds

    model = hostile.REPO / "models" / "tiny-repeat"
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "paper.yaml").write_text(
        f"version: 1\nfigures:\n  fox:\n    kind: self-attention\n    model: {model}\n"
        "    text: a big red fox\n    layer: 1\n    head: 0\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["build", "specs", "-q"]) == 0
    [array] = list((tmp_path / ".izzyfig" / "cache").rglob("*.npz"))
    array.unlink()
    array.mkdir()
    (array / "something").write_text("x")
    pdf = (tmp_path / "figures" / "fox.pdf").read_bytes()
    capsys.readouterr()

    code = main(["build", "specs", "--force"])

    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err and "internal error" not in err
    assert err.splitlines()[-1] == "1 built, 0 up to date, 0 failed (1 model load(s), 1 forward pass(es))"
    assert array.is_file()
    assert (tmp_path / "figures" / "fox.pdf").read_bytes() == pdf
