"""Item 11: a template's output size and its work are bounded.

``"{{ 'x'|center(10**9) }}"`` validated at 989 MB, and three nested 9999-item loops kept
``validate`` running until it was killed after 30 s. Now each fails at once with a
positioned template error, and the file's other figures are still checked.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
LOOPS = "{% for a in [0]*9999 %}{% for b in [0]*9999 %}{% for c in [0]*9999 %}{% endfor %}{% endfor %}{% endfor %}"
SPEC = f"""\
version: 1
defaults:
  array: {{path: ../attn.npy, layout: query key}}
  tokens: [a, b, c, d]
figures:
  wide{{{{h}}}}:
    kind: self-attention
    foreach: {{h: [1]}}
    title: "{{{{ 'x'|center(10**9) }}}}"
  loops{{{{h}}}}:
    kind: self-attention
    foreach: {{h: [1]}}
    title: "{LOOPS}"
  long{{{{h}}}}:
    kind: self-attention
    foreach: {{h: [1]}}
    caption: "{{% for a in [0]*9999 %}}xxx{{% endfor %}}"
  fine{{{{h}}}}:
    kind: self-attention
    foreach: {{h: [1, 2]}}
    title: "Head {{{{ h }}}}"
"""


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run(  # the timeout only stops a hang; it is not a timing assert
        [sys.executable, "-m", "izzyfig", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": path}, timeout=300,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".izzyfig" not in p.relative_to(root).parts
    }


def test_huge_outputs_and_endless_loops_are_template_errors(tmp_path: Path) -> None:
    np.save(tmp_path / "attn.npy", np.full((4, 4), 0.25))
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "p.yaml").write_text(SPEC, encoding="utf-8")
    before = snapshot(tmp_path)
    for command in ("validate", "build"):
        result = run(tmp_path, command, "specs")
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            "specs/p.yaml:9:5: figures.wide{{h}}.title: template error: 'center' with a size of 1000000000 "
            "is not allowed (the limit is 20000) (h=1)",
            "specs/p.yaml:13:5: figures.loops{{h}}.title: template error: the templates of this figure take "
            "more than 200000 steps (loop iterations, calls, filters); keep templates simple (h=1)",
            "specs/p.yaml:17:5: figures.long{{h}}.caption: template error: the template renders more than "
            "20000 characters (h=1)",
        ]
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert snapshot(tmp_path) == before
