"""Word and Excel outputs of a study: re-opened and checked against the study's own tables."""

from __future__ import annotations

import math

import docx
import openpyxl
import polars as pl
import pytest
from click.testing import CliRunner

from riskset.cli.main import main
from riskset.errors import OptionError
from riskset.report.office import sheet_names, write_xlsx


@pytest.fixture(scope="module")
def study_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("office") / "gbsg"
    r = CliRunner().invoke(main, ["study", "--example", "gbsg", "--out", str(out), "--jobs", "1"])
    assert r.exit_code == 0, r.output
    return out


def _same(cell, csv_value):
    if csv_value is None or csv_value == "":
        return cell is None or cell == ""
    if isinstance(csv_value, float):
        return isinstance(cell, int | float) and math.isclose(cell, csv_value, rel_tol=1e-15)
    return cell == csv_value


def test_excel_has_every_table_as_written_in_csv(study_out):
    wb = openpyxl.load_workbook(study_out / "tables.xlsx")
    csvs = sorted((study_out / "tables").glob("*.csv"))
    assert len(wb.sheetnames) == len(csvs)
    for path in csvs:
        frame = pl.read_csv(path, infer_schema_length=None)
        sheet = sheet_names([path.stem])[0]
        ws = wb[sheet]
        rows = list(ws.iter_rows(values_only=True))
        assert list(rows[0]) == frame.columns, path.stem
        assert len(rows) - 1 == frame.height, path.stem
        for got, want in zip(rows[1:], frame.iter_rows(), strict=True):
            assert all(_same(g, w) for g, w in zip(got, want, strict=True)), (path.stem, got, want)


def test_word_has_real_tables_figures_and_numbered_captions(study_out):
    doc = docx.Document(study_out / "report.docx")
    captions = [p.text for p in doc.paragraphs if p.text.startswith(("Table ", "Figure "))]
    tables = [c for c in captions if c.startswith("Table ")]
    figures = [c for c in captions if c.startswith("Figure ")]
    # numbered 1..n in order, no internal names as captions
    assert [int(c.split()[1].rstrip(".")) for c in tables] == list(range(1, len(tables) + 1))
    assert [int(c.split()[1].rstrip(".")) for c in figures] == list(range(1, len(figures) + 1))
    assert len(doc.tables) == len(tables) + 1  # + the settings table under the title
    assert len(doc.inline_shapes) == len(figures) == len(list((study_out / "figures").glob("*.png")))
    # Table 1's first data row is the patient count, as in the CSV
    base = pl.read_csv(study_out / "tables" / "table1_baseline.csv", infer_schema_length=None)
    t1 = doc.tables[1]
    assert [c.text for c in t1.rows[0].cells] == base.columns
    assert t1.rows[1].cells[0].text == str(base.row(0)[0])


def test_sheet_names_are_excel_safe_and_unique():
    names = sheet_names(["a" * 40, "a" * 40, "x[1]:y?", "A"])
    assert all(len(n) <= 31 for n in names)
    assert len({n.lower() for n in names}) == 4
    assert names[2] == "x_1__y_"


def test_missing_library_is_a_clear_error(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if not installed
    with pytest.raises(OptionError, match="pip install openpyxl"):
        write_xlsx({"t": pl.DataFrame({"a": [1]})}, tmp_path / "x.xlsx")
