"""Side-by-side timing of Cox proportional-hazards fits (Efron ties): riskset vs survival vs R.

Run: ``python benchmarks/compare_cox.py --sizes 1e6,1e7 --repeat 5``   (about 10-20 minutes)
Quick look: ``python benchmarks/compare_cox.py --sizes 1e5 --repeat 3 --no-r --no-memory``

Data (:func:`make_cox_data`, seeded ``numpy.random.default_rng``): ``p`` standard-normal
covariates ``x1..xp`` with true log hazard ratios (0.5, -0.3, 0.2, 0, 0.1) (repeated for
p > 5), a stratum ``s`` in {0, 1, 2} whose baseline hazard is 1, 1.5 and 2 times that of
stratum 0, exponential event times (median 365 days at x = 0 in stratum 0) and independent
exponential censoring (about 30 % censored). ``ties="days"`` rounds times up to whole days
(realistic ties, a few thousand distinct times); ``"continuous"`` keeps them as drawn.

Models (same data, one run): ``Surv(time, status) ~ x1 + ... + x5`` ("plain") and the same
``+ strata(s)`` ("strata"); Efron ties everywhere.

Tools, each given its natural input built outside the timed region:

* riskset: ``riskset.cox(polars_df, time=, event=, covariates=, strata=)`` plus the
  ``coefficients`` table; the column "+C" adds ``fit.concordance`` (R's ``coxph`` always
  computes the concordance, riskset only on request).
* survival (PyPI, the Rust port of R survival): ``survival.coxph(formula, data=pandas_df)``.
* R: ``coxph(formula, data = d)`` timed inside R with ``system.time`` (data written to a
  temporary CSV and read once with ``data.table::fread``, or ``read.csv``; reading is not
  timed). Skipped where one fit is predicted above ``--budget`` seconds.
* lifelines: ``CoxPHFitter().fit(pandas_df, "time", "status"[, strata=["s"]])`` at N = 1e6
  (days) only, and only if a fit is predicted under ``--lifelines-budget`` seconds (from a
  fit at 1e5).

Also measured: one Newton iteration (``riskset.engine.cox.evaluate(d, beta)`` on the
prepared ``CoxData``: log-likelihood, score and information) against one pass computing
``X'w`` (NumPy ``X.T @ w`` and a Numba row loop); the peak memory of a p = 20 fit at
N = 1e7 in a fresh subprocess; and a profile of ``riskset.cox``'s pieces. Results go to
stdout and ``benchmarks/results_cox.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import riskset  # noqa: E402
from benchmarks.compare import r_available  # noqa: E402
from riskset.engine import cox as ce  # noqa: E402

BETA5 = (0.5, -0.3, 0.2, 0.0, 0.1)
STRATUM_HAZARD = (1.0, 1.5, 2.0)
MODELS = ("plain", "strata")
HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------------------------
# data
def true_beta(p: int) -> np.ndarray:
    return np.array([BETA5[j % 5] for j in range(p)], dtype=np.float64)


def make_cox_data(n: int, p: int = 5, ties: str = "days", seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded right-censored Cox data: ``x1..xp``, ``time``, ``status`` (int8), ``s`` (int64).

    Covariates are drawn column by column (float64 each), so peak memory while building is
    the final size plus one column.
    """
    if ties not in ("days", "continuous"):
        raise ValueError(f"ties={ties!r} must be 'days' or 'continuous'")
    n = int(n)
    rng = np.random.default_rng(seed)
    beta = true_beta(p)
    out: dict[str, np.ndarray] = {}
    eta = np.zeros(n)
    for j in range(p):
        x = rng.standard_normal(n)
        out[f"x{j + 1}"] = x
        if beta[j] != 0.0:
            eta += beta[j] * x
    s = rng.integers(0, len(STRATUM_HAZARD), size=n, dtype=np.int64)
    base = 365.0 / math.log(2.0)  # mean event time at eta = 0, stratum 0 (median 365 d)
    scale = base / (np.asarray(STRATUM_HAZARD)[s] * np.exp(eta))
    del eta
    t_event = rng.exponential(1.0, size=n) * scale
    # censoring mean 7/3 of the event mean at eta = 0, shortened by 1.35 for the strata's
    # higher hazards and the spread of eta: ~30 % censored overall
    t_cens = rng.exponential(1.0, size=n) * (base * 7.0 / 3.0 / 1.35)
    status = (t_event <= t_cens).astype(np.int8)
    tm = np.minimum(t_event, t_cens)
    del t_event, t_cens, scale
    if ties == "days":
        tm = np.ceil(tm)
    out["time"] = tm
    out["status"] = status
    out["s"] = s
    return out


def covariate_names(p: int) -> list[str]:
    return [f"x{j + 1}" for j in range(p)]


def formula(p: int, model: str) -> str:
    rhs = " + ".join(covariate_names(p)) + (" + strata(s)" if model == "strata" else "")
    return f"Surv(time, status) ~ {rhs}"


# --------------------------------------------------------------------------------------------
# the timed fits
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


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def timed(fn, repeat: int, *, warmup: bool = True):
    """(median seconds, runs, last result) of ``repeat`` calls after an untimed warm-up."""
    out = fn() if warmup else None
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), len(ts), out


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


# --------------------------------------------------------------------------------------------
# memory: p = 20 fit in a fresh subprocess
def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def mem_child(n: int, p: int) -> None:
    """Child process: warm up, build the data, then fit with the peak RSS measured."""
    wd = make_cox_data(2000, p, "days", seed=3)
    riskset_fit(pl.DataFrame(wd), p, "plain")  # Numba cache load, lazy imports
    del wd
    d = make_cox_data(n, p, "days", seed=2)
    df = pl.DataFrame(d)
    del d  # the Polars frame holds its own copy of the columns
    gc.collect()
    rss_data = _rss_kb("VmRSS")
    method = "VmHWM after `echo 5 > /proc/self/clear_refs` (kernel peak RSS reset)"
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        reset = _rss_kb("VmHWM") <= rss_data + 1024
    except OSError:
        reset = False
    peak_box = [rss_data]
    stop = threading.Event()
    if not reset:
        method = "VmRSS sampled every 1 ms from a thread (clear_refs not permitted)"

        def sampler():
            while not stop.is_set():
                peak_box[0] = max(peak_box[0], _rss_kb("VmRSS"))
                time.sleep(0.001)

        th = threading.Thread(target=sampler, daemon=True)
        th.start()
    t0 = time.perf_counter()
    fit = riskset_fit(df, p, "plain")
    secs = time.perf_counter() - t0
    if reset:
        peak = _rss_kb("VmHWM")
    else:
        stop.set()
        th.join()
        peak = peak_box[0]
    print(json.dumps({
        "n": n, "p": p, "rss_data_kb": rss_data, "peak_kb": peak, "seconds": secs,
        "iterations": fit.iterations, "method": method, "df_bytes": int(df.estimated_size()),
        "coef": [float(c) for c in fit.coef],
    }))


def memory_run(n: int, p: int) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--mem-child", str(n), str(p)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-1500:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
def versions(rs: str | None) -> str:
    import numba
    import pandas as pd

    parts = [f"riskset {getattr(riskset, '__version__', '?')}", f"numpy {np.__version__}",
             f"numba {numba.__version__}", f"polars {pl.__version__}", f"pandas {pd.__version__}"]
    try:
        from importlib.metadata import version

        parts.append(f"survival (PyPI) {version('survival')}")
    except Exception:  # noqa: BLE001
        parts.append("survival (PyPI) absent")
    try:
        import lifelines

        parts.append(f"lifelines {lifelines.__version__}")
    except ImportError:
        parts.append("lifelines absent")
    parts.append(r_versions(rs) if rs else "R not available")
    return ", ".join(parts)


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} CPUs visible, "
            f"{mem} RAM, Python {platform.python_version()}")


def fmt_ms(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    return f"{1e3 * x:,.0f}" if x >= 1 else f"{1e3 * x:.1f}"


def ratio(a, b) -> str:
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):
        return "–"
    return f"{a / b:.1f}x"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e6,1e7", help="N values with day-rounded times")
    ap.add_argument("--continuous-sizes", default="1e6",
                    help="N values for the continuous-time variant ('' for none)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per cell (fast tools)")
    ap.add_argument("--budget", type=float, default=600.0,
                    help="skip survival / R where one fit is predicted above this many seconds")
    ap.add_argument("--lifelines-budget", type=float, default=120.0)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--no-lifelines", action="store_true")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--memory-n", default="1e7")
    ap.add_argument("--memory-p", type=int, default=20)
    ap.add_argument("--p", type=int, default=5)
    ap.add_argument("--output", default=str(HERE / "results_cox.md"))
    ap.add_argument("--mem-child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.mem_child:
        mem_child(*args.mem_child)
        return 0

    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    p = args.p
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    csizes = [int(float(s)) for s in args.continuous_sizes.split(",") if s]
    rs = None if args.no_r else r_available()
    vers = versions(rs)
    log(vers)
    import pandas as pd

    try:
        import survival  # noqa: F401
        have_surv = True
    except ImportError:
        have_surv = False
    have_ll = False
    if not args.no_lifelines:
        try:
            import lifelines  # noqa: F401
            have_ll = True
        except ImportError:
            pass
    xtw = _xtw_numba()

    # warm-ups on a small set: Numba cache load / JIT, first-use imports of every tool
    wd = make_cox_data(5000, p, "days", seed=9)
    wdf, wpdf = pl.DataFrame(wd), pd.DataFrame(wd)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in MODELS:
            riskset_fit_c(wdf, p, m)
            if have_surv:
                survival_fit(wpdf, p, m)
            if have_ll:
                lifelines_fit(wpdf, p, m)
    xtw(np.ones((10, p)), np.ones(10))
    del wd, wdf, wpdf

    datasets = [(n, "days") for n in sorted(sizes)]
    datasets += [(n, "continuous") for n in sorted(csizes)]
    rows: list[dict] = []
    iters: list[dict] = []
    notes: list[str] = []
    prev: dict[tuple[str, str, str], tuple[int, float]] = {}  # (tool, ties, model) -> (n, s)
    r_reader = None
    profiles: dict[tuple[int, str], list] = {}

    def predicted(tool: str, ties: str, model: str, n: int) -> float | None:
        hit = prev.get((tool, ties, model)) or prev.get((tool, "days", model))
        if hit is None:
            return None
        m, s = hit
        return s * (n / m) * math.log(n) / math.log(m) if m != n else s

    for n, ties in datasets:
        log(f"data N={n:.0e} ties={ties}")
        data = make_cox_data(n, p, ties, seed=1)
        df = pl.DataFrame(data)
        pdf = pd.DataFrame(data) if (have_surv or have_ll) else None
        cens = 1.0 - float(data["status"].mean())
        ndist = int(np.unique(data["time"]).size)
        res_by_model = {m: {"n": n, "ties": ties, "model": m, "censored": cens, "distinct": ndist}
                        for m in MODELS}
        coefs: dict[str, dict[str, np.ndarray]] = {m: {} for m in MODELS}
        its: dict[str, dict[str, int]] = {m: {} for m in MODELS}
        rep_fast = args.repeat if n <= 10**6 else max(1, min(args.repeat, 3))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for m in MODELS:
                row = res_by_model[m]
                sec, k, fit = timed(lambda m=m, df=df: riskset_fit(df, p, m), rep_fast)
                row["riskset"], row["riskset_runs"] = sec, k
                coefs[m]["riskset"] = coef_of("riskset", fit)
                its[m]["riskset"] = fit.iterations
                log(f"  {m:<6} riskset      {1e3 * sec:10.1f} ms ({k} runs, {fit.iterations} iterations)")
                sec, k, _ = timed(lambda m=m, df=df: riskset_fit_c(df, p, m), rep_fast)
                row["riskset+C"] = sec
                log(f"  {m:<6} riskset +C   {1e3 * sec:10.1f} ms")
                # one Newton iteration vs one X'w pass
                it = iteration_timing(data, p, m, fit.coef, max(rep_fast, 9), xtw)
                it.update(n=n, ties=ties, model=m)
                iters.append(it)
                log(f"  {m:<6} evaluate {1e3 * it['evaluate']:.1f} ms, X.T@w {1e3 * it['numpy']:.1f} ms, "
                    f"numba X'w {1e3 * it['numba']:.1f} ms")
                del fit
                gc.collect()
                if have_surv:
                    pr = predicted("survival", ties, m, n)
                    if pr is not None and pr > args.budget:
                        row["survival"] = f"skipped (predicted {pr:.0f} s)"
                    else:
                        rep = rep_fast if (pr is None or pr < 5) else 1
                        sec, k, sf = timed(lambda m=m, pdf=pdf: survival_fit(pdf, p, m), rep,
                                           warmup=(pr is None or pr < 5))
                        row["survival"], row["survival_runs"] = sec, k
                        prev[("survival", ties, m)] = (n, sec)
                        coefs[m]["survival"] = coef_of("survival", sf)
                        its[m]["survival"] = int(np.asarray(sf.iter).ravel()[0]) if sf.iter is not None else -1
                        del sf
                        log(f"  {m:<6} survival     {1e3 * sec:10.1f} ms ({k} runs)")
                    gc.collect()
                if have_ll and ties == "days" and n == 10**6:
                    # predict from one fit at 1e5 on the same generator
                    small = make_cox_data(10**5, p, ties, seed=1)
                    spdf = pd.DataFrame(small)
                    t0 = time.perf_counter()
                    lifelines_fit(spdf, p, m)
                    t_small = time.perf_counter() - t0
                    pr = t_small * 10 * math.log(1e6) / math.log(1e5)
                    notes.append(f"lifelines {m} at 1e5: {t_small:.2f} s -> predicted {pr:.0f} s at 1e6")
                    if pr > args.lifelines_budget:
                        row["lifelines"] = f"skipped (predicted {pr:.0f} s)"
                    else:
                        sec, k, lf = timed(lambda m=m, pdf=pdf: lifelines_fit(pdf, p, m), 1, warmup=False)
                        row["lifelines"], row["lifelines_runs"] = sec, k
                        coefs[m]["lifelines"] = coef_of("lifelines", lf)
                        log(f"  {m:<6} lifelines    {1e3 * sec:10.1f} ms (1 run; predicted {pr:.0f} s)")
                        del lf
                    gc.collect()
        if rs is not None:
            todo, reps = [], 3 if n <= 10**6 else 1
            for m in MODELS:
                pr = predicted("R", ties, m, n)
                if pr is not None and pr > args.budget:
                    res_by_model[m]["R"] = f"skipped (predicted {pr:.0f} s)"
                else:
                    todo.append(m)
            if todo:
                with tempfile.TemporaryDirectory() as tmp:
                    csv = Path(tmp) / "cox.csv"
                    df.write_csv(csv)
                    log(f"  R: {len(todo)} model(s) x {reps} run(s) (CSV {csv.stat().st_size / 1e6:.0f} MB)")
                    try:
                        out = run_r(rs, csv, reps, p, todo)
                    except RuntimeError as exc:
                        notes.append(f"R failed at N={n:.0e} {ties}: {exc}")
                        out = {}
                r_reader = out.get("reader", r_reader)
                for m in todo:
                    if m in out:
                        sec = statistics.median(out[m]["TIME"])
                        res_by_model[m]["R"], res_by_model[m]["R_runs"] = sec, len(out[m]["TIME"])
                        prev[("R", ties, m)] = (n, sec)
                        coefs[m]["R"] = np.asarray(out[m]["COEF"])
                        its[m]["R"] = int(out[m]["ITER"][0])
                        log(f"  {m:<6} R coxph      {1e3 * sec:10.1f} ms ({len(out[m]['TIME'])} runs)")
        # agreement
        for m in MODELS:
            row = res_by_model[m]
            ref = coefs[m]["riskset"]
            row["coef"] = ref
            for tool in ("survival", "R", "lifelines"):
                if tool in coefs[m]:
                    row[f"diff_{tool}"] = float(np.max(np.abs(coefs[m][tool] - ref)))
            if "survival" in coefs[m] and "R" in coefs[m]:
                row["diff_surv_R"] = float(np.max(np.abs(coefs[m]["survival"] - coefs[m]["R"])))
            row["iters"] = its[m]
            rows.append(row)
        # profile of riskset.cox's pieces at the largest day-tied size
        if ties == "days" and n == max(sizes):
            for m in MODELS:
                log(f"  profiling riskset.cox pieces ({m})")
                profiles[(n, m)] = profile_pieces(df, p, m, max(1, min(args.repeat, 3)))
        del data, df, pdf
        gc.collect()

    mem = None
    if not args.no_memory:
        mn = int(float(args.memory_n))
        log(f"memory: p={args.memory_p} N={mn:.0e} fit in a subprocess")
        try:
            mem = memory_run(mn, args.memory_p)
            log(f"  peak extra {(mem['peak_kb'] - mem['rss_data_kb']) / 2**20:.2f} GiB, fit {mem['seconds']:.1f} s")
        except RuntimeError as exc:
            notes.append(f"memory run failed: {exc}")

    total = time.perf_counter() - t_start
    text = render(rows, iters, profiles, mem, notes, vers, r_reader, args, total, load_start, p)
    Path(args.output).write_text(text)
    print(text)
    return 0


# --------------------------------------------------------------------------------------------
def render(rows, iters, profiles, mem, notes, vers, r_reader, args, total, load_start, p) -> str:
    now = time.strftime("%Y-%m-%d %H:%M")
    out = [
        "# Cox proportional hazards benchmark",
        "",
        f"`python benchmarks/compare_cox.py --sizes {args.sizes} --continuous-sizes "
        f"'{args.continuous_sizes}' --repeat {args.repeat} --budget {args.budget:g}"
        + (" --no-r" if args.no_r else "") + f"` on {now}. Whole run {total / 60:.1f} min; "
        f"1-min load average {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end "
        "(shared, noisy machine: read the ratios more than the absolute times).",
        "",
        f"Machine: {machine()}.",
        "",
        f"Versions: {vers}." + (f" R reads the data with `{r_reader}` (not timed)." if r_reader else ""),
        "",
        f"Data: seeded synthetic, p = {p} standard-normal covariates, true betas "
        f"{BETA5}, 3 strata (baseline hazards x1, x1.5, x2), exponential event times, "
        "independent exponential censoring; `days` = times rounded up to whole days. "
        "Efron ties in every tool. Cells: median wall time in ms (riskset: median of "
        f"`--repeat` runs after a warm-up, at most 3 runs above 1e6; survival/R: "
        "1 run where a run takes > 5 s, R 3 runs at <= 1e6; lifelines 1 run).",
        "",
        "## Fit times",
        "",
        "| N | times | model | censored | riskset | riskset +C | survival (Rust) | R coxph "
        "| lifelines | survival / riskset | R / riskset | lifelines / riskset |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['n']:.0e} | {r['ties']} ({r['distinct']:,} distinct) | {r['model']} | "
            f"{100 * r['censored']:.1f} % | {fmt_ms(r['riskset'])} | {fmt_ms(r.get('riskset+C'))} | "
            f"{fmt_ms(r.get('survival'))} | {fmt_ms(r.get('R'))} | {fmt_ms(r.get('lifelines'))} | "
            f"{ratio(r.get('survival'), r['riskset'])} | {ratio(r.get('R'), r['riskset'])} | "
            f"{ratio(r.get('lifelines'), r['riskset'])} |"
        )
    out += [
        "",
        "*riskset* = `riskset.cox(df, ...)` + `.coefficients` (Polars DataFrame in); *riskset +C* "
        "also computes `fit.concordance` (R `coxph` and the Rust port always compute the "
        "concordance; riskset does it lazily). Ratios are against *riskset*; against *riskset +C* "
        "see the verdicts.",
        "",
        "## Agreement of the coefficients",
        "",
        "| N | times | model | max abs diff riskset vs survival | riskset vs R | survival vs R "
        "| riskset vs lifelines | iterations (riskset / survival / R) |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def e(x):
        return "–" if x is None else f"{x:.1e}"

    for r in rows:
        it = r["iters"]
        out.append(
            f"| {r['n']:.0e} | {r['ties']} | {r['model']} | {e(r.get('diff_survival'))} | "
            f"{e(r.get('diff_R'))} | {e(r.get('diff_surv_R'))} | {e(r.get('diff_lifelines'))} | "
            f"{it.get('riskset', '–')} / {it.get('survival', '–')} / {it.get('R', '–')} |"
        )
    out += ["", "riskset coefficients (true values " + str(BETA5) + "):", ""]
    for r in rows:
        out.append(f"- {r['n']:.0e} {r['ties']} {r['model']}: "
                   + ", ".join(f"{c:.6f}" for c in r["coef"]))

    out += [
        "",
        "## One Newton iteration vs one X'w pass",
        "",
        "`riskset.engine.cox.evaluate(d, beta)` (log-likelihood, score and the p x p information "
        "in one backward pass, Efron) on the prepared `CoxData` `d` (sorted, centred, "
        "C-contiguous `X`), at the fitted beta; against `X.T @ w` (NumPy/BLAS) and a Numba row "
        "loop accumulating `X[i, :] * w[i]`, on the same `X`.",
        "",
        "| N | times | model | evaluate (ms) | X.T @ w NumPy (ms) | X'w Numba loop (ms) "
        "| evaluate / cheaper X'w (medians) | same, minima |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for it in iters:
        cheap = min(it["numpy"], it["numba"])
        cheap_min = min(it["numpy_min"], it["numba_min"])
        out.append(f"| {it['n']:.0e} | {it['ties']} | {it['model']} | {1e3 * it['evaluate']:.1f} "
                   f"(min {1e3 * it['evaluate_min']:.1f}) | {1e3 * it['numpy']:.1f} (min "
                   f"{1e3 * it['numpy_min']:.1f}) | {1e3 * it['numba']:.1f} (min {1e3 * it['numba_min']:.1f}) "
                   f"| {it['evaluate'] / cheap:.1f}x | {it['evaluate_min'] / cheap_min:.1f}x |")
    out += ["", "Medians of at least 9 interleaved runs (evaluate, NumPy, Numba in turn) after a "
            "warm-up; the minima are shown because the shared machine's load makes the "
            "memory-bound X'w pass swing several-fold between runs."]

    if mem is not None:
        xb = mem["n"] * mem["p"] * 8
        extra = (mem["peak_kb"] - mem["rss_data_kb"]) * 1024
        out += [
            "",
            f"## Memory: p = {mem['p']}, N = {mem['n']:.0e}",
            "",
            f"A fresh subprocess (`compare_cox.py --mem-child {mem['n']} {mem['p']}`) warms up on "
            "2,000 rows, builds the data column by column into a Polars DataFrame (NumPy "
            "originals deleted, `gc.collect()`), reads `VmRSS` (= *RSS after data*), then fits "
            "`riskset.cox(df, ...)` + `.coefficients` (plain model, Efron). Peak: "
            f"{mem['method']}. *extra* = peak - RSS after data.",
            "",
            "| covariate matrix bytes | Polars frame bytes | RSS after data | peak RSS during fit "
            "| extra | extra / matrix bytes | fit time | iterations |",
            "|---|---|---|---|---|---|---|---|",
            f"| {xb / 2**30:.2f} GiB ({xb / 1e9:.2f} GB) | {mem['df_bytes'] / 2**30:.2f} GiB | "
            f"{mem['rss_data_kb'] / 2**20:.2f} GiB | {mem['peak_kb'] / 2**20:.2f} GiB | "
            f"{extra / 2**30:.2f} GiB | {extra / xb:.2f} | {mem['seconds']:.1f} s | {mem['iterations']} |",
        ]

    if profiles:
        out += ["", "## Where riskset.cox's time goes", "",
                "Each piece of `riskset.cox` run on its own in order (same calls as "
                "`riskset/_cox.py`), median ms; `ce.build total` contains the sort and centring "
                "rows above it (they are shown separately, and not double-counted in the sum).", ""]
        keys = list(profiles)
        out.append("| piece | " + " | ".join(f"{n:.0e} {m}" for n, m in keys) + " |")
        out.append("|---|" + "---|" * len(keys))
        names = [nm for nm, _ in profiles[keys[0]]]
        for i, nm in enumerate(names):
            vals = []
            for k in keys:
                v = profiles[k][i][1]
                vals.append(f"{int(v)}" if nm.startswith("(") else f"{1e3 * v:.1f}")
            out.append(f"| {nm} | " + " | ".join(vals) + " |")
        sums = []
        for k in keys:
            tot = sum(v for nm, v in profiles[k] if not nm.startswith(("(", "sort_rows", "gather_center")))
            sums.append(f"{1e3 * tot:.1f}")
        out.append("| **sum (excluding the sort/centre sub-rows)** | " + " | ".join(sums) + " |")

    # verdicts
    out += ["", "## Verdicts", ""]
    big = [r for r in rows if r["n"] >= 10**6]

    def verdict(tool, need, key="riskset"):
        vals = [(r, r[tool] / r[key]) for r in big if isinstance(r.get(tool), float)]
        if not vals:
            return "not measured"
        worst = min(v for _, v in vals)
        ok = all(v >= need for _, v in vals)
        detail = "; ".join(f"{r['n']:.0e} {r['ties']} {r['model']} {v:.1f}x" for r, v in vals)
        return f"{'MET' if ok else 'MISSED'} (worst {worst:.1f}x; {detail})"

    out.append(f"1. riskset >= 5x faster than survival (Rust): {verdict('survival', 5)}. "
               f"With the concordance included: {verdict('survival', 5, 'riskset+C')}.")
    out.append(f"2. riskset >= 15x faster than R coxph: {verdict('R', 15)}. "
               f"With the concordance included: {verdict('R', 15, 'riskset+C')}.")
    if iters:
        rs_ = [(it, it["evaluate"] / min(it["numpy"], it["numba"]),
                it["evaluate_min"] / min(it["numpy_min"], it["numba_min"]))
               for it in iters if it["n"] >= 10**6]
    if iters and not rs_:
        out.append("3. one Newton iteration within 10x of one X'w pass: not measured (no N >= 1e6).")
    elif iters:
        ok = all(v <= 10 for _, v, _ in rs_)
        ok_min = all(v <= 10 for _, _, v in rs_)
        out.append("3. one Newton iteration within 10x of one X'w pass (the cheaper of NumPy / Numba): "
                   + ("MET" if ok else "MISSED") + " on medians, " + ("met" if ok_min else "missed")
                   + " on minima (" + "; ".join(f"{it['n']:.0e} {it['ties']} {it['model']} {v:.1f}x "
                                                f"/ {vm:.1f}x" for it, v, vm in rs_) + ").")
    if mem is not None:
        xb = mem["n"] * mem["p"] * 8
        extra = (mem["peak_kb"] - mem["rss_data_kb"]) * 1024
        out.append(f"4. p = {mem['p']} at N = {mem['n']:.0e} completes with peak extra memory <= 3x the "
                   f"covariate matrix: {'MET' if extra <= 3 * xb else 'MISSED'} ({extra / xb:.2f}x; "
                   f"fit {mem['seconds']:.1f} s).")
    lls = [r for r in rows if r.get("lifelines") is not None]
    if lls:
        out.append("5. lifelines (information): " + "; ".join(
            f"{r['n']:.0e} {r['model']}: " + (ratio(r['lifelines'], r['riskset']) + " slower than riskset"
                                              if isinstance(r['lifelines'], float) else r['lifelines'])
            for r in lls) + ".")
    diffs = [r.get(k) for r in rows for k in ("diff_survival", "diff_R") if r.get(k) is not None]
    if diffs:
        out.append(f"6. agreement: largest |coef difference| riskset vs survival / R over all fits = "
                   f"{max(diffs):.1e} ({'within' if max(diffs) <= 1e-6 else 'ABOVE'} 1e-6).")
    if notes:
        out += ["", "## Notes", ""] + [f"- {n_}" for n_ in notes]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
