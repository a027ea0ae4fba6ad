"""pytest-benchmark suite for Kaplan–Meier fits (not part of the default test run).

Run with::

    python -m pytest benchmarks -p no:cacheprovider
    python -m pytest benchmarks -p no:cacheprovider -k "1000000"      # one size

Each benchmark calls its function once before ``benchmark(...)`` so Numba JIT compilation
(or loading the compiled cache) is never timed. Results are grouped per N
(``benchmark.group``), so every table compares riskset, the floor and lifelines on the same
data. lifelines runs at N <= 1e5 only (it takes seconds per call beyond that).
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tools  # noqa: E402
from data import make_km_data  # noqa: E402

pytest.importorskip("pytest_benchmark")

SIZES = (10_000, 100_000, 1_000_000)
TIES = ("continuous", "days", "months")
LIFELINES_MAX_N = 100_000


@lru_cache(maxsize=4)
def _numpy_data(n: int, ties: str) -> dict[str, np.ndarray]:
    return make_km_data(n, ties, seed=0)


@lru_cache(maxsize=4)
def _polars_data(n: int, ties: str) -> pl.DataFrame:
    return pl.DataFrame(_numpy_data(n, ties))


def _run(benchmark, n: int, func, arg):
    benchmark.group = f"km N={n:.0e}"
    func(arg)  # warm-up: JIT compile / cache load, first-touch of lazy imports
    return benchmark(func, arg)


@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize("n", SIZES)
def test_riskset_summary(benchmark, n, ties):
    out = _run(benchmark, n, tools.riskset_summary, _polars_data(n, ties))
    assert out.height == 2


@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize("n", SIZES)
def test_riskset_with_table(benchmark, n, ties):
    summary, table = _run(benchmark, n, tools.riskset_with_table, _polars_data(n, ties))
    assert summary.height == 2 and table.height > 0


@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize("n", SIZES)
def test_floor_polars_sort(benchmark, n, ties):
    out = _run(benchmark, n, tools.polars_sort, _polars_data(n, ties))
    assert out.len() == n


@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize("n", [s for s in SIZES if s <= LIFELINES_MAX_N])
def test_lifelines(benchmark, n, ties):
    pytest.importorskip("lifelines")
    out = _run(benchmark, n, tools.lifelines_km, _numpy_data(n, ties))
    assert len(out) == 2
