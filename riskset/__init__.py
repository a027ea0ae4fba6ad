"""riskset: fast survival statistics that match R ``survival``.

Public API
----------
kaplan_meier, nelson_aalen, median_followup, rmst_diff
    Kaplan–Meier family (:mod:`riskset._km`).
datasets
    Bundled example data (``riskset.datasets.load("gbsg")``).
errors
    Typed errors (:class:`riskset.errors.RisksetError` is a ``ValueError``).
"""

from riskset import datasets, errors
from riskset._km import (
    KaplanMeierResult,
    RMSTDifference,
    kaplan_meier,
    median_followup,
    nelson_aalen,
    rmst_diff,
)
from riskset.errors import ColumnError, RisksetError, RisksetWarning

__version__ = "0.1.0"

__all__ = [
    "ColumnError",
    "KaplanMeierResult",
    "RMSTDifference",
    "RisksetError",
    "RisksetWarning",
    "__version__",
    "datasets",
    "errors",
    "kaplan_meier",
    "median_followup",
    "nelson_aalen",
    "rmst_diff",
]
