"""One-pass input scans used by validation (so checking data costs less than using it).

Contract
--------
``float_scan(x)``
    Counts and first positions of NaN, +-inf and negative values of ``x[n]`` float64.
``event_codes(x)``
    ``x[n]`` (float64) -> int8 0/1 codes, with the count and first position of values
    other than 0 and 1.
``dense_codes(v, lo, hi)``
    Integer values ``v[n]`` in ``[lo, hi]`` -> codes ``0..k-1`` numbering the distinct values
    in ascending order, and those values (``levels[k]``). O(n + hi - lo).
``compact_codes(combined, total)``
    Mixed-radix combination codes in ``[0, total)`` -> codes of the combinations present,
    numbered in ascending combined order, and the present combined values.
``is_sorted(a)``
    True when ``a[n]`` (any numeric dtype, no NaN) is non-decreasing. Sorting entry points
    call it first, so data that arrive already ordered (a study runner sorts each endpoint
    once and reuses the order) cost one linear pass instead of a sort.
"""

from __future__ import annotations

import numpy as np

from riskset.engine._jit import kernel


@kernel
def float_scan(x):
    """Counts and first positions of NaN, infinite and negative values (see contract)."""
    n_nan = 0
    n_inf = 0
    n_neg = 0
    for i in range(x.shape[0]):  # branch-free counting pass: the common case finds nothing
        v = x[i]
        n_nan += v != v
        n_inf += abs(v) == np.inf
        n_neg += v < 0.0
    f_nan = -1
    f_inf = -1
    f_neg = -1
    if n_nan + n_inf + n_neg:  # something is wrong: find where (second pass only then)
        for i in range(x.shape[0]):
            v = x[i]
            if f_nan < 0 and v != v:
                f_nan = i
            if f_inf < 0 and abs(v) == np.inf:
                f_inf = i
            if f_neg < 0 and v < 0.0:
                f_neg = i
    return n_nan, f_nan, n_inf, f_inf, n_neg, f_neg


@kernel
def event_codes(x):
    n = x.shape[0]
    out = np.empty(n, dtype=np.int8)
    n_bad = 0
    first = -1
    for i in range(n):
        v = x[i]
        if v == 0.0:
            out[i] = 0
        elif v == 1.0:
            out[i] = 1
        else:
            out[i] = 0
            n_bad += 1
            if first < 0:
                first = i
    return out, n_bad, first


@kernel
def int_range(v):
    lo = v[0]
    hi = v[0]
    for i in range(1, v.shape[0]):
        x = v[i]
        if x < lo:
            lo = x
        elif x > hi:
            hi = x
    return lo, hi


@kernel
def dense_codes(v, lo, hi):
    span = hi - lo + 1
    table = np.zeros(span, dtype=np.int64)
    for i in range(v.shape[0]):
        table[v[i] - lo] = 1
    k = 0
    for j in range(span):
        if table[j]:
            table[j] = k
            k += 1
        else:
            table[j] = -1
    levels = np.empty(k, dtype=np.int64)
    for j in range(span):
        if table[j] >= 0:
            levels[table[j]] = j + lo
    codes = np.empty(v.shape[0], dtype=np.int64)
    for i in range(v.shape[0]):
        codes[i] = table[v[i] - lo]
    return codes, levels


@kernel
def compact_codes(combined, total):
    table = np.zeros(total, dtype=np.int64)
    for i in range(combined.shape[0]):
        table[combined[i]] = 1
    k = 0
    for j in range(total):
        if table[j]:
            table[j] = k
            k += 1
        else:
            table[j] = -1
    present = np.empty(k, dtype=np.int64)
    for j in range(total):
        if table[j] >= 0:
            present[table[j]] = j
    out = np.empty(combined.shape[0], dtype=np.int64)
    for i in range(combined.shape[0]):
        out[i] = table[combined[i]]
    return out, present


@kernel
def levels_present(v, lo, hi):
    """The distinct values of integer ``v[n]`` in ``[lo, hi]``, ascending (one pass)."""
    span = hi - lo + 1
    seen = np.zeros(span, dtype=np.bool_)
    for i in range(v.shape[0]):
        seen[v[i] - lo] = True
    k = 0
    for j in range(span):
        k += seen[j]
    out = np.empty(k, dtype=np.int64)
    k = 0
    for j in range(span):
        if seen[j]:
            out[k] = j + lo
            k += 1
    return out


@kernel
def is_sorted(a):
    """True when ``a`` is non-decreasing (one pass; stops at the first descent)."""
    for i in range(1, a.shape[0]):
        if a[i] < a[i - 1]:
            return False
    return True
