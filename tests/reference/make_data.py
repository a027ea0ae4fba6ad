#!/usr/bin/env python3
"""Generate the synthetic reference data sets used by the R fixture chain.

Writes CSV files into ``tests/reference/data/``:

* ``ties_int.csv`` -- n=400, integer-month times 1..36 (heavy ties), ~30 %
  censoring, group ``grp`` (a/b/c), ``sex`` (F/M), integer weights ``wint``
  (1..4) and non-integer weights ``wfrac`` (uniform 0.2..3).
* ``entry.csv``    -- n=300, delayed entry (``entry`` < ``time``), times on a
  0.5 grid (ties in entry and exit), ``grp`` (ctl/trt), weights ``w``.
* ``small.csv``    -- 12 hand-written rows (see SMALL_ROWS below).
* ``nocens.csv``   -- n=50, continuous times, no censoring, ``grp`` (u/v).

Every random case uses its own ``numpy.random.default_rng(seed)`` so that the
output is byte-for-byte reproducible.  Floats are written with ``repr`` (the
shortest string that round-trips exactly), so R and Python read identical
doubles.  Run from anywhere:

    python tests/reference/make_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"


def _fmt(value):
    """Format a cell: floats via repr (exact round trip), ints/str as is."""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def write_csv(name: str, columns: dict[str, list]) -> Path:
    """Write ``columns`` (ordered name -> values) to ``data/<name>.csv``.

    String columns are quoted (QUOTE_NONNUMERIC-like behaviour for str only),
    numbers are not; this matches what ``make_r.R`` writes for the R data.
    """
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"{name}.csv"
    names = list(columns)
    n = len(columns[names[0]])
    assert all(len(v) == n for v in columns.values()), name
    with path.open("w", newline="") as fh:
        fh.write(",".join(f'"{c}"' for c in names) + "\n")
        for i in range(n):
            cells = []
            for c in names:
                v = columns[c][i]
                if isinstance(v, str):
                    cells.append('"' + v.replace('"', '""') + '"')
                else:
                    cells.append(_fmt(v))
            fh.write(",".join(cells) + "\n")
    return path


def make_ties_int() -> dict[str, list]:
    rng = np.random.default_rng(20240101)
    n = 400
    grp = rng.choice(np.array(["a", "b", "c"]), size=n)
    sex = rng.choice(np.array(["F", "M"]), size=n)
    rate = {"a": 1 / 14.0, "b": 1 / 20.0, "c": 1 / 28.0}
    lam = np.array([rate[g] for g in grp]) * np.where(sex == "M", 1.25, 1.0)
    t_event = rng.exponential(1.0 / lam)
    t_cens = rng.uniform(2.0, 60.0, size=n)
    t = np.minimum(t_event, t_cens)
    event = (t_event <= t_cens).astype(int)
    # integer months 1..36; administrative censoring at 36
    month = np.clip(np.ceil(t), 1, None)
    event[month > 36] = 0
    month = np.minimum(month, 36)
    wint = rng.integers(1, 5, size=n)  # 1..4 inclusive
    wfrac = rng.uniform(0.2, 3.0, size=n)
    return {
        "id": list(range(1, n + 1)),
        "time": [float(x) for x in month],
        "event": [int(x) for x in event],
        "grp": [str(x) for x in grp],
        "sex": [str(x) for x in sex],
        "wint": [int(x) for x in wint],
        "wfrac": [float(x) for x in wfrac],
    }


def make_entry() -> dict[str, list]:
    rng = np.random.default_rng(20240202)
    n = 300
    grp = rng.choice(np.array(["ctl", "trt"]), size=n)
    # entry on a 0.5 grid in [0, 10]; a block of subjects entering at 0
    entry = np.round(rng.uniform(0.0, 10.0, size=n) * 2.0) / 2.0
    entry[rng.random(n) < 0.2] = 0.0
    scale = np.where(grp == "trt", 12.0, 8.0)
    dur_event = rng.weibull(1.3, size=n) * scale
    dur_cens = rng.uniform(2.0, 30.0, size=n)
    dur = np.minimum(dur_event, dur_cens)
    event = (dur_event <= dur_cens).astype(int)
    dur = np.maximum(0.5, np.round(dur * 2.0) / 2.0)  # strictly positive
    time = entry + dur
    w = np.round(rng.uniform(0.3, 2.5, size=n), 3)
    assert np.all(entry < time)
    return {
        "id": list(range(1, n + 1)),
        "entry": [float(x) for x in entry],
        "time": [float(x) for x in time],
        "event": [int(x) for x in event],
        "grp": [str(x) for x in grp],
        "w": [float(x) for x in w],
    }


# Hand-sized data set.
#  grp "x": 1c 2e 2c 4e 5c 6e  -> S = 1 on the first row (censoring before
#           any event), tie event/censor at 2; the last observation is an
#           event, so S drops to exactly 0 at t=6.
#  grp "y": 1e 2e 3e 3c 5e 7c  -> tie event/censor at 3; S = 0.5 exactly on
#           [3, 5), so the median is the midpoint 4 (R's convention); the last
#           observation is censored (S stays at 0.25).
SMALL_ROWS = [
    # time, event, grp
    (1.0, 0, "x"),
    (2.0, 1, "x"),
    (2.0, 0, "x"),
    (4.0, 1, "x"),
    (5.0, 0, "x"),
    (6.0, 1, "x"),
    (1.0, 1, "y"),
    (2.0, 1, "y"),
    (3.0, 1, "y"),
    (3.0, 0, "y"),
    (5.0, 1, "y"),
    (7.0, 0, "y"),
]


def make_small() -> dict[str, list]:
    return {
        "id": list(range(1, len(SMALL_ROWS) + 1)),
        "time": [r[0] for r in SMALL_ROWS],
        "event": [r[1] for r in SMALL_ROWS],
        "grp": [r[2] for r in SMALL_ROWS],
    }


def make_nocens() -> dict[str, list]:
    rng = np.random.default_rng(20240303)
    n = 50
    grp = np.array(["u", "v"] * (n // 2))
    rng.shuffle(grp)
    time = rng.weibull(1.5, size=n) * np.where(grp == "v", 1.4, 1.0)
    time = np.round(time, 6)
    assert len(np.unique(time)) == n  # continuous: no ties
    return {
        "id": list(range(1, n + 1)),
        "time": [float(x) for x in time],
        "event": [1] * n,
        "grp": [str(x) for x in grp],
    }


def main() -> None:
    for name, maker in [
        ("ties_int", make_ties_int),
        ("entry", make_entry),
        ("small", make_small),
        ("nocens", make_nocens),
    ]:
        cols = maker()
        path = write_csv(name, cols)
        ev = np.asarray(cols["event"])
        print(f"{path.name}: n={len(ev)}, events={int(ev.sum())}, "
              f"censored={1 - ev.mean():.1%}")


if __name__ == "__main__":
    main()
