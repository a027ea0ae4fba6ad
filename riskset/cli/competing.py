"""``riskset cif``, ``riskset gray`` and ``riskset finegray``: competing-risks commands (registered by
:mod:`riskset.cli.main`; same conventions: one-line errors with exit status 2, atomic
outputs, ``--format text|json|csv``)."""

from __future__ import annotations

import json
from typing import Any

import click

from riskset.cli.main import (
    FORMATS,
    _frame_text,
    data_levels_option,
    emit,
    handle_errors,
    main,
    parse_floats,
    parse_references,
)
from riskset.format import counts_as_integers, format_test


def _censored_value(text: str) -> Any:
    """``--censored 0`` is the integer code 0; anything that is not an integer is a label."""
    try:
        return int(text)
    except ValueError:
        return text


def _roles(func):
    opts = [
        click.argument("data"),
        click.option("--time", "time_col", required=True, help="Exit-time column."),
        click.option("--event", "event_col", required=True,
                     help="Event column: integer cause codes or labels (see --censored)."),
        click.option("--censored", default="0", show_default=True,
                     help="The event value that means censored (an integer code or a label)."),
        click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True),
        click.option("--output", "-o", help="Write to this file instead of standard output."),
        click.option("--force", is_flag=True, help="Overwrite an existing --output."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


@main.command("cif")
@_roles
@click.option("--by", multiple=True, help="Grouping column (repeat for several).")
@click.option("--entry", help="Delayed-entry (left-truncation) time column.")
@click.option("--weights", "--weights-col", "weights_col", help="Case-weight column.")
@click.option("--variance", type=click.Choice(["ij", "aalen", "delta"]), default="ij", show_default=True,
              help="ij = R survfit (multi-state), aalen = cmprsk cuminc, delta = lifelines/SAS delta method.")
@click.option("--conf-type", type=click.Choice(["log", "log-log", "plain", "logit", "arcsin"]), default="log",
              show_default=True)
@click.option("--conf-level", type=float, default=0.95, show_default=True)
@click.option("--at", "at", help="Landmark times, comma-separated (e.g. 12,24).")
@click.option("--table", "which", type=click.Choice(["summary", "curve", "landmarks"]), default="summary",
              show_default=True, help="Which table --format csv writes.")
@data_levels_option
@handle_errors
def cif_command(data, time_col, event_col, censored, fmt, output, force, by, entry, weights_col, variance,
                conf_type, conf_level, at, which):
    """Cumulative incidence of every cause (Aalen-Johansen), as R survfit / cmprsk cuminc."""
    import riskset
    from riskset._km import _records

    at_times = parse_floats(at, "--at")
    fit = riskset.cumulative_incidence(
        data, time=time_col, event=event_col, by=list(by) or None, entry=entry, weights=weights_col,
        variance=variance, conf_type=conf_type, conf_level=conf_level, censored=_censored_value(censored),
    )
    landmarks = fit.at(at_times) if at_times else None
    if fmt == "json":
        out = fit.to_dict()
        if landmarks is not None:
            out["landmarks"] = _records(landmarks)
        text = json.dumps(out, indent=2) + "\n"
    elif fmt == "csv":
        table = {"summary": fit.summary, "curve": fit.table, "landmarks": landmarks}[which]
        if table is None:
            from riskset.errors import RisksetError

            raise RisksetError("--table landmarks needs --at")
        text = counts_as_integers(table).write_csv()
    else:
        text = (f"Cumulative incidence (Aalen-Johansen), {variance} variance, {conf_type} "
                f"{conf_level:g} CI: {data}\n" + _frame_text(fit.summary))
        if landmarks is not None:
            text += "\nAt landmark times\n" + _frame_text(landmarks)
    emit(text, output, force=force)


@main.command("gray")
@_roles
@click.option("--group", required=True, help="Group column.")
@click.option("--strata", multiple=True, help="Stratification column (repeat for several).")
@click.option("--rho", type=float, default=0.0, show_default=True, help="Weight (1 - F(t-))^rho.")
@data_levels_option
@handle_errors
def gray_command(data, time_col, event_col, censored, fmt, output, force, group, strata, rho):
    """Gray's test comparing each cause's cumulative incidence across groups (cmprsk cuminc)."""
    import riskset

    res = riskset.gray_test(data, time=time_col, event=event_col, group=group, strata=list(strata) or None,
                            rho=rho, censored=_censored_value(censored))
    if fmt == "json":
        text = json.dumps(res.to_dict(), indent=2) + "\n"
    elif fmt == "csv":
        text = counts_as_integers(res.table).write_csv()
    else:
        text = (f"Gray's test (rho = {rho:g}) of cumulative incidence by {group}"
                + (f", stratified by {', '.join(strata)}" if strata else "") + f": {data}\n")
        text += _frame_text(res.table)
        text += "\n".join(f"cause {c}: " + format_test(s, d, p)
                          for c, s, d, p in res.table.iter_rows()) + "\n"
    emit(text, output, force=force)


@main.command("finegray")
@_roles
@click.option("--covariates", required=True, help="Comma-separated covariate columns (categorical -> dummies).")
@click.option("--cause", "cause", default="1", show_default=True, help="The cause modelled (code or label).")
@click.option("--variance", type=click.Choice(["robust", "naive"]), default="robust", show_default=True)
@click.option("--conf-level", type=float, default=0.95, show_default=True)
@click.option("--reference", multiple=True, help="Reference level as COLUMN=LEVEL (repeat).")
@data_levels_option
@handle_errors
def finegray_command(data, time_col, event_col, censored, fmt, output, force, covariates, cause, variance,
                     conf_level, reference):
    """Fine-Gray subdistribution hazards, as R finegray() + coxph(..., weights = fgwt, id = id)."""
    import riskset

    ref = parse_references(reference)
    fit = riskset.fine_gray(data, time=time_col, event=event_col,
                            covariates=[c.strip() for c in covariates.split(",") if c.strip()],
                            cause=_censored_value(cause), variance=variance, reference=ref or None,
                            censored=_censored_value(censored), conf_level=conf_level)
    if fmt == "json":
        text = json.dumps(fit.to_dict(), indent=2, default=str) + "\n"
    elif fmt == "csv":
        text = counts_as_integers(fit.coefficients).write_csv()
    else:
        text = (f"Fine-Gray model for cause {fit.cause!r} ({variance} variance; hr = subdistribution "
                f"hazard ratio): {data}\n" + _frame_text(fit.coefficients))
    emit(text, output, force=force)
