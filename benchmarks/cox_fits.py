"""What ``compare_cox.py`` times: each tool's Cox fit on its natural input, R's ``coxph``
in a subprocess, one Newton iteration against one ``X'w`` pass, and the pieces of
``riskset.cox``."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
import polars as pl
from cox_data import covariate_names, formula

import riskset
from riskset.engine import cox as ce


def riskset_fit(df: pl.DataFrame, p: int, model: str):
    fit = riskset.cox(df, time="time", event="status", covariates=covariate_names(p),
                      strata="s" if model == "strata" else None)
    fit.coefficients  # noqa: B018 - the summary table is part of the job
    return fit


def riskset_fit_c(df: pl.DataFrame, p: int, model: str):
    fit = riskset_fit(df, p, model)
    fit.concordance  # noqa: B018
    return fit


def survival_fit(pdf, p: int, model: str):
    import survival

    return survival.coxph(formula(p, model), data=pdf)


def lifelines_fit(pdf, p: int, model: str):
    from lifelines import CoxPHFitter

    cols = ["time", "status", *covariate_names(p)] + (["s"] if model == "strata" else [])
    return CoxPHFitter().fit(pdf[cols], "time", "status",
                             strata=["s"] if model == "strata" else None)


def coef_of(tool: str, fit) -> np.ndarray:
    if tool.startswith("riskset"):
        return np.asarray(fit.coef, dtype=np.float64)
    if tool == "survival":
        return np.asarray(fit.coefficients, dtype=np.float64)
    if tool == "lifelines":
        return np.asarray(fit.params_.values, dtype=np.float64)
    raise ValueError(tool)


# --------------------------------------------------------------------------------------------
# R
R_CODE = r"""
args <- commandArgs(trailingOnly = TRUE)
f <- args[1]; reps <- as.integer(args[2]); p <- as.integer(args[3])
models <- strsplit(args[4], ",")[[1]]
suppressMessages(library(survival))
if (requireNamespace("data.table", quietly = TRUE)) {
  d <- as.data.frame(data.table::fread(f)); reader <- "data.table::fread"
} else {
  d <- read.csv(f); reader <- "read.csv"
}
cat("READER", reader, "\n")
covs <- paste(paste0("x", seq_len(p)), collapse = " + ")
invisible(coxph(as.formula(paste("Surv(time, status) ~", covs)), data = d[1:2000, ]))  # warm-up
for (m in models) {
  fml <- as.formula(paste("Surv(time, status) ~", covs, if (m == "strata") "+ strata(s)" else ""))
  ts <- numeric(reps)
  for (i in seq_len(reps)) ts[i] <- system.time(fit <- coxph(fml, data = d))[["elapsed"]]
  cat("TIME", m, sprintf("%.6f", ts), "\n")
  cat("COEF", m, sprintf("%.17g", coef(fit)), "\n")
  cat("ITER", m, fit$iter, "\n")
}
"""


def r_versions(rs: str) -> str:
    code = ('cat(R.version$major, ".", R.version$minor, " survival ", '
            'as.character(packageVersion("survival")), " data.table ", '
            'if (requireNamespace("data.table", quietly = TRUE)) '
            'as.character(packageVersion("data.table")) else "absent", sep = "")')
    out = subprocess.run([rs, "-e", code], capture_output=True, text=True)
    return "R " + out.stdout.strip() if out.returncode == 0 else "R ?"


def run_r(rs: str, csv: Path, repeat: int, p: int, models: list[str]) -> dict:
    proc = subprocess.run([rs, "-e", R_CODE, str(csv), str(repeat), str(p), ",".join(models)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[-800:])
    res: dict = {"reader": "?"}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "READER":
            res["reader"] = parts[1]
        elif parts[0] in ("TIME", "COEF", "ITER"):
            res.setdefault(parts[1], {})[parts[0]] = [float(v) for v in parts[2:]]
    return res


# --------------------------------------------------------------------------------------------
# one Newton iteration vs one X'w pass
def _xtw_numba():
    import numba

    @numba.njit(cache=False, nogil=True)
    def xtw(X, w):
        n, p = X.shape
        out = np.zeros(p)
        for i in range(n):
            wi = w[i]
            for k in range(p):
                out[k] += X[i, k] * wi
        return out

    return xtw


def prepared(data: dict[str, np.ndarray], p: int, model: str) -> ce.CoxData:
    """The ``CoxData`` ``riskset.cox`` builds for this model (same calls as ``_cox.cox``)."""
    X = np.empty((data["time"].size, p))
    for j, c in enumerate(covariate_names(p)):
        X[:, j] = data[c]
    if model == "strata":
        used, codes = np.unique(data["s"], return_inverse=True)
        codes, k = codes.astype(np.int64), int(used.size)
    else:
        codes, k = np.zeros(X.shape[0], dtype=np.int64), 1
    return ce.build(X, data["time"], data["status"], codes, k, efron=True)


def iteration_timing(data, p: int, model: str, beta: np.ndarray, repeat: int, xtw) -> dict:
    """Median and minimum seconds of evaluate / X.T @ w / Numba X'w, interleaved runs."""
    d = prepared(data, p, model)
    X = d.X
    w = np.random.default_rng(1).random(X.shape[0])
    assert np.allclose(X.T @ w, xtw(X, w))
    fns = {"evaluate": lambda d=d: ce.evaluate(d, beta), "numpy": lambda: X.T @ w,
           "numba": lambda: xtw(X, w)}
    ts: dict[str, list[float]] = {k: [] for k in fns}
    for f in fns.values():
        f()  # warm-up
    for _ in range(repeat):  # interleaved, so load spikes hit all three alike
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            ts[k].append(time.perf_counter() - t0)
    del d
    out = {k: statistics.median(v) for k, v in ts.items()}
    out.update({f"{k}_min": min(v) for k, v in ts.items()})
    return out


# --------------------------------------------------------------------------------------------
# profile of riskset.cox's pieces (same calls as riskset._cox.cox, in order)
def profile_pieces(df: pl.DataFrame, p: int, model: str, repeat: int) -> list[tuple[str, float]]:
    from riskset import _cox as rc
    from riskset.io.read import to_polars
    from riskset.io.validate import validate_survival

    covs = covariate_names(p)
    strata = ["s"] if model == "strata" else []
    st: dict[str, object] = {}

    def p_validate():
        frame = to_polars(df, ["time", "status", *strata, *covs])
        for c in covs:
            frame.get_column(c).null_count()
        st["frame"] = frame
        st["cols"] = validate_survival(frame, time="time", event="status", by=strata)

    def p_design():
        st["design"] = rc.build_design(st["frame"], covs, None)
        for c in covs:  # the missing-value scan of the covariates
            s_in = st["frame"].get_column(c)
            _ = s_in.null_count() == 0 and not s_in.is_nan().any()

    def p_strata_codes():
        cols = st["cols"]
        if strata:
            codes, used = rc._compact_codes(cols.codes, cols.keys.height)
            st["codes"], st["k"] = codes, int(used.size)
        else:
            st["codes"], st["k"] = cols.codes, 1

    def p_constant():
        rc._check_constant(st["design"])

    def p_sort():
        st["order"] = ce.sort_rows(st["cols"].time, st["codes"], st["k"])

    def p_center():
        X = st["design"].X
        ce.gather_center(X, st["order"][0], np.empty(0), False)

    def p_build():
        cols = st["cols"]
        st["d"] = ce.build(st["design"].X, cols.time, cols.event, st["codes"], st["k"], efron=True)

    def p_collinear():
        d = st["d"]
        rc._check_collinear(st["design"], d.X, d.wt, weighted=False)

    def p_first():
        st["first"] = ce.evaluate(st["d"], np.zeros(p))

    def p_newton():
        d = st["d"]
        st["nr"] = ce.newton(lambda b: ce.evaluate(d, b), np.zeros(p), first=st["first"])

    def p_after():
        nr = st["nr"]
        ce.wald_statistic(nr.var, nr.beta, np.finfo(float).eps ** 0.75)
        rc._monotone_binary(st["d"], [])

    pieces = [
        ("to_polars + validate_survival (time, event, strata)", p_validate),
        ("build_design (covariate columns -> X) + missing scan", p_design),
        ("stratum codes (compacted)", p_strata_codes),
        ("_check_constant", p_constant),
        ("sort_rows (argsort time [+ stratum scatter])", p_sort),
        ("gather_center (means + sorted, centred copy of X)", p_center),
        ("ce.build total (= sort + centre + time/status gathers)", p_build),
        ("_check_collinear (X'X, Cholesky)", p_collinear),
        ("evaluate at beta = 0 (one pass)", p_first),
        ("newton (the remaining passes)", p_newton),
        ("Wald test, monotone checks", p_after),
    ]
    out = []
    for name, fn in pieces:
        fn()  # warm-up and state for the next piece
        ts = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        out.append((name, statistics.median(ts)))
    out.append(("(newton iterations)", float(st["nr"].iterations)))
    return out
