"""riskset: fast survival statistics that match R ``survival``.

Public API
----------
kaplan_meier, nelson_aalen, median_followup, rmst_diff
    Kaplan–Meier family (:mod:`riskset._km`).
logrank, logrank_trend, logrank_pairwise, logrank_table
    Log-rank family matching R ``survdiff`` (:mod:`riskset._logrank`).
cox
    Cox proportional-hazards regression, with Firth's penalised fit (:mod:`riskset._cox`).
survreg, compare_distributions
    Parametric (AFT) survival regression matching R ``survreg`` (:mod:`riskset._survreg`).
cumulative_incidence, gray_test, fine_gray
    Competing risks: Aalen–Johansen incidence, Gray's test, Fine–Gray (:mod:`riskset._cif`).
concordance
    Concordance (Harrell's C, time-weighted variants) as R ``concordance`` (:mod:`riskset._concordance`).
bootstrap
    Bootstrap confidence intervals for survival statistics (:mod:`riskset._bootstrap`).
datasets
    Bundled example data (``riskset.datasets.load("gbsg")``).
errors
    Typed errors (:class:`riskset.errors.RisksetError` is a ``ValueError``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskset._lazy import lazy_names

if TYPE_CHECKING:  # the names below are imported on first use (see __getattr__)
    from riskset import datasets, errors
    from riskset._bootstrap import BootstrapResult, bootstrap
    from riskset._cif import (
        CumulativeIncidenceResult,
        GrayTestResult,
        cumulative_incidence,
        gray_test,
    )
    from riskset._concordance import ConcordanceResult, concordance
    from riskset._cox import ConvergenceWarning, CoxResult, MonotoneLikelihoodWarning, cox
    from riskset._finegray import FineGrayResult, fine_gray
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
    from riskset._survreg import SurvregResult, compare_distributions, survreg
    from riskset._survsplit import survsplit
    from riskset.errors import ColumnError, RisksetError, RisksetWarning

#: public name -> the module that defines it. Importing ``riskset`` itself imports none of
#: them (no Polars, Numba or SciPy): a name's module is imported when the name is first
#: used, so a process that needs one corner of the package (the CLI's ``--help``, a figure
#: worker that only draws) does not pay for the rest.
_LAZY: dict[str, str] = {
    "datasets": "riskset.datasets",
    "errors": "riskset.errors",
    "BootstrapResult": "riskset._bootstrap",
    "bootstrap": "riskset._bootstrap",
    "ConvergenceWarning": "riskset._cox",
    "CoxResult": "riskset._cox",
    "MonotoneLikelihoodWarning": "riskset._cox",
    "cox": "riskset._cox",
    "survsplit": "riskset._survsplit",
    "CumulativeIncidenceResult": "riskset._cif",
    "cumulative_incidence": "riskset._cif",
    "GrayTestResult": "riskset._cif",
    "gray_test": "riskset._cif",
    "FineGrayResult": "riskset._finegray",
    "fine_gray": "riskset._finegray",
    "ConcordanceResult": "riskset._concordance",
    "concordance": "riskset._concordance",
    "KaplanMeierResult": "riskset._km",
    "RMSTDifference": "riskset._km",
    "kaplan_meier": "riskset._km",
    "median_followup": "riskset._km",
    "nelson_aalen": "riskset._km",
    "rmst_diff": "riskset._km",
    "LogRankResult": "riskset._logrank",
    "TrendResult": "riskset._logrank",
    "logrank": "riskset._logrank",
    "logrank_pairwise": "riskset._logrank",
    "logrank_trend": "riskset._logrank",
    "logrank_table": "riskset._logrank_grid",
    "Proportion": "riskset._proportion",
    "proportion_ci": "riskset._proportion",
    "SurvregResult": "riskset._survreg",
    "compare_distributions": "riskset._survreg",
    "survreg": "riskset._survreg",
    "ColumnError": "riskset.errors",
    "RisksetError": "riskset.errors",
    "RisksetWarning": "riskset.errors",
}


__getattr__, __dir__ = lazy_names(__name__, globals(), _LAZY)

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "CoxResult",
    "MonotoneLikelihoodWarning",
    "cox",
    "survsplit",
    "CumulativeIncidenceResult",
    "cumulative_incidence",
    "GrayTestResult",
    "gray_test",
    "FineGrayResult",
    "fine_gray",
    "ConcordanceResult",
    "concordance",
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
    "SurvregResult",
    "compare_distributions",
    "survreg",
]
