"""The Cox design matrix: covariates to columns (R's treatment coding), and its checks.

:func:`build_design` turns numeric covariates into columns as they are and categorical ones
(string, categorical, enum, boolean) into treatment-coded dummies against the first level
or a given reference, as R ``model.matrix`` does; :func:`_check_constant` and
:func:`_check_collinear` reject designs ``coxph`` would report as NA coefficients.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from riskset.engine import cox as ce
from riskset.engine._jit import kernel
from riskset.errors import ColumnError, OptionError, RisksetError


@dataclass(frozen=True)
class Design:
    X: np.ndarray  # float64[n, p] (input row order, raw scale)
    terms: list[str]  # column names (R coefficient names)
    assign: dict[str, list[int]]  # covariate -> its columns
    levels: dict[str, tuple[list[Any], Any]]  # categorical covariate -> (levels, reference)
    binary: list[bool]  # column takes exactly two values


_CATEGORICAL = (pl.String, pl.Categorical, pl.Enum, pl.Boolean)


def _is_categorical(dt: pl.DataType) -> bool:
    return isinstance(dt, _CATEGORICAL) or dt in (pl.String, pl.Categorical, pl.Boolean)


def _level_label(v: Any) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    return str(v)


def build_design(
    frame: pl.DataFrame, covariates: Sequence[str], reference: Mapping[str, Any] | None
) -> Design:
    """Numeric covariates as they are; categorical ones as treatment-coded dummies (R)."""
    reference = dict(reference or {})
    for k in reference:
        if k not in covariates:
            raise OptionError(f"reference={{{k!r}: ...}} names a column that is not a covariate")
    cols: list[np.ndarray] = []
    terms: list[str] = []
    assign: dict[str, list[int]] = {}
    levels: dict[str, tuple[list[Any], Any]] = {}
    n = frame.height
    for name in covariates:
        s = frame.get_column(name)
        dt = s.dtype
        if isinstance(dt, (pl.List, pl.Array, pl.Struct, pl.Object)):
            raise ColumnError(name, f"(covariate) has unsupported nested dtype {dt}")
        if _is_categorical(dt):
            codes = None  # an Enum's physical codes (float, NaN for null): no string compares
            if isinstance(dt, pl.Enum):
                lv = list(dt.categories.to_list())
                phys = s.to_physical()
                if phys.null_count() == 0:  # the integer codes themselves (no float copy)
                    codes = phys.to_numpy()
                    ok = codes
                else:
                    codes = phys.cast(pl.Float64).fill_null(np.nan).to_numpy()
                    ok = codes[~np.isnan(codes)].astype(np.int64)
                counts = np.bincount(ok, minlength=len(lv))
                empty = [v for v, c in zip(lv, counts, strict=True) if c == 0]
                if empty:
                    raise ColumnError(
                        name, f"(covariate) has levels with no rows: {', '.join(map(repr, empty))}",
                        hint="drop unused levels from the Enum (R would report NA coefficients)",
                    )
            else:
                if dt == pl.Categorical:
                    full = s.cast(pl.String)
                else:
                    full = s
                values = full.drop_nulls()
                lv = sorted(values.unique().to_list())
            if len(lv) < 2:
                raise ColumnError(
                    name, f"(covariate) has a single level {lv[0]!r}" if lv else "(covariate) has no values",
                    hint="a constant covariate has no effect to estimate",
                )
            ref = lv[0]
            if name in reference:
                ref = reference[name]
                if dt == pl.Boolean and isinstance(ref, str):
                    ref = {"TRUE": True, "FALSE": False, "true": True, "false": False}.get(ref, ref)
                if ref not in lv:
                    raise OptionError(
                        f"reference level {ref!r} of {name!r} is not one of its levels: "
                        + ", ".join(repr(v) for v in lv)
                    )
            assign[name] = []
            levels[name] = (lv, ref)
            for v in lv:
                if v == ref:
                    continue
                if codes is not None and codes.dtype.kind != "f":  # no nulls
                    col = (codes == lv.index(v)).astype(np.float64)
                elif codes is not None:  # NaN (null) compares unequal: restore it
                    col = np.where(np.isnan(codes), np.nan, (codes == lv.index(v)).astype(np.float64))
                else:  # compared in Polars: no per-row Python objects for string columns
                    col = (full == v).cast(pl.Float64).fill_null(np.nan).to_numpy()
                assign[name].append(len(terms))
                terms.append(f"{name}{_level_label(v)}")
                cols.append(col)
        elif dt.is_numeric():
            # without nulls the values as they are (converted as they are copied into the
            # design, not by a float64 copy first); with nulls as float64, nulls NaN
            plain = s.null_count() == 0 and (dt.is_integer() or dt.is_float())
            v = s.to_numpy() if plain else s.cast(pl.Float64).to_numpy()
            inf = np.isinf(v) if v.dtype.kind == "f" else None
            if inf is not None and inf.any():
                idx_inf = np.flatnonzero(inf)
                raise ColumnError(name, "(covariate) has infinite values", int(idx_inf.size),
                                  int(idx_inf[0]))
            assign[name] = [len(terms)]
            terms.append(name)
            cols.append(v)
        else:
            raise ColumnError(name, f"(covariate) has unsupported dtype {dt}",
                              hint="use a numeric, string, categorical, enum or boolean column")
    X = np.empty((n, len(cols)))
    for j, c in enumerate(cols):
        X[:, j] = c
    return Design(X, terms, assign, levels, [])


@kernel
def _distinct_upto3(X):
    """Per column: number of distinct values, capped at 3 (O(n p), no sort)."""
    n, p = X.shape
    out = np.zeros(p, dtype=np.int64)
    for k in range(p):
        if n == 0:
            continue
        v0 = X[0, k]
        v1 = v0
        cnt = 1
        for i in range(1, n):
            x = X[i, k]
            if x != v0 and (cnt == 1 or x != v1):
                if cnt == 1:
                    v1 = x
                    cnt = 2
                else:
                    cnt = 3
                    break
        out[k] = cnt
    return out


def _check_constant(design: Design) -> list[bool]:
    """Constant columns raise; returns which columns are binary (exactly two values)."""
    counts = _distinct_upto3(design.X)
    for j in range(len(design.terms)):
        if counts[j] < 2:
            cov = next(c for c, idx in design.assign.items() if j in idx)
            raise ColumnError(cov, f"(covariate) is constant ({design.terms[j]} = "
                              f"{design.X[0, j]:g}) in the rows analysed",
                              hint="a constant covariate has no effect to estimate")
    return [bool(c == 2) for c in counts]


def _check_collinear(design: Design, Xc: np.ndarray, w: np.ndarray, *, weighted: bool) -> None:
    """Perfectly collinear columns raise, naming them.

    Collinearity is judged on the columns centred at their (weighted) means, i.e. with an
    intercept: ``Xc`` is the model matrix as the fit holds it (R's centring leaves columns
    with values in {-1, 0, 1} as they are), so its Gram matrix is corrected here,
    ``G = Xc' W Xc - sum(w) mu mu'`` with ``mu`` the weighted column means of ``Xc`` (small:
    the other columns are centred already, these lie in [-1, 1]).
    """
    p = Xc.shape[1]
    if p < 2:
        return
    w_use = w if weighted else np.ones(Xc.shape[0])
    tot = float(w_use.sum())
    mu = (w_use @ Xc) / tot
    G = Xc.T @ (Xc * w[:, None]) if weighted else Xc.T @ Xc
    G = G - tot * np.outer(mu, mu)
    dscale = np.sqrt(np.diag(G))
    R = G / np.outer(dscale, dscale)
    chol, rank, _ = ce.cholesky2(np.ascontiguousarray(R), 1e-9)
    if rank == p:
        return
    Xc = Xc - mu
    aliased = [j for j in range(p) if chol[j, j] == 0.0]
    kept = [j for j in range(p) if j not in aliased]
    msgs = []
    for j in aliased:
        coef, *_ = np.linalg.lstsq(Xc[:, kept], Xc[:, j], rcond=None)
        big = [design.terms[k] for k, c in zip(kept, coef, strict=True) if abs(c) > 1e-8]
        msgs.append(f"{design.terms[j]!r} = linear combination of " + ", ".join(repr(b) for b in big))
    raise RisksetError(
        "covariates are perfectly collinear (R would report NA coefficients for the aliased "
        "terms " + ", ".join(repr(design.terms[j]) for j in aliased) + "): " + "; ".join(msgs)
    )

