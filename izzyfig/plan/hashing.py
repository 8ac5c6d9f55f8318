"""File digests memoised across builds, trusted only when the file provably did not change.

Fingerprinting a model means hashing its weight files (90 MB for MiniLM, gigabytes for
larger models), and a no-change rebuild must stay sub-second. So each file's sha256 is
remembered in a small JSON file with the stat it was taken under. Staleness is decided
by content: the memo only lets a file skip hashing when

- its size, mtime, ctime, inode and device all equal the recorded ones (ctime changes
  with every write and every ``touch``/``utime``, and cannot be set back by a user, so a
  file rewritten with the same size and a restored mtime is hashed again), and
- it was last changed clearly before it was hashed (``RACY_NS``): a file written within
  the filesystem's timestamp granularity of its hashing might have changed again
  without a visible stat change, so it is hashed again (as git does for racy entries).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from izzyfig.files import canonical_json, sha256_file, write_atomic

MEMO_NAME = "file-hashes.json"
RACY_NS = 2_000_000_000  # coarser than any filesystem's timestamps (FAT: 2 s)


def stat_key(stat: os.stat_result) -> list[int]:
    """What must be unchanged for a recorded digest to hold."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev]


class FileHashes:
    """sha256 of files, remembered by resolved path and ``stat_key``.

    Each memo entry is ``[*stat_key, hashed_at_ns, sha256]``.

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
        if _trusted(known, stat):
            return known[-1]
        hashed_at = time.time_ns()
        digest = sha256_file(resolved)
        after = resolved.stat()
        if stat_key(after) != stat_key(stat):  # changed while being read: do not remember
            self.memo.pop(name, None)
            return digest
        self.memo[name] = [*stat_key(stat), hashed_at, digest]
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


def _trusted(known: object, stat: os.stat_result) -> bool:
    """Whether memo entry ``known`` may stand for a file with ``stat`` without hashing it."""
    if not isinstance(known, list) or len(known) != 7 or not isinstance(known[-1], str):
        return False
    *recorded, hashed_at, _ = known
    if recorded != stat_key(stat) or not isinstance(hashed_at, int):
        return False
    return max(stat.st_mtime_ns, stat.st_ctime_ns) < hashed_at - RACY_NS
