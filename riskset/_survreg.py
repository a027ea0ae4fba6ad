"""Parametric survival regression (R ``survreg``): accelerated failure time models.

Public functions: :func:`survreg` (one distribution, :class:`SurvregResult`) and
:func:`compare_distributions` (every distribution on the same data, a Polars table). The
numeric work is :mod:`riskset.engine.survreg`; this module owns the data path (validation,
the Cox design matrix of :mod:`riskset._cox_design`, strata, weights, offset, interval
censoring) and the result object (tables, predictions, residuals). Parameterisations and the
R / SAS / lifelines correspondence: ``docs/algorithms/survreg.md``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from riskset._cox_design import Design, _check_collinear, _check_constant, build_design
from riskset._prepare import as_names
from riskset.engine import survreg as se
from riskset.errors import ColumnError, EmptyDataError, OptionError, RisksetError, RisksetWarning
from riskset.errors import warn as _warn
from riskset.io.read import to_polars
from riskset.io.validate import _event, encode_groups


class SurvregConvergenceWarning(RisksetWarning):
    """Newton–Raphson reached ``max_iter`` without meeting survreg's convergence criterion."""


class SurvregConvergenceError(RisksetError):
    """Raised instead of the warning with ``on_nonconvergence="raise"``."""


@dataclass(frozen=True)
class _Dist:
    name: str  # R's survreg.distributions[[d]]$name
    base: str  # extreme / logistic / gaussian
    log: bool  # fitted on log(t)
    scale: float | None  # fixed scale of the distribution


#: distributions accepted by ``dist=`` (R's names)
DISTRIBUTIONS: dict[str, _Dist] = {
    "weibull": _Dist("Weibull", "extreme", True, None),
    "exponential": _Dist("Exponential", "extreme", True, 1.0),
    "rayleigh": _Dist("Rayleigh", "extreme", True, 0.5),
    "lognormal": _Dist("Log Normal", "gaussian", True, None),
    "loggaussian": _Dist("Log Normal", "gaussian", True, None),
    "loglogistic": _Dist("Log logistic", "logistic", True, None),
    "extreme": _Dist("Extreme value", "extreme", False, None),
    "logistic": _Dist("Logistic", "logistic", False, None),
    "gaussian": _Dist("Gaussian", "gaussian", False, None),
    "t": _Dist("Student-t", "t", False, None),
}

#: the distributions :func:`compare_distributions` fits (``loggaussian`` is ``lognormal``)
COMPARED = ("weibull", "exponential", "rayleigh", "lognormal", "loglogistic", "extreme",
            "logistic", "gaussian", "t")

TYPES_PREDICT = ("response", "lp", "link", "linear", "quantile", "uquantile")
TYPES_RESID = ("response", "deviance", "working")


def _check_dist(dist: Any) -> _Dist:
    if not isinstance(dist, str) or dist not in DISTRIBUTIONS:
        close = difflib.get_close_matches(str(dist).lower(), list(DISTRIBUTIONS), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise OptionError(f"dist={dist!r} is not a known distribution{hint} Choose one of: "
                          + ", ".join(repr(d) for d in DISTRIBUTIONS))
    return DISTRIBUTIONS[dist]


def _floats(frame: pl.DataFrame, col: str, role: str) -> np.ndarray:
    s = frame.get_column(col)
    if not s.dtype.is_numeric() or s.dtype == pl.Boolean:
        raise ColumnError(col, f"({role}) must be numeric, got dtype {s.dtype}")
    return s.cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64, copy=True)


def _raise_rows(col: str, problem: str, mask: np.ndarray, rows: np.ndarray, hint=None):
    idx = np.flatnonzero(mask)
    raise ColumnError(col, problem, int(idx.size), int(rows[idx[0]]), hint=hint)


# --------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------
@dataclass
class SurvregResult:
    """A fitted ``survreg`` model (R ``survreg`` object).

    Attributes
    ----------
    dist
        Distribution name as given (``"weibull"``, ...).
    terms
        Coefficient names, ``"(Intercept)"`` first (R's names).
    coef
        ``float64[p]`` regression coefficients (location model on ``log t`` or ``t``).
    scale
        The scale ``sigma``: a float, or ``{stratum label: sigma}`` with ``strata``.
    var
        Covariance matrix of ``(coef, log(scale)...)`` (R ``fit$var``); ``p x p`` when the
        scale is fixed.
    loglik
        ``(intercept only, model)`` log-likelihoods (R ``fit$loglik``).
    chisq, df, p_value
        Model likelihood-ratio chi-square against the intercept-only model (R ``print``).
    iterations, converged
        Newton–Raphson iterations of the final fit (R ``fit$iter``) and whether it converged.
    n
        Rows analysed.
    """

    dist: str
    terms: list[str]
    coef: np.ndarray
    scale: Any
    var: np.ndarray
    loglik: tuple[float, float]
    chisq: float
    df: int
    p_value: float
    iterations: int
    converged: bool
    n: int
    scale_fixed: bool
    strata_labels: list[str]
    conf_level: float
    t_df: float
    _dist: _Dist = field(repr=False)
    _X: np.ndarray = field(repr=False)
    _y1: np.ndarray = field(repr=False)
    _y2: np.ndarray = field(repr=False)
    _status: np.ndarray = field(repr=False)
    _strata: np.ndarray = field(repr=False)
    _offset: np.ndarray = field(repr=False)
    _design: Design = field(repr=False)
    _strata_names: tuple[str, ...] = field(repr=False)
    _strata_keys: pl.DataFrame | None = field(repr=False)
    _offset_name: str | None = field(repr=False)

    # ---- tables --------------------------------------------------------------------------
    @property
    def scales(self) -> np.ndarray:
        """Scales as an array, one per stratum (one element without strata)."""
        if isinstance(self.scale, dict):
            return np.array(list(self.scale.values()))
        return np.array([self.scale])

    @property
    def linear_predictors(self) -> np.ndarray:
        """``X beta + offset`` of each analysed row (R ``fit$linear.predictors``)."""
        return self._X @ self.coef + self._offset

    @property
    def coefficients(self) -> pl.DataFrame:
        """R ``summary(fit)$table``: ``term, coef, se, z, p`` with ``Log(scale)`` rows."""
        names = list(self.terms)
        values = list(self.coef)
        if not self.scale_fixed:
            if len(self.strata_labels) > 1:
                names += list(self.strata_labels)
            else:
                names.append("Log(scale)")
            values += list(np.log(self.scales))
        v = np.asarray(values)
        sd = np.sqrt(np.diag(self.var))
        z = v / sd
        return pl.DataFrame({"term": names, "coef": v, "se": sd, "z": z,
                             "p": 2.0 * stats.norm.sf(np.abs(z))})

    @property
    def is_weibull_family(self) -> bool:
        """Weibull, exponential or Rayleigh (proportional hazards as well as AFT)."""
        return self._dist.base == "extreme" and self._dist.log

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python summary (the CLI's JSON)."""
        out: dict[str, Any] = {
            "estimator": "survreg", "dist": self.dist, "n": self.n,
            "coefficients": self.coefficients.to_dicts(),
            "scale": self.scale, "scale_fixed": self.scale_fixed,
            "loglik": {"intercept_only": self.loglik[0], "model": self.loglik[1]},
            "chisq": self.chisq, "df": self.df,
            "p_value": None if math.isnan(self.p_value) else self.p_value,
            "iterations": self.iterations, "converged": self.converged,
            "var": self.var.tolist(),
        }
        if self.is_weibull_family and len(self.scales) == 1 and len(self.terms) > 1:
            out["hazard_ratios"] = self.hazard_ratios().to_dicts()
        return out

    def _weibull_check(self, what: str) -> None:
        if not self.is_weibull_family:
            raise OptionError(f"{what} are defined for the Weibull family (weibull, exponential, "
                              f"rayleigh), not dist={self.dist!r}")
        if len(self.strata_labels) > 1:
            raise OptionError(f"{what} need a single scale (the model has one per stratum)")

    def hazard_ratios(self, conf_level: float | None = None) -> pl.DataFrame:
        """Weibull proportional-hazards view: hazard ratios ``exp(-beta / sigma)`` and
        acceleration factors (time ratios) ``exp(beta)``, with delta-method / Wald CIs.

        The hazard ratio's interval is ``exp(l +- z se(l))`` with ``l = -beta/sigma`` and
        ``se(l)`` by the delta method on ``(beta, log sigma)``; the acceleration factor's is
        ``exp(beta +- z se(beta))``.
        """
        self._weibull_check("hazard ratios")
        cl = self.conf_level if conf_level is None else conf_level
        zq = stats.norm.ppf(0.5 + cl / 2)
        sigma = float(self.scales[0])
        p = len(self.terms)
        rows = []
        for j in range(1, p):
            b = self.coef[j]
            lhr = -b / sigma
            if self.scale_fixed:
                v = self.var[j, j] / sigma**2
            else:
                g = np.array([-1.0 / sigma, b / sigma])
                V = self.var[np.ix_([j, p], [j, p])]
                v = float(g @ V @ g)
            s = math.sqrt(v)
            sb = math.sqrt(self.var[j, j])
            rows.append((self.terms[j], math.exp(lhr), math.exp(lhr - zq * s),
                         math.exp(lhr + zq * s), s, math.exp(b), math.exp(b - zq * sb),
                         math.exp(b + zq * sb)))
        cols = ["term", "hazard_ratio", "hr_lower", "hr_upper", "se_log_hr",
                "acceleration_factor", "af_lower", "af_upper"]
        return pl.DataFrame(rows, schema=cols, orient="row")

    def lifereg(self, conf_level: float | None = None) -> pl.DataFrame:
        """SAS PROC LIFEREG's "Analysis of Maximum Likelihood Parameter Estimates".

        ``parameter, estimate, se, lower, upper, chisq, p``: Intercept and covariates as R,
        then ``Scale`` (sigma, SE ``sigma * se(log sigma)``, CI ``exp(log sigma +- z se)``)
        and, for the Weibull family, ``Weibull Shape`` = ``1/sigma``.
        """
        cl = self.conf_level if conf_level is None else conf_level
        zq = stats.norm.ppf(0.5 + cl / 2)
        p = len(self.terms)
        se_b = np.sqrt(np.diag(self.var)[:p])
        names = ["Intercept" if t == "(Intercept)" else t for t in self.terms]
        est = list(self.coef)
        ses = list(se_b)
        lo = list(self.coef - zq * se_b)
        hi = list(self.coef + zq * se_b)
        chi = list((self.coef / se_b) ** 2)
        pv = list(stats.chi2.sf(chi, 1))
        labels = self.strata_labels if len(self.strata_labels) > 1 else [""]
        weib = self._dist.base == "extreme" and self._dist.log
        for k, lab in enumerate(labels):
            sigma = float(self.scales[k])
            suffix = f" {lab}" if lab else ""
            sl = 0.0 if self.scale_fixed else math.sqrt(self.var[p + k, p + k])
            rows = [("Scale" + suffix, sigma, sigma * sl, sigma * math.exp(-zq * sl),
                     sigma * math.exp(zq * sl))]
            if weib:
                rows.append(("Weibull Shape" + suffix, 1 / sigma, sl / sigma,
                             math.exp(-zq * sl) / sigma, math.exp(zq * sl) / sigma))
            for r in rows:
                names.append(r[0])
                est.append(r[1])
                ses.append(r[2])
                lo.append(r[3])
                hi.append(r[4])
                chi.append(None)
                pv.append(None)
        return pl.DataFrame({"parameter": names, "estimate": est, "se": ses, "lower": lo,
                             "upper": hi, "chisq": chi, "p": pv},
                            schema={"parameter": pl.String, "estimate": pl.Float64,
                                    "se": pl.Float64, "lower": pl.Float64, "upper": pl.Float64,
                                    "chisq": pl.Float64, "p": pl.Float64})

    # ---- predictions ---------------------------------------------------------------------
    def _newdata(self, newdata: Any) -> tuple[np.ndarray, np.ndarray]:
        """Design matrix (with intercept) and stratum codes of ``newdata`` (R ``xlevels``)."""
        d = self._design
        covs = list(d.assign)
        frame = to_polars(newdata, covs + list(self._strata_names))
        cols = [np.ones(frame.height)]
        for name in covs:
            s = frame.get_column(name)
            if name in d.levels:
                lv, ref = d.levels[name]
                vals = s.cast(pl.String) if s.dtype in (pl.Categorical,) or isinstance(
                    s.dtype, pl.Enum) else s
                seen = [v for v in vals.drop_nulls().unique().to_list()
                        if v not in lv and str(v) not in [str(x) for x in lv]]
                if seen:
                    raise ColumnError(name, f"(newdata) has levels not in the fit: {seen[:5]}")
                for v in lv:
                    if v == ref:
                        continue
                    cols.append((vals.cast(pl.String) == str(v) if vals.dtype != pl.Boolean
                                 else vals == v).cast(pl.Float64).fill_null(np.nan).to_numpy())
            else:
                cols.append(_floats(frame, name, "covariate"))
        X = np.column_stack(cols)
        if np.isnan(X).any():
            raise ColumnError(covs[0] if covs else "newdata", "(newdata) has missing values")
        codes = np.zeros(frame.height, dtype=np.int64)
        if self._strata_names and self._strata_keys is not None:
            keys = self._strata_keys.with_row_index("__code")
            j = frame.select(list(self._strata_names)).join(
                keys, on=list(self._strata_names), how="left", maintain_order="left")
            c = j.get_column("__code")
            if c.null_count():
                raise ColumnError(self._strata_names[0], "(newdata) has strata not in the fit")
            codes = c.cast(pl.Int64).to_numpy()
        return X, codes

    def predict(self, newdata: Any = None, *, type: str = "response", p: Any = None,
                se: bool = False):
        """Predictions as R ``predict.survreg``.

        ``type``: ``"response"`` (``exp(lp)`` on the log scale), ``"lp"`` (linear predictor),
        ``"quantile"`` / ``"uquantile"`` (quantiles of the survival time, or of its
        transformation, at probabilities ``p``; default ``(0.1, 0.9)``). Returns an array
        (rows, or rows x len(p) for several ``p``), or ``(fit, se)`` with ``se=True``. As R,
        predictions for ``newdata`` use no offset.
        """
        from riskset.errors import check_choice

        check_choice("type", type, TYPES_PREDICT)
        if type in ("link", "linear"):
            type = "lp"
        nvar = len(self.terms)
        vv = self.var[:nvar, :nvar]
        if newdata is None:
            X, codes = self._X, self._strata
            lp = self.linear_predictors
        else:
            X, codes = self._newdata(newdata)
            lp = X @ self.coef
        dd = self._dist
        sc = self.scales[codes] if len(self.scales) > 1 else np.full(X.shape[0], self.scales[0])
        if type in ("lp", "response"):
            pred = lp
            sev = np.sqrt(np.einsum("ij,jk,ik->i", X, vv, X)) if se else None
            if type == "response" and dd.log:
                pred = np.exp(pred)
                if se:
                    sev = sev * pred
            return (pred, sev) if se else pred
        pp = np.atleast_1d(np.asarray((0.1, 0.9) if p is None else p, dtype=np.float64))
        if np.any((pp <= 0) | (pp >= 1)):
            raise OptionError("p must lie strictly between 0 and 1")
        qq = _q0(dd.base, pp, self.t_df)
        pred = lp[:, None] + sc[:, None] * qq[None, :]
        sev = None
        if se:
            if self.scale_fixed:
                s = np.sqrt(np.einsum("ij,jk,ik->i", X, vv, X))
                sev = np.repeat(s[:, None], qq.size, axis=1)
            else:
                ns = len(self.scales)
                S = np.zeros((X.shape[0], ns))
                S[np.arange(X.shape[0]), codes if ns > 1 else 0] = 1.0
                sev = np.empty_like(pred)
                for i, q in enumerate(qq):
                    T = np.column_stack([X, (q * sc)[:, None] * S])
                    sev[:, i] = np.sqrt(np.einsum("ij,jk,ik->i", T, self.var, T))
        if type == "quantile" and dd.log:
            pred = np.exp(pred)
            if se:
                sev = sev * pred
        if qq.size == 1:
            pred = pred[:, 0]
            sev = sev[:, 0] if se else None
        return (pred, sev) if se else pred

    def residuals(self, type: str = "response") -> np.ndarray:
        """Residuals as R ``residuals.survreg``: ``"response"``, ``"deviance"``, ``"working"``."""
        from riskset.errors import check_choice

        check_choice("type", type, TYPES_RESID)
        dd = self._dist
        sc = self.scales[self._strata] if len(self.scales) > 1 else self.scales[0]
        eta = self.linear_predictors
        center, ll0 = se.deviance_center(dd.base, self._y1, self._y2, self._status, sc,
                                         self.t_df)
        if type == "response":
            if dd.log:
                return np.exp(center) - np.exp(eta)
            return center - eta
        st = self._status
        z = (self._y1 - eta) / sc
        d = se.r_density(dd.base, z, self.t_df)
        dtemp = d[:, 2] * d[:, 3]
        interval = st == 3
        d2 = (se.r_density(dd.base, (self._y2 - eta) / sc, self.t_df) if interval.any()
              else d)
        tden = (np.where(st == 0, d[:, 1], 0.0) + (st == 1) + np.where(st == 2, d[:, 0], 0.0)
                + np.where(interval, np.where(z > 0, d[:, 1] - d2[:, 1], d2[:, 0] - d[:, 0]), 0.0))
        with np.errstate(divide="ignore"):
            g = np.log(np.where(st == 1, d[:, 2] / sc, tden))
        tden = 1 / tden
        dg = -(tden / sc) * (np.where(st == 0, -d[:, 2], 0.0) + np.where(st == 1, d[:, 3], 0.0)
                             + np.where(st == 2, d[:, 2], 0.0)
                             + np.where(interval, d2[:, 2] - d[:, 2], 0.0))
        ddg = (tden / sc**2) * (np.where(st == 0, -dtemp, 0.0) + np.where(st == 1, d[:, 4], 0.0)
                                + np.where(st == 2, dtemp, 0.0)
                                + np.where(interval, d2[:, 2] * d2[:, 3] - dtemp, 0.0))
        work = -dg / (ddg - dg * dg)
        if type == "working":
            return work
        return np.sign(work) * np.sqrt(2 * (ll0 - g))

    def _blocks(self) -> list:
        from riskset._display import _table, _text
        from riskset.format import format_count, format_signif, format_test

        strata = f", strata: {', '.join(self._strata_names)}" if self._strata_names else ""
        blocks = [_text(f"Parametric survival regression: {DISTRIBUTIONS[self.dist].name} "
                        f"distribution{strata}; n = {format_count(self.n)}"),
                  _table(self.coefficients)]
        if self.scale_fixed:
            blocks.append(_text(f"Scale fixed at {format_signif(self.scales[0], 6)}"))
        elif len(self.scales) == 1:
            blocks.append(_text(f"Scale = {format_signif(self.scales[0], 6)}"))
        else:
            blocks.append(_text("Scale: " + ", ".join(
                f"{k} {format_signif(v, 6)}" for k, v in self.scale.items())))
        blocks.append(_text(f"Loglik(model) = {self.loglik[1]:.1f}   Loglik(intercept only) = "
                            f"{self.loglik[0]:.1f}"))
        if self.df > 0:
            blocks.append(_text(format_test(self.chisq, self.df, self.p_value,
                                            name="Likelihood ratio test")))
        if not self.converged:
            blocks.append(_text(f"warning: NOT CONVERGED after {self.iterations} iterations"))
        return blocks

    def summary(self) -> str:
        """R ``print.survreg``-like text."""
        from riskset._display import render_text

        return render_text(self._blocks())

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        from riskset._display import render_html

        return render_html(self._blocks())


def _q0(base: str, pp: np.ndarray, df: float) -> np.ndarray:
    return se.quantile0(base, pp, df)


# --------------------------------------------------------------------------------------
# public function
# --------------------------------------------------------------------------------------
def survreg(
    data: Any,
    *,
    time: str | None = None,
    event: str | None = None,
    lower: str | None = None,
    upper: str | None = None,
    covariates: str | Sequence[str] = (),
    dist: str = "weibull",
    strata: str | Sequence[str] | None = None,
    weights: str | None = None,
    offset: str | None = None,
    scale: float | None = None,
    reference: Mapping[str, Any] | None = None,
    t_df: float = 4.0,
    drop_missing: bool = True,
    conf_level: float = 0.95,
    max_iter: int = 30,
    eps: float = 1e-9,
    on_nonconvergence: str = "warn",
) -> SurvregResult:
    """Parametric survival regression, matching R ``survival::survreg``.

    Parameters
    ----------
    data
        Any table :func:`riskset.io.read.to_polars` accepts.
    time, event
        Right-censored data: time and event (1 = event, 0 = censored) columns.
    lower, upper
        Interval-censored data instead of ``time``/``event`` (R ``Surv(lower, upper,
        type = "interval2")``): missing ``lower`` = left-censored at ``upper``, missing
        ``upper`` = right-censored at ``lower``, equal = exact, else censored in the interval.
    covariates
        Column name(s) (none: intercept only). Numeric columns enter as they are; string,
        categorical, enum and boolean columns as treatment-coded dummies (as :func:`cox`).
    dist
        ``"weibull"`` (default), ``"exponential"``, ``"rayleigh"``, ``"lognormal"``,
        ``"loglogistic"``, ``"extreme"``, ``"logistic"``, ``"gaussian"``, ``"t"``.
    strata
        Column(s): one scale per stratum (R ``+ strata(x)``); the coefficients are common.
    weights
        Case weights (> 0).
    offset
        Offset column added to the linear predictor.
    scale
        Fix the scale at this value (R ``scale=``); ignored, with a warning, for the
        distributions with a fixed scale (exponential 1, Rayleigh 0.5), as R.
    reference
        Reference level per categorical covariate.
    t_df
        Degrees of freedom of ``dist="t"`` (R ``parms = c(df = 4)``; more than 2).
    drop_missing
        ``True`` (default, as R's ``na.omit`` and riskset's other estimators): use the
        complete cases of the used columns, with a warning counting the excluded rows;
        ``False``: a missing value raises. A row censored on both sides (both bounds
        missing) is always an error.
    max_iter, eps
        R ``survreg.control(iter.max = 30, rel.tolerance = 1e-9)``.
    on_nonconvergence
        ``"warn"`` (:class:`SurvregConvergenceWarning`; ``converged`` is False) or
        ``"raise"`` (:class:`SurvregConvergenceError`).
    """
    dd = _check_dist(dist)
    from riskset.errors import check_choice

    check_choice("on_nonconvergence", on_nonconvergence, ("warn", "raise"))
    if dd.base == "t" and not (isinstance(t_df, (int, float)) and math.isfinite(t_df)
                               and t_df > 2):
        raise OptionError(f"t_df={t_df!r} must be a number greater than 2 (as R survreg)")
    if not (isinstance(conf_level, (int, float)) and 0.0 < conf_level < 1.0):
        raise OptionError(f"conf_level={conf_level!r} must be a number strictly between 0 and 1")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise OptionError(f"max_iter={max_iter!r} must be a positive integer")
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise OptionError(f"eps={eps!r} must be positive")
    interval = lower is not None or upper is not None
    if interval and (time is not None or event is not None):
        raise OptionError("give either time= and event= or lower= and upper=, not both")
    if interval and (lower is None or upper is None):
        raise OptionError("interval-censored data needs both lower= and upper=")
    if not interval and (time is None or event is None):
        raise OptionError("give time= and event= (right-censored) or lower= and upper= "
                          "(interval-censored)")
    covs = list(as_names(covariates))
    if len(set(covs)) != len(covs):
        raise OptionError("covariates lists a column more than once")
    strata_names = list(as_names(strata))
    if scale is not None:
        if not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale < 0:
            raise OptionError(f"scale={scale!r} must be a non-negative number (0 = estimate)")
        if scale == 0:
            scale = None
    if dd.scale is not None:
        if scale is not None:
            _warn(f"{dd.name} has a fixed scale, user specified value ignored (as R)",
                  RisksetWarning, stacklevel=2)
        scale = dd.scale
    if scale is not None and strata_names:
        raise OptionError("a fixed scale is not valid with strata (as R survreg)")
    resp = [lower, upper] if interval else [time, event]
    wanted = [*resp, *(c for c in (weights, offset) if c is not None), *strata_names, *covs]
    frame = to_polars(data, wanted)
    n_input = frame.height
    if n_input == 0:
        raise EmptyDataError("the data has no rows")

    # ---- missing values -------------------------------------------------------------------
    miss_cols: list[tuple[str, np.ndarray]] = []
    if interval:
        lo = _floats(frame, lower, "lower")
        hi = _floats(frame, upper, "upper")
        lo[np.isneginf(lo)] = np.nan
        hi[np.isposinf(hi)] = np.nan
        both = np.isnan(lo) & np.isnan(hi)
        if both.any():
            miss_cols.append((lower, both))
    else:
        t = _floats(frame, time, "time")
        miss_cols.append((time, np.isnan(t)))
        ev_null = frame.get_column(event).is_null().to_numpy()
        if frame.get_column(event).dtype.is_float():
            ev_null = ev_null | frame.get_column(event).is_nan().fill_null(True).to_numpy()
        miss_cols.append((event, ev_null))
    for c in [c for c in (weights, offset) if c is not None] + strata_names:
        s = frame.get_column(c)
        m = s.is_null().to_numpy()
        if s.dtype.is_float():
            m = m | s.is_nan().fill_null(True).to_numpy()
        miss_cols.append((c, m))
    design = build_design(frame, covs, reference) if covs else None
    if design is not None:
        for name, idx in design.assign.items():
            miss_cols.append((name, np.isnan(design.X[:, idx]).any(axis=1)))
    miss = np.zeros(n_input, dtype=bool)
    for _, m in miss_cols:
        miss |= m
    rows = np.arange(n_input)
    if interval and lower is not None:  # censored on both sides: bad input, never dropped
        both = next((m for c, m in miss_cols if c == lower), None)
        if both is not None and both.any():
            _raise_rows(lower, "has rows with both bounds missing (censored on both sides)", both, rows,
                        hint="give a lower or an upper bound for every row")
    if miss.any():
        if not drop_missing:
            name, m = next((c, m) for c, m in miss_cols if m.any())
            what = ("has rows with both bounds missing" if interval and name == lower
                    else "has missing values (null or NaN)")
            _raise_rows(name, what, m, rows, hint="pass drop_missing=True to drop those rows")
        keep = ~miss
        if not keep.any():
            raise EmptyDataError(f"all {n_input} rows have missing values; nothing is left")
        _warn(f"dropped {int(miss.sum())} of {n_input} rows with missing values (" + ", ".join(
            f"{c!r}: {int(m.sum())}" for c, m in miss_cols if m.any()) + ")", RisksetWarning,
            stacklevel=2)
        rows = rows[keep]
        frame = frame.filter(pl.Series(keep))
        if design is not None:
            design = Design(np.ascontiguousarray(design.X[keep]), design.terms, design.assign,
                            design.levels, [])
        if interval:
            lo, hi = lo[keep], hi[keep]
        else:
            t = t[keep]
    n = frame.height

    # ---- response -------------------------------------------------------------------------
    if interval:
        if np.isinf(lo).any():
            _raise_rows(lower, "(lower) has +Inf values", np.isinf(lo), rows)
        if np.isinf(hi).any():
            _raise_rows(upper, "(upper) has -Inf values", np.isinf(hi), rows)
        both = ~np.isnan(lo) & ~np.isnan(hi)
        bad = both & (lo > hi)
        if bad.any():
            _raise_rows(lower, f"(lower) is greater than {upper!r}", bad, rows,
                        hint="each row needs lower <= upper (R: 'Invalid interval')")
        status = np.where(np.isnan(lo), 2, np.where(np.isnan(hi), 0,
                                                    np.where(lo == hi, 1, 3))).astype(np.int64)
        y1 = np.where(status == 2, hi, lo)
        y2 = np.where(status == 3, hi, y1)
        if dd.log:  # an interval starting at 0 is left-censored (R survreg)
            fix = (status == 3) & (y1 == 0)
            status[fix] = 2
            y1 = np.where(fix, y2, y1)
        tcol = {0: lower, 1: lower, 2: upper, 3: lower}
    else:
        if np.isinf(t).any():
            _raise_rows(time, "(time) has infinite values", np.isinf(t), rows)
        status = _event(frame, event, rows).astype(np.int64)
        y1 = t
        y2 = t.copy()
        tcol = {0: time, 1: time, 2: time, 3: time}
    if dd.log:
        bad = y1 <= 0
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            _raise_rows(tcol[int(status[first])], f"has non-positive times, invalid for "
                        f"dist={dist!r} (fitted on log(time))", bad, rows,
                        hint="use a distribution on the time scale (e.g. 'gaussian') or "
                             "remove the rows")
        exact = status == 1
        with np.errstate(divide="ignore"):
            y1 = np.log(y1)
            y2 = np.log(y2)
    else:
        exact = status == 1

    w = np.ones(n)
    if weights is not None:
        w = _floats(frame, weights, "weights")
        bad = ~(w > 0) | np.isinf(w)
        if bad.any():
            _raise_rows(weights, "(weights) must be finite and > 0 (as R survreg)", bad, rows)
    off = np.zeros(n)
    if offset is not None:
        off = _floats(frame, offset, "offset")
        if np.isinf(off).any():
            _raise_rows(offset, "(offset) has infinite values", np.isinf(off), rows)
    codes = np.zeros(n, dtype=np.int64)
    labels: list[str] = []
    keys = None
    if strata_names:
        codes, keys = encode_groups(frame, strata_names)
        codes = codes.astype(np.int64)
        labels = [", ".join(f"{c}={v}" for c, v in zip(strata_names, r, strict=True))
                  for r in keys.iter_rows()]
    nstrat = len(labels) if labels else 1

    # ---- design ---------------------------------------------------------------------------
    if design is not None:
        design = Design(design.X, design.terms, design.assign, design.levels,
                        _check_constant(design))
        Xc = design.X - (design.X * w[:, None]).sum(0) / w.sum()
        _check_collinear(design, Xc, w, weighted=weights is not None)
        X = np.empty((n, design.X.shape[1] + 1))
        X[:, 0] = 1.0
        X[:, 1:] = design.X
        terms = ["(Intercept)", *design.terms]
    else:
        design = Design(np.empty((n, 0)), [], {}, {}, [])
        X = np.ones((n, 1))
        terms = ["(Intercept)"]
    p = X.shape[1]
    if n <= 1:
        raise EmptyDataError("survreg needs more than one row")

    pb = se.Problem(dd.base, np.ascontiguousarray(X), y1, y2, status, w, off, codes,
                    0 if scale is not None else nstrat, float(t_df))
    fixed_ls = math.log(scale) if scale is not None else None
    fr = se.fit(pb, fixed_ls, max_iter=max_iter, eps=eps)
    logcorrect = float(np.sum(w[exact] * -y1[exact])) if dd.log else 0.0
    ll = (fr.loglik[0] + logcorrect, fr.loglik[1] + logcorrect)
    if not fr.converged:
        msg = (f"survreg ({dist}) did not converge: Newton-Raphson ran out of iterations "
               f"({fr.iterations}); the last step changed the parameters by up to "
               f"{float(np.max(np.abs(fr.last_step))):.3g} (log-likelihood {fr.loglik[1]:.6g})")
        if on_nonconvergence == "raise":
            raise SurvregConvergenceError(msg)
        _warn(msg, SurvregConvergenceWarning, stacklevel=2)
    beta = fr.coef[:p]
    if scale is None:
        sc_vals = np.exp(fr.coef[p:])
        scale_out: Any = float(sc_vals[0]) if nstrat == 1 else dict(
            zip(labels, map(float, sc_vals), strict=True))
    else:
        scale_out = float(scale)
    chisq = 2.0 * (ll[1] - ll[0])
    df = p - 1
    return SurvregResult(
        dist=dist, terms=terms, coef=beta, scale=scale_out, var=fr.var, loglik=ll,
        chisq=float(chisq), df=int(df),
        p_value=float(stats.chi2.sf(chisq, df)) if df > 0 else float("nan"),
        iterations=int(fr.iterations), converged=bool(fr.converged), n=int(n),
        scale_fixed=scale is not None, strata_labels=labels if nstrat > 1 else [],
        conf_level=float(conf_level), t_df=float(t_df), _dist=dd, _X=X, _y1=y1, _y2=y2, _status=status,
        _strata=codes, _offset=off, _design=design, _strata_names=tuple(strata_names),
        _strata_keys=keys, _offset_name=offset,
    )


def compare_distributions(
    data: Any,
    *,
    dists: Sequence[str] = COMPARED,
    **kwargs: Any,
) -> pl.DataFrame:
    """Fit each distribution in ``dists`` on the same data (same arguments as :func:`survreg`).

    Returns a Polars table ``dist, loglik, n_params, aic, bic, scale, iterations, converged``
    sorted as given, with ``AIC = -2 loglik + 2 k`` and ``BIC = -2 loglik + log(n) k`` where
    ``k`` counts the coefficients and the estimated scales (R ``AIC``/``BIC`` of a survreg
    fit). Distributions on ``log t`` and on ``t`` compare on the ``t`` scale (R includes the
    Jacobian of ``log t`` in the log-likelihood). A distribution that cannot be fitted (e.g.
    non-positive times for a log-scale one) gets a row of nulls and its error in ``note``.
    """
    if isinstance(dists, str):
        dists = [dists]
    for d in dists:
        _check_dist(d)
    out = []
    for d in dists:
        try:
            f = survreg(data, dist=d, **kwargs)
        except RisksetError as e:  # a distribution this data cannot have: say why
            out.append((d, None, None, None, None, None, None, None, str(e)))
            continue
        k = len(f.coef) + (0 if f.scale_fixed else len(f.scales))
        out.append((d, f.loglik[1], k, -2 * f.loglik[1] + 2 * k,
                    -2 * f.loglik[1] + math.log(f.n) * k,
                    None if len(f.scales) > 1 else float(f.scales[0]), f.iterations,
                    f.converged, None))
    return pl.DataFrame(out, schema={"dist": pl.String, "loglik": pl.Float64,
                                     "n_params": pl.Int64, "aic": pl.Float64,
                                     "bic": pl.Float64, "scale": pl.Float64,
                                     "iterations": pl.Int64, "converged": pl.Boolean,
                                     "note": pl.String}, orient="row")
