"""Multi-centre analyses without pooling rows: per-site aggregate summaries, combined exactly.

A site runs :func:`summarize` (CLI ``riskset federated summarize``) on its own rows and sends
the coordinator one JSON file holding only aggregates; the coordinator runs :func:`combine`
(CLI ``riskset federated combine``) on the files of all centres.

What leaves a site (the file's ``disclosed`` record lists it too)
    Per (strata, group) key: the key values and its number of rows; per distinct exit time of
    that key: the time, the number of events and the number of censorings. Nothing per row,
    no covariates, no row order. Plus the riskset version, the specification (column names,
    disclosure policy) and its SHA-256 hash, and the centre's name.
Disclosure policy (``min_cell = N``)
    A count ``0 < count < N`` (events or censorings at one time of one key) is small. With
    ``on_small_cell="refuse"`` (the default) :func:`summarize` raises
    :class:`DisclosureError` and writes nothing. With ``"coarsen"`` consecutive times of a key
    are merged, in time order, until every count of the merged row is 0 or >= N; a merged row
    is reported at the *latest* of its times (exits move later, never earlier), and a small
    remainder at the end of a key is merged backwards into the key's previous rows until it
    is large enough (reported at the key's latest time). A key whose whole table cannot reach N is refused. The record
    says how many time rows were merged into how many. The combined results then equal the
    pooled analysis of the coarsened times (exactly), not of the original ones.
Combination
    The tables of all centres are merged on the global time grid
    (:func:`riskset.distributed.tables.merge_tables`: counts add exactly) and finished by the
    single-machine code: Kaplan–Meier per group, log-rank over groups stratified by the
    ``strata`` columns, and the same log-rank additionally stratified by centre.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from riskset._prepare import as_names
from riskset.distributed.tables import (
    GroupTables,
    merge_tables,
    partition_tables,
    regroup,
    to_event_table,
)
from riskset.errors import OptionError, RisksetError

FORMAT = "riskset-federated-summary/1"
ON_SMALL_CELL = ("refuse", "coarsen")


class DisclosureError(RisksetError):
    """A site's summary would disclose a small cell (0 < count < min_cell)."""


class FederatedMismatchError(RisksetError):
    """Summaries that cannot be combined: names the centre and the field that differs."""

    def __init__(self, centre: str, what: str, expected: Any = None, found: Any = None) -> None:
        self.centre = centre
        self.what = what
        msg = f"centre {centre!r}: {what}"
        if expected is not None or found is not None:
            msg += f" (expected {expected!r}, found {found!r})"
        super().__init__(msg)


class MissingCentreError(RisksetError):
    """A centre the consortium expects has no summary."""


def _version() -> str:
    import riskset

    return riskset.__version__


def make_spec(*, time: str, event: str, group: Sequence[str], strata: Sequence[str], min_cell: int,
              on_small_cell: str) -> dict[str, Any]:
    return {"format": FORMAT, "time": time, "event": event, "group": list(group),
            "strata": list(strata), "min_cell": int(min_cell), "on_small_cell": on_small_cell}


def spec_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _coarsen(t: np.ndarray, d: np.ndarray, c: np.ndarray, n: int) -> tuple[np.ndarray, ...] | None:
    """One key's rows merged until every count is 0 or >= n (see module docstring)."""
    def ok(x: float) -> bool:
        return x == 0 or x >= n

    out_t: list[float] = []
    out_d: list[float] = []
    out_c: list[float] = []
    acc_d = acc_c = 0.0
    for i in range(t.size):
        acc_d += d[i]
        acc_c += c[i]
        if ok(acc_d) and ok(acc_c):
            out_t.append(float(t[i]))
            out_d.append(acc_d)
            out_c.append(acc_c)
            acc_d = acc_c = 0.0
    if acc_d or acc_c:  # a small remainder: merged backwards into earlier rows until it is
        while not (ok(acc_d) and ok(acc_c)):  # large enough, reported at the latest time
            if not out_t:
                return None
            out_t.pop()
            acc_d += out_d.pop()
            acc_c += out_c.pop()
        out_t.append(float(t[-1]))
        out_d.append(acc_d)
        out_c.append(acc_c)
    return np.array(out_t), np.array(out_d), np.array(out_c)


def _key_label(keys: pl.DataFrame, k: int) -> str:
    if keys.width == 0:
        return "(all rows)"
    return ", ".join(f"{c}={keys.get_column(c)[k]!r}" for c in keys.columns)


def apply_policy(g: GroupTables, min_cell: int, on_small_cell: str) -> tuple[GroupTables, dict[str, Any]]:
    """The site's tables after the disclosure policy, and the record of what was done."""
    rows_in = int(g.time.size)
    small = ((g.n_event > 0) & (g.n_event < min_cell)) | ((g.n_censor > 0) & (g.n_censor < min_cell))
    record = {"min_cell": int(min_cell), "on_small_cell": on_small_cell,
              "small_cells_found": int(small.sum()), "time_rows_before": rows_in}
    if not small.any():
        record["time_rows_after"] = rows_in
        record["coarsened"] = False
        return g, record
    if on_small_cell == "refuse":
        j = int(np.flatnonzero(small)[0])
        k = int(np.searchsorted(g.offsets, j, side="right") - 1)
        raise DisclosureError(
            f"{int(small.sum())} time row(s) have a count below min_cell={min_cell} (first: "
            f"{_key_label(g.keys, k)}, time {float(g.time[j])!r}: {g.n_event[j]:g} events, "
            f"{g.n_censor[j]:g} censored); nothing was written. Use on_small_cell='coarsen' "
            "(--on-small-cell coarsen) to merge such rows with later times, or a smaller min_cell")
    ts, ds, cs, off = [], [], [], [0]
    for k in range(g.n_keys):
        sl = slice(int(g.offsets[k]), int(g.offsets[k + 1]))
        got = _coarsen(g.time[sl], g.n_event[sl], g.n_censor[sl], min_cell)
        if got is None:
            raise DisclosureError(
                f"group {_key_label(g.keys, k)} has too few events or censorings in total to "
                f"reach min_cell={min_cell} even after merging all its times; nothing was written")
        ts.append(got[0])
        ds.append(got[1])
        cs.append(got[2])
        off.append(off[-1] + got[0].size)
    out = GroupTables(g.by, g.keys, np.concatenate(ts), np.concatenate(ds), np.concatenate(cs),
                      np.array(off, dtype=np.int64), g.entry_time, g.entry_count, g.entry_offsets,
                      g.has_entry, g.n_rows, g.n_input)
    record["time_rows_after"] = int(out.time.size)
    record["coarsened"] = True
    return out, record


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def summarize(data: Any, *, time: str, event: str, group: str | Sequence[str],
              strata: str | Sequence[str] | None = None, min_cell: int = 5,
              on_small_cell: str = "refuse", centre: str) -> dict[str, Any]:
    """A site's aggregate summary (JSON-ready dict); see the module docstring."""
    grp, strat = as_names(group), as_names(strata)
    if not grp:
        raise OptionError("group must name at least one column")
    if not (isinstance(min_cell, int) and min_cell >= 1):
        raise OptionError(f"min_cell={min_cell!r} must be an integer >= 1")
    if on_small_cell not in ON_SMALL_CELL:
        raise OptionError(f"on_small_cell={on_small_cell!r} is not valid; choose one of: 'refuse', 'coarsen'")
    if not centre:
        raise OptionError("centre must be a non-empty name")
    spec = make_spec(time=time, event=event, group=grp, strata=strat, min_cell=min_cell,
                     on_small_cell=on_small_cell)
    g = partition_tables(data, time=time, event=event, by=(*strat, *grp))
    g, record = apply_policy(g, min_cell, on_small_cell)
    keys = []
    for k in range(g.n_keys):
        sl = slice(int(g.offsets[k]), int(g.offsets[k + 1]))
        keys.append({
            "key": {c: g.keys.get_column(c)[k] for c in g.keys.columns},
            "n": int(g.n_rows[k]),
            "time": [float(x) for x in g.time[sl]],
            "n_event": [_num(x) for x in g.n_event[sl]],
            "n_censor": [_num(x) for x in g.n_censor[sl]],
        })
    return {
        "format": FORMAT,
        "centre": centre,
        "riskset_version": _version(),
        "spec": spec,
        "spec_sha256": spec_hash(spec),
        "key_dtypes": {c: str(g.keys.schema[c]) for c in g.keys.columns},
        "disclosure": record,
        "disclosed": ["per (strata, group) key: the key values and its number of rows n",
                      "per distinct exit time of a key: time, n_event, n_censor",
                      "riskset_version, spec (column names, disclosure policy), spec_sha256, centre"],
        "groups": keys,
    }


def _tables_from_summary(s: dict[str, Any]) -> GroupTables:
    by = (*s["spec"]["strata"], *s["spec"]["group"])
    groups = s["groups"]
    if not groups:
        raise FederatedMismatchError(s["centre"], "the summary has no rows")
    keys = pl.DataFrame([g["key"] for g in groups]).select(list(by))
    t = np.array([x for g in groups for x in g["time"]], dtype=np.float64)
    d = np.array([x for g in groups for x in g["n_event"]], dtype=np.float64)
    c = np.array([x for g in groups for x in g["n_censor"]], dtype=np.float64)
    off = np.zeros(len(groups) + 1, dtype=np.int64)
    np.cumsum([len(g["time"]) for g in groups], out=off[1:])
    z = np.empty(0)
    return GroupTables(by, keys, t, d, c, off, z, z, np.zeros(len(groups) + 1, dtype=np.int64), False,
                       np.array([g["n"] for g in groups], dtype=np.int64), int(sum(g["n"] for g in groups)))


@dataclass
class FederatedResult:
    """The pooled results of a consortium: ``kaplan_meier`` (per group), ``logrank`` (groups,
    stratified by ``strata``) and ``logrank_by_centre`` (stratified by centre too)."""

    centres: list[str]
    spec: dict[str, Any]
    kaplan_meier: Any
    logrank: Any
    logrank_by_centre: Any

    def to_dict(self) -> dict[str, Any]:
        return {"format": "riskset-federated-result/1", "riskset_version": _version(),
                "centres": self.centres, "spec": self.spec,
                "kaplan_meier": self.kaplan_meier.to_dict(), "logrank": self.logrank.to_dict(),
                "logrank_by_centre": self.logrank_by_centre.to_dict()}


CENTRE_COLUMN = "centre"


def check_summaries(summaries: Sequence[dict[str, Any]], centres: Sequence[str] | None = None) -> None:
    """Raise a typed error naming the centre and what differs, before anything is combined."""
    if not summaries:
        raise OptionError("no summaries to combine")
    names = []
    for i, s in enumerate(summaries):
        name = s.get("centre") if isinstance(s, dict) else None
        if not name:
            raise FederatedMismatchError(f"#{i + 1}", "not a riskset federated summary (no centre)")
        if s.get("format") != FORMAT:
            raise FederatedMismatchError(name, "summary format", FORMAT, s.get("format"))
        names.append(name)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise FederatedMismatchError(dup[0], f"appears {names.count(dup[0])} times")
    ref = summaries[0]
    for s in summaries[1:]:
        c = s["centre"]
        if s.get("riskset_version") != ref.get("riskset_version"):
            raise FederatedMismatchError(c, f"riskset version differs from centre {ref['centre']!r}",
                                         ref.get("riskset_version"), s.get("riskset_version"))
        for k in sorted(set(ref["spec"]) | set(s["spec"])):
            if ref["spec"].get(k) != s["spec"].get(k):
                what = ("disclosure policy (coarsened differently)" if k in ("min_cell", "on_small_cell")
                        else "specification")
                raise FederatedMismatchError(c, f"{what}: {k!r} differs from centre {ref['centre']!r}",
                                             ref["spec"].get(k), s["spec"].get(k))
        if s.get("key_dtypes") != ref.get("key_dtypes"):
            raise FederatedMismatchError(c, f"column types differ from centre {ref['centre']!r}",
                                         ref.get("key_dtypes"), s.get("key_dtypes"))
    for s in summaries:
        if s.get("spec_sha256") != spec_hash(s["spec"]):
            raise FederatedMismatchError(s["centre"], "spec_sha256 does not match its spec (edited file?)")
        if s["disclosure"].get("min_cell") != s["spec"]["min_cell"]:
            raise FederatedMismatchError(s["centre"], "disclosure record does not match the spec")
    if centres is not None:
        missing = [c for c in centres if c not in names]
        if missing:
            raise MissingCentreError(
                f"no summary from centre(s) {missing!r}; expected {list(centres)!r}, got {names!r}")
        extra = [n for n in names if n not in centres]
        if extra:
            raise FederatedMismatchError(extra[0], f"is not one of the expected centres {list(centres)!r}")


def combine(summaries: Sequence[dict[str, Any]], *, centres: Sequence[str] | None = None,
            conf_level: float = 0.95) -> FederatedResult:
    """Pool the centres' summaries exactly (see the module docstring)."""
    from riskset._km import km_from_table
    from riskset._logrank import _resolve_weighting
    from riskset.distributed.execute import logrank_from_tables

    check_summaries(summaries, centres)
    spec = summaries[0]["spec"]
    grp, strat = tuple(spec["group"]), tuple(spec["strata"])
    if CENTRE_COLUMN in (*grp, *strat):
        raise OptionError(f"a column named {CENTRE_COLUMN!r} cannot be a group or stratum of the summaries")
    parts = [_tables_from_summary(s) for s in summaries]
    pooled = merge_tables(parts)
    wt = _resolve_weighting(None, 0.0, 0.0)
    km_t = regroup(pooled, grp)
    et, _, _, _ = to_event_table(km_t)
    km = km_from_table(et, grp, km_t.keys, conf_type=None, conf_level=conf_level, convention="r")
    lrk = logrank_from_tables(pooled, grp, strat, wt)
    by_centre = []
    for s, p in zip(summaries, parts, strict=True):
        keys = p.keys.with_columns(pl.lit(s["centre"]).alias(CENTRE_COLUMN))
        by_centre.append(GroupTables((CENTRE_COLUMN, *p.by), keys.select([CENTRE_COLUMN, *p.by]), p.time,
                                     p.n_event, p.n_censor, p.offsets, p.entry_time, p.entry_count,
                                     p.entry_offsets, False, p.n_rows, p.n_input))
    lrc = logrank_from_tables(merge_tables(by_centre), grp, (CENTRE_COLUMN, *strat), wt)
    return FederatedResult([s["centre"] for s in summaries], spec, km, lrk, lrc)
