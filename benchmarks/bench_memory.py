"""Peak resident memory of whole builds: a 512-token self-attention and a 256-token stability figure."""
from __future__ import annotations

from bench_build import memory_rows


def run(quick: bool = False) -> list[dict]:
    return memory_rows()
