"""The search that fits the simulated T-DXd cohort's survival times to the seed paper.

:func:`_search_times` draws PFS times from a seeded model (:func:`_draw_times`), scores each
draw by how close its Kaplan–Meier medians, 12-month rates and log-rank p-values land to
the published ones (:data:`TARGETS`, :data:`TABLE3_NS`; :func:`_metrics`, :func:`_loss`),
keeps the best, and moves the medians onto their targets with a monotone warp of the
times above three months (:func:`_warp`). The small survival helpers here are fast,
vectorised versions for the search; the tests check them against riskset. Used by
:func:`riskset.datasets.simulate.simulate_tdxd`.
"""

from __future__ import annotations

import math

import numpy as np

from riskset.datasets._schema import _PD, _PR, _SD, MONTH_DAYS, N

# --------------------------------------------------------------------------------------
# Published targets (Table 1, Table 2, Safety). HER2-low first, HER2-positive second.
# --------------------------------------------------------------------------------------

#: Survival targets (months / percent / p-values) used by the search and reported in NOTES.
TARGETS = {
    "median_overall": 15.0,
    "median_low": 9.0,
    "median_low_liver": 6.0,
    "median_low_noliver": 15.0,
    "median_brain": 15.5,
    "median_age_lt65": 20.0,
    "median_age_ge65": 15.0,
    "pfs12_low": 38.1,
    "pfs12_pos": 69.2,
    "pfs12_brain": 65.3,
    "p_low_liver": 0.003,
    "p_pos_antiher2_lines": 0.034,
    "median_followup": 6.0,
    "max_followup": 26.0,
    "median_pfs2": 2.0,
}

#: Table 3 log-rank p-values for the factors that were not significant (reproduced loosely).
TABLE3_NS = {
    "low_age50": 0.373,
    "low_brain": 0.506,
    "low_bone": 0.623,
    "low_cdk46": 0.346,
    "low_lines3": 0.273,
    "pos_age50": 0.355,
    "pos_brain": 0.058,
    "pos_liver": 0.447,
    "pos_bone": 0.481,
    "pos_antiher2": 0.830,
    "pos_lines3": 0.572,
}


# --------------------------------------------------------------------------------------
# Small, fast survival helpers for the search (the tests check them against riskset).
# --------------------------------------------------------------------------------------
def _km_curve(t: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct event times and the KM estimate just after each."""
    ts = np.sort(t)
    et = np.sort(t[e == 1])
    if et.size == 0:
        return et, et
    u, d = np.unique(et, return_counts=True)
    n = ts.size - np.searchsorted(ts, u, "left")
    return u, np.cumprod(1.0 - d / n)


def _median(t: np.ndarray, e: np.ndarray) -> float:
    """First time with S <= 0.5 (SPSS / lifelines rule); inf when not reached."""
    u, s = _km_curve(t, e)
    hit = np.flatnonzero(s <= 0.5 + 1e-12)
    return float(u[hit[0]]) if hit.size else math.inf


def _median_index(t: np.ndarray, e: np.ndarray) -> float:
    """The event time at which S first drops to <= 0.5 (nan if never)."""
    m = _median(t, e)
    return m if math.isfinite(m) else math.nan


def _surv_at(t: np.ndarray, e: np.ndarray, at: float) -> float:
    u, s = _km_curve(t, e)
    k = np.searchsorted(u, at, "right")
    return 1.0 if k == 0 else float(s[k - 1])


def _logrank_many(t: np.ndarray, e: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Two-group log-rank p-values (R survdiff) of each row of ``groups`` (k x n bool)."""
    order = np.argsort(t, kind="stable")
    ts, es = t[order], e[order]
    g = groups[:, order].astype(np.float64)
    u = np.unique(ts[es == 1])
    if u.size == 0:
        return np.ones(groups.shape[0])
    lo = np.searchsorted(ts, u, "left")
    hi = np.searchsorted(ts, u, "right")
    ce = np.concatenate([[0.0], np.cumsum(es)])
    d = ce[hi] - ce[lo]
    n = ts.size - lo
    cg = np.concatenate([np.zeros((g.shape[0], 1)), np.cumsum(g, axis=1)], axis=1)
    cge = np.concatenate([np.zeros((g.shape[0], 1)), np.cumsum(g * es, axis=1)], axis=1)
    n1 = cg[:, -1:] - cg[:, lo]
    d1 = cge[:, hi] - cge[:, lo]
    exp1 = (n1 * d / n).sum(axis=1)
    nn = np.where(n > 1, n - 1.0, 1.0)
    var = np.where(n > 1, n1 * (n - n1) * d * (n - d) / (n * n * nn), 0.0).sum(axis=1)
    obs1 = d1.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.where(var > 0, (obs1 - exp1) ** 2 / np.where(var > 0, var, 1.0), np.nan)
    # No variance (a group never at risk at an event): undefined, like R survdiff.
    return np.array([math.erfc(math.sqrt(c / 2.0)) if c == c else math.nan for c in chi2])


def _logrank_p(t: np.ndarray, e: np.ndarray, g: np.ndarray) -> float:
    """Two-group log-rank p-value (R survdiff)."""
    return float(_logrank_many(t, e, np.asarray(g, bool)[None, :])[0])


# --------------------------------------------------------------------------------------
# PFS times: seeded model, search over candidate draws, monotone warp
# --------------------------------------------------------------------------------------
_WARP_FROM = 3.0  # months: times at or below this are never moved by the warp


def _draw_times(rng: np.random.Generator, b: dict) -> tuple[np.ndarray, np.ndarray]:
    """One candidate (time in months, event) per patient from the generative model.

    * Best response PD: progression at the first tumour assessment (6-12 weeks), about one
      in ten earlier (clinical progression, 0.5-1.2 months).
    * HER2-low: liver metastases progress mostly between 5 and 13 months (Weibull shape
      2.5); without liver metastases progression is rare (exponential, mean 45 months).
    * HER2-positive with >= 3 prior anti-HER2 lines: exponential-like progression, faster
      with brain metastases. Fewer than 3 anti-HER2 lines: no progression at all.
    * Early-line HER2-positive patients (< 3 prior lines) and the one patient without prior
      anti-HER2 therapy started recently: most are censored at their first scan (~6 weeks).
    * Administrative censoring / loss to follow-up for the rest: a mixture of short
      (recent starters) and long follow-up, capped at 26 months.
    * Stable disease shorter than 24 weeks is observed for less than 5.5 months.
    """
    low, resp = b["low"], b["resp"]
    liver, brain = b["liver_met"] == 1, b["brain_met"] == 1
    early, many = b["early"], b["anti_many"]
    pos = ~low
    u = rng.random((8, N))
    first = np.where(pos, 1.45 + 1.35 * u[0], 1.3 + 1.5 * u[0])
    # HER2-low with liver metastases: first scan at 5-9 weeks (1.2-2.0 months).
    lowliver = low & liver
    first = np.where(lowliver, 1.2 + 0.8 * u[0], first)
    t = np.zeros(N)
    ev = np.zeros(N, np.int64)
    pd = resp == _PD
    t[pd] = np.where(u[1] < 0.1, 0.5 + 0.7 * u[2], first)[pd]
    ev[pd] = 1
    t[np.flatnonzero(pd)[np.argmin(t[pd])]] = 0.49  # earliest: clinical progression, 15 days
    # Censoring.
    cens = np.where(u[3] < 0.3, 1.4 + 4.0 * u[4], 5.5 + 20.5 * u[4] ** 1.3)
    cens = np.where(pos, 3.0 + 23.0 * u[4] ** 1.2, cens)
    quick = early | (pos & (b["prior_anti_her2"] == 0))
    slow = np.zeros(N, bool)
    slow[rng.choice(np.flatnonzero(early), 2, replace=False)] = True
    cens = np.where(quick & ~slow, 1.15 + 0.27 * u[6], cens)
    cens = np.where(slow, 3.0 + 7.0 * u[6], cens)
    # The one patient without prior anti-HER2 therapy: at risk for the first few PD scans.
    cens = np.where(pos & (b["prior_anti_her2"] == 0), 1.5 + 0.4 * u[6], cens)
    # Latent progression.
    wl = rng.weibull(2.5, N)
    we = rng.exponential(1.0, N)
    latent = np.where(liver, first + 8.0 * wl, first + 35.0 * we)
    latent_pos = first + np.where(brain, 30.0, 40.0) * we
    latent = np.where(pos, np.where(many, latent_pos, np.inf), latent)
    # Stable disease < 24 weeks.
    sd_short = (resp == _SD) & ~b["sd_long"]
    cap = np.where(quick, np.minimum(cens, 5.45), 1.4 + 4.05 * u[7])
    cap = np.where(lowliver, 2.05 + 3.4 * u[7], cap)
    sd_t = np.minimum(latent, cap)
    t[sd_short] = sd_t[sd_short]
    ev[sd_short] = (latent <= cap)[sd_short]
    # Stable disease >= 24 weeks.
    sl = b["sd_long"]
    t[sl] = np.clip(np.minimum(latent, cens), 5.7, 26.0)[sl]
    ev[sl] = (latent <= cens)[sl]
    # CR / PR.
    rs = resp <= _PR
    floor = np.where(quick, cens, np.where(lowliver, 2.05, first))
    t[rs] = np.maximum(np.minimum(latent, cens), floor)[rs]
    ev[rs] = (latent <= cens)[rs]
    return t, ev


def _km_many(t: np.ndarray, e: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """KM of each row of ``masks`` (k x n bool) at the distinct event times ``u`` of all rows.

    Returns ``(u, S)`` with ``S[j, i]`` the estimate of curve j just after ``u[i]``.
    """
    order = np.argsort(t, kind="stable")
    ts, es = t[order], e[order]
    g = masks[:, order].astype(np.float64)
    u = np.unique(ts[es == 1])
    lo = np.searchsorted(ts, u, "left")
    hi = np.searchsorted(ts, u, "right")
    cg = np.concatenate([np.zeros((g.shape[0], 1)), np.cumsum(g, axis=1)], axis=1)
    cge = np.concatenate([np.zeros((g.shape[0], 1)), np.cumsum(g * es, axis=1)], axis=1)
    n = cg[:, -1:] - cg[:, lo]
    d = cge[:, hi] - cge[:, lo]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(n > 0, 1.0 - d / np.where(n > 0, n, 1.0), 1.0)
    return u, np.cumprod(q, axis=1)


_CURVES = [
    "median_overall",
    "median_low",
    "median_low_liver",
    "median_low_noliver",
    "median_brain",
    "median_age_lt65",
    "median_age_ge65",
    "median_pos",
]


def _metrics(t: np.ndarray, e: np.ndarray, b: dict) -> dict[str, float]:
    u, sv = _km_many(t, e, b["_curves"])
    m: dict[str, float] = {}
    below = sv <= 0.5 + 1e-12
    first = np.where(below.any(axis=1), below.argmax(axis=1), -1)
    for j, k in enumerate(_CURVES):
        m[k] = float(u[first[j]]) if first[j] >= 0 else math.inf
        m["_end_" + k] = float(sv[j, -1]) if u.size else 1.0
    k12 = np.searchsorted(u, 12.0, "right")
    s12 = sv[:, k12 - 1] if k12 > 0 else np.ones(sv.shape[0])
    m["pfs12_low"] = 100 * float(s12[1])
    m["pfs12_pos"] = 100 * float(s12[7])
    m["pfs12_brain"] = 100 * float(s12[4])
    m["median_followup"] = _median(t, 1 - e)
    m["max_followup"] = float(t.max())
    low, pos = b["low"], ~b["low"]
    tl, el = t[low], e[low]
    tp, ep = t[pos], e[pos]
    p_low = _logrank_many(tl, el, b["_g_low"])
    p_pos = _logrank_many(tp, ep, b["_g_pos"])
    m["p_low_liver"] = p_low[0]
    m["p_pos_antiher2_lines"] = p_pos[0]
    for k, p in zip(_G_LOW, p_low[1:], strict=True):
        m["p_" + k] = p
    for k, p in zip(_G_POS, p_pos[1:], strict=True):
        m["p_" + k] = p
    return m


_G_LOW = ["low_age50", "low_brain", "low_bone", "low_cdk46", "low_lines3"]
_G_POS = ["pos_age50", "pos_brain", "pos_liver", "pos_bone", "pos_antiher2", "pos_lines3"]


def _groupings(b: dict) -> None:
    """Precompute the Table 3 groupings (first row: the significant factor)."""
    low, pos = b["low"], ~b["low"]
    age50 = b["age"] >= 50
    one = {k: b[k] == 1 for k in ("liver_met", "brain_met", "bone_met", "prior_cdk46")}
    lines3 = b["prior_lines"] >= 3
    b["_g_low"] = np.stack(
        [one["liver_met"], age50, one["brain_met"], one["bone_met"], one["prior_cdk46"], lines3]
    )[:, low]
    liver, brain, old = one["liver_met"], one["brain_met"], b["age"] >= 65
    b["_curves"] = np.stack(
        [np.ones(N, bool), low, low & liver, low & ~liver, brain, ~old, old, pos]
    )
    b["_g_pos"] = np.stack(
        [
            b["anti_many"],
            age50,
            one["brain_met"],
            one["liver_met"],
            one["bone_met"],
            b["prior_anti_her2"] == 1,
            lines3,
        ]
    )[:, pos]


_MEDIAN_KEYS = [
    "median_low_liver",
    "median_low",
    "median_overall",
    "median_low_noliver",
    "median_age_ge65",
    "median_brain",
    "median_age_lt65",
]


def _warp(t: np.ndarray, e: np.ndarray, b: dict) -> np.ndarray | None:
    """Monotone piecewise-linear map of times > 3 months putting each median on target."""
    m = _metrics_medians(t, e, b)
    xs, ys = [_WARP_FROM], [_WARP_FROM]
    pairs = sorted((m[k], TARGETS[k]) for k in _MEDIAN_KEYS if math.isfinite(m[k]))
    for x, y in pairs:
        if x <= _WARP_FROM:
            return None
        if x == xs[-1]:
            ys[-1] = 0.5 * (ys[-1] + y)
            continue
        xs.append(x)
        ys.append(y)
    top = float(t.max())
    if top > xs[-1]:
        xs.append(top)
        ys.append(max(TARGETS["max_followup"], ys[-1] + 0.5))
    ys = np.asarray(ys, dtype=np.float64)
    for i in range(1, ys.size):  # strictly increasing, at least 0.25 month apart
        ys[i] = max(ys[i], ys[i - 1] + 0.25)
    out = t.copy()
    hi = t > _WARP_FROM
    out[hi] = np.interp(t[hi], xs, ys)
    return out


def _metrics_medians(t: np.ndarray, e: np.ndarray, b: dict) -> dict[str, float]:
    low, liver = b["low"], b["liver_met"] == 1
    brain, old = b["brain_met"] == 1, b["age"] >= 65
    masks = {
        "median_overall": np.ones(N, bool),
        "median_low": low,
        "median_low_liver": low & liver,
        "median_low_noliver": low & ~liver,
        "median_brain": brain,
        "median_age_lt65": ~old,
        "median_age_ge65": old,
    }
    return {k: _median_index(t[v], e[v]) for k, v in masks.items()}


def _to_days(months: np.ndarray) -> np.ndarray:
    return np.maximum(np.rint(months * MONTH_DAYS), 1).astype(np.int64)


def _loss(m: dict[str, float], b: dict, t: np.ndarray) -> float:
    loss = 0.0
    for k in _MEDIAN_KEYS:
        v = m[k]
        if math.isfinite(v):
            loss += min((v - TARGETS[k]) ** 2, 40.0)
        else:  # not reached: push the curve's last value towards 0.5
            loss += 40.0 + 100.0 * (m["_end_" + k] - 0.5)
    if math.isfinite(m["median_pos"]):
        loss += 50.0
    for k in ("pfs12_low", "pfs12_pos", "pfs12_brain"):
        loss += ((m[k] - TARGETS[k]) / 3.0) ** 2
    loss += 2.0 * (m["median_followup"] - TARGETS["median_followup"]) ** 2
    for k in ("p_low_liver", "p_pos_antiher2_lines"):
        p = m[k] if m[k] == m[k] else 1.0
        loss += 4.0 * math.log(max(p, 1e-12) / TARGETS[k]) ** 2
    for k, target in TABLE3_NS.items():
        if math.isnan(m["p_" + k]):
            loss += 5.0
            continue
        p = max(m["p_" + k], 1e-12)
        loss += 0.3 * math.log(p / target) ** 2
        if p <= 0.05:
            loss += 20.0
    # Short stable disease must stay under 24 weeks after the warp.
    sd_short = (b["resp"] == _SD) & ~b["sd_long"]
    if np.any(t[sd_short] * MONTH_DAYS >= 168):
        loss += 100.0
    return loss


def _bounds(b: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Which patients the placement step may move, their time range (days), event rights."""
    resp = b["resp"]
    quick = b["early"] | (~b["low"] & (b["prior_anti_her2"] == 0))
    movable = (resp != _PD) & ~quick
    lo = np.full(N, 41.0)
    lo[b["low"] & (b["liver_met"] == 1)] = 62.0
    hi = np.full(N, 26.0 * MONTH_DAYS)
    sd_short = (resp == _SD) & ~b["sd_long"]
    hi[sd_short] = 167.0
    lo[b["sd_long"]] = 168.0
    can_event = movable & (b["low"] | b["anti_many"])
    return movable, lo, hi, can_event


def _place(
    rng: np.random.Generator,
    days: np.ndarray,
    ev: np.ndarray,
    b: dict,
    n_steps: int,
    *,
    t0: float = 3.0,
    focus: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Annealed placement: move single times, swap two times or flip one event flag.

    A proposal that lowers the loss is always kept; one that raises it by ``delta`` is kept
    with probability ``exp(-delta / T)``, ``T`` cooling geometrically from 3 to 0.01. The
    best state seen is returned. All randomness comes from ``rng`` (deterministic).
    """
    movable, lo, hi, can_event = _bounds(b)
    idx = np.flatnonzero(movable if focus is None else movable & focus)
    days, ev = days.copy(), ev.copy()

    def loss_of(d: np.ndarray, e: np.ndarray) -> float:
        tm = d / MONTH_DAYS
        return _loss(_metrics(tm, e, b), b, tm)

    cur = loss_of(days, ev)
    best = (cur, days.copy(), ev.copy())
    spots = np.array([6.0, 9.0, 12.0, 15.0, 15.5, 20.0, 26.0]) * MONTH_DAYS
    picks = rng.choice(idx, n_steps)
    other = rng.choice(idx, n_steps)
    kind = rng.random(n_steps)
    jit = rng.normal(0.0, 0.25, n_steps)
    uni = rng.random(n_steps)
    acc = rng.random(n_steps)
    temp = t0 * (0.01 / t0) ** (np.arange(n_steps) / max(n_steps - 1, 1))
    for s in range(n_steps):
        i, k = picks[s], kind[s]
        new_d, new_e = days.copy(), ev.copy()
        if k < 0.2:
            if not can_event[i]:
                continue
            new_e[i] = 1 - ev[i]
        elif k < 0.5:
            new_d[i] = int(np.clip(round(days[i] * math.exp(jit[s])), lo[i], hi[i]))
        elif k < 0.75:
            o = other[s]
            if o == i or not (lo[i] <= days[o] <= hi[i] and lo[o] <= days[i] <= hi[o]):
                continue
            new_d[i], new_d[o] = days[o], days[i]
        elif k < 0.9:
            new_d[i] = int(round(lo[i] + uni[s] * (hi[i] - lo[i])))
        else:
            spot = spots[int(uni[s] * spots.size)] + round(3 * jit[s])
            new_d[i] = int(np.clip(round(spot), lo[i], hi[i]))
        score = loss_of(new_d, new_e)
        if score <= cur or acc[s] < math.exp(-(score - cur) / temp[s]):
            days, ev, cur = new_d, new_e, score
            if cur < best[0]:
                best = (cur, days.copy(), ev.copy())
    return best[1], best[2], best[0]


def _acceptable(m: dict[str, float]) -> bool:
    """The tolerances the tests promise (with a margin): stop searching when all hold."""
    if any(abs(m[k] - TARGETS[k]) > 1.0 for k in _MEDIAN_KEYS):
        return False
    if any(abs(m[k] - TARGETS[k]) > 4.0 for k in ("pfs12_low", "pfs12_pos", "pfs12_brain")):
        return False
    if abs(m["median_followup"] - TARGETS["median_followup"]) > 1.0:
        return False
    if not (0.001 <= m["p_low_liver"] <= 0.01 and 0.02 <= m["p_pos_antiher2_lines"] <= 0.05):
        return False
    return all(m["p_" + k] > 0.05 for k in TABLE3_NS) and math.isinf(m["median_pos"])


def _search_times(seed: int, b: dict, max_attempts: int = 4) -> tuple[np.ndarray, np.ndarray, dict]:
    """Deterministic search: attempts ``0, 1, ...`` until one is good enough; keep the best."""
    best = (math.inf, None, None, None)
    for attempt in range(max_attempts):
        days, ev, m = _search_once(seed, b, attempt)
        tm = days / MONTH_DAYS
        score = _loss(m, b, tm)
        if score < best[0]:
            best = (score, days, ev, m)
        if _acceptable(m):
            break
    return best[1], best[2], best[3]


def _search_once(
    seed: int, b: dict, attempt: int, n_draws: int = 80, n_steps: int = 3000
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Best of ``n_draws`` seeded candidates, warped, then placed; (days, event, metrics)."""
    best = (math.inf, None, None)
    ss = np.random.SeedSequence([seed, 7, attempt])
    for child in ss.spawn(n_draws):
        rng = np.random.default_rng(child)
        t, e = _draw_times(rng, b)
        w = _warp(t, e, b)
        if w is None:
            continue
        days = _to_days(w)
        tm = days / MONTH_DAYS
        score = _loss(_metrics(tm, e, b), b, tm)
        if score < best[0]:
            best = (score, days, e)
    if best[1] is None:
        raise RuntimeError("internal: no admissible survival draw")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 11, attempt]))
    days, ev, _ = _place(rng, best[1], best[2], b, n_steps)
    return days, ev, _metrics(days / MONTH_DAYS, ev, b)
