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
from riskset.format import counts_as_integers, format_test

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


#: How the command line asks for the complete cases (the end of a missing-value error).
MISSING_ADVICE = "use --missing complete-case (the default) to analyse the complete cases"


def missing_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--missing complete-case|error``, passed on as the API's ``drop_missing``; the
    command's missing-value errors say ``--missing`` (not the Python keyword)."""
    from riskset.errors import advise_missing

    @wraps(func)
    def wrapper(*args: Any, missing: str, drop_missing_alias: bool, **kwargs: Any) -> Any:
        with advise_missing(MISSING_ADVICE):
            return func(*args, drop_missing=missing == "complete-case" or drop_missing_alias, **kwargs)

    wrapper = click.option("--drop-missing", "drop_missing_alias", is_flag=True, hidden=True,
                           help="Same as --missing complete-case (kept for old scripts).")(wrapper)
    return click.option(
        "--missing", type=click.Choice(["complete-case", "error"]), default="complete-case", show_default=True,
        help="Rows with a missing value in a used column: analyse the complete cases (as R's na.omit; "
             "the excluded rows are counted on stderr) or stop with an error.")(wrapper)


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


def parse_references(items: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Parse repeated ``--reference COLUMN=LEVEL`` into ``{column: level}``."""
    ref = {}
    for item in items:
        if "=" not in item:
            raise RisksetError(f"--reference {item!r}: expected COLUMN=LEVEL")
        k, v = item.split("=", 1)
        ref[k.strip()] = v.strip()
    return ref


def parse_levels(items: tuple[str, ...] | list[str]) -> dict[str, list[str]] | None:
    """Parse repeated ``--levels COLUMN=a,b,c`` into ``{column: [a, b, c]}`` (None if none)."""
    out: dict[str, list[str]] = {}
    for item in items:
        col, sep, rest = item.partition("=")
        col = col.strip()
        levels = [x.strip() for x in rest.split(",")]
        if not sep or not col or not rest.strip() or "" in levels:
            raise RisksetError(f"--levels {item!r}: expected COLUMN=LEVEL1,LEVEL2,... (levels in order)")
        if col in out:
            raise RisksetError(f"--levels gives column {col!r} twice")
        out[col] = levels
    return out or None


def levels_option(func):
    """``--levels COLUMN=a,b,c`` (repeatable): the order of a column's levels, every command."""
    return click.option(
        "--levels", "levels", multiple=True, metavar="COLUMN=A,B,...",
        help="Order of a column's levels, e.g. --levels size='<=20,20-50,>50' (repeat for "
             "several columns): groups, table rows, trend scores and the Cox reference (the first).",
    )(func)


def data_levels_option(func):
    """``--levels`` for a command that hands its DATA to the API as a table: the file is read
    with the declared orders (Enums) before the call, as the other commands do through
    ``levels=``."""

    @wraps(func)
    def wrapper(*args: Any, levels: tuple[str, ...], **kwargs: Any) -> Any:
        lv = parse_levels(levels)
        if lv and kwargs.get("data") is not None:
            from riskset.io.read import to_polars

            kwargs["data"] = to_polars(kwargs["data"], None, lv)
        return func(*args, **kwargs)

    return levels_option(wrapper)


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
@click.option("--group", "--by", "by", multiple=True,
              help="Grouping column: one curve per level (repeat for several; --by is the same).")
@click.option("--entry", help="Delayed-entry (left-truncation) time column.")
@click.option("--weights", help="Case-weight column.")
@click.option("--at", "at", help="Landmark times, comma-separated (e.g. 12,24).")
@click.option("--quantiles", help="Quantile probabilities, comma-separated (e.g. 0.25,0.5,0.75).")
@click.option("--rmst", "tau", help="Restricted mean survival time up to this time, or 'common' (the largest "
              "time of any group, R's rmean = \"common\") or 'individual' (each group's own largest time).")
@click.option("--followup/--no-followup", default=True, show_default=True, help="Median follow-up (reverse KM).")
@click.option("--stype", type=click.IntRange(1, 2), default=1, show_default=True,
              help="Survival estimator: 1 = Kaplan-Meier, 2 = exp(-cumulative hazard) (R's stype).")
@click.option("--ctype", type=click.IntRange(1, 2), default=1, show_default=True,
              help="Cumulative hazard: 1 = Nelson-Aalen, 2 = Fleming-Harrington tie correction (R's ctype).")
@click.option("--conf-lower", type=click.Choice(["usual", "peto", "modified"]), default="usual", show_default=True,
              help="Lower CI limit as R's conf.lower.")
@click.option("--conf-type", type=click.Choice(["log", "log-log", "plain", "logit", "arcsin"]), default=None,
              help="Pointwise CI transform (default: the convention's).")
@click.option("--conf-level", type=float, default=0.95, show_default=True)
@click.option("--convention", type=click.Choice(["r", "sas", "spss", "lifelines"]), default="r", show_default=True,
              help="Median/quantile rule and median CI of that tool.")
@click.option("--extend", is_flag=True, help="Also estimate --at times past a curve's last observation "
              "(n at risk 0; R summary(fit, times, extend = TRUE)).")
@click.option("--timefix/--no-timefix", default=True, show_default=True,
              help="Merge times that differ only by floating-point error, as R (timefix = TRUE).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--table", "which", type=click.Choice(["summary", "curve", "landmarks"]), default="summary",
              show_default=True, help="Which table --format csv writes.")
@click.option("--output", "-o", help="Write to this file instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite an existing --output.")
@levels_option
@missing_option
@handle_errors
def km_command(data, example, time_col, event_col, by, entry, weights, at, quantiles, tau, followup, stype, ctype,
               conf_lower, conf_type, conf_level, convention, extend, timefix, drop_missing, fmt, which, output, force, levels):
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
    if tau is not None and tau not in ("common", "individual"):
        taus = parse_floats(tau, "--rmst")
        if len(taus) != 1:
            raise RisksetError(f"--rmst: give one time, 'common' or 'individual', not {tau!r}")
        tau = taus[0]
    lv = parse_levels(levels)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", riskset.RisksetWarning)
        fit = riskset.kaplan_meier(
            data, time=time_col, event=event_col, by=list(by) or None, entry=entry, weights=weights,
            conf_type=conf_type, conf_level=conf_level, convention=convention, drop_missing=drop_missing,
            levels=lv, stype=stype, ctype=ctype, conf_lower=conf_lower,
            timefix=timefix,
        )
        landmarks = fit.at(at_times, extend=extend) if at_times else None
        qs = fit.quantile(probs) if probs else None
        rm = fit.rmst(tau) if tau is not None else None
        fu = (
            riskset.median_followup(data, time=time_col, event=event_col, by=list(by) or None,
                                    entry=entry, weights=weights, conf_level=conf_level,
                                    drop_missing=drop_missing, levels=lv, timefix=timefix)
            if followup else None
        )
    _warnings_to_stderr(caught)
    if at_times and not extend:
        _note_past_followup(fit, at_times, landmarks)
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
        text = counts_as_integers(table).write_csv()
    else:
        text = render_km(fit, landmarks=landmarks, quantiles=qs, rmst=rm, followup=fu,
                         source=example or str(data), time=time_col, event=event_col)
    emit(text, output, force=force)


def _common_data_options(func):
    """DATA plus the role options shared by the log-rank and bootstrap commands."""
    opts = [
        click.argument("data"),
        click.option("--time", "time_col", required=True, help="Exit-time column."),
        click.option("--event", "event_col", required=True, help="Event column (1/0)."),
        click.option("--entry", help="Delayed-entry (left-truncation) time column."),
        click.option("--weights", "--weights-col", "weights_col", help="Case-weight column."),
        click.option("--timefix/--no-timefix", default=True, show_default=True,
                     help="Merge times that differ only by floating-point error, as R (timefix = TRUE)."),
        click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True),
        click.option("--output", "-o", help="Write to this file instead of standard output."),
        click.option("--force", is_flag=True, help="Overwrite an existing --output."),
        levels_option,
    ]
    func = missing_option(func)
    for opt in reversed(opts):
        func = opt(func)
    return func


def _frame_text(df) -> str:
    from riskset.cli.render import _fmt

    return _fmt(df) + "\n"


def _warnings_to_stderr(caught) -> None:
    """riskset's warnings on stderr, each message once (two estimates of one command read the
    same rows: their exclusions are one message)."""
    import riskset

    seen = set()
    for w in caught:
        if issubclass(w.category, riskset.RisksetWarning) and str(w.message) not in seen:
            seen.add(str(w.message))
            click.echo(f"riskset: warning: {w.message}", err=True)


def _note_past_followup(fit, at_times, landmarks) -> None:
    """Say on stderr which --at times were not estimated (past a curve's last observation)."""
    n_groups = max(fit.keys.height, 1)
    left = len(at_times) * n_groups - landmarks.height
    if left:
        click.echo(f"riskset: note: {left} landmark estimate{'s' if left != 1 else ''} past the last "
                   "observation not shown (as R; pass --extend to show them with n at risk 0)", err=True)


@main.command("logrank")
@_common_data_options
@click.option("--group", "groups", required=True, multiple=True, help="Group column (repeat to cross several).")
@click.option("--strata", multiple=True, help="Stratification column (repeat for several).")
@click.option("--weighting", type=click.Choice(["logrank", "wilcoxon", "tarone-ware", "peto", "fleming-harrington"]),
              default=None, help="Test weights (default log-rank; FH with --rho/--gamma).")
@click.option("--rho", type=float, default=0.0, show_default=True)
@click.option("--gamma", type=float, default=0.0, show_default=True)
@click.option("--trend", is_flag=True, help="Also test for trend across ordered groups (scores 1..G in "
              "level order; text groups need --levels).")
@click.option("--pairwise", type=click.Choice(["holm", "bonferroni", "bh", "none"]), default=None,
              help="Also run all pairwise tests with this p-value adjustment.")
@handle_errors
def logrank_command(data, time_col, event_col, entry, weights_col, drop_missing, timefix, fmt, output, force,
                    levels, groups, strata, weighting, rho, gamma, trend, pairwise):
    """Log-rank (and weighted) test comparing survival between groups, as R survdiff."""
    import warnings

    import riskset
    from riskset._km import _records

    kw = dict(time=time_col, event=event_col, group=list(groups), strata=list(strata) or None,
              entry=entry, weights=weights_col, rho=rho, gamma=gamma, weighting=weighting,
              drop_missing=drop_missing, levels=parse_levels(levels), timefix=timefix)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", riskset.RisksetWarning)
        res = riskset.logrank(data, **kw)
        tr = res.trend() if trend else None
        pw = riskset.logrank_pairwise(data, adjust=pairwise, **kw) if pairwise else None
    _warnings_to_stderr(caught)
    if fmt == "json":
        out = res.to_dict()
        if tr is not None:
            out["trend"] = tr.to_dict()
        if pw is not None:
            out["pairwise"] = _records(pw)
        text = json.dumps(out, indent=2, default=str) + "\n"
    elif fmt == "csv":
        text = counts_as_integers(res.table).write_csv()
    else:
        head = (f"Log-rank test ({res.weighting}) of {', '.join(groups)}"
                + (f", stratified by {', '.join(strata)}" if strata else "") + f": {data}\n")
        text = head + _frame_text(res.table)
        text += format_test(res.statistic, res.df, res.p_value) + "\n"
        if tr is not None:
            order = ", ".join(f"{g}: {k}" for g, k in tr.order.items())
            text += ("Trend test: " + format_test(tr.statistic, 1, tr.p_value) + "\n"
                     f"  scores: {tr.scores_text()} (level order: {order})\n")
        if pw is not None:
            text += "\nPairwise comparisons\n" + _frame_text(pw)
    emit(text, output, force=force)


@main.command("logrank-table")
@_common_data_options
@click.option("--factor", "factors", required=True, multiple=True, help="Factor to test (repeat).")
@click.option("--by", multiple=True, help="Subgroup column: one grid row per level and factor (repeat).")
@click.option("--strata", multiple=True, help="Stratification column (repeat).")
@click.option("--weighting", type=click.Choice(["logrank", "wilcoxon", "tarone-ware", "peto", "fleming-harrington"]),
              default=None)
@handle_errors
def logrank_table_command(data, time_col, event_col, entry, weights_col, drop_missing, timefix, fmt, output, force,
                          levels, factors, by, strata, weighting):
    """Batch grid of log-rank tests: every factor within every subgroup (a paper's Table 3)."""
    import warnings

    import riskset
    from riskset._km import _records

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", riskset.RisksetWarning)
        grid = riskset.logrank_table(data, time=time_col, event=event_col, factors=list(factors),
                                     by=list(by) or None, strata=list(strata) or None, entry=entry,
                                     weights=weights_col, weighting=weighting, drop_missing=drop_missing,
                                     levels=parse_levels(levels), timefix=timefix)
    _warnings_to_stderr(caught)
    if fmt == "json":
        text = json.dumps({"estimator": "logrank_table", "rows": _records(grid)}, indent=2) + "\n"
    elif fmt == "csv":
        text = counts_as_integers(grid).write_csv()
    else:
        text = _frame_text(grid)
    emit(text, output, force=force)


@main.command("bootstrap")
@_common_data_options
@click.option("--statistic", required=True, help="Comma-separated: median, quantile, survival, rmst, or a two-group "
              "contrast: median_difference, median_ratio, quantile_difference, survival_difference, "
              "survival_ratio, rmst_difference, rmst_ratio; or logrank; or cox_coef / hazard_ratio.")
@click.option("--group", help="Group column (per-group statistics, or the two groups of a contrast).")
@click.option("--at", "at", type=float, help="Landmark time for survival statistics.")
@click.option("--tau", type=float, help="Horizon for RMST statistics.")
@click.option("--p", "p", type=float, help="Probability for quantile statistics.")
@click.option("--resamples", type=int, default=2000, show_default=True)
@click.option("--method", type=click.Choice(["percentile", "basic", "bca"]), default="percentile", show_default=True)
@click.option("--conf-level", type=float, default=0.95, show_default=True)
@click.option("--seed", type=int, default=None, help="Seed: the same seed gives identical results "
              "(default: one is drawn, used and printed).")
@click.option("--strata", multiple=True, help="Resample within levels of this column (repeat).")
@click.option("--cluster", help="Resample clusters (e.g. patients), keeping their rows together.")
@click.option("--covariates", help="Cox statistics (cox_coef, hazard_ratio): comma-separated covariates.")
@click.option("--ties", type=click.Choice(["efron", "breslow"]), default="efron", show_default=True)
@click.option("--weighting", type=click.Choice(["logrank", "wilcoxon", "tarone-ware", "peto"]), default=None,
              help="For the logrank statistic.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@handle_errors
def bootstrap_command(data, time_col, event_col, entry, weights_col, drop_missing, timefix, fmt, output, force,
                      levels, statistic, group, at, tau, p, resamples, method, conf_level, seed, strata, cluster,
                      covariates, ties, weighting, progress):
    """Bootstrap confidence interval for a survival statistic."""
    import warnings

    import polars as pl

    import riskset

    if entry:
        raise RisksetError("bootstrap does not support --entry (delayed entry) yet")
    stats = [x.strip() for x in statistic.split(",") if x.strip()]
    extra = {"ties": ties, "weighting": weighting, "levels": parse_levels(levels), "timefix": timefix}
    if covariates:
        extra["covariates"] = [c.strip() for c in covariates.split(",") if c.strip()]
    show = sys.stderr.isatty() if progress is None else progress
    bar_ctx = click.progressbar(length=resamples, label="bootstrap", file=sys.stderr) if show else None

    def tick(done, total):
        if bar_ctx is not None:
            bar_ctx.update(done - bar_ctx.pos)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", riskset.RisksetWarning)
        if bar_ctx is not None:
            with bar_ctx:
                res = riskset.bootstrap(data, statistic=stats, time=time_col, event=event_col, group=group,
                                        weights=weights_col, at=at, tau=tau, p=p, n_resamples=resamples,
                                        method=method, conf_level=conf_level, strata=list(strata) or None,
                                        cluster=cluster, seed=seed, progress=tick, drop_missing=drop_missing,
                                        **extra)
        else:
            res = riskset.bootstrap(data, statistic=stats, time=time_col, event=event_col, group=group,
                                    weights=weights_col, at=at, tau=tau, p=p, n_resamples=resamples,
                                    method=method, conf_level=conf_level, strata=list(strata) or None,
                                    cluster=cluster, seed=seed, drop_missing=drop_missing, **extra)
    _warnings_to_stderr(caught)
    if fmt == "json":
        text = json.dumps(res.to_dict(), indent=2) + "\n"
    elif fmt == "csv":
        text = counts_as_integers(res.table).write_csv()
    else:
        drawn = " (drawn; pass --seed to repeat)" if res.seed_drawn else ""
        text = (f"Bootstrap {method} {conf_level:g} CI for {statistic} ({resamples} resamples, "
                f"seed {res.seed}{drawn}): {data}\n" + _frame_text(res.table))
        if "contrast" in res.table.columns:
            for row in res.table.filter(pl.col("contrast").is_not_null()).iter_rows(named=True):
                text += f"{row['statistic']}: {row['contrast']}\n"
    emit(text, output, force=force)


@main.command("cox")
@_common_data_options
@click.option("--covariates", required=True, help="Comma-separated covariate columns (categorical -> dummies).")
@click.option("--strata", multiple=True, help="Stratification column (repeat).")
@click.option("--cluster", help="Cluster column (robust, clustered variance).")
@click.option("--robust/--no-robust", default=None, help="Robust sandwich variance (default: as R).")
@click.option("--offset", help="Offset column.")
@click.option("--ties", type=click.Choice(["efron", "breslow", "exact"]), default="efron", show_default=True)
@click.option("--firth", is_flag=True, help="Firth's penalised partial likelihood (profile-likelihood CIs).")
@click.option("--conf-level", type=float, default=0.95, show_default=True)
@click.option("--reference", multiple=True, help="Reference level as COLUMN=LEVEL (repeat).")
@click.option("--zph", is_flag=True, help="Also test proportional hazards (R cox.zph).")
@click.option("--predict", "newdata", metavar="NEWDATA",
              help="Write predictions for each row of this data file instead of the model summary "
                   "(R predict.coxph(fit, newdata, se.fit = TRUE)).")
@click.option("--type", "pred_type", type=click.Choice(["lp", "risk", "expected", "survival"]), default="lp",
              show_default=True, help="Prediction type for --predict (expected/survival use NEWDATA's --time column).")
@handle_errors
def cox_command(data, time_col, event_col, entry, weights_col, drop_missing, timefix, fmt, output, force,
                levels, covariates, strata, cluster, robust, offset, ties, firth, conf_level, reference, zph,
                newdata, pred_type):
    """Cox proportional-hazards regression, as R coxph; flags monotone likelihood, offers Firth."""
    import warnings

    import riskset
    from riskset._km import _records

    ref = parse_references(reference)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", riskset.RisksetWarning)
        fit = riskset.cox(data, time=time_col, event=event_col,
                          covariates=[c.strip() for c in covariates.split(",") if c.strip()],
                          strata=list(strata) or None, entry=entry, weights=weights_col, cluster=cluster,
                          robust=robust, offset=offset, ties=ties, firth=firth, conf_level=conf_level,
                          reference=ref or None, drop_missing=drop_missing, levels=parse_levels(levels), timefix=timefix)
        ph = fit.cox_zph() if zph else None
    _warnings_to_stderr(caught)
    if newdata is not None:
        emit(_predict_text(fit, newdata, pred_type, fmt), output, force=force)
        return
    if fmt == "json":
        out = fit.to_dict()
        if ph is not None:
            out["cox_zph"] = _records(ph)
        text = json.dumps(out, indent=2, default=str) + "\n"
    elif fmt == "csv":
        text = counts_as_integers(fit.coefficients).write_csv()
    else:
        head = (f"Cox model ({ties} ties{', Firth penalised' if firth else ''}): {data}\n"
                f"n = {fit.n}"
                + (f" ({fit.n_excluded} rows with missing values excluded)" if fit.n_excluded else "")
                + f", events = {fit.n_events:g}, iterations = {fit.iterations}, "
                f"converged = {fit.converged}\n")
        text = head + _frame_text(fit.coefficients)
        if fit.references:
            text += f"Reference levels: {fit.references_text()}\n"
        for name, t in (("Likelihood ratio", fit.lr_test), ("Wald", fit.wald_test), ("Score", fit.score_test)):
            if t:
                text += format_test(t["statistic"], t["df"], t["p"], name=f"{name} test") + "\n"
        if ph is not None:
            text += "\nProportional-hazards test (cox.zph)\n" + _frame_text(ph)
        for w in fit.warnings:
            text += f"warning: {w}\n"
    emit(text, output, force=force)


@main.command("survreg")
@click.argument("data")
@click.option("--time", "time_col", help="Exit-time column (right-censored data).")
@click.option("--event", "event_col", help="Event column (1/0), with --time.")
@click.option("--lower", help="Interval-censored data: lower bound column (empty = left-censored).")
@click.option("--upper", help="Interval-censored data: upper bound column (empty = right-censored).")
@click.option("--covariates", default="", help="Comma-separated covariate columns (none: intercept only).")
@click.option("--dist", default="weibull", show_default=True,
              help="weibull, exponential, rayleigh, lognormal, loglogistic, extreme, logistic, gaussian, t.")
@click.option("--t-df", "t_df", type=float, default=4.0, show_default=True,
              help="Degrees of freedom of --dist t.")
@click.option("--strata", multiple=True, help="One scale per level of this column (repeat).")
@click.option("--weights", "--weights-col", "weights_col", help="Case-weight column.")
@click.option("--offset", help="Offset column.")
@click.option("--scale", type=float, default=None, help="Fix the scale at this value.")
@click.option("--reference", multiple=True, help="Reference level as COLUMN=LEVEL (repeat).")
@click.option("--conf-level", type=float, default=0.95, show_default=True)
@click.option("--max-iter", type=int, default=30, show_default=True)
@click.option("--compare", is_flag=True, help="Fit every distribution: log-likelihood, AIC and BIC.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--output", "-o", help="Write to this file instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite an existing --output.")
@missing_option
@data_levels_option
@handle_errors
def survreg_command(data, time_col, event_col, lower, upper, covariates, dist, t_df, strata, weights_col,
                    offset, scale, reference, conf_level, max_iter, compare, drop_missing, fmt,
                    output, force):
    """Parametric (accelerated failure time) survival regression, as R survreg."""
    import warnings

    import riskset
    from riskset._km import _records

    ref = parse_references(reference)
    kw = dict(time=time_col, event=event_col, lower=lower, upper=upper,
              covariates=[c.strip() for c in covariates.split(",") if c.strip()],
              strata=list(strata) or None, weights=weights_col, offset=offset, scale=scale,
              reference=ref or None, drop_missing=drop_missing, conf_level=conf_level,
              max_iter=max_iter, t_df=t_df)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", riskset.RisksetWarning)
        if compare:
            kw.pop("conf_level")
            table = riskset.compare_distributions(data, **kw)
        else:
            fit = riskset.survreg(data, dist=dist, **kw)
    _warnings_to_stderr(caught)
    if compare:
        if fmt == "json":
            text = json.dumps({"estimator": "compare_distributions", "rows": _records(table)},
                              indent=2) + "\n"
        elif fmt == "csv":
            text = counts_as_integers(table).write_csv()
        else:
            text = f"Parametric survival models compared: {data}\n" + _frame_text(table)
        emit(text, output, force=force)
        return
    if fmt == "json":
        text = json.dumps(fit.to_dict(), indent=2, default=str) + "\n"
    elif fmt == "csv":
        text = fit.coefficients.write_csv()
    else:
        text = f"Parametric survival regression: {data}\n" + fit.summary() + "\n"
        if fit.is_weibull_family and len(fit.scales) == 1 and len(fit.terms) > 1:
            text += "\nWeibull hazard ratios and acceleration factors\n" + _frame_text(
                fit.hazard_ratios())
    emit(text, output, force=force)


def _predict_text(fit, newdata: str, pred_type: str, fmt: str) -> str:
    """Predictions for each row of ``newdata``: its columns, then ``fit`` and ``se_fit``."""
    import polars as pl

    from riskset.io.read import to_polars

    frame = to_polars(newdata)
    pred = fit.predict_newdata(frame, pred_type)
    table = pl.concat([frame, pred.rename({"fit": pred_type})], how="horizontal")
    if fmt == "csv":
        return table.write_csv()
    if fmt == "json":
        from riskset._km import _records

        return json.dumps({"type": pred_type, "newdata": newdata, "predictions": _records(table)},
                          indent=2, default=str) + "\n"
    return (f"Cox model predictions (type = {pred_type}, with standard errors as R predict.coxph): "
            f"{newdata}\n") + _frame_text(table)


@main.command("concordance")
@click.argument("data")
@click.option("--time", "time_col", required=True, help="Exit-time column.")
@click.option("--event", "event_col", required=True, help="Event column (1/0).")
@click.option("--predictor", required=True, help="Predictor column (numeric).")
@click.option("--strata", multiple=True, help="Stratification column (repeat).")
@click.option("--weights", "--weights-col", "weights_col", help="Case-weight column.")
@click.option("--entry", help="Delayed-entry time column (timewt n only).")
@click.option("--timewt", type=click.Choice(["n", "S", "S/G", "n/G2", "I"]), default="n", show_default=True,
              help="Time weights (n: Harrell's C; n/G2: Uno's).")
@click.option("--reverse", is_flag=True,
              help="Larger predictor = shorter survival (a risk score); default: larger = longer, as R.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--output", "-o", help="Write to this file instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite an existing --output.")
@levels_option
@handle_errors
def concordance_command(data, time_col, event_col, predictor, strata, weights_col, entry, timewt, reverse,
                        fmt, output, force, levels):
    """Concordance of a predictor with survival (Harrell's C and time-weighted variants), as R
    concordance(): value, infinitesimal-jackknife standard error and pair counts."""
    import polars as pl

    import riskset
    from riskset.io.read import to_polars

    frame = to_polars(data, None, parse_levels(levels))
    res = riskset.concordance(frame, time=time_col, event=event_col, predictor=predictor,
                              strata=list(strata) or None, weights=weights_col, timewt=timewt,
                              reverse=reverse, entry=entry)
    if fmt == "json":
        text = json.dumps(res.to_dict(), indent=2, default=str) + "\n"
    elif fmt == "csv":
        row = {"predictor": predictor, "timewt": timewt, "reverse": reverse, "n": res.n,
               "concordance": res.value, "std": res.std, "variance": res.variance,
               "cox_variance": res.cox_variance, **res.counts}
        text = counts_as_integers(pl.DataFrame([row])).write_csv()
    else:
        text = repr(res) + "\n"
    emit(text, output, force=force)


@main.command("study")
@click.argument("spec", required=False)
@click.option("--example", type=click.Choice(["tdxd", "gbsg"]), help="Run a bundled study spec.")
@click.option("--out", "out", required=True, help="Output folder (tables, figures, results.json, report).")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@click.option("--jobs", type=click.IntRange(min=0), default=0, show_default=True,
              help="Analyses run on this many threads and figures on this many worker processes "
                   "(at most 4; 0: one per CPU). "
                   "Results do not depend on it.")
@click.option("--data", "data_override", help="Use this data file/folder instead of the spec's [data].")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@levels_option
@handle_errors
def study_command(spec, example, out, force, jobs, data_override, progress, levels):
    """Run a whole study from a TOML spec: tables, figures, results.json and an HTML report."""
    import os
    from pathlib import Path

    if bool(spec) == bool(example):
        raise RisksetError("give a SPEC file or --example NAME (one of them)")
    parse_levels(levels)  # a malformed --levels fails before anything runs
    if Path(out).exists() and not force:
        raise RisksetError(f"output folder {out!r} already exists; pass --force to replace it")
    if jobs == 0:
        jobs = max(1, min(8, os.cpu_count() or 1))
    # the figure workers start first: they import matplotlib on other cores while this
    # process imports the statistics and runs the analyses
    import contextlib

    from riskset.report.pool import FigurePool

    with FigurePool(jobs) if jobs > 1 else contextlib.nullcontext() as pool:
        from riskset.study.run import run_study, write_study
        from riskset.study.spec import load_spec

        if example:
            from importlib import resources

            spec = str(resources.files("riskset.study").joinpath("examples", f"{example}.toml"))
        sp = load_spec(spec)
        if data_override:
            sp.data_path, sp.example = str(Path(data_override).resolve()), None
        sp.levels.update(parse_levels(levels) or {})  # --levels adds to (or replaces) [levels]
        show = sys.stderr.isatty() if progress is None else progress
        bar = click.progressbar(length=1, label="study", file=sys.stderr, show_pos=True) if show else None

        def tick(name, done, total):
            if bar is not None:
                bar.length = total
                bar.label = f"study: {name}"
                bar.update(done - bar.pos)

        if bar is not None:
            with bar:
                result = run_study(sp, jobs=jobs, progress=tick, figure_pool=pool)
        else:
            result = run_study(sp, jobs=jobs, figure_pool=pool)
        path = write_study(result, out, force=force, jobs=jobs, figure_pool=pool)
        click.echo(f"wrote {path}/report.html, report.docx, tables.xlsx, results.json, {len(result.tables)} tables and "
                   f"{len(result.figures)} figures", err=True)
        for n in result.notes:
            click.echo(f"note: {n}", err=True)


# competing-risks commands live in their own module; importing it registers them
from riskset.cli import competing as _competing  # noqa: E402,F401


def _add_federated() -> None:
    from riskset.distributed.cli import federated  # riskset federated summarize / combine

    main.add_command(federated)


_add_federated()


def run() -> None:
    """The ``riskset`` console script: :func:`main`, then exit without module teardown.

    A finished command has written and closed its outputs; :mod:`riskset._exit` skips the
    ~0.7 s Python would spend freeing the loaded libraries. Tests call :func:`main` itself.
    """
    from riskset import _exit

    _exit.skip_teardown()
    try:
        main()
    except SystemExit as exc:  # click ends every run this way, with the command's status
        _exit.set_status(exc.code)
        raise


if __name__ == "__main__":  # pragma: no cover
    run()
