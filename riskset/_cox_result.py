"""The fitted Cox model object (R ``coxph``) and its tables: coefficients, tests, residuals,
baseline hazard, predictions, proportional-hazards test and concordance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl
from scipy.special import chdtrc, ndtr, ndtri

from riskset import _display
from riskset._cox_design import Design
from riskset._display import Displayed
from riskset.engine import cox as ce
from riskset.engine import cox_diag as cd
from riskset.engine.eventtable import event_table
from riskset.errors import ColumnError, OptionError, check_choice
from riskset.io.read import to_polars


def _chisq_p(stat: float, df: int) -> float:
    if df <= 0 or not math.isfinite(stat):
        return float("nan")
    return float(chdtrc(df, stat))



def _exp(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.exp(x)



@dataclass(repr=False)
class CoxResult(Displayed):
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
    _time_name: str | None = field(default=None, repr=False)
    _offset_mean: float = field(default=0.0, repr=False)
    _firth_ci: np.ndarray | None = field(default=None, repr=False)
    _firth_p: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_excluded(self) -> int:
        """Rows of the input left out for a missing value in a used column (complete cases)."""
        return int(self._n_input - self.n)

    # ----------------------------------------------------------------------------------
    @property
    def references(self) -> dict[str, dict[str, Any]]:
        """Each categorical covariate's levels (in the order used) and its reference level,
        as text: ``{"celltype": {"levels": [...], "reference": "squamous"}}``. The default
        reference is the first level of the level order (:mod:`riskset.io.validate`)."""
        from riskset._cox_design import _level_label

        return {name: {"levels": [_level_label(v) for v in lv], "reference": _level_label(ref)}
                for name, (lv, ref) in self._design.levels.items()}

    def references_text(self) -> str:
        """``"celltype = squamous; arm = A"``: the reference level of each factor."""
        return "; ".join(f"{k} = {v['reference']}" for k, v in self.references.items())

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
            schema_overrides={"term": pl.String, "robust_se": pl.Float64},
        ).fill_nan(None)

    @cached_property
    def concordance(self) -> dict[str, float]:
        """Harrell's C (R ``coxph``'s ``concordance``): value, se and pair counts.

        R ``concordancefit(y, lp, strata, weights, cluster, reverse = TRUE)``, computed by
        :func:`riskset._concordance.concordance_arrays` (the kernel of :func:`riskset.concordance`).
        """
        from riskset._concordance import concordance_arrays

        d = self._data
        lp = d.X @ self._beta_c + d.off  # R's linear predictor (offset included); shifts cancel
        codes = np.repeat(np.arange(d.bounds.size - 1), np.diff(d.bounds))
        cluster = None if self._cluster is None else self._cluster[d.order]
        r = concordance_arrays(d.time, d.status, lp, codes=codes, weights=d.wt, entry=d.start,
                               reverse=True, cluster=cluster, cox_variance=False)
        tot = r["count"].sum(axis=0)
        return {"value": r["value"], "se": float(math.sqrt(r["variance"])), "concordant": float(tot[0]),
                "discordant": float(tot[1]), "tied_risk": float(tot[2])}

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
        if not self.terms and type in ("score", "dfbeta", "schoenfeld"):
            raise OptionError(f"{type} residuals do not exist for the null model (no covariates; as R)")
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
        if not self.terms:
            raise OptionError("schoenfeld residuals do not exist for the null model (no covariates; as R)")
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

    @cached_property
    def linear_predictors(self) -> np.ndarray:
        """R ``fit$linear.predictors`` in input row order (rows analysed):
        ``(x - means)' b + offset - mean(offset)``, with R's :attr:`means` (0 for columns
        whose values all lie in {-1, 0, 1}) and the offset centred at its unweighted mean
        (R ``coxph`` centres the offset before fitting)."""
        d = self._data
        return self._unsort(d.X @ self._beta_c + (d.off - d.off.mean()))

    def predict(self, type: str = "lp", *, reference: str = "strata") -> np.ndarray:  # noqa: A002 - R's name
        """R ``predict(fit, type, reference)`` for the rows analysed (input row order).

        ``type``: ``"lp"`` or ``"risk"`` (``exp(lp)``). ``reference`` follows R
        ``predict.coxph``: ``"strata"`` (R's default) centres the covariates at their
        case-weighted means within each stratum of a stratified model and the offset at its
        mean; ``"zero"`` uses the covariates as they are with the offset at its mean
        (:attr:`linear_predictors` when every entry of :attr:`means` is 0, as R);
        ``"sample"``, and ``"strata"`` without strata, give :attr:`linear_predictors`.
        """
        check_choice("type", type, ("lp", "risk"))
        check_choice("reference", reference, ("strata", "sample", "zero"))
        d = self._data
        b = self._beta_c
        if self.strata and reference == "strata":
            n_s = int(d.bounds.size - 1)
            codes = np.repeat(np.arange(n_s), np.diff(d.bounds))
            tot = np.bincount(codes, weights=d.wt, minlength=n_s)
            xm = np.zeros((n_s, d.X.shape[1]))
            for j in range(d.X.shape[1]):
                xm[:, j] = np.bincount(codes, weights=d.wt * d.X[:, j], minlength=n_s) / tot
            lp = self._unsort((d.X - xm[codes]) @ b + (d.off - d.off.mean()))
        elif reference == "zero" and np.any(self.means != 0):
            lp = self._unsort((d.X + self.means) @ b + (d.off - d.off.mean()))
        else:
            lp = self.linear_predictors.copy()
        return np.exp(lp) if type == "risk" else lp

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

    @staticmethod
    def _newdata_error(name: str, problem: str, bad: np.ndarray) -> ColumnError:
        """A ColumnError for rows ``bad`` (boolean) of newdata, naming the first row (1-based)."""
        idx = np.flatnonzero(bad)
        err = ColumnError(name, f"{problem}: newdata row {int(idx[0]) + 1} (counted from 1)", int(idx.size))
        err.first_row = int(idx[0])
        return err

    def _newdata(self, newdata: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Covariate matrix, offsets and stratum codes of ``newdata`` rows.

        Raises :class:`ColumnError` for a missing column, a missing or non-numeric value, an
        unseen factor level or stratum, naming the column and the first such row (1-based)."""
        if isinstance(newdata, list):
            newdata = pl.DataFrame(newdata)
        frame = to_polars(newdata)
        n = frame.height
        X = np.zeros((n, len(self.terms)))

        def numeric(name: str, role: str) -> np.ndarray:
            s = frame.get_column(name)
            if not s.dtype.is_numeric() or s.dtype == pl.Boolean:
                raise ColumnError(name, f"({role}) must be numeric in newdata, got dtype {s.dtype}")
            v = s.cast(pl.Float64).fill_null(np.nan).to_numpy()
            bad = ~np.isfinite(v)
            if bad.any():
                raise self._newdata_error(name, f"({role}) has a missing or infinite value", bad)
            return v

        from riskset._cox_design import _level_label

        for name, idx in self._design.assign.items():
            if name not in frame.columns:
                raise ColumnError(name, "(covariate) is not in newdata")
            s = frame.get_column(name)
            if name in self._design.levels:
                lv, ref = self._design.levels[name]
                non_ref = [x for x in lv if x != ref]
                by_text = {_level_label(x): x for x in lv}  # levels declared as text (levels=)
                vals = s.to_list()
                known = np.ones(n, dtype=bool)
                for i, v in enumerate(vals):
                    if v not in lv:
                        v = by_text.get(_level_label(v), v) if v is not None else v
                    if v is None or v not in lv:
                        known[i] = False
                        continue
                    for k, col in enumerate(idx):
                        X[i, col] = 1.0 if v == non_ref[k] else 0.0
                if not known.all():
                    first = vals[int(np.flatnonzero(~known)[0])]
                    what = ("(covariate) has a missing value" if first is None else
                            f"(covariate) has a level {first!r} not seen in the fit "
                            f"(levels: {', '.join(_level_label(x) for x in lv)})")
                    raise self._newdata_error(name, what, ~known)
            else:
                X[:, idx[0]] = numeric(name, "covariate")
        off = np.zeros(n)
        if self._offset_name is not None:
            if self._offset_name not in frame.columns:
                raise ColumnError(self._offset_name, "(offset) is not in newdata")
            off = numeric(self._offset_name, "offset")
        codes = np.zeros(n, dtype=np.int64)
        if self.strata:
            for name in self.strata:
                if name not in frame.columns:
                    raise ColumnError(name, "(strata) is not in newdata")
            keys = [tuple(str(v) for v in r) for r in self.strata_keys.iter_rows()]
            bad = np.zeros(n, dtype=bool)
            for i, r in enumerate(frame.select(list(self.strata)).iter_rows()):
                k = tuple(str(v) for v in r)
                if k not in keys:
                    bad[i] = True
                else:
                    codes[i] = keys.index(k)
            if bad.any():
                raise self._newdata_error(", ".join(self.strata), "(strata) has a stratum not in the fit", bad)
        return X, off, codes

    def predict_newdata(self, newdata: Any, type: str = "lp", *,  # noqa: A002 - R's name
                        reference: str = "strata", time: str | None = None) -> pl.DataFrame:
        """R ``predict(fit, newdata, type, reference, se.fit = TRUE)`` for the rows of ``newdata``.

        Returns a table ``fit, se_fit`` (one row per newdata row, in order). ``type``:
        ``"lp"``, ``"risk"`` (R's ``se.fit`` for risk is ``se(lp) * sqrt(risk)``, as R
        3.5-3), ``"expected"`` (the cumulative hazard at the row's ``time``, times its
        risk) or ``"survival"`` (``exp(-expected)``). ``time`` names the newdata time column
        for ``expected``/``survival`` (default: the fit's time column). The covariates are
        centred as R: at the case-weighted stratum means with ``reference="strata"`` in a
        stratified model, at :attr:`means` otherwise (``"zero"``: not at all; lp/risk only).
        """
        check_choice("type", type, ("lp", "risk", "expected", "survival"))
        check_choice("reference", reference, ("strata", "sample", "zero"))
        Xn, offn, codes = self._newdata(newdata)
        d = self._data
        V = self.variance_matrix
        if type in ("lp", "risk"):
            b = self._beta_c
            if self.strata and reference == "strata":
                n_s = int(d.bounds.size - 1)
                sc = np.repeat(np.arange(n_s), np.diff(d.bounds))
                tot = np.bincount(sc, weights=d.wt, minlength=n_s)
                xm = np.zeros((n_s, d.X.shape[1]))
                for j in range(d.X.shape[1]):
                    # d.X is centred at means: add them back before the stratum means
                    xm[:, j] = np.bincount(sc, weights=d.wt * (d.X[:, j] + self.means[j]), minlength=n_s) / tot
                xc = Xn - xm[codes]
            elif reference == "zero":
                xc = Xn
            else:
                xc = Xn - self.means
            lp = xc @ b + (offn - d.off.mean())
            se = np.sqrt(np.einsum("ij,jk,ik->i", xc, V, xc))
            if type == "risk":
                lp = np.exp(lp)
                se = se * np.sqrt(lp)
            return pl.DataFrame({"fit": lp, "se_fit": se})
        if self._offset_name is not None:
            raise OptionError(f"type={type!r} predictions are not available for a model with an offset")
        if self._data.start is not None:
            raise OptionError(f"type={type!r} predictions for (entry, time) models are not available")
        tname = time or self._time_name
        if tname is None:
            raise OptionError(f"type={type!r} needs the time column of newdata: pass time=")
        frame = to_polars(newdata if not isinstance(newdata, list) else pl.DataFrame(newdata))
        if tname not in frame.columns:
            raise ColumnError(tname, f"(time) is not in newdata; type={type!r} needs it")
        s = frame.get_column(tname)
        if not s.dtype.is_numeric() or s.dtype == pl.Boolean:
            raise ColumnError(tname, f"(time) must be numeric in newdata, got dtype {s.dtype}")
        tv = s.cast(pl.Float64).fill_null(np.nan).to_numpy()
        bad = ~np.isfinite(tv)
        if bad.any():
            raise self._newdata_error(tname, "(time) has a missing or infinite value", bad)
        ht = self._table
        fit = np.empty(tv.size)
        se = np.empty(tv.size)
        xc = Xn - self.means
        risk = np.exp(xc @ self.coef)
        p = len(self.terms)
        for sidx in np.unique(codes):  # one pass per stratum, vectorised over its rows
            rows = np.flatnonzero(codes == sidx)
            t0, t1 = int(ht.offsets[sidx]), int(ht.offsets[sidx + 1])
            k = np.searchsorted(ht.time[t0:t1], tv[rows], side="right")
            cH = np.concatenate([[0.0], np.cumsum(ht.dH1[t0:t1])])[k]
            cV = np.concatenate([[0.0], np.cumsum(ht.v1[t0:t1])])[k]
            cX = np.concatenate([np.zeros((1, p)), np.cumsum(ht.dX1[t0:t1], axis=0)])[k]
            r = risk[rows]
            dvec = (cX - cH[:, None] * xc[rows]) * r[:, None]
            fit[rows] = cH * r
            se[rows] = np.sqrt(cV * r**2 + np.einsum("ij,jk,ik->i", dvec, V, dvec))
        if type == "survival":
            fit = np.exp(-fit)
            se = se * fit
        return pl.DataFrame({"fit": fit, "se_fit": se})

    def survfit(self, newdata: Any = None, conf_level: float | None = None) -> list[pl.DataFrame]:
        """Predicted survival curves (R ``survfit(fit, newdata)``).

        With ``newdata``: one table per row (the row needs the covariates, the offset and the
        strata columns of the fit). Without: R's default curve, covariates at :attr:`means`
        and the offset at its (case-weighted) mean, one table per stratum in the order of
        ``strata_keys``. Columns: ``time`` (distinct exit times of the stratum), ``surv``,
        ``std_err`` (standard error of the cumulative hazard, R's ``std.err``), ``lower``,
        ``upper`` (log-transformed CI, R's default; null where ``surv`` is 0, as R's NA).
        The variance includes the uncertainty of the coefficients (``variance_matrix``,
        robust when the fit is).
        """
        level = self.conf_level if conf_level is None else conf_level
        z_a = float(ndtri(1.0 - (1.0 - level) / 2.0))
        if newdata is None:
            n_s = int(self._data.bounds.size - 1)
            Xn = np.tile(self.means, (n_s, 1))
            offn = np.full(n_s, self._offset_mean)
            codes = np.arange(n_s, dtype=np.int64)
        else:
            Xn, offn, codes = self._newdata(newdata)
        return [self._curve(row, float(o), int(s), z_a) for row, o, s in zip(Xn, offn, codes, strict=True)]

    def _curve(self, row: np.ndarray, o: float, s: int, z_a: float) -> pl.DataFrame:
        """One predicted curve: covariates ``row``, offset ``o``, stratum code ``s``."""
        d = self._data
        ht = self._table
        p = len(self.terms)
        a, b = int(d.bounds[s]), int(d.bounds[s + 1])
        t0, t1 = int(ht.offsets[s]), int(ht.offsets[s + 1])
        times = np.unique(d.time[a:b])
        idx = np.searchsorted(ht.time[t0:t1], times, side="right")
        cH = np.concatenate([[0.0], np.cumsum(ht.dH1[t0:t1])])[idx]
        cV = np.concatenate([[0.0], np.cumsum(ht.v1[t0:t1])])[idx]
        cX = np.concatenate([np.zeros((1, p)), np.cumsum(ht.dX1[t0:t1], axis=0)])[idx]
        xc = row - self.means
        risk = math.exp(float(xc @ self.coef) + o)
        H = cH * risk
        dvec = (cX - np.outer(cH, xc)) * risk
        var = cV * risk**2 + np.einsum("ij,jk,ik->i", dvec, self.variance_matrix, dvec)
        se = np.sqrt(var)
        surv = np.exp(-H)
        # R survfit_confint (conf.type "log"): S = 0 has no interval, both limits NA
        zero = surv == 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            lower = np.where(zero, np.nan, surv * np.exp(-z_a * se))
            upper = np.where(zero, np.nan, np.minimum(surv * np.exp(z_a * se), 1.0))
        return pl.DataFrame({
            "time": times, "surv": surv, "std_err": se,
            "lower": pl.Series(lower).fill_nan(None), "upper": pl.Series(upper).fill_nan(None),
        })

    # ----------------------------------------------------------------------------------
    def cox_zph(self, transform: str = "km", *, terms: bool = True) -> pl.DataFrame:
        """Test of proportional hazards (R ``cox.zph(fit, transform)``, survival >= 3.0).

        The score test for adding ``x * g(t)`` to the model, ``g`` the transformed time
        centred at its mean over events; per term (all its columns) and ``GLOBAL``.
        ``transform``: ``"km"`` (1 - left-continuous KM of all rows), ``"identity"``,
        ``"log"``, ``"rank"``.
        """
        check_choice("transform", transform, ("km", "identity", "log", "rank"))
        if not self.terms:
            raise OptionError("cox_zph needs covariates: there are no score residuals for the "
                              "null model (as R)")
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
    def _blocks(self) -> list:
        return _display.cox_blocks(self)

    def plot(self, **kwargs: Any) -> Any:
        """A forest plot of the hazard ratios (one row per term, with its CI and p-value) as a
        matplotlib ``Figure``; keyword arguments as :func:`riskset.report.forest_figure`."""
        from riskset.report.figures import forest_figure

        c = self.coefficients
        rows = c.select(pl.col("term").alias("label"), pl.col("hr").alias("estimate"),
                        pl.col("hr_lower").alias("lower"), pl.col("hr_upper").alias("upper"),
                        pl.col("p").alias("p_value"))
        return forest_figure(rows, **kwargs)

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
            "references": self.references,
            "loglik": list(self.loglik),
            "lr_test": self.lr_test,
            "wald_test": self.wald_test,
            "score_test": self.score_test,
            "robust_score_test": self.robust_score_test,
            "concordance": self.concordance,
            "n": self.n,
            "n_excluded": self.n_excluded,
            "n_events": self.n_events,
            "iterations": self.iterations,
            "converged": self.converged,
            "variance_matrix": self.variance_matrix.tolist(),
            "warnings": list(self.warnings),
        }

