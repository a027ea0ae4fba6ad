"""Firth's penalised partial likelihood for the Cox model (Heinze & Schemper 2001, R ``coxphf``).

Contract
--------
Estimator
    Maximise ``pl(b) = l(b) + 0.5 log det I(b)``, ``l`` the Cox partial log-likelihood and
    ``I`` its information (Efron or Breslow ties, strata, weights, offsets, counting-process
    data, as in :mod:`riskset.engine.cox`). The modified score is

        U*_j = U_j + 0.5 tr(I^-1 dI/db_j)

    and, for every Efron term (risk-set sums ``S0, S1, S2`` as in :mod:`riskset.engine.cox`,
    ``A = I^-1``, ``q_i = x_i' A x_i``, ``Q = sum r_i q_i``, ``T = sum r_i q_i x_i``),

        tr(A dI/db) = sum_terms w [T / S0 - Q S1 / S0^2 - 2 S2 A S1 / S0^2
                                   + 2 (S1' A S1) S1 / S0^3]

    (the derivative of ``S2/S0 - S1 S1'/S0^2`` uses ``dS0 = S1``, ``dS1 = S2``,
    ``dS2/db_j = sum r x x' x_j``, whose trace with ``A`` is ``T_j``).
Method
    Iteration of ``coxphf``: ``b <- b + I(b)^-1 U*(b)``, halving the step while ``pl``
    decreases; stop when the largest change in ``b`` is below ``eps`` (relative to
    ``1 + |b|``) and ``pl`` changes by less than ``eps * |pl|``. Two passes per iteration: the
    likelihood pass (:func:`riskset.engine.cox.evaluate`) and :func:`firth_trace`. Profile
    penalised likelihood: for each coefficient, maximise ``pl`` over the others with that
    coefficient fixed (same iteration on the free coordinates; the penalty keeps the full
    ``I``); the confidence limits solve ``2 (pl_max - pl_profile(b)) = chi2_1(level)``
    (bracketing, then Brent), and the p-value is the penalised likelihood-ratio test of
    ``b_j = 0``.
Inputs
    A ``CoxData`` problem (:mod:`riskset.engine.cox`).
Outputs
    :class:`FirthResult`; :func:`profile` returns ``ci[p, 2]`` and ``p[p]``.
Complexity
    O(n p^2) per pass; profiles cost one constrained fit per root-finder step.
Reference
    Heinze G, Schemper M (2001), Biometrics 57:114-119; R ``coxphf`` (which uses Breslow
    ties; ``ties="breslow"`` reproduces it).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import chdtrc, chdtri

from riskset.engine import cox as ce
from riskset.engine._jit import kernel


@kernel
def firth_trace(X, start, time, status, wt, off, beta, bounds, sorder, has_start, efron, A):
    """``tr(A dI/db_j)`` for every j (module contract); one backward pass."""
    n, p = X.shape
    rs = np.empty(n)
    qs = np.empty(n)
    for i in range(n):
        zb = off[i]
        for k in range(p):
            zb += beta[k] * X[i, k]
        rs[i] = math.exp(zb) * wt[i]
        q = 0.0
        for k in range(p):
            s = 0.0
            for m in range(p):
                s += A[k, m] * X[i, m]
            q += X[i, k] * s
        qs[i] = q
    g = np.zeros(p)
    s1 = np.zeros(p)
    s2 = np.zeros((p, p))
    tt = np.zeros(p)
    d1 = np.zeros(p)
    d2m = np.zeros((p, p))
    dt = np.zeros(p)
    e1 = np.zeros(p)
    e2 = np.zeros((p, p))
    et = np.zeros(p)
    v = np.zeros(p)
    for s in range(bounds.shape[0] - 1):
        lo = bounds[s]
        hi = bounds[s + 1]
        s0 = 0.0
        qq = 0.0
        nrisk = 0
        s1[:] = 0.0
        s2[:, :] = 0.0
        tt[:] = 0.0
        i = hi - 1
        e = hi - 1
        while i >= lo:
            t = time[i]
            if has_start:
                while e >= lo and start[sorder[e]] >= t:
                    j = sorder[e]
                    r = rs[j]
                    s0 -= r
                    qq -= r * qs[j]
                    nrisk -= 1
                    for k in range(p):
                        s1[k] -= r * X[j, k]
                        tt[k] -= r * qs[j] * X[j, k]
                        for m in range(p):
                            s2[k, m] -= r * X[j, k] * X[j, m]
                    e -= 1
                if nrisk == 0:
                    s0 = 0.0
                    qq = 0.0
                    s1[:] = 0.0
                    s2[:, :] = 0.0
                    tt[:] = 0.0
            ndead = 0
            deadwt = 0.0
            d0 = 0.0
            dq = 0.0
            d1[:] = 0.0
            d2m[:, :] = 0.0
            dt[:] = 0.0
            while i >= lo and time[i] == t:
                r = rs[i]
                s0 += r
                qq += r * qs[i]
                nrisk += 1
                for k in range(p):
                    s1[k] += r * X[i, k]
                    tt[k] += r * qs[i] * X[i, k]
                    for m in range(p):
                        s2[k, m] += r * X[i, k] * X[i, m]
                if status[i] != 0:
                    ndead += 1
                    deadwt += wt[i]
                    d0 += r
                    dq += r * qs[i]
                    for k in range(p):
                        d1[k] += r * X[i, k]
                        dt[k] += r * qs[i] * X[i, k]
                        for m in range(p):
                            d2m[k, m] += r * X[i, k] * X[i, m]
                i -= 1
            if ndead == 0:
                continue
            nk = ndead if (efron and ndead > 1) else 1
            wk = deadwt / nk
            for kk in range(nk):
                f = kk / ndead if nk > 1 else 0.0
                z0 = s0 - f * d0
                zq = qq - f * dq
                for k in range(p):
                    e1[k] = s1[k] - f * d1[k]
                    et[k] = tt[k] - f * dt[k]
                    for m in range(p):
                        e2[k, m] = s2[k, m] - f * d2m[k, m]
                # v = A e1, c = e1' A e1
                cc = 0.0
                for k in range(p):
                    acc = 0.0
                    for m in range(p):
                        acc += A[k, m] * e1[m]
                    v[k] = acc
                    cc += e1[k] * acc
                for k in range(p):
                    sav = 0.0
                    for m in range(p):
                        sav += e2[k, m] * v[m]
                    g[k] += wk * (et[k] / z0 - zq * e1[k] / z0**2 - 2.0 * sav / z0**2
                                  + 2.0 * cc * e1[k] / z0**3)
    return g


def _trace(d: ce.CoxData, beta: np.ndarray, A: np.ndarray) -> np.ndarray:
    has_start = d.start is not None
    return firth_trace(
        d.X, d.start if has_start else np.empty(0), d.time, d.status, d.wt, d.off,
        np.ascontiguousarray(beta, dtype=np.float64), d.bounds,
        d.sorder if has_start else np.empty(0, dtype=np.int64), has_start, d.efron,
        np.ascontiguousarray(A, dtype=np.float64),
    )


def penalised(d: ce.CoxData, beta: np.ndarray, *, want_score: bool = True):
    """``(pl, U*, I, l)`` at ``beta``; ``U*`` is None unless ``want_score``."""
    ll, u, imat = ce.evaluate(d, beta)
    sign, logdet = np.linalg.slogdet(imat)
    pl = ll + 0.5 * logdet if sign > 0 else -np.inf
    if not want_score:
        return pl, None, imat, ll
    A = np.linalg.inv(imat)
    return pl, u + 0.5 * _trace(d, beta, A), imat, ll


class FirthResult(NamedTuple):
    beta: np.ndarray
    pl: float
    pl_init: float
    loglik: float
    score: np.ndarray  # U* at the estimate
    score_test: float  # ordinary score test at 0
    var: np.ndarray  # I(beta)^-1
    iterations: int
    converged: bool


def _maximise(d, beta, free, *, max_iter, eps, max_step=None):
    """Maximise ``pl`` over the coordinates ``free`` (others fixed) from ``beta``."""
    beta = np.array(beta, dtype=np.float64)
    pl, us, imat, _ = penalised(d, beta)
    it = 0
    converged = False
    for it in range(1, max_iter + 1):  # noqa: B007
        sub = imat[np.ix_(free, free)]
        step = np.zeros_like(beta)
        step[free] = np.linalg.solve(sub, us[free])
        if max_step is not None:
            big = np.abs(step).max()
            if big > max_step:
                step *= max_step / big
        new = beta + step
        npl, nus, nimat, _ = penalised(d, new)
        halvings = 0
        while not (npl >= pl) and halvings < 30:
            step /= 2.0
            new = beta + step
            npl, nus, nimat, _ = penalised(d, new)
            halvings += 1
        small = np.all(np.abs(step) <= eps * (1.0 + np.abs(beta)))
        flat = abs(npl - pl) <= eps * max(1.0, abs(pl))
        beta, pl, us, imat = new, npl, nus, nimat
        if small and flat:
            converged = True
            break
    return beta, pl, us, imat, it, converged


def fit_firth(d: ce.CoxData, *, max_iter: int = 50, eps: float = 1e-9) -> FirthResult:
    """Firth-penalised estimate (module contract)."""
    p = d.X.shape[1]
    b0 = np.zeros(p)
    pl0, _, imat0, _ = penalised(d, b0, want_score=False)
    _, u0, _ = ce.evaluate(d, b0)
    sctest = float(u0 @ np.linalg.solve(imat0, u0))
    free = np.arange(p)
    beta, pl, us, imat, it, conv = _maximise(d, b0, free, max_iter=max(max_iter, 100),
                                             eps=min(eps, 1e-10), max_step=5.0)
    _, _, _, ll = penalised(d, beta, want_score=False)
    return FirthResult(beta, pl, pl0, ll, us, sctest, np.linalg.inv(imat), it, conv)


def profile(d: ce.CoxData, fit: FirthResult, conf_level: float) -> tuple[np.ndarray, np.ndarray]:
    """Profile penalised-likelihood CIs ``[p, 2]`` and penalised LR p-values ``[p]``."""
    p = fit.beta.size
    from scipy.optimize import brentq  # imported here: scipy.optimize costs ~0.3 s at start-up

    crit = float(chdtri(1, 1.0 - conf_level))
    se = np.sqrt(np.diag(fit.var))
    ci = np.full((p, 2), np.nan)
    pval = np.full(p, np.nan)
    for j in range(p):
        free = np.array([k for k in range(p) if k != j], dtype=np.int64)
        cache = {"beta": fit.beta.copy()}

        def prof(b, j=j, free=free, cache=cache):
            start = cache["beta"].copy()
            start[j] = b
            if free.size:
                beta, pl, *_ = _maximise(d, start, free, max_iter=200, eps=1e-11, max_step=5.0)
            else:
                beta, pl = start, penalised(d, start, want_score=False)[0]
            cache["beta"] = beta
            return 2.0 * (fit.pl - pl)

        dev0 = prof(0.0)
        pval[j] = float(chdtrc(1, max(dev0, 0.0)))
        for side, sgn in ((0, -1.0), (1, 1.0)):
            cache["beta"] = fit.beta.copy()
            h = max(se[j], 1e-3)
            lo_b = fit.beta[j]
            hi_b = lo_b + sgn * h
            f_hi = prof(hi_b) - crit
            n = 0
            while f_hi < 0 and n < 60:
                lo_b = hi_b
                h *= 2.0
                hi_b = fit.beta[j] + sgn * h
                f_hi = prof(hi_b) - crit
                n += 1
            if f_hi < 0:
                ci[j, side] = sgn * np.inf
                continue
            a, b = sorted((lo_b, hi_b))
            cache["beta"] = fit.beta.copy()
            ci[j, side] = brentq(lambda x: prof(x) - crit, a, b, xtol=1e-12, rtol=1e-12)
    return ci, pval
