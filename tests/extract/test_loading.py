"""How models are found and loaded: hub cache, offline mode, devices, remote code."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from izzyfig.errors import ExtractError
from izzyfig.extract import AttentionStore


def test_hub_id_loads_from_the_local_cache_offline(tmp_path, make_plan, bert_dir, monkeypatch):
    snapshot = tmp_path / "hub" / "models--org--tiny-bert" / "snapshots" / ("c" * 40)
    shutil.copytree(bert_dir, snapshot)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("c" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    plan = make_plan("""
        version: 1
        figures:
          f: {kind: self-attention, model: org/tiny-bert, text: the cat, head: 0}
    """)
    assert plan.models[0].ref == str(snapshot)
    store = AttentionStore(tmp_path / "cache")
    assert store.prepare(plan).forwards_run == 1
    assert store.figure_data(plan.figures[0]).matrices[0].shape == (4, 4)
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_missing_device_is_a_clear_error(tmp_path, make_plan, bert_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    plan = make_plan(f"""
        version: 1
        figures:
          f: {{kind: self-attention, model: {bert_dir}, text: the cat, device: cuda}}
    """)
    with pytest.raises(ExtractError, match=r"^device 'cuda' was asked for, but torch finds no CUDA device; use 'cpu'$"):
        AttentionStore(tmp_path / "cache").prepare(plan)


def test_remote_code_stays_off_unless_asked(tmp_path, make_plan, bert_dir):
    model = tmp_path / "custom"
    shutil.copytree(bert_dir, model)
    config = json.loads((model / "config.json").read_text())
    config.update(model_type="custom-bert", auto_map={"AutoConfig": "configuration_custom.CustomConfig",
                                                      "AutoModel": "modeling_custom.CustomModel"})
    (model / "config.json").write_text(json.dumps(config))
    (model / "configuration_custom.py").write_text("raise RuntimeError('remote code ran')\n")
    plan = make_plan(f"""
        version: 1
        figures:
          f: {{kind: self-attention, model: {model}, text: the cat}}
    """)
    with pytest.raises(ExtractError) as caught:
        AttentionStore(tmp_path / "cache").prepare(plan)
    assert str(caught.value) == (
        f"cannot load model '{model}': it ships its own code, which izzyfig runs only with "
        "--trust-remote-code (pass it if you trust this model)"
    )


def test_keep_going_leaves_out_only_the_figures_that_cannot_be_made(tmp_path, make_plan, bert_dir):
    broken = tmp_path / "broken"
    shutil.copytree(bert_dir, broken)
    (broken / "model.safetensors").write_bytes(b"not weights")
    plan = make_plan(f"""
        version: 1
        defaults: {{model: {bert_dir}}}
        figures:
          good: {{kind: self-attention, text: the cat}}
          bad_box: {{kind: self-attention, text: the dog, boxes: [{{rows: [0, 9], cols: [0, 0]}}]}}
          no_model_1: {{kind: self-attention, model: {broken}, text: the cat}}
          no_model_2: {{kind: self-attention, model: {broken}, text: the mat}}
    """)
    store = AttentionStore(tmp_path / "cache")
    stats = store.prepare(plan, keep_going=True)
    assert stats.failed_figures == ("bad_box", "no_model_1", "no_model_2")
    assert (stats.models_loaded, stats.forwards_run) == (1, 1)  # the bad box's forward never ran
    lines = [str(problem).replace(f"{tmp_path}/", "") for problem in stats.failed]
    assert lines[0] == "spec.yaml:6:58: figures.bad_box.boxes[0]: rows [0, 9] reach past the 4 rows of the 4 x 4 matrix"
    assert lines[1].startswith("spec.yaml:7:3: figures.no_model_1: cannot load model 'broken' from broken: ")
    assert lines[2].replace("no_model_2", "no_model_1").replace(":8:", ":7:") == lines[1]
    assert store.figure_data(plan.figures[0]).matrices[0].shape == (4, 4)
