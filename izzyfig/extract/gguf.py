"""GGUF files -> safetensors model directories, converted once into the izzyfig cache.

transformers loads a GGUF file (``from_pretrained(folder, gguf_file=name)``, with the
``gguf`` and ``accelerate`` packages) by dequantizing every tensor: 13-24 s for
SmolLM2-135M on two cores. A safetensors directory of the same weights loads in a
fraction of that, so the first use converts the file and every later load reads the
conversion:

    <cache_dir>/models/gguf-<key>/     config.json, generation_config.json,
                                       model.safetensors (float32), tokenizer files,
                                       izzyfig-gguf.json (written last: sizes, identity)

``key`` hashes the model fingerprint (the GGUF file's sha256, the conversion format,
the ``gguf`` version) and the transformers version. A conversion is built in a
private temporary directory beside the target and renamed into place in one step, so
a directory with the target's name is always complete; two builds converting at the
same time each build their own and the second rename loses harmlessly. A directory
whose marker is missing or disagrees with its files is never used. Temporary
directories left by a killed conversion are removed after an hour.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from izzyfig.errors import ExtractError
from izzyfig.files import canonical_json, sha256_text

MARKER = "izzyfig-gguf.json"
PREFIX = "gguf-"
WORK_PREFIX = ".converting-"
STALE_SECONDS = 3600  # a conversion takes well under a minute; older work dirs are dead


def converted_model(gguf_file: Path, fingerprint: str, models_dir: Path) -> Path:
    """The safetensors model directory of ``gguf_file``, converting it on first use.

    Parameters
    ----------
    gguf_file
        The ``.gguf`` file the planner resolved.
    fingerprint
        Its model fingerprint (``ModelLoad.fingerprint``).
    models_dir
        Where conversions live (``<cache_dir>/models``).

    Raises
    ------
    ExtractError
        The file cannot be converted, or the cache directory cannot be written.
    """
    _, transformers = _import()
    key = sha256_text(canonical_json({"model": fingerprint, "transformers": transformers.__version__}))
    target = models_dir / f"{PREFIX}{key[:32]}"
    if is_complete(target, fingerprint):
        return target
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_work(models_dir)
        work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=models_dir))
    except OSError as error:
        raise ExtractError(f"cannot write converted models in {models_dir}: {error.strerror or error}") from error
    try:
        convert(gguf_file, work)
        write_marker(work, fingerprint, gguf_file.name)
        install(work, target, fingerprint)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # gone already if it was renamed into place
    return target


def convert(gguf_file: Path, out_dir: Path) -> None:
    """Dequantize ``gguf_file`` into a float32 safetensors model with its tokenizer."""
    torch, transformers = _import()
    options = {}
    if hasattr(transformers, "GgufConfig"):  # transformers 5 can keep blocks packed; we want plain weights
        options["quantization_config"] = transformers.GgufConfig(dequantize=True)
    folder, name = str(gguf_file.parent), gguf_file.name
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # the GGUF reader's own progress bar
            tokenizer = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
            model = transformers.AutoModelForCausalLM.from_pretrained(
                folder, gguf_file=name, dtype=torch.float32, local_files_only=True, **options
            )
        if getattr(model, "hf_quantizer", None) is not None:
            model.hf_quantizer = None  # every weight is dequantized: nothing left to serialise specially
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config  # else reloading would look for the GGUF file again
        model.save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
    except Exception as error:  # transformers and gguf raise many types for a file they cannot read
        text = (str(error).strip() or type(error).__name__).splitlines()[0]
        raise ExtractError(f"cannot convert the GGUF file {gguf_file} into a model directory: {text}") from error


def write_marker(work: Path, fingerprint: str, source: str) -> None:
    """Write the marker last: the model's identity and the size of every file."""
    files = {path.name: path.stat().st_size for path in sorted(work.iterdir()) if path.is_file()}
    marker = {"fingerprint": fingerprint, "source": source, "files": files}
    (work / MARKER).write_text(canonical_json(marker), encoding="utf-8")


def is_complete(target: Path, fingerprint: str) -> bool:
    """Whether ``target`` is a finished conversion of the model ``fingerprint``."""
    try:
        marker = json.loads((target / MARKER).read_text(encoding="utf-8"))
        files = marker["files"]
        return marker["fingerprint"] == fingerprint and "config.json" in files and all(
            (target / name).stat().st_size == size for name, size in files.items()
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def install(work: Path, target: Path, fingerprint: str) -> None:
    """Rename ``work`` to ``target`` in one step; keep a complete ``target`` if one appeared."""
    for attempt in range(2):
        try:
            os.replace(work, target)  # fails if target exists and is not empty
            return
        except OSError as error:
            if is_complete(target, fingerprint):
                return  # another build converted the same file first
            if attempt:
                raise ExtractError(f"cannot install the converted model in {target}: "
                                   f"{error.strerror or error}") from error
        _discard(target)  # a damaged directory under the target's name


def _discard(path: Path) -> None:
    aside = path.with_name(f"{WORK_PREFIX}damaged-{os.getpid()}-{path.name}")
    try:
        os.replace(path, aside)
    except OSError:
        return
    shutil.rmtree(aside, ignore_errors=True)


def remove_stale_work(models_dir: Path, now: float | None = None) -> None:
    """Delete temporary conversion directories older than ``STALE_SECONDS``."""
    now = time.time() if now is None else now
    for path in models_dir.glob(WORK_PREFIX + "*"):
        try:
            if now - path.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def _import():
    from izzyfig.extract.runner import import_torch

    return import_torch()
