"""The command line: exit codes, positioned errors, and no torch where none is needed."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from izzyfig.cli import main

GOOD = """\
version: 1
figures:
  fig1:
    kind: self-attention
    model: minilm
    text: The quick brown fox.
    layer: 0
    head: 0
"""


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "izzyfig", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_validate_accepts_a_good_spec_without_importing_torch(tmp_path: Path):
    (tmp_path / "paper.yaml").write_text(GOOD)
    probe = (
        "import sys; from izzyfig.cli import main; code = main(['validate', 'paper.yaml']);"
        "print(sorted(m for m in ('torch', 'transformers', 'matplotlib') if m in sys.modules));"
        "raise SystemExit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["1 spec file(s), 1 figure(s): valid", "[]"]


def test_validate_reports_every_error_with_its_position_and_exits_1(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(GOOD.replace("head: 0", "head: eight"))
    (tmp_path / "b.yaml").write_text(GOOD.replace("fig1", "fig2").replace("layer: 0", "top-n: 3"))
    result = run(tmp_path, "validate", ".")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "a.yaml:8:5: figures.fig1.head: expected an integer, 'mean' or 'max', got 'eight'",
        "b.yaml:7:5: figures.fig2: unknown key 'top-n' (did you mean 'top_n'?)",
    ]
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml"]


def test_usage_errors_exit_2(tmp_path: Path):
    assert run(tmp_path, "frobnicate").returncode == 2
    assert run(tmp_path, "validate").returncode == 2
    assert run(tmp_path, "build", "specs", "--jobs", "0").returncode == 2


def test_missing_path_is_a_spec_error(tmp_path: Path, capsys):
    assert main(["validate", str(tmp_path / "nowhere")]) == 1
    assert "nowhere" in capsys.readouterr().err


def test_init_writes_a_valid_starter_spec_and_never_overwrites(tmp_path: Path):
    result = run(tmp_path, "init")
    assert result.returncode == 0, result.stderr
    starter = tmp_path / "specs" / "figures.yaml"
    assert starter.read_text().startswith("# yaml-language-server: $schema=")
    assert run(tmp_path, "validate", "specs").returncode == 0
    starter.write_text("mine")
    result = run(tmp_path, "init")
    assert result.returncode == 1
    assert starter.read_text() == "mine"


def test_schema_command_writes_the_tracked_schema(tmp_path: Path):
    out = tmp_path / "schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    tracked = Path(__file__).resolve().parents[1] / "schemas" / "izzyfig.schema.json"
    assert out.read_bytes() == tracked.read_bytes()


def test_example_specs_start_with_the_schema_modeline_and_validate():
    specs = Path(__file__).resolve().parents[1] / "specs"
    files = sorted(specs.glob("*.yaml"))
    assert files
    for path in files:
        assert path.read_text().startswith(
            "# yaml-language-server: $schema=../schemas/izzyfig.schema.json\n"
        ), path.name
    assert main(["validate", str(specs)]) == 0
