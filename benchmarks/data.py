"""Seeded synthetic survival data for the Kaplan–Meier benchmarks.

``make_km_data(n, ties, seed)`` returns a dict of NumPy arrays:

``time``  float64, follow-up time in days (``"continuous"``), or rounded up to whole days
          (``"days"``) or whole months of 30.4375 days (``"months"``: heavy ties, a few
          hundred distinct times whatever ``n``).
``event`` int8 0/1; about 30 % of rows are censored (0).
``group`` int64 0/1, about half each; group 1 survives 1.5x longer on average.

Event times are exponential (median 365 days in group 0, 548 in group 1); censoring times
are independent exponentials whose rate is 3/7 of the event rate, so that
P(censored) = (3/7) / (1 + 3/7) = 0.30 in both groups. Observed time = min(event, censoring).
"""

from __future__ import annotations

import numpy as np

TIES = ("continuous", "days", "months")
DAYS_PER_MONTH = 30.4375


def make_km_data(n: int, ties: str = "continuous", seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded two-group right-censored data set of ``n`` rows (see module docstring)."""
    n = int(n)
    if n < 1:
        raise ValueError(f"n={n!r} must be positive")
    if ties not in TIES:
        raise ValueError(f"ties={ties!r} must be one of {TIES}")
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, size=n, dtype=np.int64)
    # event-time scale (mean, days): median 365 d in group 0, 1.5x that in group 1
    scale = np.where(group == 0, 365.0, 1.5 * 365.0) / np.log(2.0)
    t_event = rng.exponential(1.0, size=n) * scale
    t_cens = rng.exponential(1.0, size=n) * (scale * 7.0 / 3.0)
    event = (t_event <= t_cens).astype(np.int8)
    time = np.minimum(t_event, t_cens)
    if ties == "days":
        time = np.ceil(time)
    elif ties == "months":
        time = np.ceil(time / DAYS_PER_MONTH)
    return {
        "time": np.ascontiguousarray(time, dtype=np.float64),
        "event": event,
        "group": group,
    }


def input_bytes(data: dict[str, np.ndarray]) -> int:
    """Bytes of the input columns (time + event + group): 17 bytes per row."""
    return int(sum(np.asarray(v).nbytes for v in data.values()))


if __name__ == "__main__":  # quick look
    for kind in TIES:
        d = make_km_data(100_000, kind)
        print(
            f"{kind:>10}: censored {1 - d['event'].mean():.3f}, "
            f"distinct times {np.unique(d['time']).size}, group1 {d['group'].mean():.3f}"
        )
