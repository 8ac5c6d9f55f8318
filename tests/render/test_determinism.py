"""Byte-stable output: every kind rendered in fresh ``python -R`` processes gives the same files.

The processes differ in hash seed, matplotlibrc, backend, time zone and
SOURCE_DATE_EPOCH; none of that may reach the bytes.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import numpy as np

    from izzyfig.render import (render_comparison, render_cross_attention, render_evolution,
                                render_panels, render_question_context, render_regions,
                                render_self_attention, render_stability, save_figure)

    out = Path(sys.argv[1])
    rng = np.random.default_rng(11)
    words = ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]
    m = rng.dirichlet(np.ones(8) * 0.5, size=8)
    runs = np.stack([np.abs(m + rng.normal(0, 0.05, m.shape)) for _ in range(4)])
    steps = np.stack([m * (1 - t / 5) + m.T * t / 5 for t in range(6)])
    big = rng.dirichlet(np.ones(100) * 0.2, size=100)
    figures = {
        "self.pdf": render_self_attention(m, words, boxes=[(1, 1, 3, 4)], auto_regions=True),
        "self.svg": render_self_attention(m, words),
        "self.png": render_self_attention(m, words),
        "long.pdf": render_self_attention(big, [f"w{i}" for i in range(100)], if_interval=True),
        "qc.pdf": render_question_context(m, words, 3, title="Pair"),
        "cross.pdf": render_cross_attention(m[:5], words, words[:5]),
        "comparison.pdf": render_comparison(m, m.T, words, words),
        "stability.pdf": render_stability(runs, words, words),
        "stability.svg": render_stability(runs, words, words),
        "evolution.pdf": render_evolution(steps, words, words, step_labels=list("abcdef")),
        "regions.pdf": render_regions(m, words, words, label_regions=True),
        # at print size, in each font: fonts embedded as TrueType, thinned labels
        "page-sans.pdf": render_self_attention(big[:40, :40], [f"w{i}" for i in range(40)], page="acl"),
        "page-serif.pdf": render_question_context(m, words, 3, page="icml", width="text", font="serif"),
        "page-cm.pdf": render_comparison(m, m.T - 0.2, words, words, page="acl", font="cm"),
        "panels.pdf": render_panels([("self-attention", (m, words), {}), ("regions", (m, words, words), {})],
                                    page="acl", width="text"),
    }
    for name, fig in figures.items():
        save_figure(fig, out / name)
    """
)

HOSTILE_RC = "font.family: serif\npdf.fonttype: 3\nsvg.hashsalt: xyz\nlines.linewidth: 7\n" \
             "image.cmap: jet\nfigure.dpi: 37\nsavefig.dpi: 55\naxes.titlesize: 30\n"


def start(tmp_path, name: str, env_changes: dict[str, str]) -> tuple[subprocess.Popen, object]:
    out = tmp_path / name
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPL", "SOURCE_DATE"))}
    env.update(env_changes)
    return subprocess.Popen([sys.executable, "-R", "-c", SCRIPT, str(out)], env=env), out


def digests(process: subprocess.Popen, out) -> dict[str, str]:
    assert process.wait(timeout=300) == 0
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}


def test_three_fresh_processes_write_identical_files(tmp_path):
    config = tmp_path / "mplconfig"
    config.mkdir()
    (config / "matplotlibrc").write_text(HOSTILE_RC)
    runs = [
        start(tmp_path, "plain", {}),
        start(tmp_path, "hostile", {"MPLCONFIGDIR": str(config), "MPLBACKEND": "svg",
                                    "TZ": "Asia/Kolkata", "SOURCE_DATE_EPOCH": "86400"}),
        start(tmp_path, "later", {"TZ": "America/Lima", "LC_ALL": "C"}),
    ]
    first, second, third = (digests(*run) for run in runs)
    assert len(first) == 15
    assert first == second == third
