"""Competing risks: Aalen–Johansen cumulative incidence (:func:`cumulative_incidence`).

The numeric work is done by :mod:`riskset.engine.cif` on the all-cause event table of
:mod:`riskset.engine.eventtable`; this module owns the event-code parsing (causes and the
censoring code), validation through :mod:`riskset.io.validate`, and the Polars tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from riskset._display import Displayed, _table, _text
from riskset._km import _records, _z
from riskset._prepare import as_names
from riskset.engine import cif as ck
from riskset.engine.eventtable import EventTable, event_table
from riskset.engine.km import CONF_TYPES, confint
from riskset.engine.quantile import TOL
from riskset.errors import ColumnError, OptionError, check_choice
from riskset.io.read import check_columns, to_polars
from riskset.io.validate import SurvivalColumns, validate_survival

#: name of the internal any-cause indicator column (never a user column: validated first)
_ANY = "__riskset_any_event__"


@dataclass(frozen=True)
class CompetingColumns:
    """Validated role arrays plus the cause of each row (0 = censored, 1..K = ``causes``)."""

    cols: SurvivalColumns
    cause: np.ndarray  # int64[n]
    causes: list[Any]  # the event values of causes 1..K, sorted
    censored: Any


def parse_causes(s: pl.Series, censored: Any) -> tuple[np.ndarray, list[Any]]:
    """Cause index of every row (0 = the censoring value, 1..K = the other values, sorted).

    Integer (or integer-valued float) codes, booleans (False = censored) or string /
    categorical labels; labels need ``censored`` to be one of them (a string). Raises
    :class:`ColumnError` naming the column, the codes found and what was expected.
    """
    col = s.name
    if s.null_count() or (s.dtype.is_float() and bool(s.is_nan().any())):
        bad = s.is_null() | (s.is_nan().fill_null(False) if s.dtype.is_float() else False)
        idx = np.flatnonzero(bad.to_numpy())
        raise ColumnError(col, "(event) has missing values (null or NaN)", int(idx.size), int(idx[0]))
    if s.dtype == pl.Boolean:
        s = s.cast(pl.Int8)
    if isinstance(s.dtype, (pl.Categorical, pl.Enum)):
        s = s.cast(pl.String)
    if s.dtype == pl.String:
        values = s.unique().sort().to_list()
        if not isinstance(censored, str):
            raise ColumnError(
                col, f"(event) holds labels {_show(values)} but the censoring value is {censored!r}",
                hint='name the label that means censored, e.g. censored="censored"',
            )
    elif s.dtype.is_numeric():
        v = s.cast(pl.Float64).to_numpy()
        frac = v != np.round(v)
        if frac.any():
            idx = np.flatnonzero(frac)
            raise ColumnError(
                col, f"(event) has non-integer codes: {_show(np.unique(v[frac]).tolist())}",
                int(idx.size), int(idx[0]),
                hint=f"causes must be integer codes with {censored!r} = censored, or labels",
            )
        if isinstance(censored, str) or isinstance(censored, bool) or not isinstance(censored, (int, float)):
            raise ColumnError(
                col, f"(event) holds integer codes but the censoring value is {censored!r}",
                hint="pass an integer censoring code (default 0)",
            )
        s = s.cast(pl.Int64)
        values = s.unique().sort().to_list()
    else:
        raise ColumnError(col, f"(event) must hold integer codes or string labels, got dtype {s.dtype}")
    causes = [x for x in values if x != censored]
    if not causes:
        raise ColumnError(col, f"(event) has no events: every value is the censoring value {censored!r}")
    lookup = pl.DataFrame({"v": [censored, *causes], "k": list(range(len(causes) + 1))},
                          schema={"v": s.dtype, "k": pl.Int64})
    code = s.to_frame("v").join(lookup, on="v", how="left", maintain_order="left").get_column("k")
    return np.ascontiguousarray(code.to_numpy().astype(np.int64)), causes


def _show(values: Sequence[Any], k: int = 8) -> str:
    shown = ", ".join(repr(x) if isinstance(x, str) else f"{x:g}" if isinstance(x, float) else str(x)
                      for x in list(values)[:k])
    return shown + (", ..." if len(values) > k else "")


def prepare_competing(data: Any, *, time: str, event: str, by: str | Sequence[str] | None = None,
                      entry: str | None = None, weights: str | None = None,
                      censored: Any = 0) -> CompetingColumns:
    """Read and validate the role columns; the event column is parsed into causes first."""
    by_names = as_names(by)
    wanted = [time, event, *(c for c in (entry, weights) if c is not None), *by_names]
    frame = to_polars(data, wanted)
    check_columns(frame.columns, wanted)
    cause, causes = parse_causes(frame.get_column(event), censored)
    frame = frame.with_columns(pl.Series(event, (cause > 0).astype(np.int8)))
    cols = validate_survival(frame, time=time, event=event, entry=entry, weights=weights, by=by_names)
    return CompetingColumns(cols=cols, cause=cause, causes=causes, censored=censored)


@dataclass(frozen=True)
class CIFCurves:
    """Aalen–Johansen curves of every cause on the all-cause event table."""

    et: EventTable
    d_cause: np.ndarray  # [K, m]
    s_prev: np.ndarray
    surv: np.ndarray
    cif: np.ndarray  # [K, m]
    var: np.ndarray  # [K, m]


def aalen_johansen(cc: CompetingColumns, variance: str) -> CIFCurves:
    """The event table, curves and variances (one pass per kernel over all groups)."""
    cols = cc.cols
    G = max(cols.n_groups, 1)
    et = event_table(cols.time, cols.event, cols.codes, G, cols.weights, cols.entry)
    K = len(cc.causes)
    weighted = cols.weights is not None
    w = cols.weights if weighted else np.empty(0, dtype=np.float64)
    # rows in time order: the exit-row lookup is a merge, and the IJ kernel reads the
    # per-time arrays sequentially (the order of rows does not change any sum's value
    # beyond rounding: sums per table row are accumulated in this order)
    order = np.argsort(cols.time, kind="stable")
    codes_s = np.ascontiguousarray(np.asarray(cols.codes, dtype=np.int64)[order])
    exit_s = ck.table_rows_sorted(cols.time[order], codes_s, et.time, et.offsets, False)
    cause_s = cc.cause[order]
    w_s = w[order] if weighted else w
    d_cause = ck.cause_counts(exit_s, cause_s, w_s, weighted, K, et.time.size)
    s_prev, surv, F = ck.aj_curves(et.n_risk, et.n_event, d_cause, et.offsets)
    with np.errstate(divide="ignore", invalid="ignore"):
        if variance == "ij":
            if cols.entry is not None:
                eorder = np.argsort(cols.entry, kind="stable")
                in_e = ck.table_rows_sorted(cols.entry[eorder], np.asarray(cols.codes, dtype=np.int64)[eorder],
                                            et.time, et.offsets, True)
                in_all = np.empty_like(in_e)
                in_all[eorder] = in_e
                in_s = in_all[order]
            else:
                in_s = np.empty(0, dtype=np.int64)
            var = ck.var_ij(exit_s, in_s, cause_s, w_s, weighted, codes_s, cols.entry is not None,
                            et.n_risk, et.n_event, d_cause, et.offsets, s_prev, F)
        elif variance == "aalen":
            var = ck.var_aalen(et.n_risk, et.n_event, d_cause, et.offsets, s_prev, surv, F)
        else:
            var = ck.var_delta(et.n_risk, et.n_event, d_cause, et.offsets, s_prev, F)
    return CIFCurves(et, d_cause, s_prev, surv, F, var)


@dataclass(repr=False)
class CumulativeIncidenceResult(Displayed):
    """Aalen–Johansen cumulative incidence of every cause, per group.

    Attributes
    ----------
    by, keys
        Grouping columns and one row per group (the order of every per-group table).
    causes
        The event values of the causes, in the order of the ``cause`` column.
    variance, conf_type, conf_level
        The variance convention (``"ij"``, ``"aalen"``, ``"delta"``) and the CI.

    ``std_err`` is the standard error of the incidence itself (R ``fit$std.err`` of a
    multi-state ``survfit``; cmprsk ``sqrt(cuminc()$var)``).
    """

    by: tuple[str, ...]
    keys: pl.DataFrame
    causes: list[Any]
    censored: Any
    variance: str
    conf_type: str
    conf_level: float
    _curves: CIFCurves = field(repr=False)
    _z: float = field(repr=False)
    _event_dtype: Any = field(repr=False)

    @property
    def n_groups(self) -> int:
        return max(self.keys.height, 1)

    @cached_property
    def _std_err(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.sqrt(self._curves.var)

    @cached_property
    def _bands(self) -> tuple[np.ndarray, np.ndarray]:
        F = self._curves.cif
        se = self._std_err
        with np.errstate(divide="ignore", invalid="ignore"):
            # R survfit_confint(logse = FALSE): se of log p = se / p, and 0 where se = 0
            se_log = np.where(se == 0, 0.0, se / F)
        lo, up = confint(F.ravel(), se_log.ravel(), self._z, CONF_TYPES[self.conf_type])
        return lo.reshape(F.shape), up.reshape(F.shape)

    def _rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Indices (group, cause, table row) of the long table, group then cause then time."""
        off = self._curves.et.offsets
        K = len(self.causes)
        g_idx, k_idx, j_idx = [], [], []
        for g in range(self.n_groups):
            rows = np.arange(off[g], off[g + 1], dtype=np.int64)
            for k in range(K):
                g_idx.append(np.full(rows.size, g, dtype=np.int64))
                k_idx.append(np.full(rows.size, k, dtype=np.int64))
                j_idx.append(rows)
        empty = np.empty(0, dtype=np.int64)
        return tuple(np.concatenate(x) if x else empty for x in (g_idx, k_idx, j_idx))

    def _cause_series(self, k_idx: np.ndarray) -> pl.Series:
        return pl.Series("cause", self.causes, dtype=self._event_dtype).gather(k_idx)

    def _long(self, arr: np.ndarray, *, per_cause: bool = True) -> np.ndarray:
        """A ``[K, m]`` (or per-row ``[m]``) array laid out as the long table: group, then
        cause, then time; contiguous slices, no index arrays."""
        off = self._curves.et.offsets
        K = len(self.causes)
        parts = []
        for g in range(self.n_groups):
            a, b = int(off[g]), int(off[g + 1])
            parts.extend(arr[k, a:b] if per_cause else arr[a:b] for k in range(K))
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)

    @cached_property
    def table(self) -> pl.DataFrame:
        """One row per group, cause and distinct time (every exit time of the group)."""
        c = self._curves
        g, k, _ = self._rows()
        lo, up = self._bands
        body = pl.DataFrame({
            "cause": self._cause_series(k),
            "time": self._long(c.et.time, per_cause=False),
            "n_risk": self._long(c.et.n_risk, per_cause=False),
            "n_event": self._long(c.d_cause),
            "cif": self._long(c.cif),
            "std_err": self._long(self._std_err),
            "lower": self._long(lo),
            "upper": self._long(up),
        }).fill_nan(None)
        return pl.concat([self.keys[g], body], how="horizontal") if self.by else body

    def at(self, times: float | Iterable[float]) -> pl.DataFrame:
        """Incidence of every cause at landmark times (R ``summary(fit, times)``).

        ``cif``, ``std_err`` and the limits are those of the last table time at or before
        the landmark (0 before the first); ``n_risk`` is the number at risk at the landmark,
        ``n_event`` the events of the cause since the previous landmark (or the start).
        """
        ts = np.atleast_1d(np.asarray(list(times) if not np.isscalar(times) else [times], dtype=np.float64))
        if np.isnan(ts).any() or (ts < 0).any():
            raise OptionError("landmark times must be non-negative numbers")
        c = self._curves
        lo_all, up_all = self._bands
        order = np.argsort(ts, kind="stable")
        recs: list[tuple] = []
        for g in range(self.n_groups):
            a, b = int(c.et.offsets[g]), int(c.et.offsets[g + 1])
            t = c.et.time[a:b]
            for k in range(len(self.causes)):
                prev = -np.inf
                out = {}
                for i in order:
                    x = ts[i]
                    jj = int(np.searchsorted(t, x, side="right")) - 1
                    nxt = int(np.searchsorted(t, x, side="left"))
                    n_risk = float(c.et.n_risk[a + nxt]) if nxt < t.size else 0.0
                    inside = (t > prev) & (t <= x)
                    n_ev = float(c.d_cause[k, a:b][inside].sum())
                    prev = x
                    if jj < 0:
                        vals = (0.0, 0.0, np.nan, np.nan)
                    else:
                        r = a + jj
                        vals = (float(c.cif[k, r]), float(self._std_err[k, r]),
                                float(lo_all[k, r]), float(up_all[k, r]))
                    out[i] = (g, k, x, n_risk, n_ev, *vals)
                recs.extend(out[i] for i in range(ts.size))
        arr = np.array([r[2:] for r in recs], dtype=np.float64).reshape(-1, 7)
        g_idx = np.array([r[0] for r in recs], dtype=np.int64)
        k_idx = np.array([r[1] for r in recs], dtype=np.int64)
        body = pl.DataFrame({
            "cause": self._cause_series(k_idx), "time": arr[:, 0], "n_risk": arr[:, 1],
            "n_event": arr[:, 2], "cif": arr[:, 3], "std_err": arr[:, 4], "lower": arr[:, 5],
            "upper": arr[:, 6],
        }).fill_nan(None)
        return pl.concat([self.keys[g_idx], body], how="horizontal") if self.by else body

    def quantile(self, p: float | Iterable[float] = (0.1, 0.25, 0.5)) -> pl.DataFrame:
        """Time at which each cause's incidence first reaches ``p`` (null where it never does).

        ``time`` is the first table time with ``cif >= p`` (within R's quantile tolerance
        ``1e-8``); ``lower`` / ``upper`` are the first times the upper / lower pointwise
        limits reach ``p`` (the CI of that time).
        """
        ps = [float(p)] if isinstance(p, (int, float)) else [float(x) for x in p]
        for x in ps:
            if not 0.0 < x <= 1.0:
                raise OptionError(f"incidence level {x!r} must be in (0, 1]")
        c = self._curves
        lo_all, up_all = self._bands
        recs = []
        for g in range(self.n_groups):
            a, b = int(c.et.offsets[g]), int(c.et.offsets[g + 1])
            t = c.et.time[a:b]
            for k in range(len(self.causes)):
                for x in ps:
                    vals = []
                    for curve in (c.cif[k, a:b], up_all[k, a:b], lo_all[k, a:b]):
                        hit = np.flatnonzero(curve >= x - TOL)
                        vals.append(float(t[hit[0]]) if hit.size else np.nan)
                    recs.append((g, k, x, *vals))
        arr = np.array([r[2:] for r in recs], dtype=np.float64).reshape(-1, 4)
        g_idx = np.array([r[0] for r in recs], dtype=np.int64)
        k_idx = np.array([r[1] for r in recs], dtype=np.int64)
        body = pl.DataFrame({"cause": self._cause_series(k_idx), "p": arr[:, 0], "time": arr[:, 1],
                             "lower": arr[:, 2], "upper": arr[:, 3]}).fill_nan(None)
        return pl.concat([self.keys[g_idx], body], how="horizontal") if self.by else body

    @cached_property
    def summary(self) -> pl.DataFrame:
        """One row per group and cause: rows, events of the cause, final incidence."""
        c = self._curves
        recs = []
        for g in range(self.n_groups):
            a, b = int(c.et.offsets[g]), int(c.et.offsets[g + 1])
            for k in range(len(self.causes)):
                last = c.cif[k, b - 1] if b > a else np.nan
                se = self._std_err[k, b - 1] if b > a else np.nan
                recs.append((g, k, float(c.et.n_rows[g]), float(c.d_cause[k, a:b].sum()), last, se))
        arr = np.array([r[2:] for r in recs], dtype=np.float64).reshape(-1, 4)
        g_idx = np.array([r[0] for r in recs], dtype=np.int64)
        k_idx = np.array([r[1] for r in recs], dtype=np.int64)
        body = pl.DataFrame({"cause": self._cause_series(k_idx), "n": arr[:, 0].astype(np.int64),
                             "events": arr[:, 1], "final_cif": arr[:, 2],
                             "std_err": arr[:, 3]}).fill_nan(None)
        return pl.concat([self.keys[g_idx], body], how="horizontal") if self.by else body

    def _blocks(self) -> list:
        by = ", ".join(self.by) if self.by else "none"
        return [
            _text(f"Cumulative incidence (Aalen–Johansen; by: {by}); {self.variance} variance, "
                  f"{self.conf_type} {self.conf_level:g} CI"),
            _table(self.summary),
            _text("Curves: .table; landmarks: .at(times); times to a level: .quantile(p)"),
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: settings, per-group/cause summary and the full table."""
        return {
            "estimator": "cumulative_incidence",
            "by": list(self.by),
            "causes": [x if isinstance(x, str) else int(x) for x in self.causes],
            "variance": self.variance,
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "summary": _records(self.summary),
            "table": _records(self.table),
        }



def cumulative_incidence(
    data: Any,
    *,
    time: str,
    event: str,
    by: str | Sequence[str] | None = None,
    entry: str | None = None,
    weights: str | None = None,
    variance: str = "ij",
    conf_type: str = "log",
    conf_level: float = 0.95,
    censored: Any = 0,
) -> CumulativeIncidenceResult:
    """Aalen–Johansen cumulative incidence of every cause, with SEs and pointwise CIs.

    Parameters
    ----------
    data
        Any table riskset reads (Polars, pandas, pyarrow, dict of arrays, or a file path).
    time
        Exit time (non-negative).
    event
        Integer codes (``censored``, default 0, = censored; every other value is a cause)
        or string labels with ``censored="label"``. Booleans are 0/1.
    by
        Grouping column(s): one set of curves per observed combination.
    entry
        Delayed entry (left truncation): a row is at risk at t when entry < t <= time.
    weights
        Case weights (non-negative).
    variance
        ``"ij"`` (infinitesimal jackknife, R ``survfit``'s multi-state default),
        ``"aalen"`` (cmprsk ``cuminc``; SAS's Aalen option) or ``"delta"`` (delta method,
        Marubini–Valsecchi; lifelines). Formulas: :mod:`riskset.engine.cif`.
    conf_type
        Pointwise CI transform of the incidence: {'log', 'log-log', 'plain', 'logit',
        'arcsin'} (R ``survfit_confint`` with the standard error of p; default log as R).
    conf_level
        Confidence level.
    censored
        The event value that means censored.

    Returns
    -------
    CumulativeIncidenceResult
        ``.table`` (by columns, ``cause, time, n_risk, n_event, cif, std_err, lower,
        upper``), ``.at(times)``, ``.quantile(p)``, ``.summary``.

    Examples
    --------
    >>> import riskset
    >>> fit = riskset.cumulative_incidence({"t": [1, 2, 3, 4], "e": [1, 2, 0, 1]},
    ...                                    time="t", event="e")
    >>> fit.table.filter(cause=1).get_column("cif").to_list()
    [0.25, 0.25, 0.25, 0.75]
    """
    check_choice("variance", variance, ck.VARIANCES)
    check_choice("conf_type", conf_type, tuple(CONF_TYPES))
    z = _z(conf_level)
    cc = prepare_competing(data, time=time, event=event, by=by, entry=entry, weights=weights,
                           censored=censored)
    curves = aalen_johansen(cc, variance)
    return CumulativeIncidenceResult(
        by=cc.cols.by, keys=cc.cols.keys, causes=cc.causes, censored=censored, variance=variance,
        conf_type=conf_type, conf_level=float(conf_level), _curves=curves, _z=z,
        _event_dtype=pl.String if isinstance(cc.causes[0], str) else pl.Int64,
    )


# ---- Gray's test --------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class GrayTestResult(Displayed):
    """Gray's k-sample test of the cumulative incidence of each cause across groups.

    ``table``: one row per cause with ``statistic``, ``df`` (groups - 1) and ``p_value``.
    """

    group: str
    strata: tuple[str, ...]
    rho: float
    groups: pl.DataFrame
    table: pl.DataFrame

    def _blocks(self) -> list:
        what = self.group + (f"; strata: {', '.join(self.strata)}" if self.strata else "")
        return [_text(f"Gray's test (rho = {self.rho:g}) of cumulative incidence by {what}"),
                _table(self.table)]

    def to_dict(self) -> dict[str, Any]:
        return {"estimator": "gray_test", "group": self.group, "strata": list(self.strata),
                "rho": self.rho, "groups": _records(self.groups), "table": _records(self.table)}


def gray_test(
    data: Any,
    *,
    time: str,
    event: str,
    group: str,
    strata: str | Sequence[str] | None = None,
    rho: float = 0.0,
    censored: Any = 0,
) -> GrayTestResult:
    """Gray's (1988) k-sample test for each cause, as cmprsk ``cuminc(..., group, strata,
    rho)$Tests``.

    The score of each group but the last compares its incidence with the pooled incidence
    (weight ``(1 - F(t-))^rho``), summed over strata; the statistic is ``s' V^-1 s`` on
    ``groups - 1`` degrees of freedom (null where V is singular, where cmprsk reports -1).
    The p-value is ``1 - pchisq`` as cmprsk computes it. Unweighted, no delayed entry
    (cmprsk has neither). ``event`` and ``censored`` as :func:`cumulative_incidence`.
    """
    import math

    from scipy.linalg import lu_factor, lu_solve
    from scipy.stats import chi2

    from riskset.io.validate import encode_groups

    if not isinstance(group, str):
        raise OptionError("group must be one column name")
    rho = float(rho)
    if not math.isfinite(rho):
        raise OptionError(f"rho={rho!r} must be a finite number")
    strata_names = as_names(strata)
    cc = prepare_competing(data, time=time, event=event, by=group, censored=censored)
    cols = cc.cols
    ng = cols.n_groups
    if ng < 2:
        raise ColumnError(group, f"(group) has {ng} level; Gray's test needs at least 2")
    if strata_names:
        sframe = to_polars(data, list(strata_names))
        for sname in strata_names:
            miss = sframe.get_column(sname).is_null()
            if miss.any():
                idx = np.flatnonzero(miss.to_numpy())
                raise ColumnError(sname, "(strata) has missing values", int(idx.size), int(idx[0]))
        scodes, skeys = encode_groups(sframe, strata_names)
        n_strata = skeys.height
    else:
        scodes = np.zeros(cols.time.size, dtype=np.int64)
        n_strata = 1
    order = np.argsort(cols.time)  # the order of tied rows does not matter (counts only)
    t_sorted = np.ascontiguousarray(cols.time[order])
    g_sorted = np.ascontiguousarray(np.asarray(cols.codes, dtype=np.int64)[order])
    s_sorted = np.asarray(scodes, dtype=np.int64)[order]
    cause_sorted = cc.cause[order]
    stats, pvals = [], []
    for k in range(1, len(cc.causes) + 1):
        mcode = np.where(cause_sorted == k, 1, np.where(cause_sorted > 0, 2, 0)).astype(np.int64)
        s = np.zeros(ng - 1)
        v = np.zeros((ng - 1, ng - 1))
        for h in range(n_strata):
            sel = s_sorted == h
            ck.gray_stratum(t_sorted[sel], mcode[sel], g_sorted[sel], ng, rho, s, v)
        stat = np.nan
        if np.linalg.matrix_rank(v) == ng - 1:
            stat = float(s @ lu_solve(lu_factor(v), s))
        stats.append(stat)
        pvals.append(float(1.0 - chi2.cdf(stat, ng - 1)) if stat == stat else np.nan)
    table = pl.DataFrame({
        "cause": pl.Series("cause", cc.causes, dtype=pl.String if isinstance(cc.causes[0], str) else pl.Int64),
        "statistic": stats, "df": [ng - 1] * len(stats), "p_value": pvals,
    }).fill_nan(None)
    return GrayTestResult(group=group, strata=strata_names, rho=rho, groups=cols.keys, table=table)
