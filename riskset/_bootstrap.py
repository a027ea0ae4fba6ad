"""Bootstrap confidence intervals for survival statistics.

:func:`bootstrap` resamples units (rows, or clusters) with replacement, optionally within
strata, and evaluates a built-in statistic on every replicate as a re-weighting of data
sorted once (:mod:`riskset.engine.bootstrap`), in parallel over replicates. A Python
callable may be given instead (the generic path): it receives each resampled data set as a
Polars DataFrame and is far slower, but uses the same resamples for the same seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy.special import ndtr, ndtri

from riskset import _display
from riskset._display import Displayed
from riskset._prepare import as_names
from riskset.engine import bootstrap as eb
from riskset.errors import OptionError, RisksetError, RisksetWarning, check_choice
from riskset.errors import warn as _warn
from riskset.io.read import to_polars
from riskset.io.validate import encode_groups, validate_survival

#: Built-in statistics: name -> (kernel statistic, parameter name, how two groups combine).
STATISTICS: dict[str, tuple[int, str | None, str | None]] = {
    "median": (eb.STAT_MEDIAN, None, None),
    "quantile": (eb.STAT_QUANTILE, "p", None),
    "survival": (eb.STAT_SURV, "at", None),
    "rmst": (eb.STAT_RMST, "tau", None),
    "median_difference": (eb.STAT_MEDIAN, None, "difference"),
    "median_ratio": (eb.STAT_MEDIAN, None, "ratio"),
    "quantile_difference": (eb.STAT_QUANTILE, "p", "difference"),
    "survival_difference": (eb.STAT_SURV, "at", "difference"),
    "survival_ratio": (eb.STAT_SURV, "at", "ratio"),
    "rmst_difference": (eb.STAT_RMST, "tau", "difference"),
    "rmst_ratio": (eb.STAT_RMST, "tau", "ratio"),
}
#: The log-rank chi-square across the levels of ``group`` (``weighting=`` as riskset.logrank).
LOGRANK_STATISTICS = ("logrank",)
#: Cox statistics (one row per model term); ``hazard_ratio`` is ``exp(coef)``.
COX_STATISTICS = ("cox_coef", "hazard_ratio")
METHODS = ("percentile", "basic", "bca")
#: Replicates are generated and evaluated in chunks of this many (bounds memory, drives progress).
CHUNK = 256
#: Above this many units BCa's jackknife is grouped into this many blocks (see Notes).
JACKKNIFE_BLOCKS = 2000


class UndefinedReplicatesWarning(RisksetWarning):
    """Some bootstrap replicates had an undefined statistic (e.g. median not reached)."""


@dataclass(repr=False)
class BootstrapResult(Displayed):
    """Bootstrap estimate and confidence interval.

    Attributes
    ----------
    statistic, method, conf_level, n_resamples, seed
        What was computed and how. ``seed`` is always the seed used: without ``seed=`` one
        is drawn (``seed_drawn`` is then True), so any result can be reproduced.
    estimate
        The statistic on the original data (per group for one-group statistics).
    table
        Polars DataFrame: one row per group (or one row for two-group contrasts) with
        ``estimate, std_err, lower, upper, n_defined, n_undefined``. A difference or ratio
        names its direction in ``contrast`` (``"HER2-positive − HER2-low"``: the second
        level of ``group`` in level order versus the first; a Cox term ``"adeno / squamous"``
        or ``"per unit of karno"``).
    n_undefined
        Replicates where the statistic was undefined; they are excluded from the SE and CI
        (``undefined="excluded"``) and a warning says how many. When more than half are
        undefined no CI is given.
    replicates
        ``float64[B, k]`` replicate values when ``return_replicates=True``.
    """

    statistic: str
    method: str
    conf_level: float
    n_resamples: int
    seed: int | None
    table: pl.DataFrame
    undefined: str = "excluded"
    replicates: np.ndarray | None = field(default=None, repr=False)
    seed_drawn: bool = False

    @property
    def estimate(self) -> float:
        return float(self.table["estimate"][0])

    @property
    def lower(self) -> float:
        return float(self.table["lower"][0]) if self.table["lower"][0] is not None else math.nan

    @property
    def upper(self) -> float:
        return float(self.table["upper"][0]) if self.table["upper"][0] is not None else math.nan

    @property
    def n_undefined(self) -> int:
        return int(self.table["n_undefined"].max())

    def _blocks(self) -> list:
        return _display.bootstrap_blocks(self)

    def to_dict(self) -> dict[str, Any]:
        from riskset._km import _records

        return {
            "estimator": "bootstrap",
            "statistic": self.statistic,
            "method": self.method,
            "conf_level": self.conf_level,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "seed_drawn": self.seed_drawn,
            "undefined": self.undefined,
            "table": _records(self.table),
        }


# --------------------------------------------------------------------------------------------
# intervals
def percentile_interval(reps: np.ndarray, alpha: float) -> tuple[float, float]:
    """Percentile interval: the alpha/2 and 1 - alpha/2 quantiles of the replicates."""
    lo, hi = np.percentile(reps, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(lo), float(hi)


def basic_interval(reps: np.ndarray, theta: float, alpha: float) -> tuple[float, float]:
    """Basic (reverse percentile) interval: 2 theta minus the percentile limits."""
    lo, hi = percentile_interval(reps, alpha)
    return 2 * theta - hi, 2 * theta - lo


def bca_interval(reps: np.ndarray, theta: float, jack: np.ndarray, alpha: float) -> tuple[float, float]:
    """Bias-corrected and accelerated interval (Efron 1987; Efron & Tibshirani 1993, 14.3).

    ``z0 = Phi^-1(#(reps < theta) / B)``; acceleration ``a = sum(U^3) / (6 (sum U^2)^1.5)``
    with jackknife deviations ``U = mean(jack) - jack``; limits are the replicate quantiles at
    ``Phi(z0 + (z0 + z_q) / (1 - a (z0 + z_q)))`` for ``q = alpha/2, 1 - alpha/2``.
    """
    prop = float(np.mean(reps < theta))
    if prop in (0.0, 1.0):
        return math.nan, math.nan
    z0 = float(ndtri(prop))
    u = jack.mean() - jack
    denom = 6.0 * float(np.sum(u**2)) ** 1.5
    a = float(np.sum(u**3)) / denom if denom > 0 else 0.0
    out = []
    for q in (alpha / 2, 1 - alpha / 2):
        zq = float(ndtri(q))
        adj = float(ndtr(z0 + (z0 + zq) / (1 - a * (z0 + zq))))
        out.append(float(np.percentile(reps, 100 * adj)))
    return out[0], out[1]


# --------------------------------------------------------------------------------------------
@dataclass
class _Layout:
    """Rows sorted by (group, time, event) plus the resampling units."""

    time: np.ndarray
    event: np.ndarray
    base_w: np.ndarray
    unit: np.ndarray  # unit index of each sorted row, units numbered stratum by stratum
    unit_offsets: np.ndarray
    group_offsets: np.ndarray
    keys: pl.DataFrame
    order: np.ndarray  # sorted position -> input row (after validation)
    unit_rows: np.ndarray  # input-row index of each row, for the generic path
    frame: pl.DataFrame


def _units(frame: pl.DataFrame, strata: Sequence[str], cluster: str | None, order: np.ndarray):
    """Resampling units of the rows taken in ``order``.

    Returns ``(unit_sorted, unit_rows, unit_offsets)``: the unit of each row in ``order``, of
    each row in frame order, and unit ranges per resampling stratum (units of a stratum are
    contiguous). Row units are numbered in ``order`` within each stratum, so filling replicate
    weights reads the counts sequentially.
    """
    n = frame.height
    s_codes = encode_groups(frame, strata)[0] if strata else np.zeros(n, dtype=np.int64)
    if cluster is not None:
        c_codes, _ = encode_groups(frame, [cluster])
        base = int(c_codes.max()) + 1
        pair = s_codes * base + c_codes
        uniq_pairs, unit_of_row = np.unique(pair, return_inverse=True)
        if np.unique(uniq_pairs % base).size != uniq_pairs.size:
            raise RisksetError(f"cluster column {cluster!r} has clusters that span several strata")
        unit_stratum = uniq_pairs // base  # ascending, so each stratum's units are contiguous
        unit_sorted = unit_of_row[order].astype(np.int64)
    else:
        by_stratum = np.argsort(s_codes[order], kind="stable")
        unit_sorted = np.empty(n, dtype=np.int64)
        unit_sorted[by_stratum] = np.arange(n)
        unit_stratum = np.sort(s_codes)
    unit_rows = np.empty(n, dtype=np.int64)
    unit_rows[order] = unit_sorted
    unit_offsets = np.concatenate(([0], np.cumsum(np.bincount(unit_stratum)))).astype(np.int64)
    return np.ascontiguousarray(unit_sorted), unit_rows, unit_offsets


def _layout(frame, cols, group: str | None, strata: Sequence[str], cluster: str | None) -> _Layout:
    order = np.lexsort((cols.event, cols.time, cols.codes))
    counts = np.bincount(cols.codes, minlength=max(cols.n_groups, 1))
    group_offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    unit_sorted, unit_rows, unit_offsets = _units(frame, strata, cluster, order)
    n = cols.time.size
    base_w = cols.weights if cols.weights is not None else np.ones(n)
    return _Layout(
        time=np.ascontiguousarray(cols.time[order]),
        event=np.ascontiguousarray(cols.event[order]),
        base_w=np.ascontiguousarray(base_w[order]),
        unit=unit_sorted,
        unit_offsets=unit_offsets,
        group_offsets=group_offsets,
        keys=cols.keys,
        order=order,
        unit_rows=unit_rows,
        frame=frame,
    )


def _direction(keys: pl.DataFrame, how: str) -> str:
    """The direction of a two-group contrast: ``"B − A"`` (difference) or ``"B / A"``
    (ratio), the second group in level order against the first."""
    from riskset._logrank import _labels
    from riskset.io.validate import order_kind

    names = _labels(keys)
    if len(names) != 2:
        return ""
    if keys.width == 1 and order_kind(keys.schema[keys.columns[0]]) in ("numeric", "boolean"):
        names = [f"{keys.columns[0]}={v}" for v in names]  # "trt=2 − trt=1", not "2 − 1"
    return f"{names[1]} {'−' if how == 'difference' else '/'} {names[0]}"


def _term_direction(fit: Any, term: str, name: str) -> str:
    """A Cox term's direction: ``"adeno / squamous"`` (a factor level against the
    reference; ``log(...)`` for the coefficient) or ``"per unit of karno"``."""
    from riskset._cox_design import _level_label

    for cov, (lv, ref) in fit._design.levels.items():
        for v in lv:
            if v != ref and f"{cov}{_level_label(v)}" == term:
                ratio = f"{cov}: {_level_label(v)} / {_level_label(ref)}"
                return ratio if name == "hazard_ratio" else f"log({ratio})"
    return f"per unit of {term}"


def _combine(values: np.ndarray, how: str | None) -> np.ndarray:
    """Per-group values [..., G] -> the reported statistic(s) [..., k]."""
    if how is None:
        return values
    with np.errstate(divide="ignore", invalid="ignore"):
        if how == "difference":
            return (values[..., 1] - values[..., 0])[..., None]
        return (values[..., 1] / values[..., 0])[..., None]


def bootstrap(
    data: Any,
    *,
    statistic: str | Sequence[str] | Callable[[pl.DataFrame], float],
    time: str,
    event: str,
    group: str | None = None,
    weights: str | None = None,
    at: float | None = None,
    tau: float | None = None,
    p: float | None = None,
    n_resamples: int = 2000,
    method: str = "percentile",
    conf_level: float = 0.95,
    strata: str | Sequence[str] | None = None,
    cluster: str | None = None,
    seed: int | None = None,
    return_replicates: bool = False,
    progress: Callable[[int, int], None] | None = None,
    drop_missing: bool = True,
    covariates: str | Sequence[str] | None = None,
    cox_strata: str | Sequence[str] | None = None,
    ties: str = "efron",
    weighting: str | None = None,
    levels: Mapping[str, Sequence[Any]] | None = None,
    timefix: bool = True,
) -> BootstrapResult:
    """Bootstrap confidence interval for a survival statistic.

    Parameters
    ----------
    data
        Any table riskset accepts (see :func:`riskset.kaplan_meier`).
    statistic
        A built-in name — ``median``, ``quantile`` (with ``p``), ``survival`` (at landmark
        ``at``), ``rmst`` (up to ``tau``), or a two-group contrast ``median_difference``,
        ``median_ratio``, ``quantile_difference``, ``survival_difference``,
        ``survival_ratio``, ``rmst_difference``, ``rmst_ratio`` (second level of ``group``
        versus the first, in level order; the table's ``contrast`` names them) — or a list of these, evaluated on the same
        resamples (one row per statistic and group) — or a callable taking a Polars
        DataFrame (the resampled rows) and returning a float (generic path; slower).
    group
        Grouping column: one-group statistics are reported per group; contrasts need exactly
        two groups.
    n_resamples, method, conf_level
        Number of replicates; interval ``{'percentile', 'basic', 'bca'}``; level.
    strata
        Resample within each level of these columns (e.g. centre).
    cluster
        Resample clusters (e.g. patients) keeping all of a cluster's rows together.
    seed
        Seed of ``numpy.random.SeedSequence``; the same seed gives identical results at any
        thread count. None: a seed is drawn, used and recorded in the result.
    progress
        Called as ``progress(done, total)`` after each chunk of replicates.
    covariates, cox_strata, ties
        For ``statistic="cox_coef"`` or ``"hazard_ratio"``: the Cox model (see
        :func:`riskset.cox`). Each replicate refits it from the full-data estimate with
        the resample counts as row frequencies (Efron ties counted as in the resampled data).
    levels
        ``{column: [level, ...]}``: the order of ``group``'s (or a Cox factor's) levels; the
        level-order policy of :mod:`riskset.io.validate` otherwise.
    timefix
        Merge near-tied times first, as R does by default (``docs/algorithms/timefix.md``):
        once, on the full data; replicates resample the merged rows (a callable statistic
        gets them in its frame's time column).

    Notes
    -----
    Replicates where the statistic is undefined (e.g. a median not reached) are excluded and
    counted; a warning reports the count, and when more than half are undefined no interval
    is returned. BCa's acceleration uses the leave-one-unit-out jackknife; with more than
    2,000 units, units are split into 2,000 seeded blocks (grouped jackknife).
    """
    check_choice("method", method, METHODS)
    if not (isinstance(n_resamples, int) and n_resamples >= 1):
        raise OptionError(f"n_resamples={n_resamples!r} must be a positive integer")
    if not 0 < conf_level < 1:
        raise OptionError(f"conf_level={conf_level!r} must be strictly between 0 and 1")
    if n_resamples < 100:
        _warn(
            f"n_resamples={n_resamples} is small for {method} intervals; use at least 1000",
            RisksetWarning, stacklevel=2,
        )
    strata_names = as_names(strata)
    drawn = seed is None
    if drawn:
        seed = draw_seed()
    result = _bootstrap(data, statistic, time, event, group, weights, at, tau, p, n_resamples,
                        method, conf_level, strata_names, cluster, seed, return_replicates,
                        progress, drop_missing, covariates, cox_strata, ties, weighting, levels,
                        timefix)
    result.seed_drawn = drawn
    return result


def draw_seed() -> int:
    """A fresh seed (63 bits from the operating system's entropy) for a run given none."""
    import secrets

    return secrets.randbits(63)


def _bootstrap(data, statistic, time, event, group, weights, at, tau, p, n_resamples, method,
               conf_level, strata_names, cluster, seed, return_replicates, progress, drop_missing,
               covariates, cox_strata, ties, weighting, levels, timefix) -> BootstrapResult:
    generic = callable(statistic)
    specs: list[tuple[str, int, float, str | None]] = []  # (name, kernel code, parameter, combine)
    if not generic:
        names = [statistic] if isinstance(statistic, str) else list(statistic)
        if "logrank" in names:
            if names != ["logrank"]:
                raise OptionError("statistic 'logrank' cannot be combined with other statistics in one call")
            return _logrank_bootstrap(
                data, time=time, event=event, group=group, weights=weights, strata=strata_names,
                cluster=cluster, seed=seed, n_resamples=n_resamples, method=method,
                conf_level=conf_level, return_replicates=return_replicates, progress=progress,
                drop_missing=drop_missing, weighting=weighting, levels=levels, timefix=timefix,
            )
        cox_names = [x for x in names if x in COX_STATISTICS]
        if cox_names:
            if len(cox_names) != len(names):
                raise OptionError("Cox statistics (cox_coef, hazard_ratio) cannot be mixed with "
                                  "Kaplan–Meier statistics in one call")
            if not covariates:
                raise OptionError(f"statistic {cox_names[0]!r} needs covariates=[...]")
            return _cox_bootstrap(
                data, cox_names, time=time, event=event, covariates=covariates, cox_strata=cox_strata,
                ties=ties, weights=weights, strata=strata_names, cluster=cluster, seed=seed,
                n_resamples=n_resamples, method=method, conf_level=conf_level,
                return_replicates=return_replicates, progress=progress, drop_missing=drop_missing,
                levels=levels,
                timefix=timefix,
            )
        if not names:
            raise OptionError("statistic= must name at least one statistic")
        for name in names:
            if name not in STATISTICS:
                raise OptionError(
                    f"statistic={name!r} is not valid; choose one of: "
                    + ", ".join([*STATISTICS, *COX_STATISTICS, *LOGRANK_STATISTICS]) + " (or pass a callable)"
                )
            code, param_name, how = STATISTICS[name]
            param = {"at": at, "tau": tau, "p": p, None: 0.5}[param_name]
            if param is None:
                raise OptionError(f"statistic {name!r} needs {param_name}=...")
            if code == eb.STAT_QUANTILE and not 0 < param < 1:
                raise OptionError(f"p={param!r} must be strictly between 0 and 1")
            specs.append((name, code, float(param), how))
    wanted = [time, event, *(c for c in (group, weights, cluster) if c), *strata_names]
    frame = to_polars(data, list(dict.fromkeys(wanted)) if not generic else None, levels,
                      plain=[c for c in (time, event, weights) if c])
    cols = validate_survival(
        frame, time=time, event=event, weights=weights, by=[group] if group else (),
        drop_missing=drop_missing, also=[*strata_names, *([cluster] if cluster else [])],
        also_role="strata/cluster", timefix=timefix,
    )
    if cols.rows is not None:
        frame = frame[cols.rows]
    if generic and cols.n_timefixed:  # the callable sees the merged times too
        frame = frame.with_columns(pl.Series(time, cols.time))
    lay = _layout(frame, cols, group, strata_names, cluster)
    n_groups = lay.group_offsets.size - 1
    for name, _code, _param, how in specs:
        if how is not None and n_groups != 2:
            raise RisksetError(
                f"statistic {name!r} compares two groups; {group!r} has {n_groups} levels"
                if group else f"statistic {name!r} needs group=... with two levels"
            )
    seeds = np.random.SeedSequence(seed).generate_state(n_resamples, dtype=np.uint64)

    # --- point estimate and replicates -------------------------------------------------------
    # columns of ``reps``: one per (statistic, group) for per-group statistics, one per
    # statistic for two-group contrasts; ``labels`` names them
    labels: list[dict[str, Any]] = []
    if generic:
        theta = np.array([float(statistic(frame))])
        reps = _generic_replicates(statistic, frame, lay, seeds, progress)
        labels = [{"statistic": getattr(statistic, "__name__", "callable")}]
        jack_fn = lambda block, n_blocks: _generic_jackknife(statistic, frame, lay, block, n_blocks)  # noqa: E731
    else:
        codes = np.array([sp[1] for sp in specs], dtype=np.int64)
        params = np.array([sp[2] for sp in specs], dtype=np.float64)
        keys = lay.keys.to_dicts() if group else [{}]

        def flatten(vals: np.ndarray) -> np.ndarray:  # [..., K, G] -> [..., columns]
            return np.concatenate([_combine(vals[..., k, :], sp[3]) for k, sp in enumerate(specs)], axis=-1)

        for name, _c, _p, how in specs:
            labels += ([{"statistic": name, **kk} for kk in keys] if how is None
                       else [{"statistic": name, "contrast": _direction(lay.keys, how)}])
        theta_g = np.array([[
            eb.group_statistic(lay.time, lay.event, lay.base_w, lay.group_offsets[g],
                               lay.group_offsets[g + 1], c, x)
            for g in range(n_groups)] for c, x in zip(codes, params, strict=True)])
        theta = flatten(theta_g)
        parts = []
        for start in range(0, n_resamples, CHUNK):
            chunk = seeds[start:start + CHUNK]
            vals = eb.replicate_statistics(chunk, lay.time, lay.event, lay.base_w, lay.unit,
                                           lay.unit_offsets, lay.group_offsets, codes, params)
            parts.append(flatten(vals))
            if progress is not None:
                progress(min(start + CHUNK, n_resamples), n_resamples)
        reps = np.concatenate(parts, axis=0)

        def jack_fn(block, n_blocks):
            vals = eb.jackknife_statistics(lay.time, lay.event, lay.base_w, lay.unit,
                                           int(lay.unit_offsets[-1]), block, n_blocks,
                                           lay.group_offsets, codes, params)
            return flatten(vals)

    jack = None
    if method == "bca":
        block, n_blocks = _jackknife_blocks(int(lay.unit_offsets[-1]), seed)
        jack = jack_fn(block, n_blocks)
    table = _interval_table(reps, theta, jack, labels, method, conf_level)
    return BootstrapResult(
        statistic=", ".join(sp[0] for sp in specs) if specs else labels[0]["statistic"],
        method=method, conf_level=float(conf_level), n_resamples=n_resamples, seed=seed,
        table=table, replicates=reps if return_replicates else None,
    )


def _jackknife_blocks(n_units: int, seed: int | None) -> tuple[np.ndarray, int]:
    """Leave-one-unit-out blocks, or 2,000 seeded blocks of units when there are more."""
    if n_units <= JACKKNIFE_BLOCKS:
        return np.arange(n_units, dtype=np.int64), n_units
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    return (rng.permutation(n_units) % JACKKNIFE_BLOCKS).astype(np.int64), JACKKNIFE_BLOCKS


def _interval_table(reps, theta, jack, labels, method, conf_level) -> pl.DataFrame:
    """Estimate, bootstrap SE, interval and defined/undefined counts per replicate column."""
    alpha = 1 - conf_level
    rows = []
    for k in range(reps.shape[1]):
        r = reps[:, k]
        ok = ~np.isnan(r)
        n_def = int(ok.sum())
        n_undef = int(r.size - n_def)
        lo = hi = se = math.nan
        if n_def >= 2:
            se = float(np.std(r[ok], ddof=1))
        if n_def > r.size / 2 and not math.isnan(theta[k]):
            if method == "percentile":
                lo, hi = percentile_interval(r[ok], alpha)
            elif method == "basic":
                lo, hi = basic_interval(r[ok], float(theta[k]), alpha)
            else:
                j = jack[:, k]
                lo, hi = bca_interval(r[ok], float(theta[k]), j[~np.isnan(j)], alpha)
        rows.append((float(theta[k]), se, lo, hi, n_def, n_undef))
        if n_undef:
            extra = {kk: v for kk, v in labels[k].items() if kk != "statistic"}
            where = f" ({labels[k]['statistic']}" + (f", {extra}" if extra else "") + ")"
            msg = (f"statistic undefined in {n_undef} of {r.size} replicates{where}"
                   + (" (excluded from the SE and CI)" if n_def > r.size / 2
                      else "; more than half undefined, so no confidence interval is given"))
            _warn(msg, UndefinedReplicatesWarning, stacklevel=3)
    arr = np.array(rows, dtype=np.float64).reshape(-1, 6)
    table = pl.DataFrame({
        "estimate": arr[:, 0], "std_err": arr[:, 1], "lower": arr[:, 2], "upper": arr[:, 3],
        "n_defined": arr[:, 4].astype(np.int64), "n_undefined": arr[:, 5].astype(np.int64),
    }).fill_nan(None)
    return pl.concat([pl.DataFrame(labels), table], how="horizontal")


def _cox_bootstrap(data, names, *, time, event, covariates, cox_strata, ties, weights, strata, cluster,
                   seed, n_resamples, method, conf_level, return_replicates, progress, drop_missing,
                   levels=None, timefix=True):
    """Cox coefficients / hazard ratios: replicates refitted from the full-data estimate."""
    from riskset._cox import cox
    toler_chol = float(np.finfo(float).eps ** 0.75)  # R coxph.control(toler.chol)

    if ties == "exact":
        raise OptionError("the Cox bootstrap supports ties='efron' or 'breslow'")
    fit = cox(data, time=time, event=event, covariates=covariates, strata=cox_strata, weights=weights,
              ties=ties, robust=False, drop_missing=drop_missing, levels=levels, timefix=timefix)
    if not fit.converged or bool(np.any(fit.monotone)):
        _warn("the full-data Cox fit is monotone or did not converge; bootstrap replicates "
                      "of a diverging coefficient are not meaningful (consider firth=True)",
                      RisksetWarning, stacklevel=3)
    d = fit._data
    extra = [*strata, *([cluster] if cluster else [])]
    frame = to_polars(data, extra) if extra else pl.DataFrame({"_": np.zeros(fit._n_input)})
    if fit._rows is not None:
        frame = frame[fit._rows]
    for col in extra:
        if frame.get_column(col).null_count():
            s = frame.get_column(col)
            from riskset.errors import ColumnError

            raise ColumnError(col, "(strata/cluster) has missing values", s.null_count(),
                              int(s.is_null().arg_true()[0]),
                              hint="the Cox bootstrap resamples complete rows: leave those rows out first")
    unit_sorted, _unit_rows, unit_offsets = _units(frame, strata, cluster, d.order)
    seeds = np.random.SeedSequence(seed).generate_state(n_resamples, dtype=np.uint64)
    beta0 = np.ascontiguousarray(fit._beta_c, dtype=np.float64)
    parts = []
    for start in range(0, n_resamples, CHUNK):
        parts.append(eb.cox_replicates(seeds[start:start + CHUNK], d.X, d.time, d.status, d.wt, d.off,
                                       d.bounds, d.efron, unit_sorted, unit_offsets, beta0, 20, 1e-9,
                                       toler_chol))
        if progress is not None:
            progress(min(start + CHUNK, n_resamples), n_resamples)
    coefs = np.concatenate(parts, axis=0)
    jack = None
    if method == "bca":
        block, n_blocks = _jackknife_blocks(int(unit_offsets[-1]), seed)
        jack = eb.cox_jackknife(d.X, d.time, d.status, d.wt, d.off, d.bounds, d.efron, unit_sorted,
                                block, n_blocks, beta0, 20, 1e-9, toler_chol)
    reps, theta, labels, jacks = [], [], [], []
    for name in names:
        f = np.exp if name == "hazard_ratio" else (lambda x: x)
        reps.append(f(coefs))
        theta.append(f(fit.coef))
        jacks.append(f(jack) if jack is not None else None)
        labels += [{"statistic": name, "term": t, "contrast": _term_direction(fit, t, name)}
                   for t in fit.terms]
    reps_all = np.concatenate(reps, axis=1)
    table = _interval_table(reps_all, np.concatenate(theta), np.concatenate(jacks, axis=1)
                            if jack is not None else None, labels, method, conf_level)
    return BootstrapResult(statistic=", ".join(names), method=method, conf_level=float(conf_level),
                           n_resamples=n_resamples, seed=seed, table=table,
                           replicates=reps_all if return_replicates else None)


def _logrank_bootstrap(data, *, time, event, group, weights, strata, cluster, seed, n_resamples, method,
                       conf_level, return_replicates, progress, drop_missing, weighting, levels=None, timefix=True):
    """The log-rank chi-square of ``group``: replicates as integer weights (= replicated rows)."""
    from riskset._logrank import _resolve_weighting
    from riskset.engine.logrank import gather_rows, transpose_codes

    if not group:
        raise OptionError("statistic 'logrank' needs group=...")
    if method == "bca":
        raise OptionError("BCa is not available for the log-rank statistic; use percentile or basic")
    wt = _resolve_weighting(weighting, 0.0, 0.0)
    wanted = [time, event, group, *(c for c in (weights, cluster) if c), *strata]
    frame = to_polars(data, list(dict.fromkeys(wanted)), levels, plain=[c for c in (time, event, weights) if c])
    cols = validate_survival(frame, time=time, event=event, weights=weights, by=[group],
                             drop_missing=drop_missing, also=[*strata, *([cluster] if cluster else [])],
                             also_role="strata/cluster", timefix=timefix)
    if cols.rows is not None:
        frame = frame[cols.rows]
    if cols.n_groups < 2:
        raise RisksetError(f"statistic 'logrank' needs at least two levels in {group!r}")
    order = np.lexsort((cols.event, cols.time))
    unit_sorted, _ur, unit_offsets = _units(frame, strata, cluster, order)
    time_s = np.ascontiguousarray(cols.time[order])
    event_s = np.ascontiguousarray(cols.event[order])
    codes_s = gather_rows(transpose_codes(cols.codes.astype(np.int16)[None, :]), order)
    base_w = np.ascontiguousarray((cols.weights if cols.weights is not None else np.ones(cols.time.size))[order])
    theta = riskset_logrank_statistic(time_s, event_s, codes_s, base_w, cols.n_groups, wt)
    seeds = np.random.SeedSequence(seed).generate_state(n_resamples, dtype=np.uint64)
    parts = []
    for start in range(0, n_resamples, CHUNK):
        parts.append(eb.logrank_replicates(seeds[start:start + CHUNK], time_s, event_s, codes_s, base_w,
                                           unit_sorted, unit_offsets, cols.n_groups, wt.mode, wt.rho, wt.gamma))
        if progress is not None:
            progress(min(start + CHUNK, n_resamples), n_resamples)
    reps = np.concatenate(parts)[:, None]
    table = _interval_table(reps, np.array([theta]), None, [{"statistic": "logrank"}], method, conf_level)
    return BootstrapResult(statistic="logrank", method=method, conf_level=float(conf_level),
                           n_resamples=n_resamples, seed=seed, table=table,
                           replicates=reps if return_replicates else None)


def riskset_logrank_statistic(time_s, event_s, codes_s, w, n_levels, wt) -> float:
    """Log-rank chi-square of rows sorted by time (the bootstrap's point estimate)."""
    from riskset.engine.logrank import grid_sums_multi

    obs, expd, var, _ = grid_sums_multi(time_s, event_s, w, True, np.array([0, time_s.size], dtype=np.int64),
                                        codes_s, np.array([n_levels], dtype=np.int64), wt.mode, wt.rho, wt.gamma)
    return float(eb.chisq_from_sums(obs[0, 0], expd[0, 0], var[0, 0]))


def resampled_rows(lay_unit_rows: np.ndarray, unit_offsets: np.ndarray, seed: np.uint64) -> np.ndarray:
    """Input-row indices of one replicate (rows repeated by their unit's count)."""
    counts = eb.resample_counts(seed, unit_offsets)
    return np.repeat(np.arange(lay_unit_rows.size), counts[lay_unit_rows])


def _generic_replicates(fn, frame, lay, seeds, progress) -> np.ndarray:
    out = np.empty((seeds.size, 1))
    for b, s in enumerate(seeds):
        idx = resampled_rows(lay.unit_rows, lay.unit_offsets, s)
        out[b, 0] = float(fn(frame[idx]))
        if progress is not None and (b + 1) % CHUNK == 0:
            progress(b + 1, seeds.size)
    if progress is not None:
        progress(seeds.size, seeds.size)
    return out


def _generic_jackknife(fn, frame, lay, block, n_blocks) -> np.ndarray:
    out = np.empty((n_blocks, 1))
    row_block = block[lay.unit_rows]
    for k in range(n_blocks):
        out[k, 0] = float(fn(frame.filter(pl.Series(row_block != k))))
    return out
