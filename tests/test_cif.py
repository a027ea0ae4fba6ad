"""Competing risks: cumulative_incidence against R (survfit multi-state, cmprsk cuminc),
lifelines, a naive O(n m) oracle, and properties."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskset
from riskset.errors import ColumnError, OptionError
from tests.conftest import assert_close, fixture_names, load_fixture, read_data
from tests.tolerances import CLOSED_ATOL, CLOSED_RTOL, ITERATIVE_RTOL, REORDER_RTOL

AJ_CASES = [n for n in fixture_names("competing") if n.startswith("aj_")]
CUMINC_CASES = [n for n in fixture_names("competing") if n.startswith("cuminc_")]


def _group(tab: pl.DataFrame, by: str | None, key) -> pl.DataFrame:
    return tab if by is None else tab.filter(pl.col(by) == key)


# ---- R survfit multi-state (IJ variance) ------------------------------------------------
@pytest.mark.parametrize("case", AJ_CASES)
def test_matches_r_survfit_multistate(case):
    fx = load_fixture("competing", case)
    d = read_data(fx["data"] + ".csv")
    fit = riskset.cumulative_incidence(d, time=fx["time"], event=fx["event"], by=fx["by"],
                                       entry=fx["entry"], weights=fx["weights"],
                                       conf_type=fx["conf_type"])
    assert [str(c) for c in fit.causes] == fx["states"]
    for g in fx["groups"]:
        sub = _group(fit.table, fx["by"], g["key"])
        for cause, ref in g["causes"].items():
            s = sub.filter(pl.col("cause") == int(cause))
            assert_close(s["time"], g["time"], f"{case} time")
            for col in ("cif", "std_err", "lower", "upper"):
                assert_close(s[col], ref[col], f"{case} {g['key']} cause {cause} {col}")
            if fx["weights"] is None:  # R's multi-state counts are unweighted (see docs)
                assert_close(s["n_event"], ref["n_event"], f"{case} n_event")
                assert_close(s["n_risk"], g["n_risk"], f"{case} n_risk")


# ---- cmprsk cuminc (Aalen variance) -------------------------------------------------------
@pytest.mark.parametrize("case", [c for c in CUMINC_CASES if "strata" not in c and "rho1" not in c])
def test_matches_cmprsk_cuminc(case):
    fx = load_fixture("competing", case)
    d = read_data(fx["data"] + ".csv")
    fit = riskset.cumulative_incidence(d, time=fx["time"], event=fx["event"], by=fx["group"],
                                       variance="aalen")
    for g in fx["groups"]:
        sub = _group(fit.table, fx["group"], g["key"])
        for cause, ref in g["causes"].items():
            s = sub.filter(pl.col("cause") == int(cause))
            assert_close(s["time"], g["time"], f"{case} time")
            assert_close(s["cif"], ref["cif"], f"{case} cif")
            assert_close(s["std_err"].to_numpy() ** 2, np.asarray(ref["var"], dtype=float), f"{case} var")


# ---- lifelines (delta method) -------------------------------------------------------------
def test_delta_matches_lifelines():
    lifelines = pytest.importorskip("lifelines")
    rng = np.random.default_rng(3)
    n = 300
    t = np.round(rng.exponential(10, n), 6)  # no ties: lifelines jitters tied causes
    e = rng.choice([0, 1, 2], n, p=[0.3, 0.4, 0.3])
    tab = riskset.cumulative_incidence({"t": t, "e": e}, time="t", event="e", variance="delta").table
    for k in (1, 2):
        aj = lifelines.AalenJohansenFitter(calculate_variance=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aj.fit(t, e, event_of_interest=k)
        tt = aj.cumulative_density_.index.to_numpy()
        s = tab.filter(pl.col("cause") == k)
        idx = np.searchsorted(tt, s["time"].to_numpy())
        np.testing.assert_array_equal(tt[idx], s["time"].to_numpy())
        np.testing.assert_allclose(s["cif"].to_numpy(), aj.cumulative_density_.to_numpy().ravel()[idx],
                                   rtol=CLOSED_RTOL, atol=CLOSED_ATOL)
        np.testing.assert_allclose(s["std_err"].to_numpy() ** 2, aj.variance_.to_numpy().ravel()[idx],
                                   rtol=CLOSED_RTOL, atol=CLOSED_ATOL)


# ---- naive oracle -------------------------------------------------------------------------
def aj_naive(time, cause, K, weights=None, entry=None):
    """Obvious O(n m K) Aalen–Johansen with R's IJ recursion (survfitaj.c, one cluster per
    row), cmprsk's Aalen variance (cincsub.f, literally) and the delta-method double sums."""
    n = time.size
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    ent = np.full(n, -np.inf) if entry is None else np.asarray(entry, float)
    times = np.unique(time)
    m = times.size
    S = 1.0
    F = np.zeros(K)
    U = np.zeros((n, K + 1))  # weighted influence on (S, F_1..F_K)
    out = {k: {key: np.zeros(m) for key in ("cif", "ij", "n_risk", "d")} for k in range(K)}
    s_prev_all, n_all, d_all, dk_all, s_now_all, F_all = [], [], [], [], [], []
    for j, t in enumerate(times):
        at = (ent < t) & (time >= t)
        nr = w[at].sum()
        dk = np.array([w[(time == t) & (cause == k + 1)].sum() for k in range(K)])
        d = dk.sum()
        s_prev = S
        if d > 0:
            lam = dk / nr
            h = d / nr
            u0 = U[:, 0].copy()
            U[:, 0] += u0 * (-h)
            for k in range(K):
                U[:, k + 1] += u0 * lam[k]
            for c in np.flatnonzero((time == t) & (cause > 0)):
                U[c, 0] -= w[c] * s_prev / nr
                U[c, cause[c]] += w[c] * s_prev / nr
            for c in np.flatnonzero(at):
                U[c, 0] += w[c] * s_prev * h / nr
                for k in range(K):
                    U[c, k + 1] -= w[c] * s_prev * lam[k] / nr
            F = F + s_prev * lam
            S = s_prev * (1 - h)
        for k in range(K):
            out[k]["cif"][j] = F[k]
            out[k]["ij"][j] = (U[:, k + 1] ** 2).sum()
            out[k]["n_risk"][j] = nr
            out[k]["d"][j] = dk[k]
        s_prev_all.append(s_prev)
        n_all.append(nr)
        d_all.append(d)
        dk_all.append(dk)
        s_now_all.append(S)
        F_all.append(F.copy())
    s_prev_all = np.array(s_prev_all)
    n_all = np.array(n_all)
    d_all = np.array(d_all)
    dk_all = np.array(dk_all)
    s_now_all = np.array(s_now_all)
    F_all = np.array(F_all)
    for k in range(K):
        delta = np.zeros(m)
        aalen = np.zeros(m)
        v1 = v2 = v3 = 0.0
        v = 0.0
        for j in range(m):
            Ft = F_all[j, k]
            tot = 0.0
            for i in range(j + 1):
                if d_all[i] > 0:
                    ni, di, dki, sp = n_all[i], d_all[i], dk_all[i, k], s_prev_all[i]
                    tot += (Ft - F_all[i, k]) ** 2 * di / (ni * (ni - di))
                    tot += sp ** 2 * dki * (ni - dki) / ni ** 3
                    tot -= 2 * (Ft - F_all[i, k]) * sp * dki / ni ** 2
            delta[j] = tot
            # cmprsk cinc, one time at a time
            nd1, nd2, rs, fk, fkn = dk_all[j, k], d_all[j] - dk_all[j, k], n_all[j], s_prev_all[j], s_now_all[j]
            if nd2 > 0 and fkn > 0:
                t5 = 1 - (nd2 - 1) / (rs - 1) if nd2 > 1 else 1.0
                t6 = fk * fk * t5 * nd2 / (rs * rs)
                t3, t4 = 1 / fkn, Ft / fkn
                v1 += t4 * t4 * t6
                v2 += t3 * t4 * t6
                v3 += t3 * t3 * t6
            if nd1 > 0:
                t5 = 1 - (nd1 - 1) / (rs - 1) if nd1 > 1 else 1.0
                t6 = fk * fk * t5 * nd1 / (rs * rs)
                t3 = 1 / fkn if fkn > 0 else 0.0
                t4 = 1 + t3 * Ft
                v1 += t4 * t4 * t6
                v2 += t3 * t4 * t6
                v3 += t3 * t3 * t6
                v = v1 + Ft * Ft * v3 - 2 * Ft * v2
            aalen[j] = v
        out[k]["delta"] = delta
        out[k]["aalen"] = aalen
    return times, out


def _cr_data(seed, n=150, *, entry=False, weights=None, K=3):
    rng = np.random.default_rng(seed)
    t = np.ceil(rng.exponential(6, n))  # many ties, across causes too
    d = {"time": t, "event": rng.integers(0, K + 1, n), "g": rng.integers(0, 2, n)}
    if entry:
        d["entry"] = np.maximum(np.minimum(np.floor(rng.random(n) * t * 1.6) / 2, t - 0.5), 0.0)
    if weights == "frac":
        d["w"] = rng.uniform(0.2, 3.0, n)
    elif weights == "int":
        d["w"] = rng.integers(1, 4, n).astype(float)
    return d


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("entry", [False, True])
@pytest.mark.parametrize("weights", [None, "frac"])
def test_matches_naive_oracle(seed, entry, weights):
    d = _cr_data(seed, entry=entry, weights=weights)
    kw = dict(time="time", event="event", by="g", entry="entry" if entry else None,
              weights="w" if weights else None)
    fits = {v: riskset.cumulative_incidence(d, variance=v, **kw).table for v in ("ij", "aalen", "delta")}
    for g in (0, 1):
        msk = d["g"] == g
        times, ref = aj_naive(d["time"][msk], d["event"][msk], 3, d["w"][msk] if weights else None,
                              d["entry"][msk] if entry else None)
        for k in range(3):
            for v, col in (("ij", "ij"), ("aalen", "aalen"), ("delta", "delta")):
                s = fits[v].filter((pl.col("g") == g) & (pl.col("cause") == k + 1))
                np.testing.assert_array_equal(s["time"].to_numpy(), times)
                np.testing.assert_allclose(s["cif"].to_numpy(), ref[k]["cif"], rtol=CLOSED_RTOL, atol=CLOSED_ATOL)
                np.testing.assert_allclose(s["n_risk"].to_numpy(), ref[k]["n_risk"], rtol=CLOSED_RTOL)
                np.testing.assert_allclose(s["n_event"].to_numpy(), ref[k]["d"], rtol=CLOSED_RTOL)
                se2 = s["std_err"].fill_null(np.nan).to_numpy() ** 2
                np.testing.assert_allclose(se2, ref[k][col], rtol=CLOSED_RTOL, atol=CLOSED_ATOL,
                                           err_msg=f"{v} g={g} cause={k + 1}")


# ---- properties -----------------------------------------------------------------------------
cr_rows = st.lists(
    st.tuples(st.integers(1, 12), st.integers(0, 3), st.integers(0, 1), st.integers(1, 3)),
    min_size=2, max_size=40,
)


def _frame(rows):
    t, e, g, w = (np.array(x) for x in zip(*rows, strict=True))
    return {"time": t.astype(float), "event": e, "g": g, "w": w.astype(float)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cr_rows)
def test_incidences_plus_survival_sum_to_one(rows):
    d = _frame(rows)
    if not (d["event"] > 0).any():
        return
    fit = riskset.cumulative_incidence(d, time="time", event="event", by="g")
    km = riskset.kaplan_meier({"time": d["time"], "event": (d["event"] > 0).astype(int), "g": d["g"]},
                              time="time", event="event", by="g").table
    total = fit.table.group_by(["g", "time"]).agg(pl.col("cif").sum()).sort(["g", "time"])
    joined = km.join(total, on=["g", "time"], how="left")
    np.testing.assert_allclose(joined["survival"].to_numpy() + joined["cif"].to_numpy(), 1.0,
                               rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(cr_rows)
def test_one_cause_is_one_minus_km(rows):
    d = _frame(rows)
    d["event"] = (d["event"] > 0).astype(int)
    if not d["event"].any():
        return
    fit = riskset.cumulative_incidence(d, time="time", event="event", by="g")
    km = riskset.kaplan_meier(d, time="time", event="event", by="g").table
    np.testing.assert_allclose(fit.table["cif"].to_numpy(), 1 - km["survival"].to_numpy(), rtol=0, atol=1e-12)
    # and the IJ standard error is the KM's IJ (robust) standard error
    kmr = riskset.kaplan_meier(d, time="time", event="event", by="g", weights="w", robust=True).table
    fw = riskset.cumulative_incidence(d, time="time", event="event", by="g", weights="w").table
    # compared as variances: a variance that is 0 up to rounding (1e-18) has a 1e-9 root
    np.testing.assert_allclose(fw["std_err"].to_numpy() ** 2, kmr["std_err"].fill_null(0).to_numpy() ** 2,
                               rtol=1e-9, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(cr_rows, st.randoms(use_true_random=False))
def test_permutation_invariance(rows, rnd):
    d = _frame(rows)
    if not (d["event"] > 0).any():
        return
    perm = list(range(len(rows)))
    rnd.shuffle(perm)
    dp = {k: v[perm] for k, v in d.items()}
    for v in ("ij", "aalen", "delta"):
        a = riskset.cumulative_incidence(d, time="time", event="event", by="g", weights="w", variance=v).table
        b = riskset.cumulative_incidence(dp, time="time", event="event", by="g", weights="w", variance=v).table
        for col in ("cif", "std_err", "n_risk"):
            np.testing.assert_allclose(a[col].fill_null(np.nan).to_numpy(), b[col].fill_null(np.nan).to_numpy(),
                                       rtol=REORDER_RTOL, atol=1e-14, equal_nan=True)


@pytest.mark.parametrize("variance", ["ij", "aalen", "delta"])
def test_integer_weights_equal_replicated_rows(variance):
    d = _cr_data(7, weights="int", entry=True)
    rep = np.repeat(np.arange(d["time"].size), d["w"].astype(int))
    dr = {k: v[rep] for k, v in d.items() if k != "w"}
    kw = dict(time="time", event="event", by="g", entry="entry", variance=variance)
    a = riskset.cumulative_incidence(d, weights="w", **kw).table
    b = riskset.cumulative_incidence(dr, **kw).table
    if variance == "ij":
        # the IJ treats a weighted row as one cluster and its replicates as several: equal
        # only after the per-cluster scaling, so compare the estimate alone
        cols = ("cif", "n_risk", "n_event")
    else:
        cols = ("cif", "n_risk", "n_event", "std_err")
    for col in cols:
        np.testing.assert_allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=REORDER_RTOL, atol=1e-14)


def test_ties_of_different_causes_are_exact():
    # two causes tied at t=2: both use S(2-) and n(2); no jitter
    fit = riskset.cumulative_incidence({"t": [1, 2, 2, 3], "e": [0, 1, 2, 1]}, time="t", event="e")
    tab = fit.table
    assert tab.filter(cause=1)["cif"].to_list() == pytest.approx([0.0, 1 / 3, 2 / 3], rel=1e-15)
    assert tab.filter(cause=2)["cif"].to_list() == pytest.approx([0.0, 1 / 3, 1 / 3], rel=1e-15)
    assert tab.filter(cause=1)["n_risk"].to_list() == [4.0, 3.0, 1.0]


# ---- labels, landmarks, quantiles ------------------------------------------------------------
def test_string_labels_with_declared_censoring():
    d = {"t": [1, 2, 3, 4, 5], "e": ["death", "relapse", "cens", "death", "cens"]}
    fit = riskset.cumulative_incidence(d, time="t", event="e", censored="cens")
    assert fit.causes == ["death", "relapse"]
    ints = riskset.cumulative_incidence({"t": d["t"], "e": [1, 2, 0, 1, 0]}, time="t", event="e")
    np.testing.assert_array_equal(fit.table["cif"].to_numpy(), ints.table["cif"].to_numpy())
    assert fit.table["cause"].dtype == pl.String


def test_at_and_quantile():
    fx = load_fixture("competing", "aj_mgus2_sex")
    d = read_data("cr_mgus2.csv")
    fit = riskset.cumulative_incidence(d, time="etime", event="event", by="sex")
    at = fit.at([0.5, 120, 10_000])
    g = fx["groups"][0]
    t = np.asarray(g["time"], float)
    j = np.searchsorted(t, 120, side="right") - 1
    row = at.filter((pl.col("sex") == g["key"]) & (pl.col("cause") == 1) & (pl.col("time") == 120))
    assert row["cif"][0] == pytest.approx(g["causes"]["1"]["cif"][j], rel=CLOSED_RTOL)
    assert row["std_err"][0] == pytest.approx(g["causes"]["1"]["std_err"][j], rel=CLOSED_RTOL)
    early = at.filter((pl.col("time") == 0.5) & (pl.col("cause") == 1))
    assert early["cif"].to_list() == [0.0, 0.0]
    q = fit.quantile([0.05, 0.99])
    r = q.filter((pl.col("sex") == g["key"]) & (pl.col("cause") == 2) & (pl.col("p") == 0.05))
    cif2 = np.asarray(g["causes"]["2"]["cif"], float)
    assert r["time"][0] == t[np.flatnonzero(cif2 >= 0.05)[0]]
    assert q.filter(pl.col("p") == 0.99)["time"].null_count() == 4  # never reached


# ---- bad input -------------------------------------------------------------------------------
def test_labels_without_declared_censoring():
    with pytest.raises(ColumnError, match=r"'e' \(event\) holds labels 'cens', 'death'.*censored="):
        riskset.cumulative_incidence({"t": [1, 2], "e": ["death", "cens"]}, time="t", event="e")


def test_non_integer_codes():
    with pytest.raises(ColumnError, match=r"'e' \(event\) has non-integer codes: 1.5 \(1 row; first at row 2\)"):
        riskset.cumulative_incidence({"t": [1, 2], "e": [1.0, 1.5]}, time="t", event="e")


def test_integer_codes_with_label_censoring():
    with pytest.raises(ColumnError, match=r"holds integer codes but the censoring value is 'cens'"):
        riskset.cumulative_incidence({"t": [1, 2], "e": [1, 0]}, time="t", event="e", censored="cens")


def test_no_events_and_missing_event():
    with pytest.raises(ColumnError, match="no events"):
        riskset.cumulative_incidence({"t": [1, 2], "e": [0, 0]}, time="t", event="e")
    with pytest.raises(ColumnError, match=r"missing values.*first at row 2"):
        riskset.cumulative_incidence({"t": [1, 2], "e": [1, None]}, time="t", event="e")


def test_bad_options_and_time():
    d = {"t": [1, 2], "e": [1, 2]}
    with pytest.raises(OptionError, match="variance"):
        riskset.cumulative_incidence(d, time="t", event="e", variance="greenwood")
    with pytest.raises(ColumnError, match="negative"):
        riskset.cumulative_incidence({"t": [1, -2], "e": [1, 2]}, time="t", event="e")


# ---- Gray's test ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", [c for c in CUMINC_CASES if not c.endswith("_all")])
def test_gray_matches_cmprsk(case):
    fx = load_fixture("competing", case)
    d = read_data(fx["data"] + ".csv")
    res = riskset.gray_test(d, time=fx["time"], event=fx["event"], group=fx["group"],
                            strata=fx["strata"], rho=fx["rho"])
    ref = fx["tests"]
    assert res.table["cause"].to_list() == ref["cause"]
    assert_close(res.table["statistic"], ref["statistic"], f"{case} statistic")
    assert_close(res.table["p_value"], ref["p_value"], f"{case} p_value")
    assert_close(res.table["df"], ref["df"], f"{case} df")


def test_gray_invariant_to_row_order_and_group_labels():
    d = read_data("cr_synth.csv")
    a = riskset.gray_test(d, time="time", event="event", group="grp").table
    perm = np.random.default_rng(4).permutation(d.height)
    swapped = d[perm].with_columns(grp=pl.when(pl.col("grp") == "a").then(pl.lit("z")).otherwise(pl.col("grp")))
    b = riskset.gray_test(swapped, time="time", event="event", group="grp").table
    np.testing.assert_allclose(a["statistic"].to_numpy(), b["statistic"].to_numpy(), rtol=REORDER_RTOL)


def test_gray_bad_input():
    d = {"t": [1, 2, 3], "e": [1, 2, 0], "g": ["a", "a", "a"]}
    with pytest.raises(ColumnError, match=r"'g' \(group\) has 1 level"):
        riskset.gray_test(d, time="t", event="e", group="g")
    with pytest.raises(ColumnError, match=r"'e' \(event\) holds labels"):
        riskset.gray_test({"t": [1, 2], "e": ["x", "y"], "g": [1, 2]}, time="t", event="e", group="g")


# ---- Fine–Gray --------------------------------------------------------------------------------
FG_CASES = [n for n in fixture_names("competing") if n.startswith("fg_")]


@pytest.mark.parametrize("case", FG_CASES)
def test_finegray_expansion_matches_r(case):
    from riskset._cif import parse_causes
    from riskset.engine.finegray import finegray_expand

    fx = load_fixture("competing", case)
    d = read_data(fx["data"] + ".csv")
    code, causes = parse_causes(d[fx["event"]], 0)
    row, start, stop, status, wt = finegray_expand(d[fx["time"]].to_numpy().astype(float), code,
                                                   causes.index(fx["cause"]) + 1)
    assert row.size == fx["n_expanded"]
    np.testing.assert_array_equal(d["id"].to_numpy()[row], fx["fgid"])
    np.testing.assert_array_equal(start, fx["fgstart"])
    np.testing.assert_array_equal(stop, fx["fgstop"])
    np.testing.assert_array_equal(status, fx["fgstatus"])
    np.testing.assert_allclose(wt, fx["fgwt"], rtol=CLOSED_RTOL)


@pytest.mark.parametrize("case", FG_CASES)
def test_fine_gray_matches_r_coxph(case):
    fx = load_fixture("competing", case)
    d = read_data(fx["data"] + ".csv")
    kw = dict(time=fx["time"], event=fx["event"], covariates=fx["covariates"], cause=fx["cause"])
    fit = riskset.fine_gray(d, **kw)
    np.testing.assert_allclose(fit.cox.coef, fx["coef"], rtol=ITERATIVE_RTOL)
    np.testing.assert_allclose(fit.variance_matrix, fx["robust_var"], rtol=ITERATIVE_RTOL)
    np.testing.assert_allclose(fit.coefficients["coef"].to_numpy(), fx["coef"], rtol=ITERATIVE_RTOL)
    naive = riskset.fine_gray(d, variance="naive", **kw)
    np.testing.assert_allclose(naive.variance_matrix, fx["naive_var"], rtol=ITERATIVE_RTOL)


def test_fine_gray_one_cause_is_cox():
    # no competing event: the expanded data is the data itself, and the fit is the Cox fit
    d = read_data("cr_synth.csv").with_columns(e=(pl.col("event") > 0).cast(pl.Int64))
    fg = riskset.fine_gray(d, time="time", event="e", covariates=["x1"], cause=1)
    cx = riskset.cox(d, time="time", event="e", covariates=["x1"], cluster="id")
    assert fg.expanded.height == d.height
    np.testing.assert_allclose(fg.cox.coef, cx.coef, rtol=1e-12)
    np.testing.assert_allclose(fg.variance_matrix, cx.variance_matrix, rtol=1e-10)


def test_fine_gray_bad_cause():
    d = read_data("cr_mgus2.csv")
    with pytest.raises(ColumnError, match=r"'event' \(event\): cause=3 is not among the causes; causes found: 1, 2"):
        riskset.fine_gray(d, time="etime", event="event", covariates=["age"], cause=3)
    with pytest.raises(ColumnError, match=r"cause=0 is the censoring value"):
        riskset.fine_gray(d, time="etime", event="event", covariates=["age"], cause=0)
