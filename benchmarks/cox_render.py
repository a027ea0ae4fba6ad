"""``results_cox.md`` from the measurements of ``compare_cox.py``."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

from cox_data import BETA5


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
