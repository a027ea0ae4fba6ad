"""Missing data, spec mistakes the data reveal, landmarks past follow-up, rows with time 0.

R fixture: ``tests/reference/make_missing.R`` (``fixtures/missing/lung_missing.json``):
Cox models on R's ``lung`` with its missing covariates (R's default ``na.omit``),
``summary(survfit, times = 365.25 * c(1, 3, 5))`` with and without ``extend``, and a row
with time 0.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

import riskset
from riskset.cli.main import main
from riskset.errors import ColumnError, RisksetWarning
from riskset.study.run import run_study
from riskset.study.spec import SpecError, load_spec
from tests.conftest import DATA, FIXTURES, assert_close, read_data
from tests.tolerances import CLOSED_RTOL, ITERATIVE_RTOL

FX = json.loads((FIXTURES / "missing" / "lung_missing.json").read_text())
LUNG = DATA / "lung.csv"


@pytest.fixture(scope="module")
def lung() -> pl.DataFrame:
    return read_data("lung.csv")


# ---- the API: complete cases by default, counted ---------------------------------------
@pytest.mark.parametrize("model", FX["cox"], ids=lambda m: "+".join(m["covariates"]))
def test_cox_complete_cases_equal_r_na_omit(lung, model):
    """R fits the complete cases of the model's columns (na.omit): the same n, events and
    coefficients; the warning counts the excluded rows per column and the result holds them."""
    covs = model["covariates"]
    counts = {c: lung[c].null_count() for c in covs if lung[c].null_count()}
    with pytest.warns(RisksetWarning, match=rf"excluded {model['n_excluded']} of 228 rows with missing values in ") as rec:
        fit = riskset.cox(lung, time="time", event="event", covariates=covs)
    msg = str(rec[0].message)
    for c, k in counts.items():
        assert f"{c!r} ({k})" in msg
    assert fit.n == model["n"] and fit.n_events == model["nevent"] and fit.n_excluded == model["n_excluded"]
    assert_close(fit.coef, model["coef"], "coef", rtol=ITERATIVE_RTOL)
    assert_close(fit.se, model["se"], "se", rtol=ITERATIVE_RTOL)
    assert_close(np.asarray(fit.loglik), model["loglik"], "loglik", rtol=ITERATIVE_RTOL)
    # the rows R left out are the rows missing a covariate (R numbers rows from 1)
    miss = lung.with_row_index().filter(pl.any_horizontal(pl.col(c).is_null() for c in covs))["index"]
    assert (miss + 1).to_list() == model["excluded_rows"]


def test_cox_missing_error_speaks_the_api(lung):
    with pytest.raises(ColumnError, match=r"'ph.ecog' \(covariate\) has missing values.*drop_missing=True") as e:
        riskset.cox(lung, time="time", event="event", covariates=["age", "ph.ecog"], drop_missing=False)
    assert e.value.n_rows == 1 and e.value.first_row == 13


def test_km_and_logrank_count_their_exclusions(lung):
    holed = lung.with_columns(time=pl.when(pl.col("inst").is_null()).then(None).otherwise(pl.col("time")))
    n_miss = lung["inst"].null_count()
    with pytest.warns(RisksetWarning, match=rf"excluded {n_miss} of 228 rows with missing values in 'time' \({n_miss}\)"):
        fit = riskset.kaplan_meier(holed, time="time", event="event")
    assert fit.n_excluded == n_miss and fit.summary["n"][0] == 228 - n_miss
    assert fit.to_dict()["n_excluded"] == n_miss
    with pytest.warns(RisksetWarning, match=rf"excluded {n_miss} of 228"):
        lr = riskset.logrank(holed, time="time", event="event", group="sex")
    assert lr.n_excluded == n_miss and lr.table["n"].sum() == 228 - n_miss


# ---- landmarks past the last observation (R summary(fit, times, extend)) -----------------
@pytest.mark.parametrize("case", FX["landmarks"], ids=lambda c: c["by"] or "overall")
@pytest.mark.parametrize("extend", [False, True])
def test_landmarks_follow_r_extend(lung, case, extend):
    fit = riskset.kaplan_meier(lung, time="time", event="event", by=case["by"])
    got = fit.at(case["times"], extend=extend)
    want = case["extend" if extend else "no_extend"]
    assert got.height == len(want["time"])  # without extend: no row past a curve's last time
    if case["by"]:
        assert [f"sex={v}" for v in got["sex"].to_list()] == want["strata"]
    for col, key in (("time", "time"), ("n_risk", "n_risk"), ("n_event", "n_event"), ("survival", "surv"),
                     ("std_err", "std_err"), ("lower", "lower"), ("upper", "upper")):
        assert_close(got[col], want[key], f"{case['by']} extend={extend} {col}")


def test_cli_km_landmarks_past_followup(tmp_path):
    r = CliRunner().invoke(main, ["km", str(LUNG), "--time", "time", "--event", "event", "--at", "365.25,1095.75",
                                  "--no-followup", "--format", "csv", "--table", "landmarks"])
    assert r.exit_code == 0, r.output
    assert pl.read_csv(r.stdout.encode())["time"].to_list() == [365.25]
    assert "1 landmark estimate past the last observation not shown" in r.stderr and "--extend" in r.stderr
    r = CliRunner().invoke(main, ["km", str(LUNG), "--time", "time", "--event", "event", "--at", "365.25,1095.75",
                                  "--no-followup", "--format", "csv", "--table", "landmarks", "--extend"])
    assert r.exit_code == 0, r.output
    tab = pl.read_csv(r.stdout.encode())
    want = FX["landmarks"][0]["extend"]
    assert tab["n_risk"].to_list() == [35 + 30, 0] == want["n_risk"][:2]
    assert_close(tab["survival"], want["surv"][:2], "extended survival", rtol=1e-9)  # CSV's shortest repr


# ---- rows with time 0 ---------------------------------------------------------------------
def test_time_zero_rows_are_kept_with_a_warning(lung):
    zero = lung.with_columns(time=pl.when(pl.int_range(pl.len()) == 0).then(0).otherwise(pl.col("time")))
    t0 = FX["time0"]
    with pytest.warns(RisksetWarning, match=r"'time' \(time\) is 0 in 1 row \(first at row 1\); they are kept"):
        fit = riskset.kaplan_meier(zero, time="time", event="event")
    assert fit.summary["n"][0] == t0["n"] and fit.summary["events"][0] == t0["n_event"]
    assert_close(fit.at([365.25])["survival"], [t0["surv_365"]], "S(365.25) with a time-0 row")
    with pytest.warns(RisksetWarning, match="is 0 in 1 row"):
        cx = riskset.cox(zero, time="time", event="event", covariates=["age"])
    assert cx.n == t0["cox_n"]
    assert_close(cx.coef, [t0["coef_age"]], "coef with a time-0 row", rtol=ITERATIVE_RTOL)


# ---- the command line ---------------------------------------------------------------------
def test_cli_cox_complete_cases_and_missing_error():
    args = ["cox", str(LUNG), "--time", "time", "--event", "event", "--covariates",
            "age,sex,ph.ecog,ph.karno,wt.loss"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "n = 213 (15 rows with missing values excluded), events = 151" in r.stdout
    assert ("riskset: warning: excluded 15 of 228 rows with missing values in 'ph.ecog' (1), "
            "'ph.karno' (1), 'wt.loss' (14)") in r.stderr
    out = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).stdout)
    assert out["n"] == 213 and out["n_excluded"] == 15
    r = CliRunner().invoke(main, [*args, "--missing", "error"])
    assert r.exit_code == 2
    assert "column 'ph.ecog' (covariate) has missing values" in r.stderr
    assert "--missing complete-case" in r.stderr and "drop_missing" not in r.stderr


# ---- the study ----------------------------------------------------------------------------
def lung_spec(tmp_path: Path, study: str = "", body: str = "") -> Path:
    read_data("lung.csv").write_csv(tmp_path / "lung.csv")
    text = f'''
[study]
title = "lung"
time_unit = "years"
{study}
[data]
path = "lung.csv"
[derive]
years = "time / 365.25"
size = "CASE WHEN age < 60 THEN '< 60' ELSE '>= 60' END"
[[endpoint]]
name = "OS"
time = "years"
event = "event"
landmarks = [1, 3, 5]
{body}
'''
    p = tmp_path / "spec.toml"
    p.write_text(text)
    return p


COX = '[[cox]]\nname = "multi"\nendpoint = "OS"\ncovariates = ["age", "sex", "ph.ecog", "ph.karno", "wt.loss"]\n'


def test_study_landmark_past_followup_is_a_spec_error(tmp_path):
    """Lung's follow-up ends at 2.8 years: a 3-year rate is a spec mistake (exit 2, key, line,
    the fix), found before any analysis; nothing is written."""
    p = lung_spec(tmp_path)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["study", str(p), "--out", str(out), "--jobs", "1"])
    assert r.exit_code == 2
    assert ("'endpoint.landmarks (entry 1)' (line 15): item 2 (3 years) is past the last follow-up of endpoint "
            "'OS' (2.798 years)") in r.stderr
    assert "extend = true" in r.stderr and not out.exists()


def test_study_extend_shows_n_at_risk_0_and_years_labels(tmp_path):
    res = run_study(load_spec(lung_spec(tmp_path, "extend = true")))
    km = res.tables["km_OS"].row(0, named=True)
    assert {"1-year rate, % (95% CI)", "3-year rate, % (95% CI)", "5-year rate, % (95% CI)"} <= set(km)
    assert not any("month" in c for c in res.tables["km_OS"].columns)
    assert "n at risk 0" in km["3-year rate, % (95% CI)"] and "n at risk 0" not in km["1-year rate, % (95% CI)"]
    lm = res.values["landmarks_OS"]
    want = FX["landmarks"][0]["extend"]
    assert lm["n_risk"].to_list() == want["n_risk"] == [65, 0, 0]
    assert lm["past_last_observation"].to_list() == [False, True, True]
    assert_close(lm["survival"], want["surv"], "extended rates", rtol=CLOSED_RTOL)
    assert_close(lm["lower"], want["lower"], "extended lower", rtol=CLOSED_RTOL)


def test_study_subgroup_past_its_followup_is_not_estimated(tmp_path):
    """The whole endpoint reaches 2.7 years but women's follow-up ends at 965 days (2.64
    years): their 2.7-year rate is not estimated (as R), the table says why."""
    p = lung_spec(tmp_path, body='[[factor]]\nname = "Sex"\ncolumn = "sex"\nendpoint = "OS"\n')
    p.write_text(p.read_text().replace("landmarks = [1, 3, 5]", "landmarks = [1, 2.7]"))
    res = run_study(load_spec(p))
    tab = res.tables["km_OS"].filter(pl.col("subgroup") == "Sex")
    cells = dict(zip(tab["level"].to_list(), tab["2.7-year rate, % (95% CI)"].to_list(), strict=True))
    assert cells["2"] == "not estimated: past the last observation"
    assert cells["1"][0].isdigit()


def test_study_cox_uses_complete_cases_per_model(tmp_path):
    """The lung model with one missing ph.ecog (and more): fitted on R's n = 213, each row
    counting the 15 excluded patients per variable (STROBE 14a), exit 0."""
    p = lung_spec(tmp_path, body=COX)
    p.write_text(p.read_text().replace("landmarks = [1, 3, 5]", "landmarks = [1]"))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["study", str(p), "--out", str(out), "--jobs", "1"])
    assert r.exit_code == 0, r.output
    cox = pl.DataFrame(json.loads((out / "results.json").read_text())["values"]["cox"])
    want = FX["cox"][0]
    assert cox["n_excluded"].to_list() == [15] * 5
    assert set(cox["note"]) == {"15 patients with a missing ph.ecog or ph.karno or wt.loss excluded "
                                "(ph.ecog: 1, ph.karno: 1, wt.loss: 14)"}
    assert_close(cox["coef"], want["coef"], "study coef", rtol=ITERATIVE_RTOL)


def test_study_missing_error_stops(tmp_path):
    p = lung_spec(tmp_path, 'missing = "error"', COX)
    p.write_text(p.read_text().replace("landmarks = [1, 3, 5]", "landmarks = [1]"))
    with pytest.raises(SpecError, match=r"model 'multi': 15 patients have a missing ph.ecog or ph.karno or "
                                        r"wt.loss .*missing = \"error\"; set missing = \"complete-case\""):
        run_study(load_spec(p))
    p.write_text(p.read_text().replace('missing = "error"', 'missing = "drop"'))
    with pytest.raises(SpecError, match=r"'study.missing' \(line \d+\) = 'drop' is not valid"):
        load_spec(p)


@pytest.mark.parametrize(("body", "message"), [
    (COX.replace("multi", "by size").replace('["age", "sex", "ph.ecog", "ph.karno", "wt.loss"]', '["size"]')
     + 'reference = {size = "< 20"}\n',
     r"key 'cox.reference \(entry 1\)' \(line 21\) of model 'by size': '< 20' is not a level of 'size' in the data; "
     r"levels: '< 60', '>= 60'; did you mean '< 60'\?"),
    (COX.replace('"wt.loss"]', '"wt.loss", "one"]'),
     r"covariate 'one' of model 'multi' at 'cox.covariates \(entry 1\)' \(line 20\) is constant in the whole data"),
    ('[[factor]]\nname = "One"\ncolumn = "one"\nendpoint = "OS"\nhr = true\n',
     r"factor 'One' at 'factor.column \(entry 1\)' \(line 19\) with hr = true: column 'one' is constant"),
    ('[[cohort]]\nname = "old"\nfilter = "agee > 70"\n',
     r"column 'agee' used by 'cohort.filter \(entry 1\)' \(line 19\) is not in the data .*did you mean 'age'"),
])
def test_study_spec_mistakes_fail_before_any_analysis(tmp_path, body, message):
    """Exit 2 with the key, its line and a suggestion; no analysis runs, nothing is written."""
    p = lung_spec(tmp_path, body=body)
    p.write_text(p.read_text().replace("landmarks = [1, 3, 5]", "landmarks = [1]")
                 .replace('years = "time / 365.25"', 'years = "time / 365.25"\none = "1"'))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["study", str(p), "--out", str(out), "--jobs", "1"])
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("riskset: error: ")
    import re

    assert re.search(message, r.stderr), r.stderr
    assert not out.exists()


def test_api_default_is_documented_complete_case():
    """drop_missing defaults to True (complete cases, counted) in every public function."""
    import inspect

    for fn in (riskset.kaplan_meier, riskset.cox, riskset.logrank, riskset.logrank_table,
               riskset.median_followup, riskset.bootstrap):
        assert inspect.signature(fn).parameters["drop_missing"].default is True, fn.__name__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        riskset.kaplan_meier(read_data("lung.csv"), time="time", event="event")  # nothing missing: silent


def test_study_factor_with_missing_values_counts_them(tmp_path):
    """A factor missing for one patient: its test and curves leave that patient out, and the
    log-rank detail table and the notes say so; with missing = "error" the run stops."""
    body = '[[factor]]\nname = "ECOG"\ncolumn = "ph.ecog"\nendpoint = "OS"\n'
    p = lung_spec(tmp_path, body=body)
    p.write_text(p.read_text().replace("landmarks = [1, 3, 5]", "landmarks = [1]"))
    res = run_study(load_spec(p))
    detail = res.tables["logrank_detail"].row(0, named=True)
    assert detail["excluded (missing)"] == 1
    assert "OS, Overall, ECOG: 1 patients with a missing ph.ecog excluded" in res.notes
    sub = res.values["km_OS"].filter(pl.col("subgroup") == "ECOG")
    assert sub["n"].sum() == 227
    p.write_text(p.read_text().replace('time_unit = "years"', 'time_unit = "years"\nmissing = "error"'))
    with pytest.raises(SpecError, match=r"factor 'ECOG' \(OS, cohort 'Overall'\): 1 patients have a missing ph.ecog"):
        run_study(load_spec(p))


def test_spec_drop_missing_key_points_to_the_study_policy(tmp_path):
    p = lung_spec(tmp_path, body=COX + "drop_missing = true\n")
    with pytest.raises(SpecError, match=r"unknown key 'cox.drop_missing \(entry 1\)' \(line \d+\); missing values "
                                        r"are handled for the whole study: missing = \"complete-case\""):
        load_spec(p)
    p = lung_spec(tmp_path, study="drop_missing = true")
    with pytest.raises(SpecError, match=r"unknown key 'study.drop_missing' \(line 5\); did you mean 'missing'"):
        load_spec(p)
