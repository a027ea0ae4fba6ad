"""Quantiles (median) of a survival step function, with CIs, under several conventions.

Contract
--------
All functions take one curve: ``time[m]`` ascending, ``surv[m]`` non-increasing (the KM at
each event-table row, censoring rows included), and for CIs the pointwise ``lower[m]`` /
``upper[m]`` curves (NaN where undefined). ``p`` is the probability of the quantile
(0.5 = median): the quantile is where the CDF ``1 - S`` crosses ``p``.

``quantile_r`` (R ``quantile.survfit``, survival 3.x ``findq``)
    Work on the CDF points ``x = (x0, time)``, ``y = (0, 1 - surv)`` with duplicated y values
    dropped (the first x of each level is kept). Let ``tol = sqrt(machine eps)``. The
    quantile is the first x where ``y > p + tol``, except when some level ``y_k`` lies
    within ``tol`` of ``p`` (the curve is flat at exactly ``1 - p``): then it is the midpoint
    of that flat, ``(x_k + x_{k+1}) / 2``, and when the flat is the end of the curve,
    ``(x_k + last time) / 2``. Not reached (``max y < p``): NaN. The CI limits apply the same
    rule to the lower curve (giving the lower limit) and the upper curve (upper limit).
``median_r_table`` (R ``print.survfit`` / ``summary(fit)$table``, ``survmean``'s ``minmin``)
    First time with ``S < 0.5 + tol``; when that S is within tol of 0.5 and the curve later
    drops below it, the midpoint of that time and the first time it drops; else that time.
    A flat at 0.5 to the end of the curve gives the flat's first time (unlike
    ``quantile_r``). Limits: the same rule on the lower / upper curves.
``quantile_first`` (lifelines ``qth_survival_time``; also SPSS's point estimate)
    First time with ``S <= 1 - p``; no midpoint rule. Limits: the same rule on the curves.
``quantile_sas`` (SAS PROC LIFETEST)
    ``(inf{t: S(t) < 1 - p} + inf{t: S(t) <= 1 - p}) / 2`` — the midpoint of the flat when
    S equals ``1 - p`` exactly, else the first time S falls below. The Brookmeyer–Crowley
    interval is the set of times whose pointwise CI (on the chosen transform) contains
    ``1 - p``; reported as the first time the upper curve is <= 1 - p (lower limit) and the
    first time the lower curve is < 1 - p (upper limit).
``spss_median_se`` (SPSS KM "Means and Medians" / percentiles table)
    Point estimate: ``quantile_first`` (``t_p``, the first time with ``S <= 1 - p``).
    ``se(t_p) = se(S(t_p)) / f`` (Collett 2003, section 2.4, which SPSS's algorithm note
    follows), with the density estimate ``f = (S(u) - S(l)) / (l - u)`` where, for the
    median, ``u`` is the largest event time with ``S(u) >= 0.55`` (``u = 0`` with
    ``S(u) = 1`` if there is none) and ``l`` the smallest event time with ``S(l) <= 0.45``
    (no SE if there is none). For another quantile ``p`` the two levels are
    ``1 - p + 0.05`` and ``1 - p - 0.05``. ``se(S(t_p))`` is the S-scale standard error of
    the fit at ``t_p`` (Greenwood; the infinitesimal jackknife for a robust fit). Event
    times are the rows with ``n_event > 0``; the comparisons are plain float comparisons.
    The CI ``t_p -+ z se`` is symmetric and not truncated at 0 (``z = 1.96`` for 95 %; see
    ``docs/algorithms/km-conventions.md``).
"""

from __future__ import annotations

import numpy as np

TOL = float(np.sqrt(np.finfo(np.float64).eps))


def _approx_const_right(xs: np.ndarray, ys: np.ndarray, p: float) -> float:
    """R's ``approx(xs, ys, p, method="constant", f=1)`` for distinct, finite ``xs``."""
    order = np.argsort(xs, kind="stable")
    xs = xs[order]
    ys = ys[order]
    if xs.size == 0 or p < xs[0] or p > xs[-1]:
        return np.nan
    i = int(np.searchsorted(xs, p, side="left"))
    if xs[i] == p:
        return float(ys[i])
    return float(ys[i])  # xs[i-1] < p < xs[i]: f = 1 takes the right value


def findq(x: np.ndarray, y: np.ndarray, p: float, tol: float = TOL) -> float:
    """R survival's ``findq``: quantile ``p`` of the CDF step curve ``(x, y)``."""
    finite = y[~np.isnan(y)]
    if finite.size == 0 or finite.max() < p:
        return np.nan
    xmax = x[-1]
    # drop repeated y values (NaN counts as one value), keeping the first occurrence
    _, first = np.unique(np.where(np.isnan(y), np.inf, y), return_index=True)
    keep = np.sort(first)
    x = x[keep]
    y = y[keep]
    n = y.size
    idx = np.arange(1, n + 1, dtype=np.float64)
    ok = ~np.isnan(y)
    i1 = _approx_const_right(y[ok] + tol, idx[ok], p)
    i2 = _approx_const_right(y[ok] - tol, idx[ok], p)
    if p == 0:
        return float(x[0])
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol:
        return float((x[int(i1) - 1] + xmax) / 2) if not np.isnan(i1) else np.nan
    if np.isnan(i1) or np.isnan(i2):
        return np.nan
    return float((x[int(i1) - 1] + x[int(i2) - 1]) / 2)


def quantile_r(
    time: np.ndarray, curve: np.ndarray, p: float, x0: float = 0.0, tol: float = TOL
) -> float:
    """Quantile ``p`` of one survival curve by R's ``quantile.survfit`` rule."""
    x = np.concatenate(([x0], time))
    y = np.concatenate(([0.0], 1.0 - curve))
    return findq(x, y, p, tol)


def median_r_table(time: np.ndarray, curve: np.ndarray, tol: float = TOL) -> float:
    """Median of one curve by R's ``survmean`` (``minmin``) rule, used in ``summary()$table``."""
    keep = ~np.isnan(curve) & (curve < 0.5 + tol)
    if not keep.any():
        return np.nan
    x = time[keep]
    y = curve[keep]
    if abs(y[0] - 0.5) < tol:
        below = np.flatnonzero(y < y[0])
        if below.size:
            return float((x[0] + x[below[0]]) / 2)
    return float(x[0])


def quantile_first(time: np.ndarray, curve: np.ndarray, p: float) -> float:
    """First time the curve is at or below ``1 - p`` (NaN if never)."""
    hit = np.flatnonzero(~np.isnan(curve) & (curve <= 1.0 - p))
    return float(time[hit[0]]) if hit.size else np.nan


def quantile_sas(time: np.ndarray, curve: np.ndarray, p: float) -> float:
    """SAS LIFETEST quantile: midpoint of inf{S < 1-p} and inf{S <= 1-p}."""
    target = 1.0 - p
    ok = ~np.isnan(curve)
    le = np.flatnonzero(ok & (curve <= target))
    if le.size == 0:
        return np.nan
    lt = np.flatnonzero(ok & (curve < target))
    if lt.size == 0:  # flat at exactly 1 - p until the end: only the left end is known
        return float(time[le[0]])
    return float((time[le[0]] + time[lt[0]]) / 2)


def quantile_sas_lower(time: np.ndarray, lower: np.ndarray, p: float) -> float:
    """SAS lower limit: first time whose pointwise CI contains 1 - p (lower curve <= 1 - p)."""
    hit = np.flatnonzero(~np.isnan(lower) & (lower <= 1.0 - p))
    return float(time[hit[0]]) if hit.size else np.nan


def quantile_sas_upper(time: np.ndarray, upper: np.ndarray, p: float) -> float:
    """SAS upper limit: first time after the CI-contains-(1 - p) set (upper curve < 1 - p)."""
    hit = np.flatnonzero(~np.isnan(upper) & (upper < 1.0 - p))
    return float(time[hit[0]]) if hit.size else np.nan


def spss_median_se(
    time: np.ndarray, surv: np.ndarray, se_surv: np.ndarray, n_event: np.ndarray, p: float,
    width: float = 0.05,
) -> float:
    """SPSS standard error of the ``p`` quantile (see module contract; Collett's rule).

    ``se(t_p) = se(S(t_p)) (l - u) / (S(u) - S(l))`` with ``u`` the largest event time with
    ``S >= 1 - p + width`` (0 and S = 1 if none), ``l`` the smallest event time with
    ``S <= 1 - p - width`` (NaN if none), ``t_p`` the first time with ``S <= 1 - p``
    (NaN if none).
    """
    ok = ~np.isnan(surv)
    hit = np.flatnonzero(ok & (surv <= 1.0 - p))
    if hit.size == 0:
        return np.nan
    se_at = se_surv[hit[0]]
    events = ok & (n_event > 0)
    above = np.flatnonzero(events & (surv >= 1.0 - p + width))
    below = np.flatnonzero(events & (surv <= 1.0 - p - width))
    if below.size == 0:
        return np.nan
    t_u, s_u = (float(time[above[-1]]), float(surv[above[-1]])) if above.size else (0.0, 1.0)
    t_l, s_l = float(time[below[0]]), float(surv[below[0]])
    if not (s_u > s_l and t_l > t_u):
        return np.nan
    return float(se_at * (t_l - t_u) / (s_u - s_l))
