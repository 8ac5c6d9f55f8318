"""The executor seam: plain jobs in, arrays and bytes out; -j 2 gives the bytes of -j 1."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from izzyfig.executors import make_executor
from izzyfig.executors.local import InProcessExecutor, PoolExecutor
from izzyfig.executors.work import RenderJob, draw, figure_bytes
from izzyfig.extract import FigureData

ROOT = Path(__file__).resolve().parents[2]
MODELS = """\
version: 1
defaults:
  layer: 1
figures:
  induction:
    kind: self-attention
    model: {models}/tiny-repeat
    text: a big red fox chases the small grey mouse . a big red fox chases the small grey mouse .
    head: 3
  reversal:
    kind: cross-attention
    model: {models}/tiny-reverse
    source: the quick brown fox jumps over the lazy dog .
    target: . dog lazy the over jumps fox brown quick the
    head: 2
  before-after:
    kind: comparison
    source: one two three four five six seven eight
    target: eight seven six five four three two one
    attention: cross
    head: 1
    a: {{model: {models}/tiny-reverse-steps/step0000}}
    b: {{model: {models}/tiny-reverse-steps/step1000}}
"""


def jobs(count: int) -> list[RenderJob]:
    rng = np.random.default_rng(1)
    labels = tuple("abcdef")
    made = []
    for index in range(count):
        matrix = rng.random((6, 6))
        data = FigureData((matrix / matrix.sum(axis=1, keepdims=True),), labels, labels, None, labels, labels)
        made.append(RenderJob(f"fig{index}", "self-attention", data, {"title": f"Figure {index}"},
                              f"fig{index}.pdf", f"specs/x.yaml:{index + 3}:3"))
    return made


def test_figure_bytes_are_the_bytes_save_figure_writes(tmp_path: Path):
    from izzyfig.render import save_figure

    job = jobs(1)[0]
    for suffix in (".pdf", ".svg", ".png"):
        save_figure(draw(job.kind, job.data, job.options), tmp_path / f"fig{suffix}")
        assert figure_bytes(draw(job.kind, job.data, job.options), f"fig{suffix}") == \
            (tmp_path / f"fig{suffix}").read_bytes(), suffix


def test_in_process_and_pool_executors_return_the_same_bytes_in_job_order():
    with InProcessExecutor() as here:
        local = list(here.render(iter(jobs(5))))
    with make_executor(2) as pool:
        assert isinstance(pool, PoolExecutor)
        pooled = list(pool.render(iter(jobs(5))))
    assert [r.figure_id for r in pooled] == [f"fig{i}" for i in range(5)]
    assert all(r.error is None and r.content.startswith(b"%PDF-") for r in pooled)
    assert [r.content for r in pooled] == [r.content for r in local]


def test_a_failing_render_comes_back_as_a_positioned_message():
    bad = RenderJob("bad", "self-attention", jobs(1)[0].data, {"cmap": "no-such-map"}, "bad.pdf",
                    "specs/x.yaml:3:3")
    with make_executor(2) as pool:
        [result] = pool.render([bad])
    assert result.content is None
    assert result.error.startswith("specs/x.yaml:3:3: figures.bad: ")


def test_model_figures_built_with_j2_have_the_bytes_of_j1(tmp_path: Path, run_cli):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "tiny.yaml").write_text(MODELS.format(models=ROOT / "models"))
    for name, jobs_ in (("one", "1"), ("two", "2")):
        result = run_cli(tmp_path, "build", "specs", "-j", jobs_, "-o", name, "--lock", f"{name}.lock",
                         "--cache-dir", f"cache-{name}")
        assert result.returncode == 0, result.stderr
        # three loads: step1000 has the content of tiny-reverse
        assert result.stderr.splitlines()[-1] == (
            "3 built, 0 up to date, 0 failed (3 model load(s), 4 forward pass(es))")
    for name in ("induction", "reversal", "before-after"):
        pdf = (tmp_path / "one" / f"{name}.pdf").read_bytes()
        assert pdf == (tmp_path / "two" / f"{name}.pdf").read_bytes(), name
        one = (tmp_path / "one" / f"{name}.tex").read_text().replace("{one/", "{two/")
        assert one == (tmp_path / "two" / f"{name}.tex").read_text()
    locks = [json.loads((tmp_path / f"{name}.lock").read_text()) for name in ("one", "two")]
    for lock in locks:
        for entry in lock["figures"].values():
            entry.pop("tex_sha256")  # the snippets name their own output directories
    assert locks[0] == locks[1]
    cached = [sorted(p.relative_to(tmp_path / name).as_posix() for p in (tmp_path / name).rglob("*.npz"))
              for name in ("cache-one", "cache-two")]
    assert cached[0] == cached[1] and len(cached[0]) == 4
