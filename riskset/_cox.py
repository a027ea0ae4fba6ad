"""Cox proportional-hazards regression (R ``coxph``), with Firth's penalised likelihood.

Public function: :func:`cox`, returning :class:`CoxResult`. The numeric work is done by
:mod:`riskset.engine.cox` (likelihood passes, Newton–Raphson), :mod:`riskset.engine.cox_diag`
(residuals, baseline hazard, zph, concordance) and :mod:`riskset.engine.cox_firth`; this
module owns the data path (covariates, dummy coding, validation) and the result tables.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl
from scipy.special import chdtrc, ndtr, ndtri

from riskset._prepare import as_names
from riskset.engine import cox as ce
from riskset.engine import cox_diag as cd
from riskset.engine._jit import kernel
from riskset.engine.eventtable import event_table
from riskset.errors import ColumnError, OptionError, RisksetError, RisksetWarning, check_choice
from riskset.io.read import to_polars
from riskset.io.validate import validate_survival

#: Ties methods accepted by :func:`cox`.
TIES = ("efron", "breslow", "exact")


class MonotoneLikelihoodWarning(RisksetWarning):
    """A coefficient's partial likelihood keeps increasing: its estimate may be infinite."""


class ConvergenceWarning(RisksetWarning):
    """Newton–Raphson stopped at ``max_iter`` without meeting the convergence criterion."""


def _chisq_p(stat: float, df: int) -> float:
    if df <= 0 or not math.isfinite(stat):
        return float("nan")
    return float(chdtrc(df, stat))


def _compact_codes(codes: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Renumber codes ``0..n_keys-1`` to the levels still present (rows may have been dropped).

    Linear (a bincount), no sort. Returns ``(codes, used)`` with ``used`` the kept old codes.
    """
    present = np.bincount(codes, minlength=n_keys) > 0
    used = np.flatnonzero(present)
    if used.size < n_keys:
        codes = (np.cumsum(present, dtype=np.int64) - 1)[codes]
    return np.ascontiguousarray(codes, dtype=np.int64), used


def _exp(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.exp(x)


def _test(stat: float, df: int) -> dict[str, float]:
    return {"statistic": float(stat), "df": int(df), "p": _chisq_p(stat, df)}


# --------------------------------------------------------------------------------------
# design matrix
# --------------------------------------------------------------------------------------
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
            present = s.drop_nulls()
            if isinstance(dt, pl.Enum):
                lv = list(dt.categories.to_list())
                counts = {v: 0 for v in lv}
                for v, c in present.cast(pl.String).value_counts().iter_rows():
                    counts[v] = c
                empty = [v for v in lv if counts[v] == 0]
                if empty:
                    raise ColumnError(
                        name, f"(covariate) has levels with no rows: {', '.join(map(repr, empty))}",
                        hint="drop unused levels from the Enum (R would report NA coefficients)",
                    )
                values = present.cast(pl.String)
                full = s.cast(pl.String)
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
                # compared in Polars: no per-row Python objects for string columns
                col = (full == v).cast(pl.Float64).fill_null(np.nan).to_numpy()
                assign[name].append(len(terms))
                terms.append(f"{name}{_level_label(v)}")
                cols.append(col)
        elif dt.is_numeric():
            v = s.cast(pl.Float64).to_numpy()  # nulls become NaN; zero-copy when possible
            inf = np.isinf(v)
            if inf.any():
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
    """Perfectly collinear columns (of the centred matrix ``Xc``) raise, naming them."""
    p = Xc.shape[1]
    if p < 2:
        return
    G = Xc.T @ (Xc * w[:, None]) if weighted else Xc.T @ Xc
    dscale = np.sqrt(np.diag(G))
    R = G / np.outer(dscale, dscale)
    chol, rank, _ = ce.cholesky2(np.ascontiguousarray(R), 1e-9)
    if rank == p:
        return
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


# --------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------
@dataclass
class CoxResult:
    """A fitted Cox model (R ``coxph``); see :func:`cox`.

    Attributes
    ----------
    coefficients
        Polars table ``term, coef, se, robust_se, z, p, hr, hr_lower, hr_upper, monotone``.
        With ``robust``, ``z``, ``p`` and the CI use the robust standard error (R
        ``summary.coxph``). With ``firth``, ``p`` is the penalised likelihood-ratio p-value
        and the CI the profile penalised-likelihood interval (R ``coxphf``).
    loglik
        ``(initial, final)`` partial log-likelihood (penalised with ``firth``).
    lr_test, wald_test, score_test, robust_score_test
        Dicts ``statistic, df, p`` (R ``summary(fit)$logtest, waldtest, sctest, robscore``).
    concordance
        Harrell's C as R ``coxph`` reports it: ``value``, ``se`` and the pair counts.
    variance_matrix
        Variance of the coefficients (robust sandwich when ``robust``; ``naive_variance`` is
        the inverse information).
    """

    terms: list[str]
    coef: np.ndarray
    se: np.ndarray
    robust_se: np.ndarray | None
    variance_matrix: np.ndarray
    naive_variance: np.ndarray
    loglik: tuple[float, float]
    lr_test: dict[str, float]
    wald_test: dict[str, float]
    score_test: dict[str, float]
    robust_score_test: dict[str, float] | None
    n: int
    n_events: int
    iterations: int
    converged: bool
    ties: str
    robust: bool
    firth: bool
    conf_level: float
    monotone: np.ndarray
    warnings: list[str]
    means: np.ndarray
    strata: tuple[str, ...]
    strata_keys: pl.DataFrame
    _design: Design = field(repr=False)
    _data: ce.CoxData = field(repr=False)
    _beta_c: np.ndarray = field(repr=False)  # beta (same for centred covariates)
    _cluster: np.ndarray | None = field(repr=False)
    _rows: np.ndarray | None = field(repr=False)
    _n_input: int = field(repr=False)
    _offset_name: str | None = field(default=None, repr=False)
    _offset_mean: float = field(default=0.0, repr=False)
    _firth_ci: np.ndarray | None = field(default=None, repr=False)
    _firth_p: np.ndarray | None = field(default=None, repr=False)

    # ----------------------------------------------------------------------------------
    @cached_property
    def coefficients(self) -> pl.DataFrame:
        z_a = float(ndtri(1.0 - (1.0 - self.conf_level) / 2.0))
        se_use = self.robust_se if self.robust_se is not None else self.se
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            z = self.coef / se_use
            p = 2.0 * ndtr(-np.abs(z))
            lo = np.exp(self.coef - z_a * se_use)
            hi = np.exp(self.coef + z_a * se_use)
        if self.firth and self._firth_ci is not None:
            p = self._firth_p
            lo = np.exp(self._firth_ci[:, 0])
            hi = np.exp(self._firth_ci[:, 1])
        return pl.DataFrame(
            {
                "term": self.terms,
                "coef": self.coef,
                "se": self.se,
                "robust_se": self.robust_se if self.robust_se is not None else [None] * len(self.terms),
                "z": z,
                "p": p,
                "hr": _exp(self.coef),
                "hr_lower": lo,
                "hr_upper": hi,
                "monotone": self.monotone.astype(bool),
            },
            schema_overrides={"robust_se": pl.Float64},
        ).fill_nan(None)

    @cached_property
    def concordance(self) -> dict[str, float]:
        """Harrell's C (R ``coxph``'s ``concordance``): value, se and pair counts."""
        d = self._data
        lp = d.X @ self._beta_c + d.off  # R's linear predictor (offset included); shifts cancel
        uniq, rank = np.unique(lp, return_inverse=True)
        has_start = d.start is not None
        conc, disc, tied, n_row, d_row = cd.concordance_counts(
            rank.astype(np.int64), uniq.size,
            d.start if has_start else np.empty(0), d.time, d.status, d.wt, d.bounds,
            d.sorder if has_start else np.empty(0, dtype=np.int64), has_start,
        )
        npair = conc + disc + tied
        value = (conc + 0.5 * tied) / npair if npair > 0 else float("nan")
        infl = d.wt * (n_row - value * d_row) / npair if npair > 0 else np.zeros_like(d.wt)
        if self._cluster is not None:
            cl = self._cluster[d.order]
            infl = np.bincount(cl, weights=infl)
        se = float(math.sqrt(np.sum(infl**2)))
        return {"value": float(value), "se": se, "concordant": float(conc),
                "discordant": float(disc), "tied_risk": float(tied)}

    # ----------------------------------------------------------------------------------
    @cached_property
    def _table(self) -> cd.HazardTable:
        return cd.table(self._data, self._beta_c)

    @cached_property
    def _resid(self) -> dict[str, np.ndarray]:
        return cd.residuals(self._data, self._beta_c, self._table)

    def _unsort(self, x: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        out[self._data.order] = x
        return out

    def residuals(self, type: str = "martingale") -> np.ndarray:  # noqa: A002 - R's name
        """Residuals in input row order (rows analysed), as R ``residuals(fit, type)``.

        ``type``: ``"martingale"``, ``"deviance"``, ``"score"`` (n x p, unweighted),
        ``"dfbeta"`` (n x p, weighted by the case weights as R's default), ``"schoenfeld"``
        (use :meth:`schoenfeld`).
        """
        check_choice("type", type, ("martingale", "deviance", "score", "dfbeta", "schoenfeld"))
        if self.ties == "exact" and type in ("score", "dfbeta", "schoenfeld"):
            raise OptionError(f"{type} residuals are not available for ties='exact' (as R)")
        if type == "schoenfeld":
            return self.schoenfeld()["values"]
        r = self._resid
        if type == "martingale":
            return self._unsort(r["martingale"])
        if type == "deviance":
            m = r["martingale"]
            dth = self._data.status.astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                inner = np.where(dth > 0, dth * np.log(np.where(dth > 0, dth - m, 1.0)), 0.0)
                dev = np.sign(m) * np.sqrt(-2.0 * (m + inner))
            return self._unsort(dev)
        if type == "score":
            return self._unsort(r["score"])
        return self._unsort((self._data.wt[:, None] * r["score"]) @ self.naive_variance)

    def schoenfeld(self) -> dict[str, np.ndarray]:
        """Schoenfeld residuals: one row per event, sorted by (stratum, time) like R.

        Returns ``time``, ``row`` (zero-based input row), ``stratum`` (code) and ``values``
        (events x p).
        """
        if self.ties == "exact":
            raise OptionError("schoenfeld residuals are not available for ties='exact' (as R)")
        d = self._data
        r = self._resid
        dead = d.status != 0
        od = r["own"][dead]
        vals = d.X[dead] - self._table.xm[od]
        rows = d.order[dead]
        if self._rows is not None:
            rows = self._rows[rows]
        strat = np.repeat(np.arange(d.bounds.size - 1), np.diff(d.bounds))[dead]
        # R orders tied events by input row
        o = np.lexsort((rows, d.time[dead], strat))
        return {"time": d.time[dead][o], "row": rows[o], "stratum": strat[o], "values": vals[o]}

    # ----------------------------------------------------------------------------------
    def basehaz(self, *, centered: bool = False) -> pl.DataFrame:
        """Cumulative baseline hazard at every distinct exit time of each stratum.

        ``centered=False`` (default): at covariates 0, R ``basehaz(fit, centered = FALSE)``;
        ``centered=True``: at the covariate means (R's default). Increments are Breslow's
        for ``ties="breslow"`` and Efron's otherwise (R ``survfit.coxph``).
        """
        d = self._data
        ht = self._table
        # R: the baseline is at covariates 0 (or their means) and the offset at its mean
        shift = (0.0 if centered else -float(self.means @ self.coef)) + self._offset_mean
        out_t, out_h, out_s = [], [], []
        for s in range(d.bounds.size - 1):
            a, b = int(d.bounds[s]), int(d.bounds[s + 1])
            times = np.unique(d.time[a:b])
            t0, t1 = int(ht.offsets[s]), int(ht.offsets[s + 1])
            cum = np.concatenate([[0.0], np.cumsum(ht.dH1[t0:t1])])
            idx = np.searchsorted(ht.time[t0:t1], times, side="right")
            out_t.append(times)
            out_h.append(cum[idx] * math.exp(shift))
            out_s.append(np.full(times.size, s))
        body = pl.DataFrame({"time": np.concatenate(out_t), "hazard": np.concatenate(out_h)})
        if self.strata:
            keys = self.strata_keys[np.concatenate(out_s)]
            body = pl.concat([keys, body], how="horizontal")
        return body

    def _newdata(self, newdata: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Covariate matrix, offsets and stratum codes of ``newdata`` rows."""
        if isinstance(newdata, list):
            newdata = pl.DataFrame(newdata)
        frame = to_polars(newdata)
        n = frame.height
        X = np.zeros((n, len(self.terms)))
        for name, idx in self._design.assign.items():
            if name not in frame.columns:
                raise ColumnError(name, "(covariate) is not in newdata")
            s = frame.get_column(name)
            if name in self._design.levels:
                lv, ref = self._design.levels[name]
                non_ref = [x for x in lv if x != ref]
                for i, v in enumerate(s.to_list()):
                    if v not in lv:
                        raise ColumnError(name, f"has a level {v!r} not seen in the fit")
                    for k, col in enumerate(idx):
                        X[i, col] = 1.0 if v == non_ref[k] else 0.0
            else:
                X[:, idx[0]] = s.cast(pl.Float64).to_numpy()
        off = np.zeros(n)
        if self._offset_name is not None:
            if self._offset_name not in frame.columns:
                raise ColumnError(self._offset_name, "(offset) is not in newdata")
            off = frame.get_column(self._offset_name).cast(pl.Float64).to_numpy()
        codes = np.zeros(n, dtype=np.int64)
        if self.strata:
            keys = [tuple(str(v) for v in r) for r in self.strata_keys.iter_rows()]
            for i, r in enumerate(frame.select(list(self.strata)).iter_rows()):
                k = tuple(str(v) for v in r)
                if k not in keys:
                    raise RisksetError(f"newdata row {i} has a stratum {k} not in the fit")
                codes[i] = keys.index(k)
        return X, off, codes

    def survfit(self, newdata: Any, conf_level: float | None = None) -> list[pl.DataFrame]:
        """Predicted survival curves for covariate rows (R ``survfit(fit, newdata)``).

        One table per row of ``newdata`` (which needs the covariates, the offset and the
        strata columns of the fit): ``time`` (distinct exit times of the row's stratum),
        ``surv``, ``std_err`` (standard error of the cumulative hazard, R's ``std.err``),
        ``lower``, ``upper`` (log-transformed CI, R's default). The variance includes the
        uncertainty of the coefficients (``variance_matrix``, robust when the fit is).
        """
        level = self.conf_level if conf_level is None else conf_level
        z_a = float(ndtri(1.0 - (1.0 - level) / 2.0))
        Xn, offn, codes = self._newdata(newdata)
        d = self._data
        ht = self._table
        p = len(self.terms)
        V = self.variance_matrix
        out = []
        for row, o, s in zip(Xn, offn, codes, strict=True):
            a, b = int(d.bounds[s]), int(d.bounds[s + 1])
            t0, t1 = int(ht.offsets[s]), int(ht.offsets[s + 1])
            times = np.unique(d.time[a:b])
            idx = np.searchsorted(ht.time[t0:t1], times, side="right")
            cH = np.concatenate([[0.0], np.cumsum(ht.dH1[t0:t1])])[idx]
            cV = np.concatenate([[0.0], np.cumsum(ht.v1[t0:t1])])[idx]
            cX = np.concatenate([np.zeros((1, p)), np.cumsum(ht.dX1[t0:t1], axis=0)])[idx]
            xc = row - self.means
            risk = math.exp(float(xc @ self.coef) + float(o))
            H = cH * risk
            dvec = (cX - np.outer(cH, xc)) * risk
            var = cV * risk**2 + np.einsum("ij,jk,ik->i", dvec, V, dvec)
            se = np.sqrt(var)
            surv = np.exp(-H)
            out.append(pl.DataFrame({
                "time": times, "surv": surv, "std_err": se,
                "lower": surv * np.exp(-z_a * se),
                "upper": np.minimum(surv * np.exp(z_a * se), 1.0),
            }))
        return out

    # ----------------------------------------------------------------------------------
    def cox_zph(self, transform: str = "km", *, terms: bool = True) -> pl.DataFrame:
        """Test of proportional hazards (R ``cox.zph(fit, transform)``, survival >= 3.0).

        The score test for adding ``x * g(t)`` to the model, ``g`` the transformed time
        centred at its mean over events; per term (all its columns) and ``GLOBAL``.
        ``transform``: ``"km"`` (1 - left-continuous KM of all rows), ``"identity"``,
        ``"log"``, ``"rank"``.
        """
        check_choice("transform", transform, ("km", "identity", "log", "rank"))
        d = self._data
        t = d.time
        dead = d.status != 0
        if transform == "identity":
            g = t.copy()
        elif transform == "log":
            g = np.log(t)
        elif transform == "rank":
            from scipy.stats import rankdata

            g = rankdata(t)
        else:
            zero = np.zeros(t.size, dtype=np.int64)
            et = event_table(t, d.status, zero, 1, None, d.start)
            with np.errstate(divide="ignore", invalid="ignore"):
                surv = np.cumprod(1.0 - et.n_event / et.n_risk)
            idx = np.searchsorted(et.time, t, side="left")  # rows with time < t
            g = 1.0 - np.concatenate([[1.0], surv])[idx]
        g = g - g[dead].mean()
        has_start = d.start is not None
        u2, i11, i12, i22 = cd.zph_sums(
            d.X, d.start if has_start else np.empty(0), d.time, d.status, d.wt, d.off,
            self._beta_c, d.bounds, d.sorder if has_start else np.empty(0, dtype=np.int64),
            has_start, d.efron, np.ascontiguousarray(g),
        )
        p = len(self.terms)
        imat = np.block([[i11, i12], [i12.T, i22]])
        u = np.concatenate([np.zeros(p), u2])
        groups = list(self._design.assign.items()) if terms else [(t_, [j]) for j, t_ in enumerate(self.terms)]
        names, stats, dfs = [], [], []
        for name, cols in groups:
            kk = list(range(p)) + [p + j for j in cols]
            sub = imat[np.ix_(kk, kk)]
            stats.append(float(np.linalg.solve(sub, u[kk]) @ u[kk]))
            dfs.append(len(cols))
            names.append(name)
        names.append("GLOBAL")
        stats.append(float(np.linalg.solve(imat, u) @ u))
        dfs.append(p)
        return pl.DataFrame({"term": names, "chisq": stats, "df": dfs,
                             "p": [_chisq_p(s, k) for s, k in zip(stats, dfs, strict=True)]})

    # ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fit (coefficients, tests, concordance, settings)."""
        from riskset._km import _records

        return {
            "estimator": "cox",
            "ties": self.ties,
            "robust": self.robust,
            "firth": self.firth,
            "conf_level": self.conf_level,
            "strata": list(self.strata),
            "coefficients": _records(self.coefficients),
            "loglik": list(self.loglik),
            "lr_test": self.lr_test,
            "wald_test": self.wald_test,
            "score_test": self.score_test,
            "robust_score_test": self.robust_score_test,
            "concordance": self.concordance,
            "n": self.n,
            "n_events": self.n_events,
            "iterations": self.iterations,
            "converged": self.converged,
            "variance_matrix": self.variance_matrix.tolist(),
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------------------
# monotone likelihood
# --------------------------------------------------------------------------------------
def _monotone_binary(d: ce.CoxData, cols: list[int]) -> np.ndarray:
    """+1 / -1 / 0 per binary column: is the partial likelihood monotone in it?

    Monotone increasing (coefficient -> +inf) when every event happens in a row whose value
    is the largest among the rows at risk (no row with the high value is at risk when a
    low-value row has its event), and at least one event carries information; then the
    derivative in that coefficient is positive whatever the other coefficients are.
    """
    if not cols:
        return np.zeros(0, dtype=np.int8)
    sub = d.X[:, cols]
    Z = np.ascontiguousarray(sub == sub.max(axis=0), dtype=np.int8)
    has_start = d.start is not None
    return cd.monotone_binary(
        Z, d.start if has_start else np.empty(0), d.time, d.status, d.bounds,
        d.sorder if has_start else np.empty(0, dtype=np.int64), has_start,
    )


# --------------------------------------------------------------------------------------
# public function
# --------------------------------------------------------------------------------------
def cox(
    data: Any,
    *,
    time: str,
    event: str,
    covariates: str | Sequence[str],
    strata: str | Sequence[str] | None = None,
    entry: str | None = None,
    weights: str | None = None,
    cluster: str | None = None,
    robust: bool | None = None,
    offset: str | None = None,
    ties: str = "efron",
    firth: bool = False,
    conf_level: float = 0.95,
    reference: Mapping[str, Any] | None = None,
    drop_missing: bool = False,
    max_iter: int = 20,
    eps: float = 1e-9,
) -> CoxResult:
    """Cox proportional-hazards regression, matching R ``survival::coxph``.

    Parameters
    ----------
    data
        Any table :func:`riskset.io.read.to_polars` accepts.
    time, event
        Exit time and event (1 = event, 0 = censored) columns.
    covariates
        Column name(s). Numeric columns enter as they are; string, categorical, enum and
        boolean columns become treatment-coded dummies named like R (``armB``), with the
        first level in sorted order (enum: declared order) as reference.
    strata
        Stratification column(s): a separate baseline hazard per combination.
    entry
        Start time of counting-process rows ``(entry, time]`` (R ``Surv(start, stop, event)``).
    weights
        Case weights (must be > 0, as R).
    cluster
        Cluster id: robust variance from dfbeta residuals summed within clusters. Implies
        ``robust=True``.
    robust
        Robust (sandwich) variance. ``None`` (default) follows R: robust with ``cluster``
        or non-integer weights.
    offset
        Offset column (coefficient fixed at 1).
    ties
        ``"efron"`` (R's default) or ``"breslow"``.
    firth
        Firth's penalised partial likelihood (R ``coxphf``): finite estimates under monotone
        likelihood, profile-likelihood CIs and penalised likelihood-ratio p-values.
    conf_level
        Level of the hazard-ratio intervals.
    reference
        Reference level per categorical covariate, e.g. ``{"arm": "B"}``.
    drop_missing
        Drop rows with a missing value in any used column (and warn) instead of raising.
    max_iter, eps
        R ``coxph.control(iter.max, eps)``; ``toler.inf = sqrt(eps)``.

    Returns
    -------
    CoxResult
    """
    check_choice("ties", ties, TIES)
    if not (isinstance(conf_level, (int, float)) and 0.0 < conf_level < 1.0):
        raise OptionError(f"conf_level={conf_level!r} must be a number strictly between 0 and 1")
    if not (isinstance(max_iter, int) and max_iter >= 0):
        raise OptionError(f"max_iter={max_iter!r} must be a non-negative integer")
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise OptionError(f"eps={eps!r} must be positive")
    covs = list(as_names(covariates))
    if not covs:
        raise OptionError("covariates must name at least one column")
    if len(set(covs)) != len(covs):
        raise OptionError("covariates lists a column more than once")
    strata_names = as_names(strata)
    extra = [c for c in (cluster, offset) if c is not None]
    wanted = [time, event, *(c for c in (entry, weights) if c is not None), *strata_names, *covs, *extra]
    frame = to_polars(data, wanted)
    for c in covs + extra:
        if frame.height and frame.get_column(c).null_count() == frame.height:
            raise ColumnError(c, "is entirely missing")
    cols = validate_survival(
        frame, time=time, event=event, entry=entry, weights=weights, by=strata_names,
        drop_missing=drop_missing,
    )
    kept = frame if cols.rows is None else frame[cols.rows]
    design = build_design(kept, covs, reference)
    # missing covariates / offset / cluster
    miss = np.zeros(kept.height, dtype=bool)
    per_col = []
    for name, idx in design.assign.items():
        s_in = kept.get_column(name)
        if s_in.null_count() == 0 and not (s_in.dtype.is_float() and s_in.is_nan().any()):
            continue
        m = np.isnan(design.X[:, idx]).any(axis=1)
        per_col.append((name, m))
        miss |= m
    off_arr = None
    if offset is not None:
        s = kept.get_column(offset)
        if not s.dtype.is_numeric() or s.dtype == pl.Boolean:
            raise ColumnError(offset, f"(offset) must be numeric, got dtype {s.dtype}")
        off_arr = s.cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64, copy=True)
        m = np.isnan(off_arr)
        if m.any():
            per_col.append((offset, m))
        miss = miss | m
        if np.isinf(off_arr).any():
            raise ColumnError(offset, "(offset) has infinite values")
    cl_codes = None
    if cluster is not None:
        s = kept.get_column(cluster)
        m = s.is_null().to_numpy()
        if s.dtype.is_float():
            m = m | s.is_nan().fill_null(False).to_numpy()
        if m.any():
            per_col.append((cluster, m))
        miss = miss | m
    rows = cols.rows
    if per_col:
        if not drop_missing:
            name, m = per_col[0]
            idx = np.flatnonzero(m)
            first = int(idx[0]) if rows is None else int(rows[idx[0]])
            raise ColumnError(name, "has missing values (null or NaN)", int(idx.size), first,
                              hint="pass drop_missing=True to drop those rows")
        keep = ~miss
        if not keep.any():
            raise RisksetError("every row has a missing covariate; nothing is left")
        warnings.warn(
            f"dropped {int(miss.sum())} more rows with missing values ("
            + ", ".join(f"{c!r}: {int(m.sum())}" for c, m in per_col) + ")",
            RisksetWarning, stacklevel=2,
        )
        rows = np.flatnonzero(keep) if rows is None else rows[keep]
        kept = kept.filter(pl.Series(keep))
        design = Design(np.ascontiguousarray(design.X[keep]), design.terms, design.assign,
                        design.levels, [])
        tm, ev = cols.time[keep], cols.event[keep]
        ent = cols.entry[keep] if cols.entry is not None else None
        wts = cols.weights[keep] if cols.weights is not None else None
        codes = cols.codes[keep]
        if off_arr is not None:
            off_arr = off_arr[keep]
    else:
        tm, ev, ent, wts, codes = cols.time, cols.event, cols.entry, cols.weights, cols.codes
    keys = cols.keys
    if strata_names:
        codes, used = _compact_codes(codes, keys.height)
        keys = keys[used]
        n_strata = int(used.size)
    else:
        n_strata = 1
    if cluster is not None:
        _, cl_codes = np.unique(kept.get_column(cluster).to_numpy(), return_inverse=True)
        cl_codes = cl_codes.astype(np.int64)
    if wts is not None and np.any(wts <= 0):
        bad = np.flatnonzero(wts <= 0)
        raise ColumnError(weights, "(weights) must be > 0 for a Cox model (as R coxph)",
                          int(bad.size), int(bad[0]) if rows is None else int(rows[bad[0]]))
    if not ev.any():
        raise RisksetError("there are no events: the Cox model cannot be fitted")
    design = Design(design.X, design.terms, design.assign, design.levels, _check_constant(design))
    if cluster is not None and robust is False:
        warnings.warn("cluster is ignored with robust=False (as R coxph)", RisksetWarning,
                      stacklevel=2)
        cluster = None
        cl_codes = None
    if firth and (robust or cluster is not None):
        raise OptionError("firth=True has no robust variance (as R coxphf); drop robust/cluster")
    if robust is None:
        robust = not firth and (cluster is not None
                                or (wts is not None and bool(np.any(wts != np.floor(wts)))))
    if cluster is not None:
        robust = True

    exact = ties == "exact"
    if exact:
        if ent is not None:
            raise OptionError("ties='exact' is implemented for right-censored data only "
                              "(no entry); use 'efron'")
        if wts is not None and np.any(wts != 1):
            raise OptionError("case weights are not supported with ties='exact' (as R coxph)")
        if robust or firth:
            raise OptionError("ties='exact' does not support robust=True or firth=True "
                              "(R has no score residuals for the exact method)")
    d = ce.build(design.X, tm, ev, codes, n_strata, weights=wts, offset=off_arr, entry=ent,
                 efron=(ties == "efron"))
    p = design.X.shape[1]
    _check_collinear(design, d.X, d.wt, weighted=wts is not None)
    if exact:
        def fn(b):
            return ce.cox_pass_exact(d.X, d.time, d.status, d.off,
                                     np.ascontiguousarray(b, dtype=np.float64), d.bounds)
    else:
        def fn(b):
            return ce.evaluate(d, b)
    warn_msgs: list[str] = []
    # information at the start: a column with no variation inside the risk sets is not estimable
    first = fn(np.zeros(p))
    chol0, rank0, _ = ce.cholesky2(first[2], np.finfo(float).eps ** 0.75)
    if rank0 < p:
        bad = [design.terms[j] for j in range(p) if chol0[j, j] == 0.0]
        raise RisksetError(
            "coefficients not estimable (no variation within the risk sets at event times): "
            + ", ".join(repr(b) for b in bad)
        )

    firth_ci = firth_p = None
    if firth:
        from riskset.engine import cox_firth as cf

        ff = cf.fit_firth(d, max_iter=max(max_iter, 50), eps=eps)
        beta = ff.beta
        var = ff.var
        ll_init, ll_end = ff.pl_init, ff.pl
        iterations, converged = ff.iterations, ff.converged
        u_end = ff.score
        sctest = ff.score_test
        firth_ci, firth_p = cf.profile(d, ff, conf_level)
        lr = 2.0 * (ll_end - ll_init)
    else:
        nr = ce.newton(fn, np.zeros(p), max_iter=max_iter, eps=eps, first=first)
        beta, var = nr.beta, nr.var
        ll_init, ll_end = nr.loglik_init, nr.loglik
        iterations, converged = nr.iterations, nr.converged
        u_end = nr.score
        sctest = nr.score_test
        lr = 2.0 * (ll_end - ll_init)

    # monotone likelihood: R's rule and the direct check on binary columns
    monotone = np.zeros(p, dtype=bool)
    if not converged:
        msg = f"Newton-Raphson ran out of iterations ({max_iter}) and did not converge"
        warn_msgs.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    elif max_iter > 1 and not firth:
        infs = np.abs(u_end @ var)
        flag = (infs > eps) & (infs > math.sqrt(eps) * np.abs(beta))
        monotone |= flag
    why: dict[int, str] = {}
    bcols = [j for j in range(p) if design.binary[j]]
    for j, direction in zip(bcols, _monotone_binary(d, bcols), strict=True):
        if direction:
            monotone[j] = True
            why[j] = (
                "every event occurs in rows with its "
                + ("higher" if direction > 0 else "lower")
                + " value among those at risk (e.g. a level with no events)"
            )
    if monotone.any() and not firth:
        for j in np.flatnonzero(monotone):
            reason = why.get(j, "the log-likelihood converged before the coefficient did "
                                "(R: 'Loglik converged before variable')")
            msg = (f"monotone likelihood for {design.terms[j]!r}: {reason}; the coefficient "
                   "may be infinite and its standard error is unreliable; consider firth=True")
            warn_msgs.append(msg)
            warnings.warn(msg, MonotoneLikelihoodWarning, stacklevel=2)

    se = np.sqrt(np.diag(var))
    naive_var = var
    robust_se = None
    rscore = None
    cl = None
    if robust:
        res = cd.residuals(d, beta)
        dfb = (d.wt[:, None] * res["score"]) @ var
        cl = cl_codes[d.order] if cl_codes is not None else None
        if cl is not None:
            dfb = np.column_stack([np.bincount(cl, weights=dfb[:, j]) for j in range(p)])
        var = dfb.T @ dfb
        robust_se = np.sqrt(np.diag(var))
        # R: score residuals at the initial coefficients with the linear predictor set to 0
        d0 = d._replace(off=np.zeros_like(d.off))
        r0 = cd.residuals(d0, np.zeros(p))
        s0 = d.wt[:, None] * r0["score"]
        if cl is not None:
            s0 = np.column_stack([np.bincount(cl, weights=s0[:, j]) for j in range(p)])
        st, df_ = ce.wald_statistic(s0.T @ s0, s0.sum(axis=0), np.finfo(float).eps ** 0.75)
        rscore = _test(st, df_)
    wald, wdf = ce.wald_statistic(var, beta, np.finfo(float).eps ** 0.75)
    df_all = p
    return CoxResult(
        terms=list(design.terms),
        coef=beta,
        se=se,
        robust_se=robust_se,
        variance_matrix=var,
        naive_variance=naive_var,
        loglik=(float(ll_init), float(ll_end)),
        lr_test=_test(lr, df_all),
        wald_test=_test(wald, wdf),
        score_test=_test(sctest, df_all),
        robust_score_test=rscore,
        n=int(tm.size),
        n_events=int(ev.sum()),
        iterations=int(iterations),
        converged=bool(converged),
        ties=ties,
        robust=bool(robust),
        firth=bool(firth),
        conf_level=float(conf_level),
        monotone=monotone,
        warnings=warn_msgs,
        means=d.means,
        strata=tuple(strata_names),
        strata_keys=keys,
        _design=design,
        _data=d,
        _beta_c=beta,
        _cluster=cl_codes,
        _rows=rows,
        _n_input=cols.n_input,
        _offset_name=offset,
        _offset_mean=float(off_arr.mean()) if off_arr is not None else 0.0,
        _firth_ci=firth_ci,
        _firth_p=firth_p,
    )
