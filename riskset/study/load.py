"""Loading a study's data: scan the source, read only the used columns, derive.

:func:`used_columns` is what the spec reads (a column missing from the data is named, with
a suggestion); :func:`load_study_data` is the only read of the source, followed by the
derived variables (:func:`_derive`, in spec order, independent ones together) and the
date-derived endpoint columns; :func:`data_hash` is the report's SHA-256 of the files.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from riskset.io.read import scan_table
from riskset.study.spec import UNITS, Endpoint, Spec, SpecError, _where, sql


def _source(spec: Spec) -> tuple[pl.LazyFrame, list[Path]]:
    if spec.example:
        from riskset.datasets import DATASETS, path

        if spec.example not in DATASETS:
            raise SpecError(f"[data] example = {spec.example!r} is not a bundled data set; available: "
                            + ", ".join(DATASETS))
        p = Path(path(spec.example))
    else:
        p = Path(spec.data_path)
        if not p.is_absolute() and spec.path is not None:
            p = spec.path.parent / p
    files = sorted(p.rglob("*.parquet")) if p.is_dir() else [p]
    return scan_table(p), files


def data_hash(files: list[Path]) -> str:
    """SHA-256 over each data file's name followed by its bytes, file after file (sorted by
    path): a renamed or re-partitioned file changes it. For one file this is not the
    file's own ``sha256sum``."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def endpoint_time(e: Endpoint, days: pl.Series) -> pl.Series:
    """A date-derived endpoint's time from its days: ``days * (1 / unit length)`` in float64
    (what Polars computes for ``pl.col(days) / unit``: a product with the reciprocal),
    named ``e.time_col``. Computed by NumPy when the days have no nulls (its allocation of
    the column gets huge pages where the system offers them), else by Polars."""
    scale = 1.0 / UNITS[e.unit]
    if days.null_count() == 0 and days.dtype.is_integer():
        return pl.Series(e.time_col, days.to_numpy() * scale)
    return (days.cast(pl.Float64) * scale).alias(e.time_col)


def _roots(expr: str) -> set[str]:
    return set(sql(expr).meta.root_names())


def _analysis_columns(spec: Spec) -> set[str]:
    """Columns the analyses read once the data are loaded: cohort filters, endpoint
    populations and time/event columns, factors, Cox terms, the tables' columns, the id.
    (The roots of derived variables and the dates of date-derived endpoints are read only to
    compute those.)"""
    cols: set[str] = set()
    for c in spec.cohorts:
        if c.get("filter"):
            cols |= _roots(c["filter"])
    for e in spec.endpoints:
        cols |= {x for x in (e.time, e.event) if x}
        if e.population:
            cols |= _roots(e.population)
    for f in spec.factors:
        cols.add(f["column"])
    for m in spec.cox:
        cols |= set(m["covariates"]) | set(m.get("strata") or [])
    if spec.response:
        cols |= {spec.response["column"]} | ({spec.response["sd_duration"]} if spec.response.get("sd_duration") else set())
    if spec.baseline:
        cols |= set(spec.baseline.get("continuous", [])) | set(spec.baseline.get("categorical", []))
    if spec.safety:
        cols |= set(spec.safety["grades"].values())
        cols |= {spec.safety[k] for k in ("discontinuation", "discontinuation_reason") if spec.safety.get(k)}
    for c in spec.compare:
        cols.add(c["column"])
    if spec.id_column:
        cols.add(spec.id_column)
    return cols


def used_columns(spec: Spec, available: list[str]) -> list[str]:
    """Columns of the source the spec needs (derived names excluded)."""
    derived = set(spec.derive)
    cols = _analysis_columns(spec)
    for expr in spec.derive.values():
        cols |= _roots(expr)
    for e in spec.endpoints:
        cols |= {x for x in (e.time, e.event, e.start, e.event_date, e.censor_date) if x}
    need = sorted(cols - derived)
    missing = [c for c in need if c not in available]
    if missing:
        import difflib

        c = missing[0]
        close = difflib.get_close_matches(c, available, n=2)
        use = _first_use(spec, c)
        source = f"the bundled {spec.example!r} data" if spec.example else f"the data ({spec.data_path})"
        raise SpecError(f"column {c!r} used by {_where(spec.text, use) if use else 'the spec'} is not in {source}"
                        + (f"; did you mean {' or '.join(map(repr, close))}?" if close else
                           "; data columns: " + ", ".join(available[:30])))
    return need


def _first_use(spec: Spec, column: str) -> list[str] | None:
    """The spec key path (as :func:`riskset.study.spec._where` takes it) of the first key that
    reads ``column``: a column name given as a key's value, or a column an expression reads."""
    def reads(v: Any) -> bool:
        if isinstance(v, str):
            return v == column
        if isinstance(v, list):
            return column in v
        if isinstance(v, dict):
            return column in v.values()
        return False

    for name, expr in spec.derive.items():
        if column in _roots(expr):
            return ["derive", name]
    for kind, items in (("cohort", spec.cohorts), ("factor", spec.factors), ("cox", spec.cox),
                        ("compare", spec.compare)):
        for i, item in enumerate(items, 1):
            for k, v in item.items():
                if (k == "filter" and column in _roots(v)) or (k not in ("name", "filter", "endpoint", "cohort",
                                                                        "cohorts") and reads(v)):
                    return [kind, f"#{i}", k]
    for i, e in enumerate(spec.endpoints, 1):
        for k in ("time", "event", "start", "event_date", "censor_date"):
            if getattr(e, k) == column:
                return ["endpoint", f"#{i}", k]
        if e.population and column in _roots(e.population):
            return ["endpoint", f"#{i}", "population"]
    for table, got in (("response", spec.response), ("baseline", spec.baseline), ("safety", spec.safety)):
        for k, v in (got or {}).items():
            if k != "labels" and reads(v):
                # a table of columns (safety.grades): the entry naming it
                return [table, k, *(n for n, x in v.items() if x == column)][:3] if isinstance(v, dict) else [table, k]
    if spec.id_column == column:
        return ["data", "id"]
    return None


def load_study_data(spec: Spec) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Scan the source, read only the used columns, add derived and endpoint columns, narrow
    the integer columns no SQL expression reads (:func:`_narrow_integers`), and keep the
    columns the analyses read (:func:`_analysis_columns`, the derived ones, the endpoints').

    A date-derived endpoint is held as its whole days (``days_col``) and event; its time in
    the endpoint's unit is :func:`endpoint_time` of the days, computed by the runner for
    the endpoint's rows once they are ordered."""
    lf, files = _source(spec)
    available = lf.collect_schema().names()
    need = used_columns(spec, available)
    with ThreadPoolExecutor(max_workers=1) as hasher:  # the files' hash while they are read
        digest = hasher.submit(data_hash, files)
        df = _load_frame(spec, lf, need, files)
    if spec.value_labels:  # labelled columns: Enums of their labels (in [levels] order if given)
        df = apply_value_labels(df, spec, available)
    if spec.levels:  # the spec's level order: those columns become Enums (riskset.io.validate)
        from riskset.io.validate import declare_levels

        df = declare_levels(df, {c: lv for c, lv in spec.levels.items()
                                 if c in df.columns and c not in spec.value_labels})
    meta = {"data_files": [str(f) for f in files], "data_sha256": digest.result(), "n_rows": df.height,
            "columns_read": need}
    return df, meta


#: Sources whose columns can be read on their own cheaply (a first pass over a few of them
#: costs a fraction of the read): their integer columns are narrowed as they are read.
_COLUMNAR = {".parquet", ".pq", ".arrow", ".ipc", ".feather"}


def _load_frame(spec: Spec, lf: pl.LazyFrame, need: list[str], files: list[Path]) -> pl.DataFrame:
    sql_read = _read_by_sql(spec)
    narrow = [c for c in need if c not in sql_read]
    columnar = bool(files) and all(f.suffix.lower() in _COLUMNAR for f in files)
    try:  # a columnar source's integers are narrowed as they are read: first their ranges
        casts = _narrow_types(lf, narrow) if columnar else {}
    except Exception as exc:
        raise SpecError(f"reading the study data failed: {exc}") from None
    read = lf.select(pl.col(c).cast(casts[c]) if c in casts else pl.col(c) for c in need)
    dated = [e for e in spec.endpoints if e.start]
    keep = (_analysis_columns(spec) | set(spec.derive)
            | {c for e in dated for c in (e.event_col, e.days_col)})
    later = [c for c in spec.derive if c not in sql_read]  # derived integers, narrowed after
    coded = _codable(spec)
    if columnar:
        # one streaming query reads, derives and computes the endpoint times, and keeps only
        # the columns the analyses read: a date or a column only [derive] reads is never held
        # whole (~0.5 GB and ~140,000 page faults less at 10 million rows)
        try:
            q = _derive(read, spec.derive, coded=coded).with_columns(
                x for e in dated for x in _endpoint_exprs(e))
            df = q.select(c for c in q.collect_schema().names() if c in keep).collect(engine="streaming")
            return _narrow_integers(df, later)
        except SpecError:
            raise
        except Exception:
            pass  # redone step by step below, so that the error names the step that failed
    try:
        df = read.collect()  # the only read of the source: used columns only
    except Exception as exc:
        raise SpecError(f"reading the study data failed: {exc}") from None
    df = _derive(df, spec.derive, coded=coded)
    try:  # all date-derived endpoints in one pass; on failure, one at a time to name the endpoint
        df = df.with_columns(x for e in dated for x in _endpoint_exprs(e))
    except Exception:
        for e in dated:
            try:
                df = df.with_columns(_endpoint_exprs(e))
            except Exception as exc:
                raise SpecError(f"endpoint {e.name!r}: cannot derive the time from dates "
                                f"({e.start}, {e.event_date}, {e.censor_date}): {exc}") from None
    df = df.select(c for c in df.columns if c in keep)
    return _narrow_integers(df, [c for c in [*narrow, *later] if c in keep and c not in casts])


def _endpoint_exprs(e: Endpoint) -> list[pl.Expr]:
    """The whole days from start to end date (``e.days_col``) and the event (1 = event date
    set). The time itself, days / the unit's length (:func:`endpoint_time`), is computed by
    the runner from the days of the endpoint's rows once they are ordered (a float64 column
    per endpoint less to hold for every row, and a 4-byte column to gather instead of 8)."""
    end = pl.coalesce(pl.col(e.event_date), pl.col(e.censor_date))
    days = (end.cast(pl.Date) - pl.col(e.start).cast(pl.Date)).dt.total_days()
    return [days.cast(pl.Int32).alias(e.days_col),
            pl.when(pl.col(e.start).is_null()).then(None)
            .otherwise(pl.col(e.event_date).is_not_null().cast(pl.Int8)).alias(e.event_col)]


_QUOTED = re.compile(r"'(?:[^']|'')*'")
_RESULT = re.compile(r"(?i)\b(?:THEN|ELSE)\b")
_LITERAL_RESULT = re.compile(r"(?i)\b(?:THEN|ELSE)\s+('\d+'|NULL)\s*(?=(?:WHEN|ELSE|END)\b)")


def case_levels(expr: str) -> list[str] | None:
    """The sorted values a ``CASE`` whose every result is a quoted string (or NULL) can take.

    ``CASE WHEN age >= 50 THEN '>= 50' ELSE '< 50' END`` -> ``['< 50', '>= 50']``; ``None``
    for any other expression (a result that is a column, a function, a nested CASE...).
    """
    coded = case_codes(expr)
    return None if coded is None else coded[0]


def case_codes(expr: str) -> tuple[list[str], str] | None:
    """:func:`case_levels` and the same ``CASE`` with each result literal replaced by the
    position of its level (``... THEN 1 ELSE 0 END``): the SQL that computes an Enum's
    physical codes directly, without making a string per row (literals in the conditions are
    kept as they are). ``None`` where :func:`case_levels` is ``None``."""
    found: list[str] = []

    def mark(m: re.Match) -> str:  # literals out of the way of the keyword search
        found.append(m.group(0))
        return f"'{len(found) - 1}'"

    masked = _QUOTED.sub(mark, expr.strip())
    if not re.fullmatch(r"(?is)CASE\b.*\bEND", masked) or len(re.findall(r"(?i)\bCASE\b", masked)) != 1:
        return None
    results = _LITERAL_RESULT.findall(masked)
    if not results or len(results) != len(_RESULT.findall(masked)):
        return None

    def text(i: int) -> str:
        return found[i][1:-1].replace("''", "'")

    levels = sorted({text(int(r[1:-1])) for r in results if r.upper() != "NULL"})
    if not levels:
        return None

    def code(m: re.Match) -> str:  # a result literal -> its level's position
        lit = m.group(1)
        return m.group(0) if lit.upper() == "NULL" else m.group(0).replace(lit, str(levels.index(text(int(lit[1:-1])))))

    recoded = _LITERAL_RESULT.sub(code, masked)
    return levels, _PLACEHOLDER.sub(lambda m: found[int(m.group(0)[1:-1])], recoded)


_PLACEHOLDER = re.compile(r"'\d+'")


def _read_by_sql(spec: Spec) -> set[str]:
    """Columns some SQL expression of the spec reads (derived variables, cohort filters,
    endpoint populations): they keep the type SQL would see."""
    read: set[str] = set()
    for expr in [*spec.derive.values(), *(c["filter"] for c in spec.cohorts if c.get("filter")),
                 *(e.population for e in spec.endpoints if e.population)]:
        read |= _roots(expr)
    return read


def _codable(spec: Spec) -> set[str]:
    """Derived variables that may be stored as an Enum: those no SQL expression of the spec
    reads (SQL string functions and comparisons expect a string column); only the study's
    own analyses read them, which treat an Enum of a column's levels as its strings."""
    return set(spec.derive) - _read_by_sql(spec)


#: Signed integer types by width (bytes) with the range each holds, narrowest first.
_INTS = ((pl.Int8, 1, -(2**7), 2**7 - 1), (pl.Int16, 2, -(2**15), 2**15 - 1),
         (pl.Int32, 4, -(2**31), 2**31 - 1), (pl.Int64, 8, -(2**63), 2**63 - 1))


def _narrow_types(frame: pl.DataFrame | pl.LazyFrame, columns: list[str]) -> dict[str, pl.DataType]:
    """``{column: narrower type}`` for the integer ``columns`` whose values fit a narrower
    signed type (one query for every column's range; an all-missing column stays)."""
    schema = frame.collect_schema()
    width = {t: w for t, w, _, _ in _INTS}
    ints = [c for c in dict.fromkeys(columns) if schema[c] in width]
    if not ints:
        return {}
    q = frame.select(e for c in ints for e in (pl.col(c).min().alias(f"{c}|lo"), pl.col(c).max().alias(f"{c}|hi")))
    row = (q.collect() if isinstance(q, pl.LazyFrame) else q).row(0, named=True)
    out = {}
    for c in ints:
        lo, hi = row[f"{c}|lo"], row[f"{c}|hi"]
        if lo is None:  # every value missing
            continue
        t = next(t for t, _, a, b in _INTS if a <= lo and hi <= b)
        if width[t] < width[schema[c]]:
            out[c] = t
    return out


def _narrow_integers(df: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Integer ``columns`` in the narrowest signed type that holds their values.

    A registry's 0/1 flags and grades often arrive as ``Int64``: eight bytes a row where one
    holds the value. Narrowed, every analysis reads a byte instead of eight and the study's
    peak memory drops (~0.8 GB at 10 million rows); the values, and so every result, are
    unchanged. A columnar source's columns are narrowed as they are read (a first query over
    just those columns finds their ranges: ~230,000 fewer page faults at 10 million rows
    than reading them wide); the rest, and derived integers, after the load.
    """
    if df.height == 0:
        return df
    casts = _narrow_types(df, columns)
    return df.with_columns(pl.col(c).cast(t) for c, t in casts.items()) if casts else df


def _derive(df: pl.DataFrame | pl.LazyFrame, derive: dict[str, str], *,
            coded: set[str] = frozenset()) -> pl.DataFrame | pl.LazyFrame:
    """Add the derived variables, in spec order (to a frame, or to a query).

    Consecutive expressions that do not read each other are evaluated together (Polars runs
    them in parallel); a batch that fails is redone one expression at a time, so the error
    names the failing expression.

    A variable in ``coded`` that is a CASE with string-literal results (:func:`case_levels`)
    is stored as an ``Enum`` of those levels (in sorted order, so that it groups, sorts and
    prints as the strings would): one byte per row instead of a string's 16, and no
    strings to compare or hash in the tables and tests that group by it. The study treats
    such a column as the strings it holds (see :meth:`riskset.study.run._Runner.cox_model`).
    """

    def expr_of(name: str, expr: str, *, enum: bool = True) -> pl.Expr:
        parsed = case_codes(expr) if enum and name in coded else None
        if parsed is None:
            return sql(expr).alias(name)
        levels, codes_sql = parsed
        dtype = pl.Enum(levels)
        # the codes themselves, then viewed as the Enum (no string made per row)
        physical = pl.Series(dtype=dtype).to_physical().dtype
        return sql(codes_sql).cast(physical).cat.to(dtype).alias(name)

    def one(frame: pl.DataFrame | pl.LazyFrame, name: str, expr: str) -> pl.DataFrame | pl.LazyFrame:
        try:
            return frame.with_columns(expr_of(name, expr))
        except Exception:
            pass
        try:  # as a plain expression (a literal the parse above misread fails the Enum cast)
            return frame.with_columns(expr_of(name, expr, enum=False))
        except Exception as exc:
            raise SpecError(f"derived variable {name!r} = {expr!r} failed: {exc}") from None

    def flush(frame: pl.DataFrame | pl.LazyFrame, batch: list[tuple[str, str]]) -> pl.DataFrame | pl.LazyFrame:
        if not batch:
            return frame
        try:
            frame = frame.with_columns(expr_of(name, expr) for name, expr in batch)
        except Exception:
            for name, expr in batch:
                frame = one(frame, name, expr)
        schema = frame.collect_schema()
        decimal = [n for n, _ in batch if isinstance(schema[n], pl.Decimal)]  # e.g. DECIMAL data
        return frame.with_columns(pl.col(n).cast(pl.Float64) for n in decimal) if decimal else frame

    batch: list[tuple[str, str]] = []
    for name, expr in derive.items():
        names = {n for n, _ in batch}
        if name in names or _roots(expr) & names:  # reads (or replaces) a column of this batch
            df = flush(df, batch)
            batch = []
        batch.append((name, expr))
    return flush(df, batch)


def apply_value_labels(df: pl.DataFrame, spec: Spec, available: list[str]) -> pl.DataFrame:
    """``[value_labels.COLUMN]``: the column becomes a Polars ``Enum`` of its labels, ordered
    as ``[levels]`` orders its levels (else as the labels are written). Every level in the
    data needs a label and every label a level in the data: either mistake is a
    :class:`~riskset.study.spec.SpecError` naming the key and its line."""
    from riskset.errors import RisksetError
    from riskset.io.validate import declare_levels

    for col, mapping in spec.value_labels.items():
        where = _where(spec.text, ["value_labels", col])
        if col not in df.columns:
            if col in available or col in spec.derive:
                continue  # a column no analysis reads: its labels change nothing
            close = difflib.get_close_matches(col, available, n=1)
            raise SpecError(f"key {where}: the data have no column {col!r}"
                            + (f"; did you mean {close[0]!r}?" if close else ""))
        order = list(spec.levels.get(col) or mapping)
        unlabelled = [lv for lv in order if lv not in mapping]
        extra = [lv for lv in mapping if lv not in order]
        if unlabelled or extra:
            raise SpecError(f"key {where} and [levels] {col!r} disagree: "
                            + (f"no label for {unlabelled!r}" if unlabelled else f"{extra!r} not in [levels]"))
        try:
            coded = declare_levels(df.select(col), {col: order}).get_column(col)
        except RisksetError as exc:
            raise SpecError(f"key {where}: {exc}; give every level of {col!r} a label") from None
        present = set(coded.drop_nulls().unique().cast(pl.String).to_list())
        absent = [lv for lv in order if lv not in present]
        if absent:
            where = _where(spec.text, ["value_labels", col, absent[0]])
            raise SpecError(f"key {where} labels level(s) {', '.join(map(repr, absent))}, which {col!r} does "
                            "not take in the data; levels found: " + ", ".join(map(repr, sorted(present))))
        labels = [mapping[lv] for lv in order]
        df = df.with_columns(coded.cast(pl.String).replace_strict(order, labels, return_dtype=pl.Enum(labels))
                             .alias(col))
    return df
