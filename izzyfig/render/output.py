"""Writing a figure: format from the suffix, fixed metadata, atomic replace."""
from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure

from izzyfig.errors import RenderError
from izzyfig.files import atomic_writer
from izzyfig.render.style import font_of, rendering

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
    try:
        with atomic_writer(Path(path)) as stream, rendering(font_of(fig)):
            fig.savefig(stream, format=fmt, metadata=METADATA[fmt], dpi=fig.dpi)
    except OSError as exc:
        raise RenderError(f"output {os.fspath(path)!r}: cannot write ({exc.strerror})") from exc
