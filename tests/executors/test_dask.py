"""The Dask executor: the bytes and lock of a local build, faults reported, dask never imported locally.

Every cluster here is on 127.0.0.1 (a ``LocalCluster``, or ``dask scheduler``/``dask worker``
started by the test); the unreachable scheduler is a closed port on 127.0.0.1.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from projects import array_project, closed_port, model_project, run_cli

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
SUMMARY_OF_TINY = "3 built, 0 up to date, 0 failed (3 model load(s), 4 forward pass(es))"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_nothing_partial(folder: Path, out: str = "figures", lock: str = "izzyfig.lock") -> dict:
    """Every file in the output directory is a locked figure or snippet with its locked bytes."""
    figures = json.loads((folder / lock).read_text())["figures"]
    locked = {e["output"]: e["sha256"] for e in figures.values()}
    locked.update({e["tex"]: e["tex_sha256"] for e in figures.values()})
    on_disk = {p.relative_to(folder / out).as_posix(): sha256(p) for p in (folder / out).rglob("*") if p.is_file()}
    assert on_disk == locked
    assert not [p for p in folder.rglob(".izzyfig-tmp-*")]
    return figures


# ----------------------------------------------------------------------------- same bytes
def test_a_local_cluster_build_of_the_example_specs_has_the_bytes_and_lock_of_a_local_build(tmp_path: Path):
    """specs/ as shipped (MiniLM and the tiny models, every kind, analysis figures), built
    locally and on a 2-worker LocalCluster (-j 2) in two copies of the project."""
    projects = {}
    for name, options in (("local", ()), ("dask", ("--executor", "dask", "-j", "2"))):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "specs").symlink_to(ROOT / "specs")
        (folder / "models").symlink_to(ROOT / "models")
        result = run_cli(folder, "build", "specs", *options)
        assert result.returncode == 0, result.stderr
        assert re.match(r"\d+ built, 0 up to date, 0 failed", result.stderr.splitlines()[-1]), result.stderr
        projects[name] = folder
    local, dask = (json.loads((projects[n] / "izzyfig.lock").read_text()) for n in ("local", "dask"))
    assert (local.pop("executor"), dask.pop("executor")) == ("local", "dask")
    assert local == dask and len(local["figures"]) >= 16
    for entry in local["figures"].values():
        for name in (entry["output"], entry["tex"]):
            assert (projects["local"] / "figures" / name).read_bytes() == \
                (projects["dask"] / "figures" / name).read_bytes(), name
    entries = [sorted(p.relative_to(projects[n]).as_posix() for p in (projects[n] / ".izzyfig/cache").rglob("*.npz"))
               for n in ("local", "dask")]
    assert entries[0] == entries[1] and entries[0]
    for entry in entries[0]:
        assert sha256(projects["local"] / entry) == sha256(projects["dask"] / entry), entry


# ----------------------------------------------------------------------------- faults
@pytest.mark.parametrize("allowed_failures", [3, 0], ids=["retried", "reported"])
def test_a_worker_killed_mid_build_retries_or_reports_its_figures_and_writes_nothing_partial(
        tmp_path: Path, cluster, allowed_failures: int):
    """SIGKILL the worker running the first izzyfig task. With the scheduler's default
    ``allowed-failures`` the task runs again elsewhere and the build completes; with none
    allowed, the figures of that task fail with their positions and the others are built."""
    cluster.run_on_scheduler(_allow_failures, allowed_failures)
    project = model_project(tmp_path)
    address = cluster.scheduler.address
    build = subprocess.Popen([sys.executable, "-m", "izzyfig", "build", "specs", "--executor", "dask",
                              "--scheduler", address], cwd=project, stderr=subprocess.PIPE, text=True)
    killed = _kill_worker_running_izzyfig(cluster, build)
    stderr = build.communicate(timeout=600)[1]
    assert killed, stderr
    figures = assert_nothing_partial(project)
    if allowed_failures:
        assert build.returncode == 0, stderr
        assert stderr.splitlines()[-1].startswith("3 built, 0 up to date, 0 failed")
    else:
        assert build.returncode == 1
        failed = [line for line in stderr.splitlines() if "each Dask worker that ran it died" in line]
        assert failed and all(line.startswith("specs/tiny.yaml:") for line in failed), stderr
        ids = {line.split(": figures.")[1].split(":")[0].split(".")[0] for line in failed}
        assert ids and not ids & set(figures) and len(ids) + len(figures) == 3


def _allow_failures(count: int, dask_scheduler=None) -> None:
    dask_scheduler.allowed_failures = count


def _kill_worker_running_izzyfig(client, build: subprocess.Popen) -> bool:
    """SIGKILL the worker process of the first running izzyfig task; False if none ran."""
    pids = client.run(os.getpid)
    deadline = time.monotonic() + 300
    while build.poll() is None and time.monotonic() < deadline:
        for worker, keys in client.processing().items():
            if any(str(key).startswith("izzyfig-") for key in keys) and worker in pids:
                os.kill(pids[worker], signal.SIGKILL)
                return True
        time.sleep(0.02)
    return False


def test_an_unreachable_scheduler_is_one_line_and_exit_1_within_the_timeout(tmp_path: Path):
    project = array_project(tmp_path)
    port = closed_port()
    started = time.monotonic()
    result = run_cli(project, "build", "specs", "--executor", "dask", "--scheduler", f"tcp://127.0.0.1:{port}",
                     "--scheduler-timeout", "2")
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within 2 s (--scheduler-timeout): "
        f"Timed out trying to connect to tcp://127.0.0.1:{port} after 2 s"]
    assert elapsed < 2 + 20  # the timeout, plus starting Python and importing dask on a busy machine
    assert not (project / "figures").exists() and not (project / "izzyfig.lock").exists()


def test_the_scheduler_can_come_from_the_environment(tmp_path: Path):
    project = array_project(tmp_path)
    port = closed_port()
    result = run_cli(project, "build", "specs", "--executor", "dask", "--scheduler-timeout", "1",
                     env={"IZZYFIG_DASK_SCHEDULER": f"tcp://127.0.0.1:{port}"})
    assert result.returncode == 1
    assert result.stderr.startswith(f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within 1 s")


def test_a_model_that_fails_to_load_on_a_worker_fails_its_figures_with_the_workers_message(
        tmp_path: Path, cluster):
    """The weights do not fit the config: the client tokenises (it needs no weights), the worker fails."""
    from safetensors.numpy import load_file, save_file

    project = model_project(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in (ROOT / "models" / "tiny-repeat").iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    weights = load_file(broken / "model.safetensors")
    weights["model.embed_tokens.weight"] = weights["model.embed_tokens.weight"][:-1]
    save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
    spec = project / "specs" / "tiny.yaml"
    spec.write_text(spec.read_text().replace("model: ../models/tiny-repeat", "model: ../broken"))
    result = run_cli(project, "build", "specs", "--executor", "dask", "--scheduler", cluster.scheduler.address)
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if "figures.induction" in line]
    assert line.startswith("specs/tiny.yaml:5:3: figures.induction: cannot load model '../broken' from ")
    assert " (on Dask worker tcp://127.0.0.1:" in line
    assert result.stderr.splitlines()[-1].startswith("2 built, 0 up to date, 1 failed")
    assert set(assert_nothing_partial(project)) == {"reversal", "before-after"}


def test_a_cuda_figure_fails_at_once_when_no_worker_offers_a_gpu(tmp_path: Path, cluster):
    project = model_project(tmp_path)
    spec = project / "specs" / "tiny.yaml"
    spec.write_text(spec.read_text().replace("    head: 3\n", "    head: 3\n    device: cuda\n", 1))
    result = run_cli(project, "build", "specs", "--executor", "dask", "--scheduler", cluster.scheduler.address,
                     "--only", "induction")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-2] == (
        "specs/tiny.yaml:5:3: figures.induction: model '../models/tiny-repeat' on device 'cuda': no Dask worker "
        "offers the resource GPU (start GPU workers with `dask worker ADDRESS --resources GPU=1`)")


# ----------------------------------------------------------------------------- imports
def test_the_local_build_never_imports_dask(tmp_path: Path):
    project = array_project(tmp_path)
    probe = ("import sys; from izzyfig.cli import main\n"
             "assert main(['build', 'specs', '-j', '2', '-q']) == 0\n"
             "assert main(['build', 'specs', '--force', '-q']) == 0\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'izzyfig')"
             " and (m.split('.')[0] != 'izzyfig' or m.endswith('.dask'))))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert json.loads((project / "izzyfig.lock").read_text())["executor"] == "local"


def test_a_missing_dask_is_one_line_naming_the_extra(tmp_path: Path):
    project = array_project(tmp_path)
    probe = ("import sys; sys.modules['distributed'] = None\n"
             "from izzyfig.cli import main\n"
             "sys.exit(main(['build', 'specs', '--executor', 'dask']))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr == ("--executor dask needs Dask distributed, which is not installed: "
                             "pip install 'izzyfig[dask]'\n")


def test_scheduler_options_need_the_dask_executor(tmp_path: Path):
    result = run_cli(array_project(tmp_path), "build", "specs", "--scheduler", "tcp://127.0.0.1:8786")
    assert result.returncode == 2
    assert result.stderr == "izzyfig build: error: --scheduler and --scheduler-file apply to --executor dask\n"


# ----------------------------------------------------------------------------- plan
def test_plan_says_how_a_dask_build_splits_the_work(tmp_path: Path):
    project = model_project(tmp_path)
    spec = project / "specs" / "tiny.yaml"
    spec.write_text(spec.read_text().replace("    head: 3\n", "    head: 3\n    device: cuda\n", 1))
    result = run_cli(project, "plan", "specs", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:8786")
    assert result.returncode == 0, result.stderr
    split = result.stdout[result.stdout.index("dask: "):].splitlines()
    assert split == [
        "dask: on the Dask scheduler at tcp://127.0.0.1:8786",
        "  forward tasks (3, one per model; each loads its model once):",
        "    ../models/tiny-repeat on cuda: 1 forward(s), 1 map(s) of (heads, query, key) sent back, "
        "resources GPU=1",
        "    ../models/tiny-reverse: 2 forward(s), 2 map(s) of (heads, query, key) sent back",
        "    ../models/tiny-reverse-steps/step0000: 1 forward(s), 1 map(s) of (heads, query, key) sent back",
        "  render tasks (3, one per figure to build; 2 per worker in flight, each returns the file's bytes)",
        "  retries: 2 per task that raises; a task whose worker dies runs again on another",
    ]
    local = run_cli(project, "plan", "specs", "--executor", "dask", "-j", "2")
    assert "dask: on a LocalCluster of 2 worker processes on 127.0.0.1" in local.stdout
    assert "resources GPU" not in local.stdout  # one machine: any of its workers may use its GPU


# ----------------------------------------------------------------------------- lock
def test_the_lock_records_the_executor_and_a_lock_without_it_is_still_read(tmp_path: Path):
    project = array_project(tmp_path)
    assert run_cli(project, "build", "specs").returncode == 0
    lock = json.loads((project / "izzyfig.lock").read_text())
    assert lock["executor"] == "local"
    del lock["executor"]
    (project / "izzyfig.lock").write_text(json.dumps(lock))
    result = run_cli(project, "build", "specs")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1].startswith("0 built, 1 up to date")
    lock["executor"] = 3
    (project / "izzyfig.lock").write_text(json.dumps(lock))
    result = run_cli(project, "build", "specs")
    assert result.returncode == 1
    assert "izzyfig.lock: executor: expected a string, got the number 3" in result.stderr


# ----------------------------------------------------------------------------- command line
def test_a_build_on_a_separately_started_scheduler_and_worker(tmp_path: Path):
    """`dask scheduler` and `dask worker` as a user starts them, on 127.0.0.1."""
    project = model_project(tmp_path)
    port = closed_port()
    address = f"tcp://127.0.0.1:{port}"
    servers = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for command in (
                   ["dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                   ["dask", "worker", address, "--host", "127.0.0.1", "--nworkers", "2", "--nthreads", "1",
                    "--no-dashboard"])]
    try:
        result = run_cli(project, "build", "specs", "--executor", "dask", "--scheduler", address,
                         "--scheduler-timeout", "60")
        assert result.returncode == 0, result.stderr
        assert result.stderr.splitlines()[-1] == SUMMARY_OF_TINY
        assert json.loads((project / "izzyfig.lock").read_text())["executor"] == "dask"
        assert_nothing_partial(project)
        again = run_cli(project, "build", "specs", "--executor", "dask", "--scheduler", address)
        assert again.stderr.splitlines()[-1].startswith("0 built, 3 up to date")
    finally:
        for server in reversed(servers):
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


# ----------------------------------------------------------------------------- versions
def test_a_worker_with_other_library_versions_fails_its_tasks_saying_which():
    """The cache key and the lock name the build's versions: a worker must compute with them."""
    from izzyfig.executors.dask import build_versions, render_on_worker, run_group_on_worker
    from izzyfig.executors.work import RenderJob
    from izzyfig.extract.forwards import ForwardGroup

    versions = {**build_versions(), "torch": "1.0.0"}
    expected = f"Dask worker here runs torch {build_versions()['torch']} (the build has 1.0.0); " \
               "workers need the build's versions"
    job = RenderJob("fig", "self-attention", None, {}, "fig.pdf", "specs/x.yaml:3:3")
    assert render_on_worker(job, versions).error == f"specs/x.yaml:3:3: figures.fig: {expected}"
    forward = type("Forward", (), {"key": "k1"})()
    outcome = run_group_on_worker(ForwardGroup(model=None, forwards=(forward,), layers=(())), versions)
    assert [o.error for o in outcome.outcomes] == [expected]
    assert outcome.models_loaded == 0
