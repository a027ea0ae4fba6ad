"""Results read like R's print: repr, _repr_html_ and .plot() on every result (issue 17)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import riskset  # noqa: E402
from riskset.format import format_pvalue, format_signif  # noqa: E402


@pytest.fixture(scope="module")
def gbsg():
    return riskset.datasets.load("gbsg")


def test_km_repr_shows_every_summary_column(gbsg):
    fit = riskset.kaplan_meier(gbsg, time="rfstime", event="status", by="hormon")
    text = repr(fit)
    for col in fit.summary.columns:
        assert col in text
    assert "NR" in text  # hormon = 1: the upper limit is not reached (R prints NA)
    assert "null" not in text
    html = fit._repr_html_()
    assert "<table" in html and "median_upper" in html


def test_logrank_repr_reads_like_print_survdiff(gbsg):
    res = riskset.logrank(gbsg, time="rfstime", event="status", group="grade")
    text = repr(res)
    assert f"Chisq = {format_signif(res.statistic, 4)} on 2 df, p = {format_pvalue(res.p_value)}" in text
    tr = res.trend()
    t2 = repr(tr)
    assert "score" in t2 and f"p = {format_pvalue(tr.p_value)}" in t2
    assert "<table" in tr._repr_html_()


def test_cox_repr_and_forest_plot(gbsg):
    fit = riskset.cox(gbsg, time="rfstime", event="status", covariates=["age", "pgr", "hormon"])
    text = repr(fit)
    assert "n = 686, events = 299" in text
    assert "Likelihood ratio test" in text and "Wald test" in text
    assert "robust_se" not in text  # not a robust fit: no empty column
    fig = fit.plot()
    texts = [t.get_text() for ax in fig.axes for t in ax.texts] + [
        t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    joined = " | ".join(texts)
    # a per-unit HR keeps its digits (it read 1.00 (1.00-1.00))
    assert "0.997 (0.996–0.998)" in joined
    assert "pgr" in joined
    plt.close(fig)


def test_km_plot_returns_a_figure(gbsg):
    fit = riskset.kaplan_meier(gbsg, time="rfstime", event="status", by="hormon")
    fig = fit.plot(title="RFS", ci=True)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes[0].lines) >= 2  # one step curve per group
    plt.close(fig)


def test_other_results_have_readable_reprs(gbsg):
    d = riskset.rmst_diff(gbsg, time="rfstime", event="status", group="hormon", tau=1000)
    text = repr(d)
    assert "hormon=1 − hormon=0" in text  # the direction of the difference
    p = riskset.proportion_ci(39, 98)
    assert repr(p).startswith("39/98 = 39.8%")
    b = riskset.bootstrap(gbsg, time="rfstime", event="status", statistic="median", n_resamples=1000, seed=3)
    assert "seed 3" in repr(b) and "<table" in b._repr_html_()
