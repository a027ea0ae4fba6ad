"""Cox regression on a Dask DataFrame, and across centres (one Dask worker per centre).

Contract
--------
Pass 1 (once)
    Each partition is validated and sorted on its worker (kept there, ``persist``); it reports
    its strata keys, rows, events, ``sum w`` and ``sum w x`` (for the centring means) and, per
    stratum and distinct event time, the number of event rows ``ndead`` and their weight
    ``deadwt``. The client unites these into the global event-time grid of each stratum
    (keys numbered as the single-machine path numbers them) and the weighted column means.
Each Newton step
    The client sends ``beta`` (and, once per fit, the grid); every partition returns, on the
    grid of its strata, for the rows at risk at each event time ``t`` (``entry < t <= time``)
    ``S0 = sum r``, ``S1 = sum r x`` (p), ``S2 = sum r x x'`` (p x p), with ``r = w exp(x'b)``
    and ``x`` centred; with Efron ties also the same sums over the rows with an event at
    ``t`` (``E0, E1, E2``); and the scalars ``sum_events w x'b`` and the vector
    ``sum_events w x``. The sums are added on the cluster (a fixed tree) and the client
    turns them into ``(loglik, U, I)`` with riskset's own per-time update
    (:func:`riskset.engine.cox._apply_events`, the single-machine Breslow/Efron terms), then
    runs riskset's Newton–Raphson (:func:`riskset.engine.cox.newton`: same step halving,
    convergence rule ``|1 - ll_old/ll_new| <= eps``, ``max_iter``, and inverse information).
Messages
    Per step and partition: ``m (1 + p + p^2)`` doubles (``2 m (1 + p + p^2)`` with Efron),
    ``m`` the distinct event times of the strata the partition holds, plus ``p + 1``.
    Down: ``p`` doubles (``beta``).
Not implemented (typed :class:`~riskset.errors.OptionError`)
    Robust / cluster (sandwich) variance: it needs every row's score residual at the final
    ``beta`` (dfbeta), i.e. another pass returning p x p (or per-cluster p-vectors, which
    would disclose per-cluster information in the federated setting); refused, as are
    non-integer weights without ``robust=False`` (R's default for them is robust),
    ``firth``, ``ties="exact"``, ``offset``, and non-numeric covariates (dummy-code first).
    Row-level methods of the result (residuals, concordance, baseline hazard, cox.zph) need
    the rows and raise :class:`~riskset.errors.OptionError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from riskset._cox_result import CoxResult
from riskset._prepare import as_names
from riskset.distributed.tables import PartError
from riskset.engine import cox as ce
from riskset.engine._jit import kernel
from riskset.errors import ColumnError, OptionError, RisksetError

_F = np.float64


@dataclass
class CoxPart:
    """One partition's rows, validated, per local stratum key sorted by time (kept on its worker)."""

    keys: pl.DataFrame
    X: np.ndarray  # float64[n, p] raw covariates, rows sorted by (key, time)
    time: np.ndarray
    status: np.ndarray  # int8
    wt: np.ndarray
    entry: np.ndarray | None
    bounds: np.ndarray  # int64[K+1]
    n_input: int
    fractional_weights: bool


@dataclass
class CoxMeta:
    keys: pl.DataFrame
    n: int
    n_events: int
    sum_w: float
    sum_wx: np.ndarray
    ev_time: np.ndarray  # distinct event times per local key
    ndead: np.ndarray
    deadwt: np.ndarray
    ev_off: np.ndarray
    n_input: int
    fractional_weights: bool


def _error(e: RisksetError, n_input: int) -> PartError:
    if isinstance(e, ColumnError):
        return PartError(type(e).__name__, str(e), e.column, e.problem, e.n_rows, e.first_row, e.hint, n_input)
    return PartError(type(e).__name__, str(e), None, None, None, None, None, n_input)


def cox_prepare(frame: Any, spec: dict[str, Any]) -> CoxPart | PartError:
    """Validate one partition and sort its rows (pass 1, kept on the worker)."""
    from riskset.io.read import to_polars
    from riskset.io.validate import validate_survival

    n_input = len(frame)
    try:
        covs, strata = spec["covariates"], tuple(spec["strata"])
        wanted = [spec["time"], spec["event"], *(c for c in (spec["entry"], spec["weights"]) if c),
                  *strata, *covs]
        fr = to_polars(frame, list(dict.fromkeys(wanted)))
        p = len(covs)
        if n_input == 0:
            z = np.empty(0)
            return CoxPart(pl.DataFrame(), np.empty((0, p)), z, np.empty(0, np.int8), z, None,
                           np.zeros(1, np.int64), 0, False)
        cols = validate_survival(fr, time=spec["time"], event=spec["event"], entry=spec["entry"],
                                 weights=spec["weights"], by=strata, drop_missing=False, timefix=False)
        X = np.empty((n_input, p))
        for j, c in enumerate(covs):
            s = fr.get_column(c)
            if not s.dtype.is_numeric():
                raise ColumnError(c, f"(covariate) must be numeric on Dask, got dtype {s.dtype}",
                                  hint="dummy-code categorical covariates before fitting")
            v = s.cast(pl.Float64).fill_null(np.nan).to_numpy()
            bad = ~np.isfinite(v)
            if bad.any():
                raise ColumnError(c, "has missing or infinite values", int(bad.sum()), int(np.flatnonzero(bad)[0]))
            X[:, j] = v
        w = cols.weights
        if w is not None and np.any(w <= 0):
            bad = np.flatnonzero(w <= 0)
            raise ColumnError(spec["weights"], "(weights) must be > 0 for a Cox model (as R coxph)",
                              int(bad.size), int(bad[0]))
        K = max(cols.n_groups, 1)
        codes = np.asarray(cols.codes, dtype=np.int64) if strata else np.zeros(n_input, np.int64)
        order = np.lexsort((cols.time, codes))
        bounds = np.zeros(K + 1, dtype=np.int64)
        np.cumsum(np.bincount(codes, minlength=K), out=bounds[1:])
        return CoxPart(
            cols.keys if strata else pl.DataFrame(), np.ascontiguousarray(X[order]),
            np.ascontiguousarray(cols.time[order]), np.ascontiguousarray(cols.event[order], dtype=np.int8),
            np.ones(n_input) if w is None else np.ascontiguousarray(w[order], dtype=_F),
            None if cols.entry is None else np.ascontiguousarray(cols.entry[order]),
            bounds, n_input, w is not None and bool(np.any(w != np.floor(w))),
        )
    except RisksetError as e:
        return _error(e, n_input)


def cox_meta(part: CoxPart | PartError) -> CoxMeta | PartError:
    """What pass 1 sends to the client (see module contract)."""
    if isinstance(part, PartError):
        return part
    K = part.bounds.size - 1
    ts, nd, dw, off = [], [], [], [0]
    for k in range(K):
        sl = slice(int(part.bounds[k]), int(part.bounds[k + 1]))
        ev = part.status[sl] != 0
        t = part.time[sl][ev]
        w = part.wt[sl][ev]
        u, inv = np.unique(t, return_inverse=True)
        ts.append(u)
        nd.append(np.bincount(inv, minlength=u.size).astype(_F))
        dw.append(np.bincount(inv, weights=w, minlength=u.size))
        off.append(off[-1] + u.size)
    cat = (lambda a: np.concatenate(a) if a else np.empty(0))  # noqa: E731
    return CoxMeta(part.keys, int(part.time.size), int((part.status != 0).sum()), float(part.wt.sum()),
                   part.wt @ part.X, cat(ts), cat(nd), cat(dw), np.array(off, dtype=np.int64),
                   part.n_input, part.fractional_weights)


@kernel
def _tail_sums(X, t, r, grid, S0, S1, S2, sign):
    """Add ``sign * sum r, r x, r x x'`` over rows with ``t >= grid[j]`` to row j of S0/S1/S2
    (rows sorted by ``t`` ascending, grid ascending): one pass from the tail."""
    n, p = X.shape
    a0 = 0.0
    a1 = np.zeros(p)
    a2 = np.zeros((p, p))
    i = n - 1
    for j in range(grid.shape[0] - 1, -1, -1):
        while i >= 0 and t[i] >= grid[j]:
            ri = r[i]
            a0 += ri
            for k in range(p):
                rx = ri * X[i, k]
                a1[k] += rx
                for m in range(k + 1):
                    a2[k, m] += rx * X[i, m]
            i -= 1
        S0[j] += sign * a0
        for k in range(p):
            S1[j, k] += sign * a1[k]
            for m in range(k + 1):
                S2[j, k, m] += sign * a2[k, m]


@dataclass
class StepSums:
    S0: np.ndarray
    S1: np.ndarray
    S2: np.ndarray
    E0: np.ndarray | None
    E1: np.ndarray | None
    E2: np.ndarray | None
    ll_events: float
    u_events: np.ndarray


def cox_step(part: CoxPart, stratum_of_key: np.ndarray, grid: np.ndarray, grid_off: np.ndarray,
             beta: np.ndarray, means: np.ndarray, *, efron: bool) -> StepSums:
    """One partition's risk-set sums at ``beta`` on the global grid (see module contract)."""
    M = grid.size
    p = beta.size
    S0, S1, S2 = np.zeros(M), np.zeros((M, p)), np.zeros((M, p, p))
    E0 = E1 = E2 = None
    if efron:
        E0, E1, E2 = np.zeros(M), np.zeros((M, p)), np.zeros((M, p, p))
    ll = 0.0
    u = np.zeros(p)
    for k in range(part.bounds.size - 1):
        lo, hi = int(part.bounds[k]), int(part.bounds[k + 1])
        if hi == lo:
            continue
        s = int(stratum_of_key[k])
        g0, g1 = int(grid_off[s]), int(grid_off[s + 1])
        g = grid[g0:g1]
        X = part.X[lo:hi] - means
        eta = X @ beta
        r = part.wt[lo:hi] * np.exp(eta)
        _tail_sums(X, part.time[lo:hi], r, g, S0[g0:g1], S1[g0:g1], S2[g0:g1], 1.0)
        if part.entry is not None:  # not yet at risk: entry >= t
            eo = np.argsort(part.entry[lo:hi], kind="stable")
            _tail_sums(np.ascontiguousarray(X[eo]), part.entry[lo:hi][eo], r[eo], g,
                       S0[g0:g1], S1[g0:g1], S2[g0:g1], -1.0)
        ev = part.status[lo:hi] != 0
        w = part.wt[lo:hi][ev]
        ll += float(w @ eta[ev])
        u += w @ X[ev]
        if efron:
            j = g0 + np.searchsorted(g, part.time[lo:hi][ev])
            re = r[ev]
            xe = X[ev]
            np.add.at(E0, j, re)
            np.add.at(E1, j, re[:, None] * xe)
            np.add.at(E2, j, re[:, None, None] * xe[:, :, None] * xe[:, None, :])
    return StepSums(S0, S1, S2, E0, E1, E2, ll, u)


def add_sums(*parts: StepSums) -> StepSums:
    """The sums of several partitions (added in the order given)."""
    out = parts[0]
    out = StepSums(out.S0.copy(), out.S1.copy(), out.S2.copy(),
                   None if out.E0 is None else out.E0.copy(), None if out.E1 is None else out.E1.copy(),
                   None if out.E2 is None else out.E2.copy(), out.ll_events, out.u_events.copy())
    for s in parts[1:]:
        out.S0 += s.S0
        out.S1 += s.S1
        out.S2 += s.S2
        if out.E0 is not None:
            out.E0 += s.E0
            out.E1 += s.E1
            out.E2 += s.E2
        out.ll_events += s.ll_events
        out.u_events += s.u_events
    return out


@kernel
def _assemble(S0, S1, S2, E0, E1, E2, ndead, deadwt, efron, ll, u):
    """``(loglik, U, I)`` from the summed per-time sums: the single-machine update per time."""
    p = u.shape[0]
    imat = np.zeros((p, p))
    for j in range(S0.shape[0]):
        if ndead[j] > 0:
            ll += ce._apply_events(efron, int(ndead[j]), deadwt[j], S0[j], E0[j], S1[j], E1[j],
                                   S2[j], E2[j], u, imat, True)
    ce._symmetrize(imat)
    return ll, u, imat


def assemble(s: StepSums, ndead: np.ndarray, deadwt: np.ndarray, *, efron: bool) -> tuple[float, np.ndarray, np.ndarray]:
    M, p = s.S1.shape
    E0 = s.E0 if s.E0 is not None else np.zeros(M)
    E1 = s.E1 if s.E1 is not None else np.zeros((M, p))
    E2 = s.E2 if s.E2 is not None else np.zeros((M, p, p))
    return _assemble(s.S0, s.S1, s.S2, E0, E1, E2, ndead, deadwt, efron, float(s.ll_events),
                     s.u_events.copy())


class DistributedCoxResult(CoxResult):
    """A :class:`~riskset.CoxResult` fitted without the rows on the client: coefficients,
    variance and tests as the single-machine fit; row-level methods are unavailable."""

    def _no_rows(self, *a: Any, **k: Any) -> Any:
        raise OptionError("this Cox fit ran on a Dask cluster / across centres: residuals, "
                          "concordance, baseline hazard and cox_zph need the rows on one machine")

    @property
    def concordance(self) -> None:  # type: ignore[override]
        return None

    residuals = schoenfeld = basehaz = survfit = cox_zph = _no_rows  # type: ignore[assignment]


def _check_options(ties, robust, cluster, firth, offset):
    if ties not in ("efron", "breslow"):
        raise OptionError(f"ties={ties!r} on Dask: choose 'efron' or 'breslow' ('exact' needs the rows)")
    if robust or cluster is not None:
        raise OptionError("robust / cluster (sandwich) variance is not implemented on Dask or across "
                          "centres: it needs each row's score residual; pass robust=False")
    if firth:
        raise OptionError("firth=True is not implemented on Dask")
    if offset is not None:
        raise OptionError("offset is not implemented on Dask")


def fit(
    prepared: Sequence[Any],
    run_metas: Callable[[Sequence[Any]], list[Any]],
    run_step: Callable[[Sequence[Any], list[np.ndarray], tuple, dict], StepSums],
    *,
    covariates: list[str],
    strata: tuple[str, ...],
    ties: str,
    robust: bool | None,
    conf_level: float,
    max_iter: int,
    eps: float,
    after_step: Callable[[int], None] | None = None,
) -> DistributedCoxResult:
    """The Cox fit over ``prepared`` parts, whatever runs them (see module contract).

    ``run_metas(parts)`` returns each part's :class:`CoxMeta` (in order); ``run_step(parts,
    maps, args, kwargs)`` returns the summed :class:`StepSums` of all parts at ``args``.
    """
    from riskset._cox import _test
    from riskset._cox_design import Design
    from riskset.distributed.tables import merge_results
    from riskset.io.validate import encode_groups

    metas = run_metas(prepared)
    errs = [m for m in metas if isinstance(m, PartError)]
    if errs:
        merged = merge_results(*[m if isinstance(m, PartError) else _stub(m) for m in metas])
        merged.raise_()
    live = [(i, m) for i, m in enumerate(metas) if m.n > 0]
    if not live:
        raise RisksetError("no rows to analyse")
    if robust is None and any(m.fractional_weights for m in metas):
        raise OptionError("the weights are not all integers, so R's default is the robust variance, "
                          "which is not implemented on Dask; pass robust=False")
    p = len(covariates)
    # global strata (numbered as the single-machine path numbers them) and the event-time grid
    if strata:
        all_keys = pl.concat([m.keys for _, m in live], how="vertical_relaxed")
        codes, keys = encode_groups(all_keys, strata)
        codes = np.asarray(codes, dtype=np.int64)
    else:
        keys = pl.DataFrame()
        codes = np.zeros(sum(m.ev_off.size - 1 for _, m in live), dtype=np.int64)
    S = max(keys.height, 1)
    maps: list[np.ndarray] = [np.zeros(0, np.int64)] * len(metas)
    pos = 0
    st, tt, nd, dw = [], [], [], []
    for i, m in live:
        K = m.ev_off.size - 1
        maps[i] = codes[pos:pos + K]
        pos += K
        st.append(np.repeat(maps[i], np.diff(m.ev_off)))
        tt.append(m.ev_time)
        nd.append(m.ndead)
        dw.append(m.deadwt)
    st_a, tt_a = np.concatenate(st), np.concatenate(tt)
    order = np.lexsort((tt_a, st_a))
    s_o, t_o = st_a[order], tt_a[order]
    new = np.ones(t_o.size, dtype=bool)
    new[1:] = (t_o[1:] != t_o[:-1]) | (s_o[1:] != s_o[:-1])
    starts = np.flatnonzero(new)
    grid = t_o[starts]
    ndead = np.add.reduceat(np.concatenate(nd)[order], starts) if starts.size else np.zeros(0)
    deadwt = np.add.reduceat(np.concatenate(dw)[order], starts) if starts.size else np.zeros(0)
    grid_off = np.zeros(S + 1, dtype=np.int64)
    np.cumsum(np.bincount(s_o[starts], minlength=S), out=grid_off[1:])
    n = sum(m.n for _, m in live)
    n_events = sum(m.n_events for _, m in live)
    if n_events == 0:
        raise RisksetError("there are no events: the Cox model cannot be fitted")
    means = sum(m.sum_wx for _, m in live) / sum(m.sum_w for _, m in live)
    efron = ties == "efron"
    steps = [0]

    def fn(beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        s = run_step(prepared, maps, (grid, grid_off, np.asarray(beta, dtype=_F), means), {"efron": efron})
        steps[0] += 1
        if after_step is not None:
            after_step(steps[0])
        return assemble(s, ndead, deadwt, efron=efron)

    first = fn(np.zeros(p))
    chol0, rank0, _ = ce.cholesky2(first[2], np.finfo(float).eps ** 0.75)
    if rank0 < p:
        bad = [covariates[j] for j in range(p) if chol0[j, j] == 0.0]
        raise RisksetError("coefficients not estimable (no variation within the risk sets at event "
                           "times): " + ", ".join(repr(b) for b in bad))
    nr = ce.newton(fn, np.zeros(p), max_iter=max_iter, eps=eps, first=first)
    beta, var = nr.beta, nr.var
    warn_msgs: list[str] = []
    monotone = np.zeros(p, dtype=bool)
    if not nr.converged:
        from riskset._cox import ConvergenceWarning, _warn

        msg = f"Newton-Raphson ran out of iterations ({max_iter}) and did not converge"
        warn_msgs.append(msg)
        _warn(msg, ConvergenceWarning, stacklevel=3)
    elif max_iter > 1:
        infs = np.abs(nr.score @ var)
        monotone |= (infs > eps) & (infs > math.sqrt(eps) * np.abs(beta))
    se = np.sqrt(np.diag(var))
    wald, wdf = ce.wald_statistic(var, beta, np.finfo(float).eps ** 0.75)
    design = Design(np.empty((0, p)), list(covariates), {c: [j] for j, c in enumerate(covariates)}, {},
                    [False] * p)
    return DistributedCoxResult(
        terms=list(covariates), coef=beta, se=se, robust_se=None, variance_matrix=var,
        naive_variance=var, loglik=(float(nr.loglik_init), float(nr.loglik)),
        lr_test=_test(2.0 * (nr.loglik - nr.loglik_init), p), wald_test=_test(wald, wdf),
        score_test=_test(nr.score_test, p), robust_score_test=None, n=int(n), n_events=int(n_events),
        iterations=int(nr.iterations), converged=bool(nr.converged), ties=ties, robust=False, firth=False,
        conf_level=float(conf_level), monotone=monotone, warnings=warn_msgs, means=means,
        strata=tuple(strata), strata_keys=keys, _design=design, _data=None, _beta_c=beta, _cluster=None,
        _rows=None, _n_input=int(sum(getattr(m, "n_input", 0) for m in metas)),
    )


def _stub(m: CoxMeta) -> Any:
    from riskset.distributed.tables import empty_tables

    return empty_tables((), has_entry=False, n_input=m.n_input)


def _spec(time, event, covariates, strata, entry, weights) -> dict[str, Any]:
    return {"time": time, "event": event, "covariates": list(covariates), "strata": list(strata),
            "entry": entry, "weights": weights}


def _validate_common(covariates, conf_level, max_iter, eps):
    covs = list(as_names(covariates))
    if not covs:
        raise OptionError("covariates must name at least one column")
    if len(set(covs)) != len(covs):
        raise OptionError("covariates lists a column more than once")
    if not (isinstance(conf_level, (int, float)) and 0.0 < conf_level < 1.0):
        raise OptionError(f"conf_level={conf_level!r} must be a number strictly between 0 and 1")
    if not (isinstance(max_iter, int) and max_iter >= 0):
        raise OptionError(f"max_iter={max_iter!r} must be a non-negative integer")
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise OptionError(f"eps={eps!r} must be positive")
    return covs


def cox_dask(data: Any, *, time: str, event: str, covariates: Any, strata: Any = None, entry: str | None = None,
             weights: str | None = None, cluster: str | None = None, robust: bool | None = None,
             offset: str | None = None, ties: str = "efron", firth: bool = False, conf_level: float = 0.95,
             reference: Any = None, drop_missing: bool = True, max_iter: int = 20, eps: float = 1e-9,
             timefix: bool = True, _after_step: Callable[[int], None] | None = None) -> DistributedCoxResult:
    """:func:`riskset.cox` for a Dask DataFrame (see module contract)."""
    import dask

    from riskset.distributed.execute import _columns, tree_reduce

    _check_options(ties, robust, cluster, firth, offset)
    if reference:
        raise OptionError("reference= applies to categorical covariates, which Dask fits do not take")
    covs = _validate_common(covariates, conf_level, max_iter, eps)
    strat = as_names(strata)
    if timefix:  # R's timefix: refused (never approximated) when the global times hold near ties
        from riskset.distributed.execute import tables_on_cluster, to_event_table
        from riskset.engine import timefix as tf

        et = to_event_table(tables_on_cluster(data, time=time, event=event, entry=entry))[0]
        if tf.table_moves(et.time, et.offsets) is not None:
            raise OptionError("near-tied times (R's timefix) are not merged by the Dask Cox fit; "
                              "pass timefix=False, or round the times first")
    spec = _spec(time, event, covs, strat, entry, weights)
    wanted = list(dict.fromkeys([time, event, *(c for c in (entry, weights) if c), *strat, *covs]))
    parts = _columns(data, wanted).to_delayed()
    prep = dask.delayed(cox_prepare, pure=True)
    prepared = dask.persist(*[prep(p, spec) for p in parts])  # validated rows stay on the workers

    def run_metas(pp):
        meta = dask.delayed(cox_meta, pure=True)
        return list(dask.compute(*[meta(x) for x in pp]))

    def run_step(pp, maps, args, kwargs):
        step = dask.delayed(cox_step, pure=True)
        tasks = [step(x, m, *args, **kwargs) for x, m in zip(pp, maps, strict=True)]
        return tree_reduce(tasks, add_sums).compute()

    return fit(prepared, run_metas, run_step, covariates=covs, strata=strat, ties=ties, robust=robust,
               conf_level=conf_level, max_iter=max_iter, eps=eps, after_step=_after_step)


def federated_cox(client: Any, centres: dict[str, Any], *, time: str, event: str, covariates: Any,
                  strata: Any = None, weights: str | None = None, ties: str = "efron",
                  robust: bool | None = None, conf_level: float = 0.95, max_iter: int = 20,
                  eps: float = 1e-9, stratify_by_centre: bool = True) -> DistributedCoxResult:
    """Cox across centres: ``centres`` maps a centre's name to ``(worker_address, data)``.

    Each centre's rows are scattered to its own worker only (``client.scatter(...,
    workers=[address])``) and every task on them is pinned there (``workers=``,
    ``allow_other_workers=False``), so rows never leave it. What leaves a centre: once, its
    strata keys, row and event counts, ``sum w``, ``sum w x`` and per event time ``ndead`` and
    ``deadwt`` (pass 1); then per Newton step the risk-set sums on the global event-time grid
    (module contract) and ``sum_events w x'b``, ``sum_events w x``. The coordinator (the client)
    adds the centres' sums. ``stratify_by_centre`` adds the centre as a stratum
    (``coxph(... + strata(centre))``): each centre's baseline hazard is its own, and its
    per-step sums are then only over its own grid.
    """
    covs = _validate_common(covariates, conf_level, max_iter, eps)
    _check_options(ties, robust, None, False, None)
    strat = as_names(strata)
    if stratify_by_centre and "centre" in strat:
        raise OptionError("a column named 'centre' is already a stratum")
    spec = _spec(time, event, covs, (*(("centre",) if stratify_by_centre else ()), *strat), None, weights)
    names = list(centres)
    prepared = []
    addrs = []
    for name in names:
        addr, frame = centres[name]
        fr = frame
        if stratify_by_centre:
            from riskset.io.read import to_polars

            fr = to_polars(frame, list(dict.fromkeys([time, event, *(c for c in (weights,) if c), *strat, *covs])))
            fr = fr.with_columns(pl.lit(name).alias("centre"))
        fut = client.scatter(fr, workers=[addr])
        prepared.append(client.submit(cox_prepare, fut, spec, workers=[addr], allow_other_workers=False,
                                      pure=False))
        addrs.append(addr)

    def run_metas(pp):
        futs = [client.submit(cox_meta, x, workers=[a], allow_other_workers=False) for x, a in zip(pp, addrs, strict=True)]
        return client.gather(futs)

    def run_step(pp, maps, args, kwargs):
        futs = [client.submit(cox_step, x, m, *args, **kwargs, workers=[a], allow_other_workers=False,
                              pure=False)
                for x, m, a in zip(pp, maps, addrs, strict=True)]
        return add_sums(*client.gather(futs))

    return fit(prepared, run_metas, run_step, covariates=covs, strata=spec["strata"], ties=ties,
               robust=robust, conf_level=conf_level, max_iter=max_iter, eps=eps)
