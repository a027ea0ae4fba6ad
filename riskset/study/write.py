"""Write a study's outputs: CSV tables, results.json, figures (PNG + SVG) and the reports.

Everything is written into a temporary folder next to ``out`` and moved into place in one
rename, so a reader never sees a half-written study; an existing ``out`` is replaced only
with ``force``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from riskset.errors import RisksetError
from riskset.format import counts_as_integers

if TYPE_CHECKING:
    from riskset.report.pool import FigurePool
    from riskset.study.run import StudyResult
    from riskset.study.spec import Spec


def _jsonable(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (np.floating, np.integer)):
        return _jsonable(obj.item())
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    if isinstance(obj, decimal.Decimal):
        return float(obj)
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def figure_args(spec: Spec, obj: Any, p: Any, title: str) -> tuple[str, dict[str, Any]]:
    """``(kind, args)`` drawing study figure ``(obj, p, title)`` (see :mod:`riskset.report.draw`)."""
    from riskset.report import figures as F

    if isinstance(obj, pl.DataFrame):
        return "forest", F.forest_figure_args(obj, title=title)
    labels = [", ".join(str(v) for v in row) for row in obj.keys.iter_rows()] if obj.by else None
    return "km", F.km_figure_args(obj, title=title, pvalue=p, labels=labels, xlabel=f"Time ({spec.time_unit})",
                                  ci=spec.ci_bands)


def write_study(result: StudyResult, out: str | Path, *, force: bool = False, jobs: int = 1,
                figure_pool: FigurePool | None = None) -> Path:
    """Write tables (CSV and one Excel workbook), results.json, figures (PNG+SVG), report.html,
    report.md and report.docx (Word) atomically.

    Figures are drawn on ``figure_pool`` (worker processes; see
    :class:`riskset.report.pool.FigurePool`) when given, else on a pool of ``jobs`` workers
    started here when ``jobs > 1`` and there are several figures, else in this process;
    the files are the same in every case.
    """
    from riskset.report import html as H
    from riskset.report.pool import FigurePool, draw_figures

    out = Path(out)
    if out.exists() and not force:
        raise RisksetError(f"output folder {str(out)!r} already exists; pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    own_pool = None
    try:
        (tmp / "tables").mkdir()
        (tmp / "figures").mkdir()
        tables = {name: counts_as_integers(tab) for name, tab in result.tables.items()}
        for name, tab in tables.items():  # counts as integers (112, not 112.0)
            tab.write_csv(tmp / "tables" / f"{name}.csv")
        args, submitted = {}, {}
        for name, (obj, p, title) in result.figures.items():
            if name in result.drawing:  # sent to figure_pool by run_study
                args[name], submitted[name] = result.drawing[name]
            else:
                args[name] = figure_args(result.spec, obj, p, title)
        if figure_pool is None and jobs > 1 and len(args) > 1:
            figure_pool = own_pool = FigurePool(min(jobs, len(args)))
        # drawn once: the files and the report share the bytes
        rendered = draw_figures(args, pool=figure_pool, submitted={k: f for k, f in submitted.items() if f})
        drawn = {}
        for name, (_obj, _p, title) in result.figures.items():
            for ext in ("png", "svg"):  # tmp is new and moved into place whole: plain writes
                (tmp / "figures" / f"{name}.{ext}").write_bytes(rendered[name][ext])
            drawn[name] = (title, rendered[name])
        payload = {
            "meta": _jsonable(result.meta),
            "notes": result.notes,
            "tables": {k: _jsonable(v.to_dicts()) for k, v in tables.items()},
            "values": {k: _jsonable(v.to_dicts()) for k, v in result.values.items()},
            "figures": {k: {"png": f"figures/{k}.png", "svg": f"figures/{k}.svg", "title": t}
                        for k, (t, _r) in drawn.items()},
        }
        (tmp / "results.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
        report = _report_model(result, drawn, H)
        (tmp / "report.html").write_text(H.render_html(report), encoding="utf-8")
        (tmp / "report.md").write_text(H.render_markdown(report, figure_dir="figures"), encoding="utf-8")
        from riskset.report.office import write_docx, write_xlsx

        write_docx(report, tmp / "report.docx")  # Word: real tables, figures, numbered captions
        write_xlsx(tables, tmp / "tables.xlsx")  # Excel: one sheet per table
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if own_pool is not None:
            own_pool.close()
    return out


SECTION_TITLES = [
    ("table1_baseline", "Table 1. Baseline characteristics"),
    ("table2_response", "Table 2. Best response"),
    ("km_", "Kaplan–Meier estimates"),
    ("table3_logrank", "Table 3. Log-rank tests of factors within cohorts"),
    ("logrank_detail", "Log-rank tests: detail"),
    ("cox", "Cox proportional-hazards models"),
    ("table4_compare", "Table 4. Subgroup comparison"),
    ("safety", "Safety"),
]


def _report_model(result: StudyResult, drawn, H):
    sections = []
    used = set()
    for key, title in SECTION_TITLES:
        names = [k for k in result.tables if (k.startswith(key) if key.endswith("_") else k == key)]
        if not names:
            continue
        used |= set(names)
        tabs = [H.Table(title=n.replace("_", " "), frame=result.tables[n]) for n in names]
        figs = []
        if key == "km_":
            figs = [H.figure_from_matplotlib(t, None, rendered=r, file=f"{k}.png")
                    for k, (t, r) in drawn.items() if k.startswith("km_")]
        if key == "cox":
            figs = [H.figure_from_matplotlib(t, None, rendered=r, file=f"{k}.png")
                    for k, (t, r) in drawn.items() if k.startswith("forest")]
        sections.append(H.Section(title=title, tables=tabs, figures=figs))
    fu = [v for k, v in result.tables.items() if k.startswith("followup_")]
    if fu:
        sections.append(H.Section(title="Follow-up", tables=[H.Table(
            title="Median follow-up (reverse Kaplan–Meier) and observed times",
            frame=pl.concat(fu, how="diagonal_relaxed"))]))
    if result.notes:
        sections.append(H.Section(title="Notes", text="\n".join(f"- {n}" for n in result.notes)))
    meta = {k: v for k, v in result.meta.items()}
    return H.Report(title=result.spec.title, sections=sections, meta=meta)
