"""Cox problems on merged rows: interchangeable rows counted once.

Contract
--------
Operation
    For unweighted right-censored data without offsets, rows with equal (stratum, exit
    time, status, covariate row) contribute identically to every term of the partial
    likelihood (:mod:`riskset.engine.cox`). :func:`collapse` merges them into one row with
    a count; :func:`evaluate_collapsed` evaluates ``(loglik, U, I)`` through
    :func:`riskset.engine.cox.cox_pass`'s ``freq`` path, which gives the result of the
    expanded rows, Efron's count of tied events included.
Method
    :func:`row_patterns` numbers the distinct covariate rows (at most ``max_patterns``);
    :func:`collapse_tied_rows` makes one pass over the sorted rows, one output row per
    (run of equal times, status, pattern), stopping as soon as merging would not shrink the
    rows ``min_ratio``-fold.
Inputs
    A :class:`riskset.engine.cox.CoxData` (sorted, centred) without entry times.
Outputs
    :class:`Collapsed` or None.
Reference
    R ``coxph`` on the expanded rows (fixtures ``cox_cat_*``); the merged rows are an
    evaluation device only.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from riskset.engine._jit import kernel
from riskset.engine.cox import CoxData, cox_pass


@kernel
def _row_is(X, i, pats, q):
    for j in range(X.shape[1]):
        if X[i, j] != pats[q, j]:
            return False
    return True


@kernel
def row_patterns(X, max_patterns, code):
    """Number the distinct rows of ``X`` in first-seen order into the caller's ``code[n]``
    (an integer array holding ``max_patterns - 1``); returns ``n_patterns``, or -1 (and a
    partial ``code``) as soon as there are more than ``max_patterns``."""
    n, p = X.shape
    pats = np.empty((max_patterns, p))
    k = 0
    last = -1
    for i in range(n):
        found = -1
        if last >= 0 and _row_is(X, i, pats, last):  # runs of equal rows: try the last pattern first
            found = last
        if found < 0:
            for q in range(k):
                if _row_is(X, i, pats, q):
                    found = q
                    break
        if found < 0:
            if k == max_patterns:
                return -1
            for j in range(p):
                pats[k, j] = X[i, j]
            found = k
            k += 1
        code[i] = found
        last = found
    return k


@kernel
def collapse_tied_rows(X, time, status, code, n_pat, bounds, max_rows):
    """Merge the rows of each (stratum, time) run that share status and covariate pattern.

    Returns ``(X[m, p], time[m], status[m], freq[m], bounds[S+1], m)``: one row per
    (stratum, time, status, pattern) present, ``freq`` the number of rows it stands for;
    still sorted by (stratum, time). With ``freq``, :func:`cox_pass` gives the result of the
    expanded rows (Efron's count of tied events included), so the partial likelihood, score
    and information are those of the data, in O(m) per Newton step instead of O(n). Returns
    empty arrays and ``m = max_rows + 1`` as soon as there would be more than ``max_rows``
    (not worth it). One pass into buffers of ``max_rows`` rows.
    """
    n, p = X.shape
    n_strata = bounds.shape[0] - 1
    cap = max(0, min(n, max_rows))
    out_x = np.empty((cap, p))
    out_t = np.empty(cap)
    out_s = np.empty(cap, dtype=np.int8)
    out_f = np.zeros(cap, dtype=np.int64)
    out_b = np.zeros(n_strata + 1, dtype=np.int64)
    slot = np.full(2 * n_pat, -1, dtype=np.int64)  # output row of (status, pattern) in this run
    touched = np.empty(2 * n_pat, dtype=np.int64)
    pos = 0  # one output row per (run, status, pattern), in first-seen order
    for s in range(n_strata):
        i = bounds[s]
        hi = bounds[s + 1]
        while i < hi:
            t = time[i]
            nt = 0
            while i < hi and time[i] == t:
                st = 1 if status[i] != 0 else 0
                b = st * n_pat + code[i]
                r = slot[b]
                if r < 0:
                    if pos == cap:  # more than max_rows merged rows: not worth it
                        return (out_x[:0], out_t[:0], out_s[:0], out_f[:0], out_b[:0], cap + 1)
                    r = pos
                    pos += 1
                    slot[b] = r
                    touched[nt] = b
                    nt += 1
                    for j in range(p):
                        out_x[r, j] = X[i, j]
                    out_t[r] = t
                    out_s[r] = st
                out_f[r] += 1
                i += 1
            for q in range(nt):
                slot[touched[q]] = -1
        out_b[s + 1] = pos
    return out_x[:pos].copy(), out_t[:pos].copy(), out_s[:pos].copy(), out_f[:pos].copy(), out_b, pos


class Collapsed(NamedTuple):
    """Rows of a :class:`CoxData` merged by (stratum, time, status, covariates), with counts."""

    X: np.ndarray
    time: np.ndarray
    status: np.ndarray
    freq: np.ndarray  # int64: rows each stands for
    bounds: np.ndarray
    wt: np.ndarray  # ones
    off: np.ndarray  # zeros


def collapse(d: CoxData, *, max_patterns: int = 64, min_ratio: float = 4.0) -> Collapsed | None:
    """The problem's rows merged where they are interchangeable, or None when that would not
    shrink them ``min_ratio``-fold (continuous times or covariates, or more than
    ``max_patterns`` distinct covariate rows). Only for unweighted right-censored data
    without offsets: then rows with equal (stratum, time, status, covariates) contribute
    identically to every term of the partial likelihood."""
    n = d.time.shape[0]
    if d.start is not None or n < 64:
        return None
    # pattern numbers in the narrowest type that holds them (a NumPy allocation: huge
    # pages where the system offers them)
    code = np.empty(n, dtype=np.int8 if max_patterns <= 127 else np.int64)
    n_pat = row_patterns(d.X, max_patterns, code)
    if n_pat < 0:
        return None
    X, t, st, f, b, m = collapse_tied_rows(d.X, d.time, d.status, code, n_pat, d.bounds, int(n / min_ratio))
    if m > n / min_ratio:
        return None
    return Collapsed(X, t, st, f, b, np.ones(m), np.zeros(m))


def evaluate_collapsed(c: Collapsed, beta: np.ndarray, *, efron: bool,
                       want_imat: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
    """``(loglik, U, I)`` at ``beta`` from the collapsed rows (equal to :func:`evaluate`)."""
    beta = np.ascontiguousarray(beta, dtype=np.float64)
    return cox_pass(c.X, c.time, c.status, c.wt, c.off, beta, c.bounds, efron, want_imat, c.freq)
