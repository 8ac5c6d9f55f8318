"""Attention extraction: model runner (the only torch importer, lazily), arrays, cache.

Importing this package does not import torch; only running a forward does.
"""
from izzyfig.extract.cache import AttentionCache
from izzyfig.extract.store import AttentionStore, FigureData, PrepareStats
from izzyfig.extract.tokens import TokenizedInput, TokenSequence, clean_label

__all__ = [
    "AttentionCache",
    "AttentionStore",
    "FigureData",
    "PrepareStats",
    "TokenSequence",
    "TokenizedInput",
    "clean_label",
]
