"""The one place that owns riskset's missing-value and dtype policy.

Policy
------
* **Roles.** An analysis names columns by role: ``time`` (exit time), ``event`` (1 = event,
  0 = censored), optional ``entry`` (delayed entry / left truncation; a row is at risk at
  ``t`` when ``entry < t <= time``), optional ``weights`` (case weights) and zero or more
  ``by`` (grouping) columns.
* **Dtypes.** ``time``, ``entry`` and ``weights`` must be numeric (integer or float; booleans
  and strings are rejected, never parsed) and are converted to float64. ``event`` may be
  boolean, integer or float holding only 0 and 1; it becomes int8. ``by`` columns may have
  any scalar dtype; nested types are rejected.
* **Missing values.** A null, or a NaN in a float column, is *missing*. An analysis uses the
  *complete cases* of the columns it needs (its roles and, for a Cox model, its covariates,
  offset and cluster: ``also``), as R's default ``na.action = na.omit`` does: with
  ``drop_missing=True`` (every public function's default) the incomplete rows are excluded,
  a :class:`~riskset.errors.RisksetWarning` says ``excluded N of M rows with missing values
  in 'col' (k), ...`` and the result carries the count (``n_excluded``); with
  ``drop_missing=False`` a missing value raises :class:`~riskset.errors.ColumnError` (column,
  count, first row), in the words of the interface (``--missing``, the spec's ``missing``:
  :func:`riskset.errors.advise_missing`). Nothing is ever dropped or altered silently.
* **Time 0.** Rows with exit time 0 are kept, as R keeps them (they are at risk at no event
  time), and a :class:`~riskset.errors.RisksetWarning` counts them.
* **Invalid values** always raise: infinite or negative times, event codes other than 0/1,
  ``entry >= time``, negative or infinite weights, an entirely null ``by`` column, and empty
  data.
* **Near-tied times** (``timefix=True``, the default as in R) are merged by R's ``aeqSurv``
  rule (:mod:`riskset.engine.timefix`, ``docs/algorithms/timefix.md``); an ``(entry, time]``
  interval the merge leaves empty raises. Estimators that sort the rows anyway (the
  Kaplan–Meier and log-rank tables) pass ``timefix=False`` here and apply the same rule to
  their sorted table.
* **Row numbers** in messages are zero-based positions in the data as given.
* **Level order** (groups, reference levels, trend scores, table rows, legends) has one
  policy, :func:`order_kind`: a declared order (Polars ``Enum``, pandas ``Categorical``,
  Arrow dictionary, SPSS/Stata value labels, ``levels=``) is kept; numbers sort
  numerically; plain strings alphabetically, and a trend test on them is refused
  (:func:`require_order`). See the section at the end of this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from riskset.engine.checks import (
    compact_codes,
    dense_codes,
    event_codes,
    float_scan,
    int_range,
    levels_present,
)
from riskset.engine.timefix import fix_times
from riskset.errors import ColumnError, EmptyDataError, RisksetWarning, missing_advice
from riskset.errors import warn as _warn


@dataclass(frozen=True)
class SurvivalColumns:
    """Validated, contiguous role arrays of one analysis (rows in input order).

    Attributes
    ----------
    time, event, entry, weights
        ``float64[n]``, ``int8[n]``, ``float64[n]`` or None, ``float64[n]`` or None.
    codes
        ``int64[n]`` group code of each row, ``0 .. n_groups-1``, in the order of ``keys``.
    keys
        Polars DataFrame with one row per observed group (the ``by`` columns), sorted.
    rows
        ``int64[n]`` position of each kept row in the input, or None when nothing was dropped.
    n_input, n_dropped
        Rows given, rows dropped by ``drop_missing``.
    n_timefixed
        Distinct time values the ``timefix`` rule moved onto a near-tied smaller one
        (0: none were near-tied).
    """

    time: np.ndarray
    event: np.ndarray
    entry: np.ndarray | None
    weights: np.ndarray | None
    codes: np.ndarray
    keys: pl.DataFrame
    by: tuple[str, ...]
    rows: np.ndarray | None
    n_input: int
    n_dropped: int
    n_timefixed: int = 0

    @property
    def n_groups(self) -> int:
        return self.keys.height


def _first(mask: np.ndarray, rows: np.ndarray | None = None) -> tuple[int, int]:
    """Return (count, first row in input numbering) of a boolean mask."""
    idx = np.flatnonzero(mask)
    first = int(idx[0])
    return int(idx.size), int(rows[first]) if rows is not None else first


def _numeric(frame: pl.DataFrame, col: str, role: str) -> np.ndarray:
    """Float64 values of a numeric column, NaN where missing (missing handled by caller)."""
    s = frame.get_column(col)
    if not (s.dtype.is_numeric()) or s.dtype == pl.Boolean:
        raise ColumnError(
            col,
            f"({role}) must be numeric, got dtype {s.dtype}",
            hint="convert it first (riskset never parses strings as numbers)",
        )
    if s.dtype == pl.Float64 and s.null_count() == 0 and s.n_chunks() == 1:
        return s.to_numpy()  # zero-copy view (no cast, no fill)
    return s.cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64, copy=False)


def _missing(frame: pl.DataFrame, col: str, scans: dict[str, tuple] | None = None) -> np.ndarray | None:
    """Boolean mask of missing rows, or None when the column has none (the common case).

    A float64 column's :func:`float_scan` is kept in ``scans`` (by name) when it scanned the
    very array :func:`_numeric` returns, so the finiteness check need not scan it again."""
    s = frame.get_column(col)
    nulls = s.null_count()
    if s.dtype.is_float():
        if nulls == 0:
            x = s.to_numpy()
            if x.dtype != np.float64:
                x = x.astype(np.float64)
            scan = float_scan(x)
            if scans is not None and s.dtype == pl.Float64 and s.n_chunks() == 1:
                scans[col] = scan
            if scan[0] == 0:
                return None
        return (s.is_null() | s.is_nan().fill_null(False)).to_numpy()
    if nulls == 0:
        return None
    return s.is_null().to_numpy()


def validate_survival(
    frame: pl.DataFrame,
    *,
    time: str,
    event: str,
    entry: str | None = None,
    weights: str | None = None,
    by: Sequence[str] = (),
    drop_missing: bool = False,
    also: Sequence[str] = (),
    also_role: str = "covariate",
    timefix: bool = True,
) -> SurvivalColumns:
    """Validate role columns of ``frame`` and return contiguous arrays (see module policy).

    ``also``: further columns (a Cox model's covariates) whose missing values exclude a row
    as the roles' do, counted in the same warning and ``n_dropped``.

    With ``timefix`` (the default, as in R) near-tied times are merged by R's ``aeqSurv``
    rule (:mod:`riskset.engine.timefix`) once here, so every analysis sees the same times.
    """
    by = tuple(by)
    roles = [(time, "time"), (event, "event")]
    if entry is not None:
        roles.append((entry, "entry"))
    if weights is not None:
        roles.append((weights, "weights"))
    roles += [(b, "by") for b in by]
    for col, role in roles:
        if col not in frame.columns:
            from riskset.io.read import check_columns

            check_columns(frame.columns, [col])
        dt = frame.schema[col]
        if isinstance(dt, (pl.List, pl.Array, pl.Struct, pl.Object)):
            raise ColumnError(col, f"({role}) has unsupported nested dtype {dt}")

    n_input = frame.height
    if n_input == 0:
        raise EmptyDataError("the data has no rows")

    for b in by:
        if frame.get_column(b).null_count() == n_input:
            raise ColumnError(b, "(by) is entirely null", n_input, 0)

    # --- missing values: raise, or drop and say so -----------------------------------------
    missing = np.zeros(n_input, dtype=bool)
    per_col: list[tuple[str, int]] = []
    scans: dict[str, tuple] = {}  # float_scan of a column's own values, reused below
    for col, role in [*roles, *((c, also_role) for c in also if c not in {r for r, _ in roles})]:
        m = _missing(frame, col, scans)
        if m is not None and m.any():
            if not drop_missing:
                n, first = _first(m)
                raise ColumnError(
                    col,
                    f"({role}) has missing values (null or NaN)",
                    n,
                    first,
                    hint=missing_advice(),
                )
            per_col.append((col, int(m.sum())))
            missing |= m
    rows = None
    n_dropped = int(missing.sum())
    if n_dropped:
        rows = np.flatnonzero(~missing)
        if rows.size == 0:
            raise EmptyDataError(f"all {n_input} rows have missing values; nothing is left")
        _warn(
            f"excluded {n_dropped} of {n_input} rows with missing values in "
            + ", ".join(f"{c!r} ({k})" for c, k in per_col),
            RisksetWarning,
            stacklevel=3,
        )
        frame = frame.filter(pl.Series(~missing))
        scans.clear()  # the arrays checked below are new ones

    # --- value checks -----------------------------------------------------------------------
    t = _numeric(frame, time, "time")
    _check_finite_nonneg(t, time, "time", rows, scans.get(time))
    _warn_time_zero(t, time, rows)

    ev = _event(frame, event, rows)

    ent = None
    if entry is not None:
        ent = _numeric(frame, entry, "entry")
        _check_finite_nonneg(ent, entry, "entry", rows, scans.get(entry))
        bad = ent >= t
        if bad.any():
            raise ColumnError(
                entry,
                f"(entry) is not before {time!r} (entry >= exit time)",
                *_first(bad, rows),
                hint="each row must satisfy entry < time",
            )

    n_fixed = 0
    if timefix:
        t, ent, n_fixed = apply_timefix(t, ent, time=time, entry=entry, rows=rows)

    w = None
    if weights is not None:
        w = _numeric(frame, weights, "weights")
        _check_finite_nonneg(w, weights, "weights", rows, scans.get(weights))

    codes, keys = encode_groups(frame, by, small=True)
    return SurvivalColumns(
        time=np.ascontiguousarray(t),
        event=ev,
        entry=None if ent is None else np.ascontiguousarray(ent),
        weights=None if w is None else np.ascontiguousarray(w),
        codes=codes,
        keys=keys,
        by=by,
        rows=rows,
        n_input=n_input,
        n_dropped=n_dropped,
        n_timefixed=n_fixed,
    )


def _warn_time_zero(t: np.ndarray, col: str, rows: np.ndarray | None) -> None:
    """Rows with exit time 0 are kept (as R keeps them); a warning counts them."""
    n0 = int(np.count_nonzero(t == 0.0))
    if n0:
        first = int(np.argmax(t == 0.0))
        _warn(f"column {col!r} (time) is 0 in {n0} row{'s' if n0 != 1 else ''} (first at row "
              f"{(int(rows[first]) if rows is not None else first) + 1}); they are kept, as R keeps them",
              RisksetWarning, stacklevel=4)
def apply_timefix(t: np.ndarray, ent: np.ndarray | None, *, time: str, entry: str | None,
                  rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None, int]:
    """R's ``timefix`` merge of near-tied times (:func:`riskset.engine.timefix.fix_times`)
    on validated columns: ``(time, entry, n_moved)`` (distinct values moved).

    After the merge an ``(entry, time]`` interval may have length 0 (both ends near-tied):
    R stops with "an interval has effective length 0"; riskset raises a
    :class:`~riskset.errors.ColumnError` on the entry column naming the rows (``rows``: the
    input position of each row when some were dropped)."""
    t, ent, n_fixed = fix_times(t, ent)
    if not n_fixed or ent is None:
        return t, ent, n_fixed
    bad = ent >= t
    if bad.any():
        raise ColumnError(
            entry,
            f"(entry) is near-tied to {time!r} (they differ by less than the timefix tolerance, "
            "so the interval has effective length 0 once near-tied times are merged)",
            *_first(bad, rows),
            hint="fix the data, or pass timefix=False to keep times as they are",
        )
    return t, ent, n_fixed


def _check_finite_nonneg(x: np.ndarray, col: str, role: str, rows: np.ndarray | None,
                         scan: tuple | None = None) -> None:
    """Raise on infinite or negative values; ``scan`` is ``float_scan(x)`` when done already."""
    _n_nan, _f_nan, n_inf, f_inf, n_neg, f_neg = float_scan(x) if scan is None else scan
    if n_inf:
        raise ColumnError(col, f"({role}) has infinite values", n_inf, int(rows[f_inf]) if rows is not None else f_inf)
    if n_neg:
        raise ColumnError(col, f"({role}) has negative values", n_neg, int(rows[f_neg]) if rows is not None else f_neg)


def _event(frame: pl.DataFrame, col: str, rows: np.ndarray | None) -> np.ndarray:
    s = frame.get_column(col)
    if s.dtype == pl.Boolean:
        return s.cast(pl.Int8).to_numpy().astype(np.int8, copy=False)
    if not s.dtype.is_numeric():
        raise ColumnError(col, f"(event) must be 0/1 or boolean, got dtype {s.dtype}")
    raw = s.to_numpy()  # zero-copy for non-null numeric columns; the kernel is typed per dtype
    codes, n_bad, _first_bad = event_codes(raw)
    if n_bad == 0:
        return codes
    v = s.cast(pl.Float64).to_numpy()
    bad = (v != 0.0) & (v != 1.0)
    if bad.any():
        values = np.unique(v[bad])[:5]
        shown = ", ".join(f"{x:g}" for x in values)
        hint = "events must be coded 1 and censorings 0"
        if set(np.unique(v)) <= {1.0, 2.0}:
            hint += " (R's 1/2 status coding? use status - 1)"
        raise ColumnError(col, f"(event) has codes other than 0/1: {shown}", *_first(bad, rows), hint=hint)
    return np.ascontiguousarray(v.astype(np.int8))


def encode_groups(frame: pl.DataFrame, by: Sequence[str], *,
                  small: bool = False) -> tuple[np.ndarray, pl.DataFrame]:
    """Integer codes for the observed combinations of ``by``, numbered in sorted key order.

    Codes are int64, or with ``small`` (one column) whatever signed integer type the column's
    own values already are when they are their codes 0..k-1 (a 0/1 int8 factor stays one
    byte per row: no eight-byte copy; the kernels are compiled per dtype).

    Hash-free and sort-free over the rows: each column's distinct values are found with
    ``unique`` (hash), sorted (small), and rows are mapped by binary search; several columns
    are combined in mixed radix and compacted to the combinations that occur.
    """
    n = frame.height
    if not by:
        return np.zeros(n, dtype=np.int64), pl.DataFrame()
    combined = None
    levels: list[pl.Series] = []
    for b in by:
        code, uniq = _column_codes(frame.get_column(b))
        if len(by) > 1:  # combined in mixed radix below: no overflow of a small type
            code = code.astype(np.int64, copy=False)
        levels.append(uniq)
        combined = code if combined is None else combined * uniq.len() + code
    radix = [lv.len() for lv in levels]
    if len(by) == 1:
        codes, observed = combined, np.arange(radix[0], dtype=np.int64)
    else:
        total = int(np.prod(radix, dtype=np.float64))
        if total <= max(4 * n, 1 << 20):
            codes, observed = compact_codes(combined, total)
        else:  # very many combinations: compact with a sort of the (few) distinct codes
            observed, codes = np.unique(combined, return_inverse=True)
    # decode observed mixed-radix codes back to one column per `by`
    cols = {}
    rest = observed.copy()
    for b, lv, r in zip(reversed(by), reversed(levels), reversed(radix), strict=True):
        cols[b] = lv.gather(rest % r)
        rest //= r
    keys = pl.DataFrame({b: cols[b] for b in by})
    keep = small and len(by) == 1 and codes.dtype.kind == "i"
    return np.ascontiguousarray(codes, dtype=codes.dtype if keep else np.int64), keys


def _column_codes(s: pl.Series, *, string_codes: type = np.int64) -> tuple[np.ndarray, pl.Series]:
    """Codes of a column's values (0..k-1 in ascending value order) and its sorted levels.

    A string column with few levels gets codes of type ``string_codes`` (a caller that
    keeps one byte per row asks for ``numpy.uint8``: no eight-byte array to fill).
    """
    if (s.dtype.is_integer() or s.dtype == pl.Boolean) and s.len() > 0 and s.null_count() == 0:
        # small integer types stay as they are (no 8-byte copy); the kernels are typed per dtype
        v = s.to_numpy() if s.dtype in (pl.Int8, pl.Int16, pl.Int32, pl.Int64) else s.cast(pl.Int64).to_numpy()
        lo, hi = int_range(v)
        if hi - lo <= 4 * v.size + 1024:  # dense integers: linear passes, no hashing
            lv = levels_present(v, lo, hi)
            if lo == 0 and lv.size == hi + 1 and v.dtype.kind == "i":
                codes = v  # values are already their codes 0..k-1: keep the column (no copy)
            else:
                codes, lv = dense_codes(v, lo, hi)
            return codes, pl.Series(s.name, lv).cast(s.dtype)
    if isinstance(s.dtype, pl.Enum) and s.len() > 0 and s.null_count() == 0:
        # an Enum's values sort in category order, which its physical codes already are:
        # linear passes over the small codes, no string hashing
        v = s.to_physical().to_numpy()
        lo, hi = int_range(v)
        signed = np.dtype(f"i{v.dtype.itemsize}")
        present = levels_present(v, lo, hi)
        if lo == 0 and present.size == hi + 1 and hi <= np.iinfo(signed).max:
            codes = v.view(signed)  # every category up to the largest used: the codes themselves
        else:
            codes, present = dense_codes(v, int(lo), int(hi))
        return codes, pl.Series(s.name, s.dtype.categories.gather(present)).cast(s.dtype)
    if s.dtype == pl.String:
        found = _few_string_codes(s, string_codes)
        if found is not None:
            return found
    uniq = s.unique().sort()
    if s.dtype == pl.String and 1 < uniq.len() <= _FEW_LEVELS:
        # few distinct strings: one when/then chain of equality tests (vectorised, ~3x
        # faster than a binary search per row); nulls sort first, so they keep code 0
        chain = None
        for j, lv in enumerate(uniq.to_list()):
            if j == 0 or lv is None:
                continue
            test = pl.col(s.name) == lv
            chain = pl.when(test).then(j) if chain is None else chain.when(test).then(j)
        codes = s.to_frame().select(chain.otherwise(0).cast(pl.Int64)).to_series()
        return codes.to_numpy(), uniq
    return uniq.search_sorted(s, side="left").to_numpy().astype(np.int64), uniq


#: Up to this many distinct strings, codes come from equality tests instead of a search.
_FEW_LEVELS = 32
#: Up to this many, the levels themselves are found by equality tests (no hashing).
_ELIMINATE_LEVELS = 4  # measured: faster than hashing up to about 4 (2 levels: ~1.6x)


def _few_string_codes(s: pl.Series, code_type: type = np.int64) -> tuple[np.ndarray, pl.Series] | None:
    """:func:`_column_codes` of a string column with at most ``_ELIMINATE_LEVELS`` distinct
    values, found without hashing: take the first row not yet matched, mark every row equal
    to it (one vectorised comparison), repeat. ``k`` levels cost ``k`` comparison passes
    (a hash of every string costs several); the codes are assigned from the same masks.
    ``None`` when there are more levels (decided early from the first rows when possible).
    """
    n = s.len()
    if n == 0 or s.head(4096).n_unique() > _ELIMINATE_LEVELS:
        return None
    unseen = s.is_not_null()
    levels: list[str] = []
    masks: list[np.ndarray] = []
    while unseen.any():
        if len(levels) == _ELIMINATE_LEVELS:
            return None
        v = s[int(unseen.arg_max())]
        hit = (s == v).fill_null(False)
        levels.append(v)
        masks.append(hit.to_numpy())
        unseen = unseen & ~hit
    has_null = s.null_count() > 0
    if len(levels) + has_null < 2:
        return None  # a constant column: the generic path says so as it always has
    ranks = np.argsort(np.array(levels, dtype=object), kind="stable")
    if len(levels) == 2 and not has_null:  # codes 0/1: the second level's mask itself
        codes = masks[ranks[1]].view(np.uint8).astype(code_type, copy=False)
    else:
        codes = np.zeros(n, dtype=code_type)  # nulls sort first: code 0
        for r, j in enumerate(ranks):
            if r + has_null:
                np.copyto(codes, r + has_null, where=masks[j])
    uniq = pl.Series(s.name, ([None] if has_null else []) + [levels[j] for j in ranks], dtype=pl.String)
    return codes, uniq


# --------------------------------------------------------------------------------------------
# Level order: the one policy (groups, reference levels, trend scores, table rows, legends)
# --------------------------------------------------------------------------------------------
#: How a column's levels are ordered, by where the order comes from (see :func:`order_kind`).
#: Every kind but ``"alphabetical"`` is an order the data (or the user) declared.
ORDER_KINDS = ("declared", "numeric", "boolean", "chronological", "alphabetical")

_HOW_TO_ORDER = (
    "list them in their real order with --levels {col}='{example}' (reordered) on the command "
    "line, levels={{{col!r}: [...]}} in Python or [levels] in a study spec, or pass a Polars "
    "Enum / ordered pandas Categorical column"
)


def order_kind(dtype: pl.DataType) -> str:
    """Where the order of a column's levels comes from (the level-order policy).

    * ``"declared"``: a Polars ``Enum`` keeps its categories' order. Every declared order is
      an ``Enum`` by the time an analysis sees it: a pandas ``Categorical`` (its categories),
      an Arrow dictionary (its dictionary), SPSS/Stata value labels (in code order) and
      ``levels=`` / ``--levels`` are converted on input (:func:`declare_levels`,
      :func:`codes_to_enum`, :func:`value_labels_to_enum`). A Categorical or dictionary
      not marked ordered whose categories sort alphabetically (pandas' default) is text.
    * ``"numeric"``: numbers sort numerically. ``"boolean"``: false before true.
      ``"chronological"``: dates and times.
    * ``"alphabetical"``: plain strings (and a Polars ``Categorical``, whose categories carry
      no order) sort by code point. That order is fine for groups, table rows and legends,
      and R's default reference level is the same first level, but a trend test across such
      levels is refused (:func:`require_order`): alphabetical order is rarely the real one
      (``"20-50" < "<=20" < ">50"``).
    """
    if isinstance(dtype, pl.Enum):
        return "declared"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype.is_numeric():
        return "numeric"
    if dtype.is_temporal():
        return "chronological"
    return "alphabetical"


def _level_text(v: object) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    return str(v)


def require_order(keys: pl.DataFrame, what: str = "a trend test") -> None:
    """Raise :class:`~riskset.errors.LevelOrderError` when a column of ``keys`` (one row per
    level, in the analysis's order) has no declared or natural order (see :func:`order_kind`)."""
    from riskset.errors import LevelOrderError

    for col in keys.columns:
        if order_kind(keys.schema[col]) != "alphabetical":
            continue
        levels = [_level_text(v) for v in keys.get_column(col).unique(maintain_order=True).to_list()
                  if v is not None]
        example = ",".join(levels) if levels else "a,b,c"
        raise LevelOrderError(
            col,
            f"has text levels with no declared order ({', '.join(map(repr, levels))}, sorted "
            f"alphabetically); {what} needs their real order",
            levels=levels,
            hint=_HOW_TO_ORDER.format(col=col, example=example),
        )


def declare_levels(frame: pl.DataFrame, levels: Mapping[str, Sequence[Any]] | None) -> pl.DataFrame:
    """Give columns of ``frame`` the level order (and labels) in ``levels``: each named column
    becomes a Polars ``Enum`` of the levels as text, in the order given.

    A level matches a value by its text (a string column), its number (a numeric column:
    ``"1"`` matches 1 and 1.0) or its truth value (a boolean column: ``true``/``false``,
    either case). A value matching no level raises :class:`~riskset.errors.ColumnError`
    naming how many rows and the first; nulls stay null (missing).
    """
    if not levels:
        return frame
    from riskset.errors import OptionError

    out = {}
    for col, given in levels.items():
        if col not in frame.columns:
            from riskset.io.read import check_columns

            check_columns(frame.columns, [col])
        if isinstance(given, str) or not isinstance(given, Sequence) or not len(given):
            raise OptionError(f"levels for {col!r} must be a non-empty list of levels, got {given!r}")
        labels = [_level_text(v) for v in given]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise OptionError(f"levels for {col!r} repeat {', '.join(map(repr, dup))}")
        s = frame.get_column(col)
        enum = pl.Enum(labels)
        if s.dtype == pl.Boolean:
            truth = {"true": True, "false": False}
            bad = [x for x in labels if x.lower() not in truth]
            if bad:
                raise OptionError(f"column {col!r} is boolean; levels {bad!r} are not true/false")
            new = s.replace_strict([truth[x.lower()] for x in labels], labels, default=None,
                                   return_dtype=enum)
        elif s.dtype.is_numeric():
            keys = []
            for x in given:
                try:
                    keys.append(float(x))
                except (TypeError, ValueError):
                    raise OptionError(f"column {col!r} is numeric; level {x!r} is not a number") from None
            new = s.cast(pl.Float64).replace_strict(keys, labels, default=None, return_dtype=enum)
        else:
            new = s.cast(pl.String).replace_strict(labels, labels, default=None, return_dtype=enum)
        unmatched = (s.is_not_null() & new.is_null()).to_numpy()
        if unmatched.any():
            idx = np.flatnonzero(unmatched)
            other = s.filter(pl.Series(unmatched)).unique(maintain_order=True).head(5).to_list()
            raise ColumnError(
                col, f"has values not among the levels given ({', '.join(map(repr, labels))}): "
                f"{', '.join(repr(_level_text(v)) for v in other)}", int(idx.size), int(idx[0]),
                hint="list every value of the column, in order",
            )
        out[col] = new.alias(col)
    return frame.with_columns(list(out.values()))


def codes_to_enum(name: str, codes: np.ndarray, labels: Sequence[Any], *,
                  ordered: bool = True) -> pl.Series:
    """A column from integer codes into ``labels`` (negative codes: null): how a pandas
    ``Categorical`` and an Arrow dictionary keep their order and labels.

    It is an ``Enum`` of the labels in their order (a declared order), except when the
    categories are not marked ordered and already sort alphabetically: that is pandas'
    default (``astype("category")`` sorts them), not a declared order, so the column stays
    text (same groups and reference; a trend test asks for the order)."""
    text = [_level_text(v) for v in labels]
    c = pl.Series(name, np.asarray(codes, dtype=np.int64))
    c = c.set(c < 0, None) if (np.asarray(codes) < 0).any() else c
    plain = not ordered and text == sorted(text)
    return c.replace_strict(list(range(len(text))), text, default=None,
                            return_dtype=pl.String if plain else pl.Enum(text))


def value_labels_to_enum(s: pl.Series, labels: Mapping[Any, str]) -> pl.Series:
    """SPSS/Stata value labels: the coded column as an ``Enum`` in the order of the codes
    (numerically), each code shown by its label; a code without a label keeps its value as
    text. Nulls stay null."""
    codes = set(s.drop_nulls().unique().to_list()) | set(labels)
    ordered = sorted(codes, key=lambda v: (isinstance(v, str), v))

    def text(v: Any) -> str:
        if v in labels:
            return str(labels[v])
        return f"{v:g}" if isinstance(v, float) else str(v)

    names = [text(v) for v in ordered]
    if len(set(names)) < len(names):  # two codes share a label: keep the codes distinct
        names = [f"{text(v)} ({v:g})" if isinstance(v, float) else f"{text(v)} ({v})" for v in ordered]
    return s.replace_strict(ordered, names, default=None, return_dtype=pl.Enum(names))
