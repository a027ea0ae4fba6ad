"""The ``riskset`` command line: outputs, errors (exit 2, one line) and --force."""

from __future__ import annotations

import json

import polars as pl
from click.testing import CliRunner

import riskset
from riskset.cli.main import main


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_example_text_matches_api():
    res = run("km", "--example", "gbsg")
    assert res.exit_code == 0, res.output
    fit = riskset.kaplan_meier(riskset.datasets.load("gbsg"), time="rfstime", event="status", by="hormon")
    assert "Median survival" in res.output and "follow-up" in res.output
    assert f"┆ {fit.summary['median'][0]:.0f} " in res.output  # whole days print as integers


def test_json_and_csv(tmp_path):
    res = run("km", "--example", "gbsg", "--format", "json", "--rmst", "2000", "--quantiles", "0.25,0.5")
    assert res.exit_code == 0
    out = json.loads(res.output)
    assert out["std_err_scale"] == "survival"
    assert {"summary", "table", "landmarks", "quantiles", "rmst", "followup"} <= set(out)
    target = tmp_path / "curve.csv"
    res = run("km", "--example", "gbsg", "--format", "csv", "--table", "curve", "-o", str(target))
    assert res.exit_code == 0
    assert pl.read_csv(target).columns[:3] == ["hormon", "time", "n_risk"]


def test_refuses_overwrite_without_force(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("keep me")
    res = run("km", "--example", "gbsg", "--format", "json", "-o", str(target))
    assert res.exit_code == 2
    assert "already exists" in res.output
    assert target.read_text() == "keep me"
    res = run("km", "--example", "gbsg", "--format", "json", "-o", str(target), "--force")
    assert res.exit_code == 0
    assert json.loads(target.read_text())["estimator"] == "kaplan_meier"


def test_bad_input_is_one_line_exit_2(tmp_path):
    f = tmp_path / "bad.csv"
    pl.DataFrame({"t": [1.0, -2.0], "e": [1, 0]}).write_csv(f)
    res = run("km", str(f), "--time", "t", "--event", "e")
    assert res.exit_code == 2
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and "negative" in lines[0] and "Traceback" not in res.output
    res = run("km", str(f), "--time", "nope", "--event", "e")
    assert res.exit_code == 2 and "'nope'" in res.output
    good = tmp_path / "good.csv"
    pl.DataFrame({"t": [1.0, 2.0], "e": [1, 0]}).write_csv(good)
    res = run("km", str(good), "--time", "t", "--event", "e", "--at", "12,x")
    assert res.exit_code == 2 and "--at" in res.output


VETERAN = "tests/reference/data/veteran.csv"
GBSG = "tests/reference/data/gbsg.csv"


def test_logrank_command_matches_api():
    res = run("logrank", VETERAN, "--time", "time", "--event", "event", "--group", "trt",
              "--strata", "celltype", "--format", "json", "--trend", "--pairwise", "holm")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    api = riskset.logrank(pl.read_csv(VETERAN), time="time", event="event", group="trt", strata="celltype")
    assert out["statistic"] == api.statistic and out["p_value"] == api.p_value
    assert "trend" in out and len(out["pairwise"]) == 1


def test_logrank_table_command():
    res = run("logrank-table", GBSG, "--time", "rfstime", "--event", "status", "--factor", "grade",
              "--factor", "meno", "--by", "hormon", "--format", "csv")
    assert res.exit_code == 0, res.output
    from io import StringIO

    grid = pl.read_csv(StringIO(res.output))
    assert grid.height == 4 and set(grid["factor"]) == {"grade", "meno"}


def test_bootstrap_command_seeded_and_reproducible():
    args = ["bootstrap", GBSG, "--time", "rfstime", "--event", "status", "--statistic", "rmst",
            "--tau", "1500", "--resamples", "300", "--seed", "4", "--format", "json", "--no-progress"]
    a, b = run(*args), run(*args)
    assert a.exit_code == 0, a.output
    assert json.loads(a.output) == json.loads(b.output)
    res = run("bootstrap", GBSG, "--time", "rfstime", "--event", "status", "--statistic", "nope")
    assert res.exit_code == 2 and "median_difference" in res.output


def test_cox_command_flags_monotone_likelihood():
    data = "tests/reference/data/cox_mono.csv"
    res = run("cox", data, "--time", "time", "--event", "event", "--covariates", "lines3,x")
    assert res.exit_code == 0, res.output
    assert "monotone" in res.output and "firth" in res.output.lower()
    res = run("cox", data, "--time", "time", "--event", "event", "--covariates", "lines3,x", "--firth",
              "--format", "json")
    out = json.loads(res.output[res.output.index("{"):])
    api = riskset.cox(pl.read_csv(data), time="time", event="event", covariates=["lines3", "x"], firth=True)
    assert [r["coef"] for r in out["coefficients"]] == api.coefficients["coef"].to_list()


def test_console_script_exits_quickly_with_status_and_all_output(tmp_path):
    """``riskset`` as a process (``run``: no module teardown at exit) prints everything the
    in-process command prints and exits with the command's status (0, or 2 on bad input)."""
    import subprocess
    import sys

    cmd = [sys.executable, "-c", "import sys; sys.argv[0] = 'riskset'; from riskset.cli.main import run; run()"]
    r = subprocess.run([*cmd, "km", "--example", "gbsg", "--format", "csv", "--table", "curve"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout == run("km", "--example", "gbsg", "--format", "csv", "--table", "curve").output
    assert len(r.stdout.splitlines()) > 100  # a long output piped: flushed before the quick exit
    f = tmp_path / "bad.csv"
    pl.DataFrame({"t": [1.0, -2.0], "e": [1, 0]}).write_csv(f)
    r = subprocess.run([*cmd, "km", str(f), "--time", "t", "--event", "e"], capture_output=True, text=True)
    assert r.returncode == 2 and "negative" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([*cmd, "no-such-command"], capture_output=True, text=True)
    assert r.returncode == 2 and "No such command" in r.stderr


def test_weights_option_has_one_name_on_every_command():
    """One option name per role (issue 17): --weights everywhere (--weights-col kept)."""
    import click

    for name, cmd in main.commands.items():
        if isinstance(cmd, click.Group):
            continue
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        if "--weights-col" in opts or any("weight" in o for o in opts):
            assert "--weights" in opts, name
    data = "tests/reference/data/ties_int.csv"
    a = run("logrank", data, "--time", "time", "--event", "event", "--group", "grp", "--weights", "wint",
            "--format", "json")
    b = run("logrank", data, "--time", "time", "--event", "event", "--group", "grp", "--weights-col", "wint",
            "--format", "json")
    assert a.exit_code == 0 and a.output == b.output


def test_km_group_is_the_same_as_by():
    a = run("km", "--example", "gbsg", "--group", "hormon", "--format", "json")
    b = run("km", "--example", "gbsg", "--by", "hormon", "--format", "json")
    assert a.exit_code == 0 and a.output == b.output and '"hormon"' in a.output
