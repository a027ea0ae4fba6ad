"""Near-tied times: R ``survival``'s ``timefix`` rule (``aeqSurv``).

Contract
--------
Rule (R ``survival:::aeqSurv``, the default of ``survfit``, ``survdiff`` and ``coxph``)
    Let ``y`` be the sorted distinct values of every time of the analysis: the exit times of
    all rows (events and censorings, every group and stratum together) and, with delayed
    entry, the entry times too. With ``tol = sqrt(eps) = 2**-26`` and
    ``m = mean(y)`` (times are >= 0, so ``mean(abs(y)) = mean(y)``), two neighbours are
    *tied* when ``dy = y[k+1] - y[k]`` satisfies ``dy <= tol`` or ``dy / m <= tol``. If no
    neighbours are tied nothing changes. Otherwise the *cuts* are ``y[0]`` and every
    ``y[k+1]`` that is not tied to ``y[k]``: each run of chained near-ties (each value within
    the tolerance of the previous one; a run may span more than the tolerance) maps to its
    **smallest** value, and every time ``x`` becomes the largest cut ``<= x`` (R's
    ``findInterval``). A ``(entry, time]`` interval whose two ends map to the same cut has
    become empty: R stops ("an interval has effective length 0"); riskset reports the rows.
Method
    One pass over the values in ascending order (:func:`scan_candidates`: a sorted column,
    or an event table's per-group distinct times -- one group as it is, two merged on the
    fly without writing the merge, more merged pairwise first by :func:`merged`) counts the
    distinct values, sums them (compensated) and keeps every neighbour pair whose gap is at
    most ``max(tol, tol * max(y))``: the *candidates*, a superset of the tied pairs (the
    mean is at most the largest value) that is empty or small for real data. R's exact
    test is then applied to the candidates alone, and :func:`chain_moves` turns the tied
    pairs into the *moves*: each distinct value tied to its predecessor (``src``, ascending)
    and the cut it maps to (``dst``). Rows are remapped by a bucketed, galloping search
    among the moved values only (:func:`remap`); an event table's rows are moved and
    collapsed in place by one pointer walk (:func:`merge_table_rows`).
    :func:`find_moves` decides for raw columns: whole-number times below ``2**25`` are never
    near-tied (distinct integers differ by >= 1 > tol and 1 / m > tol) -- one pass; a time
    column already in ascending order (the study runner orders each endpoint once) is
    scanned in place; anything else costs one sort of a copy of the times (and entries).
    ``m`` is a compensated (Neumaier) sum divided by the count; R sums in long double with a
    correction pass -- the two can differ only when ``dy / m`` lands within an ulp of ``tol``.
Inputs
    float64 arrays of finite values >= 0 (validated before).
Outputs
    :func:`fix_times`: ``(time, entry, n_moved)`` -- new arrays only when something moved
    (the inputs themselves otherwise) and the number of distinct values moved.
Complexity
    Whole-number or sorted times: O(n). Otherwise one O(n log n) sort. With ties, the
    remap is O(n) for spread moved values (O(n log k) at worst). An event table of m
    distinct times in G groups: O(m) for G <= 2, O(m log G) beyond, plus O(m) to collapse
    its rows when something moved.
Reference
    R ``survival`` 3.5-3 ``aeqSurv`` (R/aeqSurv.R), called by ``survfit.formula``,
    ``survdiff`` and ``coxph`` when ``timefix = TRUE``.
"""

from __future__ import annotations

import math

import numpy as np

from riskset.engine._jit import kernel

#: R's tolerance: ``sqrt(.Machine$double.eps)``, exactly ``2**-26``.
TOL = math.sqrt(np.finfo(np.float64).eps)

#: Integers below this bound are never near-tied (``1 / m > TOL`` with room to spare).
_INT_BOUND = 2.0**25


@kernel
def integer_bounded(x, bound):
    """True when every value of ``x`` is a whole number below ``bound``."""
    for i in range(x.shape[0]):
        v = x[i]
        if v != math.floor(v) or v >= bound:
            return False
    return True


@kernel
def scan_two(x, lo, hi, end_b, thr_ub):
    """:func:`scan_candidates` of two ascending segments ``x[lo:hi]`` and ``x[hi:end_b]``,
    merged from both ends at once: the forward merge takes the smaller half in ascending
    order, the backward merge the rest in descending order (ties: the first segment first
    going forward, the second first going back, so the two halves are exactly the stable
    merge cut in two). Two independent chains of loads and compares in one loop run about
    twice as fast as one; the halves are joined at the seam (a value that both reached is
    counted once, the gap across the seam checked)."""
    n = end_b - lo
    nf = n // 2
    prev_f = np.empty(n, dtype=np.float64)
    cur_f = np.empty(n, dtype=np.float64)
    prev_b = np.empty(n, dtype=np.float64)
    cur_b = np.empty(n, dtype=np.float64)
    ncf = 0
    ncb = 0
    kf = 0
    kb = 0
    sf = 0.0
    cf = 0.0
    sb = 0.0
    cb = 0.0
    last_f = 0.0
    last_b = 0.0
    i = lo
    j = hi
    ia = hi - 1
    jb = end_b - 1
    for step in range(n - nf):
        if step < nf:  # forward: the next smallest value
            if i < hi and j < end_b:
                xa = x[i]
                xb = x[j]
                v = min(xa, xb)
                ta = np.int64(xa <= xb)
                i += ta
                j += 1 - ta
            elif i < hi:
                v = x[i]
                i += 1
            else:
                v = x[j]
                j += 1
            if kf == 0 or v != last_f:
                if kf > 0 and v - last_f <= thr_ub:
                    prev_f[ncf] = last_f
                    cur_f[ncf] = v
                    ncf += 1
                t = sf + v
                if abs(sf) >= abs(v):
                    cf += (sf - t) + v
                else:
                    cf += (v - t) + sf
                sf = t
                kf += 1
                last_f = v
        # backward: the next largest value
        if ia >= lo and jb >= hi:
            xa = x[ia]
            xb = x[jb]
            v = max(xa, xb)
            tb = np.int64(xa > xb)
            ia -= tb
            jb -= 1 - tb
        elif ia >= lo:
            v = x[ia]
            ia -= 1
        else:
            v = x[jb]
            jb -= 1
        if kb == 0 or v != last_b:
            if kb > 0 and last_b - v <= thr_ub:
                prev_b[ncb] = v
                cur_b[ncb] = last_b
                ncb += 1
            t = sb + v
            if abs(sb) >= abs(v):
                cb += (sb - t) + v
            else:
                cb += (v - t) + sb
            sb = t
            kb += 1
            last_b = v
    k = kf + kb
    total = (sf + cf) + (sb + cb)
    seam = 0
    if kf > 0 and kb > 0:
        if last_b == last_f:  # one value reached from both sides
            k -= 1
            total = (sf + cf) + ((sb + cb) - last_b)
        elif last_b - last_f <= thr_ub:
            seam = 1
    nc = ncf + seam + ncb
    prev = prev_f[:nc]  # the forward buffer has room for all (n >= nc)
    cur = cur_f[:nc]
    if seam:
        prev[ncf] = last_f
        cur[ncf] = last_b
    for q in range(ncb):  # the backward candidates, in ascending order
        prev[ncf + seam + q] = prev_b[ncb - 1 - q]
        cur[ncf + seam + q] = cur_b[ncb - 1 - q]
    return True, k, total, prev, cur


@kernel
def scan_candidates(x, offsets, thr_ub):
    """One pass over the ascending segments ``x[offsets[g]:offsets[g+1]]`` (one segment, or
    two merged on the fly without writing the merge; duplicates skipped) returning
    ``(ordered, k, total, prev, cur)``: the number ``k`` of distinct values, their
    compensated (Neumaier) sum, and every neighbour pair ``prev[i] < cur[i]`` whose gap is at
    most ``thr_ub`` -- the *candidates*, a superset of R's tied pairs when ``thr_ub`` bounds
    ``max(tol, tol * mean)``. With one segment ``ordered`` is False (and the rest empty) at
    the first descent, so a raw column can be tried as it is. The candidate buffers are
    allocated at full size but only the pages written are ever touched.
    """
    n_seg = offsets.shape[0] - 1
    lo = offsets[0]
    hi = offsets[1]
    if n_seg == 2:
        return scan_two(x, lo, hi, offsets[2], thr_ub)
    end_b = hi
    n = end_b - lo
    prev = np.empty(n, dtype=np.float64)
    cur = np.empty(n, dtype=np.float64)
    nc = 0
    k = 0
    s = 0.0
    comp = 0.0
    if n == 0:
        return True, 0, 0.0, prev, cur
    i = lo
    j = hi
    if j < end_b and x[j] < x[i]:
        last = x[j]
    else:
        last = x[i]
    for _ in range(n):
        if i < hi and j < end_b:
            xa = x[i]
            xb = x[j]
            v = min(xa, xb)
            ta = np.int64(xa <= xb)
            i += ta
            j += 1 - ta
        elif i < hi:
            v = x[i]
            i += 1
        else:
            v = x[j]
            j += 1
        if k > 0 and v == last:
            continue
        if v < last:
            return False, 0, 0.0, prev[:0], cur[:0]
        if k > 0 and v - last <= thr_ub:
            prev[nc] = last
            cur[nc] = v
            nc += 1
        t = s + v
        if abs(s) >= abs(v):
            comp += (s - t) + v
        else:
            comp += (v - t) + s
        s = t
        k += 1
        last = v
    return True, k, s + comp, prev[:nc], cur[:nc]


@kernel
def chain_moves(prev, cur, tied):
    """``(src, dst)`` from the tied candidate pairs, in ascending order: a pair whose
    ``prev`` is the previous tied pair's ``cur`` continues that run (same cut), any other
    starts a run at its ``prev``."""
    k = 0
    for i in range(tied.shape[0]):
        k += tied[i]
    src = np.empty(k, dtype=np.float64)
    dst = np.empty(k, dtype=np.float64)
    p = 0
    cut = 0.0
    last_cur = 0.0
    for i in range(tied.shape[0]):
        if not tied[i]:
            continue
        if p == 0 or prev[i] != last_cur:
            cut = prev[i]
        src[p] = cur[i]
        dst[p] = cut
        last_cur = cur[i]
        p += 1
    return src, dst


@kernel
def merge2(a, b, out):
    """Merge ascending ``a`` and ``b`` into ``out`` (``len(a) + len(b)``), branch-free in
    the inner loop (the comparison picks the source; no unpredictable jump per value)."""
    na = a.shape[0]
    nb = b.shape[0]
    i = 0
    j = 0
    p = 0
    while i < na and j < nb:
        x = a[i]
        y = b[j]
        take_a = x <= y
        out[p] = x if take_a else y
        i += take_a
        j += 1 - take_a
        p += 1
    while i < na:
        out[p] = a[i]
        i += 1
        p += 1
    while j < nb:
        out[p] = b[j]
        j += 1
        p += 1


def merged(x: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The ascending segments ``x[offsets[g]:offsets[g+1]]`` merged into one ascending array
    (``x`` itself for one segment): a tree of two-way merges, O(m log G)."""
    parts = [x[int(offsets[g]):int(offsets[g + 1])] for g in range(offsets.size - 1)]
    parts = [p for p in parts if p.size] or [x[:0]]
    while len(parts) > 1:
        nxt = []
        for i in range(0, len(parts) - 1, 2):
            out = np.empty(parts[i].size + parts[i + 1].size, dtype=np.float64)
            merge2(parts[i], parts[i + 1], out)
            nxt.append(out)
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    return parts[0]


@kernel
def merge_table_rows(time, n_risk, n_event, n_censor, offsets, src, dst):
    """Move an event table's times (right-censored, no entry) by ``(src, dst)`` and collapse
    the rows that now share a time within a group, **in place** (rows only move down);
    returns the new number of rows and ``offsets``. A collapsed row keeps ``n_risk`` of
    its run's first row (those at risk at the cut are those at risk at the group's first
    time of the run: none of the group's times lies between) and sums ``n_event`` and
    ``n_censor`` in row order. ``src`` is ascending, as each group's times are, so one
    pointer walks it per group."""
    n_groups = offsets.shape[0] - 1
    k = src.shape[0]
    out_off = np.zeros(n_groups + 1, dtype=np.int64)
    p = -1
    for g in range(n_groups):
        j = 0
        start = p + 1
        for i in range(offsets[g], offsets[g + 1]):
            t = time[i]
            while j < k and src[j] < t:
                j += 1
            if j < k and src[j] == t:
                t = dst[j]
            if p >= start and time[p] == t:
                n_event[p] += n_event[i]
                n_censor[p] += n_censor[i]
            else:
                p += 1
                r = n_risk[i]
                d = n_event[i]
                c = n_censor[i]
                time[p] = t
                n_risk[p] = r
                n_event[p] = d
                n_censor[p] = c
        out_off[g + 1] = p + 1
    return p + 1, out_off


@kernel
def remap_into(x, src, dst, lo, inv_width, first, out):
    """``out[i]`` = ``dst[j]`` where ``x[i] == src[j]``, else ``x[i]``. ``first[b]`` is the
    first index of ``src`` at or above the start of bucket ``b`` (buckets of ``1 /
    inv_width`` from ``lo`` over ``[src[0], src[-1]]``), so a lookup starts next to its
    answer: a few steps when the moved values are spread, a galloping search when many
    crowd one bucket (O(log k) at worst)."""
    k = src.shape[0]
    hi = src[k - 1]
    nb = first.shape[0]
    for i in range(x.shape[0]):
        v = x[i]
        out[i] = v
        if v < lo or v > hi:
            continue
        b = np.int64((v - lo) * inv_width)
        if b > nb - 1:
            b = nb - 1
        j = first[b]
        while j > 0 and src[j - 1] >= v:  # the bucket computed a rounding too high
            j -= 1
        steps = 0
        while j < k and src[j] < v and steps < 8:
            j += 1
            steps += 1
        if j < k and src[j] < v:  # a crowded bucket: gallop, then bisect
            a = j
            step = 1
            j = a + 1
            while j < k and src[j] < v:
                a = j
                step *= 2
                j = a + step
            if j > k:
                j = k
            while j - a > 1:  # src[a] < v <= src[j] (or j == k)
                mid = (a + j) // 2
                if src[mid] < v:
                    a = mid
                else:
                    j = mid
        if j < k and src[j] == v:
            out[i] = dst[j]


def _moves(sorted_parts: np.ndarray, offsets: np.ndarray, tol: float, *, distinct: bool):
    """``(ordered, moves)`` for ascending segments (one or two): the candidates of one
    :func:`scan_candidates` pass filtered by R's exact test, chained into runs.

    The candidate bound needs an upper bound of the mean of the distinct values: for
    ``distinct`` segments (an event table's) the sum of all values given (values shared by
    segments only add) over the length of the largest segment (the pool has at least as
    many values), with a margin for the rounding of that sum; else the largest value."""
    sizes = np.diff(offsets)
    if not distinct:
        top = float(sorted_parts[int(offsets[1]) - 1])
    else:
        top = float(np.sum(sorted_parts[int(offsets[0]):int(offsets[-1])])) / max(int(sizes.max()), 1)
    thr_ub = max(tol, tol * top) * (1.0 + 1e-6)
    ordered, k, total, prev, cur = scan_candidates(sorted_parts, offsets, thr_ub)
    if not ordered:
        return False, None
    if prev.size == 0 or k < 2:
        return True, None
    mean = total / k
    d = cur - prev
    tied = (d <= tol) | (d / mean <= tol)
    if not tied.any():
        return True, None
    return True, chain_moves(prev, cur, tied)


def cuts_of(values: np.ndarray, tol: float = TOL) -> np.ndarray | None:
    """The cuts of the rule (see contract) for any values, or None when nothing is tied
    (a plain NumPy transcription of the rule, for checks and tests)."""
    y = np.unique(values)
    if y.size < 2:
        return None
    dy = np.diff(y)
    mean = math.fsum(y) / y.size
    near = (dy <= tol) | (dy / mean <= tol)
    if not near.any():
        return None
    return y[np.concatenate(([True], ~near))]


def remap(x: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``x`` with every value found in ``src`` (ascending, non-empty) replaced by its
    ``dst``; a new array. One pass over ``x`` with a bucket index over the moved values."""
    k = src.size
    lo, hi = float(src[0]), float(src[-1])
    nb = 4 * k
    inv_width = nb / (hi - lo) if hi > lo else 0.0
    edges = lo + (hi - lo) * (np.arange(nb) / nb)
    first = np.searchsorted(src, edges, side="left").astype(np.int64)
    out = np.empty_like(x)
    remap_into(x, src, dst, lo, inv_width, first, out)
    return out


def _whole_numbers(time: np.ndarray, entry: np.ndarray | None) -> bool:
    return bool(integer_bounded(time, _INT_BOUND) and (entry is None or integer_bounded(entry, _INT_BOUND)))


def find_moves(time: np.ndarray, entry: np.ndarray | None = None,
               tol: float = TOL) -> tuple[np.ndarray, np.ndarray] | None:
    """``(src, dst)`` for raw columns (the distinct values moved, ascending, and their cuts),
    or None when nothing is tied, decided as cheaply as the data allow (see Method)."""
    if time.size == 0 or _whole_numbers(time, entry):
        return None
    one = np.array([0, 0], dtype=np.int64)
    if entry is None:
        one[1] = time.size
        ordered, moves = _moves(time, one, tol, distinct=False)
        if ordered:
            return moves
        pool = np.sort(time)
    else:
        pool = np.sort(np.concatenate((time, entry)))
    one[1] = pool.size
    return _moves(pool, one, tol, distinct=False)[1]


def fix_times(
    time: np.ndarray, entry: np.ndarray | None = None, tol: float = TOL
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Apply the rule to the exit (and entry) times; see the module contract.

    Returns ``(time, entry, n_moved)`` with ``n_moved`` the number of distinct values moved;
    the inputs themselves when nothing is tied. A zero-length interval after the fix is the
    caller's to report (``entry >= time``).
    """
    moves = find_moves(time, entry, tol)
    if moves is None:
        return time, entry, 0
    src, dst = moves
    new_e = None if entry is None else remap(entry, src, dst)
    return remap(time, src, dst), new_e, int(src.size)


def table_moves(times: np.ndarray, offsets: np.ndarray,
                tol: float = TOL) -> tuple[np.ndarray, np.ndarray] | None:
    """``(src, dst)`` for an event table's distinct times (ascending within each group segment
    ``offsets[g]:offsets[g+1]``), pooled over the groups; None when nothing is tied.

    This is the check of a caller that sorted the rows anyway (the Kaplan–Meier table): one
    or two groups are scanned in one pass (two merged on the fly), more are first merged
    pairwise (:func:`merged`, no sort). Exit times only (with delayed entry the pool also
    holds the entry times; use :func:`fix_times`).
    """
    if times.size < 2:
        return None
    offsets = np.asarray(offsets, dtype=np.int64)
    distinct = True
    if offsets.size - 1 > 2:
        times = merged(times, offsets)  # values shared by groups now repeat
        offsets = np.array([0, times.size], dtype=np.int64)
        distinct = False
    return _moves(times, offsets, tol, distinct=distinct)[1]
