"""Bounds on every size a user controls, shared by spec validation and the renderers.

A spec value beyond a bound is refused at validation with its position; the same value
given to a renderer's Python API is a ``RenderError``. The bounds are generous for a
paper figure and small enough that no value can exhaust memory or time.
"""
from __future__ import annotations

import os

MAX_ID = 100  # characters of a figure id
MAX_OUTPUT = 100  # characters of an output path
MAX_TEXT = 20_000  # characters of a model input (text, each of pair, source, target)
MAX_TITLE = 300  # characters of a title, a panel title, an axis label
MAX_LABEL = 200  # characters of one token label, step label or box token
MAX_CAPTION = 5_000  # characters of a LaTeX caption
MAX_TOKENS = 2048  # labels per axis, and rows/columns of a drawn map
MAX_MAPS = 100  # runs of a stability figure, steps of an evolution figure
MAX_INCHES = 50.0  # a side of ``figsize``; at the layout's 400 dpi at most, 20000 pixels
MAX_ENLARGED = 10.0  # ``enlarged_size``: widened rows/columns, in cells
MEMORY_SHARE = 0.5  # an array may take at most this share of the available memory


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation, or None if the OS does not say.

    Linux: ``MemAvailable`` of ``/proc/meminfo`` (free plus reclaimable cache); other
    POSIX systems: the physical pages not in use.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def memory_budget() -> int | None:
    """Bytes one array may take: ``MEMORY_SHARE`` of the available memory."""
    available = available_memory()
    return None if available is None else int(available * MEMORY_SHARE)


def human_bytes(count: int) -> str:
    """``80000000000`` -> ``74.5 GiB``; ``512`` -> ``512 bytes``."""
    if count < 1024:
        return f"{count} bytes"
    size, unit = count / 1024, "KiB"
    for larger in ("MiB", "GiB"):
        if size < 1024:
            break
        size, unit = size / 1024, larger
    return f"{size:.1f} {unit}"
