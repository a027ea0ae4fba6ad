"""Firth-penalised Cox regression against an independent oracle.

The oracle is the slow partial likelihood of ``tests/test_cox_oracle.py`` (loops over event
times with boolean masks) plus ``0.5 * log det`` of its information, maximised directly with
``scipy.optimize`` (no modified score involved); profile limits are found by optimising over
the other coefficients and solving for the chi-square cut-off with ``brentq``. R ``coxphf``
fixtures are used when present (``"firth"`` in a cox fixture).
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from scipy.optimize import brentq, minimize
from scipy.stats import chi2

import riskset._cox as rc
from riskset.engine import cox as ce
from riskset.engine import cox_firth as cf
from tests.conftest import fixture_names, load_fixture, read_data
from tests.test_cox_oracle import naive_cox
from tests.tolerances import ITERATIVE_RTOL


def _monotone_data(seed=4, n=60):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = (rng.random(n) < 0.3).astype(float)
    t = np.ceil(rng.exponential(np.exp(-0.5 * x) * 8))
    ev = (rng.random(n) < 0.75).astype(np.int8)
    ev[g == 1] = 0  # group g=1 never has an event: monotone likelihood in g
    return {"time": t, "status": ev, "g": g, "x": x}


def _pl_naive(beta, X, d, efron):
    ll, _, info = naive_cox(X, d["time"], d["status"], beta, efron=efron)
    sign, logdet = np.linalg.slogdet(info)
    return ll + 0.5 * logdet if sign > 0 else -np.inf


def _argmax(fun, x0):
    res = minimize(lambda b: -fun(b), x0, method="BFGS", options={"gtol": 1e-11, "maxiter": 2000})
    res = minimize(lambda b: -fun(b), res.x, method="Nelder-Mead",
                   options={"xatol": 1e-12, "fatol": 1e-15, "maxiter": 20000})
    return res.x, -res.fun


@pytest.mark.parametrize("efron", [False, True], ids=["breslow", "efron"])
def test_modified_score_is_gradient_of_penalised_loglik(efron):
    d = _monotone_data()
    X = np.column_stack([d["g"], d["x"]])
    prob = ce.build(X, d["time"], d["status"], np.zeros(X.shape[0], np.int64), 1, efron=efron,
                    center=False)
    for beta in (np.array([0.0, 0.0]), np.array([-1.5, 0.4]), np.array([-4.0, 0.9])):
        _, ustar, _, _ = cf.penalised(prob, beta)
        h = 1e-5
        num = np.array([
            (_pl_naive(beta + h * e, X, d, efron) - _pl_naive(beta - h * e, X, d, efron)) / (2 * h)
            for e in np.eye(2)
        ])
        np.testing.assert_allclose(ustar, num, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_firth_matches_direct_maximisation(ties):
    d = _monotone_data()
    X = np.column_stack([d["g"], d["x"]])
    efron = ties == "efron"
    fun = lambda b: _pl_naive(b, X, d, efron)  # noqa: E731
    b_hat, pl_max = _argmax(fun, np.zeros(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rc.MonotoneLikelihoodWarning)
        fit = rc.cox(pl.DataFrame(d), time="time", event="status", covariates=["g", "x"],
                     ties=ties, firth=True)
    assert fit.converged
    np.testing.assert_allclose(fit.coef, b_hat, rtol=ITERATIVE_RTOL, atol=1e-7)
    np.testing.assert_allclose(fit.loglik[1], pl_max, rtol=1e-10)
    np.testing.assert_allclose(fit.loglik[0], fun(np.zeros(2)), rtol=1e-12)
    # profile penalised-likelihood interval and LR p-value of each coefficient
    crit = chi2.ppf(0.95, 1)
    tab = fit.coefficients
    for j in range(2):
        k = 1 - j

        def prof(b, j=j, k=k):
            def inner(c):
                beta = np.empty(2)
                beta[j], beta[k] = b, c[0]
                return fun(beta)
            return 2 * (pl_max - _argmax(inner, np.array([b_hat[k]]))[1])

        lo = brentq(lambda b: prof(b) - crit, b_hat[j] - 10, b_hat[j], xtol=1e-10)
        hi = brentq(lambda b: prof(b) - crit, b_hat[j], b_hat[j] + 10, xtol=1e-10)
        np.testing.assert_allclose(np.log(tab["hr_lower"][j]), lo, rtol=ITERATIVE_RTOL, atol=1e-7)
        np.testing.assert_allclose(np.log(tab["hr_upper"][j]), hi, rtol=ITERATIVE_RTOL, atol=1e-7)
        np.testing.assert_allclose(tab["p"][j], chi2.sf(prof(0.0), 1), rtol=1e-5)


def test_firth_finite_where_mle_diverges():
    d = _monotone_data()
    with pytest.warns(rc.MonotoneLikelihoodWarning, match="'g'.*firth=True"):
        ml = rc.cox(pl.DataFrame(d), time="time", event="status", covariates=["g", "x"])
    fi = rc.cox(pl.DataFrame(d), time="time", event="status", covariates=["g", "x"], firth=True)
    assert ml.coef[0] < -8
    assert -6 < fi.coef[0] < 0
    assert fi.coefficients["hr_upper"][0] < 1.0
    assert fi.warnings == []


@pytest.mark.parametrize("efron", [False, True], ids=["breslow", "efron"])
def test_modified_score_general_data(efron):
    """U* = gradient of the oracle's penalised log-likelihood with strata, weights, offsets
    and delayed entry (counting-process risk sets)."""
    rng = np.random.default_rng(8)
    n = 70
    X = rng.normal(size=(n, 2))
    t = np.ceil(rng.exponential(6, n))
    st = (rng.random(n) < 0.7).astype(np.int8)
    g = rng.integers(0, 2, n)
    w = rng.uniform(0.5, 2.0, n)
    off = rng.normal(0, 0.2, n)
    entry = np.minimum(np.floor(rng.random(n) * t * 0.6), t - 0.5)
    prob = ce.build(X, t, st, g, 2, weights=w, offset=off, entry=entry, efron=efron, center=False)

    def pl_fun(b):
        ll, _, info = naive_cox(X, t, st, b, w=w, off=off, strata=g, entry=entry, efron=efron)
        return ll + 0.5 * np.linalg.slogdet(info)[1]

    beta = np.array([0.4, -0.6])
    pl_k, ustar, _, _ = cf.penalised(prob, beta)
    np.testing.assert_allclose(pl_k, pl_fun(beta), rtol=1e-10)
    h = 1e-5
    num = np.array([(pl_fun(beta + h * e) - pl_fun(beta - h * e)) / (2 * h) for e in np.eye(2)])
    np.testing.assert_allclose(ustar, num, rtol=1e-7, atol=1e-8)


FIRTH_CASES = [c for c in fixture_names("cox") if "firth" in load_fixture("cox", c)]


@pytest.mark.parametrize("name", FIRTH_CASES or [pytest.param("none", marks=pytest.mark.skip(
    reason="no R coxphf fixtures (coxphf was not installable)"))])
def test_firth_matches_r_coxphf(name):
    fx = load_fixture("cox", name)
    ref = fx["firth"]
    r = fx["roles"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = rc.cox(read_data(fx["data"]), time=r["time"], event=r["event"], entry=r["entry"],
                     covariates=r["covariates"], strata=r["strata"] or None, ties="breslow",
                     firth=True, drop_missing=True)
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=ITERATIVE_RTOL)
    if "ci_lower" in ref:
        tab = fit.coefficients
        np.testing.assert_allclose(tab["hr_lower"].to_numpy(), np.exp(ref["ci_lower"]), rtol=1e-5)
        np.testing.assert_allclose(tab["hr_upper"].to_numpy(), np.exp(ref["ci_upper"]), rtol=1e-5)
