"""Columns, types, codes and calendar of the simulated T-DXd cohort and registry.

Shared by :mod:`riskset.datasets.simulate` (the 98-patient cohort) and
:mod:`riskset.datasets.registry` (large multi-centre registries with the same columns).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

#: Patients per cohort in the seed study (HER2-low, HER2-positive).
N_LOW, N_POS = 52, 46
N = N_LOW + N_POS

#: Days per month used for every month figure (365.25 / 12).
MONTH_DAYS = 30.4375
#: First possible T-DXd start, last possible start and the data cut-off.
STUDY_START = date(2022, 1, 1)
LAST_START = date(2025, 2, 28)
CUTOFF = date(2025, 3, 31)

_EPOCH = date(1970, 1, 1)
_START0 = (STUDY_START - _EPOCH).days
_START1 = (LAST_START - _EPOCH).days
_CUT = (CUTOFF - _EPOCH).days

#: Output columns, in order.
COLUMNS = [
    "patient_id",
    "age",
    "ecog",
    "hr_status",
    "her2_ihc",
    "her2_group",
    "ki67",
    "n_met_sites",
    "liver_met",
    "lung_met",
    "brain_met",
    "bone_met",
    "leptomeningeal",
    "prior_anti_her2",
    "prior_cdk46",
    "prior_lines",
    "prior_anti_her2_lines",
    "prior_tdm1",
    "start_date",
    "progression_date",
    "last_assessment_date",
    "best_response",
    "response_date",
    "sd_weeks",
    "next_line_start",
    "second_progression_date",
    "pfs2_last_date",
    "ae_neutropenia_grade",
    "ae_nausea_grade",
    "ae_anemia_grade",
    "ae_ild_grade",
    "discontinued_ae",
    "discontinuation_reason",
]

_SCHEMA = {
    "patient_id": pl.String,
    "age": pl.Int64,
    "ecog": pl.Int64,
    "hr_status": pl.String,
    "her2_ihc": pl.String,
    "her2_group": pl.String,
    "ki67": pl.String,
    "n_met_sites": pl.Int64,
    "liver_met": pl.Int64,
    "lung_met": pl.Int64,
    "brain_met": pl.Int64,
    "bone_met": pl.Int64,
    "leptomeningeal": pl.Int64,
    "prior_anti_her2": pl.Int64,
    "prior_cdk46": pl.Int64,
    "prior_lines": pl.Int64,
    "prior_anti_her2_lines": pl.Int64,
    "prior_tdm1": pl.Int64,
    "start_date": pl.Date,
    "progression_date": pl.Date,
    "last_assessment_date": pl.Date,
    "best_response": pl.String,
    "response_date": pl.Date,
    "sd_weeks": pl.Float64,
    "next_line_start": pl.Date,
    "second_progression_date": pl.Date,
    "pfs2_last_date": pl.Date,
    "ae_neutropenia_grade": pl.Int64,
    "ae_nausea_grade": pl.Int64,
    "ae_anemia_grade": pl.Int64,
    "ae_ild_grade": pl.Int64,
    "discontinued_ae": pl.Int64,
    "discontinuation_reason": pl.String,
}

_IHC = ["IHC 1+", "IHC 2+/ISH-", "IHC 2+/ISH+", "IHC 3+"]
_RESP = ["CR", "PR", "SD", "PD"]
_CR, _PR, _SD, _PD = range(4)


def _date_col(a: np.ndarray) -> pl.Series:
    """Days since epoch (-1 = missing) -> nullable Date series."""
    s = pl.Series(np.where(a < 0, 0, a).astype(np.int32)).cast(pl.Date)
    return pl.select(pl.when(pl.Series(a >= 0)).then(s)).to_series()


def _str_col(codes: np.ndarray, labels: list[str]) -> pl.Series:
    """Integer codes (-1 = missing) -> nullable String series."""
    s = pl.Series(labels).gather(np.where(codes < 0, 0, codes))
    return pl.select(pl.when(pl.Series(codes >= 0)).then(s)).to_series()

