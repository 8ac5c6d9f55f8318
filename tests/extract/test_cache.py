"""The attention cache: hits, shared forwards, added layers, damage, and no torch when warm."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from izzyfig.errors import SpecError
from izzyfig.extract import AttentionStore
from izzyfig.extract.cache import META, array_file

SENTENCES = [
    "the cat sat on the mat",
    "the quick brown fox",
    "where is the eiffel tower ?",
    "the lazy dog sat",
    "a fox jumps over a dog",
]


def spec(model_dir, layer: int = 1) -> str:
    return f"""
        version: 1
        defaults: {{model: {model_dir}, head: 0}}
        figures:
          a: {{kind: self-attention, text: the cat sat on the mat, layer: {layer}}}
          b: {{kind: regions, text: the cat sat on the mat, layer: 0}}
    """


def entry_files(tmp_path, plan) -> dict[str, bytes]:
    folder = tmp_path / "cache" / "attention" / plan.forwards[0].key[:2] / plan.forwards[0].key
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_fifty_figures_load_the_model_once_and_run_each_input_once(build, bert_dir):
    figures = "\n".join(
        f"          f{i}: {{kind: self-attention, text: {SENTENCES[i % 5]}, layer: {i % 2}, head: {i % 4}}}"
        for i in range(50)
    )
    plan, store, stats = build(f"""
        version: 1
        defaults: {{model: {bert_dir}}}
        figures:
{figures}
    """)
    assert (len(plan.models), len(plan.forwards), len(plan.figures)) == (1, 5, 50)
    assert (stats.models_loaded, stats.forwards_run, stats.forwards_cached) == (1, 5, 0)
    again = AttentionStore(store.cache.root.parent).prepare(plan)
    assert (again.models_loaded, again.forwards_run, again.forwards_cached) == (0, 0, 5)


def test_each_forward_reaches_the_runner_once(build, bert_dir, monkeypatch):
    from izzyfig.extract.runner import ModelRunner

    calls = []
    real = ModelRunner.attentions
    monkeypatch.setattr(ModelRunner, "attentions", lambda self, f, layers: calls.append(f.key) or real(self, f, layers))
    plan, store, _ = build(spec(bert_dir))
    assert calls == [plan.forwards[0].key]
    AttentionStore(store.cache.root.parent).prepare(plan)
    assert len(calls) == 1


def test_only_requested_layers_are_stored_and_new_ones_are_added(tmp_path, build, bert_dir):
    plan, _, _ = build(spec(bert_dir, layer=0))
    assert sorted(entry_files(tmp_path, plan)) == sorted([array_file("self", 0), META])
    first = entry_files(tmp_path, plan)[array_file("self", 0)]
    plan, _, stats = build(spec(bert_dir, layer=1))
    files = entry_files(tmp_path, plan)
    assert sorted(files) == sorted([array_file("self", 0), array_file("self", 1), META])
    assert files[array_file("self", 0)] == first  # the old layer was not rewritten
    assert stats.forwards_run == 1
    meta = json.loads(files[META])
    assert sorted(meta["arrays"]) == [array_file("self", 0), array_file("self", 1)]
    assert meta["tokens"]["input"]["raw"] == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]
    assert not list((tmp_path / "cache").rglob("*.tmp"))


@pytest.mark.parametrize("damage", ["truncate array", "flip array byte", "edit meta", "delete array"])
def test_a_damaged_entry_is_recomputed_not_used(tmp_path, build, bert_dir, damage):
    plan, store, _ = build(spec(bert_dir))
    expected = store.figure_data(plan.figures[0]).matrices[0]
    folder = tmp_path / "cache" / "attention" / plan.forwards[0].key[:2] / plan.forwards[0].key
    target = folder / array_file("self", 1)
    if damage == "truncate array":
        target.write_bytes(target.read_bytes()[:40])
    elif damage == "flip array byte":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "edit meta":
        meta = json.loads((folder / META).read_text())
        meta["tokens"]["input"]["labels"][1] = "dog"
        (folder / META).write_text(json.dumps(meta))
    else:
        target.unlink()
    store = AttentionStore(tmp_path / "cache")
    stats = store.prepare(plan)
    assert stats.forwards_run == 1
    data = store.figure_data(plan.figures[0])
    np.testing.assert_array_equal(data.matrices[0], expected)
    assert data.x_labels[1] == "the"


def test_damage_after_prepare_is_recomputed_by_figure_data(tmp_path, build, bert_dir):
    plan, store, _ = build(spec(bert_dir))
    expected = store.figure_data(plan.figures[0]).matrices[0]
    for path in (tmp_path / "cache" / "attention").rglob("*.npz"):
        path.write_bytes(b"not an npz")
    fresh = AttentionStore(tmp_path / "cache")
    np.testing.assert_array_equal(fresh.figure_data(plan.figures[0]).matrices[0], expected)
    assert fresh.runner.forwards == 1


def test_warm_build_imports_no_torch(tmp_path, build, bert_dir):
    build(spec(bert_dir))
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from izzyfig.spec.loader import load_specs
        from izzyfig.plan import plan_build
        from izzyfig.extract import AttentionStore

        cache = Path({str(tmp_path / "cache")!r})
        plan = plan_build(load_specs([{str(tmp_path / "spec.yaml")!r}]), cache_dir=cache)
        store = AttentionStore(cache)
        stats = store.prepare(plan)
        shapes = [store.figure_data(job).matrices[0].shape for job in plan.figures]
        print(stats.forwards_run, stats.models_loaded, shapes, "torch" in sys.modules, "transformers" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "0 0 [(8, 8), (8, 8)] False False"


def test_identical_forwards_are_shared_across_spec_files(tmp_path, bert_dir):
    from izzyfig.plan import plan_build
    from izzyfig.spec.loader import load_spec_text

    specs = [
        load_spec_text(f"version: 1\nfigures:\n  {name}: {{kind: self-attention, model: {bert_dir}, "
                       f"text: the cat, layer: {layer}}}\n", str(tmp_path / f"{name}.yaml"))
        for name, layer in (("one", 0), ("two", 1))
    ]
    plan = plan_build(specs, cache_dir=tmp_path / "cache")
    assert len(plan.forwards) == 1
    assert plan.forwards[0].keep == (("self", 0), ("self", 1))
    assert plan.figures[0].selections[0].input is plan.figures[1].selections[0].input


def test_describe_reports_what_is_cached(tmp_path, make_plan, bert_dir):
    plan = make_plan(spec(bert_dir))
    store = AttentionStore(tmp_path / "cache")
    assert "1 forward(s) to run, 0 cached" in plan.describe(store)
    store.prepare(plan)
    text = plan.describe(store)
    assert f"{plan.forwards[0].key[:12]} {bert_dir} on 'the cat sat on the mat' (layers: self 0, self 1)  [cached]" in text
    assert "0 forward(s) to run, 1 cached" in text


def test_box_problems_of_cached_figures_need_no_model(tmp_path, build, make_plan, bert_dir):
    build(spec(bert_dir))
    plan = make_plan(spec(bert_dir).replace("layer: 0}", "layer: 0, boxes: [{tokens: [cat, dog]}]}"))
    store = AttentionStore(tmp_path / "cache")
    with pytest.raises(SpecError, match=r"figures.b.boxes\[0\]: token 'dog' is not among the row tokens"):
        store.prepare(plan)
    assert store._runner is None
