"""Array files and checkpoint lists as attention sources; stability and evolution stacks."""
from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import save_file

from izzyfig.errors import ExtractError
from izzyfig.extract import AttentionStore
from izzyfig.extract.arrays import select_from_array
from izzyfig.plan import AttentionSelection

TOKENS = ["[CLS]", "the", "cat", "sat", "[SEP]"]


def softmax(rng: np.random.Generator, *shape: int) -> np.ndarray:
    exp = np.exp(rng.normal(size=shape))
    return exp / exp.sum(axis=-1, keepdims=True)


@pytest.fixture
def arrays(tmp_path):
    rng = np.random.default_rng(0)
    data = {
        "layers": softmax(rng, 3, 2, 5, 5),  # layers heads query key
        "runs": softmax(rng, 4, 3, 2, 5, 5),  # runs layers heads query key
        "cross": softmax(rng, 3, 5),
    }
    np.save(tmp_path / "layers.npy", data["layers"])
    np.savez(tmp_path / "many.npz", runs=data["runs"], cross=data["cross"])
    save_file({"steps": data["runs"].astype(np.float32)}, str(tmp_path / "steps.safetensors"))
    return data


def test_array_files_of_every_format(build, arrays):
    plan, store, stats = build(f"""
        version: 1
        defaults: {{tokens: {TOKENS}}}
        figures:
          npy: {{kind: self-attention, array: {{path: layers.npy, layout: layers heads query key}}, layer: -2, head: 1}}
          mean: {{kind: regions, array: {{path: layers.npy, layout: layers heads query key}}}}
          cross:
            kind: cross-attention
            array: {{path: many.npz, key: cross}}
            x_labels: [a, b, c, d, e]
            y_labels: [x, y, z]
            boxes: [{{row_tokens: [y, z], col_tokens: [b, d]}}]
          stable: {{kind: stability, array: {{path: many.npz, key: runs, layout: runs layers heads query key}}, head: 0}}
          evolve: {{kind: evolution, array: {{path: steps.safetensors, layout: steps layers heads query key}}, layer: 0, head: 1}}
    """)
    assert (stats.models_loaded, stats.forwards_run) == (0, 0)
    npy, mean, cross, stable, evolve = (store.figure_data(job) for job in plan.figures)
    np.testing.assert_array_equal(npy.matrices[0], arrays["layers"][1, 1])
    np.testing.assert_allclose(mean.matrices[0], arrays["layers"][-1].mean(axis=0))
    assert npy.x_labels == tuple(TOKENS)
    np.testing.assert_array_equal(cross.matrices[0], arrays["cross"])
    assert (cross.x_labels, cross.y_labels, cross.boxes) == (("a", "b", "c", "d", "e"), ("x", "y", "z"), ((1, 1, 2, 3),))
    np.testing.assert_array_equal(stable.matrices[0], arrays["runs"][:, -1, 0])
    assert evolve.matrices[0].shape == (4, 5, 5) and evolve.matrices[0].dtype == np.float32
    np.testing.assert_allclose(evolve.matrices[0], arrays["runs"][:, 0, 1], rtol=1e-6)


def test_array_changed_after_planning_is_refused(tmp_path, make_plan, arrays):
    plan = make_plan("""
        version: 1
        figures:
          f: {kind: self-attention, array: {path: layers.npy, layout: layers heads query key}}
    """)
    np.save(tmp_path / "layers.npy", arrays["layers"] * 0.5)
    with pytest.raises(ExtractError, match="changed since the build was planned; run the build again"):
        AttentionStore(tmp_path / "cache").figure_data(plan.figures[0])


def test_selection_axes_batch_and_heads():
    data = np.arange(2 * 3 * 4 * 4, dtype=float).reshape(2, 3, 4, 4)  # batch heads query key
    mean = AttentionSelection(None, "self", None)
    np.testing.assert_array_equal(select_from_array(data, ("batch", "heads", "query", "key"), mean),
                                  data[0].mean(axis=0))
    head = AttentionSelection(None, "self", None, head=2)
    np.testing.assert_array_equal(select_from_array(data, ("batch", "heads", "query", "key"), head), data[0, 2])


def test_stability_over_checkpoint_directories(build, bert_runs):
    runs = ", ".join(map(str, bert_runs))
    plan, store, stats = build(f"""
        version: 1
        figures:
          stable: {{kind: stability, runs: [{runs}], text: the cat sat, layer: 1, head: 2}}
          evolve: {{kind: evolution, steps: [{runs}], text: the cat sat, layer: 1, head: 2}}
    """)
    assert (len(plan.models), len(plan.forwards)) == (3, 3)  # shared by both figures
    assert (stats.models_loaded, stats.forwards_run) == (3, 3)
    stable, evolve = (store.figure_data(job) for job in plan.figures)
    (stack,) = stable.matrices
    assert stack.shape == (3, 5, 5)
    assert not np.allclose(stack[0], stack[1])  # different seeds, different maps
    np.testing.assert_allclose(stack.sum(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(evolve.matrices[0], stack)
    assert stable.x_labels == tuple(TOKENS)
