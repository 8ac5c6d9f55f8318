"""Warnings raised while a figure is made: positioned, recorded in the lock, --strict."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from izzyfig.executors import work as build_module
from izzyfig.build import Project, build
from izzyfig.errors import IzzyfigWarning

ONE_FIGURE = """\
version: 1
figures:
  self:
    kind: self-attention
    array: {path: arrays/attn.npy, layout: layers heads query key}
    tokens: [a, b, c, d, e, f, g, h]
    head: 1
    title: Watched
"""


@pytest.fixture
def warned(project: Path, monkeypatch) -> Path:
    """A one-figure project whose renderer warns about its ``title``."""
    (project / "specs" / "paper.yaml").write_text(ONE_FIGURE, encoding="utf-8")
    real_draw = build_module.draw

    def draw(kind, data, options):
        warnings.warn(IzzyfigWarning("the title is too long to read", ("title",)))
        return real_draw(kind, data, options)

    monkeypatch.setattr(build_module, "draw", draw)
    monkeypatch.chdir(project)
    return project


def test_warning_is_positioned_at_its_key_and_recorded(warned: Path, capsys):
    report = build(Project(paths=("specs",)))
    assert report.ok and report.built == ["self"]
    assert report.warnings == [
        "specs/paper.yaml:8:5: warning: figures.self.title: the title is too long to read"
    ]
    assert "1 warning(s)" in capsys.readouterr().err
    lock = json.loads((warned / "izzyfig.lock").read_text())
    assert lock["figures"]["self"]["warnings"] == [
        {"key": ["title"], "message": "the title is too long to read"}
    ]


def test_up_to_date_figure_reports_its_locked_warnings_again(warned: Path):
    build(Project(paths=("specs",)))
    again = build(Project(paths=("specs",)))
    assert again.up_to_date == ["self"] and again.built == []
    assert again.warnings == [
        "specs/paper.yaml:8:5: warning: figures.self.title: the title is too long to read"
    ]


def test_strict_fails_the_figure_and_writes_nothing(warned: Path):
    report = build(Project(paths=("specs",), strict=True))
    assert not report.ok
    assert report.failed == [
        "specs/paper.yaml:8:5: error: figures.self.title: the title is too long to read (--strict)"
    ]
    assert not (warned / "figures" / "self.pdf").exists()


def test_strict_fails_an_up_to_date_figure_with_locked_warnings(warned: Path):
    assert build(Project(paths=("specs",))).ok
    report = build(Project(paths=("specs",), strict=True))
    assert not report.ok and report.up_to_date == []
    assert (warned / "figures" / "self.pdf").exists()  # strict never deletes a built file
