"""The Dask executor against the local one: 200 figures over 5 tiny models, 2 workers each.

Rows (``run(quick)`` returns them for the harness; ``python benchmarks/bench_dask.py`` prints them):

- ``build``: wall time of ``izzyfig build`` in a fresh process, cold cache, for ``-j 2``
  (forwards in the build's process, renders in 2 processes), ``--executor dask -j 2``
  (izzyfig starts a 2-worker LocalCluster), and ``--executor dask --scheduler`` on a
  2-worker LocalCluster started beforehand (its workers have rendered the round trips, so
  matplotlib is imported; torch is not); overhead per task against ``-j 2``;
- ``round trip``: one Dask task submitted and awaited at a time on the running cluster: a
  no-op, and one figure's render against the same render in this process;
- ``bytes``: per forward, what a worker sends back (the pickled ``GroupOutcome`` share)
  against the kept ``(heads, query, key)`` maps and the attention the forward computed
  (every layer); per figure, the pickled ``RenderJob`` sent and the PDF bytes returned.

Every server is on 127.0.0.1; nothing else is contacted.
"""
from __future__ import annotations

import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("tiny-repeat", "tiny-reverse", "tiny-reverse-seeds/seed1", "tiny-reverse-seeds/seed2",
          "tiny-reverse-steps/step0200")
WORDS = ("the quick brown fox jumps over the lazy dog a big red fox chases the small grey mouse "
         "one two three four five six seven eight").split()
DECODER = """\
  "{{{{m.id}}}}-{{{{s.id}}}}-h{{{{h}}}}":
    kind: self-attention
    foreach: {{m: {models}, s: {sentences}, h: {{range: [0, {heads}]}}}}
    model: "{{{{m.path}}}}"
    text: "{{{{s.text}}}}"
    head: "{{{{h}}}}"
"""
ENCODER_DECODER = """\
  "{{{{m.id}}}}-{{{{s.id}}}}-x{{{{h}}}}":
    kind: cross-attention
    foreach: {{m: {models}, s: {sentences}, h: {{range: [0, {heads}]}}}}
    model: "{{{{m.path}}}}"
    source: "{{{{s.text}}}}"
    target: "{{{{s.reversed}}}}"
    head: "{{{{h}}}}"
"""


def write_project(folder: Path, sentences: int, heads: int) -> int:
    """``folder/specs/scale.yaml``: 5 models x ``sentences`` texts x ``heads`` heads; returns the figures.

    The decoder draws self-attention of its text, the four T5 models (encoder-decoders) the
    cross-attention of a reversed target on the text.
    """
    (folder / "specs").mkdir(parents=True)
    texts = [WORDS[i:i + 10] for i in range(sentences)]
    items = ", ".join(f'{{id: s{i}, text: "{" ".join(t)}", reversed: "{" ".join(reversed(t))}"}}'
                      for i, t in enumerate(texts))
    models = [f'{{id: m{i}, path: "{ROOT / "models" / m}"}}' for i, m in enumerate(MODELS)]
    spec = "version: 1\ndefaults: {layer: 1, top_n: 0}\nfigures:\n"
    spec += DECODER.format(models=f"[{models[0]}]", sentences=f"[{items}]", heads=heads)
    spec += ENCODER_DECODER.format(models=f"[{', '.join(models[1:])}]", sentences=f"[{items}]", heads=heads)
    (folder / "specs" / "scale.yaml").write_text(spec)
    return len(MODELS) * sentences * heads


def timed_build(folder: Path, name: str, *options: str) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "izzyfig", "build", "specs", "-q", "-o", f"out-{name}",
                             "--lock", f"{name}.lock", "--cache-dir", f"cache-{name}", *options],
                            cwd=folder, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"build {name} failed:\n{result.stderr}")
    return seconds


def same_pdfs(folder: Path, a: str, b: str) -> bool:
    pdfs = sorted(p.name for p in (folder / f"out-{a}").glob("*.pdf"))
    return bool(pdfs) and all((folder / f"out-{a}" / n).read_bytes() == (folder / f"out-{b}" / n).read_bytes()
                              for n in pdfs)


def build_rows(folder: Path, figures: int, address: str) -> list[dict]:
    tasks = len(MODELS) + figures  # one task per forward group (model) and per render
    local = timed_build(folder, "local", "-j", "2")
    rows = [{"section": "build", "case": "local -j 2", "seconds": local, "tasks": 0}]
    for name, options in (("dask-own", ("--executor", "dask", "-j", "2")),
                          ("dask-running", ("--executor", "dask", "--scheduler", address))):
        seconds = timed_build(folder, name, *options)
        rows.append({"section": "build", "case": {"dask-own": "dask -j 2 (starts its LocalCluster)",
                                                  "dask-running": "dask --scheduler (a running cluster)"}[name],
                     "seconds": seconds, "tasks": tasks, "ratio_to_local": seconds / local,
                     "overhead_per_task_ms": 1000 * (seconds - local) / tasks,
                     "pdfs_identical_to_local": same_pdfs(folder, "local", name)})
    return rows


def round_trip_rows(client, job) -> list[dict]:
    from izzyfig.executors.dask import build_versions, render_on_worker
    from izzyfig.executors.work import render_job

    def median_ms(call, repeats: int) -> float:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        return 1000 * statistics.median(times)

    versions = build_versions()
    client.submit(render_on_worker, job, versions, pure=False).result()  # warm both workers' imports
    client.submit(render_on_worker, job, versions, pure=False).result()
    render_job(job)
    noop = median_ms(lambda: client.submit(_nothing, pure=False).result(), 100)
    remote = median_ms(lambda: client.submit(render_on_worker, job, versions, pure=False).result(), 7)
    here = median_ms(lambda: render_job(job), 7)
    return [{"section": "round trip", "case": "no-op task", "ms": noop},
            {"section": "round trip", "case": "one figure: render on a worker", "ms": remote},
            {"section": "round trip", "case": "one figure: render here", "ms": here,
             "overhead_ms": remote - here}]


def _nothing() -> None:
    return None


def computed_bytes(forward, kept_shape: tuple[int, int, int]) -> int:
    """Bytes of every attention map the forward returned, from one kept map's shape.

    The decoder's kept map is ``(heads, query, key)`` self-attention; a T5's is the
    cross-attention ``(heads, target, source)``.
    """
    from izzyfig.extract.runner import Encoded, attention_bytes

    _, query, key = kept_shape
    inputs = {"input_ids": [0] * key}
    if forward.target is not None:
        inputs["decoder_input_ids"] = [0] * query
    return attention_bytes(forward, Encoded(inputs, None))


def byte_rows(folder: Path) -> tuple[list[dict], object]:
    """Bytes per forward and per figure, from the plan of ``folder`` (forwards run here)."""
    from izzyfig.build import Project, compile_project, prepare_render
    from izzyfig.extract import AttentionStore
    from izzyfig.extract.forwards import forward_groups, run_group
    from izzyfig.extract.store import needed_layers

    project = Project(paths=(str(folder / "specs"),), cache_dir=folder / "cache-bytes")
    compiled = compile_project(project)
    groups = forward_groups(compiled.plan.models, needed_layers(compiled.plan), False)
    shipped, kept, computed, forwards = 0, 0, 0, 0
    for group in groups:
        outcome = run_group(group)
        shipped += len(pickle.dumps(outcome, protocol=5))
        for forward, result in zip(group.forwards, outcome.outcomes):
            maps = list(result.maps.values())
            kept += sum(m.nbytes for m in maps)
            computed += computed_bytes(forward, maps[0].shape)
            forwards += 1
    store = AttentionStore(project.cache_dir)
    store.prepare(compiled.plan)
    jobs = [prepare_render(compiled, store, job)[0] for job in compiled.plan.figures[:20]]
    from izzyfig.executors.work import render_job

    pdf = statistics.mean(len(render_job(job).content) for job in jobs[:5])
    sent = statistics.mean(len(pickle.dumps(job, protocol=5)) for job in jobs)
    rows = [{"section": "bytes", "case": "per forward: shipped (pickled outcome)", "bytes": shipped / forwards},
            {"section": "bytes", "case": "per forward: kept maps (heads, query, key)", "bytes": kept / forwards,
             "shipped_over_kept": shipped / kept},
            {"section": "bytes", "case": "per forward: attention computed (all layers)",
             "bytes": computed / forwards, "kept_over_computed": kept / computed},
            {"section": "bytes", "case": "per figure: RenderJob sent", "bytes": sent},
            {"section": "bytes", "case": "per figure: PDF returned", "bytes": pdf}]
    return rows, jobs[0]


def run(quick: bool = False) -> list[dict]:
    import distributed

    with tempfile.TemporaryDirectory(prefix="izzyfig-bench-dask-") as tmp:
        folder = Path(tmp)
        figures = write_project(folder, sentences=2 if quick else 10, heads=4)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster, set_as_default=False) as client:
            byte_table, job = byte_rows(folder)
            trips = round_trip_rows(client, job)
            rows = build_rows(folder, figures, cluster.scheduler_address) + trips + byte_table
    for row in rows:
        row["figures"] = figures
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import markdown_table

    print(markdown_table(run(quick="--quick" in sys.argv)))
