"""Cox model diagnostics at a fitted ``beta``: hazard increments, residuals, zph sums.

Contract
--------
Estimator
    With the notation of :mod:`riskset.engine.cox` (risk-set sums ``S_k`` of the ``k``-th
    Efron term, ``k = 0 .. nd-1``, mean event weight ``wbar = wd / nd``; Breslow: one term
    ``S_0 = S`` with weight ``wd``), each distinct event time ``t`` of a stratum gets

        dH1 = sum_k wbar / S0_k                       hazard increment (at risk, no event at t)
        dH2 = sum_k (1 - k/nd) wbar / S0_k            increment for a row with an event at t
        dX1 = sum_k wbar xbar_k / S0_k,  xbar_k = S1_k / S0_k      (p)
        dX2 = sum_k (1 - k/nd) wbar xbar_k / S0_k                  (p)
        xm  = mean_k xbar_k                            Schoenfeld centre (p)
        v1  = sum_k wbar / S0_k^2                      variance increment of the hazard

    so that, for row ``j`` with risk score ``r_j = exp(eta_j)`` (no weight) and event times
    ``t_m`` in its risk interval (``entry_j < t_m <= time_j``; ``dH2, dX2`` at its own event):

        Lambda_j  = sum_m dH_m,      M_j = d_j - r_j Lambda_j                  (martingale)
        L_j       = d_j (x_j - xm(t_j)) - r_j (x_j Lambda_j - sum_m dX_m)     (score)

    which are R ``residuals.coxph`` ``"martingale"`` and ``"score"`` (``coxmart``,
    ``coxscore2``, ``agmart3``, ``agscore3``): the weighted score residuals sum to ``U``.
    ``dH1`` is the hazard increment at ``x = 0`` of the centred ``X`` the problem holds (R's
    ``fit$means``, see :func:`riskset.engine.cox.build`) and offset 0: R's ``survfit.coxph``
    increment (Breslow for ``ties = "breslow"``, Efron's ``ctype = 2`` otherwise); times
    ``exp(mean offset)`` it is ``basehaz(centered = TRUE)``'s, times
    ``exp(mean offset - means' b)`` ``basehaz(centered = FALSE)``'s.
    :func:`zph_sums` returns the score ``U2 = sum_t g(t) u_t`` and the blocks of the
    information of the model extended by ``x * g(t)`` (``I11 = sum V_t``, ``I12 = sum g V_t``,
    ``I22 = sum g^2 V_t``, ``V_t`` the information term of time ``t``) as R ``zph1``/``zph2``.
    (The concordance of the fit is :mod:`riskset.engine.concordance`, shared with
    :func:`riskset.concordance`.)
Method
    One backward pass per stratum like the likelihood pass (:func:`hazard_table`);
    per-row sums are prefix sums over each stratum's event times, indexed by binary search.
Inputs
    Sorted arrays as in :mod:`riskset.engine.cox` (``CoxData``).
Outputs
    :class:`HazardTable`; residual arrays in sorted-row order; zph sums.
Complexity
    O(n p^2) passes plus O(n log n) binary searches.
Reference
    R ``survival`` 3.5: ``residuals.coxph``, ``survfit.coxph``/``agsurv``, ``cox.zph``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from riskset.engine._jit import kernel


class HazardTable(NamedTuple):
    time: np.ndarray  # float64[M]
    offsets: np.ndarray  # int64[S+1]: event times of stratum s are offsets[s]:offsets[s+1]
    ndead: np.ndarray  # int64[M]
    deadwt: np.ndarray
    denom: np.ndarray  # S0 (risk-set sum incl. events)
    dH1: np.ndarray
    dH2: np.ndarray
    v1: np.ndarray
    dX1: np.ndarray  # [M, p]
    dX2: np.ndarray
    xm: np.ndarray


@kernel
def hazard_table(X, start, time, status, wt, off, beta, bounds, sorder, has_start, efron):
    """Per event time increments of the hazard and of its covariate mean (module contract)."""
    n, p = X.shape
    nev = 0
    for i in range(n):
        nev += status[i] != 0
    M = nev  # an upper bound on distinct event times
    o_t = np.empty(M)
    o_nd = np.empty(M, dtype=np.int64)
    o_dw = np.empty(M)
    o_den = np.empty(M)
    o_h1 = np.empty(M)
    o_h2 = np.empty(M)
    o_v1 = np.empty(M)
    o_x1 = np.zeros((M, p))
    o_x2 = np.zeros((M, p))
    o_xm = np.zeros((M, p))
    nstrat = bounds.shape[0] - 1
    toff = np.zeros(nstrat + 1, dtype=np.int64)
    rs = np.empty(n)
    for i in range(n):
        zb = off[i]
        for k in range(p):
            zb += beta[k] * X[i, k]
        rs[i] = math.exp(zb) * wt[i]
    a = np.zeros(p)
    a2 = np.zeros(p)
    m = 0
    # the backward pass writes the table of each stratum in descending time; reversed below
    for s in range(nstrat):
        lo = bounds[s]
        hi = bounds[s + 1]
        denom = 0.0
        nrisk = 0
        a[:] = 0.0
        i = hi - 1
        e = hi - 1
        m0 = m
        while i >= lo:
            t = time[i]
            if has_start:
                while e >= lo and start[sorder[e]] >= t:
                    j = sorder[e]
                    denom -= rs[j]
                    nrisk -= 1
                    for k in range(p):
                        a[k] -= rs[j] * X[j, k]
                    e -= 1
                if nrisk == 0:
                    denom = 0.0
                    a[:] = 0.0
            ndead = 0
            deadwt = 0.0
            denom2 = 0.0
            while i >= lo and time[i] == t:
                r = rs[i]
                denom += r
                nrisk += 1
                for k in range(p):
                    a[k] += r * X[i, k]
                if status[i] != 0:
                    ndead += 1
                    deadwt += wt[i]
                    denom2 += r
                    for k in range(p):
                        a2[k] += r * X[i, k]
                i -= 1
            if ndead > 0:
                o_t[m] = t
                o_nd[m] = ndead
                o_dw[m] = deadwt
                o_den[m] = denom
                if (not efron) or ndead == 1:
                    h = deadwt / denom
                    o_h1[m] = h
                    o_h2[m] = h
                    o_v1[m] = deadwt / (denom * denom)
                    for k in range(p):
                        xb = a[k] / denom
                        o_x1[m, k] = h * xb
                        o_x2[m, k] = h * xb
                        o_xm[m, k] = xb
                else:
                    wtave = deadwt / ndead
                    h1 = 0.0
                    h2 = 0.0
                    v1 = 0.0
                    for kk in range(ndead):
                        frac = kk / ndead
                        d2 = denom - frac * denom2
                        h = wtave / d2
                        h1 += h
                        h2 += (1.0 - frac) * h
                        v1 += wtave / (d2 * d2)
                        for k in range(p):
                            xb = (a[k] - frac * a2[k]) / d2
                            o_x1[m, k] += h * xb
                            o_x2[m, k] += (1.0 - frac) * h * xb
                            o_xm[m, k] += xb / ndead
                    o_h1[m] = h1
                    o_h2[m] = h2
                    o_v1[m] = v1
                a2[:] = 0.0
                m += 1
        # reverse this stratum's block to ascending time
        lo_m = m0
        hi_m = m - 1
        while lo_m < hi_m:
            for arr in (o_t, o_dw, o_den, o_h1, o_h2, o_v1):
                tmp = arr[lo_m]
                arr[lo_m] = arr[hi_m]
                arr[hi_m] = tmp
            tmpi = o_nd[lo_m]
            o_nd[lo_m] = o_nd[hi_m]
            o_nd[hi_m] = tmpi
            for k in range(p):
                for arr2 in (o_x1, o_x2, o_xm):
                    tmp = arr2[lo_m, k]
                    arr2[lo_m, k] = arr2[hi_m, k]
                    arr2[hi_m, k] = tmp
            lo_m += 1
            hi_m -= 1
        toff[s + 1] = m
    return (o_t[:m].copy(), toff, o_nd[:m].copy(), o_dw[:m].copy(), o_den[:m].copy(),
            o_h1[:m].copy(), o_h2[:m].copy(), o_v1[:m].copy(), o_x1[:m].copy(),
            o_x2[:m].copy(), o_xm[:m].copy())


def table(d, beta: np.ndarray) -> HazardTable:
    """:class:`HazardTable` of a ``CoxData`` problem at ``beta`` (centred covariates)."""
    has_start = d.start is not None
    start = d.start if has_start else np.empty(0)
    sorder = d.sorder if has_start else np.empty(0, dtype=np.int64)
    out = hazard_table(
        d.X, start, d.time, d.status, d.wt, d.off, np.ascontiguousarray(beta, dtype=np.float64),
        d.bounds, sorder, has_start, d.efron,
    )
    return HazardTable(*out)


def _prefix(x: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-block prefix sums with a leading 0 in each block: shape (M + S, ...)."""
    parts = []
    for s in range(offsets.size - 1):
        blk = x[offsets[s]:offsets[s + 1]]
        z = np.zeros((1,) + blk.shape[1:])
        parts.append(np.concatenate([z, np.cumsum(blk, axis=0)]))
    return np.concatenate(parts) if parts else np.zeros((1,) + x.shape[1:])


def row_positions(d, ht: HazardTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each sorted row: (prefix index at exit, prefix index at entry, own event index).

    Prefix indices point into arrays built by :func:`_prefix` (block s starts at
    ``offsets[s] + s``); the own index is the event-table row of the row's exit time (valid
    when the row has an event).
    """
    n = d.time.size
    hi = np.empty(n, dtype=np.int64)
    lo = np.empty(n, dtype=np.int64)
    for s in range(d.bounds.size - 1):
        a, b = int(d.bounds[s]), int(d.bounds[s + 1])
        t0, t1 = int(ht.offsets[s]), int(ht.offsets[s + 1])
        T = ht.time[t0:t1]
        base = t0 + s
        hi[a:b] = base + np.searchsorted(T, d.time[a:b], side="right")
        if d.start is not None:
            lo[a:b] = base + np.searchsorted(T, d.start[a:b], side="right")
        else:
            lo[a:b] = base
    strat = np.repeat(np.arange(d.bounds.size - 1), np.diff(d.bounds))
    own = hi - strat - 1  # event-table index of the last event time <= exit
    return hi, lo, own


def residuals(d, beta: np.ndarray, ht: HazardTable | None = None) -> dict[str, np.ndarray]:
    """Martingale and score residuals (sorted-row order) and the per-row cumulative hazard."""
    if ht is None:
        ht = table(d, beta)
    hi, lo, own = row_positions(d, ht)
    eta = d.X @ beta + d.off
    r = np.exp(eta)
    dead = d.status != 0
    cH = _prefix(ht.dH1, ht.offsets)
    cX = _prefix(ht.dX1, ht.offsets)
    lam = cH[hi] - cH[lo]
    xlam = cX[hi] - cX[lo]
    od = own[dead]
    lam[dead] += ht.dH2[od] - ht.dH1[od]
    xlam[dead] += ht.dX2[od] - ht.dX1[od]
    mart = dead.astype(np.float64) - r * lam
    score = -(r[:, None] * (d.X * lam[:, None] - xlam))
    score[dead] += d.X[dead] - ht.xm[od]
    return {"martingale": mart, "score": score, "cumhaz": lam, "own": own, "eta": eta}


@kernel
def zph_sums(X, start, time, status, wt, off, beta, bounds, sorder, has_start, efron, g):
    """Score ``U2`` and information blocks of the model extended by ``x g(t)`` (contract)."""
    n, p = X.shape
    u2 = np.zeros(p)
    i11 = np.zeros((p, p))
    i12 = np.zeros((p, p))
    i22 = np.zeros((p, p))
    ut = np.zeros(p)
    vt = np.zeros((p, p))
    a = np.zeros(p)
    a2 = np.zeros(p)
    c = np.zeros((p, p))
    c2 = np.zeros((p, p))
    rs = np.empty(n)
    for i in range(n):
        zb = off[i]
        for k in range(p):
            zb += beta[k] * X[i, k]
        rs[i] = math.exp(zb) * wt[i]
    for s in range(bounds.shape[0] - 1):
        lo = bounds[s]
        hi = bounds[s + 1]
        denom = 0.0
        nrisk = 0
        a[:] = 0.0
        c[:, :] = 0.0
        i = hi - 1
        e = hi - 1
        while i >= lo:
            t = time[i]
            if has_start:
                while e >= lo and start[sorder[e]] >= t:
                    j = sorder[e]
                    denom -= rs[j]
                    nrisk -= 1
                    for k in range(p):
                        a[k] -= rs[j] * X[j, k]
                        for m in range(k + 1):
                            c[k, m] -= rs[j] * X[j, k] * X[j, m]
                    e -= 1
                if nrisk == 0:
                    denom = 0.0
                    a[:] = 0.0
                    c[:, :] = 0.0
            ndead = 0
            deadwt = 0.0
            denom2 = 0.0
            gt = 0.0
            ut[:] = 0.0
            while i >= lo and time[i] == t:
                r = rs[i]
                denom += r
                nrisk += 1
                dead = status[i] != 0
                if dead:
                    ndead += 1
                    deadwt += wt[i]
                    denom2 += r
                    gt = g[i]
                for k in range(p):
                    rx = r * X[i, k]
                    a[k] += rx
                    if dead:
                        a2[k] += rx
                        ut[k] += wt[i] * X[i, k]
                    for m in range(k + 1):
                        c[k, m] += rx * X[i, m]
                        if dead:
                            c2[k, m] += rx * X[i, m]
                i -= 1
            if ndead > 0:
                vt[:, :] = 0.0
                wtave = deadwt / ndead if efron else deadwt
                nk = ndead if efron else 1
                for kk in range(nk):
                    frac = kk / ndead if efron else 0.0
                    d2 = denom - frac * denom2
                    for k in range(p):
                        tk = (a[k] - frac * a2[k]) / d2
                        ut[k] -= wtave * tk
                        for m in range(k + 1):
                            vt[k, m] += wtave * ((c[k, m] - frac * c2[k, m]) - tk * (a[m] - frac * a2[m])) / d2
                for k in range(p):
                    u2[k] += gt * ut[k]
                    for m in range(k + 1):
                        i11[k, m] += vt[k, m]
                        i12[k, m] += gt * vt[k, m]
                        i22[k, m] += gt * gt * vt[k, m]
                a2[:] = 0.0
                c2[:, :] = 0.0
    for k in range(p):
        for m in range(k):
            i11[m, k] = i11[k, m]
            i12[m, k] = i12[k, m]
            i22[m, k] = i22[k, m]
    return u2, i11, i12, i22


@kernel
def monotone_binary(Z, start, time, status, bounds, sorder, has_start):
    """Direction in which the partial likelihood is monotone in each 0/1 column of ``Z``.

    ``Z[n, q]`` (int8, sorted rows) marks the higher of the two values of q binary columns.
    Returns ``int8[q]``: +1 when every event row has the higher value or no higher-value row
    is at risk at its time (and some event is informative), -1 symmetrically, 0 otherwise.
    One pass with per-column counts of the two values in the risk set.
    """
    n, q = Z.shape
    up_bad = np.zeros(q, dtype=np.bool_)
    dn_bad = np.zeros(q, dtype=np.bool_)
    up_info = np.zeros(q, dtype=np.bool_)
    dn_info = np.zeros(q, dtype=np.bool_)
    n_hi = np.zeros(q, dtype=np.int64)
    for s in range(bounds.shape[0] - 1):
        lo = bounds[s]
        hi = bounds[s + 1]
        n_hi[:] = 0
        nrisk = 0
        i = hi - 1
        e = hi - 1
        while i >= lo:
            t = time[i]
            if has_start:
                while e >= lo and start[sorder[e]] >= t:
                    j = sorder[e]
                    nrisk -= 1
                    for k in range(q):
                        n_hi[k] -= Z[j, k]
                    e -= 1
            g = i
            while g >= lo and time[g] == t:
                nrisk += 1
                for k in range(q):
                    n_hi[k] += Z[g, k]
                g -= 1
            for m in range(i, g, -1):
                if status[m] == 0:
                    continue
                for k in range(q):
                    nh = n_hi[k]
                    nl = nrisk - nh
                    if Z[m, k] == 0:
                        if nh > 0:
                            up_bad[k] = True
                            dn_info[k] = True
                    else:
                        if nl > 0:
                            dn_bad[k] = True
                            up_info[k] = True
            i = g
    out = np.zeros(q, dtype=np.int8)
    for k in range(q):
        if (not up_bad[k]) and up_info[k]:
            out[k] = 1
        elif (not dn_bad[k]) and dn_info[k]:
            out[k] = -1
    return out
