"""Reading, validating and writing tables (the only layer that knows about files and nulls)."""

from typing import TYPE_CHECKING

from riskset._lazy import lazy_names

if TYPE_CHECKING:
    from riskset.io.read import read_table, scan_table, to_polars
    from riskset.io.validate import SurvivalColumns, validate_survival

# imported on first use: riskset.io.write (atomic writes) needs neither Polars nor PyArrow
__getattr__, __dir__ = lazy_names(__name__, globals(), {
    **dict.fromkeys(("read_table", "scan_table", "to_polars"), "riskset.io.read"),
    **dict.fromkeys(("SurvivalColumns", "validate_survival"), "riskset.io.validate"),
})

__all__ = ["SurvivalColumns", "read_table", "scan_table", "to_polars", "validate_survival"]
