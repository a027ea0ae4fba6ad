"""Rows given already in time order skip the kernels' sorts and give the same results.

The study runner orders each endpoint once and hands every analysis rows in that order;
the Kaplan–Meier, log-rank (single and batch grid) and Cox entry points detect the order
(``engine.checks.is_sorted``) and skip their sorts. These properties check that sorted and
shuffled inputs agree, and pin the detector and the few-level string encoding.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskset
from riskset.engine.checks import is_sorted
from riskset.io.validate import encode_groups
from tests.tolerances import ITERATIVE_RTOL, REORDER_RTOL

# the data have integer times from 0 on purpose (kept, as R keeps them); the warning that
# counts them is tested in tests/test_missing.py
pytestmark = pytest.mark.filterwarnings("ignore:column .* is 0 in .* kept, as R keeps them:UserWarning")


def _data(seed: int, n: int = 400) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({
        "t": np.round(rng.exponential(5.0, n), 0),  # heavy ties
        "e": (rng.random(n) < 0.6).astype(np.int8),
        "g": rng.choice(["a", "b", "c"], n),
        "h": rng.integers(0, 2, n),
        "s": rng.integers(0, 3, n),
        "x": rng.normal(size=n),
        "w": rng.integers(1, 4, n).astype(np.float64),
    })


def _time_sorted(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(["t", "e"])  # the order the runner produces: time, censorings first


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_km_sorted_equals_shuffled(seed):
    df = _data(seed)
    a = riskset.kaplan_meier(df, time="t", event="e", by="g")
    b = riskset.kaplan_meier(_time_sorted(df), time="t", event="e", by="g")
    assert a.table.columns == b.table.columns
    for col in ("time", "n_risk", "n_event", "survival", "std_err", "lower", "upper"):
        np.testing.assert_allclose(a.table[col].to_numpy(), b.table[col].to_numpy(), rtol=REORDER_RTOL)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_logrank_and_grid_sorted_equal_shuffled(seed):
    df = _data(seed)
    srt = _time_sorted(df)
    for kw in ({"group": "g"}, {"group": "h", "strata": "s"}):
        a = riskset.logrank(df, time="t", event="e", **kw)
        b = riskset.logrank(srt, time="t", event="e", **kw)
        assert b.statistic == pytest.approx(a.statistic, rel=REORDER_RTOL)
    for kw in ({"by": "s"}, {}, {"weights": "w"}):  # one cell: sorted rows take the identity order
        ga = riskset.logrank_table(df, time="t", event="e", factors=["g", "h"], **kw)
        gb = riskset.logrank_table(srt, time="t", event="e", factors=["g", "h"], **kw)
        np.testing.assert_allclose(gb["statistic"].to_numpy(), ga["statistic"].to_numpy(), rtol=REORDER_RTOL)
        assert gb["n"].to_list() == ga["n"].to_list()


@pytest.mark.parametrize("strata", [None, "s"])
def test_cox_sorted_equals_shuffled(strata):
    df = _data(7, 600)
    a = riskset.cox(df, time="t", event="e", covariates=["x", "g"], strata=strata)
    b = riskset.cox(_time_sorted(df), time="t", event="e", covariates=["x", "g"], strata=strata)
    for col in ("coef", "se"):
        np.testing.assert_allclose(b.coefficients[col].to_numpy(), a.coefficients[col].to_numpy(),
                                   rtol=ITERATIVE_RTOL)


def test_is_sorted():
    assert is_sorted(np.array([], dtype=np.float64))
    assert is_sorted(np.array([1.0, 1.0, 2.0]))
    assert not is_sorted(np.array([1.0, 3.0, 2.0]))
    assert is_sorted(np.array([1, 2, 2, 9], dtype=np.uint64))
    assert not is_sorted(np.array([2, 1], dtype=np.uint64))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.sampled_from([f"L{i:02d}" for i in range(40)])), min_size=1,
                max_size=80))
def test_few_level_string_codes_match_sorted_search(values):
    """Codes number the sorted distinct values (nulls first), however they are computed."""
    s = pl.Series("f", values, dtype=pl.String)
    if s.null_count() == s.len():
        return
    codes, keys = encode_groups(s.to_frame(), ["f"])
    uniq = s.unique().sort()
    assert keys.get_column("f").to_list() == uniq.to_list()
    np.testing.assert_array_equal(codes, uniq.search_sorted(s, side="left").to_numpy())


@pytest.mark.parametrize(("dtype", "values"), [
    (pl.Int8, [-128, 127, 0, 5, 127, -128]), (pl.Int16, [-30000, 30000, 7, 7]),
    (pl.Int32, [5, -5, 5, 2**31 - 1]), (pl.UInt8, [0, 255, 3, 3]), (pl.Boolean, [True, False, True]),
])
def test_small_integer_codes_keep_their_dtype(dtype, values):
    """Small integer columns are coded without a widening copy; codes and levels as before."""
    s = pl.Series("f", values, dtype=dtype)
    codes, keys = encode_groups(s.to_frame(), ["f"])
    np.testing.assert_array_equal(codes, s.unique().sort().search_sorted(s, side="left").to_numpy())
    assert keys.get_column("f").to_list() == sorted(set(values))
    assert keys.get_column("f").dtype == dtype


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["z", "a", "m", "b"]), min_size=1, max_size=60), st.booleans())
def test_enum_codes_follow_category_order(values, with_unused):
    """Enum columns are coded from their physical codes: levels in category order (how an
    Enum sorts), only the categories present, as the generic sort-and-search gives."""
    cats = ["z", "a", "m", "b", *(["unused"] if with_unused else [])]
    s = pl.Series("f", values, dtype=pl.Enum(cats))
    codes, keys = encode_groups(s.to_frame(), ["f"])
    present = [c for c in cats if c in set(values)]
    assert keys.get_column("f").to_list() == present
    assert keys.get_column("f").dtype == s.dtype
    np.testing.assert_array_equal(codes, [present.index(v) for v in values])
    km = riskset.kaplan_meier(pl.DataFrame({"t": np.arange(1.0, len(values) + 1), "e": np.ones(len(values)), "f": s}),
                              time="t", event="e", by="f")
    assert km.keys.get_column("f").to_list() == present


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("with_entry", [False, True])
def test_event_table_sorted_path_is_identical(weighted, with_entry):
    """Rows in key order take ``table_from_sorted``; its table equals the keyed path bit for bit."""
    from riskset.engine.eventtable import event_table, is_key_sorted, table_from_sorted

    rng = np.random.default_rng(11 + 2 * weighted + with_entry)
    for _ in range(50):
        n, n_groups = int(rng.integers(1, 80)), int(rng.integers(1, 4))
        t = np.round(rng.exponential(3.0, n))
        t[rng.random(n) < 0.1] = -0.0  # a negative zero is a valid time; it reads as 0
        e = (rng.random(n) < 0.6).astype(np.int8)
        g = rng.integers(0, n_groups, n).astype(np.int64)
        w = rng.random(n) if weighted else None
        ent = np.where(t > 0, t * rng.random(n) * 0.9, np.nan) if with_entry else None
        keep = np.ones(n, dtype=bool) if ent is None else ~np.isnan(ent)
        t, e, g = t[keep], e[keep], g[keep]
        w = None if w is None else w[keep]
        ent = None if ent is None else ent[keep]
        if t.size == 0:
            continue
        o = np.lexsort((e, np.abs(t)))
        assert is_key_sorted(t[o], e[o])
        a = event_table(t, e, g, n_groups, w, ent)
        b = event_table(t[o], e[o], g[o], n_groups, None if w is None else w[o], None if ent is None else ent[o])
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(x, y)
        assert not np.signbit(b.time).any()
        # each group's rows in key order, groups one after the other (stacked cohorts)
        o = np.lexsort((e, np.abs(t), g))
        assert table_from_sorted(t[o], e[o], g[o], n_groups, np.empty(0), False)[0]  # the sorted path
        c = event_table(t[o], e[o], g[o], n_groups, None if w is None else w[o], None if ent is None else ent[o])
        for x, y in zip(a, c, strict=True):
            assert np.array_equal(x, y)


def test_ordered_frame_is_the_gathered_frame_with_compact_dtypes():
    """The runner's one ordering: rows equal ``frame[order]``; integers narrowed, few-level
    strings as an Enum of their sorted levels (with or without nulls), ``keep`` untouched."""
    from riskset.study._order import ordered_frame, time_order

    rng = np.random.default_rng(4)
    n = 300
    df = pl.DataFrame({
        "t": np.round(rng.exponential(5.0, n), 0), "e": (rng.random(n) < 0.6).astype(np.int8),
        "s": rng.choice(["b", "a", "c"], n), "sn": [None if rng.random() < 0.2 else v for v in rng.choice(["y", "x"], n)],
        "i": rng.integers(0, 3, n), "k": rng.integers(0, 2, n), "f": rng.normal(size=n),
        "flag": rng.random(n) < 0.5, "d": pl.date_range(pl.date(2020, 1, 1), pl.date(2020, 1, 1) + pl.duration(days=n - 1), eager=True),
        "many": [f"v{j}" for j in rng.integers(0, 100, n)],
    }, strict=False)
    order = time_order(df, "t", "e")
    out = ordered_frame(df, order, keep={"t", "e", "k"})
    want = df[order]
    assert out.columns == df.columns
    for c in df.columns:
        assert out.get_column(c).cast(want.schema[c]).to_list() == want.get_column(c).to_list(), c
    assert out.schema["s"] == pl.Enum(["a", "b", "c"]) and out.schema["sn"] == pl.Enum(["x", "y"])
    assert out.schema["i"] == pl.Int8 and out.schema["k"] == pl.Int64 and out.schema["e"] == pl.Int8
    assert out.schema["many"] == pl.String and out.schema["d"] == pl.Date and out.schema["f"] == pl.Float64
    assert np.all(np.diff(out.get_column("t").to_numpy()) >= 0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 40), st.integers(0, 1)), max_size=80))
def test_grid_key_order_is_the_stable_key_sort(rows):
    """Counting order of whole-day times: the stable sort by (days, event), censorings first."""
    from riskset.engine.eventtable import grid_key_order

    days = np.array([d for d, _ in rows], dtype=np.int64)
    event = np.array([e for _, e in rows], dtype=np.int8)
    order = np.full(days.size, -1, dtype=np.int64)
    assert grid_key_order(days, event, order)
    want = sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1], i))  # naive, stable
    assert order.tolist() == want


def test_grid_key_order_declines_a_wide_range():
    from riskset.engine.eventtable import grid_key_order

    days = np.array([0, 10**9, 5], dtype=np.int64)
    order = np.full(3, -1, dtype=np.int64)
    assert not grid_key_order(days, np.zeros(3, dtype=np.int8), order)  # the caller sorts instead
    assert order.tolist() == [-1, -1, -1]


def test_time_order_by_days_matches_the_key_order():
    """An endpoint derived from dates is ordered by its whole days (counting sort): the same
    key sequence as sorting the times, ties in input order."""
    from riskset.engine.eventtable import time_event_keys
    from riskset.study._order import time_order

    rng = np.random.default_rng(7)
    n = 2000
    days = rng.integers(0, 900, n)
    df = pl.DataFrame({"t": days / 30.4375, "e": (rng.random(n) < 0.5).astype(np.int8), "d": days.astype(np.int32)})
    by_days = time_order(df, "t", "e", "d")
    by_keys = time_order(df, "t", "e")
    keys = time_event_keys(df["t"].to_numpy(), df["e"].to_numpy())
    assert np.array_equal(keys[by_days], keys[by_keys])
    assert np.all(np.diff(keys[by_days]) >= 0)
    k = keys[by_days]
    assert np.all(np.diff(by_days)[k[1:] == k[:-1]] > 0)  # stable
    # a range of days too wide to count falls back to sorting the keys
    wide_days = np.where(np.arange(n) == 0, 2**30, days)
    wide = pl.DataFrame({"t": wide_days / 30.4375, "e": df["e"], "d": wide_days.astype(np.int32)})
    order = time_order(wide, "t", "e", "d")
    wk = time_event_keys(wide["t"].to_numpy(), wide["e"].to_numpy())[order]
    assert order[-1] == 0 and np.all(np.diff(wk) >= 0)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.sampled_from(["b", "a", "é", "a b", "Z", "", "c"])), min_size=1, max_size=60),
       st.sampled_from([np.int64, np.uint8]))
def test_string_codes_match_sorted_levels(values, code_type):
    """String codes (found by equality passes for few levels, by hashing otherwise) are the
    positions in the sorted levels, nulls first at code 0, as a naive sort gives."""
    from riskset.io.validate import _column_codes

    s = pl.Series("f", values, dtype=pl.String)
    distinct = set(values)
    if len(distinct) < 2:
        return  # a constant column: not coded here (the callers report it)
    want_levels = ([None] if None in distinct else []) + sorted(v for v in distinct if v is not None)
    codes, levels = _column_codes(s, string_codes=code_type)
    assert levels.to_list() == want_levels
    assert codes.tolist() == [want_levels.index(v) for v in values]


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 9, 16])
def test_packed_gather_equals_take(k):
    """One-byte columns, given in chunks, packed in one record per row and gathered, equal
    ``numpy.take`` of each whole column (the naive gather), for 8- and 16-byte records."""
    from riskset.engine.gather import gather_packed, pack_bytes
    from riskset.study._order import _gather_bytes

    rng = np.random.default_rng(k)
    n = 1000
    dtypes = [np.int8, np.uint8, np.bool_]
    cols = [rng.integers(-128 if dtypes[j % 3] is np.int8 else 0, 2 if dtypes[j % 3] is np.bool_ else 127, n)
            .astype(dtypes[j % 3]) for j in range(k)]
    cuts = np.sort(rng.choice(np.arange(1, n), size=6, replace=False))
    chunks = [[p.view(np.uint8) for p in np.split(c, cuts)] for c in cols]
    idx = rng.permutation(n)[: n - 17].astype(np.intp)  # a subset of the rows, in a new order
    got = _gather_bytes(chunks, idx)
    assert got.shape == (k, idx.size) and got.dtype == np.uint8
    for c, g in zip(cols, got, strict=True):
        assert np.array_equal(g.view(c.dtype), np.take(c, idx))
    packed = np.zeros(n * 16, dtype=np.uint8)  # the kernels themselves, one part per column
    for j, c in enumerate(cols):
        pack_bytes(packed, 16, j, 0, c.view(np.uint8))
    records = packed.reshape(n, 16)
    assert np.array_equal(records[:, :k], np.stack([c.view(np.uint8) for c in cols], axis=1))
    out = np.empty((k, idx.size), dtype=np.uint8)
    gather_packed(packed.view(np.uint64), 2, idx, out)
    assert np.array_equal(out, records[idx, :k].T)
    small = [[p[:3] for p in ps] for ps in chunks]  # 1- and 3-row chunks: the whole-column path
    small = [[c[:1], c[1:2], c[2:]] for c in (np.concatenate(p) for p in small)]
    got = _gather_bytes(small, np.array([2, 0, 1], dtype=np.intp))
    for c, g in zip(cols, got, strict=True):
        assert np.array_equal(g.view(c.dtype), c[[2, 0, 1]])


def test_ordered_frame_of_a_chunked_frame():
    """Columns of many chunks (a frame read from many files) are ordered as the same frame
    in one chunk; the one-byte columns come back as views of the gathered bytes."""
    from riskset.study._order import ordered_frame, time_order

    rng = np.random.default_rng(11)
    n = 500
    whole = pl.DataFrame({
        "t": rng.integers(0, 60, n).astype(np.int32), "e": (rng.random(n) < 0.5).astype(np.int8),
        "a": rng.integers(-3, 3, n).astype(np.int8), "b": rng.integers(0, 4, n).astype(np.uint8),
        "flag": rng.random(n) < 0.3, "s": rng.choice(["lo", "hi"], n),
        "g": pl.Series(rng.choice(["x", "y", "z"], n)).cast(pl.Enum(["z", "y", "x"])),
        "x": rng.normal(size=n),
    })
    cuts = [0, 7, 120, 121, 333, n]
    chunked = pl.concat([whole[a:b] for a, b in zip(cuts, cuts[1:], strict=False)], rechunk=False)
    assert chunked.get_column("a").n_chunks() == 5
    order = time_order(chunked, "t", "e", "t")
    got = ordered_frame(chunked, order, keep={"t", "e"})
    want = ordered_frame(whole, order, keep={"t", "e"})
    assert got.equals(want) and got.schema == want.schema
    for c in whole.columns:
        assert got.get_column(c).cast(whole.schema[c]).to_list() == whole[order].get_column(c).to_list(), c
    assert got.schema["g"] == whole.schema["g"] and got.schema["s"] == pl.Enum(["hi", "lo"])


@pytest.mark.parametrize("dtype", [pl.Int8, pl.Int16, pl.Int32, pl.Int64])
def test_small_integer_factor_codes_keep_their_type(dtype):
    """A factor whose values are already 0..k-1 gives its own array as codes (no int64
    copy), and a Kaplan-Meier fit by it equals the fit by the same values as strings."""
    from riskset.io.validate import _column_codes, encode_groups

    df = _data(5).with_columns(pl.col("s").cast(dtype))
    codes, levels = _column_codes(df["s"])
    assert codes.dtype == df["s"].to_numpy().dtype
    assert levels.to_list() == [0, 1, 2]
    small, _ = encode_groups(df, ["s"], small=True)
    assert small.dtype == df["s"].to_numpy().dtype and encode_groups(df, ["s"])[0].dtype == np.int64
    a = riskset.kaplan_meier(df, time="t", event="e", by="s").table
    b = riskset.kaplan_meier(df.with_columns(pl.col("s").cast(pl.String)), time="t", event="e", by="s").table
    assert a.drop("s").equals(b.drop("s"))
    enum = df.with_columns(pl.col("s").cast(pl.String).cast(pl.Enum(["0", "1", "2"])))
    codes, levels = _column_codes(enum["s"])
    assert codes.dtype.kind == "i" and codes.tolist() == df["s"].cast(pl.Int64).to_list()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5), st.integers(0, 1)), max_size=40))
def test_sorted_path_order_check_matches_definition(rows):
    """``table_from_sorted`` (whose first pass is the order check) succeeds exactly when
    every group's rows, in input order, are sorted by (time, event), for 3 groups and 1."""
    from riskset.engine.eventtable import table_from_sorted

    g = np.array([r[0] for r in rows], dtype=np.int64)
    t = np.array([r[1] for r in rows], dtype=np.float64)
    e = np.array([r[2] for r in rows], dtype=np.int8)
    want = all([(t[i], e[i]) for i in range(len(rows)) if g[i] == k]
               == sorted((t[i], e[i]) for i in range(len(rows)) if g[i] == k) for k in range(3))
    assert table_from_sorted(t, e, g, 3, np.empty(0), False)[0] == want
    one = [(t[i], e[i]) for i in range(len(rows))] == sorted((t[i], e[i]) for i in range(len(rows)))
    assert table_from_sorted(t, e, np.zeros(len(rows), dtype=np.int64), 1, np.empty(0), False)[0] == one
