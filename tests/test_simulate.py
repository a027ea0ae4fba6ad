"""Tests of the simulated T-DXd cohort (riskset.datasets.simulate) against the seed paper."""

from __future__ import annotations

import math
from datetime import date
from importlib import resources

import numpy as np
import polars as pl
import pytest

import riskset
from riskset.datasets import _tdxd_fit as fit_search
from riskset.datasets import simulate as sim

LOW, POS = "HER2-low", "HER2-positive"


@pytest.fixture(scope="module")
def cohort() -> pl.DataFrame:
    return sim.simulate_tdxd(2025)


@pytest.fixture(scope="module")
def report(cohort) -> dict[str, float]:
    return dict(sim.target_report(cohort).select("figure", "achieved").iter_rows())


def counts(df: pl.DataFrame, expr: pl.Expr) -> tuple[int, int]:
    """(HER2-low, HER2-positive) counts of rows where ``expr`` holds."""
    low = df.filter(pl.col("her2_group") == LOW).select(expr.sum()).item()
    pos = df.filter(pl.col("her2_group") == POS).select(expr.sum()).item()
    return int(low), int(pos)


# ----------------------------------------------------------------------------- schema
def test_deterministic(cohort):
    assert sim.simulate_tdxd(2025).equals(cohort)
    other = sim.simulate_tdxd(7)
    assert not other.equals(cohort)
    assert sim.simulate_tdxd(7).equals(other)


def test_schema(cohort):
    assert cohort.columns == sim.COLUMNS
    assert cohort.height == 98
    assert cohort["patient_id"].to_list() == [f"P{i:03d}" for i in range(1, 99)]
    assert cohort.schema["start_date"] == pl.Date
    assert cohort.schema["sd_weeks"] == pl.Float64
    for c in ("age", "ecog", "n_met_sites", "prior_lines", "ae_ild_grade"):
        assert cohort.schema[c] == pl.Int64
    assert set(cohort["her2_ihc"]) == {"IHC 1+", "IHC 2+/ISH-", "IHC 2+/ISH+", "IHC 3+"}
    assert set(cohort["ki67"].drop_nulls()) == {">20%", "<=20%"}
    assert set(cohort["best_response"]) == {"CR", "PR", "SD", "PD"}
    assert set(cohort["discontinuation_reason"].drop_nulls()) == {"ILD", "renal impairment"}


def test_bundled_csv_is_seed_2025(cohort):
    path = resources.files("riskset.datasets").joinpath("tdxd.csv")
    back = pl.read_csv(str(path), null_values=[""], try_parse_dates=True, infer_schema_length=None)
    assert back.equals(cohort)


# ----------------------------------------------------------------------------- Table 1
def test_table1(cohort):
    c = pl.col
    assert counts(cohort, c("her2_group") == LOW) == (52, 0)
    assert counts(cohort, c("ecog") == 2) == (3, 3)
    assert counts(cohort, c("ecog") <= 1) == (49, 43)
    assert counts(cohort, c("hr_status") == "positive") == (32, 22)
    assert counts(cohort, c("her2_ihc") == "IHC 1+") == (20, 0)
    assert counts(cohort, c("her2_ihc") == "IHC 2+/ISH-") == (32, 0)
    assert counts(cohort, c("her2_ihc") == "IHC 2+/ISH+") == (0, 11)
    assert counts(cohort, c("her2_ihc") == "IHC 3+") == (0, 35)
    assert counts(cohort, c("ki67") == "<=20%") == (10, 3)
    assert counts(cohort, c("ki67") == ">20%") == (37, 38)
    assert counts(cohort, c("ki67").is_null()) == (5, 5)
    # HER2-low 8/24/20: the printed 8/14/22 sums to 44 (see tdxd_NOTES.md).
    assert counts(cohort, c("n_met_sites") == 1) == (8, 20)
    assert counts(cohort, c("n_met_sites") == 2) == (24, 17)
    assert counts(cohort, c("n_met_sites") >= 3) == (20, 9)
    assert counts(cohort, c("liver_met") == 1) == (25, 16)
    assert counts(cohort, c("lung_met") == 1) == (23, 15)
    assert counts(cohort, c("brain_met") == 1) == (17, 17)
    assert counts(cohort, c("bone_met") == 1) == (30, 20)
    assert counts(cohort, c("prior_anti_her2") == 1) == (0, 45)
    assert counts(cohort, c("prior_cdk46") == 1) == (31, 3)
    assert counts(cohort, c("prior_lines") == 1) == (2, 7)
    assert counts(cohort, c("prior_lines") == 2) == (8, 11)
    assert counts(cohort, c("prior_lines") >= 3) == (42, 28)


def test_table1_consistency(cohort):
    flags = cohort.select(
        pl.sum_horizontal("liver_met", "lung_met", "brain_met", "bone_met")
    ).to_series()
    assert (flags <= cohort["n_met_sites"]).all()
    assert (cohort["n_met_sites"] >= 1).all()
    assert cohort.filter(pl.col("prior_cdk46") == 1)["hr_status"].eq("positive").all()
    assert (cohort["prior_anti_her2_lines"] <= cohort["prior_lines"]).all()
    low = cohort.filter(pl.col("her2_group") == LOW)
    assert (low["prior_anti_her2_lines"] == 0).all()
    pos = cohort.filter(pl.col("her2_group") == POS)
    assert ((pos["prior_anti_her2_lines"] > 0) == (pos["prior_anti_her2"] == 1)).all()
    assert cohort["prior_lines"].median() == 3
    assert (cohort["prior_lines"].min(), cohort["prior_lines"].max()) == (1, 17)


def test_age(cohort):
    age = cohort["age"]
    assert age.median() == 51
    assert (age.min(), age.max()) == (31, 74)
    low = cohort.filter(pl.col("her2_group") == LOW)["age"]
    pos = cohort.filter(pl.col("her2_group") == POS)["age"]
    assert low.median() == 51.5 and (low.min(), low.max()) == (33, 74)
    assert pos.median() == 49 and (pos.min(), pos.max()) == (31, 74)
    assert (age >= 65).sum() == 17


# ----------------------------------------------------------------------------- Table 2
def test_table2(cohort):
    for resp, expected in {"CR": (1, 1), "PR": (20, 17), "SD": (10, 19), "PD": (21, 9)}.items():
        assert counts(cohort, pl.col("best_response") == resp) == expected, resp
    cbr = cohort.filter(
        pl.col("best_response").is_in(["CR", "PR"]) | (pl.col("sd_weeks") >= 24)
    ).height
    assert cbr == 41  # 41.8%
    dcr = cohort.filter(pl.col("best_response") != "PD").height
    assert dcr == 68  # 69.4%


def test_table4_and_subgroups(cohort):
    old = cohort.filter(pl.col("age") >= 65)
    young = cohort.filter(pl.col("age") < 65)
    assert (old.height, young.height) == (17, 81)
    assert old.filter(pl.col("best_response") != "PD").height == 11
    assert young.filter(pl.col("best_response") != "PD").height == 57
    assert old.filter(pl.col("best_response").is_in(["CR", "PR"])).height == 9
    tdm1 = cohort.filter(pl.col("prior_tdm1") == 1)
    assert tdm1.height == 11 and tdm1["her2_group"].eq(POS).all()
    assert tdm1.filter(pl.col("best_response").is_in(["CR", "PR"])).height == 4
    assert tdm1.filter(pl.col("best_response") != "PD").height == 10
    lm = cohort.filter(pl.col("leptomeningeal") == 1)
    assert lm.height == 5
    assert lm.filter(pl.col("best_response") != "PD").height == 4
    assert lm.filter(pl.col("brain_met") == 1).height == 3


def test_response_and_date_logic(cohort):
    d = cohort
    assert d["start_date"].min() >= date(2022, 1, 1)
    assert d["start_date"].max() <= date(2025, 2, 28)
    assert d["last_assessment_date"].max() <= date(2025, 3, 31)
    prog = d.filter(pl.col("progression_date").is_not_null())
    assert (prog["progression_date"] == prog["last_assessment_date"]).all()
    assert d.filter(pl.col("best_response") == "PD")["progression_date"].null_count() == 0
    resp = d.filter(pl.col("best_response").is_in(["CR", "PR"]))
    assert resp["response_date"].null_count() == 0
    assert (resp["response_date"] <= resp["last_assessment_date"]).all()
    assert (resp["response_date"] > resp["start_date"]).all()
    assert (
        d.filter(~pl.col("best_response").is_in(["CR", "PR"]))["response_date"].null_count()
        == 98 - 39
    )
    sd = d.filter(pl.col("best_response") == "SD")
    assert sd["sd_weeks"].null_count() == 0
    assert d.filter(pl.col("best_response") != "SD")["sd_weeks"].null_count() == 69
    weeks = (sd["last_assessment_date"] - sd["start_date"]).dt.total_days() / 7
    assert np.allclose(sd["sd_weeks"].to_numpy(), weeks.to_numpy(), atol=0.051)


# ----------------------------------------------------------------------------- safety
def test_adverse_events(cohort):
    assert (cohort["ae_neutropenia_grade"] >= 3).sum() == 20
    assert (cohort["ae_nausea_grade"] >= 3).sum() == 5
    assert (cohort["ae_anemia_grade"] >= 3).sum() == 4
    assert (cohort["ae_ild_grade"] >= 1).sum() == 6
    for c in ("ae_neutropenia_grade", "ae_nausea_grade", "ae_anemia_grade", "ae_ild_grade"):
        assert cohort[c].is_between(0, 5).all()
    stop = cohort.filter(pl.col("discontinued_ae") == 1)
    assert stop.height == 3
    assert sorted(stop["discontinuation_reason"].to_list()) == ["ILD", "ILD", "renal impairment"]
    assert (
        cohort.filter(pl.col("discontinued_ae") == 0)["discontinuation_reason"].null_count() == 95
    )
    assert (stop.filter(pl.col("discontinuation_reason") == "ILD")["ae_ild_grade"] >= 1).all()


# ----------------------------------------------------------------------------- survival
MEDIAN_TOL = 1.5  # months
RATE_TOL = 5.0  # percentage points


@pytest.mark.parametrize(
    ("figure", "target"),
    [
        ("median PFS overall (mo)", 15.0),
        ("median PFS HER2-low (mo)", 9.0),
        ("median PFS HER2-low, liver mets (mo)", 6.0),
        ("median PFS HER2-low, no liver mets (mo)", 15.0),
        ("median PFS brain mets (mo)", 15.5),
        ("median PFS age < 65 (mo)", 20.0),
        ("median PFS age >= 65 (mo)", 15.0),
        ("median follow-up, reverse KM (mo)", 6.0),
        ("median PFS2 (mo)", 2.0),
    ],
)
def test_medians(report, figure, target):
    assert abs(report[figure] - target) <= MEDIAN_TOL, (figure, report[figure])


@pytest.mark.parametrize(
    ("figure", "target"),
    [
        ("12-mo PFS HER2-low (%)", 38.1),
        ("12-mo PFS HER2-positive (%)", 69.2),
        ("12-mo PFS brain mets (%)", 65.3),
    ],
)
def test_twelve_month_rates(report, figure, target):
    assert abs(report[figure] - target) <= RATE_TOL, (figure, report[figure])


def test_her2_positive_median_not_reached(report):
    assert math.isinf(report["median PFS HER2-positive (mo)"])


def test_logrank_targets(report):
    assert 0.001 <= report["log-rank p HER2-low liver"] <= 0.01
    assert 0.02 <= report["log-rank p HER2-pos anti-HER2 lines <3 vs >=3"] <= 0.05
    for name, p in report.items():
        if (
            name.startswith("log-rank p")
            and "liver" not in name.split("HER2-low ")[-1]
            and "anti-HER2 lines" not in name
        ):
            assert p > 0.05, (name, p)


def test_follow_up_range(report):
    assert abs(report["min follow-up (mo)"] - 0.5) < 0.05
    assert abs(report["max follow-up (mo)"] - 26.0) < 0.1


def test_monotone_likelihood(cohort):
    """HER2-positive, < 3 prior anti-HER2 lines: no event at all (HR -> 0 in a Cox fit)."""
    pos = sim.pfs_frame(cohort).filter(pl.col("her2_group") == POS)
    few = pos.filter(pl.col("prior_anti_her2_lines") < 3)
    assert few.height > 0 and few["pfs_event"].sum() == 0
    assert pos.filter(pl.col("prior_anti_her2_lines") >= 3)["pfs_event"].sum() > 0


def test_pfs2(cohort):
    nl = cohort.filter(pl.col("next_line_start").is_not_null())
    assert nl.height == 15
    assert (nl["best_response"] == "PD").all()
    assert (nl["next_line_start"] > nl["progression_date"]).all()
    assert nl["pfs2_last_date"].null_count() == 0
    done = nl.filter(pl.col("second_progression_date").is_not_null())
    assert (done["second_progression_date"] == done["pfs2_last_date"]).all()
    rest = cohort.filter(pl.col("next_line_start").is_null())
    assert rest["second_progression_date"].null_count() == rest.height
    assert rest["pfs2_last_date"].null_count() == rest.height


def test_internal_helpers_match_riskset(cohort):
    d = sim.pfs_frame(cohort)
    t, e = d["pfs_months"].to_numpy(), d["pfs_event"].to_numpy()
    fit = riskset.kaplan_meier(d, time="pfs_months", event="pfs_event", convention="spss")
    assert fit_search._median(t, e) == pytest.approx(fit.summary["median"][0])
    g = (d["liver_met"] == 1).to_numpy()
    p = riskset.logrank(d, time="pfs_months", event="pfs_event", group="liver_met").p_value
    assert fit_search._logrank_p(t, e, g) == pytest.approx(p, rel=1e-9)


# ----------------------------------------------------------------------------- registry
def test_registry_schema():
    reg = sim.simulate_registry(10_000, n_centres=20, seed=3)
    assert reg.height == 10_000
    assert reg.columns == [*sim.COLUMNS, "centre"]
    assert reg.drop("centre").schema == sim.simulate_tdxd(2025).schema
    assert set(reg["centre"]) <= {f"C{i:03d}" for i in range(1, 21)}
    assert reg["centre"].n_unique() == 20
    assert reg["patient_id"].n_unique() == 10_000
    assert set(reg["her2_group"]) == {LOW, POS}
    assert sim.simulate_registry(10_000, n_centres=20, seed=3).equals(reg)
    prog = reg.filter(pl.col("progression_date").is_not_null())
    assert (prog["progression_date"] == prog["last_assessment_date"]).all()
    assert reg["last_assessment_date"].max() <= date(2025, 3, 31)
    assert (reg["last_assessment_date"] > reg["start_date"]).all()


def test_registry_partitioned_round_trip(tmp_path):
    files = sim.write_registry(tmp_path, 10_000, n_centres=8, seed=5, rows_per_file=4_000)
    assert all(f.name.startswith("part-") for f in files)
    assert {f.parent.name for f in files} == {f"centre=C{i:03d}" for i in range(1, 9)}
    back = pl.read_parquet(tmp_path, hive_partitioning=True)
    back = back.with_columns(pl.col("centre").cast(pl.String)).sort("patient_id")
    ref = sim.simulate_registry(10_000, n_centres=8, seed=5, block_size=4_000)
    assert back.select(ref.columns).equals(ref.sort("patient_id"))
