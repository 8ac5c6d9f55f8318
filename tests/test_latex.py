"""LaTeX outputs: escaping table, captions, appendix layout, and real pdflatex compiles."""
from __future__ import annotations

import copy
import re
import shutil
import subprocess
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure

from izzyfig.errors import BuildError
from izzyfig.latex import appendix, default_caption, figure_snippet, latex_escape

PDFLATEX = shutil.which("pdflatex")
needs_pdflatex = pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed")

FP = "0123456789abcdef" * 4
HOSTILE = r"50% & #1 $x$ {y} a_b ~ ^ \ <|>"
UNICODE = "Über naïve — 東京"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\", r"\textbackslash{}"),
        ("{", r"\{"),
        ("}", r"\}"),
        ("_", r"\_"),
        ("%", r"\%"),
        ("&", r"\&"),
        ("#", r"\#"),
        ("$", r"\$"),
        ("~", r"\textasciitilde{}"),
        ("^", r"\textasciicircum{}"),
        ("<", r"\textless{}"),
        (">", r"\textgreater{}"),
        ("|", r"\textbar{}"),
        ("plain [CLS] text.", "plain [CLS] text."),
        ("a--b", "a-{}-b"),
        ("``q''", "`{}`q'{}'"),
        ("a,,b !`", "a,{},b !{}`"),
        ("line\nbreak\ttab", "line break tab"),
        ("\u00a0", "~"),
        ("Über", r'\"Uber'),
        ("naïve", r'na\"\i{}ve'),
        ("ç", r"\c{c}"),
        ("ǘ", "[U+01D8]"),  # pylatexenc has no conversion for it
        ("½ × → ≤", r"\textonehalf{} \texttimes{} \textrightarrow{} \ensuremath{\leq}"),
        ("ℝ ⊊", "[U+211D] [U+228A]"),  # amssymb commands: not in a bare article
        ("ß æ Ø ł", r"\ss{} \ae{} \O{} \l{}"),
        ("— – … €", r"\textemdash{} \textendash{} \textellipsis{} \texteuro{}"),
        ("“a”", r"\textquotedblleft{}a\textquotedblright{}"),
        ("α Ω ς", r"\ensuremath{\alpha} \ensuremath{\Omega} \ensuremath{\varsigma}"),
        ("λ", r"\ensuremath{\lambda}"),
        ("東京", "[U+6771][U+4EAC]"),
        ("ą ð «", "[U+0105] [U+00F0] [U+00AB]"),
        ("🙂", "[U+1F642]"),
        ("\x07", "[U+0007]"),
    ],
)
def test_latex_escape_table(text, expected):
    assert latex_escape(text) == expected


def test_latex_escape_composes_decomposed_input():
    assert latex_escape("u\u0308") == latex_escape("ü") == r'\"u'


# A command, or an escaped special; whatever remains must be plain text.
COMMAND = re.compile(r"\\(?:[A-Za-z]+|[{}_%&#$\"'`^~=.])")


@given(st.text())
def test_latex_escape_leaves_no_live_specials(text):
    escaped = latex_escape(text)
    assert escaped.isascii()
    rest = COMMAND.sub("", escaped)
    assert not set(rest) & set("\\%&#$_^\n")
    depth = 0
    for char in rest:  # braces of escaped text must balance
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0


def selection(**fields):
    base = {
        "model": "minilm", "fingerprint": FP, "text": "The fox.", "pair": None,
        "source": None, "target": None, "array": None, "array_sha256": None,
        "layer": 5, "head": 8, "kv_group": None, "attention": "self",
    }  # fmt: skip
    return base | fields


def entry(kind="self-attention", inputs=None, **fields):
    base = {
        "spec": "specs/paper.yaml", "kind": kind, "spec_hash": "e" * 64, "caption": None,
        "inputs": inputs if inputs is not None else [selection()], "parameters": {},
        "cache_key": None, "output": "fig.pdf", "sha256": "f" * 64,
    }  # fmt: skip
    return base | fields


@pytest.mark.parametrize(
    ("figure", "expected"),
    [
        (entry(), "Self-attention: minilm, layer 5, head 8."),
        (
            entry("comparison", [selection(), selection(head=9)]),
            "Comparison of attention maps: minilm, layer 5, head 8 vs. minilm, layer 5, head 9.",
        ),
        (
            entry("stability", [selection(model=f"runs/seed{i}") for i in range(3)]),
            "Attention stability across 3 runs (layer 5, head 8).",
        ),
        (
            entry(
                "cross-attention",
                [selection(model="t5", kv_group=1, head=None, attention="cross")],
            ),
            "Cross-attention: t5, layer 5, KV group 1, cross attention.",
        ),
        (
            entry("regions", [selection(model=None, array="arrays/a.npy", layer=None, head=None)]),
            "Key attention regions: arrays/a.npy.",
        ),
        (
            entry("evolution", [selection(model=None, array={"path": "a.npz", "key": "steps"})]),
            "Attention evolution: a.npz[steps], layer 5, head 8.",
        ),
        (
            entry("evolution", [{"array": "a.npz", "key": "att", "sha256": FP, "layer": 1}]),
            "Attention evolution: a.npz[att], layer 1.",
        ),
    ],
)
def test_default_caption(figure, expected):
    assert default_caption(figure) == expected


def test_snippet_uses_escaped_caption_label_and_detokenized_path():
    figure = entry(caption="50% of a_b")
    snippet = figure_snippet("fig_1.a-b", figure, graphics_path="my figs/fig_1.pdf")
    assert "\\includegraphics[width=\\linewidth]{\\detokenize{my figs/fig_1.pdf}}" in snippet
    assert "\\caption{50\\% of a\\_b}" in snippet
    assert "\\label{fig:fig_1.a-b}" in snippet
    order = [snippet.index(s) for s in ("\\centering", "\\includegraphics", "\\caption")]
    assert order == sorted(order)


def test_snippet_without_caption_generates_one():
    snippet = figure_snippet("f", entry(caption="  "), graphics_path="f.pdf")
    assert "\\caption{Self-attention: minilm, layer 5, head 8.}" in snippet


def test_snippet_refuses_an_id_that_cannot_be_a_label():
    with pytest.raises(BuildError) as caught:
        figure_snippet("fig#1", entry(), graphics_path="f.pdf")
    assert str(caught.value) == (
        "figure id 'fig#1' cannot be a LaTeX label; use letters, digits, '_', '.', ':' and '-'"
    )


def test_snippet_refuses_a_path_graphicx_cannot_read():
    with pytest.raises(BuildError) as caught:
        figure_snippet("f", entry(), graphics_path="a%b/$c.pdf")
    assert str(caught.value) == (
        "figure 'f': LaTeX cannot include 'a%b/$c.pdf' (it contains '$', '%'); "
        "choose another output name"
    )


def test_appendix_refuses_an_unknown_lock_version():
    with pytest.raises(BuildError) as caught:
        appendix({"lock_version": 2, "figures": {}})
    assert str(caught.value) == (
        "cannot write an appendix from lock version 2 (this izzyfig reads version 1)"
    )


def test_appendix_lists_shared_inputs_once_and_differing_ones_per_input():
    runs = [selection(model=f"runs/seed{i}", fingerprint=f"{i}" * 64) for i in range(3)]
    text = appendix(lock_of({"stab": entry("stability", runs)}))
    assert text.count("\\raggedright Text &") == 1
    assert text.count("\\raggedright Selection &") == 1
    for i in range(3):
        row = f"Model (input {i + 1}) & \\raggedright \\texttt{{runs/seed{i}}}, fingerprint "
        assert row in text
        assert f"\\texttt{{{str(i) * 12}}}" in text


def test_appendix_shows_array_sources_with_their_hash():
    array = {"array": "arrays/attn_1.npz", "key": "att", "layout": "heads query key", "sha256": FP}
    text = appendix(lock_of({"arr": entry("regions", [array | {"head": 2}])}))
    expected = "Array & \\raggedright \\texttt{arrays/attn\\char95{}1.npz[att]}, SHA-256 "
    assert expected + "\\texttt{0123456789ab}" in text
    assert "\\raggedright Selection & \\raggedright head 2 \\tabularnewline" in text


def test_appendix_moves_long_texts_below_the_table():
    long_text = "word " * 100
    text = appendix(lock_of({"long": entry(inputs=[selection(text=long_text)])}))
    assert "\\raggedright Text & \\raggedright printed below the table" in text
    assert "\\noindent\\textbf{Text:} " + latex_escape(long_text) in text


def test_appendix_is_sorted_and_independent_of_dict_order():
    figures = {"b": entry(), "a": entry(parameters={"top_n": 5, "gamma": 2.0})}
    text = appendix(lock_of(figures))
    reordered = lock_of(dict(reversed(list(copy.deepcopy(figures).items()))))
    assert appendix(reordered) == text
    assert text.index("fig:a") < text.index("fig:b")
    assert "\\texttt{gamma}~=~\\texttt{2.0};\n\\texttt{top\\char95{}n}~=~\\texttt{5}" in text
    assert "none (all defaults)" in text


def lock_of(figures):
    environment = {
        "transformers": "5.0.0", "torch": "2.13.0+cpu", "python": "3.11.7",
        "matplotlib": "3.10.0", "numpy": "2.1.0", "izzyfig": "0.1.0", "extra_lib": "1.0",
    }  # fmt: skip
    return {"lock_version": 1, "environment": environment, "figures": figures}


# --------------------------------------------------------------------------- pdflatex
def hostile_lock():
    """Two figures whose every user string is full of LaTeX specials and Unicode."""
    first = entry(
        caption=f"{HOSTILE} {UNICODE}",
        inputs=[selection(model="my_model", text=f"T: {HOSTILE} {UNICODE}")],
        parameters={"title": "50% {x}", "cmap": "Reds", "top_n": 5},
        output="my figs/fig_1 a.pdf",
        spec="specs/my_specs/paper #1.yaml",
    )
    second = entry(
        "comparison",
        inputs=[
            selection(pair=["Q: a_b?", "C: " + "long context " * 40], text=None),
            selection(pair=["Q: a_b?", "C: " + "long context " * 40], text=None, head=9),
        ],
        output="fig-2.pdf",
        sha256="0123abcd" * 8,
    )
    third = entry(
        "regions",
        inputs=[{"array": "arrays/a_b.npz", "key": "att#1", "sha256": FP, "layer": 0}],
        caption=None,
        output="sub/regions_3.pdf",
    )
    return lock_of({"fig_1.a-b": first, "fig-2": second, "regions_3": third})


PREAMBLES = {
    "t1": "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{lmodern}\n",
    "ot1-twocolumn": "\\documentclass[twocolumn]{article}\n",
}


def write_document(tmp_path, preamble):
    lock = hostile_lock()
    image = Figure(figsize=(2, 1.5), layout="constrained")
    image.add_subplot().plot([0, 1])
    for figure_id, figure in lock["figures"].items():
        target = tmp_path / figure["output"]
        target.parent.mkdir(parents=True, exist_ok=True)
        image.savefig(target)
        snippet = figure_snippet(figure_id, figure, graphics_path=figure["output"])
        (tmp_path / f"{figure_id}.tex").write_text(snippet, encoding="utf-8")
    (tmp_path / "appendix.tex").write_text(appendix(lock), encoding="utf-8")
    body = "".join(f"\\input{{{figure_id}.tex}}\n" for figure_id in lock["figures"])
    (tmp_path / "paper.tex").write_text(
        preamble
        + "\\usepackage{graphicx}\n\\tracinglostchars=2\n"
        + "\\hyphenpenalty=10000 \\exhyphenpenalty=10000\n"  # whole words for pdftotext
        + "\\begin{document}\n"
        + body
        + "\\clearpage\n\\input{appendix.tex}\n\\end{document}\n",
        encoding="utf-8",
    )
    return lock


def compile_document(tmp_path, *, layout):
    """Run pdflatex twice, check the log, return the PDF text with whitespace collapsed.

    ``layout`` keeps table rows on one line (one-column documents only: in two columns
    it would interleave the columns).
    """
    for _ in range(2):  # the second run resolves \ref
        result = subprocess.run(
            [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
            cwd=tmp_path, capture_output=True, text=True, errors="replace", timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:]
    log = (tmp_path / "paper.log").read_text(errors="replace")
    problems = [
        line for line in log.splitlines()
        if line.startswith("! ") or re.search(r"[Uu]ndefined|Missing character|Overfull", line)
    ]  # fmt: skip
    assert problems == []
    pdf_text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *(["-layout"] if layout else []), "paper.pdf", "-"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return unicodedata.normalize("NFC", " ".join(pdf_text.split()))


@needs_pdflatex
def test_pdflatex_compiles_snippets_and_appendix_with_faithful_text(tmp_path):
    lock = write_document(tmp_path, PREAMBLES["t1"])
    text = compile_document(tmp_path, layout=True)
    shown = "50% & #1 $x$ {y} a_b ~ ^ \\ <|> Über naïve — [U+6771][U+4EAC]"
    assert f"Figure 1: {shown}" in text
    assert "Figure 2: Comparison of attention maps: minilm, layer 5, head 8 vs." in text
    assert f"T: {shown}" in text
    assert "Reproducibility of attention figures" in text
    assert "izzyfig build specs/ specs/my_specs/ in the project root" in text
    assert "Figure 1: fig_1.a-b" in text and "Figure 2: fig-2" in text
    assert "my_model, fingerprint 0123456789ab" in text
    assert 'title = "50% {x}"' in text
    assert "Second text: C: long context long context" in text
    assert "Second text printed below the table" in text
    assert "Figure 3: Key attention regions: arrays/a_b.npz[att#1], layer 0." in text
    assert "Array arrays/a_b.npz[att#1], SHA-256 0123456789ab" in text
    assert "torch 2.13.0+cpu" in text
    squeezed = text.replace(" ", "")
    for figure in lock["figures"].values():
        assert figure["sha256"] in squeezed


@needs_pdflatex
def test_pdflatex_compiles_in_default_encoding_and_two_columns(tmp_path):
    write_document(tmp_path, PREAMBLES["ot1-twocolumn"])
    text = compile_document(tmp_path, layout=False)
    # OT1 draws _ as a rule, ~ ^ as accents and an i-diaeresis on a dotless i.
    assert "Figure 1: 50% & #1 $x$ {y} a b ˜ ˆ \\ <|> Über" in text
    assert "Über na\u0131\u0308ve — [U+6771][U+4EAC]" in text
    assert "Figure 2: fig-2" in text
    assert "Reproducibility" in text  # pdftotext splits the justified two-column heading
    assert 'title = "50% {x}"' in text
    assert "0123abcd" * 8 in text.replace(" ", "")


# --------------------------------------------------------------------------- page snippets
def page_entry(**latex):
    options = {"page": True, "wide": False, "placement": None, "latex_caption": None, "short_caption": None}
    return entry(caption="Plain 50% text.", latex=options | latex)


def test_page_snippet_includes_the_figure_at_its_natural_size():
    snippet = figure_snippet("f", page_entry(), graphics_path="figures/f.pdf")
    assert "\\includegraphics{\\detokenize{figures/f.pdf}}" in snippet
    assert "width=" not in snippet and "\\begin{figure}\n" in snippet


def test_text_width_on_two_columns_is_a_starred_float_with_placement():
    snippet = figure_snippet("f", page_entry(wide=True, placement="t"), graphics_path="f.pdf")
    assert "\\begin{figure*}[t]\n" in snippet and snippet.rstrip().endswith("\\end{figure*}")


def test_latex_caption_is_verbatim_and_short_caption_is_escaped():
    raw = r"Head 8 of \citet{wang2020}; see Figure~\ref{fig:g} and $\alpha_{8}$."
    snippet = figure_snippet("f", page_entry(latex_caption=raw, short_caption="Head 8 [50%]"),
                             graphics_path="f.pdf")
    assert f"\\caption[{{Head 8 [50\\%]}}]{{{raw}}}" in snippet


def test_latex_options_of_a_spec_figure():
    from izzyfig.latex import latex_options
    from izzyfig.spec.models import SelfAttentionFigure

    wide = SelfAttentionFigure(kind="self-attention", page="acl", width="text", placement="htbp")
    assert latex_options(wide) == {"page": True, "wide": True, "placement": "htbp",
                                   "latex_caption": None, "short_caption": None}
    column = SelfAttentionFigure(kind="self-attention", page="acl", latex_caption="$x$")
    assert latex_options(column)["wide"] is False and latex_options(column)["latex_caption"] == "$x$"
    one_column = SelfAttentionFigure(kind="self-attention", page="neurips", width="text")
    assert latex_options(one_column)["wide"] is False
    assert latex_options(SelfAttentionFigure(kind="self-attention"))["page"] is False


@needs_pdflatex
def test_shipped_list_of_safe_characters_is_what_pdflatex_accepts(tmp_path):
    """The generated list is checked like the schema: probe again and compare."""
    from pathlib import Path

    from izzyfig.latex import SAFE_CHARS_FILE, probe_safe_characters

    shipped = Path(__file__).resolve().parents[1] / "izzyfig" / "templates" / SAFE_CHARS_FILE
    assert probe_safe_characters(PDFLATEX, tmp_path) == shipped.read_text(encoding="ascii")
