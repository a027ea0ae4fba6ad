"""Log-rank tests against R ``survdiff`` fixtures (tests/reference/fixtures/logrank).

Validated against R (survival 3.5.3): every fixture's ``obs``, ``exp``, ``var`` matrix,
``chisq``, ``df`` and ``pvalue`` (``rho`` 0 and 1; stratified cases also per-stratum
``obs``/``exp``), at ``CLOSED_RTOL``. Each fixture records the exact R call; see
tests/reference/README.md.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import riskset._logrank as rl
from tests.conftest import assert_close, fixture_names, load_fixture, r_array, read_data

CASES = fixture_names("logrank")


def _fit(fx: dict):
    roles = fx["roles"]
    return rl.logrank(
        read_data(fx["data"]),
        time=roles["time"],
        event=roles["event"],
        group=roles["group"],
        strata=roles["strata"] or None,
        weights=roles["weights"],
        rho=fx["rho"],
    )


def _order(res: rl.LogRankResult, fx: dict) -> np.ndarray:
    """Position of each fixture group in our table (match by value, not position)."""
    labels = [
        tuple(str(v) for v in row)
        for row in res.table.select(list(res.group)).cast(pl.String).iter_rows()
    ]
    want = [tuple(str(g[c]) for c in res.group) for g in fx["groups"]]
    return np.array([labels.index(w) for w in want], dtype=np.int64)


@pytest.fixture(params=CASES)
def case(request):
    fx = load_fixture("logrank", request.param)
    return fx, _fit(fx)


def test_counts_obs_exp(case):
    """R ``$n``, ``$obs``, ``$exp`` (summed over strata)."""
    fx, res = case
    idx = _order(res, fx)
    t = res.table
    assert t.height == len(fx["groups"])
    assert_close(t["n"].to_numpy()[idx], fx["n"], f"{fx['case']} n")
    assert_close(t["observed"].to_numpy()[idx], fx["obs"], f"{fx['case']} obs")
    assert_close(t["expected"].to_numpy()[idx], fx["exp"], f"{fx['case']} exp")
    assert_close(
        t["observed_minus_expected"].to_numpy()[idx],
        r_array(fx["obs"]) - r_array(fx["exp"]),
        f"{fx['case']} o-e",
    )


def test_variance_matrix(case):
    """R ``$var`` (full matrix) and its diagonal in ``table.variance``."""
    fx, res = case
    idx = _order(res, fx)
    v = np.asarray(fx["var"], dtype=np.float64)
    ours = res.variance_matrix[np.ix_(idx, idx)]
    assert_close(ours.ravel(), v.ravel(), f"{fx['case']} var")
    assert_close(res.table["variance"].to_numpy()[idx], np.diag(v).copy(), f"{fx['case']} var diag")


def test_chisq_df_pvalue(case):
    """R ``$chisq``, print.survdiff's df and ``pchisq(chisq, df, lower.tail = FALSE)``."""
    fx, res = case
    assert res.df == fx["df"]
    assert_close(res.statistic, fx["chisq"], f"{fx['case']} chisq")
    assert_close(res.p_value, fx["pvalue"], f"{fx['case']} pvalue")
    expected_name = "logrank" if fx["rho"] == 0 else "fleming-harrington"
    assert res.weighting == expected_name


@pytest.mark.parametrize(
    "name", [c for c in CASES if load_fixture("logrank", c)["roles"]["strata"]]
)
def test_by_strata(name):
    """R ``$obs``/``$exp`` matrices (groups x strata) for stratified calls."""
    fx = load_fixture("logrank", name)
    res = _fit(fx)
    idx = _order(res, fx)
    skeys = [
        ", ".join(row) for row in res.strata_keys.cast(pl.String).iter_rows()
    ]
    sidx = np.array([skeys.index(s) for s in fx["strata_levels"]], dtype=np.int64)
    obs = res.observed_by_strata[np.ix_(idx, sidx)]
    exp_ = res.expected_by_strata[np.ix_(idx, sidx)]
    assert_close(obs.ravel(), np.asarray(fx["obs_by_strata"], dtype=np.float64).ravel(), "obs_by_strata")
    assert_close(exp_.ravel(), np.asarray(fx["exp_by_strata"], dtype=np.float64).ravel(), "exp_by_strata")


@pytest.mark.parametrize("name", [c for c in CASES if c.endswith("_rho1")])
def test_peto_is_rho_one(name):
    """weighting="peto" is R's ``rho = 1`` (validated against the R fixture)."""
    fx = load_fixture("logrank", name)
    roles = fx["roles"]
    res = rl.logrank(
        read_data(fx["data"]), time=roles["time"], event=roles["event"], group=roles["group"],
        strata=roles["strata"] or None, weighting="peto",
    )
    assert res.weighting == "peto"
    assert_close(res.statistic, fx["chisq"], f"{name} chisq (peto)")


def test_to_dict_roundtrip():
    """to_dict is JSON-ready (not an R comparison)."""
    import json

    fx = load_fixture("logrank", "veteran_celltype_rho0")
    d = _fit(fx).to_dict()
    json.dumps(d)
    assert d["df"] == fx["df"]
    assert len(d["table"]) == len(fx["groups"])


def test_group_with_zero_expected():
    """A group censored before the first event has E = 0 and is dropped from df/chisq.

    Values from R 4.2.2 / survival 3.5.3::

        d <- data.frame(time = c(1, 2, 3, 4, 5, 6, 7, 8, 0.5, 0.6),
                        event = c(1, 1, 0, 1, 1, 0, 1, 1, 0, 0),
                        g = c(rep(c("a", "b"), 4), "c", "c"))
        survdiff(Surv(time, event) ~ g, data = d)
    """
    d = pl.DataFrame(
        {
            "time": [1.0, 2, 3, 4, 5, 6, 7, 8, 0.5, 0.6],
            "event": [1, 1, 0, 1, 1, 0, 1, 1, 0, 0],
            "g": list("abababab") + ["c", "c"],
        }
    )
    res = rl.logrank(d, time="time", event="event", group="g")
    assert res.df == 1
    assert_close(res.statistic, 0.36506362584696778, "chisq")
    assert_close(res.table["expected"], [2.3285714285714283, 3.6714285714285717, 0.0], "exp")
    v = 1.2348979591836735
    assert_close(res.variance_matrix.ravel(), np.array([v, -v, 0, -v, v, 0, 0, 0, 0]), "var")
