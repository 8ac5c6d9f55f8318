"""Tokenizer special-token markers, shared by every phase (depends on nothing).

The renderers give special tokens label priority; ``izzyfig.analysis`` finds the
positions a ``special`` statistic sums over and the leading BOS of an induction
sequence. Both must agree on what a special token is, so the pattern lives here.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

SPECIAL_TOKEN = re.compile(
    r"^(\[[A-Za-z_]+\]"  # [CLS] [SEP] [PAD] [MASK] [UNK]
    r"|</?[A-Za-z_][A-Za-z0-9_]*>"  # <s> </s> <pad> <unk> <mask> <extra_id_0>
    r"|<\|[^|<>\s]+\|>)$"  # <|endoftext|> <|im_start|>
)


def is_special_token(label: str) -> bool:
    """True for tokenizer markers such as ``[CLS]``, ``</s>`` or ``<|endoftext|>``."""
    return bool(SPECIAL_TOKEN.match(label))


def special_positions(tokens: Sequence[str]) -> tuple[int, ...]:
    """Indices of the special tokens in ``tokens``, ascending."""
    return tuple(index for index, token in enumerate(tokens) if is_special_token(token))
