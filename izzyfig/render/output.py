"""Writing a figure: format from the suffix, fixed metadata, atomic replace."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from matplotlib.figure import Figure

from izzyfig.errors import RenderError
from izzyfig.render.style import rendering

# No dates, no tool or version strings: the bytes depend on the drawing only.
METADATA = {
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Creator": None, "Date": None},
    "png": {"Software": None},
}


def output_format(path: str | os.PathLike) -> str:
    """'pdf', 'svg' or 'png' from the file suffix."""
    suffix = Path(path).suffix.lower()
    fmt = suffix.lstrip(".")
    if fmt not in METADATA:
        raise RenderError(
            f"output {os.fspath(path)!r}: unsupported suffix {suffix!r} (use .pdf, .svg or .png)"
        )
    return fmt


def save_figure(fig: Figure, path: str | os.PathLike) -> None:
    """Save ``fig`` to ``path`` (.pdf, .svg or .png) with deterministic bytes.

    The file is written to a temporary name in the same directory and renamed
    over ``path``, so readers never see a partial file and a failed save leaves
    any previous file untouched. Parent directories are created.
    """
    fmt = output_format(path)
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise RenderError(f"output {os.fspath(path)!r}: cannot write ({exc.strerror})") from exc
    try:
        with os.fdopen(handle, "wb") as stream, rendering():
            fig.savefig(stream, format=fmt, metadata=METADATA[fmt], dpi=fig.dpi)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
