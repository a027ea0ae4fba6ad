"""The null Cox model (``covariates=[]``, R ``coxph(Surv(...) ~ 1)``) against R fixtures
(tests/reference/fixtures/cox_null/*.json, make_cox_center.R): log-likelihood, linear
predictors (the centred offset), martingale and deviance residuals, concordance, baseline
hazard and the default curves; and what R refuses for it.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import riskset._cox as rc
from riskset.errors import OptionError
from tests.conftest import fixture_names, load_fixture, read_data
from tests.test_cox_center import _close, _compare_curve, _fit

CASES = fixture_names("cox_null")


@pytest.fixture(scope="module", params=CASES)
def case(request):
    fx = load_fixture("cox_null", request.param)
    return fx, _fit(fx)


def test_cases_present():
    assert {"null_efron", "null_breslow", "null_exact", "null_strata_offset_w",
            "null_entry_w"} <= set(CASES)


def test_loglik_and_counts(case):
    fx, fit = case
    assert fit.terms == [] and fit.coef.shape == (0,) and fit.means.shape == (0,)
    assert fit.coefficients.height == 0 and fit.coefficients["term"].dtype == pl.String
    _close(fit.loglik, [fx["loglik"], fx["loglik"]], "loglik")
    assert fit.iterations == 0 and fit.converged and not fit.robust
    assert fit.n == fx["n"] and fit.n_events == fx["nevent"]
    for t in (fit.lr_test, fit.wald_test, fit.score_test):
        assert t["statistic"] == 0.0 and t["df"] == 0 and np.isnan(t["p"])


def test_linear_predictors_residuals_concordance(case):
    fx, fit = case
    _close(fit.linear_predictors, fx["linear_predictors"], "linear.predictors")
    _close(fit.predict("lp"), fx["linear_predictors"], "predict lp")
    _close(fit.residuals("martingale"), fx["martingale"], "martingale")
    _close(fit.residuals("deviance"), fx["deviance"], "deviance")
    c = fx["concordance"]
    _close([fit.concordance["value"]], [c["value"]], "concordance")
    _close([fit.concordance["se"]], [c["se"]], "concordance se")
    assert fit.concordance["concordant"] == c["concordant"]
    assert fit.concordance["discordant"] == c["discordant"]
    assert fit.concordance["tied_risk"] == c["tied_x"]


def test_basehaz_and_default_curves(case):
    fx, fit = case
    for key, centered in (("basehaz_centered", True), ("basehaz", False)):
        bh = fit.basehaz(centered=centered)
        _close(bh["time"].to_numpy(), fx[key]["time"], f"{key} time")
        _close(bh["hazard"].to_numpy(), fx[key]["hazard"], f"{key} hazard")
        if fx[key]["strata"] is not None:
            (col,) = fit.strata
            assert [str(v) for v in bh[col].to_list()] == fx[key]["strata"]
    curves = fit.survfit()
    assert len(curves) == len(fx["survfit_default"])
    for i, (got, ref) in enumerate(zip(curves, fx["survfit_default"], strict=True)):
        if ref["strata"] is not None:
            assert str(fit.strata_keys[i, 0]) == ref["strata"]
        _compare_curve(got, ref, f"default curve {i}")


def test_null_model_refuses_what_r_refuses():
    """R: no score residuals, no cox.zph for a null model; cluster() stops; riskset also
    refuses firth/robust (nothing to estimate). It used to refuse the null model itself."""
    data = read_data("center_lung.csv")
    fit = rc.cox(data, time="time", event="event", covariates=[])
    for kind in ("score", "dfbeta", "schoenfeld"):
        with pytest.raises(OptionError, match="null model"):
            fit.residuals(kind)
    with pytest.raises(OptionError, match="null model"):
        fit.cox_zph()
    with pytest.raises(OptionError, match="covariates=\\[\\]"):
        rc.cox(data, time="time", event="event", covariates=None)
    for kw in ({"firth": True}, {"cluster": "site"}, {"robust": True}):
        with pytest.raises(OptionError, match="covariate"):
            rc.cox(data, time="time", event="event", covariates=[], **kw)


def test_null_model_is_the_model_at_beta_zero():
    """Oracle: the null model's log-likelihood is any model's log-likelihood at beta = 0,
    and its martingale residuals are that model's at beta = 0 (a zero-iteration fit)."""
    data = read_data("center_lung.csv")
    for ties in ("efron", "breslow"):
        null = rc.cox(data, time="time", event="event", covariates=[], ties=ties)
        one = rc.cox(data, time="time", event="event", covariates=["age", "sex01"], ties=ties)
        assert null.loglik[1] == pytest.approx(one.loglik[0], rel=1e-13)
        zero = rc.cox(data, time="time", event="event", covariates=["age"], ties=ties, max_iter=0)
        np.testing.assert_allclose(null.residuals("martingale"), zero.residuals("martingale"),
                                   rtol=1e-12, atol=1e-13)


def test_null_model_newdata_curve_scales_with_the_offset():
    """No R fixture (R 3.5-3 stops): a row with offset o in stratum s has the stratum's
    default cumulative hazard times exp(o - weighted mean offset)."""
    fx = load_fixture("cox_null", "null_strata_offset_w")
    fit = _fit(fx)
    default = fit.survfit()
    w = read_data("center_lung.csv")
    off_mean = float((w["off"] * w["w"]).sum() / w["w"].sum())
    for s, site in enumerate(fit.strata_keys["site"].to_list()):
        for o in (0.0, 0.3):
            (got,) = fit.survfit([{"site": site, "off": o}])
            np.testing.assert_allclose(
                -np.log(got["surv"].to_numpy()),
                -np.log(default[s]["surv"].to_numpy()) * np.exp(o - off_mean), rtol=1e-12)
