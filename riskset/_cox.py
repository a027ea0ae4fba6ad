"""Cox proportional-hazards regression (R ``coxph``), with Firth's penalised likelihood.

Public function: :func:`cox`, returning :class:`CoxResult`. The numeric work is done by
:mod:`riskset.engine.cox` (likelihood passes, Newton–Raphson), :mod:`riskset.engine.cox_diag`
(residuals, baseline hazard, zph, concordance) and :mod:`riskset.engine.cox_firth`; this
module owns the data path (validation, strata, weights, the monotone-likelihood check) and
the fit. The design matrix (dummy coding and its checks) is :mod:`riskset._cox_design`; the
result object and its tables are :mod:`riskset._cox_result`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from riskset._cox_design import Design, _check_collinear, _check_constant, build_design
from riskset._cox_result import CoxResult, _chisq_p
from riskset._prepare import as_names
from riskset.engine import cox as ce
from riskset.engine import cox_diag as cd
from riskset.engine import cox_merge as cm
from riskset.errors import (
    ColumnError,
    OptionError,
    RisksetError,
    RisksetWarning,
    check_choice,
    missing_advice,
)
from riskset.errors import warn as _warn
from riskset.io.read import to_polars
from riskset.io.validate import apply_timefix, validate_survival

#: Ties methods accepted by :func:`cox`.
TIES = ("efron", "breslow", "exact")


class MonotoneLikelihoodWarning(RisksetWarning):
    """A coefficient's partial likelihood keeps increasing: its estimate may be infinite."""


class ConvergenceWarning(RisksetWarning):
    """Newton–Raphson stopped at ``max_iter`` without meeting the convergence criterion."""


def _compact_codes(codes: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Renumber codes ``0..n_keys-1`` to the levels still present (rows may have been dropped).

    Linear (a bincount), no sort. Returns ``(codes, used)`` with ``used`` the kept old codes.
    """
    present = np.bincount(codes, minlength=n_keys) > 0
    used = np.flatnonzero(present)
    if used.size < n_keys:
        codes = (np.cumsum(present, dtype=np.int64) - 1)[codes]
    return np.ascontiguousarray(codes, dtype=np.int64), used


def _test(stat: float, df: int) -> dict[str, float]:
    return {"statistic": float(stat), "df": int(df), "p": _chisq_p(stat, df)}


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
    drop_missing: bool = True,
    max_iter: int = 20,
    levels: Mapping[str, Sequence[Any]] | None = None,
    eps: float = 1e-9,
    timefix: bool = True,
    init: Sequence[float] | None = None,
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
        first level in sorted order (enum: declared order) as reference. ``[]`` fits the
        null model (R ``Surv(...) ~ 1``, offset and strata allowed): no coefficients,
        ``loglik`` twice the one value R reports, martingale/deviance residuals, baseline
        hazard and curves; no score-type residuals, ``cox_zph``, firth, robust or cluster.
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
        Reference level per categorical covariate, e.g. ``{"arm": "B"}``. Default: the
        first level in the level order (:mod:`riskset.io.validate`): an Enum's / pandas
        Categorical's / Arrow dictionary's / value labels' declared order, ``levels=``,
        else sorted. :attr:`CoxResult.references` says which level each factor used.
    drop_missing
        ``True`` (default, as R's ``na.omit``): fit the complete cases of the used columns
        (time, event, entry, weights, strata, covariates, offset, cluster); a
        :class:`~riskset.errors.RisksetWarning` counts the excluded rows per column and
        ``n_excluded`` holds their number. ``False``: a missing value raises
        :class:`~riskset.errors.ColumnError`.
    max_iter, eps
        R ``coxph.control(iter.max, eps)``; ``toler.inf = sqrt(eps)``.
    levels
        ``{column: [level, ...]}``: the order of a categorical covariate's levels (the first
        is the reference unless ``reference`` names another).
    timefix
        Merge near-tied times (exit and entry) first, as R ``coxph.control(timefix =
        TRUE)``, the default (``docs/algorithms/timefix.md``); the pool is the rows the
        model uses (after any dropped for missing covariates, as R's model frame). An
        ``(entry, time]`` interval that the merge leaves empty is an error, as in R.
    init
        Starting coefficients, one per model term in the order of ``terms`` (R's
        ``init=``): the first log-likelihood, the score test and the likelihood-ratio test
        are then at ``init``, as in R; with ``max_iter=0`` the fit stays there.

    Returns
    -------
    CoxResult
    """
    from riskset.distributed import is_dask

    if is_dask(data):  # partitions on a Dask cluster: riskset/distributed/cox.py
        from riskset.distributed.cox import cox_dask

        return cox_dask(data, time=time, event=event, covariates=covariates, strata=strata, entry=entry,
                        weights=weights, cluster=cluster, robust=robust, offset=offset, ties=ties,
                        firth=firth, conf_level=conf_level, reference=reference,
                        drop_missing=drop_missing, max_iter=max_iter, eps=eps, timefix=timefix)
    check_choice("ties", ties, TIES)
    if not (isinstance(conf_level, (int, float)) and 0.0 < conf_level < 1.0):
        raise OptionError(f"conf_level={conf_level!r} must be a number strictly between 0 and 1")
    if not (isinstance(max_iter, int) and max_iter >= 0):
        raise OptionError(f"max_iter={max_iter!r} must be a non-negative integer")
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise OptionError(f"eps={eps!r} must be positive")
    if covariates is None:
        raise OptionError("covariates is required; pass covariates=[] for the null model")
    covs = list(as_names(covariates))
    if not covs:  # the null model (R ``~ 1``): log-likelihood, residuals, baseline only
        if firth:
            raise OptionError("firth=True needs at least one covariate (covariates=[] is the null model)")
        if cluster is not None or robust:
            raise OptionError("cluster / robust=True need at least one covariate: the null model "
                              "(covariates=[]) has no coefficients (R coxph stops as well)")
        robust = False
    if len(set(covs)) != len(covs):
        raise OptionError("covariates lists a column more than once")
    strata_names = as_names(strata)
    extra = [c for c in (cluster, offset) if c is not None]
    wanted = [time, event, *(c for c in (entry, weights) if c is not None), *strata_names, *covs, *extra]
    frame = to_polars(data, wanted, levels, plain=[c for c in (time, event, entry, weights, offset) if c])
    for c in covs + extra:
        if frame.height and frame.get_column(c).null_count() == frame.height:
            raise ColumnError(c, "is entirely missing")
    cols = validate_survival(
        frame, time=time, event=event, entry=entry, weights=weights, by=strata_names,
        drop_missing=drop_missing, also=[*covs, *extra], timefix=False,  # merged below, on the rows the model uses
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
                              hint=missing_advice())
        keep = ~miss
        if not keep.any():
            raise RisksetError("every row has a missing covariate; nothing is left")
        _warn(
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
    if timefix:
        tm, ent, _ = apply_timefix(tm, ent, time=time, entry=entry, rows=rows)
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
        _warn("cluster is ignored with robust=False (as R coxph)", RisksetWarning,
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
    merged = None
    if exact:
        def fn(b):
            return ce.cox_pass_exact(d.X, d.time, d.status, d.off,
                                     np.ascontiguousarray(b, dtype=np.float64), d.bounds)
    else:
        # unweighted data with tied times and few covariate patterns (the usual registry
        # model): Newton steps over the merged rows, O(distinct rows) instead of O(n)
        merged = (cm.collapse(d) if wts is None and off_arr is None and ent is None and not firth
                  else None)
        if merged is not None:
            def fn(b):
                return cm.evaluate_collapsed(merged, b, efron=d.efron)
        else:
            def fn(b):
                return ce.evaluate(d, b)
    warn_msgs: list[str] = []
    if init is not None:
        beta0 = np.asarray(init, dtype=np.float64).reshape(-1)
        if beta0.size != p or not np.all(np.isfinite(beta0)):
            raise OptionError(f"init={list(init)!r} must be {p} finite number(s), one per term: "
                              + ", ".join(design.terms))
        if firth:
            raise OptionError("init= is not used by firth=True (the penalised fit starts at 0)")
    else:
        beta0 = np.zeros(p)
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
    elif p == 0:  # null model: the log-likelihood at the offsets, no iteration (R iter 0)
        beta, var = np.zeros(0), np.zeros((0, 0))
        ll_init = ll_end = float(first[0])
        iterations, converged = 0, True
        u_end = np.zeros(0)
        sctest = 0.0
        lr = 0.0
    else:
        nr = ce.newton(fn, beta0, max_iter=max_iter, eps=eps,
                       first=first if init is None else fn(beta0))
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
        _warn(msg, ConvergenceWarning, stacklevel=2)
    elif max_iter > 1 and not firth:
        infs = np.abs(u_end @ var)
        flag = (infs > eps) & (infs > math.sqrt(eps) * np.abs(beta))
        monotone |= flag
    why: dict[int, str] = {}
    bcols = [j for j in range(p) if design.binary[j]]
    # on merged rows when there are any: the check only asks whether a value is present in
    # each risk set, which merging (same time, status and covariates) does not change
    mono_data = d if merged is None else d._replace(X=merged.X, time=merged.time, status=merged.status,
                                                     bounds=merged.bounds)
    for j, direction in zip(bcols, _monotone_binary(mono_data, bcols), strict=True):
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
            _warn(msg, MonotoneLikelihoodWarning, stacklevel=2)

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
        _time_name=time,
        # R survfit.coxph: the offset's case-weighted mean
        _offset_mean=(0.0 if off_arr is None else float(off_arr.mean()) if wts is None
                      else float(np.sum(off_arr * wts) / np.sum(wts))),
        _firth_ci=firth_ci,
        _firth_p=firth_p,
    )
