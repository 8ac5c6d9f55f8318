"""Small cases worked out by hand from /work/shared/reference/regions.md.

Each case runs through both the public (compiled) function and the NumPy reference, so it
checks the oracle against the document as well as the kernel.
Notation in the comments: one-row matrices, [l,r] is the rectangle (0, l, 0, r), cN the 1x1
rectangle at column N, sfN = log1p(N) / 10 (sf1 .0693, sf2 .1099, sf3 .1386, sf4 .1609).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from izzyfig.kernels import _regions, find_attention_regions_with_merging, reference

IMPLEMENTATIONS = {
    "compiled": find_attention_regions_with_merging,
    "reference": reference.find_regions_reference,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def find(request):
    return IMPLEMENTATIONS[request.param]


def test_single_cell(find):
    # One seed; every candidate clamps back to the cell, so nothing ever expands.
    assert find(np.array([[5.0]])) == [(0, 0, 0, 0)]


def test_fewer_regions_than_seeds_when_cells_run_out(find):
    # Seeds: c1 (value 2), then c0 is within min_distance=2 of it -> one seed only.
    # c1: inside 2, border {1} -> score 2*2*(1+sf1) = 4.277; the only candidate [0,1] has
    # no border: 1.5*(1+sf2) = 1.665 <= 0.7*4.277 -> rejected.
    assert find(np.array([[1.0, 2.0]]), n_seeds=5) == [(0, 1, 0, 1)]


@pytest.mark.parametrize("value", [1.0, 0.1])
def test_constant_row_never_merges(find, value):
    # Seeds with min_distance=1, ties visited by larger flat index first: c4, (c3 too close),
    # c2, (c1), c0 -> slots [c4, c2], reserve [c0].
    # Slot 0 c4: score v*(v/v)*(1+sf1); left steps [3,4], [2,4], [1,4] each score more (size
    # bonus) -> best [1,4], overlapping slot 1 c2. should_merge(c4, c2): both parts are
    # constant, w = 0 -> ratio +inf -> refused (the *exact* std 0 matters: np.std of three
    # cells of 0.1 is 1.4e-17). Slot 1 c2: left [1,2], [0,2] accepted, step 3 repeats [0,2];
    # right [2,3] scores 1.110v > 0.7*1.139v, accepted although lower than best; [2,4]
    # accepted; best [2,4] overlaps c4 -> refused again. Nothing changed: stop.
    # Both means equal v -> stable order by slot.
    matrix = np.full((1, 5), value)
    assert find(matrix, n_seeds=2, min_distance=1) == [(0, 4, 0, 4), (0, 2, 0, 2)]


def test_zero_border_gives_no_contrast_bonus(find):
    # 3x4 zeros with A[1,1] = A[1,2] = 9. Seeds: (1,2) first (larger flat index), then every
    # other cell lies within 2 rows and 2 columns of it -> one region.
    # (1,2,1,2): border = 8 ring cells summing to 9 -> 1.125; score 9*8*(1+sf1) = 76.99.
    # Threshold 0.7*76.99 = 53.9. Top/bottom/right candidates: inside 4.5, border 9/7,
    # score 4.5*3.5*(1+sf2) = 17.48. Left (1,1,1,2) holds both 9s but its border is all zeros,
    # so score = inside*(1+sf2) = 9.99 (no contrast factor). All rejected.
    matrix = np.zeros((3, 4))
    matrix[1, 1:3] = 9.0
    assert find(matrix, n_seeds=1) == [(1, 2, 1, 2)]
    assert reference.score(matrix, (1, 1, 1, 2)) == pytest.approx(9 * (1 + math.log1p(2) / 10))


def test_merge_refills_the_first_empty_slot(find):
    # A = [3, 2, 2, 1], n_seeds=2, min_distance=0, one step, proximity 0.
    # Seeds: c0, c2, c1, c3 (ties: larger index first) -> slots [c0, c2], reserve [c1, c3].
    # Round 1, slot 0 c0: score 3*(3/2)*(1+sf1) = 4.812; right [0,1]: 2.5*(2.5/2)*(1+sf2)
    #   = 3.468 > 3.368 -> slot 0 = [0,1] (c2 is 1 column away: h = 1 > 0, not nearby).
    # Slot 1 c2: border {2,1} -> 2.852; left [1,2]: border {3,1}, 2*(2/2)*(1+sf2) = 2.220
    #   > 1.996 accepted; right [2,3]: 1.5*(1.5/2)*(1+sf2) = 1.249 <= 0.7*2.220 rejected.
    #   [1,2] overlaps slot 0 [0,1]: should_merge(c2, [0,1]): bbox [0,2] = {3,2,2} has std
    #   sqrt(2/9) = .4714, w = (0*1 + .5*2)/3 = 1/3, ratio 1.414 <= 1/0.6 -> merge.
    #   Slot 1 = bbox(c2, [0,1]) = [0,2] (the expansion itself is dropped); slot 0 empties and
    #   takes the reserve seed c1 -- the first empty slot, *before* the visited one.
    # Round 2, slot 0 c1: border {3,2}: 2*(2/2.5)*(1+sf1) = 1.711; left [0,1] 3.468 accepted;
    #   right [1,2] 2.220 <= 0.7*3.468 rejected. [0,1] overlaps [0,2]: should_merge(c1, [0,2]):
    #   w = .4714*3/4 = .3536, ratio 1.333 -> merge: slot 0 = [0,2], slot 1 takes c3.
    # Slot 1 c3: left [2,3] accepted, overlaps [0,2]: bbox [0,3] std sqrt(1/2) = .7071,
    #   w = .3536, ratio 2 > 1.667 -> refused.
    # Round 3: [0,2] scores (7/3)*(7/3)*(1+sf3) = 6.199; [0,3] has no border: 2*(1+sf4)
    #   = 2.322 <= 4.339; c3 is refused as before -> stop. Means 7/3 and 1.
    matrix = np.array([[3.0, 2.0, 2.0, 1.0]])
    regions = find(matrix, n_seeds=2, min_distance=0, max_expansion_steps=1, proximity_threshold=0)
    assert regions == [(0, 0, 0, 2), (0, 3, 0, 3)]


def test_std_ratio_equal_to_the_limit_merges(find):
    # A = [0, 1, 0, 1, 0], n_seeds=2, min_distance=0, expansion 0.5, merge_std 1.0 (limit 1),
    # one step, proximity 0. Seeds c3, c1, c4, c2, c0 -> slots [c3, c1], reserve [c4, c2, c0].
    # Round 1: c3 (border 0, score 1+sf1 = 1.069): left [2,3] .555 > .535 accepted, right
    #   [3,4] .555 > .277 accepted -> slot 0 = [3,4]. c1 likewise -> [1,2] (h = 3-2 = 1 > 0).
    # Round 2: [3,4] (.555): left [2,4] = (1/3)*(1/3)*(1+sf3) = .127 rejected, right clamped.
    #   [1,2] (.555): left [0,2] .127 rejected; right [1,3]: 2/3 with zero border,
    #   (2/3)*(1+sf3) = .759 accepted; overlaps [3,4]. should_merge([1,2], [3,4]): bbox [1,4]
    #   = {1,0,1,0} std .5, parts std .5 each, w = .5, ratio exactly 1 <= 1 -> merge;
    #   slot 1 = [1,4], slot 0 takes c4.
    # Round 3: c4 (score 0): left [3,4] accepted, overlaps [1,4]: w = (0 + .5*4)/5 = .4,
    #   ratio 1.25 -> refused. [1,4]: left [0,4] accepted, overlaps c4 -> refused. Stop.
    matrix = np.array([[0.0, 1.0, 0.0, 1.0, 0.0]])
    regions = find(matrix, n_seeds=2, min_distance=0, expansion_threshold=0.5,
                   merge_std_threshold=1.0, proximity_threshold=0, max_expansion_steps=1)
    assert regions == [(0, 1, 0, 4), (0, 4, 0, 4)]


def test_seeds_skip_cells_close_in_both_axes():
    # 9 at (0,0), 8 at (0,2): 2 columns apart > 1 -> accepted; 7 at (2,0) accepted; zeros by
    # descending flat index: (2,2) is 2 away from every seed -> accepted; (2,1), (1,2),
    # (1,1), (1,0), (0,1) are each within 1 row and 1 column of a seed -> skipped.
    matrix = np.array([[9.0, 0.0, 8.0], [0.0, 0.0, 0.0], [7.0, 0.0, 0.0]])
    assert reference.select_seeds(matrix, 9, 1) == [(0, 0), (0, 2), (2, 0), (2, 2)]
    assert reference.select_seeds(matrix, 2, 1) == [(0, 0), (0, 2)]


def test_border_geometry_and_scores():
    # A = arange(9) as 3x3. (1,1,1,1): all 8 other cells border it, mean 32/8 = 4 = inside,
    # score 4*1*(1+sf1). (0,1,1,2) holds {1,2,4,5}, mean 3; border = bottom row (cols 0..2:
    # 6,7,8) + left column (rows 0..1: 0,3) = 24/5 = 4.8; score 3*(3/4.8)*(1+sf4).
    # (0,0,0,0): the corner (1,1) is counted once, with the bottom row: {3,4} + {1}.
    matrix = np.arange(9.0).reshape(3, 3)
    rects = [(1, 1, 1, 1), (0, 1, 1, 2)]
    expected = [(4.0, 4.0, 4 * (1 + math.log1p(1) / 10)),
                (3.0, 4.8, 3 * (3 / 4.8) * (1 + math.log1p(4) / 10))]
    stats = _regions.rectangle_statistics(matrix, np.array(rects, dtype=np.intp))
    for rect, (mean, border, score), row in zip(rects, expected, stats):
        assert reference.score(matrix, rect) == pytest.approx(score, rel=1e-15)
        assert (row[0], row[2]) == (mean, border)
        assert row[3] == pytest.approx(score, rel=1e-15)
    assert sorted(reference.border_cells(matrix, (0, 0, 0, 0)).tolist()) == [1.0, 3.0, 4.0]


@pytest.mark.parametrize(
    ("a", "b", "threshold", "expected"),
    [
        ((0, 0, 0, 0), (0, 2, 0, 2), 1, False),  # one empty column between: h = 2
        ((0, 0, 0, 0), (0, 2, 0, 2), 2, True),
        ((0, 0, 1, 1), (3, 0, 4, 1), 2, True),   # v = 3 - 1 = 2, h = 0
        ((0, 0, 1, 1), (4, 4, 4, 4), 2, False),  # h = v = 3
    ],
)
def test_nearby_uses_facing_edge_index_difference(a, b, threshold, expected):
    assert reference.nearby(a, b, threshold) is expected
