"""``riskset`` command line: thin click wrappers over the public API.

Every command validates through the same code as the Python API. Bad input prints one line
``riskset: error: ...`` on stderr (no traceback) and exits with status 2. Outputs are
written atomically and never replace an existing file without ``--force``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from riskset.errors import RisksetError

FORMATS = ("text", "json", "csv")


def _fail(msg: str) -> None:
    click.echo(f"riskset: error: {msg}", err=True)
    sys.exit(2)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn riskset's typed errors into a one-line message and exit status 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RisksetError as exc:
            _fail(str(exc))
        except OSError as exc:
            _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))

    return wrapper


def parse_floats(text: str | None, what: str) -> list[float]:
    """Parse ``"12,24,36"`` into floats, with a clear error naming the option."""
    if not text:
        return []
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            out.append(float(part))
        except ValueError:
            raise RisksetError(f"{what}: {part!r} is not a number") from None
    return out


def emit(text: str, output: str | None, *, force: bool) -> None:
    """Print ``text`` or write it atomically to ``output``."""
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    from riskset.io.write import atomic_write_text

    atomic_write_text(output, text, force=force)
    click.echo(f"wrote {output}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="riskset")
def main() -> None:
    """riskset: fast survival statistics that match R survival."""


@main.command("km")
@click.argument("data", required=False)
@click.option("--example", type=click.Choice(["gbsg"]), help="Use a bundled data set (with its default columns).")
@click.option("--time", "time_col", help="Exit-time column.")
@click.option("--event", "event_col", help="Event column (1 = event, 0 = censored).")
@click.option("--by", "by", multiple=True, help="Grouping column (repeat for several).")
@click.option("--entry", help="Delayed-entry (left-truncation) time column.")
@click.option("--weights", help="Case-weight column.")
@click.option("--at", "at", help="Landmark times, comma-separated (e.g. 12,24).")
@click.option("--quantiles", help="Quantile probabilities, comma-separated (e.g. 0.25,0.5,0.75).")
@click.option("--rmst", "tau", type=float, help="Restricted mean survival time up to this time.")
@click.option("--followup/--no-followup", default=True, show_default=True, help="Median follow-up (reverse KM).")
@click.option("--conf-type", type=click.Choice(["log", "log-log", "plain", "logit", "arcsin"]), default=None,
              help="Pointwise CI transform (default: the convention's).")
@click.option("--conf-level", type=float, default=0.95, show_default=True)
@click.option("--convention", type=click.Choice(["r", "sas", "spss", "lifelines"]), default="r", show_default=True,
              help="Median/quantile rule and median CI of that tool.")
@click.option("--drop-missing", is_flag=True, help="Drop rows with missing values (and report how many).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--table", "which", type=click.Choice(["summary", "curve", "landmarks"]), default="summary",
              show_default=True, help="Which table --format csv writes.")
@click.option("--output", "-o", help="Write to this file instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite an existing --output.")
@handle_errors
def km_command(data, example, time_col, event_col, by, entry, weights, at, quantiles, tau, followup,
               conf_type, conf_level, convention, drop_missing, fmt, which, output, force):
    """Kaplan-Meier curves, medians with CIs, landmark rates, RMST and follow-up.

    DATA is a CSV, Parquet, Arrow IPC, Excel, SPSS, SAS or Stata file.
    """
    import warnings

    import riskset
    from riskset.cli.render import render_km

    if example:
        if data:
            raise RisksetError("give either DATA or --example, not both")
        spec = riskset.datasets.DATASETS[example]
        data = riskset.datasets.path(example)
        time_col = time_col or spec["time"]
        event_col = event_col or spec["event"]
        by = by or tuple(spec["by"])
        at = at or ",".join(f"{x:g}" for x in spec["at"])
    if not data:
        raise RisksetError("no DATA file given (or use --example gbsg)")
    if not time_col or not event_col:
        raise RisksetError("--time and --event are required")
    at_times = parse_floats(at, "--at")  # option errors before any data is read
    probs = parse_floats(quantiles, "--quantiles")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", riskset.RisksetWarning)
        fit = riskset.kaplan_meier(
            data, time=time_col, event=event_col, by=list(by) or None, entry=entry, weights=weights,
            conf_type=conf_type, conf_level=conf_level, convention=convention, drop_missing=drop_missing,
        )
        landmarks = fit.at(at_times) if at_times else None
        qs = fit.quantile(probs) if probs else None
        rm = fit.rmst(tau) if tau is not None else None
        fu = (
            riskset.median_followup(data, time=time_col, event=event_col, by=list(by) or None,
                                    entry=entry, weights=weights, conf_level=conf_level,
                                    drop_missing=drop_missing)
            if followup else None
        )
    for w in caught:
        if issubclass(w.category, riskset.RisksetWarning):
            click.echo(f"riskset: warning: {w.message}", err=True)
    if fmt == "json":
        out = fit.to_dict()
        from riskset._km import _records

        for name, df in (("landmarks", landmarks), ("quantiles", qs), ("rmst", rm), ("followup", fu)):
            if df is not None:
                out[name] = _records(df)
        text = json.dumps(out, indent=2) + "\n"
    elif fmt == "csv":
        table = {"summary": fit.summary, "curve": fit.table, "landmarks": landmarks}[which]
        if table is None:
            raise RisksetError("--table landmarks needs --at")
        text = table.write_csv()
    else:
        text = render_km(fit, landmarks=landmarks, quantiles=qs, rmst=rm, followup=fu,
                         source=example or str(data), time=time_col, event=event_col)
    emit(text, output, force=force)


if __name__ == "__main__":  # pragma: no cover
    main()
