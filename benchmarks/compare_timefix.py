"""What R's near-tie rule (``timefix``, on by default) costs: each fit with and without it.

Run: ``python benchmarks/compare_timefix.py --sizes 1e6 --repeat 9``

Same seeded data as the Kaplan–Meier benchmark (``benchmarks/data.py``: two groups (fitted
by group, and as one curve),
continuous, day-tied and month-tied times). The continuous times do have near ties by R's
rule (at 1e6 rows about 7,500 of the 1e6 distinct values sit within ``sqrt(eps)`` times
the mean of their neighbour; the column "moved" counts them), so there the timed cost
includes finding and merging them; "continuous-0.001" (the same times rounded to 0.001
day: fractional, no near ties) and the tied patterns have none, and the cost is deciding
that.
For each size and tie pattern the two variants run alternately (on, off, on, off, ...) after
one warm-up each, so slow drift of the shared machine hits both alike; the table reports the
median of ``--repeat`` runs of each (wall and CPU time) and their ratios, plus the median of
the per-pair CPU ratios. Kaplan–Meier checks the rule on its own
sorted event table (one pass over the distinct times, two groups merged on the fly), and so
does the log-rank test on its table of cells; the Cox model, ``logrank_table`` and the
bootstrap decide it where the columns are validated (one pass for whole-number or already
ordered times, else a sort of a copy of the time column) and are not timed here.
Results go to stdout and ``benchmarks/results_timefix.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import riskset  # noqa: E402
from benchmarks.data import make_km_data  # noqa: E402
from riskset.engine.timefix import fix_times  # noqa: E402

TIES = ("continuous", "continuous-0.001", "days", "months")


def km(df: pl.DataFrame, *, timefix: bool):
    fit = riskset.kaplan_meier(df, time="time", event="event", by="group", timefix=timefix)
    return fit.summary


def km_one(df: pl.DataFrame, *, timefix: bool):
    fit = riskset.kaplan_meier(df, time="time", event="event", timefix=timefix)
    return fit.summary


def logrank(df: pl.DataFrame, *, timefix: bool):
    return riskset.logrank(df, time="time", event="event", group="group", timefix=timefix).statistic


def paired(fn, df: pl.DataFrame, repeat: int) -> dict[str, float]:
    """``fn(df, timefix=True)`` and ``fn(df, timefix=False)`` run alternately after one
    warm-up each (JIT compile / cache load): medians of wall and CPU (process) time of each,
    and the median of the per-pair CPU ratios (each pair ran back to back, so drift of a
    shared machine cancels in it)."""
    fn(df, timefix=True)
    fn(df, timefix=False)
    wall: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(repeat):
        for flag in (True, False):
            w0, c0 = time.perf_counter(), time.process_time()
            fn(df, timefix=flag)
            wall[flag].append(time.perf_counter() - w0)
            cpu[flag].append(time.process_time() - c0)
    med = statistics.median
    return {
        "wall_on": med(wall[True]), "wall_off": med(wall[False]),
        "cpu_on": med(cpu[True]), "cpu_off": med(cpu[False]),
        "pair": med(a / b for a, b in zip(cpu[True], cpu[False], strict=True)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e6")
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--no-logrank", action="store_true", help="Kaplan–Meier only.")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results_timefix.md"))
    args = ap.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    load0 = os.getloadavg()[0]
    lines = ["| fit | N | times | moved | wall with / without (ms) | wall ratio | CPU with / without (ms) "
             "| CPU ratio | paired CPU ratio |",
             "|---|---|---|---|---|---|---|---|---|"]
    print(lines[0])
    print(lines[1])
    for n in sizes:
        for ties in TIES:
            data = make_km_data(n, ties.split("-")[0], seed=0)
            if ties == "continuous-0.001":  # fractional times without near ties: the cost of the check
                data["time"] = np.round(data["time"], 3)
            moved = fix_times(data["time"])[2]
            df = pl.DataFrame(data)
            fits = [("kaplan_meier by group", km), ("kaplan_meier", km_one)]
            fits += [] if args.no_logrank else [("logrank", logrank)]
            for name, fn in fits:
                r = paired(fn, df, args.repeat)
                row = (f"| {name} | {n:.0e} | {ties} | {moved} | {r['wall_on'] * 1e3:.1f} / "
                       f"{r['wall_off'] * 1e3:.1f} | {r['wall_on'] / r['wall_off']:.3f} | "
                       f"{r['cpu_on'] * 1e3:.1f} / {r['cpu_off'] * 1e3:.1f} | "
                       f"{r['cpu_on'] / r['cpu_off']:.3f} | {r['pair']:.3f} |")
                lines.append(row)
                print(row, flush=True)
    head = (f"# timefix cost (medians of {args.repeat} alternating runs; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n"
            f"Produced by `python benchmarks/compare_timefix.py`. Ratio = with / without. 1-min load "
            f"average {load0:.2f} at start, {os.getloadavg()[0]:.2f} at end (2 CPUs shared).\n\n")
    Path(args.out).write_text(head + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
