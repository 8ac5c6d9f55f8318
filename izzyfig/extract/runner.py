"""The model runner: the only module that imports torch and transformers, and lazily.

Models load from local directories only (the planner resolved aliases and hub ids;
a GGUF file is converted once into a directory under ``models_dir``, see
``izzyfig/extract/gguf.py``), always with ``attn_implementation="eager"`` --
transformers 5's default ``sdpa`` returns no attention weights -- then ``eval()``, and
run seeded under ``torch.inference_mode()``. ``trust_remote_code`` stays off unless
the user asks.
"""
from __future__ import annotations

import inspect
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from izzyfig.errors import ExtractError
from izzyfig.extract.tokens import TokenizedInput, TokenSequence, encoding_word_ids, token_sequence
from izzyfig.limits import MEMORY_SHARE, human_bytes, memory_budget
from izzyfig.plan.jobs import Forward, ModelLoad

SEED = 0
DTYPE_BYTES = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2}
DEFAULT_MODELS_DIR = Path(".izzyfig/cache/models")
OUTPUT_FIELDS = {
    "self": "attentions",
    "encoder": "encoder_attentions",
    "decoder": "decoder_attentions",
    "cross": "cross_attentions",
}


def import_torch():
    """Import torch and transformers, offline and quiet (no download, no progress bars)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers

    if not getattr(import_torch, "configured", False):
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        torch.set_num_threads(thread_count(torch.get_num_threads()))
        import_torch.configured = True
    return torch, transformers


def thread_count(default: int) -> int:
    """Threads for torch: ``OMP_NUM_THREADS`` if set, else the cores that are idle.

    On a busy machine, torch's spinning OpenMP workers fight the other processes for
    cores: measured on 2 busy cores, MiniLM's 512-token forward took 2.1 s with 2
    threads and 0.33 s with 1. Thread counts change results by a few ulps at most.
    """
    if os.environ.get("OMP_NUM_THREADS"):
        return default
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on Windows
        return default
    idle = (os.cpu_count() or 1) - math.ceil(load)
    return max(1, min(default, idle))


@dataclass(frozen=True)
class Encoded:
    """Model inputs of one forward as plain lists, with their tokens."""

    inputs: dict[str, list[int]]
    tokens: TokenizedInput


class ModelRunner:
    """Loads one model at a time and runs forwards on it, counting both.

    ``keep_model``: keep the model loaded after a group of forwards (``izzyfig watch``,
    whose next build may need it again); otherwise it is dropped to free memory.
    """

    def __init__(self, *, trust_remote_code: bool = False, models_dir: Path = DEFAULT_MODELS_DIR,
                 keep_model: bool = False):
        self.trust_remote_code = trust_remote_code
        self.keep_model = keep_model
        self.models_dir = Path(models_dir)
        # Keyed by (ref, fingerprint): a runner kept between builds sees edited model files.
        self._directories: dict[tuple[str, str], str] = {}
        self.loads = 0
        self.forwards = 0
        self._tokenizers: dict[tuple[str, str], Any] = {}
        self._encoded: dict[str, Encoded] = {}
        self._loaded: tuple[ModelLoad, Any] | None = None

    # -- tokens --------------------------------------------------------------------------
    def tokenize(self, forward: Forward) -> TokenizedInput:
        return self._encode(forward).tokens

    def _tokenizer(self, model: ModelLoad):
        if (model.ref, model.fingerprint) not in self._tokenizers:
            _, transformers = import_torch()
            folder = self.directory(model)
            try:
                self._tokenizers[model.ref, model.fingerprint] = transformers.AutoTokenizer.from_pretrained(
                    folder, trust_remote_code=self.trust_remote_code, local_files_only=True
                )
            except Exception as error:  # transformers raises many types for a bad directory
                raise load_error("the tokenizer of model", model, error) from error
        return self._tokenizers[model.ref, model.fingerprint]

    def _encode(self, forward: Forward) -> Encoded:
        if forward.key in self._encoded:
            return self._encoded[forward.key]
        tokenizer = self._tokenizer(forward.model)
        decoder = None
        question_end = None
        if forward.pair is not None:
            encoding = tokenizer(*forward.pair)
            question_end = _question_end(tokenizer, encoding, forward)
        else:
            encoding = tokenizer(forward.text or forward.source)
        inputs = {name: list(encoding[name]) for name in ("input_ids", "token_type_ids") if name in encoding}
        if forward.target is not None:
            target = tokenizer(text_target=forward.target)
            labels = list(target["input_ids"])
            start = decoder_start_token(Path(forward.model.ref))
            inputs["decoder_input_ids"] = [start] + labels[:-1]  # teacher forcing: shift right
            words = encoding_word_ids(target)
            decoder = self._sequence(tokenizer, inputs["decoder_input_ids"], words and [None] + words[:-1])
        tokens = TokenizedInput(self._sequence(tokenizer, inputs["input_ids"], encoding_word_ids(encoding)),
                                decoder, question_end)
        self._encoded[forward.key] = Encoded(inputs, tokens)
        return self._encoded[forward.key]

    @staticmethod
    def _sequence(tokenizer, ids: list[int], word_ids) -> TokenSequence:
        raw = tokenizer.convert_ids_to_tokens(ids)
        return token_sequence(raw, tokenizer.convert_tokens_to_string, set(tokenizer.all_special_tokens), word_ids)

    # -- models --------------------------------------------------------------------------
    def directory(self, load: ModelLoad) -> str:
        """The directory to load ``load`` from: its own, or the conversion of its GGUF file."""
        if not load.ref.lower().endswith(".gguf"):
            return load.ref
        if (load.ref, load.fingerprint) not in self._directories:
            from izzyfig.extract.gguf import converted_model

            converted = converted_model(Path(load.ref), load.fingerprint, self.models_dir)
            self._directories[load.ref, load.fingerprint] = str(converted)
        return self._directories[load.ref, load.fingerprint]

    def load(self, load: ModelLoad):
        """The loaded model of ``load``, loading it (and dropping the previous one) if needed."""
        if self._loaded is not None and self._loaded[0] == load:
            return self._loaded[1]
        self.release()
        torch, transformers = import_torch()
        _check_device(torch, load.device)
        folder = self.directory(load)
        torch.manual_seed(SEED)  # weights missing from a checkpoint are initialised seeded
        try:
            model = transformers.AutoModel.from_pretrained(
                folder,
                attn_implementation="eager",
                dtype=getattr(torch, load.dtype),
                trust_remote_code=self.trust_remote_code,
                local_files_only=True,
            )
        except Exception as error:  # transformers raises many types for a bad checkpoint
            raise load_error("model", load, error) from error
        model.to(load.device).eval()
        self.loads += 1
        self._loaded = (load, model)
        return model

    def release(self) -> None:
        """Drop the loaded model so that the next one does not double peak memory."""
        self._loaded = None

    # -- forwards ------------------------------------------------------------------------
    def attentions(self, forward: Forward, layers) -> dict[tuple[str, int], np.ndarray]:
        """Run ``forward`` and return the ``(heads, query, key)`` maps of ``layers``.

        Parameters
        ----------
        layers
            ``(attention, layer)`` pairs to keep; every other layer is dropped at once.
        """
        torch, _ = import_torch()
        encoded = self._encode(forward)
        _check_memory(forward, encoded)
        model = self.load(forward.model)
        accepted = inspect.signature(model.forward).parameters
        kwargs = {
            name: torch.tensor([ids], device=forward.model.device)
            for name, ids in encoded.inputs.items()
            if name in accepted
        }
        kwargs["attention_mask"] = torch.ones_like(kwargs["input_ids"])
        if "use_cache" in accepted:
            kwargs["use_cache"] = False
        torch.manual_seed(SEED)
        try:
            with torch.inference_mode():
                output = model(**kwargs, output_attentions=True, return_dict=True)
        except Exception as error:  # shape or index errors from inside the model
            raise ExtractError(f"forward pass of model '{forward.model.label()}' on "
                               f"{forward.summary()} failed: {_first_line(error)}") from error
        self.forwards += 1
        return {layer: self._pick(output, forward, *layer) for layer in sorted(layers)}

    @staticmethod
    def _pick(output: Any, forward: Forward, attention: str, layer: int) -> np.ndarray:
        maps = getattr(output, OUTPUT_FIELDS[attention], None)
        if not maps:
            raise ExtractError(
                f"model '{forward.model.label()}' returned no {attention} attention weights "
                "(it may not support attn_implementation='eager')"
            )
        tensor = maps[layer][0]  # (heads, query, key) of the only batch item
        if forward.model.dtype == "float64":
            return tensor.cpu().numpy()
        return tensor.float().cpu().numpy()  # float16/bfloat16 have no exact NumPy twin


def _question_end(tokenizer, encoding, forward: Forward) -> int:
    """Index of the first context token: from token types, sequence ids, or the separator."""
    types = encoding.get("token_type_ids")
    if types and 1 in types:
        return list(types).index(1)
    try:
        sequence_ids = encoding.sequence_ids()
    except (ValueError, AttributeError):  # slow tokenizers have no sequence ids
        sequence_ids = []
    if 1 in sequence_ids:
        return sequence_ids.index(1)
    ids = list(encoding["input_ids"])
    if tokenizer.sep_token_id is not None and tokenizer.sep_token_id in ids:
        return ids.index(tokenizer.sep_token_id) + 1
    raise ExtractError(f"cannot tell where the question ends in the pair {forward.summary()} "
                       f"for model '{forward.model.label()}' (no token types or separator)")


def decoder_start_token(model_dir: Path) -> int:
    """The decoder start id: config, then generation config, then the pad id."""
    for name in ("config.json", "generation_config.json"):
        try:
            config = json.loads((model_dir / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(config.get("decoder_start_token_id"), int):
            return config["decoder_start_token_id"]
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    if isinstance(config.get("pad_token_id"), int):
        return config["pad_token_id"]
    raise ExtractError(f"model in {model_dir} has no decoder_start_token_id, so the target "
                       "cannot be teacher-forced")


def attention_bytes(forward: Forward, encoded: Encoded) -> int:
    """Bytes of the attention weights a forward returns: every layer of every stack.

    ``output_attentions=True`` makes the model return ``(heads, query, key)`` maps for
    all layers at once, so this grows with the square of the input length.
    """
    shape, size = forward.model.shape, DTYPE_BYTES[forward.model.dtype]
    source = len(encoded.inputs["input_ids"])
    target = len(encoded.inputs.get("decoder_input_ids", ()))
    if shape.architecture != "encoder-decoder":
        stack = shape.stack("self")
        return stack.layers * stack.heads * source * source * size
    encoder, decoder = shape.encoder, shape.decoder
    cells = encoder.layers * encoder.heads * source * source
    cells += decoder.layers * decoder.heads * (target * target + target * source)
    return cells * size


def _check_memory(forward: Forward, encoded: Encoded) -> None:
    budget = memory_budget()
    needed = attention_bytes(forward, encoded)
    if budget is not None and needed > budget:
        tokens = len(encoded.inputs["input_ids"])
        raise ExtractError(
            f"model '{forward.model.label()}' on {tokens} tokens returns {human_bytes(needed)} of attention "
            f"weights; izzyfig uses at most half of the {human_bytes(int(budget / MEMORY_SHARE))} of memory "
            "available (use a shorter text)"
        )


def _check_device(torch, device: str) -> None:
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ExtractError(f"device '{device}' was asked for, but torch finds no CUDA device; use 'cpu'")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ExtractError("device 'mps' was asked for, but torch finds no MPS device; use 'cpu'")


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def load_error(what: str, load: ModelLoad, error: BaseException) -> ExtractError:
    """A one-line error for a model or tokenizer that transformers could not load."""
    text = str(error)
    if "trust_remote_code" in text or "custom code" in text:
        return ExtractError(f"cannot load {what} '{load.label()}': it ships its own code, which izzyfig "
                            "runs only with --trust-remote-code (pass it if you trust this model)")
    return ExtractError(f"cannot load {what} '{load.label()}' from {load.ref}: {_first_line(error)}")
