"""Reading tables from files and converting in-memory tables to Polars.

Everything that enters riskset goes through :func:`to_polars`, which accepts a Polars
DataFrame or LazyFrame, a pandas DataFrame, a pyarrow Table or RecordBatch, a dict of
NumPy arrays / lists, or a path to a file. Only the columns an analysis needs are read from
files and LazyFrames (projection push-down), so a wide registry table costs what its used
columns cost.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from riskset.errors import ColumnError, RisksetError

#: File suffixes understood by :func:`read_table`, mapped to a format name.
SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "ipc",
    ".ipc": "ipc",
    ".feather": "ipc",
    ".xlsx": "excel",
    ".xls": "excel",
    ".sav": "spss",
    ".zsav": "spss",
    ".por": "spss",
    ".sas7bdat": "sas",
    ".xpt": "xport",
    ".dta": "stata",
}


def scan_table(path: str | os.PathLike[str]) -> pl.LazyFrame:
    """Open a data file (or a directory of Parquet files) lazily.

    CSV, Parquet and Arrow IPC are scanned lazily, so selecting columns afterwards reads only
    those. Excel and SPSS/SAS/Stata files are read eagerly (their readers cannot skip columns
    cheaply) and wrapped in a LazyFrame. Reading SPSS/SAS/Stata needs ``pyreadstat``; Excel
    needs ``fastexcel``.
    """
    p = Path(path)
    if not p.exists():
        raise RisksetError(f"data file {str(p)!r} does not exist")
    if p.is_dir():
        files = sorted(p.rglob("*.parquet"))
        if not files:
            raise RisksetError(f"directory {str(p)!r} contains no .parquet files")
        return pl.scan_parquet(str(p / "**" / "*.parquet"), hive_partitioning=True)
    fmt = SUFFIXES.get(p.suffix.lower())
    if fmt is None:
        raise RisksetError(
            f"cannot tell the format of {str(p)!r} from its suffix {p.suffix!r}; "
            "supported: " + ", ".join(sorted(SUFFIXES))
        )
    if fmt in ("csv", "tsv"):
        sep = "\t" if fmt == "tsv" else ","
        return pl.scan_csv(p, separator=sep, infer_schema_length=10_000, null_values=["", "NA"],
                           try_parse_dates=True)
    if fmt == "parquet":
        return pl.scan_parquet(p)
    if fmt == "ipc":
        return pl.scan_ipc(p)
    if fmt == "excel":
        try:
            return pl.read_excel(p).lazy()
        except ImportError as exc:  # pragma: no cover - depends on optional package
            raise RisksetError(
                "reading Excel files needs the 'fastexcel' package: pip install fastexcel"
            ) from exc
    return _read_statistical(p, fmt).lazy()


def _read_statistical(p: Path, fmt: str) -> pl.DataFrame:
    try:
        import pyreadstat
    except ImportError as exc:
        raise RisksetError(
            f"reading {fmt.upper()} files needs the 'pyreadstat' package: pip install pyreadstat"
        ) from exc
    reader = {
        "spss": pyreadstat.read_sav if p.suffix.lower() != ".por" else pyreadstat.read_por,
        "sas": pyreadstat.read_sas7bdat,
        "xport": pyreadstat.read_xport,
        "stata": pyreadstat.read_dta,
    }[fmt]
    frame, _meta = reader(str(p))
    return pl.from_pandas(frame)


def read_table(
    path: str | os.PathLike[str], columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """Read a data file into a Polars DataFrame, only ``columns`` if given."""
    lf = scan_table(path)
    if columns is not None:
        check_columns(lf.collect_schema().names(), columns)
        lf = lf.select(list(dict.fromkeys(columns)))
    return lf.collect()


def check_columns(available: Sequence[str], wanted: Sequence[str]) -> None:
    """Raise :class:`ColumnError` for the first wanted column that is not available."""
    have = set(available)
    for name in wanted:
        if name not in have:
            close = difflib.get_close_matches(name, list(available), n=3)
            hint = ("did you mean " + " or ".join(repr(c) for c in close) + "?") if close else (
                "available columns: " + ", ".join(repr(c) for c in list(available)[:20])
            )
            raise ColumnError(name, "is not in the data", hint=hint)


def to_polars(data: Any, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Convert any supported table to a Polars DataFrame holding (at least) ``columns``.

    Parameters
    ----------
    data
        Polars DataFrame or LazyFrame, pandas DataFrame, pyarrow Table/RecordBatch, a mapping
        of column name to array-like, or a path (``str`` / ``os.PathLike``) to a data file.
    columns
        Columns that must be present; when given, only these are kept (and only these are
        read from files and LazyFrames).
    """
    cols = list(dict.fromkeys(columns)) if columns is not None else None
    if isinstance(data, (str, os.PathLike)):
        return read_table(data, cols)
    if isinstance(data, pl.LazyFrame):
        if cols is not None:
            check_columns(data.collect_schema().names(), cols)
            data = data.select(cols)
        return data.collect()
    if isinstance(data, pl.DataFrame):
        frame = data
    elif isinstance(data, Mapping):
        frame = _from_mapping(data, cols)
    else:
        frame = _from_foreign(data)
    if cols is not None:
        check_columns(frame.columns, cols)
        frame = frame.select(cols)
    return frame


def _from_mapping(data: Mapping[str, Any], cols: list[str] | None) -> pl.DataFrame:
    keys = [k for k in data if cols is None or k in cols]
    if cols is not None:
        check_columns(list(data), cols)
    lengths = {k: len(data[k]) for k in keys}
    if len(set(lengths.values())) > 1:
        raise RisksetError(
            "columns have different lengths: "
            + ", ".join(f"{k!r}={n}" for k, n in lengths.items())
        )
    # nan_to_null=False: a NaN in a NumPy float array stays NaN so validation can name it.
    return pl.DataFrame({k: data[k] for k in keys}, nan_to_null=False)


def _from_foreign(data: Any) -> pl.DataFrame:
    mod = type(data).__module__.split(".")[0]
    if mod == "pandas":
        return pl.from_pandas(data, include_index=False)
    if mod == "pyarrow":
        out = pl.from_arrow(data)
        if isinstance(out, pl.Series):
            raise RisksetError("expected a table, got a single pyarrow array")
        return out
    raise RisksetError(
        f"unsupported data type {type(data).__name__}; pass a Polars/pandas DataFrame, a "
        "pyarrow Table, a dict of arrays, or a path to a CSV/Parquet/Arrow file"
    )
