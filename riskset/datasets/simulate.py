"""Seeded simulated cohorts modelled on a real-world T-DXd study.

The seed paper is Yan Y, Jin Y, Lin M, et al., "Efficacy of trastuzumab deruxtecan in
HER2-positive and HER2-low metastatic breast cancer: a real-world retrospective cohort
study in China", *Breast Cancer: Targets and Therapy* (Dove Press), 98 patients treated at
Fudan University Shanghai Cancer Center from January 2022 to February 2025, analysed in
SPSS v27.

``simulate_tdxd`` builds one synthetic patient per row. The baseline counts of Table 1, the
best responses of Table 2 and the adverse-event counts of the Safety section are reproduced
exactly. The progression-free survival figures are reproduced approximately. The generator
draws survival times from a seeded model, then keeps the candidate draw whose Kaplan–Meier
and log-rank figures land closest to the published ones. A monotone warp of the times above
three months then puts the medians on their targets. Every step is driven by ``seed``, so
the same seed always returns the same frame. ``riskset/datasets/tdxd_NOTES.md`` lists the
paper's contradictions and the choices made here, with targets and achieved values.

``simulate_registry`` and ``write_registry`` (large multi-centre registries with the same
columns, hive-partitioned Parquet) live in :mod:`riskset.datasets.registry` and are
re-exported here; the shared columns, types and calendar are :mod:`riskset.datasets._schema`;
the search that fits the survival times to the paper is :mod:`riskset.datasets._tdxd_fit`.

Times in months are ``days / 30.4375``.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from riskset.datasets._schema import (
    _CR,
    _CUT,
    _IHC,
    _PD,
    _PR,
    _RESP,
    _SCHEMA,
    _SD,
    _START0,
    _START1,
    COLUMNS,
    CUTOFF,
    MONTH_DAYS,
    N_LOW,
    N_POS,
    N,
    _date_col,
    _str_col,
)
from riskset.datasets._tdxd_fit import _groupings, _median, _search_times
from riskset.datasets.registry import simulate_registry, write_registry  # re-exported (see __all__)

__all__ = [
    "COLUMNS",
    "CUTOFF",
    "MONTH_DAYS",
    "simulate_registry",
    "simulate_tdxd",
    "write_registry",
]


def _exact(rng: np.random.Generator, counts: list[tuple[object, int]]) -> np.ndarray:
    """A random permutation holding each value exactly ``count`` times."""
    vals = np.concatenate([np.repeat(np.asarray([v]), c) for v, c in counts])
    return rng.permutation(vals)


def _choose(rng: np.random.Generator, mask: np.ndarray, k: int) -> np.ndarray:
    """Indices of ``k`` distinct rows drawn at random among ``mask``."""
    idx = np.flatnonzero(mask)
    if k > idx.size:
        raise RuntimeError("internal: not enough eligible patients")
    return np.sort(rng.choice(idx, size=k, replace=False))


def _choose_with(
    rng: np.random.Generator, strata: list[tuple[np.ndarray, int]], flag: np.ndarray, n_flag: int
) -> np.ndarray:
    """Draw ``k`` rows from each ``(mask, k)`` stratum with ``n_flag`` flagged rows in all.

    Redraws until the flagged count matches (or is as close as possible after 2000 tries).
    """
    best, gap = None, math.inf
    for _ in range(2000):
        pick = np.concatenate([_choose(rng, m, k) for m, k in strata])
        d = abs(int(flag[pick].sum()) - n_flag)
        if d < gap:
            best, gap = pick, d
        if d == 0:
            break
    return best


# --------------------------------------------------------------------------------------
# Baseline characteristics (Table 1), exact counts
# --------------------------------------------------------------------------------------
def _sites(rng: np.random.Generator, n_sites: np.ndarray, counts: dict[str, int]) -> dict:
    """Site flags with exact counts, never more flagged sites than ``n_sites``."""
    for _ in range(1000):
        cap = n_sites.astype(float).copy()
        out = {}
        ok = True
        for name, k in counts.items():
            w = np.clip(cap, 0, None) ** 1.5
            if (w > 0).sum() < k:
                ok = False
                break
            pick = rng.choice(n_sites.size, size=k, replace=False, p=w / w.sum())
            flag = np.zeros(n_sites.size, dtype=np.int64)
            flag[pick] = 1
            cap -= flag
            out[name] = flag
        if ok:
            return out
    raise RuntimeError("internal: could not place metastatic sites")


def _ages(rng: np.random.Generator, old: np.ndarray, *, low: bool) -> np.ndarray:
    """Integer ages with the published cohort medians/ranges; ``old`` marks the >= 65 rows.

    HER2-low (52): 24 ages in 33..50, two of 51, 16 in 52..64, 10 in 65..74 -> median 51.5.
    HER2-positive (46): 22 in 31..48, two of 49, 15 in 51..64, 7 in 65..74 -> median 49.
    Together: median 51 (range 31-74), 17 patients aged >= 65.
    """
    if low:
        young = np.concatenate(
            [[33], rng.integers(34, 51, 23), [51, 51], [52], rng.integers(52, 65, 15)]
        )
    else:
        young = np.concatenate(
            [[31], rng.integers(32, 49, 21), [49, 49], [51], rng.integers(51, 65, 14)]
        )
    olds = np.concatenate([[74], rng.integers(65, 75, int(old.sum()) - 1)])
    age = np.empty(old.size, dtype=np.int64)
    age[old] = rng.permutation(olds)
    age[~old] = rng.permutation(young)
    return age


def _baseline(rng: np.random.Generator) -> dict[str, np.ndarray]:
    low = np.r_[np.ones(N_LOW, bool), np.zeros(N_POS, bool)]
    cols: dict[str, list[np.ndarray]] = {}

    def put(name: str, a: np.ndarray, b: np.ndarray) -> None:
        cols[name] = np.concatenate([a, b])

    put("her2_ihc", _exact(rng, [(0, 20), (1, 32)]), _exact(rng, [(2, 11), (3, 35)]))
    put("hr_pos", _exact(rng, [(1, 32), (0, 20)]), _exact(rng, [(1, 22), (0, 24)]))
    # ECOG <= 1 split 0/1 is not published; ~40% ECOG 0 is assumed.
    put("ecog", _exact(rng, [(0, 20), (1, 29), (2, 3)]), _exact(rng, [(0, 18), (1, 25), (2, 3)]))
    put("ki67", _exact(rng, [(1, 37), (0, 10), (-1, 5)]), _exact(rng, [(1, 38), (0, 3), (-1, 5)]))
    # Number of sites: HER2-low 8/24/20 (the printed 8/14/22 sums to 44, see NOTES).
    n_low = np.concatenate([[1] * 8, [2] * 24, rng.choice([3, 3, 3, 4, 4, 5], 20)])
    n_pos = np.concatenate([[1] * 20, [2] * 17, rng.choice([3, 3, 3, 4, 4, 5], 9)])
    n_low, n_pos = rng.permutation(n_low), rng.permutation(n_pos)
    s_low = _sites(rng, n_low, {"liver_met": 25, "bone_met": 30, "lung_met": 23, "brain_met": 17})
    s_pos = _sites(rng, n_pos, {"liver_met": 16, "bone_met": 20, "lung_met": 15, "brain_met": 17})
    put("n_met_sites", n_low, n_pos)
    for k in s_low:
        put(k, s_low[k], s_pos[k])

    # CDK4/6 inhibitors only for HR-positive disease: 31/32 (low), 3/22 (positive).
    cdk = np.zeros(N, np.int64)
    cdk[_choose(rng, low & (cols["hr_pos"] == 1), 31)] = 1
    cdk[_choose(rng, ~low & (cols["hr_pos"] == 1), 3)] = 1
    cols["prior_cdk46"] = cdk

    # Prior lines (any setting): 1/2/>=3 = 2/8/42 (low), 7/11/28 (positive); median 3, max 17.
    def many(k: int, threes: int) -> np.ndarray:
        rest = rng.choice([4, 4, 4, 5, 5, 6, 7, 8, 9, 10, 12], size=k - threes)
        return np.concatenate([[3] * threes, rest])

    # 24 patients with exactly 3 prior lines keep the overall median at 3.
    lines_low = np.concatenate([[1] * 2, [2] * 8, [17], many(41, 14)])
    lines_pos = np.concatenate([[1] * 7, [2] * 11, many(28, 10)])
    put("prior_lines", rng.permutation(lines_low), rng.permutation(lines_pos))
    return {"low": low, **cols}


def _antiher2(rng: np.random.Generator, b: dict) -> None:
    """Prior anti-HER2 lines: 0 for HER2-low; HER2-positive split so that < 3 vs >= 3 works.

    The 18 HER2-positive patients with < 3 prior lines are early-line (anti-HER2 lines =
    prior lines). Of the 28 with >= 3 prior lines, one never received anti-HER2 therapy
    (HER2 status re-tested positive), 6 had 1-2 anti-HER2 lines and 21 had >= 3.
    """
    low, lines = b["low"], b["prior_lines"]
    anti = np.zeros(N, np.int64)
    early = ~low & (lines < 3)
    anti[early] = lines[early]
    late = np.flatnonzero(~low & (lines >= 3))
    late = rng.permutation(late)
    none, few, many = late[:1], late[1:7], late[7:]
    anti[none] = 0
    anti[few] = rng.integers(1, 3, few.size)
    anti[many] = [rng.integers(3, lines[i] + 1) for i in many]
    b["prior_anti_her2_lines"] = anti
    b["prior_anti_her2"] = (~low & (anti > 0)).astype(np.int64)
    b["early"] = early
    b["anti_many"] = ~low & (anti >= 3)


def _responses(rng: np.random.Generator, b: dict) -> None:
    """Best response with the exact Table 2, Table 4 (DCR by age), T-DM1 and LM counts."""
    low, liver = b["low"], b["liver_met"] == 1
    resp = np.full(N, -1, np.int64)
    # HER2-low: 21 PD (12 liver / 9 no liver), then CR 1, PR 20, SD 10 at random.
    # Brain metastases: 6 of the 21 HER2-low PD and 1 of the 9 HER2-positive PD, so that
    # the brain-metastasis subgroup keeps its 65.3% 12-month PFS.
    brain = b["brain_met"] == 1
    pick = _choose_with(rng, [(low & liver, 12), (low & ~liver, 9)], brain, 6)
    resp[pick] = _PD
    rest = np.flatnonzero(low & (resp < 0))
    resp[rest] = _exact(rng, [(_CR, 1), (_PR, 20), (_SD, 10)])
    # HER2-positive: the 9 PD all among >= 3 prior anti-HER2 lines (no events below).
    resp[_choose_with(rng, [(b["anti_many"], 9)], brain, 1)] = _PD
    rest = np.flatnonzero(~low & (resp < 0))
    resp[rest] = _exact(rng, [(_CR, 1), (_PR, 17), (_SD, 19)])
    b["resp"] = resp

    # Age >= 65 (17): 6 PD, 9 responders, 2 SD (Table 4: DCR 11/17, ORR 52.9%).
    old = np.zeros(N, bool)
    for grp, (npd, nrs, nsd) in ((low, (4, 5, 1)), (~low, (2, 4, 1))):
        old[_choose(rng, grp & (resp == _PD), npd)] = True
        old[_choose(rng, grp & (resp <= _PR), nrs)] = True
        old[_choose(rng, grp & (resp == _SD), nsd)] = True
    b["old"] = old
    age = np.empty(N, np.int64)
    age[low] = _ages(rng, old[low], low=True)
    age[~low] = _ages(rng, old[~low], low=False)
    b["age"] = age

    # Prior T-DM1 (11, HER2-positive, >= 2 anti-HER2 lines): 1 PD, 4 CR/PR, 6 SD.
    elig = ~low & (b["prior_anti_her2_lines"] >= 2)
    tdm1 = np.zeros(N, np.int64)
    tdm1[_choose(rng, elig & (resp == _PD), 1)] = 1
    tdm1[_choose(rng, elig & (resp <= _PR), 4)] = 1
    tdm1[_choose(rng, elig & (resp == _SD), 6)] = 1
    b["prior_tdm1"] = tdm1

    # SD lasting >= 24 weeks: 2 (CBR 41/98). Chosen outside the early-line positives.
    sd_long = np.zeros(N, bool)
    sd_long[_choose(rng, (resp == _SD) & ~b["early"], 2)] = True
    b["sd_long"] = sd_long

    # Leptomeningeal disease (5): 3 with parenchymal brain metastases, 1 PD, one PFS ~9 mo.
    lm = np.zeros(N, np.int64)
    brain = b["brain_met"] == 1
    ok = ~b["early"]
    lm[_choose(rng, brain & ok & (resp == _PD), 1)] = 1
    lm[_choose(rng, brain & ok & (resp != _PD) & (lm == 0), 2)] = 1
    lm[_choose(rng, ~brain & ok & (resp != _PD) & (b["n_met_sites"] > 1), 2)] = 1
    b["leptomeningeal"] = lm


# --------------------------------------------------------------------------------------
# Dates, PFS2, adverse events, assembly
# --------------------------------------------------------------------------------------
def _dates(rng: np.random.Generator, days: np.ndarray, ev: np.ndarray, b: dict) -> dict:
    """Start / progression / last-assessment / response dates (days since 1970-01-01)."""
    resp = b["resp"]
    u = rng.random((4, N))
    # Censored: last assessment 0-8 weeks before the cut-off (75%) or lost earlier.
    latest = np.minimum(_START1, _CUT - days - 1)
    gap = np.rint(u[0] * 56).astype(np.int64)
    admin = _CUT - days - gap
    lost = _START0 + np.rint(u[1] * np.maximum(latest - 60 - _START0, 0)).astype(np.int64)
    start_c = np.where(u[2] < 0.75, admin, lost)
    # Progressed: start anywhere the progression date still precedes the cut-off.
    start_e = _START0 + np.rint(u[3] * (latest - _START0)).astype(np.int64)
    start = np.clip(np.where(ev == 1, start_e, start_c), _START0, latest)
    last = start + days
    prog = np.where(ev == 1, last, -1)
    # First response at the first scan (6-9 weeks), never after the last assessment.
    rday = np.minimum(rng.integers(42, 64, N), days)
    response = np.where(resp <= _PR, start + rday, -1)
    return {"start": start, "prog": prog, "last": last, "response": response}


def _pfs2(rng: np.random.Generator, d: dict, b: dict) -> dict:
    """Next line after progression for 15 of the 30 PD patients; median PFS2 ~2.0 months."""
    resp = b["resp"]
    nls = np.full(N, -1, np.int64)
    p2 = np.full(N, -1, np.int64)
    last2 = np.full(N, -1, np.int64)
    elig = (resp == _PD) & (d["prog"] + 100 <= _CUT)
    if elig.sum() < 15:
        elig = resp == _PD
    who = _choose(rng, elig, 15)
    nls[who] = np.minimum(d["prog"][who] + rng.integers(7, 36, who.size), _CUT - 20)
    # 12 second progressions, 3 still on the next line at last follow-up.
    ev2 = rng.permutation(np.r_[np.ones(12, np.int64), np.zeros(3, np.int64)])
    t2 = rng.gamma(3.0, 0.75, who.size) * MONTH_DAYS
    # Put the KM median exactly on 2.0 months by scaling the times.
    med = _median(t2, ev2)
    if math.isfinite(med):
        t2 = t2 * (2.0 * MONTH_DAYS / med)
    t2 = np.maximum(np.rint(t2).astype(np.int64), 7)
    t2 = np.minimum(t2, _CUT - nls[who])
    last2[who] = nls[who] + t2
    p2[who] = np.where(ev2 == 1, last2[who], -1)
    return {"nls": nls, "p2": p2, "last2": last2}


def _adverse(rng: np.random.Generator) -> dict:
    """CTCAE grades with the published >= 3 counts; any-grade rates below 3 are assumed."""
    neut = _exact(rng, [(4, 5), (3, 15), (2, 22), (1, 18), (0, 38)])
    naus = _exact(rng, [(3, 5), (2, 20), (1, 40), (0, 33)])
    anem = _exact(rng, [(4, 1), (3, 3), (2, 20), (1, 26), (0, 48)])
    ild = _exact(rng, [(3, 1), (2, 1), (1, 4), (0, 92)])
    disc = np.zeros(N, np.int64)
    reason = np.full(N, -1, np.int64)
    stop_ild = np.flatnonzero(ild >= 2)  # T-DXd is stopped for grade >= 2 ILD
    disc[stop_ild] = 1
    reason[stop_ild] = 0
    renal = _choose(rng, ild == 0, 1)
    disc[renal] = 1
    reason[renal] = 1
    return {
        "ae_neutropenia_grade": neut,
        "ae_nausea_grade": naus,
        "ae_anemia_grade": anem,
        "ae_ild_grade": ild,
        "discontinued_ae": disc,
        "reason": reason,
    }



def simulate_tdxd(seed: int = 2025) -> pl.DataFrame:
    """Simulated 98-patient T-DXd cohort following the seed paper (one row per patient).

    Parameters
    ----------
    seed
        Seed of every random step. The same seed always returns the same frame; the
        bundled ``tdxd.csv`` is ``simulate_tdxd(2025)``.

    Returns
    -------
    polars.DataFrame
        The columns of :data:`COLUMNS` (see ``tdxd_NOTES.md`` for their meaning). PFS is
        ``progression_date`` (event) or ``last_assessment_date`` (censored) minus
        ``start_date``.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    b = _baseline(rng)
    _antiher2(rng, b)
    _responses(rng, b)
    _groupings(b)
    days, ev, _ = _search_times(seed, b)
    d = _dates(rng, days, ev, b)
    p2 = _pfs2(rng, d, b)
    ae = _adverse(rng)
    resp = b["resp"]
    sd_weeks = np.where(resp == _SD, np.round(days / 7.0, 1), np.nan)
    cols = {
        "patient_id": pl.Series([f"P{i + 1:03d}" for i in range(N)]),
        "age": b["age"],
        "ecog": b["ecog"],
        "hr_status": _str_col(1 - b["hr_pos"], ["positive", "negative"]),
        "her2_ihc": _str_col(b["her2_ihc"], _IHC),
        "her2_group": _str_col((~b["low"]).astype(np.int64), ["HER2-low", "HER2-positive"]),
        "ki67": _str_col(np.where(b["ki67"] < 0, -1, 1 - b["ki67"]), [">20%", "<=20%"]),
        "n_met_sites": b["n_met_sites"],
        "liver_met": b["liver_met"],
        "lung_met": b["lung_met"],
        "brain_met": b["brain_met"],
        "bone_met": b["bone_met"],
        "leptomeningeal": b["leptomeningeal"],
        "prior_anti_her2": b["prior_anti_her2"],
        "prior_cdk46": b["prior_cdk46"],
        "prior_lines": b["prior_lines"],
        "prior_anti_her2_lines": b["prior_anti_her2_lines"],
        "prior_tdm1": b["prior_tdm1"],
        "start_date": _date_col(d["start"]),
        "progression_date": _date_col(d["prog"]),
        "last_assessment_date": _date_col(d["last"]),
        "best_response": _str_col(resp, _RESP),
        "response_date": _date_col(d["response"]),
        "sd_weeks": pl.Series(sd_weeks).fill_nan(None),
        "next_line_start": _date_col(p2["nls"]),
        "second_progression_date": _date_col(p2["p2"]),
        "pfs2_last_date": _date_col(p2["last2"]),
        "ae_neutropenia_grade": ae["ae_neutropenia_grade"],
        "ae_nausea_grade": ae["ae_nausea_grade"],
        "ae_anemia_grade": ae["ae_anemia_grade"],
        "ae_ild_grade": ae["ae_ild_grade"],
        "discontinued_ae": ae["discontinued_ae"],
        "discontinuation_reason": _str_col(ae["reason"], ["ILD", "renal impairment"]),
    }
    frame = pl.DataFrame(
        {k: (v if isinstance(v, pl.Series) else pl.Series(v)) for k, v in cols.items()}
    )
    return frame.cast(_SCHEMA).select(COLUMNS)


# --------------------------------------------------------------------------------------
# Target-versus-achieved report (computed with riskset itself)
# --------------------------------------------------------------------------------------
def pfs_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Add ``pfs_months`` and ``pfs_event`` (progression or death) to a cohort frame."""
    return df.with_columns(
        pfs_event=pl.col("progression_date").is_not_null().cast(pl.Int64),
        pfs_months=(pl.col("last_assessment_date") - pl.col("start_date")).dt.total_days()
        / MONTH_DAYS,
    )


def target_report(df: pl.DataFrame) -> pl.DataFrame:
    """Published figure, target and achieved value for a ``simulate_tdxd`` frame.

    Survival figures use :func:`riskset.kaplan_meier` (SPSS median rule), p-values
    :func:`riskset.logrank`, follow-up :func:`riskset.median_followup` (reverse KM).
    """
    import riskset

    d = pfs_frame(df)
    rows: list[tuple[str, float, float]] = []

    def km(sub: pl.DataFrame, time: str = "pfs_months", event: str = "pfs_event"):
        return riskset.kaplan_meier(sub, time=time, event=event, convention="spss")

    def med(sub: pl.DataFrame) -> float:
        v = km(sub).summary["median"][0]
        return math.inf if v is None or (isinstance(v, float) and math.isnan(v)) else v

    def s12(sub: pl.DataFrame) -> float:
        return 100.0 * float(km(sub).at(12.0, extend=True)["survival"][0])

    def lr(sub: pl.DataFrame, group: pl.Expr) -> float:
        return riskset.logrank(
            sub.with_columns(g=group), time="pfs_months", event="pfs_event", group="g"
        ).p_value

    low = d.filter(pl.col("her2_group") == "HER2-low")
    pos = d.filter(pl.col("her2_group") == "HER2-positive")
    brain = d.filter(pl.col("brain_met") == 1)
    rows += [
        ("median PFS overall (mo)", 15.0, med(d)),
        ("median PFS HER2-low (mo)", 9.0, med(low)),
        ("median PFS HER2-positive (mo)", math.inf, med(pos)),
        ("12-mo PFS HER2-low (%)", 38.1, s12(low)),
        ("12-mo PFS HER2-positive (%)", 69.2, s12(pos)),
        ("median PFS HER2-low, liver mets (mo)", 6.0, med(low.filter(pl.col("liver_met") == 1))),
        (
            "median PFS HER2-low, no liver mets (mo)",
            15.0,
            med(low.filter(pl.col("liver_met") == 0)),
        ),
        ("log-rank p HER2-low liver", 0.003, lr(low, pl.col("liver_met"))),
        ("median PFS brain mets (mo)", 15.5, med(brain)),
        ("12-mo PFS brain mets (%)", 65.3, s12(brain)),
        ("median PFS age < 65 (mo)", 20.0, med(d.filter(pl.col("age") < 65))),
        ("median PFS age >= 65 (mo)", 15.0, med(d.filter(pl.col("age") >= 65))),
        (
            "log-rank p HER2-pos anti-HER2 lines <3 vs >=3",
            0.034,
            lr(pos, pl.col("prior_anti_her2_lines") >= 3),
        ),
        (
            "events HER2-pos anti-HER2 lines < 3",
            0.0,
            float(pos.filter(pl.col("prior_anti_her2_lines") < 3)["pfs_event"].sum()),
        ),
    ]
    for name, target, grp, expr in [
        ("HER2-low age >=50", 0.373, low, pl.col("age") >= 50),
        ("HER2-low brain", 0.506, low, pl.col("brain_met")),
        ("HER2-low bone", 0.623, low, pl.col("bone_met")),
        ("HER2-low CDK4/6", 0.346, low, pl.col("prior_cdk46")),
        ("HER2-low lines <3 vs >=3", 0.273, low, pl.col("prior_lines") >= 3),
        ("HER2-pos age >=50", 0.355, pos, pl.col("age") >= 50),
        ("HER2-pos brain", 0.058, pos, pl.col("brain_met")),
        ("HER2-pos liver", 0.447, pos, pl.col("liver_met")),
        ("HER2-pos bone", 0.481, pos, pl.col("bone_met")),
        ("HER2-pos prior anti-HER2", 0.830, pos, pl.col("prior_anti_her2")),
        ("HER2-pos lines <3 vs >=3", 0.572, pos, pl.col("prior_lines") >= 3),
    ]:
        rows.append((f"log-rank p {name}", target, lr(grp, expr)))
    fu = riskset.median_followup(d, time="pfs_months", event="pfs_event")
    rows += [
        ("median follow-up, reverse KM (mo)", 6.0, fu["median_followup"][0]),
        ("median observed PFS time (mo)", 6.0, float(d["pfs_months"].median())),
        ("min follow-up (mo)", 0.5, float(d["pfs_months"].min())),
        ("max follow-up (mo)", 26.0, float(d["pfs_months"].max())),
    ]
    tdm1 = d.filter(pl.col("prior_tdm1") == 1)
    rows += [
        ("12-mo PFS prior T-DM1 (%)", 88.9, s12(tdm1)),
        (
            "12-mo PFS HER2-pos, <=2 prior lines, brain mets (%)",
            88.9,
            s12(pos.filter((pl.col("prior_lines") <= 2) & (pl.col("brain_met") == 1))),
        ),
    ]
    nl = d.filter(pl.col("next_line_start").is_not_null()).with_columns(
        pfs2_event=pl.col("second_progression_date").is_not_null().cast(pl.Int64),
        pfs2_months=(pl.col("pfs2_last_date") - pl.col("next_line_start")).dt.total_days()
        / MONTH_DAYS,
    )
    rows += [
        ("PD patients with a next line", 15.0, float(nl.height)),
        ("median PFS2 (mo)", 2.0, km(nl, "pfs2_months", "pfs2_event").summary["median"][0]),
    ]
    return pl.DataFrame(rows, schema=["figure", "target", "achieved"], orient="row")
