"""Shared test helpers: R fixture loading and NaN/Inf-aware comparison."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.tolerances import CLOSED_ATOL, CLOSED_RTOL

REFERENCE = Path(__file__).parent / "reference"
FIXTURES = REFERENCE / "fixtures"
DATA = REFERENCE / "data"


def r_array(values) -> np.ndarray:
    """Fixture list -> float array: null -> NaN, "Inf"/"-Inf" -> +-inf."""
    out = []
    for v in values if isinstance(values, list) else [values]:
        if v is None:
            out.append(np.nan)
        elif v == "Inf":
            out.append(np.inf)
        elif v == "-Inf":
            out.append(-np.inf)
        else:
            out.append(float(v))
    return np.asarray(out, dtype=np.float64)


def assert_close(actual, expected, what: str, rtol: float = CLOSED_RTOL, atol: float = CLOSED_ATOL):
    """Compare arrays where NaN/None positions must agree and finite values match closely."""
    a = np.asarray(
        [np.nan if v is None else v for v in (actual.to_list() if isinstance(actual, pl.Series) else np.atleast_1d(actual))],
        dtype=np.float64,
    )
    e = r_array(expected) if not isinstance(expected, np.ndarray) else expected
    assert a.shape == e.shape, f"{what}: shape {a.shape} != R {e.shape}"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def load_fixture(kind: str, name: str) -> dict:
    return json.loads((FIXTURES / kind / f"{name}.json").read_text())


def fixture_names(kind: str) -> list[str]:
    return sorted(p.stem for p in (FIXTURES / kind).glob("*.json"))


def read_data(name: str) -> pl.DataFrame:
    return pl.read_csv(DATA / name, null_values=["", "NA"], infer_schema_length=None)


@pytest.fixture(scope="session")
def gbsg() -> pl.DataFrame:
    return read_data("gbsg.csv")
