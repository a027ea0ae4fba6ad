"""The shared data path: any table in, validated contiguous role arrays out.

Every estimator calls :func:`prepare` once; it reads only the role columns (projection
push-down for files and LazyFrames), applies the validation policy of
:mod:`riskset.io.validate`, and encodes groups. Estimators then hand the arrays to kernels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from riskset.io.read import to_polars
from riskset.io.validate import SurvivalColumns, validate_survival


def as_names(by: str | Sequence[str] | None) -> tuple[str, ...]:
    """Normalise a ``by`` argument (None, one name, or several) to a tuple of names."""
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    return tuple(by)


def prepare(
    data: Any,
    *,
    time: str,
    event: str,
    by: str | Sequence[str] | None = None,
    entry: str | None = None,
    weights: str | None = None,
    drop_missing: bool = False,
    levels: Mapping[str, Sequence[Any]] | None = None,
) -> SurvivalColumns:
    """Read and validate the role columns of ``data`` (see :mod:`riskset.io.validate`)."""
    by_names = as_names(by)
    wanted = [time, event, *(c for c in (entry, weights) if c is not None), *by_names]
    frame = to_polars(data, wanted, levels, plain=[c for c in (time, event, entry, weights) if c])
    return validate_survival(
        frame,
        time=time,
        event=event,
        entry=entry,
        weights=weights,
        by=by_names,
        drop_missing=drop_missing,
    )
