"""The committed demo checkpoints load, have their declared shapes, and really learned.

The models are made by ``examples/train_tiny.py`` (see ``models/README.md``). Inputs
here are drawn from their own seeded generator, not from the training stream, so the
behaviour is measured on held-out data. Layer/head indices are 0-based.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import itertools
import json
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
REPEAT = MODELS / "tiny-repeat"
REVERSE = MODELS / "tiny-reverse"
SEEDS = [MODELS / "tiny-reverse-seeds" / f"seed{seed}" for seed in range(5)]
STEPS = [MODELS / "tiny-reverse-steps" / f"step{step:04d}" for step in range(0, 1001, 200)]
SEQ2SEQ = [REVERSE, *SEEDS, *STEPS]

# The heads the gallery draws; models/README.md names the same ones.
PREVIOUS_TOKEN_HEAD = (0, 1)  # tiny-repeat
INDUCTION_HEAD = (1, 3)  # tiny-repeat
ALIGNMENT_HEAD = (1, 1)  # tiny-reverse cross-attention: the best head, and it aligns in every seed
UNSTABLE_HEAD = (1, 2)  # aligns in four seeds; seed 4 put it to other use


@lru_cache(maxsize=None)
def load(folder: Path):
    """Tokenizer and eval-mode model of ``folder``, loaded as the extractor does."""
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    auto = transformers.AutoModelForCausalLM if folder == REPEAT else transformers.AutoModelForSeq2SeqLM
    model = auto.from_pretrained(folder, attn_implementation="eager", local_files_only=True)
    return tokenizer, model.eval()


def words(tokenizer) -> list[str]:
    return sorted(token for token in tokenizer.get_vocab() if not token.startswith("<"))


def weights_digest(folder: Path) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- loading
@pytest.mark.parametrize("folder", [REPEAT, *SEQ2SEQ], ids=lambda p: str(p.relative_to(MODELS)))
def test_checkpoint_loads_with_declared_shape(folder):
    tokenizer, model = load(folder)
    config = model.config
    if folder == REPEAT:
        assert (config.model_type, config.num_hidden_layers, config.num_attention_heads) == ("llama", 2, 4)
    else:
        assert (config.model_type, config.num_layers, config.num_decoder_layers, config.num_heads) == ("t5", 2, 2, 4)
    assert config.vocab_size == len(tokenizer) == 80
    assert config.hidden_size == 64
    assert model.dtype == torch.float32


def test_tokenizers_add_the_special_tokens_each_architecture_expects():
    text = "The quick brown fox jumps over the lazy dog."
    decoder, _ = load(REPEAT)
    seq2seq, _ = load(REVERSE)
    body = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "."]
    assert decoder.convert_ids_to_tokens(decoder(text).input_ids) == ["<s>", *body]
    assert seq2seq.convert_ids_to_tokens(seq2seq(text).input_ids) == [*body, "</s>"]
    assert seq2seq.decode(seq2seq(text).input_ids, skip_special_tokens=True) == " ".join(body)
    assert decoder.convert_ids_to_tokens(decoder("zebra").input_ids) == ["<s>", "<unk>"]


# ----------------------------------------------------------------------------- tiny-repeat
def repeated_runs(count: int = 32, length: int = 10) -> list[str]:
    """Texts ``w1 .. wk w1 .. wk`` of ``length`` distinct random words each."""
    tokenizer, _ = load(REPEAT)
    rng = np.random.default_rng(2024)
    vocabulary = words(tokenizer)
    return [" ".join(list(rng.choice(vocabulary, length, replace=False)) * 2) for _ in range(count)]


@lru_cache(maxsize=None)
def repeat_forward(length: int = 10):
    tokenizer, model = load(REPEAT)
    batch = tokenizer(repeated_runs(length=length), return_tensors="pt")
    with torch.inference_mode():
        return batch.input_ids, model(**batch, output_attentions=True)


def test_repeat_model_continues_the_second_run():
    k = 10
    ids, output = repeat_forward(k)
    # Positions k+1 .. 2k-1 hold w1 .. w_{k-1} of the second run; each predicts the next word.
    predicted = output.logits[:, k + 1:2 * k].argmax(-1)
    assert (predicted == ids[:, k + 2:]).float().mean().item() >= 0.95


def previous_token_scores(attentions) -> np.ndarray:
    """Mean attention from each token to the one before it, ``(layers, heads)``."""
    return np.stack([a[:, :, 1:, :-1].diagonal(dim1=-2, dim2=-1).mean((0, 2)).numpy() for a in attentions])


def induction_scores(attentions, k: int) -> np.ndarray:
    """Mean attention from the second run's tokens to the token after their first occurrence.

    In ``<s> w1 .. wk w1 .. wk`` the query at position ``q`` (``k+1 <= q <= 2k``) holds
    ``w_{q-k}``; the token after its first occurrence sits at ``q-k+1``. ``(layers, heads)``.
    """
    queries = torch.arange(k + 1, 2 * k + 1)
    return np.stack([a[:, :, queries, queries - k + 1].mean((0, 2)).numpy() for a in attentions])


def test_repeat_model_has_a_previous_token_head():
    _, output = repeat_forward()
    scores = previous_token_scores(output.attentions)
    layer, head = PREVIOUS_TOKEN_HEAD
    assert scores[layer, head] >= 0.8
    assert scores[layer, head] == scores[0].max()  # the named head is the best one of layer 0


def test_repeat_model_has_an_induction_head():
    k = 10
    _, output = repeat_forward(k)
    scores = induction_scores(output.attentions, k)
    layer, head = INDUCTION_HEAD
    assert scores[layer, head] >= 0.8
    assert scores[layer, head] == scores.max()
    assert scores[0].max() < 0.1  # layer 0 cannot do it alone: it needs the previous-token head


# ----------------------------------------------------------------------------- tiny-reverse
def reversal_batch(length: int, count: int = 16, seed: int = 7):
    """Held-out sources of ``length`` words and their teacher-forced reversals.

    Built the way izzyfig's extractor feeds a ``source``/``target`` pair: the decoder
    input is the decoder start token followed by the target tokens minus the last.
    """
    tokenizer, model = load(REVERSE)
    rng = np.random.default_rng(seed + length)
    sources = [list(rng.choice(words(tokenizer), length)) for _ in range(count)]
    encoded = tokenizer([" ".join(s) for s in sources], return_tensors="pt")
    labels = tokenizer(text_target=[" ".join(s[::-1]) for s in sources], return_tensors="pt").input_ids
    start = torch.full((count, 1), model.config.decoder_start_token_id)
    return encoded, torch.cat([start, labels[:, :-1]], 1), labels


LENGTHS = (4, 7, 10, 12)


@lru_cache(maxsize=None)
def alignment_scores(folder: Path) -> np.ndarray:
    """Share of word-producing decoder rows whose cross-attention maximum is on the anti-diagonal.

    Row ``i`` (input ``<s>`` then ``y1 .. yn``) predicts ``y_{i+1} = x_{n-i}``, the source
    word at encoder position ``n-1-i``. Returns ``(layers, heads)``.
    """
    _, model = load(folder)
    hits, rows = 0, 0
    for length in LENGTHS:
        encoded, decoder_input, _ = reversal_batch(length)
        with torch.inference_mode():
            output = model(**encoded, decoder_input_ids=decoder_input, output_attentions=True)
        target = torch.arange(length - 1, -1, -1)  # (query,) for the first `length` rows
        hits = hits + np.stack([
            (a[:, :, :length].argmax(-1) == target).sum((0, 2)).numpy() for a in output.cross_attentions
        ])
        rows += len(decoder_input) * length
    return hits / rows


def test_reverse_model_writes_its_input_backwards():
    _, model = load(REVERSE)
    correct, total = 0, 0
    for length in LENGTHS:
        encoded, decoder_input, labels = reversal_batch(length)
        with torch.inference_mode():
            predicted = model(**encoded, decoder_input_ids=decoder_input).logits.argmax(-1)
        correct += (predicted == labels).all(1).sum().item()
        total += len(labels)
    assert correct / total >= 0.9


def test_reverse_model_generates_a_reversal():
    tokenizer, model = load(REVERSE)
    source = "one two three four five six seven eight"
    with torch.inference_mode():
        generated = model.generate(**tokenizer(source, return_tensors="pt"), max_new_tokens=12, do_sample=False)
    assert tokenizer.decode(generated[0], skip_special_tokens=True) == " ".join(source.split()[::-1])


def test_reverse_cross_attention_is_anti_diagonal():
    scores = alignment_scores(REVERSE)
    layer, head = ALIGNMENT_HEAD
    assert scores[layer, head] >= 0.9
    assert scores[layer, head] == scores.max()


# ----------------------------------------------------------------------------- stability, evolution
def test_seed_runs_differ_and_all_align():
    digests = {weights_digest(folder) for folder in SEEDS}
    assert len(digests) == len(SEEDS)
    layer, head = ALIGNMENT_HEAD
    assert min(alignment_scores(folder)[layer, head] for folder in SEEDS) >= 0.9


def test_one_head_is_unstable_across_seeds():
    layer, head = UNSTABLE_HEAD
    scores = sorted(alignment_scores(folder)[layer, head] for folder in SEEDS)
    assert scores[0] < 0.3 and scores[1] >= 0.9  # one seed differs; the stability figure shows it


def test_seed0_run_is_the_main_model():
    assert weights_digest(SEEDS[0]) == weights_digest(REVERSE) == weights_digest(STEPS[-1])


def test_evolution_checkpoints_differ_and_alignment_grows():
    assert len({weights_digest(folder) for folder in STEPS}) == len(STEPS)
    recorded = [json.loads((folder / "training.json").read_text())["saved_at_step"] for folder in STEPS]
    assert recorded == list(range(0, 1001, 200))
    layer, head = ALIGNMENT_HEAD
    scores = [alignment_scores(folder)[layer, head] for folder in STEPS]
    assert scores[0] <= 0.2  # untrained: about one row in n by chance
    assert scores[-1] >= 0.9
    for earlier, later in itertools.pairwise(scores):
        assert later > earlier


# ----------------------------------------------------------------------------- the training script
def load_training_script():
    """Import ``examples/train_tiny.py`` (not a package) as the module ``train_tiny``."""
    spec = importlib.util.spec_from_file_location("train_tiny", ROOT / "examples" / "train_tiny.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def short_run(module, folder: Path, seed: int) -> bytes:
    """Train a fresh seq2seq model for a few steps under ``seed``; the saved weights."""
    recipe = dataclasses.replace(module.REVERSE, seed=seed, steps=6, batch_size=4)
    module.deterministic(seed)
    module.train(module.seq2seq_model(), module.reverse_batch, recipe, {6: [folder]}, module.seq2seq_tokenizer())
    return (folder / "model.safetensors").read_bytes()


def test_training_is_deterministic(tmp_path):
    module = load_training_script()
    threads, strict = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    try:
        first = short_run(module, tmp_path / "a", seed=3)
        again = short_run(module, tmp_path / "b", seed=3)
        other = short_run(module, tmp_path / "c", seed=4)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(strict)
    assert first == again
    assert first != other
