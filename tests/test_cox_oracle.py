"""Cox kernels against slow, obviously correct oracles, plus input-handling behaviour.

The oracle evaluates the partial log-likelihood, score and information from definitions:
one distinct event time at a time, risk sets and tied events as boolean masks.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

import riskset._cox as rc
from riskset.engine import cox as ce
from riskset.engine import cox_diag as cd
from riskset.engine import cox_merge as cm
from riskset.errors import ColumnError, OptionError, RisksetError, RisksetWarning
from tests.tolerances import CLOSED_RTOL, ITERATIVE_RTOL, REORDER_RTOL


# --------------------------------------------------------------------------------------
# oracles
# --------------------------------------------------------------------------------------
def naive_cox(X, time, status, beta, *, w=None, off=None, strata=None, entry=None, efron=True):
    """(loglik, U, I) of the Cox partial likelihood, Efron or Breslow, from definitions."""
    n, p = X.shape
    w = np.ones(n) if w is None else w
    off = np.zeros(n) if off is None else off
    strata = np.zeros(n, dtype=int) if strata is None else strata
    entry = np.full(n, -np.inf) if entry is None else entry
    eta = X @ beta + off
    r = w * np.exp(eta)
    ll, U, info = 0.0, np.zeros(p), np.zeros((p, p))
    for s in np.unique(strata):
        for t in np.unique(time[(strata == s) & (status == 1)]):
            risk = (strata == s) & (entry < t) & (time >= t)
            dead = (strata == s) & (time == t) & (status == 1)
            S0, S1, S2 = r[risk].sum(), r[risk] @ X[risk], (X[risk] * r[risk, None]).T @ X[risk]
            D0, D1, D2 = r[dead].sum(), r[dead] @ X[dead], (X[dead] * r[dead, None]).T @ X[dead]
            nd, wd = int(dead.sum()), w[dead].sum()
            ll += w[dead] @ eta[dead]
            U += w[dead] @ X[dead]
            terms = [(k / nd, wd / nd) for k in range(nd)] if efron else [(0.0, wd)]
            for f, wt in terms:
                s0, s1, s2 = S0 - f * D0, S1 - f * D1, S2 - f * D2
                ll -= wt * np.log(s0)
                U -= wt * s1 / s0
                info += wt * (s2 / s0 - np.outer(s1, s1) / s0**2)
    return ll, U, info


def naive_exact(X, time, status, beta, strata=None):
    """(loglik, U, I) of the exact (discrete) partial likelihood by enumerating subsets."""
    from itertools import combinations

    n, p = X.shape
    strata = np.zeros(n, dtype=int) if strata is None else strata
    eta = X @ beta
    ll, U, info = 0.0, np.zeros(p), np.zeros((p, p))
    for s in np.unique(strata):
        for t in np.unique(time[(strata == s) & (status == 1)]):
            risk = np.flatnonzero((strata == s) & (time >= t))
            dead = (strata == s) & (time == t) & (status == 1)
            d = int(dead.sum())
            ll += eta[dead].sum()
            U += X[dead].sum(axis=0)
            wsum, xs, xxs = 0.0, np.zeros(p), np.zeros((p, p))
            for sub in combinations(risk, d):
                xsub = X[list(sub)].sum(axis=0)
                e = np.exp(eta[list(sub)].sum())
                wsum += e
                xs += e * xsub
                xxs += e * np.outer(xsub, xsub)
            ll -= np.log(wsum)
            U -= xs / wsum
            info += xxs / wsum - np.outer(xs, xs) / wsum**2
    return ll, U, info


def test_exact_pass_matches_subset_enumeration():
    rng = np.random.default_rng(2)
    n = 40
    X = rng.normal(size=(n, 2))
    t = rng.integers(1, 8, n).astype(float)  # heavy ties
    st = (rng.random(n) < 0.6).astype(np.int8)
    g = rng.integers(0, 2, n)
    prob = ce.build(X, t, st, g, 2, efron=False)
    for beta in (np.zeros(2), np.array([0.5, -0.7])):
        ll, U, info = ce.cox_pass_exact(prob.X, prob.time, prob.status, prob.off, beta, prob.bounds)
        ll0, U0, info0 = naive_exact(X, t, st, beta, g)
        np.testing.assert_allclose(ll, ll0, rtol=CLOSED_RTOL)
        np.testing.assert_allclose(U, U0, rtol=CLOSED_RTOL, atol=1e-12)
        np.testing.assert_allclose(info, info0, rtol=CLOSED_RTOL, atol=1e-12)


def naive_concordance(lp, time, status, w, strata, entry):
    """Harrell's C and its infinitesimal-jackknife se from an explicit loop over pairs."""
    n = lp.size
    conc = disc = tie = 0.0
    n_row = np.zeros(n)
    d_row = np.zeros(n)
    for i in np.flatnonzero(status == 1):
        t = time[i]
        for j in range(n):
            if j == i or strata[j] != strata[i] or not (entry[j] < t <= time[j]):
                continue
            if time[j] == t and status[j] == 1:
                continue  # tied events are not comparable
            ww = w[i] * w[j]
            if lp[i] > lp[j]:
                conc += ww
                n_row[i] += w[j]
                n_row[j] += w[i]
            elif lp[i] < lp[j]:
                disc += ww
            else:
                tie += ww
                n_row[i] += 0.5 * w[j]
                n_row[j] += 0.5 * w[i]
            d_row[i] += w[j]
            d_row[j] += w[i]
    npair = conc + disc + tie
    c = (conc + 0.5 * tie) / npair
    infl = w * (n_row - c * d_row) / npair
    return c, np.sqrt(np.sum(infl**2))


def _data(seed, n=120, *, ties=True, strata=False, weights=False, offset=False, entry=False, p=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[:, 0] = rng.integers(0, 2, n)
    t = rng.exponential(np.exp(-0.5 * X[:, 1]) * 10)
    t = np.ceil(t) if ties else t
    d = {"time": t, "status": (rng.random(n) < 0.7).astype(np.int8), "X": X}
    d["strata"] = rng.integers(0, 3, n) if strata else np.zeros(n, dtype=np.int64)
    d["w"] = rng.uniform(0.3, 2.5, n) if weights else None
    d["off"] = rng.normal(0, 0.3, n) if offset else None
    if entry:
        e = np.floor(rng.random(n) * t * 0.7)
        d["entry"] = np.minimum(e, t - 0.5)
    else:
        d["entry"] = None
    return d


VARIANTS = [
    dict(),
    dict(strata=True),
    dict(weights=True),
    dict(offset=True),
    dict(entry=True),
    dict(entry=True, strata=True, weights=True, offset=True),
    dict(ties=False),
]


@pytest.mark.parametrize("efron", [True, False])
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(v) or "plain")
def test_pass_matches_oracle(efron, variant):
    d = _data(7, **variant)
    prob = ce.build(d["X"], d["time"], d["status"], d["strata"], 3, weights=d["w"],
                    offset=d["off"], entry=d["entry"], efron=efron)
    for beta in (np.zeros(3), np.array([0.3, -0.5, 0.2]), np.array([-1.2, 0.8, 0.05])):
        ll, U, info = ce.evaluate(prob, beta)
        ll0, U0, info0 = naive_cox(d["X"], d["time"], d["status"], beta, w=d["w"], off=d["off"],
                                   strata=d["strata"], entry=d["entry"], efron=efron)
        np.testing.assert_allclose(ll, ll0, rtol=CLOSED_RTOL)
        np.testing.assert_allclose(U, U0, rtol=CLOSED_RTOL, atol=CLOSED_RTOL * np.abs(U0).max())
        np.testing.assert_allclose(info, info0, rtol=CLOSED_RTOL, atol=CLOSED_RTOL * np.abs(info0).max())


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(v) or "plain")
def test_score_residuals_sum_to_score(variant):
    """Weighted score residuals sum to U(beta) and weighted martingale residuals to
    (events - expected), at arbitrary beta: checks the per-row hazard bookkeeping."""
    d = _data(11, **variant)
    prob = ce.build(d["X"], d["time"], d["status"], d["strata"], 3, weights=d["w"],
                    offset=d["off"], entry=d["entry"], efron=True)
    beta = np.array([0.4, -0.3, 0.1])
    _, U, _ = ce.evaluate(prob, beta)
    res = cd.residuals(prob, beta)
    np.testing.assert_allclose(prob.wt @ res["score"], U, rtol=1e-9, atol=1e-9)
    # expected counts per event time sum to the (weighted) number of events
    np.testing.assert_allclose(prob.wt @ res["martingale"], 0.0, atol=1e-9)


def _frame(d):
    cols = {"time": d["time"], "status": d["status"], "g": d["strata"],
            "x0": d["X"][:, 0], "x1": d["X"][:, 1], "x2": d["X"][:, 2]}
    if d["w"] is not None:
        cols["w"] = d["w"]
    if d["off"] is not None:
        cols["off"] = d["off"]
    if d["entry"] is not None:
        cols["entry"] = d["entry"]
    return pl.DataFrame(cols)


def _fit(df, d, **kw):
    return rc.cox(df, time="time", event="status", covariates=["x0", "x1", "x2"],
                  strata="g" if d["strata"].any() else None,
                  weights="w" if d["w"] is not None else None,
                  offset="off" if d["off"] is not None else None,
                  entry="entry" if d["entry"] is not None else None, **kw)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(v) or "plain")
def test_fit_is_a_stationary_point_and_order_free(variant):
    d = _data(3, **variant)
    df = _frame(d)
    fit = _fit(df, d, robust=False)
    ll, U, info = naive_cox(d["X"], d["time"], d["status"], fit.coef, w=d["w"], off=d["off"],
                            strata=d["strata"], entry=d["entry"])
    assert fit.converged
    np.testing.assert_allclose(fit.loglik[1], ll, rtol=CLOSED_RTOL)
    assert np.all(np.abs(U) < 1e-4 * np.sqrt(np.diag(info)))
    np.testing.assert_allclose(fit.naive_variance, np.linalg.inv(info), rtol=ITERATIVE_RTOL)
    perm = np.random.default_rng(0).permutation(df.height)
    fit2 = _fit(df[perm], d, robust=False)
    np.testing.assert_allclose(fit2.coef, fit.coef, rtol=REORDER_RTOL * 1e3)
    np.testing.assert_allclose(fit2.loglik, fit.loglik, rtol=REORDER_RTOL)


@pytest.mark.parametrize("variant", [dict(), dict(strata=True, weights=True), dict(entry=True)],
                         ids=["plain", "strata-weights", "entry"])
def test_concordance_matches_pair_loop(variant):
    d = _data(5, n=80, **variant)
    fit = _fit(_frame(d), d, robust=False)
    lp = d["X"] @ fit.coef + (d["off"] if d["off"] is not None else 0.0)
    w = d["w"] if d["w"] is not None else np.ones(lp.size)
    entry = d["entry"] if d["entry"] is not None else np.full(lp.size, -np.inf)
    c, se = naive_concordance(lp, d["time"], d["status"], w, d["strata"], entry)
    np.testing.assert_allclose(fit.concordance["value"], c, rtol=CLOSED_RTOL)
    np.testing.assert_allclose(fit.concordance["se"], se, rtol=1e-9)


def test_robust_without_cluster_is_row_sandwich():
    d = _data(9)
    fit = _fit(_frame(d), d, robust=True)
    dfb = fit.residuals("dfbeta")
    np.testing.assert_allclose(fit.variance_matrix, dfb.T @ dfb, rtol=1e-12)
    tab = fit.coefficients
    np.testing.assert_allclose(tab["z"].to_numpy(), fit.coef / fit.robust_se, rtol=1e-12)


# --------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------
def _cat_frame(seed=1, n=200):
    rng = np.random.default_rng(seed)
    return pl.DataFrame({
        "time": np.ceil(rng.exponential(10, n)),
        "status": (rng.random(n) < 0.7).astype(np.int8),
        "arm": rng.choice(["A", "B", "C"], n),
        "age": rng.normal(60, 8, n),
        "flag": rng.random(n) < 0.4,
    })


def test_dummy_coding_and_reference():
    df = _cat_frame()
    fit = rc.cox(df, time="time", event="status", covariates=["age", "arm", "flag"])
    assert fit.terms == ["age", "armB", "armC", "flagTRUE"]
    fit_b = rc.cox(df, time="time", event="status", covariates=["arm"], reference={"arm": "B"})
    assert fit_b.terms == ["armA", "armC"]
    fit_a = rc.cox(df, time="time", event="status", covariates=["arm"])
    # same model, reparametrised: armA(ref B) = -armB(ref A)
    np.testing.assert_allclose(fit_b.coef[0], -fit_a.coef[0], rtol=ITERATIVE_RTOL)
    np.testing.assert_allclose(fit_b.loglik, fit_a.loglik, rtol=1e-10)
    enum = df.with_columns(pl.col("arm").cast(pl.Enum(["C", "A", "B"])))
    fit_e = rc.cox(enum, time="time", event="status", covariates=["arm"])
    assert fit_e.terms == ["armA", "armB"]
    with pytest.raises(OptionError, match="not one of its levels"):
        rc.cox(df, time="time", event="status", covariates=["arm"], reference={"arm": "Z"})


@pytest.mark.parametrize("nulls", [False, True])
def test_enum_covariate_equals_its_strings(nulls):
    """An Enum covariate (dummies from its physical codes) fits exactly as the same strings
    when its categories are the sorted levels; nulls stay missing (dropped on request)."""
    df = _cat_frame()
    if nulls:
        df = df.with_columns(arm=pl.when(pl.int_range(pl.len()) % 11 == 2).then(None).otherwise(pl.col("arm")))
    enum = df.with_columns(pl.col("arm").cast(pl.Enum(["A", "B", "C"])))
    kw = {"time": "time", "event": "status", "covariates": ["age", "arm"], "drop_missing": nulls}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RisksetWarning)
        a, b = rc.cox(df, **kw), rc.cox(enum, **kw)
    assert a.terms == b.terms == ["age", "armB", "armC"] and a.n == b.n
    np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_array_equal(a.loglik, b.loglik)


def test_bad_covariates_raise():
    df = _cat_frame()
    with pytest.raises(ColumnError, match="constant"):
        rc.cox(df.with_columns(k=pl.lit(1.0)), time="time", event="status", covariates=["age", "k"])
    with pytest.raises(ColumnError, match="entirely missing"):
        rc.cox(df.with_columns(k=pl.lit(None, dtype=pl.Float64)), time="time", event="status",
               covariates=["age", "k"])
    with pytest.raises(RisksetError, match="collinear.*'age2'"):
        rc.cox(df.with_columns(age2=2 * pl.col("age") + 1), time="time", event="status",
               covariates=["age", "age2"])
    with pytest.raises(RisksetError, match="collinear.*'armC'"):
        rc.cox(df.with_columns(ac=(pl.col("arm") == "C").cast(pl.Float64)), time="time",
               event="status", covariates=["ac", "arm"])
    enum = df.with_columns(pl.col("arm").cast(pl.Enum(["A", "B", "C", "D"])))
    with pytest.raises(ColumnError, match="levels with no rows"):
        rc.cox(enum, time="time", event="status", covariates=["arm"])
    with pytest.raises(ColumnError, match="single level"):
        rc.cox(df.with_columns(s=pl.lit("x")), time="time", event="status", covariates=["s"])
    with pytest.raises(OptionError):
        rc.cox(df, time="time", event="status", covariates=["age"], ties="discrete")


def test_missing_covariates():
    df = _cat_frame().with_columns(
        age=pl.when(pl.int_range(pl.len()) % 17 == 3).then(None).otherwise(pl.col("age")))
    with pytest.raises(ColumnError, match="missing") as exc:
        rc.cox(df, time="time", event="status", covariates=["age"], drop_missing=False)
    assert exc.value.first_row == 3
    with pytest.warns(RisksetWarning, match=r"excluded 12 of 200 rows with missing values in 'age' \(12\)"):
        fit = rc.cox(df, time="time", event="status", covariates=["age"])  # complete cases by default
    ref = rc.cox(df.drop_nulls("age"), time="time", event="status", covariates=["age"])
    np.testing.assert_allclose(fit.coef, ref.coef, rtol=1e-12)
    assert fit.n == ref.n and fit.n_excluded == 12 and ref.n_excluded == 0


def test_monotone_level_without_events_warns():
    df = _cat_frame()
    # arm C never has an event: its coefficient diverges to -inf
    df = df.with_columns(status=pl.when(pl.col("arm") == "C").then(0).otherwise(pl.col("status")))
    with pytest.warns(rc.MonotoneLikelihoodWarning, match="armC.*firth=True"):
        fit = rc.cox(df, time="time", event="status", covariates=["age", "arm"])
    tab = fit.coefficients
    assert tab.filter(pl.col("term") == "armC")["monotone"].item() is True
    assert tab.filter(pl.col("term") == "age")["monotone"].item() is False


def test_to_dict_is_json_ready():
    import json

    fit = rc.cox(_cat_frame(), time="time", event="status", covariates=["age", "arm"])
    out = json.loads(json.dumps(fit.to_dict()))
    assert [c["term"] for c in out["coefficients"]] == ["age", "armB", "armC"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert 0.0 < fit.concordance["value"] < 1.0


def test_robust_defaults_follow_r():
    df = _cat_frame().with_columns(w=pl.lit(1.5), c=pl.int_range(pl.len()) % 7)
    # non-integer weights: robust by default (R coxph)
    assert rc.cox(df, time="time", event="status", covariates=["age"], weights="w").robust
    assert not rc.cox(df, time="time", event="status", covariates=["age"]).robust
    assert rc.cox(df, time="time", event="status", covariates=["age"], cluster="c").robust
    with pytest.warns(RisksetWarning, match="cluster is ignored"):
        fit = rc.cox(df, time="time", event="status", covariates=["age"], cluster="c", robust=False)
    assert fit.robust_se is None
    with pytest.raises(OptionError, match="firth"):
        rc.cox(df, time="time", event="status", covariates=["age"], robust=True, firth=True)


@pytest.mark.parametrize("entry", [False, True])
def test_monotone_check_matches_definition(entry):
    """The one-pass check against its definition evaluated with explicit risk-set masks."""
    rng = np.random.default_rng(12)
    for trial in range(40):
        n = 30
        t = rng.integers(1, 10, n).astype(float)
        st = (rng.random(n) < 0.5).astype(np.int8)
        z = (rng.random(n) < 0.5).astype(float)
        # push towards separation: events mostly (or only) in one level
        if trial % 2:
            st[z == 0] = (rng.random(int((z == 0).sum())) < 0.05).astype(np.int8)
        if trial % 4 == 3:
            z = 1.0 - z  # the events now sit in the lower level: -inf
        en = np.minimum(np.floor(rng.random(n) * t), t - 0.5) if entry else np.full(n, -np.inf)
        X = np.column_stack([z, rng.normal(size=n)])
        prob = ce.build(X, t, st, np.zeros(n, np.int64), 1, entry=en if entry else None)
        got = rc._monotone_binary(prob, [0])[0]
        up_ok = dn_ok = True
        up_info = dn_info = False
        for i in np.flatnonzero(st == 1):
            risk = (en < t[i]) & (t >= t[i])
            nh, nl = (z[risk] == 1).sum(), (z[risk] == 0).sum()
            if z[i] == 0:
                up_ok &= nh == 0
                dn_info |= nh > 0
            else:
                dn_ok &= nl == 0
                up_info |= nl > 0
        want = 1 if (up_ok and up_info) else (-1 if (dn_ok and dn_info) else 0)
        assert got == want, trial


@pytest.mark.parametrize("efron", [True, False])
@pytest.mark.parametrize("n_strata", [1, 3])
def test_collapsed_rows_give_the_expanded_likelihood(efron, n_strata):
    """Rows merged by (stratum, time, status, covariates) with counts: the same loglik,
    score and information as the rows themselves, at any beta (engine.cox.collapse)."""
    rng = np.random.default_rng(5 + n_strata + efron)
    n = 3000
    X = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 3, n) == 1, rng.integers(0, 3, n) == 2]).astype(float)
    time = rng.integers(1, 15, n).astype(float)
    status = (rng.random(n) < 0.6).astype(np.int8)
    codes = rng.integers(0, n_strata, n)
    d = ce.build(X, time, status, codes, n_strata, efron=efron)
    merged = cm.collapse(d)
    assert merged is not None and merged.time.size < n / 4
    assert merged.freq.sum() == n and np.array_equal(merged.bounds[[0, -1]], [0, merged.time.size])
    for _ in range(3):
        beta = rng.normal(0, 0.5, X.shape[1])
        full = ce.evaluate(d, beta)
        part = cm.evaluate_collapsed(merged, beta, efron=efron)
        assert part[0] == pytest.approx(full[0], rel=REORDER_RTOL)
        np.testing.assert_allclose(part[1], full[1], rtol=1e-9, atol=1e-9 * n)
        # off-diagonal information entries are differences of risk-set sums; the 0/1 columns
        # are not centred (R's rule), so they compare at the scale of the matrix
        np.testing.assert_allclose(part[2], full[2], rtol=REORDER_RTOL,
                                   atol=REORDER_RTOL * np.abs(full[2]).max())


def test_collapse_declines_continuous_data():
    rng = np.random.default_rng(2)
    n = 500
    d = ce.build(rng.normal(size=(n, 1)), rng.exponential(size=n), np.ones(n, dtype=np.int8),
                 np.zeros(n, dtype=np.int64), 1)
    assert cm.collapse(d) is None  # more than 64 distinct covariate rows
    d = ce.build(rng.integers(0, 2, (n, 1)).astype(float), rng.exponential(size=n), np.ones(n, dtype=np.int8),
                 np.zeros(n, dtype=np.int64), 1)
    assert cm.collapse(d) is None  # distinct times: merging would not shrink the rows


def test_monotone_check_on_merged_rows_matches_all_rows(monkeypatch):
    """A level without events is flagged the same whether the check reads merged rows or all."""
    rng = np.random.default_rng(9)
    n = 2000
    x = rng.integers(0, 2, n)
    df = pl.DataFrame({"t": rng.integers(1, 10, n).astype(float), "x": x, "z": rng.integers(0, 2, n),
                       "e": np.where(x == 1, 0, (rng.random(n) < 0.7).astype(int))})
    with pytest.warns(rc.MonotoneLikelihoodWarning):
        merged = rc.cox(df, time="t", event="e", covariates=["x", "z"])
    monkeypatch.setattr(cm, "collapse", lambda d, **kw: None)
    with pytest.warns(rc.MonotoneLikelihoodWarning):
        full = rc.cox(df, time="t", event="e", covariates=["x", "z"])
    assert merged.coefficients["monotone"].to_list() == full.coefficients["monotone"].to_list() == [True, False]
