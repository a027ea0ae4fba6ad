"""Level order, one policy everywhere (issue 17): groups, reference levels, trend scores,
table rows and legends follow a declared order (Polars Enum, pandas Categorical, Arrow
dictionary, SPSS/Stata value labels, ``levels=`` / ``--levels`` / a study's ``[levels]``);
numbers sort numerically; text alphabetically, and a trend test on text is refused.

R references: ``tests/reference/make_levels.R`` (fixtures in ``fixtures/levels``):
``survdiff`` on R's ``rotterdam`` with ``size`` in its own level order and the trend test
from survdiff's obs/exp/var, and ``coxph`` on ``veteran`` with ``celltype``'s R levels.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from click.testing import CliRunner

import riskset
from riskset.cli.main import main
from riskset.errors import ColumnError, LevelOrderError, OptionError
from riskset.io.read import to_polars
from tests.tolerances import CLOSED_RTOL, ITERATIVE_RTOL

REF = Path(__file__).parent / "reference"
ROTTERDAM = REF / "data" / "rotterdam.csv"
VETERAN = REF / "data" / "veteran.csv"
SIZE = ["<=20", "20-50", ">50"]
CELLTYPE = ["squamous", "smallcell", "adeno", "large"]


def _fixture(name: str) -> dict:
    return json.loads((REF / "fixtures" / "levels" / f"{name}.json").read_text())


def _cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def rfs_csv(tmp_path_factory) -> Path:
    """R's rotterdam with relapse-free survival built as ?rotterdam does:
    rfs = pmax(recur, death); rfstime = rtime if recur == 1 else dtime."""
    d = pl.read_csv(ROTTERDAM).with_columns(
        rfs=pl.max_horizontal("recur", "death"),
        rfstime=pl.when(pl.col("recur") == 1).then(pl.col("rtime")).otherwise(pl.col("dtime")),
    )
    p = tmp_path_factory.mktemp("rot") / "rotterdam_rfs.csv"
    d.write_csv(p)
    return p


# --- log-rank trend on rotterdam: the symptom and its fix ------------------------------------
def test_trend_on_text_levels_is_refused_naming_the_levels_and_the_fix(rfs_csv):
    """The old behaviour scored "20-50" < "<=20" < ">50" (chi2 0.83, p = 0.36; R: 232):
    now the CLI refuses and says how to give the order."""
    r = CliRunner().invoke(main, ["logrank", str(rfs_csv), "--time", "rfstime", "--event", "rfs",
                                  "--group", "size", "--trend"])
    assert r.exit_code == 2
    msg = r.output
    assert "column 'size'" in msg and "'20-50', '<=20', '>50'" in msg
    assert "--levels size=" in msg and "Enum" in msg
    with pytest.raises(LevelOrderError) as info:
        riskset.logrank_trend(rfs_csv, time="rfstime", event="rfs", group="size")
    assert info.value.column == "size" and info.value.levels == ["20-50", "<=20", ">50"]
    # what the old default computed: scores 1..3 on the alphabetical order
    res = riskset.logrank(rfs_csv, time="rfstime", event="rfs", group="size")
    old = res.trend(scores=[1, 2, 3])
    assert old.statistic == pytest.approx(0.83, abs=0.01) and old.p_value == pytest.approx(0.36, abs=0.01)
    assert old.scores_given and old.order == {"size": "alphabetical"}


@pytest.mark.parametrize(("time", "event", "name"), [("rfstime", "rfs", "rotterdam_rfs_size"),
                                                     ("dtime", "death", "rotterdam_death_size")])
def test_cli_trend_with_levels_matches_r(rfs_csv, time, event, name):
    fx = _fixture(name)
    assert fx["levels"] == SIZE
    levels = "size=" + ",".join(SIZE)
    r = _cli("logrank", str(rfs_csv), "--time", time, "--event", event, "--group", "size", "--trend",
             "--levels", levels, "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert [row["size"] for row in out["table"]] == SIZE  # table rows in the declared order
    np.testing.assert_allclose([row["observed"] for row in out["table"]], fx["observed"], rtol=CLOSED_RTOL)
    np.testing.assert_allclose([row["expected"] for row in out["table"]], fx["expected"], rtol=CLOSED_RTOL)
    np.testing.assert_allclose(out["variance_matrix"], fx["variance_matrix"], rtol=CLOSED_RTOL)
    assert out["statistic"] == pytest.approx(fx["chisq"], rel=CLOSED_RTOL)
    tr = out["trend"]
    assert tr["scores"] == [{"size": lv, "score": float(s)} for lv, s in zip(SIZE, fx["scores"], strict=True)]
    assert tr["order"] == {"size": "declared"} and tr["scores_given"] is False
    assert tr["statistic"] == pytest.approx(fx["trend_chisq"], rel=CLOSED_RTOL)
    assert tr["z"] == pytest.approx(fx["trend_z"], rel=CLOSED_RTOL)
    assert tr["p_value"] == pytest.approx(fx["trend_p_value"], rel=1e-8)
    text = _cli("logrank", str(rfs_csv), "--time", time, "--event", event, "--group", "size",
                "--trend", "--levels", levels).output
    assert "scores: <=20=1, 20-50=2, >50=3 (level order: size: declared)" in text
    from riskset.format import format_signif

    assert f"Chisq = {format_signif(fx['trend_chisq'], 4)} on 1 df" in text


def test_rfs_trend_is_the_issue_value(rfs_csv):
    tr = riskset.logrank_trend(rfs_csv, time="rfstime", event="rfs", group="size", levels={"size": SIZE})
    assert tr.statistic == pytest.approx(232.1, abs=0.05) and 1e-52 < tr.p_value < 3e-52


def test_every_declared_order_gives_the_same_trend(rfs_csv, tmp_path):
    """Polars Enum, pandas Categorical (ordered, or with non-alphabetical categories), Arrow
    dictionary (in memory, or a Parquet / Feather file saved from pandas) all give R's answer."""
    fx = _fixture("rotterdam_rfs_size")
    d = pl.read_csv(rfs_csv).select("rfstime", "rfs", "size")
    pdf = d.to_pandas()
    cat = pdf.assign(size=pd.Categorical(pdf["size"], categories=SIZE))
    tables = {
        "enum": d.with_columns(pl.col("size").cast(pl.Enum(SIZE))),
        "pandas": cat,
        "pandas ordered": pdf.assign(size=pd.Categorical(pdf["size"], categories=SIZE, ordered=True)),
        "arrow": pa.Table.from_pandas(cat, preserve_index=False),
        "arrow batch": pa.Table.from_pandas(cat, preserve_index=False).to_batches()[0],
    }
    cat.to_parquet(tmp_path / "cat.parquet")
    cat.reset_index(drop=True).to_feather(tmp_path / "cat.feather")
    tables["parquet file"] = tmp_path / "cat.parquet"
    tables["feather file"] = tmp_path / "cat.feather"
    for what, data in tables.items():
        tr = riskset.logrank_trend(data, time="rfstime", event="rfs", group="size")
        assert tr.scores["size"].to_list() == SIZE, what
        assert tr.statistic == pytest.approx(fx["trend_chisq"], rel=CLOSED_RTOL), what
    # pandas' default categories (astype("category")) are sorted, not declared: text
    with pytest.raises(LevelOrderError):
        riskset.logrank_trend(pdf.assign(size=pdf["size"].astype("category")), time="rfstime",
                              event="rfs", group="size")
    # ... unless marked ordered: then the alphabetical order is the declared one
    abc = pd.Categorical(pdf["size"], categories=sorted(SIZE), ordered=True)
    tr = riskset.logrank_trend(pdf.assign(size=abc), time="rfstime", event="rfs", group="size")
    assert tr.order == {"size": "declared"} and tr.scores["size"].to_list() == sorted(SIZE)
    # numbers sort numerically and need no declaration
    num = d.with_columns(pl.col("size").replace_strict(SIZE, [5, 30, 100]))
    tr = riskset.logrank_trend(num, time="rfstime", event="rfs", group="size")
    assert tr.order == {"size": "numeric"} and tr.statistic == pytest.approx(fx["trend_chisq"], rel=CLOSED_RTOL)


# --- Cox reference: veteran celltype --------------------------------------------------------
def _check_veteran(coef: pl.DataFrame | list[dict]) -> None:
    fx = _fixture("veteran_celltype_cox")
    rows = coef.to_dicts() if isinstance(coef, pl.DataFrame) else coef
    assert [r["term"] for r in rows] == fx["terms"]
    np.testing.assert_allclose([r["coef"] for r in rows], fx["coef"], rtol=ITERATIVE_RTOL)
    np.testing.assert_allclose([r["se"] for r in rows], fx["se"], rtol=ITERATIVE_RTOL)


def test_pandas_categorical_sets_the_cox_reference():
    """The symptom: categories starting at 'squamous' silently gave 'adeno' as reference."""
    d = pd.read_csv(VETERAN)
    d["celltype"] = pd.Categorical(d["celltype"], categories=CELLTYPE)
    fit = riskset.cox(d, time="time", event="status", covariates=["celltype", "karno"])
    assert fit.references == {"celltype": {"levels": CELLTYPE, "reference": "squamous"}}
    _check_veteran(fit.coefficients)
    enum = pl.read_csv(VETERAN).with_columns(pl.col("celltype").cast(pl.Enum(CELLTYPE)))
    _check_veteran(riskset.cox(enum, time="time", event="status", covariates=["celltype", "karno"]).coefficients)


def test_cli_cox_prints_and_records_the_reference():
    fx = _fixture("veteran_celltype_cox")
    args = ["cox", str(VETERAN), "--time", "time", "--event", "status", "--covariates", "celltype,karno"]
    lv = ["--levels", "celltype=" + ",".join(fx["levels"])]
    out = json.loads(_cli(*args, *lv, "--format", "json").output)
    assert out["references"] == {"celltype": {"levels": CELLTYPE, "reference": fx["reference"]}}
    _check_veteran(out["coefficients"])
    assert "Reference levels: celltype = squamous" in _cli(*args, *lv).output
    # without an order the text levels sort alphabetically, and the output says so
    plain = _cli(*args)
    assert "Reference levels: celltype = adeno" in plain.output
    # --reference still picks another level within the declared order
    out = json.loads(_cli(*args, *lv, "--reference", "celltype=large", "--format", "json").output)
    assert out["references"]["celltype"]["reference"] == "large"
    assert [r["term"] for r in out["coefficients"]][:3] == ["celltypesquamous", "celltypesmallcell", "celltypeadeno"]


def test_km_and_table_rows_follow_levels():
    fit = riskset.kaplan_meier(VETERAN, time="time", event="status", by="celltype",
                               levels={"celltype": CELLTYPE})
    assert fit.summary["celltype"].to_list() == CELLTYPE
    r = _cli("km", str(VETERAN), "--time", "time", "--event", "status", "--by", "celltype",
             "--levels", "celltype=" + ",".join(CELLTYPE), "--no-followup", "--format", "csv")
    assert pl.read_csv(r.output.encode())["celltype"].to_list() == CELLTYPE
    grid = riskset.logrank_table(VETERAN, time="time", event="status", factors="celltype",
                                 levels={"celltype": CELLTYPE})
    assert grid["n"][0].startswith("squamous=")
    pw = riskset.logrank_pairwise(VETERAN, time="time", event="status", group="celltype",
                                  levels={"celltype": CELLTYPE})
    assert pw["group1"][0] == "squamous"


# --- declaring levels: bad input ------------------------------------------------------------
def test_levels_errors_name_column_rows_and_levels():
    d = pl.DataFrame({"t": [1.0, 2, 3, 4], "e": [1, 0, 1, 1], "g": ["a", "b", "c", "b"],
                      "k": [1, 2, 2, 1]})
    with pytest.raises(ColumnError) as info:
        riskset.logrank(d, time="t", event="e", group="g", levels={"g": ["a", "b"]})
    assert info.value.column == "g" and info.value.n_rows == 1 and info.value.first_row == 2
    assert "'c'" in str(info.value)
    with pytest.raises(OptionError, match="repeat 'a'"):
        riskset.logrank(d, time="t", event="e", group="g", levels={"g": ["a", "a", "b", "c"]})
    with pytest.raises(OptionError, match="non-empty list"):
        riskset.logrank(d, time="t", event="e", group="g", levels={"g": "abc"})
    with pytest.raises(OptionError, match="not a number"):
        riskset.logrank(d, time="t", event="e", group="k", levels={"k": ["one", "two"]})
    # a numeric column: levels match by number ("2" is 2), given as text or numbers
    res = riskset.logrank(d, time="t", event="e", group="k", levels={"k": ["2", "1"]})
    assert res.table["k"].to_list() == ["2", "1"]
    assert riskset.logrank(d, time="t", event="e", group="k", levels={"k": [2, 1]}).table["k"].to_list() == ["2", "1"]
    # levels for a column the analysis does not read are ignored (one --levels, every command)
    riskset.logrank(d, time="t", event="e", group="g", levels={"k": ["2", "1"]})
    for bad in ("size", "size=", "=a,b", "size=a,,b"):
        r = CliRunner().invoke(main, ["logrank", str(ROTTERDAM), "--time", "dtime", "--event", "death",
                                      "--group", "size", "--levels", bad])
        assert r.exit_code == 2 and "expected COLUMN=LEVEL1,LEVEL2" in r.output


def test_null_stays_missing_and_an_enum_keeps_unlisted_order():
    d = pl.DataFrame({"g": ["b", None, "a"]})
    out = to_polars(d, levels={"g": ["b", "a"]})
    assert out.schema["g"] == pl.Enum(["b", "a"]) and out["g"].to_list() == ["b", None, "a"]


# --- SPSS / Stata value labels --------------------------------------------------------------
@pytest.mark.parametrize("ext", ["sav", "dta"])
def test_value_labels_are_the_levels_in_code_order(tmp_path, ext):
    pyreadstat = pytest.importorskip("pyreadstat")
    rng = np.random.default_rng(17)
    n = 60
    d = pd.DataFrame({"time": rng.exponential(10, n).round(2) + 0.1,
                      "event": rng.integers(0, 2, n).astype(float),
                      "her2": rng.choice([2.0, 1.0, 3.0], n)})
    labels = {"her2": {2.0: "HER2-positive", 1.0: "HER2-low", 3.0: "HER2-ultralow"},
              "event": {0.0: "censored", 1.0: "relapse"}}  # a labelled event stays numeric
    path = tmp_path / f"x.{ext}"
    (pyreadstat.write_sav if ext == "sav" else pyreadstat.write_dta)(d, str(path), variable_value_labels=labels)
    res = riskset.logrank(path, time="time", event="event", group="her2")
    order = ["HER2-low", "HER2-positive", "HER2-ultralow"]  # codes 1, 2, 3
    assert res.table["her2"].to_list() == order
    codes = riskset.logrank(d, time="time", event="event", group="her2")
    np.testing.assert_array_equal(res.observed, codes.observed)
    assert res.trend().order == {"her2": "declared"}
    fit = riskset.cox(path, time="time", event="event", covariates=["her2"])
    assert fit.references["her2"]["reference"] == "HER2-low"
    assert fit.terms == ["her2HER2-positive", "her2HER2-ultralow"]


# --- bootstrap: the seed and the direction of contrasts -------------------------------------
def test_bootstrap_draws_records_and_reuses_a_seed():
    kw = dict(statistic="median_difference", time="time", event="status", group="trt", n_resamples=100)
    a = riskset.bootstrap(VETERAN, **kw)
    assert isinstance(a.seed, int) and a.seed_drawn and a.to_dict()["seed"] == a.seed
    b = riskset.bootstrap(VETERAN, seed=a.seed, **kw)
    assert not b.seed_drawn and b.table.equals(a.table)
    r = CliRunner().invoke(main, ["bootstrap", str(VETERAN), "--time", "time", "--event", "status",
                                  "--group", "trt", "--statistic", "median_difference", "--resamples", "100",
                                  "--format", "json"])
    out = json.loads(r.stdout)
    assert isinstance(out["seed"], int) and out["seed_drawn"] is True
    assert out["table"][0]["contrast"] == "trt=2 − trt=1"
    r = CliRunner().invoke(main, ["bootstrap", str(VETERAN), "--time", "time", "--event", "status",
                                  "--group", "trt", "--statistic", "median_difference", "--resamples", "100"])
    assert "seed None" not in r.stdout and "(drawn; pass --seed to repeat)" in r.stdout


def test_bootstrap_contrast_names_its_direction_and_follows_levels():
    d = pl.read_csv(VETERAN).with_columns(
        arm=pl.when(pl.col("trt") == 1).then(pl.lit("HER2-low")).otherwise(pl.lit("HER2-positive")))
    kw = dict(statistic=["rmst_difference", "rmst_ratio"], tau=300.0, time="time", event="status",
              group="arm", n_resamples=200, seed=4)
    a = riskset.bootstrap(d, **kw)
    assert a.table["contrast"].to_list() == ["HER2-positive − HER2-low", "HER2-positive / HER2-low"]
    b = riskset.bootstrap(d, levels={"arm": ["HER2-positive", "HER2-low"]}, **kw)
    assert b.table["contrast"].to_list() == ["HER2-low − HER2-positive", "HER2-low / HER2-positive"]
    assert b.table["estimate"][0] == pytest.approx(-a.table["estimate"][0], rel=CLOSED_RTOL)
    assert b.table["estimate"][1] == pytest.approx(1 / a.table["estimate"][1], rel=CLOSED_RTOL)
    hr = riskset.bootstrap(VETERAN, statistic="hazard_ratio", covariates=["celltype", "karno"], time="time",
                           event="status", n_resamples=100, seed=1, levels={"celltype": CELLTYPE})
    assert hr.table["contrast"].to_list() == ["celltype: smallcell / squamous", "celltype: adeno / squamous",
                                              "celltype: large / squamous", "per unit of karno"]


# --- study spec [levels] ---------------------------------------------------------------------
def test_study_levels_key_orders_rows_and_sets_the_reference(tmp_path):
    from riskset.study.run import run_study
    from riskset.study.spec import SpecError, load_spec, parse_spec
    from tests.test_study import small_spec

    extra = '[[factor]]\nname = "Meno"\ncolumn = "meno"\nendpoint = "RFS"\nhr = true\n'
    base = run_study(load_spec(small_spec(tmp_path, extra)))
    res = run_study(load_spec(small_spec(tmp_path, extra + '[levels]\nmeno = ["1", "0"]\ngrade = ["3", "2", "1"]\n')))
    km = res.values["km_RFS"].filter((pl.col("cohort") == "Overall") & (pl.col("subgroup") == "Grade"))
    assert km["level"].to_list() == ["3", "2", "1"]
    before = base.values["cox"].filter(pl.col("model") == "Meno, Overall").row(0, named=True)
    after = res.values["cox"].filter(pl.col("model") == "Meno, Overall").row(0, named=True)
    assert (before["term"], after["term"]) == ("meno1", "meno0")  # the reference is the first level
    assert after["hr"] == pytest.approx(1 / before["hr"], rel=ITERATIVE_RTOL)
    assert res.meta["levels"] == {"meno": ["1", "0"], "grade": ["3", "2", "1"]}
    # the CLI's --levels adds to the spec's [levels]
    out = tmp_path / "out"
    r = _cli("study", str(small_spec(tmp_path, extra)), "--out", str(out), "--jobs", "1",
             "--levels", "grade=2,1,3")
    assert r.exit_code == 0, r.output
    payload = json.loads((out / "results.json").read_text())
    assert payload["meta"]["levels"] == {"grade": ["2", "1", "3"]}
    km = pl.read_csv(out / "tables" / "km_RFS.csv").filter(
        (pl.col("cohort") == "Overall") & (pl.col("subgroup") == "Grade"))
    assert km["level"].cast(pl.String).to_list() == ["2", "1", "3"]
    head = '[study]\ntitle = "t"\n[data]\npath = "d.csv"\n'
    for bad, msg in (('[levels]\ngrade = []\n', "non-empty list"),
                     ('[levels]\ngrade = [1, 2]\n', "item 1 must be a level"),
                     ('[levels]\ngrade = ["1", "1"]\n', "repeats '1'")):
        with pytest.raises(SpecError, match=msg) as info:
            parse_spec(head + bad)
        assert "levels.grade" in str(info.value) and "line 6" in str(info.value)


def test_levels_option_on_every_command_and_fixtures_match_their_manifest():
    import hashlib

    import click

    for name, cmd in main.commands.items():
        if isinstance(cmd, click.Group):  # federated: its subcommands read only aggregates/groups
            continue
        assert "--levels" in _cli(name, "--help").output, name
    manifest = json.loads((REF / "fixtures" / "manifest_levels.json").read_text())
    assert manifest["survival_version"] == "3.5.3"
    for rel, md5 in manifest["files"].items():
        assert hashlib.md5((REF / rel).read_bytes()).hexdigest() == md5, rel
