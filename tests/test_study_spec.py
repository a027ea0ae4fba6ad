"""Study runner and bad input: spec errors name the key and its line (and suggest a fix),
failing expressions name themselves, a missing column names the key using it, and cohorts or
levels that cannot be analysed are reported in the tables with the reason, not a crash."""

from __future__ import annotations

import polars as pl
import pytest

import riskset
from riskset.study.run import run_study
from riskset.study.spec import SpecError, load_spec, parse_spec
from tests.test_study import small_spec


def test_empty_cohort_is_reported_not_a_crash(tmp_path):
    res = run_study(load_spec(small_spec(tmp_path)))
    row = res.values["km_RFS"].filter(pl.col("cohort") == "nobody").row(0, named=True)
    assert row["n"] == 0 and "not estimable" in row["note"]


def test_spec_errors_name_key_line_and_suggest(tmp_path):
    with pytest.raises(SpecError, match=r"'endpoint.landmark \(entry 1\)' \(line \d+\); did you mean 'landmarks'"):
        parse_spec(small_spec(tmp_path).read_text().replace("landmarks", "landmark"))
    with pytest.raises(SpecError, match=r"unknown table \[respons\].*did you mean \[response\]"):
        parse_spec(small_spec(tmp_path).read_text() + "\n[respons]\ncolumn = 'x'\n")
    with pytest.raises(SpecError, match="not valid SQL"):
        parse_spec(small_spec(tmp_path).read_text().replace("rfstime / 30.4375", "rfstime //// 2"))
    with pytest.raises(SpecError, match="unknown endpoint 'OS'"):
        parse_spec(small_spec(tmp_path, '[[cox]]\nname = "m"\nendpoint = "OS"\ncovariates = ["age"]\n').read_text())


@pytest.mark.parametrize(("old", "new", "message"), [
    ("landmarks = [12, 24]", 'landmarks = [12, "24"]',
     r"'endpoint.landmarks \(entry 1\)' \(line \d+\): item 2 must be a number, got '24'"),
    ("landmarks = [12, 24]", "landmarks = [12, -1]", r"'endpoint.landmarks \(entry 1\)' \(line \d+\): item 2 must be a finite time >= 0"),
    ("landmarks = [12, 24]", "landmarks = [12, inf]", r"item 2 must be a finite time >= 0, got inf"),
    ('title = "test"', 'title = "test"\nconvention = "SPSS"', r"'study.convention' \(line 4\) = 'SPSS' is not valid.*did you mean 'spss'"),
    ('title = "test"', 'title = "test"\nconf_type = "loglog"', r"'study.conf_type' \(line 4\) = 'loglog'.*did you mean 'log-log'"),
    ('event = "status"', 'event = "status"\nunit = "month"', r"'endpoint.unit \(entry 1\)' \(line \d+\) = 'month'.*'months'"),
    ('column = "grade"', 'column = "grade"\ncohorts = ["tam", 2]', r"'factor.cohorts \(entry 1\)' \(line \d+\): item 2 must be a cohort name"),
])
def test_spec_values_checked_with_key_and_line(tmp_path, old, new, message):
    text = small_spec(tmp_path).read_text()
    assert old in text
    with pytest.raises(SpecError, match=message):
        parse_spec(text.replace(old, new, 1))


def test_spec_conf_types_are_the_engines():
    from riskset.engine.km import CONF_TYPES
    from riskset.study import spec as S

    assert set(S.CONF_TYPES) == set(CONF_TYPES)


def test_missing_column_names_column_key_and_data_and_suggests(tmp_path):
    spec = load_spec(small_spec(tmp_path, '[[compare]]\nname = "x"\ncolumn = "gradee"\nendpoint = "RFS"\n'))
    with pytest.raises(SpecError, match=r"column 'gradee' used by 'compare.column \(entry 1\)' \(line \d+\) "
                                        r"is not in the data \(d.csv\); did you mean 'grade'"):
        run_study(spec)
    spec = load_spec(small_spec(tmp_path, "[safety]\ngrades = {Nausea = 'nausea_grade'}\n"))
    with pytest.raises(SpecError, match=r"column 'nausea_grade' used by 'safety.grades.Nausea'"):
        run_study(spec)
    spec = load_spec(small_spec(tmp_path))
    spec.derive["bad"] = "agee > 50"
    with pytest.raises(SpecError, match=r"column 'agee' used by 'derive.bad'"):
        run_study(spec)


@pytest.mark.parametrize(("old", "new", "message"), [
    ('filter = "hormon = 1"', 'filter = "hormon + 1"',
     r"cohort 'tam': filter at 'cohort.filter \(entry 1\)' \(line \d+\): 'hormon \+ 1' gives Int64 values, not true/false"),
    ('filter = "age > 200"', "filter = \"UPPER(age) = 'X'\"", r"cohort 'nobody': filter at 'cohort.filter \(entry 2\)'.* failed"),
    ('event = "status"', "event = \"status\"\npopulation = \"UPPER(age) = 'X'\"",
     r"endpoint 'RFS': population at 'endpoint.population \(entry 1\)' \(line \d+\): .* failed"),
])
def test_failing_filter_or_population_names_it(tmp_path, old, new, message):
    p = small_spec(tmp_path)
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new, 1))
    with pytest.raises(SpecError, match=message):
        run_study(load_spec(p))


def test_untestable_cohorts_say_why_in_table3_and_table4(tmp_path):
    """An empty cohort or a factor with one level there: the reason in the Table 3 cell; a
    comparison in an empty cohort: a Table 4 row that says so."""
    extra = ('[[factor]]\nname = "Menopause"\ncolumn = "meno"\nendpoint = "RFS"\ncohorts = ["young"]\n'
             '[[cohort]]\nname = "young"\nfilter = "age < 30"\n'
             '[[compare]]\nname = "Grade, nobody"\ncolumn = "grade"\nendpoint = "RFS"\ncohort = "nobody"\n'
             '[[compare]]\nname = "Grade, tam"\ncolumn = "grade"\nendpoint = "RFS"\ncohort = "tam"\n')
    res = run_study(load_spec(small_spec(tmp_path, extra)))
    t3 = {r["factor"]: r for r in res.tables["table3_logrank"].iter_rows(named=True)}
    assert t3["Grade"]["nobody"] == "not tested: the data has no rows"
    assert t3["Grade"]["tam"] == "0.010" and t3["Menopause"]["young"].startswith("not tested: only one level")
    t4 = res.tables["table4_compare"]
    empty = t4.filter(pl.col("comparison") == "Grade, nobody").row(0, named=True)
    assert empty["level"] == "—" and empty["note"] == "not estimable: no patients in cohort 'nobody'"
    assert t4.filter(pl.col("comparison") == "Grade, tam").height == 3
    assert res.values["table4_compare"].filter(pl.col("level").is_null())["n"].to_list() == [0]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_failing_derived_expression_names_it(tmp_path, fmt):
    """Also from a Parquet source, which is read, derived and pruned in one streaming query:
    a failure there is redone step by step so that the error names the expression."""
    p = small_spec(tmp_path)
    text = p.read_text().replace('months = "rfstime / 30.4375"', 'months = "rfstime / 30.4375"\nbad = "UPPER(age)"')
    if fmt == "parquet":
        riskset.datasets.load("gbsg").write_parquet(tmp_path / "d.parquet")
        text = text.replace('"d.csv"', '"d.parquet"')
    p.write_text(text)
    with pytest.raises(SpecError, match="derived variable 'bad'"):
        run_study(load_spec(p))


def test_constant_cohort_filter_and_a_level_without_endpoint_times(tmp_path):
    p = small_spec(tmp_path, '[[compare]]\nname = "Grade"\ncolumn = "grade"\nendpoint = "RFS"\n')
    text = p.read_text().replace('filter = "hormon = 1"', 'filter = "1 = 1"').replace(
        'event = "status"', 'event = "status"\npopulation = "grade = 2"')
    p.write_text(text)
    res = run_study(load_spec(p))
    assert res.meta["cohort_sizes"] == {"Overall": 686, "tam": 686, "nobody": 0}
    t4 = res.tables["table4_compare"]
    assert t4["median (95% CI)"].to_list()[0::2] == ["", ""]  # grades 1 and 3: no RFS rows
    assert t4["note"].to_list()[0] == "median not estimable: no patient of this level has a RFS time"
    assert t4["note"].to_list()[1] == "" and t4["median (95% CI)"].to_list()[1] != ""


# ---- [value_labels] (issue 17: level order and labels in the spec) ------------------------
def _labelled_spec(tmp_path, labels: str, levels: str = ""):
    data = tmp_path / "d.csv"
    pl.DataFrame({"t": [float(i % 17 + 1) for i in range(60)], "e": [i % 3 != 0 for i in range(60)],
                  "sex": [1 + (i % 2) for i in range(60)]}).with_columns(pl.col("e").cast(pl.Int8)).write_csv(data)
    spec = tmp_path / "s.toml"
    spec.write_text(f"""[study]
title = "labels"
[data]
path = "{data}"
[[endpoint]]
name = "OS"
time = "t"
event = "e"
[[factor]]
name = "Sex"
column = "sex"
endpoint = "OS"
[baseline]
categorical = ["sex"]
{levels}
{labels}
""")
    return spec


def test_value_labels_name_and_order_the_levels(tmp_path):
    spec = load_spec(_labelled_spec(tmp_path, '[value_labels.sex]\n2 = "Female"\n1 = "Male"\n'))
    res = run_study(spec, jobs=1)
    t1 = res.tables["table1_baseline"]
    chars = t1.get_column("characteristic").to_list()
    assert "  Female" in chars and "  Male" in chars and chars.index("  Female") < chars.index("  Male")
    assert not any(c.strip() in ("1", "2") for c in chars)  # no bare codes


def test_value_labels_follow_levels_order(tmp_path):
    spec = load_spec(_labelled_spec(tmp_path, '[value_labels.sex]\n2 = "Female"\n1 = "Male"\n',
                                    '[levels]\nsex = ["1", "2"]\n'))
    chars = run_study(spec, jobs=1).tables["table1_baseline"].get_column("characteristic").to_list()
    assert chars.index("  Male") < chars.index("  Female")


@pytest.mark.parametrize(("labels", "message"), [
    ('[value_labels.sex]\n1 = "Male"\n2 = "Female"\n3 = "Other"\n', "labels level(s) '3'"),
    ('[value_labels.sex]\n1 = "Male"\n', "give every level of 'sex' a label"),
    ('[value_labels.sexx]\n1 = "Male"\n', "did you mean 'sex'"),
    ('[value_labels.sex]\n1 = "X"\n2 = "X"\n', "to several levels"),
])
def test_value_label_mistakes_fail_before_any_analysis(tmp_path, labels, message):
    import re

    with pytest.raises(SpecError, match=re.escape(message)) as info:
        run_study(load_spec(_labelled_spec(tmp_path, labels)), jobs=1)
    assert "value_labels" in str(info.value) and "line" in str(info.value)
