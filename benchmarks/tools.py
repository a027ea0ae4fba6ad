"""The fits being timed, one function per tool, shared by ``compare.py`` and the pytest suite.

Every function takes the prepared input of its tool (built outside the timed region) and
does the same job: a two-group Kaplan–Meier fit with 95 % pointwise CIs and the median with
its CI for each group.

* riskset: a Polars DataFrame in, ``fit.summary`` out (medians + CIs from the pointwise log
  CI curves, R's rule). ``riskset_with_table`` also materialises ``fit.table``.
* floor: ``polars.Series.sort`` of the time column (the cheapest thing that must touch and
  order every time value); ``numpy_argsort`` is the classic first step of a KM fit.
* lifelines: ``KaplanMeierFitter().fit`` per group (computes ``confidence_interval_`` and
  ``median_survival_time_``), plus ``median_survival_times(confidence_interval_)`` for the
  median CI; NumPy arrays in, boolean mask per group included in the time.
* survival (PyPI, Rust port of R survival): ``survfit(Surv(time, event))`` per group
  (conf.type log) and ``quantile(fit, 0.5)`` (median with CI). Fitting per group was faster
  than one ``survfit(..., group=)`` call in our runs, so it is the one timed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

import riskset


def riskset_summary(df: pl.DataFrame) -> pl.DataFrame:
    fit = riskset.kaplan_meier(df, time="time", event="event", by="group")
    return fit.summary


def riskset_with_table(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    fit = riskset.kaplan_meier(df, time="time", event="event", by="group")
    return fit.summary, fit.table


def polars_sort(df: pl.DataFrame) -> pl.Series:
    return df.get_column("time").sort()


def numpy_argsort(data: dict[str, np.ndarray]) -> np.ndarray:
    return np.argsort(data["time"])


def lifelines_km(data: dict[str, np.ndarray]) -> list[tuple[float, Any]]:
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    out = []
    for g in (0, 1):
        m = data["group"] == g
        kmf = KaplanMeierFitter().fit(data["time"][m], data["event"][m])
        out.append((kmf.median_survival_time_, median_survival_times(kmf.confidence_interval_)))
    return out


def survival_km(data: dict[str, np.ndarray]) -> list[Any]:
    import survival

    out = []
    for g in (0, 1):
        m = data["group"] == g
        fit = survival.survfit(survival.Surv(data["time"][m], data["event"][m]), conf_type="log")
        out.append(survival.quantile(fit, probs=0.5))
    return out


def medians(result: Any, tool: str) -> list[float]:
    """Median per group from a tool's output (for the agreement check)."""
    if tool == "riskset":
        return [float(x) for x in result.get_column("median").to_list()]
    if tool == "lifelines":
        return [float(m) for m, _ in result]
    if tool == "survival":
        return [float(q.quantile[0][0]) for q in result]
    raise ValueError(tool)
