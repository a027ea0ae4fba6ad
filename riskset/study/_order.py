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
* the one-byte columns without nulls (codes, flags, narrowed integers) travel together:
  up to 16 of them are packed into one 8- or 16-byte record per row, read from the
  columns' own chunks (no copy of a chunked column into one array first), and gathered a
  record per row by :mod:`riskset.engine.gather`, so a row costs one random read instead
  of one per column; the gathered bytes are the new columns (an Enum is a view of its
  gathered codes). Wider numeric columns are gathered by ``numpy.take``, beside the
  packed ones on a few threads (the gathers are memory-latency bound and release the GIL);
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
from riskset.engine.gather import gather_packed, pack_records
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
        order = np.empty(e.size, dtype=np.int64)
        if grid_key_order(np.ascontiguousarray(d.to_numpy()), e, order):
            return order.astype(np.intp, copy=False)
    t = np.ascontiguousarray(frame.get_column(time).cast(pl.Float64).to_numpy())
    # Polars' multithreaded sort: ~2x numpy's
    return pl.Series(time_event_keys(t, e)).arg_sort().to_numpy().astype(np.intp)


@dataclass
class _Column:
    """How one column travels: bytes ``parts`` packed with other one-byte columns, a
    contiguous array ``values`` taken on its own, or ``series`` gathered by Polars; the
    gathered bytes or values become the column again by ``rebuild``."""

    name: str
    parts: list[np.ndarray] | None = None  # one-byte column: uint8 views of its chunks, in order
    values: np.ndarray | None = None  # wider numeric column: contiguous 1-d array
    rebuild: Callable[[np.ndarray], pl.Series] | None = None
    series: pl.Series | None = None


def _bytes(s: pl.Series) -> list[np.ndarray]:
    """A null-free one-byte column's bytes, chunk by chunk (zero-copy views where Polars
    allows: a chunked column is not copied into one array first)."""
    return [c.to_numpy().view(np.uint8) for c in s.get_chunks()]


def _string_codes(s: pl.Series) -> _Column | None:
    """A null-free string column as one-byte codes into its sorted levels (the encoding of
    :func:`riskset.io.validate._column_codes`), rebuilt after the gather as an Enum."""
    codes, levels = _column_codes(s, string_codes=np.uint8)
    if levels.len() > CODED_LEVELS:
        return None
    return _coded(s.name, [np.asarray(codes, dtype=np.uint8)], pl.Enum(levels.to_list()))


def _coded(name: str, parts: list[np.ndarray], enum: pl.Enum) -> _Column:
    """One-byte codes into ``enum``'s categories, rebuilt after the gather as the Enum
    column itself (a view of the gathered codes, not a copy)."""

    def rebuild(v: np.ndarray) -> pl.Series:
        return pl.Series(name, v).to_frame().select(pl.col(name).cat.to(enum)).to_series()

    return _Column(name, parts=parts, rebuild=rebuild)


#: One-byte column types packed as their bytes, and the numpy type their bytes are.
_ONE_BYTE = {pl.Int8: np.int8, pl.UInt8: np.uint8, pl.Boolean: np.bool_}


def _one_byte_enum(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.Enum) and pl.Series(dtype=dtype).to_physical().dtype == pl.UInt8


def _plan(s: pl.Series, keep: set[str]) -> _Column:
    if s.null_count() == 0 and s.len() > 0:
        if _one_byte_enum(s.dtype):  # its own codes
            return _coded(s.name, _bytes(s.to_physical()), s.dtype)
        if s.name not in keep:
            if s.dtype.is_integer():
                s = s.shrink_dtype()
            elif s.dtype == pl.String:
                coded = _string_codes(s)
                if coded is not None:
                    return coded
        if s.dtype in _ONE_BYTE:
            view = _ONE_BYTE[s.dtype]
            # a bool column's bits are unpacked to bytes: one copy whatever the chunks
            parts = [s.to_numpy().view(np.uint8)] if s.dtype == pl.Boolean else _bytes(s)
            return _Column(s.name, parts=parts, rebuild=lambda v, name=s.name, view=view: pl.Series(name, v.view(view)))
        if s.dtype.is_numeric():
            dtype = s.dtype
            return _Column(s.name, values=np.ascontiguousarray(s.to_numpy()),
                           rebuild=lambda v, name=s.name, dtype=dtype: pl.Series(name, v, dtype=dtype))
    if s.name not in keep and s.dtype == pl.String:  # with nulls: an Enum, gathered by Polars
        levels = s.drop_nulls().unique()
        if 0 < levels.len() <= CODED_LEVELS:
            s = s.cast(pl.Enum(levels.sort().to_list()))
    elif s.name not in keep and s.dtype.is_integer():
        s = s.shrink_dtype()
    return _Column(s.name, series=s.rechunk())  # one chunk: a gather across chunks is ~8x slower


def _gather_bytes(columns: list[list[np.ndarray]], idx: np.ndarray) -> np.ndarray:
    """``numpy.take`` of several one-byte columns (each given as its chunks' bytes) by
    ``idx``: rows ``(k, len(idx))``, one per column. The columns travel packed in one 8- or
    16-byte record per row (:mod:`riskset.engine.gather`), so a gathered row costs one
    random read instead of one per column."""
    width = 8 if len(columns) <= 8 else 16
    out = np.empty((len(columns), idx.size), dtype=np.uint8)  # NumPy's: huge pages where offered
    gather_packed(pack_records(columns, width).view(np.uint64), width // 8, idx, out)
    return out


def ordered_frame(frame: pl.DataFrame, order: np.ndarray, keep: set[str]) -> pl.DataFrame:
    """``frame``'s rows in ``order`` (row numbers, as :func:`time_order` gives) with its
    columns compacted (see the module docstring)."""
    workers = min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        plan = list(pool.map(lambda s: _plan(s, keep), frame.get_columns()))
    out: list[pl.Series | None] = [None] * len(plan)
    idx = np.asarray(order, dtype=np.intp)  # numpy.take would convert any other type per column
    small = [i for i, c in enumerate(plan) if c.parts is not None]
    if len(small) == 1:  # nothing to pack it with: taken on its own
        c = plan[small[0]]
        c.values, c.parts, small = np.concatenate(c.parts), None, []
    taken = [i for i, c in enumerate(plan) if c.values is not None]
    jobs = [small[j:j + 16] for j in range(0, len(small), 16)] + [[i] for i in taken]

    def gather(g: list[int]) -> list[np.ndarray]:
        if plan[g[0]].parts is not None:
            return list(_gather_bytes([plan[i].parts for i in g], idx))
        return [np.take(plan[g[0]].values, idx)]

    with ThreadPoolExecutor(max_workers=workers) as pool:  # memory-latency bound, GIL released
        for g, vs in zip(jobs, pool.map(gather, jobs), strict=True):
            for i, v in zip(g, vs, strict=True):
                out[i] = plan[i].rebuild(v)
    rest = [i for i, c in enumerate(plan) if c.series is not None]
    if rest:  # random gathers are memory-latency bound and release the GIL: overlap a few
        rows = pl.Series(idx, dtype=pl.get_index_type())
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for i, s in zip(rest, pool.map(lambda i: plan[i].series.gather(rows), rest), strict=True):
                out[i] = s
    return pl.DataFrame(out)
