"""Plain-text rendering of results for the terminal."""

from __future__ import annotations

from riskset.format import format_frame as _fmt


def render_km(fit, *, landmarks, quantiles, rmst, followup, source: str, time: str, event: str) -> str:
    """Readable report of a Kaplan-Meier fit and its derived tables."""
    by = ", ".join(fit.by) if fit.by else "none"
    lines = [
        f"Kaplan-Meier: {source}  (time={time}, event={event}, by={by})",
        f"CI: {fit.conf_type}, {fit.conf_level:g} level; median convention: {fit.convention}; "
        f"variance: {fit.variance}",
    ]
    if (fit.stype, fit.ctype, fit.conf_lower) != (1, 1, "usual"):
        lines.append(f"survival: {'Kaplan-Meier' if fit.stype == 1 else 'exp(-H)'} (stype={fit.stype}); "
                     f"hazard: {'Nelson-Aalen' if fit.ctype == 1 else 'Fleming-Harrington'} (ctype={fit.ctype}); "
                     f"conf_lower: {fit.conf_lower}")
    lines += [
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
