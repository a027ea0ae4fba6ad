"""How results print: ``repr`` (like R's ``print``) and ``_repr_html_`` for notebooks.

Every public result class delegates its ``__repr__`` and ``_repr_html_`` here, so the text
follows :mod:`riskset.format` (counts as integers, p-values as R's ``format.pval``, NR for
not reached) and shows every column of a summary. A display is a list of blocks: a text line
or a table with the columns that hold times.
"""

from __future__ import annotations

import html
from typing import Any

from riskset.format import (
    format_count,
    format_estimate_ci,
    format_frame,
    format_pvalue,
    format_signif,
    format_test,
    frame_html,
)

Block = tuple[str, Any, tuple[str, ...]]  # ("text", str, ()) or ("table", frame, times)


def _text(s: str) -> Block:
    return ("text", s, ())


def _table(df: Any, times: tuple[str, ...] = ()) -> Block:
    return ("table", df, times)


def render_text(blocks: list[Block]) -> str:
    out = []
    for kind, value, times in blocks:
        out.append(value if kind == "text" else format_frame(value, times=times))
    return "\n".join(out)


def render_html(blocks: list[Block]) -> str:
    out = ['<div class="riskset-result">']
    for kind, value, times in blocks:
        if kind == "text":
            out.append(f"<p>{html.escape(value)}</p>")
        else:
            out.append(frame_html(value, times=times))
    out.append("</div>")
    return "\n".join(out)


# ---- one function per result class ----------------------------------------------------
def km_blocks(fit: Any) -> list[Block]:
    by = ", ".join(fit.by) if fit.by else "none"
    opts = ""
    if (fit.stype, fit.ctype, fit.conf_lower) != (1, 1, "usual"):
        opts = f"; stype={fit.stype}, ctype={fit.ctype}, conf_lower={fit.conf_lower}"
    return [
        _text(f"Kaplan–Meier estimate (by: {by}); {fit.conf_type} {fit.conf_level:g} CI, "
              f"{fit.variance} variance, {fit.convention} median convention{opts}"),
        _table(fit.summary, ("median", "median_lower", "median_upper")),
        _text("NR: not reached. Curves: .table; rates: .at(times); plot: .plot()"),
    ]


def logrank_blocks(res: Any) -> list[Block]:
    what = ", ".join(res.group) + (f"; strata: {', '.join(res.strata)}" if res.strata else "")
    return [
        _text(f"Log-rank test ({res.weighting}) of {what}"),
        _table(res.table),
        _text(format_test(res.statistic, res.df, res.p_value)),
    ]


def trend_blocks(res: Any) -> list[Block]:
    return [
        _text(f"Log-rank test for trend ({res.weighting}); scores:"),
        _table(res.scores),
        _text(format_test(res.statistic, res.df, res.p_value) + f", z = {format_signif(res.z, 4)}"),
    ]


def cox_blocks(fit: Any) -> list[Block]:
    head = (f"Cox model ({fit.ties} ties{', Firth penalised' if fit.firth else ''}"
            f"{', strata: ' + ', '.join(fit.strata) if fit.strata else ''}): "
            f"n = {format_count(fit.n)}, events = {format_count(fit.n_events)}")
    coefs = fit.coefficients
    if fit.robust_se is None:
        coefs = coefs.drop("robust_se")
    if not coefs.get_column("monotone").any():
        coefs = coefs.drop("monotone")
    blocks = [_text(head), _table(coefs)]
    for name, t in (("Likelihood ratio test", fit.lr_test), ("Wald test", fit.wald_test),
                    ("Score (log-rank) test", fit.score_test)):
        if t:
            blocks.append(_text(format_test(t["statistic"], t["df"], t["p"], name=name)))
    blocks.extend(_text(f"warning: {w}") for w in fit.warnings)
    return blocks


def bootstrap_blocks(res: Any) -> list[Block]:
    seed = "none" if res.seed is None else str(res.seed)
    return [
        _text(f"Bootstrap {res.method} {res.conf_level:g} CI for {res.statistic} "
              f"({format_count(res.n_resamples)} resamples, seed {seed})"),
        _table(res.table),
    ]


def _level_text(keys: Any, i: int) -> str:
    row = keys.row(i, named=True)
    return ", ".join(f"{k}={v}" for k, v in row.items())


def rmst_difference_blocks(res: Any) -> list[Block]:
    direction = f"{_level_text(res.groups, 1)} − {_level_text(res.groups, 0)}"
    return [
        _text(f"RMST difference up to tau = {format_signif(res.tau, 6)}"),
        _table(res.per_group, ("tau",)),
        _text(f"difference ({direction}) = {format_estimate_ci(res.difference, res.lower, res.upper, 3)} "
              f"({res.conf_level:g} CI), p = {format_pvalue(res.p_value)}"),
    ]


def proportion_blocks(res: Any) -> list[Block]:
    return [_text(f"{res.x}/{res.n} = {100 * res.estimate:.1f}% "
                  f"({100 * res.lower:.1f}–{100 * res.upper:.1f}%, {res.conf_level:g} {res.method} CI)")]


class Displayed:
    """Mixin: ``repr`` and ``_repr_html_`` from the class's ``_blocks()``."""

    def _blocks(self) -> list[Block]:  # pragma: no cover - every user overrides it
        raise NotImplementedError

    def __repr__(self) -> str:
        return render_text(self._blocks())

    def _repr_html_(self) -> str:
        return render_html(self._blocks())
