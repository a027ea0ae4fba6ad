"""riskset: fast survival statistics that match R ``survival``.

Public API
----------
kaplan_meier, nelson_aalen, median_followup, rmst_diff
    Kaplan–Meier family (:mod:`riskset._km`).
logrank, logrank_trend, logrank_pairwise, logrank_table
    Log-rank family matching R ``survdiff`` (:mod:`riskset._logrank`).
cox
    Cox proportional-hazards regression, with Firth's penalised fit (:mod:`riskset._cox`).
bootstrap
    Bootstrap confidence intervals for survival statistics (:mod:`riskset._bootstrap`).
datasets
    Bundled example data (``riskset.datasets.load("gbsg")``).
errors
    Typed errors (:class:`riskset.errors.RisksetError` is a ``ValueError``).
"""

from riskset import datasets, errors
from riskset._bootstrap import BootstrapResult, bootstrap
from riskset._cox import ConvergenceWarning, CoxResult, MonotoneLikelihoodWarning, cox
from riskset._km import (
    KaplanMeierResult,
    RMSTDifference,
    kaplan_meier,
    median_followup,
    nelson_aalen,
    rmst_diff,
)
from riskset._logrank import (
    LogRankResult,
    TrendResult,
    logrank,
    logrank_pairwise,
    logrank_trend,
)
from riskset._logrank_grid import logrank_table
from riskset._proportion import Proportion, proportion_ci
from riskset.errors import ColumnError, RisksetError, RisksetWarning

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "CoxResult",
    "MonotoneLikelihoodWarning",
    "cox",
    "BootstrapResult",
    "LogRankResult",
    "Proportion",
    "TrendResult",
    "bootstrap",
    "logrank",
    "logrank_pairwise",
    "logrank_table",
    "logrank_trend",
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
    "proportion_ci",
    "rmst_diff",
]
