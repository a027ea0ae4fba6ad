"""Kaplan–Meier family against R ``survival`` fixtures (tests/reference/fixtures/km).

Each fixture records the exact R call; see tests/reference/README.md for how they are made.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import riskset
from tests.conftest import assert_close, fixture_names, load_fixture, r_array, read_data

CASES = fixture_names("km")


def _fit(fx: dict, **extra):
    roles = fx["roles"]
    robust = fx.get("robust")
    return riskset.kaplan_meier(
        read_data(fx["data"]),
        time=roles["time"],
        event=roles["event"],
        by=roles["by"] or None,
        entry=roles["entry"],
        weights=roles["weights"],
        conf_type=fx["conf_type"],
        conf_level=fx["conf_level"],
        robust=robust,
        **extra,
    )


def _rows_for(df: pl.DataFrame, strata: dict) -> pl.DataFrame:
    for col, val in strata.items():
        df = df.filter(pl.col(col).cast(pl.String) == str(val))
    return df


@pytest.fixture(params=CASES)
def case(request):
    fx = load_fixture("km", request.param)
    return fx, _fit(fx)


def test_curves(case):
    fx, fit = case
    table = fit.table
    assert table.height == sum(len(c["time"]) for c in fx["curves"])
    for curve in fx["curves"]:
        got = _rows_for(table, curve["strata"])
        where = f"{fx['case']} {curve['strata']}"
        for ours, theirs in [("time", "time"), ("n_risk", "n_risk"), ("n_event", "n_event"),
                             ("n_censor", "n_censor"), ("survival", "surv"), ("lower", "lower"),
                             ("upper", "upper"), ("cumhaz", "cumhaz")]:
            assert_close(got[ours], curve[theirs], f"{where} {ours}")
        r_se = r_array(curve["std_err"])
        surv = r_array(curve["surv"])
        if fx["std_err_scale"] == "log":
            with np.errstate(invalid="ignore"):
                expected = np.where(np.isinf(r_se), np.nan, surv * r_se)
        else:
            expected = r_se
        assert_close(got["std_err"], expected, f"{where} std_err (S scale)")
        # Greenwood fits: sqrt(sum d / n^2); robust fits: the infinitesimal jackknife
        assert_close(got["cumhaz_std_err"], curve["std_chaz"], f"{where} std_chaz")


def test_summary_table(case):
    fx, fit = case
    summ = fit.summary
    tau = fx["rmean_tau"]
    rm = fit.rmst(tau)
    for row in fx["table"]:
        got = _rows_for(summ, row["strata"])
        where = f"{fx['case']} {row['strata']}"
        assert got.height == 1, where
        assert got["n"][0] == row["records"], where
        assert_close(got["events"], row["events"], f"{where} events")
        assert_close(got["median"], row["median"], f"{where} median")
        assert_close(got["median_lower"], row["lower"], f"{where} median lower")
        assert_close(got["median_upper"], row["upper"], f"{where} median upper")
        r = _rows_for(rm, row["strata"])
        assert_close(r["rmst"], row["rmean"], f"{where} rmean")
        assert_close(r["std_err"], row["se_rmean"], f"{where} se(rmean)")


def test_quantiles(case):
    fx, fit = case
    probs = fx["quantile_probs"]
    got_all = fit.quantile(probs)
    for qrow in fx["quantiles"]:
        got = _rows_for(got_all, qrow["strata"])
        where = f"{fx['case']} {qrow['strata']}"
        assert_close(got["time"], qrow["quantile"], f"{where} quantile")
        assert_close(got["lower"], qrow["lower"], f"{where} quantile lower")
        assert_close(got["upper"], qrow["upper"], f"{where} quantile upper")


def test_landmarks(case):
    fx, fit = case
    got_all = fit.at(fx["landmark_times"], extend=True)
    for lm in fx["landmarks"]:
        got = _rows_for(got_all, lm["strata"])
        where = f"{fx['case']} {lm['strata']} landmarks"
        assert_close(got["time"], lm["time"], f"{where} time")
        assert_close(got["n_risk"], lm["n_risk"], f"{where} n_risk")
        assert_close(got["n_event"], lm["n_event"], f"{where} n_event")
        assert_close(got["survival"], lm["surv"], f"{where} surv")
        assert_close(got["std_err"], lm["std_err"], f"{where} std_err")
        assert_close(got["lower"], lm["lower"], f"{where} lower")
        assert_close(got["upper"], lm["upper"], f"{where} upper")


def test_reverse_km_median_followup(case):
    fx, _ = case
    roles = fx["roles"]
    got_all = riskset.median_followup(
        read_data(fx["data"]), time=roles["time"], event=roles["event"],
        by=roles["by"] or None, entry=roles["entry"], weights=roles["weights"],
        conf_type=fx["conf_type"], conf_level=fx["conf_level"], robust=fx.get("robust"),
    )
    for row in fx["reverse_median"]:
        got = _rows_for(got_all, row["strata"])
        where = f"{fx['case']} {row['strata']} reverse KM"
        assert_close(got["median_followup"], row["median"], f"{where} median")
        assert_close(got["lower"], row["lower"], f"{where} lower")
        assert_close(got["upper"], row["upper"], f"{where} upper")
