"""Restricted mean survival time (area under the KM curve up to tau) and its standard error.

Contract
--------
For one curve with event-table rows ``time[m]`` (ascending), ``surv[m]``, ``n_risk[m]``,
``n_event[m]`` and a horizon ``tau``, with rows ``k`` such that ``time_k <= tau``::

    RMST(tau) = start + sum_k (x_{k+1} - x_k) S(x_k)          x = (start, times <= tau, tau)
    Var       = sum_k A_k^2 d_k / (n_k (n_k - d_k))            (0 where n_k = d_k)
    A_k       = integral of S from time_k to tau

This is Miller (1981, pp. 195-196) as implemented by R ``survival:::survmean`` for
``print(fit, rmean = tau)`` / ``summary(fit, rmean = tau)$table`` columns ``rmean`` and
``se(rmean)``, with weighted counts when case weights are given. ``start`` is 0 (R's
``start.time`` default for non-negative times). When ``tau`` precedes every row the RMST is
``tau`` with zero variance.
"""

from __future__ import annotations

import numpy as np


def rmst(
    time: np.ndarray,
    surv: np.ndarray,
    n_risk: np.ndarray,
    n_event: np.ndarray,
    tau: float,
    start: float = 0.0,
) -> tuple[float, float]:
    """Restricted mean and its standard error for one curve (see module contract)."""
    keep = time <= tau
    if not keep.any():
        return float(tau), 0.0
    t = np.concatenate((time[keep], [tau]))
    s = np.concatenate((surv[keep], [surv[keep][-1]]))
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(
            n_risk[keep] - n_event[keep] == 0,
            0.0,
            n_event[keep] / (n_risk[keep] * (n_risk[keep] - n_event[keep])),
        )
    delta = np.diff(np.concatenate(([start], t)))
    rect = delta * np.concatenate(([1.0], s[:-1]))
    # area from each row's time to tau, accumulated from the right
    area_after = np.cumsum(rect[1:][::-1])  # reversed order: A for the last row first
    var = float(np.sum(area_after**2 * hh[::-1]))
    return float(rect.sum() + start), float(np.sqrt(var))
