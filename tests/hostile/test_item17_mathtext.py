"""Issue 13, item 17: '$' and '\\' in user text crashed the render with a mathtext traceback.

Now user text is drawn literally unless ``mathtext: true``; with it, a text that
matplotlib cannot parse is a positioned one-line error at its key (exit 1).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

SPEC = """\
version: 1
figures:
  money:
    kind: self-attention
    array: {{path: attn.npy}}
    tokens: ["$5", "a$b", "\\\\x", "$$"]
    title: "Costs $ and \\\\alpha"
    ylabel: '$$'
{extra}"""


def build(tmp_path: Path, extra: str = "") -> subprocess.CompletedProcess:
    raw = np.random.default_rng(0).random((4, 4))
    np.save(tmp_path / "attn.npy", raw / raw.sum(axis=1, keepdims=True))
    (tmp_path / "paper.yaml").write_text(SPEC.format(extra=extra), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPL")}
    return subprocess.run([sys.executable, "-m", "izzyfig", "build", "paper.yaml", "-q"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)


def test_dollars_and_backslashes_are_drawn_literally_by_default(tmp_path):
    result = build(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert (tmp_path / "figures" / "money.pdf").read_bytes().startswith(b"%PDF-")


def test_a_mathtext_error_is_one_positioned_line_when_mathtext_is_asked_for(tmp_path):
    result = build(tmp_path, "    mathtext: true\n")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "paper.yaml:7:5: figures.money.title: unbalanced '$' in 'Costs $ and \\\\alpha' (1 of them); "
        "write \\$ for a literal dollar sign",
        "paper.yaml:8:5: figures.money.ylabel: '$$' is not valid mathtext: "
        "Expected end of text, found '$' at column 1 of '$$'",
    ]
    assert not (tmp_path / "figures" / "money.pdf").exists()


def test_valid_mathtext_is_drawn_and_validate_reports_the_same_lines(tmp_path):
    build(tmp_path, "    mathtext: true\n")
    text = (tmp_path / "paper.yaml").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(("title:", "ylabel:"))]
    lines.append(r"    title: 'Costs \$5 and $\alpha$'")
    lines.append("    ylabel: '$x^2$'")
    (tmp_path / "paper.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "izzyfig", "build", "paper.yaml", "-q"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "figures" / "money.pdf").exists()
    (tmp_path / "paper.yaml").write_text(text, encoding="utf-8")
    checked = subprocess.run([sys.executable, "-m", "izzyfig", "validate", "paper.yaml"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert "paper.yaml:8:5: figures.money.ylabel: '$$' is not valid mathtext" in checked.stderr
