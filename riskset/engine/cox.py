"""Cox partial likelihood: log-likelihood, score and information in one pass; Newton–Raphson.

Contract
--------
Estimator
    Rows carry covariates ``x_i`` (p), an offset ``o_i``, a case weight ``w_i > 0``, a stratum,
    an exit time ``t_i``, an event flag ``d_i`` and (counting-process data) an entry time
    ``s_i`` (at risk at ``t`` when ``s_i < t <= t_i``; right-censored data: ``s_i = -inf``).
    With ``eta_i = x_i' b + o_i`` and ``r_i = w_i exp(eta_i)``, at each distinct event time
    ``t`` of a stratum let ``R`` be the risk set, ``D`` the rows with an event at ``t``,
    ``nd = |D|``, ``wd = sum_D w_i``, and the risk-set sums

        S0 = sum_R r_i,  S1 = sum_R r_i x_i,  S2 = sum_R r_i x_i x_i'

    with ``S0d, S1d, S2d`` the same sums over ``D``. Breslow: one term with ``S_k = S``.
    Efron: ``k = 0 .. nd-1`` terms with ``S_k = S - (k / nd) S_d`` and weight ``wd / nd``::

        loglik += sum_D w_i eta_i - sum_k (wd/nd) log S0_k
        U      += sum_D w_i x_i   - sum_k (wd/nd) S1_k / S0_k
        I      += sum_k (wd/nd) [S2_k / S0_k - S1_k S1_k' / S0_k^2]

    This is R ``survival``'s ``coxfit6.c`` (right-censored) and ``agfit4.c`` (start/stop)
    term for term, including the mean weight ``wd/nd`` of tied events under Efron.
Method
    Rows are sorted once by (stratum, exit time) ascending (:func:`sort_rows`); one backward
    pass per stratum accumulates ``S0, S1, S2`` (lower triangle) as rows enter the risk set
    and, for counting-process data, subtracts rows as the pass moves below their entry time
    (a second order of the rows by entry time; sums are reset to exactly 0 whenever the risk
    set empties). Tied rows form one group; the group's events are applied with the rule
    above. Covariates are centred as R centres them (:func:`build`: every column at its mean
    except those with all values in {-1, 0, 1}; the log-likelihood and the estimates do
    not change, the risk scores stay in range).
    :func:`newton` runs R ``coxph.fit``'s iteration: start at ``init``, convergence when
    ``|1 - loglik_old / loglik_new| <= eps`` (not while step-halving), step-halving when the
    log-likelihood decreases, ``iter.max`` iterations, variance = inverse information at the
    final estimate through R's generalised Cholesky (:func:`cholesky2`, ``toler.chol``).
    Unweighted right-censored problems without offsets whose rows repeat (tied times, few
    distinct covariate rows: a registry model on categorical terms) can be evaluated on
    rows merged by (stratum, time, status, covariates) with counts
    (:mod:`riskset.engine.cox_merge`, the ``freq`` path of :func:`cox_pass`): every sum
    above is unchanged, ``nd`` counts the merged rows' multiplicities, and a pass costs
    O(m p^2 + D p^2) for m merged rows.
Inputs
    ``X[n, p]`` float64 C-contiguous, sorted rows; ``time[n]``, ``status[n]`` (int8),
    ``wt[n]``, ``off[n]`` float64; ``bounds[S+1]`` int64 stratum row ranges. Counting-process:
    ``start[n]`` and ``sorder[n]`` (row positions ordered by (stratum, start)).
Outputs
    ``(loglik, U[p], I[p, p])``; :func:`newton` returns :class:`NewtonResult`.
Complexity
    O(n p^2) per pass (O(n p^2 + D p^2) with Efron ties), no allocation proportional to n
    for right-censored data; one ``exp`` per row.
Reference
    R ``survival`` 3.5: ``coxph.fit`` / ``coxfit6.c``, ``agreg.fit`` / ``agfit4.c``,
    ``cholesky2.c``, ``chsolve2.c``, ``chinv2.c``, ``coxph.wtest``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import prange

from riskset.engine._jit import kernel, parallel_kernel
from riskset.engine.checks import is_sorted


# --------------------------------------------------------------------------------------
# R's generalised Cholesky (cholesky2 / chsolve2 / chinv2)
# --------------------------------------------------------------------------------------
@kernel
def cholesky2(mat, toler):
    """LDL' factor of a symmetric matrix as R ``cholesky2``; returns (factor, rank, nonneg).

    Pivots below ``toler * max(diag)`` are set to 0 (the column is treated as aliased).
    """
    n = mat.shape[0]
    m = mat.copy()
    eps = 0.0
    for i in range(n):
        if m[i, i] > eps:
            eps = m[i, i]
        for j in range(i + 1, n):
            m[j, i] = m[i, j]
    if eps == 0.0:
        eps = toler
    else:
        eps *= toler
    rank = 0
    nonneg = 1
    for i in range(n):
        pivot = m[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            m[i, i] = 0.0
            if pivot < -8 * eps:
                nonneg = -1
        else:
            rank += 1
            for j in range(i + 1, n):
                temp = m[j, i] / pivot
                m[j, i] = temp
                m[j, j] -= temp * temp * pivot
                for k in range(j + 1, n):
                    m[k, j] -= temp * m[k, i]
    return m, rank, nonneg


@kernel
def chsolve2(chol, y):
    """Solve with a :func:`cholesky2` factor (aliased coordinates get 0), as R ``chsolve2``."""
    n = chol.shape[0]
    out = y.copy()
    for i in range(n):
        temp = out[i]
        for j in range(i):
            temp -= out[j] * chol[i, j]
        out[i] = temp
    for i in range(n - 1, -1, -1):
        if chol[i, i] == 0.0:
            out[i] = 0.0
        else:
            temp = out[i] / chol[i, i]
            for j in range(i + 1, n):
                temp -= out[j] * chol[j, i]
            out[i] = temp
    return out


@kernel
def chinv2(chol):
    """Inverse from a :func:`cholesky2` factor (aliased rows/columns 0), as R ``chinv2``."""
    n = chol.shape[0]
    m = chol.copy()
    for i in range(n):
        if m[i, i] > 0:
            m[i, i] = 1.0 / m[i, i]
            for j in range(i + 1, n):
                m[j, i] = -m[j, i]
                for k in range(i):
                    m[j, k] += m[j, i] * m[i, k]
    for i in range(n):
        if m[i, i] == 0.0:
            for j in range(i):
                m[j, i] = 0.0
            for j in range(i, n):
                m[i, j] = 0.0
        else:
            for j in range(i + 1, n):
                temp = m[j, i] * m[j, j]
                m[i, j] = temp
                for k in range(i, j):
                    m[i, k] += temp * m[j, k]
    out = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            out[i, j] = m[i, j]
            out[j, i] = m[i, j]
    return out


def wald_statistic(var: np.ndarray, b: np.ndarray, toler: float) -> tuple[float, int]:
    """``b' var^-1 b`` and its df (rank) as R ``coxph.wtest``."""
    if b.size == 0:
        return 0.0, 0
    chol, rank, _ = cholesky2(np.ascontiguousarray(var, dtype=np.float64), toler)
    sol = chsolve2(chol, np.ascontiguousarray(b, dtype=np.float64))
    return float(b @ sol), int(rank)


# --------------------------------------------------------------------------------------
# the per-time-group update shared by every pass
# --------------------------------------------------------------------------------------
@kernel
def _apply_events(efron, ndead, deadwt, denom, denom2, a, a2, c, c2, u, imat, want_imat):
    """Subtract the tied-event terms (sums include the events); returns the loglik term."""
    p = a.shape[0]
    ll = 0.0
    if (not efron) or ndead == 1:
        ll -= deadwt * math.log(denom)
        inv = 1.0 / denom
        winv = deadwt * inv
        for i in range(p):
            ti = a[i] * inv
            u[i] -= deadwt * ti
            if want_imat:
                for j in range(i + 1):
                    imat[i, j] += winv * (c[i, j] - ti * a[j])
    else:
        # Efron: sum over k = 0..nd-1 of the terms with S_k = S - (k/nd) S_d, collected into
        # scalar sums so the cost is O(nd + p^2) per time instead of O(nd p^2)
        wtave = deadwt / ndead
        A0 = 0.0
        A1 = 0.0
        B0 = 0.0
        B1 = 0.0
        B2 = 0.0
        for k in range(ndead):
            frac = k / ndead
            d2 = denom - frac * denom2
            ll -= wtave * math.log(d2)
            inv = 1.0 / d2
            A0 += inv
            A1 += frac * inv
            inv2 = inv * inv
            B0 += inv2
            B1 += frac * inv2
            B2 += frac * frac * inv2
        for i in range(p):
            u[i] -= wtave * (A0 * a[i] - A1 * a2[i])
            if want_imat:
                for j in range(i + 1):
                    imat[i, j] += wtave * (
                        A0 * c[i, j] - A1 * c2[i, j]
                        - B0 * a[i] * a[j] + B1 * (a[i] * a2[j] + a2[i] * a[j])
                        - B2 * a2[i] * a2[j]
                    )
    return ll


@kernel
def _symmetrize(imat):
    p = imat.shape[0]
    for i in range(p):
        for j in range(i):
            imat[j, i] = imat[i, j]


@kernel
def cox_pass(X, time, status, wt, off, beta, bounds, efron, want_imat, freq=None):
    """Right-censored data: ``(loglik, U, I)`` at ``beta`` (see module contract).

    Each group of tied rows is scanned once for its events first, so the separate sums of
    the events (``a2``, ``c2``) are only accumulated where Efron needs them (``nd > 1``).

    ``freq`` (int64, optional) repeats row ``m`` ``freq[m]`` times: the result is that of the
    expanded data, Efron's count of tied events included (the bootstrap's replicates).
    Numba compiles the ``freq=None`` case without the frequency code.
    """
    n, p = X.shape
    u = np.zeros(p)
    imat = np.zeros((p, p))
    a = np.zeros(p)
    a2 = np.zeros(p)
    c = np.zeros((p, p))
    c2 = np.zeros((p, p))
    ll = 0.0
    for s in range(bounds.shape[0] - 1):
        lo = bounds[s]
        hi = bounds[s + 1]
        denom = 0.0
        a[:] = 0.0
        c[:, :] = 0.0
        i = hi - 1
        while i >= lo:
            t = time[i]
            ndead = 0
            g = i
            while g >= lo and time[g] == t:
                if freq is None:
                    ndead += status[g] != 0
                elif status[g] != 0:
                    ndead += freq[g]
                g -= 1
            split = efron and ndead > 1  # Efron needs the events' own sums
            deadwt = 0.0
            denom2 = 0.0
            for m in range(i, g, -1):
                if freq is None:
                    wi = wt[m]
                else:
                    if freq[m] == 0:
                        continue
                    wi = freq[m] * wt[m]
                zb = off[m]
                for k in range(p):
                    zb += beta[k] * X[m, k]
                r = math.exp(zb) * wi
                denom += r
                if want_imat:
                    for k in range(p):
                        rx = r * X[m, k]
                        a[k] += rx
                        for j in range(k + 1):
                            c[k, j] += rx * X[m, j]
                else:
                    for k in range(p):
                        a[k] += r * X[m, k]
                if status[m] != 0:
                    deadwt += wi
                    denom2 += r
                    ll += wi * zb
                    for k in range(p):
                        u[k] += wi * X[m, k]
                    if split:
                        for k in range(p):
                            rx = r * X[m, k]
                            a2[k] += rx
                            if want_imat:
                                for j in range(k + 1):
                                    c2[k, j] += rx * X[m, j]
            i = g
            if split:
                ll += _apply_events(efron, ndead, deadwt, denom, denom2, a, a2, c, c2, u, imat, want_imat)
                a2[:] = 0.0
                if want_imat:
                    c2[:, :] = 0.0
            elif ndead > 0:  # Breslow term, inlined (the common case with continuous times)
                ll -= deadwt * math.log(denom)
                inv = 1.0 / denom
                winv = deadwt * inv
                for k in range(p):
                    tk = a[k] * inv
                    u[k] -= deadwt * tk
                    if want_imat:
                        for j in range(k + 1):
                            imat[k, j] += winv * (c[k, j] - tk * a[j])
    _symmetrize(imat)
    return ll, u, imat


@kernel
def cox_pass_counting(X, start, time, status, wt, zbs, rs, bounds, sorder, efron, want_imat):
    """Counting-process (start, stop] data: ``(loglik, U, I)`` given ``eta`` and ``risk``."""
    n, p = X.shape
    u = np.zeros(p)
    imat = np.zeros((p, p))
    a = np.zeros(p)
    a2 = np.zeros(p)
    c = np.zeros((p, p))
    c2 = np.zeros((p, p))
    ll = 0.0
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
            while e >= lo and start[sorder[e]] >= t:
                j = sorder[e]
                r = rs[j]
                denom -= r
                nrisk -= 1
                for k in range(p):
                    rx = r * X[j, k]
                    a[k] -= rx
                    if want_imat:
                        for m in range(k + 1):
                            c[k, m] -= rx * X[j, m]
                e -= 1
            if nrisk == 0:
                denom = 0.0
                a[:] = 0.0
                c[:, :] = 0.0
            ndead = 0
            deadwt = 0.0
            denom2 = 0.0
            while i >= lo and time[i] == t:
                r = rs[i]
                denom += r
                nrisk += 1
                dead = status[i] != 0
                if dead:
                    ndead += 1
                    deadwt += wt[i]
                    denom2 += r
                    ll += wt[i] * zbs[i]
                for k in range(p):
                    xk = X[i, k]
                    rx = r * xk
                    a[k] += rx
                    if dead:
                        u[k] += wt[i] * xk
                        a2[k] += rx
                    if want_imat:
                        for m in range(k + 1):
                            c[k, m] += rx * X[i, m]
                            if dead:
                                c2[k, m] += rx * X[i, m]
                i -= 1
            if efron and ndead > 1:
                ll += _apply_events(efron, ndead, deadwt, denom, denom2, a, a2, c, c2, u, imat, want_imat)
            elif ndead > 0:  # Breslow term, inlined
                ll -= deadwt * math.log(denom)
                inv = 1.0 / denom
                winv = deadwt * inv
                for k in range(p):
                    tk = a[k] * inv
                    u[k] -= deadwt * tk
                    if want_imat:
                        for m in range(k + 1):
                            imat[k, m] += winv * (c[k, m] - tk * a[m])
            if ndead > 0:
                a2[:] = 0.0
                if want_imat:
                    c2[:, :] = 0.0
    _symmetrize(imat)
    return ll, u, imat


# --------------------------------------------------------------------------------------
# sorting and the problem bundle
# --------------------------------------------------------------------------------------
@kernel
def _stratum_partition(codes, n_strata):
    """Stable counting sort of the rows by stratum code: ``(rows, bounds[S+1])``.

    Reads ``codes`` in row order and writes into one output run per stratum, so memory
    access stays sequential (no random reads of ``codes`` through a time order).
    """
    n = codes.shape[0]
    counts = np.zeros(n_strata + 1, dtype=np.int64)
    for i in range(n):
        counts[codes[i] + 1] += 1
    for g in range(n_strata):
        counts[g + 1] += counts[g]
    bounds = counts.copy()
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        g = codes[i]
        out[counts[g]] = i
        counts[g] += 1
    return out, bounds


@kernel
def column_means(X, wt, weighted):
    """(Weighted) column means of ``X``, 0 for a column whose values all lie in {-1, 0, 1}.

    R ``coxph(nocenter = c(-1, 0, 1))``: such columns (0/1 dummies, +-1 codes) are not
    centred and their ``means`` entry is 0 (``coxph.fit`` / ``agreg.fit`` / ``coxexact.fit``).
    """
    n, p = X.shape
    means = np.zeros(p)
    keep = np.zeros(p, dtype=np.bool_)  # some value outside {-1, 0, 1}: centre it
    tot = 0.0
    for i in range(n):
        w = wt[i] if weighted else 1.0
        tot += w
        for k in range(p):
            x = X[i, k]
            means[k] += w * x
            if x != 0.0 and x != 1.0 and x != -1.0:
                keep[k] = True
    for k in range(p):
        means[k] = means[k] / tot if keep[k] else 0.0
    return means


@parallel_kernel
def gather_rows(X, order, means, out):
    """``out = X[order] - means`` into the caller's C-contiguous ``float64[n, p]`` (each
    prange unit writes one row)."""
    n = order.shape[0]
    p = X.shape[1]
    for m in prange(n):
        i = order[m]
        for k in range(p):
            out[m, k] = X[i, k] - means[k]


def gather_center(X, order, wt, weighted):
    """Rows of ``X`` in ``order`` minus R's centring vector (:func:`column_means`); returns
    (Xs, means).
    The rows are a NumPy allocation (huge pages where the system offers them: a fraction of
    the page faults of an allocation inside the kernel)."""
    means = column_means(X, wt, weighted)
    out = np.empty((order.shape[0], X.shape[1]))
    gather_rows(X, order, means, out)
    return out, means


def sort_rows(time: np.ndarray, codes: np.ndarray, n_strata: int) -> tuple[np.ndarray, np.ndarray]:
    """Row order by (stratum, time) ascending; returns ``(order, bounds[S+1])``.

    The order of rows tied on time within a stratum is unspecified (immaterial: every pass
    treats a run of tied times as one group).
    """
    if n_strata <= 1:
        if is_sorted(time):  # rows given in time order (e.g. by a study runner): no sort
            return np.arange(time.size, dtype=np.int64), np.array([0, time.size], dtype=np.int64)
        order = np.argsort(time).astype(np.int64, copy=False)  # tie order is immaterial
        return order, np.array([0, time.size], dtype=np.int64)
    # rows grouped by stratum first (one sequential counting pass), then each stratum's
    # times sorted on their own: no scattered reads through a global time order
    rows, bounds = _stratum_partition(np.ascontiguousarray(codes, dtype=np.int64), n_strata)
    seg_time = time[rows]
    for s in range(n_strata):
        lo, hi = int(bounds[s]), int(bounds[s + 1])
        if hi - lo > 1 and not is_sorted(seg_time[lo:hi]):
            rows[lo:hi] = rows[lo:hi][np.argsort(seg_time[lo:hi])]
    return rows, bounds


class CoxData(NamedTuple):
    """Sorted, contiguous arrays of one Cox problem (see module contract)."""

    X: np.ndarray  # float64[n, p], centred, sorted
    time: np.ndarray
    status: np.ndarray  # int8
    wt: np.ndarray
    off: np.ndarray
    bounds: np.ndarray  # int64[S+1]
    start: np.ndarray | None  # float64[n] sorted with the rows, or None
    sorder: np.ndarray | None  # int64[n] positions ordered by (stratum, start)
    order: np.ndarray  # int64[n]: sorted position -> input row
    means: np.ndarray  # float64[p] subtracted centring vector: R's ``fit$means``
    efron: bool


def build(
    X: np.ndarray,
    time: np.ndarray,
    status: np.ndarray,
    codes: np.ndarray,
    n_strata: int,
    *,
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    entry: np.ndarray | None = None,
    efron: bool = True,
    center: bool = True,
) -> CoxData:
    """Sort once and centre the covariates as R ``coxph`` does; ``means`` is R's ``fit$means``.

    A column whose values all lie in {-1, 0, 1} is not centred (mean 0, R's default
    ``nocenter = c(-1, 0, 1)``); the others are centred at their case-weighted mean for
    right-censored data (``coxph.fit``: ``coxfit6.c``) and at their unweighted mean with
    entry times (``agreg.fit``: ``colMeans(x)``). The estimates and the log-likelihood do
    not depend on the centring; the linear predictors and the curves "at the means" do.
    ``center=False`` leaves every column as it is (means 0).
    """
    n = time.shape[0]
    order, bounds = sort_rows(time, codes, n_strata)
    wt = np.ones(n) if weights is None else np.ascontiguousarray(weights[order], dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if center:
        weighted = weights is not None and entry is None
        w_in = np.asarray(weights, dtype=np.float64) if weighted else np.empty(0)
        Xs, means = gather_center(X, order, w_in, weighted)
    else:
        Xs, means = np.ascontiguousarray(X[order]), np.zeros(X.shape[1])
    off = np.zeros(n) if offset is None else np.ascontiguousarray(offset[order], dtype=np.float64)
    start = sorder = None
    if entry is not None:
        start = np.ascontiguousarray(entry[order], dtype=np.float64)
        sorder, _ = sort_rows(start, np.asarray(codes)[order], n_strata)
    return CoxData(
        Xs, np.ascontiguousarray(time[order]), np.ascontiguousarray(status[order], dtype=np.int8),
        wt, off, bounds, start, sorder, order, np.asarray(means, dtype=np.float64), efron,
    )


def evaluate(d: CoxData, beta: np.ndarray, *, want_imat: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
    """``(loglik, U, I)`` of the problem at ``beta`` (for centred covariates)."""
    beta = np.ascontiguousarray(beta, dtype=np.float64)
    if d.start is None:
        return cox_pass(d.X, d.time, d.status, d.wt, d.off, beta, d.bounds, d.efron, want_imat)
    eta, risk = risk_scores(d, beta)
    return cox_pass_counting(
        d.X, d.start, d.time, d.status, d.wt, eta, risk, d.bounds, d.sorder, d.efron, want_imat
    )


def risk_scores(d: CoxData, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``eta = X b + offset`` and ``risk = w exp(eta)`` (vectorised: SIMD ``exp``, BLAS)."""
    beta = np.ascontiguousarray(beta, dtype=np.float64)
    eta = d.X @ beta
    np.add(eta, d.off, out=eta)
    risk = np.exp(eta)
    np.multiply(risk, d.wt, out=risk)
    return eta, risk


# --------------------------------------------------------------------------------------
# Newton–Raphson as R coxph.fit
# --------------------------------------------------------------------------------------
class NewtonResult(NamedTuple):
    beta: np.ndarray
    loglik_init: float
    loglik: float
    score_init: np.ndarray  # U at init
    score_test: float  # U' I^-1 U at init
    score: np.ndarray  # U at the final beta
    information: np.ndarray  # I at the final beta
    var: np.ndarray  # generalised inverse of I at the final beta
    iterations: int
    converged: bool
    rank: int


def newton(
    fn,
    init: np.ndarray,
    *,
    max_iter: int = 20,
    eps: float = 1e-9,
    toler_chol: float = np.finfo(float).eps ** 0.75,
    first: tuple[float, np.ndarray, np.ndarray] | None = None,
) -> NewtonResult:
    """R ``coxfit6``'s Newton–Raphson with step-halving; ``fn(beta) -> (loglik, U, I)``.

    ``first`` is ``fn(init)`` when the caller has it already.
    """
    beta = np.array(init, dtype=np.float64)
    ll, u, imat = fn(beta) if first is None else first
    ll0, u0 = ll, u.copy()
    chol, rank, _ = cholesky2(imat, toler_chol)
    step = chsolve2(chol, u)
    sctest = float(u @ step)
    if max_iter == 0:
        return NewtonResult(beta, ll0, ll, u0, sctest, u, imat, chinv2(chol), 0, True, rank)
    newbeta = beta + step
    halving = False
    it = 0
    converged = False
    newlk = ll
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is the result
        newlk, u, imat = fn(newbeta)
        chol, rank, _ = cholesky2(imat, toler_chol)
        if not halving and abs(1.0 - ll / newlk) <= eps:
            converged = True
            break
        if it == max_iter:
            break
        if not (newlk >= ll):  # a decrease, or a NaN/inf from overflow: halve the step
            halving = True
            newbeta = (newbeta + beta) / 2.0
        else:
            halving = False
            ll = newlk
            step = chsolve2(chol, u)
            beta = newbeta
            newbeta = newbeta + step
    return NewtonResult(
        newbeta, ll0, newlk, u0, sctest, u, imat, chinv2(chol), it, converged, rank
    )


# --------------------------------------------------------------------------------------
# exact (discrete) partial likelihood, R coxexact
# --------------------------------------------------------------------------------------
@kernel
def cox_pass_exact(X, time, status, off, beta, bounds):
    """Right-censored, unweighted data, ``ties="exact"``: ``(loglik, U, I)`` at ``beta``.

    At an event time with ``d`` events among the ``m`` rows at risk the term is
    ``sum_D eta - log e_d(r)``, ``e_d`` the elementary symmetric polynomial of order ``d`` of
    the risk scores (the sum over all ``d``-subsets of the risk set of ``exp(sum eta)``);
    ``e_d`` and its first and second derivatives come from the recursion
    ``e_k(1..j) = e_k(1..j-1) + r_j e_{k-1}(1..j-1)`` (Gail, Lubin & Rubinstein 1981).
    O(m d p^2) per event time.
    """
    n, p = X.shape
    u = np.zeros(p)
    imat = np.zeros((p, p))
    ll = 0.0
    for s in range(bounds.shape[0] - 1):
        lo = bounds[s]
        hi = bounds[s + 1]
        i = lo
        while i < hi:
            t = time[i]
            j = i
            nd = 0
            while j < hi and time[j] == t:
                if status[j] != 0:
                    nd += 1
                    zb = off[j]
                    for k in range(p):
                        zb += beta[k] * X[j, k]
                        u[k] += X[j, k]
                    ll += zb
                j += 1
            if nd > 0:
                B = np.zeros(nd + 1)
                dB = np.zeros((nd + 1, p))
                d2B = np.zeros((nd + 1, p, p))
                B[0] = 1.0
                for m in range(i, hi):  # the risk set: rows with time >= t
                    zb = off[m]
                    for k in range(p):
                        zb += beta[k] * X[m, k]
                    r = math.exp(zb)
                    top = min(nd, m - i + 1)
                    for k in range(top, 0, -1):
                        b1 = B[k - 1]
                        for a in range(p):
                            xa = X[m, a]
                            for c in range(a + 1):
                                xc = X[m, c]
                                d2B[k, a, c] += r * (xa * xc * b1 + xa * dB[k - 1, c]
                                                     + xc * dB[k - 1, a] + d2B[k - 1, a, c])
                        for a in range(p):
                            dB[k, a] += r * (X[m, a] * b1 + dB[k - 1, a])
                        B[k] += r * b1
                den = B[nd]
                ll -= math.log(den)
                for a in range(p):
                    ma = dB[nd, a] / den
                    u[a] -= ma
                    for c in range(a + 1):
                        imat[a, c] += d2B[nd, a, c] / den - ma * dB[nd, c] / den
            i = j
    _symmetrize(imat)
    return ll, u, imat
