"""``riskset.survsplit``: split follow-up at given times, as R ``survSplit``.

Each row's interval ``(start, time]`` (``start`` from ``entry=``, else 0) is cut at every
cut point strictly inside it; the pieces keep the row's other columns, the event stays on
the last piece (earlier pieces are censored), and ``episode`` numbers the cut-point
interval a piece lies in (1 + the number of cut points at or before its start), as R's
``survSplit(Surv(start, time, event) ~ ., data, cut = , episode = )``. The result is
counting-process data: ``cox(..., entry=start)`` on it gives the fit of the original rows,
and it is how a covariate that changes at fixed times (an age band, a period) enters a
model. No Python loop over rows: the pieces are laid out with ``np.repeat`` and two
``searchsorted`` passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from riskset.errors import ColumnError, OptionError
from riskset.io.read import to_polars


def survsplit(
    data: Any,
    *,
    cut: Sequence[float],
    time: str,
    event: str,
    entry: str | None = None,
    start: str = "tstart",
    episode: str | None = None,
) -> pl.DataFrame:
    """Split each row's follow-up at the ``cut`` times (R ``survSplit``; module docstring).

    Parameters
    ----------
    data
        Any table riskset accepts.
    cut
        Cut points (any order; repeats and points outside a row's interval are ignored).
    time, event
        Exit time and event columns; the event stays on each row's last piece.
    entry
        Entry (start) time column: its values become each piece's start. Without it every
        interval starts at 0 and a ``start`` column is added before ``time``.
    start
        Name of the added start column (no ``entry``), R's ``start = "tstart"``.
    episode
        Name of a column numbering the cut-point interval of each piece (R's ``episode``).

    Returns
    -------
    polars.DataFrame
        One row per piece, in input order (a row's pieces in time order). Without ``entry``
        the columns are the other columns, then ``start``, ``time``, ``event`` (R's order);
        with ``entry`` the columns keep their places.
    """
    try:
        cuts = np.unique(np.asarray([float(c) for c in cut], dtype=np.float64))
    except (TypeError, ValueError):
        raise OptionError(f"cut={cut!r} must be numbers") from None
    if cuts.size == 0 or not np.all(np.isfinite(cuts)):
        raise OptionError(f"cut={cut!r} must be one or more finite numbers")
    wanted = None  # every column travels with its pieces
    frame = to_polars(data, wanted)
    for col in (time, event, *([entry] if entry else [])):
        if col not in frame.columns:
            from riskset.io.read import check_columns

            check_columns(frame.columns, [col])
    if entry is None and start in frame.columns:
        raise OptionError(f"start={start!r} is already a column; name the start column with start=")
    if episode is not None and episode in frame.columns:
        raise OptionError(f"episode={episode!r} is already a column")
    t = _numeric(frame, time)
    st = _numeric(frame, entry) if entry else np.zeros(t.size)
    bad = ~(st < t)
    if bad.any():
        raise ColumnError(time, f"must be greater than its start ({entry or '0'})", int(bad.sum()),
                          int(np.argmax(bad)))
    lo = np.searchsorted(cuts, st, side="right")  # first cut after the start
    hi = np.searchsorted(cuts, t, side="left")  # cuts before the stop
    k = hi - lo  # cut points strictly inside (start, time)
    pieces = k + 1
    rows = np.repeat(np.arange(t.size), pieces)
    first = np.repeat(np.cumsum(pieces) - pieces, pieces)
    j = np.arange(rows.size) - first  # 0..k within each row
    last = j == k[rows]
    lo_r = lo[rows]
    p_start = np.where(j == 0, st[rows], cuts[np.clip(lo_r + j - 1, 0, cuts.size - 1)])
    p_stop = np.where(last, t[rows], cuts[np.clip(lo_r + j, 0, cuts.size - 1)])
    ev = frame.get_column(event)
    out = frame[rows]
    zero = pl.Series(event, [0], dtype=ev.dtype) if ev.dtype != pl.Boolean else pl.Series(event, [False])
    new_event = pl.when(pl.Series(last)).then(out.get_column(event)).otherwise(zero.first())
    out = out.with_columns(new_event.alias(event), pl.Series(time, p_stop))
    if entry:
        out = out.with_columns(pl.Series(entry, p_start))
    else:
        rest = [c for c in out.columns if c not in (time, event)]
        out = out.with_columns(pl.Series(start, p_start)).select([*rest, start, time, event])
    if episode is not None:
        out = out.with_columns(pl.Series(episode, (1 + lo_r + j).astype(np.int64)))
    return out


def _numeric(frame: pl.DataFrame, col: str) -> np.ndarray:
    s = frame.get_column(col)
    if not s.dtype.is_numeric():
        raise ColumnError(col, f"must be numeric, got {s.dtype}")
    v = s.cast(pl.Float64)
    miss = v.is_null() | v.is_nan()
    if miss.any():
        raise ColumnError(col, "has missing values (null or NaN)", int(miss.sum()),
                          int(miss.arg_true()[0]))
    return v.to_numpy()
