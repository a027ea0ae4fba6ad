"""Side-by-side timing of two-group log-rank tests and of a batch grid of subgroup tests.

Run: ``python benchmarks/compare_logrank.py --sizes 1e5,1e6,1e7 --repeat 5``

Same seeded data for every tool (``benchmarks/data.py``, two groups, months-tied and
continuous times). Times are medians of ``--repeat`` runs after one warm-up (so Numba's JIT
compile is excluded); the machine is shared and noisy, so read the ratios, not the absolute
times. Tools: riskset ``logrank``; the floor (``polars.Series.sort`` of the time column);
lifelines ``logrank_test``; statsmodels ``survdiff``; the PyPI ``survival`` package (Rust
port of R survival) ``survdiff``; R ``survdiff`` when ``Rscript`` is installed (timed inside
R, so its I/O is excluded). Slow tools are skipped at sizes where one run would exceed
``--budget`` seconds (predicted from the previous size).

The grid: 20 binary factors x 2 cohorts (one row per cohort and factor) with
``riskset.logrank_table`` at N = 1e6, compared with one single test on the same data.
Results go to stdout and ``benchmarks/results_logrank.md``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import riskset  # noqa: E402
from benchmarks.data import make_km_data  # noqa: E402


def timed(fn, repeat: int) -> float:
    fn()  # warm-up (JIT compile, caches)
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def tools(d: dict[str, np.ndarray]):
    df = pl.DataFrame(d)
    out = {
        "riskset": lambda: riskset.logrank(df, time="time", event="event", group="group").p_value,
        "floor (polars sort)": lambda: df.get_column("time").sort(),
    }
    try:
        from lifelines.statistics import logrank_test

        m = d["group"] == 1
        out["lifelines"] = lambda: logrank_test(d["time"][~m], d["time"][m], d["event"][~m], d["event"][m]).p_value
    except ImportError:
        pass
    try:
        from statsmodels.duration.survfunc import survdiff

        out["statsmodels"] = lambda: survdiff(d["time"], d["event"], d["group"])
    except ImportError:
        pass
    try:
        import pandas as pd
        import survival

        pdf = pd.DataFrame({"time": d["time"], "status": d["event"].astype(int), "g": d["group"]})
        out["survival (Rust)"] = lambda: survival.survdiff("Surv(time, status) ~ g", data=pdf).pvalue
    except ImportError:
        pass
    return out


R_CODE = r"""
args <- commandArgs(TRUE); d <- read.csv(args[1]); rep <- as.integer(args[2])
suppressMessages(library(survival))
invisible(survdiff(Surv(time, event) ~ group, data = d))
ts <- replicate(rep, system.time(survdiff(Surv(time, event) ~ group, data = d))[["elapsed"]])
cat(median(ts))
"""


def r_time(d: dict[str, np.ndarray], repeat: int) -> float | None:
    from shutil import which

    if which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        pl.DataFrame(d).write_csv(csv)
        res = subprocess.run(["Rscript", "-e", R_CODE, str(csv), str(repeat)], capture_output=True, text=True,
                             timeout=1800)
        if res.returncode != 0:
            return None
        return float(res.stdout.strip().split()[-1])


def grid_timing(n: int, repeat: int) -> tuple[float, float]:
    rng = np.random.default_rng(42)
    d = make_km_data(n, "months", seed=7)
    cols = {f"f{k:02d}": (rng.random(n) < 0.2 + 0.03 * k).astype(np.int8) for k in range(20)}
    cols["cohort"] = rng.integers(0, 2, n)
    df = pl.DataFrame({**d, **cols})
    single = timed(lambda: riskset.logrank(df, time="time", event="event", group="group"), repeat)
    grid = timed(lambda: riskset.logrank_table(df, time="time", event="event",
                                               factors=[f"f{k:02d}" for k in range(20)], by="cohort"), repeat)
    return single, grid


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e5,1e6,1e7")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--budget", type=float, default=60.0, help="skip a tool when one run would exceed this")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results_logrank.md")))
    args = ap.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    rows = []
    last: dict[str, tuple[int, float]] = {}
    for n in sizes:
        for ties in ("months", "continuous"):
            d = make_km_data(n, ties, seed=1)
            row = {"n": n, "ties": ties}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for name, fn in tools(d).items():
                    prev = last.get((name, ties))
                    if prev and prev[1] * n / prev[0] > args.budget:
                        row[name] = None
                        continue
                    rep = args.repeat if (not prev or prev[1] * n / prev[0] < 5) else 1
                    row[name] = timed(fn, rep)
                    last[(name, ties)] = (n, row[name])
                    print(f"n={n:.0e} {ties:>10} {name:<22} {1e3 * row[name]:10.1f} ms", flush=True)
            if not args.no_r and n <= 10**7:
                row["R survdiff"] = r_time(d, 3 if n <= 10**6 else 1)
                if row["R survdiff"] is not None:
                    print(f"n={n:.0e} {ties:>10} {'R survdiff':<22} {1e3 * row['R survdiff']:10.1f} ms", flush=True)
            rows.append(row)
    single, grid = grid_timing(10**6, args.repeat)
    print(f"grid 20 factors x 2 cohorts at 1e6: {1e3 * grid:.1f} ms vs single test {1e3 * single:.1f} ms "
          f"(ratio {grid / single:.2f})")
    text = render(rows, single, grid, args.repeat)
    Path(args.out).write_text(text)
    print(text)
    return 0


def render(rows, single, grid, repeat) -> str:
    names = ["riskset", "floor (polars sort)", "lifelines", "statsmodels", "survival (Rust)", "R survdiff"]
    out = [f"# Log-rank benchmark (median of {repeat} runs after a warm-up; ms)", "",
           "| N | ties | " + " | ".join(names) + " | fastest other / riskset | riskset / floor |",
           "|---|---|" + "---|" * (len(names) + 2)]
    for r in rows:
        others = [r.get(k) for k in ("lifelines", "statsmodels", "survival (Rust)") if r.get(k)]
        fastest = min(others) if others else None
        cells = [("–" if r.get(k) is None else f"{1e3 * r[k]:.1f}") for k in names]
        out.append(f"| {r['n']:.0e} | {r['ties']} | " + " | ".join(cells) + " | "
                   + (f"{fastest / r['riskset']:.1f}x" if fastest else "–") + " | "
                   + f"{r['riskset'] / r['floor (polars sort)']:.2f} |")
    out += ["", f"Grid of 20 factors x 2 cohorts at N = 1e6 (`riskset.logrank_table`): {1e3 * grid:.1f} ms; "
            f"one two-group test on the same data: {1e3 * single:.1f} ms; ratio {grid / single:.2f} "
            "(target <= 3).", ""]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
