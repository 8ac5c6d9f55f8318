"""Item 14: figure ids and outputs have a defined alphabet and length, checked at validation.

LaTeX and shell specials (``~ { } % # \\ $ ^ "``), newlines, NUL, ids ending in a newline
and 240-character ids used to pass validation and abort the build without a position.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
HEAD = "version: 1\ndefaults:\n  array: {path: ../attn.npy, layout: query key}\n  tokens: [a, b, c, d]\nfigures:\n"
# (id as written in double-quoted YAML, the id's path in messages, the id as the message quotes it)
BAD_IDS = [
    ("fig~1", "fig~1", "'fig~1'"),
    ("fig{1}", "fig{1}", "'fig{1}'"),
    ("fig%1", "fig%1", "'fig%1'"),
    ("fig#1", "fig#1", "'fig#1'"),
    ("fig\\\\1", "fig\\1", "'fig\\\\1'"),
    ("fig$1", "fig$1", "'fig$1'"),
    ("fig^1", "fig^1", "'fig^1'"),
    ('fig\\"1', 'fig"1', "'fig\"1'"),
    ("fig\\n", "'fig\\n'", "'fig\\n'"),
    ("fig\\0x", "'fig\\x00x'", "'fig\\x00x'"),
]
# (output as written in double-quoted YAML, the character the message names)
BAD_OUTPUTS = [
    ("a~b.pdf", "'a~b.pdf' contains '~'"),
    ("a{b}.pdf", "'a{b}.pdf' contains '{'"),
    ("a%b.pdf", "'a%b.pdf' contains '%'"),
    ("a#b.pdf", "'a#b.pdf' contains '#'"),
    ("a\\\\b.pdf", "'a\\\\b.pdf' contains '\\\\'"),
    ("a$b.pdf", "'a$b.pdf' contains '$'"),
    ("a^b.pdf", "'a^b.pdf' contains '^'"),
    ('a\\"b.pdf', "'a\"b.pdf' contains '\"'"),
    ("a\\nb.pdf", "'a\\nb.pdf' contains '\\n'"),
    ("a\\0b.pdf", "'a\\x00b.pdf' contains '\\x00'"),
]
RULE = "use ASCII letters, digits, '_', '-', '.' and '/' (LaTeX and the shell give other characters a meaning)"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "izzyfig", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": path}, timeout=600,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".izzyfig" not in p.relative_to(root).parts
    }


def test_ids_and_outputs_outside_the_alphabet_are_positioned_errors(tmp_path: Path) -> None:
    np.save(tmp_path / "attn.npy", np.full((4, 4), 0.25))
    long_id, long_output = "x" * 240, "sub/" + "y" * 240 + ".pdf"
    text = HEAD + "".join(f'  "{written}": {{kind: self-attention}}\n' for written, _, _ in BAD_IDS)
    text += f"  {long_id}: {{kind: self-attention}}\n"
    text += "".join(f'  o{n}: {{kind: self-attention, output: "{o}"}}\n' for n, (o, _) in enumerate(BAD_OUTPUTS))
    text += f'  long: {{kind: self-attention, output: "{long_output}"}}\n'
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "p.yaml").write_text(text, encoding="utf-8")
    before = snapshot(tmp_path)

    expected = [
        f"specs/p.yaml:{6 + n}:3: figures.{path}: invalid figure id {quoted}: use ASCII letters, digits, "
        "'_', '.' and '-', starting with a letter or digit"
        for n, (_, path, quoted) in enumerate(BAD_IDS)
    ]
    expected.append(
        f"specs/p.yaml:16:3: figures.{'x' * 57}...: figure id '{'x' * 57}...' has 240 characters; the limit is 100"
    )
    expected += [
        f"specs/p.yaml:{17 + n}:{30 if n < 10 else 31}: figures.o{n}.output: output {shown}; {RULE}"
        for n, (_, shown) in enumerate(BAD_OUTPUTS)
    ]
    expected.append(
        f"specs/p.yaml:27:32: figures.long.output: output 'sub/{'y' * 53}...' has 248 characters; the limit is 100"
    )
    for command in ("validate", "build"):
        result = run(tmp_path, command, "specs")
        assert result.returncode == 1
        assert result.stderr.splitlines() == expected
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "figures").exists()


def test_a_plain_output_in_a_subdirectory_still_builds(tmp_path: Path) -> None:
    np.save(tmp_path / "attn.npy", np.full((4, 4), 0.25))
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "p.yaml").write_text(
        HEAD + "  fig-1.a_b: {kind: self-attention, output: paper/fig-1.a_b.pdf}\n", encoding="utf-8"
    )
    result = run(tmp_path, "build", "specs")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "figures" / "paper" / "fig-1.a_b.pdf").is_file()
    assert (tmp_path / "figures" / "paper" / "fig-1.a_b.tex").is_file()
