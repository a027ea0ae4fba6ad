"""Competing risks at scale: riskset ``cumulative_incidence`` + ``gray_test`` against lifelines
``AalenJohansenFitter``.

Run: ``python benchmarks/bench_cif.py --n 1e6 --repeat 5 [--lifelines-repeat 3] [--write-md FILE]``

Seeded data (``numpy.random.default_rng(19)``): N rows, continuous exponential times (no ties,
so lifelines does not jitter and both tools estimate the same curves), 25 % censored, three
causes, two groups. The same work on both sides: the Aalen–Johansen incidence of every cause
in every group with its variance (riskset: all of it in one call, IJ variance as R, plus Gray's
test; lifelines: one ``fit`` per cause and group with ``calculate_variance=True``, delta-method
variance, and no test, which it does not have). Times are medians of ``--repeat`` runs after
one warm-up (Numba compile excluded); the machine is shared and noisy, so read the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import riskset  # noqa: E402


def make_data(n: int, seed: int = 19) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    t = rng.exponential(24.0, n) * np.where(group == 1, 1.2, 1.0)
    cause = rng.choice([0, 1, 2, 3], n, p=[0.25, 0.35, 0.25, 0.15])
    return pl.DataFrame({"time": t, "cause": cause, "arm": group})


def runs(fn, repeat: int, *, warm: bool = True) -> list[float]:
    if warm:
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=float, default=1e6)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--lifelines-repeat", type=int, default=3, help="0: time riskset only")
    ap.add_argument("--write-md", help="Append the result table to this Markdown file.")
    args = ap.parse_args()
    n = int(args.n)
    df = make_data(n)

    def ours():
        fit = riskset.cumulative_incidence(df, time="time", event="cause", by="arm")
        _ = fit.table
        riskset.gray_test(df, time="time", event="cause", group="arm")

    def cif_only():
        _ = riskset.cumulative_incidence(df, time="time", event="cause", by="arm").table

    r_ours = runs(ours, args.repeat)
    r_cif = runs(cif_only, args.repeat)
    print(f"riskset cif + gray  n={n:,}: median {statistics.median(r_ours):.3f} s  runs {r_ours}")
    print(f"riskset cif only    n={n:,}: median {statistics.median(r_cif):.3f} s")

    if args.lifelines_repeat == 0:  # riskset alone
        return
    from lifelines import AalenJohansenFitter

    t = df["time"].to_numpy()
    e = df["cause"].to_numpy()
    g = df["arm"].to_numpy()

    def theirs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for arm in (0, 1):
                m = g == arm
                for k in (1, 2, 3):
                    AalenJohansenFitter(calculate_variance=True).fit(t[m], e[m], event_of_interest=k)

    r_ll = runs(theirs, args.lifelines_repeat, warm=False)
    ratio = statistics.median(r_ll) / statistics.median(r_ours)
    print(f"lifelines AJ x6     n={n:,}: median {statistics.median(r_ll):.3f} s  runs {r_ll}")
    print(f"ratio lifelines / riskset (cif + gray): {ratio:.1f}x")
    if args.write_md:
        with open(args.write_md, "a", encoding="utf-8") as fh:
            fh.write(
                f"| {n:,} | {statistics.median(r_ours):.3f} ({args.repeat} runs) | "
                f"{statistics.median(r_cif):.3f} | {statistics.median(r_ll):.2f} ({args.lifelines_repeat} runs) | "
                f"{ratio:.0f}x |\n"
            )


if __name__ == "__main__":
    main()
