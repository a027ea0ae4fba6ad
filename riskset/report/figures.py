"""Publication figures: Kaplan–Meier curves with a number-at-risk table, and forest plots.

:func:`km_figure` and :func:`forest_figure` turn a fit or a table into everything the figure
shows — curve steps, censor marks, tick positions, each count and label as text — and
:mod:`riskset.report.draw` places it with matplotlib. The two halves meet in plain values
(:func:`km_figure_args`, :func:`forest_figure_args`), so a study can draw its figures in
worker processes that import neither Polars nor the statistics (:mod:`riskset.report.pool`).

Every figure is a plain :class:`matplotlib.figure.Figure` on its own Agg canvas, built
without ``pyplot`` (so no backend is switched, nothing is registered globally and nothing
needs closing) and inside a :func:`matplotlib.rc_context` (so the style never leaks into the
caller's rcParams).

Public functions: :func:`km_figure`, :func:`forest_figure`, :func:`format_p`; the style,
rendering and saving (:func:`style`, :func:`render_figure`, :func:`save_figure`) live in
:mod:`riskset.report.render` and are re-exported here. This module imports matplotlib's
tick locators only; the drawing modules are imported when a figure is drawn.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from matplotlib.ticker import MaxNLocator

from riskset._lazy import lazy_names
from riskset.errors import OptionError, RisksetError
from riskset.format import format_ratio_ci

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from riskset.report.draw import PALETTE
    from riskset.report.render import render_figure, save_figure, style

__all__ = [
    "PALETTE", "forest_figure", "forest_figure_args", "format_p", "km_figure", "km_figure_args",
    "render_figure", "save_figure", "style",
]

__getattr__, __dir__ = lazy_names(__name__, globals(), {
    "PALETTE": "riskset.report.draw",
    **dict.fromkeys(("render_figure", "save_figure", "style"), "riskset.report.render"),
})


# --------------------------------------------------------------------------------------------
# number formatting
# --------------------------------------------------------------------------------------------
def format_p(p: float | None, *, prefix: str = "") -> str:
    """A p-value as journals print it (:func:`riskset.format.format_pvalue`, ``style="journal"``):
    ``< 0.001``, ``0.003``, ``0.04``, ``0.27``. With ``prefix`` (e.g. ``"p"``) the result reads
    ``"p < 0.001"`` / ``"p = 0.003"``. Missing or NaN: ``"—"``.
    """
    from riskset.format import format_pvalue

    body = format_pvalue(p, style="journal")
    if not prefix:
        return body
    if body.startswith("<"):
        return f"{prefix} {body}"
    return f"{prefix} = {body}"


def _fmt_num(x: float) -> str:
    """A ratio or count for a figure label: 2 decimals in the usual range, else 3 digits."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x != 0 and (abs(x) < 0.01 or abs(x) >= 1000):
        return f"{x:.3g}"
    return f"{x:.2f}"


def _fmt_count(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.1f}"


# --------------------------------------------------------------------------------------------
# Kaplan–Meier
# --------------------------------------------------------------------------------------------
def _group_labels(fit: Any, labels: Sequence[str] | Mapping[str, str] | None) -> list[str]:
    keys: pl.DataFrame = fit.keys
    if not fit.by or keys.height == 0:
        default = ["All"]
    else:
        default = [
            ", ".join(f"{c}={row[c]}" for c in fit.by) for row in keys.iter_rows(named=True)
        ]
    if labels is None:
        return default
    if isinstance(labels, Mapping):
        return [str(labels.get(d, d)) for d in default]
    labels = [str(x) for x in labels]
    if len(labels) != len(default):
        raise OptionError(
            f"labels has {len(labels)} entries but the fit has {len(default)} curve(s): "
            + ", ".join(default)
        )
    return labels


def _pvalue_text(pvalue: Any) -> str | None:
    if pvalue is None:
        return None
    if isinstance(pvalue, str):
        return pvalue
    p = getattr(pvalue, "p_value", pvalue)
    try:
        p = float(p)
    except (TypeError, ValueError):
        raise OptionError(
            f"pvalue={pvalue!r} must be a number, a test result with .p_value, or a string"
        ) from None
    if not (0.0 <= p <= 1.0) and not math.isnan(p):
        raise OptionError(f"pvalue={p!r} is not a probability")
    return "Log-rank " + format_p(p, prefix="p")


#: Censor marks are kept once per cell of this many cells across (and up) the panel.
_MARK_GRID = 1000.0


def _distinct_marks(t: np.ndarray, s: np.ndarray, keep: np.ndarray, xmax: float) -> tuple[np.ndarray, np.ndarray]:
    """Censor-mark positions, one per distinct spot on a 1000 x 1000 grid over the panel.

    The panel is ~900 px wide at 150 dpi, so a grid cell is finer than a pixel: marks in one
    cell draw on the same pixels (a mark is a tick several pixels tall). A registry with
    thousands of censoring times would otherwise spend most of the figure's drawing (and
    SVG size) on duplicates no one can see.
    """
    x, y = t[keep], s[keep]
    if x.size < 2:
        return x, y
    cell = np.round(x / (xmax if xmax > 0 else 1.0) * _MARK_GRID) * (2.0 * _MARK_GRID) + np.round(y * _MARK_GRID)
    _, first = np.unique(cell, return_index=True)
    first.sort()
    return x[first], y[first]


def _nice_ticks(xmax: float) -> np.ndarray:
    ticks = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10], integer=xmax >= 10).tick_values(0.0, xmax)
    return ticks[(ticks >= 0) & (ticks <= xmax * (1 + 1e-9))]


def km_figure_args(
    fit: Any,
    *,
    title: str | None = None,
    xlabel: str = "Time",
    ylabel: str = "Survival probability",
    risk_times: Sequence[float] | None = None,
    ci: bool = False,
    censor_marks: bool = True,
    pvalue: Any = None,
    labels: Sequence[str] | Mapping[str, str] | None = None,
    xmax: float | None = None,
    risk_table: bool = True,
    width: float = 7.0,
) -> dict[str, Any]:
    """The arguments of :func:`riskset.report.draw.draw_km` for ``fit`` (see :func:`km_figure`).

    Plain values only (NumPy arrays, strings, numbers): the curves from time 0 with their
    bands (``ci``) and distinct censor marks, the tick times, the number-at-risk texts.
    """
    tab: pl.DataFrame = fit.table
    n_groups = int(fit.n_groups)
    names = _group_labels(fit, labels)
    ptext = _pvalue_text(pvalue)

    # per-group arrays
    raw = []
    for g in range(n_groups):
        sl = fit._slice(g)  # table rows are grouped in the order of fit.keys
        part = tab[sl.start : sl.stop]
        arr = {
            c: part[c].cast(pl.Float64).fill_null(float("nan")).to_numpy()
            for c in ("time", "n_censor", "survival", "lower", "upper")
        }
        raw.append(arr)
    tmax = max((float(c["time"].max()) for c in raw if c["time"].size), default=1.0)
    if xmax is None:
        xmax = tmax if tmax > 0 else 1.0
    xmax = float(xmax)
    if not (math.isfinite(xmax) and xmax > 0):
        raise OptionError(f"xmax={xmax!r} must be a positive finite time")

    if risk_times is None:
        ticks = _nice_ticks(xmax)
    else:
        ticks = np.asarray(sorted(float(t) for t in risk_times), dtype=np.float64)
        if ticks.size == 0 or np.isnan(ticks).any() or (ticks < 0).any():
            raise OptionError("risk_times must be non-empty, non-negative numbers")
        xmax = max(xmax, float(ticks.max()))

    curves = []
    for c in raw:
        curve = {"x": np.concatenate([[0.0], c["time"]]), "y": np.concatenate([[1.0], c["survival"]])}
        if ci:
            curve["lower"] = np.concatenate([[1.0], c["lower"]])
            curve["upper"] = np.concatenate([[1.0], c["upper"]])
        keep = c["n_censor"] > 0 if censor_marks else np.zeros(c["time"].size, dtype=bool)
        curve["mark_x"], curve["mark_y"] = _distinct_marks(c["time"], c["survival"], keep, xmax)
        curves.append(curve)
    risk = None
    if risk_table:
        n_risk = fit.at(ticks, extend=True)["n_risk"].to_numpy()
        k = ticks.size
        risk = [[_fmt_count(float(n_risk[g * k + j])) for j in range(k)] for g in range(n_groups)]
    return {"curves": curves, "names": names, "ticks": ticks, "xmax": xmax, "risk": risk,
            "ptext": ptext, "title": title, "xlabel": xlabel, "ylabel": ylabel,
            "legend": bool(n_groups > 1 or fit.by), "width": float(width)}


def km_figure(
    fit: Any,
    *,
    title: str | None = None,
    xlabel: str = "Time",
    ylabel: str = "Survival probability",
    risk_times: Sequence[float] | None = None,
    ci: bool = False,
    censor_marks: bool = True,
    pvalue: Any = None,
    labels: Sequence[str] | Mapping[str, str] | None = None,
    xmax: float | None = None,
    risk_table: bool = True,
    width: float = 7.0,
) -> Figure:
    """Kaplan–Meier curves with a number-at-risk table, in the style of survminer's ``ggsurvplot``.

    Parameters
    ----------
    fit
        A :class:`riskset.KaplanMeierResult`.
    title, xlabel, ylabel
        Figure title and axis labels.
    risk_times
        Times at which the number at risk is shown (and the x ticks drawn). Default: the
        automatic x ticks from 0 to ``xmax``.
    ci
        Shade the pointwise confidence band of each curve (a step band).
    censor_marks
        Draw a ``+`` on the curve at every time with at least one censoring (marks closer
        than one cell of a 1000 x 1000 grid over the panel, finer than a pixel, are drawn once).
    pvalue
        A p-value (float), a test result with ``.p_value`` (e.g. :func:`riskset.logrank`'s),
        or ready text; shown at the lower left as ``"Log-rank p = 0.003"``.
    labels
        Curve labels, in the order of ``fit.keys``, or a mapping from the default labels
        (``"hormon=1"``) to new ones. Default: ``"column=value"`` per group, ``"All"`` for a
        single curve.
    xmax
        Right end of the time axis. Default: the largest time in the fit.
    risk_table
        Draw the number-at-risk table under the plot.
    width
        Figure width in inches.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]`` is the curve panel; with ``risk_table``, ``fig.axes[1]`` is the
        number-at-risk table (its y tick labels are the curve labels, its texts the counts).
    """
    from riskset.report.draw import draw_km

    return draw_km(**km_figure_args(
        fit, title=title, xlabel=xlabel, ylabel=ylabel, risk_times=risk_times, ci=ci,
        censor_marks=censor_marks, pvalue=pvalue, labels=labels, xmax=xmax,
        risk_table=risk_table, width=width))


# --------------------------------------------------------------------------------------------
# forest plot
# --------------------------------------------------------------------------------------------
_NICE_LOG_TICKS = (
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0,
    100.0, 200.0, 500.0, 1000.0,
)
_FINE_LOG_TICKS = (0.25, 0.4, 0.67, 0.8, 1.25, 1.5, 2.5, 3.0, 4.0)


def _col(rows: pl.DataFrame, name: str, n: int, dtype: Any = pl.Float64) -> list[Any]:
    if name not in rows.columns:
        return [None] * n
    s = rows[name]
    if dtype is pl.Float64:
        s = s.cast(pl.Float64, strict=False)
    return s.to_list()


def _finite(x: Any) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def forest_figure_args(
    rows: pl.DataFrame,
    *,
    title: str | None = None,
    xlabel: str = "Hazard ratio (95% CI)",
    ref: float = 1.0,
    log_scale: bool = True,
    estimate_label: str = "HR (95% CI)",
    width: float | None = None,
) -> dict[str, Any]:
    """The arguments of :func:`riskset.report.draw.draw_forest` for ``rows`` (see :func:`forest_figure`).

    Plain values only: every text, the x range and ticks, each CI whisker's end.
    """
    if not isinstance(rows, pl.DataFrame):
        raise OptionError("rows must be a polars DataFrame")
    missing = [c for c in ("label", "estimate", "lower", "upper") if c not in rows.columns]
    if missing:
        raise OptionError("forest rows lack column(s): " + ", ".join(missing))
    n = rows.height
    if n == 0:
        raise RisksetError("forest_figure needs at least one row")
    labels = ["" if v is None else str(v) for v in rows["label"].to_list()]
    est = _col(rows, "estimate", n)
    lower = _col(rows, "lower", n)
    upper = _col(rows, "upper", n)
    pvals = _col(rows, "p_value", n) if "p_value" in rows.columns else None
    counts = rows["n"].to_list() if "n" in rows.columns else None
    notes = rows["note"].to_list() if "note" in rows.columns else [None] * n

    ref = float(ref)
    if log_scale and not ref > 0:
        raise OptionError(f"ref={ref!r} must be positive on a log axis")

    def ok(v: Any) -> bool:
        return _finite(v) and (v > 0 if log_scale else True)

    estimable = [ok(e) and (notes[i] is None or str(notes[i]) == "") for i, e in enumerate(est)]

    # x range: the estimates and ref, plus finite CI limits within a decade of them
    core = [float(e) for e, good in zip(est, estimable, strict=True) if good] + [ref]
    if log_scale:
        lo_core, hi_core = min(core), max(core)
        lo_cap, hi_cap = max(lo_core / 10, 1e-3), min(hi_core * 10, 1e3)
        cand = [lo_core, hi_core]
        for i in range(n):
            if estimable[i]:
                cand += [v for v in (lower[i], upper[i]) if ok(v)]
        xlo = max(min(cand), lo_cap) / 1.15
        xhi = min(max(cand), hi_cap) * 1.15
    else:
        lo_core, hi_core = min(core), max(core)
        span = max(hi_core - lo_core, 1e-9 if hi_core == lo_core == 0 else abs(hi_core) * 0.1, 1e-9)
        lo_cap, hi_cap = lo_core - 3 * span, hi_core + 3 * span
        cand = [lo_core, hi_core]
        for i in range(n):
            if estimable[i]:
                cand += [v for v in (lower[i], upper[i]) if _finite(v)]
        xlo, xhi = max(min(cand), lo_cap), min(max(cand), hi_cap)
        m = 0.06 * (xhi - xlo or 1.0)
        xlo, xhi = xlo - m, xhi + m

    # leave room for the arrow head of a clipped CI next to its point
    for i in range(n):
        if not estimable[i]:
            continue
        e = float(est[i])
        lo_v, up_v = lower[i], upper[i]
        lo_clipped = lo_v is not None and not (isinstance(lo_v, float) and math.isnan(lo_v)) and (
            not ok(lo_v) or lo_v < xlo)
        up_clipped = up_v is not None and not (isinstance(up_v, float) and math.isnan(up_v)) and (
            not ok(up_v) or up_v > xhi)
        if log_scale:
            if lo_clipped:
                xlo = min(xlo, e / 1.6)
            if up_clipped:
                xhi = max(xhi, e * 1.6)
        else:
            w = xhi - xlo
            if lo_clipped:
                xlo = min(xlo, e - 0.08 * w)
            if up_clipped:
                xhi = max(xhi, e + 0.08 * w)

    est_txt = []
    for i in range(n):
        if estimable[i] and log_scale:  # a ratio: digits enough to tell it from its limits and 1
            est_txt.append(format_ratio_ci(float(est[i]), lower[i], upper[i]))
        elif estimable[i]:
            est_txt.append(f"{_fmt_num(float(est[i]))} ({_fmt_num(lower[i])}–{_fmt_num(upper[i])})")
        else:
            est_txt.append("")
    p_txt = [format_p(p) if estimable[i] else "" for i, p in enumerate(pvals)] if pvals else None
    n_txt = [_fmt_count(c) if c is not None else "—" for c in counts] if counts else None

    char_w = 0.068  # inches per character at 9 pt, a little generous
    label_w = max(0.8, max(len(s) for s in labels) * char_w + 0.15)
    n_w = (max(len("N"), *(len(s) for s in n_txt)) * char_w + 0.25) if n_txt else 0.0
    est_w = max(len(estimate_label), *(len(s) for s in est_txt)) * char_w + 0.25
    p_w = (max(len("p"), *(len(s) for s in p_txt)) * char_w + 0.25) if p_txt else 0.0
    ne_texts = {
        i: "not estimable" + (f": {notes[i]}" if notes[i] not in (None, "") else "")
        for i in range(n)
        if not estimable[i]
    }
    plot_w = 3.2
    if width is not None:
        plot_w = max(1.5, float(width) - label_w - n_w - est_w - p_w - 0.3)
    wrap_chars = max(20, int((plot_w + est_w) / 0.068))
    ne_wrapped = {i: textwrap.fill(t, wrap_chars) for i, t in ne_texts.items()}
    total_w = label_w + n_w + plot_w + est_w + p_w + 0.3 if width is None else float(width)

    row_h = 0.3
    row_units = [1.0 + 0.55 * ne_wrapped[i].count("\n") if i in ne_wrapped else 1.0 for i in range(n)]
    height = 0.85 + row_h * (sum(row_units) + 1.6) + (0.35 if title else 0.0)

    whiskers = []
    for i in range(n):
        ws = []
        if estimable[i]:
            for v, side in ((lower[i], -1), (upper[i], 1)):
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    continue  # CI limit not available: no whisker on this side
                edge = xlo if side < 0 else xhi
                beyond = (not ok(v)) or (v < xlo if side < 0 else v > xhi)
                ws.append((edge if beyond else float(v), side, bool(beyond)))
        whiskers.append(ws)
    ticks = None
    if log_scale:
        ticks = [t for t in _NICE_LOG_TICKS if xlo <= t <= xhi]
        if len(ticks) < 3:
            ticks = sorted({*ticks, *(t for t in _FINE_LOG_TICKS if xlo <= t <= xhi)})
    return {"labels": labels, "est": [None if e is None else float(e) for e in est], "whiskers": whiskers,
            "estimable": estimable, "est_txt": est_txt, "n_txt": n_txt, "p_txt": p_txt,
            "ne_wrapped": ne_wrapped, "row_units": row_units,
            "widths": (label_w, n_w if n_txt else 0.0, plot_w, est_w, p_w if p_txt else 0.0),
            "size": (total_w, height), "xlim": (xlo, xhi), "ticks": ticks, "ref": ref,
            "log_scale": log_scale, "xlabel": xlabel, "estimate_label": estimate_label, "title": title}


def forest_figure(
    rows: pl.DataFrame,
    *,
    title: str | None = None,
    xlabel: str = "Hazard ratio (95% CI)",
    ref: float = 1.0,
    log_scale: bool = True,
    estimate_label: str = "HR (95% CI)",
    width: float | None = None,
) -> Figure:
    """Forest plot: one row per estimate with its CI, an estimate column and a p column.

    Parameters
    ----------
    rows
        Polars DataFrame with ``label``, ``estimate``, ``lower``, ``upper`` and optionally
        ``p_value``, ``n`` and ``note``. A row whose estimate is null/non-finite (or not
        positive on a log axis), or whose ``note`` is set, is drawn as text only
        (``"not estimable: <note>"``) instead of a point.
    title, xlabel
        Figure title and x-axis label.
    ref
        Reference value drawn as a dashed vertical line (1 for ratios, 0 for differences).
    log_scale
        Log x axis (ratios). With ``False`` the axis is linear.
    estimate_label
        Header of the estimate text column.
    width
        Figure width in inches; default from the label and note lengths.

    Notes
    -----
    The x range covers the estimates and the reference with some margin, at most a factor
    of 10 (log) beyond the extreme estimates; CI limits beyond it (including infinite ones)
    are drawn to the edge and end in an arrow head.
    """
    from riskset.report.draw import draw_forest

    return draw_forest(**forest_figure_args(
        rows, title=title, xlabel=xlabel, ref=ref, log_scale=log_scale,
        estimate_label=estimate_label, width=width))
