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
    Deciding that nothing is tied needs the number of distinct values, their sum (for ``m``)
    and the smallest gap between neighbours: ``dy / m`` is monotone in ``dy``, so some pair
    is tied exactly when the smallest gap is. :func:`scan_sorted` gets all three in one pass
    over sorted values (duplicates skipped), or says that the values are not sorted.
    :func:`scan_segments` does the same over several sorted segments at once (the per-group
    distinct times of an event table) by merging their heads, without materialising the
    merge. :func:`fix_times` decides for raw columns: integer times below ``2**25`` are never
    near-tied (distinct integers differ by >= 1 > tol and 1 / m > tol) -- one pass; a time
    column already in ascending order (the study runner orders each endpoint once) is
    scanned in place; anything else costs one sort of a copy of the times. Only when a tie
    exists are the cuts built (``numpy.unique``) and the columns remapped (binary search).
    ``m`` is a compensated (Neumaier) sum divided by the count; R sums in long double with a
    correction pass -- the two can differ only when ``dy / m`` lands within an ulp of ``tol``.
Inputs
    float64 arrays of finite values >= 0 (validated before).
Outputs
    :func:`fix_times`: ``(time, entry, n_changed)`` -- new arrays only when something
    changed (the inputs are returned as they are otherwise), and ``n_changed`` the number of
    row values moved.
Complexity
    O(n) for integer or sorted times, else one O(n log n) sort; the remap is O(n log k).
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
def scan_sorted(x):
    """``(ordered, n_distinct, sum_distinct, min_gap)`` of ascending ``x`` (one pass).

    ``ordered`` is False (and the rest meaningless) at the first descent. ``min_gap`` is
    ``inf`` with fewer than two distinct values; the sum is compensated (Neumaier).
    """
    n = x.shape[0]
    if n == 0:
        return True, 0, 0.0, np.inf
    last = x[0]
    k = 1
    s = last
    comp = 0.0
    gap = np.inf
    for i in range(1, n):
        v = x[i]
        if v != last:
            if v < last:
                return False, 0, 0.0, np.inf
            d = v - last
            if d < gap:
                gap = d
            t = s + v
            if abs(s) >= abs(v):
                comp += (s - t) + v
            else:
                comp += (v - t) + s
            s = t
            k += 1
            last = v
    return True, k, s + comp, gap


@kernel
def scan_segments(x, offsets):
    """:func:`scan_sorted` of the union of ascending segments ``x[offsets[g]:offsets[g+1]]``
    (each sorted, e.g. one group's distinct times): a merge of the segments' heads, one
    value at a time (O(n G)), nothing materialised. Values equal across segments count once."""
    n_seg = offsets.shape[0] - 1
    head = offsets[:-1].copy()
    first = True
    last = 0.0
    k = 0
    s = 0.0
    comp = 0.0
    gap = np.inf
    while True:
        best = -1
        bv = 0.0
        for g in range(n_seg):
            if head[g] < offsets[g + 1]:
                v = x[head[g]]
                if best < 0 or v < bv:
                    best = g
                    bv = v
        if best < 0:
            break
        head[best] += 1
        if first or bv != last:
            if not first:
                d = bv - last
                if d < gap:
                    gap = d
            t = s + bv
            if abs(s) >= abs(bv):
                comp += (s - t) + bv
            else:
                comp += (bv - t) + s
            s = t
            k += 1
            last = bv
            first = False
    return k, s + comp, gap


def tied(n_distinct: int, total: float, min_gap: float, tol: float = TOL) -> bool:
    """R's test on the smallest neighbour gap: ``dy <= tol or dy / mean(y) <= tol``."""
    if n_distinct < 2:
        return False
    mean = total / n_distinct
    return bool(min_gap <= tol or min_gap / mean <= tol)


def cuts_of(values: np.ndarray, tol: float = TOL) -> np.ndarray | None:
    """The cuts of the rule (see contract) for any values, or None when nothing is tied."""
    y = np.unique(values)
    if y.size < 2:
        return None
    dy = np.diff(y)
    mean = math.fsum(y) / y.size
    near = (dy <= tol) | (dy / mean <= tol)
    if not near.any():
        return None
    return y[np.concatenate(([True], ~near))]


def remap(x: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Each value of ``x`` replaced by the largest cut ``<= x`` (R's ``findInterval``)."""
    idx = np.searchsorted(cuts, x, side="right") - 1
    return cuts[np.maximum(idx, 0)]


def has_near_ties(time: np.ndarray, entry: np.ndarray | None = None, tol: float = TOL) -> bool:
    """Whether the rule merges anything, decided as cheaply as the data allow (see Method)."""
    if time.size == 0:
        return False
    if integer_bounded(time, _INT_BOUND) and (entry is None or integer_bounded(entry, _INT_BOUND)):
        return False
    if entry is None:
        ordered, k, s, gap = scan_sorted(time)
        if ordered:
            return tied(k, s, gap, tol)
        pool = np.sort(time)
    else:
        pool = np.concatenate((time, entry))
        pool.sort()
    _, k, s, gap = scan_sorted(pool)
    return tied(k, s, gap, tol)


def fix_times(
    time: np.ndarray, entry: np.ndarray | None = None, tol: float = TOL
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Apply the rule to the exit (and entry) times; see the module contract.

    Returns ``(time, entry, n_changed)``; the inputs themselves when nothing is tied.
    A zero-length interval after the fix is the caller's to report (``entry >= time``).
    """
    if not has_near_ties(time, entry, tol):
        return time, entry, 0
    pool = time if entry is None else np.concatenate((time, entry))
    cuts = cuts_of(pool, tol)
    if cuts is None:  # the cheap test and the exact one agree; kept for safety
        return time, entry, 0
    new_t = remap(time, cuts)
    changed = int(np.count_nonzero(new_t != time))
    new_e = None
    if entry is not None:
        new_e = remap(entry, cuts)
        changed += int(np.count_nonzero(new_e != entry))
    return new_t, new_e, changed


def table_cuts(times: np.ndarray, offsets: np.ndarray, tol: float = TOL) -> np.ndarray | None:
    """The cuts for an event table's distinct times (ascending within each group segment
    ``offsets[g]:offsets[g+1]``), pooled over the groups; None when nothing is tied.

    This is the check of a caller that sorted the rows anyway (the Kaplan–Meier table):
    one merge pass over the table instead of a sort of the column. Exit times only (no
    delayed entry: with entry times the pool also holds them; use :func:`fix_times`).
    """
    if times.size < 2:
        return None
    n_seg = offsets.size - 1
    if n_seg <= 1:
        _, k, s, gap = scan_sorted(times)
    elif n_seg <= 16:
        k, s, gap = scan_segments(times, offsets)
    else:
        _, k, s, gap = scan_sorted(np.sort(times))
    if not tied(k, s, gap, tol):
        return None
    return cuts_of(times, tol)
