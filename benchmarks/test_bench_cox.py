"""pytest-benchmark suite for Cox proportional-hazards fits (not part of the default test run).

Run with::

    python -m pytest benchmarks/test_bench_cox.py -p no:cacheprovider
    python -m pytest benchmarks/test_bench_cox.py -p no:cacheprovider -k "1000000 and riskset"

Data: ``cox_data.make_cox_data(n, p=5, ties="days")`` (seeded; 5 standard-normal
covariates, 3 strata, ~30 % censored, times rounded to whole days). Efron ties throughout.
Each benchmark calls its function once before ``benchmark(...)`` so Numba JIT compilation
(or loading the compiled cache) and first-use imports are never timed. Results are grouped
per N (``benchmark.group``): riskset plain / stratified, one likelihood pass
(``riskset.engine.cox.evaluate``), the ``X'w`` floor (NumPy and a Numba loop), the PyPI
``survival`` package (Rust port of R survival) and lifelines (N <= 1e5; it takes ~10 s per
fit at 1e6).
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

pytest.importorskip("pytest_benchmark")

import cox_data as cd  # noqa: E402
import cox_fits as cf  # noqa: E402

from riskset.engine import cox as ce  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
P = 5
LIFELINES_MAX_N = 100_000


@lru_cache(maxsize=2)
def _data(n: int) -> dict[str, np.ndarray]:
    return cd.make_cox_data(n, P, "days", seed=0)


@lru_cache(maxsize=2)
def _polars(n: int) -> pl.DataFrame:
    return pl.DataFrame(_data(n))


@lru_cache(maxsize=2)
def _pandas(n: int):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(_data(n))


@lru_cache(maxsize=4)
def _prepared(n: int, model: str) -> ce.CoxData:
    return cf.prepared(_data(n), P, model)


@lru_cache(maxsize=1)
def _xtw():
    return cf._xtw_numba()


def _run(benchmark, n: int, func, *args):
    benchmark.group = f"cox N={n:.0e}"
    func(*args)  # warm-up: JIT compile / cache load, first-use imports
    return benchmark(func, *args)


@pytest.mark.parametrize("model", cd.MODELS)
@pytest.mark.parametrize("n", SIZES)
def test_riskset_cox(benchmark, n, model):
    fit = _run(benchmark, n, cf.riskset_fit, _polars(n), P, model)
    assert fit.converged
    assert np.all(np.abs(fit.coef - cd.true_beta(P)) < 0.2)


@pytest.mark.parametrize("n", SIZES)
def test_riskset_cox_concordance(benchmark, n):
    fit = _run(benchmark, n, cf.riskset_fit_c, _polars(n), P, "plain")
    assert 0.5 < fit.concordance["value"] < 1.0


@pytest.mark.parametrize("model", cd.MODELS)
@pytest.mark.parametrize("n", SIZES)
def test_riskset_one_pass(benchmark, n, model):
    """One Newton iteration's likelihood pass (loglik, score, information)."""
    d = _prepared(n, model)
    ll, u, imat = _run(benchmark, n, ce.evaluate, d, cd.true_beta(P))
    assert np.isfinite(ll) and imat.shape == (P, P)


@pytest.mark.parametrize("n", SIZES)
def test_floor_xtw_numpy(benchmark, n):
    X = _prepared(n, "plain").X
    w = np.random.default_rng(1).random(n)
    out = _run(benchmark, n, lambda: X.T @ w)
    assert out.shape == (P,)


@pytest.mark.parametrize("n", SIZES)
def test_floor_xtw_numba(benchmark, n):
    X = _prepared(n, "plain").X
    w = np.random.default_rng(1).random(n)
    out = _run(benchmark, n, _xtw(), X, w)
    assert np.allclose(out, X.T @ w)


@pytest.mark.parametrize("model", cd.MODELS)
@pytest.mark.parametrize("n", SIZES)
def test_survival_rust(benchmark, n, model):
    pytest.importorskip("survival")
    fit = _run(benchmark, n, cf.survival_fit, _pandas(n), P, model)
    ref = cf.riskset_fit(_polars(n), P, model).coef
    assert np.max(np.abs(np.asarray(fit.coefficients) - ref)) < 1e-6


@pytest.mark.parametrize("model", cd.MODELS)
@pytest.mark.parametrize("n", [s for s in SIZES if s <= LIFELINES_MAX_N])
def test_lifelines(benchmark, n, model):
    pytest.importorskip("lifelines")
    fit = _run(benchmark, n, cf.lifelines_fit, _pandas(n), P, model)
    ref = cf.riskset_fit(_polars(n), P, model).coef
    assert np.max(np.abs(fit.params_.values - ref)) < 1e-4
