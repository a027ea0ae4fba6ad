"""Study specification: a TOML file describing a whole cohort study, validated strictly.

Every table and key is checked against the schema below; an unknown key is rejected with the
closest valid spelling, and every error names the key path and its line in the file.
Expressions (``[derive]``, cohort ``filter``, endpoint ``population``) are Polars SQL
expressions: they are compiled to Polars expressions and can never run Python code.

Schema (``?`` optional)::

    [study]      title, seed?, convention? (r|sas|spss|lifelines), conf_level?, conf_type?,
                 binomial_ci? (clopper-pearson|wilson), time_unit? (label for time axes),
                 ci_bands? (bool: pointwise CI bands on the Kaplan–Meier figures),
                 missing? (complete-case|error: rows missing a column an analysis needs),
                 extend? (bool: landmark rates past the last follow-up, n at risk 0)
    [data]       path (file or directory of Parquet; relative to the spec) | example (tdxd|gbsg)
                 id?  (patient id column)
    [derive]     name = "SQL expression"            (evaluated in order; may use earlier names)
    [[cohort]]   name, filter?                        (an "Overall" cohort is always added)
    [[endpoint]] name, time + event  |  start + event_date + censor_date (+ unit?), population?,
                 landmarks?, cohorts?, figure? (bool), extend? (bool; default [study] extend)
                 (unit: the endpoint's time unit, default [study] time_unit when it is one of
                 days|weeks|months|years, else months)
    [[factor]]   name, column, endpoint?, cohorts?, km? (bool: KM per level, figure),
                 hr? (bool: a Cox hazard ratio per cohort, in the Cox table and forest plot)
    [[cox]]      name, endpoint, covariates, cohort?, strata?, reference? (table), firth? (auto|true|false)
    [response]   column, complete?, partial?, stable?, progressive?, sd_duration?, sd_min?
    [baseline]   continuous?, categorical?, labels? (table column -> label)
    [safety]     grades (table label -> column), min_grade?, discontinuation?, discontinuation_reason?
    [[compare]]  name, column, endpoint, cohort?        (Table-4 style: median, ORR, DCR per level)
    [levels]     column = ["level", ...]              (level order of a column: its groups, table
                                                      rows, KM legends, and the Cox reference,
                                                      the first; see riskset.io.validate)
    [value_labels.COLUMN]  level = "label", ...       (the labels a column's levels show in every
                                                      table, legend and Cox term; in this order
                                                      unless [levels] orders the column; cohort
                                                      filters and references then use the labels)
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from riskset.errors import RisksetError


class SpecError(RisksetError):
    """The study specification is invalid; the message names the key and line."""


# key -> (type, required); nested tables described by their own dicts
_STUDY = {"title": (str, True), "seed": (int, False), "convention": (str, False),
          "conf_level": (float, False), "conf_type": (str, False), "binomial_ci": (str, False),
          "time_unit": (str, False), "ci_bands": (bool, False), "missing": (str, False),
          "extend": (bool, False)}
_DATA = {"path": (str, False), "example": (str, False), "id": (str, False)}
_COHORT = {"name": (str, True), "filter": (str, False)}
_ENDPOINT = {"name": (str, True), "time": (str, False), "event": (str, False), "start": (str, False),
             "event_date": (str, False), "censor_date": (str, False), "unit": (str, False),
             "population": (str, False), "landmarks": (list, False), "cohorts": (list, False),
             "figure": (bool, False), "extend": (bool, False)}
_FACTOR = {"name": (str, True), "column": (str, True), "endpoint": (str, False), "cohorts": (list, False),
           "km": (bool, False), "hr": (bool, False)}
_COX = {"name": (str, True), "endpoint": (str, True), "covariates": (list, True), "cohort": (str, False),
        "strata": (list, False), "reference": (dict, False), "firth": ((str, bool), False)}
_RESPONSE = {"column": (str, True), "complete": (str, False), "partial": (str, False),
             "stable": (str, False), "progressive": (str, False), "sd_duration": (str, False),
             "sd_min": (float, False)}
_BASELINE = {"continuous": (list, False), "categorical": (list, False), "labels": (dict, False)}
_SAFETY = {"grades": (dict, True), "min_grade": (int, False), "discontinuation": (str, False),
           "discontinuation_reason": (str, False)}
_COMPARE = {"name": (str, True), "column": (str, True), "endpoint": (str, True), "cohort": (str, False)}
#: What the items of a list (or the values of a table) must be, by (table, key).
_ITEMS: dict[tuple[str, str], tuple[type | tuple[type, ...], str]] = {
    ("endpoint", "landmarks"): ((int, float), "a number"),
    ("endpoint", "cohorts"): (str, "a cohort name"),
    ("factor", "cohorts"): (str, "a cohort name"),
    ("cox", "covariates"): (str, "a column name"),
    ("cox", "strata"): (str, "a column name"),
    ("cox", "reference"): (str, "a level (a string)"),
    ("baseline", "continuous"): (str, "a column name"),
    ("baseline", "categorical"): (str, "a column name"),
    ("baseline", "labels"): (str, "a label (a string)"),
    ("safety", "grades"): (str, "a column name"),
}
#: Pointwise CI transforms (the keys of riskset.engine.km.CONF_TYPES; not imported here, so
#: that reading a spec loads no kernels).
CONF_TYPES = ("log", "log-log", "plain", "logit", "arcsin")
_TOP = {"study": ("table", _STUDY), "data": ("table", _DATA), "derive": ("free", None),
        "cohort": ("array", _COHORT), "endpoint": ("array", _ENDPOINT), "factor": ("array", _FACTOR),
        "cox": ("array", _COX), "response": ("table", _RESPONSE), "baseline": ("table", _BASELINE),
        "safety": ("table", _SAFETY), "compare": ("array", _COMPARE), "levels": ("levels", None),
        "value_labels": ("value_labels", None)}

UNITS = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}


@dataclass
class Endpoint:
    name: str
    time: str | None = None
    event: str | None = None
    start: str | None = None
    event_date: str | None = None
    censor_date: str | None = None
    unit: str = "months"
    population: str | None = None
    landmarks: list[float] = field(default_factory=list)
    cohorts: list[str] | None = None
    figure: bool = True
    extend: bool = False  # landmark rates past the last follow-up (n at risk 0), as R extend=TRUE

    @property
    def time_col(self) -> str:
        return self.time or f"{self.name}__time"

    @property
    def event_col(self) -> str:
        return self.event or f"{self.name}__event"

    @property
    def days_col(self) -> str | None:
        """Whole days from start to end of an endpoint derived from dates (its time is days /
        the unit's length: the runner orders rows by the days, a counting sort)."""
        return f"{self.name}__days" if self.start else None


@dataclass
class Spec:
    """A validated study specification (see module docstring)."""

    path: Path | None
    text: str
    title: str
    seed: int
    convention: str
    conf_level: float
    conf_type: str | None
    binomial_ci: str
    time_unit: str
    data_path: str | None
    example: str | None
    id_column: str | None
    derive: dict[str, str]
    cohorts: list[dict[str, Any]]
    endpoints: list[Endpoint]
    factors: list[dict[str, Any]]
    cox: list[dict[str, Any]]
    response: dict[str, Any] | None
    baseline: dict[str, Any] | None
    safety: dict[str, Any] | None
    compare: list[dict[str, Any]]
    ci_bands: bool = False  # Kaplan–Meier figures with their pointwise CI bands
    levels: dict[str, list[str]] = field(default_factory=dict)  # [levels]: column -> level order
    missing: str = "complete-case"  # or "error": a missing value an analysis needs stops the run
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # [value_labels.COLUMN]

    def endpoint(self, name: str) -> Endpoint:
        for e in self.endpoints:
            if e.name == name:
                return e
        raise SpecError(f"unknown endpoint {name!r}; defined: " + ", ".join(e.name for e in self.endpoints))


def _line_of(text: str, path: list[str]) -> int | None:
    """1-based line of key ``path[-1]`` in table ``path[:-1]``; ``"#i"`` selects the i-th
    ``[[array]]`` entry (best effort: dotted keys and inline tables are not followed)."""
    want = [p for p in path[:-1] if not p.startswith("#")]
    nth = next((int(p[1:]) for p in path if p.startswith("#")), 1)
    key = re.escape(path[-1])
    table: list[str] = []
    seen: dict[str, int] = {}
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", s)
        if m:
            table = m.group(1).split(".")
            name = ".".join(table)
            seen[name] = seen.get(name, 0) + 1
            if not want and path[-1] == table[-1]:
                return i
            if table == want + [path[-1]] and nth == seen[name]:  # a [table.key] header
                return i
            continue
        if table == want and seen.get(".".join(table), 0) == nth and re.match(rf'^"?{key}"?\s*=', s):
            return i
    return None


def _where(text: str, path: list[str]) -> str:
    shown = ".".join(p for p in path if not p.startswith("#"))
    idx = [p for p in path if p.startswith("#")]
    if idx:
        shown += f" (entry {idx[0][1:]})"
    line = _line_of(text, path)
    return f"{shown!r}" + (f" (line {line})" if line else "")


def _check_table(text: str, where: list[str], got: dict[str, Any], schema: dict[str, tuple]) -> None:
    for k, v in got.items():
        if k not in schema:
            close = difflib.get_close_matches(k, list(schema), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; valid keys: " + ", ".join(schema)
            if k in ("drop_missing", "na_action", "na.action") and where[0] != "study":
                hint = ('; missing values are handled for the whole study: missing = "complete-case" '
                        '(the default) or "error" in [study]')
            raise SpecError(f"unknown key {_where(text, [*where, k])}{hint}")
        typ, _req = schema[k]
        ok = isinstance(v, typ) or (typ is float and isinstance(v, int) and not isinstance(v, bool))
        if not ok:
            tname = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
            raise SpecError(f"key {_where(text, [*where, k])} must be a {tname}, got {type(v).__name__}")
        items = _ITEMS.get((where[0], k))
        if items is not None:
            ityp, what = items
            values = list(v.items()) if isinstance(v, dict) else list(enumerate(v, 1))
            for j, x in values:
                if not isinstance(x, ityp) or isinstance(x, bool):
                    at = f"item {j}" if isinstance(v, list) else f"{j!r}"
                    raise SpecError(f"key {_where(text, [*where, k])}: {at} must be {what}, "
                                    f"got {x!r} ({type(x).__name__})")
    for k, (_typ, req) in schema.items():
        if req and k not in got:
            raise SpecError(f"missing required key {'.'.join([p for p in where if not p.startswith('#')] + [k])!r}"
                            + (f" in [{where[0]}] entry {where[1][1:]}" if len(where) > 1 else ""))


_NUMBER = re.compile(r"(?<![\w.])(\d+\.\d*|\.\d+)(?![\w.])")


def float_literals(expr: str) -> str:
    """Make decimal-point numeric literals double precision (``30.4375`` -> ``30.4375e0``).

    Polars SQL reads ``30.4375`` as a fixed-scale DECIMAL, so ``days / 30.4375`` would be
    rounded to 6 decimals; survival times must not be altered, so every such literal outside
    quoted strings is made a float. Literals with an exponent or without a point are kept.
    """
    out, i = [], 0
    for m in re.finditer(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", expr):
        out.append(_NUMBER.sub(r"\1e0", expr[i:m.start()]))
        out.append(m.group(0))
        i = m.end()
    out.append(_NUMBER.sub(r"\1e0", expr[i:]))
    return "".join(out)


def sql(expr: str) -> pl.Expr:
    """Compile a spec expression (Polars SQL, float literals; never Python) to a Polars expression."""
    return pl.sql_expr(float_literals(expr))


def _check_expr(text: str, where: list[str], expr: str) -> None:
    try:
        sql(expr)
    except Exception as exc:  # polars raises several error types for bad SQL
        raise SpecError(f"expression {expr!r} at {_where(text, where)} is not valid SQL: {exc}") from None


def parse_spec(text: str, path: Path | None = None) -> Spec:
    """Parse and validate a study specification (TOML text)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"spec is not valid TOML: {exc}") from None
    for k, v in raw.items():
        if k not in _TOP:
            close = difflib.get_close_matches(k, list(_TOP), n=1)
            hint = f"; did you mean [{close[0]}]?" if close else "; valid tables: " + ", ".join(_TOP)
            raise SpecError(f"unknown table [{k}] (line {_line_of(text, [k]) or '?'}){hint}")
        kind, schema = _TOP[k]
        if kind == "table":
            if not isinstance(v, dict):
                raise SpecError(f"[{k}] must be a table")
            _check_table(text, [k], v, schema)
        elif kind == "array":
            if not isinstance(v, list):
                raise SpecError(f"[[{k}]] must be an array of tables (write [[{k}]])")
            for i, item in enumerate(v, 1):
                _check_table(text, [k, f"#{i}"], item, schema)
        elif kind == "levels":
            _check_levels(text, v)
        elif kind == "value_labels":
            _check_value_labels(text, v)
        else:
            for name, expr in v.items():
                if not isinstance(expr, str):
                    raise SpecError(f"derived variable {_where(text, [k, name])} must be a SQL expression string")
                _check_expr(text, [k, name], expr)
    if "study" not in raw:
        raise SpecError("missing required table [study] (with at least title = \"...\")")
    if "data" not in raw or not ({"path", "example"} & set(raw["data"])):
        raise SpecError("missing [data] path = \"...\" (or example = \"tdxd\")")
    st = raw["study"]

    def choice(path: list[str], value: str, valid: tuple[str, ...]) -> str:
        if value not in valid:
            close = difflib.get_close_matches(str(value).lower(), list(valid), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SpecError(f"key {_where(text, path)} = {value!r} is not valid; choose one of: "
                            + ", ".join(repr(v) for v in valid) + hint)
        return value

    convention = choice(["study", "convention"], st.get("convention", "r"), ("r", "sas", "spss", "lifelines"))
    binom = choice(["study", "binomial_ci"], st.get("binomial_ci", "clopper-pearson"), ("clopper-pearson", "wilson"))
    if "conf_type" in st:
        choice(["study", "conf_type"], st["conf_type"], CONF_TYPES)
    missing = choice(["study", "missing"], st.get("missing", "complete-case"), ("complete-case", "error"))
    time_unit = st.get("time_unit", "months")
    conf_level = float(st.get("conf_level", 0.95))
    if not 0 < conf_level < 1:
        raise SpecError(f"key {_where(text, ['study', 'conf_level'])} must be in (0, 1), got {conf_level}")
    cohorts = raw.get("cohort", [])
    names = [c["name"] for c in cohorts]
    if len(set(names)) != len(names) or "Overall" in names:
        raise SpecError("cohort names must be unique and not 'Overall' (added automatically)")
    for i, c in enumerate(cohorts, 1):
        if "filter" in c:
            _check_expr(text, ["cohort", f"#{i}", "filter"], c["filter"])
    endpoints = []
    for i, e in enumerate(raw.get("endpoint", []), 1):
        ep = Endpoint(**{k: v for k, v in e.items()})
        if "unit" not in e and time_unit in UNITS:  # the study's unit (its tables say "1-year rate")
            ep.unit = time_unit
        if "extend" not in e:
            ep.extend = bool(st.get("extend", False))
        by_cols = bool(ep.time and ep.event)
        by_dates = bool(ep.start and ep.censor_date and ep.event_date)
        if by_cols == by_dates:
            raise SpecError(f"endpoint {ep.name!r} (entry {i}): give either time + event, or start + "
                            "event_date + censor_date")
        if ep.unit not in UNITS:
            choice(["endpoint", f"#{i}", "unit"], ep.unit, tuple(UNITS))
        for j, t in enumerate(ep.landmarks, 1):
            if not (math.isfinite(t) and t >= 0):
                raise SpecError(f"key {_where(text, ['endpoint', f'#{i}', 'landmarks'])}: item {j} must be a "
                                f"finite time >= 0, got {t!r}")
        if ep.population:
            _check_expr(text, ["endpoint", f"#{i}", "population"], ep.population)
        for c in ep.cohorts or []:
            if c not in names and c != "Overall":
                raise SpecError(f"endpoint {ep.name!r} names unknown cohort {c!r}; cohorts: Overall, " + ", ".join(names))
        endpoints.append(ep)
    ep_names = {e.name for e in endpoints}
    for kind in ("factor", "cox", "compare"):
        for i, item in enumerate(raw.get(kind, []), 1):
            ep = item.get("endpoint")
            if ep is not None and ep not in ep_names:
                raise SpecError(f"[[{kind}]] entry {i} ({item['name']!r}) names unknown endpoint {ep!r}; "
                                "endpoints: " + ", ".join(sorted(ep_names)))
            for c in [item.get("cohort")] + list(item.get("cohorts") or []):
                if c is not None and c not in names and c != "Overall":
                    raise SpecError(f"[[{kind}]] entry {i} ({item['name']!r}) names unknown cohort {c!r}")
    data = raw["data"]
    own = list(raw.get("cox", []))
    made = _factor_models(raw.get("factor", []), endpoints, names)
    taken = {m["name"] for m in own}
    for m in made:
        if m["name"] in taken:
            raise SpecError(f"a [[factor]] with hr = true makes the Cox model {m['name']!r}, a name a [[cox]] "
                            "entry already has; rename one of them")
    cox = own + made
    return Spec(
        path=path, text=text, title=st["title"], seed=int(st.get("seed", 0)), convention=convention,
        conf_level=conf_level, conf_type=st.get("conf_type"), binomial_ci=binom,
        time_unit=time_unit, data_path=data.get("path"), example=data.get("example"),
        id_column=data.get("id"), derive=dict(raw.get("derive", {})), cohorts=cohorts, endpoints=endpoints,
        factors=raw.get("factor", []), cox=cox, response=raw.get("response"),
        baseline=raw.get("baseline"), safety=raw.get("safety"), compare=raw.get("compare", []),
        ci_bands=st.get("ci_bands", False), levels=dict(raw.get("levels", {})), missing=missing,
        value_labels={c: dict(m) for c, m in raw.get("value_labels", {}).items()},
    )


def _check_value_labels(text: str, table: Any) -> None:
    """``[value_labels.COLUMN]``: level = "label" pairs, labels distinct non-empty strings."""
    if not isinstance(table, dict):
        raise SpecError('[value_labels] must be tables: [value_labels.column] level = "label"')
    for col, mapping in table.items():
        where = _where(text, ["value_labels", col])
        if not isinstance(mapping, dict) or not mapping:
            raise SpecError(f'key {where} must be a table of level = "label" pairs, e.g. '
                            f'[value_labels.{col}] 1 = "Male"')
        for level, label in mapping.items():
            if not isinstance(label, str) or not label.strip():
                raise SpecError(f"key {_where(text, ['value_labels', col, level])} must be a non-empty "
                                f"label (a string), got {label!r}")
        labels = list(mapping.values())
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise SpecError(f"key {where} gives the label(s) {', '.join(map(repr, dup))} to several levels")


def _check_levels(text: str, table: Any) -> None:
    """``[levels]``: each key a column, each value a non-empty list of distinct strings."""
    if not isinstance(table, dict):
        raise SpecError("[levels] must be a table: column = [\"level\", ...]")
    for col, lv in table.items():
        if not isinstance(lv, list) or not lv:
            raise SpecError(f"key {_where(text, ['levels', col])} must be a non-empty list of levels, "
                            f"in order")
        for j, x in enumerate(lv, 1):
            if not isinstance(x, str):
                raise SpecError(f"key {_where(text, ['levels', col])}: item {j} must be a level (a string), "
                                f"got {x!r} ({type(x).__name__})")
        dup = sorted({x for x in lv if lv.count(x) > 1})
        if dup:
            raise SpecError(f"key {_where(text, ['levels', col])} repeats {', '.join(map(repr, dup))}")


def _factor_models(factors: list[dict], endpoints: list[Endpoint], cohorts: list[str]) -> list[dict]:
    """The Cox models of the factors with ``hr = true``: the factor as the one covariate, in
    each of its cohorts (default: its endpoint's) and endpoints (default: every endpoint),
    named "<factor>, <cohort>" (and the endpoint, where the factor has several), after the
    spec's own ``[[cox]]`` models."""
    out = []
    for f in factors:
        if not f.get("hr"):
            continue
        eps = [e for e in endpoints if f.get("endpoint", e.name) == e.name]
        for e in eps:
            for c in f.get("cohorts") or e.cohorts or ["Overall", *cohorts]:
                name = f"{f['name']}, {c}" + (f" ({e.name})" if len(eps) > 1 else "")
                # the factor's levels as categories (a numeric code too), as in its log-rank
                # test; patients missing it are left out, as there (the table says how many)
                out.append({"name": name, "endpoint": e.name, "cohort": c, "covariates": [f["column"]],
                            "firth": "auto", "categorical": True})
    return out


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec file."""
    p = Path(path)
    if not p.exists():
        raise SpecError(f"spec file {str(p)!r} does not exist")
    return parse_spec(p.read_text(encoding="utf-8"), p)
