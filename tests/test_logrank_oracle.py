"""Log-rank variants against a slow, obvious oracle, and properties.

R's ``survdiff`` has no case weights, delayed entry, ``gamma`` or Gehan/Tarone–Ware weights,
so these are **validated against the oracle below, not against R** (R agreement of the
unweighted, right-censored ``rho`` in {0, 1} tests is in test_logrank_reference.py). The
oracle loops over strata and distinct event times and finds risk sets with boolean masks::

    n_g(t) = sum w [entry < t <= time, group == g],   d_g(t) = sum w [time == t, event, g]
    W(t)   = S(t-)^rho (1 - S(t-))^gamma | n(t) | sqrt(n(t))   (S: pooled KM of the stratum)
    O_g = sum W d_g,  E_g = sum W d n_g / n,
    V_gh = sum W^2 d (n - d) / (n - 1) (n_g / n) (delta_gh - n_h / n)   (0 if n <= 1 or n == d)
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import riskset
import riskset._logrank as rl
from riskset.errors import ColumnError, OptionError, RisksetError, RisksetWarning
from tests.conftest import assert_close
from tests.tolerances import CLOSED_RTOL, REORDER_RTOL


# --------------------------------------------------------------------------------------------
# oracle
# --------------------------------------------------------------------------------------------
def oracle(df: pl.DataFrame, *, group, strata=None, entry=None, weights=None, mode="fh",
           rho=0.0, gamma=0.0):
    time = df["time"].to_numpy().astype(float)
    event = df["event"].to_numpy().astype(float)
    g_vals = df[group].to_numpy()
    levels = sorted(set(g_vals.tolist()))
    G = len(levels)
    w = df[weights].to_numpy().astype(float) if weights else np.ones(df.height)
    ent = df[entry].to_numpy().astype(float) if entry else np.full(df.height, -np.inf)
    s_vals = df[strata].to_numpy() if strata else np.zeros(df.height)
    obs = np.zeros(G)
    E = np.zeros(G)
    V = np.zeros((G, G))
    for s in sorted(set(s_vals.tolist())):
        ins = s_vals == s
        km = 1.0
        for t in np.unique(time[ins & (event == 1)]):
            at_risk = ins & (ent < t) & (time >= t)
            died = ins & (time == t) & (event == 1)
            ng = np.array([w[at_risk & (g_vals == lv)].sum() for lv in levels])
            dg = np.array([w[died & (g_vals == lv)].sum() for lv in levels])
            n, d = ng.sum(), dg.sum()
            if d <= 0:
                continue
            if mode == "fh":
                W = km**rho * (1 - km) ** gamma
            elif mode == "n":
                W = n
            else:
                W = math.sqrt(n)
            obs += W * dg
            E += W * d * ng / n
            if n > 1 and n > d:
                p = ng / n
                V += W**2 * d * (n - d) / (n - 1) * (np.diag(p) - np.outer(p, p))
            km *= (n - d) / n
    keep = np.flatnonzero(E > 0)[1:]
    u = (obs - E)[keep]
    chisq = float(u @ np.linalg.solve(V[np.ix_(keep, keep)], u))
    df_ = keep.size
    return obs, E, V, chisq, df_, float(stats.chi2.sf(chisq, df_))


def synth(seed: int, n: int = 240, n_groups: int = 3) -> pl.DataFrame:
    """Heavy ties (integer times 1..12), ~30% censored, delayed entry, int and frac weights."""
    rng = np.random.default_rng(seed)
    grp = rng.integers(0, n_groups, n)
    time = rng.integers(1, 13, n).astype(float) + (grp == 0) * rng.integers(0, 3, n)
    event = (rng.random(n) < 0.7).astype(np.int64)
    entry = np.floor(rng.random(n) * time * 2) / 2  # 0.5 grid, < time
    entry = np.where(rng.random(n) < 0.5, 0.0, np.minimum(entry, time - 0.5))
    return pl.DataFrame(
        {
            "time": time,
            "event": event,
            "grp": np.array(["a", "b", "c", "d"])[grp],
            "stratum": rng.integers(0, 2, n),
            "entry": entry,
            "wint": rng.integers(1, 4, n).astype(float),
            "wfrac": rng.uniform(0.2, 3.0, n),
        }
    )


VARIANTS = [
    ("logrank", {}, dict(mode="fh")),
    ("fh_0_1", dict(weighting="fleming-harrington", rho=0.0, gamma=1.0), dict(mode="fh", gamma=1.0)),
    ("fh_1_1", dict(rho=1.0, gamma=1.0), dict(mode="fh", rho=1.0, gamma=1.0)),
    ("fh_.5_2", dict(rho=0.5, gamma=2.0), dict(mode="fh", rho=0.5, gamma=2.0)),
    ("peto", dict(weighting="peto"), dict(mode="fh", rho=1.0)),
    ("wilcoxon", dict(weighting="wilcoxon"), dict(mode="n")),
    ("tarone-ware", dict(weighting="tarone-ware"), dict(mode="sqrt")),
]
DESIGNS = [
    ("plain", {}),
    ("strata", dict(strata="stratum")),
    ("wint", dict(weights="wint")),
    ("wfrac_strata", dict(weights="wfrac", strata="stratum")),
    ("entry", dict(entry="entry")),
    ("entry_wfrac_strata", dict(entry="entry", weights="wfrac", strata="stratum")),
]


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("design", DESIGNS, ids=[d[0] for d in DESIGNS])
@pytest.mark.parametrize("variant", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_against_oracle(variant, design, seed):
    """obs, E, V, chisq, df, p of every weighting x design (oracle, not R)."""
    _, api_kw, or_kw = variant
    _, dkw = design
    df = synth(seed)
    res = rl.logrank(df, time="time", event="event", group="grp", **api_kw, **dkw)
    obs, E, V, chisq, df_, p = oracle(df, group="grp", **or_kw, **dkw)
    what = f"{variant[0]}/{design[0]}/{seed}"
    assert_close(res.table["observed"], obs, f"{what} obs")
    assert_close(res.table["expected"], E, f"{what} E")
    assert_close(res.variance_matrix.ravel(), V.ravel(), f"{what} V")
    assert_close(res.statistic, chisq, f"{what} chisq")
    assert res.df == df_
    assert_close(res.p_value, p, f"{what} p")


@pytest.mark.parametrize("weighting", ["logrank", "wilcoxon", "tarone-ware"])
@pytest.mark.parametrize("design", DESIGNS, ids=[d[0] for d in DESIGNS])
def test_trend_against_oracle(weighting, design):
    """Trend test (c'(obs-E))^2 / c'Vc against the oracle's obs, E, V (oracle, not R)."""
    _, dkw = design
    df = synth(7, n_groups=4)
    mode = {"logrank": "fh", "wilcoxon": "n", "tarone-ware": "sqrt"}[weighting]
    obs, E, V, *_ = oracle(df, group="grp", mode=mode, **dkw)
    for scores in (None, [0.0, 1.0, 4.0, 9.0], {"a": 2.0, "b": 1.0, "c": 0.5, "d": 0.0}):
        if scores is None:
            c = np.arange(1.0, 5.0)
        elif isinstance(scores, dict):
            c = np.array([scores[k] for k in "abcd"])
        else:
            c = np.asarray(scores)
        u = c @ (obs - E)
        stat = u * u / (c @ V @ c)
        # default scores need a declared order of the text groups (level-order policy)
        lv = {"levels": {"grp": list("abcd")}} if scores is None else {}
        tr = rl.logrank_trend(df, time="time", event="event", group="grp", scores=scores,
                              weighting=weighting, **dkw, **lv)
        assert tr.df == 1
        assert_close(tr.statistic, stat, f"trend {weighting} {scores}")
        assert_close(tr.p_value, stats.chi2.sf(stat, 1), "trend p")
        assert_close(tr.z, u / math.sqrt(c @ V @ c), "trend z")


def test_two_group_trend_equals_logrank():
    """With two groups the trend statistic is the k-sample statistic (identity, not R)."""
    df = synth(3, n_groups=2)
    res = rl.logrank(df, time="time", event="event", group="grp", strata="stratum")
    # text groups: the scores are given (default scores need a declared order)
    assert_close(res.trend(scores=[1, 2]).statistic, res.statistic, "2-group trend")


# --------------------------------------------------------------------------------------------
# pairwise, grid, errors
# --------------------------------------------------------------------------------------------
def test_pairwise_matches_subset_tests():
    """Each pair equals logrank on the subset; p.adjust values (R's p.adjust formulas)."""
    df = synth(11)
    pw = rl.logrank_pairwise(df, time="time", event="event", group="grp", strata="stratum",
                             weighting="tarone-ware", adjust=None)
    assert pw.columns == ["group1", "group2", "statistic", "df", "p_value", "p_adjusted"]
    assert pw.height == 3
    for row in pw.iter_rows(named=True):
        sub = df.filter(pl.col("grp").is_in([row["group1"], row["group2"]]))
        r = rl.logrank(sub, time="time", event="event", group="grp", strata="stratum",
                       weighting="tarone-ware")
        assert_close(row["statistic"], r.statistic, "pair stat")
        assert row["p_adjusted"] == row["p_value"]


def test_p_adjust_matches_r():
    """Values from R: p.adjust(c(0.01, 0.04, 0.03, 0.2), method = "holm" / "BH")."""
    p = np.array([0.01, 0.04, 0.03, 0.2])
    assert_close(rl._p_adjust(p, "holm"), np.array([0.04, 0.09, 0.09, 0.2]), "holm")
    assert_close(rl._p_adjust(p, "bh"), np.array([0.04, 0.05333333333333334, 0.05333333333333334, 0.2]), "BH")
    assert_close(rl._p_adjust(p, "bonferroni"), np.array([0.04, 0.16, 0.12, 0.8]), "bonferroni")


def test_logrank_table_grid_and_one_level_note():
    """Grid rows equal single tests; a one-level factor in a subgroup gets a note."""
    df = synth(5).with_columns(
        pl.when(pl.col("stratum") == 0).then(pl.lit("only")).otherwise(pl.col("grp")).alias("f2")
    )
    tab = riskset.logrank_table(df, time="time", event="event", factors=["grp", "f2"], by="stratum",
                           weighting="wilcoxon")
    assert tab.height == 4
    assert tab.columns[:2] == ["stratum", "factor"]
    r = tab.filter((pl.col("stratum") == 0) & (pl.col("factor") == "f2")).row(0, named=True)
    assert r["statistic"] is None and r["p_value"] is None
    assert r["note"].startswith("not tested: only one level (only=")
    for row in tab.filter(pl.col("note").is_null()).iter_rows(named=True):
        sub = df.filter(pl.col("stratum") == row["stratum"])
        one = rl.logrank(sub, time="time", event="event", group=row["factor"], weighting="wilcoxon")
        assert_close(row["statistic"], one.statistic, "grid stat")
        assert row["df"] == one.df
        counts = "; ".join(f"{k}={v}" for k, v in zip(one.table[row["factor"]], one.table["n"], strict=True))
        assert row["n"] == counts


def test_logrank_table_missing_factor_values_leave_only_that_factor():
    """drop_missing=True (the default): a factor's nulls drop rows from that factor's tests only
    (the study's Table 3 runs all factors in one grid this way), counted in ``n_excluded`` and a
    warning; with drop_missing=False the missing values raise."""
    df = synth(11)
    holes = np.zeros(df.height, dtype=bool)
    holes[::7] = True
    df = df.with_columns(
        pl.when(pl.Series(holes)).then(None).otherwise(pl.col("grp")).alias("f_miss"),
        pl.col("grp").alias("f_full"),
    )
    with pytest.raises(ColumnError, match="'f_miss'"):
        riskset.logrank_table(df, time="time", event="event", factors=["f_miss", "f_full"], by="stratum",
                              drop_missing=False)
    with pytest.warns(RisksetWarning, match=f"excluded {int(holes.sum())} of {df.height} rows .* 'f_miss'"):
        tab = riskset.logrank_table(df, time="time", event="event", factors=["f_miss", "f_full"], by="stratum")
    for row in tab.iter_rows(named=True):  # the holes counted per subgroup, for that factor only
        n_holes = int(holes[(df["stratum"] == row["stratum"]).to_numpy()].sum())
        assert row["n_excluded"] == (n_holes if row["factor"] == "f_miss" else 0)
    assert tab.height == 2 * df["stratum"].n_unique()
    for row in tab.iter_rows(named=True):
        sub = df.filter((pl.col("stratum") == row["stratum"]) & pl.col(row["factor"]).is_not_null())
        one = rl.logrank(sub, time="time", event="event", group=row["factor"])
        assert_close(row["statistic"], one.statistic, f"{row['factor']} stat")
        assert row["df"] == one.df
        assert row["n"] == "; ".join(f"{k}={v}" for k, v in zip(one.table[row["factor"]], one.table["n"],
                                                                strict=True))
    full = tab.filter(pl.col("factor") == "f_full")["n"].to_list()
    miss = tab.filter(pl.col("factor") == "f_miss")["n"].to_list()
    assert full != miss  # the holes really were left out of f_miss only


def test_errors():
    df = synth(1)
    with pytest.raises(ColumnError, match="'grp'"):
        rl.logrank(df.filter(pl.col("grp") == "a"), time="time", event="event", group="grp")
    with pytest.raises(OptionError, match="tarone-ware"):
        rl.logrank(df, time="time", event="event", group="grp", weighting="gehan")
    with pytest.raises(OptionError):
        rl.logrank(df, time="time", event="event", group="grp", weighting="wilcoxon", rho=1)
    with pytest.raises(OptionError):
        rl.logrank_pairwise(df, time="time", event="event", group="grp", adjust="fdr")
    with pytest.raises(RisksetError):
        rl.logrank_trend(df, time="time", event="event", group="grp", scores=[1, 2])


# --------------------------------------------------------------------------------------------
# properties (Hypothesis)
# --------------------------------------------------------------------------------------------
@st.composite
def datasets(draw):
    n = draw(st.integers(8, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    grp = rng.integers(0, 3, n)
    grp[:3] = [0, 1, 2]
    time = rng.integers(1, draw(st.integers(2, 10)), n).astype(float)
    event = (rng.random(n) < 0.6).astype(np.int64)
    event[0] = 1
    return pl.DataFrame(
        {"time": time, "event": event, "grp": grp, "w": rng.uniform(0.5, 2.0, n),
         "entry": np.where(rng.random(n) < 0.3, time - 0.5, 0.0)}
    ), rng.permutation(n)


KWS = st.sampled_from([
    {}, {"weighting": "wilcoxon"}, {"weighting": "tarone-ware"}, {"rho": 1.0, "gamma": 0.5},
])


def _stats(res):
    return np.concatenate([res.table["observed"].to_numpy(), res.table["expected"].to_numpy(),
                           res.variance_matrix.ravel()])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(), KWS, st.booleans(), st.booleans())
def test_row_permutation_invariance(data, kw, use_w, use_entry):
    """Reordering rows changes nothing beyond summation order (property, not R)."""
    df, perm = data
    extra = {"weights": "w" if use_w else None, "entry": "entry" if use_entry else None}
    a = rl.logrank(df, time="time", event="event", group="grp", **kw, **extra)
    b = rl.logrank(df[perm], time="time", event="event", group="grp", **kw, **extra)
    np.testing.assert_allclose(_stats(a), _stats(b), rtol=REORDER_RTOL, atol=1e-12)
    assert a.df == b.df


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(), KWS)
def test_one_stratum_equals_unstratified(data, kw):
    """A constant strata column gives the unstratified test exactly (property, not R)."""
    df, _ = data
    df = df.with_columns(pl.lit("s").alias("one"))
    a = rl.logrank(df, time="time", event="event", group="grp", weights="w", **kw)
    b = rl.logrank(df, time="time", event="event", group="grp", weights="w", strata="one", **kw)
    np.testing.assert_array_equal(_stats(a), _stats(b))
    if a.df > 0 and np.isfinite(a.statistic):
        np.testing.assert_allclose(a.statistic, b.statistic, rtol=CLOSED_RTOL)
