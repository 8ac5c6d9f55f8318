"""Fixed drawing settings: one rc dictionary, fonts, default texts and special tokens.

Every render and every save runs inside :func:`rendering`, so the output does not
depend on the user's matplotlibrc, style sheets or earlier ``rcParams`` changes.
"""
from __future__ import annotations

from contextlib import AbstractContextManager

import matplotlib

from izzyfig.special_tokens import is_special_token  # noqa: F401  (style.is_special_token)

# Keys that select or configure interactive backends: never touched by a render.
_SESSION_KEYS = ("backend", "backend_fallback", "interactive", "timezone", "toolbar")

FONT = "DejaVu Sans"
TITLE_SIZE = 13.0
AXIS_LABEL_SIZE = 11.0
TICK_SIZE_MAX = 10.0
TICK_SIZE_MIN = 5.0
SPARSE_TICK_SIZE = 8.0
COLORBAR_TICK_SIZE = 8.0

LABEL_HIGHLIGHT = "yellowgreen"  # soft background behind the labels of top cells
BOX_COLOR = "red"
BOX_LINEWIDTH = 2.0
DEFAULT_XLABEL = "Tokens Attended to"
DEFAULT_YLABEL = "Tokens Attending"
# Above this many tokens, kinds without table-lens options also label sparsely.
DEFAULT_LENGTH_THRESHOLD = 64


def _fixed_rc() -> dict:
    """matplotlib's built-in defaults (never the user's rc) plus izzyfig's choices."""
    rc = {k: v for k, v in matplotlib.rcParamsDefault.items() if k not in _SESSION_KEYS}
    rc.update(
        {
            "font.family": ["sans-serif"],
            "font.sans-serif": [FONT],
            "mathtext.fontset": "dejavusans",
            "text.usetex": False,
            "pdf.fonttype": 42,
            "ps.fonttype": 42,
            "pdf.compression": 6,
            "svg.fonttype": "path",
            "svg.hashsalt": "izzyfig",
            "svg.image_inline": True,
            "figure.dpi": 100,
            "savefig.dpi": "figure",
            "savefig.bbox": None,
            "savefig.transparent": False,
            "savefig.facecolor": "white",
            "figure.facecolor": "white",
            "axes.unicode_minus": True,
            "image.resample": True,
        }
    )
    return rc


RC = _fixed_rc()


def rendering() -> AbstractContextManager:
    """Context in which every izzyfig figure is built and saved."""
    return matplotlib.rc_context(RC)
