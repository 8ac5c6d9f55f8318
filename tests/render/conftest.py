"""Small hand-made inputs shared by the render tests."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # pdfcheck: the PDF reader the page tests share


@pytest.fixture
def tokens_5() -> list[str]:
    return ["[CLS]", "the", "cat", "sat", "[SEP]"]


@pytest.fixture
def matrix_5() -> np.ndarray:
    """5x5 map whose three largest cells are (0, 1) > (2, 3) > (4, 1)."""
    data = np.full((5, 5), 0.05)
    data[0, 1], data[2, 3], data[4, 1] = 0.9, 0.8, 0.7
    data[1, 1] = 0.3
    return data
