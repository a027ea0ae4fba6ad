"""Bundled example data sets.

``gbsg``: the German Breast Cancer Study Group trial (686 patients with primary node-positive
breast cancer; R ``survival::gbsg``), with ``rfstime`` (recurrence-free survival time, days),
``status`` (1 = recurrence or death) and covariates ``age, meno, size, grade, nodes, pgr,
er, hormon``. Exported from R survival 3.5-3 (see ``tests/reference/make_r.R``).
"""

from __future__ import annotations

from importlib import resources

import polars as pl

#: Name -> (file, description, default roles for examples).
DATASETS: dict[str, dict[str, object]] = {
    "gbsg": {
        "file": "gbsg.csv",
        "description": "German Breast Cancer Study Group trial (R survival::gbsg), 686 patients",
        "time": "rfstime",
        "event": "status",
        "by": ["hormon"],
        "at": [365.25, 730.5, 1826.25],
    },
}


def path(name: str) -> str:
    """Filesystem path of a bundled data set's file."""
    if name not in DATASETS:
        from riskset.errors import OptionError

        raise OptionError(f"unknown data set {name!r}; available: " + ", ".join(DATASETS))
    return str(resources.files(__name__).joinpath(str(DATASETS[name]["file"])))


def load(name: str) -> pl.DataFrame:
    """Load a bundled data set as a Polars DataFrame."""
    return pl.read_csv(path(name), null_values=["", "NA"])
