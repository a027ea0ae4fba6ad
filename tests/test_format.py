"""riskset.format against R's own formatting (fixtures/format/format.json from make_format.R)
and the symptoms of issue 17 ('p = 0', '122800.0', '1.000 (1.000-1.000)', '1096.0')."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskset.format import (
    format_count,
    format_estimate_ci,
    format_pvalue,
    format_ratio_ci,
    format_signif,
    format_test,
    format_time,
    ratio_decimals,
    time_decimals,
)

FIXTURE = Path(__file__).parent / "reference" / "fixtures" / "format" / "format.json"


@pytest.fixture(scope="module")
def r_format():
    return json.loads(FIXTURE.read_text())


def test_pvalue_matches_r_format_pval(r_format):
    got = [format_pvalue(x) for x in r_format["x"]]
    assert got == r_format["format_pval_3"]


@pytest.mark.parametrize("digits", [3, 4])
def test_signif_matches_r_format(r_format, digits):
    got = [format_signif(x, digits) for x in r_format["x"]]
    assert got == r_format[f"format_{digits}"]


def test_pvalue_never_zero_and_limit_of_precision():
    assert format_pvalue(0.0) == "<2e-16"
    assert format_pvalue(1e-300) == "<2e-16"
    assert format_pvalue(2.938e-9) == "2.94e-09"
    assert format_pvalue(0.000068) == "6.8e-05"
    assert format_pvalue(None) == "—"
    assert format_pvalue(float("nan")) == "—"


def test_pvalue_journal_style():
    assert format_pvalue(0.0004, style="journal") == "< 0.001"
    assert format_pvalue(0.0499, style="journal") == "0.0499"
    assert format_pvalue(0.04996, style="journal") == "0.0500"
    assert format_pvalue(0.27, style="journal") == "0.27"
    with pytest.raises(ValueError, match="style"):
        format_pvalue(0.1, style="sas")


def test_test_line_reads_like_print_survdiff():
    assert format_test(232.41, 1, 1e-52) == "Chisq = 232.4 on 1 df, p < 2e-16"
    assert format_test(0.8312, 2.0, 0.36) == "Chisq = 0.8312 on 2 df, p = 0.36"


def test_counts_are_integers_when_whole():
    assert format_count(122795.0) == "122795"  # was "122800.0" (4 significant digits)
    assert format_count(112.0) == "112"
    assert format_count(2.5) == "2.5"
    assert format_count(1 / 3) == "0.33"


def test_times_keep_the_data_precision():
    assert time_decimals([310, 285, 363]) == 0
    assert time_decimals([1095.75, 12]) == 2
    assert format_time(1095.75, time_decimals([1095.75])) == "1095.75"  # was "1096.0"
    assert time_decimals([1 / 3]) == 4
    assert format_time(None, 0) == "NR"
    assert format_time(float("inf"), 0) == "NR"


def test_estimate_ci_not_reached_and_not_estimable():
    assert format_estimate_ci(310, 285, 363, 0) == "310 (285–363)"
    assert format_estimate_ci(None, 285, None, 0) == "NR (285–NR)"
    assert format_estimate_ci(9.0, None, 13.27, 2) == "9.00 (NE–13.27)"


def test_ratio_shows_a_per_unit_effect():
    # R: pgr HR 0.9999 (0.9997-1.0001); 3 decimals printed 1.000 (1.000-1.000)
    assert format_ratio_ci(0.99987, 0.99968, 1.00006) == "0.9999 (0.9997–1.0001)"
    assert format_ratio_ci(1.52, 1.21, 1.9) == "1.52 (1.21–1.90)"
    # the smallest limit keeps a significant digit, one number of decimals for all three
    assert format_ratio_ci(0.11, 0.00914, 15.5) == "0.110 (0.009–15.500)"
    assert ratio_decimals(2.0, 1.5, 3.0) == 2


# ---- the CLI prints through riskset.format (issue 17's symptoms) ----------------------------
def _cli(*args):
    from click.testing import CliRunner

    from riskset.cli.main import main

    res = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_cli_km_text_counts_times_and_not_reached():
    out = _cli("km", "--example", "gbsg", "--at", "365.25,1095.75")
    assert "1095.75" in out and "1096.0" not in out  # the landmark as given
    assert "┆ 235 " in out and "235.0" not in out  # censored count (reverse KM table)
    assert "null" not in out and "NR" in out  # hormon = 1: upper limit not reached


def test_cli_json_and_csv_counts_are_integers():
    import json as _json

    out = _json.loads(_cli("km", "--example", "gbsg", "--format", "json", "--at", "365.25"))
    row = out["summary"][0]
    assert isinstance(row["n"], int) and isinstance(row["events"], int)
    assert all(isinstance(r["n_risk"], int) for r in out["table"])
    assert isinstance(out["landmarks"][0]["n_event"], int)
    csv = _cli("km", "--example", "gbsg", "--format", "csv", "--table", "curve")
    header, first = csv.splitlines()[:2]
    cols = dict(zip(header.split(","), first.split(","), strict=True))
    assert "." not in cols["n_risk"] and "." not in cols["n_event"]


def test_cli_pvalue_is_never_zero(tmp_path):
    import polars as pl

    n = 400
    f = tmp_path / "sep.csv"
    pl.DataFrame({"t": [float(i + 1) for i in range(n)], "e": [1] * n,
                  "g": ["a"] * (n // 2) + ["b"] * (n // 2)}).write_csv(f)
    out = _cli("logrank", str(f), "--time", "t", "--event", "e", "--group", "g")
    import riskset

    assert riskset.logrank(pl.read_csv(f), time="t", event="e", group="g").p_value < 2.2e-16
    assert "p < 2e-16" in out and "p = 0\n" not in out


def test_study_cox_table_shows_a_per_unit_hazard_ratio():
    """The study's Cox display printed pgr as 1.000 (1.000-1.000) (three fixed decimals)."""
    import polars as pl

    from riskset.study.tables import cox_display

    tab = pl.DataFrame({"model": ["m"], "cohort": ["Overall"], "term": ["pgr"], "method": ["partial likelihood"],
                        "hr": [0.99987], "hr_lower": [0.99968], "hr_upper": [1.00006], "p": [0.18],
                        "monotone": [False], "note": [None]})
    row = cox_display(tab).row(0, named=True)
    assert row["HR (95% CI)"] == "0.9999 (0.9997–1.0001)"
    assert row["p"] == "0.18"


def test_json_says_why_a_median_limit_is_null():
    import json as _json

    out = _json.loads(_cli("km", "--example", "gbsg", "--format", "json"))
    row = next(r for r in out["summary"] if r["median_upper"] is None)  # hormon = 1
    assert row["median_upper_reason"] == "not reached"
