"""Coverage simulation for bootstrap intervals (slow: run with ``pytest -m slow``).

Exponential event times (rate 1/12, true median 12 ln 2, true S(12) = e^-1) with uniform
censoring; 300 simulated data sets of 200 patients, 1,000 replicates each. Nominal 95%
intervals should cover the truth in about 95% of data sets; with 300 data sets the Monte
Carlo standard error is about 1.3 points, so we accept 90%-99%.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import riskset

TRUE = {"median": 12 * math.log(2), "survival": math.exp(-1)}


@pytest.mark.slow
@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_coverage_median_and_landmark(method):
    rng = np.random.default_rng(2026)
    hits = {"median": 0, "survival": 0}
    n_sets = 300 if method == "percentile" else 150
    for k in range(n_sets):
        t = rng.exponential(12.0, 200)
        c = rng.uniform(0, 60, 200)
        d = {"t": np.minimum(t, c), "e": (t <= c).astype(int)}
        res = riskset.bootstrap(d, statistic=["median", "survival"], at=12.0, time="t", event="e",
                                n_resamples=1000, seed=k, method=method)
        for row in res.table.iter_rows(named=True):
            if row["lower"] is not None and row["lower"] <= TRUE[row["statistic"]] <= row["upper"]:
                hits[row["statistic"]] += 1
    for stat, h in hits.items():
        assert 0.90 <= h / n_sets <= 0.99, f"{method} {stat}: coverage {h / n_sets:.3f}"
