"""Robust (infinitesimal-jackknife) Kaplan–Meier variances, cumulative hazard included.

* R fixtures from ``tests/reference/make_km_ij.R`` (lung with non-integer, zero and integer
  weights, ``robust`` default / TRUE / FALSE), for :func:`riskset.kaplan_meier` and
  :func:`riskset.nelson_aalen`.
* The regression this fixes: with non-integer weights R's ``std.chaz`` is the IJ one
  (0.01106 on the first row of lung sex = 1), riskset kept sqrt(sum d / n^2) (0.01031).
* The naive O(n m) oracle ``tests.naive.km_ij_naive`` (R's recursions run row by row).
* Properties: integer weights with ``robust=False`` (and by default) stay Nelson–Aalen.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskset
from tests.conftest import assert_close, fixture_names, load_fixture, r_array, read_data
from tests.naive import km_ij_naive, km_naive
from tests.tolerances import CLOSED_ATOL, CLOSED_RTOL

CASES = fixture_names("km_ij")


def _rows_for(df: pl.DataFrame, strata: dict) -> pl.DataFrame:
    for col, val in strata.items():
        df = df.filter(pl.col(col).cast(pl.String) == str(val))
    return df


def _args(fx: dict) -> dict:
    roles = fx["roles"]
    return {"time": roles["time"], "event": roles["event"], "by": roles["by"] or None,
            "weights": roles["weights"], "robust": fx["robust"]}


@pytest.mark.parametrize("name", CASES)
def test_kaplan_meier_matches_r(name):
    fx = load_fixture("km_ij", name)
    fit = riskset.kaplan_meier(read_data(fx["data"]), **_args(fx))
    assert fit.variance == ("greenwood" if fx["logse"] else "robust")
    assert fit.table.height == sum(len(c["time"]) for c in fx["curves"])
    for curve in fx["curves"]:
        got = _rows_for(fit.table, curve["strata"])
        where = f"{name} {curve['strata']}"
        for ours, theirs in [("time", "time"), ("n_risk", "n_risk"), ("n_event", "n_event"),
                             ("survival", "surv"), ("std_err", "std_err_surv"),
                             ("cumhaz", "cumhaz"), ("cumhaz_std_err", "std_chaz")]:
            assert_close(got[ours], curve[theirs], f"{where} {ours}")


@pytest.mark.parametrize("name", CASES)
def test_nelson_aalen_matches_r(name):
    fx = load_fixture("km_ij", name)
    na = riskset.nelson_aalen(read_data(fx["data"]), **_args(fx))
    for curve in fx["curves"]:
        got = _rows_for(na, curve["strata"])
        where = f"{name} {curve['strata']} nelson_aalen"
        assert_close(got["time"], curve["time"], f"{where} time")
        assert_close(got["cumhaz"], curve["cumhaz"], f"{where} cumhaz")
        assert_close(got["std_err"], curve["std_chaz"], f"{where} std_err")


def test_regression_weighted_lung_first_row():
    """Issue 16: lung by sex, weights 1, 2, 0.5, 1.5 repeating. R's std.chaz on the first
    row of sex = 1 is the IJ 0.01106; riskset used to report sum d / n^2, 0.01031."""
    fx = load_fixture("km_ij", "lung_sex_w")
    r_first = r_array(fx["curves"][0]["std_chaz"])[0]
    assert r_first == pytest.approx(0.011061063056040559, rel=1e-15)
    data = read_data("lung_w.csv")
    fit = riskset.kaplan_meier(data, time="time", event="event", by="sex", weights="w")
    first = fit.table.filter(pl.col("sex") == 1)["cumhaz_std_err"][0]
    assert first == pytest.approx(r_first, rel=CLOSED_RTOL)
    # the old value is still what robust=False gives (R's robust = FALSE, too)
    old = riskset.kaplan_meier(data, time="time", event="event", by="sex", weights="w", robust=False)
    old_first = old.table.filter(pl.col("sex") == 1)["cumhaz_std_err"][0]
    assert old_first == pytest.approx(0.010309826235529031, rel=CLOSED_RTOL)
    assert abs(first - old_first) > 7e-4
    na = riskset.nelson_aalen(data, time="time", event="event", by="sex", weights="w")
    assert na.filter(pl.col("sex") == 1)["std_err"][0] == pytest.approx(r_first, rel=CLOSED_RTOL)


def _data(seed: int, n: int, *, entry: bool, zeros: bool = False):
    rng = np.random.default_rng(seed)
    t = np.ceil(rng.exponential(8, n))
    d = {"time": t, "event": (rng.random(n) < 0.7).astype(np.int8), "g": rng.integers(0, 2, n),
         "w": rng.uniform(0.2, 3.0, n)}
    if zeros:
        d["w"][rng.random(n) < 0.2] = 0.0
    if entry:
        d["entry"] = np.clip(np.floor(rng.random(n) * t * 1.6) / 2, 0.0, t - 0.5)
    return d


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("entry", [False, True])
@pytest.mark.parametrize("zeros", [False, True])
def test_ij_matches_naive_oracle(seed, entry, zeros):
    d = _data(seed, 250, entry=entry, zeros=zeros)
    fit = riskset.kaplan_meier(d, time="time", event="event", by="g", weights="w",
                               entry="entry" if entry else None)
    assert fit.variance == "robust"
    for g in range(2):
        m = d["g"] == g
        ref = km_ij_naive(d["time"][m], d["event"][m], d["w"][m], d["entry"][m] if entry else None)
        got = fit.table.filter(pl.col("g") == g)
        np.testing.assert_array_equal(got["time"].to_numpy(), ref["time"])
        np.testing.assert_allclose(got["cumhaz_std_err"].to_numpy(), np.sqrt(ref["var_cumhaz"]),
                                   rtol=CLOSED_RTOL, atol=CLOSED_ATOL, err_msg="cumhaz IJ se")
        np.testing.assert_allclose(got["std_err"].to_numpy(), np.sqrt(ref["var_surv"]),
                                   rtol=CLOSED_RTOL, atol=CLOSED_ATOL, err_msg="surv IJ se")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(st.integers(1, 12), st.integers(0, 1), st.integers(0, 4),
                               st.integers(0, 11)), min_size=1, max_size=30),
       robust=st.sampled_from([False, None]))
def test_integer_weights_not_robust_stay_nelson_aalen(rows, robust):
    """Integer weights with robust=False (or the default, which is not robust for integer
    weights): the cumulative-hazard se is sqrt(sum d / n^2) of the weighted counts."""
    t = np.array([r[0] for r in rows], dtype=float)
    e = np.array([r[1] for r in rows])
    w = np.array([r[2] for r in rows], dtype=float)
    if w.sum() == 0:
        w[0] = 1.0
    ent = np.minimum(np.array([r[3] for r in rows], dtype=float), t - 1)
    data = {"t": t, "e": e, "w": w, "s": ent}
    fit = riskset.kaplan_meier(data, time="t", event="e", weights="w", entry="s", robust=robust)
    assert fit.variance == "greenwood"
    ref = km_naive(t, e, w, ent)
    np.testing.assert_allclose(fit.table["cumhaz_std_err"].to_numpy(), np.sqrt(ref["var_cumhaz"]),
                               rtol=CLOSED_RTOL, atol=CLOSED_ATOL)
    na = riskset.nelson_aalen(data, time="t", event="e", weights="w", entry="s", robust=robust)
    np.testing.assert_allclose(na["std_err"].to_numpy(), np.sqrt(ref["var_cumhaz"]),
                               rtol=CLOSED_RTOL, atol=CLOSED_ATOL)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(st.integers(1, 10), st.integers(0, 1), st.floats(0.1, 4.0)),
                     min_size=1, max_size=25))
def test_ij_cumhaz_matches_oracle_property(rows):
    t = np.array([r[0] for r in rows], dtype=float)
    e = np.array([r[1] for r in rows])
    w = np.array([r[2] for r in rows], dtype=float)
    fit = riskset.kaplan_meier({"t": t, "e": e, "w": w}, time="t", event="e", weights="w", robust=True)
    ref = km_ij_naive(t, e, w)
    np.testing.assert_allclose(fit.table["cumhaz_std_err"].to_numpy(), np.sqrt(ref["var_cumhaz"]),
                               rtol=CLOSED_RTOL, atol=CLOSED_ATOL)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(st.integers(1, 10), st.integers(0, 1), st.floats(0.1, 4.0),
                               st.integers(0, 9)), min_size=1, max_size=25))
def test_ij_with_entry_matches_oracle_property(rows):
    """Delayed entry, including rows entering after the curve reached 0 (where the IJ
    variance of H is exactly 0 until the next event)."""
    t = np.array([r[0] for r in rows], dtype=float)
    e = np.array([r[1] for r in rows])
    w = np.array([r[2] for r in rows], dtype=float)
    s = np.minimum(np.array([r[3] for r in rows], dtype=float), t - 1)
    fit = riskset.kaplan_meier({"t": t, "e": e, "w": w, "s": s}, time="t", event="e", weights="w",
                               entry="s", robust=True)
    ref = km_ij_naive(t, e, w, s)
    np.testing.assert_allclose(fit.table["cumhaz_std_err"].to_numpy(), np.sqrt(ref["var_cumhaz"]),
                               rtol=CLOSED_RTOL, atol=CLOSED_ATOL, err_msg="cumhaz IJ se")
    np.testing.assert_allclose(fit.table["std_err"].to_numpy(), np.sqrt(ref["var_surv"]),
                               rtol=CLOSED_RTOL, atol=CLOSED_ATOL, err_msg="surv IJ se")
