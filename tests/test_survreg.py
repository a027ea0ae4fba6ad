"""riskset.survreg against R ``survival::survreg`` (tests/reference/fixtures/survreg/*.json),
a naive oracle (the likelihood written out, maximised by scipy), properties and bad input.

Iterative results compare at ``ITERATIVE_RTOL`` with an absolute floor of ``ITERATIVE_RTOL``
times the largest magnitude of the compared array (entries that are about 0 in R).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

import riskset
from riskset._survreg import (
    SurvregConvergenceError,
    SurvregConvergenceWarning,
    compare_distributions,
    survreg,
)
from riskset.errors import ColumnError, OptionError, RisksetWarning
from tests.conftest import fixture_names, load_fixture, r_array, read_data
from tests.tolerances import ITERATIVE_RTOL

CASES = fixture_names("survreg")


def _arr(x):
    if isinstance(x, list) and x and isinstance(x[0], list):
        return np.array([r_array(r) for r in x])
    return r_array(x)


def _close(actual, expected, what, rtol=ITERATIVE_RTOL):
    a = np.asarray(actual, dtype=np.float64)
    e = _arr(expected) if not isinstance(expected, np.ndarray) else expected
    if a.ndim == 1 and e.ndim == 2 and e.shape[1] == 1:
        e = e[:, 0]
    assert a.shape == e.shape, f"{what}: shape {a.shape} != R {e.shape}"
    scale = np.nanmax(np.abs(e)) if e.size else 0.0
    np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * scale, equal_nan=True, err_msg=what)


def _fit(fx):
    args = dict(fx["args"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurvregConvergenceWarning)
        return survreg(read_data(f"{fx['data']}.csv"), **args)


@pytest.fixture(scope="module", params=CASES)
def case(request):
    fx = load_fixture("survreg", request.param)
    return fx, _fit(fx)


def test_fixture_count():
    assert len(CASES) >= 44


def test_coefficients_and_variance(case):
    fx, fit = case
    assert fit.terms == fx["terms"]
    _close(fit.coef, fx["coef"], "coef")
    _close(fit.var, fx["var"], "var")
    _close(fit.scales, fx["scale"], "scale")
    _close(fit.loglik, fx["loglik"], "loglik")
    # a difference of two log-likelihoods: absolute error relative to their size
    ll = np.abs(r_array(fx["loglik"])).max()
    assert fit.chisq == pytest.approx(r_array([fx["chisq"]])[0], abs=ITERATIVE_RTOL * ll)
    assert fit.df == fx["df"]
    assert fit.scale_fixed == fx["scale_fixed"]
    assert fit.n == fx["n"]


def test_iterations(case):
    fx, fit = case
    assert fit.iterations == fx["iter"], "Newton-Raphson iterations differ from R"
    if fx["iter"] < fx["args"].get("max_iter", 30):
        assert fit.converged
    if fx["id"].endswith("_iter2"):  # R warned: ran out of iterations
        assert not fit.converged


def test_summary_table(case):
    fx, fit = case
    tab = fit.coefficients
    assert tab["term"].to_list() == fx["table_terms"]
    e = _arr(fx["table"])
    for j, col in enumerate(("coef", "se", "z")):
        _close(tab[col].to_numpy(), e[:, j], col)
    # p-values: relative agreement where they are not vanishingly small
    _close(tab["p"].to_numpy(), e[:, 3], "p", rtol=1e-5)


def test_predictions(case):
    fx, fit = case
    pr = fx["pred"]
    _close(fit.linear_predictors, fx["linear_predictors"], "linear predictors")
    for typ in ("lp", "response"):
        v, s = fit.predict(type=typ, se=True)
        _close(v, pr[typ], typ)
        _close(s, pr[f"{typ}_se"], f"{typ} se")
    p = r_array(pr["p"])
    for typ in ("quantile", "uquantile"):
        v, s = fit.predict(type=typ, p=p, se=True)
        _close(v, pr[typ], typ)
        _close(s, pr[f"{typ}_se"], f"{typ} se")
    # one p: a vector
    v = fit.predict(type="quantile", p=0.5)
    assert v.shape == (fit.n,)
    _close(v, _arr(pr["quantile"])[:, 1], "median")


def test_newdata_predictions(case):
    fx, fit = case
    if "newdata" not in fx:
        pytest.skip("no newdata in this fixture")
    nd = fx["newdata"]
    rows = r_array(nd["rows"]).astype(int)
    data = read_data(f"{fx['data']}.csv")[rows.tolist()]
    v, s = fit.predict(data, type="lp", se=True)
    _close(v, nd["lp"], "newdata lp")
    _close(s, nd["lp_se"], "newdata lp se")
    v, s = fit.predict(data, type="quantile", p=r_array(fx["pred"]["p"]), se=True)
    _close(v, nd["quantile"], "newdata quantile")
    _close(s, nd["quantile_se"], "newdata quantile se")


def test_residuals(case):
    fx, fit = case
    for typ in ("response", "deviance", "working"):
        _close(fit.residuals(typ), fx["resid"][typ], f"{typ} residuals")


# --------------------------------------------------------------------------------------
# naive oracle: the likelihood written out, maximised by scipy
# --------------------------------------------------------------------------------------
def _naive_loglik(theta, X, t, d, dist):
    """Right-censored log-likelihood on the time scale, from scipy.stats densities."""
    p = X.shape[1]
    beta, sigma = theta[:p], math.exp(theta[p])
    mu = X @ beta
    if dist == "weibull":  # T = exp(mu + sigma W), W standard minimum extreme value
        shape, lam = 1 / sigma, np.exp(mu)
        logf = stats.weibull_min.logpdf(t, shape, scale=lam)
        logS = stats.weibull_min.logsf(t, shape, scale=lam)
    elif dist == "lognormal":
        logf = stats.lognorm.logpdf(t, sigma, scale=np.exp(mu))
        logS = stats.lognorm.logsf(t, sigma, scale=np.exp(mu))
    elif dist == "loglogistic":
        logf = stats.fisk.logpdf(t, 1 / sigma, scale=np.exp(mu))
        logS = stats.fisk.logsf(t, 1 / sigma, scale=np.exp(mu))
    else:  # gaussian on t
        logf = stats.norm.logpdf(t, mu, sigma)
        logS = stats.norm.logsf(t, mu, sigma)
    return float(np.sum(np.where(d == 1, logf, logS)))


@pytest.mark.parametrize("dist", ["weibull", "lognormal", "loglogistic", "gaussian"])
def test_naive_oracle(dist):
    rng = np.random.default_rng(7)
    n = 60
    x = rng.normal(size=n)
    t = np.round(np.exp(1 + 0.5 * x + 0.6 * rng.gumbel(size=n) * -1), 4) + 0.01
    c = rng.uniform(1, 8, n)
    d = (t <= c).astype(int)
    t = np.minimum(t, c)
    data = pl.DataFrame({"t": t, "d": d, "x": x})
    fit = survreg(data, time="t", event="d", covariates="x", dist=dist)
    X = np.column_stack([np.ones(n), x])
    start = np.concatenate([fit.coef, [math.log(fit.scale)]]) + 0.1
    res = optimize.minimize(lambda th: -_naive_loglik(th, X, t, d, dist), start,
                            method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(fit.coef, res.x[:2], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(math.log(fit.scale), res.x[2], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fit.loglik[1], -res.fun, rtol=1e-9)
    # the variance is the inverse of the numerical Hessian of the written-out likelihood
    h = 1e-4
    th = np.concatenate([fit.coef, [math.log(fit.scale)]])
    k = th.size
    H = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            e_i, e_j = np.eye(k)[i] * h, np.eye(k)[j] * h
            H[i, j] = (_naive_loglik(th + e_i + e_j, X, t, d, dist)
                       - _naive_loglik(th + e_i - e_j, X, t, d, dist)
                       - _naive_loglik(th - e_i + e_j, X, t, d, dist)
                       + _naive_loglik(th - e_i - e_j, X, t, d, dist)) / (4 * h * h)
    np.testing.assert_allclose(fit.var, np.linalg.inv(-H), rtol=1e-4)


# --------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_exponential_is_weibull_with_scale_one(seed):
    rng = np.random.default_rng(seed)
    n = 40
    x = rng.normal(size=n)
    t = rng.exponential(np.exp(0.5 * x)) + 0.01
    d = (rng.uniform(size=n) < 0.7).astype(int)
    d[0] = 1
    data = pl.DataFrame({"t": t, "d": d, "x": x})
    e = survreg(data, time="t", event="d", covariates="x", dist="exponential")
    w = survreg(data, time="t", event="d", covariates="x", dist="weibull", scale=1.0)
    np.testing.assert_allclose(e.coef, w.coef, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(e.var, w.var, rtol=1e-10)
    np.testing.assert_allclose(e.loglik, w.loglik, rtol=1e-12)
    assert e.scale_fixed and w.scale_fixed


def test_interval_equal_bounds_is_exact_and_open_upper_is_right_censored():
    d = read_data("survreg_lung.csv")
    right = survreg(d, time="time", event="event", covariates=["age", "sex"])
    t = d["time"].cast(pl.Float64)
    ic = d.with_columns(lo=t, hi=pl.when(pl.col("event") == 1).then(t).otherwise(None))
    intv = survreg(ic, lower="lo", upper="hi", covariates=["age", "sex"])
    np.testing.assert_allclose(intv.coef, right.coef, rtol=1e-12)
    np.testing.assert_allclose(intv.loglik, right.loglik, rtol=1e-12)
    assert intv.iterations == right.iterations


def test_weibull_hazard_ratios_match_cox_scale_and_lifereg():
    fx = load_fixture("survreg", "lung_weibull")
    fit = _fit(fx)
    hr = fit.hazard_ratios()
    sigma = fit.scale
    np.testing.assert_allclose(hr["hazard_ratio"].to_numpy(), np.exp(-fit.coef[1:] / sigma))
    np.testing.assert_allclose(hr["acceleration_factor"].to_numpy(), np.exp(fit.coef[1:]))
    # delta method against a numerical gradient of -beta/sigma on (beta, log sigma)
    j, p = 1, len(fit.terms)
    b, ls = fit.coef[j], math.log(sigma)
    h = 1e-6
    g = np.array([(-(b + h) / sigma + (b - h) / sigma) / (2 * h),
                  (-b / math.exp(ls + h) + b / math.exp(ls - h)) / (2 * h)])
    V = fit.var[np.ix_([j, p], [j, p])]
    np.testing.assert_allclose(hr["se_log_hr"][0], math.sqrt(g @ V @ g), rtol=1e-6)
    assert (hr["hr_lower"] < hr["hazard_ratio"]).all()
    assert (hr["hazard_ratio"] < hr["hr_upper"]).all()
    lr = fit.lifereg()
    shape = lr.filter(pl.col("parameter") == "Weibull Shape")
    assert shape["estimate"][0] == pytest.approx(1 / sigma, rel=1e-14)
    scale = lr.filter(pl.col("parameter") == "Scale")
    se_ls = math.sqrt(fit.var[p, p])
    assert scale["se"][0] == pytest.approx(sigma * se_ls, rel=1e-14)
    assert lr["parameter"][0] == "Intercept"
    with pytest.raises(OptionError):
        _fit(load_fixture("survreg", "lung_lognormal")).hazard_ratios()


def test_compare_distributions():
    fx = {k: fx for k, fx in ((n, load_fixture("survreg", n)) for n in CASES)
          if k.startswith("lung_") and k.count("_") == 1 and not k.endswith("null")}
    data = read_data("survreg_lung.csv")
    tab = compare_distributions(data, time="time", event="event",
                                covariates=["age", "sex", "ph.ecog"])
    assert tab["dist"].to_list() == list(riskset._survreg.COMPARED)
    n = data.height
    for row in tab.iter_rows(named=True):
        r = fx[f"lung_{row['dist']}"]
        ll = r_array(r["loglik"])[1]
        k = len(r["coef"]) + (0 if r["scale_fixed"] else 1)
        assert row["loglik"] == pytest.approx(ll, rel=ITERATIVE_RTOL)
        assert row["aic"] == pytest.approx(-2 * ll + 2 * k, rel=ITERATIVE_RTOL)
        assert row["bic"] == pytest.approx(-2 * ll + math.log(n) * k, rel=ITERATIVE_RTOL)
    # a log-scale distribution that cannot be fitted gets a note, not a silent row
    bad = data.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(0)
                            .otherwise(pl.col("time")).alias("time"))
    tab = compare_distributions(bad, time="time", event="event", covariates=["age"],
                                dists=["weibull", "gaussian"])
    assert tab["loglik"][0] is None and "non-positive" in tab["note"][0]
    assert tab["loglik"][1] is not None


# --------------------------------------------------------------------------------------
# bad input and non-convergence
# --------------------------------------------------------------------------------------
def _small():
    return pl.DataFrame({"t": [1.0, 2.0, 3.0, 0.0, 5.0, 6.0], "d": [1, 0, 1, 1, 1, 0],
                         "x": [0.1, 0.5, -0.2, 0.3, 1.0, 0.0]})


def test_non_positive_time_for_log_distribution():
    with pytest.raises(ColumnError) as info:
        survreg(_small(), time="t", event="d", covariates="x", dist="weibull")
    err = info.value
    assert err.column == "t" and "non-positive" in str(err)
    assert err.n_rows == 1 and err.first_row == 3
    # on the time scale zero is fine
    survreg(_small(), time="t", event="d", covariates="x", dist="gaussian")


def test_lower_greater_than_upper():
    d = pl.DataFrame({"lo": [1.0, 3.0, None, 2.0], "hi": [2.0, 2.5, 4.0, None],
                      "x": [0.0, 1.0, 2.0, 3.0]})
    with pytest.raises(ColumnError) as info:
        survreg(d, lower="lo", upper="hi", covariates="x")
    assert info.value.column == "lo" and info.value.first_row == 1
    assert "greater than" in str(info.value)


def test_both_bounds_missing():
    d = pl.DataFrame({"lo": [1.0, None, 1.5, 2.0], "hi": [2.0, None, 4.0, None],
                      "x": [0.0, 1.0, 2.0, 3.0]})
    with pytest.raises(ColumnError, match="both bounds missing"):
        survreg(d, lower="lo", upper="hi", covariates="x")


def test_unknown_distribution_suggests():
    with pytest.raises(OptionError, match="did you mean 'weibull'"):
        survreg(_small(), time="t", event="d", covariates="x", dist="weibul")
    with pytest.raises(OptionError, match="did you mean 'lognormal'"):
        survreg(_small(), time="t", event="d", covariates="x", dist="log-normal")


def test_options():
    d = _small().filter(pl.col("t") > 0)
    with pytest.raises(OptionError, match="not both"):
        survreg(d, time="t", event="d", lower="t", upper="t")
    with pytest.raises(OptionError):
        survreg(d, time="t", event="d", scale=-1.0)
    with pytest.raises(OptionError, match="strata"):
        survreg(d.with_columns(g=pl.Series([0, 1, 0, 1, 0])), time="t", event="d",
                strata="g", scale=1.0)
    with pytest.warns(RisksetWarning, match="fixed scale"):
        f = survreg(d, time="t", event="d", dist="exponential", scale=2.0)
    assert f.scale == 1.0


def test_non_convergence_warns_and_raises():
    fx = load_fixture("survreg", "lung_weibull_iter2")
    data = read_data("survreg_lung.csv")
    kw = {k: v for k, v in fx["args"].items() if k != "max_iter"}
    with pytest.warns(SurvregConvergenceWarning, match=r"ran out of iterations \(2\).*last step"):
        fit = survreg(data, max_iter=2, **kw)
    assert not fit.converged and "NOT CONVERGED" in repr(fit)
    # the estimate is R's after the same two iterations
    _close(fit.coef, fx["coef"], "coef after 2 iterations")
    with pytest.raises(SurvregConvergenceError, match="did not converge"):
        survreg(data, max_iter=2, on_nonconvergence="raise", **kw)


def test_missing_values_raise_or_drop():
    d = read_data("survreg_lung.csv").with_columns(
        age=pl.when(pl.int_range(pl.len()) == 4).then(None).otherwise(pl.col("age")))
    with pytest.raises(ColumnError) as info:
        survreg(d, time="time", event="event", covariates=["age", "sex"], drop_missing=False)
    assert info.value.column == "age" and info.value.first_row == 4
    with pytest.warns(RisksetWarning, match="dropped 1 of"):  # the default: complete cases, counted
        f = survreg(d, time="time", event="event", covariates=["age", "sex"])
    assert f.n == d.height - 1


def test_public_name():
    assert riskset.survreg is survreg
    assert riskset.compare_distributions is compare_distributions


# --------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------
def _cli(*args):
    from click.testing import CliRunner

    from riskset.cli.main import main

    return CliRunner().invoke(main, ["survreg", *args], catch_exceptions=False)


LUNG = str(Path(__file__).parent / "reference" / "data" / "survreg_lung.csv")


def test_cli_formats(tmp_path):
    fx = load_fixture("survreg", "lung_weibull")
    base = [LUNG, "--time", "time", "--event", "event", "--covariates", "age,sex,ph.ecog"]
    res = _cli(*base)
    assert res.exit_code == 0, res.output
    assert "Weibull distribution" in res.output and "hazard ratios" in res.output
    res = _cli(*base, "--format", "json")
    out = json.loads(res.output)
    assert out["estimator"] == "survreg" and out["iterations"] == fx["iter"]
    _close([r["coef"] for r in out["coefficients"]], _arr(fx["table"])[:, 0], "json coef")
    target = tmp_path / "coef.csv"
    res = _cli(*base, "--dist", "lognormal", "--format", "csv", "-o", str(target))
    assert res.exit_code == 0
    tab = pl.read_csv(target)
    fxl = load_fixture("survreg", "lung_lognormal")
    assert tab["term"].to_list() == fxl["table_terms"]
    _close(tab["se"].to_numpy(), _arr(fxl["table"])[:, 1], "csv se")
    res = _cli(*base, "--dist", "lognormal", "--format", "csv", "-o", str(target))
    assert res.exit_code == 2 and "already exists" in res.output
    res = _cli(*base, "--compare", "--format", "json")
    rows = json.loads(res.output)["rows"]
    assert [r["dist"] for r in rows] == list(riskset._survreg.COMPARED)


def test_cli_interval_and_bad_input():
    data = str(Path(__file__).parent / "reference" / "data" / "survreg_interval.csv")
    fx = load_fixture("survreg", "interval_loglogistic")
    res = _cli(data, "--lower", "lower", "--upper", "upper", "--covariates", "x1,g",
               "--dist", "loglogistic", "--format", "json")
    assert res.exit_code == 0, res.output
    _close([json.loads(res.output)["loglik"]["model"]], r_array(fx["loglik"])[1:], "loglik")
    res = _cli(LUNG, "--time", "time", "--event", "event", "--dist", "weibul")
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "did you mean 'weibull'" in lines[0]
    res = _cli(LUNG, "--time", "time", "--event", "event", "--covariates", "nope")
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1


def test_bad_weights_and_newdata_levels():
    d = read_data("veteran.csv")
    bad = d.with_columns(w=pl.when(pl.int_range(pl.len()) == 2).then(0.0).otherwise(1.0))
    with pytest.raises(ColumnError) as info:
        survreg(bad, time="time", event="status", covariates="karno", weights="w")
    assert info.value.column == "w" and info.value.first_row == 2
    fit = survreg(d, time="time", event="status", covariates=["celltype", "karno"])
    nd = pl.DataFrame({"celltype": ["large", "giant"], "karno": [60, 70]})
    with pytest.raises(ColumnError, match="levels not in the fit"):
        fit.predict(nd, type="lp")
    # a categorical newdata row gives the same prediction as the identical fitted row
    same = fit.predict(d[[0, 1]], type="lp")
    np.testing.assert_allclose(same, fit.linear_predictors[:2], rtol=1e-14)


def test_jj_fallback_is_the_outer_product_of_row_scores():
    """J'J (used when the information is not positive definite) against finite differences
    of the per-row log-likelihoods."""
    from riskset.engine import survreg as se

    rng = np.random.default_rng(3)
    n = 30
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    y1 = rng.normal(1, 1, n)
    status = rng.integers(0, 4, n)
    y2 = y1 + rng.uniform(0.1, 1, n)
    for base in ("extreme", "logistic", "gaussian", "t"):
        pb = se.Problem(base, X, y1, y2, status, np.ones(n), np.zeros(n),
                        np.zeros(n, dtype=np.int64), 1, 5.0)
        par = np.array([0.9, 0.2, -0.1])
        _, u, imat, JJ = se.evaluate(pb, X, par, 1, jj=True)
        h = 1e-6
        grads = np.empty((n, 3))
        for i in range(n):
            one = se.Problem(base, X[i:i + 1], y1[i:i + 1], y2[i:i + 1], status[i:i + 1],
                             np.ones(1), np.zeros(1), np.zeros(1, dtype=np.int64), 1, 5.0)
            for j in range(3):
                e = np.eye(3)[j] * h
                grads[i, j] = (se.evaluate(one, X[i:i + 1], par + e, 1, full=False)[0]
                               - se.evaluate(one, X[i:i + 1], par - e, 1, full=False)[0]) / (2 * h)
        np.testing.assert_allclose(u, grads.sum(0), rtol=1e-6, atol=1e-7, err_msg=base)
        np.testing.assert_allclose(JJ, grads.T @ grads, rtol=1e-5, atol=1e-7, err_msg=base)


def test_pass_blocks_do_not_depend_on_threads():
    """The likelihood pass sums fixed blocks in block order: identical with 1 or more threads,
    and equal (up to summation order) to one block."""
    import numba

    from riskset.engine import survreg as se

    rng = np.random.default_rng(5)
    n = 500
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    y1 = rng.normal(1, 1, n)
    status = rng.integers(0, 4, n)
    y2 = y1 + rng.uniform(0.1, 1, n)
    codes = rng.integers(0, 2, n).astype(np.int64)
    par = np.array([0.9, 0.2, -0.1, 0.1, -0.2])
    args = (0, X, y1, y2, status, np.ones(n), np.zeros(n), codes, par, 2, True, True,
            se._NO_COLS, se._NO_COLS)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = se._pass(*args, 7)
        numba.set_num_threads(before)
        many = se._pass(*args, 7)
    finally:
        numba.set_num_threads(before)
    whole = se._pass(*args, n)
    for a, b, c in zip(one, many, whole, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-12)
