"""Bootstrap benchmark: 2,000 replicates of the KM median and the 12-month rate, n = 1e5.

Run: ``python benchmarks/compare_bootstrap.py [--n 100000] [--resamples 2000] [--loop 20]``

* riskset: ``riskset.bootstrap(statistic=["median", "survival"], at=12)`` (both statistics
  on the same 2,000 resamples; JIT warmed up first).
* The loop users write today: resample rows with NumPy, refit, read the median and S(12).
  Timed on ``--loop`` replicates and scaled to 2,000, for lifelines ``KaplanMeierFitter``
  and the PyPI ``survival`` package (Rust port of R survival) ``survfit``.
* Per-replicate cost against one weighted Kaplan–Meier pass on the already-sorted data
  (``riskset.engine.bootstrap.group_statistic`` with multinomial weights).

Medians of ``--repeat`` runs; the machine is shared, so read the ratios. Writes
``benchmarks/results_bootstrap.md``.
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
from riskset.engine import bootstrap as eb  # noqa: E402


def med_time(fn, repeat: int) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def data(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t_ev = rng.exponential(18.0, n)
    t_c = rng.exponential(40.0, n)
    return {"time": np.ceil(np.minimum(t_ev, t_c) * 4) / 4, "event": (t_ev <= t_c).astype(np.int8)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--loop", type=int, default=20, help="replicates timed for the refit loops")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cox-resamples", type=int, default=1000, help="0 skips the Cox bootstrap")
    ap.add_argument("--cox-loop", type=int, default=5, help="replicates timed for the Rust Cox loop")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results_bootstrap.md")))
    args = ap.parse_args(argv)
    d = data(args.n)
    df = pl.DataFrame(d)
    B = args.resamples

    def rs():  # both statistics on the same resamples, as a user would ask for them
        return riskset.bootstrap(df, statistic=["median", "survival"], at=12.0, time="time", event="event",
                                 n_resamples=B, seed=1)

    t_rs = med_time(rs, args.repeat)

    # one weighted KM pass on sorted data (the per-replicate floor of the method)
    order = np.lexsort((d["event"], d["time"]))
    ts, es = np.ascontiguousarray(d["time"][order]), np.ascontiguousarray(d["event"][order])
    w = np.random.default_rng(3).multinomial(args.n, np.full(args.n, 1 / args.n)).astype(np.float64)
    t_pass = med_time(lambda: (eb.group_statistic(ts, es, w, 0, args.n, eb.STAT_MEDIAN, 0.5),
                               eb.group_statistic(ts, es, w, 0, args.n, eb.STAT_SURV, 12.0)), 20)
    per_rep = t_rs / B

    rng = np.random.default_rng(5)
    loops = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from lifelines import KaplanMeierFitter

            def ll():
                for _ in range(args.loop):
                    i = rng.integers(0, args.n, args.n)
                    k = KaplanMeierFitter().fit(d["time"][i], d["event"][i])
                    _ = k.median_survival_time_, k.survival_function_at_times(12.0).iloc[0]

            loops["lifelines"] = med_time(ll, 1) / args.loop * B
        except ImportError:
            pass
        try:
            import survival

            def sv():
                for _ in range(args.loop):
                    i = rng.integers(0, args.n, args.n)
                    s = survival.Surv(d["time"][i], d["event"][i].astype(int))
                    fit = survival.survfit(s)
                    survival.quantile(fit, 0.5)
                    survival.summary(fit, times=[12.0]) if hasattr(survival, "summary") else None

            loops["survival (Rust)"] = med_time(sv, 1) / args.loop * B
        except Exception as exc:  # the Rust package's API may differ between versions
            print(f"survival (Rust) loop not timed: {exc}")
    fastest = min(loops.values()) if loops else None

    # --- Cox bootstrap: p = 5, n = 1e5, 1,000 replicates --------------------------------------
    cox_lines = []
    if args.cox_resamples:
        rng_c = np.random.default_rng(11)
        n = args.n
        X = rng_c.standard_normal((n, 5))
        eta = X @ np.array([0.5, -0.3, 0.2, 0.0, 0.1])
        te = rng_c.exponential(1.0, n) * np.exp(-eta) * 365
        tc = rng_c.exponential(1.0, n) * 365 * 2.3
        cdf = pl.DataFrame({"time": np.ceil(np.minimum(te, tc)), "status": (te <= tc).astype(np.int8),
                            **{f"x{j + 1}": X[:, j] for j in range(5)}})
        covs = [f"x{j + 1}" for j in range(5)]
        Bc = args.cox_resamples
        t_cox = med_time(lambda: riskset.bootstrap(cdf, statistic="cox_coef", time="time", event="status",
                                                   covariates=covs, n_resamples=Bc, seed=2), 1)
        cox_lines.append(f"| riskset Cox bootstrap (Efron, warm-started Newton) | {t_cox:.2f} | 1.0 |")
        try:
            import survival

            pdf = cdf.to_pandas()
            formula = "Surv(time, status) ~ " + " + ".join(covs)

            def rust_loop():
                for _ in range(args.cox_loop):
                    i = rng_c.integers(0, n, n)
                    survival.coxph(formula, data=pdf.iloc[i].reset_index(drop=True))

            t_rust = med_time(rust_loop, 1) / args.cox_loop * Bc
            cox_lines.append(f"| survival (Rust) `coxph` resample-and-refit loop (timed on {args.cox_loop}, "
                             f"scaled) | {t_rust:.1f} | {t_rust / t_cox:.0f}x |")
            cox_lines.append("")
            cox_lines.append(f"Target: >= 10x faster than the Rust loop: {t_rust / t_cox:.0f}x — "
                             f"{'met' if t_rust / t_cox >= 10 else 'not met'}.")
        except Exception as exc:
            cox_lines.append(f"| survival (Rust) loop | not timed: {exc} | |")
    lines = [
        f"# Bootstrap benchmark: {B} replicates of the KM median and S(12), n = {args.n:,}", "",
        "| tool | time for B replicates of both statistics (s) | ratio to riskset |", "|---|---|---|",
        f"| riskset (`bootstrap`, median + survival at 12) | {t_rs:.3f} | 1.0 |",
    ]
    for k, v in loops.items():
        lines.append(f"| {k} resample-and-refit loop (timed on {args.loop}, scaled) | {v:.1f} | {v / t_rs:.0f}x |")
    lines += [
        "",
        f"Per replicate (both statistics): {1e3 * per_rep:.3f} ms; one weighted KM pass on sorted data "
        f"computing both: {1e3 * t_pass:.3f} ms; ratio {per_rep / t_pass:.2f} (target <= 3).",
        "",
        "Target: >= 20x faster than the fastest loop: "
        + (f"{fastest / t_rs:.0f}x — {'met' if fastest / t_rs >= 20 else 'not met'}." if fastest else "no loop timed."),
        "",
    ]
    if cox_lines:
        lines += [f"## Cox bootstrap: {args.cox_resamples} replicates, p = 5, n = {args.n:,} (Efron)", "",
                  "| tool | time (s) | ratio to riskset |", "|---|---|---|", *cox_lines, ""]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
