"""Typed errors and warnings raised by riskset.

Every error a user can trigger with bad input is a :class:`RisksetError`, which is also a
:class:`ValueError`, so ``except ValueError`` keeps working in generic code. Input problems that
concern a column carry structured fields (``column``, ``problem``, ``n_rows``, ``first_row``) so
that embedding tools can report them without parsing the message.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator


class RisksetError(ValueError):
    """Base class of every error riskset raises for bad input or bad options."""


class ColumnError(RisksetError):
    """A column is missing, has the wrong type, or holds invalid values.

    Parameters
    ----------
    column
        Name of the offending column.
    problem
        What is wrong, phrased to complete "column 'x' ...".
    n_rows
        How many rows have the problem (``None`` when the problem is not row-wise).
    first_row
        Zero-based index of the first offending row in the input as given (for tools); the
        message counts rows from 1, as a person reads a file ("first at row 1" = the first
        data row).
    """

    def __init__(
        self,
        column: str,
        problem: str,
        n_rows: int | None = None,
        first_row: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.column = column
        self.problem = problem
        self.n_rows = n_rows
        self.first_row = first_row
        self.hint = hint
        msg = f"column {column!r} {problem}"
        if n_rows is not None:
            msg += f" ({n_rows} row{'s' if n_rows != 1 else ''}"
            if first_row is not None:
                msg += f"; first at row {first_row + 1}"  # 1-based, in the input's order
            msg += ")"
        if hint:
            msg += f"; {hint}"
        super().__init__(msg)


class LevelOrderError(ColumnError):
    """A column's levels have no declared order where an analysis needs one (a trend test on
    text levels). ``levels`` lists them as found; the message says how to give the order."""

    def __init__(self, column: str, problem: str, *, levels: list[str], hint: str | None = None) -> None:
        self.levels = list(levels)
        super().__init__(column, problem, hint=hint)


class OptionError(RisksetError):
    """An option has a value outside its allowed set; the message lists the valid ones."""


class EmptyDataError(RisksetError):
    """The data (or one group of it) has no rows to analyse."""


class RisksetWarning(UserWarning):
    """Base class of riskset's warnings (e.g. rows with missing values excluded)."""


_quiet = threading.local()
_advice = threading.local()

#: How the Python API asks for the complete cases (the words of a missing-value error).
API_MISSING_ADVICE = "pass drop_missing=True (the default) to analyse the complete cases"


def missing_advice() -> str:
    """How the current interface asks for the complete cases (see :func:`advise_missing`)."""
    return getattr(_advice, "text", None) or API_MISSING_ADVICE


@contextlib.contextmanager
def advise_missing(text: str) -> Iterator[None]:
    """Within the block (this thread), a missing-value error ends with ``text`` (the command
    line's ``--missing complete-case``, the study spec's ``missing = "complete-case"``)
    instead of the Python keyword."""
    old = getattr(_advice, "text", None)
    _advice.text = text
    try:
        yield
    finally:
        _advice.text = old


def warn(message: str, category: type[Warning] = RisksetWarning, stacklevel: int = 1) -> None:
    """``warnings.warn`` for riskset's own warnings, unless this thread is :func:`quiet`.

    ``stacklevel`` counts as in ``warnings.warn`` from the caller of this function.
    """
    if not getattr(_quiet, "depth", 0):
        warnings.warn(message, category, stacklevel=stacklevel + 1)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Within the block, riskset's own warnings are not emitted in this thread (other threads
    are unaffected). For callers that keep the messages another way — a Cox fit's
    ``warnings`` — and run fits on several threads: ``warnings.catch_warnings`` changes
    process-wide state, so it can swallow, print or (under an ``error`` filter) raise
    another thread's warnings.
    """
    _quiet.depth = getattr(_quiet, "depth", 0) + 1
    try:
        yield
    finally:
        _quiet.depth -= 1


def check_choice(name: str, value: object, valid: tuple[str, ...] | list[str]) -> str:
    """Return ``value`` if it is one of ``valid``, else raise :class:`OptionError` listing them."""
    if not isinstance(value, str) or value not in valid:
        raise OptionError(
            f"{name}={value!r} is not valid; choose one of: " + ", ".join(repr(v) for v in valid)
        )
    return value
