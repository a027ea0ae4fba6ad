"""Plain-text rendering of results for the terminal."""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from riskset.format import (
    format_count,
    format_pvalue,
    format_time,
    is_count_column,
    ratio_decimals,
    time_decimals,
)

#: Columns holding p-values (R's ``format.pval``: 3 significant digits, never 0).
_P_COLUMNS = {"p", "p_value", "p_adjusted", "p_adj", "pvalue"}
#: Ratio columns shown with enough decimals to tell the estimate from its limits and from 1.
_RATIOS = ("hr", "hr_lower", "hr_upper")


def _fmt(df: pl.DataFrame, *, times: Collection[str] = ()) -> str:
    """A result table as text (riskset.format's rules): counts as integers, p-values as R
    prints them, the ``times`` columns with the data's own precision and NR where missing,
    hazard ratios with enough digits, other numbers with 4 significant digits."""
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
    shown = pl.DataFrame(cols)
    with pl.Config(tbl_rows=200, tbl_cols=30, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True, fmt_str_lengths=40, tbl_width_chars=160):
        return str(shown)


def render_km(fit, *, landmarks, quantiles, rmst, followup, source: str, time: str, event: str) -> str:
    """Readable report of a Kaplan-Meier fit and its derived tables."""
    by = ", ".join(fit.by) if fit.by else "none"
    lines = [
        f"Kaplan-Meier: {source}  (time={time}, event={event}, by={by})",
        f"CI: {fit.conf_type}, {fit.conf_level:g} level; median convention: {fit.convention}; "
        f"variance: {fit.variance}",
        "",
        "Median survival (NR: not reached)",
        _fmt(fit.summary, times=("median", "median_lower", "median_upper")),
    ]
    if landmarks is not None:
        lines += ["", "Survival at landmark times (std_err on the survival scale)",
                  _fmt(landmarks, times=("time",))]
    if quantiles is not None:
        lines += ["", "Quantiles", _fmt(quantiles, times=("time", "lower", "upper"))]
    if rmst is not None:
        lines += ["", "Restricted mean survival time", _fmt(rmst, times=("tau",))]
    if followup is not None:
        lines += ["", "Median follow-up (reverse Kaplan-Meier)",
                  _fmt(followup, times=("median_followup", "lower", "upper"))]
    return "\n".join(lines) + "\n"
