"""Reading, validating and writing tables (the only layer that knows about files and nulls)."""

from riskset.io.read import read_table, scan_table, to_polars
from riskset.io.validate import SurvivalColumns, validate_survival

__all__ = ["SurvivalColumns", "read_table", "scan_table", "to_polars", "validate_survival"]
