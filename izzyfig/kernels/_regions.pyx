# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled key-region detection (see /work/shared/reference/regions.md).

The whole algorithm -- seeds, growth rounds, merging, final ordering -- runs here without the
GIL. Every rectangle statistic costs O(1) thanks to summed-area tables built once per matrix.

Numerics (the kernel must take exactly the decisions of ``izzyfig.kernels.reference``):

- Prefix sums of A and A**2 are kept as double-double numbers (an unevaluated ``hi + lo`` pair
  of float64), accumulated as cascaded sums: ``two_sum`` carries each rounding error into
  ``lo`` and squares of float64 are split exactly with ``fma``. A rectangle sum by
  inclusion-exclusion is then accurate to ~1e-30 relative to the matrix total (the tables
  hold twice the float64 precision), so after one final rounding it is the
  correctly rounded sum of the cells in all but contrived cases -- the same number the
  reference gets from ``math.fsum``. Means, border means, scores and the final ordering
  are therefore bit-identical to the reference, ties included. Plain float64 prefix sums would
  lose up to ``log2(total / rectangle sum)`` bits (~1e-10 relative for a 2x2 block of a
  1024x1024 softmax matrix).
- The variance is ``(n*Q - S*S) / n**2`` with the numerator in double-double and one final
  rounding of the quotient: the correctly rounded variance, which the reference computes
  exactly with integers. Equal mathematical std ratios (``ratio <= 1 / merge_std_threshold``
  at equality, common with few distinct values) are thus decided identically. The
  numerator's error is ~1e-32 of the matrix's sum of squares, so the relative error of the
  std stays below 1e-15 unless a rectangle's spread is tiny against the matrix's magnitude
  (values clustered within ~1e-7 of each other: ~1e-10). It is clamped at 0.
- A rectangle whose cells are all equal has std exactly 0, decided by exact integer counts of
  "differs from the right/lower neighbour" steps, not by the variance formula: the merge ratio
  is +inf when both parts are constant, and a 1e-17 variance would make it finite.
- Memory: 48 bytes per matrix cell for the tables (50 MB at 1024x1024), freed on return.
- Nothing here contracts into fused multiply-adds on x86-64 (no ``-mfma``); the mean/score path
  has no ``a*b + c`` pattern, so it is bit-stable even where the compiler contracts.
"""
from cython cimport floating
from libc.math cimport INFINITY, fma, log1p, sqrt
from libc.stdlib cimport free, malloc

import numpy as np

cdef enum:
    MAX_ROUNDS = 1000
    SIDE_TOP = 0
    SIDE_LEFT = 1
    SIDE_BOTTOM = 2
    SIDE_RIGHT = 3

ctypedef struct DD:
    # an unevaluated sum hi + lo, |lo| of the order of ulp(hi) or below
    double hi
    double lo

ctypedef struct Rect:
    Py_ssize_t top
    Py_ssize_t left
    Py_ssize_t bottom
    Py_ssize_t right

ctypedef struct Cell:
    double value
    Py_ssize_t index

ctypedef struct Tables:
    # All arrays are row-major. (rows+1, cols+1) prefix tables have a zero first row/column.
    Py_ssize_t rows
    Py_ssize_t cols
    double* sum_hi          # (rows+1, cols+1): sum of A[:i, :j]
    double* sum_lo
    double* sq_hi           # (rows+1, cols+1): sum of A[:i, :j]**2
    double* sq_lo
    Py_ssize_t* row_steps   # (rows+1, cols+1): count of A[r, c] != A[r, c+1] for r < i, c < j
    Py_ssize_t* col_steps   # (rows, cols): count of A[r, c] != A[r+1, c] for r < i

ctypedef struct Growth:
    Py_ssize_t n_slots
    Rect* slots
    bint* filled
    Rect* reserve
    Py_ssize_t reserve_next
    Py_ssize_t reserve_len
    Py_ssize_t max_steps
    Py_ssize_t proximity
    double expansion_threshold
    double merge_limit      # 1 / merge_std_threshold
    Py_ssize_t* collected   # scratch, n_slots entries


# ---------------------------------------------------------------- double-double arithmetic

cdef inline DD two_sum(double a, double b) noexcept nogil:
    cdef DD r
    cdef double v
    r.hi = a + b
    v = r.hi - a
    r.lo = (a - (r.hi - v)) + (b - v)
    return r


cdef inline DD quick_two_sum(double a, double b) noexcept nogil:
    # requires |a| >= |b| or a == 0
    cdef DD r
    r.hi = a + b
    r.lo = b - (r.hi - a)
    return r


cdef inline DD dd_add(DD a, DD b) noexcept nogil:
    cdef DD s = two_sum(a.hi, b.hi)
    cdef DD t = two_sum(a.lo, b.lo)
    s = quick_two_sum(s.hi, s.lo + t.hi)
    return quick_two_sum(s.hi, s.lo + t.lo)


cdef inline DD dd_sub(DD a, DD b) noexcept nogil:
    b.hi = -b.hi
    b.lo = -b.lo
    return dd_add(a, b)


cdef inline DD two_prod(double a, double b) noexcept nogil:
    cdef DD r
    r.hi = a * b
    r.lo = fma(a, b, -r.hi)
    return r


cdef inline DD dd_mul(DD a, DD b) noexcept nogil:
    cdef DD p = two_prod(a.hi, b.hi)
    return quick_two_sum(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi))


cdef inline DD dd_mul_double(DD a, double b) noexcept nogil:
    cdef DD p = two_prod(a.hi, b)
    return quick_two_sum(p.hi, p.lo + a.lo * b)


# ---------------------------------------------------------------- summed-area tables

cdef inline void accumulate(DD* running, double x) noexcept nogil:
    """running += x as a cascaded sum: the hi chain is one add, the error goes to lo.

    Like Ogita-Rump-Oishi Sum2, as accurate as summing in twice the precision, but the
    dependency chain per cell is a single add instead of a whole double-double addition.
    """
    cdef DD s = two_sum(running.hi, x)
    running.hi = s.hi
    running.lo += s.lo


cdef void fill_tables(const floating[:, ::1] a, Tables* t) noexcept nogil:
    """Prefix sums (double-double) of A and A**2 and the step counts of constant detection."""
    cdef Py_ssize_t rows = t.rows, cols = t.cols, width = cols + 1
    cdef Py_ssize_t i, j, up, here, steps
    cdef double x
    cdef DD row_sum, row_sq, square, total
    for j in range(width):
        t.sum_hi[j] = t.sum_lo[j] = t.sq_hi[j] = t.sq_lo[j] = 0.0
        t.row_steps[j] = 0
    for i in range(rows):
        row_sum.hi = row_sum.lo = row_sq.hi = row_sq.lo = 0.0
        steps = 0
        up = i * width
        here = up + width
        t.sum_hi[here] = t.sum_lo[here] = t.sq_hi[here] = t.sq_lo[here] = 0.0
        t.row_steps[here] = 0
        for j in range(cols):
            x = a[i, j]
            accumulate(&row_sum, x)
            if floating is float:
                accumulate(&row_sq, x * x)  # exact: 24-bit mantissas
            else:
                square = two_prod(x, x)
                accumulate(&row_sq, square.hi)
                row_sq.lo += square.lo
            total = two_sum(t.sum_hi[up + j + 1], row_sum.hi)
            t.sum_hi[here + j + 1] = total.hi
            t.sum_lo[here + j + 1] = t.sum_lo[up + j + 1] + row_sum.lo + total.lo
            total = two_sum(t.sq_hi[up + j + 1], row_sq.hi)
            t.sq_hi[here + j + 1] = total.hi
            t.sq_lo[here + j + 1] = t.sq_lo[up + j + 1] + row_sq.lo + total.lo
            if j + 1 < cols and a[i, j] != a[i, j + 1]:
                steps += 1
            t.row_steps[here + j + 1] = t.row_steps[up + j + 1] + steps
    for j in range(cols):
        t.col_steps[j] = 0
    for i in range(1, rows):
        for j in range(cols):
            t.col_steps[i * cols + j] = t.col_steps[(i - 1) * cols + j] + (a[i - 1, j] != a[i, j])


cdef inline DD box(const double* hi, const double* lo, Py_ssize_t width, Rect r) noexcept nogil:
    """Sum of a double-double prefix table over the inclusive rectangle ``r``."""
    cdef Py_ssize_t top = r.top * width, bottom = (r.bottom + 1) * width
    cdef Py_ssize_t left = r.left, right = r.right + 1
    cdef DD lower = dd_sub(DD(hi[bottom + right], lo[bottom + right]),
                           DD(hi[bottom + left], lo[bottom + left]))
    cdef DD upper = dd_sub(DD(hi[top + right], lo[top + right]),
                           DD(hi[top + left], lo[top + left]))
    return dd_sub(lower, upper)


cdef inline Py_ssize_t area(Rect r) noexcept nogil:
    return (r.bottom - r.top + 1) * (r.right - r.left + 1)


cdef inline bint is_constant(const Tables* t, Rect r) noexcept nogil:
    """Whether all cells of ``r`` are equal: no step inside any row, none down its first column."""
    cdef Py_ssize_t width = t.cols + 1
    cdef Py_ssize_t top = r.top * width, bottom = (r.bottom + 1) * width
    cdef Py_ssize_t across = (t.row_steps[bottom + r.right] - t.row_steps[bottom + r.left]
                              - t.row_steps[top + r.right] + t.row_steps[top + r.left])
    cdef Py_ssize_t down = (t.col_steps[r.bottom * t.cols + r.left]
                            - t.col_steps[r.top * t.cols + r.left])
    return across == 0 and down == 0


cdef inline DD rect_sum(const Tables* t, Rect r) noexcept nogil:
    return box(t.sum_hi, t.sum_lo, t.cols + 1, r)


cdef inline double rect_mean(const Tables* t, Rect r) noexcept nogil:
    # box() ends in quick_two_sum, so .hi is the rounded value of the double-double sum
    return rect_sum(t, r).hi / area(r)


cdef double rect_std(const Tables* t, Rect r) noexcept nogil:
    """Population std of ``r``: sqrt of the rounded (n*Q - S*S) / n**2; 0 for constant ``r``."""
    cdef double count = <double>area(r)
    cdef DD s, q, spread, divisor, rest
    cdef double variance
    if is_constant(t, r):
        return 0.0
    s = rect_sum(t, r)
    q = box(t.sq_hi, t.sq_lo, t.cols + 1, r)
    spread = dd_sub(dd_mul_double(q, count), dd_mul(s, s))
    # spread / count**2 with one final rounding, like the reference's exact fraction
    divisor = two_prod(count, count)
    variance = spread.hi / divisor.hi
    rest = dd_sub(spread, dd_mul_double(divisor, variance))
    variance = variance + rest.hi / divisor.hi
    if variance <= 0.0:
        return 0.0
    return sqrt(variance)


cdef double border_mean(const Tables* t, Rect r) noexcept nogil:
    """Mean of the 1-cell ring around ``r`` (corners with the top/bottom rows), 0 if none."""
    cdef Py_ssize_t width = t.cols + 1, count = 0
    cdef Py_ssize_t first = r.left - 1 if r.left > 0 else 0
    cdef Py_ssize_t last = r.right + 1 if r.right < t.cols - 1 else t.cols - 1
    cdef DD total = DD(0.0, 0.0)
    if r.top > 0:
        total = dd_add(total, box(t.sum_hi, t.sum_lo, width, Rect(r.top - 1, first, r.top - 1, last)))
        count += last - first + 1
    if r.bottom < t.rows - 1:
        total = dd_add(total, box(t.sum_hi, t.sum_lo, width,
                                  Rect(r.bottom + 1, first, r.bottom + 1, last)))
        count += last - first + 1
    if r.left > 0:
        total = dd_add(total, box(t.sum_hi, t.sum_lo, width,
                                  Rect(r.top, r.left - 1, r.bottom, r.left - 1)))
        count += r.bottom - r.top + 1
    if r.right < t.cols - 1:
        total = dd_add(total, box(t.sum_hi, t.sum_lo, width,
                                  Rect(r.top, r.right + 1, r.bottom, r.right + 1)))
        count += r.bottom - r.top + 1
    if count == 0:
        return 0.0
    return total.hi / count


cdef double score(const Tables* t, Rect r) noexcept nogil:
    """Inside mean x contrast to the border x (1 + log1p(cells) / 10)."""
    cdef double inside = rect_mean(t, r)
    cdef double border = border_mean(t, r)
    cdef double size_factor = log1p(<double>area(r)) / 10.0
    if border == 0.0:
        return inside * (1.0 + size_factor)
    return inside * (inside / border) * (1.0 + size_factor)


# ---------------------------------------------------------------- rectangle geometry

cdef inline bint same(Rect a, Rect b) noexcept nogil:
    return a.top == b.top and a.left == b.left and a.bottom == b.bottom and a.right == b.right


cdef inline bint overlap(Rect a, Rect b) noexcept nogil:
    return not (a.right < b.left or b.right < a.left or a.bottom < b.top or b.bottom < a.top)


cdef inline bint nearby(Rect a, Rect b, Py_ssize_t threshold) noexcept nogil:
    cdef Py_ssize_t h = max(a.left, b.left) - min(a.right, b.right)
    cdef Py_ssize_t v = max(a.top, b.top) - min(a.bottom, b.bottom)
    return max(0, h) <= threshold and max(0, v) <= threshold


cdef inline Rect bbox(Rect a, Rect b) noexcept nogil:
    return Rect(min(a.top, b.top), min(a.left, b.left), max(a.bottom, b.bottom), max(a.right, b.right))


cdef inline Rect expanded(Rect r, int side, Py_ssize_t step, Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    if side == SIDE_TOP:
        r.top = max(0, r.top - step)
    elif side == SIDE_LEFT:
        r.left = max(0, r.left - step)
    elif side == SIDE_BOTTOM:
        r.bottom = min(rows - 1, r.bottom + step)
    else:
        r.right = min(cols - 1, r.right + step)
    return r


# ---------------------------------------------------------------- seeds

cdef inline Py_ssize_t distance(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return a - b if a >= b else b - a


cdef inline bint before(Cell a, Cell b) noexcept nogil:
    """Visiting order of seeds: larger value first, larger flat index first on ties."""
    return a.value > b.value or (a.value == b.value and a.index > b.index)


cdef void sift_down(Cell* heap, Py_ssize_t size, Py_ssize_t k) noexcept nogil:
    """Restore a heap whose root is the cell visited *last* among those kept."""
    cdef Py_ssize_t child
    cdef Cell moving = heap[k]
    while True:
        child = 2 * k + 1
        if child >= size:
            break
        if child + 1 < size and before(heap[child], heap[child + 1]):
            child += 1
        if before(heap[child], moving):
            break
        heap[k] = heap[child]
        k = child
    heap[k] = moving


cdef void first_cells(const floating[:, ::1] a, Cell* heap, Py_ssize_t m) noexcept nogil:
    """The first ``m`` cells in visiting order, sorted, in ``heap[:m]``.

    One pass with a bounded heap; scanning from the last cell keeps ties (e.g. the zeros of a
    causal mask) from replacing the root over and over.
    """
    cdef Py_ssize_t rows = a.shape[0], cols = a.shape[1], size = 0, i, j, k
    cdef Cell cell, last
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            cell = Cell(a[i, j], i * cols + j)
            if size < m:
                heap[size] = cell
                size += 1
                if size == m:
                    for k in range(m // 2 - 1, -1, -1):
                        sift_down(heap, m, k)
            elif before(cell, heap[0]):
                heap[0] = cell
                sift_down(heap, m, 0)
    for k in range(m - 1, 0, -1):  # heap sort: the last-visited root goes to the back
        last = heap[k]
        heap[k] = heap[0]
        heap[0] = last
        sift_down(heap, k, 0)


cdef Py_ssize_t select_seeds(const floating[:, ::1] a, Cell* heap, Py_ssize_t m,
                             Py_ssize_t wanted, Py_ssize_t min_distance, Py_ssize_t* seed_rows,
                             Py_ssize_t* seed_cols) noexcept nogil:
    """Accept cells in visiting order unless an accepted seed is within ``min_distance`` in
    both axes. ``m`` must be at least ``seed_budget(...)`` so the first ``m`` cells suffice."""
    cdef Py_ssize_t cols = a.shape[1], k, s, r, c, found = 0
    cdef bint crowded
    first_cells(a, heap, m)
    for k in range(m):
        if found == wanted:
            break
        r = heap[k].index // cols
        c = heap[k].index % cols
        crowded = False
        for s in range(found):
            if (distance(r, seed_rows[s]) <= min_distance
                    and distance(c, seed_cols[s]) <= min_distance):
                crowded = True
                break
        if not crowded:
            seed_rows[found] = r
            seed_cols[found] = c
            found += 1
    return found


cdef Py_ssize_t seed_budget(Py_ssize_t cells, Py_ssize_t wanted, Py_ssize_t min_distance) noexcept:
    """How many cells, in visiting order, the seed search may visit at most.

    Every rejected cell lies in the (2*min_distance+1)**2 box of an accepted seed, so before
    ``wanted`` seeds are accepted at most wanted * box cells are rejected.
    """
    cdef Py_ssize_t box = min(cells, (2 * min_distance + 1) * (2 * min_distance + 1))
    return min(cells, wanted * (box + 1))


# ---------------------------------------------------------------- growth rounds

cdef bint best_expansion(const Tables* t, const Growth* g, Rect current, Rect* best) noexcept nogil:
    """Try every side and step; ``best`` gets the accepted candidate. False if none was."""
    cdef double best_score = score(t, current), candidate_score
    cdef bint found = False
    cdef int side
    cdef Py_ssize_t step
    cdef Rect candidate, previous
    for side in range(4):
        previous = current
        for step in range(1, g.max_steps + 1):
            candidate = expanded(current, side, step, t.rows, t.cols)
            # Once clamped, every larger step repeats this candidate (or ``current``) and
            # cannot change ``best``: it was accepted already or loses the same comparison.
            if same(candidate, previous):
                break
            previous = candidate
            candidate_score = score(t, candidate)
            if candidate_score > best_score * g.expansion_threshold:
                best[0] = candidate
                best_score = candidate_score
                found = True
    return found


cdef Py_ssize_t collect_neighbours(const Growth* g, Py_ssize_t i, Rect best) noexcept nogil:
    """Slots overlapping ``best``, then slots merely near it, each group in slot order."""
    cdef Py_ssize_t j, n = 0
    for j in range(g.n_slots):
        if j != i and g.filled[j] and overlap(best, g.slots[j]):
            g.collected[n] = j
            n += 1
    for j in range(g.n_slots):
        if (j != i and g.filled[j] and not overlap(best, g.slots[j])
                and nearby(best, g.slots[j], g.proximity)):
            g.collected[n] = j
            n += 1
    return n


cdef bint should_merge(const Tables* t, Rect a, Rect b, double merge_limit) noexcept nogil:
    cdef double size_a = <double>area(a), size_b = <double>area(b)
    cdef double merged_std = rect_std(t, bbox(a, b))
    cdef double weighted = (rect_std(t, a) * size_a + rect_std(t, b) * size_b) / (size_a + size_b)
    cdef double ratio = merged_std / weighted if weighted > 0.0 else INFINITY
    return ratio <= merge_limit


cdef bint visit_slot(const Tables* t, Growth* g, Py_ssize_t i) noexcept nogil:
    """One visit of slot ``i``: expand, or merge with its neighbours; True if anything changed."""
    cdef Rect current = g.slots[i], best, merged
    cdef Py_ssize_t n, k, j
    if not best_expansion(t, g, current, &best):
        return False
    n = collect_neighbours(g, i, best)
    if n == 0:
        g.slots[i] = best
        return True
    for k in range(n):
        if not should_merge(t, current, g.slots[g.collected[k]], g.merge_limit):
            return False
    merged = current
    for k in range(n):
        merged = bbox(merged, g.slots[g.collected[k]])
        g.filled[g.collected[k]] = False
    g.slots[i] = merged
    for k in range(n):
        if g.reserve_next == g.reserve_len:
            break
        j = 0
        while g.filled[j]:
            j += 1
        g.slots[j] = g.reserve[g.reserve_next]
        g.filled[j] = True
        g.reserve_next += 1
    return True


cdef void grow(const Tables* t, Growth* g) noexcept nogil:
    cdef Py_ssize_t round_, i
    cdef bint changed
    for round_ in range(MAX_ROUNDS):
        changed = False
        for i in range(g.n_slots):
            if g.filled[i] and visit_slot(t, g, i):
                changed = True
        if not changed:
            break


cdef Py_ssize_t finish(const Tables* t, Growth* g, Py_ssize_t n_seeds, Rect* out,
                       double* means) noexcept nogil:
    """Drop empty slots, top up from the reserve, sort by mean (highest first, stable)."""
    cdef Py_ssize_t i, k, n = 0
    cdef Rect moving
    cdef double moving_mean
    for i in range(g.n_slots):
        if g.filled[i]:
            out[n] = g.slots[i]
            n += 1
    while n < n_seeds and g.reserve_next < g.reserve_len:
        out[n] = g.reserve[g.reserve_next]
        g.reserve_next += 1
        n += 1
    for i in range(n):
        means[i] = rect_mean(t, out[i])
    for i in range(1, n):
        moving = out[i]
        moving_mean = means[i]
        k = i
        while k > 0 and means[k - 1] < moving_mean:
            out[k] = out[k - 1]
            means[k] = means[k - 1]
            k -= 1
        out[k] = moving
        means[k] = moving_mean
    return n


cdef void start_growth(Growth* g, Py_ssize_t found, Py_ssize_t n_seeds, const Py_ssize_t* seed_rows,
                       const Py_ssize_t* seed_cols, double expansion_threshold,
                       double merge_std_threshold, Py_ssize_t proximity_threshold,
                       Py_ssize_t max_expansion_steps) noexcept nogil:
    """The first ``n_seeds`` seeds become 1x1 rectangles in slots, the rest wait in a FIFO."""
    cdef Py_ssize_t k
    g.n_slots = min(n_seeds, found)
    g.reserve_len = found - g.n_slots
    g.reserve_next = 0
    for k in range(found):
        if k < g.n_slots:
            g.slots[k] = Rect(seed_rows[k], seed_cols[k], seed_rows[k], seed_cols[k])
            g.filled[k] = True
        else:
            g.reserve[k - g.n_slots] = Rect(seed_rows[k], seed_cols[k], seed_rows[k], seed_cols[k])
    g.max_steps = max_expansion_steps
    g.proximity = proximity_threshold
    g.expansion_threshold = expansion_threshold
    g.merge_limit = 1.0 / merge_std_threshold


# ---------------------------------------------------------------- memory and entry points

cdef void* checked_malloc(size_t count, size_t size) except NULL:
    cdef void* p = malloc(count * size if count > 0 else 1)
    if p == NULL:
        raise MemoryError(f"izzyfig region kernel: cannot allocate {count} x {size} bytes")
    return p


cdef class SummedAreaTables:
    """Owns the tables of one (rows, cols) matrix; freed with the object."""
    cdef Tables t

    def __cinit__(self, Py_ssize_t rows, Py_ssize_t cols):
        cdef Py_ssize_t table = (rows + 1) * (cols + 1)
        self.t.rows, self.t.cols = rows, cols
        self.t.sum_hi = <double*>checked_malloc(table, sizeof(double))
        self.t.sum_lo = <double*>checked_malloc(table, sizeof(double))
        self.t.sq_hi = <double*>checked_malloc(table, sizeof(double))
        self.t.sq_lo = <double*>checked_malloc(table, sizeof(double))
        self.t.row_steps = <Py_ssize_t*>checked_malloc(table, sizeof(Py_ssize_t))
        self.t.col_steps = <Py_ssize_t*>checked_malloc(rows * cols, sizeof(Py_ssize_t))

    def __dealloc__(self):
        free(self.t.sum_hi)
        free(self.t.sum_lo)
        free(self.t.sq_hi)
        free(self.t.sq_lo)
        free(self.t.row_steps)
        free(self.t.col_steps)


cdef class GrowthBuffers:
    """Owns the seed heap, the slots, the reserve and the output of one search."""
    cdef Growth g
    cdef Cell* heap
    cdef Py_ssize_t* seed_rows
    cdef Py_ssize_t* seed_cols
    cdef Rect* out
    cdef double* means

    def __cinit__(self, Py_ssize_t wanted, Py_ssize_t budget):
        self.heap = <Cell*>checked_malloc(budget, sizeof(Cell))
        self.seed_rows = <Py_ssize_t*>checked_malloc(wanted, sizeof(Py_ssize_t))
        self.seed_cols = <Py_ssize_t*>checked_malloc(wanted, sizeof(Py_ssize_t))
        self.g.slots = <Rect*>checked_malloc(wanted, sizeof(Rect))
        self.g.reserve = <Rect*>checked_malloc(wanted, sizeof(Rect))
        self.g.filled = <bint*>checked_malloc(wanted, sizeof(bint))
        self.g.collected = <Py_ssize_t*>checked_malloc(wanted, sizeof(Py_ssize_t))
        self.out = <Rect*>checked_malloc(wanted, sizeof(Rect))
        self.means = <double*>checked_malloc(wanted, sizeof(double))

    def __dealloc__(self):
        free(self.heap)
        free(self.seed_rows)
        free(self.seed_cols)
        free(self.g.slots)
        free(self.g.reserve)
        free(self.g.filled)
        free(self.g.collected)
        free(self.out)
        free(self.means)


def find_regions(const floating[:, ::1] matrix, Py_ssize_t n_seeds, Py_ssize_t min_distance,
                 double expansion_threshold, double merge_std_threshold,
                 Py_ssize_t proximity_threshold, Py_ssize_t max_expansion_steps):
    """Key regions of ``matrix`` (rows, cols) as (top, left, bottom, right), highest mean first.

    No validation here (see ``izzyfig.kernels.regions``): ``matrix`` must be non-empty and
    finite, ``n_seeds`` in [1, rows*cols], the other integers in [0, max(rows, cols)]
    (``max_expansion_steps`` >= 1) and both thresholds > 0.
    """
    cdef Py_ssize_t rows = matrix.shape[0], cols = matrix.shape[1], i, found, n_out
    cdef Py_ssize_t wanted = min(3 * n_seeds, rows * cols)
    cdef Py_ssize_t budget = seed_budget(rows * cols, wanted, min_distance)
    cdef SummedAreaTables tables = SummedAreaTables(rows, cols)
    cdef GrowthBuffers b = GrowthBuffers(wanted, budget)
    with nogil:
        fill_tables(matrix, &tables.t)
        found = select_seeds(matrix, b.heap, budget, wanted, min_distance, b.seed_rows, b.seed_cols)
        start_growth(&b.g, found, n_seeds, b.seed_rows, b.seed_cols, expansion_threshold,
                     merge_std_threshold, proximity_threshold, max_expansion_steps)
        grow(&tables.t, &b.g)
        n_out = finish(&tables.t, &b.g, n_seeds, b.out, b.means)
    regions = []
    for i in range(n_out):
        regions.append((b.out[i].top, b.out[i].left, b.out[i].bottom, b.out[i].right))
    return regions


def rectangle_statistics(const floating[:, ::1] matrix, const Py_ssize_t[:, ::1] rects):
    """Mean, std, border mean and score of each rectangle, as the search computes them.

    For tests of the numerics. ``rects`` (n, 4) holds inclusive (top, left, bottom, right)
    inside the matrix; the result is (n, 4) float64.
    """
    cdef Py_ssize_t rows = matrix.shape[0], cols = matrix.shape[1], k
    cdef SummedAreaTables tables = SummedAreaTables(rows, cols)
    cdef double[:, ::1] result
    cdef Rect r
    if rects.shape[1] != 4:
        raise ValueError("rects must have shape (n, 4)")
    for k in range(rects.shape[0]):
        if not (0 <= rects[k, 0] <= rects[k, 2] < rows and 0 <= rects[k, 1] <= rects[k, 3] < cols):
            raise ValueError(f"rectangle {k} is not inside the {rows}x{cols} matrix")
    out = np.empty((rects.shape[0], 4))
    result = out
    with nogil:
        fill_tables(matrix, &tables.t)
        for k in range(rects.shape[0]):
            r = Rect(rects[k, 0], rects[k, 1], rects[k, 2], rects[k, 3])
            result[k, 0] = rect_mean(&tables.t, r)
            result[k, 1] = rect_std(&tables.t, r)
            result[k, 2] = border_mean(&tables.t, r)
            result[k, 3] = score(&tables.t, r)
    return out
