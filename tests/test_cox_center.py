"""Cox centring as R ``coxph`` (``nocenter = c(-1, 0, 1)``) and what depends on it, against
R fixtures (tests/reference/fixtures/cox_center/*.json, make_cox_center.R): ``means``,
linear predictors, ``predict(type = "lp", reference)``, ``basehaz(centered = TRUE/FALSE)``,
the default ``survfit(fit)`` curve and predicted curves whose survival underflows to 0.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import riskset._cox as rc
from tests.conftest import fixture_names, load_fixture, r_array, read_data
from tests.tolerances import ITERATIVE_RTOL

CASES = fixture_names("cox_center")


def _close(actual, expected, what):
    a = np.asarray(actual, dtype=np.float64)
    e = expected if isinstance(expected, np.ndarray) else r_array(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != R {e.shape}"
    fin = e[np.isfinite(e)]
    scale = np.abs(fin).max() if fin.size else 0.0
    np.testing.assert_allclose(a, e, rtol=ITERATIVE_RTOL, atol=ITERATIVE_RTOL * scale,
                               equal_nan=True, err_msg=what)


def _fit(fx):
    r = fx["roles"]
    return rc.cox(read_data(fx["data"]), time=r["time"], event=r["event"], entry=r["entry"],
                  covariates=r["covariates"], strata=r["strata"] or None, weights=r["weights"],
                  offset=r["offset"], ties=fx["ties"])


@pytest.fixture(scope="module", params=CASES)
def case(request):
    fx = load_fixture("cox_center", request.param)
    return fx, _fit(fx)


def test_cases_present():
    assert {"aml_x01", "aml_xfactor", "lung_sex01", "lung_sexpm", "lung_strata_offset",
            "lung_w_offset", "lung_entry_w"} <= set(CASES)


def test_fit_and_means(case):
    fx, fit = case
    assert fit.terms == fx["terms"]
    _close(fit.coef, fx["coef"], "coef")
    _close(fit.loglik, fx["loglik"], "loglik")
    _close(fit.means, fx["means"], "means")
    # R's rule, column by column: 0 exactly where every value is -1, 0 or 1
    X = fit._design.X
    nocenter = np.all(np.isin(X, (-1.0, 0.0, 1.0)), axis=0)
    assert np.array_equal(fit.means == 0.0, nocenter)


def test_linear_predictors_and_predict(case):
    fx, fit = case
    _close(fit.linear_predictors, fx["linear_predictors"], "linear.predictors")
    for ref in ("strata", "sample", "zero"):
        _close(fit.predict("lp", reference=ref), fx["predict_lp"][ref], f"predict lp {ref}")
        _close(fit.predict("risk", reference=ref), np.exp(r_array(fx["predict_lp"][ref])),
               f"predict risk {ref}")
    _close(fit.residuals("martingale"), fx["martingale"], "martingale")


def test_basehaz(case):
    fx, fit = case
    for key, centered in (("basehaz_centered", True), ("basehaz", False)):
        bh = fit.basehaz(centered=centered)
        _close(bh["time"].to_numpy(), fx[key]["time"], f"{key} time")
        _close(bh["hazard"].to_numpy(), fx[key]["hazard"], f"{key} hazard")
        if fx[key]["strata"] is not None:
            (col,) = fit.strata
            assert [str(v) for v in bh[col].to_list()] == fx[key]["strata"]


def _compare_curve(got: pl.DataFrame, ref: dict, what: str) -> None:
    for k in ("time", "surv", "std_err", "lower", "upper"):
        _close(got[k].to_numpy(), ref[k], f"{what} {k}")
    # R's NA limits are nulls, at exactly the same places
    for k in ("lower", "upper"):
        assert got[k].is_null().to_list() == [v is None for v in ref[k]], f"{what} {k} NA"


def test_survfit_default_curve(case):
    fx, fit = case
    curves = fit.survfit()
    assert len(curves) == len(fx["survfit_default"])
    for i, (got, ref) in enumerate(zip(curves, fx["survfit_default"], strict=True)):
        if ref["strata"] is not None:
            assert str(fit.strata_keys[i, 0]) == ref["strata"]
        _compare_curve(got, ref, f"default curve {i}")
    if not fit.strata:  # the curve at the means is basehaz(centered = TRUE)
        bh = fit.basehaz(centered=True)
        np.testing.assert_allclose(-np.log(curves[0]["surv"].to_numpy()), bh["hazard"].to_numpy(),
                                   rtol=1e-12)


def test_survfit_newdata(case):
    fx, fit = case
    sf = fx["survfit"]
    curves = fit.survfit(sf["newdata"], conf_level=sf["conf_level"])
    assert len(curves) == len(sf["curves"])
    for i, (got, ref) in enumerate(zip(curves, sf["curves"], strict=True)):
        _compare_curve(got, ref, f"newdata row {i}")


# --------------------------------------------------------------------------------------
# regressions: the differences these fixtures were made for
# --------------------------------------------------------------------------------------
def test_aml_binary_column_is_not_centred():
    """aml ``x``: R's means is 0 (riskset used to centre it at 0.5217), so the linear
    predictors and basehaz(centered = TRUE) are those of x = 0, not of x = 0.52."""
    for name in ("aml_x01", "aml_xfactor"):
        fx = load_fixture("cox_center", name)
        fit = _fit(fx)
        assert fit.means.tolist() == [0.0]
        x = fit._design.X[:, 0]
        np.testing.assert_allclose(fit.linear_predictors, fit.coef[0] * x, rtol=1e-14, atol=0)
        _close(fit.linear_predictors, fx["linear_predictors"], "aml linear.predictors")
        centred = fit.basehaz(centered=True)["hazard"].to_numpy()
        np.testing.assert_array_equal(centred, fit.basehaz(centered=False)["hazard"].to_numpy())
        _close(centred, fx["basehaz_centered"]["hazard"], "aml basehaz centered")


def test_underflowing_survival_has_na_limits():
    """A row whose linear predictor is huge: S(t) underflows to 0; R gives NA for both
    limits there (riskset used to give lower 0 and upper NaN), and a finite std.err."""
    fx = load_fixture("cox_center", "lung_sex01")
    fit = _fit(fx)
    curves = fit.survfit(fx["survfit"]["newdata"])
    partial, full = curves[1], curves[2]
    for got in (partial, full):
        zero = (got["surv"] == 0.0).to_numpy()
        assert zero.any()
        assert got["lower"].is_null().to_numpy()[zero].all()
        assert got["upper"].is_null().to_numpy()[zero].all()
        assert not got["lower"].is_nan().fill_null(False).any()
        assert not got["upper"].is_nan().fill_null(False).any()
        assert np.isfinite(got["std_err"].to_numpy()).all()
    # the partial curve has limits before the underflow and none after
    zero = (partial["surv"] == 0.0).to_numpy()
    assert (~zero).any() and partial["lower"].is_null().to_numpy().tolist() == zero.tolist()
    assert full["lower"].null_count() == full.height


def test_recoding_a_binary_column_changes_only_the_centring():
    """Coding sex 0/1 (not centred), -1/1 (not centred) or 1/2 (centred): the same model.
    Log-likelihood and fitted linear predictors agree; the coefficient scales with the code."""
    data = read_data("center_lung.csv")
    fits = {c: rc.cox(data, time="time", event="event", covariates=["age", c, "ph.ecog"])
            for c in ("sex", "sex01", "sexpm")}
    ref = fits["sex01"]
    assert fits["sex"].means[1] != 0.0 and ref.means[1] == 0.0 and fits["sexpm"].means[1] == 0.0
    for c, scale in (("sex", 1.0), ("sexpm", 0.5)):
        f = fits[c]
        np.testing.assert_allclose(f.loglik, ref.loglik, rtol=1e-10)
        np.testing.assert_allclose(f.coef[1] / scale, ref.coef[1], rtol=1e-7)
        # linear predictors differ by a constant: the centring of the sex column
        diff = f.linear_predictors - ref.linear_predictors
        np.testing.assert_allclose(diff, diff[0], atol=1e-7)
