"""The shared data path: any table in, validated contiguous role arrays out.

Every estimator calls :func:`prepare` once; it reads only the role columns (projection
push-down for files and LazyFrames), applies the validation policy of
:mod:`riskset.io.validate`, and encodes groups. Estimators then hand the arrays to kernels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from riskset.engine import timefix as tf
from riskset.engine.eventtable import EventTable, event_table
from riskset.io.read import to_polars
from riskset.io.validate import SurvivalColumns, validate_survival


def as_names(by: str | Sequence[str] | None) -> tuple[str, ...]:
    """Normalise a ``by`` argument (None, one name, or several) to a tuple of names."""
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    return tuple(by)


def prepare(
    data: Any,
    *,
    time: str,
    event: str,
    by: str | Sequence[str] | None = None,
    entry: str | None = None,
    weights: str | None = None,
    drop_missing: bool = False,
    levels: Mapping[str, Sequence[Any]] | None = None,
    timefix: bool = True,
) -> SurvivalColumns:
    """Read and validate the role columns of ``data`` (see :mod:`riskset.io.validate`)."""
    by_names = as_names(by)
    wanted = [time, event, *(c for c in (entry, weights) if c is not None), *by_names]
    frame = to_polars(data, wanted, levels, plain=[c for c in (time, event, entry, weights) if c])
    return validate_survival(
        frame,
        time=time,
        event=event,
        entry=entry,
        weights=weights,
        by=by_names,
        drop_missing=drop_missing,
        timefix=timefix,
    )


def fixed_event_table(
    cols: SurvivalColumns, n_groups: int, *, timefix: bool, rows_needed: bool = False
) -> tuple[SurvivalColumns, EventTable]:
    """The event table of ``cols``, with the ``timefix`` check that :func:`prepare` was told
    to leave to it (``timefix=False`` there; right-censored data only).

    The table's distinct times per group are sorted already, so the check is one merge pass
    over them instead of a sort of the time column. When near ties exist the table's times
    are moved and the rows that now share a time collapsed (O(table));
    with ``rows_needed`` (a caller that reads the rows again, e.g. the robust variance) the
    time column is remapped too. Same rule and results as
    :func:`riskset.engine.timefix.fix_times` followed by :func:`event_table`.
    """
    et = event_table(cols.time, cols.event, cols.codes, n_groups, cols.weights, cols.entry)
    if not timefix or cols.entry is not None:
        return cols, et
    moves = tf.table_moves(et.time, et.offsets)
    if moves is None:
        return cols, et
    src, dst = moves
    t, r, d, c = et.time, et.n_risk, et.n_event, et.n_censor  # the table's own arrays: in place
    m, off = tf.merge_table_rows(t, r, d, c, et.offsets, src, dst)
    new_time = tf.remap(cols.time, src, dst) if rows_needed else cols.time
    cols = dataclasses.replace(cols, time=new_time, n_timefixed=int(src.size))
    return cols, EventTable(t[:m], r[:m], d[:m], c[:m], off, et.n_rows)
