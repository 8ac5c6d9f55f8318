"""Files each figure writes, and collisions between figures (see also tests/hostile/test_item01)."""
from __future__ import annotations

from pathlib import Path

import pytest

from izzyfig.errors import SpecError
from izzyfig.spec import load_spec_text, load_specs
from izzyfig.spec.outputs import snippet_name

HEAD = "version: 1\ndefaults:\n  array: {path: a.npy}\n  tokens: [a, b]\nfigures:\n"


def problems(body: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec_text(HEAD + body, "specs/p.yaml")
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("output", "snippet"),
    [("fig.pdf", "fig.tex"), ("sub/fig.png", "sub/fig.tex"), ("a.b.svg", "a.b.tex")],
)
def test_snippet_is_the_output_without_its_suffix(output: str, snippet: str) -> None:
    assert snippet_name(output) == snippet


def test_a_file_where_another_figure_needs_a_directory_collides_either_way() -> None:
    assert problems(
        "  a: {kind: regions, output: x.pdf}\n"
        "  b: {kind: regions, output: x.pdf/y.pdf}\n"
        "  c: {kind: regions, output: z.pdf/y.pdf}\n"
        "  d: {kind: regions, output: Z.pdf}\n"
    ) == [
        "specs/p.yaml:7:22: figures.b.output: output 'x.pdf/y.pdf' needs a directory 'x.pdf' where figure "
        "'a' (specs/p.yaml:6:22) writes its output 'x.pdf'",
        "specs/p.yaml:9:22: figures.d.output: output 'Z.pdf' is the directory that the output 'z.pdf/y.pdf' "
        "of figure 'c' (specs/p.yaml:8:22) needs",
    ]


def test_spellings_of_one_path_collide() -> None:
    assert problems("  x: {kind: regions, output: ./a//b.pdf}\n  y: {kind: regions, output: a/b.pdf}\n") == [
        "specs/p.yaml:7:22: figures.y.output: output 'a/b.pdf' collides with the output 'a/b.pdf' of figure "
        "'x' (specs/p.yaml:6:22)"
    ]


def test_a_template_that_gives_every_expansion_one_output_is_reported_once() -> None:
    assert problems("  h{{h}}:\n    kind: regions\n    foreach: {h: [1, 2, 3]}\n    output: same.pdf\n") == [
        "specs/p.yaml:9:5: figures.h2.output: output 'same.pdf' collides with the output 'same.pdf' of "
        "figure 'h1' (specs/p.yaml:9:5, h=1) (h=2)"
    ]


def test_collisions_across_files_name_the_other_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.yaml").write_text(HEAD + "  fig: {kind: regions}\n", encoding="utf-8")
    (tmp_path / "specs" / "b.yaml").write_text(HEAD + "  other: {kind: regions, output: FIG.pdf}\n")
    with pytest.raises(SpecError) as caught:
        load_specs(["specs"])
    assert str(caught.value) == (
        "specs/b.yaml:6:26: figures.other.output: output 'FIG.pdf' collides with the output 'fig.pdf' "
        "(the default '<id>.pdf') of figure 'fig' (specs/a.yaml:6:3); the names differ only in case, "
        "and macOS and Windows treat them as one file"
    )


def test_distinct_outputs_load() -> None:
    spec = load_spec_text(
        HEAD + "  a: {kind: regions}\n  b: {kind: regions, output: b.svg}\n  c: {kind: regions, output: s/a.pdf}\n",
        "specs/p.yaml",
    )
    assert [entry.id for entry in spec.figures] == ["a", "b", "c"]
