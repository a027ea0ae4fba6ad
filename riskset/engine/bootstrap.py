"""Bootstrap replicates of Kaplan–Meier statistics as re-weightings of once-sorted data.

Contract
--------
Resampling
    A replicate draws, within each resampling stratum s with ``m_s`` units (rows, or
    clusters for cluster resampling), ``m_s`` units uniformly with replacement. Unit ``u``
    drawn ``k_u`` times gives every row of ``u`` the weight ``k_u * w_row`` (``w_row`` the
    case weight, 1 if none). This is exactly the multinomial resample-and-refit bootstrap:
    refitting on the rows repeated ``k`` times gives the same estimate as weighting them by
    ``k`` (KM is a function of weighted counts at distinct times).
Randomness
    Replicate ``b`` uses its own SplitMix64 stream seeded by ``seeds[b]`` (words of
    ``numpy.random.SeedSequence(seed).generate_state``), and integers in ``[0, m)`` by
    Lemire's multiply-shift with rejection (unbiased). Replicates are independent of which
    thread runs them, so results are identical at any thread count.
    :func:`resample_counts` regenerates the counts of one replicate for the naive oracle.
Statistics (per group, on the weighted KM of that group's rows)
    ``STAT_SURV``: S(x) at the last event time <= x. ``STAT_QUANTILE``: R ``quantile.survfit``
    (findq) rule for probability ``x``. ``STAT_MEDIAN``: R ``summary(fit)$table`` median
    (``survmean``'s minmin rule). ``STAT_RMST``: area under S on ``[0, x]``. Undefined
    values (quantile not reached) are NaN.
Inputs (all in the sorted order: group, then time ascending, censorings before events)
    ``time[n]``, ``event[n]`` int8, ``w[n]`` case weights, ``unit[n]`` int64 unit of each
    row, ``unit_offsets[S+1]`` units of resampling stratum s are ``unit_offsets[s] ..
    unit_offsets[s+1]-1``, ``group_offsets[G+1]`` row ranges of the groups.
Outputs
    ``out[B, K, G]`` float64: K statistics evaluated on the same resamples.
Cox statistics
    :func:`cox_replicates` refits the Cox model on each replicate with the resample counts
    as row frequencies (:func:`riskset.engine.cox.cox_pass` with ``freq``: exactly the
    partial likelihood of the resampled rows, Efron ties included), by R's Newton–Raphson started at the full-data
    estimate; a replicate that does not converge is NaN (undefined).
Reference
    Efron & Tibshirani (1993), ch. 6 and 14; R ``boot::boot`` with ``sim = "ordinary"``.
"""

from __future__ import annotations

import numba
import numpy as np

from riskset.engine._jit import kernel, parallel_kernel
from riskset.engine.cox import cholesky2, chsolve2, cox_pass
from riskset.engine.logrank import grid_sums_multi

STAT_SURV = 0
STAT_QUANTILE = 1
STAT_MEDIAN = 2
STAT_RMST = 3

_TOL = float(np.sqrt(np.finfo(np.float64).eps))


@kernel
def _splitmix_next(state):
    """Advance a one-element uint64 state array and return the next 64-bit output."""
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@kernel
def _uniform_below(state, m):
    """Unbiased integer in [0, m) for 0 < m < 2**32 (Lemire 2019, with rejection)."""
    mm = np.uint64(m)
    mask = np.uint64(0xFFFFFFFF)
    x = _splitmix_next(state) >> np.uint64(32)
    prod = x * mm
    low = prod & mask
    if low < mm:
        thresh = (np.uint64(0x100000000) - mm) % mm
        while low < thresh:
            x = _splitmix_next(state) >> np.uint64(32)
            prod = x * mm
            low = prod & mask
    return np.int64(prod >> np.uint64(32))


@kernel
def _lemire32(x, m):
    """Map a 32-bit uniform ``x`` to [0, m): (product, low word) for the rejection test."""
    prod = x * np.uint64(m)
    return prod >> np.uint64(32), prod & np.uint64(0xFFFFFFFF)


@kernel
def _draw_counts(seed, unit_offsets, counts):
    """Fill ``counts`` (zeroed here) with one replicate's multinomial unit counts.

    Each 64-bit SplitMix64 output gives two 32-bit uniforms (high word first), each mapped to
    ``[0, m)`` by Lemire's multiply-shift; the rare draw whose low word falls below the
    rejection threshold is replaced by a fresh one (unbiased).
    """
    state = np.empty(1, dtype=np.uint64)
    state[0] = seed
    counts[:] = 0
    mask = np.uint64(0xFFFFFFFF)
    for s in range(unit_offsets.shape[0] - 1):
        lo = unit_offsets[s]
        m = unit_offsets[s + 1] - lo
        if m == 0:
            continue
        mm = np.uint64(m)
        thresh = (np.uint64(0x100000000) - mm) % mm
        k = 0
        while k < m:
            z = _splitmix_next(state)
            for half in range(2):
                if k >= m:
                    break
                x = (z >> np.uint64(32)) if half == 0 else (z & mask)
                r, low = _lemire32(x, m)
                if low < thresh:  # rejected: draw until accepted
                    r = np.uint64(_uniform_below(state, m))
                counts[lo + np.int64(r)] += 1
                k += 1


@kernel
def resample_counts(seed, unit_offsets):
    """Counts of every unit in the replicate with this seed (for oracles and the generic path)."""
    counts = np.zeros(unit_offsets[-1], dtype=np.int64)
    _draw_counts(np.uint64(seed), unit_offsets, counts)
    return counts


@kernel
def group_total(w, lo, hi):
    total = 0.0
    for i in range(lo, hi):  # branch-free: resample weights are ~37% zeros
        total += w[i]
    return total


@kernel
def group_statistic(time, event, w, lo, hi, stat, x, total=-1.0):
    """One statistic of the weighted KM of sorted rows ``lo:hi`` (see module contract).

    ``total`` is the rows' summed weight when the caller knows it (else computed here).
    """
    if total < 0.0:
        total = group_total(w, lo, hi)
    if total <= 0.0:
        return np.nan
    target = 1.0 - x if stat == STAT_QUANTILE else 0.5
    s = 1.0
    remaining = total
    prev_t = 0.0
    area = 0.0
    hit_time = np.nan  # first event time with S <= target + tol
    hit_s = np.nan
    i = lo
    while i < hi:
        t = time[i]
        d = 0.0
        c = 0.0
        while i < hi and time[i] == t:
            if event[i] == 1:
                d += w[i]
            else:
                c += w[i]
            i += 1
        if d > 0.0:
            s_new = s * (remaining - d) / remaining
            if stat == STAT_SURV:
                if t > x:
                    return s
            elif stat == STAT_RMST:
                if t > x:
                    break
                area += (t - prev_t) * s
                prev_t = t
            else:
                if hit_time != hit_time:  # not yet found
                    if s_new < target + _TOL:
                        hit_time = t
                        hit_s = s_new
                        if abs(s_new - target) >= _TOL:
                            return t
                elif s_new < hit_s:
                    # flat at exactly the target ends here: midpoint rule
                    return (hit_time + t) / 2.0
            s = s_new
        remaining -= d + c
    if stat == STAT_SURV:
        return s
    if stat == STAT_RMST:
        return area + (x - prev_t) * s
    if hit_time != hit_time:
        return np.nan
    # the curve ends on a flat at exactly the target
    if stat == STAT_MEDIAN:
        return hit_time
    if 1.0 - s < x:  # findq: the CDF never reaches p (S ends a rounding error above 1 - p)
        return np.nan
    j = hi - 1
    while w[j] <= 0.0:  # last time present in this replicate (total > 0 guarantees one)
        j -= 1
    return (hit_time + time[j]) / 2.0


@parallel_kernel
def replicate_statistics(seeds, time, event, base_w, unit, unit_offsets, group_offsets, stats, xs):
    """``out[b, k, g]``: statistic ``stats[k]`` (parameter ``xs[k]``) of group g in replicate b.

    Every statistic of a replicate is evaluated on the same resample (one draw per replicate).
    """
    n_rep = seeds.shape[0]
    n_groups = group_offsets.shape[0] - 1
    n_stats = stats.shape[0]
    n = time.shape[0]
    n_units = unit_offsets[-1]
    out = np.empty((n_rep, n_stats, n_groups), dtype=np.float64)
    for b in numba.prange(n_rep):
        counts = np.empty(n_units, dtype=np.int64)
        _draw_counts(seeds[b], unit_offsets, counts)
        w = np.empty(n, dtype=np.float64)
        totals = np.zeros(n_groups, dtype=np.float64)
        for g in range(n_groups):  # weights and each group's total in one pass
            acc = 0.0
            for i in range(group_offsets[g], group_offsets[g + 1]):
                wi = counts[unit[i]] * base_w[i]
                w[i] = wi
                acc += wi
            totals[g] = acc
        for k in range(n_stats):
            for g in range(n_groups):
                out[b, k, g] = group_statistic(time, event, w, group_offsets[g], group_offsets[g + 1],
                                               stats[k], xs[k], totals[g])
    return out


@parallel_kernel
def jackknife_statistics(time, event, base_w, unit, n_units, block, n_blocks, group_offsets, stats, xs):
    """Leave-one-block-out statistics ``out[j, k, g]``: units in block j get weight 0."""
    n_groups = group_offsets.shape[0] - 1
    n_stats = stats.shape[0]
    n = time.shape[0]
    out = np.empty((n_blocks, n_stats, n_groups), dtype=np.float64)
    for j in numba.prange(n_blocks):
        w = np.empty(n, dtype=np.float64)
        for i in range(n):
            w[i] = 0.0 if block[unit[i]] == j else base_w[i]
        for k in range(n_stats):
            for g in range(n_groups):
                out[j, k, g] = group_statistic(time, event, w, group_offsets[g], group_offsets[g + 1],
                                               stats[k], xs[k])
    return out


# --------------------------------------------------------------------------------------------
# Cox replicates: frequency-weighted partial likelihood, Newton warm-started at the full fit
@kernel
def cox_newton_freq(X, time, status, freq, basew, off, bounds, efron, beta0, max_iter, eps, toler):
    """R ``coxph.fit``'s Newton–Raphson (step-halving, ``|1 - ll_old/ll_new| <= eps``) on the
    frequency-weighted data, started at ``beta0``; returns ``(beta, converged)``."""
    beta = beta0.copy()
    ll, u, imat = cox_pass(X, time, status, basew, off, beta, bounds, efron, True, freq)
    chol, _rank, _nn = cholesky2(imat, toler)
    newbeta = beta + chsolve2(chol, u)
    halving = False
    for _it in range(max_iter):
        newlk, u, imat = cox_pass(X, time, status, basew, off, newbeta, bounds, efron, True, freq)
        if not (newlk == newlk) or abs(newlk) == np.inf:
            halving = True
            newbeta = (newbeta + beta) / 2.0
            continue
        chol, _rank, _nn = cholesky2(imat, toler)
        if not halving and abs(1.0 - ll / newlk) <= eps:
            return newbeta, True
        if not (newlk >= ll):
            halving = True
            newbeta = (newbeta + beta) / 2.0
        else:
            halving = False
            ll = newlk
            beta = newbeta
            newbeta = newbeta + chsolve2(chol, u)
    return newbeta, False


@parallel_kernel
def cox_replicates(seeds, X, time, status, basew, off, bounds, efron, unit, unit_offsets, beta0,
                   max_iter, eps, toler):
    """``out[b, :]``: Cox coefficients of replicate b (NaN if it did not converge)."""
    n_rep = seeds.shape[0]
    n, p = X.shape
    n_units = unit_offsets[-1]
    out = np.empty((n_rep, p), dtype=np.float64)
    for b in numba.prange(n_rep):
        counts = np.empty(n_units, dtype=np.int64)
        _draw_counts(seeds[b], unit_offsets, counts)
        freq = np.empty(n, dtype=np.int64)
        for i in range(n):
            freq[i] = counts[unit[i]]
        beta, ok = cox_newton_freq(X, time, status, freq, basew, off, bounds, efron, beta0,
                                   max_iter, eps, toler)
        for k in range(p):
            out[b, k] = beta[k] if ok else np.nan
    return out


@parallel_kernel
def cox_jackknife(X, time, status, basew, off, bounds, efron, unit, block, n_blocks, beta0,
                  max_iter, eps, toler):
    """Leave-one-block-out Cox coefficients ``out[j, :]`` (units of block j removed)."""
    n, p = X.shape
    out = np.empty((n_blocks, p), dtype=np.float64)
    for j in numba.prange(n_blocks):
        freq = np.empty(n, dtype=np.int64)
        for i in range(n):
            freq[i] = 0 if block[unit[i]] == j else 1
        beta, ok = cox_newton_freq(X, time, status, freq, basew, off, bounds, efron, beta0,
                                   max_iter, eps, toler)
        for k in range(p):
            out[j, k] = beta[k] if ok else np.nan
    return out


# --------------------------------------------------------------------------------------------
# Log-rank chi-square replicates (rows sorted by time; integer weights = replicated rows)
@kernel
def chisq_from_sums(obs, expd, var):
    """R ``survdiff``'s chi-square: groups with expected > 0, the first of them dropped."""
    L = obs.shape[0]
    keep = np.empty(L, dtype=np.int64)
    m = 0
    for k in range(L):
        if expd[k] > 0.0:
            keep[m] = k
            m += 1
    if m < 2:
        return np.nan
    q = m - 1
    u = np.empty(q)
    v = np.empty((q, q))
    for a in range(q):
        u[a] = obs[keep[a + 1]] - expd[keep[a + 1]]
        for b in range(q):
            v[a, b] = var[keep[a + 1], keep[b + 1]]
    if q == 1:
        return u[0] * u[0] / v[0, 0] if v[0, 0] > 0.0 else np.nan
    sol = np.linalg.solve(v, u)
    return float(np.dot(sol, u))


@parallel_kernel
def logrank_replicates(seeds, time_s, event_s, codes_s, base_w, unit, unit_offsets, n_levels,
                       mode, rho, gamma):
    """Log-rank (weighted family) chi-square of each replicate; rows sorted by time."""
    n_rep = seeds.shape[0]
    n = time_s.shape[0]
    n_units = unit_offsets[-1]
    out = np.empty(n_rep, dtype=np.float64)
    cell_off = np.array([0, n], dtype=np.int64)
    lv = np.array([n_levels], dtype=np.int64)
    for b in numba.prange(n_rep):
        counts = np.empty(n_units, dtype=np.int64)
        _draw_counts(seeds[b], unit_offsets, counts)
        w = np.empty(n, dtype=np.float64)
        for i in range(n):
            w[i] = counts[unit[i]] * base_w[i]
        obs, expd, var, _cnt = grid_sums_multi(time_s, event_s, w, True, cell_off, codes_s, lv, mode, rho, gamma)
        out[b] = chisq_from_sums(obs[0, 0], expd[0, 0], var[0, 0])
    return out
