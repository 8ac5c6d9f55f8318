"""Fixed drawing settings: one rc dictionary per font, type sizes, default texts, special tokens.

Every render and every save runs inside :func:`rendering`, so the output does not
depend on the user's matplotlibrc, style sheets or earlier ``rcParams`` changes. Only
fonts that ship with matplotlib are used, embedded as TrueType (Type 42): DejaVu Sans
(``sans``), STIX (``serif``, a Times-like face) and Computer Modern (``cm``: BaKoMa
``cmr10``/``cmb10``; CM has no Unicode minus, so negative numbers are set as mathtext,
whose minus comes from ``cmsy10``). Every face falls back to DejaVu Sans for glyphs it
lacks.
"""
from __future__ import annotations

import weakref
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import matplotlib

from izzyfig.page import SCREEN, PrintArea, Typography
from izzyfig.special_tokens import is_special_token  # noqa: F401  (style.is_special_token)

# Keys that select or configure interactive backends: never touched by a render.
_SESSION_KEYS = ("backend", "backend_fallback", "interactive", "timezone", "toolbar")

FONT = "DejaVu Sans"
FONTS = ("sans", "serif", "cm")
# font -> (text families, bold families, mathtext fontset)
_FACES = {
    "sans": (None, None, "dejavusans"),
    "serif": (["STIXGeneral", FONT], ["STIXGeneral", FONT], "stix"),
    "cm": (["cmr10", FONT], ["cmb10", FONT], "cm"),
}
# Screen sizes (no page): the type of today's figures; with a page see Typography.for_area.
TITLE_SIZE = SCREEN.title
AXIS_LABEL_SIZE = SCREEN.label

LABEL_HIGHLIGHT = "yellowgreen"  # soft background behind the labels of top cells
BOX_COLOR = "red"
BOX_LINEWIDTH = 2.0
DEFAULT_XLABEL = "Tokens Attended to"
DEFAULT_YLABEL = "Tokens Attending"
# Above this many tokens, kinds without table-lens options also label sparsely.
DEFAULT_LENGTH_THRESHOLD = 64


def _fixed_rc(font: str = "sans") -> dict:
    """matplotlib's built-in defaults (never the user's rc) plus izzyfig's choices."""
    families, _, math_fonts = _FACES[font]
    rc = {k: v for k, v in matplotlib.rcParamsDefault.items() if k not in _SESSION_KEYS}
    rc.update(
        {
            "font.family": families or ["sans-serif"],
            "font.sans-serif": [FONT],
            "mathtext.fontset": math_fonts,
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
    if font == "cm":  # matplotlib asks for it with cmr10 (its minus sign comes from mathtext)
        rc["axes.formatter.use_mathtext"] = True
    return rc


RC = _fixed_rc()
_RCS = {font: _fixed_rc(font) for font in FONTS}
_FIGURE_FONTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def rendering(font: str = "sans") -> AbstractContextManager:
    """Context in which every izzyfig figure is built and saved."""
    return matplotlib.rc_context(_RCS[font])


def remember_font(fig, font: str) -> None:
    """Record the font a figure was drawn with, so saving it uses the same rc."""
    _FIGURE_FONTS[fig] = font


def font_of(fig) -> str:
    return _FIGURE_FONTS.get(fig, "sans")


def bold_family(font: str) -> list[str] | None:
    """Families for bold text (CM's bold is a separate face, ``cmb10``); None: the rc's."""
    return _FACES[font][1]


@dataclass(frozen=True)
class Look:
    """How a figure's texts are set: type sizes, font, mathtext, and its page (if any).

    ``notes`` collects legibility findings while panels are drawn (labels thinned,
    scores left out); the layout turns the ones of the final drawing into warnings.
    ``room`` collects how much closer the drawn labels could be (>= 1), so the layout
    knows how much smaller the cells may get without drawing again.
    """

    typo: Typography = SCREEN
    font: str = "sans"
    mathtext: bool = False
    area: PrintArea | None = None
    notes: list = field(default_factory=list, compare=False)
    # Spare room of the drawn labels: their smallest spacing over the spacing they need.
    room: list = field(default_factory=list, compare=False)

    @classmethod
    def make(cls, area: PrintArea | None = None, font: str = "sans", mathtext: bool = False) -> Look:
        typo = Typography.for_area(area) if area is not None else SCREEN
        return cls(typo, font, bool(mathtext), area)

    @property
    def on_page(self) -> bool:
        return self.area is not None

    def fresh(self) -> Look:
        """The same look with an empty ``notes`` list (one per drawing attempt)."""
        return Look(self.typo, self.font, self.mathtext, self.area)

    def text(self, **kwargs) -> dict:
        """Keyword arguments of a user text: literal unless mathtext was asked for."""
        return {"parse_math": self.mathtext, **kwargs}

    def note(self, key: tuple, message: str) -> None:
        self.notes.append((tuple(key), message))


SCREEN_LOOK = Look()
