"""``izzyfig.lock``: what each built figure was made from, and the hash of what it became.

The lock is sorted, indented JSON so that it diffs well under version control. It is
rewritten atomically, and the build rewrites it around every output it replaces, so a
killed build never leaves an entry that claims a file the disk does not have.
"""
from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from izzyfig import __version__
from izzyfig.errors import BuildError
from izzyfig.files import write_atomic

LOCK_VERSION = 1
ENVIRONMENT_PACKAGES = ("numpy", "matplotlib", "torch", "transformers")


def environment() -> dict[str, str]:
    """Versions that can change the output, read without importing the packages."""
    versions = {"izzyfig": __version__, "python": platform.python_version()}
    for name in ENVIRONMENT_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass
class Lock:
    """The lock file's content: environment versions and one entry per figure id."""

    path: Path
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=environment)

    @classmethod
    def read(cls, path: Path) -> Lock:
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BuildError(f"{path}: unreadable lock file ({error}); delete it to rebuild") from error
        if not isinstance(data, dict) or data.get("lock_version") != LOCK_VERSION:
            raise BuildError(f"{path}: not an izzyfig lock file of version {LOCK_VERSION}")
        return cls(path, dict(data.get("figures", {})), dict(data.get("environment", {})))

    def to_dict(self) -> dict[str, Any]:
        return {
            "lock_version": LOCK_VERSION,
            "environment": dict(sorted(self.environment.items())),
            "figures": {k: self.figures[k] for k in sorted(self.figures)},
        }

    def write(self) -> None:
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        write_atomic(self.path, text.encode("utf-8"))
