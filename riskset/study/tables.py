"""Clinical study tables: baseline characteristics, response, safety, subgroup comparison.

Each builder returns ``(display, values)``: ``display`` is the publication-style Polars table
(strings such as ``"51 (31–74)"`` and ``"41 (41.8%)"``) shown in the report and CSVs, and
``values`` a long-format Polars table with every number (counts, estimates, CI limits) for
``results.json``. The runner's Kaplan–Meier and Cox results get their display tables here
too (:func:`km_display`, :func:`cox_display`, :func:`forest_rows`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from riskset._proportion import proportion_ci
from riskset.format import DASH, format_estimate_ci, format_pvalue, format_ratio_ci

if TYPE_CHECKING:
    from riskset.study.spec import Endpoint


def fmt_num(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "NR"
    return f"{x:.{digits}f}"


def fmt_pct(k: int, n: int) -> str:
    return f"{k} ({100 * k / n:.1f}%)" if n else f"{k} (–)"


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def fmt_ci(est: float | None, lo: float | None, hi: float | None, digits: int = 1) -> str:
    """``"15.0 (4.7–25.3)"`` with NR (not reached) and NE (not estimable): the rule of
    :func:`riskset.format.format_estimate_ci`."""
    return format_estimate_ci(est, lo, hi, digits)


def baseline_table(
    frame: pl.DataFrame,
    masks: Mapping[str, pl.Series | None],
    *,
    continuous: Sequence[str],
    categorical: Sequence[str],
    labels: dict[str, str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Table 1: median (range) for continuous, n (%) per level for categorical, missing shown.

    ``frame`` holds every patient; ``masks`` maps each cohort (table column) to its row mask
    (None: all rows). Categorical counts are one aggregation per column over all rows, every
    cohort's count a sum of its mask (see :func:`_level_counts`), not one per column and cohort.
    """
    labels = labels or {}
    names = list(masks)
    size = _cohort_sizes(frame, masks)
    disp: list[dict[str, str]] = [{"characteristic": "Patients, n", **{c: str(size[c]) for c in names}}]
    vals: list[dict] = []
    for col in continuous:
        row = {"characteristic": f"{labels.get(col, col)}, median (range)"}
        miss_row = {"characteristic": "  Missing"}
        any_missing = False
        stats = _integer_summaries(frame, masks, col) if frame.schema[col].is_integer() else None
        whole = None if stats is not None else frame.get_column(col).cast(pl.Float64)
        for c in names:
            if stats is not None:
                med, lo, hi, n_ok, n_miss = stats[c]
            else:
                s = whole if masks[c] is None else whole.filter(masks[c])
                ok = s.drop_nulls().drop_nans()
                n_ok, n_miss = ok.len(), s.len() - ok.len()
                med, lo, hi = (ok.median(), ok.min(), ok.max()) if n_ok else (None, None, None)
            any_missing |= n_miss > 0
            row[c] = f"{_g(med)} ({_g(lo)}{DASH}{_g(hi)})" if n_ok else DASH
            miss_row[c] = fmt_pct(n_miss, n_ok + n_miss)
            vals.append({"variable": col, "cohort": c, "level": None, "statistic": "median", "value": med,
                         "min": lo, "max": hi, "n": n_ok, "missing": n_miss})
        disp.append(row)
        if any_missing:
            disp.append(miss_row)
    level_counts = _level_counts(frame, masks, list(categorical)) if categorical else {}
    for col in categorical:
        disp.append({"characteristic": labels.get(col, col), **dict.fromkeys(names, "")})
        counts, n_missing = level_counts[col]
        present = set().union(*counts.values())
        dt = frame.schema[col]
        # a declared order ([levels], [value_labels], a derived CASE's Enum) is kept; else sorted
        order = ([x for x in dt.categories.to_list() if x in present] if isinstance(dt, pl.Enum)
                 else sorted(present))
        for lv in order:
            row = {"characteristic": f"  {lv}"}
            for c in names:
                k = int(counts[c].get(lv, 0))
                row[c] = fmt_pct(k, size[c])
                vals.append({"variable": col, "cohort": c, "level": lv, "statistic": "count", "value": float(k),
                             "min": None, "max": None, "n": size[c], "missing": None})
            disp.append(row)
        if any(n_missing.values()):
            disp.append({"characteristic": "  Missing", **{c: fmt_pct(n_missing[c], size[c]) for c in names}})
            for c in names:
                vals.append({"variable": col, "cohort": c, "level": None, "statistic": "missing",
                             "value": float(n_missing[c]), "min": None, "max": None, "n": size[c],
                             "missing": n_missing[c]})
    return pl.DataFrame(disp), pl.DataFrame(vals, infer_schema_length=None)


def _count_column(masks: Mapping[str, pl.Series | None], cohort: str) -> str:
    """The column of :func:`_value_counts`' tables holding ``cohort``'s counts."""
    return "__all" if masks[cohort] is None else f"__cohort_{list(masks).index(cohort)}"


def _value_counts(
    frame: pl.DataFrame, masks: Mapping[str, pl.Series | None], columns: Sequence[str]
) -> list[pl.DataFrame]:
    """Per column, one row per distinct value (nulls included) with every cohort's count
    (:func:`_count_column`): one hash aggregation per column over all rows, each cohort's
    count a sum of its mask, all columns in one parallel Polars query."""
    flags = {_count_column(masks, c): m for c, m in masks.items() if m is not None}
    lf = frame.select(list(dict.fromkeys(columns))).with_columns(m.alias(f) for f, m in flags.items()).lazy()
    aggs = [pl.len().alias("__all"), *(pl.col(f).sum().alias(f) for f in flags)]
    small = _small_ranges(frame, columns)
    hashed = [c for c in columns if c not in small]
    tables = dict(zip(hashed, pl.collect_all([lf.group_by(c).agg(aggs) for c in hashed]), strict=True))
    if small:
        tables.update(_counts_by_sums(frame, lf, small, list(flags)))
    return [tables[c] for c in columns]


#: Integer columns whose values span at most this many are counted by sums, not hashing.
_SUM_LEVELS = 16


def _small_ranges(frame: pl.DataFrame, columns: Sequence[str]) -> dict[str, tuple[int, int]]:
    """``{column: (min, max)}`` of the integer columns spanning at most ``_SUM_LEVELS`` values."""
    ints = [c for c in dict.fromkeys(columns) if frame.schema[c].is_integer()]
    if not ints:
        return {}
    row = frame.select(e for c in ints for e in (pl.col(c).min().alias(f"{c}|lo"),
                                                 pl.col(c).max().alias(f"{c}|hi"))).row(0, named=True)
    return {c: (row[f"{c}|lo"], row[f"{c}|hi"]) for c in ints
            if row[f"{c}|lo"] is not None and row[f"{c}|hi"] - row[f"{c}|lo"] < _SUM_LEVELS}


def _counts_by_sums(frame: pl.DataFrame, lf: pl.LazyFrame, small: Mapping[str, tuple[int, int]],
                    flags: Sequence[str]) -> dict[str, pl.DataFrame]:
    """:func:`_value_counts`' tables of small-range integer columns from one parallel query of
    sums (each value x cohort an equality count; nulls counted too), shaped like the
    group-by's: one row per value present, nulls included."""
    exprs = []
    for c, (lo, hi) in small.items():
        for j, v in enumerate([None, *range(lo, hi + 1)]):
            hit = pl.col(c).is_null() if v is None else (pl.col(c) == v).fill_null(False)
            exprs.append(hit.sum().alias(f"{c}|{j}|__all"))
            exprs += [(hit & pl.col(f)).sum().alias(f"{c}|{j}|{f}") for f in flags]
    row = lf.select(exprs).collect().row(0, named=True)
    out = {}
    for c, (lo, hi) in small.items():
        values = [None, *range(lo, hi + 1)]
        keep = [j for j in range(len(values)) if row[f"{c}|{j}|__all"]]
        cols = {c: pl.Series(c, [values[j] for j in keep], dtype=frame.schema[c])}
        for f in ("__all", *flags):
            cols[f] = pl.Series(f, [row[f"{c}|{j}|{f}"] for j in keep], dtype=pl.UInt32)
        out[c] = pl.DataFrame(cols)
    return out


def _integer_summaries(
    frame: pl.DataFrame, masks: Mapping[str, pl.Series | None], col: str
) -> dict[str, tuple[float | None, float | None, float | None, int, int]] | None:
    """(median, min, max, n, missing) of an integer column in every cohort from one count of
    its distinct values (a group-by; each cohort's counts a sum of its mask), instead of a
    selection per cohort. The median is the middle value, or the mean of the two middle
    values, exactly as a sort would give (integers below 2**53 are exact in float64).
    None when the column has too many distinct values for that to pay."""
    (tab,) = _value_counts(frame, masks, [col])
    tab = tab.sort(col, nulls_last=True)
    if tab.height > max(1024, frame.height // 16):
        return None
    null = tab.get_column(col).is_null().to_numpy()
    values = tab.get_column(col).cast(pl.Float64).to_numpy()[~null]
    out = {}
    for c in masks:
        k = tab.get_column(_count_column(masks, c)).to_numpy().astype(np.int64)
        n_miss, counts = int(k[null].sum()), k[~null]
        n_ok = int(counts.sum())
        if n_ok == 0:
            out[c] = (None, None, None, 0, n_miss)
            continue
        cum = np.cumsum(counts)
        lo_i, hi_i = np.searchsorted(cum, [(n_ok - 1) // 2, n_ok // 2], side="right")
        present = np.flatnonzero(counts)
        med = float(values[lo_i]) if lo_i == hi_i else (float(values[lo_i]) + float(values[hi_i])) / 2.0
        out[c] = (med, float(values[present[0]]), float(values[present[-1]]), n_ok, n_miss)
    return out


def _level_counts(
    frame: pl.DataFrame, masks: Mapping[str, pl.Series | None], columns: Sequence[str]
) -> dict[str, tuple[dict[str, dict[str, int]], dict[str, int]]]:
    """Per column and cohort: ({level text: count} over non-missing values, null count).

    One hash aggregation per column over all rows, each cohort's count a sum of its mask
    column, and all columns' aggregations run as one parallel Polars query.
    """
    tables = _value_counts(frame, masks, columns)
    out = {}
    for col, tab in zip(columns, tables, strict=True):
        keys = tab.get_column(col)
        text = keys.cast(pl.String).to_list()
        null = keys.is_null().to_list()
        counts, missing = {}, {}
        for c in masks:
            k = tab.get_column(_count_column(masks, c)).to_list()
            counts[c] = {t: int(v) for t, v, isnull in zip(text, k, null, strict=True) if not isnull and v}
            missing[c] = sum(int(v) for v, isnull in zip(k, null, strict=True) if isnull)
        out[col] = (counts, missing)
    return out


def _g(x: float | None) -> str:
    if x is None:
        return DASH
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def response_table(
    frame: pl.DataFrame,
    masks: Mapping[str, pl.Series | None],
    *,
    column: str,
    complete: str = "CR",
    partial: str = "PR",
    stable: str = "SD",
    progressive: str = "PD",
    sd_duration: str | None = None,
    sd_min: float = 24.0,
    method: str = "clopper-pearson",
    conf_level: float = 0.95,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Table 2: best-response counts with ORR, DCR and CBR and their CIs.

    ORR = (CR + PR) / n; DCR = (CR + PR + SD) / n; CBR = (CR + PR + SD lasting at least
    ``sd_min`` in the units of ``sd_duration``) / n. Patients with a missing response count
    in n (intention to treat) and are shown as "Not evaluable". ``frame`` holds every
    patient and ``masks`` each cohort's rows (None: all), as in :func:`baseline_table`.
    """
    names = list(masks)
    disp, vals = [], []
    cats = [("Complete response (CR)", complete), ("Partial response (PR)", partial),
            ("Stable disease (SD)", stable), ("Progressive disease (PD)", progressive)]
    s = frame.get_column(column).cast(pl.String)
    # one boolean per category over all rows; each cohort's counts are mask-and-count passes
    flags = {code: (s == code).fill_null(False).to_numpy() for _, code in cats}
    known = np.zeros(frame.height, dtype=np.bool_)
    for code in flags:
        known |= flags[code]
    if sd_duration:
        dur = frame.get_column(sd_duration).cast(pl.Float64)
        flags["__sd_long"] = flags[stable] & (dur >= sd_min).fill_null(False).to_numpy()
    np_masks = _np_masks(masks)
    size = _cohort_sizes(frame, masks)
    counts: dict[str, dict[str, int]] = {}
    for c in names:
        m = np_masks[c]
        counts[c] = {k: _count(v, m) for k, v in flags.items()}
        counts[c]["__n"] = size[c]
        counts[c]["__missing"] = counts[c]["__n"] - _count(known, m)
    for label, code in cats:
        disp.append({"response": label, **{c: fmt_pct(counts[c][code], counts[c]["__n"]) for c in names}})
    if any(counts[c]["__missing"] for c in names):
        disp.append({"response": "Not evaluable / missing",
                     **{c: fmt_pct(counts[c]["__missing"], counts[c]["__n"]) for c in names}})
    rates = [("ORR (CR + PR)", lambda k: k[complete] + k[partial]),
             ("DCR (CR + PR + SD)", lambda k: k[complete] + k[partial] + k[stable])]
    if sd_duration:
        rates.append((f"CBR (CR + PR + SD >= {sd_min:g})", lambda k: k[complete] + k[partial] + k["__sd_long"]))
    pct = int(round(100 * conf_level))
    for label, fn in rates:
        row = {"response": f"{label}, % ({pct}% CI)"}
        for c in names:
            k, n = fn(counts[c]), counts[c]["__n"]
            if n == 0:
                row[c] = "not estimable (no patients)"
                continue
            p = proportion_ci(k, n, method=method, conf_level=conf_level)
            row[c] = f"{k}/{n}: {fmt_ci(100 * p.estimate, 100 * p.lower, 100 * p.upper)}"
            vals.append({"rate": label.split(" ")[0], "cohort": c, "x": k, "n": n, "estimate": p.estimate,
                         "lower": p.lower, "upper": p.upper, "method": method})
        disp.append(row)
    for c in names:
        for _, code in cats:
            vals.append({"rate": code, "cohort": c, "x": counts[c][code], "n": counts[c]["__n"],
                         "estimate": counts[c][code] / counts[c]["__n"] if counts[c]["__n"] else None,
                         "lower": None, "upper": None, "method": None})
    return pl.DataFrame(disp), pl.DataFrame(vals, infer_schema_length=None)


def _cohort_sizes(frame: pl.DataFrame, masks: Mapping[str, pl.Series | None]) -> dict[str, int]:
    return {c: frame.height if m is None else int(m.sum()) for c, m in masks.items()}


def _np_masks(masks: Mapping[str, pl.Series | None]) -> dict[str, np.ndarray | None]:
    return {c: None if m is None else m.to_numpy() for c, m in masks.items()}


def _count(flag: np.ndarray, mask: np.ndarray | None) -> int:
    """Rows where ``flag`` holds, within ``mask`` (None: all rows)."""
    return int(np.count_nonzero(flag if mask is None else flag & mask))


def safety_table(
    frame: pl.DataFrame,
    masks: Mapping[str, pl.Series | None],
    *,
    grades: dict[str, str],
    min_grade: int = 3,
    discontinuation: str | None = None,
    discontinuation_reason: str | None = None,
    method: str = "clopper-pearson",
    conf_level: float = 0.95,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Adverse events: any grade and grade >= ``min_grade`` rates with CIs; discontinuations.

    ``frame`` holds every patient and ``masks`` each cohort's rows (None: all).
    """
    names = list(masks)
    size = _cohort_sizes(frame, masks)
    disp, vals = [], []
    pct = int(round(100 * conf_level))
    # every (event, grade threshold, cohort) count in one parallel query over the columns
    # and the cohort masks (no per-event float copy or per-cohort selection)
    flags = {c: f"__cohort_{i}" for i, c in enumerate(names) if masks[c] is not None}
    levels = ((1, "any grade"), (min_grade, f"grade >= {min_grade}"))
    exprs = []
    for j, col in enumerate(grades.values()):
        g = pl.col(col) if frame.schema[col].is_integer() else pl.col(col).cast(pl.Float64)
        for lo_grade, _tag in levels:
            hit = (g >= lo_grade).fill_null(False)
            for c in names:
                cond = hit if masks[c] is None else hit & pl.col(flags[c])
                exprs.append(cond.sum().alias(f"{j}|{lo_grade}|{c}"))
    counted = (frame.select(list(dict.fromkeys(grades.values())))
               .with_columns(masks[c].alias(f) for c, f in flags.items())
               .select(exprs).row(0, named=True)) if exprs else {}
    for j, label in enumerate(grades):
        for lo_grade, tag in levels:
            row = {"adverse_event": f"{label}, {tag}"}
            for c in names:
                k, n = int(counted[f"{j}|{lo_grade}|{c}"]), size[c]
                if n == 0:
                    row[c] = "not estimable (no patients)"
                    continue
                p = proportion_ci(k, n, method=method, conf_level=conf_level)
                row[c] = (f"{k} ({100 * p.estimate:.1f}%; {pct}% CI "
                          f"{100 * p.lower:.1f}{DASH}{100 * p.upper:.1f})")
                vals.append({"event": label, "grade": tag, "cohort": c, "x": k, "n": n, "estimate": p.estimate,
                             "lower": p.lower, "upper": p.upper})
            disp.append(row)
    if discontinuation:
        row = {"adverse_event": "Discontinued due to adverse event"}
        stopped = (frame.get_column(discontinuation).cast(pl.Float64) == 1).fill_null(False)
        for c in names:
            m = masks[c]
            sel = stopped if m is None else stopped & m
            k = int(sel.sum())
            txt = fmt_pct(k, size[c])
            if discontinuation_reason and k:
                reasons = (frame.get_column(discontinuation_reason).filter(sel)
                           .fill_null("unspecified").value_counts(sort=True))
                txt += ": " + ", ".join(f"{r} {m}" for r, m in reasons.iter_rows())
            row[c] = txt
            vals.append({"event": "discontinuation", "grade": "", "cohort": c, "x": k, "n": size[c],
                         "estimate": k / size[c] if size[c] else None, "lower": None, "upper": None})
        disp.append(row)
    return pl.DataFrame(disp), pl.DataFrame(vals, infer_schema_length=None)


# ---- display tables of the runner's results -------------------------------------------
def fmt_p(p: float | None) -> str | None:
    """A table p-value in the journal style of :func:`riskset.format.format_pvalue`
    (``< 0.001``, ``0.003``, ``0.27``; None when missing)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return None
    return format_pvalue(p, style="journal")



def km_display(tab: pl.DataFrame, ep: Endpoint) -> pl.DataFrame:
    """The Kaplan–Meier display table: n, events, median (95% CI), landmark rates (%)."""
    out = []
    for r in tab.iter_rows(named=True):
        d = {"endpoint": r["endpoint"], "cohort": r["cohort"], "subgroup": r["subgroup"], "level": r["level"],
             "n": r.get("n"), "events": r.get("events")}
        if r.get("note"):
            d["median (95% CI)"] = r["note"]
        else:
            d["median (95% CI)"] = fmt_ci(r.get("median"), r.get("median_lower"), r.get("median_upper"))
        for t in ep.landmarks:
            k = f"surv_{t:g}"
            col = f"{t:g}-{ep.unit[:-1]} rate, % (95% CI)"  # the endpoint's unit: "1-year rate"
            if r.get(k) is not None:
                d[col] = fmt_ci(100 * r[k], _pct100(r.get(k + "_lower")), _pct100(r.get(k + "_upper")))
                if r.get(f"past_{t:g}"):  # extend = true: carried past the last observation
                    d[col] += "; n at risk 0 (past the last observation)"
            elif r.get("n") and not r.get("note"):  # as R: no estimate past the last observation
                d[col] = "not estimated: past the last observation"
        out.append(d)
    return pl.DataFrame(out, infer_schema_length=None)



def _pct100(x):
    return None if x is None else 100 * x



def cox_row(r: dict) -> dict:
    """The Cox table's columns of one coefficient row of a fit."""
    row = {"term": r.get("term"), "coef": r.get("coef"), "se": r.get("se"), "hr": r.get("hr"),
           "hr_lower": r.get("hr_lower"), "hr_upper": r.get("hr_upper"), "p": r.get("p"),
           "monotone": bool(r.get("monotone") or False)}
    if r.get("label"):  # a factor's model: its level against the reference, for the forest plot
        row["label"] = r["label"]
    return row



def cox_display(tab: pl.DataFrame) -> pl.DataFrame:
    """The Cox display table: HR (95% CI), or "not estimable" for a monotone partial fit."""
    out = []
    for r in tab.iter_rows(named=True):
        # decimals enough to tell the HR from its limits and from 1 (a per-unit pgr: 0.9999)
        hr = "" if r.get("hr") is None else format_ratio_ci(r["hr"], r.get("hr_lower"), r.get("hr_upper"))
        if r.get("monotone") and r.get("method") != "Firth (penalised)":
            hr = "not estimable"
        out.append({"model": r["model"], "cohort": r["cohort"], "term": r.get("term"),
                    "method": r.get("method"), "HR (95% CI)": hr, "p": fmt_p(r.get("p")), "note": r.get("note")})
    return pl.DataFrame(out, infer_schema_length=None)



def forest_rows(tab: pl.DataFrame) -> pl.DataFrame:
    """Forest-plot rows of the Cox table (a monotone partial fit drawn as "not estimable")."""
    rows = []
    for r in tab.iter_rows(named=True):
        if r.get("term") is None:
            continue
        mono = r.get("monotone") and r.get("method") != "Firth (penalised)"
        rows.append({"label": f"{r['model']}: {r.get('label') or r['term']}"
                     + (" (Firth)" if r.get("method") == "Firth (penalised)" else ""),
                     "estimate": None if mono else r.get("hr"), "lower": None if mono else r.get("hr_lower"),
                     "upper": None if mono else r.get("hr_upper"), "p_value": r.get("p"),
                     "note": "monotone likelihood: no events in one level" if mono else None})
    return pl.DataFrame(rows, schema={"label": pl.String, "estimate": pl.Float64, "lower": pl.Float64,
                                      "upper": pl.Float64, "p_value": pl.Float64, "note": pl.String})
