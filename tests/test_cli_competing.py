"""``riskset cif`` and ``riskset gray``: outputs match the API; bad input exits 2 with one line."""

from __future__ import annotations

import json

import polars as pl
import pytest
from click.testing import CliRunner

import riskset
from riskset.cli.main import main
from tests.conftest import DATA

MGUS = str(DATA / "cr_mgus2.csv")


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cif_json_matches_api():
    res = run("cif", MGUS, "--time", "etime", "--event", "event", "--by", "sex", "--variance", "aalen",
              "--at", "60,120", "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    fit = riskset.cumulative_incidence(MGUS, time="etime", event="event", by="sex", variance="aalen")
    assert out["variance"] == "aalen" and out["causes"] == [1, 2]
    got = [r["cif"] for r in out["table"]]
    assert got == pytest.approx(fit.table["cif"].to_list(), rel=1e-15)
    assert len(out["landmarks"]) == 8


def test_cif_csv_curve(tmp_path):
    target = tmp_path / "cif.csv"
    res = run("cif", MGUS, "--time", "etime", "--event", "event", "--format", "csv", "--table", "curve",
              "-o", str(target))
    assert res.exit_code == 0, res.output
    df = pl.read_csv(target)
    assert df.columns == ["cause", "time", "n_risk", "n_event", "cif", "std_err", "lower", "upper"]


def test_cif_text_with_labels(tmp_path):
    path = tmp_path / "lab.csv"
    pl.DataFrame({"t": [1, 2, 3, 4], "e": ["death", "relapse", "cens", "death"]}).write_csv(path)
    res = run("cif", str(path), "--time", "t", "--event", "e", "--censored", "cens")
    assert res.exit_code == 0, res.output
    assert "death" in res.output and "relapse" in res.output


def test_gray_text_and_json():
    res = run("gray", MGUS, "--time", "etime", "--event", "event", "--group", "sex", "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    ref = riskset.gray_test(MGUS, time="etime", event="event", group="sex").table
    assert [r["statistic"] for r in out["table"]] == pytest.approx(ref["statistic"].to_list(), rel=1e-15)
    res = run("gray", MGUS, "--time", "etime", "--event", "event", "--group", "sex")
    assert res.exit_code == 0 and "cause 1: " in res.output


@pytest.mark.parametrize("args, fragment", [
    (("cif", MGUS, "--time", "etime", "--event", "sex"), "'sex' (event) holds labels 'F', 'M'"),
    (("cif", MGUS, "--time", "etime", "--event", "nope"), "'nope' is not in the data"),
    (("gray", MGUS, "--time", "etime", "--event", "event", "--group", "id", "--censored", "x"),
     "holds integer codes but the censoring value is 'x'"),
])
def test_bad_input_is_one_line_exit_2(args, fragment):
    res = CliRunner().invoke(main, list(args))
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("riskset: error: ") and fragment in lines[0], res.output


def test_finegray_command_matches_api():
    res = run("finegray", MGUS, "--time", "etime", "--event", "event", "--covariates", "age,sex",
              "--cause", "1", "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    fit = riskset.fine_gray(MGUS, time="etime", event="event", covariates=["age", "sex"], cause=1)
    assert out["estimator"] == "fine_gray"
    res = run("finegray", MGUS, "--time", "etime", "--event", "event", "--covariates", "age,sex")
    assert res.exit_code == 0 and "sexM" in res.output
    assert fit.coefficients["term"].to_list() == ["age", "sexM"]


def test_finegray_absent_cause_exit_2():
    res = CliRunner().invoke(main, ["finegray", MGUS, "--time", "etime", "--event", "event",
                                    "--covariates", "age", "--cause", "3"])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "cause=3 is not among the causes; causes found: 1, 2" in lines[0]
