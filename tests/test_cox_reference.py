"""riskset.cox against R ``survival::coxph`` fixtures (tests/reference/fixtures/cox/*.json).

Every fixture present is a case; fields absent from a fixture are skipped. Iterative results
(coefficients, variances, log-likelihoods, tests and everything computed at the estimate)
compare at ``ITERATIVE_RTOL``; an absolute floor of ``ITERATIVE_RTOL`` times the largest
magnitude of the compared array covers entries that are 0 in R.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import riskset._cox as rc
from riskset.errors import OptionError
from tests.conftest import fixture_names, load_fixture, r_array, read_data
from tests.tolerances import ITERATIVE_RTOL

CASES = fixture_names("cox")


def _close(actual, expected, what):
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64) if not isinstance(expected, list) else None
    if e is None:
        e = np.array([r_array(x) if isinstance(x, list) else r_array([x])[0] for x in expected],
                     dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != R {e.shape}"
    scale = np.nanmax(np.abs(e)) if e.size and np.isfinite(e).any() else 0.0
    np.testing.assert_allclose(a, e, rtol=ITERATIVE_RTOL, atol=ITERATIVE_RTOL * scale,
                               equal_nan=True, err_msg=what)


def _fit(fx):
    r = fx["roles"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = rc.cox(
            read_data(fx["data"]), time=r["time"], event=r["event"], entry=r["entry"],
            covariates=r["covariates"], strata=r["strata"] or None, weights=r["weights"],
            cluster=r["cluster"], offset=r["offset"], ties=fx["ties"], robust=fx["robust"],
            drop_missing=True,
        )
    return fit, caught


@pytest.fixture(scope="module", params=CASES)
def case(request):
    fx = load_fixture("cox", request.param)
    fit, caught = _fit(fx)
    return fx, fit, caught


def test_coefficients(case):
    fx, fit, _ = case
    assert fit.terms == fx["terms"]
    _close(fit.coef, fx["coef"], "coef")
    _close(fit.se, fx["se"], "se")
    if fx.get("robust_se") is not None:
        _close(fit.robust_se, fx["robust_se"], "robust_se")
        _close(fit.coefficients["robust_se"].to_numpy(), fx["robust_se"], "table robust_se")
    else:
        assert fit.robust_se is None
    _close(fit.variance_matrix, fx["var"], "var")
    if fx.get("naive_var") is not None:
        _close(fit.naive_variance, fx["naive_var"], "naive_var")
    tab = fit.coefficients
    assert tab["term"].to_list() == fx["terms"]
    _close(tab["coef"].to_numpy(), fx["coef"], "table coef")
    _close(tab["hr"].to_numpy(), np.exp(fx["coef"]), "table hr")


def test_means(case):
    """R's ``fit$means``: 0 for columns whose values all lie in {-1, 0, 1} (not centred),
    the case-weighted mean (right-censored) or the unweighted mean (entry times) otherwise."""
    fx, fit, _ = case
    _close(fit.means, fx["means"], "means")
    assert np.array_equal(fit.means == 0.0, r_array(fx["means"]) == 0.0)


def test_likelihood_and_tests(case):
    fx, fit, _ = case
    _close(fit.loglik, fx["loglik"], "loglik")
    assert fit.iterations == fx["iter"]
    assert fit.n == fx["n"]
    assert fit.n_events == fx["nevent"]
    for key in ("lr_test", "wald_test", "score_test"):
        _close(getattr(fit, key)["statistic"], fx[key]["statistic"], key)
        assert getattr(fit, key)["df"] == fx[key]["df"], key
        _close(getattr(fit, key)["p"], fx[key]["p"], key + " p")
    if fx.get("robust_score_test") is not None:
        ref = fx["robust_score_test"]
        _close(fit.robust_score_test["statistic"], ref["statistic"], "robust score")
        _close(fit.robust_score_test["p"], ref["p"], "robust score p")


def test_warnings(case):
    fx, fit, caught = case
    mono = [w for w in caught if issubclass(w.category, rc.MonotoneLikelihoodWarning)]
    r_mono = [w for w in fx.get("warnings", []) if "coefficient may be infinite" in w]
    assert bool(mono) == bool(r_mono), [str(w.message) for w in caught]
    if r_mono:
        assert fit.coefficients["monotone"].any()
        assert "firth=True" in str(mono[0].message)


def test_concordance(case):
    fx, fit, _ = case
    if "concordance" not in fx:
        pytest.skip("no concordance in fixture")
    _close(fit.concordance["value"], fx["concordance"]["value"], "concordance")
    _close(fit.concordance["se"], fx["concordance"]["se"], "concordance se")


def test_zph(case):
    fx, fit, _ = case
    if "zph" not in fx:
        pytest.skip("no zph in fixture")
    z = fit.cox_zph()
    assert z["term"].to_list() == fx["zph"]["terms"]
    _close(z["chisq"].to_numpy(), fx["zph"]["chisq"], "zph chisq")
    assert z["df"].to_list() == fx["zph"]["df"]
    _close(z["p"].to_numpy(), fx["zph"]["p"], "zph p")


def test_residuals(case):
    fx, fit, _ = case
    res = fx.get("residuals")
    if not res:
        pytest.skip("no residuals in fixture")
    for kind in ("martingale", "deviance", "score", "dfbeta"):
        if res.get(kind) is not None:
            _close(fit.residuals(kind), np.asarray(res[kind], dtype=np.float64), kind)
        elif fx["ties"] == "exact":
            with pytest.raises(OptionError, match="not available"):
                fit.residuals(kind)
    if res.get("schoenfeld") is not None:
        sch = fit.schoenfeld()
        ref = res["schoenfeld"]
        _close(sch["time"], ref["time"], "schoenfeld time")
        np.testing.assert_array_equal(sch["row"] + 1, ref["row"])
        _close(sch["values"], np.asarray(ref["values"], dtype=np.float64), "schoenfeld")


def test_basehaz(case):
    fx, fit, _ = case
    if "basehaz" not in fx:
        pytest.skip("no basehaz in fixture")
    bh = fit.basehaz()
    _close(bh["time"].to_numpy(), fx["basehaz"]["time"], "basehaz time")
    _close(bh["hazard"].to_numpy(), fx["basehaz"]["hazard"], "basehaz hazard")
    if fx["basehaz"].get("strata"):
        (col,) = fit.strata
        assert [str(v) for v in bh[col].to_list()] == fx["basehaz"]["strata"]


def test_survfit(case):
    fx, fit, _ = case
    sf = fx.get("survfit")
    if not sf:
        pytest.skip("no survfit in fixture")
    curves = fit.survfit(sf["newdata"], conf_level=sf.get("conf_level", 0.95))
    assert len(curves) == len(sf["curves"])
    for got, ref in zip(curves, sf["curves"], strict=True):
        for k in ("time", "surv", "std_err", "lower", "upper"):
            _close(got[k].to_numpy(), ref[k], f"survfit {k}")
