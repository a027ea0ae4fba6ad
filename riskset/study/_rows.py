"""A study's rows: cohort masks, SQL conditions on the data, and each endpoint's usable
rows ordered once (:func:`build_endpoint_rows`, :class:`EndpointRows`) for every analysis of the
endpoint (:mod:`riskset.study.run`).

Cohorts are boolean row masks over the loaded frame, never copies. A condition (a cohort
filter, an endpoint population) that fails or is not true/false is a
:class:`~riskset.study.spec.SpecError` naming the cohort or endpoint, its key and line, and
the expression.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import polars as pl

from riskset.study._order import ordered_frame, time_order
from riskset.study.load import endpoint_time
from riskset.study.spec import Endpoint, Spec, SpecError, _where, sql

OVERALL = "Overall"


def cohort_masks(spec: Spec, df: pl.DataFrame) -> dict[str, pl.Series | None]:
    """Row mask of each cohort (None: every row). Cohorts are masks, never copies of the data."""
    filtered = [c for c in spec.cohorts if c.get("filter")]
    where = {c["name"]: f"cohort {c['name']!r}: filter at {_where(spec.text, ['cohort', f'#{j}', 'filter'])}"
             for j, c in enumerate(spec.cohorts, 1)}
    try:  # every filter in one parallel pass
        flags = df.select(sql(c["filter"]).fill_null(False).alias(f"__cohort_{i}") for i, c in enumerate(filtered))
    except Exception:  # one at a time, so that the error names the failing cohort
        flags = [_condition(df, c["filter"], where[c["name"]]) for c in filtered]
    mask = {c["name"]: _check_mask(flags[i] if isinstance(flags, list) else flags.to_series(i), c["filter"],
                                   where[c["name"]], df.height)
            for i, c in enumerate(filtered)}
    return {OVERALL: None, **{c["name"]: mask.get(c["name"]) for c in spec.cohorts}}


def _row_mask(df: pl.DataFrame, expr: str, what: str) -> pl.Series:
    """The rows of ``df`` where SQL condition ``expr`` is true (missing: false); a failing
    or non-boolean condition is a :class:`SpecError` naming ``what`` and the expression."""
    return _check_mask(_condition(df, expr, what), expr, what, df.height)


def _condition(df: pl.DataFrame, expr: str, what: str) -> pl.Series:
    """SQL condition ``expr`` evaluated on ``df`` (missing: false), unchecked; a failure is a
    :class:`SpecError` naming ``what`` and the expression."""
    try:
        return df.select(sql(expr).fill_null(False)).to_series()
    except Exception as exc:
        raise SpecError(f"{what}: {expr!r} failed: {exc}") from None


def _check_mask(m: pl.Series, expr: str, what: str, n: int) -> pl.Series:
    """``m`` as a mask of ``n`` rows: boolean, a constant condition (``1 = 1``) repeated."""
    if m.dtype != pl.Boolean:
        raise SpecError(f"{what}: {expr!r} gives {m.dtype} values, not true/false (write a condition, "
                        "e.g. column = 'value' or column >= 3)")
    if m.len() != n:  # a condition that reads no column: one value for every row
        m = pl.repeat(bool(m[0]) if m.len() else False, n, eager=True, dtype=pl.Boolean).alias(m.name)
    return m


def _endpoint_columns(spec: Spec, ep: Endpoint) -> list[str]:
    """The columns any analysis of ``ep`` reads: time, event, factors, Cox terms, comparisons."""
    cols = [ep.time_col, ep.event_col]
    cols += [f["column"] for f in spec.factors if f.get("endpoint", ep.name) == ep.name]
    for m in spec.cox:
        if m["endpoint"] == ep.name:
            cols += [*m["covariates"], *(m.get("strata") or [])]
    cols += [c["column"] for c in spec.compare if c["endpoint"] == ep.name]
    return list(dict.fromkeys(cols))


@dataclass
class EndpointRows:
    """One endpoint's usable rows, ordered once by time and reused by every analysis."""

    frame: pl.DataFrame  # population rows with time and event present, sorted by (time, event)
    flags: dict[str, str | None]  # cohort -> name of its boolean column in ``frame`` (None: all)
    n_population: dict[str, int]  # cohort -> rows in the endpoint's population
    _columns: dict[tuple[str, str], pl.Series] = field(default_factory=dict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._locks.update({c: threading.Lock() for c in self.flags})

    def cohort(self, cname: str, columns: list[str]) -> tuple[pl.DataFrame, int]:
        """(``columns`` of ``cname``'s usable rows in time order, rows of its population
        without a time). Each column of a cohort is filtered once, when first asked for, and
        shared; columns no analysis of the cohort reads are never filtered."""
        flag = self.flags[cname]
        columns = list(dict.fromkeys(columns))
        if flag is None:
            rows = self.frame.select(columns)
        else:
            with self._locks[cname]:
                missing = [c for c in columns if (cname, c) not in self._columns]
                if missing:
                    part = self.frame.select(missing).filter(self.frame.get_column(flag))
                    self._columns.update({(cname, c): part.get_column(c) for c in missing})
                rows = pl.DataFrame([self._columns[(cname, c)] for c in columns])
        return rows, self.n_population[cname] - rows.height

    def labelled(self, names: list[str], dtype: pl.Enum, columns: list[str]) -> pl.DataFrame | None:
        """``columns`` of the rows of cohorts ``names``, in time order, with a ``cohort``
        column (``dtype``) naming each row's cohort: the cohorts compared on one curve plot,
        without stacking copies of their rows. None when a row is in more than one of them
        (or one is unfiltered): the caller then stacks the cohorts' rows."""
        flags = [self.flags.get(n) for n in names]
        if not flags or any(f is None for f in flags):
            return None
        k = self.frame.select(pl.sum_horizontal(pl.col(f).cast(pl.UInt8) for f in flags)).to_series()
        if k.len() == 0 or k.max() > 1:
            return None
        label = pl.when(pl.col(flags[0])).then(pl.lit(names[0], dtype=dtype))
        for f, n in zip(flags[1:], names[1:], strict=True):
            label = label.when(pl.col(f)).then(pl.lit(n, dtype=dtype))
        out = self.frame.select(*columns, label.alias("cohort"))
        return out.filter(k > 0) if k.min() == 0 else out


def build_endpoint_rows(spec: Spec, df: pl.DataFrame, masks: dict[str, pl.Series | None], ep: Endpoint) -> EndpointRows:
    """``ep``'s usable rows (its population, time and event present) with the columns its
    analyses read and a flag column per cohort they need, compacted and put in time order
    once (:mod:`riskset.study._order`); a date-derived endpoint's time computed from the days
    of the ordered rows."""
    cohorts = ep.cohorts or list(masks)
    needed = set(cohorts)
    for fac in spec.factors:
        if fac.get("endpoint", ep.name) == ep.name:
            needed |= set(fac.get("cohorts") or cohorts)
    needed |= {m.get("cohort", OVERALL) for m in spec.cox if m["endpoint"] == ep.name}
    needed |= {c.get("cohort", OVERALL) for c in spec.compare if c["endpoint"] == ep.name}
    needed |= {c["name"] for c in spec.cohorts} if ep.figure else set()
    flags = {c: (None if masks[c] is None else f"__cohort_{i}") for i, c in enumerate(masks)
             if c in needed}
    # a date-derived endpoint's rows carry its whole days; the time (days / unit) is
    # computed once they are ordered (riskset.study.load.endpoint_time)
    days = ep.days_col if ep.days_col in df.columns else None
    t = days or ep.time_col
    columns = [t if c == ep.time_col else c for c in _endpoint_columns(spec, ep)]
    frame = df.select(columns).with_columns(
        masks[c].alias(f) for c, f in flags.items() if f is not None)
    if ep.population:  # evaluated on the whole frame: it may read columns the analyses do not
        k = next(i for i, e in enumerate(spec.endpoints, 1) if e.name == ep.name)
        at = _where(spec.text, ["endpoint", f"#{k}", "population"])
        frame = frame.filter(_row_mask(df, ep.population, f"endpoint {ep.name!r}: population at {at}"))
    n_pop = {c: (frame.height if f is None else int(frame.get_column(f).sum())) for c, f in flags.items()}
    frame = frame.filter(pl.col(t).is_not_null() & pl.col(ep.event_col).is_not_null())
    if frame.height > 1:  # compacted and ordered once (riskset.study._order)
        order = time_order(frame, t, ep.event_col, days)  # by days: the same order as by time
        frame = ordered_frame(frame, order, {t, ep.event_col})
    if days:
        frame = frame.select(endpoint_time(ep, frame.get_column(c)) if c == days else pl.col(c)
                             for c in frame.columns)
    return EndpointRows(frame=frame, flags=flags, n_population=n_pop)
