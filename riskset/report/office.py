"""Word and Excel versions of a report, for co-authors and journals.

:func:`write_docx` writes a :class:`riskset.report.html.Report` as a Word document with real
Word tables (one per report table, cells as the HTML report prints them), every figure
embedded as PNG, and numbered captions ("Table 1.", "Figure 1.") above tables and below
figures, as journals lay them out. :func:`write_xlsx` writes tables as an Excel workbook,
one sheet per table, numbers kept as numbers.

Libraries: ``python-docx`` and ``openpyxl`` (both pure Python). Each is imported only when
its writer is called; a missing one is a :class:`riskset.errors.OptionError` that names the
package to install.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskset.errors import OptionError

if TYPE_CHECKING:
    import polars as pl

    from riskset.report.html import Report

#: Excel's limit on a sheet name, and the characters it forbids in one.
_SHEET_MAX = 31
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
#: A section title's own number ("Table 3. "), dropped: the document numbers its tables.
_NUMBERED = re.compile(r"^(Table|Figure)\s+\d+\.\s*")


#: The date written into the files' properties and archive entries: the same study gives the
#: same bytes (no "created" time), as every other output of a study.
_FIXED_DATE = dt.datetime(2000, 1, 1)


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _reproducible(path: Path) -> None:
    """Rewrite the zip archive at ``path`` with fixed entry times (byte-identical reruns)."""
    with zipfile.ZipFile(path) as z:
        entries = [(info, z.read(info)) for info in z.infolist()]
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for info, blob in entries:
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified" on save
                blob = _MODIFIED.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", blob)
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            z.writestr(fixed, blob)
    tmp.replace(path)


def _need(module: str, package: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise OptionError(
            f"writing this format needs the Python package {package!r}: pip install {package}"
        ) from None


def sheet_names(names: list[str]) -> list[str]:
    """Excel-safe, unique sheet names (at most 31 characters, no ``[]:*?/\\``)."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        base = _SHEET_BAD.sub("_", name)[:_SHEET_MAX] or "Sheet"
        cand, k = base, 2
        while cand.lower() in seen:
            suffix = f"~{k}"
            cand = base[: _SHEET_MAX - len(suffix)] + suffix
            k += 1
        seen.add(cand.lower())
        out.append(cand)
    return out


def write_xlsx(tables: Mapping[str, pl.DataFrame], path: str | Path) -> Path:
    """One sheet per table (in order), a bold header row, numbers as numbers, nulls empty."""
    openpyxl = _need("openpyxl", "openpyxl")
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    names = list(tables)
    for name, sheet in zip(names, sheet_names(names), strict=True):
        frame = tables[name]
        ws = wb.create_sheet(sheet)
        ws.append(list(frame.columns))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in frame.iter_rows():
            ws.append([_xlsx_value(v) for v in row])
        ws.freeze_panes = "A2"
        for j, col in enumerate(frame.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in frame.get_column(col).head(200).to_list()])
            ws.column_dimensions[get_column_letter(j)].width = min(60, width + 2)
    wb.properties.created = wb.properties.modified = _FIXED_DATE
    path = Path(path)
    wb.save(path)
    _reproducible(path)
    return path


def _xlsx_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, bool | int | float | str):
        return v
    return str(v)


def write_docx(report: Report, path: str | Path) -> Path:
    """The report as a Word document: title, settings, sections with numbered tables and figures."""
    docx = _need("docx", "python-docx")
    from docx.shared import Inches, Pt

    from riskset.report.html import format_cell

    doc = docx.Document()
    style = doc.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(10)
    doc.add_heading(report.title, level=0)
    if report.meta:
        meta = doc.add_table(rows=0, cols=2)
        meta.style = "Light List"
        for k, v in report.meta.items():
            cells = meta.add_row().cells
            cells[0].text = str(k)
            cells[1].text = str(v)
    n_table = n_figure = 0
    for section in report.sections:
        heading = _NUMBERED.sub("", section.title)  # the document numbers tables itself
        doc.add_heading(heading, level=1)
        if section.text:
            for line in section.text.splitlines():
                doc.add_paragraph(line.removeprefix("- "), style="List Bullet" if line.startswith("- ") else None)
        for tab in section.tables:
            n_table += 1
            cap = doc.add_paragraph()
            cap.add_run(f"Table {n_table}. ").bold = True
            cap.add_run(heading if len(section.tables) == 1 else f"{heading}: {tab.title}")
            frame = tab.frame
            t = doc.add_table(rows=1, cols=max(1, frame.width))
            t.style = "Table Grid"
            for j, col in enumerate(frame.columns):
                cell = t.rows[0].cells[j]
                cell.text = str(col)
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            from riskset.report.html import _is_p_column

            pcols = [_is_p_column(c) for c in frame.columns]
            for row in frame.iter_rows():
                cells = t.add_row().cells
                for j, v in enumerate(row):
                    cells[j].text = format_cell(v, p_value=pcols[j])
            if tab.note:
                doc.add_paragraph(tab.note).runs[0].italic = True
        for fig in section.figures:
            n_figure += 1
            doc.add_picture(io.BytesIO(fig.png), width=Inches(6.0))
            cap = doc.add_paragraph()
            cap.add_run(f"Figure {n_figure}. ").bold = True
            cap.add_run(fig.title + (f" {fig.caption}" if fig.caption else ""))
    props = doc.core_properties
    props.created = props.modified = _FIXED_DATE
    props.last_modified_by = props.author = "riskset"
    path = Path(path)
    doc.save(path)
    _reproducible(path)
    return path
