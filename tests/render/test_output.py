"""Saving: format from the suffix, no dates or versions in the file, atomic replacement."""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from izzyfig.errors import RenderError
from izzyfig.render import render_self_attention, save_figure

DATA = np.array([[0.6, 0.4], [0.1, 0.9]])


@pytest.fixture
def fig():
    return render_self_attention(DATA, ["[CLS]", "$x$"])


@pytest.mark.parametrize("suffix, magic", [(".pdf", b"%PDF"), (".svg", b"<?xml"), (".png", b"\x89PNG"),
                                           (".PDF", b"%PDF")])
def test_format_follows_the_suffix(fig, tmp_path, suffix, magic):
    target = tmp_path / f"out{suffix}"
    save_figure(fig, target)
    assert target.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left


@pytest.mark.parametrize("suffix", [".pdf", ".svg", ".png"])
def test_no_dates_or_versions_in_the_file(fig, tmp_path, suffix):
    target = tmp_path / f"out{suffix}"
    save_figure(fig, target)
    content = target.read_bytes()
    for marker in (b"CreationDate", b"Producer", b"Creator", b"dc:date", b"Software",
                   matplotlib.__version__.encode()):
        assert marker not in content


def test_pdf_embeds_dejavu_as_truetype(fig, tmp_path):
    target = tmp_path / "out.pdf"
    save_figure(fig, target)
    content = target.read_bytes()
    assert b"/FontFile2" in content and b"DejaVuSans" in content and b"/Type3" not in content


def test_saving_twice_gives_the_same_bytes(fig, tmp_path):
    save_figure(fig, tmp_path / "a.pdf")
    save_figure(render_self_attention(DATA, ["[CLS]", "$x$"]), tmp_path / "b.pdf")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_user_rc_settings_do_not_leak_into_the_file(tmp_path):
    save_figure(render_self_attention(DATA, ["a", "b"]), tmp_path / "plain.pdf")
    with matplotlib.rc_context({"font.family": "serif", "pdf.fonttype": 3, "lines.linewidth": 9,
                                "axes.titlesize": 30, "image.cmap": "jet"}):
        styled = render_self_attention(DATA, ["a", "b"])
        save_figure(styled, tmp_path / "styled.pdf")
    assert (tmp_path / "plain.pdf").read_bytes() == (tmp_path / "styled.pdf").read_bytes()


def test_parent_directories_are_created(fig, tmp_path):
    save_figure(fig, tmp_path / "figs" / "deep" / "out.pdf")
    assert (tmp_path / "figs" / "deep" / "out.pdf").stat().st_size > 0


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(fig, tmp_path, monkeypatch):
    target = tmp_path / "out.pdf"
    target.write_bytes(b"old")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(fig, target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.pdf"]


def test_unwritable_location_is_a_render_error(fig, tmp_path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(RenderError, match=r"^output '.*file/out.pdf': cannot write"):
        save_figure(fig, tmp_path / "file" / "out.pdf")


def test_token_dollars_are_text_not_mathtext(fig):
    labels = [t for t in fig.axes[0].get_yticklabels() if t.get_text() == "$x$"]
    assert labels and not labels[0].get_parse_math()
