"""Binomial proportions with confidence intervals (response rates, adverse-event rates).

``clopper-pearson`` (exact; R ``binom.test``): ``[B(a/2; x, n-x+1), B(1-a/2; x+1, n-x)]``
with ``B(q; a, b)`` the beta quantile, and the limits 0 / 1 when ``x = 0`` / ``x = n``.
``wilson`` (score interval; R ``prop.test(correct = FALSE)``):
``(p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv, ndtri

from riskset import _display
from riskset._display import Displayed
from riskset.errors import OptionError, check_choice

METHODS = ("clopper-pearson", "wilson")


@dataclass(frozen=True, repr=False)
class Proportion(Displayed):
    """A proportion ``x / n`` with its confidence interval."""

    x: int
    n: int
    estimate: float
    lower: float
    upper: float
    method: str
    conf_level: float

    def _blocks(self) -> list:
        return _display.proportion_blocks(self)


def proportion_ci(x: int, n: int, *, method: str = "clopper-pearson", conf_level: float = 0.95) -> Proportion:
    """Proportion ``x / n`` with a Clopper–Pearson (exact) or Wilson confidence interval."""
    check_choice("method", method, METHODS)
    if not 0 < conf_level < 1:
        raise OptionError(f"conf_level={conf_level!r} must be strictly between 0 and 1")
    if n <= 0 or x < 0 or x > n or int(x) != x or int(n) != n:
        raise OptionError(f"need whole numbers 0 <= x <= n and n > 0; got x={x!r}, n={n!r}")
    x, n = int(x), int(n)
    alpha = 1 - conf_level
    p = x / n
    if method == "clopper-pearson":
        lo = 0.0 if x == 0 else float(betaincinv(x, n - x + 1, alpha / 2))
        hi = 1.0 if x == n else float(betaincinv(x + 1, n - x, 1 - alpha / 2))
    else:
        z = float(ndtri(1 - alpha / 2))
        denom = 1 + z * z / n
        centre = p + z * z / (2 * n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        lo, hi = (centre - half) / denom, (centre + half) / denom
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    return Proportion(x, n, p, lo, hi, method, float(conf_level))


def proportions(xs: np.ndarray, ns: np.ndarray, *, method: str = "clopper-pearson", conf_level: float = 0.95):
    """Vectorised :func:`proportion_ci`: arrays of estimates, lower and upper limits."""
    out = [proportion_ci(int(a), int(b), method=method, conf_level=conf_level) for a, b in zip(xs, ns, strict=True)]
    return (np.array([o.estimate for o in out]), np.array([o.lower for o in out]), np.array([o.upper for o in out]))
