"""Figure entries know where they and their keys are written; paths resolve per spec file."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from izzyfig.errors import Position, SpecError
from izzyfig.spec import find_spec_files, load_spec_text, load_specs, resolve_model_ref, resolve_path

TEXT = """\
# yaml-language-server: $schema=../schemas/izzyfig.schema.json
version: 1
defaults:
  model: minilm
figures:
  attn:
    kind: self-attention
    text: The cat sat.
    layer: 2
    boxes:
      - rows: [0, 1]
        cols: [1, 2]
      - {tokens: [cat, sat]}
"""


@pytest.fixture
def entry():
    return load_spec_text(TEXT, "specs/p.yaml").figures[0]


def test_entry_position_is_the_figure_key(entry) -> None:
    assert entry.position == Position("specs/p.yaml", 6, 3)
    assert entry.file == Path("specs/p.yaml")


@pytest.mark.parametrize(
    "path, expected",
    [
        (("layer",), (9, 5)),
        (("boxes",), (10, 5)),
        (("boxes", 0), (11, 9)),
        (("boxes", 0, "cols", 1), (12, 19)),
        (("boxes", 1, "tokens"), (13, 10)),
        (("model",), (4, 3)),  # merged from defaults
        (("head",), (6, 3)),  # not written: the figure
        (("boxes", 5), (10, 5)),  # nearest written ancestor
    ],
)
def test_position_of(entry, path, expected) -> None:
    assert (entry.position_of(*path).line, entry.position_of(*path).col) == expected


def test_nested_box_error_points_into_the_list() -> None:
    bad = TEXT.replace("{tokens: [cat, sat]}", "{rows: [4, 2], cols: [0, 0]}")
    with pytest.raises(SpecError) as caught:
        load_spec_text(bad, "specs/p.yaml")
    assert str(caught.value) == "specs/p.yaml:13:9: figures.attn.boxes[1]: inverted box: rows [4, 2] must have first <= last"


def test_find_spec_files_sorted_recursive(tmp_path) -> None:
    for name in ["b.yaml", "a/z.yml", "a/y.yaml", ".hidden/x.yaml", "notes.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    found = find_spec_files([tmp_path, tmp_path / "b.yaml"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a/y.yaml", "a/z.yml", "b.yaml"]


def test_array_paths_resolve_against_the_spec_file(tmp_path, monkeypatch) -> None:
    spec_dir = tmp_path / "paper" / "specs"
    spec_dir.mkdir(parents=True)
    (spec_dir / "a.yaml").write_text("version: 1\nfigures:\n  f:\n    kind: regions\n    array: {path: ../data/attn.npy}\n")
    monkeypatch.chdir(tmp_path)
    entry = load_specs(["paper"])[0].figures[0]
    assert entry.figure.array.path == "../data/attn.npy"  # kept as written: portable spec hashes
    assert resolve_path(entry, entry.figure.array.path) == tmp_path / "paper" / "data" / "attn.npy"
    assert resolve_path(entry, "/abs/x.npy") == Path("/abs/x.npy")


def test_model_refs(tmp_path, monkeypatch) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "org" / "model").mkdir(parents=True)
    (tmp_path / "specs" / "a.yaml").write_text("version: 1\nfigures:\n  f: {kind: regions}\n")
    monkeypatch.chdir(tmp_path)
    entry = load_specs(["specs"])[0].figures[0]
    assert resolve_model_ref(entry, "minilm") is None  # alias
    assert resolve_model_ref(entry, "sentence-transformers/all-MiniLM-L6-v2") is None  # hub id
    assert resolve_model_ref(entry, "org/model") == tmp_path / "specs" / "org" / "model"
    assert resolve_model_ref(entry, "./ckpt") == tmp_path / "specs" / "ckpt"
    assert resolve_model_ref(entry, "../ckpt") == tmp_path / "ckpt"


def test_fifty_figures_load_fast() -> None:
    figure = (
        "  fig{i}:\n    kind: self-attention\n    model: minilm\n    text: The quick brown fox.\n"
        "    layer: 3\n    head: {i}\n    boxes:\n      - rows: [1, 2]\n        cols: [3, 4]\n"
    )
    text = "version: 1\nfigures:\n" + "".join(figure.format(i=i) for i in range(50))
    load_spec_text(text, "warm.yaml")
    start = time.perf_counter()
    loaded = load_spec_text(text, "specs/many.yaml")
    elapsed = time.perf_counter() - start
    assert len(loaded.figures) == 50
    assert elapsed < 0.25, f"50 figures took {elapsed * 1000:.1f} ms"
