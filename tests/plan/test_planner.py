"""The planner: shared forwards, resolved indices, and every problem positioned at once."""
from __future__ import annotations

import pickle
import shutil
import textwrap

import pytest

from izzyfig.errors import SpecError
from izzyfig.plan import ArrayLoad, Forward, plan_build
from izzyfig.spec.loader import load_spec_text


def messages(error: pytest.ExceptionInfo, tmp_path) -> list[str]:
    return str(error.value).replace(f"{tmp_path}/", "").splitlines()


def test_out_of_range_indices_are_reported_together_with_positions(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (
        "version: 1\n"
        "defaults:\n"
        "  model: minilm\n"
        "figures:\n"
        "  fig1:\n"
        "    kind: self-attention\n"
        "    text: The quick brown fox.\n"
        "  fig2: {kind: self-attention, text: hello,\n"
        "         layer: 14, head: -13}\n"
        "  fig3: {kind: comparison, text: hi, a: {layer: -7}, b: {head: 12}}\n"
    )
    spec = load_spec_text(text, "specs/a.yaml")
    with pytest.raises(SpecError) as caught:
        plan_build([spec], cache_dir=None)
    assert str(caught.value).splitlines() == [
        "specs/a.yaml:9:10: figures.fig2.layer: 14 is out of range for model 'minilm' (6 layers)",
        "specs/a.yaml:9:21: figures.fig2.head: -13 is out of range for model 'minilm' (12 heads)",
        "specs/a.yaml:10:42: figures.fig3.a.layer: -7 is out of range for model 'minilm' (6 layers)",
        "specs/a.yaml:10:58: figures.fig3.b.head: 12 is out of range for model 'minilm' (12 heads)",
    ]


def test_indices_resolve_and_forwards_are_shared(plan_yaml, models):
    plan = plan_yaml(f"""
        version: 1
        defaults: {{model: {models['bert']}, text: the cat}}
        figures:
          last: {{kind: self-attention}}
          neg: {{kind: self-attention, layer: -1, head: -1}}
          other: {{kind: regions, layer: 2, head: 0}}
          pair: {{kind: question-context, pair: [a question, a context]}}
    """)
    assert len(plan.models) == 1 and len(plan.forwards) == 2
    text, pair = plan.forwards
    assert (text.text, text.keep) == ("the cat", (("self", 2), ("self", 5)))
    assert (pair.pair, pair.keep) == (("a question", "a context"), (("self", 5),))
    last, neg, other, _ = (job.selections[0] for job in plan.figures)
    assert (last.layer, last.head, neg.layer, neg.head, other.layer) == (5, None, 5, 11, 2)
    assert last.input is neg.input is text
    assert plan.figures[0].output == "last.pdf"
    assert pickle.loads(pickle.dumps(plan)) == plan


def test_encoder_decoder_attention_and_inputs(plan_yaml, models):
    plan = plan_yaml(f"""
        version: 1
        defaults: {{model: {models['t5']}, source: the cat, target: die katze}}
        figures:
          cross: {{kind: cross-attention, layer: -1}}
          enc: {{kind: cross-attention, use_case: encoder_self_attention}}
          dec: {{kind: self-attention, attention: decoder, layer: 0, head: 3}}
          self: {{kind: self-attention, attention: self}}
    """)
    assert len(plan.forwards) == 1
    assert plan.forwards[0].keep == (("cross", 2), ("decoder", 0), ("encoder", 1))
    assert [s.attention for job in plan.figures for s in job.selections] == ["cross", "encoder", "decoder", "encoder"]


def test_input_problems(plan_yaml, models, tmp_path):
    spec = f"""
            version: 1
            figures:
              no_target: {{kind: cross-attention, model: {models['t5']}, source: the cat}}
              pair_t5: {{kind: self-attention, model: {models['t5']}, pair: [a, b]}}
              source_bert: {{kind: self-attention, model: {models['bert']}, source: the cat}}
              cross_bert: {{kind: self-attention, model: {models['bert']}, text: a, attention: cross}}
              no_pair: {{kind: question-context, model: {models['bert']}, text: a}}
              no_text: {{kind: self-attention, model: {models['gpt2']}}}
              decoder_layers: {{kind: cross-attention, model: {models['t5']}, source: a, target: b, layer: 3}}
              groups: {{kind: self-attention, model: {models['llama']}, text: a, kv_group: 2}}
              nothing: {{kind: self-attention, text: a}}
              no_runs: {{kind: stability, text: a}}
        """
    with pytest.raises(SpecError) as caught:
        plan_yaml(spec)
    lines = textwrap.dedent(spec).lstrip("\n").splitlines()

    def at(line: int, key: str) -> str:
        """Where ``key:`` sits on ``line``: the column moves with the model paths' length."""
        return f"spec.yaml:{line}:{lines[line - 1].index(key + ':') + 1}"

    t5, bert, gpt2, llama = "models/t5", "models/bert", "models/gpt2", "models/llama"
    assert messages(caught, tmp_path) == [
        f"{at(3, 'model')}: figures.no_target.model: encoder-decoder model '{t5}' needs 'source' and "
        "'target' text for cross attention",
        f"{at(4, 'pair')}: figures.pair_t5.pair: a text pair needs an encoder or decoder model; '{t5}' is an "
        "encoder-decoder (give 'source' and 'target')",
        f"{at(5, 'source')}: figures.source_bert.source: 'source'/'target' need an encoder-decoder model; '{bert}' "
        "is encoder-only (use 'text' or 'pair')",
        f"{at(6, 'attention')}: figures.cross_bert.attention: 'cross' attention needs an encoder-decoder model; "
        f"model '{bert}' is encoder-only (use 'self')",
        "spec.yaml:7:3: figures.no_pair: question-context figures need 'pair: [question, context]'",
        f"spec.yaml:8:3: figures.no_text: model '{gpt2}' needs 'text' (or 'pair') to run on",
        f"{at(9, 'layer')}: figures.decoder_layers.layer: 3 is out of range for model '{t5}' (3 cross layers)",
        f"{at(10, 'kv_group')}: figures.groups.kv_group: 2 is out of range for model '{llama}' (2 key/value heads)",
        "spec.yaml:11:3: figures.nothing: no attention source: give 'model' (with its text) or 'array'",
        "spec.yaml:12:3: figures.no_runs: no attention source: give 'runs' (checkpoint directories) or an "
        "'array' with a 'runs' axis",
    ]


def test_checkpoint_lists_plan_one_forward_per_checkpoint(plan_yaml, models, tmp_path):
    runs = []
    for seed in range(3):
        run = tmp_path / f"run{seed}"
        shutil.copytree(models["bert"], run)
        (run / "model.safetensors").write_bytes(b"weights of seed %d" % seed)
        runs.append(f"run{seed}")
    plan = plan_yaml(f"""
        version: 1
        figures:
          stable: {{kind: stability, runs: {runs}, text: the cat, layer: 1, head: 0}}
          evolve: {{kind: evolution, steps: {runs}, text: the cat, layer: 1}}
    """)
    assert (len(plan.models), len(plan.forwards)) == (3, 3)
    assert len({model.fingerprint for model in plan.models}) == 3
    stable = plan.figures[0]
    assert [s.index for s in stable.selections] == [0, 1, 2]
    assert [s.input for s in stable.selections] == [s.input for s in plan.figures[1].selections]
    with pytest.raises(SpecError) as caught:
        plan_yaml("""
            version: 1
            figures:
              missing: {kind: stability, runs: [run0, ./run9], text: the cat}
        """)
    assert messages(caught, tmp_path) == [
        "spec.yaml:3:43: figures.missing.runs[1]: model directory './run9' does not exist (looked in run9)"
    ]


def test_copies_of_one_model_are_loaded_once(plan_yaml, models, tmp_path):
    shutil.copytree(models["bert"], tmp_path / "copy")
    shutil.copytree(models["bert"], tmp_path / "retrained")
    (tmp_path / "retrained" / "model.safetensors").write_bytes(b"other weights")
    plan = plan_yaml(f"""
        version: 1
        figures:
          a: {{kind: self-attention, model: {models['bert']}, text: the cat}}
          b: {{kind: self-attention, model: copy, text: the cat}}
          c: {{kind: self-attention, model: copy, text: the dog}}
          d: {{kind: self-attention, model: retrained, text: the cat}}
    """)
    assert [m.ref for m in plan.models] == [str(models["bert"]), str(tmp_path / "retrained")]
    assert len(plan.forwards) == 3  # a and b are one forward: same content, same text
    assert plan.figures[0].selections[0].input == plan.figures[1].selections[0].input


def test_forward_key_follows_content(plan_yaml, models, tmp_path):
    def key(text="the cat", dtype="float32", device="cpu"):
        plan = plan_yaml(f"""
            version: 1
            figures:
              f: {{kind: self-attention, model: {models['bert']}, text: {text}, dtype: {dtype}, device: {device}}}
        """)
        return plan.forwards[0].key

    first = key()
    assert key() == first
    # The device is part of a forward's identity (a cuda forward may fail where cpu does not).
    assert len({first, key(device="cuda"), key(device="mps"), key(text="the dog"), key(dtype="float64")}) == 5
    (models["bert"] / "README.md").write_text("docs do not count")
    assert key() == first
    (models["bert"] / "model.safetensors").write_bytes(b"retrained")
    assert key() != first


def test_file_digests_are_memoised(plan_yaml, models, monkeypatch):
    from izzyfig.plan import hashing

    hashed = []
    real = hashing.sha256_file
    monkeypatch.setattr(hashing, "sha256_file", lambda path: hashed.append(path.name) or real(path))
    # The model files were just written; a memo trusts only files changed well before they
    # were hashed (RACY_NS), so let "well before" be "before" here.
    monkeypatch.setattr(hashing, "RACY_NS", 0)
    text = f"""
        version: 1
        figures:
          f: {{kind: self-attention, model: {models['bert']}, text: the cat}}
    """
    plan_yaml(text)
    assert sorted(hashed) == ["config.json", "model.safetensors", "tokenizer.json"]
    hashed.clear()
    plan_yaml(text)
    assert hashed == []
    (models["bert"] / "model.safetensors").write_bytes(b"new weights, new size")
    plan_yaml(text)
    assert hashed == ["model.safetensors"]


def test_restricted_plan_keeps_what_the_figures_need(plan_yaml, models):
    plan = plan_yaml(f"""
        version: 1
        defaults: {{text: the cat}}
        figures:
          a: {{kind: self-attention, model: {models['bert']}, layer: 0}}
          b: {{kind: self-attention, model: {models['bert']}, layer: 1}}
          c: {{kind: self-attention, model: {models['gpt2']}}}
    """)
    part = plan.restricted_to(["b"])
    assert [job.figure_id for job in part.figures] == ["b"]
    assert [f.keep for f in part.forwards] == [(("self", 1),)]
    assert part.models == plan.models[:1] and part.arrays == ()
    assert isinstance(part.forwards[0], Forward) and not isinstance(part.forwards[0], ArrayLoad)


def test_describe_lists_models_forwards_and_arrays(plan_yaml, models, tmp_path):
    import numpy as np

    np.save(tmp_path / "attn.npy", np.full((2, 3, 3), 1 / 3))
    plan = plan_yaml(f"""
        version: 1
        figures:
          a: {{kind: self-attention, model: {models['llama']}, text: the cat sat on the mat today, layer: 1}}
          b: {{kind: regions, array: {{path: attn.npy, layout: heads query key}}}}
    """)
    lines = plan.describe().replace(str(tmp_path), "TMP").splitlines()
    fingerprint, key, digest = plan.models[0].fingerprint, plan.forwards[0].key, plan.arrays[0].sha256
    assert lines == [
        "models (1):",
        f"  TMP/models/llama: decoder, float32 on cpu, fingerprint {fingerprint[:12]} (TMP/models/llama)",
        "forwards (1):",
        f"  {key[:12]} TMP/models/llama on 'the cat sat on the mat today' (layers: self 1)",
        "arrays (1):",
        f"  TMP/attn.npy: heads query key (2x3x3), sha256 {digest[:12]}",
    ]
