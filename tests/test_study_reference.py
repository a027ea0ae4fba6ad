"""The numbers in a study's ``results.json`` agree with R on the same data.

``tests/reference/make_study_r.R`` recomputes the bundled tdxd example study
(``riskset/study/examples/tdxd.toml`` on ``riskset/datasets/tdxd.csv``) with R's survival
package; this module runs the study with :func:`riskset.study.run.run_study` and compares
``result.values`` with that fixture:

* Kaplan–Meier 12-month survival with its log-scale CI and number at risk, per endpoint x
  cohort and per factor level (CLOSED_RTOL). PFS2 and DoR have no landmark in the spec, so
  the test asks for ``landmarks = [12]`` on them before running.
* Medians: the spec uses the SPSS convention (first time S <= 0.5; CI = median -+ 1.96
  SE from Collett's density estimate; R has no such interval: its reference is the
  hand-worked example and naive oracle of tests/test_conventions.py). R's point median
  is the same rule except where the curve sits exactly at 0.5 on a flat stretch (R takes
  the midpoint); the fixture flags those (``flat_at_half``) and the point medians are
  compared everywhere else. The median *CIs* of the two conventions are different
  estimators (R inverts the pointwise log CI), so they are not compared.
* Log-rank chi-square and p for every factor x cohort of Table 3 (CLOSED_RTOL).
* Cox (Efron) coefficient, SE, HR, Wald CI and p for the non-monotone models
  (ITERATIVE_RTOL); for the monotone model (no events in one level) the coefficient is
  arbitrary (wherever the iteration stopped), so the likelihood-ratio test is compared
  instead, from a direct :func:`riskset.cox` fit on the same study frame.
* Clopper–Pearson CIs (``binom.test``) for ORR, DCR, CBR and the safety rates (CLOSED_RTOL).
* Median follow-up by reverse Kaplan–Meier and the observed median/min/max time per endpoint
  x cohort; Table 4 per level (n, median, ORR with its CI, DCR) (CLOSED_RTOL).

The last test writes the study and checks that ``results.json`` holds exactly those values.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

import riskset
from riskset.study.run import OVERALL, load_study_data, run_study
from riskset.study.spec import UNITS, load_spec, sql
from tests.tolerances import CLOSED_ATOL, CLOSED_RTOL, ITERATIVE_RTOL

ROOT = Path(__file__).resolve().parent.parent
TDXD_SPEC = ROOT / "riskset" / "study" / "examples" / "tdxd.toml"
FIXTURE = ROOT / "tests" / "reference" / "fixtures" / "study" / "tdxd_r.json"
LANDMARK = 12.0


def _num(x):
    if x == "Inf":
        return math.inf
    if x == "-Inf":
        return -math.inf
    return x


def close(got, want, rtol: float, atol: float = CLOSED_ATOL) -> bool:
    want = _num(want)
    if want is None or (isinstance(want, float) and math.isnan(want)):
        return got is None or (isinstance(got, float) and math.isnan(got))
    if got is None:
        return False
    if math.isinf(want):
        return got == want
    return math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=atol)


def check(label: str, pairs: dict[str, tuple], rtol: float) -> list[str]:
    return [f"{label} {k}: riskset={g!r} R={w!r}" for k, (g, w) in pairs.items() if not close(g, w, rtol)]


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def spec():
    s = load_spec(TDXD_SPEC)
    for ep in s.endpoints:  # 12-month rates for PFS2 and DoR too (the spec asks only for PFS)
        if LANDMARK not in ep.landmarks:
            ep.landmarks = [*ep.landmarks, LANDMARK]
        ep.extend = True  # as the fixture: R summary(fit, times = 12, extend = TRUE)
    return s


@pytest.fixture(scope="module")
def result(spec):
    return run_study(spec, jobs=2)


def test_fixture_matches_data(ref):
    import hashlib

    csv = ROOT / "riskset" / "datasets" / "tdxd.csv"
    assert hashlib.md5(csv.read_bytes()).hexdigest() == ref["meta"]["data_md5"], (
        "tdxd.csv changed: rerun Rscript tests/reference/make_study_r.R")


def test_cohort_sizes(ref, result):
    want = {k: v for k, v in ref["meta"]["cohort_sizes"].items()}
    assert result.meta["cohort_sizes"] == want


def _km_rows(result) -> dict[tuple, dict]:
    rows = {}
    for name, tab in result.values.items():
        if not name.startswith("km_"):
            continue
        for r in tab.iter_rows(named=True):
            rows[(r["endpoint"], r["cohort"], r["subgroup"], r["level"])] = r
    return rows


def _factor_label(spec, column: str) -> str:
    return next(f["name"] for f in spec.factors if f["column"] == column)


def test_km_landmark_and_median(ref, spec, result):
    rows = _km_rows(result)
    key = f"surv_{LANDMARK:g}"
    bad, n_median = [], 0
    for w in ref["km"]:
        sub = "All" if w["factor"] == "All" else _factor_label(spec, w["factor"])
        k = (w["endpoint"], w["cohort"], sub, w["level"])
        assert k in rows, f"no KM row {k} in result.values"
        g = rows[k]
        pairs = {"n": (g["n"], w["n"]), "events": (g["events"], w["events"]),
                 "survival": (g.get(key), w["survival"]),
                 "lower": (g.get(key + "_lower"), w["lower"]), "upper": (g.get(key + "_upper"), w["upper"])}
        if not w["flat_at_half"]:
            pairs["median"] = (g["median"], w["median"])
            n_median += 1
        bad += check(str(k), pairs, CLOSED_RTOL)
    assert not bad, "\n".join(bad)
    assert n_median >= 15


def test_km_number_at_risk(ref, result):
    lm = pl.concat([t for n, t in result.values.items() if n.startswith("landmarks_")], how="diagonal_relaxed")
    bad = []
    for w in ref["km"]:
        if w["factor"] != "All":
            continue  # landmark tables hold the cohort-level curves
        g = lm.filter((pl.col("endpoint") == w["endpoint"]) & (pl.col("cohort") == w["cohort"])
                      & (pl.col("time") == LANDMARK))
        assert g.height == 1, (w["endpoint"], w["cohort"])
        bad += check(f"{w['endpoint']} {w['cohort']}", {"n_risk": (g["n_risk"][0], w["n_risk"]),
                                                         "survival": (g["survival"][0], w["survival"])}, CLOSED_RTOL)
    assert not bad, "\n".join(bad)


def test_logrank_grid(ref, result):
    grid = result.values["logrank"]
    assert grid.height == len(ref["logrank"])
    bad = []
    for w in ref["logrank"]:
        g = grid.filter((pl.col("endpoint") == w["endpoint"]) & (pl.col("cohort") == w["cohort"])
                        & (pl.col("factor") == w["factor"]))
        assert g.height == 1, w
        r = g.row(0, named=True)
        bad += check(f"{w['cohort']} {w['factor']}", {
            "statistic": (r["statistic"], w["statistic"]), "df": (r["df"], w["df"]),
            "p_value": (r["p_value"], w["p_value"])}, CLOSED_RTOL)
    assert not bad, "\n".join(bad)


def test_cox_models(ref, result):
    tab = result.values["cox"]
    bad = []
    for w in ref["cox"]:
        if w["monotone"]:
            continue
        g = tab.filter((pl.col("model") == w["model"]) & (pl.col("term") == w["term"]))
        assert g.height == 1, w
        r = g.row(0, named=True)
        assert r["method"] == "partial likelihood" and not r["monotone"]
        bad += check(w["model"], {k: (r[k], w[k]) for k in ("coef", "se", "hr", "hr_lower", "hr_upper", "p")},
                     ITERATIVE_RTOL)
    assert not bad, "\n".join(bad)


def test_cox_monotone_lr_test(ref, spec, result):
    """The monotone model: the study flags it; its LR test (finite) matches R's coxph."""
    tab = result.values["cox"]
    df, _ = load_study_data(spec)
    bad = []
    for w in ref["cox"]:
        if not w["monotone"]:
            continue
        rows = tab.filter((pl.col("model") == w["model"]) & (pl.col("method") == "partial likelihood"))
        assert rows.height == 1 and rows["monotone"][0], "the study must flag the monotone likelihood"
        m = next(c for c in spec.cox if c["name"] == w["model"])
        ep = spec.endpoint(m["endpoint"])
        frame = _plain_endpoint_rows(spec, df, ep, m.get("cohort", OVERALL))
        with pytest.warns(riskset.errors.RisksetWarning):
            fit = riskset.cox(frame, time=ep.time_col, event=ep.event_col, covariates=m["covariates"])
        bad += check(w["model"], {
            "lr_statistic": (fit.lr_test["statistic"], w["lr_statistic"]),
            "lr_p": (fit.lr_test["p"], w["lr_p"]),
            "loglik_initial": (fit.loglik[0], w["loglik_initial"])}, ITERATIVE_RTOL)
    assert not bad, "\n".join(bad)


def test_binomial_clopper_pearson(ref, result):
    resp = result.values["table2_response"]
    safety = result.values["safety"]
    bad, n = [], 0
    for w in ref["binomial"]:
        if w["table"] == "response":
            g = resp.filter((pl.col("rate") == w["rate"]) & (pl.col("cohort") == w["cohort"]))
        else:
            event, grade = w["rate"].rsplit(", ", 1)
            g = safety.filter((pl.col("event") == event) & (pl.col("grade") == grade)
                              & (pl.col("cohort") == w["cohort"]))
        assert g.height == 1, w
        r = g.row(0, named=True)
        bad += check(f"{w['table']} {w['rate']} {w['cohort']}", {
            "x": (r["x"], w["x"]), "n": (r["n"], w["n"]), "estimate": (r["estimate"], w["estimate"]),
            "lower": (r["lower"], w["lower"]), "upper": (r["upper"], w["upper"])}, CLOSED_RTOL)
        n += 1
    assert not bad, "\n".join(bad)
    assert n == 9 + 24


def _plain_endpoint_rows(spec, df, ep, cname):
    """The rows an endpoint x cohort analysis uses, by plain filters (no runner code)."""
    if cname != OVERALL:
        df = df.filter(sql(next(c for c in spec.cohorts if c["name"] == cname)["filter"]).fill_null(False))
    if ep.population:
        df = df.filter(sql(ep.population).fill_null(False))
    if ep.days_col:  # a date-derived endpoint: the loaded data hold its whole days
        df = df.with_columns((pl.col(ep.days_col) / UNITS[ep.unit]).alias(ep.time_col))
    return df.filter(pl.col(ep.time_col).is_not_null() & pl.col(ep.event_col).is_not_null())


def test_median_followup(ref, result):
    """Reverse Kaplan-Meier median follow-up (point median: the same rule as R's except on
    a flat stretch at exactly 0.5, flagged in the fixture) and the observed times."""
    bad, n = [], 0
    for w in ref["followup"]:
        got = result.values[f"followup_{w['endpoint']}"].filter(pl.col("cohort") == w["cohort"])
        assert got.height == 1, (w["endpoint"], w["cohort"])
        g = got.row(0, named=True)
        pairs = {k: (g[k], w[k]) for k in ("median_observed", "min", "max")}
        if not w["flat_at_half"]:
            pairs["reverse_km_median"] = (g["reverse_km_median"], w["reverse_km_median"])
            n += 1
        bad += check(f"{w['endpoint']} {w['cohort']}", pairs, CLOSED_RTOL)
    assert not bad, "\n".join(bad)
    assert n >= 4


def test_table4_comparison(ref, result):
    """Table 4 per level: n, the Kaplan-Meier median, ORR with its Clopper-Pearson CI, DCR."""
    tab = result.values["table4_compare"]
    bad = []
    for w in ref["compare"]:
        got = tab.filter((pl.col("comparison") == w["comparison"]) & (pl.col("level") == w["level"]))
        assert got.height == 1, w["level"]
        g = got.row(0, named=True)
        pairs = {k: (g[k], w[k]) for k in ("n", "orr_n", "orr", "orr_lower", "orr_upper", "dcr_n")}
        if not w["flat_at_half"]:
            pairs["median"] = (g["median"], w["median"])
        bad += check(w["level"], pairs, CLOSED_RTOL)
    assert not bad, "\n".join(bad)
    assert len(ref["compare"]) == 6  # three comparisons, two levels each


def test_results_json_holds_the_compared_values(result, tmp_path):
    """``results.json`` as written carries exactly the values compared with R above (floats
    round-trip through JSON bit for bit; non-finite ones are written as null)."""
    from riskset.study.run import write_study

    out = write_study(result, tmp_path / "study")
    written = json.loads((out / "results.json").read_text(encoding="utf-8"))["values"]
    assert set(written) == set(result.values)
    for name, tab in result.values.items():
        rows = written[name]
        assert len(rows) == tab.height, name
        for got, want in zip(rows, tab.iter_rows(named=True), strict=True):
            assert set(got) == set(want), name
            for k, w in want.items():
                if isinstance(w, float) and not math.isfinite(w):
                    assert got[k] is None, (name, k)
                else:
                    assert got[k] == w, (name, k, got[k], w)
