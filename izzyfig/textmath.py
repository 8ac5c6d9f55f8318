"""Mathtext in user text: off by default (text is drawn literally), checked when asked for.

A figure's title or label may contain ``$`` or ``\\`` (prices, paths, regexes); matplotlib
would parse such text as mathtext and stop with a parse error. izzyfig draws user text
literally unless a spec sets ``mathtext: true``; then every text it applies to is parsed
here first, so a mistake is reported where it was written, in one line. matplotlib is
imported only when a text is checked.
"""
from __future__ import annotations

import functools


@functools.cache
def _parser():
    from matplotlib.mathtext import MathTextParser

    return MathTextParser("path")


def mathtext_error(text: str) -> str | None:
    """Why ``text`` cannot be drawn as mathtext, in one line; ``None`` when it can.

    An odd number of unescaped ``$`` is an error too: matplotlib would silently draw
    such a text literally, which is not what ``mathtext: true`` asks for.
    """
    dollars = text.count("$") - text.count(r"\$")
    if dollars == 0:
        return None
    if dollars % 2:
        return f"unbalanced '$' in {text!r} ({dollars} of them); write \\$ for a literal dollar sign"
    try:
        _parser().parse(text, 72)
    except ValueError as error:
        return _one_line(text, str(error))
    return None


def _one_line(text: str, message: str) -> str:
    """matplotlib's three-line message (text, caret, reason) as one line."""
    lines = [line for line in message.splitlines() if line.strip()]
    reason = lines[-1] if lines else message
    parsed = lines[0] if len(lines) >= 3 else text
    column = lines[1].index("^") + 1 if len(lines) >= 3 and "^" in lines[1] else None
    reason = reason.split(": ", 1)[-1].split("  (at char")[0]
    where = f" at column {column} of {parsed!r}" if column else ""
    return f"{text!r} is not valid mathtext: {reason}{where}"
