"""Near-tied times: R's ``timefix = TRUE`` (``aeqSurv``) in every path.

R fixtures: tests/reference/fixtures/timefix/*.json (tests/reference/make_timefix.R), each
with R's default (timefix on) and ``timefix = FALSE``. Plus the regression that motivated
the rule (``c(1, 2, sqrt(2)^2)``: three times without it, two with it), a literal oracle of
R's rule, properties (permutation invariance, a no-op bit for bit on data without near
ties), the empty-interval error, the bootstrap, the study runner and the CLI flags.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import riskset
from riskset._km import followup_summary
from riskset.cli.main import main
from riskset.engine import timefix as tf
from riskset.errors import ColumnError
from tests.conftest import assert_close, fixture_names, load_fixture, r_array, read_data
from tests.tolerances import ITERATIVE_RTOL, REORDER_RTOL

#: the property tests draw time 0 on purpose; its warning is tested in test_missing
pytestmark = pytest.mark.filterwarnings("ignore:column .* is 0 in .* kept, as R keeps them:UserWarning")

CASES = [c for c in fixture_names("timefix") if c != "zero_length"]
MODES = {"timefix": True, "no_timefix": False}


# ---------------------------------------------------------------------------------------------
# R fixtures
# ---------------------------------------------------------------------------------------------
def _km(fx, timefix):
    r = fx["roles"]
    return riskset.kaplan_meier(read_data(fx["data"]), time=r["time"], event=r["event"], entry=r["entry"],
                                by=r["by"], timefix=timefix)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", CASES)
def test_km_matches_r(name, mode):
    fx = load_fixture("timefix", name)
    exp = fx["km"][mode]
    fit = _km(fx, MODES[mode])
    tab = fit.table
    # stratum number (1-based, sorted keys = R's strata order) of each table row
    counts = np.diff(fit._et.offsets)
    stratum = np.repeat(np.arange(1, counts.size + 1), counts)
    np.testing.assert_array_equal(stratum, r_array(exp["stratum"]))
    # the merged times are R's values exactly (each run maps to its smallest value)
    np.testing.assert_array_equal(tab["time"].to_numpy(), r_array(exp["time"]))
    for col, key in (("n_risk", "n_risk"), ("n_event", "n_event"), ("n_censor", "n_censor"),
                     ("survival", "survival"), ("cumhaz", "cumhaz")):
        assert_close(tab[col], exp[key], f"{name} {mode} {col}")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", [c for c in CASES if "survdiff" in load_fixture("timefix", c)])
def test_logrank_matches_r(name, mode):
    fx = load_fixture("timefix", name)
    exp = fx["survdiff"][mode]
    r = fx["roles"]
    res = riskset.logrank(read_data(fx["data"]), time=r["time"], event=r["event"], group=r["by"],
                          timefix=MODES[mode])
    assert_close(res.statistic, r_array(exp["chisq"]), f"{name} {mode} chisq")
    assert_close(res.observed, exp["observed"], f"{name} {mode} observed")
    assert_close(res.expected, exp["expected"], f"{name} {mode} expected")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", [c for c in CASES if "coxph" in load_fixture("timefix", c)])
def test_cox_matches_r(name, mode):
    fx = load_fixture("timefix", name)
    exp = fx["coxph"][mode]
    r = fx["roles"]
    fit = riskset.cox(read_data(fx["data"]), time=r["time"], event=r["event"], entry=r["entry"],
                      covariates=r["covariates"], timefix=MODES[mode])
    for got, key in ((fit.coef, "coef"), (fit.se, "se"), (np.asarray(fit.loglik), "loglik")):
        e = r_array(exp[key])
        np.testing.assert_allclose(got, e, rtol=ITERATIVE_RTOL, atol=ITERATIVE_RTOL * np.abs(e).max(),
                                   err_msg=f"{name} {mode} {key}")


@pytest.mark.parametrize("name", CASES)
def test_fixture_cases_have_near_ties_and_r_counts_them(name):
    """Each case really exercises the rule: R's aeqSurv leaves fewer distinct times, and
    riskset's merge of the same pool leaves the same number."""
    fx = load_fixture("timefix", name)
    r = fx["roles"]
    d = read_data(fx["data"])
    t = d[r["time"]].cast(pl.Float64).to_numpy()
    e = d[r["entry"]].cast(pl.Float64).to_numpy() if r["entry"] else None
    pool = t if e is None else np.concatenate([t, e])
    assert np.unique(pool).size == fx["n_times_raw"]
    nt, ne, _ = tf.fix_times(t, e)
    fixed = nt if ne is None else np.concatenate([nt, ne])
    assert np.unique(fixed).size == fx["n_times_fixed"] < fx["n_times_raw"]


def test_zero_length_interval_is_a_typed_error_as_r_stops():
    fx = load_fixture("timefix", "zero_length")
    assert "effective length 0" in fx["coxph_error"] and "effective length 0" in fx["survfit_error"]
    d = read_data(fx["data"])
    for call in (
        lambda tfx: riskset.kaplan_meier(d, time="time", event="event", entry="entry", timefix=tfx),
        lambda tfx: riskset.cox(d, time="time", event="event", entry="entry", covariates="x", timefix=tfx),
    ):
        with pytest.raises(ColumnError) as ei:
            call(True)
        err = ei.value
        assert err.column == "entry" and err.n_rows == 1 and err.first_row == 1
        assert "near-tied" in str(err) and "'time'" in str(err)
    # without the merge the rows are valid, and the curve is R's timefix = FALSE one
    fit = riskset.kaplan_meier(d, time="time", event="event", entry="entry", timefix=False)
    exp = fx["km"]["no_timefix"]
    np.testing.assert_array_equal(fit.table["time"].to_numpy(), r_array(exp["time"]))
    assert_close(fit.table["survival"], exp["survival"], "zero_length survival")


def test_zero_length_first_row_counts_dropped_rows():
    d = pl.DataFrame({"entry": [0.0, None, 0.0, 1.0], "time": [2.0, 3.0, 1.0 + 1e-12, 1.0 + 2e-12],
                      "event": [1, 1, 1, 0]})
    with pytest.raises(ColumnError) as ei, pytest.warns(riskset.RisksetWarning):
        riskset.kaplan_meier(d, time="time", event="event", entry="entry", drop_missing=True)
    assert ei.value.first_row == 3  # input numbering: row 1 was dropped


# ---------------------------------------------------------------------------------------------
# The original difference (R's tests/tiedtime.R)
# ---------------------------------------------------------------------------------------------
def test_regression_sqrt2_squared_is_a_tie():
    d = pl.DataFrame({"time": [1.0, 2.0, math.sqrt(2) ** 2], "event": [1, 1, 1]})
    assert math.sqrt(2) ** 2 != 2.0
    assert riskset.kaplan_meier(d, time="time", event="event", timefix=False).table.height == 3
    tab = riskset.kaplan_meier(d, time="time", event="event").table
    assert tab["time"].to_list() == [1.0, 2.0]  # the run maps to its smallest value
    assert tab["n_event"].to_list() == [1.0, 2.0]
    na = riskset.nelson_aalen(d, time="time", event="event")
    assert na.height == 2


def test_followup_and_rmst_see_merged_times():
    d = pl.DataFrame({"time": [1.0, 2.0, math.sqrt(2) ** 2, 2.0, math.sqrt(2) ** 2, 3.0, 4.0, 5.0],
                      "event": [0, 0, 1, 1, 0, 0, 1, 0], "g": [0, 0, 0, 1, 1, 1, 0, 1],
                      "w": [1.5, 1.0, 2.0, 1.0, 0.5, 1.0, 1.0, 2.0]})
    kw = dict(time="time", event="event")
    for tfx in (True, False):
        fit = riskset.kaplan_meier(d, timefix=tfx, **kw)
        assert fit.reverse().table.height == (5 if tfx else 6)
        got = riskset.median_followup(d, timefix=tfx, **kw)
        assert got.equals(followup_summary(fit.reverse()))
        # the robust (weighted) path refits the flipped rows: their times are merged first
        rob = riskset.median_followup(d, weights="w", robust=True, timefix=tfx, **kw)
        t = d["time"].to_numpy()
        flipped = d.with_columns(time=pl.Series(tf.fix_times(t)[0] if tfx else t), event=1 - pl.col("event"))
        rev = riskset.kaplan_meier(flipped, weights="w", robust=True, timefix=False, **kw)
        assert rob["median_followup"].equals(rev.summary["median"])
        rd = riskset.rmst_diff(d, group="g", tau=4.5, timefix=tfx, **kw)
        per = riskset.kaplan_meier(d, by="g", timefix=tfx, **kw).rmst(4.5)["rmst"]
        assert rd.difference == per[1] - per[0]


# ---------------------------------------------------------------------------------------------
# The rule itself against a literal transcription of R's aeqSurv
# ---------------------------------------------------------------------------------------------
def _r_rule(time, entry=None, tol=tf.TOL):
    """R's aeqSurv, line by line: sort(unique(all times)), diff, tied, cuts, findInterval."""
    allv = np.concatenate([time] if entry is None else [entry, time])
    y = np.array(sorted(set(allv.tolist())))
    if y.size < 2:
        return time, entry
    dy = np.diff(y)
    mean = math.fsum(abs(v) for v in y) / y.size
    tied = (dy <= tol) | (dy / mean <= tol)
    if not tied.any():
        return time, entry
    cuts = y[np.concatenate([[True], ~tied])]

    def find(x):
        return np.array([cuts[max(k for k in range(cuts.size) if cuts[k] <= v)] for v in x])

    return find(time), None if entry is None else find(entry)


base = st.integers(min_value=0, max_value=40)
jitter = st.sampled_from([0.0, 1e-15, 2e-13, -3e-14, 1e-9, 5e-8, 1e-3])


@st.composite
def near_tied(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    scale = draw(st.sampled_from([0.1, 1.0, 1 / 30.4375, 365.25, 1e-7]))
    vals = [abs(draw(base) * scale * (1 + draw(jitter)) + draw(jitter)) for _ in range(n)]
    return np.asarray(vals, dtype=np.float64)


@settings(max_examples=150, deadline=None)
@given(near_tied())
def test_fix_times_equals_r_rule(t):
    got, _, n = tf.fix_times(t)
    exp, _ = _r_rule(t)
    np.testing.assert_array_equal(got, exp)
    assert n == np.unique(t[exp != t]).size
    # the sorted path and the event-table path decide the same
    s = np.sort(t)
    got_s, _, _ = tf.fix_times(s)
    np.testing.assert_array_equal(got_s, _r_rule(s)[0])
    cuts = tf.cuts_of(t)
    # per-group distinct times, checked by merging the segments
    half = t.size // 2
    segs = [np.unique(t[:half]), np.unique(t[half:])]
    offs = np.array([0, segs[0].size, segs[0].size + segs[1].size])
    moves = tf.table_moves(np.concatenate(segs), offs)
    assert (moves is None) == (cuts is None)
    if cuts is not None:
        src, dst = moves
        np.testing.assert_array_equal(src, np.unique(t[exp != t]))
        np.testing.assert_array_equal(tf.remap(t, src, dst), exp)


@settings(max_examples=60, deadline=None)
@given(near_tied(), st.data())
def test_fix_times_with_entry_equals_r_rule(t, data):
    t = t + 1.0
    gap = np.asarray(data.draw(st.lists(st.sampled_from([0.5, 1.0, 0.1 * 3, 0.3]), min_size=t.size,
                                        max_size=t.size)))
    e = np.maximum(t - gap, 0.0)
    exp_t, exp_e = _r_rule(t, e)
    if np.any(exp_e >= exp_t):
        return  # an emptied interval: the error is tested separately
    got_t, got_e, _ = tf.fix_times(t, e)
    np.testing.assert_array_equal(got_t, exp_t)
    np.testing.assert_array_equal(got_e, exp_e)


def test_integer_and_exactly_tied_times_are_never_changed():
    t = np.array([3.0, 1.0, 2.0, 2.0, 1e6, 0.0])
    got, _, n = tf.fix_times(t)
    assert got is t and n == 0
    # relative tolerance: 1e9 and 1e9 + 1 differ by 1e-9 relative to a mean near 1e9
    big = np.array([1e9, 1e9 + 1.0, 5e8])
    assert tf.fix_times(big)[2] == 1


def test_chained_run_maps_to_its_smallest_value():
    # each step is within the tolerance of the previous one, the run spans more than it
    t = np.array([1.0 + k * 1e-8 for k in range(5)] + [2.0])
    got, _, _ = tf.fix_times(t)
    assert got.tolist() == [1.0] * 5 + [2.0]


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(near_tied(), st.randoms(use_true_random=False))
def test_permutation_invariance(t, rnd):
    ev = np.array([(i * 7) % 3 != 0 for i in range(t.size)], dtype=np.int8)
    g = np.array([i % 2 for i in range(t.size)])
    d = pl.DataFrame({"time": t, "event": ev, "g": g})
    perm = list(range(t.size))
    rnd.shuffle(perm)
    a = riskset.kaplan_meier(d, time="time", event="event", by="g").table
    b = riskset.kaplan_meier(d[perm], time="time", event="event", by="g").table
    assert_close(b["survival"], a["survival"].to_numpy(), "survival")
    np.testing.assert_array_equal(a["time"].to_numpy(), b["time"].to_numpy())


@settings(max_examples=60, deadline=None)
@given(near_tied(), st.sampled_from([1, 2, 3, 5]), st.booleans(), st.randoms(use_true_random=False))
def test_km_table_path_equals_fixing_the_rows(t, n_groups, weighted, rnd):
    """Kaplan–Meier checks the rule on its sorted event table (and moves and collapses the
    table's rows); that equals merging the rows' times first and fitting without the rule."""
    n = t.size
    ev = np.array([rnd.random() < 0.6 for _ in range(n)], dtype=np.int8)
    g = np.array([rnd.randrange(n_groups) for _ in range(n)])
    w = np.array([rnd.choice([0.5, 1.0, 2.25]) for _ in range(n)])
    d = pl.DataFrame({"time": t, "event": ev, "g": g, "w": w})
    fixed = d.with_columns(time=pl.Series(tf.fix_times(t)[0]))
    kw = dict(time="time", event="event", by="g", weights="w" if weighted else None)
    a = riskset.kaplan_meier(d, **kw).table
    b = riskset.kaplan_meier(fixed, timefix=False, **kw).table
    np.testing.assert_array_equal(a["g"].to_numpy(), b["g"].to_numpy())
    np.testing.assert_array_equal(a["time"].to_numpy(), b["time"].to_numpy())
    for col in ("n_risk", "n_event", "n_censor", "survival", "std_err", "cumhaz"):
        assert_close(a[col], b[col].to_numpy(), col, rtol=REORDER_RTOL)
    if n_groups > 1 and np.unique(g).size > 1:  # the log-rank test merges on its cells' table too
        strata = d.with_columns(s=pl.Series(np.arange(n) % 2))
        fixed_s = fixed.with_columns(s=pl.Series(np.arange(n) % 2))
        for data, ref, extra in ((d, fixed, {}), (strata, fixed_s, {"strata": "s"})):
            la = riskset.logrank(data, time="time", event="event", group="g", **extra)
            lb = riskset.logrank(ref, time="time", event="event", group="g", timefix=False, **extra)
            assert_close(la.observed, lb.observed, "observed", rtol=REORDER_RTOL)
            assert_close(la.variance_matrix.ravel(), lb.variance_matrix.ravel(), "variance",
                         rtol=REORDER_RTOL, atol=1e-12)
    if weighted:  # the robust variance reads the rows: they are remapped too
        ra = riskset.kaplan_meier(d, robust=True, **kw).table
        rb = riskset.kaplan_meier(fixed, robust=True, timefix=False, **kw).table
        assert_close(ra["std_err"], rb["std_err"].to_numpy(), "robust std_err", rtol=REORDER_RTOL)


def test_remap_crowded_and_spread_moves():
    rng = np.random.default_rng(0)
    src = np.concatenate([np.linspace(0, 1e-3, 3000), [1e6]])
    dst = src - 1
    x = np.concatenate([src, rng.uniform(0, 1e-3, 2000), [1e6 + 1, 5.0]])
    out = tf.remap(x, src, dst)
    np.testing.assert_array_equal(out[:src.size], dst)
    np.testing.assert_array_equal(out[src.size:], x[src.size:])
    spread = np.sort(rng.uniform(0, 100, 500))
    y = np.concatenate([spread, rng.uniform(0, 100, 1000)])
    np.testing.assert_array_equal(tf.remap(y, spread, spread - 7)[:500], spread - 7)


def test_no_op_without_near_ties_bit_for_bit(gbsg):
    d = gbsg.with_columns(years=pl.col("rfstime") / 365.25)  # fractional, no near ties
    assert tf.cuts_of(d["years"].to_numpy()) is None
    for time in ("rfstime", "years"):
        kw = dict(time=time, event="status")
        a = riskset.kaplan_meier(d, by="hormon", **kw).table
        b = riskset.kaplan_meier(d, by="hormon", timefix=False, **kw).table
        assert a.equals(b)
        la = riskset.logrank(d, group="grade", **kw)
        lb = riskset.logrank(d, group="grade", timefix=False, **kw)
        assert la.statistic == lb.statistic
        ca = riskset.cox(d, covariates=["age", "hormon"], **kw)
        cb = riskset.cox(d, covariates=["age", "hormon"], timefix=False, **kw)
        np.testing.assert_array_equal(ca.coef, cb.coef)
        np.testing.assert_array_equal(ca.se, cb.se)
        ga = riskset.logrank_table(d, factors=["grade", "meno"], by="hormon", **kw)
        gb = riskset.logrank_table(d, factors=["grade", "meno"], by="hormon", timefix=False, **kw)
        assert ga.equals(gb)


# ---------------------------------------------------------------------------------------------
# Other paths: logrank variants, grid, bootstrap, study runner, CLI
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def synthetic() -> pl.DataFrame:
    return read_data("timefix_synthetic.csv")


def test_logrank_variants_merge(synthetic):
    kw = dict(time="time", event="event", group="group")
    fx = load_fixture("timefix", "synthetic")["survdiff"]
    lv = {"group": sorted(synthetic["group"].unique().to_list())}  # text levels: order declared
    tr_on = riskset.logrank_trend(synthetic, levels=lv, **kw)
    tr_off = riskset.logrank_trend(synthetic, timefix=False, levels=lv, **kw)
    assert tr_on.statistic != tr_off.statistic
    assert tr_on.statistic == riskset.logrank(synthetic, levels=lv, **kw).trend().statistic
    # pairwise: each pair is R's survdiff on that pair's rows (merged within the pair)
    pw = riskset.logrank_pairwise(synthetic, adjust=None, **kw)
    for row in pw.iter_rows(named=True):
        sub = synthetic.filter(pl.col("group").is_in([row["group1"], row["group2"]]))
        assert row["statistic"] == riskset.logrank(sub, **kw).statistic
    assert riskset.logrank(synthetic, **kw).statistic == pytest.approx(r_array(fx["timefix"]["chisq"])[0],
                                                                      rel=1e-10)


def test_logrank_table_merges_within_each_by_level(synthetic):
    d = synthetic.with_columns(half=(pl.col("x") > 0).cast(pl.Int8), f=pl.col("group"))
    kw = dict(time="time", event="event")
    grid = riskset.logrank_table(d, factors=["f"], by="half", **kw)
    grid_off = riskset.logrank_table(d, factors=["f"], by="half", timefix=False, **kw)
    for row, off in zip(grid.iter_rows(named=True), grid_off.iter_rows(named=True), strict=True):
        sub = d.filter(pl.col("half") == row["half"])
        assert row["statistic"] == pytest.approx(riskset.logrank(sub, group="f", **kw).statistic, rel=1e-12)
        assert off["statistic"] == pytest.approx(
            riskset.logrank(sub, group="f", timefix=False, **kw).statistic, rel=1e-12)
    assert not grid["statistic"].equals(grid_off["statistic"])
    one = riskset.logrank_table(d, factors=["f"], **kw)
    assert one["statistic"][0] == pytest.approx(riskset.logrank(d, group="f", **kw).statistic, rel=1e-12)


@pytest.mark.filterwarnings("ignore:n_resamples=")
def test_bootstrap_sees_merged_times(synthetic):
    kw = dict(time="time", event="event", n_resamples=20, seed=1)
    on = riskset.bootstrap(synthetic, statistic=lambda f: float(f["time"].n_unique()), **kw)
    off = riskset.bootstrap(synthetic, statistic=lambda f: float(f["time"].n_unique()), timefix=False, **kw)
    fx = load_fixture("timefix", "synthetic")
    assert on.table["estimate"][0] == fx["n_times_fixed"]
    assert off.table["estimate"][0] == fx["n_times_raw"]
    med = riskset.bootstrap(synthetic, statistic="survival", at=2.0, group="group", **kw)
    fit = riskset.kaplan_meier(synthetic, time="time", event="event", by="group")
    assert med.table["estimate"].to_list() == pytest.approx(fit.at([2.0])["survival"].to_list(), rel=1e-12)
    lr = riskset.bootstrap(synthetic, statistic="logrank", group="group", **kw)
    assert lr.table["estimate"][0] == pytest.approx(
        riskset.logrank(synthetic, time="time", event="event", group="group").statistic, rel=1e-10)
    cx = riskset.bootstrap(synthetic, statistic="cox_coef", covariates=["x"], **kw)
    assert cx.table["estimate"][0] == pytest.approx(
        riskset.cox(synthetic, time="time", event="event", covariates="x").coef[0], rel=1e-9)


def test_study_runner_sees_merged_times(tmp_path):
    from riskset.study.run import run_study
    from riskset.study.spec import load_spec
    from tests.test_study import small_spec

    g = riskset.datasets.load("gbsg")
    # days that are tied exactly become near-tied months: rfstime * (1 + tiny), per row
    wobble = np.array([1.0, 1.0 + 2e-15, 1.0 - 3e-15])[np.arange(g.height) % 3]
    g = g.with_columns(rfstime=pl.col("rfstime").cast(pl.Float64) * pl.Series(wobble))
    res = run_study(load_spec(small_spec(tmp_path, data=g)))
    d = pl.read_csv(tmp_path / "d.csv").with_columns(months=pl.col("rfstime") / 30.4375)
    lr_on = riskset.logrank(d, time="months", event="status", group="grade")
    lr_off = riskset.logrank(d, time="months", event="status", group="grade", timefix=False)
    assert lr_on.p_value != lr_off.p_value  # the data do exercise the rule
    grid = res.values["logrank"].filter(pl.col("cohort") == "Overall").row(0, named=True)
    assert grid["p_value"] == pytest.approx(lr_on.p_value, rel=1e-12)
    tam = d.filter(pl.col("hormon") == 1)
    fit = riskset.kaplan_meier(tam, time="months", event="status")
    km = res.values["km_RFS"].filter((pl.col("cohort") == "tam") & (pl.col("subgroup") == "All")).row(0, named=True)
    assert km["surv_12"] == fit.at([12])["survival"][0]


def test_cli_timefix_flags(tmp_path):
    p = tmp_path / "d.csv"
    read_data("timefix_tiedtime.csv").write_csv(p)
    run = CliRunner()

    def rows(*extra):
        out = run.invoke(main, ["km", str(p), "--time", "time", "--event", "event", "--format", "csv",
                                "--table", "curve", "--no-followup", *extra], catch_exceptions=False)
        assert out.exit_code == 0, out.output
        return pl.read_csv(out.output.encode()).height

    assert rows() == rows("--timefix") == 2
    assert rows("--no-timefix") == 3
    for cmd, extra in (("logrank", ["--group", "group"]), ("cox", ["--covariates", "x"]),
                       ("logrank-table", ["--factor", "group"]),
                       ("bootstrap", ["--statistic", "median", "--resamples", "5", "--seed", "1"])):
        base = [cmd, str(p), "--time", "time", "--event", "event", "--format", "json", *extra]
        a = run.invoke(main, base, catch_exceptions=False)
        b = run.invoke(main, [*base, "--no-timefix"], catch_exceptions=False)
        assert a.exit_code == 0 and b.exit_code == 0, (a.output, b.output)
        if cmd != "bootstrap":  # the median of these five rows is 2 either way
            assert a.output != b.output, cmd
