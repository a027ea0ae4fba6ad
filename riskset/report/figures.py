"""Publication figures: Kaplan–Meier curves with a number-at-risk table, and forest plots.

Every figure is a plain :class:`matplotlib.figure.Figure` on its own Agg canvas, built
without ``pyplot`` (so no backend is switched, nothing is registered globally and nothing
needs closing) and inside a :func:`matplotlib.rc_context` (so the style never leaks into the
caller's rcParams).

Public functions: :func:`km_figure`, :func:`forest_figure`, :func:`format_p`; the style,
rendering and saving (:func:`style`, :func:`render_figure`, :func:`save_figure`) live in
:mod:`riskset.report.render` and are re-exported here.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from riskset.errors import OptionError, RisksetError
from riskset.report.render import _STYLE, render_figure, save_figure, style

__all__ = ["PALETTE", "forest_figure", "format_p", "km_figure", "render_figure", "save_figure", "style"]

#: Okabe–Ito colour-blind-safe palette (yellow last: it is faint on white).
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
_LINESTYLES = ("-", "--", ":", "-.")

def _new_figure(width: float, height: float, *, layout: str | None = "constrained") -> Figure:
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _text_width_pt(text: str, size: float) -> float:
    """Width of ``text`` in points in the figure font (font metrics only; nothing is drawn)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    if not text:
        return 0.0
    w, _h, _d = text_to_path.get_text_width_height_descent(
        text, FontProperties(family=_STYLE["font.family"], size=size), ismath=False)
    return float(w)


def _place_km_axes(fig: Figure, ax: Any, tax: Any, *, names: Sequence[str], label_pad: float,
                   title: bool, table_h: float) -> None:
    """Fixed positions for the curve panel and the risk table (no layout engine).

    The decorations of a Kaplan–Meier figure are known in advance: y tick labels 0–1, one
    y label, x tick labels and x label, an optional one-line title, and the risk table's
    row labels (the curve names, the only variable width). Margins are computed from font
    metrics in points, so a figure costs no layout pass (constrained layout measured every
    artist on each draw: about a third of the drawing time).
    """
    W, H = fig.get_size_inches()
    pt = 1.0 / 72.0
    outer = 0.1
    y_ticks = (_text_width_pt("0.75", 9) + 3.5 + 3.5 + 4.0) * pt  # tick, pad, widest label, label pad
    y_deco = y_ticks + 10.0 * 1.25 * pt
    label_w = (max((_text_width_pt(n, 9) for n in names), default=0.0) + label_pad) * pt if tax is not None else 0.0
    left = outer + max(y_deco, label_w)
    right = outer + 0.3  # half of a last x tick label such as "300"
    x_ticks = (3.5 + 3.5 + 9.0 * 1.25 + 4.0) * pt  # tick, pad, tick labels, label pad
    x_deco = x_ticks + 10.0 * 1.25 * pt
    top = outer + ((11.0 * 1.3 + 6.0) * pt if title else 0.05)
    bottom = (table_h if tax is not None else outer) + x_deco
    w = max(W - left - right, 0.5)
    h = max(H - top - bottom, 0.5)
    ax.set_position([left / W, bottom / H, w / W, h / H])
    # axis labels at fixed offsets: matplotlib otherwise measures every tick label on each
    # draw to place them (the largest single cost of drawing these figures)
    ax.xaxis.set_label_coords(0.5, -x_ticks / h)
    ax.yaxis.set_label_coords(-y_ticks / w, 0.5)
    if tax is not None:
        t_top = table_h - (9.0 * 1.3 + 4.0) * pt  # under the "Number at risk" title
        t_bottom = outer * 0.5
        tax.set_position([left / W, t_bottom / H, w / W, max(t_top - t_bottom, 0.1) / H])


# --------------------------------------------------------------------------------------------
# number formatting
# --------------------------------------------------------------------------------------------
def format_p(p: float | None, *, prefix: str = "") -> str:
    """A p-value as journals print it: ``< 0.001``, ``= 0.003``, ``= 0.04``, ``= 0.27``.

    Values below 0.1 get three decimals, larger ones two; a value that would print as
    0.050 gets a fourth decimal so it cannot be misread as significant or not. With
    ``prefix`` (e.g. ``"p"``), the result reads ``"p < 0.001"`` / ``"p = 0.003"``.
    Missing or NaN: ``"—"``.
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return f"{prefix} = —".strip() if prefix else "—"
    p = float(p)
    if p < 0.001:
        body, op = "0.001", "<"
    else:
        op = "="
        if p < 0.1:
            body = f"{p:.3f}"
            if body == "0.050":
                body = f"{p:.4f}"
        else:
            body = f"{min(p, 1.0):.2f}"
    if prefix:
        return f"{prefix} {op} {body}"
    return f"< {body}" if op == "<" else body


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
    tab: pl.DataFrame = fit.table
    n_groups = int(fit.n_groups)
    names = _group_labels(fit, labels)
    ptext = _pvalue_text(pvalue)

    # per-group arrays
    curves = []
    for g in range(n_groups):
        sl = fit._slice(g)  # table rows are grouped in the order of fit.keys
        part = tab[sl.start : sl.stop]
        arr = {
            c: part[c].cast(pl.Float64).fill_null(float("nan")).to_numpy()
            for c in ("time", "n_censor", "survival", "lower", "upper")
        }
        curves.append(arr)
    tmax = max((float(c["time"].max()) for c in curves if c["time"].size), default=1.0)
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

    with style():
        row_h = 0.22
        plot_h = 3.9
        table_h = (0.55 + row_h * n_groups) if risk_table else 0.0
        fig = _new_figure(width, plot_h + table_h + (0.35 if title else 0.0), layout=None)
        ax = fig.add_axes((0.1, 0.3, 0.8, 0.6))  # placed by _place_km_axes at the end
        tax = fig.add_axes((0.1, 0.05, 0.8, 0.2)) if risk_table else None  # x range set to ax's below
        pad = 0.015 * xmax
        marks = []  # (group, colour, x, y) of censor marks, drawn once the panel is placed

        for g, (c, name) in enumerate(zip(curves, names, strict=True)):
            color = PALETTE[g % len(PALETTE)]
            ls = _LINESTYLES[(g // len(PALETTE)) % len(_LINESTYLES)]
            x = np.concatenate([[0.0], c["time"]])
            y = np.concatenate([[1.0], c["survival"]])
            ax.step(x, y, where="post", color=color, linestyle=ls, label=name, zorder=3)
            if ci:
                lo = np.concatenate([[1.0], c["lower"]])
                up = np.concatenate([[1.0], c["upper"]])
                ax.fill_between(x, lo, up, step="post", color=color, alpha=0.18, linewidth=0, zorder=2)
            if censor_marks:
                cx, cy = _distinct_marks(c["time"], c["survival"], c["n_censor"] > 0, xmax)
                if cx.size:
                    marks.append((g, color, cx, cy))
        ax.set_xlim(-pad, xmax + pad)
        ax.set_ylim(-0.02, 1.02)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.yaxis.set_major_locator(FixedLocator([0.0, 0.25, 0.5, 0.75, 1.0]))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", color="0.92", linewidth=0.6, zorder=0)
        if title:
            ax.set_title(title, loc="left", fontweight="bold", y=1.0)  # fixed y: no overlap search
        if n_groups > 1 or fit.by:
            ax.legend(loc="upper right", handlelength=2.2, borderaxespad=0.3)
        if ptext:
            ax.text(0.03, 0.05, ptext, transform=ax.transAxes, ha="left", va="bottom", fontsize=10,
                    gid="pvalue")

        if tax is not None:
            at = fit.at(ticks)
            n_risk = at["n_risk"].to_numpy()
            k = ticks.size
            first_w = 0
            for g in range(n_groups):
                color = PALETTE[g % len(PALETTE)]
                yrow = n_groups - 1 - g
                for j, t in enumerate(ticks):
                    txt = _fmt_count(float(n_risk[g * k + j]))
                    if j == 0:
                        first_w = max(first_w, len(txt))
                    tax.text(t, yrow, txt, ha="center", va="center_baseline",
                             color=color, fontsize=9, clip_on=False, gid=f"risk-{g}-{j}")
            tax.set_ylim(-0.6, n_groups - 0.4)
            tax.yaxis.set_major_locator(FixedLocator(list(range(n_groups))))
            tax.set_yticklabels(list(reversed(names)))
            for lab, g in zip(tax.get_yticklabels(), reversed(range(n_groups)), strict=True):
                lab.set_color(PALETTE[g % len(PALETTE)])
            # keep the labels clear of the centred counts at the first risk time
            first_x = float(ticks[0]) if ticks.size else 0.0
            ax_w_pt = (width - 1.6) * 72.0
            overhang = first_w * 2.9 - (first_x + pad) / (xmax + 2 * pad) * ax_w_pt
            label_pad = max(4.0, overhang + 6.0)
            tax.tick_params(axis="y", length=0, labelsize=9, pad=label_pad)
            tax.set_xlim(ax.get_xlim())
            tax.xaxis.set_major_locator(NullLocator())
            tax.xaxis.set_minor_locator(NullLocator())
            for side in ("top", "right", "bottom", "left"):
                tax.spines[side].set_visible(False)
            tax.set_title("Number at risk", loc="left", fontsize=9, fontweight="bold", pad=4, y=1.0)
            tax.patch.set_visible(False)
        _place_km_axes(fig, ax, tax, names=names, label_pad=label_pad if tax is not None else 0.0,
                       title=bool(title), table_h=table_h)
        for g, color, cx, cy in marks:
            _draw_censor_marks(ax, cx, cy, color=color, gid=f"censor-{g}")
    return fig


def _draw_censor_marks(ax: Any, x: np.ndarray, y: np.ndarray, *, color: str, gid: str,
                       size_pt: float = 6.0, width_pt: float = 1.1) -> None:
    """Draw a ``+`` of ``size_pt`` points at each ``(x, y)`` as one path (one artist).

    A marker per point would be one SVG element each (most of an SVG's writing time on a
    registry with thousands of censoring times); one path of short strokes, sized from the
    panel's final position, looks the same and is written once. Vertices per mark: the
    horizontal stroke, a break, the vertical stroke, a break (6 rows).
    """
    W, H = ax.figure.get_size_inches()
    pos = ax.get_position()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    hx = 0.5 * size_pt * (x1 - x0) / (W * pos.width * 72.0)
    hy = 0.5 * size_pt * (y1 - y0) / (H * pos.height * 72.0)
    nan = np.full_like(x, np.nan)
    px = np.column_stack([x - hx, x + hx, nan, x, x, nan]).ravel()
    py = np.column_stack([y, y, nan, y - hy, y + hy, nan]).ravel()
    ax.plot(px, py, color=color, linewidth=width_pt, solid_capstyle="butt", zorder=4, gid=gid)


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
        if estimable[i]:
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

    with style():
        fig = _new_figure(total_w, height)
        ratios = [label_w] + ([n_w] if n_txt else []) + [plot_w, est_w] + ([p_w] if p_txt else [])
        gs = fig.add_gridspec(1, len(ratios), width_ratios=ratios, wspace=0.0)
        col = 0
        lab_ax = fig.add_subplot(gs[col])
        col += 1
        n_ax = None
        if n_txt:
            n_ax = fig.add_subplot(gs[col], sharey=lab_ax)
            col += 1
        ax = fig.add_subplot(gs[col], sharey=lab_ax)
        col += 1
        est_ax = fig.add_subplot(gs[col], sharey=lab_ax)
        col += 1
        p_ax = fig.add_subplot(gs[col], sharey=lab_ax) if p_txt else None

        # rows top to bottom; a wrapped note makes its row taller
        ys = np.empty(n, dtype=np.float64)
        cursor = n + 0.5
        for i in range(n):
            h = row_units[i]
            ys[i] = cursor - h / 2
            cursor -= h
        y_bottom = cursor - 0.2
        y_top = n + 1.4

        text_axes = [a for a in (lab_ax, n_ax, est_ax, p_ax) if a is not None]
        for a in text_axes:
            a.set_axis_off()
            a.set_xlim(0, 1)
        lab_ax.set_ylim(y_bottom, y_top)

        for i, y in enumerate(ys):
            lab_ax.text(0.0, y, labels[i], ha="left", va="center", fontsize=9)
            if n_ax is not None:
                n_ax.text(0.9, y, n_txt[i], ha="right", va="center", fontsize=9)
            est_ax.text(0.08, y, est_txt[i], ha="left", va="center", fontsize=9)
            if p_ax is not None:
                p_ax.text(0.9, y, p_txt[i], ha="right", va="center", fontsize=9)
        header_y = n + 0.95
        if n_ax is not None:
            n_ax.text(0.9, header_y, "N", ha="right", va="center", fontsize=9, fontweight="bold")
        est_ax.text(0.08, header_y, estimate_label, ha="left", va="center", fontsize=9,
                    fontweight="bold")
        if p_ax is not None:
            p_ax.text(0.9, header_y, "p", ha="right", va="center", fontsize=9, fontweight="bold")

        if log_scale:
            ax.set_xscale("log")
        ax.set_xlim(xlo, xhi)
        ax.axvline(ref, color="0.45", linestyle="--", linewidth=0.9, zorder=1)
        color = PALETTE[0]
        for i, y in enumerate(ys):
            if not estimable[i]:
                ax.text(0.02, y, ne_wrapped[i], transform=ax.get_yaxis_transform(), ha="left",
                        va="center", fontsize=8.5, style="italic", color="0.35", clip_on=False,
                        gid=f"not-estimable-{i}", in_layout=False, zorder=4,
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})
                continue
            e = float(est[i])
            ax.plot([e], [y], marker="s", markersize=6, color=color, linestyle="none", zorder=3)
            for v, side in ((lower[i], -1), (upper[i], 1)):
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    continue  # CI limit not available: no whisker on this side
                edge = xlo if side < 0 else xhi
                beyond = (not ok(v)) or (v < xlo if side < 0 else v > xhi)
                end = edge if beyond else float(v)
                ax.plot([e, end], [y, y], color=color, linewidth=1.4, zorder=2,
                        solid_capstyle="butt")
                if beyond:
                    ax.plot([edge], [y], marker="<" if side < 0 else ">", markersize=5.5,
                            color=color, linestyle="none", clip_on=False, zorder=3,
                            gid=f"clipped-{i}-{'lower' if side < 0 else 'upper'}", in_layout=False)
        ax.set_ylim(y_bottom, y_top)
        ax.yaxis.set_visible(False)
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        if log_scale:
            ticks = [t for t in _NICE_LOG_TICKS if xlo <= t <= xhi]
            if len(ticks) < 3:
                ticks = sorted({*ticks, *(t for t in _FINE_LOG_TICKS if xlo <= t <= xhi)})
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.set_xlabel(xlabel)
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=11)
    return fig
