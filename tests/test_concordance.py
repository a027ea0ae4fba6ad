"""Concordance (riskset.concordance) against R ``concordance`` 3.5-3, a naive O(n^2) oracle
and properties.

R fixtures: tests/reference/fixtures/concordance/*.json (make_concordance.R), data
conc_lung.csv (lung complete cases: integer times and predictors, many ties).
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import riskset
from riskset._concordance import concordance_arrays
from riskset.errors import ColumnError, OptionError
from tests.conftest import FIXTURES, REFERENCE, fixture_names, load_fixture
from tests.tolerances import CLOSED_ATOL, CLOSED_RTOL, REORDER_RTOL

CASES = [c for c in fixture_names("concordance") if not c.startswith("predict_")]
NAMES = ("concordant", "discordant", "tied_x", "tied_y", "tied_xy")


@pytest.fixture(scope="module")
def lung() -> pl.DataFrame:
    return pl.read_csv(REFERENCE / "data" / "conc_lung.csv", schema_overrides={"ecog": pl.String})


def _run(lung, s):
    return riskset.concordance(lung, time="time", event="event", predictor=s["predictor"],
                               strata=s["strata"], weights=s["weights"], timewt=s["timewt"],
                               reverse=s["reverse"], entry=s["entry"])


def test_cases_present():
    assert len(CASES) >= 30
    timewts = {load_fixture("concordance", c)["settings"]["timewt"] for c in CASES}
    assert timewts == {"n", "S", "S/G", "n/G2", "I"}


@pytest.mark.parametrize("case", CASES)
def test_matches_r(lung, case):
    fx = load_fixture("concordance", case)
    r = _run(lung, fx["settings"])
    assert r.n == fx["n"]
    np.testing.assert_allclose(r.value, fx["concordance"], rtol=CLOSED_RTOL, err_msg="concordance")
    np.testing.assert_allclose(r.variance, fx["var"], rtol=CLOSED_RTOL, err_msg="var")
    np.testing.assert_allclose(r.std, fx["std"], rtol=CLOSED_RTOL, err_msg="std")
    np.testing.assert_allclose(r.cox_variance, fx["cvar"], rtol=CLOSED_RTOL, err_msg="cvar")
    np.testing.assert_allclose([r.counts[k] for k in NAMES], fx["count"], rtol=CLOSED_RTOL,
                               atol=CLOSED_ATOL, err_msg="count")
    if fx["count_strata"] is not None:
        got = r.strata_counts.select(NAMES).to_numpy()
        np.testing.assert_allclose(got, np.asarray(fx["count_strata"]["count"]), rtol=CLOSED_RTOL,
                                   atol=CLOSED_ATOL, err_msg="count per stratum")
        assert [str(v) for v in r.strata_counts.get_column(fx["settings"]["strata"])] == fx["count_strata"]["strata"]


def test_fixtures_match_their_manifest():
    manifest = json.loads((FIXTURES / "manifest_concordance.json").read_text())
    assert manifest["survival_version"] == "3.5.3"
    for rel, md5 in manifest["files"].items():
        assert hashlib.md5((REFERENCE / rel).read_bytes()).hexdigest() == md5, rel


def test_default_direction_is_r_default(lung):
    """R: larger predictor = longer survival is concordant; age predicts shorter survival."""
    fx = load_fixture("concordance", "age_n")
    assert fx["concordance"] < 0.5
    r = _run(lung, fx["settings"])
    rev = riskset.concordance(lung, time="time", event="event", predictor="age", reverse=True)
    assert rev.value == pytest.approx(1.0 - r.value, rel=REORDER_RTOL)
    assert rev.counts["concordant"] == r.counts["discordant"]
    assert rev.variance == pytest.approx(r.variance, rel=REORDER_RTOL)


# ---- naive O(n^2) oracle ------------------------------------------------------------------
def _naive_timewt(t, d, w, opt):
    """Time weight at each distinct event time of one stratum (independent KM curves)."""
    et = np.unique(t[d == 1])
    if opt == "n" or d.sum() < 2:
        return et, np.ones(et.size)
    W = w.sum()
    out = []
    for u in et:
        nr = w[t >= u].sum()
        S = 1.0
        for v in et[et < u]:
            S *= 1.0 - w[(t == v) & (d == 1)].sum() / w[t >= v].sum()
        G = 1.0
        for v in np.unique(t[(d == 0) & (t < u)]):
            ncr = w[(t > v) | ((t == v) & (d == 0))].sum()
            G *= 1.0 - w[(t == v) & (d == 0)].sum() / ncr
        out.append({"S": W * S / nr, "S/G": W * S / (G * nr), "n/G2": 1.0 / G**2, "I": 1.0 / nr}[opt])
    return et, np.asarray(out)


def naive(time, event, x, w, codes, timewt, entry=None):
    """Pair counts and R's variance by enumerating all pairs."""
    n = time.size
    cnt = np.zeros(5)
    infl = np.zeros((n, 5))
    for s in np.unique(codes):
        idx = np.flatnonzero(codes == s)
        et, tw = _naive_timewt(time[idx], event[idx], w[idx], timewt)
        for i in idx:
            if event[i] != 1:
                continue
            wt_i = tw[np.searchsorted(et, time[i])]
            for j in idx:
                if j == i:
                    continue
                if entry is not None and entry[j] >= time[i]:
                    continue
                if time[j] == time[i] and event[j] == 1:
                    if j < i:
                        continue  # each tied pair once
                    k = 4 if x[j] == x[i] else 3
                elif time[j] > time[i] or (time[j] == time[i] and event[j] == 0):
                    k = 0 if x[j] > x[i] else (1 if x[j] < x[i] else 2)
                else:
                    continue
                cnt[k] += w[i] * w[j] * wt_i
                infl[i, k] += w[j] * wt_i
                infl[j, k] += w[i] * wt_i
    npair = cnt[:3].sum()
    if npair == 0:
        return np.nan, np.nan, cnt
    somer = (cnt[0] - cnt[1]) / npair
    dfb = w * ((infl[:, 0] - infl[:, 1]) / npair - somer / npair * infl[:, :3].sum(axis=1))
    return (somer + 1) / 2, np.sum(dfb**2) / 4, cnt


@st.composite
def survival_data(draw, max_n=40):
    n = draw(st.integers(3, max_n))
    time = np.asarray(draw(st.lists(st.integers(1, 8), min_size=n, max_size=n)), dtype=float)
    event = np.asarray(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.int8)
    x = np.asarray(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), dtype=float)
    w = np.asarray(draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 3.0]), min_size=n, max_size=n)))
    codes = np.asarray(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int64)
    codes = np.unique(codes, return_inverse=True)[1].astype(np.int64)
    event[0] = 1
    event[1] = 1
    return time, event, x, w, codes


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=survival_data(), timewt=st.sampled_from(["n", "S", "S/G", "n/G2", "I"]))
def test_naive_oracle(data, timewt):
    time, event, x, w, codes = data
    r = concordance_arrays(time, event, x, codes=codes, weights=w, timewt=timewt)
    value, var, cnt = naive(time, event, x, w, codes, timewt)
    tot = r["count"].sum(axis=0)
    np.testing.assert_allclose(tot, cnt[[0, 1, 2, 3, 4]], rtol=CLOSED_RTOL, atol=CLOSED_ATOL)
    if cnt[:3].sum() > 0:
        np.testing.assert_allclose(r["value"], value, rtol=CLOSED_RTOL)
        np.testing.assert_allclose(r["variance"], var, rtol=CLOSED_RTOL, atol=CLOSED_ATOL)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=survival_data(), frac=st.lists(st.floats(0.0, 0.9), min_size=40, max_size=40))
def test_naive_oracle_entry(data, frac):
    time, event, x, w, codes = data
    entry = np.floor(time * np.asarray(frac[: time.size]))
    r = concordance_arrays(time, event, x, codes=codes, weights=w, entry=entry)
    value, var, cnt = naive(time, event, x, w, codes, "n", entry)
    np.testing.assert_allclose(r["count"].sum(axis=0), cnt, rtol=CLOSED_RTOL, atol=CLOSED_ATOL)
    if cnt[:3].sum() > 0:
        np.testing.assert_allclose(r["value"], value, rtol=CLOSED_RTOL)
        np.testing.assert_allclose(r["variance"], var, rtol=CLOSED_RTOL, atol=CLOSED_ATOL)


# ---- properties -----------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(data=survival_data(), seed=st.integers(0, 2**31), timewt=st.sampled_from(["n", "S/G", "I"]))
def test_permutation_invariance(data, seed, timewt):
    time, event, x, w, codes = data
    p = np.random.default_rng(seed).permutation(time.size)
    a = concordance_arrays(time, event, x, codes=codes, weights=w, timewt=timewt)
    b = concordance_arrays(time[p], event[p], x[p], codes=codes[p], weights=w[p], timewt=timewt)
    np.testing.assert_allclose(b["count"], a["count"], rtol=REORDER_RTOL, atol=CLOSED_ATOL)
    np.testing.assert_allclose(b["variance"], a["variance"], rtol=REORDER_RTOL, atol=CLOSED_ATOL)
    np.testing.assert_allclose(b["dfbeta"], a["dfbeta"][p], rtol=REORDER_RTOL, atol=CLOSED_ATOL)


@settings(max_examples=40, deadline=None)
@given(data=survival_data(), timewt=st.sampled_from(["n", "S", "S/G", "n/G2", "I"]))
def test_integer_weights_equal_replicated_rows(data, timewt):
    time, event, x, _, codes = data
    # R's "fewer than two events: time weight 1" rule counts event rows, not weights
    assume(np.bincount(codes, weights=event).min() >= 2)
    k = (np.arange(time.size) % 3) + 1
    a = concordance_arrays(time, event, x, codes=codes, weights=k.astype(float), timewt=timewt)
    rep = np.repeat(np.arange(time.size), k)
    b = concordance_arrays(time[rep], event[rep], x[rep], codes=codes[rep], timewt=timewt)
    # comparable pairs agree; tied.y / tied.xy do not: copies of one event are tied with
    # each other, a weighted row is not tied with itself
    np.testing.assert_allclose(b["count"][:, :3], a["count"][:, :3], rtol=REORDER_RTOL, atol=CLOSED_ATOL)
    np.testing.assert_allclose(b["value"], a["value"], rtol=REORDER_RTOL)


@settings(max_examples=40, deadline=None)
@given(data=survival_data(), timewt=st.sampled_from(["n", "S", "I"]))
def test_negated_predictor_gives_one_minus_c(data, timewt):
    time, event, _, w, codes = data
    x = np.random.default_rng(time.size).permutation(time.size).astype(float)  # no ties
    a = concordance_arrays(time, event, x, codes=codes, weights=w, timewt=timewt)
    b = concordance_arrays(time, event, -x, codes=codes, weights=w, timewt=timewt)
    c = concordance_arrays(time, event, x, codes=codes, weights=w, timewt=timewt, reverse=True)
    assume(a["count"][:, :3].sum() > 0)  # no comparable pair: C is NaN (0/0), as R
    assert b["value"] == pytest.approx(1.0 - a["value"], rel=REORDER_RTOL, abs=CLOSED_ATOL)
    assert c["value"] == pytest.approx(b["value"], rel=REORDER_RTOL, abs=CLOSED_ATOL)
    np.testing.assert_allclose(c["count"], b["count"], rtol=REORDER_RTOL, atol=CLOSED_ATOL)
    assert b["variance"] == pytest.approx(a["variance"], rel=1e-9, abs=CLOSED_ATOL)


# ---- bad input ------------------------------------------------------------------------------
def test_bad_input(lung):
    with pytest.raises(ColumnError, match="predictor"):
        riskset.concordance(lung, time="time", event="event", predictor="ecog")
    bad = lung.with_columns(pl.when(pl.int_range(pl.len()) == 4).then(None).otherwise(pl.col("age")).alias("age"))
    with pytest.raises(ColumnError) as e:
        riskset.concordance(bad, time="time", event="event", predictor="age")
    assert e.value.column == "age" and e.value.n_rows == 1 and e.value.first_row == 4
    with pytest.raises(OptionError):
        riskset.concordance(lung, time="time", event="event", predictor="age", timewt="S", entry="entry")
    with pytest.raises(OptionError):
        riskset.concordance(lung, time="time", event="event", predictor="age", timewt="x")
    with pytest.raises(OptionError, match="aborts"):  # R 3.5-3 segfaults on this one
        riskset.concordance(lung, time="time", event="event", predictor="age", strata="inst", timewt="I")


# ---- the Cox fit's concordance uses the same kernel -----------------------------------------
def test_cox_concordance_is_reversed_concordance_of_lp(lung):
    """R coxph's concordance = concordance(y ~ lp, reverse = TRUE): fixture lp_rev_n."""
    fx = load_fixture("concordance", "lp_rev_n")
    fit = riskset.cox(lung, time="time", event="event", covariates=["age", "sex", "ecog"])
    np.testing.assert_allclose(fit.linear_predictors, lung.get_column("lp").to_numpy(), rtol=1e-6)
    c = fit.concordance
    np.testing.assert_allclose(c["value"], fx["concordance"], rtol=1e-9)
    np.testing.assert_allclose(c["se"], fx["std"], rtol=1e-9)
    np.testing.assert_allclose([c["concordant"], c["discordant"], c["tied_risk"]], fx["count"][:3])
    r = riskset.concordance(lung.with_columns(pl.Series("lp2", fit.linear_predictors)), time="time",
                            event="event", predictor="lp2", reverse=True)
    # same kernel; the Cox rows come sorted, so sums may differ in the last bit
    assert r.value == pytest.approx(c["value"], rel=REORDER_RTOL)
    assert r.std == pytest.approx(c["se"], rel=REORDER_RTOL)


# ---- predict.coxph on newdata -----------------------------------------------------------------
@pytest.fixture(scope="module")
def newdata() -> pl.DataFrame:
    return pl.read_csv(REFERENCE / "data" / "conc_lung_new.csv", schema_overrides={"ecog": pl.String})


@pytest.mark.parametrize("case", ["predict_lung", "predict_lung_strata"])
@pytest.mark.parametrize("kind", ["lp", "risk", "expected", "survival"])
def test_predict_newdata_matches_r(lung, newdata, case, kind):
    fx = load_fixture("concordance", case)
    fit = riskset.cox(lung, time="time", event="event", covariates=["age", "sex", "ecog"],
                      strata="site" if "strata" in case else None)
    np.testing.assert_allclose(fit.coef, fx["coef"], rtol=1e-6)
    p = fit.predict_newdata(newdata, kind)
    # the coefficients are iterative (1e-6); predictions inherit that tolerance
    np.testing.assert_allclose(p["fit"].to_numpy(), fx["predict"][kind]["fit"], rtol=1e-6, err_msg=kind)
    np.testing.assert_allclose(p["se_fit"].to_numpy(), fx["predict"][kind]["se_fit"], rtol=1e-6, err_msg=kind)


def test_predict_newdata_bad_input(lung, newdata):
    fit = riskset.cox(lung, time="time", event="event", covariates=["age", "sex", "ecog"])
    with pytest.raises(ColumnError, match="'age'.*not in newdata"):
        fit.predict_newdata(newdata.drop("age"))
    bad = newdata.with_columns(pl.Series("ecog", ["0", "1", "9", "3", "7", "0"]))
    with pytest.raises(ColumnError) as e:
        fit.predict_newdata(bad)
    assert e.value.column == "ecog" and e.value.n_rows == 2 and e.value.first_row == 2
    assert "'9' not seen in the fit" in str(e.value) and "newdata row 3" in str(e.value)
    miss = newdata.with_columns(pl.when(pl.int_range(pl.len()) == 1).then(None).otherwise(pl.col("age")).alias("age"))
    with pytest.raises(ColumnError, match="newdata row 2"):
        fit.predict_newdata(miss)
    with pytest.raises(ColumnError, match="'time'"):
        fit.predict_newdata(newdata.drop("time"), "expected")


# ---- command line ---------------------------------------------------------------------------
def _cli(*args):
    from click.testing import CliRunner

    from riskset.cli.main import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


LUNG_CSV = REFERENCE / "data" / "conc_lung.csv"
NEW_CSV = REFERENCE / "data" / "conc_lung_new.csv"


def test_cli_concordance_json_matches_r():
    fx = load_fixture("concordance", "karno_sex_w_rev")
    res = _cli("concordance", LUNG_CSV, "--time", "time", "--event", "event", "--predictor", "ph.karno",
               "--strata", "sex", "--weights", "w", "--reverse", "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    np.testing.assert_allclose(out["concordance"], fx["concordance"], rtol=CLOSED_RTOL)
    np.testing.assert_allclose(out["std"], fx["std"], rtol=CLOSED_RTOL)
    np.testing.assert_allclose([out["counts"][k] for k in NAMES], fx["count"], rtol=CLOSED_RTOL)


def test_cli_concordance_text_and_csv():
    fx = load_fixture("concordance", "age_n_G2")
    res = _cli("concordance", LUNG_CSV, "--time", "time", "--event", "event", "--predictor", "age",
               "--timewt", "n/G2")
    assert res.exit_code == 0, res.output
    assert "Concordance = 0.449849" in res.output and "timewt = 'n/G2'" in res.output
    res = _cli("concordance", LUNG_CSV, "--time", "time", "--event", "event", "--predictor", "age",
               "--timewt", "n/G2", "--format", "csv")
    row = pl.read_csv(res.output.encode()).row(0, named=True)
    np.testing.assert_allclose(row["concordance"], fx["concordance"], rtol=CLOSED_RTOL)
    np.testing.assert_allclose(row["variance"], fx["var"], rtol=CLOSED_RTOL)


def test_cli_concordance_bad_input():
    res = _cli("concordance", LUNG_CSV, "--time", "time", "--event", "event", "--predictor", "nope")
    assert res.exit_code == 2 and "nope" in res.output


def test_cli_cox_predict_matches_r(tmp_path):
    fx = load_fixture("concordance", "predict_lung_strata")
    lung = pl.read_csv(LUNG_CSV).with_columns(pl.col("ecog").cast(pl.String))
    new = pl.read_csv(NEW_CSV).with_columns(pl.col("ecog").cast(pl.String))
    data, newdata = tmp_path / "d.parquet", tmp_path / "n.parquet"
    lung.write_parquet(data)
    new.write_parquet(newdata)
    for kind in ("lp", "risk", "expected", "survival"):
        res = _cli("cox", data, "--time", "time", "--event", "event", "--covariates", "age,sex,ecog",
                   "--strata", "site", "--predict", newdata, "--type", kind, "--format", "csv")
        assert res.exit_code == 0, res.output
        out = pl.read_csv(res.output.encode())
        assert out.columns == [*new.columns, kind, "se_fit"]
        np.testing.assert_allclose(out[kind].to_numpy(), fx["predict"][kind]["fit"], rtol=1e-6)
        np.testing.assert_allclose(out["se_fit"].to_numpy(), fx["predict"][kind]["se_fit"], rtol=1e-6)


def test_cli_cox_predict_bad_newdata(tmp_path):
    lung = pl.read_csv(LUNG_CSV).with_columns(pl.col("ecog").cast(pl.String))
    data = tmp_path / "d.parquet"
    lung.write_parquet(data)
    bad = tmp_path / "bad.csv"
    bad.write_text('time,age,sex,ecog\n100,50,1,"1"\n200,60,2,"5"\n')
    res = _cli("cox", data, "--time", "time", "--event", "event", "--covariates", "age,sex,ecog",
               "--predict", bad)
    assert res.exit_code == 2
    assert "'ecog'" in res.output and "level 5 not seen in the fit" in res.output and "newdata row 2" in res.output
    bad.write_text("time,age,ecog\n100,50,1\n")
    res = _cli("cox", data, "--time", "time", "--event", "event", "--covariates", "age,sex,ecog",
               "--predict", bad)
    assert res.exit_code == 2 and "'sex' (covariate) is not in newdata" in res.output


def test_agrees_with_lifelines_concordance_index():
    """The benchmark's comparison computes the same number (lifelines: larger score = longer
    survival, tied scores one half, tied event times not comparable)."""
    lifelines_utils = pytest.importorskip("lifelines.utils")
    from benchmarks.bench_concordance import make_data

    df = make_data(3000)
    r = riskset.concordance(df, time="time", event="event", predictor="x")
    ll = lifelines_utils.concordance_index(df["time"].to_numpy(), df["x"].to_numpy(), df["event"].to_numpy())
    assert r.value == pytest.approx(ll, rel=CLOSED_RTOL)


def test_dfbeta_sums_to_variance_and_display(lung):
    r = riskset.concordance(lung, time="time", event="event", predictor="age", strata="site", weights="wf")
    assert np.sum(r.dfbeta**2) == pytest.approx(r.variance, rel=REORDER_RTOL)
    assert r.dfbeta.shape == (lung.height,)
    text = repr(r)
    assert "Concordance = " in text and "site" in text and "<table" in r._repr_html_()
    d = r.to_dict()
    assert json.loads(json.dumps(d))["counts"]["concordant"] == r.counts["concordant"]
    none = riskset.concordance(lung.head(3).with_columns(pl.lit(0).alias("event")), time="time",
                               event="event", predictor="age")
    assert math.isnan(none.value) and none.to_dict()["concordance"] is None  # no pairs: 0/0, as R's NaN
