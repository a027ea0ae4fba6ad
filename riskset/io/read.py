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

import numpy as np
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


def scan_table(path: str | os.PathLike[str], *, plain: Sequence[str] = ()) -> pl.LazyFrame:
    """Open a data file (or a directory of Parquet files) lazily.

    CSV, Parquet and Arrow IPC are scanned lazily, so selecting columns afterwards reads only
    those. Excel and SPSS/SAS/Stata files are read eagerly (their readers cannot skip columns
    cheaply) and wrapped in a LazyFrame. Reading SPSS/SAS/Stata needs ``pyreadstat``; Excel
    needs ``fastexcel``. A column with SPSS/Stata value labels becomes an ``Enum`` of its
    labels in code order, except the columns in ``plain`` (numeric roles: time, event,
    entry, weights, offset), which keep their numbers.
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
    return _read_statistical(p, fmt, plain).lazy()


def _read_statistical(p: Path, fmt: str, plain: Sequence[str] = ()) -> pl.DataFrame:
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
    frame, meta = reader(str(p))
    out = _pandas_to_polars(frame)
    # value labels: the coded column as an Enum of its labels, in code order (level policy)
    from riskset.io.validate import value_labels_to_enum

    labelled = getattr(meta, "variable_value_labels", None) or {}
    return out.with_columns([value_labels_to_enum(out.get_column(c), lab)
                             for c, lab in labelled.items()
                             if c in out.columns and c not in plain and lab])


def read_table(
    path: str | os.PathLike[str], columns: Sequence[str] | None = None, *, plain: Sequence[str] = ()
) -> pl.DataFrame:
    """Read a data file into a Polars DataFrame, only ``columns`` if given (``plain``: see
    :func:`scan_table`)."""
    lf = scan_table(path, plain=plain)
    if columns is not None:
        check_columns(lf.collect_schema().names(), columns)
        lf = lf.select(list(dict.fromkeys(columns)))
    frame = lf.collect()
    cats = [c for c, dt in frame.schema.items() if isinstance(dt, pl.Categorical)]
    return _file_dictionaries(Path(path), frame, cats) if cats else frame


def _file_dictionaries(p: Path, frame: pl.DataFrame, cats: list[str]) -> pl.DataFrame:
    """A Parquet or Arrow IPC file's dictionary columns (a pandas ``Categorical`` saved
    with its categories) read by Arrow, which keeps the dictionary's order (Polars reads
    them as unordered Categoricals): each becomes what :func:`_arrow_to_polars` makes."""
    fmt = SUFFIXES.get(p.suffix.lower()) if p.is_file() else None
    if fmt not in ("parquet", "ipc"):
        return frame
    import pyarrow as pa

    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(p, columns=cats)
    else:
        import pyarrow.feather as pf

        table = pf.read_table(p, columns=cats)
    if not all(pa.types.is_dictionary(table.schema.field(c).type) for c in cats):
        return frame
    return frame.with_columns(_arrow_to_polars(table).get_columns())


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


def to_polars(data: Any, columns: Sequence[str] | None = None,
              levels: Mapping[str, Sequence[Any]] | None = None, *,
              plain: Sequence[str] = ()) -> pl.DataFrame:
    """Convert any supported table to a Polars DataFrame holding (at least) ``columns``.

    Parameters
    ----------
    data
        Polars DataFrame or LazyFrame, pandas DataFrame, pyarrow Table/RecordBatch, a mapping
        of column name to array-like, or a path (``str`` / ``os.PathLike``) to a data file.
    columns
        Columns that must be present; when given, only these are kept (and only these are
        read from files and LazyFrames).
    levels
        ``{column: [level, ...]}``: the order (and text) of those columns' levels, which
        become Polars ``Enum`` columns (:func:`riskset.io.validate.declare_levels`). A pandas
        ``Categorical``, an Arrow dictionary and SPSS/Stata value labels keep their own
        order and labels the same way (the level-order policy of :mod:`riskset.io.validate`).
        With ``columns`` given, entries for other columns are ignored.
    plain
        Columns read from an SPSS/Stata file that keep their numbers, not their value labels
        (the numeric roles: time, event, entry, weights, offset).
    """
    from riskset.io.validate import declare_levels

    frame = _to_polars(data, columns, plain)
    if levels:  # only the columns this analysis reads (one --levels serves every command)
        levels = {k: v for k, v in levels.items() if columns is None or k in columns}
    return declare_levels(frame, levels) if levels else frame


def _to_polars(data: Any, columns: Sequence[str] | None, plain: Sequence[str] = ()) -> pl.DataFrame:
    cols = list(dict.fromkeys(columns)) if columns is not None else None
    if isinstance(data, (str, os.PathLike)):
        return read_table(data, cols, plain=plain)
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
        frame = _from_foreign(data, cols)
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


def _pandas_to_polars(data: Any, cols: list[str] | None = None) -> pl.DataFrame:
    """A pandas DataFrame as Polars; a ``Categorical`` column becomes an ``Enum`` of its
    categories in their order (Polars' own conversion keeps only the values); see
    :func:`riskset.io.validate.codes_to_enum`."""
    import pandas as pd

    if cols is not None and all(isinstance(c, str) for c in data.columns):
        check_columns(list(data.columns), cols)
        data = data[cols]
    cats = [c for c in data.columns if isinstance(data[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return pl.from_pandas(data, include_index=False)
    from riskset.io.validate import codes_to_enum

    frame = pl.from_pandas(data.drop(columns=cats), include_index=False)
    enums = {c: codes_to_enum(str(c), data[c].cat.codes.to_numpy(), list(data[c].cat.categories),
                              ordered=bool(data[c].cat.ordered))
             for c in cats}
    return pl.DataFrame([enums[c] if c in enums else frame.get_column(str(c)) for c in data.columns])


def _arrow_to_polars(data: Any) -> pl.DataFrame:
    """A pyarrow Table/RecordBatch as Polars; a dictionary column becomes an ``Enum`` of its
    dictionary in its order (Polars' own conversion makes an unordered Categorical)."""
    import pyarrow as pa

    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    dict_cols = [f.name for f in data.schema if pa.types.is_dictionary(f.type)]
    if not dict_cols:
        return pl.from_arrow(data)
    from riskset.io.validate import codes_to_enum

    data = data.unify_dictionaries()
    enums = {}
    for name in dict_cols:
        col = data.column(name)
        chunks = col.chunks
        dictionary = chunks[0].dictionary.to_pylist() if chunks else []
        idx = [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in chunks]
        codes = np.concatenate(idx) if idx else np.zeros(0, dtype=np.int64)
        enums[name] = codes_to_enum(name, codes, dictionary, ordered=bool(col.type.ordered))
    rest = pl.from_arrow(data.drop_columns(dict_cols))
    return pl.DataFrame([enums[n] if n in enums else rest.get_column(n) for n in data.column_names])


def _from_foreign(data: Any, cols: list[str] | None = None) -> pl.DataFrame:
    mod = type(data).__module__.split(".")[0]
    if mod == "pandas":
        if not hasattr(data, "columns"):
            raise RisksetError("expected a table, got a single pandas Series")
        return _pandas_to_polars(data, cols)
    if mod == "pyarrow":
        if not hasattr(data, "schema"):
            raise RisksetError("expected a table, got a single pyarrow array")
        return _arrow_to_polars(data)
    raise RisksetError(
        f"unsupported data type {type(data).__name__}; pass a Polars/pandas DataFrame, a "
        "pyarrow Table, a dict of arrays, or a path to a CSV/Parquet/Arrow file"
    )
