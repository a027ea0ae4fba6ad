"""Drawing riskset's figures with matplotlib: numbers and strings in, a Figure out.

The figure functions of :mod:`riskset.report.figures` decide *what* a figure shows (curve
steps, censor marks, tick positions, every label and count as text) from a fit or a table;
the functions here only place it: :func:`draw_km` (Kaplan–Meier curves with the number-at-
risk table) and :func:`draw_forest`. They take plain Python and NumPy values and import only
NumPy and matplotlib, so a worker process can draw (:func:`render`) without Polars, Numba or
the statistics; the same arguments draw the same figure in any process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from riskset.report.render import _STYLE, render_figure, style

__all__ = ["PALETTE", "draw_forest", "draw_km", "render"]

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




def draw_km(
    *,
    curves: Sequence[dict[str, np.ndarray]],
    names: Sequence[str],
    ticks: np.ndarray,
    xmax: float,
    risk: Sequence[Sequence[str]] | None,
    ptext: str | None,
    title: str | None,
    xlabel: str,
    ylabel: str,
    legend: bool,
    width: float,
) -> Figure:
    """Kaplan–Meier curves with an optional number-at-risk table (see :func:`~riskset.report.km_figure`).

    ``curves[g]`` holds the step function of curve ``g`` from time 0 (``x``, ``y``), its
    confidence band (``lower``, ``upper``: drawn when present) and its censor marks
    (``mark_x``, ``mark_y``); ``risk[g][j]`` is the count text of curve ``g`` under
    ``ticks[j]`` (``None``: no table).
    """
    n_groups = len(curves)
    with style():
        row_h = 0.22
        plot_h = 3.9
        table_h = (0.55 + row_h * n_groups) if risk is not None else 0.0
        fig = _new_figure(width, plot_h + table_h + (0.35 if title else 0.0), layout=None)
        ax = fig.add_axes((0.1, 0.3, 0.8, 0.6))  # placed by _place_km_axes at the end
        tax = fig.add_axes((0.1, 0.05, 0.8, 0.2)) if risk is not None else None  # x range set to ax's below
        pad = 0.015 * xmax

        for g, (c, name) in enumerate(zip(curves, names, strict=True)):
            color = PALETTE[g % len(PALETTE)]
            ls = _LINESTYLES[(g // len(PALETTE)) % len(_LINESTYLES)]
            ax.step(c["x"], c["y"], where="post", color=color, linestyle=ls, label=name, zorder=3)
            if "lower" in c:
                ax.fill_between(c["x"], c["lower"], c["upper"], step="post", color=color, alpha=0.18,
                                linewidth=0, zorder=2)
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
        if legend:
            ax.legend(loc="upper right", handlelength=2.2, borderaxespad=0.3)
        if ptext:
            ax.text(0.03, 0.05, ptext, transform=ax.transAxes, ha="left", va="bottom", fontsize=10,
                    gid="pvalue")

        label_pad = 0.0
        if tax is not None:
            for g, row in enumerate(risk):
                color = PALETTE[g % len(PALETTE)]
                yrow = n_groups - 1 - g
                for j, (t, txt) in enumerate(zip(ticks, row, strict=True)):
                    tax.text(t, yrow, txt, ha="center", va="center_baseline",
                             color=color, fontsize=9, clip_on=False, gid=f"risk-{g}-{j}")
            tax.set_ylim(-0.6, n_groups - 0.4)
            tax.yaxis.set_major_locator(FixedLocator(list(range(n_groups))))
            tax.set_yticklabels(list(reversed(names)))
            for lab, g in zip(tax.get_yticklabels(), reversed(range(n_groups)), strict=True):
                lab.set_color(PALETTE[g % len(PALETTE)])
            # keep the labels clear of the centred counts at the first risk time
            first_w = max((len(row[0]) for row in risk if len(row)), default=0)
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
        _place_km_axes(fig, ax, tax, names=names, label_pad=label_pad, title=bool(title), table_h=table_h)
        for g, c in enumerate(curves):
            if c["mark_x"].size:
                _draw_censor_marks(ax, c["mark_x"], c["mark_y"], color=PALETTE[g % len(PALETTE)],
                                   gid=f"censor-{g}")
    return fig


def draw_forest(
    *,
    labels: Sequence[str],
    est: Sequence[float | None],
    whiskers: Sequence[Sequence[tuple[float, int, bool]]],
    estimable: Sequence[bool],
    est_txt: Sequence[str],
    n_txt: Sequence[str] | None,
    p_txt: Sequence[str] | None,
    ne_wrapped: dict[int, str],
    row_units: Sequence[float],
    widths: tuple[float, float, float, float, float],
    size: tuple[float, float],
    xlim: tuple[float, float],
    ticks: Sequence[float] | None,
    ref: float,
    log_scale: bool,
    xlabel: str,
    estimate_label: str,
    title: str | None,
) -> Figure:
    """Forest plot rows (see :func:`~riskset.report.forest_figure`), all texts and ranges given.

    ``whiskers[i]`` lists row ``i``'s CI whiskers as ``(end, side, clipped)``: the line runs
    from the estimate to ``end`` (side -1 lower, +1 upper) and a clipped one (the limit lies
    beyond the axis) ends in an arrow head. ``widths`` are the label, N, plot, estimate and
    p column widths in inches (0 for a column not shown); ``ticks`` the log-axis ticks
    (``None`` on a linear axis).
    """
    n = len(labels)
    xlo, xhi = xlim
    label_w, n_w, plot_w, est_w, p_w = widths
    with style():
        fig = _new_figure(*size)
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
            for end, side, beyond in whiskers[i]:
                ax.plot([e, end], [y, y], color=color, linewidth=1.4, zorder=2,
                        solid_capstyle="butt")
                if beyond:
                    ax.plot([end], [y], marker="<" if side < 0 else ">", markersize=5.5,
                            color=color, linestyle="none", clip_on=False, zorder=3,
                            gid=f"clipped-{i}-{'lower' if side < 0 else 'upper'}", in_layout=False)
        ax.set_ylim(y_bottom, y_top)
        ax.yaxis.set_visible(False)
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        if ticks is not None:
            ax.xaxis.set_major_locator(FixedLocator(list(ticks)))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.set_xlabel(xlabel)
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=11)
    return fig


_DRAW = {"km": draw_km, "forest": draw_forest}


def render(kind: str, args: dict[str, Any]) -> dict[str, bytes]:
    """``{"png", "svg"}`` bytes of the ``kind`` (``"km"`` or ``"forest"``) figure drawn from ``args``.

    The unit of work of a figure worker process (:mod:`riskset.report.pool`): plain values
    in, bytes out, the same bytes as drawing and rendering the figure in this process.
    """
    return render_figure(_DRAW[kind](**args))
