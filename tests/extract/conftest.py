"""Tiny seeded models of every architecture, saved like hub checkpoints (no network).

Each is made with ``from_config`` + ``save_pretrained`` next to a small WordLevel
``tokenizers`` tokenizer wrapped in ``PreTrainedTokenizerFast``, so it loads through
``AutoModel``/``AutoTokenizer`` exactly as a downloaded model would. Session-scoped:
built once, shared by every test.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from izzyfig.extract import AttentionStore
from izzyfig.plan import plan_build
from izzyfig.spec.loader import load_spec_text

WORDS = (
    "the quick brown fox jumps over lazy dog . where is eiffel tower ? located in paris , "
    "france cat sat on mat die katze sitzt auf der matte a"
).split()
SIZE = dict(layers=2, heads=4, hidden=16, positions=48)


def make_tokenizer(specials: list[str], single: str | None, pair: str | None, **named: str):
    """A whitespace WordLevel tokenizer over ``WORDS`` with ``specials`` first."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(specials + sorted(set(WORDS)))}
    backend = Tokenizer(models.WordLevel(vocab, unk_token=named.get("unk_token")))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    if single:
        used = [t for t in specials if t in single + (pair or "")]
        backend.post_processor = processors.TemplateProcessing(
            single=single, pair=pair, special_tokens=[(t, vocab[t]) for t in used]
        )
    input_names = named.pop("model_input_names", ["input_ids", "token_type_ids", "attention_mask"])
    return PreTrainedTokenizerFast(tokenizer_object=backend, model_input_names=input_names, **named), vocab


def save(model, tokenizer, folder: Path) -> Path:
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory) -> Path:
    import torch
    from transformers import BertConfig, BertModel

    tokenizer, vocab = make_tokenizer(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        "[CLS] $A [SEP]", "[CLS] $A [SEP] $B:1 [SEP]:1",
        unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
    )
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=SIZE["hidden"], num_hidden_layers=SIZE["layers"],
                        num_attention_heads=SIZE["heads"], intermediate_size=32,
                        max_position_embeddings=SIZE["positions"], initializer_range=0.5)
    return save(BertModel(config), tokenizer, tmp_path_factory.mktemp("bert"))


@pytest.fixture(scope="session")
def bert_runs(tmp_path_factory, bert_dir) -> list[Path]:
    """Three checkpoints of the tiny BERT from different seeds (stability, evolution)."""
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig.from_pretrained(bert_dir)
    runs = []
    for seed in (1, 2, 3):
        folder = tmp_path_factory.mktemp(f"run{seed}")
        torch.manual_seed(seed)
        BertModel(config).save_pretrained(folder)
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(bert_dir / name, folder / name)
        runs.append(folder)
    return runs


@pytest.fixture(scope="session")
def gpt2_dir(tmp_path_factory) -> Path:
    import torch
    from transformers import GPT2Config, GPT2Model

    tokenizer, vocab = make_tokenizer(["<|endoftext|>"], None, None, unk_token="<|endoftext|>",
                                      eos_token="<|endoftext|>", model_input_names=["input_ids", "attention_mask"])
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(vocab), n_embd=SIZE["hidden"], n_layer=SIZE["layers"], n_head=SIZE["heads"],
                        n_positions=SIZE["positions"], bos_token_id=0, eos_token_id=0, initializer_range=0.5)
    return save(GPT2Model(config), tokenizer, tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="session")
def t5_dir(tmp_path_factory) -> Path:
    """Encoder-decoder with 2 encoder and 3 decoder layers (so the stacks differ)."""
    import torch
    from transformers import T5Config, T5Model

    tokenizer, vocab = make_tokenizer(["<pad>", "</s>", "<unk>"], "$A </s>", "$A </s> $B:1 </s>:1",
                                      unk_token="<unk>", pad_token="<pad>", eos_token="</s>",
                                      model_input_names=["input_ids", "attention_mask"])
    torch.manual_seed(0)
    config = T5Config(vocab_size=len(vocab), d_model=SIZE["hidden"], d_kv=4, d_ff=32, num_layers=2,
                      num_decoder_layers=3, num_heads=SIZE["heads"], decoder_start_token_id=0,
                      pad_token_id=0, eos_token_id=1, initializer_factor=5.0)
    return save(T5Model(config), tokenizer, tmp_path_factory.mktemp("t5"))


@pytest.fixture(scope="session")
def llama_dir(tmp_path_factory) -> Path:
    """Grouped-query decoder: 4 query heads sharing 2 key/value heads."""
    import torch
    from transformers import LlamaConfig, LlamaModel

    tokenizer, vocab = make_tokenizer(["<unk>", "<s>", "</s>"], "<s> $A", "<s> $A $B:1",
                                      unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                                      model_input_names=["input_ids", "attention_mask"])
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=SIZE["hidden"], intermediate_size=32,
                         num_hidden_layers=SIZE["layers"], num_attention_heads=SIZE["heads"], num_key_value_heads=2,
                         max_position_embeddings=SIZE["positions"], bos_token_id=1, eos_token_id=2,
                         pad_token_id=0, initializer_range=0.5)
    return save(LlamaModel(config), tokenizer, tmp_path_factory.mktemp("llama"))


def load_plan(folder: Path, yaml_text: str, cache_dir: Path | None = None):
    """Write ``yaml_text`` as ``folder/spec.yaml``, load it and plan it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "spec.yaml"
    text = textwrap.dedent(yaml_text)
    path.write_text(text, encoding="utf-8")
    spec = load_spec_text(text, str(path))
    return plan_build([spec], cache_dir=cache_dir or folder / "cache")


@pytest.fixture
def make_plan(tmp_path):
    """``make_plan(yaml) -> BuildPlan`` for a spec written in ``tmp_path``."""
    return lambda yaml_text: load_plan(tmp_path, yaml_text, tmp_path / "cache")


@pytest.fixture
def build(tmp_path, make_plan):
    """``build(yaml) -> (plan, store, stats)``: plan a spec in tmp_path and prepare it."""

    def run(yaml_text: str, **store_options):
        plan = make_plan(yaml_text)
        store = AttentionStore(tmp_path / "cache", **store_options)
        return plan, store, store.prepare(plan)

    return run
