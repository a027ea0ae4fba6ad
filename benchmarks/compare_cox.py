"""Side-by-side timing of Cox proportional-hazards fits (Efron ties): riskset vs survival vs R.

Run: ``python benchmarks/compare_cox.py --sizes 1e6,1e7 --repeat 5``   (about 10-20 minutes)
Quick look: ``python benchmarks/compare_cox.py --sizes 1e5 --repeat 3 --no-r --no-memory``

Data (``cox_data.make_cox_data``, seeded ``numpy.random.default_rng``): ``p`` standard-normal
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

Modules: ``cox_data.py`` (the data and models), ``cox_fits.py`` (what is timed: the fits,
R, the Newton iteration and the profile), ``cox_render.py`` (the Markdown); this script runs
them and measures the memory in a child process.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from cox_data import MODELS, make_cox_data  # noqa: E402
from cox_fits import (  # noqa: E402
    _xtw_numba,
    coef_of,
    iteration_timing,
    lifelines_fit,
    profile_pieces,
    r_versions,
    riskset_fit,
    riskset_fit_c,
    run_r,
    survival_fit,
)
from cox_render import render  # noqa: E402

import riskset  # noqa: E402
from benchmarks.compare import r_available  # noqa: E402


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


if __name__ == "__main__":
    sys.exit(main())
