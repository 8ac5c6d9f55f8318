"""Content-addressed attention cache: one directory per forward key.

    <cache_dir>/attention/<key[:2]>/<key>/meta.json          tokens, inputs, array digests
    <cache_dir>/attention/<key[:2]>/<key>/<attention>-<layer>.npz   (heads, query, key)

Only the layers that figures asked for are stored, each in its own compressed file, so
asking for another layer later adds a file instead of replacing the entry. Every file
is written atomically (temp file + rename); ``meta.json`` carries its own checksum and
the sha256 of every array file, and both are verified on read. A damaged entry (bad
bytes, or a directory where a file should be) is discarded and so recomputed, never
returned. No torch here.
"""
from __future__ import annotations

import io
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from izzyfig.extract.tokens import TokenizedInput
from izzyfig.files import canonical_json, sha256_bytes, sha256_text, write_atomic
from izzyfig.plan.planner import CACHE_FORMAT

META = "meta.json"
ARRAY_NAME = "attention"
Layer = tuple[str, int]


def array_file(attention: str, layer: int) -> str:
    return f"{attention}-{layer:03d}.npz"


@dataclass(frozen=True)
class CacheEntry:
    """A verified ``meta.json``: tokens plus ``{file name: {sha256, shape}}``."""

    tokens: TokenizedInput
    arrays: dict[str, dict[str, Any]]
    info: dict[str, Any]

    def has(self, layers) -> bool:
        return all(array_file(*layer) in self.arrays for layer in layers)


class AttentionCache:
    """Read, verify and write cache entries under ``<cache_dir>/attention``."""

    def __init__(self, cache_dir: Path):
        self.root = Path(cache_dir) / "attention"

    def entry_dir(self, key: str) -> Path:
        return self.root / key[:2] / key

    def discard(self, key: str) -> None:
        remove_path(self.entry_dir(key))

    # -- reading -----------------------------------------------------------------------
    def read(self, key: str) -> CacheEntry | None:
        """The entry's verified metadata, or ``None`` (a damaged entry is deleted)."""
        path = self.entry_dir(key) / META
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            self.discard(key)
            return None
        entry = self._parse(meta, key)
        if entry is None:
            self.discard(key)
        return entry

    @staticmethod
    def _parse(meta: Any, key: str) -> CacheEntry | None:
        if not isinstance(meta, dict):
            return None
        body = {k: v for k, v in meta.items() if k != "checksum"}
        if meta.get("checksum") != sha256_text(canonical_json(body)):
            return None
        if body.get("format") != CACHE_FORMAT or body.get("key") != key:
            return None
        try:
            tokens = TokenizedInput.from_json(body["tokens"])
        except (KeyError, TypeError, ValueError):
            return None
        return CacheEntry(tokens, dict(body.get("arrays", {})), dict(body.get("info", {})))

    def verified_layers(self, key: str, entry: CacheEntry, layers) -> set[Layer]:
        """Which of ``layers`` are stored with intact bytes (damaged files are dropped)."""
        return {layer for layer in layers if self._read_bytes(key, entry, array_file(*layer)) is not None}

    def load(self, key: str, attention: str, layer: int) -> np.ndarray | None:
        """The stored ``(heads, query, key)`` map, or ``None`` if absent or damaged."""
        entry = self.read(key)
        name = array_file(attention, layer)
        data = self._read_bytes(key, entry, name) if entry else None
        if data is None:
            return None
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                array = archive[ARRAY_NAME]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            self._drop(key, name)
            return None
        if list(array.shape) != entry.arrays[name].get("shape"):
            self._drop(key, name)
            return None
        return array

    def _read_bytes(self, key: str, entry: CacheEntry, name: str) -> bytes | None:
        record = entry.arrays.get(name)
        if not isinstance(record, dict):
            return None
        try:
            data = (self.entry_dir(key) / name).read_bytes()
        except OSError:
            data = None
        if data is None or sha256_bytes(data) != record.get("sha256"):
            self._drop(key, name)
            return None
        return data

    def _drop(self, key: str, name: str) -> None:
        """Forget one damaged array file; the rest of the entry stays usable."""
        remove_path(self.entry_dir(key) / name)
        entry = self.read(key)
        if entry is not None and name in entry.arrays:
            arrays = {k: v for k, v in entry.arrays.items() if k != name}
            self._write_meta(key, entry.tokens, arrays, entry.info)

    # -- writing -----------------------------------------------------------------------
    def write(self, key: str, tokens: TokenizedInput, maps: dict[Layer, np.ndarray],
              info: dict[str, Any]) -> None:
        """Store ``maps`` (each ``(heads, query, key)``) and merge them into the entry."""
        folder = self.entry_dir(key)
        current = self.read(key)
        arrays = dict(current.arrays) if current else {}
        for (attention, layer), array in sorted(maps.items()):
            buffer = io.BytesIO()
            np.savez_compressed(buffer, **{ARRAY_NAME: np.ascontiguousarray(array)})
            data = buffer.getvalue()
            name = array_file(attention, layer)
            write_atomic(folder / name, data)
            arrays[name] = {"sha256": sha256_bytes(data), "shape": list(array.shape), "dtype": str(array.dtype)}
        self._write_meta(key, tokens, arrays, info)

    def _write_meta(self, key: str, tokens: TokenizedInput, arrays: dict, info: dict) -> None:
        body = {"format": CACHE_FORMAT, "key": key, "tokens": tokens.to_json(), "arrays": arrays, "info": info}
        meta = {**body, "checksum": sha256_text(canonical_json(body))}
        write_atomic(self.entry_dir(key) / META, json.dumps(meta, sort_keys=True, indent=1).encode("utf-8"))


def remove_path(path: Path) -> None:
    """Remove a cache file or whatever took its place (a directory, a symlink); best effort.

    Everything under the cache root is izzyfig's own, so a directory where a file
    should be is damage to repair, not something a user owns.
    """
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass
