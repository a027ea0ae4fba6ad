"""Run a whole study from a :class:`~riskset.study.spec.Spec`: tables, figures, report.

Data flow: the data source is scanned lazily and only the columns the spec uses are read;
derived variables and date-derived endpoint columns are added once
(:mod:`riskset.study.load`). Cohorts are boolean row masks, never copies. Each endpoint's
usable rows (population, time and event present; only the columns its analyses read) are
compacted and ordered by (time, event) once (:mod:`riskset.study._rows`,
:mod:`riskset.study._order`) and cached; every
Kaplan–Meier fit, follow-up (the fit's own reverse curve), log-rank grid, figure p-value,
Cox model and comparison of that endpoint takes its rows from that frame (filters keep the
order) and the kernels detect the order and do not sort again. Each endpoint x cohort's
log-rank rows are computed once and shared by Table 3 and the figures. The descriptive
tables (baseline, response, safety) count over all rows with the cohort masks.

Each analysis is a task on a thread pool (``jobs``; the Numba kernels and Polars release
the GIL; one task per Cox model) writing into its own bucket; buckets are merged in a fixed
order, so outputs do not depend on ``jobs``. Tasks keep riskset's warnings to themselves
with ``errors.quiet`` (per thread), never ``warnings.catch_warnings`` (process-wide). With a
``figure_pool`` (:class:`riskset.report.pool.FigurePool`) each figure is sent to worker
processes as soon as it is computed (:meth:`_Runner.figure`). Outputs are written into a temporary folder next to
``out`` and moved into place in one rename (:mod:`riskset.study.write`), so a reader never
sees a half-written study.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

import riskset
from riskset._cox_design import _level_label
from riskset._km import followup_summary
from riskset.errors import RisksetError, quiet
from riskset.io.validate import _column_codes
from riskset.study import tables as T
from riskset.study._checks import check_against_data
from riskset.study._rows import OVERALL, EndpointRows, build_endpoint_rows, cohort_masks
from riskset.study.load import load_study_data  # load_study_data re-exported
from riskset.study.spec import Endpoint, Spec, SpecError
from riskset.study.write import figure_args, write_study  # write_study re-exported

if TYPE_CHECKING:
    from riskset.report.pool import FigurePool



@dataclass
class StudyResult:
    """Everything a study run produced (also written to ``out``)."""

    spec: Spec
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)  # display tables (CSV + report)
    values: dict[str, pl.DataFrame] = field(default_factory=dict)  # numeric long tables (JSON)
    figures: dict[str, Any] = field(default_factory=dict)  # name -> (fit or forest rows, p, title)
    # name -> ((kind, args), future of its bytes): figures sent to a FigurePool by run_study
    drawing: dict[str, Any] = field(default_factory=dict, repr=False)
    # a task's intermediate results that run_study combines (e.g. each Cox model's rows)
    parts: dict[str, Any] = field(default_factory=dict, repr=False)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
def _missing_level(s: pl.Series) -> bool:
    """An Enum column with a declared level that no row takes (counted from its codes)."""
    return s.to_physical().drop_nulls().n_unique() < len(s.dtype.categories)


def _landmark_cells(row: dict, at_rows, last: float) -> None:
    """A table row's landmark rates (``surv_<t>``, its limits, ``n_risk_<t>``) from ``fit.at``
    rows; a rate past the last observation (``extend``) is flagged ``past_<t>``."""
    for r in at_rows:
        k = f"surv_{r['time']:g}"
        row[k], row[k + "_lower"], row[k + "_upper"] = r["survival"], r["lower"], r["upper"]
        row[f"n_risk_{r['time']:g}"] = r["n_risk"]
        if r["time"] > last:
            row[f"past_{r['time']:g}"] = True


def _km_row(fit, landmarks, *, label: dict[str, Any], extend: bool = False) -> tuple[dict, list[dict]]:
    s = fit.summary.row(0, named=True)
    row = {**label, "n": s["n"], "events": s["events"], "median": s["median"],
           "median_lower": s["median_lower"], "median_upper": s["median_upper"]}
    lms = []
    if landmarks:
        at = fit.at(landmarks, extend=extend)  # as R: nothing past the last observation unless extend
        last = float(fit._et.time[-1]) if fit._et.time.size else -math.inf
        for r in at.iter_rows(named=True):
            lms.append({**label, "time": r["time"], "survival": r["survival"], "lower": r["lower"],
                        "upper": r["upper"], "n_risk": r["n_risk"], "past_last_observation": r["time"] > last})
        _landmark_cells(row, at.iter_rows(named=True), last)
    return row, lms


class _Runner:
    """The study's analyses as independent tasks over one frame of the used columns.

    Cohorts are row masks. Each endpoint's usable rows are selected (only the columns its
    analyses read), ordered by time once, and cached: every Kaplan–Meier, follow-up,
    log-rank and Cox analysis of that endpoint, in every cohort and subgroup, takes its rows
    from that ordered frame (filtering keeps the order), and the kernels detect the order
    and skip their own sorts. Tasks run on threads; the cache is filled under a lock per
    endpoint, so concurrent tasks wait for one ordering instead of each making their own.
    """

    def __init__(self, spec: Spec, df: pl.DataFrame, result: StudyResult,
                 on_figure: Callable[[str, tuple], None] | None = None):
        self.spec = spec
        self.on_figure = on_figure  # called with each figure as soon as it is computed
        self.df = df
        self._result = result  # where methods called outside run_task write
        self._local = threading.local()
        self.masks = cohort_masks(spec, df)
        self.sizes = {k: (df.height if m is None else int(m.sum())) for k, m in self.masks.items()}
        self.km_kw = {"conf_level": spec.conf_level, "convention": spec.convention, "conf_type": spec.conf_type}
        self._ep_rows: dict[str, EndpointRows] = {}
        self._ep_locks = {ep.name: threading.Lock() for ep in spec.endpoints}
        self._grids: dict[tuple[str, str], pl.DataFrame | None] = {}
        self._grid_locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_lock = threading.Lock()

    @property
    def r(self) -> StudyResult:
        """The current task's own result bucket (merged in a fixed order by :func:`run_study`)."""
        return getattr(self._local, "bucket", None) or self._result

    def run_task(self, fn: Callable[[], None]) -> StudyResult:
        """Run one analysis task into a fresh bucket, so outputs do not depend on scheduling."""
        self._local.bucket = StudyResult(spec=self.spec)
        try:
            with quiet():  # what riskset would warn about (rows excluded...), the tables say
                fn()
            return self._local.bucket
        finally:
            self._local.bucket = None

    def note(self, msg: str) -> None:
        self.r.notes.append(msg)

    def excluded(self, what: str, n: int, counts: dict[str, int]) -> str:
        """The note for ``n`` patients of analysis ``what`` left out for missing values in
        ``counts`` (column -> patients missing it); with ``missing = "error"`` in [study], a
        :class:`SpecError` instead."""
        cols = " or ".join(counts)
        if self.spec.missing == "error":
            per = ", ".join(f"{c!r}: {k}" for c, k in counts.items())
            raise SpecError(f"{what}: {n} patients have a missing {cols} ({per}) and [study] has "
                            "missing = \"error\"; set missing = \"complete-case\" to analyse the complete "
                            "cases (the tables then count the excluded patients)")
        msg = f"{n} patients with a missing {cols} excluded"
        if len(counts) > 1:  # STROBE 14a: how many miss each variable
            msg += " (" + ", ".join(f"{c}: {k}" for c, k in counts.items()) + ")"
        return msg

    def figure(self, name: str, fig: tuple) -> None:
        """Add figure ``name`` = (fit or forest rows, p-value, title) to the task's bucket and
        hand it to ``on_figure`` now, not when the task ends (its drawing can start while
        the task goes on)."""
        self.r.figures[name] = fig
        if self.on_figure is not None:
            self.on_figure(name, fig)

    def _string_like(self, column: str) -> bool:
        """A column of strings in the data, or a derived one stored as an Enum of its strings
        (:func:`riskset.study.load._derive`), or one the spec's ``[levels]`` orders or
        ``[value_labels]`` labels."""
        dt = self.df.schema[column]
        return dt == pl.String or (isinstance(dt, pl.Enum)
                                   and (column in self.spec.derive or column in self.spec.levels
                                        or column in self.spec.value_labels))

    def endpoint_cohorts(self, ep: Endpoint) -> list[str]:
        return ep.cohorts or list(self.masks)

    def cohort_frame(self, cname: str, columns: list[str]) -> pl.DataFrame:
        """Cohort ``cname``'s rows of ``columns`` only."""
        cols = self.df.select(list(dict.fromkeys(columns)))
        return cols if self.masks[cname] is None else cols.filter(self.masks[cname])

    def endpoint_rows(self, ep: Endpoint) -> EndpointRows:
        """The endpoint's usable rows in time order (built once, by whichever task asks first)."""
        with self._ep_locks[ep.name]:
            if ep.name not in self._ep_rows:
                self._ep_rows[ep.name] = self._build_endpoint_rows(ep)
            return self._ep_rows[ep.name]

    def _build_endpoint_rows(self, ep: Endpoint) -> EndpointRows:
        return build_endpoint_rows(self.spec, self.df, self.masks, ep)

    def endpoint_frame(self, ep: Endpoint, cname: str, columns: list[str] = ()) -> tuple[pl.DataFrame, int]:
        """Time, event and ``columns`` of ``ep``'s usable rows in cohort ``cname``, time-ordered;
        and the number of the cohort's population rows without a time."""
        return self.endpoint_rows(ep).cohort(cname, [ep.time_col, ep.event_col, *columns])

    def logrank_cohort(self, ep: Endpoint, cname: str) -> pl.DataFrame | None:
        """Table 3 rows of ``ep`` in ``cname`` (every factor tested there), computed once.

        Shared by the log-rank grid and the p-values printed on the subgroup figures.
        """
        key = (ep.name, cname)
        with self._locks_lock:
            lock = self._grid_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._grids:
                wanted = [f for f in self.spec.factors if f.get("endpoint", ep.name) == ep.name
                          and cname in (f.get("cohorts") or self.endpoint_cohorts(ep))]
                frame, _ = self.endpoint_frame(ep, cname, [f["column"] for f in wanted])
                parts = self._logrank_factors(ep, cname, frame, wanted)
                self._grids[key] = pl.concat(parts, how="diagonal_relaxed") if parts else None
            return self._grids[key]

    # ---- KM per endpoint x cohort (and factor levels) ---------------------------------------
    def km_endpoint(self, ep: Endpoint) -> None:
        rows, lms, fu = [], [], []
        for cname in self.endpoint_cohorts(ep):
            frame, n_excl = self.endpoint_frame(ep, cname)
            label = {"endpoint": ep.name, "cohort": cname, "subgroup": "All", "level": ""}
            if n_excl:
                if self.spec.missing == "error":
                    self.excluded(f"endpoint {ep.name!r}, cohort {cname!r}", n_excl,
                                  {f"{ep.name} time or event": n_excl})
                self.note(f"{ep.name}, {cname}: {n_excl} patients in the endpoint population without an "
                          "endpoint time or event were excluded")
            if frame.height == 0:
                rows.append({**label, "n": 0, "note": "not estimable: no patients"})
                continue
            if cname == OVERALL:  # kept, as R keeps them; counted once per endpoint
                n0 = int((frame.get_column(ep.time_col) == 0).sum())
                if n0:
                    self.note(f"{ep.name}: {n0} patients with time 0 are kept, as R keeps them")
            fit = riskset.kaplan_meier(frame, time=ep.time_col, event=ep.event_col, **self.km_kw)
            row, lm = _km_row(fit, ep.landmarks, label=label, extend=ep.extend)
            if n_excl:
                row["n_excluded"] = n_excl
            rows.append(row)
            lms += lm
            f = followup_summary(fit.reverse()).row(0, named=True)  # = riskset.median_followup(frame)
            t = frame.get_column(ep.time_col)
            if t.is_sorted():  # the endpoint's rows are in time order: median, min, max in O(1)
                t = t.set_sorted()
            fu.append({"endpoint": ep.name, "cohort": cname, "reverse_km_median": f["median_followup"],
                       "lower": f["lower"], "upper": f["upper"], "median_observed": t.median(),
                       "min": t.min(), "max": t.max()})
            if ep.figure and cname == OVERALL:
                self.figure(f"km_{_slug(ep.name)}_overall", (fit, None, f"{ep.name}: overall"))
        # the endpoint compared across the defined cohorts (e.g. HER2-low vs HER2-positive)
        if self.spec.cohorts and ep.figure:
            parts = []
            names = [c["name"] for c in self.spec.cohorts if not ep.cohorts or c["name"] in ep.cohorts]
            label = pl.Enum(sorted(names))  # groups in name order, as strings would sort; 1-byte codes
            # disjoint cohorts: the endpoint's ordered rows labelled by cohort (each cohort's
            # rows in the same order as on their own, so the same curves and test)
            both = self.endpoint_rows(ep).labelled(names, label, [ep.time_col, ep.event_col])
            if both is None:  # overlapping cohorts: their rows stacked
                for name in names:
                    fr, _ = self.endpoint_frame(ep, name)
                    parts.append(fr.with_columns(pl.lit(name, dtype=label).alias("cohort")))
                both = pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame()
            if both.height and both.get_column("cohort").n_unique() >= 2:
                fit = riskset.kaplan_meier(both, time=ep.time_col, event=ep.event_col, by="cohort", **self.km_kw)
                p = _safe_logrank(both, ep, "cohort")
                self.figure(f"km_{_slug(ep.name)}_by_cohort", (fit, p, f"{ep.name} by cohort"))
        # factor levels within cohorts (subgroup KM)
        for fac in self.spec.factors:
            if fac.get("endpoint", ep.name) != ep.name or not fac.get("km", True):
                continue
            for cname in fac.get("cohorts") or self.endpoint_cohorts(ep):
                frame, _ = self.endpoint_frame(ep, cname, [fac["column"]])
                n_miss = frame.get_column(fac["column"]).null_count()
                if n_miss:
                    self.note(f"{ep.name}, {cname}, {fac['name']}: " + self.excluded(
                        f"factor {fac['name']!r} ({ep.name}, cohort {cname!r})", n_miss, {fac["column"]: n_miss}))
                    frame = frame.filter(pl.col(fac["column"]).is_not_null())
                if frame.height == 0:
                    continue
                fit = riskset.kaplan_meier(frame, time=ep.time_col, event=ep.event_col, by=fac["column"],
                                           **self.km_kw)
                for g, key in enumerate(fit.keys.iter_rows()):
                    one = fit.summary.row(g, named=True)
                    label = {"endpoint": ep.name, "cohort": cname, "subgroup": fac["name"], "level": str(key[0])}
                    row = {**label, "n": one["n"], "events": one["events"], "median": one["median"],
                           "median_lower": one["median_lower"], "median_upper": one["median_upper"]}
                    if ep.landmarks:
                        at = fit.at(ep.landmarks, extend=ep.extend).filter(pl.col(fac["column"]) == key[0])
                        sl = fit._slice(g)
                        last = float(fit._et.time[sl][-1]) if sl.stop > sl.start else -math.inf
                        _landmark_cells(row, at.iter_rows(named=True), last)
                    rows.append(row)
                if ep.figure and fit.keys.height >= 2:
                    p = _grid_p(self.logrank_cohort(ep, cname), fac)
                    self.figure(f"km_{_slug(ep.name)}_{_slug(cname)}_{_slug(fac['column'])}",
                                (fit, p, f"{ep.name}, {cname}: {fac['name']}"))
        self.r.values[f"km_{ep.name}"] = pl.DataFrame(rows, infer_schema_length=None)
        if lms:
            self.r.values[f"landmarks_{ep.name}"] = pl.DataFrame(lms, infer_schema_length=None)
        if fu:  # values and table alike (the table is written as tables/followup_<endpoint>.csv)
            self.r.values[f"followup_{ep.name}"] = self.r.tables[f"followup_{ep.name}"] = pl.DataFrame(
                fu, infer_schema_length=None)
        self.r.tables[f"km_{ep.name}"] = T.km_display(pl.DataFrame(rows, infer_schema_length=None), ep)

    # ---- log-rank grid ----------------------------------------------------------------------
    def logrank_grid(self) -> None:
        parts = []
        for ep in self.spec.endpoints:
            if not any(f.get("endpoint", ep.name) == ep.name for f in self.spec.factors):
                continue
            for cname in self.endpoint_cohorts(ep):
                grid = self.logrank_cohort(ep, cname)
                if grid is not None:
                    parts.append(grid)
        if not parts:
            return
        grid = pl.concat(parts, how="diagonal_relaxed")
        self.r.values["logrank"] = grid
        disp = grid.select(
            "endpoint", pl.col("factor_label").alias("factor"), "cohort",
            pl.col("n").alias("n per level") if "n" in grid.columns else pl.lit(None).alias("n per level"),
            # patients of the cohort left out of this factor's test for a missing factor value
            pl.col("n_excluded").alias("excluded (missing)") if "n_excluded" in grid.columns
            else pl.lit(None, dtype=pl.Int64).alias("excluded (missing)"),
            pl.col("p_value").map_elements(T.fmt_p, return_dtype=pl.String).alias("log-rank p")
            if "p_value" in grid.columns else pl.lit(None).alias("log-rank p"),
            "note" if "note" in grid.columns else pl.lit(None).alias("note"),
        )
        # a cohort where a factor could not be tested shows why, not a blank cell
        cells = disp.with_columns(pl.coalesce("log-rank p", "note").alias("cell"))
        wide = cells.pivot(on="cohort", index=["endpoint", "factor"], values="cell", aggregate_function="first")
        self.r.tables["table3_logrank"] = wide
        self.r.tables["logrank_detail"] = disp

    def _logrank_factors(self, ep, cname: str, frame: pl.DataFrame, wanted: list[dict]) -> list[pl.DataFrame]:
        """Table 3 rows of one endpoint x cohort: all factors in one batch grid.

        One ``logrank_table`` call sorts the endpoint once for every factor; a factor's
        missing values leave only that factor's tests (``drop_missing=True``; the endpoint
        frame has no missing times or events). If the batch fails (a factor column that
        cannot be tested at all), each factor is tried on its own so the others still get
        their p-values and the failing one a note.
        """
        if not wanted:
            return []
        if self.spec.missing == "error":
            for f in wanted:
                n_miss = frame.get_column(f["column"]).null_count()
                if n_miss:
                    self.excluded(f"factor {f['name']!r} ({ep.name}, cohort {cname!r})", n_miss,
                                  {f["column"]: n_miss})

        def tested(fs: list[dict]) -> pl.DataFrame:
            cols = list(dict.fromkeys(f["column"] for f in fs))
            g = riskset.logrank_table(frame, time=ep.time_col, event=ep.event_col, factors=cols,
                                      drop_missing=True)
            rows = [g.filter(pl.col("factor") == f["column"]).with_columns(pl.lit(f["name"]).alias("factor_label"))
                    for f in fs]  # one row per spec factor, in spec order (a column may repeat)
            return pl.concat(rows).with_columns(pl.lit(ep.name).alias("endpoint"), pl.lit(cname).alias("cohort"))

        try:
            return [tested(wanted)]
        except RisksetError:
            pass
        parts = []
        for f in wanted:
            try:
                parts.append(tested([f]))
            except RisksetError as exc:
                parts.append(pl.DataFrame({"endpoint": [ep.name], "cohort": [cname], "factor_label": [f["name"]],
                                           "factor": [f["column"]], "note": [f"not tested: {exc}"]}))
        return parts

    # ---- Cox models -------------------------------------------------------------------------
    def cox_model(self, m: dict) -> None:
        """One Cox model's rows (``parts["cox"]``); :meth:`cox_tables` makes the tables from
        every model's rows. One task per model, so that large fits run side by side."""
        cox = getattr(riskset, "cox", None)
        rows: list[dict] = []
        self.r.parts["cox"] = rows
        ep = self.spec.endpoint(m["endpoint"])
        cname = m.get("cohort", OVERALL)
        terms = [*m["covariates"], *(m.get("strata") or [])]
        frame, _ = self.endpoint_frame(ep, cname, terms)
        # a string term coded as an Enum (by the ordering, a derived CASE stored as one, or
        # the spec's [levels]) stays one when the cohort has all its levels (the design then
        # reads the codes); otherwise it becomes an Enum of the levels present, in the same
        # order (an Enum's design rejects an empty declared level; the order, and so the
        # reference level, is kept)
        frame = frame.with_columns(_present_levels(frame.get_column(c)) for c in dict.fromkeys(terms)
                                   if self._string_like(c) and isinstance(frame.schema[c], pl.Enum)
                                   and _missing_level(frame.get_column(c)))
        excluded = []
        n_excluded = 0
        # the model's complete cases (missing = "complete-case", R's na.omit): rows missing a
        # term left out here rather than by riskset.cox's own drop_missing, so that the count
        # goes on every row (Firth refit included) and a term missing for everyone says so
        if frame.height:
            nulls = {c: frame.get_column(c).null_count()
                     + (int(frame.get_column(c).is_nan().sum()) if frame.schema[c].is_float() else 0)
                     for c in dict.fromkeys(terms)}
            nulls = {c: k for c, k in nulls.items() if k}
            if nulls:
                miss = frame.select(pl.any_horizontal(
                    (pl.col(c).is_null() | pl.col(c).is_nan()) if frame.schema[c].is_float() else pl.col(c).is_null()
                    for c in nulls)).to_series()
                n_excluded = int(miss.sum())
                excluded.append(self.excluded(f"model {m['name']!r}", n_excluded, nulls))
                frame = frame.filter(~miss)
        if m.get("categorical"):  # numeric or true/false codes as categories, in their order
            frame = frame.with_columns(
                pl.col(c).cast(pl.String).cast(pl.Enum(frame.get_column(c).unique().sort().cast(pl.String).to_list()))
                for c in dict.fromkeys(m["covariates"])
                if frame.schema[c].is_numeric() or frame.schema[c] == pl.Boolean)
        base = {"model": m["name"], "endpoint": ep.name, "cohort": cname, "n_excluded": n_excluded}
        if cox is None:
            rows.append({**base, "term": None, "note": "not estimable: Cox models are not available"})
            return
        if frame.height == 0:
            rows.append({**base, "term": None, "note": "not estimable: " + ("; ".join(excluded) or "no patients")})
            return
        kw = dict(time=ep.time_col, event=ep.event_col, covariates=list(m["covariates"]),
                  strata=m.get("strata"), conf_level=self.spec.conf_level)
        if m.get("reference"):
            kw["reference"] = m["reference"]
        firth = m.get("firth", "auto")
        try:
            # the fit's own messages (fit.warnings), not emitted (errors.quiet: this thread
            # only; catch_warnings is process-wide, and Cox tasks run side by side)
            with quiet():
                fit = cox(frame, firth=(firth is True), **kw)
            msgs = list(fit.warnings)
            coef = fit.coefficients
            monotone = "monotone" in coef.columns and bool(coef.get_column("monotone").any())
            method = "Firth" if firth is True else "partial likelihood"
            if monotone and firth == "auto":
                with quiet():
                    ffit = cox(frame, firth=True, **kw)
                labels = _term_labels(frame, m, ffit.coefficients)
                for r in ffit.coefficients.iter_rows(named=True):
                    rows.append({**base, **T.cox_row({**r, "label": labels.get(r["term"])}),
                                 "method": "Firth (penalised)",
                                 "note": _join_notes(excluded, "Firth fit because the partial likelihood is monotone")})
            labels = _term_labels(frame, m, coef)
            for r in coef.iter_rows(named=True):
                note = "; ".join(msgs) if (r.get("monotone") or (msgs and not monotone)) else None
                if r.get("monotone"):
                    note = "monotone likelihood: HR not estimable (" + (note or "diverging coefficient") + ")"
                rows.append({**base, **T.cox_row({**r, "label": labels.get(r["term"])}), "method": method,
                             "note": _join_notes(excluded, note)})
        except RisksetError as exc:
            rows.append({**base, "term": None, "note": f"not estimable: {exc}"})

    def cox_tables(self, rows: list[dict]) -> None:
        """The Cox table, its values and the forest plot from every model's rows, in spec order."""
        tab = pl.DataFrame(rows, infer_schema_length=None)
        self.r.values["cox"] = tab
        self.r.tables["cox"] = T.cox_display(tab)
        forest = T.forest_rows(tab)
        if forest.height:
            self.figure("forest_cox", (forest, None, "Hazard ratios (Cox models)"))

    # ---- descriptive tables -----------------------------------------------------------------
    def baseline(self) -> None:
        b = self.spec.baseline
        if not b:
            return
        disp, vals = T.baseline_table(self.df, self.masks, continuous=b.get("continuous", []),
                                      categorical=b.get("categorical", []), labels=b.get("labels"))
        self.r.tables["table1_baseline"] = disp
        self.r.values["table1_baseline"] = vals

    def response(self) -> None:
        r = self.spec.response
        if not r:
            return
        disp, vals = T.response_table(
            self.df, self.masks, column=r["column"], complete=r.get("complete", "CR"), partial=r.get("partial", "PR"),
            stable=r.get("stable", "SD"), progressive=r.get("progressive", "PD"),
            sd_duration=r.get("sd_duration"), sd_min=float(r.get("sd_min", 24)),
            method=self.spec.binomial_ci, conf_level=self.spec.conf_level)
        self.r.tables["table2_response"] = disp
        self.r.values["table2_response"] = vals

    def safety(self) -> None:
        s = self.spec.safety
        if not s:
            return
        disp, vals = T.safety_table(
            self.df, self.masks, grades=s["grades"], min_grade=int(s.get("min_grade", 3)),
            discontinuation=s.get("discontinuation"), discontinuation_reason=s.get("discontinuation_reason"),
            method=self.spec.binomial_ci, conf_level=self.spec.conf_level)
        self.r.tables["safety"] = disp
        self.r.values["safety"] = vals

    def compare_one(self, c: dict) -> None:
        """One comparison's Table 4 rows (``parts["compare"]``): per level of its column, n,
        the endpoint's Kaplan–Meier median, ORR with its CI and DCR."""
        rows: list[dict] = []
        self.r.parts["compare"] = rows
        r = self.spec.response
        ep = self.spec.endpoint(c["endpoint"])
        cname = c.get("cohort", OVERALL)
        col = c["column"]
        # each level's size and response counts from one group-by, and every level's
        # Kaplan-Meier summary from one fit by the column (not a filter per level)
        frame0 = self.cohort_frame(cname, [col, *([r["column"]] if r else [])])
        present = frame0.height - frame0.get_column(col).null_count()
        if present == 0:  # nothing to compare: a row that says why, not a missing comparison
            why = (f"no patients in cohort {cname!r}" if frame0.height == 0 else
                   f"{col!r} is missing for all {frame0.height} patients of cohort {cname!r}")
            rows.append({"comparison": c["name"], "level": None, "n": 0, "note": f"not estimable: {why}"})
            return
        codes, levels = _column_codes(frame0.get_column(col))  # sorted levels, a null first
        n_levels = levels.len()
        if r:  # per row 0: neither, 1: disease control only, 2: response (and control)
            resp = frame0.get_column(r["column"]).cast(pl.String)
            orr = ((resp == r.get("complete", "CR")) | (resp == r.get("partial", "PR"))).fill_null(False)
            dcr = (orr | (resp == r.get("stable", "SD"))).fill_null(False)
            state = orr.to_numpy().view(np.int8) + dcr.to_numpy().view(np.int8)
            tab = np.bincount(codes * 3 + state, minlength=3 * n_levels).reshape(n_levels, 3)
        else:
            tab = np.bincount(codes, minlength=n_levels)[:, None]
        counts = {"n": tab.sum(axis=1), "k_orr": tab[:, -1], "k_dcr": tab[:, 1:].sum(axis=1)}
        ep_rows, _ = self.endpoint_frame(ep, cname, [col])
        if ep_rows.get_column(col).null_count():
            ep_rows = ep_rows.filter(pl.col(col).is_not_null())
        km = {}
        if ep_rows.height:
            summ = riskset.kaplan_meier(ep_rows, time=ep.time_col, event=ep.event_col, by=col,
                                        **self.km_kw).summary
            km = {str(row[col]): row for row in summ.iter_rows(named=True)}
        for j, lv in enumerate(levels.to_list()):
            if lv is None:
                continue
            n = int(counts["n"][j])
            row = {"comparison": c["name"], "level": str(lv), "n": n}
            if str(lv) in km:
                s = km[str(lv)]
                row.update(median=s["median"], median_lower=s["median_lower"], median_upper=s["median_upper"])
            else:  # in the cohort, but none of its patients has an endpoint time
                row["note"] = f"median not estimable: no patient of this level has a {ep.name} time"
            if r and n:
                k_orr, k_dcr = int(counts["k_orr"][j]), int(counts["k_dcr"][j])
                p = riskset.proportion_ci(k_orr, n, method=self.spec.binomial_ci,
                                          conf_level=self.spec.conf_level)
                row.update(orr=p.estimate, orr_lower=p.lower, orr_upper=p.upper, orr_n=k_orr, dcr_n=k_dcr,
                           dcr=k_dcr / n)
            rows.append(row)

    def compare_tables(self, rows: list[dict]) -> None:
        """Table 4 (values and display) from every comparison's rows, in spec order."""
        tab = pl.DataFrame(rows, infer_schema_length=None)
        self.r.values["table4_compare"] = tab
        disp = []
        for row in tab.iter_rows(named=True):
            disp.append({
                "comparison": row["comparison"],
                "level": f"{row['level']} (n={row['n']})" if row["level"] is not None else "—",
                "median (95% CI)": T.fmt_ci(row.get("median"), row.get("median_lower"), row.get("median_upper"))
                if row["level"] is not None and not row.get("note") else "",
                "ORR, % (95% CI)": T.fmt_ci(100 * row["orr"], 100 * row["orr_lower"], 100 * row["orr_upper"]) if row.get("orr") is not None else "",
                "DCR, n (%)": T.fmt_pct(row["dcr_n"], row["n"]) if row.get("dcr_n") is not None else "",
                **({"note": row["note"] or ""} if "note" in tab.columns else {}),
            })
        self.r.tables["table4_compare"] = pl.DataFrame(disp)


def _join_notes(*parts: str | list[str] | None) -> str | None:
    """The non-empty notes joined by "; " (None if there are none)."""
    flat = [x for p in parts for x in ([p] if isinstance(p, str) or p is None else p) if x]
    return "; ".join(flat) or None


def _present_levels(s: pl.Series) -> pl.Series:
    """An Enum column as an Enum of only the levels it holds, in its own level order."""
    held = set(s.drop_nulls().cast(pl.String).unique().to_list())
    keep = [v for v in s.dtype.categories.to_list() if v in held]
    return s.cast(pl.String).cast(pl.Enum(keep))


def _term_labels(frame: pl.DataFrame, m: dict, coef: pl.DataFrame) -> dict[str, str]:
    """``{term: "<level> vs <reference>"}`` for the terms ``<column><level>`` of a factor's
    model (``categorical``: one covariate, its reference the one level without a term);
    empty for any other model (the forest plot then shows the terms)."""
    if not m.get("categorical"):
        return {}
    column = m["covariates"][0]
    s = frame.get_column(column)
    levels = s.dtype.categories.to_list() if isinstance(s.dtype, pl.Enum) else s.drop_nulls().unique().to_list()
    terms = [t for t in coef.get_column("term").to_list() if t is not None]
    ref = [_level_label(v) for v in levels if f"{column}{_level_label(v)}" not in terms]  # the design's names
    if len(ref) != 1:
        return {}
    return {t: f"{t[len(column):]} vs {ref[0]}" for t in terms if t.startswith(column)}


def _slug(s: str) -> str:
    return "".join(ch.lower() if ch.isalnum() else "_" for ch in s).strip("_")


def _grid_p(grid: pl.DataFrame | None, fac: dict) -> float | None:
    """The log-rank p-value of one spec factor from its cohort's Table 3 rows (None: untested)."""
    if grid is None or "p_value" not in grid.columns:
        return None
    rows = grid.filter((pl.col("factor_label") == fac["name"]) & (pl.col("factor") == fac["column"]))
    p = rows.get_column("p_value")[0] if rows.height else None
    return None if p is None or (isinstance(p, float) and math.isnan(p)) else float(p)


def _safe_logrank(frame: pl.DataFrame, ep: Endpoint, group: str) -> float | None:
    try:
        return riskset.logrank(frame, time=ep.time_col, event=ep.event_col, group=group).p_value
    except RisksetError:
        return None


def _merge(into: StudyResult, b: StudyResult) -> None:
    into.tables.update(b.tables)
    into.values.update(b.values)
    into.figures.update(b.figures)
    into.notes.extend(b.notes)


# --------------------------------------------------------------------------------------------
def run_study(spec: Spec, *, jobs: int = 1, progress: Callable[[str, int, int], None] | None = None,
              figure_pool: FigurePool | None = None) -> StudyResult:
    """Compute every table and figure of the study (nothing is written; see :func:`write_study`).

    With ``figure_pool``, each figure is sent to the pool to be drawn as soon as it is
    computed (``result.drawing``), while the analyses go on; pass the same pool to
    :func:`write_study`.
    """
    started = dt.datetime.now(dt.UTC)
    df, meta = load_study_data(spec)
    check_against_data(spec, df)  # spec mistakes the data reveal, before any analysis
    result = StudyResult(spec=spec)
    drawing_lock = threading.Lock()

    def draw(name: str, fig: tuple) -> None:  # called on the analysis threads
        job = figure_args(spec, *fig)
        fut = figure_pool.try_submit(*job)
        with drawing_lock:
            result.drawing[name] = (job, fut)

    runner = _Runner(spec, df, result, on_figure=draw if figure_pool is not None else None)
    # outputs are merged in this order whatever the schedule (the same for any --jobs)
    tasks: list[tuple[str, Callable[[], None]]] = [
        ("baseline", runner.baseline), ("response", runner.response), ("safety", runner.safety),
        ("log-rank grid", runner.logrank_grid),
    ]
    cox = [len(tasks) + i for i in range(len(spec.cox))]  # one task per model
    tasks += [(f"Cox: {m['name']}", (lambda m=m: runner.cox_model(m))) for m in spec.cox]
    comps = [len(tasks) + i for i in range(len(spec.compare))]  # one task per comparison
    tasks += [(f"comparison: {c['name']}", (lambda c=c: runner.compare_one(c))) for c in spec.compare]
    kms = list(range(len(tasks), len(tasks) + len(spec.endpoints)))
    tasks += [(f"Kaplan-Meier {ep.name}", (lambda ep=ep: runner.km_endpoint(ep))) for ep in spec.endpoints]
    # submitted Kaplan-Meier first (each orders its endpoint's rows), then Table 1 (it needs
    # no ordering, so it fills the wait for the largest one), then the Cox, log-rank and
    # comparison tasks that reuse the ordered rows, then the small tables
    schedule = [*kms, 0, *cox, 3, *comps, 1, 2]
    if progress:
        progress("loading done; starting the analyses", 0, len(tasks))
    running: dict[int, None] = {}  # tasks in progress, in start order (for the progress label)
    lock = threading.Lock()

    def task(i: int) -> StudyResult:
        with lock:
            running[i] = None
        try:
            return runner.run_task(tasks[i][1])
        finally:
            with lock:
                running.pop(i, None)

    buckets: dict[int, StudyResult] = {}

    def cox_tables() -> None:
        """The Cox table and forest plot from every model's rows, merged after the last model."""
        rows = [r for i in cox for r in buckets[i].parts["cox"]]
        _merge(buckets[cox[-1]], runner.run_task(lambda: runner.cox_tables(rows)))

    def compare_tables() -> None:
        """Table 4 from every comparison's rows, merged after the last comparison."""
        rows = [r for i in comps for r in buckets[i].parts["compare"]]
        _merge(buckets[comps[-1]], runner.run_task(lambda: runner.compare_tables(rows)))

    cox_pending, compare_pending = bool(cox), bool(comps)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(task, i): i for i in schedule}
        pending = set(futures)
        while pending:  # progress is reported from this thread only, a few times a second
            finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            for fut in finished:
                buckets[futures[fut]] = fut.result()
            if cox_pending and all(i in buckets for i in cox):
                cox_tables()  # as soon as the models are fitted: its plot is drawn early
                cox_pending = False
            if compare_pending and all(i in buckets for i in comps):
                compare_tables()
                compare_pending = False
            if progress:
                with lock:
                    now = [tasks[i][0] for i in running]
                progress("running: " + ", ".join(now) if now else "analyses done", len(buckets), len(tasks))
    for i in range(len(tasks)):
        _merge(result, buckets[i])
    result.meta = {
        **meta, "title": spec.title, "riskset_version": riskset.__version__, "seed": spec.seed,
        "convention": spec.convention, "conf_level": spec.conf_level, "binomial_ci": spec.binomial_ci,
        "levels": {c: list(lv) for c, lv in spec.levels.items()},  # [levels] and --levels
        "started": started.isoformat(timespec="seconds"), "spec": spec.text,
        "spec_file": str(spec.path) if spec.path else None, "cohort_sizes": dict(runner.sizes),
    }
    return result


__all__ = ["StudyResult", "load_study_data", "run_study", "write_study"]
