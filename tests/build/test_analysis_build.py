"""Building the analysis kinds end to end on the tiny induction model (models/tiny-repeat)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "models" / "tiny-repeat"
RUNS = ["a big red fox chases the small grey mouse . a big red fox chases the small grey mouse .",
        "one green frog sees a happy duck near the river one green frog sees a happy duck near the river"]

SPEC = f"""\
version: 1
defaults:
  model: {TINY}
figures:
  atlas:
    kind: atlas
    text: {RUNS[0]}
    highlight: [[1, 3]]
    page: acl
    width: column
  induction:
    kind: head-summary
    statistic: induction
    texts: {json.dumps(RUNS)}
  previous:
    kind: head-summary
    statistic: previous-token
    text: {RUNS[1]}
    annotate: 1
  rollout:
    kind: rollout
    text: {RUNS[0]}
    residual: 0.5
    page: acl
    width: column
"""

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    project = tmp_path_factory.mktemp("analysis")
    (project / "specs").mkdir()
    (project / "specs" / "analysis.yaml").write_text(SPEC, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "izzyfig", "build", "specs", "--cache-dir", "cache"],
                            cwd=project, capture_output=True, text=True, timeout=600)
    return project, result


def test_every_analysis_kind_builds_from_one_forward_per_text(built):
    project, result = built
    assert result.returncode == 0, result.stderr
    assert "4 built, 0 up to date, 0 failed" in result.stderr
    assert "(1 model load(s), 2 forward pass(es))" in result.stderr
    lock = json.loads((project / "izzyfig.lock").read_text())["figures"]
    assert {figure_id: entry["kind"] for figure_id, entry in lock.items()} == {
        "atlas": "atlas", "induction": "head-summary", "previous": "head-summary", "rollout": "rollout"}
    for entry in lock.values():
        assert (project / "figures" / entry["output"]).read_bytes().startswith(b"%PDF-")
    assert [i["layers"] for i in lock["induction"]["inputs"]] == [[0, 1], [0, 1]]


def test_the_trained_heads_are_the_highest(built):
    project, result = built
    assert result.returncode == 0, result.stderr
    induction = " ".join(pdf_text(project / "figures" / "induction.pdf").split())
    assert "mean over 2 texts; highest: L1 H3" in induction
    previous = " ".join(pdf_text(project / "figures" / "previous.pdf").split())
    assert "highest: L0 H1" in previous


def test_atlas_and_rollout_fit_the_column(built):
    sys.path.insert(0, str(ROOT / "tests" / "render"))
    from pdfcheck import font_sizes, page_size

    project, result = built
    assert result.returncode == 0, result.stderr
    for name in ("atlas", "rollout"):
        pdf = project / "figures" / f"{name}.pdf"
        assert abs(page_size(pdf)[0] - 218.27) < 0.5 and min(font_sizes(pdf)) >= 6.0
    assert "L1" in pdf_text(project / "figures" / "atlas.pdf")


def test_special_positions_outside_the_shortest_text_are_one_positioned_error(tmp_path):
    (tmp_path / "s.yaml").write_text(
        f"version: 1\nfigures:\n  f:\n    kind: head-summary\n    model: {TINY}\n    statistic: special\n"
        f"    special: [0, 30]\n    texts: [{RUNS[0]}, one two]\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "izzyfig", "build", "s.yaml", "--cache-dir", "cache"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "s.yaml:7:5: figures.f.special: position 30 is outside the 3 tokens of text 1",
        "0 built, 0 up to date, 1 failed (0 model load(s), 0 forward pass(es))"]
    assert not (tmp_path / "figures" / "f.pdf").exists()
