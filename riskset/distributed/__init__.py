"""Exact survival analyses beyond one process: on Dask, and across centres that cannot share rows.

* :mod:`riskset.distributed.tables` -- per-partition event tables with riskset's own kernels
  and their exact merge on the global time grid (no Dask needed).
* :mod:`riskset.distributed.execute` -- ``kaplan_meier``, ``nelson_aalen``, ``logrank`` on a
  Dask DataFrame (the public functions dispatch here; see :func:`is_dask`).
* :mod:`riskset.distributed.cox` -- ``cox`` on a Dask DataFrame: per-partition risk-set sums on
  the global event-time grid each Newton step, and the federated Cox with one worker per centre.
* :mod:`riskset.distributed.federated` -- ``riskset federated summarize / combine``: aggregate
  summaries that leave a site under a minimum-cell-count policy, combined exactly.

Importing this package imports neither Dask nor Polars. See ``docs/distributed.md``.
"""

from __future__ import annotations

from typing import Any


def is_dask(data: Any) -> bool:
    """True for a Dask DataFrame (or any Dask collection): checked by the type's module, so
    Dask is never imported to answer it."""
    mod = type(data).__module__ or ""
    return mod.split(".", 1)[0] in ("dask", "dask_expr")
