"""Median conventions of other tools (R is covered by the fixture tests).

* lifelines: compared live against lifelines itself (same data, same numbers).
* SAS and SPSS: hand-derived from each tool's documented rule on a 6-row example
  (docs/algorithms/km-conventions.md), since neither tool is available here.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import riskset

SIX = {"t": np.arange(1.0, 7.0), "e": np.ones(6, dtype=int)}  # S = 5/6, 4/6, 1/2, 1/3, 1/6, 0


def test_r_sas_midpoint_and_first_time_rules():
    r = riskset.kaplan_meier(SIX, time="t", event="e").summary
    sas = riskset.kaplan_meier(SIX, time="t", event="e", convention="sas").summary
    ll = riskset.kaplan_meier(SIX, time="t", event="e", convention="lifelines").summary
    assert r["median"][0] == 3.5  # R: midpoint of the flat at exactly 0.5
    assert sas["median"][0] == 3.5  # SAS: (inf{S < .5} + inf{S <= .5}) / 2
    assert ll["median"][0] == 3.0  # lifelines: first time S <= 0.5


def test_spss_symmetric_ci_hand_computed():
    fit = riskset.kaplan_meier(SIX, time="t", event="e", convention="spss")
    med, lo, up = fit.summary.select("median", "median_lower", "median_upper").row(0)
    # S(3) = 1/2 with Greenwood var(log S) = 1/30 + 1/20 + 1/12 = 1/6 -> se(S) = 0.5 / sqrt(6)
    se_s = 0.5 * math.sqrt(1 / 30 + 1 / 20 + 1 / 12)
    # 45th percentile: first S <= .55 -> 3; 55th: first S <= .45 -> 4; density .10 / (4 - 3)
    se_med = se_s / (0.10 / (4 - 3))
    z = 1.959963984540054
    assert med == 3.0
    assert lo == pytest.approx(3 - z * se_med, rel=1e-12)
    assert up == pytest.approx(3 + z * se_med, rel=1e-12)


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
