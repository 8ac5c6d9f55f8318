"""Item 6: ``validate`` runs every check that needs no forward pass (the planner's), without torch."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BAD = """\
version: 1
figures:
  head-out-of-range:
    kind: self-attention
    model: {model}
    text: a big red fox
    layer: 0
    head: 4
  layer-out-of-range:
    kind: self-attention
    model: {model}
    text: a big red fox
    layer: 2
  no-text:
    kind: regions
    model: {model}
    layer: 0
  no-pair:
    kind: question-context
    model: {model}
    layer: 0
  not-installed:
    kind: self-attention
    model: no-such-org/no-such-model
    text: a big red fox
"""
PROBE = (
    "import sys; from izzyfig.cli import main; code = main(['validate', 'specs']);"
    "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules)); raise SystemExit(code)"
)


def test_validate_reports_what_build_would_reject_without_importing_torch(tmp_path: Path, hostile):
    model = hostile.REPO / "models" / "tiny-repeat"  # llama: 2 layers, 4 heads
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "paper.yaml").write_text(BAD.format(model=model))
    env = dict(hostile.cli_env(), HF_HUB_CACHE=str(tmp_path / "empty-hub-cache"))

    result = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 1
    hostile.no_traceback(result)
    assert result.stdout == "[]\n"
    assert result.stderr.splitlines() == [
        f"specs/paper.yaml:8:5: figures.head-out-of-range.head: 4 is out of range for model '{model}' "
        "(4 heads)",
        f"specs/paper.yaml:13:5: figures.layer-out-of-range.layer: 2 is out of range for model '{model}' "
        "(2 layers)",
        f"specs/paper.yaml:14:3: figures.no-text: model '{model}' needs 'text' (or 'pair') to run on",
        "specs/paper.yaml:18:3: figures.no-pair: question-context figures need 'pair: [question, context]'",
        "specs/paper.yaml:24:5: figures.not-installed.model: model 'no-such-org/no-such-model' is "
        "neither a local directory nor in the local Hugging Face cache, and izzyfig never downloads: run "
        "`hf download no-such-org/no-such-model` where there is network, or give the path of a local copy",
    ]
    # validate writes nothing but the file-hash memo in the cache
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        ".izzyfig/cache/file-hashes.json", "specs/paper.yaml",
    ]


def test_validate_accepts_a_plannable_spec(tmp_path: Path, hostile):
    model = hostile.REPO / "models" / "tiny-repeat"
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "paper.yaml").write_text(
        f"version: 1\nfigures:\n  ok:\n    kind: self-attention\n    model: {model}\n"
        "    text: a big red fox\n    layer: -1\n    head: 3\n"
    )
    result = hostile.run_cli(tmp_path, "validate", "specs")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "1 spec file(s), 1 figure(s): valid\n"
    assert not (tmp_path / "figures").exists() and not (tmp_path / "izzyfig.lock").exists()
