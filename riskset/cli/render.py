"""Plain-text rendering of results for the terminal."""

from __future__ import annotations

import polars as pl

#: Count columns: floats only because case weights may be fractional; shown as integers when whole.
_COUNTS = {"n", "events", "n_risk", "n_event", "n_censor", "observed"}


def _fmt(df: pl.DataFrame) -> str:
    num = [c for c, t in df.schema.items() if t.is_float()]
    whole = [c for c in num if c in _COUNTS and bool((df.get_column(c).drop_nulls() % 1 == 0).all())]
    shown = df.with_columns([pl.col(c).cast(pl.Int64) for c in whole]
                            + [pl.col(c).round_sig_figs(4) for c in num if c not in whole])
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
        "Median survival",
        _fmt(fit.summary),
    ]
    if landmarks is not None:
        lines += ["", "Survival at landmark times (std_err on the survival scale)", _fmt(landmarks)]
    if quantiles is not None:
        lines += ["", "Quantiles", _fmt(quantiles)]
    if rmst is not None:
        lines += ["", "Restricted mean survival time", _fmt(rmst)]
    if followup is not None:
        lines += ["", "Median follow-up (reverse Kaplan-Meier)", _fmt(followup)]
    return "\n".join(lines) + "\n"
