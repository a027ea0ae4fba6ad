"""``riskset federated summarize`` / ``riskset federated combine`` (see
:mod:`riskset.distributed.federated`)."""

from __future__ import annotations

import json
import os
import sys
from functools import wraps

import click

from riskset.errors import RisksetError


def handle_errors(func):
    """As :func:`riskset.cli.main.handle_errors` (not imported: ``main`` imports this module)."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except RisksetError as exc:
            click.echo(f"riskset: error: {exc}", err=True)
            sys.exit(2)
        except OSError as exc:
            click.echo(f"riskset: error: {exc.strerror or exc}: {exc.filename}" if exc.filename
                       else f"riskset: error: {exc}", err=True)
            sys.exit(2)

    return wrapper


def emit(text: str, output: str, *, force: bool) -> None:
    from riskset.cli.main import emit as _emit

    _emit(text, output, force=force)


@click.group("federated")
def federated() -> None:
    """Multi-centre analyses without pooling rows (aggregates only; docs/distributed.md)."""


@federated.command("summarize")
@click.argument("data")
@click.option("--time", "time_col", required=True, help="Exit-time column.")
@click.option("--event", "event_col", required=True, help="Event column (1 = event, 0 = censored).")
@click.option("--group", "groups", required=True, multiple=True, help="Group column (repeat for several).")
@click.option("--strata", multiple=True, help="Stratification column (repeat for several).")
@click.option("--min-cell", type=int, required=True, help="Smallest non-zero count allowed to leave the site.")
@click.option("--on-small-cell", type=click.Choice(["refuse", "coarsen"]), default="refuse", show_default=True,
              help="A count 0 < n < min-cell: refuse (write nothing) or merge with later times.")
@click.option("--centre", help="This centre's name (default: the data file's name without extension).")
@click.option("--out", "out", required=True, help="The summary JSON to write.")
@click.option("--force", is_flag=True, help="Overwrite an existing --out.")
@handle_errors
def summarize_command(data, time_col, event_col, groups, strata, min_cell, on_small_cell, centre, out, force):
    """Write this site's aggregate summary (per-time counts per group; no rows)."""
    from riskset.distributed.federated import summarize

    name = centre or os.path.splitext(os.path.basename(data))[0]
    s = summarize(data, time=time_col, event=event_col, group=list(groups), strata=list(strata) or None,
                  min_cell=min_cell, on_small_cell=on_small_cell, centre=name)
    emit(json.dumps(s, indent=1, default=str) + "\n", out, force=force)


@federated.command("combine")
@click.argument("summaries", nargs=-1, required=True)
@click.option("--centres", help="Comma-separated centres that must all be present.")
@click.option("--out", "out", required=True, help="The pooled results JSON to write.")
@click.option("--force", is_flag=True, help="Overwrite an existing --out.")
@handle_errors
def combine_command(summaries, centres, out, force):
    """Combine the centres' summaries into the pooled KM and log-rank results."""
    from riskset.distributed.federated import combine

    loaded = []
    for path in summaries:
        try:
            with open(path, encoding="utf-8") as f:
                loaded.append(json.load(f))
        except json.JSONDecodeError as exc:
            raise RisksetError(f"{path}: not a JSON summary ({exc})") from None
    expect = [c.strip() for c in centres.split(",")] if centres else None
    res = combine(loaded, centres=expect)
    emit(json.dumps(_clean(res.to_dict()), indent=1, default=str) + "\n", out, force=force)


def _clean(v):
    import math

    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v
