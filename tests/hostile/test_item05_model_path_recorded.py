"""Item 5: the lock and the appendix record the model path each spec wrote.

Two directories with identical content (a final checkpoint saved twice) are loaded
once, but the lock and appendix used to name whichever was found first for both.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPEC = """\
version: 1
defaults:
  source: the quick brown fox jumps over the lazy dog .
  target: . dog lazy the over jumps fox brown quick the
  layer: 1
  head: 2
figures:
  after-training:
    kind: cross-attention
    model: ../models/tiny-reverse-steps/step1000
  final:
    kind: cross-attention
    model: ../models/tiny-reverse
"""


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "izzyfig", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": path}, timeout=600,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_each_figure_records_the_model_path_its_spec_wrote(tmp_path: Path) -> None:
    shutil.copytree(REPO / "models" / "tiny-reverse", tmp_path / "models" / "tiny-reverse")
    shutil.copytree(REPO / "models" / "tiny-reverse-steps" / "step1000",
                    tmp_path / "models" / "tiny-reverse-steps" / "step1000")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "p.yaml").write_text(SPEC, encoding="utf-8")
    models = snapshot(tmp_path / "models")

    build = run(tmp_path, "build", "specs")
    assert build.returncode == 0, build.stderr
    assert build.stderr.splitlines()[-1] == "2 built, 0 up to date, 0 failed (1 model load(s), 1 forward pass(es))"
    lock = json.loads((tmp_path / "izzyfig.lock").read_text())
    recorded = {figure: entry["inputs"][0]["model"] for figure, entry in lock["figures"].items()}
    assert recorded == {
        "after-training": "../models/tiny-reverse-steps/step1000",
        "final": "../models/tiny-reverse",
    }
    fingerprints = {entry["inputs"][0]["fingerprint"] for entry in lock["figures"].values()}
    assert len(fingerprints) == 1  # one model, loaded once

    appendix = run(tmp_path, "appendix", "specs")
    assert appendix.returncode == 0, appendix.stderr
    text = (tmp_path / "figures" / "appendix.tex").read_text()
    fingerprint = fingerprints.pop()[:12]
    sections = {part.split("}", 1)[0]: part for part in text.split(r"\subsection*{Figure~\ref{fig:")[1:]}
    for figure, model in recorded.items():
        row = (rf"\raggedright Model & \raggedright \texttt{{{model}}}, fingerprint "
               rf"\texttt{{{fingerprint}}} \tabularnewline")
        assert row in sections[figure].splitlines()
    assert snapshot(tmp_path / "models") == models
