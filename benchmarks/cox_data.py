"""Seeded Cox benchmark data (:func:`make_cox_data`) and the models fitted to it.

Used by ``compare_cox.py`` (side by side) and ``test_bench_cox.py`` (pytest-benchmark);
the data are described in ``compare_cox.py``'s docstring.
"""

from __future__ import annotations

import math

import numpy as np

BETA5 = (0.5, -0.3, 0.2, 0.0, 0.1)
STRATUM_HAZARD = (1.0, 1.5, 2.0)
MODELS = ("plain", "strata")


def true_beta(p: int) -> np.ndarray:
    return np.array([BETA5[j % 5] for j in range(p)], dtype=np.float64)


def make_cox_data(n: int, p: int = 5, ties: str = "days", seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded right-censored Cox data: ``x1..xp``, ``time``, ``status`` (int8), ``s`` (int64).

    Covariates are drawn column by column (float64 each), so peak memory while building is
    the final size plus one column.
    """
    if ties not in ("days", "continuous"):
        raise ValueError(f"ties={ties!r} must be 'days' or 'continuous'")
    n = int(n)
    rng = np.random.default_rng(seed)
    beta = true_beta(p)
    out: dict[str, np.ndarray] = {}
    eta = np.zeros(n)
    for j in range(p):
        x = rng.standard_normal(n)
        out[f"x{j + 1}"] = x
        if beta[j] != 0.0:
            eta += beta[j] * x
    s = rng.integers(0, len(STRATUM_HAZARD), size=n, dtype=np.int64)
    base = 365.0 / math.log(2.0)  # mean event time at eta = 0, stratum 0 (median 365 d)
    scale = base / (np.asarray(STRATUM_HAZARD)[s] * np.exp(eta))
    del eta
    t_event = rng.exponential(1.0, size=n) * scale
    # censoring mean 7/3 of the event mean at eta = 0, shortened by 1.35 for the strata's
    # higher hazards and the spread of eta: ~30 % censored overall
    t_cens = rng.exponential(1.0, size=n) * (base * 7.0 / 3.0 / 1.35)
    status = (t_event <= t_cens).astype(np.int8)
    tm = np.minimum(t_event, t_cens)
    del t_event, t_cens, scale
    if ties == "days":
        tm = np.ceil(tm)
    out["time"] = tm
    out["status"] = status
    out["s"] = s
    return out


def covariate_names(p: int) -> list[str]:
    return [f"x{j + 1}" for j in range(p)]


def formula(p: int, model: str) -> str:
    rhs = " + ".join(covariate_names(p)) + (" + strata(s)" if model == "strata" else "")
    return f"Surv(time, status) ~ {rhs}"
