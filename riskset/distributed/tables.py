"""Per-partition event tables and their exact merge on the global time grid.

Contract
--------
Partition step (:func:`partition_tables`)
    One partition (any table :func:`riskset._prepare.prepare` reads) is validated and reduced
    with riskset's own kernel (:func:`riskset.engine.eventtable.event_table`) to, per group
    key ``k`` (the observed combinations of ``by`` in this partition): its distinct exit
    times with the (weighted) ``n_event`` and ``n_censor`` at each, the rows ``n_rows[k]``,
    and with delayed entry the distinct entry times with the (weighted) number of rows
    entering at each. ``n_risk`` is *not* shipped: it depends on rows of other partitions.
Merge step (:func:`merge_tables`)
    The keys of all partitions are united and numbered in sorted key order by the same
    encoder the single-machine path uses (:func:`riskset.io.validate.encode_groups`), then
    for each key the rows of all partitions are put on the union of their times (a stable
    lexicographic sort of (key, time), partitions in input order) and the counts at equal
    times are added. Integer counts add exactly, so unweighted merges are exact whatever the
    partitioning; weighted counts differ from the single pass only by summation order.
    The merge is associative: a tree of merges over contiguous ranges of partitions gives the
    same table as one merge of all.
Final step (:func:`to_event_table`)
    ``n_risk`` on the merged grid by the single-machine kernel
    (:func:`riskset.engine.eventtable._at_risk`: exits at or after ``t`` minus entries at or
    after ``t``, summed from the tail), so the merged :class:`EventTable` is the one
    ``event_table`` returns for the pooled rows (bit-identical for integer counts).
Where R's ``timefix`` (near-tie merging of times) would hook in: after the union of times
    in :func:`merge_tables`, before counts are added (near-equal times from different
    partitions can only be recognised on the global grid).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from riskset._prepare import prepare
from riskset.engine.eventtable import (
    EventTable,
    _at_risk,
    event_table,
    partition_values,
    sort_segments,
)
from riskset.errors import ColumnError, EmptyDataError, OptionError, RisksetError
from riskset.io.validate import encode_groups

_F = np.float64


@dataclass
class GroupTables:
    """Per-key event counts of some rows (one partition, a merge of several, or one centre)."""

    by: tuple[str, ...]
    keys: pl.DataFrame  # one row per key (width 0 without ``by``)
    time: np.ndarray  # float64[m], ascending within a key
    n_event: np.ndarray  # float64[m]
    n_censor: np.ndarray  # float64[m]
    offsets: np.ndarray  # int64[K+1]
    entry_time: np.ndarray  # float64[e], distinct, ascending within a key
    entry_count: np.ndarray  # float64[e]: (weighted) rows entering at entry_time
    entry_offsets: np.ndarray  # int64[K+1]
    has_entry: bool
    n_rows: np.ndarray  # int64[K]
    n_input: int  # input rows these tables summarise
    fractional_weights: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_keys(self) -> int:
        return int(self.offsets.size - 1)


@dataclass
class PartError:
    """A validation error raised in one partition, shipped as plain fields (riskset's typed
    errors do not round-trip through pickle) with the partition's row offset applied."""

    kind: str
    message: str
    column: str | None
    problem: str | None
    n_rows: int | None
    first_row: int | None
    hint: str | None
    n_input: int

    def raise_(self) -> None:
        if self.column is not None and self.problem is not None:
            raise ColumnError(self.column, self.problem, self.n_rows, self.first_row, self.hint)
        cls = {"EmptyDataError": EmptyDataError, "OptionError": OptionError}.get(self.kind, RisksetError)
        raise cls(self.message)


def empty_tables(by: tuple[str, ...], *, has_entry: bool, n_input: int = 0) -> GroupTables:
    z = np.empty(0, dtype=_F)
    o = np.zeros(1, dtype=np.int64)
    return GroupTables(by, pl.DataFrame(), z, z, z, o, z, z, o.copy(), has_entry,
                       np.empty(0, dtype=np.int64), n_input)


def _collapse_runs(vals: np.ndarray, wts: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sorted segments of values (with weights) to distinct values with summed weights."""
    n = vals.size
    if n == 0:
        return vals.copy(), wts.copy(), offsets.copy()
    seg = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
    new = np.ones(n, dtype=bool)
    new[1:] = (vals[1:] != vals[:-1]) | (seg[1:] != seg[:-1])
    starts = np.flatnonzero(new)
    out_w = np.add.reduceat(wts, starts)
    out_off = np.zeros(offsets.size, dtype=np.int64)
    np.cumsum(np.bincount(seg[starts], minlength=offsets.size - 1), out=out_off[1:])
    return np.abs(vals[starts]), out_w, out_off


def partition_tables(
    frame: Any,
    *,
    time: str,
    event: str,
    by: Sequence[str] = (),
    entry: str | None = None,
    weights: str | None = None,
) -> GroupTables:
    """The event tables of one partition (see module contract)."""
    by = tuple(by)
    n_input = len(frame)
    if n_input == 0:
        return empty_tables(by, has_entry=entry is not None)
    # complete cases and timefix are global decisions: never per partition
    cols = prepare(frame, time=time, event=event, by=by or None, entry=entry, weights=weights,
                   drop_missing=False, timefix=False)
    G = max(cols.n_groups, 1)
    et = event_table(cols.time, cols.event, cols.codes, G, cols.weights, cols.entry)
    if cols.entry is not None:
        weighted = cols.weights is not None
        w = cols.weights if weighted else np.empty(0, dtype=_F)
        ev, ew, eoff = partition_values(cols.entry, cols.codes, G, w, weighted)
        sort_segments(ev, ew, eoff, weighted=weighted)
        ev, ew, eoff = _collapse_runs(ev, ew if weighted else np.ones(ev.size), eoff)
    else:
        ev = ew = np.empty(0, dtype=_F)
        eoff = np.zeros(G + 1, dtype=np.int64)
    frac = cols.weights is not None and bool(np.any(cols.weights != np.round(cols.weights)))
    return GroupTables(by, cols.keys if by else pl.DataFrame(), et.time, et.n_event, et.n_censor,
                       et.offsets, ev, ew, eoff, cols.entry is not None, et.n_rows.astype(np.int64),
                       n_input, frac)


def _merge_segments(key_of_row, vals, counts, n_keys):
    """Rows (key, value, counts...) to one row per distinct (key, value), counts added in
    the rows' order (stable sort: partitions in input order)."""
    if vals.size == 0:
        return vals, [c for c in counts], np.zeros(n_keys + 1, dtype=np.int64)
    order = np.lexsort((vals, key_of_row))
    k = key_of_row[order]
    v = vals[order]
    new = np.ones(v.size, dtype=bool)
    new[1:] = (v[1:] != v[:-1]) | (k[1:] != k[:-1])
    starts = np.flatnonzero(new)
    out = [np.add.reduceat(c[order], starts) for c in counts]
    off = np.zeros(n_keys + 1, dtype=np.int64)
    np.cumsum(np.bincount(k[starts], minlength=n_keys), out=off[1:])
    return np.abs(v[starts]), out, off


def merge_tables(parts: Sequence[GroupTables]) -> GroupTables:
    """One table for the union of the rows of ``parts`` (see module contract)."""
    parts = list(parts)
    by = parts[0].by
    has_entry = any(p.has_entry for p in parts)
    n_input = sum(p.n_input for p in parts)
    frac = any(p.fractional_weights for p in parts)
    live = [p for p in parts if p.n_keys > 0]
    if not live:
        return empty_tables(by, has_entry=has_entry, n_input=n_input)
    if by:
        all_keys = pl.concat([p.keys for p in live], how="vertical_relaxed")
        codes, keys = encode_groups(all_keys, by)
        codes = np.asarray(codes, dtype=np.int64)
    else:
        keys = pl.DataFrame()
        codes = np.zeros(sum(p.n_keys for p in live), dtype=np.int64)
    K = max(keys.height, 1)
    maps, pos = [], 0
    for p in live:
        maps.append(codes[pos:pos + p.n_keys])
        pos += p.n_keys
    key_row = np.concatenate([np.repeat(m, np.diff(p.offsets)) for m, p in zip(maps, live, strict=True)])
    t, (d, c), off = _merge_segments(
        key_row, np.concatenate([p.time for p in live]),
        [np.concatenate([p.n_event for p in live]), np.concatenate([p.n_censor for p in live])], K)
    e_row = np.concatenate([np.repeat(m, np.diff(p.entry_offsets)) for m, p in zip(maps, live, strict=True)])
    ev, (ew,), eoff = _merge_segments(e_row, np.concatenate([p.entry_time for p in live]),
                                      [np.concatenate([p.entry_count for p in live])], K)
    n_rows = np.zeros(K, dtype=np.int64)
    for m, p in zip(maps, live, strict=True):
        np.add.at(n_rows, m, p.n_rows)
    return GroupTables(by, keys, t, d, c, off, ev, ew, eoff, has_entry, n_rows, n_input, frac)


def merge_results(*results: GroupTables | PartError) -> GroupTables | PartError:
    """:func:`merge_tables` for results in input order, any of which may be an error: the first
    error (in input order) wins, its first row shifted by the rows before it, and the offending
    rows of the same column and problem in later partitions are added to its count."""
    err: PartError | None = None
    offset = 0
    for r in results:
        if isinstance(r, PartError):
            if err is None:
                err = replace(r, first_row=None if r.first_row is None else r.first_row + offset)
            elif (r.column, r.problem) == (err.column, err.problem) and err.n_rows is not None:
                err = replace(err, n_rows=err.n_rows + (r.n_rows or 0))
        offset += r.n_input
    if err is not None:
        return replace(err, n_input=offset)
    return merge_tables(results)  # type: ignore[arg-type]


def regroup(g: GroupTables, by: Sequence[str]) -> GroupTables:
    """The same rows grouped by a subset ``by`` of ``g.by`` (the keys' other columns pooled)."""
    by = tuple(by)
    if by == g.by:
        return g
    part = replace(g, by=by, keys=g.keys.select(list(by)) if by else pl.DataFrame())
    return merge_tables([part])


def to_event_table(g: GroupTables) -> tuple[EventTable, np.ndarray, np.ndarray, np.ndarray]:
    """The merged tables as riskset's :class:`EventTable` (``n_risk`` by the single-machine
    kernel) and the per-key entry times, counts and offsets."""
    off = g.offsets if g.n_keys else np.zeros(2, dtype=np.int64)
    eoff = g.entry_offsets if g.n_keys else np.zeros(2, dtype=np.int64)
    r = _at_risk(g.time, g.n_event, g.n_censor, off, True, g.entry_time, g.entry_count, eoff,
                 g.has_entry)
    n_rows = g.n_rows if g.n_keys else np.zeros(1, dtype=np.int64)
    return EventTable(g.time, r, g.n_event, g.n_censor, off, n_rows), g.entry_time, g.entry_count, eoff


def reorder_keys(g: GroupTables, perm: np.ndarray, n_slots: int) -> GroupTables:
    """Segments moved so that key ``k`` occupies slot ``perm[k]`` of ``n_slots`` (slots with no
    key are empty): the (stratum x group) cell layout of the log-rank kernels."""
    def move(vals_list, off):
        counts = np.zeros(n_slots, dtype=np.int64)
        counts[perm] = np.diff(off)
        new_off = np.zeros(n_slots + 1, dtype=np.int64)
        np.cumsum(counts, out=new_off[1:])
        slot_of_key = np.argsort(perm, kind="stable")  # keys in slot order
        idx = np.concatenate([np.arange(off[k], off[k + 1]) for k in slot_of_key]) if off[-1] else \
            np.empty(0, dtype=np.int64)
        return [v[idx] for v in vals_list], new_off

    (t, d, c), off = move([g.time, g.n_event, g.n_censor], g.offsets)
    (ev, ew), eoff = move([g.entry_time, g.entry_count], g.entry_offsets)
    n_rows = np.zeros(n_slots, dtype=np.int64)
    n_rows[perm] = g.n_rows
    return replace(g, time=t, n_event=d, n_censor=c, offsets=off, entry_time=ev, entry_count=ew,
                   entry_offsets=eoff, n_rows=n_rows)
