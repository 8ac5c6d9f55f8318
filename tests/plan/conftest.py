"""Model directories with a config and stand-in weights: the planner never loads them."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from izzyfig.plan import plan_build
from izzyfig.spec.loader import load_spec_text

CONFIGS = {
    "bert": {"model_type": "bert", "architectures": ["BertModel"], "num_hidden_layers": 6,
             "num_attention_heads": 12, "max_position_embeddings": 512},
    "gpt2": {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_layer": 4, "n_head": 8,
             "n_positions": 1024},
    "t5": {"model_type": "t5", "is_encoder_decoder": True, "num_layers": 2, "num_decoder_layers": 3,
           "num_heads": 4},
    "bart": {"model_type": "bart", "is_encoder_decoder": True, "encoder_layers": 6, "decoder_layers": 4,
             "encoder_attention_heads": 16, "decoder_attention_heads": 8, "max_position_embeddings": 1024},
    "llama": {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2,
              "num_attention_heads": 8, "num_key_value_heads": 2, "max_position_embeddings": 2048},
}


def write_model(folder: Path, config: dict, weights: bytes = b"weights") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "tokenizer.json").write_text("{}", encoding="utf-8")
    (folder / "README.md").write_text("not part of the fingerprint", encoding="utf-8")
    return folder


@pytest.fixture
def configs() -> dict[str, dict]:
    """``config.json`` contents of five model families."""
    return CONFIGS


@pytest.fixture
def models(tmp_path) -> dict[str, Path]:
    """One stand-in model directory per family in ``CONFIGS``, under ``tmp_path/models``."""
    return {name: write_model(tmp_path / "models" / name, config) for name, config in CONFIGS.items()}


@pytest.fixture
def plan_yaml(tmp_path):
    """``plan_yaml(yaml, name="spec.yaml") -> BuildPlan``, the spec written in ``tmp_path``."""

    def plan(yaml_text: str, name: str = "spec.yaml"):
        text = textwrap.dedent(yaml_text).lstrip("\n")
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return plan_build([load_spec_text(text, str(path))], cache_dir=tmp_path / "cache")

    return plan
