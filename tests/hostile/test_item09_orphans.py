"""Item 9: files of figures that the specs no longer make are reported, and removed only if unchanged."""
from __future__ import annotations

import json
import re
from pathlib import Path

HEADS = """\
version: 1
figures:
  h{{{{head}}}}:
    kind: self-attention
    foreach: {{head: {{range: [0, {stop}]}}}}
    array: {{path: arrays/attn.npy, layout: heads query key}}
    tokens: [a, b, c, d, e, f]
    head: "{{{{head}}}}"
"""
SUMMARY = "0 built, 4 up to date, 0 failed (0 model load(s), 0 forward pass(es))"


def shrink(project: Path) -> None:
    (project / "specs" / "paper.yaml").write_text(HEADS.format(stop=4))


def built_six(project: Path, hostile) -> None:
    (project / "specs" / "paper.yaml").write_text(HEADS.format(stop=6))
    assert hostile.run_cli(project, "build", "specs").returncode == 0
    assert len(list((project / "figures").glob("h*.pdf"))) == 6


def test_unchanged_orphans_are_removed_and_changed_ones_kept(project: Path, hostile):
    built_six(project, hostile)
    h5 = project / "figures" / "h5.pdf"
    h5.write_bytes(h5.read_bytes() + b"% annotated by hand\n")
    edited = h5.read_bytes()
    shrink(project)

    result = hostile.run_cli(project, "build", "specs")

    assert result.returncode == 0, result.stderr
    hostile.no_traceback(result)
    assert result.stderr.splitlines() == [
        "removed figures/h4.pdf: no figure makes it any more (it was unchanged)",
        "removed figures/h4.tex: no figure makes it any more (it was unchanged)",
        "kept figures/h5.pdf: no figure makes it any more, but it changed after izzyfig wrote it; "
        "delete it yourself if it is not needed",
        "removed figures/h5.tex: no figure makes it any more (it was unchanged)",
        SUMMARY,
    ]
    assert h5.read_bytes() == edited
    assert sorted(p.name for p in (project / "figures").iterdir()) == sorted(
        [f"h{i}{s}" for i in range(4) for s in (".pdf", ".tex")] + ["h5.pdf"])
    assert sorted(json.loads((project / "izzyfig.lock").read_text())["figures"]) == ["h0", "h1", "h2", "h3"]
    again = hostile.run_cli(project, "build", "specs")
    assert again.stderr.splitlines() == [SUMMARY]  # reported once; the lock no longer owns it


def test_keep_orphans_keeps_them_all_and_says_so(project: Path, hostile):
    built_six(project, hostile)
    shrink(project)
    result = hostile.run_cli(project, "build", "specs", "--keep-orphans")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"kept figures/h{i}{s}: no figure makes it any more (--keep-orphans)"
        for i in (4, 5) for s in (".pdf", ".tex")
    ] + [SUMMARY]
    assert len(list((project / "figures").iterdir())) == 12


def test_a_renamed_output_leaves_no_orphan(project: Path, hostile):
    assert hostile.run_cli(project, "build", "specs").returncode == 0
    spec = project / "specs" / "paper.yaml"
    spec.write_text(spec.read_text().replace("First figure.", "First figure.\n    output: one.pdf"))
    result = hostile.run_cli(project, "build", "specs")
    assert result.returncode == 0, result.stderr
    lines = [re.sub(r" \[\d\d:\d\d<.*\]$", "", line) for line in result.stderr.splitlines()]  # no timings
    assert lines == [
        "render: 1 to do",
        "render 1/1 alpha",
        "removed figures/alpha.pdf: no figure makes it any more (it was unchanged)",
        "removed figures/alpha.tex: no figure makes it any more (it was unchanged)",
        hostile.summary(1, 1),
    ]
    names = sorted(p.name for p in (project / "figures").iterdir())
    assert names == ["beta.pdf", "beta.tex", "one.pdf", "one.tex"]
