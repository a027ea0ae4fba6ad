"""Kaplan–Meier family: survival curves, medians, landmark rates, RMST, Nelson–Aalen.

Public functions: :func:`kaplan_meier`, :func:`nelson_aalen`, :func:`median_followup`,
:func:`rmst_diff`. The numeric work is done by :mod:`riskset.engine` kernels; this module
owns the data path (one call to :func:`riskset._prepare.prepare`), convention handling and
the Polars result tables.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl
from scipy.special import ndtr, ndtri

from riskset import _display
from riskset._display import Displayed
from riskset._prepare import fixed_event_table, prepare
from riskset.engine import quantile as q
from riskset.engine.eventtable import EventTable, event_table
from riskset.engine.km import (
    CONF_TYPES,
    confint,
    confint_split,
    fh_hazard,
    fh_ij_terms,
    km_robust_var,
    km_surv,
    lower_se,
    median_scan,
    nelson_aalen_curve,
)
from riskset.engine.rmst import rmst as rmst_kernel
from riskset.errors import EmptyDataError, OptionError, RisksetError, check_choice

#: SPSS's 95 % median / percentile CI is estimate -+ 1.96 SE (1.96, not the normal quantile
#: 1.959964; other levels use the normal quantile).
SPSS_Z95 = 1.96

#: Median / quantile conventions and the pointwise CI transform each tool uses by default.
CONVENTIONS: dict[str, str] = {"r": "log", "sas": "log-log", "spss": "log", "lifelines": "log-log"}

#: R survfit's ``conf.lower`` choices.
CONF_LOWER = ("usual", "peto", "modified")


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
    stype, ctype, conf_lower
        R ``survfit``'s estimator options (see :func:`kaplan_meier`).

    Notes
    -----
    ``std_err`` in every table is the standard error of S(t) itself (R's
    ``summary(fit)$std.err``), not of log S(t) (R's ``fit$std.err`` for Greenwood
    variances). ``cumhaz_std_err`` is the standard error of the Nelson–Aalen estimate:
    ``sqrt(sum d / n^2)`` for a Greenwood fit, the infinitesimal-jackknife one for a robust
    fit (R's ``std.chaz`` in both cases).
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
    #: infinitesimal-jackknife variance of the cumulative hazard (robust fits only)
    _var_cumhaz_ij: np.ndarray | None = field(default=None, repr=False)
    #: Rows of the input left out for a missing value in a used column (complete cases).
    n_excluded: int = 0
    #: survival estimator (1 Kaplan–Meier, 2 exp(-H)), hazard (1 Nelson–Aalen, 2 Fleming–Harrington)
    stype: int = 1
    ctype: int = 1
    conf_lower: str = "usual"
    #: se on the log-S scale behind the lower limit (conf_lower != "usual"), else None
    _se_low: np.ndarray | None = field(default=None, repr=False)
    #: cumulative hazard and its (model-based) variance when not Nelson–Aalen's own
    _cumhaz: np.ndarray | None = field(default=None, repr=False)
    _var_cumhaz: np.ndarray | None = field(default=None, repr=False)

    # ----------------------------------------------------------------------------------
    # Pointwise limits and the Nelson–Aalen curve are computed on first use: a summary of
    # medians needs neither for every row (see ``_median_row``).
    @cached_property
    def _bands(self) -> tuple[np.ndarray, np.ndarray]:
        if self._se_low is not None:
            return confint_split(self._surv, self._se_log, self._se_low, self._z, CONF_TYPES[self.conf_type])
        return confint(self._surv, self._se_log, self._z, CONF_TYPES[self.conf_type])

    @property
    def _lower(self) -> np.ndarray:
        return self._bands[0]

    @property
    def _upper(self) -> np.ndarray:
        return self._bands[1]

    @cached_property
    def _nelson_aalen(self) -> tuple[np.ndarray, np.ndarray]:
        if self._cumhaz is not None and self._var_cumhaz is not None:
            cumhaz, var_h = self._cumhaz, self._var_cumhaz
        else:
            cumhaz, var_h = nelson_aalen_curve(self._et.n_risk, self._et.n_event, self._et.offsets)
        if self._var_cumhaz_ij is not None:  # robust fit: R's std.chaz is the IJ one too
            var_h = self._var_cumhaz_ij
        return cumhaz, var_h

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
            sel = self._se_low[sl] if self._se_low is not None else se
            code = CONF_TYPES[self.conf_type]
            return tuple(float(median_scan(t, s, se, sel, self._z, code, w, q.TOL)) for w in (0, 1, 2))
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
        # spss: first time S <= 1 - p, symmetric CI t_p -+ z se(t_p) with Collett's
        # density estimate (quantile.spss_median_se); SPSS prints 95 % CIs with z = 1.96
        est = q.quantile_first(t, s, p)
        se_s = self._std_err()[sl]
        se = q.spss_median_se(t, s, se_s, self._et.n_event[sl], p)
        if np.isnan(est) or np.isnan(se):
            return (est, np.nan, np.nan)
        z = SPSS_Z95 if self.conf_level == 0.95 else self._z
        return (est, est - z * se, est + z * se)

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

    def at(self, times: float | Iterable[float], *, extend: bool = False) -> pl.DataFrame:
        """Survival with CI at landmark times (R ``summary(fit, times, extend = extend)``).

        ``n_risk`` is the number at risk at the landmark, ``n_event`` the events since the
        previous landmark (or the start), ``survival`` the KM value at the last event-table
        time at or before the landmark.

        As R, a curve is not estimated past its last observation (event or censoring): by
        default (``extend=False``) a group has no row for a landmark after its last time.
        With ``extend=True`` every landmark has a row; past the last time ``n_risk`` is 0 and
        the survival and its CI are carried from the last time.
        """
        ts = np.atleast_1d(np.asarray(list(times) if not np.isscalar(times) else [times], dtype=np.float64))
        if np.isnan(ts).any() or (ts < 0).any():
            raise OptionError("landmark times must be non-negative numbers")
        order = np.argsort(ts, kind="stable")
        se_all = self._std_err()
        cols: dict[str, list[float]] = {k: [] for k in ("time", "n_risk", "n_event", "survival", "std_err", "lower", "upper")}
        kept: list[int] = []  # the group of each row
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
            last = t[-1] if t.size else -np.inf
            for k in range(ts.size):
                if not extend and ts[k] > last:
                    continue  # past the curve's last observation: not estimated (R)
                kept.append(g)
                for name, v in zip(cols, out[k], strict=True):
                    cols[name].append(v)
        body = pl.DataFrame(cols, schema={k: pl.Float64 for k in cols}).fill_nan(None)
        if not self.by:
            return body
        return pl.concat([self.keys[np.asarray(kept, dtype=np.int64)], body], how="horizontal")

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
                                 _se_log=se_log, _n_rows=self._n_rows, _z=_z(conf_level),
                                 n_excluded=self.n_excluded)

    def rmst(self, tau: float | str) -> pl.DataFrame:
        """Restricted mean survival time up to ``tau`` with its standard error and CI.

        ``tau``: a positive time, or R's ``rmean`` options (``survival:::survmean``):
        ``"common"``, the largest time of any curve's table (event or censoring) for every
        curve, and ``"individual"``, each curve's own largest time (for a single curve both
        are its largest time). Matches R ``summary(fit, rmean = tau)$table[, c("rmean",
        "se(rmean)")]``; the standard error is Miller's Greenwood-based one whatever the
        estimator (``stype``), as R.
        """
        G = self.n_groups
        off = self._et.offsets
        last = np.array([self._et.time[off[g + 1] - 1] if off[g + 1] > off[g] else np.nan for g in range(G)])
        if isinstance(tau, str):
            check_choice("tau", tau, ("common", "individual"))
            taus = np.full(G, np.nanmax(last)) if tau == "common" else last
        else:
            t = float(tau)
            if not (math.isfinite(t) and t > 0):
                raise OptionError(f"tau={tau!r} must be a positive finite time, 'common' or 'individual'")
            taus = np.full(G, t)
        rows = []
        for g in range(G):
            sl = self._slice(g)
            tg = float(taus[g])
            if not math.isfinite(tg):  # a curve without rows ('individual')
                rows.append((tg, np.nan, np.nan, np.nan, np.nan))
                continue
            m, se = rmst_kernel(self._et.time[sl], self._surv[sl], self._et.n_risk[sl], self._et.n_event[sl], tg)
            rows.append((tg, m, se, m - self._z * se, m + self._z * se))
        arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
        body = pl.DataFrame(
            {"tau": arr[:, 0], "rmst": arr[:, 1], "std_err": arr[:, 2], "lower": arr[:, 3], "upper": arr[:, 4]}
        ).fill_nan(None)
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
            "n_excluded": self.n_excluded,
            "stype": self.stype,
            "ctype": self.ctype,
            "conf_lower": self.conf_lower,
            "std_err_scale": "survival",
            "summary": _with_reasons(_records(self.summary), self.convention),
            "table": _records(self.table),
        }


def _records(df: pl.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows; whole-valued counts as integers (``112``, not ``112.0``)."""
    from riskset.format import count_value

    return [{k: count_value(k, _jsonable(v)) for k, v in row.items()} for row in df.iter_rows(named=True)]


def _with_reasons(rows: list[dict[str, Any]], convention: str) -> list[dict[str, Any]]:
    """A null median or limit in JSON says why: ``"median_reason": "not reached"`` (the curve
    never falls to 0.5, or never below the limit's level; display tables print NR), or
    ``"not estimable"`` for an SPSS limit around a finite median (no SE: NE)."""
    for row in rows:
        for k in ("median", "median_lower", "median_upper"):
            if k in row and row[k] is None:
                finite = k != "median" and row.get("median") is not None
                row[f"{k}_reason"] = "not estimable" if convention == "spss" and finite else "not reached"
    return rows


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
    drop_missing: bool = True,
    levels: Mapping[str, Sequence[Any]] | None = None,
    timefix: bool = True,
    stype: int = 1,
    ctype: int = 1,
    conf_lower: str = "usual",
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
        Variances of S(t) and of the cumulative hazard: False = Greenwood and
        ``sum d / n^2``, True = infinitesimal jackknife for both (each row its own cluster;
        without weights every row weighs 1). Default (None) follows R ``survfit``: robust
        when the weights are not all integers.
    drop_missing
        ``True`` (default, as R's ``na.omit``): use the complete cases of the role columns;
        a :class:`~riskset.errors.RisksetWarning` counts the excluded rows per column and
        ``n_excluded`` holds their number. ``False``: a missing value raises
        :class:`~riskset.errors.ColumnError`.
    levels
        ``{column: [level, ...]}``: the order of a group column's levels (see
        :func:`riskset.io.read.to_polars` and the level-order policy in
        :mod:`riskset.io.validate`).
    timefix
        Merge near-tied times as R does by default (``timefix = TRUE``: times differing by
        floating-point error are one time; ``docs/algorithms/timefix.md``). False keeps
        every distinct value.
    stype
        Survival estimator (R ``survfit``'s ``stype``): 1 = Kaplan–Meier product limit,
        2 = ``exp(-H(t))`` of the cumulative hazard chosen by ``ctype`` (Fleming–Harrington
        / Breslow survival); its log-S standard error is that of H.
    ctype
        Cumulative hazard (R's ``ctype``): 1 = Nelson–Aalen ``sum d/n``, 2 = Fleming–Harrington
        tie correction ``sum_{j<d} 1/(n - j)`` (with weights, the ``d0`` tied rows each weigh
        ``d/d0``; see :func:`riskset.engine.km.fh_hazard`).
    conf_lower
        R's ``conf.lower``: ``"usual"``, ``"peto"`` (lower limit from Peto's
        ``sqrt((1 - S)/n)``) or ``"modified"`` (Dorey–Korn: the standard error times
        ``sqrt(n_lag / n)``, ``n_lag`` the number at risk at the last event); the upper limit
        is unchanged (see :func:`riskset.engine.km.lower_se`).

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

        if stype != 1 or ctype != 1 or conf_lower != "usual" or levels:
            raise OptionError("on a Dask DataFrame kaplan_meier takes the defaults stype=1, ctype=1, "
                              "conf_lower='usual' and no levels= (declare the order as a category dtype)")

        return kaplan_meier_dask(data, time=time, event=event, by=by, entry=entry, weights=weights,
                                 conf_type=conf_type, conf_level=conf_level, convention=convention,
                                 robust=robust, drop_missing=drop_missing, timefix=timefix)
    check_choice("convention", convention, tuple(CONVENTIONS))
    if conf_type is None:
        conf_type = CONVENTIONS[convention]
    check_choice("conf_type", conf_type, tuple(CONF_TYPES))
    z = _z(conf_level)
    for name, v in (("stype", stype), ("ctype", ctype)):
        if isinstance(v, bool) or v not in (1, 2):
            raise OptionError(f"{name}={v!r} must be 1 or 2")
    check_choice("conf_lower", conf_lower, CONF_LOWER)
    cols = prepare(data, time=time, event=event, by=by, entry=entry, weights=weights, drop_missing=drop_missing,
                   levels=levels, timefix=timefix and entry is not None)  # else checked on the sorted table below
    G = max(cols.n_groups, 1)
    if robust is None:
        robust = weights is not None and bool(np.any(cols.weights != np.round(cols.weights)))
    # the rows are read again by the robust variance and by ctype 2's unweighted counts
    cols, et = fixed_event_table(cols, G, timefix=timefix,
                                 rows_needed=bool(robust) or (ctype == 2 and cols.weights is not None))
    if cols.n_groups == 0 and et.time.size == 0:
        raise EmptyDataError("no rows to analyse")
    surv, var_log = km_surv(et.n_risk, et.n_event, et.offsets)
    cumhaz = var_h = None
    n_count = et.n_event
    if ctype == 2:
        if cols.weights is not None:  # R spreads the weighted events over the unweighted count
            unweighted = event_table(cols.time, cols.event, cols.codes, G, None, cols.entry)
            if not np.array_equal(unweighted.time, et.time):  # same rows, so the same times
                raise RisksetError("internal: weighted and unweighted event tables disagree on times")
            n_count = unweighted.n_event
        cumhaz, var_h = fh_hazard(et.n_risk, et.n_event, n_count, et.offsets)
    elif stype == 2:
        cumhaz, var_h = nelson_aalen_curve(et.n_risk, et.n_event, et.offsets)
    if stype == 2:
        surv = np.exp(-cumhaz)
        var_log = var_h.copy()
    if robust:
        # without weights every row weighs 1 (R: robust = TRUE with no weights); the IJ
        # se of S then agrees with Greenwood's in R's examples, the cumulative hazard's not
        wts = cols.weights if cols.weights is not None else np.ones(cols.time.size, dtype=np.float64)
        ent = cols.entry if cols.entry is not None else np.empty(0, dtype=np.float64)
        if ctype == 2:
            hk, he = fh_ij_terms(et.n_risk, et.n_event, n_count)
        else:
            hk = he = np.empty(0, dtype=np.float64)
        km_s = surv if stype == 1 else km_surv(et.n_risk, et.n_event, et.offsets)[0]
        var_s, var_h_ij = km_robust_var(
            cols.time, cols.event, wts, cols.codes, ent, cols.entry is not None,
            et.time, et.n_risk, et.n_event, et.offsets, km_s, hk, he,
        )
        # R's std.err (survfitkm.c, survfitKM.R of survival 3.5-3): the IJ se of the KM
        # curve for stype 1, the IJ se of H for stype 2; read as se(log S) ("logse") for
        # ctype 2 and as se(S) for ctype 1, whatever it is.
        se_r = np.sqrt(var_s if stype == 1 else var_h_ij)
        if ctype == 2:
            se_log = se_r
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                # R (logse = FALSE) converts se(S) to se(log S) as se / S, and 0 where se = 0
                se_log = np.where(se_r == 0, 0.0, se_r / surv)
        variance = "robust"
    else:
        with np.errstate(invalid="ignore"):
            se_log = np.sqrt(var_log, out=var_log)  # in place: var_log is not used again
        se_r = se_log
        variance = "greenwood"
        var_h_ij = None
    se_low = None
    if conf_lower != "usual":
        se_low = lower_se(conf_lower, surv, se_log, se_r, et.n_risk, et.n_event, et.offsets)
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
        _var_cumhaz_ij=var_h_ij,
        n_excluded=cols.n_dropped,
        stype=stype,
        ctype=ctype,
        conf_lower=conf_lower,
        _se_low=se_low,
        _cumhaz=cumhaz,
        _var_cumhaz=var_h,
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
    robust: bool | None = None,
    drop_missing: bool = True,
    timefix: bool = True,
    ctype: int = 1,
) -> pl.DataFrame:
    """Nelson–Aalen cumulative hazard with its standard error (R ``fit$cumhaz``, ``std.chaz``).

    Returns a Polars table with the ``by`` columns and ``time, n_risk, n_event, cumhaz,
    std_err``. ``robust`` as in :func:`kaplan_meier`: by default (None) the variance is
    ``Var H(t) = sum d_j / n_j^2`` unless the weights are not all integers, where it is the
    infinitesimal jackknife (each row a cluster), as R ``survfit``'s ``std.chaz``.
    ``ctype=2``: the Fleming–Harrington tie-corrected hazard instead (R ``ctype = 2``).
    """
    fit = kaplan_meier(
        data, time=time, event=event, by=by, entry=entry, weights=weights, robust=robust,
        drop_missing=drop_missing, timefix=timefix, ctype=ctype,
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
    drop_missing: bool = True,
    levels: Mapping[str, Sequence[Any]] | None = None,
    timefix: bool = True,
) -> pl.DataFrame:
    """Median follow-up by the reverse Kaplan–Meier method (Schemper & Smith, 1996).

    The censoring indicator is reversed (censored = "event") and the median of that curve is
    reported with its CI, exactly as R ``survfit(Surv(time, 1 - event) ~ by)``. (``prodlim``'s
    ``reverse = TRUE`` differs at times where events and censorings tie: it removes the
    events from the risk set first.)
    """
    if (weights is None and robust is not True) or robust is False:  # Greenwood: reverse the fit's own event table
        fit = kaplan_meier(data, time=time, event=event, by=by, entry=entry, weights=weights, robust=False,
                           drop_missing=drop_missing, levels=levels, timefix=timefix)
        return followup_summary(fit.reverse(conf_type=conf_type, conf_level=conf_level))
    cols = prepare(
        data, time=time, event=event, by=by, entry=entry, weights=weights, drop_missing=drop_missing,
        levels=levels, timefix=timefix,
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
        conf_type=conf_type, conf_level=conf_level, robust=robust, timefix=False,  # fixed above
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
    drop_missing: bool = True,
    timefix: bool = True,
) -> RMSTDifference:
    """RMST difference (second level minus first, in sorted order) with CI and p-value.

    ``diff = RMST_2 - RMST_1``, ``se = sqrt(se_1^2 + se_2^2)`` (independent groups), Wald
    z-test and normal CI, each group's RMST as in :meth:`KaplanMeierResult.rmst`.
    """
    fit = kaplan_meier(
        data, time=time, event=event, by=group, entry=entry, weights=weights,
        conf_level=conf_level, drop_missing=drop_missing, timefix=timefix,
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
