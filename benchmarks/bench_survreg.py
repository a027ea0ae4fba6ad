"""Weibull AFT regression at scale: ``riskset.survreg`` against lifelines ``WeibullAFTFitter``.

One run fits both tools on the same simulated data (n rows, p covariates, Weibull times with
about 30 % censoring) ``--repeat`` times each, alternating, and reports the median wall time
of each and their ratio, plus the largest difference between the two sets of estimates
(lifelines' ``lambda_`` coefficients are R's location coefficients, ``rho_`` its shape
``1/scale``). Data generation and the conversion to each tool's input are outside the timed
region.

    python benchmarks/bench_survreg.py --n 1e6 --p 5 --repeat 3
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
import warnings

import numpy as np
import polars as pl


def simulate(n: int, p: int, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = np.linspace(-0.3, 0.3, p)
    sigma = 0.7
    logt = 2.0 + X @ beta + sigma * np.log(rng.exponential(size=n))  # min extreme value
    t = np.exp(logt)
    c = rng.exponential(np.quantile(t, 0.8) * 2.0, size=n)
    cols = {f"x{j + 1}": X[:, j] for j in range(p)}
    return pl.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(np.int8), **cols})


def fit_riskset(df: pl.DataFrame, covs: list[str]):
    import riskset

    return riskset.survreg(df, time="time", event="event", covariates=covs, dist="weibull")


def fit_lifelines(pdf, covs: list[str]):
    from lifelines import WeibullAFTFitter

    return WeibullAFTFitter().fit(pdf, duration_col="time", event_col="event")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=1e6)
    ap.add_argument("--p", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-lifelines", action="store_true")
    args = ap.parse_args()
    n = int(args.n)
    df = simulate(n, args.p)
    covs = [c for c in df.columns if c.startswith("x")]
    pdf = df.to_pandas()
    fit_riskset(df.head(1000), covs)  # warm-up (imports)
    tr: list[float] = []
    tl: list[float] = []
    fr = fl = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        fr = fit_riskset(df, covs)
        tr.append(time.perf_counter() - t0)
        if not args.no_lifelines:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                fl = fit_lifelines(pdf, covs)
                tl.append(time.perf_counter() - t0)
    print(f"n = {n:,}, p = {args.p}, events = {int(df['event'].sum()):,}, "
          f"cpus = {os.cpu_count()}, load = {os.getloadavg()[0]:.2f}, repeats = {args.repeat}")
    print(f"riskset.survreg (weibull): median {statistics.median(tr):.3f} s  "
          f"(runs: {', '.join(f'{x:.3f}' for x in tr)}), iterations {fr.iterations}")
    if tl:
        print(f"lifelines WeibullAFTFitter: median {statistics.median(tl):.3f} s  "
              f"(runs: {', '.join(f'{x:.3f}' for x in tl)})")
        print(f"ratio lifelines / riskset: {statistics.median(tl) / statistics.median(tr):.1f}x")
        lam = fl.params_.loc["lambda_"]
        coef_l = np.array([lam["Intercept"], *[lam[c] for c in covs]])
        shape_l = math.exp(fl.params_.loc["rho_"]["Intercept"])
        print(f"max |coef difference| = {np.max(np.abs(coef_l - fr.coef)):.2e}, "
              f"shape: riskset {1 / fr.scale:.6f}, lifelines {shape_l:.6f}, "
              f"loglik: riskset {fr.loglik[1]:.4f}, lifelines {fl.log_likelihood_:.4f}")


if __name__ == "__main__":
    main()
