"""Fine–Gray expanded data: R ``survival::finegray`` for right-censored competing risks.

Contract
--------
Estimator
    Fine & Gray (1999) fit the subdistribution hazard of one cause by a weighted Cox model in
    which subjects who had a *competing* event stay in the risk set with a weight that decays
    like the censoring distribution. R ``finegray()`` builds that data set; ``coxph(Surv(fgstart,
    fgstop, fgstatus) ~ x, weights = fgwt, id = id)`` on it is the Fine–Gray fit (Geskus 2011).
Construction (R ``finegray.R`` + ``finegray.c``, one stratum, no delayed entry)
    * ``zero`` = 0 if every time is > 0, else ``2 min(time) - 1`` (a start before every time).
    * Censoring distribution ``G``: Kaplan–Meier of censoring, unweighted, where an event at t
      leaves the censoring risk set *before* a censoring at t (R shifts event times by -0.2 on
      the rank scale): ``n_c(t) = #{time > t} + #{time = t, censored}``,
      ``G(t) = prod_{censoring times u <= t} (1 - c(u) / n_c(u))``.
    * ``ct = (censoring times with c > 0, max time)``, ``cp = (1, G at those censoring times)``.
    * An interval ``(ct[j-1], ct[j]]`` is *kept* when some event of the cause of interest
      lies in it (j >= 1, counted as ``#{ct < t}``, R ``findInterval(left.open = TRUE)``).
    * Rows without a competing event: one row ``(zero, time]``, weight 1.
    * A row with a competing event at T: ``j`` = first index with ``ct[j] >= T``; one row
      ``(zero, ct[j]]`` with weight 1, then for every kept ``jj > j`` a row
      ``(ct[jj-1], ct[jj]]`` with weight ``cp[jj] / cp[j]`` (= G(ct[jj-1]) / G(T-)).
    * ``fgstatus`` = 1 on the rows of a subject whose event is the cause of interest, else 0.
    Rows come out in input order, each subject's added rows right after its first row (R's
    order). Ties: all exact comparisons (R's ``aeqSurv`` time-fix is not applied: times are
    taken as given).
Inputs
    ``time[n]`` float64 >= 0, ``cause[n]`` int64 (0 = censored), ``target`` the cause index.
Outputs
    ``row[n2]`` (input row of each output row), ``start[n2]``, ``stop[n2]``, ``status[n2]``,
    ``weight[n2]``.
Reference
    R: ``finegray(Surv(time, factor(event)) ~ ., data, etype = cause)``.
"""

from __future__ import annotations

import numpy as np


def finegray_expand(time: np.ndarray, cause: np.ndarray, target: int):
    """The finegray data set (see module contract): ``(row, start, stop, status, weight)``."""
    n = time.size
    zero = 0.0 if time.min() > 0 else 2.0 * float(time.min()) - 1.0
    # censoring Kaplan–Meier, events before censorings at tied times
    cens = cause == 0
    ut, inv = np.unique(time, return_inverse=True)
    c_at = np.bincount(inv, weights=cens.astype(np.float64), minlength=ut.size)
    all_at = np.bincount(inv, minlength=ut.size).astype(np.float64)
    later = np.concatenate([np.cumsum(all_at[::-1])[::-1][1:], [0.0]])  # #{time > t}
    n_c = later + c_at
    has_c = c_at > 0
    factors = np.where(has_c, 1.0 - c_at / np.where(n_c > 0, n_c, 1.0), 1.0)
    G = np.cumprod(factors)
    ctime = ut[has_c]
    cprob = G[has_c]
    ct = np.concatenate([ctime, [float(time.max())]])
    cp = np.concatenate([[1.0], cprob])
    ncut = cp.size  # == ct.size
    ev_times = np.unique(time[cause == target])
    idx = np.searchsorted(ct, ev_times, side="left")  # #{ct < t}
    keep = np.zeros(ncut, dtype=bool)
    keep[0] = True
    keep[idx[(idx >= 1) & (idx < ncut)]] = True
    expand = (cause != 0) & (cause != target)
    first_ge = np.searchsorted(ct, time, side="left")  # first j with ct[j] >= time
    kept_idx = np.flatnonzero(keep)
    rows, starts, stops, wts = [], [], [], []
    for i in range(n):
        if not expand[i]:
            rows.append(i)
            starts.append(zero)
            stops.append(float(time[i]))
            wts.append(1.0)
            continue
        j = int(first_ge[i])
        rows.append(i)
        starts.append(zero)
        stops.append(float(ct[j]))
        wts.append(1.0)
        base = cp[j]
        for jj in kept_idx[kept_idx > j]:
            rows.append(i)
            starts.append(float(ct[jj - 1]))
            stops.append(float(ct[jj]))
            wts.append(float(cp[jj] / base))
    row = np.asarray(rows, dtype=np.int64)
    status = (cause[row] == target).astype(np.int8)
    return row, np.asarray(starts), np.asarray(stops), status, np.asarray(wts)
