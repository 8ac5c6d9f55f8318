"""The project while one izzyfig writes it: an exclusive lock and journaled temporary files.

Everything izzyfig writes into a project (figures, snippets, the appendix, the lock) goes
through a ``Workspace``: the bytes are written to a temporary file beside their target,
synced, and renamed over it, so a reader sees the old file or the new one. Temporary
files are named ``.izzyfig-tmp-<token>.<name>`` and every name is recorded in the run
file before the file is created. A build killed at any moment leaves at most those
files; the next izzyfig removes exactly the recorded names that still exist, and never
deletes anything by pattern.

The run file (``.izzyfig.lock.run`` beside ``izzyfig.lock``) is also the project lock:
its holder has an exclusive ``flock`` on it, and its first line names the holder's pid.
A second izzyfig waits for the lock (saying so), or fails at once with ``wait=False``.
A run that ends normally deletes the run file (still holding the lock; a waiter that
then locks the deleted file notices and locks the new one), so it is only left behind,
with its journal, by a run that was killed.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Callable

from izzyfig.errors import BuildError

TEMP_PREFIX = ".izzyfig-tmp-"
MAX_NAME_PART = 80  # characters of the target's name kept in a temporary name


def run_file(lock_path: Path) -> Path:
    """The lock-and-journal file of the project whose lock is ``lock_path``."""
    return lock_path.with_name(f".{lock_path.name}.run")


class Workspace:
    """Exclusive access to a project, and atomic, journaled writes into it.

    Use as a context manager: ``with Workspace.acquire(lock_path) as workspace: ...``.
    Leaving the block removes the temporary files this run staged but did not commit,
    and releases the lock.
    """

    def __init__(self, path: Path, handle):
        self.path = path
        self._handle = handle
        self._staged: set[Path] = set()

    # -- the lock ------------------------------------------------------------------------
    @classmethod
    def acquire(cls, lock_path: Path, *, wait: bool = True,
                notify: Callable[[str], None] | None = None) -> Workspace:
        """Lock the project of ``lock_path``, clean up after a killed run, start a journal.

        Raises
        ------
        BuildError
            The run file cannot be created (an unwritable directory), or another izzyfig
            holds the lock and ``wait`` is false.
        """
        path = run_file(Path(lock_path))
        while True:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = open(path, "a+", encoding="utf-8")
            except OSError as error:
                raise BuildError(f"cannot lock the project: cannot create {path}: "
                                 f"{error.strerror or error}") from None
            try:
                _lock(handle, path, lock_path, wait, notify)
            except BaseException:
                handle.close()
                raise
            if _same_file(handle, path):
                break
            handle.close()  # the previous holder deleted the file we locked: lock the new one
            notify = None
        workspace = cls(path, handle)
        workspace._recover()
        return workspace

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Remove what this run staged and did not commit, then release the lock."""
        if self._handle is None:
            return
        for temp in sorted(self._staged):
            _remove_file(temp)
        self._staged.clear()
        try:
            self.path.unlink()
        except OSError:
            pass  # the next run cleans up by the journal instead
        self._handle.close()  # closing the descriptor releases the flock
        self._handle = None

    def _recover(self) -> None:
        """Delete the temporary files that a killed run recorded, then restart the journal."""
        self._handle.seek(0)
        for line in self._handle.read().splitlines():
            kind, _, name = line.partition(" ")
            if kind == "tmp" and Path(name).name.startswith(TEMP_PREFIX):
                _remove_file(Path(name))
        self._handle.seek(0)
        self._handle.truncate()
        self._journal(f"pid {os.getpid()}")

    def _journal(self, line: str) -> None:
        self._handle.write(line + "\n")
        self._handle.flush()  # in the kernel's hands: survives a SIGKILL of this process

    # -- writing -------------------------------------------------------------------------
    def stage(self, path: Path, data: bytes) -> Path:
        """Write ``data`` to a new temporary file beside ``path``; returns its name.

        Raises
        ------
        OSError
            The directory cannot be created or written (nothing is left behind).
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(4)}.{path.name[-MAX_NAME_PART:]}")
        self._journal(f"tmp {temp.absolute()}")
        self._staged.add(temp)
        try:
            with open(temp, "xb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
        except BaseException:
            self.discard(temp)
            raise
        return temp

    def commit(self, temp: Path, path: Path) -> None:
        """Rename the staged ``temp`` over ``path`` (atomic)."""
        os.replace(temp, path)
        self._staged.discard(temp)

    def discard(self, temp: Path) -> None:
        _remove_file(temp)
        self._staged.discard(temp)

    def write(self, path: Path, data: bytes) -> None:
        """Replace ``path`` with ``data`` atomically."""
        temp = self.stage(path, data)
        try:
            self.commit(temp, path)
        except BaseException:
            self.discard(temp)
            raise


def _lock(handle, path: Path, lock_path: Path, wait: bool, notify) -> None:
    try:
        import fcntl
    except ImportError:  # no flock (Windows): one build at a time is up to the user
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    except OSError as error:
        raise BuildError(f"cannot lock the project with {path}: {error.strerror or error}") from None
    holder = _holder(path)
    if not wait:
        raise BuildError(f"{lock_path} is in use by another izzyfig ({holder}); "
                         "not waiting (--no-wait): run again when it has finished")
    if notify is not None:
        notify(f"{lock_path} is in use by another izzyfig ({holder}); waiting for it to finish "
               "(--no-wait fails instead)")
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)


def _same_file(handle, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except OSError:
        return False


def _holder(path: Path) -> str:
    try:
        first = path.read_text(encoding="utf-8").splitlines()[:1]
    except (OSError, UnicodeDecodeError):
        first = []
    kind, _, pid = first[0].partition(" ") if first else ("", "", "")
    return f"pid {pid}" if kind == "pid" and pid.isdigit() else "pid unknown"


def _remove_file(path: Path) -> None:
    try:
        if not path.is_dir() or path.is_symlink():
            path.unlink(missing_ok=True)
    except OSError:
        pass
