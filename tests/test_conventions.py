"""Median conventions of other tools (R is covered by the fixture tests).

* lifelines: compared live against lifelines itself (same data, same numbers).
* SAS and SPSS: hand-derived from each tool's documented rule on a 6-row example
  (docs/algorithms/km-conventions.md), since neither tool is available here.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest

import riskset
from tests.naive import spss_quantile_naive
from tests.tolerances import CLOSED_RTOL

SIX = {"t": np.arange(1.0, 7.0), "e": np.ones(6, dtype=int)}  # S = 5/6, 4/6, 1/2, 1/3, 1/6, 0


def test_r_sas_midpoint_and_first_time_rules():
    r = riskset.kaplan_meier(SIX, time="t", event="e").summary
    sas = riskset.kaplan_meier(SIX, time="t", event="e", convention="sas").summary
    ll = riskset.kaplan_meier(SIX, time="t", event="e", convention="lifelines").summary
    assert r["median"][0] == 3.5  # R: midpoint of the flat at exactly 0.5
    assert sas["median"][0] == 3.5  # SAS: (inf{S < .5} + inf{S <= .5}) / 2
    assert ll["median"][0] == 3.0  # lifelines: first time S <= 0.5


def test_spss_symmetric_ci_hand_computed():
    """Collett's rule by hand on S = 5/6, 4/6, 1/2, 1/3, 1/6, 0 at t = 1..6.

    (The former version of this test derived its numbers from the former rule, a nominal
    0.10 drop over t(S <= .45) - t(S <= .55) = 4 - 3, so it passed with that rule.)
    """
    fit = riskset.kaplan_meier(SIX, time="t", event="e", convention="spss")
    med, lo, up = fit.summary.select("median", "median_lower", "median_upper").row(0)
    # S(3) = 1/2 with Greenwood var(log S) = 1/30 + 1/20 + 1/12 = 1/6 -> se(S) = 0.5 / sqrt(6)
    se_s = 0.5 * math.sqrt(1 / 30 + 1 / 20 + 1 / 12)
    # u = largest event time with S >= .55: t = 2 (S = 4/6); l = smallest with S <= .45:
    # t = 4 (S = 1/3); f = (4/6 - 1/3) / (4 - 2) = 1/6
    se_med = se_s / ((4 / 6 - 1 / 3) / (4 - 2))
    assert se_med == pytest.approx(6 * 0.5 / math.sqrt(6), rel=1e-15)
    assert med == 3.0
    assert lo == pytest.approx(3 - 1.96 * se_med, rel=1e-12)  # z = 1.96 exactly, as SPSS
    assert up == pytest.approx(3 + 1.96 * se_med, rel=1e-12)
    assert (lo, up) == pytest.approx((3 - 0.98 * math.sqrt(6), 3 + 0.98 * math.sqrt(6)), rel=1e-12)


def test_spss_no_time_above_uses_origin():
    """First event takes S from 1 to 0.5: no event time with S >= .55, so u = 0, S(u) = 1."""
    d = {"t": np.array([1.0, 1, 2, 3]), "e": np.array([1, 1, 1, 0])}  # S = 1/2, 1/4, 1/4
    med, lo, up = riskset.kaplan_meier(d, time="t", event="e", convention="spss").summary.select(
        "median", "median_lower", "median_upper").row(0)
    se_s = 0.5 * math.sqrt(2 / (4 * 2))  # Greenwood at t = 1: d / (n (n - d)) = 2 / 8
    f = (1.0 - 0.25) / (2.0 - 0.0)  # u = 0 (S = 1), l = 2 (S = 1/4)
    assert med == 1.0
    assert lo == pytest.approx(1 - 1.96 * se_s / f, rel=1e-12)
    assert up == pytest.approx(1 + 1.96 * se_s / f, rel=1e-12)
    assert lo < 0  # not truncated at 0


def test_spss_no_time_below_gives_no_ci():
    """S reaches 0.5 but never 0.45 or below: a median without CI."""
    d = {"t": np.arange(1.0, 5.0), "e": np.array([1, 1, 0, 0])}  # S = 3/4, 1/2, 1/2, 1/2
    med, lo, up = riskset.kaplan_meier(d, time="t", event="e", convention="spss").summary.select(
        "median", "median_lower", "median_upper").row(0)
    assert med == 2.0
    assert lo is None and up is None


def _censored(seed, n=60):
    rng = np.random.default_rng(seed)
    return {"t": np.ceil(rng.exponential(10, n)), "e": (rng.random(n) < 0.75).astype(int)}


@pytest.mark.parametrize("seed", range(8))
def test_spss_quantiles_match_naive_oracle(seed):
    d = _censored(seed)
    fit = riskset.kaplan_meier(d, time="t", event="e", convention="spss")
    got = fit.quantile([0.25, 0.5, 0.75])
    for i, p in enumerate((0.25, 0.5, 0.75)):
        want = spss_quantile_naive(d["t"], d["e"], p)
        row = got.row(i, named=True)
        for k, w in zip(("time", "lower", "upper"), want, strict=True):
            if np.isnan(w):
                assert row[k] is None, (p, k)
            else:
                assert row[k] == pytest.approx(w, rel=CLOSED_RTOL), (p, k)
    med = fit.summary.row(0, named=True)
    want = spss_quantile_naive(d["t"], d["e"], 0.5)
    assert (med["median"], med["median_lower"], med["median_upper"]) == pytest.approx(
        tuple(None if np.isnan(w) else w for w in want), rel=CLOSED_RTOL)


def test_spss_z_is_1_96_at_95_and_the_normal_quantile_otherwise():
    d = _censored(3)
    f95 = riskset.kaplan_meier(d, time="t", event="e", convention="spss").summary.row(0, named=True)
    f90 = riskset.kaplan_meier(d, time="t", event="e", convention="spss", conf_level=0.9).summary.row(0, named=True)
    se = (f95["median_upper"] - f95["median"]) / 1.96
    assert f90["median_upper"] - f90["median"] == pytest.approx(1.6448536269514722 * se, rel=1e-12)
    assert f95["median"] - f95["median_lower"] == pytest.approx(f95["median_upper"] - f95["median"], rel=1e-12)


def test_spss_tdxd_example_intervals():
    """The bundled tdxd cohort (simulated after Yan et al., analysed with SPSS): intervals
    are the paper's shape, median -+ 1.96 SE, symmetric, from Collett's rule (the naive
    oracle). The paper's own intervals (e.g. HER2-low PFS 9.0, 4.73-13.27) come from the
    real patients, which the simulated cohort only approximates, so they are not compared."""
    from riskset.datasets import simulate as sim

    d = sim.pfs_frame(riskset.datasets.load("tdxd"))
    for sub in (d, d.filter(pl.col("her2_group") == "HER2-low"), d.filter(pl.col("age") < 65)):
        t = sub["pfs_months"].to_numpy()
        e = sub["pfs_event"].to_numpy()
        med, lo, up = riskset.kaplan_meier(sub, time="pfs_months", event="pfs_event",
                                           convention="spss").summary.select(
            "median", "median_lower", "median_upper").row(0)
        want = spss_quantile_naive(t, e, 0.5)
        assert (med, lo, up) == pytest.approx(want, rel=CLOSED_RTOL)
        assert med - lo == pytest.approx(up - med, rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_lifelines_convention_matches_lifelines(seed):
    lifelines = pytest.importorskip("lifelines")
    from lifelines.utils import median_survival_times

    rng = np.random.default_rng(seed)
    t = np.ceil(rng.exponential(10, 80))
    e = (rng.random(80) < 0.75).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = lifelines.KaplanMeierFitter().fit(t, e)
        ci = median_survival_times(k.confidence_interval_).to_numpy().ravel()
    fit = riskset.kaplan_meier({"t": t, "e": e}, time="t", event="e", convention="lifelines")
    assert fit.conf_type == "log-log"
    med, lo, up = fit.summary.select("median", "median_lower", "median_upper").row(0)
    assert med == k.median_survival_time_
    assert (lo, up) == (ci[0], ci[1])
