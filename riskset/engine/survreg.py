"""Parametric (accelerated failure time) survival regression: R ``survreg``'s likelihood and fit.

Contract
--------
Estimator
    Maximum likelihood for a location-scale model on ``y`` (``y = log t`` for the Weibull,
    exponential, Rayleigh, log-normal and log-logistic distributions, ``y = t`` for the
    extreme-value, logistic and Gaussian ones)::

        y_i = x_i' beta + offset_i + sigma_{s(i)} * e_i,     e_i ~ F0

    with ``F0`` the standard extreme-value (minimum), logistic or normal distribution and one
    scale ``sigma_s`` per stratum (or a fixed one). Parameters are ``(beta, log sigma)``.
Formula
    With ``z = (y - eta) / sigma`` and ``f0``, ``F0`` the standard density and cdf, row ``i``
    contributes ``w_i g_i`` to the log-likelihood, where ``g`` is
    ``log f0(z) - log sigma`` (exact), ``log(1 - F0(z))`` (right-censored), ``log F0(z)``
    (left-censored) or ``log(F0(z_upper) - F0(z))`` (interval-censored). The score and the
    information on ``(beta, log sigma)`` are the closed-form first and second derivatives of
    R ``survival``'s C routine ``survregc1`` (Mayo Biostatistics TR #53), accumulated by one
    Numba pass over blocks of rows run in parallel, the block sums added in block order (the
    result does not depend on the number of threads). The log-likelihood reported on the ``t`` scale
    adds ``sum_{exact} w_i log(1/t_i)`` (the Jacobian of ``log t``), as R's ``logcorrect``.
Algorithm
    :func:`newton` is ``survreg6``: Newton–Raphson, falling back to the outer-product matrix
    ``J'J`` when the information is not positive definite; a step that lowers the likelihood
    or gives a non-finite value is halved towards the last accepted point (up to 5 times; the
    log-scales move back by at most 1.1 on the first halving); convergence when
    ``|1 - L_old / L_new| <= eps`` with no halving pending. At ``max_iter`` the last trial
    point is returned (flagged as not converged). This is ``survreg6.c`` of survival 3.5-3
    (the version the fixtures were made with); later versions pull back to
    ``(new + 2 old) / 3`` instead, which changes only non-monotone iteration paths. :func:`fit` is ``survreg.fit``: the
    starting values (moment estimates, one weighted least-squares step, the intercept-only
    fit of 20 iterations whose log-likelihood is the "intercept only" one), the column
    rescaling of non-0/1 covariates and its back-transformation.
Preconditions
    ``y1`` finite on the fitting scale; ``status`` in {0 right, 1 exact, 2 left, 3 interval}
    (R's ``Surv`` codes after ``survreg``'s recoding); ``y2 > y1`` where ``status == 3``;
    ``X`` full column rank with the intercept first; weights > 0; ``strata`` codes
    ``0 .. nstrat-1``.
Outputs
    :class:`SurvregFit`: coefficients (beta then log-scales), the inverse information
    ``var``, log-likelihoods (intercept-only, model) on the fitting scale, iterations, the
    convergence flag and the last step.
Matches
    R ``survival::survreg(Surv(...) ~ x, dist = ..., scale = ..., weights = ...)``:
    ``coefficients``, ``log(scale)``, ``var``, ``loglik`` (less ``logcorrect``) and ``iter``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
from scipy import special

from riskset.engine._jit import kernel, parallel_kernel

#: R's ``SMALL``: the log-likelihood used for a row whose probability underflows to 0.
SMALL = -200.0
_SPI = math.sqrt(2.0 * math.pi)

#: base distributions of the location-scale family (R ``survregc1``'s ``dist``)
BASES = ("extreme", "logistic", "gaussian", "t")


def _dt(z: np.ndarray, df: float) -> np.ndarray:
    """Student-t density (R ``dt``)."""
    return np.exp(special.gammaln((df + 1) / 2) - special.gammaln(df / 2)
                  - 0.5 * math.log(df * math.pi) - (df + 1) / 2 * np.log1p(z * z / df))


# --------------------------------------------------------------------------------------
# standard densities: the C versions (survregc1) and the R versions (survreg.distributions)
# --------------------------------------------------------------------------------------
def r_density(base: str, z: np.ndarray, df: float = 4.0) -> np.ndarray:
    """R ``survreg.distributions[[base]]$density(z)``: columns F, 1-F, f, f'/f, f''/f."""
    if base == "t":
        q = df + z * z
        return np.column_stack([special.stdtr(df, z), special.stdtr(df, -z), _dt(z, df),
                                -(df + 1) * z / q, (df + 1) * (z * z * (df + 3) / q - 1) / q])
    if base == "extreme":
        w = np.exp(z)
        ww = np.exp(-w)
        return np.column_stack([1.0 - ww, ww, w * ww, 1.0 - w, w * (w - 3.0) + 1.0])
    if base == "logistic":
        w = np.exp(z)
        return np.column_stack([w / (1 + w), 1 / (1 + w), w / (1 + w) ** 2, (1 - w) / (1 + w),
                                (w * (w - 4) + 1) / (1 + w) ** 2])
    return np.column_stack([special.ndtr(z), special.ndtr(-z), np.exp(-z * z / 2) / _SPI, -z,
                            z * z - 1])


def r_init(base: str, x: np.ndarray, w: np.ndarray, df: float = 4.0) -> tuple[float, float]:
    """R ``survreg.distributions[[base]]$init``: (location, variance-like) moment start."""
    mean = float(np.sum(x * w) / np.sum(w))
    var = float(np.sum(w * (x - mean) ** 2) / np.sum(w))
    if base == "t":
        return mean, var * (df - 2) / df
    if base == "extreme":
        return mean + 0.572, var / 1.64
    if base == "logistic":
        return mean, var / 3.2
    return mean, var


def quantile0(base: str, p: np.ndarray, df: float = 4.0) -> np.ndarray:
    """Standard quantile function of the base distribution (R ``$quantile``)."""
    p = np.asarray(p, dtype=np.float64)
    if base == "t":
        return special.stdtrit(df, p)
    if base == "extreme":
        return np.log(-np.log1p(-p))
    if base == "logistic":
        return np.log(p / (1 - p))
    return special.ndtri(p)


def deviance_center(base: str, y1, y2, status, scale, df: float = 4.0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """R ``$deviance(y, scale)``: (center, saturated loglik) of each row."""
    interval = status == 3
    y2 = np.where(interval, y2, y1)
    if base == "t":
        # R's formulas as they are: the interval centre is rowMeans(y) of the 3-column Surv
        # matrix, status code (3) included, and log(1 - 2 pt(width/2)) is NaN for intervals
        width = np.where(interval, (y2 - y1) / scale, 0.0)
        center = np.where(interval, (y1 + y2 + 3.0) / 3.0, y1)
        with np.errstate(invalid="ignore", divide="ignore"):
            temp2 = np.log(1 - 2 * special.stdtr(df, width / 2))
        ll = np.where(status == 1, -np.log(_dt(np.zeros(1), df)[0] * scale),
                      np.where(interval, temp2, 0.0))
        return center, ll
    if base == "extreme":
        width = np.where(interval, (y2 - y1) / scale, 1.0)
        temp = width / (np.exp(width) - 1)
        center = np.where(interval, y1 - np.log(temp), y1)
        temp3 = -temp + np.log(1 - np.exp(-np.exp(width)))
        ll = np.where(status == 1, -(1 + np.log(scale)), np.where(interval, temp3, 0.0))
        return center, ll
    if base == "logistic":
        width = np.where(interval, (y2 - y1) / scale, 0.0)
        center = np.where(interval, (y1 + y2) / 2, y1)
        temp2 = np.where(interval, np.exp(width / 2), 2.0)
        temp3 = np.log((temp2 - 1) / (temp2 + 1))
        ll = np.where(status == 1, -np.log(4 * scale), np.where(interval, temp3, 0.0))
        return center, ll
    width = np.where(interval, (y2 - y1) / scale, 0.0)
    center = np.where(interval, (y1 + y2) / 2, y1)
    with np.errstate(divide="ignore"):
        temp2 = np.log(2 * special.ndtr(width / 2) - 1)
    ll = np.where(status == 1, -np.log(_SPI * scale), np.where(interval, temp2, 0.0))
    return center, ll


# --------------------------------------------------------------------------------------
# the likelihood pass (survregc1), one Numba loop over the rows
# --------------------------------------------------------------------------------------
@kernel
def _exact0(dist, z):
    """(f, f'/f, f''/f) at ``z`` as ``survregc1``'s ``*_d(z, ans, 1)`` (dist 0/1/2)."""
    if dist == 0:
        zz = min(max(z, -200.0), 200.0)
        w = math.exp(zz)
        return w * math.exp(-w), 1.0 - w, w * (w - 3.0) + 1.0
    if dist == 1:
        if z > 0:
            w = math.exp(-z)
            sign = -1.0
        else:
            w = math.exp(z)
            sign = 1.0
        t = 1.0 + w
        return w / (t * t), sign * (1.0 - w) / t, (w * w - 4.0 * w + 1.0) / (t * t)
    f = math.exp(-z * z / 2.0) / 2.506628274631001
    return f, -z, z * z - 1.0


@kernel
def _cdf0(dist, z):
    """(F, 1-F, f, f') at ``z`` as ``survregc1``'s ``*_d(z, ans, 2)``."""
    if dist == 0:
        zz = min(max(z, -200.0), 200.0)
        w = math.exp(zz)
        t = math.exp(-w)
        return 1.0 - t, t, w * t, w * t * (1.0 - w)
    if dist == 1:
        if z > 0:
            w = math.exp(-z)
            t = 1.0 + w
            f = w / (t * t)
            return 1.0 / t, w / t, f, -f * (1.0 - w) / t
        w = math.exp(z)
        t = 1.0 + w
        f = w / (t * t)
        return w / t, 1.0 / t, f, f * (1.0 - w) / t
    f = math.exp(-z * z / 2.0) / 2.506628274631001
    r2 = 1.414213562373095
    if z > 0:
        return (1.0 + math.erf(z / r2)) / 2.0, math.erfc(z / r2) / 2.0, f, -z * f
    return math.erfc(-z / r2) / 2.0, (1.0 + math.erf(-z / r2)) / 2.0, f, -z * f


@kernel
def _pass_rows(lo, hi, dist, X, y1, y2, status, w, offset, strata, par, nstrat, full, want_jj,
               D1, D2, u, imat, JJ):
    """Log-likelihood, score, information and J'J at ``par`` (``survregc1``).

    ``par``: beta (``X.shape[1]``) then the log-scales (``nstrat`` of them; when
    ``nstrat == 0`` one fixed log-scale). Rows with a probability that underflows to 0 get
    ``g = -200`` and R's fallback derivatives. ``dist == 3`` (Student-t, R's callback
    ``survregc2``) reads the density columns F, 1-F, f, f'/f, f''/f at ``y1`` (``D1``) and,
    for interval rows, at ``y2`` (``D2``) computed by the caller at the same ``par``.
    ``J'J`` (the outer product of the per-row scores) is accumulated only with ``want_jj``.
    Rows ``lo .. hi-1``; adds to ``u`` and the lower triangles of ``imat`` and ``JJ``.
    """
    p = X.shape[1]
    ns = max(nstrat, 1)
    sigmas = np.empty(ns)
    logsig = np.empty(ns)
    for j in range(ns):
        sigmas[j] = math.exp(par[p + j])
        logsig[j] = math.log(sigmas[j])
    loglik = 0.0
    for i in range(lo, hi):
        s = strata[i] if nstrat > 1 else 0
        sigma = sigmas[s]
        sig2 = 1.0 / (sigma * sigma)
        eta = offset[i]
        for j in range(p):
            eta += par[j] * X[i, j]
        sz = y1[i] - eta
        z = sz / sigma
        st = status[i]
        g = 0.0
        dg = 0.0
        ddg = 0.0
        dsig = 0.0
        ddsig = 0.0
        dsg = 0.0
        if st == 3:
            zu = (y2[i] - eta) / sigma
            if dist == 3:
                F, S, f, fp = D1[i, 0], D1[i, 1], D1[i, 2], D1[i, 3] * D1[i, 2]
                Fu, Su, fu, fpu = D2[i, 0], D2[i, 1], D2[i, 2], D2[i, 3] * D2[i, 2]
            else:
                F, S, f, fp = _cdf0(dist, z)
                Fu, Su, fu, fpu = _cdf0(dist, zu)
            temp = S - Su if z > 0 else Fu - F
            if temp <= 0:
                g = -200.0
                dg = 1.0
            else:
                g = math.log(temp)
                dg = -(fu - f) / (temp * sigma)
                ddg = (fpu - fp) * sig2 / temp - dg * dg
                dsig = (z * f - zu * fu) / temp
                ddsig = (zu * zu * fpu - z * z * fp) / temp - dsig * (1 + dsig)
                dsg = (zu * fpu - z * fp) / (temp * sigma) - dg * (dsig + 1)
        else:
            ok = True
            temp = 0.0
            temp2 = 0.0
            if st == 1:
                if dist == 3:
                    f, f1, f2 = D1[i, 2], D1[i, 3], D1[i, 4]
                else:
                    f, f1, f2 = _exact0(dist, z)
                if f <= 0:
                    ok = False
                    g = -200.0
                    dg = -z / sigma
                    ddg = -1.0 / sigma
                else:
                    g = math.log(f) - logsig[s]
                    temp = f1 / sigma
                    temp2 = f2 * sig2
            else:
                if dist == 3:
                    F, S, f, fp = D1[i, 0], D1[i, 1], D1[i, 2], D1[i, 3] * D1[i, 2]
                else:
                    F, S, f, fp = _cdf0(dist, z)
                den = S if st == 0 else F
                if den <= 0:
                    ok = False
                    g = -200.0
                    dg = z / sigma if st == 0 else -z / sigma
                else:
                    g = math.log(den)
                    if st == 0:
                        temp = -f / (den * sigma)
                        temp2 = -fp * sig2 / den
                    else:
                        temp = f / (den * sigma)
                        temp2 = fp * sig2 / den
            if ok:
                dg = -temp
                dsig = -temp * sz
                ddg = temp2 - dg * dg
                dsg = sz * temp2 - dg * (dsig + 1)
                ddsig = sz * sz * temp2 - dsig * (1 + dsig)
                if st == 1:
                    dsig -= 1.0
        wi = w[i]
        loglik += g * wi
        if not full:
            continue
        for a in range(p):
            xa = X[i, a]
            ta = dg * xa * wi
            u[a] += ta
            ca = xa * ddg * wi
            for b in range(a + 1):
                imat[a, b] -= ca * X[i, b]
            if want_jj:
                for b in range(a + 1):
                    JJ[a, b] += ta * X[i, b] * dg
        if nstrat > 0:
            kk = p + s
            u[kk] += wi * dsig
            cs = dsg * wi
            for a in range(p):
                imat[kk, a] -= cs * X[i, a]
            imat[kk, kk] -= ddsig * wi
            if want_jj:
                for a in range(p):
                    JJ[kk, a] += dsig * X[i, a] * dg * wi
                JJ[kk, kk] += dsig * dsig * wi
    return loglik


#: rows per block of the likelihood pass: blocks run in parallel and their sums are added
#: in block order, so results do not depend on the number of threads
BLOCK = 1 << 16


@parallel_kernel
def _pass(dist, X, y1, y2, status, w, offset, strata, par, nstrat, full, want_jj, D1, D2, block):
    """:func:`_pass_rows` over blocks of ``block`` rows in parallel; symmetric matrices out."""
    n, p = X.shape
    k = p + nstrat
    nb = max(1, (n + block - 1) // block)
    L = np.zeros(nb)
    U = np.zeros((nb, k))
    IM = np.zeros((nb, k, k))
    JM = np.zeros((nb, k, k))
    for c in numba.prange(nb):
        L[c] = _pass_rows(c * block, min(n, (c + 1) * block), dist, X, y1, y2, status, w,
                          offset, strata, par, nstrat, full, want_jj, D1, D2, U[c], IM[c],
                          JM[c])
    loglik = 0.0
    u = np.zeros(k)
    imat = np.zeros((k, k))
    JJ = np.zeros((k, k))
    for c in range(nb):
        loglik += L[c]
        for a in range(k):
            u[a] += U[c, a]
            for b in range(a + 1):
                imat[a, b] += IM[c, a, b]
                JJ[a, b] += JM[c, a, b]
    for a in range(k):
        for b in range(a):
            imat[b, a] = imat[a, b]
            JJ[b, a] = JJ[a, b]
    return loglik, u, imat, JJ


_DIST_CODE = {"extreme": 0, "logistic": 1, "gaussian": 2, "t": 3}
_NO_COLS = np.zeros((0, 5))


@dataclass
class Problem:
    """One fit's data on the fitting scale (see module preconditions)."""

    base: str
    X: np.ndarray  # float64[n, p], intercept first
    y1: np.ndarray
    y2: np.ndarray
    status: np.ndarray  # int
    w: np.ndarray
    offset: np.ndarray
    strata: np.ndarray  # int64 codes 0..nstrat-1
    nstrat: int  # scales estimated (0 = fixed)
    df: float = 4.0  # Student-t degrees of freedom


def evaluate(pb: Problem, X: np.ndarray, par: np.ndarray, nstrat: int, *, full: bool = True,
             jj: bool = False):
    """Log-likelihood, score, information and (with ``jj``) ``J'J`` at ``par`` (:func:`_pass`)."""
    par = np.ascontiguousarray(par, dtype=np.float64)
    D1 = D2 = _NO_COLS
    if pb.base == "t":  # R's callback: the density columns evaluated outside the loop
        p = X.shape[1]
        eta = X @ par[:p] + pb.offset
        sigma = np.exp(par[p:][pb.strata]) if nstrat > 1 else math.exp(par[p])
        with np.errstate(all="ignore"):
            D1 = np.ascontiguousarray(r_density("t", (pb.y1 - eta) / sigma, pb.df))
            D2 = (np.ascontiguousarray(r_density("t", (pb.y2 - eta) / sigma, pb.df))
                  if (pb.status == 3).any() else D1)
    return _pass(_DIST_CODE[pb.base], X, pb.y1, pb.y2, pb.status, pb.w, pb.offset, pb.strata,
                 par, nstrat, full, jj, D1, D2, BLOCK)


def _solve(imat: np.ndarray, u: np.ndarray, pb, X, par, nstrat) -> np.ndarray:
    """Newton step ``imat^-1 u``; ``(J'J)^-1 u`` when ``imat`` is not positive definite (R).

    ``J'J`` is computed (at ``par``, the point of ``imat``) only in that case.
    """
    try:
        L = np.linalg.cholesky(imat)
    except np.linalg.LinAlgError:
        JJ = evaluate(pb, X, par, nstrat, jj=True)[3]
        try:
            L = np.linalg.cholesky(JJ)
        except np.linalg.LinAlgError:
            return np.linalg.lstsq(JJ, u, rcond=None)[0]
    return np.linalg.solve(L.T, np.linalg.solve(L, u))


def _inverse(imat: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(imat)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(imat)


class NewtonResult(NamedTuple):
    par: np.ndarray
    var: np.ndarray
    loglik: float
    iterations: int
    converged: bool
    last_step: np.ndarray
    score: np.ndarray


def newton(pb: Problem, X: np.ndarray, init: np.ndarray, nstrat: int, max_iter: int,
           eps: float) -> NewtonResult:
    """R ``survreg6``: Newton–Raphson with step pull-back (see module contract)."""
    k = X.shape[1] + nstrat
    beta = np.array(init, dtype=np.float64)
    loglik, u, imat, _ = evaluate(pb, X, beta, nstrat)
    step = _solve(imat, u, pb, X, beta, nstrat)
    newbeta = beta.copy()
    newbeta[:k] = beta[:k] + step
    if max_iter == 0:
        return NewtonResult(beta, _inverse(imat), loglik, 0, True, step, u)
    halving = 0
    newlk, u, imat, _ = evaluate(pb, X, newbeta, nstrat)
    p = X.shape[1]
    for it in range(1, max_iter + 1):
        finite = math.isfinite(newlk)
        if finite and halving == 0 and abs(1 - loglik / newlk) <= eps:
            return NewtonResult(newbeta, _inverse(imat), newlk, it, True, newbeta - beta, u)
        if not finite or newlk < loglik:
            # survival 3.5-3: up to 5 halvings towards the last accepted point while the
            # log-likelihood is below it (a non-finite one counts as below; R 3.5-3 did no
            # halving then, a bug fixed in later versions)
            for _ in range(5):
                if math.isfinite(newlk) and not newlk < loglik:
                    break
                halving += 1
                newbeta[:k] = (newbeta[:k] + beta[:k]) / 2.0
                if halving == 1:
                    for i in range(nstrat):
                        if beta[p + i] - newbeta[p + i] > 1.1:
                            newbeta[p + i] = beta[p + i] - 1.1
                newlk = evaluate(pb, X, newbeta, nstrat, full=False)[0]
        else:
            halving = 0
            loglik = newlk
            step = _solve(imat, u, pb, X, newbeta, nstrat)
            beta = newbeta.copy()
            newbeta[:k] = newbeta[:k] + step
        newlk, u, imat, _ = evaluate(pb, X, newbeta, nstrat)
    # out of iterations: R 3.5-3 returns the last trial point and its log-likelihood
    return NewtonResult(newbeta, _inverse(imat), newlk, max_iter, False, newbeta - beta, u)


@kernel
def _rdens(dist, z):
    """R ``survreg.distributions`` density columns (F, 1-F, f, f'/f, f''/f) at ``z``."""
    if dist == 0:
        w = math.exp(z)
        ww = math.exp(-w)
        return 1.0 - ww, ww, w * ww, 1.0 - w, w * (w - 3.0) + 1.0
    if dist == 1:
        w = math.exp(z)
        return (w / (1 + w), 1 / (1 + w), w / (1 + w) ** 2, (1 - w) / (1 + w),
                (w * (w - 4) + 1) / (1 + w) ** 2)
    r2 = 1.414213562373095
    return (math.erfc(-z / r2) / 2.0, math.erfc(z / r2) / 2.0,
            math.exp(-z * z / 2.0) / 2.506628274631001, -z, z * z - 1.0)


@kernel
def _derfun_k(dist, y1, y2, status, yy, sig, D1, D2):
    """R ``survreg.fit``'s ``derfun``: (dg, ddg - dg^2) at ``eta = yy`` for every row.

    ``dist == 3`` (t) reads R's density columns from ``D1`` / ``D2``.
    """
    n = y1.size
    dg = np.empty(n)
    ddg = np.empty(n)
    for i in range(n):
        sigma = sig[i]
        z = (y1[i] - yy[i]) / sigma
        if dist == 3:
            F, S, f, f1, f2 = D1[i, 0], D1[i, 1], D1[i, 2], D1[i, 3], D1[i, 4]
        else:
            F, S, f, f1, f2 = _rdens(dist, z)
        st = status[i]
        if st == 0:
            tden = S
            a = -f
            b = -f * f1
        elif st == 1:
            tden = 1.0
            a = f1
            b = f2
        elif st == 2:
            tden = F
            a = f
            b = f * f1
        else:
            z2 = (y2[i] - yy[i]) / sigma
            if dist == 3:
                F2, S2, g2, g1 = D2[i, 0], D2[i, 1], D2[i, 2], D2[i, 3]
            else:
                F2, S2, g2, g1, _ = _rdens(dist, z2)
            tden = S - S2 if z > 0 else F2 - F
            a = g2 - f
            b = g2 * g1 - f * f1
        t = 1.0 / (tden * sigma)
        d = -t * a
        dg[i] = d
        ddg[i] = (t / sigma) * b - d * d
    return dg, ddg


def _derfun(pb: Problem, yy: np.ndarray, sigma) -> tuple[np.ndarray, np.ndarray]:
    """R ``survreg.fit``'s ``derfun`` at ``eta = yy``: (dg, ddg - dg^2), with R's densities."""
    sig = np.broadcast_to(np.asarray(sigma, dtype=np.float64), yy.shape)
    sig = np.ascontiguousarray(sig)
    D1 = D2 = _NO_COLS
    if pb.base == "t":
        with np.errstate(all="ignore"):
            D1 = np.ascontiguousarray(r_density("t", (pb.y1 - yy) / sig, pb.df))
            D2 = np.ascontiguousarray(r_density("t", (pb.y2 - yy) / sig, pb.df))
    return _derfun_k(_DIST_CODE[pb.base], pb.y1, pb.y2, pb.status, yy, sig, D1, D2)


class SurvregFit(NamedTuple):
    coef: np.ndarray  # beta (original columns) then log-scales (estimated ones only)
    var: np.ndarray
    loglik: tuple[float, float]  # (intercept only, model) on the fitting scale
    iterations: int
    converged: bool
    last_step: np.ndarray
    score: np.ndarray
    init_coef: np.ndarray


def fit(pb: Problem, fixed_log_scale: float | None, max_iter: int = 30, eps: float = 1e-9
        ) -> SurvregFit:
    """R ``survreg.fit`` (no ``init``): starting values, the intercept-only fit, the fit."""
    X = pb.X
    n, p = X.shape
    nstrat2 = pb.nstrat  # 0 when the scale is fixed
    nstrat_all = max(pb.nstrat, 1)
    w = pb.w
    rescaled = False
    if p > 1:
        okay = np.all((X == 0) | (X == 1), axis=0)
        if not okay.all():
            rescaled = True
            center = np.where(okay, 0.0, X.mean(axis=0))
            stdev = np.where(okay, 1.0, X.std(axis=0, ddof=1))
            X = (X - center) / stdev
    meanonly = p == 1
    yy = np.where(pb.status != 3, pb.y1, (pb.y1 + pb.y2) / 2)
    m0, v0 = r_init(pb.base, yy, w, pb.df)
    vars0 = fixed_log_scale if fixed_log_scale is not None else math.log(4 * v0) / 2
    if not meanonly:
        dg, ddg = _derfun(pb, yy, math.exp(vars0))
        wt = -ddg * w
        c0 = float(np.sum(w * dg + wt * (yy - pb.offset)) / np.sum(wt))
        init0 = np.array([c0] + [vars0] * nstrat_all)
        ones = np.ones((n, 1))
        fit0 = newton(pb, ones, init0, nstrat2, 20, eps)
        if not (np.isfinite(fit0.par).all() and math.isfinite(fit0.loglik)
                and np.isfinite(fit0.var).all()):
            from riskset.errors import RisksetError

            raise RisksetError("survreg: the initial (intercept-only) iteration failed")
        vars_ = fit0.par[1:]
    else:
        vars_ = np.array([vars0] * nstrat_all)
    eta = yy - pb.offset
    sig = np.exp(vars_[pb.strata]) if nstrat_all > 1 else math.exp(vars_[0])
    dg, ddg = _derfun(pb, yy, sig)
    wt = -ddg * w
    A = X.T @ (X * wt[:, None])
    b = X.T @ (wt * eta + w * dg)
    coef = np.linalg.solve(A, b)
    init = np.concatenate([coef, vars_])
    res = newton(pb, X, init, nstrat2, max_iter, eps)
    k = p + nstrat2
    par = res.par[:k].copy()
    var = res.var
    if rescaled:
        V = np.eye(k)
        V[:p, :p] = np.diag(1.0 / stdev)
        V[0, 1:p] = -center[1:p] / stdev[1:p]
        par = V @ par
        var = V @ var @ V.T
    if meanonly:
        ll = (res.loglik, res.loglik)
        icoef = res.par
    else:
        ll = (fit0.loglik, res.loglik)
        icoef = fit0.par
    return SurvregFit(par, var, ll, res.iterations, res.converged, res.last_step, res.score,
                      icoef)
