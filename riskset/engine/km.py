"""Kaplan–Meier and Nelson–Aalen curves from an event table, with pointwise CIs.

Contract
--------
Estimators (per group, over its event-table rows j with times t_1 < t_2 < ...)::

    S(t_j)        = prod_{i <= j} (1 - d_i / n_i)                 Kaplan–Meier
    V_log(t_j)    = sum_{i <= j} d_i / (n_i (n_i - d_i))          Greenwood, var of log S
    H(t_j)        = sum_{i <= j} d_i / n_i                        Nelson–Aalen
    V_H(t_j)      = sum_{i <= j} d_i / n_i^2                      its variance (R's std.chaz^2)

R's ``ctype = 2`` replaces Nelson–Aalen by the Fleming–Harrington tie correction
(:func:`fh_hazard`), ``stype = 2`` the product limit by ``S = exp(-H)`` with ``V_log = V_H``;
both with weighted ``n`` and ``d`` when case weights are given (as R's ``survfit`` without
``robust``). With ``robust`` (R's default for non-integer weights) R replaces both
``std.err`` and ``std.chaz`` by infinitesimal-jackknife values: :func:`km_robust_var`. Where ``d_i = n_i`` the curve reaches 0 and the Greenwood term is infinite:
``V_log`` is then +inf from that row on (R reports ``std.err`` as Inf/NaN there; the CI is
undefined). Rows with ``d_i = 0`` (censorings only) leave every sum unchanged.
Confidence intervals (R ``survival:::survfit_confint``, conf.lower = "usual"), with
``se = sqrt(V_log)`` the standard error of log S and ``z = Phi^{-1}(1 - (1 - level)/2)``::

    plain    S (1 -+ z se), clipped to [0, 1]
    log      S exp(-+ z se), upper clipped at 1; undefined where S = 0
    log-log  S^{exp(+- z se / log S)}; undefined where S = 0 or S = 1
    logit    1 - 1 / (1 + exp(logit S -+ z se / (1 - S))); undefined where S = 0
    arcsin   sin^2(clip(asin sqrt S -+ z se / 2 sqrt(S / (1 - S)), 0, pi/2)); undefined at S = 0

where ``se = 0`` (before the first event) both limits equal S for plain and log, and are
undefined for log-log, logit and arcsin (as survival 3.5-3, where they are NA/NaN). Where
the Greenwood se is infinite (S = 0) every limit is undefined. Undefined limits are NaN.
Inputs
    ``n_risk[m], n_event[m]`` float64 and ``offsets[G+1]`` from :mod:`riskset.engine.eventtable`.
Reference
    R: ``survfit(Surv(time, event) ~ g, conf.type = ...)``: ``surv``, ``std.err`` (= se,
    log scale), ``lower``, ``upper``, ``cumhaz``, ``std.chaz``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from riskset.engine._jit import kernel

#: CI transform names and their kernel codes.
CONF_TYPES: dict[str, int] = {"plain": 0, "log": 1, "log-log": 2, "logit": 3, "arcsin": 4}


class KMCurve(NamedTuple):
    """Kaplan–Meier and Nelson–Aalen estimates at each event-table row."""

    surv: np.ndarray  # float64[m]
    var_log: np.ndarray  # float64[m], Greenwood variance of log S
    cumhaz: np.ndarray  # float64[m]
    var_cumhaz: np.ndarray  # float64[m]


@kernel
def km_surv(n_risk, n_event, offsets):
    """Kaplan–Meier and its Greenwood variance of log S for every group (see contract)."""
    m = n_risk.shape[0]
    surv = np.empty(m, dtype=np.float64)
    var_log = np.empty(m, dtype=np.float64)
    for g in range(offsets.shape[0] - 1):
        s = 1.0
        v = 0.0
        for j in range(offsets[g], offsets[g + 1]):
            d = n_event[j]
            if d > 0.0:
                n = n_risk[j]
                s *= (n - d) / n
                # d == n gives d / 0 = +inf (error_model="numpy"): the curve has reached 0
                v += d / (n * (n - d))
            surv[j] = s
            var_log[j] = v
    return surv, var_log


@kernel
def nelson_aalen_curve(n_risk, n_event, offsets):
    """Nelson–Aalen cumulative hazard and its variance ``sum d / n^2`` (see contract)."""
    m = n_risk.shape[0]
    cumhaz = np.empty(m, dtype=np.float64)
    var_h = np.empty(m, dtype=np.float64)
    for g in range(offsets.shape[0] - 1):
        h = 0.0
        vh = 0.0
        for j in range(offsets[g], offsets[g + 1]):
            d = n_event[j]
            if d > 0.0:
                n = n_risk[j]
                h += d / n
                vh += d / (n * n)
            cumhaz[j] = h
            var_h[j] = vh
    return cumhaz, var_h


def km_curve(n_risk: np.ndarray, n_event: np.ndarray, offsets: np.ndarray) -> KMCurve:
    """All four curves at once (convenience for callers that need everything)."""
    surv, var_log = km_surv(n_risk, n_event, offsets)
    cumhaz, var_h = nelson_aalen_curve(n_risk, n_event, offsets)
    return KMCurve(surv, var_log, cumhaz, var_h)


@kernel
def _confint_one(s, se, z, code):
    """Lower and upper limit for one survival value (see contract); NaN where undefined."""
    nan = np.nan
    if not (se == se) or se == np.inf:  # Greenwood se is inf once S has reached 0
        return nan, nan
    if code == 0:  # plain
        half = z * se * s
        return max(s - half, 0.0), min(s + half, 1.0)
    if code == 1:  # log
        if s == 0.0:
            return nan, nan
        return s * math.exp(-z * se), min(s * math.exp(z * se), 1.0)
    if code == 2:  # log-log
        if s == 0.0 or s == 1.0:
            return nan, nan
        ls = math.log(s)
        w = z * se / ls
        return math.exp(-math.exp(math.log(-ls) - w)), math.exp(-math.exp(math.log(-ls) + w))
    if code == 3:  # logit
        if s == 0.0 or s == 1.0:
            return nan, nan
        w = z * se * (1.0 + s / (1.0 - s))
        lg = math.log(s / (1.0 - s))
        return 1.0 - 1.0 / (1.0 + math.exp(lg - w)), 1.0 - 1.0 / (1.0 + math.exp(lg + w))
    # arcsin
    if s == 0.0 or s == 1.0:
        return nan, nan
    w = 0.5 * z * se * math.sqrt(s / (1.0 - s))
    a = math.asin(math.sqrt(s))
    lo = math.sin(max(0.0, a - w))
    hi = math.sin(min(math.pi / 2, a + w))
    return lo * lo, hi * hi


@kernel
def confint(surv, se_log, z, code):
    """Pointwise CI limits for arrays ``surv`` and ``se_log`` (see contract)."""
    m = surv.shape[0]
    lower = np.empty(m, dtype=np.float64)
    upper = np.empty(m, dtype=np.float64)
    for j in range(m):
        lower[j], upper[j] = _confint_one(surv[j], se_log[j], z, code)
    return lower, upper


@kernel
def confint_split(surv, se_log, se_low, z, code):
    """As :func:`confint`, the lower limit from ``se_low`` instead of ``se_log`` (R's
    ``conf.lower = "peto"`` / ``"modified"``: ``survfit_confint``'s ``selow``, already
    multiplied onto the log-S scale, see :func:`lower_se`)."""
    m = surv.shape[0]
    lower = np.empty(m, dtype=np.float64)
    upper = np.empty(m, dtype=np.float64)
    for j in range(m):
        lo, up = _confint_one(surv[j], se_log[j], z, code)
        if se_low[j] != se_log[j]:
            lo, _ = _confint_one(surv[j], se_low[j], z, code)
        lower[j] = lo
        upper[j] = up
    return lower, upper


def lower_se(conf_lower, surv, se_log, se_r, n_risk, n_event, offsets):
    """The standard error behind the lower CI limit, on the scale of ``se_log``.

    R (``survfitKM``, ``survfit_confint``): with ``std.err`` as R stores it (``se_r``: of
    log S, or of S for a robust Kaplan–Meier fit) and ``selow``::

        usual     selow = std.err
        peto      selow = sqrt((1 - S) / n_risk)
        modified  selow = std.err * sqrt(n_lag / n_risk)

    ``n_lag`` is the number at risk at the last row with an event (weighted ``n_event > 0``)
    at or before this row, or at the curve's first row before any; ``scale = 1`` where
    ``selow = 0``, else ``selow / std.err``; the lower limit uses ``se_log * scale``.
    """
    if conf_lower == "usual":
        return se_log
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_lower == "peto":
            selow = np.sqrt((1.0 - surv) / n_risk)
        else:
            n_lag = np.empty_like(n_risk)
            for g in range(offsets.shape[0] - 1):
                lo, hi = int(offsets[g]), int(offsets[g + 1])
                if hi <= lo:
                    continue
                idx = np.arange(lo, hi)
                mark = n_event[lo:hi] > 0
                mark[0] = True
                last = np.maximum.accumulate(np.where(mark, idx, lo))
                n_lag[lo:hi] = n_risk[last]
            selow = se_r * np.sqrt(n_lag / n_risk)
        scale = np.where(selow == 0, 1.0, selow / se_r)
        return se_log * scale


@kernel
def fh_hazard(n_risk, n_event, n_count, offsets):
    """Fleming–Harrington (tie-corrected) cumulative hazard and its variance (R ``ctype = 2``).

    At a row with ``d0`` events (unweighted count) of weighted total ``d`` and weighted
    number at risk ``n``, the ``d0`` tied events leave one at a time, each weighing ``d/d0``
    (survival ``survfitkm.c``)::

        dH = sum_{j=0}^{d0-1} (d/d0) / (n - j d/d0)
        dV = sum_{j=0}^{d0-1} (d/d0) / (n - j d/d0)^2

    Without weights ``dH = 1/n + 1/(n-1) + ... + 1/(n-d+1)``; one event per time gives the
    Nelson–Aalen estimate.
    """
    m = n_risk.shape[0]
    cumhaz = np.empty(m, dtype=np.float64)
    var_h = np.empty(m, dtype=np.float64)
    for g in range(offsets.shape[0] - 1):
        h = 0.0
        vh = 0.0
        for j in range(offsets[g], offsets[g + 1]):
            d0 = n_count[j]
            d = n_event[j]
            n = n_risk[j]
            k = 0.0
            while k < d0:
                den = n - k * d / d0
                h += d / (d0 * den)
                vh += d / (d0 * den * den)
                k += 1.0
            cumhaz[j] = h
            var_h[j] = vh
    return cumhaz, var_h


@kernel
def fh_ij_terms(n_risk, n_event, n_count):
    """Per-row terms of the IJ variance of the Fleming–Harrington hazard (survival
    ``survfitkm.c``, types 2 and 4): every row at risk moves by ``-w k_i``, a row with an
    event there by ``+w e_i`` besides. With ``b_l = 1 / (n - d + (l/d0) d)``, l = d0..1::

        k_i = (d/d0) sum_l b_l^2,   e_i = (1/d0) sum_l b_l + k_i - (d/d0) sum_l (l/d0) b_l^2

    (the ``d/d0`` factors only where ``d != d0``, as R). Without ties ``k = d/n^2`` and
    ``e = 1/n``: the Nelson–Aalen terms. Returns ``(k[m], e[m])``, 0 on rows without events.
    """
    m = n_risk.shape[0]
    kinc = np.zeros(m, dtype=np.float64)
    ev = np.zeros(m, dtype=np.float64)
    for j in range(m):
        d0 = n_count[j]
        d = n_event[j]
        if d0 > 0.0 and d > 0.0:
            temp = n_risk[j] - d
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            ll = d0
            while ll > 0.0:
                frac = ll / d0
                b = 1.0 / (temp + frac * d)
                s1 += b
                s2 += b * b * frac
                s3 += b * b
                ll -= 1.0
            s1 /= d0
            if d != d0:
                s2 *= d / d0
                s3 *= d / d0
            kinc[j] = s3
            ev[j] = s1 + s3 - s2
    return kinc, ev


@kernel
def _bsearch_right(a, lo, hi, x):
    """Number of elements of sorted ``a[lo:hi]`` that are <= x, plus ``lo``."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@kernel
def km_robust_var(time, event, weights, codes, entry, has_entry, tab_time, n_risk, n_event, offsets, surv,
                  haz_k, haz_e):
    """Infinitesimal-jackknife variances of S(t) and of the Nelson–Aalen H(t) at every
    event-table row (each row its own cluster). Returns ``(var_s[m], var_h[m])``.

    R ``survfit`` uses these by default with non-integer case weights (``std.err`` and
    ``std.chaz`` both). Its per-cluster recursions (survival ``survfitkm.c``, type 1), with
    ``h_i = d_i / n_i``, ``Y_c(t_i)`` the weight of row c if at risk at ``t_i`` and
    ``dN_c(t_i)`` its weighted event, updated at event times only::

        U_c(t_i) = U_c(t_{i-1}) (1 - h_i) - S(t_{i-1}) (dN_c(t_i) - Y_c(t_i) h_i) / n_i
        V_c(t_i) = V_c(t_{i-1}) + (dN_c(t_i) - Y_c(t_i) h_i) / n_i

    and ``Var S = sum_c U_c^2``, ``Var H = sum_c V_c^2``. They factorise as
    ``U_c(t) = w_c S(t) a_c(t)`` and ``V_c(t) = -w_c b_c(t)`` with
    ``g_i = d_i / (n_i (n_i - d_i))``, ``k_i = d_i / n_i^2``, their running sums ``G``, ``K``,
    and::

        a_c(t) = G(min(t, T_c)) - G(E_c) - event_c [T_c <= t] / (n(T_c) - d(T_c))
        b_c(t) = K(min(t, T_c)) - K(E_c) - event_c [T_c <= t] / n(T_c)

    (``G(E_c)``, ``K(E_c)``: the sums before the first row at risk), so
    ``Var S(t) = S(t)^2 sum_c w_c^2 a_c(t)^2`` and ``Var H(t) = sum_c w_c^2 b_c(t)^2``.
    Each splits into rows already exited (a fixed value each, a running sum) and rows still
    at risk before their exit row, whose ``D_c(t) = G(t) - G(E_c)`` (or with K) grows by
    ``g_j`` at every row: ``sum w^2 D^2`` is carried by ``S2 += 2 g S1 + g^2 S0``,
    ``S1 += g S0``, with ``S0 = sum w^2`` over the rows at risk. ``S0`` and the number of
    rows at risk are suffix sums (rows exiting after j minus rows entering after j),
    additions only; a row leaving subtracts its own ``w^2 D``, ``w^2 D^2``, and the sums are
    reset to exactly 0 when no row is at risk. Without entry times ``D_c = G(t)`` for every
    row at risk, so the at-risk part is ``G(t)^2 S0`` directly. One pass over the rows for
    both variances: O(n log m) instead of R's O(n m). Where S(t) = 0 the variance of S is 0
    (as R reports).

    ``haz_k``, ``haz_e`` (each length m, or empty for the Nelson–Aalen hazard): the at-risk
    term ``k_i`` replacing ``d_i / n_i^2`` and the event term replacing ``1 / n_i`` in
    ``b_c`` (:func:`fh_ij_terms` for the Fleming–Harrington hazard).
    """
    m = tab_time.shape[0]
    fh = haz_k.shape[0] == m and m > 0
    n_groups = offsets.shape[0] - 1
    ginc = np.zeros(m, dtype=np.float64)
    kinc = np.zeros(m, dtype=np.float64)
    gsum = np.empty(m, dtype=np.float64)
    ksum = np.empty(m, dtype=np.float64)
    for g in range(n_groups):
        acc = 0.0
        acck = 0.0
        for j in range(offsets[g], offsets[g + 1]):
            d = n_event[j]
            nn = n_risk[j]
            if d > 0.0:
                kinc[j] = haz_k[j] if fh else d / (nn * nn)
                if nn > d:
                    ginc[j] = d / (nn * (nn - d))
            acc += ginc[j]
            acck += kinc[j]
            gsum[j] = acc
            ksum[j] = acck
    fin = np.zeros(m, dtype=np.float64)  # w^2 a^2 added at the exit row
    fin_h = np.zeros(m, dtype=np.float64)  # w^2 b^2 added at the exit row
    # rows at risk before their exit row: w^2 and count by exit row and by first row at risk
    ex0 = np.zeros(m, dtype=np.float64)
    en0 = np.zeros(m, dtype=np.float64)
    exn = np.zeros(m, dtype=np.int64)
    enn = np.zeros(m, dtype=np.int64)
    # what a row leaving at its exit row j takes out: w^2 D(j-1), w^2 D(j-1)^2 (G, then K)
    rem = np.zeros((m, 4), dtype=np.float64)
    for c in range(time.shape[0]):
        g = codes[c]
        lo = offsets[g]
        hi = offsets[g + 1]
        w2 = weights[c] * weights[c]
        # exit row: the table row whose time equals time[c]
        k_exit = _bsearch_right(tab_time, lo, hi, time[c]) - 1
        if has_entry:
            k_in = _bsearch_right(tab_time, lo, hi, entry[c])  # first row with t > entry
            ge = gsum[k_in - 1] if k_in > lo else 0.0
            ke = ksum[k_in - 1] if k_in > lo else 0.0
        else:
            k_in = lo
            ge = 0.0
            ke = 0.0
        a = gsum[k_exit] - ge
        b = ksum[k_exit] - ke
        if event[c] == 1 and n_event[k_exit] > 0.0:
            nd = n_risk[k_exit] - n_event[k_exit]
            if nd > 0.0:
                a -= 1.0 / nd
            b -= haz_e[k_exit] if fh else 1.0 / n_risk[k_exit]
        fin[k_exit] += w2 * a * a
        fin_h[k_exit] += w2 * b * b
        if k_in < k_exit:
            ex0[k_exit] += w2
            exn[k_exit] += 1
            en0[k_in] += w2
            enn[k_in] += 1
            dg = gsum[k_exit - 1] - ge
            dk = ksum[k_exit - 1] - ke
            rem[k_exit, 0] += w2 * dg
            rem[k_exit, 1] += w2 * dg * dg
            rem[k_exit, 2] += w2 * dk
            rem[k_exit, 3] += w2 * dk * dk
    # S0 and the count at row j: rows exiting after j minus rows entering after j
    s0 = np.empty(m, dtype=np.float64)
    cnt = np.empty(m, dtype=np.int64)
    for g in range(n_groups):
        a_w = 0.0
        b_w = 0.0
        a_n = 0
        b_n = 0
        for j in range(offsets[g + 1] - 1, offsets[g] - 1, -1):
            s0[j] = a_w - b_w if has_entry else a_w
            cnt[j] = a_n - b_n
            a_w += ex0[j]
            b_w += en0[j]
            a_n += exn[j]
            b_n += enn[j]
    var = np.empty(m, dtype=np.float64)
    var_h = np.empty(m, dtype=np.float64)
    for g in range(n_groups):
        f = 0.0
        fh = 0.0
        s1 = 0.0
        s2 = 0.0
        s1h = 0.0
        s2h = 0.0
        for j in range(offsets[g], offsets[g + 1]):
            f += fin[j]
            fh += fin_h[j]
            if has_entry:
                s1 -= rem[j, 0]
                s2 -= rem[j, 1]
                s1h -= rem[j, 2]
                s2h -= rem[j, 3]
                if cnt[j] == 0:
                    s1 = 0.0
                    s2 = 0.0
                    s1h = 0.0
                    s2h = 0.0
                else:
                    gi = ginc[j]
                    ki = kinc[j]
                    s2 += 2.0 * gi * s1 + gi * gi * s0[j]
                    s1 += gi * s0[j]
                    s2h += 2.0 * ki * s1h + ki * ki * s0[j]
                    s1h += ki * s0[j]
                at_risk_g = max(s2, 0.0)
                at_risk_k = max(s2h, 0.0)
            else:
                at_risk_g = gsum[j] * gsum[j] * s0[j]
                at_risk_k = ksum[j] * ksum[j] * s0[j]
            var[j] = surv[j] * surv[j] * (f + at_risk_g)
            var_h[j] = fh + at_risk_k
    return var, var_h


@kernel
def median_scan(time, surv, se_log, se_low, z, code, which, tol):
    """R's summary-table median (``survmean``'s minmin rule) of S (which=0) or of the lower
    (1) / upper (2) pointwise limit, computing limits on the fly and stopping at the answer.

    First row with ``y < 0.5 + tol``; if ``|y - 0.5| < tol`` and a later row has a smaller
    y, the midpoint of the two times; else that row's time; NaN if no row qualifies.
    Equivalent to :func:`riskset.engine.quantile.median_r_table` on the full curve.
    """
    first = -1
    y_first = 0.0
    for j in range(time.shape[0]):
        if which == 0:
            y = surv[j]
        else:
            if which == 1:
                y, _ = _confint_one(surv[j], se_low[j], z, code)
            else:
                _, y = _confint_one(surv[j], se_log[j], z, code)
        if y != y:  # undefined limit: R drops NA rows
            continue
        if first < 0:
            if y < 0.5 + tol:
                first = j
                y_first = y
                if abs(y - 0.5) >= tol:
                    return time[j]
        elif y < y_first:
            return (time[first] + time[j]) / 2.0
    if first < 0:
        return np.nan
    return time[first]
