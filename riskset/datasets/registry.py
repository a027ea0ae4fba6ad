"""Large synthetic multi-centre registries with the T-DXd cohort's columns, for benchmarks.

``simulate_registry`` draws rows independently from the seed cohort's marginal rates, fully
vectorised in seeded blocks; ``write_registry`` writes one as hive-partitioned Parquet
(``centre=C001/part-0.parquet``) block by block, so memory stays bounded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from riskset.datasets._schema import (
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
    MONTH_DAYS,
    N_LOW,
    N,
    _date_col,
    _str_col,
)

__all__ = ["simulate_registry", "write_registry"]


def _cat(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """Categorical codes 0..k-1; ``probs`` is (k,) or (n, k) (row-wise probabilities)."""
    u = rng.random(n)
    cum = np.cumsum(np.atleast_2d(probs), axis=1)
    if cum.shape[0] == 1:
        return np.searchsorted(cum[0], u, "right").clip(0, cum.shape[1] - 1)
    return (u[:, None] >= cum).sum(axis=1).clip(0, cum.shape[1] - 1)


def _pick2(low: np.ndarray, p_low: float, p_pos: float, u: np.ndarray) -> np.ndarray:
    return (u < np.where(low, p_low, p_pos)).astype(np.int64)


def _registry_block(
    rng: np.random.Generator,
    n: int,
    first_id: int,
    weights: np.ndarray,
) -> pl.DataFrame:
    """``n`` registry rows drawn from the cohort's rates (no per-patient Python loop)."""
    u = rng.random((20, n))
    low = u[0] < N_LOW / N
    pos = ~low
    ihc = np.where(low, (u[1] >= 20 / 52).astype(np.int64), 2 + (u[1] >= 11 / 46))
    hr_pos = _pick2(low, 32 / 52, 22 / 46, u[2])
    ecog = np.where(u[3] < 0.06, 2, (u[4] >= 0.4).astype(np.int64))
    ki = np.where(u[5] < 0.10, -1, _pick2(low, 37 / 47, 38 / 41, u[6]))  # 1 = >20%
    sites = (
        np.where(
            low,
            _cat(rng, np.array([8, 24, 20]) / 52, n),
            _cat(rng, np.array([20, 17, 9]) / 46, n),
        )
        + 1
    )
    sites = np.where(sites == 3, 3 + rng.poisson(0.6, n), sites)
    liver = _pick2(low, 25 / 52, 16 / 46, u[7])
    lung = _pick2(low, 23 / 52, 15 / 46, u[8])
    brain = _pick2(low, 17 / 52, 17 / 46, u[9])
    bone = _pick2(low, 30 / 52, 20 / 46, u[10])
    sites = np.maximum(sites, liver + lung + brain + bone)
    lm = (u[11] < 5 / 98).astype(np.int64)
    cdk = (hr_pos == 1) & (u[12] < np.where(low, 31 / 32, 3 / 22))
    lines = (
        np.where(
            low,
            _cat(rng, np.array([2, 8, 42]) / 52, n),
            _cat(rng, np.array([7, 11, 28]) / 46, n),
        )
        + 1
    )
    lines = np.where(lines == 3, np.minimum(3 + rng.geometric(0.45, n) - 1, 17), lines)
    anti = np.where(pos & (u[13] > 1 / 46), 1 + rng.binomial(lines - 1, 0.6), 0)
    tdm1 = (pos & (anti >= 2) & (u[14] < 0.35)).astype(np.int64)
    resp = np.where(
        low,
        _cat(rng, np.array([1, 20, 10, 21]) / 52, n),
        _cat(rng, np.array([1, 17, 19, 9]) / 46, n),
    )
    age = np.clip(np.rint(rng.normal(np.where(low, 52.0, 50.0), 10.5)), 27, 85).astype(np.int64)
    # Times (days): PD at the first scan; others Weibull by cohort / liver / anti-HER2 lines.
    first = rng.integers(36, 85, n)
    scale = np.where(low, np.where(liver == 1, 8.0, 22.0), np.where(anti >= 3, 26.0, 60.0))
    latent = first + (scale * MONTH_DAYS * rng.weibull(1.3, n)).astype(np.int64)
    latent = np.where(resp == _PD, first - np.where(u[15] < 0.1, 25, 0), latent)
    start = rng.integers(_START0, _START1 + 1, n)
    lost = np.where(u[16] < 0.25, rng.integers(60, 800, n), 10**6)
    admin = _CUT - start - rng.integers(0, 57, n)
    cens = np.maximum(np.minimum(admin, lost), 15)
    latent = np.maximum(latent, 15)
    ev = (latent <= cens).astype(np.int64)
    days = np.minimum(latent, cens)
    # Best response and dates consistent with the observed time.
    resp = np.where((resp == _PD) & (ev == 0), _SD, resp)
    resp = np.where((resp != _PD) & (ev == 1) & (days < 42), _PD, resp)
    last = start + days
    prog = np.where(ev == 1, last, -1)
    response = np.where(resp <= _PR, start + np.minimum(first, days), -1)
    sd_weeks = np.where(resp == _SD, np.round(days / 7.0, 1), np.nan)
    has_next = (resp == _PD) & (u[17] < 0.5) & (prog + 45 <= _CUT)
    nls = np.where(has_next, prog + rng.integers(7, 36, n), -1)
    t2 = (rng.gamma(3.0, 0.75, n) * MONTH_DAYS).astype(np.int64) + 7
    last2 = np.where(has_next, np.minimum(nls + t2, _CUT), -1)
    p2 = np.where(has_next & (nls + t2 <= _CUT), last2, -1)
    neut = _cat(rng, np.array([38, 18, 22, 15, 5]) / 98, n)
    naus = _cat(rng, np.array([33, 40, 20, 5]) / 98, n)
    anem = _cat(rng, np.array([48, 26, 20, 3, 1]) / 98, n)
    ild = _cat(rng, np.array([92, 4, 1, 1]) / 98, n)
    renal = u[18] < 1 / 98
    reason = np.where(ild >= 2, 0, np.where(renal, 1, -1))
    centre = _cat(rng, weights, n)
    ids = pl.int_range(first_id + 1, first_id + n + 1, eager=True).cast(pl.String)
    frame = pl.DataFrame(
        {
            "patient_id": ("R" + ids.str.zfill(9)),
            "age": age,
            "ecog": ecog,
            "hr_status": _str_col(1 - hr_pos, ["positive", "negative"]),
            "her2_ihc": _str_col(ihc, _IHC),
            "her2_group": _str_col(pos.astype(np.int64), ["HER2-low", "HER2-positive"]),
            "ki67": _str_col(np.where(ki < 0, -1, 1 - ki), [">20%", "<=20%"]),
            "n_met_sites": sites,
            "liver_met": liver,
            "lung_met": lung,
            "brain_met": brain,
            "bone_met": bone,
            "leptomeningeal": lm,
            "prior_anti_her2": (anti > 0).astype(np.int64),
            "prior_cdk46": cdk.astype(np.int64),
            "prior_lines": lines,
            "prior_anti_her2_lines": anti,
            "prior_tdm1": tdm1,
            "start_date": _date_col(start),
            "progression_date": _date_col(prog),
            "last_assessment_date": _date_col(last),
            "best_response": _str_col(resp, _RESP),
            "response_date": _date_col(response),
            "sd_weeks": pl.Series(sd_weeks).fill_nan(None),
            "next_line_start": _date_col(nls),
            "second_progression_date": _date_col(p2),
            "pfs2_last_date": _date_col(last2),
            "ae_neutropenia_grade": neut,
            "ae_nausea_grade": naus,
            "ae_anemia_grade": anem,
            "ae_ild_grade": ild,
            "discontinued_ae": (reason >= 0).astype(np.int64),
            "discontinuation_reason": _str_col(reason, ["ILD", "renal impairment"]),
            "centre": _str_col(centre, _centre_names(weights.size)),
        }
    )
    return frame.cast({**_SCHEMA, "centre": pl.String}).select([*COLUMNS, "centre"])


def _centre_names(k: int) -> list[str]:
    return [f"C{i + 1:03d}" for i in range(k)]


def _centre_weights(n_centres: int, seed: int) -> np.ndarray:
    """Unequal centre sizes (log-normal), fixed by the seed."""
    if n_centres < 1:
        raise ValueError("n_centres must be >= 1")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 99]))
    w = rng.lognormal(0.0, 0.8, n_centres)
    return w / w.sum()


def _blocks(n_patients: int, block_size: int):
    if n_patients < 0 or block_size < 1:
        raise ValueError("n_patients must be >= 0 and block size >= 1")
    for j, lo in enumerate(range(0, n_patients, block_size)):
        yield j, lo, min(block_size, n_patients - lo)


def simulate_registry(
    n_patients: int, n_centres: int = 50, seed: int = 0, *, block_size: int = 1_000_000
) -> pl.DataFrame:
    """A multi-centre registry: the cohort's columns plus ``centre`` ("C001"...).

    Rows are drawn independently from the seed cohort's rates (Table 1, Table 2, Safety)
    with a simple parametric PFS model; nothing is matched exactly. Generation is
    vectorised in blocks of ``block_size`` rows, each block seeded by ``(seed, block)``,
    so ``write_registry(..., rows_per_file=block_size)`` writes exactly these rows.
    """
    weights = _centre_weights(n_centres, seed)
    parts = [
        _registry_block(np.random.default_rng([seed, j]), size, lo, weights)
        for j, lo, size in _blocks(n_patients, block_size)
    ]
    if not parts:
        return _registry_block(np.random.default_rng([seed, 0]), 0, 0, weights)
    return pl.concat(parts, rechunk=False)


def write_registry(
    path: str | Path,
    n_patients: int,
    n_centres: int = 50,
    seed: int = 0,
    rows_per_file: int = 1_000_000,
) -> list[Path]:
    """Write ``simulate_registry`` as hive-partitioned Parquet, one block at a time.

    Files are ``path/centre=C001/part-<block>.parquet``; a block holds ``rows_per_file``
    patients before it is split by centre, so peak memory is that of one block (about
    0.5 GB for a million rows). Read back with
    ``pl.scan_parquet(path, hive_partitioning=True)``. Returns the files written.
    """
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    weights = _centre_weights(n_centres, seed)
    written: list[Path] = []
    for j, lo, size in _blocks(n_patients, rows_per_file):
        block = _registry_block(np.random.default_rng([seed, j]), size, lo, weights)
        for (centre,), part in block.partition_by("centre", as_dict=True).items():
            folder = root / f"centre={centre}"
            folder.mkdir(exist_ok=True)
            out = folder / f"part-{j}.parquet"
            part.drop("centre").write_parquet(out)
            written.append(out)
        del block
    return written
