"""The batch log-rank grid (:func:`logrank_table`): every factor x ``by`` level in one pass.

Rows are ordered once by (by-level, stratum, time, event) (:class:`_GridOrder`); each factor
then costs a gather of its codes and one linear pass of :func:`riskset.engine.logrank.grid_sums_multi`.
The single tests and their statistics are :mod:`riskset._logrank`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from riskset._logrank import _chi2_sf, _chisq, _labels, _resolve_weighting, _sub_test, _Weighting
from riskset._prepare import as_names
from riskset.engine import logrank as lr
from riskset.engine.checks import int_range, is_sorted
from riskset.engine.eventtable import is_key_sorted
from riskset.engine.gather import pack_records
from riskset.errors import ColumnError, OptionError, RisksetWarning, missing_advice
from riskset.errors import warn as _warn
from riskset.io.read import to_polars
from riskset.io.validate import _column_codes, apply_timefix, encode_groups, validate_survival


class _GridOrder:
    """Rows sorted once by (by-level, stratum, time, event) for every factor of a grid.

    One counting partition by cell and one argsort of each cell's packed time keys; each
    factor then costs a gather of its codes and one linear pass (:func:`lr.grid_sums`)
    instead of a partition and sort per test.
    """

    def __init__(self, cols, b_codes: np.ndarray, n_by: int, s_codes: np.ndarray, n_strata: int):
        self.n_by, self.n_strata = n_by, n_strata
        self.weighted = cols.weights is not None
        if n_by * n_strata == 1 and is_key_sorted(cols.time, cols.event):
            # one cell, rows already in time order (the study runner's): the order is the
            # identity, so no keys, no row index and no gathers
            self.rows = None
            self.off = np.array([0, cols.time.size], dtype=np.int64)
            self.time, self.event = cols.time, cols.event
            self.w = cols.weights if self.weighted else np.empty(0)
            return
        cells = b_codes * n_strata + s_codes
        keys, rows, off = lr.partition_keys_indexed(cols.time, cols.event, cells, n_by * n_strata)
        for c in range(off.size - 1):
            lo, hi = int(off[c]), int(off[c + 1])
            if hi - lo > 1 and not is_sorted(keys[lo:hi]):  # rows given in time order: no sort
                o = np.argsort(keys[lo:hi])
                keys[lo:hi] = keys[lo:hi][o]
                rows[lo:hi] = rows[lo:hi][o]
        self.rows = rows
        self.off = off
        # time and event come back out of the sorted keys (no random gather)
        self.time = (keys >> np.uint64(1)).view(np.float64)
        self.event = (keys & np.uint64(1)).astype(np.int8)
        self.w = np.ascontiguousarray(cols.weights[rows]) if self.weighted else np.empty(0)

    def sums_all(self, codes: list[np.ndarray], n_levels: list[int], wt: _Weighting):
        """Per by-level and factor O, E, V (summed over strata) and N, all factors in one pass."""
        # factor codes as one row-major matrix in sorted row order (then one gather of each
        # row's cache-line sized codes): one-byte codes written straight into its rows,
        # wider ones stacked and transposed
        if max(n_levels) <= 127:
            mat = pack_records([[np.asarray(c).astype(np.int8, copy=False).view(np.uint8)] for c in codes],
                               len(codes)).view(np.int8).reshape(-1, len(codes))
        else:
            mat = lr.transpose_codes(np.stack([np.asarray(c).astype(np.int16, copy=False) for c in codes]))
        codes_s = mat if self.rows is None else lr.gather_rows(mat, self.rows)
        obs, expd, var, cnt = lr.grid_sums_multi(
            self.time, self.event, self.w, self.weighted, self.off, codes_s,
            np.asarray(n_levels, dtype=np.int64), wt.mode, wt.rho, wt.gamma)
        S = self.n_strata
        F, L = obs.shape[1], obs.shape[2]
        return (obs.reshape(self.n_by, S, F, L).sum(axis=1), expd.reshape(self.n_by, S, F, L).sum(axis=1),
                var.reshape(self.n_by, S, F, L, L).sum(axis=1), cnt.reshape(self.n_by, S, F, L).sum(axis=1))


def logrank_table(
    data: Any,
    *,
    time: str,
    event: str,
    factors: str | Sequence[str],
    by: str | Sequence[str] | None = None,
    strata: str | Sequence[str] | None = None,
    entry: str | None = None,
    weights: str | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
    weighting: str | None = None,
    drop_missing: bool = True,
    levels: Mapping[str, Sequence[Any]] | None = None,
    timefix: bool = True,
) -> pl.DataFrame:
    """Batch grid of log-rank tests: one row per (``by`` level, factor).

    The data are read and validated once (time/event/entry/weights/by/strata); each factor
    column is encoded on its own. Rows with a missing factor value raise
    :class:`~riskset.errors.ColumnError` with ``drop_missing=False``; by default
    (``drop_missing=True``) they are left out of that factor's tests only, counted per row
    in ``n_excluded`` and in a :class:`~riskset.errors.RisksetWarning`. A factor with a single level inside a subgroup gets a row with null
    ``statistic``/``df``/``p_value`` and a ``note`` instead of failing the grid.

    Columns: the ``by`` columns, ``factor``, ``levels`` (number of levels tested), ``n``
    (rows per level, e.g. ``"no=30; yes=22"``), ``n_excluded`` (rows of the subgroup missing
    the factor), ``statistic``, ``df``, ``p_value``,
    ``weighting``, ``note``. ``levels`` (``{column: [level, ...]}``) orders a factor's or
    subgroup's levels (the level-order policy of :mod:`riskset.io.validate`).

    With ``timefix`` (the default) near-tied times are merged as R ``survdiff`` does, once
    within each ``by`` level (the rows that level's tests see; a factor's missing values do
    not change the pool: see ``docs/algorithms/timefix.md``).
    """
    fac = as_names(factors)
    by_n, strat = as_names(by), as_names(strata)
    if not fac:
        raise OptionError("factors= must name at least one column")
    clash = set(fac) & set(strat)
    if clash:
        raise OptionError(f"column(s) {sorted(clash)!r} cannot be both a factor and strata")
    wt = _resolve_weighting(weighting, rho, gamma)
    wanted = [time, event, *(c for c in (entry, weights) if c is not None), *by_n, *strat]
    wanted += [f for f in fac if f not in wanted]
    frame = to_polars(data, list(dict.fromkeys(wanted)), levels,
                      plain=[c for c in (time, event, entry, weights) if c])
    for f in fac:
        if f not in frame.columns:
            from riskset.io.read import check_columns

            check_columns(frame.columns, [f])
    cols = validate_survival(
        frame, time=time, event=event, entry=entry, weights=weights, by=[*by_n, *strat],
        drop_missing=drop_missing, timefix=timefix and not by_n,
    )
    if cols.rows is not None:
        frame = frame[cols.rows]
    # split combined by+strata codes
    keys = cols.keys
    if by_n:
        b_of_key, b_keys = encode_groups(keys, by_n)
    else:
        b_of_key, b_keys = np.zeros(max(keys.height, 1), dtype=np.int64), pl.DataFrame()
    if strat:
        s_of_key, s_keys = encode_groups(keys, strat)
        n_strata = s_keys.height
    else:
        s_of_key, n_strata = np.zeros(max(keys.height, 1), dtype=np.int64), 1
    # per-row by and strata codes; without by or strata columns they are all 0 (zeros are
    # not gathered: an untouched zero array costs no pages)
    n_rows = cols.codes.size
    b_codes = b_of_key[cols.codes] if by_n else np.zeros(n_rows, dtype=np.int64)
    s_all = s_of_key[cols.codes] if strat else np.zeros(n_rows, dtype=np.int64)
    n_by = max(b_keys.height, 1)
    if timefix and by_n:  # merged within each by level: the rows of that level's tests
        cols = _timefix_by_level(cols, b_codes, n_by, time, entry)

    # encode each factor once (over all kept rows), then test it inside every by-level
    encoded = []
    miss_by: dict[str, np.ndarray] = {}  # factor -> rows missing it, per by-level
    for f in fac:
        s = frame.get_column(f)
        if isinstance(s.dtype, (pl.List, pl.Array, pl.Struct, pl.Object)):
            raise ColumnError(f, f"(factor) has unsupported nested dtype {s.dtype}")
        miss = s.is_null()
        if s.dtype.is_float():
            miss = miss | s.is_nan().fill_null(False)
        miss_np = miss.to_numpy()
        if miss_np.any() and not drop_missing:
            idx = np.flatnonzero(miss_np)
            first = int(cols.rows[idx[0]]) if cols.rows is not None else int(idx[0])
            raise ColumnError(
                f, "(factor) has missing values (null or NaN)", int(idx.size), first,
                hint=missing_advice(),
            )
        present = ~miss_np
        if miss_np.any():
            miss_by[f] = np.bincount(b_codes[miss_np], minlength=n_by)
            _warn(f"excluded {int(miss_np.sum())} of {miss_np.size} rows with missing values in {f!r} "
                  f"from the tests of {f!r}", RisksetWarning, stacklevel=2)
        if not miss_np.any():  # common case: codes straight from the column, no filtering
            if s.dtype.is_integer() and s.len():
                raw = s.to_numpy()
                lo, hi = int_range(raw)
                if 0 <= lo and hi < 127:  # small non-negative integers are their own codes
                    encoded.append((f, present, raw, int(hi) + 1, [str(v) for v in range(int(hi) + 1)]))
                    continue
            f_codes_all, lv = _column_codes(s)
            encoded.append((f, present, f_codes_all, lv.len(), _labels(lv.to_frame())))
            continue
        f_codes_all = np.full(s.len(), -1, dtype=np.int64)
        n_levels = 0
        labels: list[str] = []
        if present.any():
            fc, f_keys = encode_groups(frame.filter(pl.Series(present)).select(f), [f])
            f_codes_all[present] = fc
            n_levels = f_keys.height
            labels = _labels(f_keys)
        encoded.append((f, present, f_codes_all, n_levels, labels))

    out: dict[str, list] = {k: [] for k in ("factor", "levels", "n", "n_excluded", "statistic", "df",
                                            "p_value", "note")}
    by_rows: list[int] = []
    grid = _GridOrder(cols, b_codes, n_by, s_all, n_strata) if cols.entry is None else None
    all_sums = grid.sums_all([e[2] for e in encoded], [e[3] for e in encoded], wt) if grid else None
    for j, (f, present, f_codes_all, n_levels, f_labels) in enumerate(encoded):
        sums = None
        if all_sums is not None:
            obs, expd, var, cnt = all_sums
            sums = (obs[:, j, :n_levels], expd[:, j, :n_levels], var[:, j, :n_levels, :n_levels],
                    cnt[:, j, :n_levels])
        for b in range(n_by):
            if sums is not None:
                counts = sums[3][b]
            else:
                in_b = b_codes == b
                mask = present & in_b
                fcodes = f_codes_all[mask]
                counts = np.bincount(fcodes, minlength=n_levels)
            seen = np.flatnonzero(counts)
            n_str = "; ".join(f"{f_labels[k]}={int(counts[k])}" for k in seen)
            by_rows.append(b)
            out["factor"].append(f)
            out["levels"].append(int(seen.size))
            out["n"].append(n_str)
            out["n_excluded"].append(int(miss_by[f][b]) if f in miss_by else 0)
            if seen.size < 2:
                out["statistic"].append(None)
                out["df"].append(None)
                out["p_value"].append(None)
                what = f"only one level ({n_str})" if seen.size == 1 else "no rows"
                out["note"].append(f"not tested: {what}")
                continue
            if sums is not None:
                obs_b, exp_b, var_b = sums[0][b][seen], sums[1][b][seen], sums[2][b][np.ix_(seen, seen)]
                stat, df = _chisq(obs_b - exp_b, exp_b, var_b)
                p = _chi2_sf(stat, df)
            else:
                remap = np.full(n_levels, -1, dtype=np.int64)
                remap[seen] = np.arange(seen.size)
                sub_g = np.ascontiguousarray(remap[fcodes])
                stat, df, p = _sub_test(cols, mask, s_all, n_strata, sub_g, wt, False, (time, entry))
            out["statistic"].append(stat)
            out["df"].append(df)
            out["p_value"].append(p if math.isfinite(p) else None)
            out["note"].append(None)
    order = np.lexsort((np.arange(len(by_rows)), np.asarray(by_rows)))  # by-level, then factor order
    out = {k: [v[i] for i in order] for k, v in out.items()}
    by_rows = [by_rows[i] for i in order]
    body = pl.DataFrame(
        {
            "factor": pl.Series(out["factor"], dtype=pl.String),
            "levels": pl.Series(out["levels"], dtype=pl.Int64),
            "n": pl.Series(out["n"], dtype=pl.String),
            "n_excluded": pl.Series(out["n_excluded"], dtype=pl.Int64),
            "statistic": pl.Series(out["statistic"], dtype=pl.Float64),
            "df": pl.Series(out["df"], dtype=pl.Int64),
            "p_value": pl.Series(out["p_value"], dtype=pl.Float64),
            "weighting": pl.Series([wt.name] * len(by_rows), dtype=pl.String),
            "note": pl.Series(out["note"], dtype=pl.String),
        }
    )
    if by_n:
        body = pl.concat([b_keys[np.asarray(by_rows, dtype=np.int64)], body], how="horizontal")
    return body


def _timefix_by_level(cols, b_codes: np.ndarray, n_by: int, time: str, entry: str | None):
    """``cols`` with near-tied times merged separately within each ``by`` level."""
    t = cols.time
    ent = cols.entry
    n_fixed = 0
    for b in range(n_by):
        idx = np.flatnonzero(b_codes == b)
        rows = idx if cols.rows is None else cols.rows[idx]
        tb, eb, k = apply_timefix(t[idx], None if ent is None else ent[idx], time=time, entry=entry, rows=rows)
        if k:
            if n_fixed == 0:
                t = t.copy()
                ent = None if ent is None else ent.copy()
            t[idx] = tb
            if ent is not None:
                ent[idx] = eb
            n_fixed += k
    return cols if n_fixed == 0 else dataclasses.replace(cols, time=t, entry=ent, n_timefixed=n_fixed)
