"""Bootstrap: fast path == naive resample-and-refit, determinism, intervals, bad input."""

from __future__ import annotations

import warnings

import numba
import numpy as np
import polars as pl
import pytest

import riskset
from riskset._bootstrap import UndefinedReplicatesWarning, _layout, resampled_rows
from riskset.errors import ColumnError, OptionError, RisksetError, RisksetWarning
from riskset.io.validate import validate_survival
from tests.tolerances import CLOSED_RTOL


def _data(seed=0, n=400):
    rng = np.random.default_rng(seed)
    return pl.DataFrame({
        "t": np.ceil(rng.exponential(12, n)),
        "e": (rng.random(n) < 0.7).astype(np.int8),
        "g": rng.integers(0, 2, n),
        "centre": rng.integers(0, 5, n),
        "pid": rng.integers(0, 150, n),
        "w": rng.integers(1, 3, n).astype(float),
    })


def _naive(stat, frame, *, group, at, tau, p):
    """The statistic by the public API on an explicitly resampled frame."""
    fit = riskset.kaplan_meier(frame, time="t", event="e", by=group)
    if stat.startswith("median"):
        vals = fit.summary["median"].to_numpy()
    elif stat.startswith("quantile"):
        vals = fit.quantile(p)["time"].to_numpy()
    elif stat.startswith("survival"):
        vals = fit.at([at], extend=True)["survival"].to_numpy()
    else:
        vals = fit.rmst(tau)["rmst"].to_numpy()
    vals = np.asarray([np.nan if v is None else v for v in vals], dtype=float)
    if stat.endswith("difference"):
        return np.array([vals[1] - vals[0]])
    if stat.endswith("ratio"):
        return np.array([vals[1] / vals[0]])
    return vals


@pytest.mark.parametrize(
    "stat",
    ["median", "quantile", "survival", "rmst", "median_difference", "survival_ratio",
     "rmst_difference", "quantile_difference"],
)
@pytest.mark.parametrize("design", ["rows", "strata", "cluster"])
def test_fast_path_equals_resample_and_refit(stat, design):
    d = _data(1)
    kw = {"strata": "centre"} if design == "strata" else {"cluster": "pid"} if design == "cluster" else {}
    group = "g"
    params = {"at": 10.0, "tau": 15.0, "p": 0.25}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedReplicatesWarning)
        res = riskset.bootstrap(d, statistic=stat, time="t", event="e", group=group, n_resamples=120,
                                seed=7, return_replicates=True, **params, **kw)
    # regenerate the same resamples and refit with the public API
    cols = validate_survival(d, time="t", event="e", by=[group])
    lay = _layout(d, cols, group, ["centre"] if design == "strata" else [],
                  "pid" if design == "cluster" else None)
    seeds = np.random.SeedSequence(7).generate_state(120, dtype=np.uint64)
    for b in (0, 1, 17, 119):
        rows = resampled_rows(lay.unit_rows, lay.unit_offsets, seeds[b])
        expected = _naive(stat, d[rows], group=group, **params)
        np.testing.assert_allclose(res.replicates[b], expected, rtol=CLOSED_RTOL, equal_nan=True,
                                   err_msg=f"{stat} {design} replicate {b}")
    # and the point estimate is the statistic of the data as given
    np.testing.assert_allclose(res.table["estimate"].to_numpy(), _naive(stat, d, group=group, **params),
                               rtol=CLOSED_RTOL)


def test_resample_sizes_respect_strata_and_clusters():
    d = _data(2)
    cols = validate_survival(d, time="t", event="e")
    lay = _layout(d, cols, None, ["centre"], None)
    rows = resampled_rows(lay.unit_rows, lay.unit_offsets, np.uint64(3))
    np.testing.assert_array_equal(np.bincount(d["centre"].to_numpy()[rows], minlength=5),
                                  np.bincount(d["centre"].to_numpy(), minlength=5))
    lay = _layout(d, cols, None, [], "pid")
    rows = resampled_rows(lay.unit_rows, lay.unit_offsets, np.uint64(3))
    pid = d["pid"].to_numpy()
    # every drawn patient contributes all of their rows, a whole number of times
    for p_ in np.unique(pid[rows]):
        assert (pid[rows] == p_).sum() % (pid == p_).sum() == 0


def test_same_seed_same_result_at_any_thread_count():
    d = _data(3, n=3000)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = riskset.bootstrap(d, statistic="rmst", tau=12, time="t", event="e", group="g", seed=11,
                              n_resamples=600, return_replicates=True)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        b = riskset.bootstrap(d, statistic="rmst", tau=12, time="t", event="e", group="g", seed=11,
                              n_resamples=600, return_replicates=True)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(a.replicates, b.replicates)
    assert a.table.equals(b.table)
    c = riskset.bootstrap(d, statistic="rmst", tau=12, time="t", event="e", group="g", seed=12,
                          n_resamples=600, return_replicates=True)
    assert not np.array_equal(a.replicates, c.replicates)


def test_intervals_percentile_and_basic():
    d = _data(4, n=800)
    res = riskset.bootstrap(d, statistic="rmst", tau=20, time="t", event="e", seed=1, n_resamples=500,
                            return_replicates=True)
    reps = res.replicates[:, 0]
    lo, hi = np.percentile(reps, [2.5, 97.5])
    assert (res.lower, res.upper) == pytest.approx((lo, hi), rel=1e-14)
    basic = riskset.bootstrap(d, statistic="rmst", tau=20, time="t", event="e", seed=1, n_resamples=500,
                              method="basic")
    assert (basic.lower, basic.upper) == pytest.approx((2 * res.estimate - hi, 2 * res.estimate - lo))
    assert res.table["std_err"][0] == pytest.approx(np.std(reps, ddof=1))


def test_bca_matches_scipy_implementation():
    """BCa limits against SciPy's own BCa code given the same replicates (tie-free data)."""
    resampling = pytest.importorskip("scipy.stats._resampling")
    if not hasattr(resampling, "_bca_interval"):
        pytest.skip("scipy's private _bca_interval is not available in this version")
    rng = np.random.default_rng(5)
    x = rng.lognormal(size=60)
    d = pl.DataFrame({"x": x, "t": np.arange(60.0) + 1, "e": np.ones(60, dtype=int)})

    def mean_x(frame: pl.DataFrame) -> float:
        return float(frame["x"].mean())

    res = riskset.bootstrap(d, statistic=mean_x, time="t", event="e", method="bca", seed=3,
                            n_resamples=999, return_replicates=True)
    reps = res.replicates[:, 0]
    alpha_lo, alpha_hi = resampling._bca_interval(
        (x,), lambda a, axis=-1: np.mean(a, axis=axis), -1, 0.05 / 2, reps, None, np
    )[:2]
    expected = np.percentile(reps, [100 * float(np.squeeze(alpha_lo)), 100 * float(np.squeeze(alpha_hi))])
    assert (res.lower, res.upper) == pytest.approx(tuple(expected), rel=1e-12)


def test_undefined_replicates_are_counted_and_warned():
    # 31 early events among 60, then only censorings: S ends at 29/60, just below 0.5, so
    # the median is defined on the data but not reached in many replicates
    d = pl.DataFrame({"t": np.arange(1.0, 61.0), "e": (np.arange(60) < 31).astype(int)})
    with pytest.warns(UndefinedReplicatesWarning, match="undefined in"):
        res = riskset.bootstrap(d, statistic="median", time="t", event="e", seed=1, n_resamples=300)
    assert res.n_undefined > 0
    assert res.table["n_defined"][0] + res.n_undefined == 300


def test_bad_input():
    d = _data(6)
    with pytest.raises(OptionError, match="median_difference"):
        riskset.bootstrap(d, statistic="mean", time="t", event="e")
    with pytest.raises(OptionError, match="needs at="):
        riskset.bootstrap(d, statistic="survival", time="t", event="e")
    with pytest.raises(RisksetError, match="two groups"):
        riskset.bootstrap(d, statistic="median_difference", time="t", event="e", group="centre")
    with pytest.warns(RisksetWarning, match="small"):
        riskset.bootstrap(d, statistic="rmst", tau=5, time="t", event="e", n_resamples=50, seed=1)
    holed = d.with_columns(centre=pl.when(pl.col("t") > 5).then(pl.col("centre")))
    with pytest.raises(ColumnError, match="missing"):
        riskset.bootstrap(holed, statistic="rmst", tau=5, time="t", event="e", strata="centre",
                          drop_missing=False)
    n_holes = int(holed["centre"].null_count())
    with pytest.warns(RisksetWarning, match=f"excluded {n_holes} of {d.height} rows .* 'centre'"):
        riskset.bootstrap(holed, statistic="rmst", tau=5, time="t", event="e", strata="centre",
                          n_resamples=200, seed=1)
    with pytest.raises(OptionError):
        riskset.bootstrap(d, statistic="rmst", tau=5, time="t", event="e", method="studentized")


def test_several_statistics_share_the_resamples():
    d = _data(8, n=600)
    both = riskset.bootstrap(d, statistic=["median", "survival_difference"], at=10, time="t", event="e",
                             group="g", seed=5, n_resamples=300, return_replicates=True)
    med = riskset.bootstrap(d, statistic="median", time="t", event="e", group="g", seed=5,
                            n_resamples=300, return_replicates=True)
    sd = riskset.bootstrap(d, statistic="survival_difference", at=10, time="t", event="e", group="g",
                           seed=5, n_resamples=300, return_replicates=True)
    np.testing.assert_array_equal(both.replicates, np.hstack([med.replicates, sd.replicates]))
    assert both.table["statistic"].to_list() == ["median", "median", "survival_difference"]
    assert both.table["contrast"].to_list() == [None, None, sd.table["contrast"][0]]
    assert both.table.drop("statistic", "g", "contrast").equals(
        pl.concat([med.table.drop("statistic", "g"), sd.table.drop("statistic", "contrast")]))


@pytest.mark.filterwarnings("ignore:n_resamples")
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("cluster", [None, "centre"])
def test_cox_replicates_equal_refit(ties, cluster):
    """Heavily tied data (24 distinct times): the frequency-weighted Efron term must equal
    refitting on the resampled (repeated) rows."""
    from tests.tolerances import ITERATIVE_RTOL

    d = pl.read_csv("tests/reference/data/cox_ties.csv")
    covs = ["age", "x", "arm"]
    res = riskset.bootstrap(d, statistic="cox_coef", time="time", event="event", covariates=covs,
                            ties=ties, cluster=cluster, n_resamples=40, seed=3, return_replicates=True)
    fit = riskset.cox(d, time="time", event="event", covariates=covs, ties=ties)
    assert res.table["term"].to_list() == fit.terms
    frame = d.select(cluster) if cluster else pl.DataFrame({"_": np.zeros(d.height)})
    _, unit_rows, unit_offsets = __import__("riskset._bootstrap", fromlist=["_units"])._units(
        frame, [], cluster, fit._data.order)
    seeds = np.random.SeedSequence(3).generate_state(40, dtype=np.uint64)
    for b in (0, 7, 39):
        rows = resampled_rows(unit_rows, unit_offsets, seeds[b])
        refit = riskset.cox(d[rows], time="time", event="event", covariates=covs, ties=ties)
        np.testing.assert_allclose(res.replicates[b], refit.coef, rtol=ITERATIVE_RTOL, atol=1e-9)
    np.testing.assert_allclose(res.table["estimate"].to_numpy(), fit.coef, rtol=1e-12)


@pytest.mark.filterwarnings("ignore:n_resamples")
def test_logrank_replicates_equal_refit():
    d = pl.read_csv("tests/reference/data/veteran.csv")
    res = riskset.bootstrap(d, statistic="logrank", time="time", event="event", group="celltype",
                            n_resamples=50, seed=9, return_replicates=True)
    cols = validate_survival(d, time="time", event="event", by=["celltype"])
    order = np.lexsort((cols.event, cols.time))
    from riskset._bootstrap import _units

    _, unit_rows, unit_offsets = _units(d, [], None, order)
    seeds = np.random.SeedSequence(9).generate_state(50, dtype=np.uint64)
    for b in (0, 13, 49):
        rows = resampled_rows(unit_rows, unit_offsets, seeds[b])
        ref = riskset.logrank(d[rows], time="time", event="event", group="celltype").statistic
        assert res.replicates[b, 0] == pytest.approx(ref, rel=1e-10)
    assert res.estimate == pytest.approx(riskset.logrank(d, time="time", event="event", group="celltype").statistic,
                                         rel=1e-12)
