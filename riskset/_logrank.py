"""Log-rank family: k-sample weighted log-rank tests, trend test, pairwise tests, batch grid.

Public functions: :func:`logrank`, :func:`logrank_trend`, :func:`logrank_pairwise`; the
batch grid :func:`~riskset._logrank_grid.logrank_table` is in :mod:`riskset._logrank_grid`.
The sums are computed by :mod:`riskset.engine.logrank` on top of the
sort-free event tables of :mod:`riskset.engine.eventtable`; this module owns the data path
(one call to :func:`riskset._prepare.prepare`), the choice of weights and the Polars tables.

``logrank`` matches R ``survdiff(Surv(time, event) ~ group + strata(...), rho = rho)``:
``obs``, ``exp``, ``var``, ``chisq`` (solved on the groups with expected > 0, dropping the
first of them), ``df`` = (groups with expected > 0) - 1 and ``pchisq(chisq, df, lower =
FALSE)``. Case weights, delayed entry, ``gamma`` and the Gehan/Tarone–Ware weights are
extensions with the same formulas (see the engine contract).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy.special import chdtrc

from riskset import _display
from riskset._display import Displayed
from riskset._prepare import as_names, prepare
from riskset.engine import logrank as lr
from riskset.engine import timefix as tf
from riskset.engine.eventtable import EventTable, event_table, partition_values, sort_segments
from riskset.errors import ColumnError, OptionError, RisksetError, check_choice
from riskset.io.validate import apply_timefix, encode_groups, order_kind, require_order

#: Named weightings accepted by ``weighting=``.
WEIGHTINGS: tuple[str, ...] = ("logrank", "wilcoxon", "tarone-ware", "peto", "fleming-harrington")

#: Multiplicity adjustments accepted by :func:`logrank_pairwise`.
ADJUSTMENTS: tuple[str, ...] = ("holm", "bonferroni", "bh", "none")


# --------------------------------------------------------------------------------------------
# core: arrays in, sums out
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Weighting:
    name: str
    mode: int
    rho: float
    gamma: float


def _resolve_weighting(weighting: str | None, rho: float, gamma: float) -> _Weighting:
    for nm, v in (("rho", rho), ("gamma", gamma)):
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0):
            raise OptionError(f"{nm}={v!r} must be a finite number >= 0")
    rho, gamma = float(rho), float(gamma)
    if weighting is None:
        if rho == 0.0 and gamma == 0.0:
            return _Weighting("logrank", lr.MODE_FH, 0.0, 0.0)
        return _Weighting("fleming-harrington", lr.MODE_FH, rho, gamma)
    check_choice("weighting", weighting, WEIGHTINGS)
    if weighting == "fleming-harrington":
        return _Weighting(weighting, lr.MODE_FH, rho, gamma)
    if rho != 0.0 or gamma != 0.0:
        raise OptionError(
            f"rho/gamma apply only to weighting='fleming-harrington' (or weighting=None), "
            f"not to weighting={weighting!r}"
        )
    if weighting == "logrank":
        return _Weighting(weighting, lr.MODE_FH, 0.0, 0.0)
    if weighting == "peto":
        return _Weighting(weighting, lr.MODE_FH, 1.0, 0.0)
    if weighting == "wilcoxon":
        return _Weighting(weighting, lr.MODE_GEHAN, 0.0, 0.0)
    return _Weighting(weighting, lr.MODE_TARONE, 0.0, 0.0)


@dataclass(frozen=True)
class _Sums:
    obs: np.ndarray  # [S, G]
    exp: np.ndarray  # [S, G]
    var: np.ndarray  # [G, G]


def _sums(
    time: np.ndarray,
    event: np.ndarray,
    weights: np.ndarray | None,
    entry: np.ndarray | None,
    strata: np.ndarray,
    n_strata: int,
    groups: np.ndarray,
    n_groups: int,
    wt: _Weighting,
    *,
    timefix: bool = False,
) -> _Sums:
    """O, E, V from role arrays (no validation; codes in range). With ``timefix`` (right-
    censored data only) near-tied times are merged on the cells' sorted event table, as
    :func:`riskset._prepare.fixed_event_table` does (the pool: every row given)."""
    cells = strata * n_groups + groups if n_strata > 1 else groups
    n_cells = n_strata * n_groups
    ct = event_table(time, event, cells, n_cells, weights, entry)
    if timefix and entry is None:
        ct = fixed_table(ct)
    weighted = weights is not None
    has_entry = entry is not None
    if has_entry:
        w = weights if weighted else np.empty(0, dtype=np.float64)
        ev, ew, eoff = partition_values(entry, cells, n_cells, w, weighted)
        sort_segments(ev, ew, eoff, weighted=weighted)
    else:
        ev = ew = np.empty(0, dtype=np.float64)
        eoff = np.zeros(n_cells + 1, dtype=np.int64)
    return sums_from_table(ct, ev, ew, eoff, n_strata, n_groups, wt, has_entry=has_entry,
                           weighted=weighted)


def sums_from_table(ct, ev, ew, eoff, n_strata, n_groups, wt, *, has_entry, weighted) -> _Sums:
    """O, E, V from the per-cell (stratum x group) event table ``ct`` and the sorted entry
    times ``ev`` (weights ``ew``, offsets ``eoff``) of each cell: the post-table step of
    :func:`logrank`, shared with :mod:`riskset.distributed` (merged tables)."""
    # each stratum's distinct times: a merge of its groups' sorted tables (no second sort)
    p_time, p_off = lr.pooled_times(ct.time, ct.offsets, n_strata, n_groups)
    nr, dr = lr.risk_by_group(
        p_time, p_off, ct.time, ct.n_event + ct.n_censor, ct.n_event, ct.offsets,
        n_groups, ev, ew, eoff, has_entry, weighted,
    )
    obs, exp_, var = lr.logrank_sums(nr, dr, p_off, wt.mode, wt.rho, wt.gamma)
    return _Sums(obs, exp_, var)


def fixed_table(ct: EventTable) -> EventTable:
    """``ct`` with near-tied times (pooled over all its segments) moved and its rows
    collapsed in place (:func:`riskset.engine.timefix.table_moves`, ``merge_table_rows``)."""
    moves = tf.table_moves(ct.time, ct.offsets)
    if moves is None:
        return ct
    t, r, d, c = ct.time, ct.n_risk, ct.n_event, ct.n_censor
    m, off = tf.merge_table_rows(t, r, d, c, ct.offsets, moves[0], moves[1])
    return EventTable(t[:m], r[:m], d[:m], c[:m], off, ct.n_rows)


def _chisq(o_minus_e: np.ndarray, exp_total: np.ndarray, var: np.ndarray) -> tuple[float, int]:
    """R survdiff: solve on groups with expected > 0, dropping the first of them."""
    keep = np.flatnonzero(exp_total > 0)
    df = int(keep.size) - 1
    if keep.size < 2:
        return 0.0, max(df, 0)
    idx = keep[1:]
    u = o_minus_e[idx]
    vv = var[np.ix_(idx, idx)]
    try:
        sol = np.linalg.solve(vv, u)
    except np.linalg.LinAlgError:  # singular: generalised inverse
        sol = np.linalg.pinv(vv) @ u
    return float(sol @ u), df


def _chi2_sf(x: float, df: int) -> float:
    if df <= 0 or not math.isfinite(x):
        return float("nan")
    return float(chdtrc(df, x))  # chi-square upper tail, as pchisq(x, df, lower = FALSE)


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass(repr=False)
class TrendResult(Displayed):
    """Log-rank test for trend across ordered groups (1 df).

    ``statistic = (c'(O - E))^2 / (c' V c)`` with scores ``c`` (default ``1..G`` in group
    order); ``z = c'(O - E) / sqrt(c' V c)``.

    ``scores`` has one row per group (the group columns, in the order used) and its
    ``score``; ``order`` says where each group column's order came from (``"declared"``,
    ``"numeric"``, ... see :func:`riskset.io.validate.order_kind`) and ``scores_given``
    whether the scores were passed (else ``1..G``).
    """

    statistic: float
    df: int
    p_value: float
    z: float
    scores: pl.DataFrame
    weighting: str
    order: dict[str, str] = field(default_factory=dict)
    scores_given: bool = False

    def scores_text(self) -> str:
        """The scores as ``level=score`` pairs in group order (for printed output)."""
        labels = _labels(self.scores.drop("score"))
        return ", ".join(f"{lv}={s:g}" for lv, s in zip(labels, self.scores.get_column("score"), strict=True))

    def _blocks(self) -> list:
        return _display.trend_blocks(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": "logrank_trend",
            "weighting": self.weighting,
            "statistic": _num(self.statistic),
            "df": self.df,
            "p_value": _num(self.p_value),
            "z": _num(self.z),
            "scores": _records(self.scores),
            "scores_given": self.scores_given,
            "order": dict(self.order),
        }


@dataclass(repr=False)
class LogRankResult(Displayed):
    """k-sample (weighted, optionally stratified) log-rank test, as R ``survdiff``.

    Attributes
    ----------
    statistic, df, p_value
        Chi-square statistic, degrees of freedom ((groups with expected > 0) - 1) and its
        upper-tail p-value.
    table
        One row per group (the group columns, in sorted order): ``n`` (rows), ``observed``,
        ``expected``, ``observed_minus_expected``, ``variance`` (diagonal of V). Observed and
        expected are weighted by ``W(t)`` (R's convention for ``rho > 0``).
    variance_matrix
        ``G x G`` numpy array (R's ``$var``).
    weighting, rho, gamma
        The test weights used.
    observed_by_strata, expected_by_strata
        ``G x S`` arrays (R's ``$obs``/``$exp`` when stratified); ``strata_keys`` names them.
    """

    statistic: float
    df: int
    p_value: float
    table: pl.DataFrame
    variance_matrix: np.ndarray
    weighting: str
    rho: float
    gamma: float
    group: tuple[str, ...]
    strata: tuple[str, ...]
    strata_keys: pl.DataFrame
    observed_by_strata: np.ndarray = field(repr=False)
    expected_by_strata: np.ndarray = field(repr=False)
    n_excluded: int = 0  # rows left out for a missing value in a used column (complete cases)

    @property
    def observed(self) -> np.ndarray:
        return self.table.get_column("observed").to_numpy()

    @property
    def expected(self) -> np.ndarray:
        return self.table.get_column("expected").to_numpy()

    def trend(self, scores: Sequence[float] | Mapping[Any, float] | None = None) -> TrendResult:
        """Test for trend across the groups with ``scores`` (default ``1..G``; see
        :class:`TrendResult`). ``scores`` is a sequence in group order or a mapping from
        group value (single group column) to score.

        The default scores need an order: groups on text levels with no declared order raise
        :class:`~riskset.errors.LevelOrderError` (give ``levels=`` or an Enum column)."""
        keys = self.table.select(list(self.group))
        if scores is None:
            require_order(keys)
        c = _scores(keys, self.group, scores)
        u = self.observed - self.expected
        num = float(c @ u)
        den = float(c @ self.variance_matrix @ c)
        if not den > 0:
            raise RisksetError("trend test undefined: the scores have zero variance (c'Vc = 0)")
        stat = num * num / den
        return TrendResult(
            statistic=stat,
            df=1,
            p_value=_chi2_sf(stat, 1),
            z=num / math.sqrt(den),
            scores=keys.with_columns(pl.Series("score", c)),
            weighting=self.weighting,
            order={g: order_kind(keys.schema[g]) for g in self.group},
            scores_given=scores is not None,
        )

    def _blocks(self) -> list:
        return _display.logrank_blocks(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: test settings, statistic and the per-group table."""
        return {
            "test": "logrank",
            "weighting": self.weighting,
            "rho": self.rho,
            "gamma": self.gamma,
            "group": list(self.group),
            "strata": list(self.strata),
            "statistic": _num(self.statistic),
            "df": self.df,
            "p_value": _num(self.p_value),
            "n_excluded": self.n_excluded,
            "table": _records(self.table),
            "variance_matrix": [[_num(v) for v in row] for row in self.variance_matrix.tolist()],
        }


def _num(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _records(df: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in df.iter_rows(named=True):
        rec = {}
        for k, v in row.items():
            if isinstance(v, float):
                rec[k] = _num(v)
            elif v is None or isinstance(v, (int, str, bool)):
                rec[k] = v
            else:
                rec[k] = str(v)
        out.append(rec)
    return out


def _scores(keys: pl.DataFrame, group: tuple[str, ...], scores: Any) -> np.ndarray:
    G = keys.height
    if scores is None:
        return np.arange(1, G + 1, dtype=np.float64)
    if isinstance(scores, Mapping):
        if len(group) != 1:
            raise OptionError("scores as a mapping needs a single group column; pass a sequence")
        vals = keys.get_column(group[0]).to_list()
        missing = [v for v in vals if v not in scores]
        if missing:
            raise OptionError(f"scores has no entry for group level(s) {missing!r}")
        c = np.array([float(scores[v]) for v in vals], dtype=np.float64)
    else:
        c = np.asarray(list(scores), dtype=np.float64)
        if c.shape != (G,):
            raise OptionError(f"scores must have one value per group ({G}), got {c.size}")
    if not np.isfinite(c).all():
        raise OptionError("scores must be finite numbers")
    return c


# --------------------------------------------------------------------------------------------
# encoding helpers
# --------------------------------------------------------------------------------------------
def _split_codes(keys: pl.DataFrame, codes: np.ndarray, strata: tuple[str, ...], group: tuple[str, ...]):
    """Split combined ``by=[*strata, *group]`` codes into stratum and group codes."""
    if strata:
        s_of_key, s_keys = encode_groups(keys, strata)
    else:
        s_of_key, s_keys = np.zeros(keys.height, dtype=np.int64), pl.DataFrame()
    g_of_key, g_keys = encode_groups(keys, group)
    if not strata and np.array_equal(g_of_key, np.arange(keys.height)):
        # unstratified: the combined codes already are the group codes (no per-row gathers)
        return np.zeros(codes.size, dtype=np.int64), 1, s_keys, np.ascontiguousarray(codes), g_keys
    return (
        np.ascontiguousarray(s_of_key[codes]),
        max(s_keys.height, 1),
        s_keys,
        np.ascontiguousarray(g_of_key[codes]),
        g_keys,
    )


def _check_names(group: tuple[str, ...], strata: tuple[str, ...]) -> None:
    if not group:
        raise OptionError("group= must name at least one column")
    both = set(group) & set(strata)
    if both:
        raise OptionError(f"column(s) {sorted(both)!r} cannot be both group and strata")


def _one_level_error(group: tuple[str, ...], keys: pl.DataFrame) -> RisksetError:
    name = group[0] if len(group) == 1 else ", ".join(group)
    level = _labels(keys)[0] if keys.height else "none"
    return ColumnError(
        name,
        f"(group) has only one level ({level}); a log-rank test needs at least two groups",
    )


def _labels(keys: pl.DataFrame) -> list[str]:
    if keys.width == 0:
        return []
    cols = [keys.get_column(c).cast(pl.String).fill_null("null").to_list() for c in keys.columns]
    return [", ".join(parts) for parts in zip(*cols, strict=True)]


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def logrank(
    data: Any,
    *,
    time: str,
    event: str,
    group: str | Sequence[str],
    strata: str | Sequence[str] | None = None,
    entry: str | None = None,
    weights: str | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
    weighting: str | None = None,
    drop_missing: bool = True,
    levels: Mapping[str, Sequence[Any]] | None = None,
    timefix: bool = True,
) -> LogRankResult:
    """k-sample log-rank test (R ``survdiff``), optionally stratified and weighted.

    Parameters
    ----------
    data
        Polars/pandas DataFrame, LazyFrame, Arrow table or file path.
    time, event, group
        Column names; ``group`` may be several columns (their combinations are the groups).
    strata
        Stratification columns: sums are computed within strata and added (R
        ``strata()``).
    entry, weights
        Delayed entry (``entry < t <= time`` at risk) and case weights (extensions; R's
        ``survdiff`` accepts neither).
    rho, gamma
        Fleming–Harrington ``W(t) = S(t-)^rho (1 - S(t-))^gamma`` with ``S`` the pooled KM
        of the stratum (R ``survdiff(rho=)`` when ``gamma = 0``).
    weighting
        ``"logrank"`` (W=1), ``"wilcoxon"`` (Gehan–Breslow, W = n at risk),
        ``"tarone-ware"`` (W = sqrt(n)), ``"peto"`` (W = S(t-), R's ``rho = 1``) or
        ``"fleming-harrington"`` (uses ``rho``/``gamma``). None: log-rank, or
        Fleming–Harrington when ``rho``/``gamma`` are given.
    drop_missing
        ``True`` (default, as R's ``na.omit``): test the complete cases of the used columns;
        a :class:`~riskset.errors.RisksetWarning` counts the excluded rows and
        ``n_excluded`` holds their number. ``False``: a missing value raises
        :class:`~riskset.errors.ColumnError`.
    levels
        ``{column: [level, ...]}``: the order of the groups' levels (rows of the table, the
        trend scores). Without it a Polars Enum / pandas Categorical / Arrow dictionary /
        SPSS-Stata value labels keep their order, numbers sort numerically and text
        alphabetically (:mod:`riskset.io.validate`, level order).
    timefix
        Merge near-tied times first, as R ``survdiff(timefix = TRUE)`` (the default; see
        ``docs/algorithms/timefix.md``).
    """
    from riskset.distributed import is_dask

    if is_dask(data):  # partitions on a Dask cluster: riskset/distributed/execute.py
        from riskset.distributed.execute import logrank_dask

        return logrank_dask(data, time=time, event=event, group=group, strata=strata, entry=entry,
                            weights=weights, rho=rho, gamma=gamma, weighting=weighting,
                            drop_missing=drop_missing, timefix=timefix)
    grp, strat = as_names(group), as_names(strata)
    _check_names(grp, strat)
    wt = _resolve_weighting(weighting, rho, gamma)
    cols = prepare(
        data, time=time, event=event, by=[*strat, *grp], entry=entry, weights=weights,
        drop_missing=drop_missing, levels=levels, timefix=timefix and entry is not None,  # else on the table
    )
    s_codes, n_strata, s_keys, g_codes, g_keys = _split_codes(cols.keys, cols.codes, strat, grp)
    if g_keys.height < 2:
        raise _one_level_error(grp, g_keys)
    res = _test(
        cols.time, cols.event, cols.weights, cols.entry, s_codes, n_strata, s_keys,
        g_codes, g_keys, grp, strat, wt, timefix and entry is None,
    )
    res.n_excluded = cols.n_dropped
    return res


def _test(time, event, weights, entry, s_codes, n_strata, s_keys, g_codes, g_keys, grp, strat, wt,
          timefix=False):
    G = g_keys.height
    sums = _sums(time, event, weights, entry, s_codes, n_strata, g_codes, G, wt, timefix=timefix)
    n = np.bincount(g_codes, minlength=G).astype(np.int64)
    return result_from_sums(sums, n, g_keys, s_keys, grp, strat, wt)


def result_from_sums(sums, n, g_keys, s_keys, grp, strat, wt) -> LogRankResult:
    """The test and its tables from O, E, V and the rows per group ``n`` (shared with
    :mod:`riskset.distributed`)."""
    o = sums.obs.sum(axis=0)
    e = sums.exp.sum(axis=0)
    stat, df = _chisq(o - e, e, sums.var)
    body = pl.DataFrame(
        {
            "n": n,
            "observed": o,
            "expected": e,
            "observed_minus_expected": o - e,
            "variance": np.diag(sums.var).copy(),
        }
    )
    return LogRankResult(
        statistic=stat,
        df=df,
        p_value=_chi2_sf(stat, df),
        table=pl.concat([g_keys, body], how="horizontal"),
        variance_matrix=sums.var,
        weighting=wt.name,
        rho=wt.rho,
        gamma=wt.gamma,
        group=grp,
        strata=strat,
        strata_keys=s_keys,
        observed_by_strata=sums.obs.T.copy(),
        expected_by_strata=sums.exp.T.copy(),
    )


def logrank_trend(
    data: Any,
    *,
    time: str,
    event: str,
    group: str | Sequence[str],
    scores: Sequence[float] | Mapping[Any, float] | None = None,
    strata: str | Sequence[str] | None = None,
    entry: str | None = None,
    weights: str | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
    weighting: str | None = None,
    drop_missing: bool = True,
    levels: Mapping[str, Sequence[Any]] | None = None,
    timefix: bool = True,
) -> TrendResult:
    """Log-rank test for trend across ordered groups (1 df); see :class:`TrendResult`.

    Groups are in their level order (:mod:`riskset.io.validate`): an Enum's / Categorical's
    declared order, ``levels=``, numbers numerically. ``scores`` default to ``1..G`` in that
    order (or give a mapping ``{level: score}``). Text groups with no declared order raise
    :class:`~riskset.errors.LevelOrderError` unless ``scores`` or ``levels`` are given: their
    alphabetical order is rarely the real one. Other arguments as :func:`logrank`.
    """
    res = logrank(
        data, time=time, event=event, group=group, strata=strata, entry=entry,
        weights=weights, rho=rho, gamma=gamma, weighting=weighting, drop_missing=drop_missing,
        levels=levels,
        timefix=timefix,
    )
    return res.trend(scores)


def _p_adjust(p: np.ndarray, method: str) -> np.ndarray:
    """R ``p.adjust`` for holm, bonferroni, BH (``"bh"``) and none; NaN p-values pass through."""
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    q = p[ok]
    m = q.size
    if m == 0 or method == "none":
        out[ok] = q
        return out
    if method == "bonferroni":
        adj = np.minimum(1.0, q * m)
    elif method == "holm":
        o = np.argsort(q, kind="stable")
        adj_sorted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[o]))
        adj = np.empty(m)
        adj[o] = adj_sorted
    else:  # bh
        o = np.argsort(q, kind="stable")[::-1]
        i = np.arange(m, 0, -1)
        adj_sorted = np.minimum(1.0, np.minimum.accumulate(m / i * q[o]))
        adj = np.empty(m)
        adj[o] = adj_sorted
    out[ok] = adj
    return out


def logrank_pairwise(
    data: Any,
    *,
    time: str,
    event: str,
    group: str | Sequence[str],
    strata: str | Sequence[str] | None = None,
    entry: str | None = None,
    weights: str | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
    weighting: str | None = None,
    adjust: str | None = "holm",
    drop_missing: bool = True,
    levels: Mapping[str, Sequence[Any]] | None = None,
    timefix: bool = True,
) -> pl.DataFrame:
    """All pairwise two-group log-rank tests (same weighting/strata as :func:`logrank`).

    Each pair is tested on the rows of those two groups only (as R
    ``survdiff(..., subset = group %in% pair)``; survminer's ``pairwise_survdiff``). Returns
    one row per pair ``(group1, group2)`` in group order with ``statistic``, ``df``,
    ``p_value`` and ``p_adjusted`` (R ``p.adjust``: ``"holm"``, ``"bonferroni"``, ``"bh"``
    (Benjamini–Hochberg) or None / ``"none"``). With several group columns the pair labels
    are the values joined by ", ". With ``timefix`` (the default) near-tied times are merged
    within each pair's rows, as that ``survdiff`` call does (the rule's tolerance is relative
    to the mean of the times it sees).
    """
    method = "none" if adjust is None else check_choice("adjust", adjust, ADJUSTMENTS)
    grp, strat = as_names(group), as_names(strata)
    _check_names(grp, strat)
    wt = _resolve_weighting(weighting, rho, gamma)
    cols = prepare(
        data, time=time, event=event, by=[*strat, *grp], entry=entry, weights=weights,
        drop_missing=drop_missing, levels=levels, timefix=False,  # merged per pair below, as R does
    )
    s_codes, n_strata, s_keys, g_codes, g_keys = _split_codes(cols.keys, cols.codes, strat, grp)
    G = g_keys.height
    if G < 2:
        raise _one_level_error(grp, g_keys)
    if len(grp) == 1:
        labels = g_keys.get_column(grp[0])
    else:
        labels = pl.Series(_labels(g_keys))
    i1, i2, st, dfs, ps = [], [], [], [], []
    for a in range(G):
        for b in range(a + 1, G):
            mask = (g_codes == a) | (g_codes == b)
            sub_g = np.ascontiguousarray((g_codes[mask] == b).astype(np.int64))
            res = _sub_test(cols, mask, s_codes, n_strata, sub_g, wt, timefix, (time, entry))
            i1.append(a)
            i2.append(b)
            st.append(res[0])
            dfs.append(res[1])
            ps.append(res[2])
    p = np.asarray(ps, dtype=np.float64)
    return pl.DataFrame(
        {
            "group1": labels.gather(i1),
            "group2": labels.gather(i2),
            "statistic": np.asarray(st, dtype=np.float64),
            "df": np.asarray(dfs, dtype=np.int64),
            "p_value": p,
            "p_adjusted": _p_adjust(p, method),
        }
    ).fill_nan(None)


def _take(a: np.ndarray | None, mask: np.ndarray) -> np.ndarray | None:
    return None if a is None else np.ascontiguousarray(a[mask])


def _sub_test(cols, mask, s_codes, n_strata, sub_g, wt, timefix, names) -> tuple[float, int, float]:
    """Two-or-more-group test on the rows in ``mask`` with group codes ``sub_g`` (their
    near-tied times merged first with ``timefix``; ``names``: the time and entry columns)."""
    G = int(sub_g.max()) + 1
    t, ent = _take(cols.time, mask), _take(cols.entry, mask)
    if timefix and ent is not None:  # right-censored rows: merged on the pair's table instead
        rows = np.flatnonzero(mask) if cols.rows is None else cols.rows[mask]
        t, ent, _ = apply_timefix(t, ent, time=names[0], entry=names[1], rows=rows)
    sums = _sums(
        t, _take(cols.event, mask), _take(cols.weights, mask),
        ent, np.ascontiguousarray(s_codes[mask]), n_strata, sub_g, G, wt, timefix=timefix and ent is None,
    )
    o = sums.obs.sum(axis=0)
    e = sums.exp.sum(axis=0)
    stat, df = _chisq(o - e, e, sums.var)
    return stat, df, _chi2_sf(stat, df)
