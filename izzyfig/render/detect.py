"""Key-region boxes from the region kernel (izzyfig.kernels), imported only when used."""
from __future__ import annotations

import numpy as np

from izzyfig.errors import RenderError
from izzyfig.render.inputs import Box

REGION_COLOR = "orange"
REGION_LINEWIDTH = 2.0
REGION_ALPHA = 0.7


def detect_regions(
    data: np.ndarray, *, n_regions: int = 3, min_distance: int = 2, expansion_threshold: float = 0.9,
    merge_threshold: float = 0.6, proximity_threshold: int = 2, max_expansion_steps: int = 3,
) -> tuple[Box, ...]:
    """Boxes (top, left, bottom, right) of IzzyViz's key regions, with its figure defaults."""
    try:
        from izzyfig import kernels

        find = kernels.find_attention_regions_with_merging
    except (ImportError, AttributeError) as exc:
        raise RenderError(f"region detection is unavailable: izzyfig.kernels failed to load ({exc})") from exc
    found = find(
        np.ascontiguousarray(data, dtype=np.float64), n_seeds=n_regions, min_distance=min_distance,
        expansion_threshold=expansion_threshold, merge_std_threshold=merge_threshold,
        proximity_threshold=proximity_threshold, max_expansion_steps=max_expansion_steps,
    )
    return tuple(tuple(int(v) for v in box) for box in found)
