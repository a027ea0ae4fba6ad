"""Kaplan–Meier family options as R ``survfit``: ``stype``, ``ctype``, ``conf_lower`` and
the RMST horizons ``"common"`` / ``"individual"``.

* R fixtures from ``tests/reference/make_km_options.R``: every stype x ctype on lung by sex,
  aml, the tie-heavy ``ties_int`` data (no weights, integer ``wint``, non-integer ``wfrac``
  = robust by default, ``wfrac`` with ``robust=FALSE``, ``robust=TRUE``) and the delayed-entry
  data (with and without weights); every ``conf.lower`` with ``conf.type`` log and log-log.
  Curves, pointwise CIs, cumulative hazard and its se, medians, quantiles, landmarks and
  RMST (``rmean`` common / individual / a number) are compared at ``CLOSED_RTOL``.
* Naive oracles: the Fleming–Harrington hazard and ``exp(-H)`` from the rows directly.
* Property: without tied events ``ctype=2`` equals ``ctype=1``.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskset
from riskset.errors import OptionError
from tests.conftest import assert_close, fixture_names, load_fixture, read_data
from tests.tolerances import CLOSED_ATOL, CLOSED_RTOL

CASES = fixture_names("km_options")


def _rows_for(df: pl.DataFrame, strata: dict) -> pl.DataFrame:
    for col, val in strata.items():
        df = df.filter(pl.col(col).cast(pl.String) == str(val))
    return df


def _fit(fx: dict) -> riskset.KaplanMeierResult:
    roles = fx["roles"]
    return riskset.kaplan_meier(
        read_data(fx["data"]), time=roles["time"], event=roles["event"], by=roles["by"],
        entry=roles["entry"], weights=roles["weights"], robust=fx["robust"],
        stype=fx["stype"], ctype=fx["ctype"], conf_type=fx["conf_type"], conf_lower=fx["conf_lower"],
    )


def test_fixture_set_is_complete():
    assert len(CASES) == 74
    combos = {(load_fixture("km_options", c)["stype"], load_fixture("km_options", c)["ctype"]) for c in CASES}
    assert combos == {(1, 1), (1, 2), (2, 1), (2, 2)}


def test_fixtures_match_their_manifest():
    import hashlib
    import json

    from tests.conftest import REFERENCE

    manifest = json.loads((REFERENCE / "fixtures" / "manifest_km_options.json").read_text())
    assert manifest["survival_version"] == "3.5.3"
    assert len([f for f in manifest["files"] if f.startswith("fixtures/km_options/")]) == len(CASES)
    for rel, md5 in {**manifest["inputs"], **manifest["files"]}.items():
        assert hashlib.md5((REFERENCE / rel).read_bytes()).hexdigest() == md5, rel


@pytest.mark.parametrize("name", CASES)
def test_curves_match_r(name):
    fx = load_fixture("km_options", name)
    fit = _fit(fx)
    assert fit.table.height == sum(len(c["time"]) for c in fx["curves"])
    for curve in fx["curves"]:
        got = _rows_for(fit.table, curve["strata"])
        where = f"{name} {curve['strata']}"
        for ours, theirs in [("time", "time"), ("n_risk", "n_risk"), ("n_event", "n_event"),
                             ("survival", "surv"), ("std_err", "std_err_surv"), ("lower", "lower"),
                             ("upper", "upper"), ("cumhaz", "cumhaz"), ("cumhaz_std_err", "std_chaz")]:
            assert_close(got[ours], curve[theirs], f"{where} {ours}")


@pytest.mark.parametrize("name", CASES)
def test_summaries_match_r(name):
    fx = load_fixture("km_options", name)
    fit = _fit(fx)
    summ = fit.summary
    rm = {"common": fit.rmst("common"), "individual": fit.rmst("individual")}
    if fx["rmean_num"] is not None:
        rm["num"] = fit.rmst(fx["rmean_num"])
    qs = fit.quantile([0.25, 0.5, 0.75])
    lms = fit.at(fx["landmark_times"]) if fx["landmark_times"] is not None else None
    for curve in fx["curves"]:
        where = f"{name} {curve['strata']}"
        s = _rows_for(summ, curve["strata"])
        for col in ("median", "median_lower", "median_upper"):
            assert_close(s[col], curve[col], f"{where} {col}")
        for key, r in rm.items():
            got = _rows_for(r, curve["strata"])
            assert_close(got["rmst"], curve["rmean"][key]["rmean"], f"{where} rmean {key}")
            assert_close(got["std_err"], curve["rmean"][key]["se"], f"{where} se(rmean) {key}")
        q = _rows_for(qs, curve["strata"])
        for col in ("time", "lower", "upper"):
            assert_close(q[col], curve["quantile"][col], f"{where} quantile {col}")
        if lms is not None:
            lm = _rows_for(lms, curve["strata"])
            for ours, theirs in [("time", "time"), ("n_risk", "n_risk"), ("n_event", "n_event"),
                                 ("survival", "surv"), ("std_err", "std_err"), ("lower", "lower"),
                                 ("upper", "upper")]:
                assert_close(lm[ours], curve["landmarks"][theirs], f"{where} landmark {ours}")


@pytest.mark.parametrize("name", [c for c in CASES if load_fixture("km_options", c)["stype"] == 1])
def test_nelson_aalen_ctype_matches_r(name):
    fx = load_fixture("km_options", name)
    roles = fx["roles"]
    na = riskset.nelson_aalen(read_data(fx["data"]), time=roles["time"], event=roles["event"], by=roles["by"],
                              entry=roles["entry"], weights=roles["weights"], robust=fx["robust"],
                              ctype=fx["ctype"])
    for curve in fx["curves"]:
        got = _rows_for(na, curve["strata"])
        assert_close(got["cumhaz"], curve["cumhaz"], f"{name} cumhaz")
        assert_close(got["std_err"], curve["std_chaz"], f"{name} std_chaz")


def test_rmst_common_and_individual_horizons():
    """R: 'common' = the largest time over all curves, 'individual' = each curve's own."""
    fx = load_fixture("km_options", "aml_x_s1c1")
    fit = _fit(fx)
    last = [max(c["time"]) for c in fx["curves"]]
    ind = fit.rmst("individual").get_column("tau").to_list()
    com = fit.rmst("common").get_column("tau").to_list()
    assert ind == last and com == [max(last)] * 2
    assert ind[0] != ind[1]


# ---------------------------------------------------------------------------------------
# naive oracles

def _naive_fh(time, event, weights, entry=None):
    """Fleming–Harrington hazard, its variance, and exp(-H) straight from the rows."""
    out = []
    h = v = 0.0
    for t in np.unique(time):
        at_risk = (time >= t) & ((entry < t) if entry is not None else True)
        n = float(weights[at_risk].sum())
        dead = (time == t) & (event == 1)
        d0 = int(dead.sum())
        d = float(weights[dead].sum())
        for j in range(d0):
            den = n - j * d / d0
            h += (d / d0) / den
            v += (d / d0) / den**2
        out.append((t, h, v, math.exp(-h)))
    return np.array(out)


def test_fh_naive_oracle_with_ties_and_weights():
    df = read_data("ties_int.csv")
    for weights in (None, "wint", "wfrac"):
        fit = riskset.kaplan_meier(df, time="time", event="event", by="grp", weights=weights, robust=False,
                                   stype=2, ctype=2)
        for g in ("a", "b", "c"):
            sub = df.filter(pl.col("grp") == g)
            w = sub.get_column(weights).to_numpy().astype(float) if weights else np.ones(sub.height)
            ref = _naive_fh(sub.get_column("time").to_numpy().astype(float), sub.get_column("event").to_numpy(), w)
            got = fit.table.filter(pl.col("grp") == g)
            assert_close(got["time"], ref[:, 0], f"{weights} {g} time")
            assert_close(got["cumhaz"], ref[:, 1], f"{weights} {g} FH cumhaz")
            assert_close(got["cumhaz_std_err"], np.sqrt(ref[:, 2]), f"{weights} {g} FH se")
            assert_close(got["survival"], ref[:, 3], f"{weights} {g} exp(-H)")
            # stype=2: se of log S is the se of H, so std_err(S) = S se(H)
            assert_close(got["std_err"], ref[:, 3] * np.sqrt(ref[:, 2]), f"{weights} {g} std_err")


def test_stype2_with_entry_naive():
    df = read_data("entry.csv")
    fit = riskset.kaplan_meier(df, time="time", event="event", entry="entry", stype=2, ctype=2)
    ref = _naive_fh(df.get_column("time").to_numpy().astype(float), df.get_column("event").to_numpy(),
                    np.ones(df.height), df.get_column("entry").to_numpy().astype(float))
    keep = np.isin(ref[:, 0], fit.table.get_column("time").to_numpy())
    assert_close(fit.table["cumhaz"], ref[keep, 1], "entry FH cumhaz")
    assert_close(fit.table["survival"], ref[keep, 3], "entry exp(-H)")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 1), st.floats(0.1, 3.0)), min_size=1, max_size=30),
       st.booleans())
def test_no_ties_ctype2_equals_ctype1(rows, weighted):
    """Distinct event times: the Fleming–Harrington hazard is the Nelson–Aalen one. With the
    robust (IJ) variance the curves and the hazard's se agree too, but not ``std_err``: R
    (survival 3.5-3, ``logse``) reads the IJ se as se(log S) for ctype 2 and as se(S) for
    ctype 1, and riskset follows it (the fixtures ``ties_grp_robust_*`` pin that)."""
    n = len(rows)
    df = pl.DataFrame({"time": np.arange(1.0, n + 1.0), "event": [r[0] for r in rows],
                       "w": [r[1] if weighted else 1.0 for r in rows]})
    for stype in (1, 2):
        for robust in (False, True):
            kw = {"time": "time", "event": "event", "weights": "w", "stype": stype, "robust": robust}
            a = riskset.kaplan_meier(df, ctype=1, **kw).table
            b = riskset.kaplan_meier(df, ctype=2, **kw).table
            cols = ["survival", "cumhaz", "cumhaz_std_err"]
            if not robust:
                cols += ["std_err", "lower", "upper"]
            for col in cols:
                assert_close(b[col], a[col].to_numpy(), f"{col} stype={stype} robust={robust}",
                             rtol=CLOSED_RTOL, atol=CLOSED_ATOL)


def test_bad_options_raise():
    df = read_data("aml.csv")
    for kw in ({"stype": 3}, {"ctype": 0}, {"stype": True}, {"conf_lower": "wide"}):
        with pytest.raises(OptionError):
            riskset.kaplan_meier(df, time="time", event="event", **kw)
    fit = riskset.kaplan_meier(df, time="time", event="event")
    for tau in ("max", -1.0, float("nan")):
        with pytest.raises(OptionError):
            fit.rmst(tau)


# ---------------------------------------------------------------------------------------
# command line

def test_cli_options_match_r():
    """``riskset km --stype --ctype --conf-lower --rmst common`` gives R's numbers."""
    import json

    from click.testing import CliRunner

    from riskset.cli.main import main
    from tests.conftest import DATA

    fx = load_fixture("km_options", "lung_sex_s2c2_lower_peto_loglog")
    res = CliRunner().invoke(main, ["km", str(DATA / "lung.csv"), "--time", "time", "--event", "event",
                                    "--by", "sex", "--stype", "2", "--ctype", "2", "--conf-lower", "peto",
                                    "--conf-type", "log-log", "--rmst", "common", "--no-followup",
                                    "--format", "json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert (out["stype"], out["ctype"], out["conf_lower"]) == (2, 2, "peto")
    for g, curve in enumerate(fx["curves"]):
        rows = [r for r in out["table"] if str(r["sex"]) == curve["strata"]["sex"]]
        assert_close(np.array([r["survival"] for r in rows], dtype=float), curve["surv"], "cli surv")
        assert_close(np.array([np.nan if r["lower"] is None else r["lower"] for r in rows], dtype=float),
                     curve["lower"], "cli lower")
        assert_close(np.array([out["rmst"][g]["rmst"]]), curve["rmean"]["common"]["rmean"], "cli rmean")
    bad = CliRunner().invoke(main, ["km", str(DATA / "aml.csv"), "--time", "time", "--event", "event",
                                    "--rmst", "longest"])
    assert bad.exit_code != 0 and "--rmst" in bad.output


# ---------------------------------------------------------------------------------------
# infinitesimal jackknife by exact (complex-step) derivatives

def _ij_by_derivatives(time, event, w, entry=None, ctype=2):
    """IJ variances as their definition, ``Var = sum_c (w_c dX(t)/dw_c)^2`` for X = H (the
    ctype hazard, written out from the rows) and X = the KM curve, the derivative in each
    row's weight taken exactly by the complex step ``Im X(w + i h e_c) / h``. The tied-event
    count ``e`` is structural (zero-weight events count), so X is analytic in the weights."""
    n_rows = time.size
    step = 1e-30
    W = np.tile(w.astype(complex), (n_rows, 1)) + 1j * step * np.eye(n_rows)  # one row per perturbation
    ent = np.full(n_rows, -np.inf) if entry is None else entry
    h = np.zeros(n_rows, dtype=complex)
    s = np.ones(n_rows, dtype=complex)
    out = []
    for t in np.unique(time):
        risk = (ent < t) & (time >= t)
        dies = (time == t) & (event == 1)
        n = W[:, risk].sum(axis=1)
        d = W[:, dies].sum(axis=1)
        e = int(dies.sum())
        if e > 0 and w[dies].sum() > 0:
            if ctype == 1:
                h = h + d / n
            else:
                for j in range(e):
                    h = h + (d / e) / (n - j * d / e)
            s = s * (1 - d / n)
        out.append((t, np.sum((w * h.imag / step) ** 2), np.sum((w * s.imag / step) ** 2), h[0].real, s[0].real))
    return np.array(out)


@pytest.mark.parametrize("data,weights,entry", [("ties_int.csv", "wfrac", None), ("ties_int.csv", None, None),
                                                 ("entry.csv", "w", "entry")])
@pytest.mark.parametrize("stype", [1, 2])
@pytest.mark.parametrize("ctype", [1, 2])
def test_robust_variances_are_the_weight_derivatives(data, weights, entry, stype, ctype):
    df = read_data(data)
    df = df.filter(pl.col("grp") == df.get_column("grp")[0])
    time = df.get_column("time").to_numpy().astype(float)
    event = df.get_column("event").to_numpy().astype(int)
    w = df.get_column(weights).to_numpy().astype(float) if weights else np.ones(df.height)
    ent = df.get_column(entry).to_numpy().astype(float) if entry else None
    ref = _ij_by_derivatives(time, event, w, ent, ctype)
    fit = riskset.kaplan_meier(df, time="time", event="event", weights=weights, entry=entry, robust=True,
                               stype=stype, ctype=ctype)
    tab = fit.table
    keep = np.isin(ref[:, 0], tab.get_column("time").to_numpy())
    ref = ref[keep]
    assert_close(tab["cumhaz"], ref[:, 3], "H")
    assert_close(tab["cumhaz_std_err"], np.sqrt(ref[:, 1]), "IJ se of H")
    surv = ref[:, 4] if stype == 1 else np.exp(-ref[:, 3])
    assert_close(tab["survival"], surv, "S")
    # R's std.err: IJ se of the KM curve (stype 1) or of H (stype 2), read as se(log S)
    # for ctype 2 and as se(S) for ctype 1 (survival 3.5-3 logse)
    se_r = np.sqrt(ref[:, 2] if stype == 1 else ref[:, 1])
    assert_close(tab["std_err"], surv * se_r if ctype == 2 else se_r, "std_err")
