"""Kaplan–Meier kernels against the naive oracle (tests/naive.py) and Hypothesis properties."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskset
from tests.naive import km_naive, rmst_naive
from tests.tolerances import CLOSED_ATOL, CLOSED_RTOL, REORDER_RTOL

# the property tests draw times of 0 on purpose (kept, as R keeps them); the warning that
# counts them is tested in tests/test_missing.py
pytestmark = pytest.mark.filterwarnings("ignore:column .* is 0 in .* kept, as R keeps them:UserWarning")


def _data(seed: int, n: int = 300, *, ties: bool = True, entry: bool = False, weights: bool = False):
    rng = np.random.default_rng(seed)
    t = rng.exponential(10, n)
    if ties:
        t = np.ceil(t)
    d = {"time": t, "event": (rng.random(n) < 0.7).astype(np.int8), "g": rng.integers(0, 3, n)}
    if entry:
        d["entry"] = np.floor(rng.random(n) * t * 0.8 * 2) / 2
        d["entry"] = np.minimum(d["entry"], t - 0.5)
        d["entry"] = np.maximum(d["entry"], 0.0)
        keep = d["entry"] < d["time"]
        d = {k: v[keep] for k, v in d.items()}
    if weights:
        d["w"] = rng.uniform(0.2, 3.0, d["time"].size)
    return d


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("entry", [False, True])
@pytest.mark.parametrize("weights", [False, True])
def test_matches_naive_oracle(seed, entry, weights):
    d = _data(seed, entry=entry, weights=weights)
    fit = riskset.kaplan_meier(
        d, time="time", event="event", by="g", entry="entry" if entry else None,
        weights="w" if weights else None, robust=False,
    )
    for g in range(3):
        m = d["g"] == g
        ref = km_naive(d["time"][m], d["event"][m], d["w"][m] if weights else None,
                       d["entry"][m] if entry else None)
        got = fit.table.filter(pl.col("g") == g)
        for ours, theirs in [("time", "time"), ("n_risk", "n_risk"), ("n_event", "n_event"),
                             ("n_censor", "n_censor"), ("survival", "surv"), ("cumhaz", "cumhaz")]:
            np.testing.assert_allclose(got[ours].to_numpy(), ref[theirs], rtol=CLOSED_RTOL,
                                       atol=CLOSED_ATOL, err_msg=ours)
        se = got["std_err"].to_numpy()
        with np.errstate(invalid="ignore"):
            ref_se = ref["surv"] * np.sqrt(ref["var_log"])
        ref_se[np.isinf(ref["var_log"])] = np.nan
        np.testing.assert_allclose(se, ref_se, rtol=CLOSED_RTOL, atol=CLOSED_ATOL, equal_nan=True)


def test_rmst_matches_naive_area():
    d = _data(5, ties=True)
    fit = riskset.kaplan_meier(d, time="time", event="event")
    for tau in (0.5, 3.0, 7.5, 20.0, 200.0):
        got = fit.rmst(tau)["rmst"][0]
        assert got == pytest.approx(rmst_naive(d["time"], d["event"], tau), rel=CLOSED_RTOL)


times_st = st.lists(st.integers(0, 15), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(times=times_st, data=st.data())
def test_permutation_invariance(times, data):
    n = len(times)
    events = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    perm = data.draw(st.permutations(range(n)))
    a = riskset.kaplan_meier({"t": np.array(times, float), "e": np.array(events)}, time="t", event="e")
    b = riskset.kaplan_meier(
        {"t": np.array(times, float)[perm], "e": np.array(events)[perm]}, time="t", event="e"
    )
    for col in ("time", "n_risk", "survival", "std_err", "lower", "upper"):
        np.testing.assert_allclose(
            a.table[col].to_numpy(), b.table[col].to_numpy(), rtol=REORDER_RTOL, equal_nan=True
        )


@settings(max_examples=60, deadline=None)
@given(times=times_st, data=st.data())
def test_integer_weights_equal_replicated_rows(times, data):
    n = len(times)
    events = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    w = np.array(data.draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)))
    t = np.array(times, float)
    weighted = riskset.kaplan_meier({"t": t, "e": events, "w": w}, time="t", event="e", weights="w")
    rep = riskset.kaplan_meier({"t": np.repeat(t, w), "e": np.repeat(events, w)}, time="t", event="e")
    assert weighted.variance == "greenwood"  # integer weights keep R's Greenwood default
    for col in ("time", "n_risk", "n_event", "survival", "std_err", "lower", "upper", "cumhaz"):
        np.testing.assert_allclose(
            weighted.table[col].to_numpy(), rep.table[col].to_numpy(), rtol=REORDER_RTOL,
            equal_nan=True, err_msg=col,
        )


@settings(max_examples=60, deadline=None)
@given(times=st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=50))
def test_no_censoring_is_one_minus_ecdf(times):
    t = np.array(times)
    # the ECDF of the values as given: every distinct value its own time (hypothesis finds
    # near-tied floats such as 0 and 5e-324, which R's timefix rule, on by default, merges)
    fit = riskset.kaplan_meier({"t": t, "e": np.ones(t.size, dtype=int)}, time="t", event="e", timefix=False)
    tab = fit.table
    ecdf = np.array([(t <= x).mean() for x in tab["time"].to_numpy()])
    np.testing.assert_allclose(tab["survival"].to_numpy(), 1 - ecdf, rtol=1e-12, atol=1e-14)


@settings(max_examples=60, deadline=None)
@given(times=times_st, data=st.data())
def test_survival_in_unit_interval_and_non_increasing(times, data):
    n = len(times)
    events = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    ctype = data.draw(st.sampled_from(["log", "log-log", "plain", "logit", "arcsin"]))
    fit = riskset.kaplan_meier({"t": np.array(times, float), "e": np.array(events)}, time="t",
                               event="e", conf_type=ctype)
    s = fit.table["survival"].to_numpy()
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.diff(s) <= 0)
    lo = fit.table["lower"].fill_null(np.nan).to_numpy()
    up = fit.table["upper"].fill_null(np.nan).to_numpy()
    ok = ~np.isnan(lo)
    assert np.all(lo[ok] <= s[ok] + 1e-15) and np.all(up[ok] >= s[ok] - 1e-15)


def test_one_group_equals_ungrouped():
    d = _data(9)
    d["one"] = np.zeros(d["time"].size, dtype=np.int64)
    a = riskset.kaplan_meier(d, time="time", event="event")
    b = riskset.kaplan_meier(d, time="time", event="event", by="one")
    assert a.table.equals(b.table.drop("one"))
    assert a.summary.equals(b.summary.drop("one"))


def test_input_types_agree():
    pd = pytest.importorskip("pandas")
    import pyarrow as pa

    d = _data(11)
    ref = riskset.kaplan_meier(d, time="time", event="event", by="g").table
    for data in (pl.DataFrame(d), pl.DataFrame(d).lazy(), pd.DataFrame(d), pa.table(d)):
        assert riskset.kaplan_meier(data, time="time", event="event", by="g").table.equals(ref)


def test_file_inputs(tmp_path):
    d = pl.DataFrame(_data(12))
    ref = riskset.kaplan_meier(d, time="time", event="event", by="g").table
    for name, write in (("x.csv", d.write_csv), ("x.parquet", d.write_parquet), ("x.arrow", d.write_ipc)):
        write(tmp_path / name)
        assert riskset.kaplan_meier(tmp_path / name, time="time", event="event", by="g").table.equals(ref)


def test_multiple_by_columns_match_separate_fits():
    d = _data(13)
    d["h"] = np.where(d["time"] > 5, "late", "early")
    fit = riskset.kaplan_meier(d, time="time", event="event", by=["g", "h"])
    assert fit.keys.columns == ["g", "h"]
    for g, h in fit.keys.iter_rows():
        m = (d["g"] == g) & (d["h"] == h)
        one = riskset.kaplan_meier({k: v[m] for k, v in d.items()}, time="time", event="event")
        got = fit.table.filter((pl.col("g") == g) & (pl.col("h") == h)).drop("g", "h")
        assert got.equals(one.table)


@pytest.mark.parametrize("with_entry", [False, True])
def test_reverse_equals_refit_with_flipped_event(with_entry):
    """fit.reverse() (event table swap) == a fit of the censoring indicator, row by row."""
    rng = np.random.default_rng(11)
    n = 300
    t = np.round(rng.exponential(5.0, n), 0) + 1.0
    d = {"t": t, "e": (rng.random(n) < 0.5).astype(np.int8), "g": rng.integers(0, 3, n),
         "w": rng.integers(1, 4, n).astype(float)}
    d["flip"] = (1 - d["e"]).astype(np.int8)
    kw = {"entry": "en"} if with_entry else {}
    if with_entry:
        d["en"] = np.floor(t * rng.random(n) * 0.5)
    for weights in (None, "w"):
        fit = riskset.kaplan_meier(d, time="t", event="e", by="g", weights=weights, **kw)
        rev = fit.reverse()
        ref = riskset.kaplan_meier(d, time="t", event="flip", by="g", weights=weights, conf_type="log", **kw)
        for col in ("time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper"):
            np.testing.assert_allclose(rev.table[col].to_numpy(), ref.table[col].to_numpy(),
                                       rtol=CLOSED_RTOL, equal_nan=True)
        assert rev.summary.equals(ref.summary)
