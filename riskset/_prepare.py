"""The shared data path: any table in, validated contiguous role arrays out.

Every estimator calls :func:`prepare` once; it reads only the role columns (projection
push-down for files and LazyFrames), applies the validation policy of
:mod:`riskset.io.validate`, and encodes groups. Estimators then hand the arrays to kernels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

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
    timefix: bool = True,
) -> SurvivalColumns:
    """Read and validate the role columns of ``data`` (see :mod:`riskset.io.validate`)."""
    by_names = as_names(by)
    wanted = [time, event, *(c for c in (entry, weights) if c is not None), *by_names]
    frame = to_polars(data, wanted)
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
    cols: SurvivalColumns, n_groups: int, codes: np.ndarray | None = None, *, timefix: bool
) -> tuple[SurvivalColumns, EventTable]:
    """The event table of ``cols`` (grouped by ``codes``, default ``cols.codes``), with the
    ``timefix`` check that :func:`prepare` was told to leave to it (``timefix=False`` there).

    The table's distinct times per group are sorted already, so the check is one merge pass
    over them instead of a sort of the time column; only when near ties exist are the times
    remapped (the same rule and result as :func:`riskset.engine.timefix.fix_times`) and the
    table built again. Returns the (possibly remapped) columns and their table.
    """
    codes = cols.codes if codes is None else codes
    et = event_table(cols.time, cols.event, codes, n_groups, cols.weights, cols.entry)
    if not timefix or cols.entry is not None:
        return cols, et
    cuts = tf.table_cuts(et.time, et.offsets)
    if cuts is None:
        return cols, et
    t = tf.remap(cols.time, cuts)
    cols = dataclasses.replace(cols, time=t, n_timefixed=int(np.count_nonzero(t != cols.time)))
    return cols, event_table(cols.time, cols.event, codes, n_groups, cols.weights, cols.entry)
