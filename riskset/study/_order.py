"""An endpoint's rows put in time order once: compact columns, one sort, one gather.

The study runner orders each endpoint's usable rows by the kernels' own sort key (time,
then censorings before events) so that no analysis sorts them again. At registry scale
that ordering is a random gather of every column the endpoint's analyses read; the columns
are first made as small as they exactly can be, so the gather, every cohort's filter and
every analysis's encoding move bytes:

* integers take the narrowest integer type holding their values (``shrink_dtype``);
* few-level strings become codes into their sorted levels and come back as an ``Enum`` of
  those levels (one byte per row; an Enum's values sort in category order, here the
  strings' own order, so groups, labels and tests are unchanged); an ``Enum`` (a derived
  CASE, say) travels as its own codes;
* numeric, boolean and coded columns without nulls are gathered by ``numpy.take`` (on a
  few threads: the gathers are memory-latency bound), the one-byte ones (codes, flags,
  narrowed integers) up to eight at a time packed into one word per row: one random read
  per row instead of one per column (half the work for eight columns; the threads of the
  other analyses get the other half);
* anything else (nulls, dates, many-level strings) is gathered by Polars on its own.

Columns named in ``keep`` (the runner's time and event) keep their dtype (they are still
gathered with ``numpy.take`` when they can be); the runner casts coded Cox terms back to
strings for the fit, since the Cox design treats an Enum's declared levels differently.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from riskset.engine.eventtable import grid_key_order, time_event_keys
from riskset.io.validate import _column_codes

#: String columns with at most this many levels (and no nulls) travel as one-byte codes.
CODED_LEVELS = 64


def time_order(frame: pl.DataFrame, time: str, event: str, days: str | None = None) -> np.ndarray:
    """Row order (``numpy.intp`` row numbers) by the kernels' own sort key
    (:func:`riskset.engine.eventtable.time_event_keys`).

    ``days`` names an integer column in the order of ``time`` (an endpoint derived from
    dates: time = days / unit length); rows are then ordered by ``(days, event)`` with a
    counting sort (:func:`riskset.engine.eventtable.grid_key_order`: two passes, stable),
    else by sorting the keys. Invalid values are not judged here (the analyses validate
    their inputs and say what is wrong); they only make the order useless, and the kernels
    then sort as usual.
    """
    ev = frame.get_column(event)
    ev = ev if ev.dtype.is_integer() else ev.cast(pl.Float64)
    e = (ev.to_numpy() == 1).view(np.int8)  # exactly 0/1 (a bool's bytes), whatever else is there
    d = frame.get_column(days) if days is not None else None
    if d is not None and d.dtype in (pl.Int32, pl.Int64) and d.null_count() == 0:
        order = grid_key_order(np.ascontiguousarray(d.to_numpy()), e)
        if order.size == e.size:
            return order.astype(np.intp, copy=False)
    t = np.ascontiguousarray(frame.get_column(time).cast(pl.Float64).to_numpy())
    # Polars' multithreaded sort: ~2x numpy's
    return pl.Series(time_event_keys(t, e)).arg_sort().to_numpy().astype(np.intp)


@dataclass
class _Column:
    """How one column travels: packed ``values`` rebuilt by ``rebuild``, or ``series`` as is."""

    name: str
    values: np.ndarray | None = None  # contiguous 1-d array to pack (None: gather ``series``)
    rebuild: Callable[[np.ndarray], pl.Series] | None = None
    series: pl.Series | None = None


def _string_codes(s: pl.Series) -> _Column | None:
    """A null-free string column as one-byte codes into its sorted levels (the encoding of
    :func:`riskset.io.validate._column_codes`), rebuilt after the gather as an Enum."""
    codes, levels = _column_codes(s, string_codes=np.uint8)
    if levels.len() > CODED_LEVELS:
        return None
    return _coded(s.name, codes.astype(np.uint8), levels.cast(pl.Enum(levels.to_list())))


def _coded(name: str, codes: np.ndarray, enum: pl.Series) -> _Column:
    """Codes into ``enum`` (one row per level, in code order), rebuilt after the gather as
    the Enum column: gathering from ``enum`` builds it."""

    def rebuild(v: np.ndarray) -> pl.Series:
        return enum.gather(pl.Series(v)).alias(name)

    return _Column(name, codes, rebuild)


def _plan(s: pl.Series, keep: set[str]) -> _Column:
    if s.null_count() == 0 and s.len() > 0:
        if isinstance(s.dtype, pl.Enum):  # its own codes
            return _coded(s.name, np.ascontiguousarray(s.to_physical().to_numpy()),
                          s.dtype.categories.cast(s.dtype))
        if s.name not in keep:
            if s.dtype.is_integer():
                s = s.shrink_dtype()
            elif s.dtype == pl.String:
                coded = _string_codes(s)
                if coded is not None:
                    return coded
        if s.dtype.is_numeric() or s.dtype == pl.Boolean:
            dtype = s.dtype
            return _Column(s.name, np.ascontiguousarray(s.to_numpy()),
                           lambda v, name=s.name, dtype=dtype: pl.Series(name, v, dtype=dtype))
    if s.name not in keep and s.dtype == pl.String:  # with nulls: an Enum, gathered by Polars
        levels = s.drop_nulls().unique()
        if 0 < levels.len() <= CODED_LEVELS:
            s = s.cast(pl.Enum(levels.sort().to_list()))
    elif s.name not in keep and s.dtype.is_integer():
        s = s.shrink_dtype()
    return _Column(s.name, series=s.rechunk())  # one chunk: a gather across chunks is ~8x slower


def _gather(columns: list[np.ndarray], idx: np.ndarray) -> list[np.ndarray]:
    """``[c[idx] for c in columns]``; several one-byte columns travel packed in one word per
    row (2, 4 or 8 bytes), so a row costs one random read instead of one per column (the
    gather is bound by those reads: ~2x less work for 8 columns, measured)."""
    if len(columns) == 1:
        return [np.take(columns[0], idx)]
    width = 2 if len(columns) == 2 else 4 if len(columns) <= 4 else 8
    word = {2: np.uint16, 4: np.uint32, 8: np.uint64}[width]
    packed = np.zeros((columns[0].size, width), dtype=np.uint8)
    for j, c in enumerate(columns):
        packed[:, j] = c.view(np.uint8)
    rows = np.take(packed.view(word).ravel(), idx).view(np.uint8).reshape(-1, width)
    return [np.ascontiguousarray(rows[:, j]).view(c.dtype) for j, c in enumerate(columns)]


def ordered_frame(frame: pl.DataFrame, order: np.ndarray, keep: set[str]) -> pl.DataFrame:
    """``frame``'s rows in ``order`` (row numbers, as :func:`time_order` gives) with its
    columns compacted (see the module docstring)."""
    workers = min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        plan = list(pool.map(lambda s: _plan(s, keep), frame.get_columns()))
    out: list[pl.Series | None] = [None] * len(plan)
    idx = np.asarray(order, dtype=np.intp)  # numpy.take would convert any other type per column
    taken = [i for i, c in enumerate(plan) if c.values is not None]
    small = [i for i in taken if plan[i].values.itemsize == 1]
    groups = [small[j:j + 8] for j in range(0, len(small), 8)] if len(small) > 1 else []
    groups += [[i] for i in taken if not any(i in g for g in groups)]
    with ThreadPoolExecutor(max_workers=workers) as pool:  # memory-latency bound, GIL released
        for g, vs in zip(groups, pool.map(lambda g: _gather([plan[i].values for i in g], idx), groups),
                         strict=True):
            for i, v in zip(g, vs, strict=True):
                out[i] = plan[i].rebuild(v)
    rest = [i for i, c in enumerate(plan) if c.values is None]
    if rest:  # random gathers are memory-latency bound and release the GIL: overlap a few
        rows = pl.Series(idx, dtype=pl.get_index_type())
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for i, s in zip(rest, pool.map(lambda i: plan[i].series.gather(rows), rest), strict=True):
                out[i] = s
    return pl.DataFrame(out)
