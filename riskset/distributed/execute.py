"""Kaplan–Meier, Nelson–Aalen and log-rank on a Dask DataFrame.

Each partition becomes its per-key event table on the worker that holds it
(:func:`riskset.distributed.tables.partition_tables`, riskset's own kernels); the tables are
merged on the cluster in a fixed tree (``split_every`` contiguous partitions per merge, the
same tree on every run, so results are identical run to run); the client receives one merged
table and finishes with the single-machine post-table code (:func:`riskset._km.km_from_table`,
:func:`riskset._logrank.sums_from_table`). Only tables travel: O(distinct times x keys) per
partition, never rows.

Whatever Dask scheduler is active runs the graph: a ``distributed.Client`` if one is the
default, else Dask's local scheduler.

Missing values: complete-case analysis is not implemented on Dask. Whatever ``drop_missing``
says (the API's default is True), each partition validates with ``drop_missing=False``, so a
missing value in a used column is an error naming it (drop those rows first with
``ddf.dropna(subset=[...])``); nothing is ever dropped silently. The same holds for
:func:`riskset.distributed.cox.cox_dask`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from riskset._prepare import as_names
from riskset.distributed.tables import (
    GroupTables,
    PartError,
    merge_results,
    partition_tables,
    reorder_keys,
    to_event_table,
)
from riskset.errors import ColumnError, OptionError, RisksetError

#: Partitions (or partial merges) combined by one merge task.
SPLIT_EVERY = 8


def _part_task(pdf: Any, spec: dict[str, Any]) -> GroupTables | PartError:
    try:
        return partition_tables(pdf, **spec)
    except ColumnError as e:
        return PartError(type(e).__name__, str(e), e.column, e.problem, e.n_rows, e.first_row, e.hint, len(pdf))
    except RisksetError as e:
        return PartError(type(e).__name__, str(e), None, None, None, None, None, len(pdf))


def _columns(ddf: Any, wanted: list[str]) -> Any:
    missing = [c for c in wanted if c not in ddf.columns]
    if missing:
        raise ColumnError(missing[0], f"is not in the Dask DataFrame (columns: {list(ddf.columns)})")
    return ddf[wanted]


def tree_reduce(tasks: list[Any], merge: Any, split_every: int = SPLIT_EVERY) -> Any:
    """A fixed tree of ``merge`` over contiguous runs of delayed ``tasks`` (input order kept)."""
    import dask

    merge_d = dask.delayed(merge, pure=True)
    while len(tasks) > 1:
        tasks = [merge_d(*tasks[i:i + split_every]) for i in range(0, len(tasks), split_every)]
    return tasks[0]


def tables_on_cluster(ddf: Any, *, time: str, event: str, by: Sequence[str] = (), entry: str | None = None,
                      weights: str | None = None) -> GroupTables:
    """The merged event tables of a Dask DataFrame (partition tables reduced on the cluster)."""
    import dask

    by = tuple(by)
    wanted = list(dict.fromkeys([time, event, *(c for c in (entry, weights) if c), *by]))
    parts = _columns(ddf, wanted).to_delayed()
    spec = {"time": time, "event": event, "by": by, "entry": entry, "weights": weights}
    part_d = dask.delayed(_part_task, pure=True)
    res = tree_reduce([part_d(p, spec) for p in parts], merge_results).compute()
    if isinstance(res, PartError):
        res.raise_()
    if res.n_keys == 0:
        from riskset.errors import EmptyDataError

        raise EmptyDataError("no rows to analyse")
    return res


def check_timefix(et: Any, *, timefix: bool, has_entry: bool) -> Any:
    """R's ``timefix`` on the merged global table (after the union of every partition's
    times, as on one machine): right-censored tables are fixed exactly as
    :func:`riskset._logrank.fixed_table` fixes one machine's table; with delayed entry (whose
    pool includes the entry times) near ties are refused rather than merged differently."""
    if not timefix:
        return et
    from riskset._logrank import fixed_table

    if not has_entry:
        return fixed_table(et)
    from riskset.engine import timefix as tf

    if tf.table_moves(et.time, et.offsets) is not None:
        raise OptionError("near-tied times (R's timefix) with delayed entry are not merged on Dask; "
                          "pass timefix=False, or round the times first")
    return et


def kaplan_meier_dask(data: Any, *, time: str, event: str, by: Any = None, entry: str | None = None,
                      weights: str | None = None, conf_type: str | None = None, conf_level: float = 0.95,
                      convention: str = "r", robust: bool | None = None, drop_missing: bool = True,
                      timefix: bool = True):
    """:func:`riskset.kaplan_meier` for a Dask DataFrame (Greenwood variance)."""
    from riskset._km import km_from_table

    if robust:
        raise OptionError("robust=True (infinitesimal-jackknife variance) is not implemented on Dask: "
                          "it needs every row's influence; use robust=False (Greenwood)")
    names = as_names(by)
    g = tables_on_cluster(data, time=time, event=event, by=names, entry=entry, weights=weights)
    if robust is None and g.fractional_weights:
        raise OptionError(f"weights {weights!r} are not all integers, so R's default is the robust "
                          "variance, which is not implemented on Dask; pass robust=False for Greenwood")
    et, _, _, _ = to_event_table(g)
    et = check_timefix(et, timefix=timefix, has_entry=g.has_entry)
    return km_from_table(et, names, g.keys, conf_type=conf_type, conf_level=conf_level,
                         convention=convention)


def logrank_from_tables(g: GroupTables, grp: tuple[str, ...], strat: tuple[str, ...], wt: Any, *,
                        timefix: bool = False):
    """The log-rank result from merged tables keyed by ``(*strat, *grp)``: keys are split into
    strata and groups exactly as the single-machine path splits them, laid out as (stratum x
    group) cells, and passed to the shared post-table code."""
    import polars as pl

    from riskset._logrank import _one_level_error, result_from_sums, sums_from_table
    from riskset.io.validate import encode_groups

    keys = g.keys
    if strat:
        s_of_key, s_keys = encode_groups(keys, strat)
    else:
        s_of_key, s_keys = np.zeros(keys.height, dtype=np.int64), pl.DataFrame()
    g_of_key, g_keys = encode_groups(keys, grp)
    G = g_keys.height
    if G < 2:
        raise _one_level_error(grp, g_keys)
    S = max(s_keys.height, 1)
    cell = np.asarray(s_of_key, dtype=np.int64) * G + np.asarray(g_of_key, dtype=np.int64)
    cells = reorder_keys(g, cell, S * G)
    ct, ev, ew, eoff = to_event_table(cells)
    ct = check_timefix(ct, timefix=timefix, has_entry=g.has_entry)
    sums = sums_from_table(ct, ev, ew, eoff, S, G, wt, has_entry=g.has_entry, weighted=True)
    n = np.bincount(np.asarray(g_of_key, dtype=np.int64), weights=g.n_rows, minlength=G).astype(np.int64)
    return result_from_sums(sums, n, g_keys, s_keys, grp, strat, wt)


def logrank_dask(data: Any, *, time: str, event: str, group: Any, strata: Any = None, entry: str | None = None,
                 weights: str | None = None, rho: float = 0.0, gamma: float = 0.0, weighting: str | None = None,
                 drop_missing: bool = True, timefix: bool = True):
    """:func:`riskset.logrank` for a Dask DataFrame."""
    from riskset._logrank import _check_names, _resolve_weighting

    grp, strat = as_names(group), as_names(strata)
    _check_names(grp, strat)
    wt = _resolve_weighting(weighting, rho, gamma)
    g = tables_on_cluster(data, time=time, event=event, by=(*strat, *grp), entry=entry, weights=weights)
    return logrank_from_tables(g, grp, strat, wt, timefix=timefix)
