"""End-to-end builds of a project whose attention comes from array files."""
from __future__ import annotations

import json
from pathlib import Path

from izzyfig.files import sha256_file

KINDS = {"self", "qc", "cross", "compare", "stable", "evolve", "regions"}


def read_lock(project: Path) -> dict:
    return json.loads((project / "izzyfig.lock").read_text())


def test_build_writes_every_figure_snippet_and_lock(project: Path, run_cli):
    result = run_cli(project, "build", "specs")
    assert result.returncode == 0, result.stderr
    lock = read_lock(project)
    assert set(lock["figures"]) == KINDS
    for figure_id, entry in lock["figures"].items():
        pdf = project / "figures" / entry["output"]
        assert pdf.read_bytes().startswith(b"%PDF-")
        assert entry["sha256"] == sha256_file(pdf)
        assert entry["output"] == f"{figure_id}.pdf"
        tex = (project / "figures" / f"{figure_id}.tex").read_text()
        assert f"\\label{{fig:{figure_id}}}" in tex
    assert lock["figures"]["self"]["caption"] == "Self attention with a box from cat to mat."
    assert "7 built, 0 up to date, 0 failed" in result.stderr


def test_second_build_rebuilds_nothing_and_skips_torch(project: Path, run_cli):
    assert run_cli(project, "build", "specs").returncode == 0
    before = {p.name: p.stat().st_mtime_ns for p in (project / "figures").glob("*.pdf")}
    probe = (
        "import sys; from izzyfig.cli import main; code = main(['build', 'specs']);"
        "print('torch' in sys.modules, 'transformers' in sys.modules); raise SystemExit(code)"
    )
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False False"
    assert "0 built, 7 up to date, 0 failed" in result.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (project / "figures").glob("*.pdf")}
    assert after == before


def test_edited_spec_deleted_and_tampered_outputs_are_rebuilt(project: Path, run_cli):
    assert run_cli(project, "build", "specs").returncode == 0
    spec = project / "specs" / "paper.yaml"
    spec.write_text(spec.read_text().replace("label_regions: true", "label_regions: false"))
    (project / "figures" / "qc.pdf").unlink()
    (project / "figures" / "cross.pdf").write_bytes(b"%PDF-1.4 edited by hand")
    result = run_cli(project, "build", "specs")
    assert result.returncode == 0, result.stderr
    assert "3 built, 4 up to date, 0 failed" in result.stderr
    lock = read_lock(project)
    assert lock["figures"]["regions"]["parameters"] == {}
    for entry in lock["figures"].values():
        assert entry["sha256"] == sha256_file(project / "figures" / entry["output"])


def test_only_and_force(project: Path, run_cli):
    result = run_cli(project, "build", "--only", "self,cross", "specs")
    assert result.returncode == 0, result.stderr
    assert set(read_lock(project)["figures"]) == {"self", "cross"}
    result = run_cli(project, "build", "--only", "qc", "--only", "self", "specs", "--only", "stable")
    assert "2 built, 1 up to date, 0 failed" in result.stderr
    assert set(read_lock(project)["figures"]) == {"self", "cross", "qc", "stable"}
    result = run_cli(project, "build", "specs", "--only", "nope")
    assert result.returncode == 2
    assert result.stderr == (
        "izzyfig build: error: --only: unknown figure id(s) nope "
        "(known: compare, cross, evolve, qc, regions, self, stable)\n"
    )
    result = run_cli(project, "build", "specs", "--force", "--only", "self")
    assert "1 built, 0 up to date, 0 failed" in result.stderr


def test_one_failing_figure_does_not_stop_the_others(project: Path, run_cli):
    spec = project / "specs" / "paper.yaml"
    spec.write_text(spec.read_text().replace("[cat, mat]", "[cat, dog]"))
    result = run_cli(project, "build", "specs")
    assert result.returncode == 1
    assert (
        "specs/paper.yaml:11:9: figures.self.boxes[0]: token 'dog' is not among the row tokens "
        "([CLS], the, cat, sat, on, the, mat, [SEP])"
    ) in result.stderr
    assert "6 built, 0 up to date, 1 failed" in result.stderr
    lock = read_lock(project)
    assert set(lock["figures"]) == KINDS - {"self"}
    assert not (project / "figures" / "self.pdf").exists()


def test_parallel_build_gives_the_same_bytes(project: Path, run_cli):
    assert run_cli(project, "build", "specs", "-o", "serial", "--lock", "serial.lock").returncode == 0
    result = run_cli(project, "build", "specs", "-o", "parallel", "--lock", "parallel.lock", "-j", "2")
    assert result.returncode == 0, result.stderr
    for pdf in (project / "serial").glob("*.pdf"):
        assert pdf.read_bytes() == (project / "parallel" / pdf.name).read_bytes(), pdf.name


def test_verify_passes_and_then_names_what_differs(project: Path, run_cli):
    assert run_cli(project, "build", "specs").returncode == 0
    result = run_cli(project, "verify", "specs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 of 7 locked figure(s) reproduced byte for byte" in result.stdout
    lock = read_lock(project)
    lock["figures"]["cross"]["sha256"] = "0" * 64
    (project / "izzyfig.lock").write_text(json.dumps(lock))
    spec = project / "specs" / "paper.yaml"
    spec.write_text(spec.read_text().replace("label_regions: true", "label_regions: false"))
    result = run_cli(project, "verify", "specs")
    assert result.returncode == 1
    assert "cross: renderer output differs (locked 000000000000" in result.stdout
    assert "regions: spec changed since it was locked" in result.stdout


def test_plan_lists_figures_and_their_state(project: Path, run_cli):
    assert run_cli(project, "build", "specs", "--only", "self").returncode == 0
    result = run_cli(project, "plan", "specs")
    assert result.returncode == 0, result.stderr
    assert "self (self-attention) -> figures/self.pdf: up to date" in result.stdout
    assert "qc (question-context) -> figures/qc.pdf: to build" in result.stdout


def test_appendix_is_written_from_the_lock(project: Path, run_cli):
    assert run_cli(project, "build", "specs").returncode == 0
    result = run_cli(project, "appendix", "specs")
    assert result.returncode == 0, result.stderr
    text = (project / "figures" / "appendix.tex").read_text()
    lock = read_lock(project)
    for entry in lock["figures"].values():
        assert entry["sha256"] in text.replace("\\allowbreak{}", "").replace("\\allowbreak ", "")
