"""Fine–Gray subdistribution hazards (:func:`fine_gray`): R ``finegray()`` expanded data
(:mod:`riskset.engine.finegray`) fitted by riskset's own Cox model with case weights and a
robust variance clustered by subject, as ``coxph(Surv(fgstart, fgstop, fgstatus) ~ x,
weights = fgwt, id = id)``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from riskset._display import Displayed, _table, _text
from riskset._prepare import as_names
from riskset.errors import ColumnError, OptionError, check_choice

_ROW = "__riskset_row__"
_COLS = ("__fgstart__", "__fgstop__", "__fgstatus__", "__fgwt__")


@dataclass(frozen=True, repr=False)
class FineGrayResult(Displayed):
    """A Fine–Gray fit: ``coefficients`` (as :class:`riskset.CoxResult`'s, ``hr`` = the
    subdistribution hazard ratio), the underlying ``cox`` fit and the ``expanded`` data."""

    cause: Any
    variance: str
    cox: Any
    expanded: pl.DataFrame

    @property
    def coefficients(self) -> pl.DataFrame:
        return self.cox.coefficients

    @property
    def variance_matrix(self) -> np.ndarray:
        return self.cox.variance_matrix

    def _blocks(self) -> list:
        return [_text(f"Fine–Gray subdistribution hazards for cause {self.cause!r} "
                      f"({self.variance} variance; hr = subdistribution hazard ratio)"),
                _table(self.coefficients)]

    def to_dict(self) -> dict[str, Any]:
        out = self.cox.to_dict()
        out.update({"estimator": "fine_gray", "cause": self.cause if isinstance(self.cause, str) else int(self.cause),
                    "variance": self.variance})
        return out


def fine_gray(
    data: Any,
    *,
    time: str,
    event: str,
    covariates: str | Sequence[str],
    cause: Any = 1,
    variance: str = "robust",
    reference: Mapping[str, Any] | None = None,
    censored: Any = 0,
    ties: str = "efron",
    conf_level: float = 0.95,
) -> FineGrayResult:
    """Fine–Gray proportional subdistribution hazards model for ``cause``.

    Builds R ``finegray(Surv(time, factor(event)) ~ ., data, etype = cause)`` exactly (see
    :mod:`riskset.engine.finegray`) and fits ``coxph(Surv(fgstart, fgstop, fgstatus) ~
    covariates, weights = fgwt, id = <row>)`` with :func:`riskset.cox`.

    Parameters
    ----------
    time, event, censored
        As :func:`riskset.cumulative_incidence` (integer codes or labels).
    covariates, reference, ties, conf_level
        As :func:`riskset.cox`.
    cause
        The event value whose subdistribution hazard is modelled.
    variance
        ``"robust"`` (sandwich clustered by subject, R with ``id``; the Fine–Gray standard) or
        ``"naive"`` (inverse information of the weighted fit).
    """
    from riskset._cif import parse_causes
    from riskset._cox import cox
    from riskset.engine.finegray import finegray_expand
    from riskset.io.read import check_columns, to_polars
    from riskset.io.validate import validate_survival

    check_choice("variance", variance, ("robust", "naive"))
    covs = list(as_names(covariates))
    if not covs:
        raise OptionError("covariates: give at least one column")
    wanted = list(dict.fromkeys([time, event, *covs]))
    frame = to_polars(data, wanted)
    check_columns(frame.columns, wanted)
    code, causes = parse_causes(frame.get_column(event), censored)
    if cause not in causes:
        found = ", ".join(repr(c) for c in causes)
        what = "the censoring value" if cause == censored else "not among the causes"
        raise ColumnError(event, f"(event): cause={cause!r} is {what}; causes found: {found}",
                          hint=f"censored = {censored!r}")
    target = causes.index(cause) + 1
    # time validation (non-negative, finite, not missing) through the shared policy
    checked = validate_survival(frame.with_columns(pl.Series(event, (code > 0).astype(np.int8))),
                                time=time, event=event)
    t = checked.time
    row, start, stop, status, wt = finegray_expand(t, code, target)
    if start.size and start[0] < 0:  # a time of 0: R starts at 2 min - 1 = -1; Cox needs
        shift = -float(start.min())  # entry >= 0 here, and only the order of times matters
        start = start + shift
        stop = stop + shift
    expanded = frame.select(covs)[row].with_columns(
        pl.Series(_ROW, row), pl.Series(_COLS[0], start), pl.Series(_COLS[1], stop),
        pl.Series(_COLS[2], status), pl.Series(_COLS[3], wt),
    )
    robust = variance == "robust"
    fit = cox(expanded, time=_COLS[1], event=_COLS[2], entry=_COLS[0], covariates=covs,
              weights=_COLS[3], cluster=_ROW if robust else None, robust=robust, ties=ties,
              reference=reference, conf_level=conf_level)
    out = expanded.rename({_ROW: "row", _COLS[0]: "fgstart", _COLS[1]: "fgstop", _COLS[2]: "fgstatus",
                           _COLS[3]: "fgwt"})
    return FineGrayResult(cause=cause, variance=variance, cox=fit, expanded=out)
