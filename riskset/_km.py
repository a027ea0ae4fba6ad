"""Kaplan–Meier family: survival curves, medians, landmark rates, RMST, Nelson–Aalen.

Public functions: :func:`kaplan_meier`, :func:`nelson_aalen`, :func:`median_followup`,
:func:`rmst_diff`. The numeric work is done by :mod:`riskset.engine` kernels; this module
owns the data path (one call to :func:`riskset._prepare.prepare`), convention handling and
the Polars result tables.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl
from scipy.special import ndtr, ndtri

from riskset import _display
from riskset._display import Displayed
from riskset._prepare import prepare
from riskset.engine import quantile as q
from riskset.engine.eventtable import EventTable, event_table
from riskset.engine.km import (
    CONF_TYPES,
    confint,
    km_robust_var,
    km_surv,
    median_scan,
    nelson_aalen_curve,
)
from riskset.engine.rmst import rmst as rmst_kernel
from riskset.errors import EmptyDataError, OptionError, RisksetError, check_choice

#: Median / quantile conventions and the pointwise CI transform each tool uses by default.
CONVENTIONS: dict[str, str] = {"r": "log", "sas": "log-log", "spss": "log", "lifelines": "log-log"}


def _z(conf_level: float) -> float:
    if not (isinstance(conf_level, (int, float)) and 0.0 < conf_level < 1.0):
        raise OptionError(f"conf_level={conf_level!r} must be a number strictly between 0 and 1")
    return float(ndtri(1.0 - (1.0 - conf_level) / 2.0))


@dataclass(repr=False)
class KaplanMeierResult(Displayed):
    """Kaplan–Meier estimates for one or more groups.

    Attributes
    ----------
    by
        Names of the grouping columns (empty for a single curve).
    keys
        One row per group (the ``by`` values), in the order of every per-group table.
    conf_type, conf_level, convention
        The CI transform, level and median convention used.
    variance
        ``"greenwood"`` or ``"robust"`` (infinitesimal jackknife; R's default with
        non-integer case weights).

    Notes
    -----
    ``std_err`` in every table is the standard error of S(t) itself (R's
    ``summary(fit)$std.err``), not of log S(t) (R's ``fit$std.err`` for Greenwood
    variances). ``cumhaz_std_err`` is the standard error of the Nelson–Aalen estimate.
    """

    by: tuple[str, ...]
    keys: pl.DataFrame
    conf_type: str
    conf_level: float
    convention: str
    variance: str
    _et: EventTable = field(repr=False)
    _surv: np.ndarray = field(repr=False)
    _se_log: np.ndarray = field(repr=False)
    _n_rows: np.ndarray = field(repr=False)
    _z: float = field(repr=False)

    # ----------------------------------------------------------------------------------
    # Pointwise limits and the Nelson–Aalen curve are computed on first use: a summary of
    # medians needs neither for every row (see ``_median_row``).
    @cached_property
    def _bands(self) -> tuple[np.ndarray, np.ndarray]:
        return confint(self._surv, self._se_log, self._z, CONF_TYPES[self.conf_type])

    @property
    def _lower(self) -> np.ndarray:
        return self._bands[0]

    @property
    def _upper(self) -> np.ndarray:
        return self._bands[1]

    @cached_property
    def _nelson_aalen(self) -> tuple[np.ndarray, np.ndarray]:
        return nelson_aalen_curve(self._et.n_risk, self._et.n_event, self._et.offsets)

    @property
    def n_groups(self) -> int:
        return max(self.keys.height, 1)

    def _slice(self, g: int) -> slice:
        off = self._et.offsets
        return slice(int(off[g]), int(off[g + 1]))

    def _group_keys(self, counts: Sequence[int] | np.ndarray) -> pl.DataFrame:
        """The ``by`` columns repeated ``counts[g]`` times for group g."""
        if not self.by:
            return pl.DataFrame()
        idx = np.repeat(np.arange(self.keys.height), np.asarray(counts, dtype=np.int64))
        return self.keys[idx]

    def _std_err(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            se = self._surv * self._se_log
        se[np.isnan(self._se_log) | np.isinf(self._se_log)] = np.nan
        return se

    @cached_property
    def table(self) -> pl.DataFrame:
        """One row per group and distinct time: the full curve (see class Notes)."""
        et = self._et
        with np.errstate(invalid="ignore"):
            cumhaz, var_cumhaz = self._nelson_aalen
            ch_se = np.sqrt(var_cumhaz)
        body = pl.DataFrame(
            {
                "time": et.time,
                "n_risk": et.n_risk,
                "n_event": et.n_event,
                "n_censor": et.n_censor,
                "survival": self._surv,
                "std_err": self._std_err(),
                "lower": self._lower,
                "upper": self._upper,
                "cumhaz": cumhaz,
                "cumhaz_std_err": ch_se,
            }
        ).fill_nan(None)
        keys = self._group_keys(np.diff(et.offsets))
        return pl.concat([keys, body], how="horizontal") if self.by else body

    # ----------------------------------------------------------------------------------
    def _median_row(self, g: int, p: float = 0.5) -> tuple[float, float, float]:
        sl = self._slice(g)
        t = self._et.time[sl]
        s = self._surv[sl]
        conv = self.convention
        if t.size == 0:
            return (np.nan, np.nan, np.nan)
        if conv == "r" and p == 0.5 and "_bands" not in self.__dict__:
            # summary medians without materialising the pointwise bands of every row
            se = self._se_log[sl]
            code = CONF_TYPES[self.conf_type]
            return tuple(float(median_scan(t, s, se, self._z, code, w, q.TOL)) for w in (0, 1, 2))
        lo = self._lower[sl]
        up = self._upper[sl]
        if conv == "r":
            if p == 0.5:
                return (q.median_r_table(t, s), q.median_r_table(t, lo), q.median_r_table(t, up))
            return (q.quantile_r(t, s, p), q.quantile_r(t, lo, p), q.quantile_r(t, up, p))
        if conv == "lifelines":
            return (q.quantile_first(t, s, p), q.quantile_first(t, lo, p), q.quantile_first(t, up, p))
        if conv == "sas":
            return (q.quantile_sas(t, s, p), q.quantile_sas_lower(t, lo, p), q.quantile_sas_upper(t, up, p))
        # spss: first time S <= 1 - p, symmetric CI from the Collett density estimate
        est = q.quantile_first(t, s, p)
        se_s = self._std_err()[sl]
        se = q.spss_median_se(t, s, se_s, p)
        if np.isnan(est) or np.isnan(se):
            return (est, np.nan, np.nan)
        return (est, est - self._z * se, est + self._z * se)

    @cached_property
    def summary(self) -> pl.DataFrame:
        """One row per group: ``n`` (rows), ``events`` (weighted), median and its CI."""
        G = self.n_groups
        med = np.array([self._median_row(g) for g in range(G)], dtype=np.float64).reshape(G, 3)
        events = np.add.reduceat(self._et.n_event, self._et.offsets[:-1]) if self._et.time.size else np.zeros(G)
        body = pl.DataFrame(
            {
                "n": self._n_rows.astype(np.int64),
                "events": events,
                "median": med[:, 0],
                "median_lower": med[:, 1],
                "median_upper": med[:, 2],
            }
        ).fill_nan(None)
        return pl.concat([self.keys, body], how="horizontal") if self.by else body

    def quantile(self, p: float | Iterable[float] = (0.25, 0.5, 0.75)) -> pl.DataFrame:
        """Survival-time quantiles with CIs: time by which a fraction ``p`` had the event.

        With ``convention="r"`` this is R's ``quantile(fit, probs)`` (the midpoint rule on
        flat stretches, CI limits from the pointwise lower/upper curves); other conventions
        apply their own rule (see :mod:`riskset.engine.quantile`). Not reached: null.
        """
        ps = [float(p)] if isinstance(p, (int, float)) else [float(x) for x in p]
        for x in ps:
            if not 0.0 <= x <= 1.0:
                raise OptionError(f"quantile probability {x!r} must be in [0, 1]")
        rows = []
        for g in range(self.n_groups):
            for x in ps:
                if self.convention == "r":
                    sl = self._slice(g)
                    t = self._et.time[sl]
                    vals = (
                        q.quantile_r(t, self._surv[sl], x),
                        q.quantile_r(t, self._lower[sl], x),
                        q.quantile_r(t, self._upper[sl], x),
                    )
                else:
                    vals = self._median_row(g, x)
                rows.append((x, *vals))
        arr = np.array(rows, dtype=np.float64).reshape(-1, 4)
        body = pl.DataFrame(
            {"p": arr[:, 0], "time": arr[:, 1], "lower": arr[:, 2], "upper": arr[:, 3]}
        ).fill_nan(None)
        return self._with_keys(body, len(ps))

    def _with_keys(self, body: pl.DataFrame, per_group: int) -> pl.DataFrame:
        if not self.by:
            return body
        return pl.concat([self._group_keys([per_group] * self.n_groups), body], how="horizontal")

    def at(self, times: float | Iterable[float]) -> pl.DataFrame:
        """Survival with CI at landmark times (R ``summary(fit, times, extend = TRUE)``).

        ``n_risk`` is the number at risk at the landmark, ``n_event`` the events since the
        previous landmark (or the start), ``survival`` the KM value at the last event-table
        time at or before the landmark (carried beyond the last time).
        """
        ts = np.atleast_1d(np.asarray(list(times) if not np.isscalar(times) else [times], dtype=np.float64))
        if np.isnan(ts).any() or (ts < 0).any():
            raise OptionError("landmark times must be non-negative numbers")
        order = np.argsort(ts, kind="stable")
        se_all = self._std_err()
        cols: dict[str, list[float]] = {k: [] for k in ("time", "n_risk", "n_event", "survival", "std_err", "lower", "upper")}
        for g in range(self.n_groups):
            sl = self._slice(g)
            t = self._et.time[sl]
            s = self._surv[sl]
            prev = -np.inf
            out = {}
            for k in order:
                x = ts[k]
                j = int(np.searchsorted(t, x, side="right")) - 1  # last row with time <= x
                nxt = int(np.searchsorted(t, x, side="left"))  # first row with time >= x
                n_risk = float(self._et.n_risk[sl][nxt]) if nxt < t.size else 0.0
                inside = (t > prev) & (t <= x)
                n_ev = float(self._et.n_event[sl][inside].sum())
                prev = x
                if j < 0:
                    surv, se = 1.0, 0.0
                    lo, up = confint(np.array([1.0]), np.array([0.0]), self._z, CONF_TYPES[self.conf_type])
                    lo, up = float(lo[0]), float(up[0])
                else:
                    surv, se = float(s[j]), float(se_all[sl][j])
                    lo, up = float(self._lower[sl][j]), float(self._upper[sl][j])
                out[k] = (x, n_risk, n_ev, surv, se, lo, up)
            for k in range(ts.size):
                for name, v in zip(cols, out[k], strict=True):
                    cols[name].append(v)
        body = pl.DataFrame(cols).fill_nan(None)
        return self._with_keys(body, ts.size)

    def reverse(self, *, conf_type: str = "log", conf_level: float = 0.95, convention: str = "r") -> KaplanMeierResult:
        """The reverse Kaplan–Meier curve (censoring as the event) from this fit's event table.

        Equal to refitting with the event indicator flipped (R ``survfit(Surv(time, 1 -
        event) ~ by)``): the distinct times and numbers at risk are the same, events and
        censorings swap. Costs O(distinct times), no pass over the rows. Greenwood variance
        only (the robust variance needs the rows: use :func:`median_followup`).
        """
        if self.variance != "greenwood":
            raise OptionError("reverse() needs a Greenwood fit; use median_followup(..., robust=True)")
        check_choice("convention", convention, tuple(CONVENTIONS))
        check_choice("conf_type", conf_type, tuple(CONF_TYPES))
        et = self._et._replace(n_event=self._et.n_censor, n_censor=self._et.n_event)
        surv, var_log = km_surv(et.n_risk, et.n_event, et.offsets)
        with np.errstate(invalid="ignore"):
            se_log = np.sqrt(var_log, out=var_log)
        return KaplanMeierResult(by=self.by, keys=self.keys, conf_type=conf_type, conf_level=float(conf_level),
                                 convention=convention, variance="greenwood", _et=et, _surv=surv,
                                 _se_log=se_log, _n_rows=self._n_rows, _z=_z(conf_level))

    def rmst(self, tau: float) -> pl.DataFrame:
        """Restricted mean survival time up to ``tau`` with its standard error and CI.

        Matches R ``summary(fit, rmean = tau)$table[, c("rmean", "se(rmean)")]``.
        """
        tau = float(tau)
        if not (math.isfinite(tau) and tau > 0):
            raise OptionError(f"tau={tau!r} must be a positive finite time")
        rows = []
        for g in range(self.n_groups):
            sl = self._slice(g)
            m, se = rmst_kernel(self._et.time[sl], self._surv[sl], self._et.n_risk[sl], self._et.n_event[sl], tau)
            rows.append((tau, m, se, m - self._z * se, m + self._z * se))
        arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
        body = pl.DataFrame(
            {"tau": arr[:, 0], "rmst": arr[:, 1], "std_err": arr[:, 2], "lower": arr[:, 3], "upper": arr[:, 4]}
        )
        return self._with_keys(body, 1)

    def _blocks(self) -> list:
        return _display.km_blocks(self)

    def plot(self, **kwargs: Any) -> Any:
        """The curves with a number-at-risk table as a matplotlib ``Figure``; keyword
        arguments as :func:`riskset.report.km_figure` (``title``, ``xlabel``, ``ci``,
        ``pvalue``, ``labels``, ``risk_times``, ...)."""
        from riskset.report.figures import km_figure

        return km_figure(self, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: settings, per-group summary and the full curve table."""
        return {
            "estimator": "kaplan_meier",
            "by": list(self.by),
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "convention": self.convention,
            "variance": self.variance,
            "std_err_scale": "survival",
            "summary": _records(self.summary),
            "table": _records(self.table),
        }


def _records(df: pl.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows; whole-valued counts as integers (``112``, not ``112.0``)."""
    from riskset.format import count_value

    return [{k: count_value(k, _jsonable(v)) for k, v in row.items()} for row in df.iter_rows(named=True)]


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (np.generic,)):
        return v.item()
    if v is not None and not isinstance(v, (int, float, str, bool)):
        return str(v)
    return v


def kaplan_meier(
    data: Any,
    *,
    time: str,
    event: str,
    by: str | Sequence[str] | None = None,
    entry: str | None = None,
    weights: str | None = None,
    conf_type: str | None = None,
    conf_level: float = 0.95,
    convention: str = "r",
    robust: bool | None = None,
    drop_missing: bool = False,
) -> KaplanMeierResult:
    """Kaplan–Meier survival curves with pointwise CIs, medians, landmarks and RMST.

    Parameters
    ----------
    data
        Polars DataFrame/LazyFrame, pandas DataFrame, pyarrow Table, dict of arrays, or a
        path to a CSV/Parquet/Arrow (or Excel/SPSS/SAS/Stata) file.
    time, event
        Exit-time column (non-negative) and event column (1 = event, 0 = censored).
    by
        Grouping column(s): one curve per observed combination.
    entry
        Delayed-entry (left-truncation) time; a row is at risk at t when entry < t <= time.
    weights
        Case weights (non-negative; integer or not).
    conf_type
        Pointwise CI transform: {'log', 'log-log', 'plain', 'logit', 'arcsin'}. Default: the
        convention's (log for R and SPSS, log-log for SAS and lifelines).
    conf_level
        Confidence level of every interval.
    convention
        {'r', 'sas', 'spss', 'lifelines'}: the median/quantile rule and median CI of that tool
        (see :mod:`riskset.engine.quantile` and ``docs/algorithms/km-conventions.md``).
    robust
        Variance of S(t): False = Greenwood, True = infinitesimal jackknife. Default (None)
        follows R ``survfit``: robust when the weights are not all integers.
    drop_missing
        Drop rows with a missing role value (and warn how many) instead of raising.

    Returns
    -------
    KaplanMeierResult

    Examples
    --------
    >>> import riskset
    >>> fit = riskset.kaplan_meier(riskset.datasets.load("gbsg"), time="rfstime",
    ...                            event="status", by="hormon")
    >>> fit.summary.columns
    ['hormon', 'n', 'events', 'median', 'median_lower', 'median_upper']
    """
    from riskset.distributed import is_dask

    if is_dask(data):  # partitions on a Dask cluster: riskset/distributed/execute.py
        from riskset.distributed.execute import kaplan_meier_dask

        return kaplan_meier_dask(data, time=time, event=event, by=by, entry=entry, weights=weights,
                                 conf_type=conf_type, conf_level=conf_level, convention=convention,
                                 robust=robust, drop_missing=drop_missing)
    check_choice("convention", convention, tuple(CONVENTIONS))
    if conf_type is None:
        conf_type = CONVENTIONS[convention]
    check_choice("conf_type", conf_type, tuple(CONF_TYPES))
    z = _z(conf_level)
    cols = prepare(data, time=time, event=event, by=by, entry=entry, weights=weights, drop_missing=drop_missing)
    G = max(cols.n_groups, 1)
    et = event_table(cols.time, cols.event, cols.codes, G, cols.weights, cols.entry)
    if robust is None:
        robust = cols.weights is not None and bool(np.any(cols.weights != np.round(cols.weights)))
    if not robust:  # Greenwood: the post-table step shared with riskset.distributed
        if cols.n_groups == 0 and et.time.size == 0:
            raise EmptyDataError("no rows to analyse")
        return km_from_table(et, cols.by, cols.keys, conf_type=conf_type, conf_level=conf_level,
                             convention=convention)
    surv, _ = km_surv(et.n_risk, et.n_event, et.offsets)
    if robust:
        if cols.weights is None:
            raise OptionError("robust=True needs case weights (without them it equals Greenwood)")
        ent = cols.entry if cols.entry is not None else np.empty(0, dtype=np.float64)
        var_s = km_robust_var(
            cols.time, cols.event, cols.weights, cols.codes, ent, cols.entry is not None,
            et.time, et.n_risk, et.n_event, et.offsets, surv,
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            # R (logse = FALSE) converts se(S) to se(log S) as se / S, and 0 where se = 0
            se_log = np.where(var_s == 0, 0.0, np.sqrt(var_s) / surv)
        variance = "robust"
    if cols.n_groups == 0 and et.time.size == 0:
        raise EmptyDataError("no rows to analyse")
    return KaplanMeierResult(
        by=cols.by,
        keys=cols.keys,
        conf_type=conf_type,
        conf_level=float(conf_level),
        convention=convention,
        variance=variance,
        _et=et,
        _surv=surv,
        _se_log=se_log,
        _n_rows=et.n_rows,
        _z=z,
    )


def km_from_table(
    et: EventTable, by: tuple[str, ...], keys: pl.DataFrame, *, conf_type: str | None,
    conf_level: float, convention: str,
) -> KaplanMeierResult:
    """The Greenwood Kaplan–Meier result from a finished event table: the post-table step of
    :func:`kaplan_meier`, shared with the distributed paths (:mod:`riskset.distributed`),
    which build ``et`` from merged per-partition or per-centre tables."""
    check_choice("convention", convention, tuple(CONVENTIONS))
    if conf_type is None:
        conf_type = CONVENTIONS[convention]
    check_choice("conf_type", conf_type, tuple(CONF_TYPES))
    z = _z(conf_level)
    if et.time.size == 0:
        raise EmptyDataError("no rows to analyse")
    surv, var_log = km_surv(et.n_risk, et.n_event, et.offsets)
    with np.errstate(invalid="ignore"):
        se_log = np.sqrt(var_log, out=var_log)
    return KaplanMeierResult(by=by, keys=keys, conf_type=conf_type, conf_level=float(conf_level),
                             convention=convention, variance="greenwood", _et=et, _surv=surv,
                             _se_log=se_log, _n_rows=et.n_rows, _z=z)


def nelson_aalen(
    data: Any,
    *,
    time: str,
    event: str,
    by: str | Sequence[str] | None = None,
    entry: str | None = None,
    weights: str | None = None,
    drop_missing: bool = False,
) -> pl.DataFrame:
    """Nelson–Aalen cumulative hazard with its standard error (R ``fit$cumhaz``, ``std.chaz``).

    Returns a Polars table with the ``by`` columns and ``time, n_risk, n_event, cumhaz,
    std_err``, where ``Var H(t) = sum d_j / n_j^2``.
    """
    fit = kaplan_meier(
        data, time=time, event=event, by=by, entry=entry, weights=weights, robust=False,
        drop_missing=drop_missing,
    )
    return fit.table.select(
        [*fit.by, "time", "n_risk", "n_event", "cumhaz", pl.col("cumhaz_std_err").alias("std_err")]
    )


def median_followup(
    data: Any,
    *,
    time: str,
    event: str,
    by: str | Sequence[str] | None = None,
    entry: str | None = None,
    weights: str | None = None,
    conf_type: str = "log",
    conf_level: float = 0.95,
    robust: bool | None = None,
    drop_missing: bool = False,
) -> pl.DataFrame:
    """Median follow-up by the reverse Kaplan–Meier method (Schemper & Smith, 1996).

    The censoring indicator is reversed (censored = "event") and the median of that curve is
    reported with its CI, exactly as R ``survfit(Surv(time, 1 - event) ~ by)``. (``prodlim``'s
    ``reverse = TRUE`` differs at times where events and censorings tie: it removes the
    events from the risk set first.)
    """
    if (weights is None and robust is not True) or robust is False:  # Greenwood: reverse the fit's own event table
        fit = kaplan_meier(data, time=time, event=event, by=by, entry=entry, weights=weights, robust=False,
                           drop_missing=drop_missing)
        return followup_summary(fit.reverse(conf_type=conf_type, conf_level=conf_level))
    cols = prepare(
        data, time=time, event=event, by=by, entry=entry, weights=weights, drop_missing=drop_missing
    )
    flipped: dict[str, Any] = {"time": cols.time, "event": (1 - cols.event).astype(np.int8)}
    if cols.entry is not None:
        flipped["entry"] = cols.entry
    if cols.weights is not None:
        flipped["weights"] = cols.weights
    for b in cols.by:
        flipped[b] = cols.keys.get_column(b).gather(cols.codes)
    rev = kaplan_meier(
        pl.DataFrame(flipped), time="time", event="event", by=cols.by or None,
        entry="entry" if cols.entry is not None else None,
        weights="weights" if cols.weights is not None else None,
        conf_type=conf_type, conf_level=conf_level, robust=robust,
    )
    return followup_summary(rev)


def followup_summary(rev: KaplanMeierResult) -> pl.DataFrame:
    """:func:`median_followup`'s table from a reverse Kaplan–Meier fit."""
    return rev.summary.rename({"events": "censored", "median": "median_followup",
                               "median_lower": "lower", "median_upper": "upper"})


@dataclass(frozen=True, repr=False)
class RMSTDifference(Displayed):
    """Difference in restricted mean survival time between two groups."""

    tau: float
    groups: pl.DataFrame
    per_group: pl.DataFrame
    difference: float
    std_err: float
    lower: float
    upper: float
    z: float
    p_value: float
    conf_level: float

    def _blocks(self) -> list:
        return _display.rmst_difference_blocks(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimator": "rmst_difference",
            "tau": self.tau,
            "groups": _records(self.groups),
            "per_group": _records(self.per_group),
            "difference": self.difference,
            "std_err": self.std_err,
            "lower": self.lower,
            "upper": self.upper,
            "z": self.z,
            "p_value": self.p_value,
            "conf_level": self.conf_level,
        }


def rmst_diff(
    data: Any,
    *,
    time: str,
    event: str,
    group: str,
    tau: float,
    entry: str | None = None,
    weights: str | None = None,
    conf_level: float = 0.95,
    drop_missing: bool = False,
) -> RMSTDifference:
    """RMST difference (second level minus first, in sorted order) with CI and p-value.

    ``diff = RMST_2 - RMST_1``, ``se = sqrt(se_1^2 + se_2^2)`` (independent groups), Wald
    z-test and normal CI, each group's RMST as in :meth:`KaplanMeierResult.rmst`.
    """
    fit = kaplan_meier(
        data, time=time, event=event, by=group, entry=entry, weights=weights,
        conf_level=conf_level, drop_missing=drop_missing,
    )
    if fit.keys.height != 2:
        raise RisksetError(
            f"rmst_diff needs exactly 2 groups in {group!r}; found {fit.keys.height}"
        )
    per = fit.rmst(tau)
    r = per.get_column("rmst").to_numpy()
    s = per.get_column("std_err").to_numpy()
    diff = float(r[1] - r[0])
    se = float(math.hypot(s[0], s[1]))
    zstat = diff / se if se > 0 else np.nan
    p = float(2 * ndtr(-abs(zstat))) if se > 0 else np.nan
    return RMSTDifference(
        tau=float(tau), groups=fit.keys, per_group=per, difference=diff, std_err=se,
        lower=diff - fit._z * se, upper=diff + fit._z * se, z=float(zstat), p_value=p,
        conf_level=float(conf_level),
    )
