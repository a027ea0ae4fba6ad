"""Harrell's C at 1e6 rows: riskset.concordance against lifelines' concordance_index.

Both compute the same number (the tests check it at 1e4 rows): a pair is concordant when
the longer survivor has the larger predictor, tied predictors count one half, tied event
times are not comparable. riskset also returns the infinitesimal-jackknife variance and the
five pair counts; lifelines returns the value only.

The data: exponential times, rounded to 1 decimal (many tied times), 30 % censored, a
predictor rounded to 2 decimals (tied predictor values). Input preparation (a Polars frame
for riskset, NumPy arrays for lifelines) is outside the timed region. Each tool is run
``--repeat`` times after one warm-up (Numba compile for riskset); the medians and their
ratio are printed, one line per size.

    python benchmarks/bench_concordance.py --sizes 1e6 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import polars as pl

import riskset


def make_data(n: int, seed: int = 20261208) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=n), 2)
    t = np.round(rng.exponential(np.exp(0.5 * x)) * 100, 1) + 0.1
    c = np.round(rng.uniform(0, 400, size=n), 1) + 0.1
    event = (t <= c).astype(np.int8)
    return pl.DataFrame({"time": np.minimum(t, c), "event": event, "x": x})


def run_riskset(df: pl.DataFrame) -> float:
    return riskset.concordance(df, time="time", event="event", predictor="x").value


def run_lifelines(arrays: dict[str, np.ndarray]) -> float:
    from lifelines.utils import concordance_index

    return concordance_index(arrays["time"], arrays["x"], arrays["event"])


def timed(fn, arg, repeat: int) -> tuple[float, float]:
    value = fn(arg)  # warm-up
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(arg)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e6")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    for size in (int(float(s)) for s in args.sizes.split(",")):
        df = make_data(size)
        arrays = {c: df.get_column(c).to_numpy() for c in df.columns}
        t_r, v_r = timed(run_riskset, df, args.repeat)
        t_l, v_l = timed(run_lifelines, arrays, args.repeat)
        print(f"n={size:.0e}  riskset {t_r:.3f} s  lifelines {t_l:.3f} s  ratio {t_l / t_r:.1f}x  "
              f"(median of {args.repeat}; C riskset {v_r:.12f}, lifelines {v_l:.12f})")


if __name__ == "__main__":
    main()
