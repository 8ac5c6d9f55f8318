"""Train the tiny demo models of izzyfig's gallery: small, real, offline, deterministic.

No model can be downloaded where izzyfig is built and tested, so the gallery uses
models trained here, on CPU, in a few minutes:

``tiny-repeat``
    A 2-layer decoder-only causal LM (Llama architecture: rotary positions) trained
    to continue a repeated run of words: ``<s> [noise] w1 .. wk w1 .. wk``. It grows
    a previous-token head in layer 0 and an induction head in layer 1.
``tiny-reverse``
    A 2+2-layer T5 encoder-decoder trained to write its input backwards
    (``one two three`` -> ``three two one``); its cross-attention is an
    anti-diagonal alignment.
``tiny-reverse-seeds/seed{0..4}``
    The same training with five seeds (the stability figure).
``tiny-reverse-steps/step{NNNN}``
    Checkpoints of the seed-0 run, initial weights included (the evolution figure).

Why not GPT-2: in our trials (learning rates 1e-3 to 1e-2, learned or sinusoid-initialised
position embeddings, up to 4,000 steps) a GPT-2 of the same size never formed a
previous-token head, so no induction head either; it settled for a fuzzy positional
guess. The rotary decoder has both heads, and 99% next-word accuracy, after 400 steps.

Every run seeds torch, draws its batches from its own seeded generator and uses one
thread with deterministic algorithms, so running the script twice writes byte-identical
weights. Usage::

    python examples/train_tiny.py [OUT_DIR] [--jobs N]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path

import torch

SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")
PAD, BOS, EOS = 0, 1, 2
# Readable words, so that token labels look good in figures. "the quick brown fox
# jumps over the lazy dog ." is in the vocabulary.
WORDS = (
    "one two three four five six seven eight nine ten eleven twelve "
    "red orange yellow green blue purple pink brown black white grey gold "
    "cat dog fox owl bear wolf deer frog duck fish horse mouse lion tiger goat bird "
    "tree river hill moon sun star rain snow "
    "big small quick lazy happy old young slow "
    "sees chases likes finds jumps runs sleeps eats "
    "the a and of on in over under with near . ,"
).split()
FIRST_WORD = len(SPECIALS)
VOCAB_SIZE = len(SPECIALS) + len(WORDS)

REVERSE_SEEDS = (0, 1, 2, 3, 4)
CHECKPOINT_EVERY = 200


@dataclass(frozen=True)
class Recipe:
    """What one training run does; saved next to the weights as ``training.json``.

    ``min_len``/``max_len`` bound the repeated run (task ``repeat``) or the source
    sentence (task ``reverse``), in words.
    """

    task: str
    seed: int
    steps: int
    batch_size: int
    learning_rate: float
    warmup_steps: int
    min_len: int
    max_len: int


REPEAT = Recipe("repeat", 0, steps=600, batch_size=32, learning_rate=3e-3,
                warmup_steps=50, min_len=4, max_len=12)
REVERSE = Recipe("reverse", 0, steps=1000, batch_size=32, learning_rate=3e-3,
                 warmup_steps=50, min_len=3, max_len=12)
MAX_NOISE = 6  # words before the repeated run, so that its start is not at a fixed position


# ----------------------------------------------------------------------------- tokenizers
def build_tokenizer(single: str, pair: str):
    """A lower-casing, whitespace-splitting WordLevel tokenizer over ``WORDS``.

    ``single``/``pair`` are ``tokenizers`` templates of the special tokens to add.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIALS + tuple(WORDS))}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.post_processor = processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=[("<s>", BOS), ("</s>", EOS)]
    )
    backend.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with spaces
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
        model_input_names=["input_ids", "attention_mask"],
    )


def decoder_tokenizer():
    """Llama style: ``<s>`` before the text."""
    return build_tokenizer("<s> $A", "<s> $A $B")


def seq2seq_tokenizer():
    """T5 style: ``</s>`` after the text; the decoder starts from ``<s>``."""
    return build_tokenizer("$A </s>", "$A </s> $B </s>")


# ----------------------------------------------------------------------------- models
def decoder_model():
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=VOCAB_SIZE, hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
        max_position_embeddings=64, tie_word_embeddings=True,
        pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS, attn_implementation="eager",
    )
    return LlamaForCausalLM(config)


def seq2seq_model():
    from transformers import T5Config, T5ForConditionalGeneration

    config = T5Config(
        vocab_size=VOCAB_SIZE, d_model=64, d_kv=16, d_ff=128,
        num_layers=2, num_decoder_layers=2, num_heads=4,
        relative_attention_num_buckets=16, relative_attention_max_distance=32,
        dropout_rate=0.0, feed_forward_proj="relu", tie_word_embeddings=True,
        pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS, decoder_start_token_id=BOS,
        attn_implementation="eager",
    )
    return T5ForConditionalGeneration(config)


# ----------------------------------------------------------------------------- data
def random_words(generator: torch.Generator, count: int) -> torch.Tensor:
    """``count`` word ids drawn uniformly with replacement, shape ``(count,)``."""
    return torch.randint(FIRST_WORD, VOCAB_SIZE, (count,), generator=generator)


def pad_rows(rows: list[torch.Tensor], value: int) -> torch.Tensor:
    """Right-pad 1-D tensors to one ``(len(rows), longest)`` tensor."""
    return torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=value)


def repeat_batch(generator: torch.Generator, recipe: Recipe) -> dict[str, torch.Tensor]:
    """Causal-LM batch of ``<s> noise run run``; only the second run is scored.

    Returns ``input_ids``, ``attention_mask`` and ``labels``, each ``(batch, length)``;
    labels are -100 except at the second run's words 2..k, which an induction head
    can predict from the first run.
    """
    lengths = torch.randint(recipe.min_len, recipe.max_len + 1, (recipe.batch_size,), generator=generator)
    noises = torch.randint(0, MAX_NOISE + 1, (recipe.batch_size,), generator=generator)
    inputs, labels = [], []
    for length, noise in zip(lengths.tolist(), noises.tolist()):
        run = random_words(generator, length)
        ids = torch.cat([torch.tensor([BOS]), random_words(generator, noise), run, run])
        scored = torch.full_like(ids, -100)
        scored[-length + 1:] = ids[-length + 1:]
        inputs.append(ids)
        labels.append(scored)
    input_ids = pad_rows(inputs, PAD)
    mask = pad_rows([torch.ones_like(ids) for ids in inputs], 0)
    return {"input_ids": input_ids, "attention_mask": mask, "labels": pad_rows(labels, -100)}


def reverse_batch(generator: torch.Generator, recipe: Recipe) -> dict[str, torch.Tensor]:
    """Seq2seq batch: source ``x1 .. xn </s>``, target ``xn .. x1 </s>``.

    The decoder is teacher-forced with ``<s> xn .. x1`` (the target shifted right),
    as izzyfig's extractor feeds a target text. All tensors are ``(batch, n_max + 1)``.
    """
    lengths = torch.randint(recipe.min_len, recipe.max_len + 1, (recipe.batch_size,), generator=generator)
    sources, targets, starts = [], [], []
    for length in lengths.tolist():
        words = random_words(generator, length)
        sources.append(torch.cat([words, torch.tensor([EOS])]))
        targets.append(torch.cat([words.flip(0), torch.tensor([EOS])]))
        starts.append(torch.cat([torch.tensor([BOS]), words.flip(0)]))
    source = pad_rows(sources, PAD)
    decoder_input = pad_rows(starts, PAD)
    return {
        "input_ids": source,
        "attention_mask": (source != PAD).long(),
        "decoder_input_ids": decoder_input,
        "decoder_attention_mask": pad_rows([torch.ones_like(s) for s in starts], 0),
        "labels": pad_rows(targets, -100),
    }


# ----------------------------------------------------------------------------- training
def deterministic(seed: int) -> None:
    """One thread, deterministic kernels, seeded weights: identical bytes on every run."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)


def train(model, make_batch, recipe: Recipe, checkpoints: dict[int, list[Path]], tokenizer) -> float:
    """Run ``recipe.steps`` AdamW steps; save to ``checkpoints[step]`` after that many steps.

    The learning rate warms up linearly, then decays linearly to a tenth. Returns
    the loss of the last batch.
    """
    generator = torch.Generator().manual_seed(recipe.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, weight_decay=0.01)
    decay = max(1, recipe.steps - recipe.warmup_steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / recipe.warmup_steps, 1.0 - 0.9 * max(0, step - recipe.warmup_steps) / decay),
    )
    model.train()
    loss = float("nan")
    for step in range(recipe.steps + 1):
        for folder in checkpoints.get(step, []):
            save(model, tokenizer, folder, recipe, step)
        if step == recipe.steps:
            break
        output = model(**make_batch(generator, recipe))
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
        schedule.step()
        loss = output.loss.item()
    return loss


def save(model, tokenizer, folder: Path, recipe: Recipe, step: int) -> None:
    """Write weights (safetensors), config, tokenizer, the recipe and ``step`` to ``folder``."""
    was_training = model.training
    model.eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    record = {**asdict(recipe), "saved_at_step": step}
    (folder / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    model.train(was_training)


# ----------------------------------------------------------------------------- jobs
@dataclass(frozen=True)
class Job:
    """One training run and the model directories (relative to the output) it fills."""

    name: str
    recipe: Recipe
    finals: tuple[str, ...]
    every: int = 0  # also save every this many steps under ``steps_dir``
    steps_dir: str = ""


def jobs() -> list[Job]:
    repeat = Job("tiny-repeat", REPEAT, ("tiny-repeat",))
    main_run = Job(
        "tiny-reverse seed 0", REVERSE, ("tiny-reverse", "tiny-reverse-seeds/seed0"),
        every=CHECKPOINT_EVERY, steps_dir="tiny-reverse-steps",
    )
    others = [
        Job(f"tiny-reverse seed {seed}", replace(REVERSE, seed=seed), (f"tiny-reverse-seeds/seed{seed}",))
        for seed in REVERSE_SEEDS if seed != 0
    ]
    return [repeat, main_run, *others]


def run_job(job: Job, staging: Path) -> tuple[str, float, float]:
    """Train ``job`` into ``staging``; return its name, final loss and seconds taken."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    start = time.perf_counter()
    deterministic(job.recipe.seed)
    if job.recipe.task == "repeat":
        model, tokenizer, make_batch = decoder_model(), decoder_tokenizer(), repeat_batch
    else:
        model, tokenizer, make_batch = seq2seq_model(), seq2seq_tokenizer(), reverse_batch
    checkpoints: dict[int, list[Path]] = {job.recipe.steps: [staging / name for name in job.finals]}
    if job.every:
        for step in range(0, job.recipe.steps + 1, job.every):
            checkpoints.setdefault(step, []).append(staging / job.steps_dir / f"step{step:04d}")
    loss = train(model, make_batch, job.recipe, checkpoints, tokenizer)
    return job.name, loss, time.perf_counter() - start


def publish(staging: Path, out: Path, names: list[str]) -> None:
    """Replace each model directory of ``out`` by its freshly trained twin in ``staging``."""
    for name in names:
        target = out / name
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging / name), str(target))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", default="models", type=Path, help="output directory (default: models)")
    parser.add_argument("--jobs", type=int, default=2, help="training runs in parallel, one core each")
    args = parser.parse_args(argv)
    todo = jobs()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="train_tiny-") as tmp:
        staging = Path(tmp)
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
            for name, loss, seconds in pool.map(run_job, todo, [staging] * len(todo)):
                print(f"{name:22s} final loss {loss:.4f}  {seconds:6.1f} s", flush=True)
        tops = {Path(folder).parts[0] for job in todo for folder in (*job.finals, job.steps_dir) if folder}
        publish(staging, args.out, sorted(tops))
    print(f"total {time.perf_counter() - start:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
