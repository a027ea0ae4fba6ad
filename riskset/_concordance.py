"""Concordance of a predictor with a survival outcome (R ``concordance(Surv(time, event) ~ x)``).

The value is ``(somers_d + 1) / 2`` with Somers' ``d = (concordant - discordant) /
(concordant + discordant + tied.x)``; concordant means the longer survivor has the LARGER
predictor (R's default). ``reverse=True`` (as R ``reverse = TRUE``, what ``coxph`` uses for
its risk score) swaps the concordant and discordant counts and gives ``1 - C``. The variance
is R's infinitesimal jackknife ``var``: ``sum_i dfbeta_i^2 / 4`` with ``dfbeta_i = w_i
((I_i0 - I_i1) / npair - d (I_i0 + I_i1 + I_i2) / npair)`` (see
:mod:`riskset.engine.concordance`); ``cox_variance`` is R's ``cvar``.

Times are compared exactly: R's ``timefix`` (``aeqSurv``) rounding of nearly-equal times
is not applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from riskset._display import Displayed, _table, _text
from riskset._prepare import as_names
from riskset.engine import concordance as ce
from riskset.errors import ColumnError, OptionError, check_choice
from riskset.format import format_count, format_signif

_NAMES = ("concordant", "discordant", "tied_x", "tied_y", "tied_xy")


@dataclass(repr=False)
class ConcordanceResult(Displayed):
    """Concordance (Harrell's C and its time-weighted variants); see :func:`concordance`.

    Attributes
    ----------
    value
        The concordance (R ``$concordance``).
    variance, std
        Infinitesimal-jackknife variance (R ``$var``) and its square root.
    cox_variance
        R ``$cvar``, the variance under the Cox-model (proportional hazards) assumption.
    counts
        Weighted pair counts summed over strata (R ``$count``): ``concordant, discordant,
        tied_x, tied_y, tied_xy``.
    strata_counts
        With strata: the counts per stratum (R keeps them for up to 10 strata).
    dfbeta
        Each row's influence on the concordance (R ``concordance(..., influence = 1)$dfbeta``),
        input order: ``variance = sum(dfbeta**2)``.
    """

    value: float
    variance: float
    cox_variance: float
    counts: dict[str, float]
    n: int
    timewt: str
    reverse: bool
    predictor: str
    strata: tuple[str, ...]
    strata_counts: pl.DataFrame | None = None
    dfbeta: np.ndarray | None = field(default=None, repr=False)

    @property
    def std(self) -> float:
        return math.sqrt(self.variance) if self.variance >= 0 else float("nan")

    @property
    def somers_d(self) -> float:
        return 2.0 * self.value - 1.0

    def _blocks(self) -> list:
        head = (f"Concordance of {self.predictor!r}{' (reversed)' if self.reverse else ''}, "
                f"timewt = {self.timewt!r}"
                f"{', strata: ' + ', '.join(self.strata) if self.strata else ''}: n = {format_count(self.n)}")
        blocks = [_text(head),
                  _text(f"Concordance = {format_signif(self.value, 6)}  se = {format_signif(self.std, 6)}")]
        blocks.append(_table(pl.DataFrame({k: [v] for k, v in self.counts.items()})))
        if self.strata_counts is not None:
            blocks.append(_table(self.strata_counts))
        return blocks

    def to_dict(self) -> dict[str, Any]:
        from riskset._km import _records

        def num(v: float) -> float | None:
            return v if math.isfinite(v) else None

        return {
            "estimator": "concordance",
            "predictor": self.predictor,
            "timewt": self.timewt,
            "reverse": self.reverse,
            "strata": list(self.strata),
            "n": self.n,
            "concordance": num(self.value),
            "variance": num(self.variance),
            "std": num(self.std),
            "cox_variance": num(self.cox_variance),
            "counts": dict(self.counts),
            "strata_counts": None if self.strata_counts is None else _records(self.strata_counts),
        }


def concordance_arrays(time: np.ndarray, event: np.ndarray, x: np.ndarray, *,
                       codes: np.ndarray | None = None, weights: np.ndarray | None = None,
                       entry: np.ndarray | None = None, timewt: str = "n", reverse: bool = False,
                       cluster: np.ndarray | None = None, cox_variance: bool = True) -> dict[str, Any]:
    """The computation of :func:`concordance` on validated arrays (input order).

    Returns ``value, variance, cox_variance, count (nstrat x 5), dfbeta``;
    ``cox_variance=False`` skips R's ``cvar`` (NaN then; one tree walk less per row)."""
    check_choice("timewt", timewt, ce.TIMEWT)
    n = time.shape[0]
    status = np.ascontiguousarray(event, dtype=np.int8)
    x = np.ascontiguousarray(x, dtype=np.float64)
    w = np.ones(n) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    codes = np.zeros(n, dtype=np.int64) if codes is None else np.ascontiguousarray(codes, dtype=np.int64)
    nstrat = int(codes.max()) + 1 if n else 0
    if entry is not None and timewt != "n":
        raise OptionError(f"timewt={timewt!r} is not available with entry times (R 3.5-3 "
                          "supports only 'n' for (start, stop) data correctly)")
    # R merges more than 10 strata into one (disjoint time ranges) for "n" and "I": the
    # fewer-than-two-events rule then applies to all strata together
    merged = timewt in ("n", "I") and nstrat > 10
    if merged and timewt == "I":
        raise OptionError("timewt='I' with more than 10 strata is not supported: R 3.5-3 "
                          "merges the strata into (start, stop) data and aborts (segfault) there")
    topt = ce.TIMEWT.index(timewt)
    if merged and int(status.sum()) < 2:
        topt = 0
    rank, sort_stop, sort_start, bounds = ce.sweep_order(time, status, x, codes, entry)
    # the kernel reads the rows in sweep order: hand them over already permuted
    pos = np.empty(n, dtype=np.int64)
    pos[sort_stop] = np.arange(n, dtype=np.int64)
    count, imat_s = ce.concordance_counts(
        np.ascontiguousarray(time[sort_stop], dtype=np.float64), status[sort_stop],
        np.empty(0) if entry is None else np.ascontiguousarray(entry[sort_stop], dtype=np.float64),
        w[sort_stop], rank[sort_stop], np.arange(n, dtype=np.int64),
        pos[sort_start] if entry is not None else sort_start, bounds, entry is not None, topt, not merged,
        cox_variance)
    tot = count.sum(axis=0)
    npair = tot[0] + tot[1] + tot[2]
    i0, i1, i2 = imat_s[:, 0], imat_s[:, 1], imat_s[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        somer = (tot[0] - tot[1]) / npair
        dfb_s = w[sort_stop] * ((i0 - i1) / npair - (somer / npair) * (i0 + i1 + i2))
        cvar = tot[5] / (4.0 * npair**2) if cox_variance else np.nan
    dfbeta = np.empty(n)
    dfbeta[sort_stop] = dfb_s
    if cluster is not None:
        dfbeta = np.bincount(cluster, weights=dfbeta)
    var = float(np.sum(dfbeta**2)) / 4.0
    value = (somer + 1.0) / 2.0
    counts = count[:, :5].copy()
    if reverse:
        value = 1.0 - value
        counts[:, [0, 1]] = counts[:, [1, 0]]
        dfbeta = -dfbeta
    return {"value": float(value), "variance": var, "cox_variance": float(cvar),
            "count": counts, "dfbeta": dfbeta / 2.0}


def concordance(
    data: Any,
    *,
    time: str,
    event: str,
    predictor: str,
    strata: str | list[str] | None = None,
    weights: str | None = None,
    timewt: str = "n",
    reverse: bool = False,
    entry: str | None = None,
) -> ConcordanceResult:
    """Concordance between ``predictor`` and survival, as R ``concordance(Surv(time, event) ~
    predictor, data, weights, timewt, reverse)`` (add ``+ strata(s)`` for ``strata``; with
    ``entry``, ``Surv(entry, time, event)``).

    By default a pair is concordant when the longer survivor has the larger predictor (R's
    default); use ``reverse=True`` for a risk score, where larger means shorter survival.
    ``timewt``: ``"n"`` (Harrell's C), ``"S"``, ``"S/G"``, ``"n/G2"`` (Uno's weights) or
    ``"I"``; with ``entry`` only ``"n"``.
    """
    check_choice("timewt", timewt, ce.TIMEWT)
    if not isinstance(reverse, bool):
        raise OptionError(f"reverse must be True or False, got {reverse!r}")
    names = as_names(strata)
    from riskset.io.read import to_polars
    from riskset.io.validate import SurvivalColumns, validate_survival

    wanted = [time, event, predictor, *(c for c in (entry, weights) if c is not None), *names]
    frame = to_polars(data, wanted, None, plain=[c for c in (time, event, entry, weights, predictor) if c])
    cols: SurvivalColumns = validate_survival(frame, time=time, event=event, entry=entry,
                                              weights=weights, by=names)
    s = frame.get_column(predictor)
    if not s.dtype.is_numeric() or s.dtype == pl.Boolean:
        raise ColumnError(predictor, f"(predictor) must be numeric, got dtype {s.dtype}")
    x = s.cast(pl.Float64).fill_null(np.nan).to_numpy()
    bad = ~np.isfinite(x)
    if bad.any():
        idx = np.flatnonzero(bad)
        raise ColumnError(predictor, "(predictor) has missing or infinite values", int(idx.size), int(idx[0]))
    r = concordance_arrays(cols.time, cols.event, x, codes=cols.codes, weights=cols.weights,
                           entry=cols.entry, timewt=timewt, reverse=reverse)
    tot = r["count"].sum(axis=0)
    counts = {k: float(v) for k, v in zip(_NAMES, tot, strict=True)}
    sc = None
    if names:
        body = pl.DataFrame({k: r["count"][:, j] for j, k in enumerate(_NAMES)})
        sc = pl.concat([cols.keys, body], how="horizontal")
    return ConcordanceResult(value=r["value"], variance=r["variance"], cox_variance=r["cox_variance"],
                             counts=counts, n=int(cols.time.shape[0]), timewt=timewt, reverse=reverse,
                             predictor=predictor, strata=names, strata_counts=sc, dfbeta=r["dfbeta"])
