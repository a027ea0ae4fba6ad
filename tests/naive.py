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
