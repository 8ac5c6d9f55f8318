"""Read what a matplotlib PDF prints: page size in bp and the size of every text.

No PDF library: the content streams are Flate-compressed text; a text's printed size
is its ``Tf`` size times the scale of the text matrix (``Tm``) in force, which is how
matplotlib writes rotated text.
"""
from __future__ import annotations

import math
import re
import zlib
from pathlib import Path

STREAM = re.compile(rb"<<(.*?)>>\s*stream\r?\n(.*?)\r?\nendstream", re.S)
MEDIABOX = re.compile(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]")
TOKEN = re.compile(rb"(/[^\s/\[\]()<>]+|[-+]?\d*\.?\d+|\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>|[A-Za-z'\"*]+|\[|\])")


def page_size(path: Path) -> tuple[float, float]:
    """Width and height of the (first) page in big points."""
    x0, y0, x1, y1 = map(float, MEDIABOX.search(Path(path).read_bytes()).groups())
    return x1 - x0, y1 - y0


def font_sizes(path: Path) -> list[float]:
    """The printed size (points) of every text-showing operator of every content stream."""
    sizes = []
    for header, body in STREAM.findall(Path(path).read_bytes()):
        if b"/FlateDecode" in header:
            try:  # a stream whose last byte is \r loses it to the pattern: read what is there
                body = zlib.decompressobj().decompress(body)
            except zlib.error:
                continue
        if b"Tf" in body and (b"Tj" in body or b"TJ" in body):
            sizes += _sizes_in(body)
    return sizes


def _sizes_in(content: bytes) -> list[float]:
    sizes, operands = [], []
    font_size, scale = None, 1.0
    for token in TOKEN.findall(content):
        if token in (b"BT",):
            scale = 1.0
        if token == b"Tf" and len(operands) >= 2:
            font_size = float(operands[-1])
        elif token == b"Tm" and len(operands) >= 6:
            a, b = float(operands[-6]), float(operands[-5])
            scale = math.hypot(a, b)
        elif token in (b"Tj", b"TJ", b"'", b'"') and font_size is not None:
            sizes.append(round(font_size * scale, 3))
        if re.fullmatch(rb"[-+]?\d*\.?\d+", token):
            operands.append(token)
        elif token not in (b"[", b"]") and not token.startswith((b"(", b"<")):
            operands = [] if not token.startswith(b"/") else operands + [token]
    return sizes


def overlapping_texts(fig) -> list[tuple[str, str]]:
    """Pairs of visible horizontal texts of a drawn figure whose boxes intersect (> 0.25 px²)."""
    fig.canvas.draw()  # after a save to PDF, axis labels keep positions of the 72-dpi PDF renderer
    renderer = fig.canvas.get_renderer()
    boxes = []
    for text in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_rotation")):
        if not text.get_visible() or not text.get_text().strip() or text.get_rotation() % 180:
            continue
        box = text.get_window_extent(renderer)
        if box.width > 0 and box.height > 0:
            boxes.append((text.get_text(), box))
    found = []
    for i, (name, box) in enumerate(boxes):
        for other, box2 in boxes[i + 1:]:
            width = min(box.x1, box2.x1) - max(box.x0, box2.x0)
            height = min(box.y1, box2.y1) - max(box.y0, box2.y0)
            if width > 0 and height > 0 and width * height > 0.25:
                found.append((name, other))
    return found
