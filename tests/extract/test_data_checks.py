"""Data checks: maps that are not attention warn; forwards and arrays that would not fit in memory fail."""
from __future__ import annotations

import json
import struct
import warnings

import numpy as np
import pytest

from izzyfig.errors import ExtractError, IzzyfigWarning
from izzyfig.extract import AttentionStore, runner
from izzyfig.extract.arrays import load_array, read_safetensors
from izzyfig.extract.attention_checks import attention_problems
from izzyfig.limits import MEMORY_SHARE


def test_softmax_rows_pass() -> None:
    scores = np.random.default_rng(0).normal(size=(3, 5, 5))
    maps = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    assert attention_problems(maps) == []
    assert attention_problems(maps.astype(np.float16)) == []  # rounding of half precision is not a problem


def test_negative_values_and_rows_off_one_are_described() -> None:
    maps = np.full((2, 3, 3), 1 / 3)
    maps[1, 2] = [0.5, 0.7, -0.2]
    maps[0, 1] *= 2
    assert attention_problems(maps) == [
        "1 negative value(s), the smallest -0.2: attention weights are never negative (scores before the softmax?)",
        "1 of 6 rows do not sum to 1 (row 1 of map 0 sums to 2): attention rows sum to 1 over the keys "
        "(wrong array or layout?)",
    ]


def test_figure_data_warns_at_the_key_of_each_map(tmp_path, make_plan) -> None:
    good = np.full((2, 4, 4), 0.25)
    bad = good.copy()
    bad[1, 0] = [1.0, 1.0, 0.0, 0.0]
    np.save(tmp_path / "good.npy", good)
    np.save(tmp_path / "bad.npy", bad)
    plan = make_plan("""
        version: 1
        figures:
          cmp:
            kind: comparison
            tokens: [a, b, c, d]
            a: {array: {path: good.npy, layout: layers query key}, layer: 1}
            b: {array: {path: bad.npy, layout: layers query key}, layer: 1}
    """)
    store = AttentionStore(tmp_path / "cache")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.figure_data(plan.figures[0])
    found = [(w.message.key, w.message.text) for w in caught if isinstance(w.message, IzzyfigWarning)]
    assert found == [(("b", "array"), "1 of 4 rows do not sum to 1 (row 0 sums to 2): attention rows sum to 1 "
                                      "over the keys (wrong array or layout?)")]


def test_a_forward_whose_attention_would_not_fit_in_memory_fails_before_it_runs(
    tmp_path, make_plan, bert_dir, monkeypatch
) -> None:
    plan = make_plan(f"""
        version: 1
        figures:
          f: {{kind: self-attention, model: {bert_dir}, text: the quick brown fox}}
    """)
    forward = plan.forwards[0]
    store = AttentionStore(tmp_path / "cache")
    encoded = store.runner._encode(forward)
    tokens = len(encoded.inputs["input_ids"])
    assert runner.attention_bytes(forward, encoded) == 2 * 4 * tokens * tokens * 4  # layers, heads, q, k, float32
    monkeypatch.setattr(runner, "memory_budget", lambda: 500)
    with pytest.raises(ExtractError) as caught:
        store.prepare(plan)
    assert tokens == 6 and int(500 / MEMORY_SHARE) == 1000
    assert str(caught.value) == (
        f"model '{bert_dir}' on 6 tokens returns 1.1 KiB of attention weights; izzyfig uses at most half "
        "of the 1000 bytes of memory available (use a shorter text)"
    )
    assert store.runner.forwards == 0


def safetensors(entries: dict, data: bytes) -> bytes:
    header = json.dumps(entries).encode()
    return struct.pack("<Q", len(header)) + header + data


@pytest.mark.parametrize(
    ("dtype", "values"),
    [("F64", np.arange(6, dtype="<f8")), ("I32", np.arange(6, dtype="<i4")), ("U8", np.arange(6, dtype="u1")),
     ("F16", np.arange(6, dtype="<f2"))],
)
def test_safetensors_dtypes_are_read_as_stored(tmp_path, dtype: str, values: np.ndarray) -> None:
    entry = {"dtype": dtype, "shape": [2, 3], "data_offsets": [0, values.nbytes]}
    (tmp_path / "x.safetensors").write_bytes(safetensors({"x": entry}, values.tobytes()))
    read = read_safetensors(tmp_path / "x.safetensors", "x")
    assert read.dtype == values.dtype and read.tolist() == values.reshape(2, 3).tolist()


def test_a_damaged_array_file_is_reported_without_its_bytes(tmp_path, make_plan) -> None:
    np.save(tmp_path / "a.npy", np.full((4, 4), 0.25))
    plan = make_plan("""
        version: 1
        figures:
          f: {kind: self-attention, array: {path: a.npy}, tokens: [a, b, c, d]}
    """)
    array = plan.arrays[0]
    secret = b"\x93NUMPY\x01\x00v\x00{'descr': 'SECRET-TEXT', 'fortran_order': False, 'shape': (4, 4), }"
    (tmp_path / "a.npy").write_bytes(secret)
    with pytest.raises(ExtractError) as caught:
        load_array(type(array)(array.path, array.key, array.layout, array.shape, _sha256(tmp_path / "a.npy")))
    assert str(caught.value) == f"cannot read array file '{tmp_path / 'a.npy'}': it is damaged"


def _sha256(path) -> str:
    from izzyfig.files import sha256_file

    return sha256_file(path)


def test_the_maximum_over_heads_has_no_row_sums_to_check() -> None:
    maps = np.full((3, 3), 0.5)
    assert attention_problems(maps, rows=False) == []
    maps[0, 0] = -1.0
    assert attention_problems(maps, rows=False) == [
        "1 negative value(s), the smallest -1: attention weights are never negative (scores before the softmax?)"
    ]
