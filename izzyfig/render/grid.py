"""Cell geometry: where each row and column of a heatmap lies in data units.

Rows run downwards (row 0 at the top, y grows down); a plain cell is 1x1. The
table-lens layout widens the columns and heightens the rows that hold the top-n
cells to ``enlarged_size``, which is why positions come from edges, not indices.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class CellGrid:
    """Cell edges of a heatmap; ``col_edges`` has shape (cols + 1,), ``row_edges`` (rows + 1,)."""

    col_edges: np.ndarray
    row_edges: np.ndarray

    @classmethod
    def from_sizes(cls, col_widths: np.ndarray, row_heights: np.ndarray) -> CellGrid:
        return cls(_edges(col_widths), _edges(row_heights))

    @classmethod
    def uniform(cls, rows: int, cols: int) -> CellGrid:
        return cls.from_sizes(np.ones(cols), np.ones(rows))

    @classmethod
    def table_lens(cls, rows: int, cols: int, top: np.ndarray, enlarged_size: float) -> CellGrid:
        """Rows and columns of the ``top`` cells (shape (k, 2), (row, col)) get ``enlarged_size``."""
        heights = np.ones(rows)
        widths = np.ones(cols)
        heights[top[:, 0]] = enlarged_size
        widths[top[:, 1]] = enlarged_size
        return cls.from_sizes(widths, heights)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.row_edges) - 1, len(self.col_edges) - 1)

    @property
    def width(self) -> float:
        return float(self.col_edges[-1])

    @property
    def height(self) -> float:
        return float(self.row_edges[-1])

    @property
    def col_widths(self) -> np.ndarray:
        return np.diff(self.col_edges)

    @property
    def row_heights(self) -> np.ndarray:
        return np.diff(self.row_edges)

    @property
    def col_centers(self) -> np.ndarray:
        return (self.col_edges[:-1] + self.col_edges[1:]) / 2

    @property
    def row_centers(self) -> np.ndarray:
        return (self.row_edges[:-1] + self.row_edges[1:]) / 2

    def box_rect(self, box: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
        """(x, y, width, height) in data units of an inclusive (top, left, bottom, right) box."""
        top, left, bottom, right = box
        x0, x1 = self.col_edges[left], self.col_edges[right + 1]
        y0, y1 = self.row_edges[top], self.row_edges[bottom + 1]
        return (float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def _edges(sizes: np.ndarray) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(np.asarray(sizes, dtype=np.float64))))


def top_cells(data: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` largest cells of a (rows, cols) matrix as (k, 2) (row, col), largest first.

    Exactly ``min(n, size)`` cells; ties go to the smaller flat index, so the
    choice never depends on the sort algorithm.
    """
    count = min(int(n), data.size)
    if count <= 0:
        return np.zeros((0, 2), dtype=np.intp)
    order = np.argsort(-data.ravel(), kind="stable")[:count]
    return np.column_stack(np.unravel_index(order, data.shape)).astype(np.intp)
