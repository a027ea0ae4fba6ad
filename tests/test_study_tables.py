"""Study tables (baseline, response, safety) against naive per-cohort oracles.

The tables count over all rows with cohort masks (one aggregation per column); the oracle
filters each cohort's rows and counts them one by one, with nulls, overlapping cohorts,
an empty cohort and several dtypes.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskset.study import tables as T


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    n = 500

    def with_nulls(values, frac=0.1):
        return [None if rng.random() < frac else v for v in values]

    df = pl.DataFrame({
        "age": with_nulls(rng.integers(30, 80, n).tolist()),
        "score": with_nulls(rng.normal(size=n).tolist()),
        "grp": with_nulls(rng.choice(["a", "b", "c"], n).tolist()),
        "flag": rng.integers(0, 2, n),
        "ok": with_nulls((rng.random(n) < 0.5).tolist(), 0.05),
        "resp": with_nulls(rng.choice(["CR", "PR", "SD", "PD", "NE"], n).tolist()),
        "sd_weeks": rng.uniform(0, 60, n),
        "g1": with_nulls(rng.integers(0, 5, n).tolist()),
        "g2": rng.integers(0, 4, n),
        "stop": rng.integers(0, 2, n),
        "why": with_nulls(rng.choice(["ild", "nausea"], n).tolist()),
    }, strict=False)
    masks = {"Overall": None, "A": df.get_column("flag") == 1, "B": (df.get_column("age") >= 50).fill_null(False),
             "none": pl.Series([False] * n)}
    return df, masks


def _cohort(df, m):
    return df if m is None else df.filter(m)


def test_baseline_counts_and_medians_match_per_cohort_counting(data):
    df, masks = data
    _disp, vals = T.baseline_table(df, masks, continuous=["age", "score"], categorical=["grp", "flag", "ok"])
    for c, m in masks.items():
        sub = _cohort(df, m)
        for col in ("age", "score"):
            s = sub.get_column(col).cast(pl.Float64).drop_nulls()
            row = vals.filter((pl.col("variable") == col) & (pl.col("cohort") == c)).row(0, named=True)
            assert row["n"] == s.len() and row["missing"] == sub.height - s.len()
            if s.len():
                assert row["value"] == s.median() and row["min"] == s.min() and row["max"] == s.max()
            else:
                assert row["value"] is None
        for col in ("grp", "flag", "ok"):
            s = sub.get_column(col)
            want = {str(v) if not isinstance(v, bool) else str(v).lower(): k
                    for v, k in s.drop_nulls().value_counts().iter_rows()}
            got = vals.filter((pl.col("variable") == col) & (pl.col("cohort") == c)
                              & (pl.col("statistic") == "count"))
            got = {r["level"]: r["value"] for r in got.iter_rows(named=True) if r["value"]}
            assert got == want, (col, c)
            miss = vals.filter((pl.col("variable") == col) & (pl.col("cohort") == c)
                               & (pl.col("statistic") == "missing"))
            assert (miss.height == 0 and df.get_column(col).null_count() == 0) or \
                miss.get_column("value")[0] == s.null_count()


def test_response_counts_match_per_cohort_counting(data):
    df, masks = data
    _disp, vals = T.response_table(df, masks, column="resp", sd_duration="sd_weeks", sd_min=24)
    for c, m in masks.items():
        sub = _cohort(df, m)
        r = sub.get_column("resp")
        n = sub.height
        cr, pr, sd = (int((r == x).sum()) for x in ("CR", "PR", "SD"))
        sd_long = int(((r == "SD") & (sub.get_column("sd_weeks") >= 24)).sum())
        for code, k in (("CR", cr), ("PR", pr), ("SD", sd), ("PD", int((r == "PD").sum()))):
            row = vals.filter((pl.col("rate") == code) & (pl.col("cohort") == c)).row(0, named=True)
            assert row["x"] == k and row["n"] == n
        for rate, k in (("ORR", cr + pr), ("DCR", cr + pr + sd), ("CBR", cr + pr + sd_long)):
            got = vals.filter((pl.col("rate") == rate) & (pl.col("cohort") == c))
            if n == 0:
                assert got.height == 0
            else:
                row = got.row(0, named=True)
                assert row["x"] == k and row["n"] == n and math.isclose(row["estimate"], k / n)


def test_safety_counts_match_per_cohort_counting(data):
    df, masks = data
    _disp, vals = T.safety_table(df, masks, grades={"AE one": "g1", "AE two": "g2"}, min_grade=3,
                                 discontinuation="stop", discontinuation_reason="why")
    disp = _disp
    for c, m in masks.items():
        sub = _cohort(df, m)
        for label, col in (("AE one", "g1"), ("AE two", "g2")):
            g = sub.get_column(col)
            for grade, lo in (("any grade", 1), ("grade >= 3", 3)):
                got = vals.filter((pl.col("event") == label) & (pl.col("grade") == grade) & (pl.col("cohort") == c))
                if sub.height == 0:
                    assert got.height == 0
                    continue
                assert got.row(0, named=True)["x"] == int((g >= lo).sum())
        stop = vals.filter((pl.col("event") == "discontinuation") & (pl.col("cohort") == c)).row(0, named=True)
        k = int((sub.get_column("stop") == 1).sum())
        assert stop["x"] == k and stop["n"] == sub.height
        if k:
            text = disp.filter(pl.col("adverse_event") == "Discontinued due to adverse event").get_column(c)[0]
            reasons = sub.filter(pl.col("stop") == 1).get_column("why").fill_null("unspecified").value_counts()
            for reason, count in reasons.iter_rows():
                assert f"{reason} {count}" in text


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-50, 50)), min_size=1, max_size=60), st.integers(0, 2**32 - 1))
def test_integer_summaries_equal_sorting(values, seed):
    """Median/min/max of integer columns from value counts equal those of the sorted values."""
    rng = np.random.default_rng(seed)
    df = pl.DataFrame({"v": pl.Series(values, dtype=pl.Int64)})
    masks = {"all": None, "some": pl.Series(rng.random(len(values)) < 0.5)}
    got = T._integer_summaries(df, masks, "v")
    for c, m in masks.items():
        sub = df.get_column("v") if m is None else df.get_column("v").filter(m)
        ok = np.array([v for v in sub.to_list() if v is not None], dtype=float)
        med, lo, hi, n_ok, n_miss = got[c]
        assert (n_ok, n_miss) == (ok.size, sub.len() - ok.size)
        if ok.size:
            assert (med, lo, hi) == (float(np.median(ok)), ok.min(), ok.max())
        else:
            assert med is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-3, 20)), min_size=1, max_size=80), st.integers(0, 2**16))
def test_value_counts_by_sums_equal_the_group_by(values, seed):
    """Small-range integer columns are counted by equality sums: the same rows (value,
    overall and per-cohort counts, nulls included) as the hash group-by gives."""
    rng = np.random.default_rng(seed)
    df = pl.DataFrame({"v": pl.Series(values, dtype=pl.Int16)})
    masks = {"all": None, "a": pl.Series(rng.random(df.height) < 0.5), "b": pl.Series(rng.random(df.height) < 0.3)}
    (got,) = T._value_counts(df, masks, ["v"])
    flags = {T._count_column(masks, c): m for c, m in masks.items() if m is not None}
    want = (df.with_columns(m.alias(f) for f, m in flags.items()).group_by("v")
            .agg(pl.len().alias("__all"), *(pl.col(f).sum().alias(f) for f in flags)))
    rng_ok = df["v"].drop_nulls().len() == 0 or df["v"].max() - df["v"].min() < T._SUM_LEVELS
    assert (set(T._small_ranges(df, ["v"])) == {"v"}) == (rng_ok and df["v"].drop_nulls().len() > 0)
    key = ["v"]
    assert got.sort(key, nulls_last=True).cast({c: pl.Int64 for c in got.columns if c != "v"}).equals(
        want.sort(key, nulls_last=True).cast({c: pl.Int64 for c in want.columns if c != "v"}))


def test_fmt_ci_tells_not_reached_from_not_estimable():
    from riskset.study.tables import fmt_ci

    assert fmt_ci(15.0, 4.7, 25.3) == "15.0 (4.7–25.3)"
    assert fmt_ci(None, None, None) == "NR (NR–NR)"  # median not reached
    assert fmt_ci(15.0, 4.7, None) == "15.0 (4.7–NR)"  # R: the upper limit never crossed
    assert fmt_ci(20.4, None, None) == "20.4 (NE–NE)"  # SPSS: median -+ 1.96 SE without an SE
    assert fmt_ci(0.0, float("nan"), float("nan")) == "0.0 (NE–NE)"
