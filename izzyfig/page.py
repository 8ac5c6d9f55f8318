"""Page geometry: venue presets, lengths, and the area a figure is printed in.

One module that the spec (validation), the renderers (sizes, type) and the LaTeX
snippet (``figure`` or ``figure*``) all consult. It imports nothing heavy.

Units
-----
LaTeX lengths (``\\columnwidth``, ``\\textwidth``, the body font size) are TeX points,
72.27 per inch; PDF page sizes and matplotlib sizes are big points, 72 per inch. A
7.7 cm ACL column is 219.09 pt in LaTeX and a 218.27 bp wide PDF. Lengths are kept in
inches here; :data:`UNITS` converts. Font sizes inside a figure are set in big points
(what a PDF's ``Tf`` operator and matplotlib use); ``min_font`` is in those points.

Presets
-------
Each preset cites the file its numbers come from. Column widths are
``(\\textwidth - \\columnsep) / 2`` of the style file, which is what LaTeX computes;
where a venue's prose rounds differently (AAAI says "3.3 inches", CVPR "3-1/4 inches")
the style file wins, because that is the box the figure is set in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Length units per inch.
UNITS = {"pt": 72.27, "bp": 72.0, "in": 1.0, "cm": 2.54, "mm": 25.4}
LENGTH = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(pt|bp|in|cm|mm)\s*$")
WIDTH_KEYWORDS = ("column", "text")
DEFAULT_MIN_FONT = 6.0
MAX_LENGTH_IN = 100.0  # a figure or page longer than this is a typo


class LengthError(ValueError):
    """A length that cannot be read; the message says what was expected."""


def parse_length(value: str | float | int, *, what: str = "length") -> float:
    """A length such as ``'7.7cm'``, ``'3.25in'`` or ``'219pt'`` in inches.

    Raises
    ------
    LengthError
        Without a unit, with an unknown unit, not positive, or absurdly large.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise LengthError(f"expected a {what} such as '7.7cm' or '3.25in', got {value!r}")
    if not isinstance(value, str):
        raise LengthError(f"{what} {value!r} needs a unit: pt, bp, in, cm or mm (e.g. '{value}pt')")
    match = LENGTH.match(value)
    if not match:
        raise LengthError(f"expected a {what} such as '7.7cm' or '3.25in' (units pt, bp, in, cm, mm), "
                          f"got {value!r}")
    inches = float(match.group(1)) / UNITS[match.group(2)]
    if not 0 < inches <= MAX_LENGTH_IN:
        raise LengthError(f"{what} {value!r} must be more than 0 and at most {MAX_LENGTH_IN:g} in")
    return inches


def to_unit(inches: float, unit: str) -> float:
    """``inches`` expressed in ``unit`` (pt, bp, in, cm, mm)."""
    return inches * UNITS[unit]


@dataclass(frozen=True)
class Page:
    """A page's text block; lengths in inches, ``fontsize`` in TeX points.

    ``columns`` is 1 or 2; in a one-column page ``columnwidth == textwidth``.
    """

    name: str
    columnwidth: float
    textwidth: float
    textheight: float
    fontsize: float
    columns: int
    source: str = ""

    @property
    def fontsize_bp(self) -> float:
        """The body font size in big points (the unit figures are drawn in)."""
        return self.fontsize * UNITS["bp"] / UNITS["pt"]


def _inches(value: str) -> float:
    return parse_length(value)


def _preset(name: str, column: str, text: str, height: str, fontsize: float, columns: int,
            source: str) -> Page:
    return Page(name, _inches(column), _inches(text), _inches(height), fontsize, columns, source)


# Every value is the style file's; the column is (\textwidth - \columnsep) / 2.
PRESETS: dict[str, Page] = {
    page.name: page
    for page in (
        _preset("acl", "7.7cm", "16cm", "24.7cm", 11, 2,
                "acl.sty (github.com/acl-org/acl-style-files): geometry a4paper, margin=2.5cm "
                "(16 cm x 24.7 cm), \\columnsep 0.6cm; acl_latex.tex: \\documentclass[11pt]{article}; "
                "covers ACL, EMNLP, NAACL, EACL"),
        _preset("icml", "3.25in", "6.75in", "9in", 10, 2,
                "icml2025.sty: \\textwidth 6.75in, \\columnsep 0.25in, \\textheight 9.0in, 10 pt; "
                "tueplots figsizes.icml2024_half/full"),
        _preset("neurips", "5.5in", "5.5in", "9in", 10, 1,
                "neurips_2024.sty: geometry textwidth=5.5in, textheight=9in, 10 pt; "
                "tueplots figsizes.neurips2024"),
        _preset("iclr", "5.5in", "5.5in", "9in", 10, 1,
                "iclr2025_conference.sty: \\textwidth 5.5 true in, \\textheight 9.0 true in, 10 pt; "
                "tueplots figsizes.iclr2024"),
        _preset("aaai", "3.3125in", "7in", "9in", 10, 2,
                "aaai25.sty: \\textwidth 7.0in, \\columnsep 0.375in, \\textheight 9.0in, 10 pt "
                "(the instructions round the column to 3.3 in; tueplots aaai2024 uses 3.3/6.975 in)"),
        _preset("cvpr", "3.28125in", "6.875in", "8.875in", 10, 2,
                "cvpr.sty (github.com/cvpr-org/author-kit): \\textwidth 6.875in, \\columnsep 0.3125in, "
                "\\textheight 8.875in, 10 pt; tueplots figsizes.cvpr2022_half/full (237.13594 pt)"),
        _preset("jmlr", "6in", "6in", "8.5in", 11, 1,
                "jmlr2e.sty (github.com/JmlrOrg/jmlr-style-file): \\textwidth 6.0 true in, "
                "\\textheight 8.5 true in; sample paper \\documentclass[twoside,11pt]{article}; "
                "tueplots figsizes.jmlr2001"),
        _preset("tmlr", "6.5in", "6.5in", "9in", 10, 1,
                "tmlr.sty (github.com/JmlrOrg/tmlr-style-file): \\textwidth 6.5 true in, "
                "\\textheight 9.0 true in, 10 pt; tueplots figsizes.tmlr2023"),
        _preset("article", "345pt", "345pt", "550pt", 10, 1,
                "LaTeX article.cls + size10.clo on letter paper: \\textwidth 345pt, \\textheight 550pt "
                "(measured with pdflatex)"),
        _preset("beamer", "10.8cm", "10.8cm", "9.6cm", 11, 1,
                "beamer.cls: geometry papersize={12.80cm,9.60cm}, hmargin=1cm, vmargin=0cm "
                "(\\textwidth 10.8 cm = 307.29 pt), size11.clo; a frame title takes part of the height"),
    )
}


@dataclass(frozen=True)
class PrintArea:
    """Where one figure is printed: its width, optional height, and the page's type.

    ``width_key`` is ``'column'``, ``'text'`` or ``'length'`` (an explicit width); the
    LaTeX snippet uses ``figure*`` for ``'text'`` on a two-column page. Lengths are
    in inches.
    """

    page: Page
    width: float
    width_key: str
    height: float | None = None
    min_font: float = DEFAULT_MIN_FONT

    @property
    def spans_columns(self) -> bool:
        """True when the figure is set across both columns (``figure*``)."""
        return self.page.columns == 2 and self.width > self.page.columnwidth + 1e-9

    @property
    def max_height(self) -> float:
        """The height the figure may take: its own ``height`` or the text block's."""
        return self.height if self.height is not None else self.page.textheight

    def wider_hint(self, *, label_rotation: bool = False) -> str:
        """The spec changes that give long inputs more room, as ``use a, b or c``."""
        options = ["width: text"] if self.page.columns == 2 and not self.spans_columns else []
        options += ["label_rotation: 90"] if label_rotation else []
        options.append("window:")
        return "use " + (", ".join(options[:-1]) + " or " if len(options) > 1 else "") + options[-1]


def page_from(value) -> Page:
    """A preset name or a mapping ``{columnwidth, textwidth, textheight, fontsize, columns}``.

    Mapping lengths are strings with units; ``fontsize`` is a number of TeX points or a
    length; ``columns`` is 1 or 2 (default 2 when ``columnwidth`` is narrower than
    ``textwidth``). ``columnwidth`` defaults to ``textwidth``.

    Raises
    ------
    LengthError
        With the key that is wrong in the message.
    """
    if isinstance(value, Page):
        return value
    if isinstance(value, str):
        if value not in PRESETS:
            raise LengthError(f"unknown page {value!r} (presets: {', '.join(PRESETS)}; or give a mapping "
                              "with columnwidth, textwidth, textheight, fontsize, columns)")
        return PRESETS[value]
    data = value if isinstance(value, dict) else dict(value)
    text = parse_length(data["textwidth"], what="textwidth")
    column = parse_length(data["columnwidth"], what="columnwidth") if data.get("columnwidth") else text
    height = parse_length(data["textheight"], what="textheight")
    fontsize = data.get("fontsize", 10)
    size = fontsize if isinstance(fontsize, (int, float)) and not isinstance(fontsize, bool) else \
        parse_length(fontsize, what="fontsize") * UNITS["pt"]
    columns = data.get("columns") or (2 if column < text - 1e-9 else 1)
    if column > text + 1e-9:
        raise LengthError(f"columnwidth {data['columnwidth']!r} is wider than textwidth {data['textwidth']!r}")
    if columns == 2 and column * 2 > text + 1e-9:
        raise LengthError(f"two columns of {data.get('columnwidth')!r} do not fit in textwidth "
                          f"{data['textwidth']!r}")
    return Page("custom", column, text, height, float(size), int(columns), "")


def print_area(page, width: str | None = None, height: str | None = None,
               min_font: float | None = None) -> PrintArea:
    """Resolve a page and the ``width``/``height`` keys of a figure into a ``PrintArea``."""
    page = page_from(page)
    width = width or "column"
    if width == "column":
        inches, key = page.columnwidth, "column"
    elif width == "text":
        inches, key = page.textwidth, "text" if page.columns == 2 else "column"
    else:
        inches, key = parse_length(width, what="width"), "length"
    return PrintArea(
        page, inches, key, parse_length(height, what="height") if height else None,
        DEFAULT_MIN_FONT if min_font is None else float(min_font),
    )


@dataclass(frozen=True)
class Typography:
    """Font sizes (big points) of every text a figure draws.

    Without a page these are izzyfig's screen sizes (IzzyViz's look); with a page they
    follow the body size: titles two points under it (the size of a caption), axis
    labels and the largest tick labels three under, colour-bar ticks and legends four
    under, none below ``min_font``.
    """

    title: float = 13.0
    panel_title: float = 11.0
    label: float = 11.0
    tick_max: float = 10.0
    tick_min: float = 5.0
    sparse_tick: float = 8.0
    colorbar_tick: float = 8.0
    value_max: float = 9.0
    value_min: float = 4.5
    legend: float = 8.0
    region_label: float = 9.0
    letter: float = 13.0
    min_font: float = 0.0  # 0: no minimum is enforced (no page)

    @classmethod
    def for_area(cls, area: PrintArea) -> Typography:
        body = area.page.fontsize_bp
        low = area.min_font

        def size(below: float) -> float:
            return max(low, round((body - below) * 2) / 2)

        return cls(
            title=size(2), panel_title=size(3), label=size(3), tick_max=size(3), tick_min=low,
            sparse_tick=size(3), colorbar_tick=size(4), value_max=size(3), value_min=low,
            legend=size(4), region_label=size(4), letter=size(2), min_font=low,
        )


SCREEN = Typography()


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``22nd``."""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
