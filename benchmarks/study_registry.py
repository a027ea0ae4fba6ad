"""Scale benchmark for ``riskset study``: a whole study on a multi-million-row registry.

Usage::

    python benchmarks/study_registry.py                        # 10 million rows, /tmp/registry10m
    python benchmarks/study_registry.py --rows 1000000 --path /tmp/registry1m
    python benchmarks/study_registry.py --write-md benchmarks/results_study.md

Steps (each measured step runs in its own child process, so peak RSS is per step and the
page cache, not the Python heap, is what the steps share):

1. ``write_registry(path, rows)`` if ``path`` holds no Parquet yet (hive-partitioned by
   centre; not timed as part of the study).
2. **read floor**: ``pl.scan_parquet(path/**/*.parquet, hive_partitioning=True)
   .select(used).collect()`` where ``used = used_columns(spec, available)`` for the tdxd
   spec; one warm-up read, then the best of ``--repeat`` reads (the allocator reuses the
   previous read's freed pages: the fastest Polars can read them). Also the same read once
   in each of ``--repeat`` fresh processes, as the study's own read is (every page of the
   frame faulted in), reported as a second ratio.
3. **study**: ``run_study(spec, jobs=2, figure_pool=pool)`` then ``write_study`` on the same
   registry (figures drawn in two worker processes started first, as ``riskset study``
   does), the
   tdxd spec with ``spec.data_path = path; spec.example = None``. The runner's methods,
   the engine entry points it calls, and the writer's figure/report helpers are wrapped
   (monkeypatched here, riskset itself is unchanged) to give a per-task breakdown. The
   Numba kernels are warmed first by running the 98-patient example in the same process
   (reported separately), so the timing is the scale cost, not JIT/cache loading.
4. **small example end to end**: ``riskset study --example tdxd --out DIR`` in a fresh
   subprocess, five times, through the console script next to this interpreter (the first
   run fills the Numba cache if it is empty; the median of the other four is the number
   users see).

Ratios reported: study / best warm read (target <= 10x), study / fresh-process read, and
the warm small-example wall time (target: a couple of seconds).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TDXD = ROOT / "riskset" / "study" / "examples" / "tdxd.toml"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def registry_rows(path: Path) -> int:
    import polars as pl

    return int(pl.scan_parquet(str(path / "**" / "*.parquet"), hive_partitioning=True)
               .select(pl.len()).collect().item())


def ensure_registry(path: Path, rows: int, centres: int, seed: int) -> dict:
    have = sorted(path.rglob("*.parquet")) if path.exists() else []
    if have:
        n = registry_rows(path)
        if n != rows:
            raise SystemExit(f"{path} holds {n} rows, not {rows}; remove it or pick another --path")
        return {"generated": False, "seconds": None}
    from riskset.datasets.simulate import write_registry

    t0 = time.perf_counter()
    write_registry(path, rows, n_centres=centres, seed=seed)
    return {"generated": True, "seconds": time.perf_counter() - t0}


def spec_for(path: Path):
    from riskset.study.spec import load_spec

    spec = load_spec(TDXD)
    spec.data_path = str(path)
    spec.example = None
    return spec


# ------------------------------------------------------------------------------------------
# child: read floor
def child_read(path: Path, repeat: int) -> dict:
    import polars as pl

    from riskset.study.load import used_columns

    spec = spec_for(path)
    lf = pl.scan_parquet(str(path / "**" / "*.parquet"), hive_partitioning=True)
    used = used_columns(spec, lf.collect_schema().names())
    times = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        df = lf.select(used).collect()
        dt = time.perf_counter() - t0
        if i:  # the first read warms the page cache
            times.append(dt)
        shape = df.shape
        est = df.estimated_size()
        del df
    return {"read_s": min(times), "read_all_s": times, "shape": shape, "frame_mb": est / 2**20,
            "n_used": len(used), "used": used, "peak_rss_mb": peak_rss_mb()}


def child_read_once(path: Path) -> dict:
    """One read of the used columns in a fresh process (as the study's own read is): the
    allocator has no freed pages to reuse, so every page of the frame is faulted in."""
    import polars as pl

    from riskset.study.load import used_columns

    spec = spec_for(path)
    lf = pl.scan_parquet(str(path / "**" / "*.parquet"), hive_partitioning=True)
    used = used_columns(spec, lf.collect_schema().names())
    t0 = time.perf_counter()
    df = lf.select(used).collect()
    return {"read_s": time.perf_counter() - t0, "shape": df.shape}


# ------------------------------------------------------------------------------------------
# child: the study, instrumented
class Timers:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.spans: list[tuple[str, float, float, int]] = []  # (name, start, end, thread)

    def wrap(self, owner, attr: str, name: str, *, span: bool = False) -> None:
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                t1 = time.perf_counter()
                with self.lock:
                    self.total[name] += t1 - t0
                    self.calls[name] += 1
                    if span:
                        self.spans.append((name, t0, t1, threading.get_ident()))

        setattr(owner, attr, timed)


def instrument(tm: Timers) -> None:
    import polars as pl

    import riskset
    from riskset.report import figures as F
    from riskset.report import html as H
    from riskset.report import pool as P
    from riskset.study import load as L
    from riskset.study import run as R
    from riskset.study import tables as T

    # the tasks of run_study (wall time per task; they overlap with jobs=2)
    for meth, name in [("baseline", "task: baseline"), ("response", "task: response"),
                       ("safety", "task: safety"), ("logrank_grid", "task: log-rank grid"),
                       ("cox_model", "task: Cox model (one per model)"), ("cox_tables", "task: Cox tables"),
                       ("compare_one", "task: comparison (one per [[compare]])"),
                       ("compare_tables", "task: Table 4 (from the comparisons)")]:
        tm.wrap(R._Runner, meth, name, span=True)
    orig_km = R._Runner.km_endpoint

    def km_endpoint(self, ep):
        t0 = time.perf_counter()
        try:
            return orig_km(self, ep)
        finally:
            t1 = time.perf_counter()
            with tm.lock:
                nm = f"task: Kaplan-Meier {ep.name}"
                tm.total[nm] += t1 - t0
                tm.calls[nm] += 1
                tm.spans.append((nm, t0, t1, threading.get_ident()))

    R._Runner.km_endpoint = km_endpoint
    # data loading and set-up (serial, before the pool)
    tm.wrap(R, "load_study_data", "load: load_study_data (total)")
    tm.wrap(L, "data_hash", "load: data_hash (SHA-256 of the files)")
    tm.wrap(R, "cohort_masks", "setup: cohort_masks (cohort filters)")
    # engine entry points and helpers called inside the tasks (summed over threads)
    for attr in ("kaplan_meier", "median_followup", "logrank_table", "logrank", "cox", "proportion_ci"):
        if hasattr(riskset, attr):
            tm.wrap(riskset, attr, f"engine: riskset.{attr}")
    tm.wrap(R._Runner, "_build_endpoint_rows", "helper: _build_endpoint_rows (select, filter, order once)")
    for attr in ("baseline_table", "response_table", "safety_table"):
        tm.wrap(T, attr, f"tables: {attr}")
    # writer
    tm.wrap(F, "km_figure_args", "figures: km_figure_args (what to draw, in this process)")
    tm.wrap(F, "forest_figure_args", "figures: forest_figure_args")
    tm.wrap(P, "draw_figures", "write: draw_figures (waiting for the figure workers)")
    tm.wrap(H, "render_html", "write: render_html")
    tm.wrap(H, "render_markdown", "write: render_markdown")
    tm.wrap(H, "figure_from_matplotlib", "write: figure_from_matplotlib")
    _ = pl  # keep import for type clarity


def child_study(path: Path, out: Path, jobs: int) -> dict:
    # as `riskset study` does: the figure workers start first, draw each figure as soon as
    # its analysis is done, and are reused by write_study
    from riskset.report.pool import FigurePool

    with FigurePool(jobs) as pool:
        return _child_study(path, out, jobs, pool)


def _child_study(path: Path, out: Path, jobs: int, pool) -> dict:
    t_import = time.perf_counter()
    import polars as pl

    import riskset  # noqa: F401
    from riskset.study.run import run_study, write_study
    from riskset.study.spec import load_spec

    import_s = time.perf_counter() - t_import
    # warm the JIT dispatchers (Numba cache) on the 98-patient example, not timed below
    t0 = time.perf_counter()
    small = run_study(load_spec(TDXD), jobs=jobs)
    warm_s = time.perf_counter() - t0
    del small
    rss_before = peak_rss_mb()

    tm = Timers()
    instrument(tm)
    spec = spec_for(path)
    t0 = time.perf_counter()
    result = run_study(spec, jobs=jobs, figure_pool=pool)
    t1 = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    write_study(result, out, jobs=jobs, figure_pool=pool)
    t2 = time.perf_counter()
    sizes = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()}
    n_fig = len(list((out / "figures").iterdir()))
    spans = [(n, a - t0, b - t0) for n, a, b, _ in tm.spans]
    return {
        "import_s": import_s, "warm_small_study_s": warm_s, "rss_before_mb": rss_before,
        "run_study_s": t1 - t0, "write_study_s": t2 - t1, "total_s": t2 - t0,
        "n_rows": result.meta["n_rows"], "cohort_sizes": result.meta["cohort_sizes"],
        "timers": {k: [v, tm.calls[k]] for k, v in sorted(tm.total.items(), key=lambda kv: -kv[1])},
        "spans": sorted(spans, key=lambda s: s[1]), "peak_rss_mb": peak_rss_mb(),
        "output_bytes": sizes, "n_figure_files": n_fig, "polars": pl.__version__,
    }


# ------------------------------------------------------------------------------------------
def run_child(args: list[str]) -> dict:
    cmd = [sys.executable, __file__, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if p.returncode:
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit(f"child failed: {' '.join(args)}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def small_example(runs: int = 5) -> list[float]:
    # the console script next to this interpreter (what `riskset` is in its environment; a
    # version-manager shim on PATH would add its own start-up to every run)
    exe = Path(sys.executable).parent / "riskset"
    exe = str(exe) if exe.exists() else None
    times = []
    for _ in range(runs):
        d = Path(tempfile.mkdtemp(prefix="riskset_small_"))
        out = d / "out"
        cmd = [exe, "study", "--example", "tdxd", "--out", str(out)] if exe else \
              [sys.executable, "-m", "riskset.cli.main", "study", "--example", "tdxd", "--out", str(out)]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if p.returncode:
            raise SystemExit(p.stdout + p.stderr)
        shutil.rmtree(d)
    return times


def small_import_floor() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import riskset.study.run, riskset.report.figures, riskset.report.html"],
                   check=True)
    return time.perf_counter() - t0


def fmt_load(x) -> str:
    return "/".join(f"{v:.1f}" for v in x)


def markdown(res: dict) -> str:
    r, s, g = res["read"], res["study"], res["registry"]
    ratio = s["run_study_s"] / r["read_s"]
    ratio_total = s["total_s"] / r["read_s"]
    fresh = res["read_fresh"]
    fresh_s = sorted(fresh)[len(fresh) // 2]
    small = res["small"]
    warm_small = sorted(small["runs"][1:])[len(small["runs"][1:]) // 2]
    lines = [
        f"### {s['n_rows']:,} rows ({res['path']})",
        "",
        f"Machine: {res['machine']}; Python {res['python']}; Polars {s['polars']}; jobs = {res['jobs']}. "
        f"Load average (1/5/15 min) before: {fmt_load(res['load']['before'])}, after the study: "
        f"{fmt_load(res['load']['after_study'])} (a shared machine: other jobs inflate wall times).",
        f"Registry: {g['files']} Parquet files, {g['mb']:.0f} MB"
        + (f" (generated in {g['seconds']:.1f} s)" if g.get("seconds") else " (already present)") + ".",
        "",
        "| step | wall (s) | peak RSS (MB) |",
        "|---|---:|---:|",
        f"| Polars read of the {r['n_used']} used columns (best of {len(r['read_all_s'])}, warm page cache) "
        f"| {r['read_s']:.2f} | {r['peak_rss_mb']:.0f} |",
        f"| the same read, once in a fresh process (median of {len(fresh)}: "
        + ", ".join(f"{x:.2f}" for x in fresh) + f") | {fresh_s:.2f} | |",
        f"| `run_study(spec, jobs={res['jobs']})` | {s['run_study_s']:.2f} | |",
        f"| `write_study` (tables, results.json, {s['n_figure_files']} figure files, report) | {s['write_study_s']:.2f} | |",
        f"| study total (run + write) | {s['total_s']:.2f} | {s['peak_rss_mb']:.0f} |",
        "",
        f"* Ratio run_study / read = **{ratio:.1f}x**; (run + write) / read = **{ratio_total:.1f}x** "
        f"(target <= 10x: {'met' if ratio_total <= 10 else 'NOT met'}). Against the read in a fresh "
        f"process (the study's own read is one): (run + write) / read = {s['total_s'] / fresh_s:.1f}x.",
        f"* Frame read: {r['shape'][0]:,} x {r['shape'][1]} columns, {r['frame_mb']:.0f} MB in memory.",
        f"* Child process before the big study (imports + 98-patient warm-up): "
        f"{s['rss_before_mb']:.0f} MB RSS; import {s['import_s']:.2f} s, warm-up study {s['warm_small_study_s']:.2f} s.",
        "",
        "Per-task / per-function wall time (s; tasks run on a 2-thread pool, so task times overlap "
        "and engine/helper times are summed over both threads):",
        "",
        "| timer | seconds | calls |",
        "|---|---:|---:|",
    ]
    for k, (v, n) in s["timers"].items():
        lines.append(f"| {k} | {v:.2f} | {n} |")
    lines += ["", "Task timeline (start - end, seconds after `run_study` began):", ""]
    for n, a, b in s["spans"]:
        lines.append(f"* {n}: {a:.2f} - {b:.2f}")
    lines += [
        "",
        f"98-patient example end to end (`riskset study --example tdxd --out ...`, fresh process each): "
        f"run 1 {small['runs'][0]:.2f} s (fills the Numba cache if it is empty), then "
        + ", ".join(f"{x:.2f}" for x in small["runs"][1:]) + f" s: median **{warm_small:.2f} s**; "
        f"bare `import riskset.study.run, riskset.report.*` in a fresh process: {small['import_s']:.2f} s.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--path", type=Path, default=None, help="registry folder (default /tmp/registry10m, or "
                    "/tmp/registry<rows> when --rows is given)")
    ap.add_argument("--centres", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="study output folder (default: a temporary folder)")
    ap.add_argument("--write-md", type=Path, default=None, help="append the Markdown section to this file")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw measurements here")
    ap.add_argument("--child", choices=["read", "read1", "study"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.path is None:
        a.path = Path("/tmp/registry10m") if a.rows == 10_000_000 else Path(f"/tmp/registry{a.rows}")
    if a.child == "read":
        print(json.dumps(child_read(a.path, a.repeat)))
        return
    if a.child == "read1":
        print(json.dumps(child_read_once(a.path)))
        return
    if a.child == "study":
        print(json.dumps(child_study(a.path, a.out, a.jobs)))
        return

    gen = ensure_registry(a.path, a.rows, a.centres, a.seed)
    files = sorted(a.path.rglob("*.parquet"))
    gen.update(files=len(files), mb=sum(f.stat().st_size for f in files) / 2**20)
    tmp = None
    out = a.out
    if out is None:
        tmp = Path(tempfile.mkdtemp(prefix="riskset_study_bench_"))
        out = tmp / "study"
    try:
        load = {"before": os.getloadavg()}
        read = run_child(["--child", "read", "--path", str(a.path), "--repeat", str(a.repeat)])
        read_fresh = [run_child(["--child", "read1", "--path", str(a.path)])["read_s"] for _ in range(a.repeat)]
        study = run_child(["--child", "study", "--path", str(a.path), "--out", str(out), "--jobs", str(a.jobs)])
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    load["after_study"] = os.getloadavg()
    small = {"runs": small_example(5), "import_s": small_import_floor()}
    res = {"load": load, "path": str(a.path), "jobs": a.jobs, "registry": gen, "read": read, "read_fresh": read_fresh,
           "study": study, "small": small,
           "machine": f"{os.cpu_count()} CPUs, {platform.machine()}", "python": platform.python_version()}
    md = markdown(res)
    print(md)
    if a.write_md:
        with open(a.write_md, "a", encoding="utf-8") as fh:
            fh.write(md + "\n")
    if a.json:
        a.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
