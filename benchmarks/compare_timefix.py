"""What R's near-tie rule (``timefix``, on by default) costs: each fit with and without it.

Run: ``python benchmarks/compare_timefix.py --sizes 1e6 --repeat 9``

Same seeded data as the Kaplan–Meier benchmark (``benchmarks/data.py``: two groups,
continuous, day-tied and month-tied times). The continuous times do have near ties by R's
rule (at 1e6 rows about 7,500 of the 1e6 distinct values sit within ``sqrt(eps)`` times
the mean of their neighbour; the column "moved" counts them), so there the timed cost
includes finding and merging them; the tied patterns have none, and the cost is deciding
that.
For each size and tie pattern the two variants run alternately (on, off, on, off, ...) after
one warm-up each, so slow drift of the shared machine hits both alike; the table reports the
median of ``--repeat`` runs of each and their ratio. Kaplan–Meier checks the rule on its own
sorted event table (one merge pass over the distinct times); the log-rank test and the Cox
model decide it where the columns are validated (one pass for whole-number or already
ordered times, else a sort of a copy of the time column), so they are shown for scale.
Results go to stdout and ``benchmarks/results_timefix.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import riskset  # noqa: E402
from benchmarks.data import make_km_data  # noqa: E402
from riskset.engine.timefix import fix_times  # noqa: E402

TIES = ("continuous", "days", "months")


def km(df: pl.DataFrame, *, timefix: bool):
    fit = riskset.kaplan_meier(df, time="time", event="event", by="group", timefix=timefix)
    return fit.summary


def logrank(df: pl.DataFrame, *, timefix: bool):
    return riskset.logrank(df, time="time", event="event", group="group", timefix=timefix).statistic


def paired(fn, df: pl.DataFrame, repeat: int) -> tuple[float, float]:
    """Medians (seconds) of ``fn(df, timefix=True)`` and ``fn(df, timefix=False)``, run
    alternately after one warm-up each (JIT compile / cache load)."""
    fn(df, timefix=True)
    fn(df, timefix=False)
    on, off = [], []
    for _ in range(repeat):
        for flag, out in ((True, on), (False, off)):
            t0 = time.perf_counter()
            fn(df, timefix=flag)
            out.append(time.perf_counter() - t0)
    return statistics.median(on), statistics.median(off)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e6")
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--no-logrank", action="store_true", help="Kaplan–Meier only.")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results_timefix.md"))
    args = ap.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    lines = ["| fit | N | times | moved | with timefix (ms) | without (ms) | ratio |",
             "|---|---|---|---|---|---|---|"]
    print(lines[0])
    print(lines[1])
    for n in sizes:
        for ties in TIES:
            data = make_km_data(n, ties, seed=0)
            moved = fix_times(data["time"])[2]
            df = pl.DataFrame(data)
            fits = [("kaplan_meier", km)] + ([] if args.no_logrank else [("logrank", logrank)])
            for name, fn in fits:
                on, off = paired(fn, df, args.repeat)
                row = (f"| {name} | {n:.0e} | {ties} | {moved} | {on * 1e3:.1f} | {off * 1e3:.1f} "
                       f"| {on / off:.3f} |")
                lines.append(row)
                print(row, flush=True)
    head = (f"# timefix cost (medians of {args.repeat} alternating runs; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n"
            "Produced by `python benchmarks/compare_timefix.py`. Ratio = with / without.\n\n")
    Path(args.out).write_text(head + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
