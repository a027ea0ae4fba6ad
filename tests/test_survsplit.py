"""riskset.survsplit against R survSplit (fixtures/survsplit from make_survsplit.R), a naive
row-by-row oracle, and the property that a Cox fit or KM on the split rows equals the fit
on the original rows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskset
from riskset.errors import ColumnError, OptionError
from tests.conftest import load_fixture, r_array, read_data
from tests.tolerances import CLOSED_RTOL, ITERATIVE_RTOL


def _case(name: str):
    fx = load_fixture("survsplit", name)
    if name == "lung":
        d = read_data("lung.csv").select("time", "event", "age", "sex")
        kw = dict(time="time", event="event")
        start = "tstart"
    else:
        d = read_data("entry.csv").select("entry", "time", "event")
        n = d.height
        d = d.with_columns(age=pl.Series((np.arange(1, n + 1) % 7).astype(float)),
                           sex=pl.Series(1 + np.arange(1, n + 1) % 2))
        kw = dict(time="time", event="event", entry="entry")
        start = "entry"
    d = d.with_row_index("row", offset=1)
    return fx, d, kw, start


@pytest.mark.parametrize("name", ["lung", "entry"])
def test_matches_r_survsplit(name):
    fx, d, kw, start = _case(name)
    s = riskset.survsplit(d, cut=r_array(fx["cut"]), episode="ep", **kw)
    assert s.get_column("row").to_list() == [int(x) for x in fx["row"]]
    np.testing.assert_array_equal(s.get_column(start).to_numpy(), r_array(fx["start"]))
    np.testing.assert_array_equal(s.get_column("time").to_numpy(), r_array(fx["time"]))
    np.testing.assert_array_equal(s.get_column("event").to_numpy(), r_array(fx["event"]))
    np.testing.assert_array_equal(s.get_column("ep").to_numpy(), r_array(fx["episode"]))


@pytest.mark.parametrize("name", ["lung", "entry"])
def test_cox_on_the_split_rows_is_r_and_the_original_fit(name):
    fx, d, kw, start = _case(name)
    s = riskset.survsplit(d, cut=r_array(fx["cut"]), **kw)
    split = riskset.cox(s, time="time", event="event", entry=start, covariates=["age", "sex"])
    np.testing.assert_allclose(split.coef, r_array(fx["coef_split"]), rtol=ITERATIVE_RTOL)
    np.testing.assert_allclose(split.loglik, r_array(fx["loglik_split"]), rtol=ITERATIVE_RTOL)
    orig = riskset.cox(d, covariates=["age", "sex"], **kw)
    np.testing.assert_allclose(split.coef, orig.coef, rtol=1e-9)


def _naive(t, e, s0, cuts):
    """Row by row: the pieces of (s0, t] at the cuts strictly inside it."""
    out = []
    cuts = sorted(set(cuts))
    for i in range(len(t)):
        inner = [c for c in cuts if s0[i] < c < t[i]]
        bounds = [s0[i], *inner, t[i]]
        for j in range(len(bounds) - 1):
            last = j == len(bounds) - 2
            ep = 1 + sum(c <= bounds[j] for c in cuts)
            out.append((i, bounds[j], bounds[j + 1], e[i] if last else 0, ep))
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(1, 15), st.integers(0, 1)), min_size=1, max_size=30),
       st.lists(st.integers(0, 40), min_size=1, max_size=6))
def test_equals_the_naive_oracle(rows, cuts):
    s0 = [float(a) for a, _, _ in rows]
    t = [a + float(b) for a, b, _ in rows]
    e = [c for _, _, c in rows]
    d = pl.DataFrame({"i": list(range(len(rows))), "s0": s0, "t": t, "e": e})
    got = riskset.survsplit(d, cut=cuts, time="t", event="e", entry="s0", episode="ep")
    want = _naive(t, e, s0, [float(c) for c in cuts])
    assert list(zip(got["i"], got["s0"], got["t"], got["e"], got["ep"], strict=True)) == want


def test_km_on_split_rows_equals_the_original():
    d = read_data("lung.csv").select("time", "event", "sex")
    s = riskset.survsplit(d, cut=[100, 200, 400], time="time", event="event")
    a = riskset.kaplan_meier(d, time="time", event="event", by="sex").summary
    b = riskset.kaplan_meier(s, time="time", event="event", entry="tstart", by="sex").summary
    for c in ("median", "median_lower", "median_upper"):
        np.testing.assert_allclose(b[c].to_numpy(), a[c].to_numpy(), rtol=CLOSED_RTOL)


def test_bad_input():
    d = pl.DataFrame({"t": [1.0, 2.0], "e": [1, 0], "s": [0.0, 3.0]})
    with pytest.raises(ColumnError, match=r"'t' must be greater than its start \(s\) \(1 row; first at row 2\)"):
        riskset.survsplit(d, cut=[1], time="t", event="e", entry="s")
    with pytest.raises(OptionError, match="finite"):
        riskset.survsplit(d, cut=[], time="t", event="e")
    with pytest.raises(OptionError, match="already a column"):
        riskset.survsplit(d.rename({"s": "tstart"}), cut=[1], time="t", event="e")
    with pytest.raises(ColumnError, match="missing"):
        riskset.survsplit(pl.DataFrame({"t": [1.0, None], "e": [1, 0]}), cut=[1], time="t", event="e")
