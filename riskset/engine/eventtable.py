"""Per-group event tables: distinct times with (weighted) at-risk, event and censoring counts.

Contract
--------
Estimator
    For each group ``g`` and each distinct exit time ``t`` observed in ``g`` (event or
    censoring), one row::

        n_risk(t)   = sum of w_i over rows of g with  entry_i < t <= time_i   (no entry: -inf)
        n_event(t)  = sum of w_i over rows of g with  time_i == t, event_i = 1
        n_censor(t) = sum of w_i over rows of g with  time_i == t, event_i = 0

    with ``w_i = 1`` when unweighted. Ties: a row censored at ``t`` is at risk at ``t``;
    events and censorings at the same ``t`` share one row. This is the risk-set convention of
    R ``survival`` (``survfit``, ``survdiff``, ``coxph``) for right-censored and
    ``Surv(entry, time, event)`` counting-process data.
Method (no comparison sort of row indices)
    1. :func:`partition_keys` packs each row into one ``uint64`` sort key,
       ``bits(time) << 1 | event``. For non-negative doubles the IEEE bit pattern is monotone
       in the value, so sorting the keys as unsigned integers orders rows by time with
       censorings before events at tied times. In the same O(n) pass the keys are scattered
       (stable counting sort) into one segment per group.
    2. The caller sorts each segment in place: ``ndarray.sort`` on uint64 (SIMD, no index
       array) when unweighted; a stable argsort of the segment when weights must travel with
       it. A segment that is already in key order (rows given sorted by time, censorings
       first at ties) is detected in one pass and left as it is. This is the only
       O(n log n) step and costs about one value sort of the time column.
    3. :func:`table_from_keys` counts the distinct times (so outputs are allocated once; the
       times are decoded in place over the key buffer), makes
       one forward pass per group that collapses runs of equal times into rows, then one
       backward pass that fills ``n_risk`` as a running sum of exits at or after ``t`` minus
       entries at or after ``t`` (summing from the tail, as R does, keeps small late risk sets
       exact for weighted data).
    Rows already in key order within each group (the study runner orders each endpoint
    once) skip steps 1-2: :func:`table_from_sorted` collapses the runs straight from the
    columns, with no key buffer and no scatter, summing in the same order; its first pass
    is the order check (each group's rows, in input order, ascending by time with
    censorings first at ties; groups may interleave), and it gives up at the first row out
    of order.
Inputs
    ``time[n]`` float64 >= 0, finite; ``event[n]`` int8 in {0, 1}; ``codes[n]`` int64 in
    ``0..G-1``; optional ``weights[n]`` float64 >= 0; optional ``entry[n]`` float64 < time.
    No sort order is required.
Outputs
    :class:`EventTable`: concatenated tables of all groups with ``offsets[G+1]`` (rows of group
    g are ``offsets[g]:offsets[g+1]``), times ascending within a group; ``n_rows[G]`` the
    number of input rows per group.
Complexity
    O(n) passes plus one value sort of n keys; memory: the key buffer (8n bytes) and the
    output table.
Reference
    R: ``survfit(Surv(time, event) ~ g, weights = w)`` columns ``time, n.risk, n.event,
    n.censor``; with entry: ``survfit(Surv(entry, time, event) ~ g)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from riskset.engine._jit import kernel
from riskset.engine.checks import is_sorted


class EventTable(NamedTuple):
    """Per-group event table; see the module contract."""

    time: np.ndarray  # float64[m]
    n_risk: np.ndarray  # float64[m]
    n_event: np.ndarray  # float64[m]
    n_censor: np.ndarray  # float64[m]
    offsets: np.ndarray  # int64[G+1]
    n_rows: np.ndarray  # int64[G]


@kernel
def time_event_keys(time, event):
    """The sort key of every row, ``bits(time) << 1 | event`` (step 1 of the contract).

    Rows ordered by these keys are in the order :func:`partition_keys` sorts each group
    into, so callers that order rows once (the study runner) hand every kernel rows whose
    segments need no sort.
    """
    n = time.shape[0]
    keys = np.empty(n, dtype=np.uint64)
    tbits = time.view(np.uint64)
    one = np.uint64(1)
    for i in range(n):
        keys[i] = (tbits[i] << one) | np.uint64(event[i])
    return keys


@kernel
def grid_key_order(steps, event, order):
    """Row order by ``(steps, event)`` for integer ``steps`` of one time grid (counting sort),
    written into the caller's ``int64[n]`` ``order``.

    Times that are whole multiples of one step (``time = steps * h``, ``h > 0``: a time in
    months derived from dates is days / 30.4375) have the key order of
    :func:`time_event_keys` exactly when ordered by ``(steps, event)``: ascending steps,
    censorings before events at a tie. With ``S`` distinct steps between the smallest and
    largest this is two O(n) passes and an O(S) prefix sum, stable (tied rows keep their
    input order, so the order does not depend on threads). ``event`` in {0, 1}. Returns
    True, or False (``order`` untouched) when the range of ``steps`` exceeds ``4 n + 1024``
    (the caller sorts instead). ``order`` comes from the caller (NumPy: huge pages where the
    system offers them, see :mod:`riskset.engine.gather`).
    """
    n = steps.shape[0]
    if n == 0:
        return True
    lo = steps[0]
    hi = steps[0]
    for i in range(n):
        if steps[i] < lo:
            lo = steps[i]
        if steps[i] > hi:
            hi = steps[i]
    span = np.int64(hi) - np.int64(lo) + 1
    if span > 4 * n + 1024:
        return False
    counts = np.zeros(2 * span + 1, dtype=np.int64)
    for i in range(n):
        counts[(np.int64(steps[i]) - lo) * 2 + event[i] + 1] += 1
    for k in range(2 * span):
        counts[k + 1] += counts[k]
    for i in range(n):
        k = (np.int64(steps[i]) - lo) * 2 + event[i]
        order[counts[k]] = i
        counts[k] += 1
    return True


@kernel
def partition_keys(time, event, codes, n_groups, weights, weighted):
    """Pack ``(time, event)`` into uint64 keys and scatter them into one segment per group.

    Returns ``(keys[n], out_weights[n] or [0], offsets[G+1])``; stable within a group.
    """
    n = time.shape[0]
    counts = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(n):
        counts[codes[i] + 1] += 1
    for g in range(n_groups):
        counts[g + 1] += counts[g]
    offsets = counts.copy()
    keys = np.empty(n, dtype=np.uint64)
    out_w = np.empty(n if weighted else 0, dtype=np.float64)
    tbits = time.view(np.uint64)  # a view, no copy
    one = np.uint64(1)
    for i in range(n):
        g = codes[i]
        pos = counts[g]
        # shifting out the sign bit maps -0.0 to +0.0 (the only negative zero that can pass
        # validation); every other valid time has the sign bit clear already
        keys[pos] = (tbits[i] << one) | np.uint64(event[i])
        if weighted:
            out_w[pos] = weights[i]
        counts[g] = pos + 1
    return keys, out_w, offsets


@kernel
def partition_values(values, codes, n_groups, weights, weighted):
    """Stable counting scatter of float ``values`` (and weights) into one segment per group."""
    n = values.shape[0]
    counts = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(n):
        counts[codes[i] + 1] += 1
    for g in range(n_groups):
        counts[g + 1] += counts[g]
    offsets = counts.copy()
    out_v = np.empty(n, dtype=np.float64)
    out_w = np.empty(n if weighted else 0, dtype=np.float64)
    for i in range(n):
        g = codes[i]
        pos = counts[g]
        out_v[pos] = values[i]
        if weighted:
            out_w[pos] = weights[i]
        counts[g] = pos + 1
    return out_v, out_w, offsets


@kernel
def _at_risk(out_t, out_d, out_c, out_off, weighted, entry_vals, entry_wts, entry_offsets, has_entry):
    """Step 3 of the contract: at risk at t = exits at or after t - entries at or after t,
    summed from the tail of each group."""
    out_r = np.empty(out_t.shape[0], dtype=np.float64)
    n_groups = out_off.shape[0] - 1
    for g in range(n_groups):
        acc = 0.0
        entered_after = 0.0
        ien = entry_offsets[g + 1] - 1 if has_entry else 0
        en_lo = entry_offsets[g] if has_entry else 0
        for j in range(out_off[g + 1] - 1, out_off[g] - 1, -1):
            acc += out_d[j] + out_c[j]
            if has_entry:
                t = out_t[j]
                while ien >= en_lo and entry_vals[ien] >= t:  # not yet at risk at t
                    entered_after += entry_wts[ien] if weighted else 1.0
                    ien -= 1
            out_r[j] = acc - entered_after
    return out_r


@kernel
def table_from_keys(keys, wts, offsets, weighted, entry_vals, entry_wts, entry_offsets, has_entry):
    """Collapse each group's sorted keys into event-table rows (see module contract, step 3)."""
    n_groups = offsets.shape[0] - 1
    one = np.uint64(1)
    # pass 1: count distinct times so every output is allocated once, at its final size
    m = 0
    for g in range(n_groups):
        lo = offsets[g]
        hi = offsets[g + 1]
        if hi > lo:
            m += 1
            for i in range(lo + 1, hi):
                m += (keys[i] >> one) != (keys[i - 1] >> one)
    out_d = np.empty(m, dtype=np.float64)
    out_c = np.empty(m, dtype=np.float64)
    out_off = np.zeros(n_groups + 1, dtype=np.int64)
    # times are decoded in place over the key buffer: row ``pos`` is written only after key
    # ``i >= pos`` has been read, so no key is overwritten before it is used
    tbits = keys
    out_t = keys.view(np.float64)
    # pass 2: one row per run of equal times; the low key bit is the event flag
    pos = -1
    for g in range(n_groups):
        lo = offsets[g]
        hi = offsets[g + 1]
        cur = np.uint64(0)
        for i in range(lo, hi):
            k = keys[i]
            tb = k >> one
            if i == lo or tb != cur:
                pos += 1
                cur = tb
                tbits[pos] = tb
                out_d[pos] = 0.0
                out_c[pos] = 0.0
            w = wts[i] if weighted else 1.0
            if k & one:
                out_d[pos] += w
            else:
                out_c[pos] += w
        out_off[g + 1] = pos + 1
    out_r = _at_risk(out_t[:m], out_d, out_c, out_off, weighted, entry_vals, entry_wts, entry_offsets, has_entry)
    return out_t[:m], out_r, out_d, out_c, out_off


@kernel
def is_key_sorted(time, event):
    """True when rows are already in key order: time ascending, censorings first at ties."""
    for i in range(1, time.shape[0]):
        if time[i] < time[i - 1] or (time[i] == time[i - 1] and event[i] < event[i - 1]):
            return False
    return True


@kernel
def _table_one_group(time, event, weights, weighted):
    """:func:`table_from_sorted` for one group, in one pass: the run's state lives in
    scalars (no per-group arrays to load and store per row) and its counts are added
    without a branch on the event (``w * e``, ``w * (1 - e)``: the same additions, plus
    exact zeros). The outputs are written into buffers of the input's length, of which
    only the pages holding the distinct times are ever touched, then copied out."""
    n = time.shape[0]
    out_t = np.empty(n, dtype=np.float64)
    out_d = np.empty(n, dtype=np.float64)
    out_c = np.empty(n, dtype=np.float64)
    n_rows = np.full(1, n, dtype=np.int64)
    out_off = np.zeros(2, dtype=np.int64)
    if n == 0:
        return True, out_t, out_d, out_c, out_off, n_rows
    p = 0
    last = time[0]
    last_e = np.int64(0)
    d = 0.0
    c = 0.0
    ordered = True
    for i in range(n):
        t = time[i]
        e = np.int64(event[i])
        if t != last:
            if t < last:
                ordered = False
                break
            out_t[p] = abs(last)  # -0.0 -> 0.0, as the keys' shifted-out sign bit does
            out_d[p] = d
            out_c[p] = c
            p += 1
            last = t
            d = 0.0
            c = 0.0
        elif e < last_e:  # an event before a censoring at the same time
            ordered = False
            break
        last_e = e
        w = weights[i] if weighted else 1.0
        d += w * e
        c += w * (1 - e)
    if not ordered:
        return False, out_t[:0], out_d[:0], out_c[:0], out_off, n_rows
    out_t[p] = abs(last)
    out_d[p] = d
    out_c[p] = c
    p += 1
    out_off[1] = p
    return True, out_t[:p].copy(), out_d[:p].copy(), out_c[:p].copy(), out_off, n_rows


@kernel
def table_from_sorted(time, event, codes, n_groups, weights, weighted):
    """Steps 1-3 for rows in key order within each group (each group's rows, in input
    order, by time ascending with censorings first at ties; groups may interleave or follow
    one another, as stacked cohorts do; :func:`is_key_sorted` for one group): runs of equal
    times are collapsed straight from the columns, with no key buffer and no scatter. Sums run in the same order as
    :func:`table_from_keys` (the stable partition keeps input order), so the results are
    identical.

    Pass 1 is the order check itself: ``ok`` is False (and the tables empty) as soon as a
    row is out of key order within its group, and the caller takes the keyed path instead.
    One group takes :func:`_table_one_group` (one pass).
    """
    if n_groups == 1:
        return _table_one_group(time, event, weights, weighted)
    n = time.shape[0]
    n_rows = np.zeros(n_groups, dtype=np.int64)
    m_g = np.zeros(n_groups, dtype=np.int64)
    last = np.zeros(n_groups, dtype=np.float64)
    last_e = np.zeros(n_groups, dtype=np.int64)
    for i in range(n):  # pass 1: distinct times per group, and the key order
        g = codes[i]
        t = time[i]
        e = np.int64(event[i])
        if n_rows[g] != 0 and (t < last[g] or (t == last[g] and e < last_e[g])):  # out of order
            empty = np.empty(0, dtype=np.float64)
            return False, empty, empty, empty, np.zeros(n_groups + 1, dtype=np.int64), n_rows
        if n_rows[g] == 0 or t != last[g]:
            m_g[g] += 1
            last[g] = t
        last_e[g] = e
        n_rows[g] += 1
    out_off = np.zeros(n_groups + 1, dtype=np.int64)
    for g in range(n_groups):
        out_off[g + 1] = out_off[g] + m_g[g]
    m = out_off[n_groups]
    out_t = np.empty(m, dtype=np.float64)
    out_d = np.empty(m, dtype=np.float64)
    out_c = np.empty(m, dtype=np.float64)
    pos = out_off[:n_groups] - 1
    seen = np.zeros(n_groups, dtype=np.bool_)
    for i in range(n):  # pass 2: one row per run of equal times
        g = codes[i]
        t = time[i]
        if not seen[g] or t != last[g]:
            seen[g] = True
            last[g] = t
            p = pos[g] + 1
            pos[g] = p
            out_t[p] = abs(t)  # -0.0 -> 0.0, as the keys' shifted-out sign bit does
            out_d[p] = 0.0
            out_c[p] = 0.0
        p = pos[g]
        w = weights[i] if weighted else 1.0
        e = np.int64(event[i])
        out_d[p] += w * e  # no branch on the event: the same sums (plus exact zeros)
        out_c[p] += w * (1 - e)
    return True, out_t, out_d, out_c, out_off, n_rows


def sort_segments(
    buf: np.ndarray, wts: np.ndarray, offsets: np.ndarray, *, weighted: bool
) -> None:
    """Sort each segment of ``buf`` in place by value, carrying ``wts`` along when weighted.

    Segments already in order are skipped (checked in one pass), so sorted input is not
    sorted again; the result is the same either way (the stable sort keeps tied keys in
    input order, as an untouched sorted segment does).
    """
    for g in range(offsets.size - 1):
        lo, hi = int(offsets[g]), int(offsets[g + 1])
        if hi - lo < 2 or is_sorted(buf[lo:hi]):
            continue
        if weighted:
            order = np.argsort(buf[lo:hi], kind="stable")
            buf[lo:hi] = buf[lo:hi][order]
            wts[lo:hi] = wts[lo:hi][order]
        else:
            buf[lo:hi].sort()


def event_table(
    time: np.ndarray,
    event: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    weights: np.ndarray | None = None,
    entry: np.ndarray | None = None,
) -> EventTable:
    """Build the per-group event table (see module contract). Inputs need no sort order;
    rows already in key order take :func:`table_from_sorted` (same results, no key buffer)."""
    weighted = weights is not None
    w = weights if weighted else np.empty(0, dtype=np.float64)
    has_entry = entry is not None
    if has_entry:
        evals, ewts, eoff = partition_values(entry, codes, n_groups, w, weighted)
        sort_segments(evals, ewts, eoff, weighted=weighted)
    else:
        evals = ewts = np.empty(0, dtype=np.float64)
        eoff = np.zeros(n_groups + 1, dtype=np.int64)
    ok, t, d, c, toff, n_rows = table_from_sorted(time, event, codes, n_groups, w, weighted)
    if ok:  # rows already in key order within each group (checked by that same pass)
        r = _at_risk(t, d, c, toff, weighted, evals, ewts, eoff, has_entry)
        return EventTable(t, r, d, c, toff, n_rows)
    keys, wts, off = partition_keys(time, event, codes, n_groups, w, weighted)
    sort_segments(keys, wts, off, weighted=weighted)
    t, r, d, c, toff = table_from_keys(keys, wts, off, weighted, evals, ewts, eoff, has_entry)
    if t.size < keys.size // 2:  # heavily tied: do not keep the whole key buffer alive
        t = t.copy()
    return EventTable(t, r, d, c, toff, np.diff(off))
