"""Study runner: spec validation, results equal the engine API, robustness, outputs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

import riskset
from riskset.cli.main import main
from riskset.study.run import run_study, write_study
from riskset.study.spec import SpecError, load_spec, parse_spec

GBSG_SPEC = Path(riskset.__file__).parent / "study" / "examples" / "gbsg.toml"


def small_spec(tmp_path: Path, extra: str = "", data: pl.DataFrame | None = None) -> Path:
    d = data if data is not None else riskset.datasets.load("gbsg")
    d.write_csv(tmp_path / "d.csv")
    text = f'''
[study]
title = "test"
[data]
path = "d.csv"
[derive]
months = "rfstime / 30.4375"
[[cohort]]
name = "tam"
filter = "hormon = 1"
[[cohort]]
name = "nobody"
filter = "age > 200"
[[endpoint]]
name = "RFS"
time = "months"
event = "status"
landmarks = [12, 24]
[[factor]]
name = "Grade"
column = "grade"
endpoint = "RFS"
{extra}
'''
    p = tmp_path / "spec.toml"
    p.write_text(text)
    return p


def test_results_equal_engine_api(tmp_path):
    res = run_study(load_spec(small_spec(tmp_path)))
    km = res.values["km_RFS"].filter((pl.col("cohort") == "tam") & (pl.col("subgroup") == "All")).row(0, named=True)
    d = riskset.datasets.load("gbsg").filter(pl.col("hormon") == 1).with_columns(months=pl.col("rfstime") / 30.4375)
    fit = riskset.kaplan_meier(d, time="months", event="status")
    s = fit.summary.row(0, named=True)
    assert (km["n"], km["median"], km["median_lower"], km["median_upper"]) == (
        s["n"], s["median"], s["median_lower"], s["median_upper"])
    assert km["surv_12"] == fit.at([12])["survival"][0]
    grid = res.values["logrank"].filter(pl.col("cohort") == "Overall").row(0, named=True)
    lr = riskset.logrank(riskset.datasets.load("gbsg"), time="rfstime", event="status", group="grade")
    assert grid["p_value"] == pytest.approx(lr.p_value, rel=1e-12)  # time scale does not matter


def test_table4_counts_and_medians_equal_direct_computation(tmp_path):
    """Table 4 (one count pass and one Kaplan-Meier fit by the column): each level's n,
    ORR/DCR counts and median equal filtering the level and computing them directly, with
    missing values in the compared column (no level) and in the response (no response)."""
    rng = np.random.default_rng(3)
    d = riskset.datasets.load("gbsg")
    resp = rng.choice(["CR", "PR", "SD", "PD", None], d.height).tolist()
    size = [None if v < 0.1 else ("big" if s >= 25 else "small") for v, s in zip(rng.random(d.height), d["size"], strict=True)]
    d = d.with_columns(resp=pl.Series(resp, dtype=pl.String), size_cat=pl.Series(size, dtype=pl.String))
    extra = '''
[response]
column = "resp"
[[compare]]
name = "Size"
column = "size_cat"
endpoint = "RFS"
'''
    res = run_study(load_spec(small_spec(tmp_path, extra, data=d)))
    tab = res.values["table4_compare"]
    assert tab["level"].to_list() == ["big", "small"]
    d = d.with_columns(months=pl.col("rfstime") / 30.4375)
    for row in tab.iter_rows(named=True):
        sub = d.filter(pl.col("size_cat") == row["level"])
        assert row["n"] == sub.height
        assert row["orr_n"] == sub.filter(pl.col("resp").is_in(["CR", "PR"])).height
        assert row["dcr_n"] == sub.filter(pl.col("resp").is_in(["CR", "PR", "SD"])).height
        s = riskset.kaplan_meier(sub, time="months", event="status").summary.row(0, named=True)
        assert (row["median"], row["median_lower"], row["median_upper"]) == (
            s["median"], s["median_lower"], s["median_upper"])


def test_cox_notes_belong_to_their_own_model():
    """Cox models run as parallel tasks: each row's warning note is its own fit's (warnings
    recorded process-wide could land on another model's row)."""
    spec = load_spec(Path(riskset.__file__).parent / "study" / "examples" / "tdxd.toml")
    covs = {m["name"]: set(m["covariates"]) for m in spec.cox}
    every = set().union(*covs.values())
    for _ in range(3):
        tab = run_study(spec, jobs=4).values["cox"]
        for row in tab.iter_rows(named=True):
            named = {c for c in every if row["note"] and repr(c) in row["note"]}
            assert named <= covs[row["model"]], (row["model"], row["note"])
        mono = tab.filter(pl.col("model") == "Prior anti-HER2 lines < 3 vs >= 3")
        assert any("every event occurs" in (n or "") for n in mono["note"].to_list())


def test_followup_table_is_written_and_ci_bands_are_an_option(tmp_path):
    p = small_spec(tmp_path)
    res = run_study(load_spec(p))
    assert_frame_equal(res.tables["followup_RFS"], res.values["followup_RFS"])
    out = write_study(res, tmp_path / "out")
    fu = pl.read_csv(out / "tables" / "followup_RFS.csv")
    assert fu["cohort"].to_list() == ["Overall", "tam"]  # the empty cohort has no follow-up
    assert fu["reverse_km_median"].to_list() == res.values["followup_RFS"]["reverse_km_median"].to_list()
    from riskset.study.write import figure_args

    fig = res.figures["km_rfs_overall"]
    assert all("lower" not in c for c in figure_args(res.spec, *fig)[1]["curves"])
    p.write_text(p.read_text().replace('title = "test"', 'title = "test"\nci_bands = true'))
    spec = load_spec(p)
    assert spec.ci_bands and all("lower" in c and "upper" in c for c in figure_args(spec, *fig)[1]["curves"])


def test_only_used_columns_are_read(tmp_path):
    res = run_study(load_spec(small_spec(tmp_path)))
    assert set(res.meta["columns_read"]) == {"rfstime", "status", "hormon", "age", "grade"}


def test_write_is_atomic_and_refuses_overwrite(tmp_path):
    res = run_study(load_spec(small_spec(tmp_path)))
    out = tmp_path / "out"
    write_study(res, out)
    for f in ("results.json", "report.html", "report.md", "tables/km_RFS.csv"):
        assert (out / f).exists(), f
    payload = json.loads((out / "results.json").read_text())
    assert payload["meta"]["riskset_version"] == riskset.__version__ and payload["meta"]["data_sha256"]
    assert "[study]" in payload["meta"]["spec"]
    with pytest.raises(riskset.RisksetError, match="already exists"):
        write_study(res, out)
    (out / "marker").write_text("old")
    write_study(res, out, force=True)
    assert not (out / "marker").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no temp left


def test_cli_example_gbsg(tmp_path):
    out = tmp_path / "g"
    r = CliRunner().invoke(main, ["study", "--example", "gbsg", "--out", str(out), "--jobs", "2"])
    assert r.exit_code == 0, r.output
    assert (out / "figures" / "km_rfs_by_cohort.png").exists()
    # every figure the Markdown report links is a file the study wrote, each linked once
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (out / "report.md").read_text())
    written = sorted(f"figures/{p.name}" for p in (out / "figures").glob("*.png"))
    assert sorted(links) == written and len(written) >= 5
    r = CliRunner().invoke(main, ["study", "--example", "gbsg", "--out", str(out)])
    assert r.exit_code == 2 and "already exists" in r.output


def test_parallel_equals_serial(tmp_path):
    spec = load_spec(GBSG_SPEC)
    a, b = run_study(spec, jobs=1), run_study(spec, jobs=3)
    assert list(a.values) == list(b.values) and list(a.tables) == list(b.tables)
    assert list(a.figures) == list(b.figures) and a.notes == b.notes
    for k in a.values:
        assert a.values[k].equals(b.values[k]), k
    for k in a.tables:
        assert a.tables[k].equals(b.tables[k]), k
    # figures drawn in worker processes (jobs=3) are byte-identical to serial drawing
    one, many = write_study(a, tmp_path / "one", jobs=1), write_study(a, tmp_path / "many", jobs=3)
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(many) for p in many.rglob("*") if p.is_file())
    for f in files:
        assert (one / f).read_bytes() == (many / f).read_bytes(), f


def test_figures_streamed_to_worker_processes_equal_serial(tmp_path):
    """The CLI's path: a FigurePool started first, each figure sent to it as its analysis
    finishes; the files equal a serial run's, and a broken pool falls back to drawing here."""
    from riskset.report.pool import FigurePool, draw_figures
    from riskset.study.write import figure_args

    spec = load_spec(GBSG_SPEC)
    serial = write_study(run_study(spec, jobs=1), tmp_path / "serial", jobs=1)
    with FigurePool(2) as pool:
        res = run_study(spec, jobs=2, figure_pool=pool)
        assert set(res.drawing) == set(res.figures) and not pool.broken
        streamed = write_study(res, tmp_path / "streamed", jobs=2, figure_pool=pool)
    files = sorted(p.relative_to(serial) for p in serial.rglob("*") if p.is_file() and p.name != "results.json")
    assert files and (serial / "figures").exists()
    for f in files:
        if f.name in ("report.html", "report.md", "report.docx"):  # they record the start time
            continue
        assert (serial / f).read_bytes() == (streamed / f).read_bytes(), f
    # a pool closed before the figures sent to it were drawn: they are drawn here
    with FigurePool(1) as early:
        res2 = run_study(spec, jobs=1, figure_pool=early)
    again = write_study(res2, tmp_path / "after_close", jobs=1)
    for f in files:
        if f.parts[0] == "figures":
            assert (again / f).read_bytes() == (serial / f).read_bytes(), f
    broken = FigurePool(1)
    broken.close()
    broken.broken = True
    name, (obj, p, title) = next(iter(res.figures.items()))
    job = figure_args(spec, obj, p, title)
    assert draw_figures({name: job}, pool=broken)[name] == {
        k: (streamed / "figures" / f"{name}.{k}").read_bytes() for k in ("png", "svg")}


def test_figure_workers_do_not_rerun_a_script_without_main_guard(tmp_path):
    """Spawned figure workers start without the caller's ``__main__``: a script with no
    ``if __name__ == "__main__":`` guard runs once, not once per worker."""
    import subprocess
    import sys

    script = tmp_path / "noguard.py"
    script.write_text(
        "print('SCRIPT RUN', flush=True)\n"
        "from riskset.study.run import run_study, write_study\n"
        "from riskset.study.spec import load_spec\n"
        f"res = run_study(load_spec({str(GBSG_SPEC)!r}), jobs=2)\n"
        f"write_study(res, {str(tmp_path / 'out')!r}, jobs=2)\n", encoding="utf-8")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                       env={**os.environ, "PYTHONPATH": str(Path(riskset.__file__).parent.parent)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("SCRIPT RUN") == 1, r.stdout
    assert (tmp_path / "out" / "figures" / "km_rfs_by_cohort.svg").exists()


def test_importing_riskset_is_lazy():
    """``import riskset`` loads no Polars, Numba or SciPy (names load on first use), and a
    figure worker's module draws without them."""
    import subprocess
    import sys

    code = ("import sys, riskset, riskset.report.draw, riskset.io.write; "
            "heavy = [m for m in ('polars', 'numba', 'scipy', 'pyarrow') if m in sys.modules]; "
            "assert not heavy, heavy; "
            "assert all(getattr(riskset, n) is not None for n in riskset.__all__); "
            "assert 'polars' in sys.modules and set(riskset.__all__) <= set(dir(riskset))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        riskset.nope  # noqa: B018


def test_progress_reports_running_tasks_and_completes(tmp_path):
    calls = []
    spec = load_spec(GBSG_SPEC)
    res = run_study(spec, jobs=2, progress=lambda name, done, total: calls.append((name, done, total)))
    total = calls[0][2]
    assert total >= 6 and all(t == total for _, _, t in calls)
    assert [d for _, d, _ in calls] == sorted(d for _, d, _ in calls)  # never goes back
    assert calls[-1][1] == total
    known = {"baseline", "response", "safety", "log-rank grid", *(f"comparison: {c['name']}" for c in spec.compare),
             *(f"Cox: {m['name']}" for m in spec.cox),
             *(f"Kaplan-Meier {ep.name}" for ep in spec.endpoints)}
    def names_known_tasks(label: str) -> bool:  # "a, b, c" of known task names (a name may hold ", ")
        return label == "" or any(label.startswith(k) and names_known_tasks(label[len(k):].removeprefix(", "))
                                  for k in known)

    for name, _, _ in calls[1:]:  # each label names the tasks running at that moment
        assert name == "analyses done" or (name.startswith("running: ")
                                           and names_known_tasks(name[len("running: "):])), name
    assert res.values
    r = CliRunner().invoke(main, ["study", "--example", "gbsg", "--out", str(tmp_path / "p"), "--progress"])
    assert r.exit_code == 0, r.output


def test_cox_string_term_in_a_cohort_missing_a_level_fits_like_the_api(tmp_path):
    """String factors travel as Enum codes inside the runner; a Cox term is handed back as a
    string, so a cohort without one of its levels fits on the levels it has (as the API does)."""
    d = riskset.datasets.load("gbsg").with_columns(
        size_cat=pl.when(pl.col("size") < 20).then(pl.lit("small")).when(pl.col("size") < 40)
        .then(pl.lit("medium")).otherwise(pl.lit("large")))
    extra = '''
[[cox]]
name = "size in tam"
endpoint = "RFS"
cohort = "tam"
covariates = ["size_cat"]

[[cox]]
name = "size overall"
endpoint = "RFS"
covariates = ["size_cat"]
'''
    d = d.filter(~((pl.col("hormon") == 1) & (pl.col("size_cat") == "large")))  # no "large" in tam
    res = run_study(load_spec(small_spec(tmp_path, extra, data=d)))
    rows = res.values["cox"].filter(pl.col("model") == "size in tam")
    want = riskset.cox(d.filter(pl.col("hormon") == 1).with_columns(months=pl.col("rfstime") / 30.4375),
                       time="months", event="status", covariates=["size_cat"])
    assert rows.get_column("term").to_list() == want.coefficients.get_column("term").to_list()
    np.testing.assert_allclose(rows.get_column("coef").to_numpy(), want.coefficients.get_column("coef").to_numpy(),
                               rtol=1e-12)
    # every level present (the Enum codes go to the design as they are): as the API on strings
    rows = res.values["cox"].filter(pl.col("model") == "size overall")
    want = riskset.cox(d.with_columns(months=pl.col("rfstime") / 30.4375), time="months", event="status",
                       covariates=["size_cat"])
    assert rows.get_column("term").to_list() == want.coefficients.get_column("term").to_list()
    np.testing.assert_allclose(rows.get_column("coef").to_numpy(), want.coefficients.get_column("coef").to_numpy(),
                               rtol=1e-12)


def test_derived_case_strings_are_coded_and_results_equal_strings(tmp_path, monkeypatch):
    """A derived CASE with string results that no SQL reads is stored as an Enum of its
    levels; every table equals the run that keeps it a string: Table 1, a factor's tests and
    curves, a comparison, and Cox terms (a cohort missing a level; a level no row takes)."""
    import riskset.study.load as L

    d = riskset.datasets.load("gbsg")
    d.filter(~((pl.col("hormon") == 1) & (pl.col("size") >= 40))).write_csv(tmp_path / "d.csv")  # no "large" in tam
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text('''
[study]
title = "coded"
[data]
path = "d.csv"
[derive]
months = "rfstime / 30.4375"
size_cat = "CASE WHEN size < 20 THEN 'small' WHEN size < 40 THEN 'medium' ELSE 'large' END"
age_cat = "CASE WHEN age IS NULL THEN NULL WHEN age >= 50 THEN '>= 50' ELSE '< 50' END"
never = "CASE WHEN size < 0 THEN 'none' WHEN size < 25 THEN 'some' ELSE 'many' END"
read = "CASE WHEN grade = 3 THEN 'g3' ELSE 'other' END"
[[cohort]]
name = "tam"
filter = "hormon = 1"
[[cohort]]
name = "g3"
filter = "read = 'g3'"
[[endpoint]]
name = "RFS"
time = "months"
event = "status"
landmarks = [12]
[[factor]]
name = "Size"
column = "size_cat"
endpoint = "RFS"
[[cox]]
name = "size in tam"
endpoint = "RFS"
cohort = "tam"
covariates = ["size_cat"]
[[cox]]
name = "size and never"
endpoint = "RFS"
covariates = ["size_cat", "never"]
[[compare]]
name = "Age"
column = "age_cat"
endpoint = "RFS"
[baseline]
continuous = ["age"]
categorical = ["size_cat", "age_cat", "never"]
''')
    df, _ = L.load_study_data(load_spec(spec_path))
    assert df.schema["size_cat"] == pl.Enum(["large", "medium", "small"])
    # "none" is declared, no row takes it (a covariate constant in the whole data would be a
    # spec error before any analysis: tests/test_missing.py)
    assert df.schema["never"] == pl.Enum(["many", "none", "some"])
    assert df.schema["read"] == pl.String  # a cohort filter reads it: stays a string
    coded = run_study(load_spec(spec_path))
    monkeypatch.setattr(L, "_codable", lambda spec: set())
    assert L.load_study_data(load_spec(spec_path))[0].schema["size_cat"] == pl.String
    plain = run_study(load_spec(spec_path))
    assert coded.values.keys() == plain.values.keys() and coded.tables.keys() == plain.tables.keys()

    def as_strings(t: pl.DataFrame) -> pl.DataFrame:
        return t.with_columns(pl.col(c).cast(pl.String) for c, dt in t.schema.items() if isinstance(dt, pl.Enum))

    for k in plain.values:
        assert_frame_equal(as_strings(coded.values[k]), as_strings(plain.values[k]))
    for k in plain.tables:
        assert_frame_equal(coded.tables[k], plain.tables[k])
    assert coded.notes == plain.notes
    tam = coded.values["cox"].filter(pl.col("model") == "size in tam")
    assert tam.get_column("term").to_list() == ["size_catsmall"]  # vs "medium"; no "large" in tam


@pytest.mark.parametrize(("expr", "levels"), [
    ("CASE WHEN age IS NULL THEN NULL WHEN age >= 50 THEN '>= 50' ELSE '< 50' END", ["< 50", ">= 50"]),
    ("case x when 1 then 'one' when 2 then 'two' end", ["one", "two"]),
    ("CASE WHEN x = 'THEN' THEN 'it''s' ELSE 'b' END", ["b", "it's"]),
    ("CASE WHEN n >= 3 THEN '>= 3' ELSE CAST(n AS VARCHAR) END", None),
    ("CASE WHEN x THEN 'a' || y ELSE 'b' END", None),
    ("CASE WHEN a THEN CASE WHEN b THEN 'x' ELSE 'y' END ELSE 'z' END", None),
    ("best_response IN ('CR', 'PR')", None),
    ("CASE WHEN a THEN NULL END", None),
])
def test_case_levels(expr, levels):
    from riskset.study.load import case_levels

    assert case_levels(expr) == levels


@pytest.mark.parametrize(("expr", "codes_sql"), [
    ("CASE WHEN age IS NULL THEN NULL WHEN age >= 50 THEN '>= 50' ELSE '< 50' END",
     "CASE WHEN age IS NULL THEN NULL WHEN age >= 50 THEN 1 ELSE 0 END"),
    ("case x when 1 then 'one' when 2 then 'two' end", "case x when 1 then 0 when 2 then 1 end"),
    ("CASE WHEN s = 'THEN' THEN 'it''s' WHEN s = '1' THEN '1' ELSE 'b' END",
     "CASE WHEN s = 'THEN' THEN 2 WHEN s = '1' THEN 0 ELSE 1 END"),
])
def test_case_codes_compute_the_enum_of_the_string_case(expr, codes_sql):
    """The recoded CASE (result literals -> level positions, condition literals kept) viewed
    as the Enum equals the string CASE cast to it, nulls included."""
    from riskset.study.load import _derive, case_codes
    from riskset.study.spec import sql

    levels, got = case_codes(expr)
    assert got == codes_sql
    df = pl.DataFrame({"age": [20, 70, None, 50], "x": [1, 2, 3, None],
                       "s": ["THEN", "1", None, "z"]})
    want = df.select(sql(expr).cast(pl.Enum(levels)).alias("v"))
    assert want.get_column("v").null_count() < df.height
    assert_frame_equal(_derive(df, {"v": expr}, coded={"v"}).select("v"), want)
    assert_frame_equal(_derive(df.lazy(), {"v": expr}, coded={"v"}).select("v").collect(), want)


RAW_TIME_SPEC = '''
[study]
title = "integer time"
[data]
path = "d.csv"
[[cohort]]
name = "tam"
filter = "hormon = 1"
[[endpoint]]
name = "RFS"
time = "rfstime"
event = "status"
landmarks = [365, 730]
[[factor]]
name = "Grade"
column = "grade"
endpoint = "RFS"
[[cox]]
name = "grade and nodes"
endpoint = "RFS"
covariates = ["grade", "nodes"]
[baseline]
continuous = ["age", "nodes"]
categorical = ["grade", "meno"]
'''


@pytest.mark.parametrize("which", ["tdxd", "integer time", "integer time, parquet"])
def test_integer_columns_narrowed_after_load_results_equal(which, tmp_path, monkeypatch):
    """Integer columns no SQL expression reads are narrowed (Int64 0/1 flags and grades to
    Int8, an integer time column in days to Int16): after the load for a CSV, as they are
    read for Parquet; columns SQL reads keep their type; every table equals the run without
    narrowing."""
    import riskset.study.load as L

    if which == "tdxd":
        spec = Path(riskset.__file__).parent / "study" / "examples" / "tdxd.toml"
        df, _ = L.load_study_data(load_spec(spec))
        assert df.schema["liver_met"] == pl.Int8 and df.schema["ae_neutropenia_grade"] == pl.Int8
        assert df.schema["anti_her2_lines_lt3"] == pl.Int8  # a derived 0/1 column too
        assert df.schema["age"] == pl.Int64 and df.schema["prior_lines"] == pl.Int64  # read by [derive]
    else:
        data = riskset.datasets.load("gbsg")
        if which.endswith("parquet"):
            data.write_parquet(tmp_path / "d.parquet")
        else:
            data.write_csv(tmp_path / "d.csv")
        spec = tmp_path / "spec.toml"
        spec.write_text(RAW_TIME_SPEC.replace('"d.csv"', '"d.parquet"') if which.endswith("parquet") else RAW_TIME_SPEC)
        df, _ = L.load_study_data(load_spec(spec))
        assert df.schema["rfstime"] == pl.Int16 and df.schema["status"] == pl.Int8
        assert df.schema["hormon"] == pl.Int64  # read by a cohort filter
    narrowed = run_study(load_spec(spec))
    monkeypatch.setattr(L, "_narrow_types", lambda frame, columns: {})
    assert L.load_study_data(load_spec(spec))[0].schema["liver_met" if which == "tdxd" else "status"] == pl.Int64
    plain = run_study(load_spec(spec))

    def same_types(t: pl.DataFrame) -> pl.DataFrame:
        return t.with_columns(pl.col(c).cast(pl.Int64) for c, dt in t.schema.items() if dt.is_integer())

    assert narrowed.values.keys() == plain.values.keys()
    for k in plain.values:
        assert_frame_equal(same_types(narrowed.values[k]), same_types(plain.values[k]))
    for k in plain.tables:
        assert_frame_equal(narrowed.tables[k], plain.tables[k])
    assert narrowed.notes == plain.notes


def test_narrow_integers_picks_the_narrowest_type():
    from riskset.study.load import _narrow_integers

    df = pl.DataFrame({"flag": [0, 1, None], "big": [0, 40_000, 1], "neg": [-129, 0, 5],
                       "none": pl.Series([None, None, None], dtype=pl.Int64), "f": [0.5, 1.0, 2.0]})
    out = _narrow_integers(df, df.columns)
    assert out.schema == pl.Schema({"flag": pl.Int8, "big": pl.Int32, "neg": pl.Int16, "none": pl.Int64,
                                    "f": pl.Float64})
    assert_frame_equal(out.cast(df.schema), df)
    assert _narrow_integers(df, ["f"]).schema == df.schema


def test_cohorts_compared_on_labelled_rows_equal_stacked_rows(monkeypatch):
    """The by-cohort curves and log-rank p of disjoint cohorts come from the endpoint's
    ordered rows labelled by cohort; they equal those of the cohorts' rows stacked (the
    path overlapping cohorts take, where no single label exists)."""
    import riskset.study.run as R

    spec_path = Path(riskset.__file__).parent / "study" / "examples" / "tdxd.toml"
    calls = []
    labelled = R.EndpointRows.labelled

    def spy(self, *a, **k):
        out = labelled(self, *a, **k)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(R.EndpointRows, "labelled", spy)
    fast = run_study(load_spec(spec_path))
    assert calls.count(True) == 2  # PFS and DoR (PFS2 is compared in no cohort)
    monkeypatch.setattr(R.EndpointRows, "labelled", lambda self, *a, **k: None)
    stacked = run_study(load_spec(spec_path))
    names = [n for n in fast.figures if n.endswith("_by_cohort")]
    assert names == [n for n in stacked.figures if n.endswith("_by_cohort")] and len(names) >= 2
    for n in names:
        (fit_a, p_a, _), (fit_b, p_b, _) = fast.figures[n], stacked.figures[n]
        assert_frame_equal(fit_a.table, fit_b.table)
        assert p_a == p_b and p_a is not None

    # overlapping cohorts: no labelling (the method itself, not the patches above)
    monkeypatch.setattr(R.EndpointRows, "labelled", labelled)
    df = pl.DataFrame({"t": [1.0, 2.0, 3.0, 4.0], "e": [1, 0, 1, 1], "__cohort_0": [True, True, False, True],
                       "__cohort_1": [False, True, True, False]})
    rows = R.EndpointRows(frame=df, flags={"A": "__cohort_0", "B": "__cohort_1"}, n_population={"A": 3, "B": 2})
    assert rows.labelled(["A", "B"], pl.Enum(["A", "B"]), ["t", "e"]) is None
    disjoint = df.with_columns(pl.Series("__cohort_1", [False, False, True, False]))
    rows = R.EndpointRows(frame=disjoint, flags={"A": "__cohort_0", "B": "__cohort_1"},
                           n_population={"A": 3, "B": 1})
    got = rows.labelled(["A", "B"], pl.Enum(["A", "B"]), ["t", "e"])
    assert got.get_column("cohort").cast(pl.String).to_list() == ["A", "A", "B", "A"]


@pytest.mark.parametrize("unit", ["days", "weeks", "months", "years"])
def test_endpoint_time_is_the_polars_division_of_the_days(unit):
    """The runner's endpoint time from whole days equals Polars' ``pl.col(days) / unit``
    bit for bit (a product with the reciprocal), with and without nulls."""
    from types import SimpleNamespace

    from riskset.study.load import endpoint_time
    from riskset.study.spec import UNITS

    ep = SimpleNamespace(unit=unit, time_col="t")
    rng = np.random.default_rng(3)
    for days in (pl.Series("d", rng.integers(-40, 20000, 5000), dtype=pl.Int32),
                 pl.Series("d", [None, 0, 1, 487, None, 36524], dtype=pl.Int32)):
        want = days.to_frame().select((pl.col("d") / UNITS[unit]).alias("t")).to_series()
        got = endpoint_time(ep, days)
        assert got.name == "t" and got.dtype == pl.Float64
        assert got.is_null().to_list() == want.is_null().to_list()
        assert np.array_equal(got.drop_nulls().to_numpy().view(np.int64), want.drop_nulls().to_numpy().view(np.int64))


def test_factor_hazard_ratios_are_cox_fits_of_its_levels_in_each_cohort(tmp_path):
    """``hr = true`` on a factor: one Cox model per cohort with the factor's levels as
    categories (a numeric code too), patients missing it left out and counted; the same fit
    as riskset.cox on those rows; drawn as "level vs reference" on the forest plot."""
    data = riskset.datasets.load("gbsg").with_columns(
        pl.when(pl.col("pid") % 10 == 0).then(None).otherwise(pl.col("grade")).alias("grade"))
    p = small_spec(tmp_path, data=data)
    p.write_text(p.read_text().replace('column = "grade"\n', 'column = "grade"\nhr = true\n'))
    spec = load_spec(p)
    assert [m["name"] for m in spec.cox] == ["Grade, Overall", "Grade, tam", "Grade, nobody"]
    res = run_study(spec, jobs=2)
    cox = res.values["cox"]
    d = data.with_columns((pl.col("rfstime") / 30.4375).alias("months"))
    for cname, rows in (("Overall", d), ("tam", d.filter(pl.col("hormon") == 1))):
        rows = rows.filter(pl.col("grade").is_not_null()).with_columns(pl.col("grade").cast(pl.String))
        want = riskset.cox(rows, time="months", event="status", covariates=["grade"]).coefficients
        got = cox.filter(pl.col("cohort") == cname)
        assert got["term"].to_list() == want["term"].to_list() == ["grade2", "grade3"]
        np.testing.assert_allclose(got["coef"].to_numpy(), want["coef"].to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(got["se"].to_numpy(), want["se"].to_numpy(), rtol=1e-12)
        n_missing = d.filter(pl.col("grade").is_null() & (pl.lit(cname == "Overall") | (pl.col("hormon") == 1))).height
        assert set(got["note"]) == {f"{n_missing} patients with a missing grade excluded"}
        assert got["label"].to_list() == ["2 vs 1", "3 vs 1"]
    assert cox.filter(pl.col("cohort") == "nobody")["note"].to_list() == ["not estimable: no patients"]
    forest = res.figures["forest_cox"][0]
    assert "Grade, tam: 3 vs 1" in forest["label"].to_list()


def test_factor_hazard_ratio_edge_cases(tmp_path):
    """A factor missing for everyone says so; the excluded count stays on every row of a
    monotone fit and its Firth refit; a true/false factor is drawn as "level vs reference";
    a generated model name may not repeat a [[cox]] name."""
    d = riskset.datasets.load("gbsg")
    d = d.with_columns(pl.lit(None, dtype=pl.Int64).alias("allnull"), (pl.col("er") > 0).alias("er_pos"),
                       # no events when mono = 1: a monotone likelihood; missing for every tenth patient
                       pl.when(pl.col("pid") % 10 == 0).then(None)
                       .otherwise((pl.col("status") == 0) & (pl.col("pid") % 3 == 0)).cast(pl.Int8).alias("mono"))
    extra = "".join(f'[[factor]]\nname = "{n}"\ncolumn = "{n}"\nendpoint = "RFS"\ncohorts = ["Overall"]\n'
                    'km = false\nhr = true\n' for n in ("allnull", "er_pos", "mono"))
    res = run_study(load_spec(small_spec(tmp_path, extra, data=d)))
    cox = res.values["cox"]
    allnull = cox.filter(pl.col("model") == "allnull, Overall")
    assert allnull["note"].to_list() == ["not estimable: 686 patients with a missing allnull excluded"]
    assert cox.filter(pl.col("model") == "er_pos, Overall")["label"].to_list() == ["true vs false"]
    mono = cox.filter(pl.col("model") == "mono, Overall")
    n_missing = d.filter(pl.col("mono").is_null()).height
    assert set(mono["method"]) == {"partial likelihood", "Firth (penalised)"}
    assert all(n.startswith(f"{n_missing} patients with a missing mono excluded; ") for n in mono["note"])
    text = small_spec(tmp_path).read_text().replace('column = "grade"\n', 'column = "grade"\nhr = true\n')
    text += '[[cox]]\nname = "Grade, tam"\nendpoint = "RFS"\ncovariates = ["age"]\n'
    with pytest.raises(SpecError, match="makes the Cox model 'Grade, tam', a name a \\[\\[cox\\]\\] entry already has"):
        parse_spec(text)
