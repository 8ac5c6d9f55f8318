"""Item 20 (command line): ``--only`` takes ids without swallowing paths, unknown ids are usage
errors, every option documents its default, ``init`` names a schema that exists, and the
appendix follows spec order, takes ``--only`` and records boxes."""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from izzyfig.cli import _parser
from izzyfig.spec import schema_text

ORDERED = """\
version: 1
defaults:
  array: {path: arrays/attn.npy, layout: heads query key}
  tokens: [a, b, c, d, e, f]
figures:
  zeta:
    kind: self-attention
    head: 0
    boxes:
      - {rows: [1, 2], cols: [3, 4]}
      - {tokens: [b, e], occurrence: last}
  alpha:
    kind: regions
    head: 1
  mid:
    kind: self-attention
    head: 2
"""


def test_only_is_repeatable_takes_commas_and_leaves_the_paths(project: Path, hostile):
    result = hostile.run_cli(project, "build", "--only", "alpha", "specs")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == hostile.summary(1, 0)
    result = hostile.run_cli(project, "build", "--only", "alpha,beta", "specs", "--only", "beta")
    assert result.stderr.splitlines()[-1] == hostile.summary(1, 1)


def test_an_unknown_only_id_is_a_usage_error(project: Path, hostile):
    result = hostile.run_cli(project, "build", "--only", "alpha,gamma", "specs")
    assert result.returncode == 2
    assert result.stderr == "izzyfig build: error: --only: unknown figure id(s) gamma (known: alpha, beta)\n"
    assert sorted(p.name for p in project.iterdir()) == [".izzyfig", "specs"]
    result = hostile.run_cli(project, "build", "--only", "a,,b", "specs")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "izzyfig build: error: argument --only: expected figure ids separated by commas, got 'a,,b'")


def option_help(text: str, flag: str) -> str:
    """The help entry of ``flag`` in a command's ``--help`` text (usage left out)."""
    body = text[text.index("\n\n"):]
    start = re.search(rf"\n  (-\w( \S+)?, )?{re.escape(flag)}\b", body).start()
    end = re.search(r"\n  \S|\n\n|$", body[start + 1:]).start() + start + 1
    return body[start:end]


def test_every_option_has_help_and_shows_its_default():
    parser = _parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    checked = 0
    for name, command in commands.choices.items():
        text = command.format_help()
        for action in command._actions:
            if isinstance(action, argparse._HelpAction) or not (action.option_strings or action.nargs == "?"):
                continue
            assert action.help, f"{name} {action.option_strings or action.dest}: no help"
            entry = option_help(text, action.option_strings[-1] if action.option_strings else action.dest)
            assert "default" in entry, f"izzyfig {name}: the help does not show the default:{entry}"
            checked += 1
    assert checked >= 25


def test_init_names_a_schema_that_exists(tmp_path: Path, hostile):
    result = hostile.run_cli(tmp_path, "init", "paper/specs/figures.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "wrote schemas/izzyfig.schema.json",
        "wrote paper/specs/figures.yaml; edit it, then run: izzyfig build paper/specs",
    ]
    spec = tmp_path / "paper" / "specs" / "figures.yaml"
    modeline = spec.read_text().splitlines()[0]
    assert modeline == "# yaml-language-server: $schema=../../schemas/izzyfig.schema.json"
    schema = (spec.parent / modeline.split("$schema=")[1]).resolve()
    assert schema.read_text() == schema_text()
    assert json.loads(schema.read_text())["$schema"].startswith("https://json-schema.org/")
    # A second spec reuses the schema, and a schema the user changed is left alone.
    schema.write_text("{}")
    again = hostile.run_cli(tmp_path, "init", "other.yaml")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == (
        "left schemas/izzyfig.schema.json as it is (it differs from this izzyfig's schema; "
        "`izzyfig schema` rewrites it)")
    assert schema.read_text() == "{}"
    first = (tmp_path / "other.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=schemas/izzyfig.schema.json"


def subsections(text: str) -> list[str]:
    return re.findall(r"\\subsection\*\{Figure~\\ref\{fig:([^}]*)\}", text)


def test_appendix_follows_spec_order_takes_only_and_records_boxes(project: Path, hostile):
    (project / "specs" / "paper.yaml").write_text(ORDERED)
    assert hostile.run_cli(project, "build", "specs").returncode == 0
    result = hostile.run_cli(project, "appendix", "specs")
    assert result.returncode == 0, result.stderr
    text = (project / "figures" / "appendix.tex").read_text()
    assert subsections(text) == ["zeta", "alpha", "mid"]
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(r"\raggedright Boxes &"))
    assert lines[at:at + 2] == [
        r'\raggedright Boxes & \raggedright \texttt{\char123{}"cols": [3, 4], "rows": [1, 2]\char125{}};',
        r'\texttt{\char123{}"occurrence": "last", "tokens": ["b", "e"]\char125{}} \tabularnewline',
    ]
    result = hostile.run_cli(project, "appendix", "--only", "mid,zeta", "specs")
    assert result.returncode == 0, result.stderr
    assert subsections((project / "figures" / "appendix.tex").read_text()) == ["zeta", "mid"]
    unknown = hostile.run_cli(project, "appendix", "--only", "nope", "specs")
    assert unknown.returncode == 2
    assert unknown.stderr == (
        "izzyfig appendix: error: --only: unknown figure id(s) nope (known: alpha, mid, zeta)\n")


def test_appendix_refuses_figures_that_are_not_built_as_specified(project: Path, hostile):
    (project / "specs" / "paper.yaml").write_text(ORDERED)
    assert hostile.run_cli(project, "build", "--only", "zeta,alpha", "specs").returncode == 0
    spec = project / "specs" / "paper.yaml"
    spec.write_text(spec.read_text().replace("    head: 1\n", "    head: 3\n"))
    result = hostile.run_cli(project, "appendix", "specs")
    assert result.returncode == 1
    hostile.no_traceback(result)
    assert result.stderr.splitlines() == [
        "specs/paper.yaml:12:3: figures.alpha: the spec changed since the figure was built; "
        "build it first (izzyfig build)",
        "specs/paper.yaml:15:3: figures.mid: not in izzyfig.lock; build it first (izzyfig build), "
        "or leave it out with --only",
    ]
    assert not (project / "figures" / "appendix.tex").exists()
