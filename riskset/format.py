"""How riskset prints numbers: one module for CLI text, display tables, reports and ``repr``.

Machine-readable outputs (JSON, the CSV of a result's ``.table``) keep full precision and are
not formatted here; this module only makes the text a person reads.

Rules
-----
p-values
    ``style="r"`` (default): R's ``format.pval(p, digits = 3)``: three significant digits,
    fixed or scientific notation by R's width rule (``0.36``, ``0.0123``, ``6.8e-05``,
    ``2.94e-09``), and ``<2e-16`` below the double-precision epsilon, where a chi-square
    tail is no longer resolved. ``style="journal"``: ``< 0.001``; three decimals below 0.1
    (four where three would read ``0.050``), two above. Never ``0``.
counts
    Integers whenever the value is whole (``122795``, never ``122800.0`` or ``112.0``);
    weighted (fractional) counts keep up to two decimals.
times
    With the precision the data themselves have (:func:`time_decimals`): ``310 (285–363)``
    for times in days, ``1095.75`` for a landmark given as 1095.75.
estimates with limits
    ``est (lower–upper)``; a median or limit the curve never reaches is ``NR``, one that
    cannot be computed (the estimate is finite but the limit is missing) ``NE``.
ratios
    Hazard ratios and the like (:func:`format_ratio_ci`): at least two decimals, more until
    the estimate and both limits are distinguishable from each other and from 1, so a per-unit
    effect reads ``0.9999 (0.9997–1.0001)``, never ``1.000 (1.000–1.000)``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from typing import Any

import numpy as np

#: R's ``.Machine$double.eps``: below it a p-value prints as ``< 2e-16``.
DOUBLE_EPS = 2.220446049250313e-16
#: The dash between limits.
DASH = "–"
#: Text for a missing value in display tables.
MISSING = "—"
#: Not reached / not estimable.
NOT_REACHED = "NR"
NOT_ESTIMABLE = "NE"


def _is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, float | np.floating) and math.isnan(x))


def _sig_digits_needed(x: float, digits: int) -> int:
    """The fewest significant digits (<= ``digits``) that show ``x`` rounded to ``digits``.

    This is R's ``formatReal`` choice: ``format(0.36, digits = 3)`` is ``0.36``, not ``0.360``.
    """
    target = float(f"{x:.{digits - 1}e}")
    for k in range(1, digits + 1):
        if float(f"{x:.{k - 1}e}") == target:
            return k
    return digits


def format_signif(x: float, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits, as R's ``format(x, digits = digits)``.

    Fixed notation unless scientific notation is narrower (R's rule with ``scipen = 0``),
    trailing zeros dropped.
    """
    if _is_missing(x):
        return MISSING
    x = float(x)
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    if x == 0:
        return "0"
    k = _sig_digits_needed(x, digits)
    rounded = float(f"{x:.{k - 1}e}")
    e10 = math.floor(math.log10(abs(rounded)))
    decimals = max(0, k - 1 - e10)
    fixed = f"{x:.{decimals}f}"  # R keeps every integer digit: 123457, not 123000
    mant, exp = f"{rounded:.{k - 1}e}".split("e")
    sci = f"{mant}e{int(exp):+03d}"
    return fixed if len(fixed) <= len(sci) else sci


def format_pvalue(p: float | None, *, style: str = "r", digits: int = 3) -> str:
    """A p-value for a person to read (see the module rules). Missing or NaN: ``—``."""
    if _is_missing(p):
        return MISSING
    p = float(p)
    if style == "r":
        if p < DOUBLE_EPS:
            return "<2e-16"
        return format_signif(p, digits)
    if style == "journal":
        if p < 0.001:
            return "< 0.001"
        if p < 0.1:
            body = f"{p:.3f}"
            return f"{p:.4f}" if body == "0.050" else body
        return f"{min(p, 1.0):.2f}"
    raise ValueError(f"style={style!r}: expected 'r' or 'journal'")


def format_count(x: float | None) -> str:
    """A count: an integer when whole (case weights may make it fractional)."""
    if _is_missing(x):
        return MISSING
    x = float(x)
    if x.is_integer():
        return str(int(x))
    return f"{x:.2f}".rstrip("0").rstrip(".")


def time_decimals(values: Iterable[float] | np.ndarray, *, max_decimals: int = 4) -> int:
    """The decimals the data's own times need: 0 for whole days, 2 for 1095.75, ...

    The smallest ``k <= max_decimals`` such that every finite value is a multiple of
    ``10**-k`` (to within rounding of its decimal representation); ``max_decimals`` when none
    is (times in months from days, say).
    """
    a = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return 0
    for k in range(max_decimals + 1):
        scaled = a * 10.0**k
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(1.0, np.abs(scaled))):
            return k
    return max_decimals


def format_time(x: float | None, decimals: int) -> str:
    """A time with ``decimals`` decimals (from :func:`time_decimals`); ``NR`` when missing."""
    if _is_missing(x) or math.isinf(float(x)):
        return NOT_REACHED
    return f"{float(x):.{decimals}f}"


def format_estimate_ci(est: float | None, lower: float | None, upper: float | None,
                       decimals: int = 1) -> str:
    """``"15.0 (4.7–25.3)"`` with NR for what is not reached and NE for what is not estimable.

    NR: a median the curve never reaches, or an upper limit it never crosses (R's NA).
    NE: the estimate is finite but its lower limit is missing (SPSS's median -+ 1.96 SE
    without an SE, a rate's CI at S = 0): such a limit was never "not reached".
    """
    def finite(v: float | None) -> bool:
        return not _is_missing(v) and math.isfinite(float(v))

    def num(v: float | None) -> str:
        return f"{float(v):.{decimals}f}" if finite(v) else NOT_REACHED

    if finite(est) and not finite(lower):
        hi = num(upper) if finite(upper) else NOT_ESTIMABLE
        return f"{num(est)} ({NOT_ESTIMABLE}{DASH}{hi})"
    return f"{num(est)} ({num(lower)}{DASH}{num(upper)})"


def ratio_decimals(est: float, lower: float, upper: float, *, min_decimals: int = 2,
                   max_decimals: int = 6) -> int:
    """Decimals for a ratio and its limits: enough that none of est, lower, upper and 1
    that differ print the same (a per-unit HR of 0.99987 reads ``0.9999``), and the
    smallest keeps at least one significant digit; one number of decimals for all three."""
    vals = [v for v in (est, lower, upper, 1.0) if not _is_missing(v) and math.isfinite(v)]
    small = [abs(v) for v in vals if v != 0]
    # the smallest value keeps at least one significant digit (0.00914 -> 0.009, not 0.01)
    start = max(min_decimals, min(max_decimals, -math.floor(math.log10(min(small))))) if small else min_decimals
    for k in range(start, max_decimals + 1):
        shown = {}
        clash = False
        for v in vals:
            s = f"{v:.{k}f}"
            if s in shown and shown[s] != v:
                clash = True
                break
            shown[s] = v
        if not clash:
            return k
    return max_decimals


def format_ratio_ci(est: float | None, lower: float | None, upper: float | None) -> str:
    """A hazard ratio (or any ratio) with its CI, digits by :func:`ratio_decimals`."""
    if _is_missing(est):
        return MISSING
    k = ratio_decimals(float(est), *(float("nan") if _is_missing(v) else float(v)
                                     for v in (lower, upper)))

    def num(v: float | None) -> str:
        if _is_missing(v):
            return NOT_ESTIMABLE
        v = float(v)
        if math.isinf(v):
            return "∞" if v > 0 else "0"
        return f"{v:.{k}f}"

    return f"{num(est)} ({num(lower)}{DASH}{num(upper)})"


def format_statistic(x: float | None, digits: int = 4) -> str:
    """A test statistic (chi-square, z) with ``digits`` significant digits."""
    if _is_missing(x):
        return MISSING
    return format_signif(float(x), digits)


def format_test(statistic: float, df: float | int, p: float, *, name: str = "Chisq",
                style: str = "r") -> str:
    """``"Chisq = 232.4 on 1 df, p < 2e-16"`` (R's ``print.survdiff`` line)."""
    pv = format_pvalue(p, style=style)
    pv = f"< {pv[1:].strip()}" if pv.startswith("<") else f"= {pv}"
    return f"{name} = {format_statistic(statistic)} on {format_count(df)} df, p {pv}"


#: Columns that hold counts in riskset's result tables. They are floats only because case
#: weights may be fractional: whole values are written as integers in text, JSON and CSV.
COUNT_COLUMNS = frozenset({
    "n", "events", "n_risk", "n_event", "n_censor", "censored", "observed", "n_events",
    "n_defined", "n_undefined", "n_resamples", "records", "n_max", "n_start", "n_excluded",
    "nevent", "n_entered",
    "concordant", "discordant", "tied_x", "tied_y", "tied_xy",
})


def is_count_column(name: str) -> bool:
    """Whether a result column named ``name`` holds counts (see :data:`COUNT_COLUMNS`)."""
    return name in COUNT_COLUMNS


def count_value(name: str, value: Any) -> Any:
    """``value`` as an ``int`` when ``name`` is a count column and the value is whole."""
    if is_count_column(name) and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def counts_as_integers(df: Any) -> Any:
    """A Polars frame with its whole-valued count columns cast to ``Int64`` (for CSV)."""
    import polars as pl

    whole = [
        c for c, t in df.schema.items()
        if is_count_column(c) and t.is_float()
        and bool((df.get_column(c).drop_nulls().drop_nans() % 1 == 0).all())
        and df.get_column(c).drop_nulls().is_finite().all()
    ]
    return df.with_columns([pl.col(c).cast(pl.Int64) for c in whole]) if whole else df




#: Columns holding p-values (R's ``format.pval``: 3 significant digits, never 0).
_P_COLUMNS = {"p", "p_value", "p_adjusted", "p_adj", "pvalue"}
#: Ratio columns shown with enough decimals to tell the estimate from its limits and from 1.
_RATIOS = ("hr", "hr_lower", "hr_upper")


def display_frame(df: Any, *, times: Collection[str] = ()) -> Any:
    """A result table for display (riskset.format's rules): counts as integers, p-values as R
    prints them, the ``times`` columns with the data's own precision and NR where missing,
    hazard ratios with enough digits, other numbers with 4 significant digits."""
    import polars as pl

    cols = []
    tcols = [c for c in times if c in df.columns and df.schema[c].is_numeric()]
    tdec = time_decimals(pl.concat([df.get_column(c).cast(pl.Float64) for c in tcols]).to_numpy()) if tcols else 0
    ratios = all(c in df.columns for c in _RATIOS)
    for c, t in df.schema.items():
        s = df.get_column(c)
        if not t.is_numeric() or t == pl.Boolean:
            cols.append(s)
        elif c in tcols:
            cols.append(pl.Series(c, [format_time(v, tdec) for v in s.to_list()], dtype=pl.String))
        elif is_count_column(c):
            cols.append(pl.Series(c, [format_count(v) for v in s.to_list()], dtype=pl.String))
        elif c in _P_COLUMNS and t.is_float():
            cols.append(pl.Series(c, [format_pvalue(v) for v in s.to_list()], dtype=pl.String))
        elif ratios and c in _RATIOS:
            cols.append(None)  # filled below, row by row
        elif t.is_float():
            cols.append(s.round_sig_figs(4))
        else:
            cols.append(s)
    if ratios:
        rows = df.select(_RATIOS).rows()
        decs = [ratio_decimals(*(float("nan") if v is None else v for v in r)) for r in rows]
        for j, c in enumerate(df.columns):
            if c in _RATIOS:
                k = _RATIOS.index(c)
                cols[j] = pl.Series(c, ["—" if r[k] is None else f"{r[k]:.{d}f}" for r, d in zip(rows, decs, strict=True)],
                                    dtype=pl.String)
    return pl.DataFrame(cols)


def format_frame(df: Any, *, times: Collection[str] = ()) -> str:
    """:func:`display_frame` as terminal text (every row and column shown)."""
    import polars as pl

    shown = display_frame(df, times=times)
    with pl.Config(tbl_rows=200, tbl_cols=30, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True, fmt_str_lengths=40, tbl_width_chars=160):
        return str(shown)


def frame_html(df: Any, *, times: Collection[str] = ()) -> str:
    """:func:`display_frame` as an HTML table (for notebooks)."""
    import polars as pl

    with pl.Config(tbl_rows=200, tbl_cols=30, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True, fmt_str_lengths=80):
        return display_frame(df, times=times)._repr_html_()
