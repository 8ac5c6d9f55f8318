"""LaTeX outputs: a ``figure`` snippet per figure and a reproducibility appendix.

Both are rendered from Jinja2 templates shipped in ``izzyfig/templates`` and from the
lock entries the build writes, so a paper always describes the figures it includes.

Escaping contract (``latex_escape``)
------------------------------------
User text (captions, input texts, model names, paths, parameter values) is turned into
**pure ASCII** LaTeX that compiles with plain ``pdflatex`` under the default OT1 font
encoding as well as under T1, and with XeLaTeX/LuaLaTeX:

- the specials ``\\ { } _ % & # $ ~ ^`` and ``< > |`` become text commands
  (``\\textbackslash{}``, ``\\{``, ``\\_``, ``\\textless{}`` ...);
- ligatures that would change the text (double hyphens, doubled quotes, ``,,``, and ``!``
  or ``?`` before a backquote) are broken with ``{}``; line breaks and tabs become spaces
  (a blank line would end the paragraph inside ``\\caption``);
- typewriter text (paths, names) that is ASCII prints the specials with ``\\char`` so OT1
  needs no symbol-font substitution; non-ASCII is never set in typewriter type;
- non-ASCII text is written with commands that exist in both OT1 and T1: accented Latin
  letters through accent commands (``Ü`` -> ``\\"{U}``, ``ǘ`` -> ``\\'{\\"{u}}``), Latin-1
  symbols and common punctuation through text commands (``—`` -> ``\\textemdash{}``), and
  Greek letters through math (``α`` -> ``\\ensuremath{\\alpha}``);
- any other character (CJK, emoji, letters such as ``ą`` or ``ð`` that OT1 lacks) becomes a
  visible code point marker ``[U+6771]``, so the text stays identifiable without needing
  fonts or packages the paper may not load.

``latex_caption`` is the one exception: raw LaTeX that the spec's author wrote for the
snippet, copied verbatim. The snippets need ``graphicx``; the appendix needs no package at all (plain ``tabular``
with ``p{}`` columns, no ``longtable``, so it also works in two-column papers).
"""
from __future__ import annotations

import functools
import json
import posixpath
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import jinja2

from izzyfig.errors import BuildError

# Specials in user text; everything else in ASCII is typeset as is.
ASCII_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "_": r"\_",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}
TYPEWRITER_ESCAPES = {char: f"\\char{ord(char)}{{}}" for char in ASCII_ESCAPES}
# Character pairs that TeX fonts turn into one glyph (dashes, quotes, Spanish marks).
LIGATURE_PAIRS = frozenset({"--", "``", "''", ",,", "!`", "?`"})

# Non-ASCII text goes through pylatexenc; only the characters whose conversion compiles
# in a bare ``article`` under both OT1 and T1 (probed with pdflatex, see
# ``probe_safe_characters``) are converted, the others become ``[U+XXXX]``.
SAFE_CHARS_FILE = "latex_safe_chars.txt"
PROBED_RANGES = ((0x00A0, 0x0250), (0x0370, 0x0400), (0x1E00, 0x1F00), (0x2000, 0x2300))

HEX_GROUP = 8  # a sha256 may break after every 8 hex digits
SHORT_HASH = 12  # shortened fingerprints and hashes
LONG_TEXT = 300  # characters; longer texts go below the table (a table row cannot break)
LABEL_ID = re.compile(r"[A-Za-z0-9_.:-]+")
# Characters graphicx/kpathsea cannot take in a file name even inside \detokenize.
BAD_PATH_CHARS = frozenset('%#{}\\^$~"')
ENVIRONMENT_ORDER = ("izzyfig", "python", "numpy", "matplotlib", "torch", "transformers")
KIND_TITLES = {
    "self-attention": "Self-attention",
    "question-context": "Question-context attention",
    "cross-attention": "Cross-attention",
    "comparison": "Comparison of attention maps",
    "stability": "Attention stability",
    "evolution": "Attention evolution",
    "regions": "Key attention regions",
    "atlas": "Attention heads",
    "head-summary": "Per-head statistic",
    "rollout": "Attention rollout",
}


# --------------------------------------------------------------------------- escaping
def latex_escape(text: str) -> str:
    """Escape user text for LaTeX; the result is ASCII and compiles under OT1 and T1.

    See the module docstring for how each class of character is written.
    """
    return _escape(text, ASCII_ESCAPES)


def _escape(text: str, specials: dict[str, str]) -> str:
    text = unicodedata.normalize("NFC", text)
    pieces = []
    for index, char in enumerate(text):
        pieces.append(specials.get(char) or _escape_char(char))
        if text[index : index + 2] in LIGATURE_PAIRS:
            pieces.append("{}")
    return "".join(pieces)


def _escape_char(char: str) -> str:
    if char.isspace():
        return "~" if char == "\u00a0" else " "
    if " " <= char <= "~":
        return char
    if ord(char) in _safe_characters():
        return _encoder().unicode_to_latex(char)
    return f"[U+{ord(char):04X}]"


@functools.cache
def _encoder():
    from pylatexenc.latexencode import UnicodeToLatexEncoder

    return UnicodeToLatexEncoder(
        non_ascii_only=True, replacement_latex_protection="braces-after-macro",
        unknown_char_policy="keep", unknown_char_warning=False,
    )


@functools.cache
def _safe_characters() -> frozenset[int]:
    """Code points whose pylatexenc conversion compiles under OT1 and T1 (shipped list)."""
    text = (Path(__file__).parent / "templates" / SAFE_CHARS_FILE).read_text(encoding="ascii")
    return frozenset(_parse_ranges(text))


def _parse_ranges(text: str) -> list[int]:
    points = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            first, _, last = line.partition("-")
            points += range(int(first, 16), int(last or first, 16) + 1)
    return points


def probe_safe_characters(pdflatex: str, workdir: Path) -> str:
    """The contents of ``templates/latex_safe_chars.txt``, probed with ``pdflatex``.

    Every character of ``PROBED_RANGES`` that pylatexenc converts is typeset in an
    ``article`` with the default OT1 encoding and again with T1; a character is safe
    when neither run reports an error or a missing glyph for it.
    """
    import subprocess
    import unicodedata

    candidates = []
    for first, stop in PROBED_RANGES:
        for point in range(first, stop):
            char = chr(point)
            if unicodedata.category(char).startswith(("C", "M", "Z")):
                continue
            latex = _encoder().unicode_to_latex(char)
            if latex != char and latex.isascii():
                candidates.append((point, latex))
    bad: set[int] = set()
    for name, preamble in (("ot1", ""), ("t1", "\\usepackage[T1]{fontenc}\n")):
        body = "\n".join(f"\\typeout{{CHAR {p}}}{latex}\\par" for p, latex in candidates)
        (workdir / f"{name}.tex").write_text(
            f"\\documentclass{{article}}\n{preamble}\\begin{{document}}\n{body}\n\\end{{document}}\n",
            encoding="ascii")
        subprocess.run([pdflatex, "-interaction=nonstopmode", f"{name}.tex"], cwd=workdir,
                       capture_output=True, timeout=300)
        current = None
        for line in (workdir / f"{name}.log").read_text(errors="replace").splitlines():
            if line.startswith("CHAR "):
                current = int(line.split()[1])
            elif current is not None and (line.startswith("! ") or "Missing character" in line):
                bad.add(current)
    safe = [p for p, _ in candidates if p not in bad]
    lines = ["# Characters whose pylatexenc conversion compiles in a bare article (OT1 and T1).",
             "# Generated by izzyfig.latex.probe_safe_characters; tests/test_latex.py checks it."]
    for first, last in _runs(safe):
        lines.append(f"{first:04X}" if first == last else f"{first:04X}-{last:04X}")
    return "\n".join(lines) + "\n"


def _runs(points: list[int]):
    start = previous = None
    for point in points:
        if previous is not None and point == previous + 1:
            previous = point
            continue
        if start is not None:
            yield start, previous
        start = previous = point
    if start is not None:
        yield start, previous


def _code(text: str) -> str:
    """Typewriter for ASCII text (paths, names); roman otherwise.

    OT1 typewriter fonts garble accents and dashes, but every typewriter font has the
    ASCII specials at their ASCII slots, so ``\\char`` prints them without the symbol
    font substitution that ``\\{`` or ``\\_`` would cause under OT1.
    """
    if not text.isascii():
        return latex_escape(text)
    return f"\\texttt{{{_escape(text, TYPEWRITER_ESCAPES)}}}"


def _hex_breakable(digest: str) -> str:
    """A full hash in typewriter type that may break every ``HEX_GROUP`` digits."""
    groups = [digest[i : i + HEX_GROUP] for i in range(0, len(digest), HEX_GROUP)]
    return "\\texttt{" + r"\allowbreak{}".join(latex_escape(g) for g in groups) + "}"


def _short_hash(digest: str | None) -> str:
    return f"\\texttt{{{latex_escape((digest or '')[:SHORT_HASH])}}}"


@functools.cache
def _environment() -> jinja2.Environment:
    """Jinja2 with delimiters that never clash with LaTeX braces and ``%`` comments."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("izzyfig", "templates"),
        block_start_string="((*",
        block_end_string="*))",
        variable_start_string="(((",
        variable_end_string=")))",
        comment_start_string="((#",
        comment_end_string="#))",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(tex=latex_escape, code=_code, hexbreak=_hex_breakable, shorthash=_short_hash)
    return env


# --------------------------------------------------------------------------- snippet
def figure_snippet(figure_id: str, entry: dict[str, Any], *, graphics_path: str) -> str:
    """The ``figure`` environment of one locked figure, to be ``\\input`` by a paper.

    Parameters
    ----------
    figure_id : str
        Figure id; becomes ``\\label{fig:<id>}`` (letters, digits, ``_ . : -``).
    entry : dict
        The figure's lock entry (``kind``, ``inputs``, ``caption``, ``spec`` and ``latex``,
        the figure's LaTeX options from ``latex_options``, are read).
    graphics_path : str
        Path of the output file relative to where the snippet is ``\\input`` from.

    A figure drawn for a page is included at its natural size (``\\includegraphics``
    without a width), in ``figure*`` when it spans both columns; ``latex_caption`` is
    written verbatim, ``caption`` and ``short_caption`` are escaped.

    Raises
    ------
    BuildError
        If the id cannot be a LaTeX label or the path cannot be a graphicx file name.
    """
    options = entry.get("latex") or {}
    raw = options.get("latex_caption")
    return _environment().get_template("figure.tex.j2").render(
        label=_label(figure_id),
        figure_id=figure_id,
        spec=entry.get("spec") or "",
        graphics_path=_graphics_path(figure_id, graphics_path),
        caption=raw if raw and raw.strip() else latex_escape(_caption_text(entry)),
        short_caption=options.get("short_caption"),
        environment="figure*" if options.get("wide") else "figure",
        placement=options.get("placement"),
        natural=bool(options.get("page")),
    )


def latex_options(figure: Any) -> dict[str, Any]:
    """What the snippet needs from a figure's spec: page (natural size), ``figure*``,
    placement and captions. Plain JSON data, kept in the figure's lock entry."""
    area = figure.print_area()
    return {
        "page": area is not None,
        "wide": bool(area is not None and area.spans_columns),
        "placement": figure.placement,
        "latex_caption": figure.latex_caption,
        "short_caption": figure.short_caption,
    }


def _label(figure_id: str) -> str:
    if not LABEL_ID.fullmatch(figure_id):
        raise BuildError(
            f"figure id {figure_id!r} cannot be a LaTeX label; "
            "use letters, digits, '_', '.', ':' and '-'"
        )
    return f"fig:{figure_id}"


def _graphics_path(figure_id: str, path: str) -> str:
    bad = sorted({c for c in path if c in BAD_PATH_CHARS or not c.isprintable()})
    if "  " in path or path != path.strip() or not path:
        bad.append("leading, trailing or repeated spaces")
    if bad:
        raise BuildError(
            f"figure {figure_id!r}: LaTeX cannot include {path!r} "
            f"(it contains {', '.join(map(repr, bad))}); choose another output name"
        )
    return path


def _caption_text(entry: dict[str, Any]) -> str:
    caption = entry.get("caption")
    return caption if caption and caption.strip() else default_caption(entry)


def default_caption(entry: dict[str, Any]) -> str:
    """Plain-text caption from a lock entry's kind and inputs, for figures without one.

    ``"Self-attention: minilm, layer 5, head 8."``; stability and evolution figures
    say how many runs or steps they compare.
    """
    kind = entry["kind"]
    title = KIND_TITLES.get(kind, kind)
    inputs = entry.get("inputs") or []
    if kind in ("stability", "evolution") and len(inputs) > 1:
        noun = "runs" if kind == "stability" else "training steps"
        selections = _unique(_selection_text(i) for i in inputs)
        shared = f" ({selections[0]})" if len(selections) == 1 and selections[0] else ""
        return f"{title} across {len(inputs)} {noun}{shared}."
    joiner = " vs. " if kind == "comparison" else "; "
    described = joiner.join(_unique(_describe(i) for i in inputs))
    return f"{title}: {described}." if described else f"{title}."


def _describe(selection: dict[str, Any]) -> str:
    return ", ".join(p for p in (_source_name(selection), _selection_text(selection)) if p)


def _source_name(selection: dict[str, Any]) -> str:
    return selection.get("model") or _array_name(selection)


def _array_name(selection: dict[str, Any]) -> str:
    """An array source as ``path`` or ``path[key]``.

    The lock stores the path under ``array`` (a string, or a mapping with ``path`` and
    ``key``) and the array name under ``key``.
    """
    array = selection.get("array")
    if isinstance(array, dict):
        path, key = array.get("path") or "", array.get("key")
    else:
        path, key = array or "", selection.get("key")
    return f"{path}[{key}]" if path and key else path


def _selection_text(selection: dict[str, Any], *, always_attention: bool = False) -> str:
    """``"layer 5, head 8"``; the attention type only when it is not plain self-attention."""
    parts = []
    if selection.get("layer") is not None:
        parts.append(f"layer {selection['layer']}")
    if isinstance(selection.get("layers"), list) and len(selection["layers"]) == 2:
        parts.append("layers {}-{}, all heads".format(*selection["layers"]))
    if selection.get("head") is not None:
        parts.append(f"head {selection['head']}")
    if selection.get("kv_group") is not None:
        parts.append(f"KV group {selection['kv_group']}")
    shown = (None,) if always_attention else (None, "self")
    if selection.get("attention") not in shown:
        parts.append(f"{selection['attention']} attention")
    return ", ".join(parts)


def _unique(items) -> list:
    """Items in first-seen order without repeats (deterministic, unlike a set)."""
    return list(dict.fromkeys(items))


# --------------------------------------------------------------------------- appendix
@dataclass(frozen=True)
class Row:
    """One row of a figure's appendix table.

    ``style`` says how the template typesets ``value``: ``text`` (escaped prose),
    ``code`` (typewriter when ASCII), ``hash`` (full, breakable), ``source``
    (name, hash name, hash; the hash is shortened), ``params`` (list of name/value pairs),
    ``list`` (list of values, each as code).
    """

    label: str
    value: Any
    style: str = "text"

    @property
    def long(self) -> bool:
        return self.style == "text" and len(self.value) > LONG_TEXT


def appendix(lock: dict[str, Any], order: Sequence[str] | None = None) -> str:
    """The reproducibility appendix (a ``.tex`` fragment) of figures in ``lock``.

    Parameters
    ----------
    order
        The figure ids to describe, in this order (the build passes spec order); default:
        every locked figure, sorted by id.

    Raises
    ------
    BuildError
        If the lock has an unknown ``lock_version``, or ``order`` names an unlocked figure.
    """
    if lock.get("lock_version") != 1:
        raise BuildError(
            f"cannot write an appendix from lock version {lock.get('lock_version')!r} "
            "(this izzyfig reads version 1)"
        )
    locked = lock.get("figures") or {}
    ids = list(order) if order is not None else sorted(locked)
    missing = [figure_id for figure_id in ids if figure_id not in locked]
    if missing:
        raise BuildError(f"cannot write an appendix: {', '.join(missing)} not in the lock; build first")
    figures = {figure_id: locked[figure_id] for figure_id in ids}
    for figure_id in figures:
        _label(figure_id)
    return _environment().get_template("appendix.tex.j2").render(
        build_command=" ".join(["izzyfig build", *_spec_dirs(figures.values())]),
        verify_command=" ".join(["izzyfig verify", *_spec_dirs(figures.values())]),
        environment=_environment_rows(lock.get("environment") or {}),
        figures=[_figure_view(fid, figures[fid]) for fid in figures],
    )


def _spec_dirs(entries) -> list[str]:
    """Directories of the spec files, as the build command line names them."""
    dirs = {posixpath.dirname(e.get("spec") or "") for e in entries}
    return sorted(f"{d}/" if d else "." for d in dirs) or ["specs/"]


def _environment_rows(environment: dict[str, str]) -> list[tuple[str, str]]:
    known = [k for k in ENVIRONMENT_ORDER if k in environment]
    rest = sorted(k for k in environment if k not in ENVIRONMENT_ORDER)
    return [(k, str(environment[k])) for k in known + rest]


def _figure_view(figure_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    rows = [
        Row("Spec", entry.get("spec") or "", "code"),
        Row("Spec hash", entry.get("spec_hash") or "", "hash"),
        Row("Kind", entry["kind"]),
        *_input_rows(entry.get("inputs") or []),
        Row("Parameters", _parameters(entry.get("parameters") or {}), "params"),
        *_box_rows(entry.get("boxes") or []),
        Row("Output", entry.get("output") or "", "code"),
        Row("Output SHA-256", entry.get("sha256") or "", "hash"),
    ]
    return {"id": figure_id, "label": _label(figure_id), "rows": rows}


def _input_rows(inputs: list[dict[str, Any]]) -> list[Row]:
    """Source, text and selection rows; shown once when every input shares them.

    A stability figure over five runs lists five models but its text once; a comparison
    of two heads lists one model and text but two selections.
    """
    groups = (_source_rows, _text_rows, _selection_rows)
    rows: list[Row] = []
    for group in groups:
        per_input = [group(selection) for selection in inputs]
        if len(_unique(repr(r) for r in per_input)) <= 1:
            rows += per_input[0] if per_input else []
            continue
        for number, group_rows in enumerate(per_input, start=1):
            rows += [Row(f"{r.label} (input {number})", r.value, r.style) for r in group_rows]
    return rows


def _source_rows(selection: dict[str, Any]) -> list[Row]:
    rows = []
    if selection.get("model"):
        model = (selection["model"], "fingerprint", selection.get("fingerprint"))
        rows.append(Row("Model", model, "source"))
    if selection.get("array"):
        digest = selection.get("array_sha256") or selection.get("sha256")
        array = (_array_name(selection), "SHA-256", digest)
        rows.append(Row("Array", array, "source"))
    return rows


def _text_rows(selection: dict[str, Any]) -> list[Row]:
    rows = []
    if selection.get("text") is not None:
        rows.append(Row("Text", selection["text"]))
    for label, text in zip(("First text", "Second text"), selection.get("pair") or ()):
        rows.append(Row(label, text))
    if selection.get("source") is not None:
        rows.append(Row("Source text", selection["source"]))
    if selection.get("target") is not None:
        rows.append(Row("Target text", selection["target"]))
    return rows


def _selection_rows(selection: dict[str, Any]) -> list[Row]:
    text = _selection_text(selection, always_attention=True)
    return [Row("Selection", text)] if text else []


def _box_rows(boxes: list[Any]) -> list[Row]:
    """One row listing the highlight boxes as canonical JSON (none: no row)."""
    if not boxes:
        return []
    return [Row("Boxes", [json.dumps(box, sort_keys=True, ensure_ascii=False) for box in boxes], "list")]


def _parameters(parameters: dict[str, Any]) -> list[tuple[str, str]]:
    """Name and canonical JSON value of every non-default option, sorted by name."""
    return [
        (name, json.dumps(parameters[name], sort_keys=True, ensure_ascii=False))
        for name in sorted(parameters)
    ]
