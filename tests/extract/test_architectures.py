"""Real forwards on tiny models of each architecture: shapes, softmax rows, masks."""
from __future__ import annotations

import numpy as np
import pytest

from izzyfig.extract import AttentionStore

from izzyfig.errors import SpecError

TEXT = "the quick brown fox jumps over the lazy dog"


def rows_sum_to_one(matrix: np.ndarray) -> bool:
    return np.allclose(matrix.sum(axis=-1), 1.0, atol=1e-5)


def test_encoder_self_attention(build, bert_dir):
    plan, store, stats = build(f"""
        version: 1
        figures:
          f:
            kind: self-attention
            model: {bert_dir}
            text: {TEXT}
            layer: -1
            head: 2
    """)
    data = store.figure_data(plan.figures[0])
    (matrix,) = data.matrices
    assert matrix.shape == (11, 11)  # [CLS] + 9 words + [SEP]
    assert rows_sum_to_one(matrix)
    assert data.x_labels == data.y_labels == ("[CLS]", *TEXT.split(), "[SEP]")
    assert (stats.models_loaded, stats.forwards_run, stats.forwards_cached) == (1, 1, 0)
    assert plan.forwards[0].keep == (("self", 1),)


def test_decoder_attention_is_causal(build, gpt2_dir):
    plan, store, _ = build(f"""
        version: 1
        figures:
          f: {{kind: self-attention, model: {gpt2_dir}, text: {TEXT}, layer: 0, head: 1}}
    """)
    (matrix,) = store.figure_data(plan.figures[0]).matrices
    assert matrix.shape == (9, 9)
    assert rows_sum_to_one(matrix)
    assert np.all(np.triu(matrix, k=1) == 0)
    assert np.all(np.diag(matrix) > 0)
    assert matrix[0, 0] == pytest.approx(1.0)


def test_encoder_decoder_cross_attention(build, t5_dir):
    plan, store, _ = build(f"""
        version: 1
        figures:
          cross:
            kind: cross-attention
            model: {t5_dir}
            source: the cat sat on the mat
            target: die katze sitzt auf der matte
            layer: 2
            head: 0
          encoder:
            kind: cross-attention
            model: {t5_dir}
            source: the cat sat on the mat
            target: die katze sitzt auf der matte
            use_case: encoder_self_attention
          decoder:
            kind: self-attention
            model: {t5_dir}
            source: the cat sat on the mat
            target: die katze sitzt auf der matte
            attention: decoder
    """)
    assert len(plan.forwards) == 1
    assert set(plan.forwards[0].keep) == {("cross", 2), ("encoder", 1), ("decoder", 2)}
    cross, encoder, decoder = (store.figure_data(job) for job in plan.figures)
    source = ("the", "cat", "sat", "on", "the", "mat", "</s>")
    # Teacher forcing: the decoder reads the start token, then the target shifted right.
    target = ("<pad>", "die", "katze", "sitzt", "auf", "der", "matte")
    assert cross.matrices[0].shape == (len(target), len(source))
    assert (cross.x_labels, cross.y_labels) == (source, target)
    assert encoder.matrices[0].shape == (7, 7) and encoder.x_labels == source
    assert decoder.matrices[0].shape == (7, 7) and decoder.y_labels == target
    assert np.all(np.triu(decoder.matrices[0], k=1) == 0)
    for data in (cross, encoder, decoder):
        assert rows_sum_to_one(data.matrices[0])


def test_grouped_query_attention(build, llama_dir):
    plan, store, _ = build(f"""
        version: 1
        defaults: {{model: {llama_dir}, text: {TEXT}, layer: 1}}
        figures:
          heads: {{kind: comparison, a: {{head: 2}}, b: {{head: 3}}}}
          group: {{kind: self-attention, kv_group: 1}}
          mean: {{kind: self-attention}}
    """)
    assert len(plan.forwards) == 1 and len(plan.models) == 1
    heads, group, mean = (store.figure_data(job) for job in plan.figures)
    head2, head3 = heads.matrices
    assert head2.shape == (10, 10)  # <s> + 9 words: one map per query head
    assert not np.allclose(head2, head3)
    np.testing.assert_allclose(group.matrices[0], (head2 + head3) / 2, rtol=1e-6)
    assert np.all(np.triu(group.matrices[0], k=1) == 0)
    assert rows_sum_to_one(mean.matrices[0])


def test_question_end_from_token_types(build, bert_dir):
    plan, store, _ = build(f"""
        version: 1
        figures:
          qc:
            kind: question-context
            model: {bert_dir}
            pair: [where is the eiffel tower ?, the eiffel tower is located in paris]
    """)
    data = store.figure_data(plan.figures[0])
    assert data.question_end == 8  # [CLS] + 6 question tokens + [SEP]
    assert data.x_labels[data.question_end - 1] == "[SEP]"
    assert data.x_labels[data.question_end] == "the"


def test_question_end_without_token_types(build, gpt2_dir):
    plan, store, _ = build(f"""
        version: 1
        figures:
          qc: {{kind: question-context, model: {gpt2_dir}, pair: [where is the tower ?, in paris]}}
    """)
    data = store.figure_data(plan.figures[0])
    assert data.question_end == 5
    assert data.x_labels == ("where", "is", "the", "tower", "?", "in", "paris")


def test_boxes_and_lengths_are_checked_before_any_forward(tmp_path, make_plan, bert_dir):
    plan = make_plan(f"""
        version: 1
        defaults: {{model: {bert_dir}}}
        figures:
          ok: {{kind: self-attention, text: the cat, boxes: [{{tokens: [the, cat]}}]}}
          bad:
            kind: self-attention
            text: the cat sat
            boxes:
              - {{tokens: [cat, fox]}}
              - {{rows: [0, 5], cols: [1, 2]}}
          long: {{kind: self-attention, text: {" ".join(["a"] * 50)}}}
    """)
    store = AttentionStore(tmp_path / "cache")
    with pytest.raises(SpecError) as caught:
        store.prepare(plan)
    spec = tmp_path / "spec.yaml"
    assert str(caught.value).splitlines() == [
        f"{spec}:10:9: figures.bad.boxes[0]: token 'fox' is not among the row tokens "
        "([CLS], the, cat, sat, [SEP])",
        f"{spec}:11:9: figures.bad.boxes[1]: rows [0, 5] reach past the 5 rows of the 5 x 5 matrix",
        f"{spec}:12:32: figures.long.text: 52 tokens exceed the 48 positions of model '{bert_dir}'",
    ]
    assert (store.runner.loads, store.runner.forwards) == (0, 0)
    assert list((tmp_path / "cache").glob("attention/*/*")) == []


@pytest.mark.parametrize(("dtype", "stored"), [("float64", np.float64), ("bfloat16", np.float32)])
def test_dtypes(build, bert_dir, dtype, stored):
    plan, store, _ = build(f"""
        version: 1
        figures:
          f: {{kind: self-attention, model: {bert_dir}, text: {TEXT}, dtype: {dtype}, head: 0}}
    """)
    (matrix,) = store.figure_data(plan.figures[0]).matrices
    assert matrix.dtype == stored
    np.testing.assert_allclose(matrix.sum(axis=-1), 1.0, atol=1e-2 if dtype == "bfloat16" else 1e-12)
