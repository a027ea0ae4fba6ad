"""Spec mistakes that only the data can reveal, found before any analysis runs.

:func:`check_against_data` runs once the study's data are loaded (:mod:`riskset.study.load`)
and raises :class:`~riskset.study.spec.SpecError` naming the key, its line and a suggestion,
as the spec's own checks do:

* a ``reference`` level of a ``[[cox]]`` model that the column does not take (``"< 20"``
  where the data say ``"<= 20"``), or a ``reference`` for a column that is not a covariate;
* a Cox covariate (a ``[[cox]]`` covariate, or the column of a ``[[factor]]`` with
  ``hr = true``) that is constant in the whole data;
* a landmark past the last follow-up of its endpoint in the whole data (R's
  ``summary(fit, times)`` does not estimate it) unless ``extend = true``.

What depends on one cohort's or subgroup's data (too few events, one level in a cohort) is
not a spec mistake: the tables say it in a note.
"""

from __future__ import annotations

import difflib

import polars as pl

from riskset.study.spec import UNITS, Spec, SpecError, _where


def check_against_data(spec: Spec, df: pl.DataFrame) -> None:
    """Raise :class:`SpecError` for the first spec mistake the data reveal (module docstring)."""
    _check_references(spec, df)
    _check_constant_covariates(spec, df)
    _check_landmarks(spec, df)


def _categorical(dt: pl.DataType) -> bool:
    return dt in (pl.String, pl.Categorical, pl.Boolean) or isinstance(dt, (pl.Enum, pl.Categorical))


def _check_references(spec: Spec, df: pl.DataFrame) -> None:
    for i, m in enumerate(spec.cox, 1):  # the spec's own [[cox]] entries come first
        for col, level in (m.get("reference") or {}).items():
            where = _where(spec.text, ["cox", f"#{i}", "reference"])
            if col not in m["covariates"]:
                raise SpecError(f"key {where} of model {m['name']!r} names {col!r}, which is not one of its "
                                "covariates: " + ", ".join(map(repr, m["covariates"])))
            if col not in df.columns or not _categorical(df.schema[col]):
                continue  # a numeric covariate has no levels (the fit says so)
            levels = sorted(str(v) for v in df.get_column(col).drop_nulls().unique().to_list())
            if str(level) not in levels:
                close = difflib.get_close_matches(str(level), levels, n=1, cutoff=0.5)
                raise SpecError(f"key {where} of model {m['name']!r}: {level!r} is not a level of {col!r} "
                                "in the data; levels: " + ", ".join(map(repr, levels))
                                + (f"; did you mean {close[0]!r}?" if close else ""))


def _constant(s: pl.Series) -> bool:
    """One distinct non-missing value (without hashing a numeric column). A column missing
    for everyone is not "constant": its analyses say that it is missing for all patients."""
    v = s.drop_nulls()
    if v.dtype.is_float():
        v = v.filter(v.is_not_nan())
    if v.len() == 0:
        return False
    if isinstance(v.dtype, pl.Enum):
        v = v.to_physical()
    if v.dtype.is_numeric():
        return v.min() == v.max()
    return not bool((v != v[0]).any())


def _check_constant_covariates(spec: Spec, df: pl.DataFrame) -> None:
    for i, m in enumerate(spec.cox, 1):
        if m.get("categorical"):
            continue  # a [[factor]]'s model: checked below, at the factor's key
        for c in m["covariates"]:
            if c in df.columns and _constant(df.get_column(c)):
                raise SpecError(f"covariate {c!r} of model {m['name']!r} at {_where(spec.text, ['cox', f'#{i}', 'covariates'])} "
                                "is constant in the whole data: it has no effect to estimate; remove it "
                                "(or check the [derive] expression that makes it)")
    for i, f in enumerate(spec.factors, 1):
        c = f["column"]
        if f.get("hr") and c in df.columns and _constant(df.get_column(c)):
            raise SpecError(f"factor {f['name']!r} at {_where(spec.text, ['factor', f'#{i}', 'column'])} with "
                            f"hr = true: column {c!r} is constant in the whole data, so there is no hazard "
                            "ratio to estimate; remove hr = true (or check the column)")


def _last_time(df: pl.DataFrame, ep) -> float | None:
    """The endpoint's largest time over the rows with a time and an event (None: no rows)."""
    has_event = pl.col(ep.event_col).is_not_null()  # one query over two columns, no frame copy
    if ep.days_col and ep.days_col in df.columns:
        days = df.select(pl.col(ep.days_col).filter(has_event).max()).item()
        return None if days is None else float(days) * (1.0 / UNITS[ep.unit])  # as endpoint_time
    if ep.time_col not in df.columns:
        return None
    t = pl.col(ep.time_col)
    if df.schema[ep.time_col].is_float():
        has_event = has_event & t.is_not_nan()
    last = df.select(t.filter(has_event).max()).item()
    return None if last is None else float(last)


def _check_landmarks(spec: Spec, df: pl.DataFrame) -> None:
    for i, ep in enumerate(spec.endpoints, 1):
        if not ep.landmarks or ep.extend:
            continue
        last = _last_time(df, ep)
        if last is None:
            continue  # no follow-up at all: the tables say "no patients"
        for j, t in enumerate(ep.landmarks, 1):
            if t > last:
                raise SpecError(
                    f"key {_where(spec.text, ['endpoint', f'#{i}', 'landmarks'])}: item {j} ({t:g} {ep.unit}) is "
                    f"past the last follow-up of endpoint {ep.name!r} ({last:.4g} {ep.unit}), so its rate "
                    "cannot be estimated (as R summary(fit, times)); remove it, or set extend = true on the "
                    "endpoint or in [study] to show it with n at risk 0")
