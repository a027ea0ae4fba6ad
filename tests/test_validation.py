"""Bad input: every problem gives a typed error naming the column, count and first row."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import riskset
from riskset.errors import ColumnError, EmptyDataError, OptionError, RisksetError, RisksetWarning


def km(d, **kw):
    kw.setdefault("time", "t")
    kw.setdefault("event", "e")
    return riskset.kaplan_meier(d, **kw)


BASE = {"t": [1.0, 2.0, 3.0, 4.0], "e": [1, 0, 1, 1]}


def with_(**cols):
    d = dict(BASE)
    d.update(cols)
    return pl.DataFrame(d, strict=False)


@pytest.mark.parametrize(
    ("data", "kwargs", "column", "fragment", "n_rows", "first_row"),
    [
        (with_(t=[1.0, -2.0, 3.0, -1.0]), {}, "t", "negative", 2, 1),
        (with_(t=[1.0, 2.0, float("inf"), 4.0]), {}, "t", "infinite", 1, 2),
        (with_(t=[1.0, None, 3.0, 4.0]), {"drop_missing": False}, "t", "missing", 1, 1),
        (with_(t=[1.0, float("nan"), 3.0, 4.0]), {"drop_missing": False}, "t", "missing", 1, 1),
        (with_(e=[1, 2, 0, 2]), {}, "e", "other than 0/1", 2, 1),
        (with_(en=[0.0, 2.0, 0.5, 5.0]), {"entry": "en"}, "en", "entry >= exit", 2, 1),
        (with_(w=[1.0, -1.0, 1.0, 1.0]), {"weights": "w"}, "w", "negative", 1, 1),
        (with_(w=[1.0, float("nan"), 1.0, 1.0]), {"weights": "w", "drop_missing": False}, "w", "missing", 1, 1),
        (with_(g=[None, None, None, None]), {"by": "g"}, "g", "entirely null", 4, 0),
        (with_(g=["a", None, "b", "a"]), {"by": "g", "drop_missing": False}, "g", "missing", 1, 1),
    ],
)
def test_column_errors(data, kwargs, column, fragment, n_rows, first_row):
    with pytest.raises(ColumnError) as info:
        km(data, **kwargs)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.column == column
    assert fragment in str(err)
    assert err.n_rows == n_rows
    assert err.first_row == first_row


def test_non_numeric_time():
    with pytest.raises(ColumnError, match="must be numeric"):
        km(with_(t=["1", "2", "3", "4"]))


def test_missing_column_suggests():
    with pytest.raises(ColumnError, match="did you mean 't'"):
        km(with_(), time="tt")


def test_empty_data():
    with pytest.raises(EmptyDataError):
        km(pl.DataFrame({"t": [], "e": []}, schema={"t": pl.Float64, "e": pl.Int8}))


def test_drop_missing_reports_count():
    d = with_(t=[1.0, None, 3.0, 4.0], g=["a", "b", None, "a"])
    with pytest.warns(RisksetWarning, match=r"excluded 2 of 4 rows with missing values in 't' \(1\), 'g' \(1\)"):
        fit = km(d, by="g", drop_missing=True)
    assert fit.summary["n"].sum() == 2


def test_errors_report_input_row_after_drop():
    d = with_(t=[None, 2.0, -3.0, 4.0])
    with pytest.warns(RisksetWarning), pytest.raises(ColumnError) as info:
        km(d, drop_missing=True)
    assert info.value.first_row == 2


def test_bad_options():
    with pytest.raises(OptionError, match="'log', 'log-log'"):
        km(with_(), conf_type="loglog")
    with pytest.raises(OptionError):
        km(with_(), convention="stata")
    with pytest.raises(OptionError):
        km(with_(), conf_level=1.5)
    with pytest.raises(RisksetError, match="unsupported data type"):
        km([1, 2, 3])


def test_boolean_event_and_r_status_hint():
    assert km(with_(e=[True, False, True, True])).summary["events"][0] == 3
    with pytest.raises(ColumnError, match="status - 1"):
        km(with_(e=[2, 1, 2, 2]))


def test_input_is_not_modified():
    t = np.array([3.0, 1.0, 2.0, 2.0])
    e = np.array([1, 0, 1, 1])
    km({"t": t, "e": e})
    assert t.tolist() == [3.0, 1.0, 2.0, 2.0] and e.tolist() == [1, 0, 1, 1]


def test_quiet_silences_riskset_warnings_in_this_thread_only():
    """errors.quiet: a Cox fit keeps its messages (fit.warnings) and emits none in the quiet
    thread, while a fit on another thread still warns (no process-wide warning state)."""
    import threading
    import warnings

    import polars as pl

    import riskset
    from riskset.errors import quiet

    d = pl.DataFrame({"t": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "e": [1, 1, 1, 0, 0, 0], "x": [1, 1, 1, 0, 0, 0]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet():
            fit = riskset.cox(d, time="t", event="e", covariates=["x"])
        assert fit.warnings and not caught
        seen = []

        def other():
            seen.append(riskset.cox(d, time="t", event="e", covariates=["x"]).warnings)

        with quiet():  # this thread quiet; the other thread is not
            th = threading.Thread(target=other)
            th.start()
            th.join()
        assert seen[0] and any(issubclass(w.category, riskset.MonotoneLikelihoodWarning) for w in caught)
