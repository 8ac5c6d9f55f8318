"""Numerical kernels: key-region detection (compiled, with a NumPy reference for tests)."""
from izzyfig.kernels.regions import find_attention_regions_with_merging

__all__ = ["find_attention_regions_with_merging"]
