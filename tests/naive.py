"""Slow, obviously correct reference implementations (oracles) for the kernels.

Nothing here is clever: every quantity is computed from its definition with boolean masks
over the rows, one distinct time at a time.
"""

from __future__ import annotations

import numpy as np


def km_naive(time, event, weights=None, entry=None):
    """Kaplan–Meier from definitions: returns dict of arrays over distinct times."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    w = np.ones_like(time) if weights is None else np.asarray(weights, dtype=float)
    ent = np.full_like(time, -np.inf) if entry is None else np.asarray(entry, dtype=float)
    out = {k: [] for k in ("time", "n_risk", "n_event", "n_censor", "surv", "var_log", "cumhaz", "var_cumhaz")}
    s, v, h, vh = 1.0, 0.0, 0.0, 0.0
    for t in np.unique(time):
        at_risk = (ent < t) & (time >= t)
        n = w[at_risk].sum()
        d = w[(time == t) & (event == 1)].sum()
        c = w[(time == t) & (event == 0)].sum()
        if d > 0:
            s *= 1 - d / n
            v += d / (n * (n - d)) if n > d else np.inf
            h += d / n
            vh += d / n**2
        for k, x in zip(out, (t, n, d, c, s, v, h, vh), strict=True):
            out[k].append(x)
    return {k: np.asarray(x) for k, x in out.items()}


def rmst_naive(time, event, tau):
    """Area under the KM step function on [0, tau] by summing rectangles."""
    km = km_naive(time, event)
    area, last_t, last_s = 0.0, 0.0, 1.0
    for t, s in zip(km["time"], km["surv"], strict=True):
        if t > tau:
            break
        area += (t - last_t) * last_s
        last_t, last_s = t, s
    return area + (tau - last_t) * last_s


def km_ij_naive(time, event, weights, entry=None):
    """Infinitesimal-jackknife variances of S and of the Nelson–Aalen H, each row its own
    cluster, by R's per-row recursions (survival ``survfitkm.c``, type 1) run over every
    distinct time for every row: O(n m). With ``h = d / n`` at a time with events::

        U_c <- U_c (1 - h) - S_before (dN_c - Y_c h) / n
        V_c <- V_c + (dN_c - Y_c h) / n

    where ``Y_c`` is the row's weight if at risk (entry < t <= time) and ``dN_c`` its weight
    if it has the event at t. Returns dict of arrays ``time``, ``var_surv``, ``var_cumhaz``.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    w = np.asarray(weights, dtype=float)
    ent = np.full_like(time, -np.inf) if entry is None else np.asarray(entry, dtype=float)
    u = np.zeros(time.size)
    v = np.zeros(time.size)
    s = 1.0
    out = {"time": [], "var_surv": [], "var_cumhaz": []}
    for t in np.unique(time):
        at_risk = (ent < t) & (time >= t)
        n = w[at_risk].sum()
        dies = (time == t) & (event == 1)
        d = w[dies].sum()
        if d > 0:
            h = d / n
            y = np.where(at_risk, w, 0.0)
            dn = np.where(dies, w, 0.0)
            u = u * (1 - h) - s * (dn - y * h) / n
            v = v + (dn - y * h) / n
            s *= 1 - h
        out["time"].append(t)
        out["var_surv"].append(float(np.sum(u * u)))
        out["var_cumhaz"].append(float(np.sum(v * v)))
    return {k: np.asarray(x) for k, x in out.items()}


def spss_quantile_naive(time, event, p, z=1.96):
    """SPSS percentile with its CI by Collett's rule (Collett 2003, section 2.4), written
    out from the rule with plain loops over the KM rows of :func:`km_naive`::

        t_p = first time with S <= 1 - p
        u   = largest event time with S >= 1 - p + 0.05   (u = 0, S(u) = 1 if none)
        l   = smallest event time with S <= 1 - p - 0.05  (no SE if none)
        se  = S(t_p) sqrt(Greenwood var of log S at t_p) * (l - u) / (S(u) - S(l))
        CI  = t_p -+ z se

    Returns ``(t_p, lower, upper)``, NaN where undefined.
    """
    km = km_naive(time, event)
    t_p = lo = hi = np.nan
    se_s = np.nan
    for t, s, v in zip(km["time"], km["surv"], km["var_log"], strict=True):
        if s <= 1 - p:
            t_p = t
            se_s = s * np.sqrt(v) if np.isfinite(v) else np.nan
            break
    u, s_u = 0.0, 1.0
    ell = s_ell = None
    for t, d, s in zip(km["time"], km["n_event"], km["surv"], strict=True):
        if d > 0 and s >= 1 - p + 0.05:
            u, s_u = t, s
        if d > 0 and s <= 1 - p - 0.05 and ell is None:
            ell, s_ell = t, s
    if not np.isnan(t_p) and ell is not None:
        se = se_s / ((s_u - s_ell) / (ell - u))
        lo, hi = t_p - z * se, t_p + z * se
    return t_p, lo, hi
