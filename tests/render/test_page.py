"""Figures at their printed size: page geometry, type sizes, legibility, fonts, panels."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from izzyfig.errors import IzzyfigWarning, RenderError
from izzyfig.page import PRESETS, LengthError, Typography, page_from, parse_length, print_area, to_unit
from izzyfig.render import (render_comparison, render_panels, render_question_context, render_regions,
                            render_self_attention, render_stability, save_figure)
from pdfcheck import font_sizes, overlapping_texts, page_size

RNG = np.random.default_rng(5)


def attention(n: int, m: int | None = None) -> np.ndarray:
    raw = RNG.random((n, m or n)) ** 4
    return raw / raw.sum(axis=1, keepdims=True)


def words(n: int) -> list[str]:
    return [f"tok{i}" for i in range(n)]


def drawn(render, *args, **kwargs):
    """The figure and the IzzyfigWarnings its drawing raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = render(*args, **kwargs)
    return fig, [w.message for w in caught if isinstance(w.message, IzzyfigWarning)]


# --------------------------------------------------------------------------- lengths and presets
@pytest.mark.parametrize(("text", "unit", "value"), [
    ("7.7cm", "pt", 219.09), ("7.7cm", "bp", 218.27), ("16cm", "bp", 453.54), ("24.7cm", "bp", 700.16),
    ("3.25in", "pt", 234.88), ("345pt", "bp", 343.71), ("72bp", "in", 1.0), ("25.4 mm", "in", 1.0),
])
def test_lengths_keep_tex_points_and_big_points_apart(text, unit, value):
    assert to_unit(parse_length(text), unit) == pytest.approx(value, abs=0.005)


@pytest.mark.parametrize(("value", "message"), [
    ("7.7", "expected a length such as '7.7cm' or '3.25in' (units pt, bp, in, cm, mm), got '7.7'"),
    (3, "length 3 needs a unit: pt, bp, in, cm or mm (e.g. '3pt')"),
    ("3 furlongs", "expected a length such as '7.7cm' or '3.25in' (units pt, bp, in, cm, mm), got '3 furlongs'"),
    ("0cm", "length '0cm' must be more than 0 and at most 100 in"),
])
def test_bad_lengths_say_what_is_expected(value, message):
    with pytest.raises(LengthError) as caught:
        parse_length(value)
    assert str(caught.value) == message


@pytest.mark.parametrize(("name", "column_pt", "text_pt", "height_pt", "columns"), [
    ("acl", 219.09, 455.24, 702.78, 2), ("icml", 234.88, 487.82, 650.43, 2),
    ("neurips", 397.48, 397.48, 650.43, 1), ("iclr", 397.48, 397.48, 650.43, 1),
    ("aaai", 239.39, 505.89, 650.43, 2), ("cvpr", 237.14, 496.86, 641.40, 2),
    ("jmlr", 433.62, 433.62, 614.30, 1), ("tmlr", 469.76, 469.76, 650.43, 1),
    ("article", 345.0, 345.0, 550.0, 1), ("beamer", 307.29, 307.29, 273.14, 1),
])
def test_presets_are_the_style_files_values(name, column_pt, text_pt, height_pt, columns):
    page = PRESETS[name]
    assert to_unit(page.columnwidth, "pt") == pytest.approx(column_pt, abs=0.01)
    assert to_unit(page.textwidth, "pt") == pytest.approx(text_pt, abs=0.01)
    assert to_unit(page.textheight, "pt") == pytest.approx(height_pt, abs=0.01)
    assert page.columns == columns and page.source


def test_presets_agree_with_tueplots_where_it_has_the_venue():
    """tueplots (a test extra) is the maintained source we cross-check, not a dependency."""
    figsizes = pytest.importorskip("tueplots.figsizes")
    widths = {  # preset: (column function, text function)
        "icml": (figsizes.icml2024_half, figsizes.icml2024_full),
        "cvpr": (figsizes.cvpr2022_half, figsizes.cvpr2022_full),
        "neurips": (figsizes.neurips2024, figsizes.neurips2024),
        "iclr": (figsizes.iclr2024, figsizes.iclr2024),
        "jmlr": (figsizes.jmlr2001, figsizes.jmlr2001),
        "tmlr": (figsizes.tmlr2023, figsizes.tmlr2023),
    }
    for name, (column, text) in widths.items():
        page = PRESETS[name]
        assert column()["figure.figsize"][0] == pytest.approx(page.columnwidth, abs=1e-4), name
        assert text(ncols=1)["figure.figsize"][0] == pytest.approx(page.textwidth, abs=1e-4), name
    # Known, deliberate differences: tueplots follows the prose of the instructions.
    assert figsizes.aaai2024_half()["figure.figsize"][0] == 3.3 != PRESETS["aaai"].columnwidth
    assert figsizes.cvpr2024_half()["figure.figsize"][0] == 3.25 != PRESETS["cvpr"].columnwidth


def test_page_mapping_and_its_mistakes():
    page = page_from({"columnwidth": "3.25in", "textwidth": "6.75in", "textheight": "9in", "fontsize": 9})
    assert (page.columns, page.fontsize) == (2, 9.0)
    assert page_from({"textwidth": "5.5in", "textheight": "9in", "fontsize": "11pt"}).columns == 1
    with pytest.raises(LengthError) as caught:
        page_from({"columnwidth": "4in", "textwidth": "6in", "textheight": "9in", "columns": 2})
    assert str(caught.value) == "two columns of '4in' do not fit in textwidth '6in'"
    with pytest.raises(LengthError) as caught:
        page_from("acm")
    assert str(caught.value).startswith("unknown page 'acm' (presets: acl, icml, neurips")


def test_type_follows_the_body_size_and_never_goes_below_min_font():
    acl = Typography.for_area(print_area("acl"))
    assert (acl.title, acl.label, acl.tick_max, acl.colorbar_tick, acl.tick_min) == (9.0, 8.0, 8.0, 7.0, 6.0)
    small = Typography.for_area(print_area({"textwidth": "5in", "textheight": "8in", "fontsize": 8}, min_font=7))
    assert min(small.title, small.label, small.colorbar_tick, small.value_min, small.legend) >= 7.0
    assert Typography.for_area(print_area("acl")).title <= PRESETS["acl"].fontsize_bp


# --------------------------------------------------------------------------- figures on a page
@pytest.mark.parametrize(("width", "expected_bp"), [("column", 218.27), ("text", 453.54), ("8cm", 226.77)])
def test_figure_is_exactly_as_wide_as_its_column_text_or_length(tmp_path, width, expected_bp):
    fig = render_self_attention(attention(10), words(10), page="acl", width=width, label_rotation=90)
    save_figure(fig, tmp_path / "f.pdf")
    page_w, page_h = page_size(tmp_path / "f.pdf")
    assert page_w == pytest.approx(expected_bp, abs=0.01)
    assert page_h <= 700.16
    assert min(font_sizes(tmp_path / "f.pdf")) >= 6.0
    assert overlapping_texts(fig) == []


@pytest.mark.parametrize("render, args", [
    (render_self_attention, (attention(30), words(30))),
    (render_question_context, (attention(24), words(24), 9)),
    (render_comparison, (attention(20), attention(20), words(20), words(20))),
    (render_stability, (np.stack([attention(20) for _ in range(3)]), words(20), words(20))),
    (render_regions, (attention(20), words(20), words(20))),
])
def test_every_kind_prints_no_text_under_six_points_and_none_overlapping(tmp_path, render, args):
    fig, _ = drawn(render, *args, page="acl")
    save_figure(fig, tmp_path / "f.pdf")
    assert min(font_sizes(tmp_path / "f.pdf")) >= 6.0
    assert page_size(tmp_path / "f.pdf")[0] == pytest.approx(218.27, abs=0.01)
    assert overlapping_texts(fig) == []


def test_long_input_labels_a_regular_subset_and_says_which(tmp_path):
    tokens = words(96)
    tokens[40] = "[SEP]"
    fig, found = drawn(render_self_attention, attention(96), tokens, page="acl", top_n=2, label_rotation=90,
                       length_threshold=200)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "tok0" and labels[-1] == "tok95"
    indices = [int(t[3:]) for t in labels if t.startswith("tok")]
    strides = np.diff(indices)
    assert len(labels) < 96 and strides.min() >= 2
    (message,) = [str(w) for w in found if "tokens in" in str(w)]
    assert re.fullmatch(r"96 tokens in \d+ pt need \d+ pt at 6 pt; every \d+(st|nd|rd|th) token is labelled "
                        r"\(use width: text or window:\)", message), message
    assert [w.key for w in found if "tokens in" in str(w)] == [()]
    assert overlapping_texts(fig) == []


def test_thinning_warning_names_label_rotation_where_the_kind_has_it():
    _, found = drawn(render_self_attention, attention(30), words(30), page="acl")
    assert any("(use width: text, label_rotation: 90 or window:)" in str(w) for w in found)


def test_without_a_page_nothing_is_thinned_silently_on_a_page_only():
    _, found = drawn(render_self_attention, attention(30), words(30))
    assert found == []


def test_a_fixed_height_taller_than_the_text_block_is_a_warning_at_height():
    fig, found = drawn(render_self_attention, attention(6), words(6), page="acl", height="30cm")
    assert [(w.key, str(w)) for w in found] == [
        (("height",), "854 pt is taller than the text block (703 pt): the figure overflows the page")]
    assert fig.get_size_inches()[1] == pytest.approx(30 / 2.54)


def test_an_explicit_width_wider_than_the_text_is_a_warning_at_width():
    _, found = drawn(render_self_attention, attention(6), words(6), page="acl", width="20cm")
    assert (("width",), "569 pt is wider than the text block (455 pt): the figure overflows the page "
                        "(use width: text or column)") in [(w.key, str(w)) for w in found]


def test_width_without_a_page_is_refused():
    with pytest.raises(RenderError) as caught:
        render_self_attention(attention(4), words(4), width="text")
    assert str(caught.value) == "width: needs a page (e.g. page='acl')"


@pytest.mark.parametrize("font, family", [("sans", "DejaVu"), ("serif", "STIX"), ("cm", "Cmr10")])
def test_fonts_are_embedded_truetype(tmp_path, font, family):
    fig = render_comparison(attention(5), attention(5) - 0.3, words(5), words(5), page="acl", font=font)
    save_figure(fig, tmp_path / "f.pdf")
    data = (tmp_path / "f.pdf").read_bytes()
    assert b"/FontFile2" in data and b"/Type3" not in data
    assert family.encode() in data


def test_cm_writes_negative_colour_bar_values_as_mathtext():
    fig = render_comparison(attention(5), attention(5) - 0.3, words(5), words(5), page="acl", font="cm")
    (bar,) = [ax for ax in fig.axes if ax.get_label() == "colorbar"]
    labels = [t.get_text() for t in bar.get_yticklabels()]
    assert labels[0].startswith("$-") and labels[0].endswith("$")


def test_titles_are_literal_unless_mathtext_is_asked_for(tmp_path):
    fig = render_self_attention(attention(4), words(4), title="$$ costs \\$5 and 50%", ylabel="$x")
    save_figure(fig, tmp_path / "f.pdf")  # no parse error: drawn as written
    assert fig.axes[0].get_title() == "$$ costs \\$5 and 50%"
    with pytest.raises(RenderError) as caught:
        render_self_attention(attention(4), words(4), ylabel="$$", mathtext=True)
    assert str(caught.value) == ("ylabel: '$$' is not valid mathtext: Expected end of text, found '$' "
                                 "at column 1 of '$$'")
    math = render_self_attention(attention(4), words(4), title=r"head $\alpha$", mathtext=True)
    save_figure(math, tmp_path / "m.pdf")


# --------------------------------------------------------------------------- panels
@pytest.mark.filterwarnings("ignore::izzyfig.errors.IzzyfigWarning")  # label thinning is not what this tests
def test_panels_share_one_scale_and_bar_and_label_shared_edges_once():
    maps = [attention(6) for _ in range(4)]
    fig = render_panels([("self-attention", (m, words(6)), {"top_n": 0, "title": f"head {i}"})
                         for i, m in enumerate(maps)], columns=2, page="acl")
    heatmaps = [ax for ax in fig.axes if ax.get_label().startswith("heatmap")]
    assert [ax.get_title() for ax in heatmaps] == ["(a) head 0", "(b) head 1", "(c) head 2", "(d) head 3"]
    assert [ax.get_label() for ax in fig.axes].count("colorbar") == 1
    for ax in heatmaps:
        norm = ax.collections[0].norm
        assert (norm.vmin, norm.vmax) == pytest.approx((min(m.min() for m in maps), max(m.max() for m in maps)),
                                                       abs=1e-9)
    shown = [(bool([t for t in ax.get_yticklabels() if t.get_visible() and ax.yaxis.get_tick_params()["labelleft"]]),
              bool(ax.xaxis.get_tick_params()["labeltop"])) for ax in heatmaps]
    assert shown == [(True, True), (False, True), (True, False), (False, False)]
    assert fig.get_size_inches()[0] == pytest.approx(7.7 / 2.54)


def test_panels_with_different_colormaps_keep_their_own_bars():
    fig = render_panels([("self-attention", (attention(5), words(5)), {"cmap": "Blues"}),
                         ("self-attention", (attention(5), words(5)), {"cmap": "Reds"})])
    assert [ax.get_label() for ax in fig.axes].count("colorbar") == 0
    bars = [child for ax in fig.axes for child in ax.child_axes]
    assert [bar.get_label() for bar in bars] == ["colorbar", "colorbar"]
    assert [bar.get_yticklabels()[0].get_text() for bar in bars]  # each its own scale


def test_panel_errors_name_the_panel():
    with pytest.raises(RenderError) as caught:
        render_panels([("self-attention", (attention(3), words(3)), {}),
                       ("regions", (attention(3), words(2), words(3)), {})])
    assert str(caught.value) == "panels[1]: x_labels: got 2 labels for 3 columns"


def test_question_context_on_text_width_puts_the_whole_map_beside_the_blocks():
    fig, _ = drawn(render_question_context, attention(20), words(20), 8, page="acl", width="text")
    boxes = {ax.get_title().split("\n")[0]: ax.get_position() for ax in fig.axes
             if ax.get_label().startswith("heatmap")}
    assert boxes["All → All"].x0 > boxes["A → B"].x1 and boxes["All → All"].x0 > boxes["B → B"].x1
    assert boxes["B → A"].y1 < boxes["A → A"].y0
    assert fig.get_size_inches()[1] < fig.get_size_inches()[0] / 1.2  # a wide figure, not a tower


# --------------------------------------------------------------------------- specs and builds
from izzyfig.errors import SpecError  # noqa: E402
from izzyfig.spec.loader import load_spec_text  # noqa: E402


def spec_problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, "specs/paper.yaml")
    return [str(p) for p in caught.value.problems]


FIGURE = "version: 1\nfigures:\n  f:\n    kind: self-attention\n    model: minilm\n    text: a b\n"


@pytest.mark.parametrize(("extra", "message"), [
    ("    width: text\n", "specs/paper.yaml:3:3: figures.f: 'width' needs a 'page' (a preset such as 'acl', or a mapping)"),
    ("    page: acm\n", "specs/paper.yaml:7:5: figures.f.page: unknown page 'acm' (presets: acl, icml, neurips, "
     "iclr, aaai, cvpr, jmlr, tmlr, article, beamer; or give a mapping with columnwidth, textwidth, textheight, "
     "fontsize, columns)"),
    ("    page: acl\n    width: 8\n", "specs/paper.yaml:8:5: figures.f.width: expected a string, got 8 (YAML reads 8 as a number; quote it: '8')"),
    ("    page: acl\n    width: wide\n", "specs/paper.yaml:8:5: figures.f.width: expected a width such as '7.7cm' "
     "or '3.25in' (units pt, bp, in, cm, mm), got 'wide', or 'column' or 'text'"),
    ("    page: acl\n    placement: top\n", "specs/paper.yaml:8:5: figures.f.placement: expected LaTeX float "
     "placement letters from h, t, b, p, H, !, got 'top'"),
    ("    page: {textwidth: 6in}\n", "specs/paper.yaml:7:5: figures.f.page: missing required key 'textheight'"),
    ("    page: acl\n    figsize: [3, 3]\n    height: 5cm\n",
     "specs/paper.yaml:3:3: figures.f: give either 'figsize' (inches) or 'width'/'height' (with a page), not both"),
    ("    caption: a\n    latex_caption: b\n",
     "specs/paper.yaml:3:3: figures.f: give either 'caption' (plain text, escaped) or 'latex_caption' (raw LaTeX), "
     "not both"),
    ("    page: {textwidth: 6in, textheight: 9in, colwidth: 3in}\n", "specs/paper.yaml:7:45: figures.f.page: "
     "unknown key 'colwidth' (did you mean 'columnwidth'?)"),
    ("    font: times\n", "specs/paper.yaml:7:5: figures.f.font: expected 'sans', 'serif' or 'cm', got 'times'"),
])
def test_page_keys_are_checked_where_they_are_written(extra, message):
    assert spec_problems(FIGURE + extra) == [message]


def test_a_panel_may_not_set_what_belongs_to_the_figure():
    text = ("version: 1\nfigures:\n  p:\n    kind: panels\n    model: minilm\n    text: a b\n"
            "    panels:\n      - {head: 0, page: acl}\n")
    assert spec_problems(text) == [
        "specs/paper.yaml:7:5: figures.p.panels: panels[0]: 'page' belongs to the panels figure, not to one panel"]


PANELS_SPEC = """\
version: 1
defaults:
  page: acl
figures:
  heads:
    kind: panels
    array: {path: attn.npy, layout: heads query key}
    tokens: [the, cat, sat, in, the, hat]
    width: text
    panel: {top_n: 0}
    panels:
      - {head: 0}
      - {head: 1, kind: regions}
      - {head: HEAD}
"""


def test_a_panels_figure_builds_from_its_panels_and_positions_their_mistakes(tmp_path, monkeypatch):
    from izzyfig.build import Project, build
    from izzyfig.latex import figure_snippet  # noqa: F401

    raw = RNG.random((3, 6, 6))
    np.save(tmp_path / "attn.npy", raw / raw.sum(axis=-1, keepdims=True))
    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "paper.yaml"
    spec.write_text(PANELS_SPEC.replace("HEAD", "7").replace("attn.npy", "../attn.npy"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as caught:
        build(Project(paths=("specs",), quiet=True))
    assert [str(p) for p in caught.value.problems] == [
        "specs/paper.yaml:14:10: figures.heads.panels[2].head: 7 is out of range for array 'attn.npy' (3 heads)"]
    spec.write_text(PANELS_SPEC.replace("HEAD", "2").replace("attn.npy", "../attn.npy"), encoding="utf-8")
    report = build(Project(paths=("specs",), quiet=True))
    assert report.ok and report.built == ["heads"]
    assert page_size(tmp_path / "figures" / "heads.pdf")[0] == pytest.approx(453.54, abs=0.01)
    snippet = (tmp_path / "figures" / "heads.tex").read_text()
    assert "\\begin{figure*}" in snippet and "\\includegraphics{" in snippet
    import json

    lock = json.loads((tmp_path / "izzyfig.lock").read_text())["figures"]["heads"]
    assert [i["head"] for i in lock["inputs"]] == [0, 1, 2]
    assert lock["latex"] == {"page": True, "wide": True, "placement": None, "latex_caption": None,
                             "short_caption": None}
