"""Content hashes: canonical JSON, and file digests memoised across builds.

Fingerprinting a model means hashing its weight files (90 MB for MiniLM, gigabytes for
larger models). A no-change rebuild must stay sub-second, so each file's sha256 is
remembered in a small JSON file keyed by ``(path, size, mtime_ns)``: an unchanged file
is never read again, and any write to it (new size or mtime) invalidates the entry.
"""
from __future__ import annotations

import json
from pathlib import Path

from izzyfig.files import canonical_json, sha256_file, write_atomic

MEMO_NAME = "file-hashes.json"


class FileHashes:
    """sha256 of files, remembered by ``(resolved path, size, mtime_ns)``.

    Parameters
    ----------
    memo_path
        JSON file holding the memo; ``None`` keeps it in memory only.
    """

    def __init__(self, memo_path: Path | None):
        self.memo_path = memo_path
        self.memo = self._read(memo_path)
        self.changed = False

    @staticmethod
    def _read(memo_path: Path | None) -> dict[str, list]:
        if memo_path is None:
            return {}
        try:
            memo = json.loads(memo_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # a missing or damaged memo only costs re-hashing
        return memo if isinstance(memo, dict) else {}

    def of(self, path: Path) -> str:
        """The sha256 of ``path``'s bytes (symlinks followed, as in a hub snapshot)."""
        resolved = path.resolve()
        stat = resolved.stat()
        name = str(resolved)
        known = self.memo.get(name)
        if isinstance(known, list) and known[:2] == [stat.st_size, stat.st_mtime_ns]:
            return known[2]
        digest = sha256_file(resolved)
        self.memo[name] = [stat.st_size, stat.st_mtime_ns, digest]
        self.changed = True
        return digest

    def save(self) -> None:
        """Write the memo back if a new file was hashed; failure to write is harmless."""
        if self.memo_path is None or not self.changed:
            return
        try:
            write_atomic(self.memo_path, canonical_json(self.memo).encode("utf-8"))
        except OSError:
            return
        self.changed = False
