#!/usr/bin/env python
"""Side-by-side Kaplan–Meier timings: riskset vs the floor, lifelines, survival (PyPI) and R.

Usage::

    python benchmarks/compare.py --sizes 1e4,1e5,1e6,1e7 --repeat 5

For every N and tie pattern (``months``: heavy ties; ``continuous``: all times distinct) the
same seeded two-group data set (:func:`data.make_km_data`) is given to every tool in one
run, and the median wall time of ``--repeat`` runs (after one untimed warm-up) is reported.
Slow tools (lifelines, survival, R) get one run and no warm-up above N = 1e6 (their code
paths are warm from the smaller sizes; R's 1e7 continuous fit alone takes about a minute),
and lifelines / survival are skipped above 1e6 when a run is predicted to exceed 60 s.

Also measured: riskset's peak memory (extra RSS over the input, and the tracemalloc peak, in
a fresh subprocess per data set) and the ``riskset km`` CLI wall time on a 1e4-row CSV with
a warm Numba cache. The Markdown tables are printed and written to ``benchmarks/results.md``.
See ``benchmarks/README.md`` for what each column means and the targets.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import tools  # noqa: E402
from data import input_bytes, make_km_data  # noqa: E402

TIES = ("months", "continuous")
SLOW_FULL_REPEAT_MAX_N = 1_000_000  # above this, slow tools get 1 run, no warm-up
SKIP_PREDICTED_S = 60.0  # lifelines / survival: skip a size when one run is predicted above this
R_SKIP_PREDICTED_S = 300.0

# Targets (see README.md)
T_PY_SPEEDUP = 5.0
T_R_SPEEDUP = 50.0
T_FLOOR_RATIO = 2.0
T_MEMORY_RATIO = 3.0
T_CLI_S = 2.0

R_CODE = r"""
args <- commandArgs(trailingOnly = TRUE)
f <- args[1]; reps <- as.integer(args[2]); warm <- as.integer(args[3])
suppressMessages(library(survival))
if (requireNamespace("data.table", quietly = TRUE)) {
  d <- data.table::fread(f); reader <- "data.table::fread"
} else {
  d <- read.csv(f); reader <- "read.csv"
}
if (warm > 0) { fit <- survfit(Surv(time, event) ~ group, data = d); tab <- summary(fit)$table }
fit_t <- numeric(reps); tab_t <- numeric(reps)
for (i in seq_len(reps)) {
  fit_t[i] <- system.time(fit <- survfit(Surv(time, event) ~ group, data = d))[["elapsed"]]
  tab_t[i] <- system.time(tab <- summary(fit)$table)[["elapsed"]]
}
cat("READER", reader, "\n")
cat("FIT", sprintf("%.6f", fit_t), "\n")
cat("TAB", sprintf("%.6f", tab_t), "\n")
cat("MEDIAN", sprintf("%.17g", tab[, "median"]), "\n")
cat("LCL", sprintf("%.17g", tab[, "0.95LCL"]), "\n")
cat("UCL", sprintf("%.17g", tab[, "0.95UCL"]), "\n")
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# timing helpers
def time_median(func, arg, repeat: int, *, warmup: bool = True) -> tuple[float, int, object]:
    """Median wall seconds of ``repeat`` calls (after one untimed warm-up call)."""
    out = func(arg) if warmup else None
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func(arg)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), len(ts), out


def predict(prev: dict[int, float], n: int) -> float | None:
    """Per-run seconds at ``n`` extrapolated n log n from the largest smaller size measured."""
    smaller = [m for m in prev if m < n]
    if not smaller:
        return None
    m = max(smaller)
    return prev[m] * (n / m) * (math.log(n) / math.log(m))


# --------------------------------------------------------------------------------------------
# R
def r_available() -> str | None:
    rs = shutil.which("Rscript")
    if rs is None:
        return None
    ok = subprocess.run([rs, "-e", "library(survival)"], capture_output=True, text=True)
    return rs if ok.returncode == 0 else None


def r_versions(rs: str) -> str:
    code = (
        'cat(R.version$major, ".", R.version$minor, " survival ", '
        'as.character(packageVersion("survival")), sep = "")'
    )
    out = subprocess.run([rs, "-e", code], capture_output=True, text=True)
    return "R " + out.stdout.strip() if out.returncode == 0 else "R ?"


def run_r(rs: str, csv: Path, repeat: int, *, warm: bool) -> dict:
    proc = subprocess.run(
        [rs, "-e", R_CODE, str(csv), str(repeat), "1" if warm else "0"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[-500:])
    vals: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if parts:
            vals[parts[0]] = parts[1:]
    fit = [float(x) for x in vals["FIT"]]
    tab = [float(x) for x in vals["TAB"]]
    num = lambda k: [float("nan") if x == "NA" else float(x) for x in vals[k]]  # noqa: E731
    return {
        "total": statistics.median([a + b for a, b in zip(fit, tab, strict=True)]),
        "fit": statistics.median(fit),
        "runs": len(fit),
        "reader": " ".join(vals["READER"]),
        "median": num("MEDIAN"),
        "lcl": num("LCL"),
        "ucl": num("UCL"),
    }


# --------------------------------------------------------------------------------------------
# memory (child process)
def _proc_status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, val = line.split(":")
                out[key] = int(val.split()[0]) * 1024
    return out


def memory_child(n: int, ties: str) -> None:
    """Print JSON: extra peak RSS and tracemalloc peak of one riskset fit+summary."""
    tools.riskset_summary(pl.DataFrame(make_km_data(1000, ties)))  # import + JIT cache load
    data = make_km_data(n, ties)
    df = pl.DataFrame(data)
    nbytes = input_bytes(data)
    tools.riskset_summary(df.head(1000))
    gc.collect()
    method = "VmHWM after clear_refs"
    base = _proc_status()["VmRSS"]
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset the peak-RSS high-water mark to the current RSS
        res = tools.riskset_summary(df)
        peak = _proc_status()["VmHWM"]
    except OSError:  # no permission: sample RSS from a thread instead
        method = "VmRSS sampled every 0.2 ms"
        peak = base
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _proc_status()["VmRSS"])
                time.sleep(0.0002)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        res = tools.riskset_summary(df)
        stop.set()
        th.join()
        peak = max(peak, _proc_status()["VmRSS"])
    del res
    gc.collect()
    tracemalloc.start()
    tools.riskset_summary(df)
    _, tm_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        json.dumps(
            {"input": nbytes, "rss_extra": peak - base, "tm_peak": tm_peak, "method": method}
        )
    )


def measure_memory(n: int, ties: str) -> dict:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--memory-child", str(n), ties],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[-500:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# CLI
def cli_executable() -> list[str]:
    """The ``riskset`` entry point next to this interpreter (no pyenv shim), else PATH."""
    local = Path(sys.executable).parent / "riskset"
    if local.exists():
        return [str(local)]
    found = shutil.which("riskset")
    return [found] if found else []


def measure_cli(repeat: int, workdir: Path) -> dict:
    exe = cli_executable()
    if not exe:
        return {"ok": False, "why": "no riskset executable"}
    csv = workdir / "cli_1e4.csv"
    pl.DataFrame(make_km_data(10_000, "months")).write_csv(csv)
    cmd = [*exe, "km", str(csv), "--time", "time", "--event", "event", "--by", "group"]
    first = subprocess.run(cmd, capture_output=True, text=True)  # warms the Numba cache
    if first.returncode != 0:
        return {"ok": False, "why": (first.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    ts = []
    load = os.getloadavg()[0]
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, text=True, check=True)
        ts.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import riskset"], check=True)
    imp = time.perf_counter() - t0
    return {
        "ok": True,
        "median": statistics.median(ts),
        "runs": len(ts),
        "cmd": " ".join(["riskset", *cmd[1:2], csv.name, *cmd[3:]]),
        "python_bare": bare,
        "import_riskset": imp,
        "load": load,
    }


# --------------------------------------------------------------------------------------------
# formatting
def fmt_ms(s: float | None) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "–"
    ms = s * 1e3
    if ms >= 100:
        return f"{ms:,.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    return f"{ms:.2f}"


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0 or math.isnan(a) or math.isnan(b):
        return "–"
    r = a / b
    return f"{r:,.0f}x" if r >= 100 else (f"{r:.1f}x" if r >= 10 else f"{r:.2f}x")


def fmt_n(n: int) -> str:
    e = int(round(math.log10(n)))
    return f"1e{e}" if 10**e == n else f"{n:,}"


def verdict(ok: bool | None) -> str:  # noqa: FBT001
    return "–" if ok is None else ("**met**" if ok else "**not met**")


def close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(
        (math.isnan(x) and math.isnan(y)) or abs(x - y) <= 1e-9 * max(1.0, abs(y))
        for x, y in zip(a, b, strict=True)
    )


# --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="1e4,1e5,1e6,1e7", help="comma-separated N (e.g. 1e4,1e5)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per tool (median reported)")
    ap.add_argument(
        "--ties", default=",".join(TIES), help="comma-separated: months,continuous,days"
    )
    ap.add_argument("--no-r", action="store_true", help="skip R survfit")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    ap.add_argument(
        "--output", default=str(HERE / "results.md"), help="Markdown file to (over)write"
    )
    ap.add_argument("--memory-child", nargs=2, metavar=("N", "TIES"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.memory_child:
        memory_child(int(float(args.memory_child[0])), args.memory_child[1])
        return 0

    sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    ties_kinds = [t.strip() for t in args.ties.split(",") if t.strip()]
    repeat = max(1, args.repeat)
    started = time.perf_counter()
    load_start = os.getloadavg()[0]

    import lifelines
    import survival

    import riskset

    rs = None if args.no_r else r_available()
    versions = (
        f"riskset {riskset.__version__}, polars {pl.__version__}, numpy {np.__version__}, "
        f"lifelines {lifelines.__version__}, survival (PyPI) "
        f"{getattr(survival, '__version__', '?')}, " + (r_versions(rs) if rs else "R not available")
    )
    log(versions)

    # warm-up of every Python tool on small data (imports, JIT cache load)
    warm = make_km_data(2000, "months")
    warm_df = pl.DataFrame(warm)
    tools.riskset_with_table(warm_df)
    tools.lifelines_km(warm)
    tools.survival_km(warm)

    rows: list[dict] = []
    notes: list[str] = []
    hist: dict[tuple[str, str], dict[int, float]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="riskset-bench-"))
    try:
        for n in sizes:
            for ties in ties_kinds:
                log(f"N={fmt_n(n)} ties={ties}")
                data = make_km_data(n, ties, seed=0)
                df = pl.DataFrame(data)
                row: dict = {"n": n, "ties": ties}
                row["riskset"], _, rs_out = time_median(tools.riskset_summary, df, repeat)
                row["riskset_table"], _, _ = time_median(tools.riskset_with_table, df, repeat)
                row["floor"], _, _ = time_median(tools.polars_sort, df, repeat)
                row["argsort"], _, _ = time_median(tools.numpy_argsort, data, repeat)
                rs_med = tools.medians(rs_out, "riskset")
                rs_lo = [
                    float(x) if x is not None else float("nan")
                    for x in rs_out.get_column("median_lower")
                ]
                rs_up = [
                    float(x) if x is not None else float("nan")
                    for x in rs_out.get_column("median_upper")
                ]
                log(f"  riskset {fmt_ms(row['riskset'])} ms, floor {fmt_ms(row['floor'])} ms")

                slow_rep = repeat if n <= SLOW_FULL_REPEAT_MAX_N else 1
                slow_warm = n <= SLOW_FULL_REPEAT_MAX_N
                for name, func in (
                    ("lifelines", tools.lifelines_km),
                    ("survival", tools.survival_km),
                ):
                    h = hist.setdefault((name, ties), {})
                    est = predict(h, n)
                    if n > SLOW_FULL_REPEAT_MAX_N and est is not None and est > SKIP_PREDICTED_S:
                        row[name] = None
                        notes.append(
                            f"{name} skipped at N={fmt_n(n)} {ties}: predicted {est:.0f} s per run "
                            f"(> {SKIP_PREDICTED_S:.0f} s) from N={fmt_n(max(m for m in h if m < n))}."
                        )
                        log(f"  {name} skipped (predicted {est:.0f} s)")
                        continue
                    t, k, out = time_median(func, data, slow_rep, warmup=slow_warm)
                    row[name] = t
                    row[name + "_runs"] = k
                    h[n] = t
                    med = tools.medians(out, name)
                    if name == "survival" and not close(med, rs_med):
                        notes.append(
                            f"survival (PyPI) medians {med} differ from riskset {rs_med} at N={fmt_n(n)} {ties}."
                        )
                    if t > SKIP_PREDICTED_S:
                        notes.append(
                            f"{name} took {t:.0f} s per run at N={fmt_n(n)} {ties} (> {SKIP_PREDICTED_S:.0f} s)."
                        )
                    log(f"  {name} {fmt_ms(t)} ms ({k} run{'s' if k > 1 else ''})")

                row["r"] = row["r_fit"] = None
                if rs:
                    h = hist.setdefault(("R", ties), {})
                    est = predict(h, n)
                    if est is not None and est > R_SKIP_PREDICTED_S:
                        notes.append(
                            f"R skipped at N={fmt_n(n)} {ties}: predicted {est:.0f} s per run."
                        )
                    else:
                        csv = tmp / f"km_{n}_{ties}.csv"
                        df.write_csv(csv)
                        try:
                            r = run_r(rs, csv, slow_rep, warm=slow_warm)
                            row["r"], row["r_fit"], row["r_runs"] = r["total"], r["fit"], r["runs"]
                            h[n] = r["total"]
                            row["r_reader"] = r["reader"]
                            agree = (
                                close(rs_med, r["median"])
                                and close(rs_lo, r["lcl"])
                                and close(rs_up, r["ucl"])
                            )
                            row["agree_r"] = agree
                            if not agree:
                                notes.append(
                                    f"riskset median/CI {rs_med}/{rs_lo}/{rs_up} differ from R "
                                    f"{r['median']}/{r['lcl']}/{r['ucl']} at N={fmt_n(n)} {ties}."
                                )
                            log(
                                f"  R {fmt_ms(r['total'])} ms (survfit {fmt_ms(r['fit'])} ms, {r['runs']} runs)"
                            )
                        except RuntimeError as exc:
                            notes.append(f"R failed at N={fmt_n(n)} {ties}: {exc}")
                        finally:
                            csv.unlink(missing_ok=True)

                if not args.no_memory:
                    del df, data, rs_out
                    gc.collect()
                    try:
                        row["mem"] = measure_memory(n, ties)
                    except RuntimeError as exc:
                        notes.append(f"memory measurement failed at N={fmt_n(n)} {ties}: {exc}")
                rows.append(row)
                log(f"  done; {time.perf_counter() - started:.0f} s elapsed")

        log("CLI start-up")
        cli = measure_cli(repeat, tmp)
        if not cli["ok"]:  # the CLI may be landing concurrently: retry once at the end
            time.sleep(1)
            cli = measure_cli(repeat, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    total_s = time.perf_counter() - started
    versions += f". 1-min load average {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end"
    md = render(rows, notes, cli, versions, sizes, repeat, total_s, have_r=rs is not None)
    print(md)
    Path(args.output).write_text(md)
    log(f"wrote {args.output}; total {total_s:.0f} s")
    return 0


def render(rows, notes, cli, versions, sizes, repeat, total_s, *, have_r) -> str:
    out: list[str] = []
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    out.append("# Kaplan–Meier benchmark results\n")
    out.append(
        f"Generated by `python benchmarks/compare.py --sizes {','.join(fmt_n(s) for s in sizes)} "
        f"--repeat {repeat}` on {now}; {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; {versions}. Whole run: {total_s:.0f} s.\n"
    )
    out.append(
        "Median wall time in **ms** of the runs (one warm-up first). Two groups, 95 % CIs, "
        "median with CI per group. Ratios: competitor / riskset (higher = riskset faster) and "
        "riskset / floor (lower = closer to a bare sort). `–` = not run.\n"
    )
    hdr = [
        "N",
        "ties",
        "riskset",
        "riskset +table",
        "floor (pl sort)",
        "np argsort",
        "lifelines",
        "survival (PyPI)",
        "R survfit+table",
        "R survfit only",
        "riskset / floor",
        "lifelines / riskset",
        "survival / riskset",
        "R / riskset",
        "R fit-only / riskset",
    ]
    out.append("| " + " | ".join(hdr) + " |")
    out.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(hdr) - 2)) + "|")
    for r in rows:

        def runs(k, r=r):
            c = r.get(k + "_runs")
            return f"{fmt_ms(r.get(k))}" + (f" ({c})" if c is not None and c != repeat else "")

        out.append(
            "| "
            + " | ".join(
                [
                    fmt_n(r["n"]),
                    r["ties"],
                    fmt_ms(r["riskset"]),
                    fmt_ms(r["riskset_table"]),
                    fmt_ms(r["floor"]),
                    fmt_ms(r["argsort"]),
                    runs("lifelines"),
                    runs("survival"),
                    runs("r"),
                    fmt_ms(r.get("r_fit")),
                    fmt_ratio(r["riskset"], r["floor"]),
                    fmt_ratio(r.get("lifelines"), r["riskset"]),
                    fmt_ratio(r.get("survival"), r["riskset"]),
                    fmt_ratio(r.get("r"), r["riskset"]),
                    fmt_ratio(r.get("r_fit"), r["riskset"]),
                ]
            )
            + " |"
        )
    out.append("")
    out.append(
        f"A number in parentheses after a time is the number of runs when it is not {repeat} "
        f"(slow tools get one run, no warm-up, above N = 1e6)."
    )
    if have_r:
        readers = sorted({r["r_reader"] for r in rows if r.get("r_reader")})
        agree = [r.get("agree_r") for r in rows if r.get("agree_r") is not None]
        out.append(
            f"R times are measured inside R with `system.time` (data read once with "
            f"{', '.join(readers) or '?'}, not timed). riskset's medians and median CIs "
            + (
                "agree with R's `summary(fit)$table` on every data set."
                if agree and all(agree)
                else "do NOT all agree with R (see notes)."
            )
        )
    out.append("")

    if any("mem" in r for r in rows):
        method = next(r["mem"]["method"] for r in rows if "mem" in r)
        out.append("## riskset peak memory\n")
        out.append(
            "One `kaplan_meier(...).summary` in a fresh process per data set. **extra RSS**: peak "
            f"resident memory during the call minus resident memory before it ({method}); counts "
            "NumPy, Numba and Polars (Rust) allocations alike. **tracemalloc**: peak of "
            "allocations traced by Python (NumPy and Numba NRT arrays are traced, Polars' Rust "
            "buffers are not). Input = time (f64) + event (i8) + group (i64) = 17 bytes/row.\n"
        )
        out.append(
            "| N | ties | input MB | extra RSS MB | extra RSS / input | tracemalloc peak MB | tracemalloc / input |"
        )
        out.append("|---|---|---:|---:|---:|---:|---:|")
        for r in rows:
            m = r.get("mem")
            if not m:
                continue
            mb = lambda b: f"{b / 2**20:,.1f}"  # noqa: E731
            out.append(
                f"| {fmt_n(r['n'])} | {r['ties']} | {mb(m['input'])} | {mb(m['rss_extra'])} | "
                f"{m['rss_extra'] / m['input']:.2f}x | {mb(m['tm_peak'])} | {m['tm_peak'] / m['input']:.2f}x |"
            )
        out.append("")

    out.append("## CLI start-up\n")
    if cli["ok"]:
        out.append(
            f"`{cli['cmd']}` (1e4 rows, months-tied; Numba cache warmed by one untimed run): "
            f"median **{cli['median']:.2f} s** wall over {cli['runs']} runs (subprocess, "
            f"`time.perf_counter`). For scale: `python -c pass` {cli['python_bare']:.2f} s, "
            f"`python -c 'import riskset'` {cli['import_riskset']:.2f} s; 1-min load average "
            f"{cli['load']:.2f} on this {os.cpu_count()}-CPU machine when measured.\n"
        )
    else:
        out.append(f"`riskset km`: not available ({cli['why']}).\n")

    out.append("## Targets (N >= 1e6)\n")
    out.append(
        "| N | ties | >= 5x fastest of lifelines/survival | >= 50x R | <= 2x floor | memory <= 3x input |"
    )
    out.append("|---|---|---|---|---|---|")
    for r in rows:
        if r["n"] < 1_000_000:
            continue
        py = [r.get(k) for k in ("lifelines", "survival") if r.get(k) is not None]
        missing = [k for k in ("lifelines", "survival") if r.get(k) is None]
        if py:
            sp = min(py) / r["riskset"]
            py_cell = f"{verdict(sp >= T_PY_SPEEDUP)} ({sp:.1f}x" + (
                f"; {', '.join(missing)} not run)" if missing else ")"
            )
        else:
            py_cell = "–"
        r_cell = (
            "–"
            if r.get("r") is None
            else f"{verdict(r['r'] / r['riskset'] >= T_R_SPEEDUP)} ({r['r'] / r['riskset']:.0f}x)"
        )
        fl = r["riskset"] / r["floor"]
        m = r.get("mem")
        mem_cell = (
            "–"
            if not m
            else f"{verdict(m['rss_extra'] / m['input'] <= T_MEMORY_RATIO)} ({m['rss_extra'] / m['input']:.2f}x)"
        )
        out.append(
            f"| {fmt_n(r['n'])} | {r['ties']} | {py_cell} | {r_cell} | {verdict(fl <= T_FLOOR_RATIO)} ({fl:.1f}x) | {mem_cell} |"
        )
    if cli["ok"]:
        out.append(
            f"\nCLI start-up < {T_CLI_S:.0f} s on 1e4 rows: {verdict(cli['median'] < T_CLI_S)} ({cli['median']:.2f} s)."
        )
    if notes:
        out.append("\n## Notes\n")
        out.extend(f"- {n}" for n in notes)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
