"""``izzyfig.lock``: what each built figure was made from, and the hashes of what it became.

The lock is sorted, indented JSON so that it diffs well under version control. The
build rewrites it (atomically) around every output it replaces, so a killed build
never leaves an entry that claims a file the disk does not have. Per figure it holds
the figure file (``output``, ``sha256``) and its LaTeX snippet (``tex``, ``tex_sha256``):
both are outputs, checked and rebuilt alike.

``executor`` names where the last build that built figures ran (``local`` or ``dask``);
it is the only field a Dask build writes differently, and older locks without it are read.

A lock is read strictly: valid JSON with a field of the wrong type is reported as
one line naming the field, never used.
"""
from __future__ import annotations

import json
import platform
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from izzyfig import __version__
from izzyfig.errors import BuildError
from izzyfig.files import write_atomic

LOCK_VERSION = 1
ENVIRONMENT_PACKAGES = ("numpy", "matplotlib", "torch", "transformers")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Fields of a figure entry that izzyfig reads back, with the JSON type each must have.
ENTRY_FIELDS: dict[str, tuple[type, ...]] = {
    "output": (str,),
    "sha256": (str,),
    "build_key": (str,),
    "spec": (str,),
    "kind": (str,),
    "tex": (str,),
    "tex_sha256": (str,),
    "caption": (str, type(None)),
    "inputs": (list,),
    "parameters": (dict,),
    "boxes": (list,),
    "warnings": (list,),
    "latex": (dict,),
}
REQUIRED_FIELDS = ("output", "sha256", "build_key")
JSON_TYPES = {str: "a string", list: "a list", dict: "an object", type(None): "null"}


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
    executor: str | None = None

    @classmethod
    def read(cls, path: Path) -> Lock:
        """The lock at ``path`` (empty if there is none).

        Raises
        ------
        BuildError
            Unreadable, not JSON, another lock version, or a field of the wrong type.
        """
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BuildError(f"{path}: unreadable lock file ({error}); delete it to rebuild") from error
        if not isinstance(data, dict) or data.get("lock_version") != LOCK_VERSION:
            raise BuildError(f"{path}: not an izzyfig lock file of version {LOCK_VERSION}")
        problem = lock_problem(data)
        if problem:
            raise BuildError(f"{path}: {problem}; the lock is damaged: fix it, "
                             "or delete it to rebuild every figure")
        return cls(path, dict(data.get("figures", {})), dict(data.get("environment", {})), data.get("executor"))

    def to_dict(self) -> dict[str, Any]:
        data = {
            "lock_version": LOCK_VERSION,
            "environment": dict(sorted(self.environment.items())),
            "figures": {k: self.figures[k] for k in sorted(self.figures)},
        }
        if self.executor is not None:
            data["executor"] = self.executor
        return data

    def to_bytes(self) -> bytes:
        """The file's bytes: sorted, indented JSON."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False)
        return (text + "\n").encode("utf-8")

    def write(self) -> None:
        write_atomic(self.path, self.to_bytes())


def lock_problem(data: dict[str, Any]) -> str | None:
    """The first field of a parsed lock with a wrong type or value, as ``path: why``."""
    environment_ = data.get("environment", {})
    if not isinstance(environment_, dict):
        return f"environment: expected an object, got {_json_type(environment_)}"
    for name, version in environment_.items():
        if not isinstance(version, str):
            return f"environment.{name}: expected a string, got {_json_type(version)}"
    if not isinstance(data.get("executor", ""), str):
        return f"executor: expected a string, got {_json_type(data['executor'])}"
    figures = data.get("figures", {})
    if not isinstance(figures, dict):
        return f"figures: expected an object, got {_json_type(figures)}"
    for figure_id, entry in figures.items():
        problem = _entry_problem(entry)
        if problem:
            return f"figures.{figure_id}{problem}"
    return None


def _entry_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return f": expected an object, got {_json_type(entry)}"
    for name in REQUIRED_FIELDS:
        if name not in entry:
            return f": missing '{name}'"
    for name, types in ENTRY_FIELDS.items():
        if name in entry and not isinstance(entry[name], types):
            expected = " or ".join(JSON_TYPES[t] for t in types)
            return f".{name}: expected {expected}, got {_json_type(entry[name])}"
    for name in ("sha256", "tex_sha256"):
        if name in entry and not SHA256.match(entry[name]):
            return f".{name}: expected 64 hexadecimal digits, got {entry[name][:70]!r}"
    for name in ("output", "tex"):
        if name in entry and not _relative(entry[name]):
            return f".{name}: {entry[name][:200]!r} is not a relative path inside the output directory"
    return None


def _relative(path: str) -> bool:
    parts = re.split(r"[\\/]", path)
    return bool(path) and not path.startswith(("/", "\\")) and ":" not in parts[0] and ".." not in parts


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return JSON_TYPES.get(type(value), type(value).__name__)
