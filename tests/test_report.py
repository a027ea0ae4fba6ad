"""Report figures (KM with risk table, forest) and the HTML / Markdown renderers."""

from __future__ import annotations

import base64
import re

import matplotlib
import numpy as np
import polars as pl
import pytest

import riskset
from riskset.errors import OptionError, RisksetError
from riskset.report import (
    Figure,
    Report,
    Section,
    Table,
    figure_files,
    figure_from_matplotlib,
    forest_figure,
    format_cell,
    format_p,
    km_figure,
    render_html,
    render_markdown,
    save_figure,
    write_report,
)
from riskset.report.figures import _MARK_GRID

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def gbsg() -> pl.DataFrame:
    return riskset.datasets.load("gbsg")


@pytest.fixture(scope="module")
def fit(gbsg):
    return riskset.kaplan_meier(gbsg, time="rfstime", event="status", by="hormon")


@pytest.fixture(scope="module")
def test(gbsg):
    return riskset.logrank(gbsg, time="rfstime", event="status", group="hormon")


@pytest.fixture
def forest_rows() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "label": ["Hormone therapy", "Grade 3 vs 1", "Menopausal", "Tiny subgroup"],
            "estimate": [0.69, 2.4, None, 3.1],
            "lower": [0.55, 1.35, None, 0.2],
            "upper": [0.86, 4.2, None, float("inf")],
            "p_value": [0.0034, 0.0001, None, 0.4],
            "n": [686, 161, 290, 12],
            "note": [None, None, "monotone likelihood: no events in one level", None],
        }
    )


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


# --------------------------------------------------------------------------------------------
# Kaplan–Meier figure
# --------------------------------------------------------------------------------------------
def test_km_figure_risk_table_matches_fit_at(fit, test):
    fig = km_figure(fit, pvalue=test, xlabel="Days", title="RFS")
    assert len(fig.axes) == 2
    ax, tax = fig.axes
    assert ax.get_xlabel() == "Days"
    assert ax.get_ylabel() == "Survival probability"
    assert ax.get_title(loc="left") == "RFS"
    # legend labels from fit.keys
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["hormon=0", "hormon=1"]
    # risk table: one row per group, labelled like the legend (top row = first group)
    assert [t.get_text() for t in tax.get_yticklabels()] == ["hormon=1", "hormon=0"]
    assert tax.get_title(loc="left") == "Number at risk"
    ticks = np.asarray(ax.get_xticks())
    assert ticks[0] == 0 and ticks.size >= 4
    expected = fit.at(ticks, extend=True)["n_risk"].to_numpy()
    shown = {}
    for t in tax.texts:
        gid = t.get_gid()
        assert gid.startswith("risk-")
        _, g, j = gid.split("-")
        shown[int(g), int(j)] = t
    assert len(shown) == 2 * ticks.size
    for (g, j), t in shown.items():
        assert float(t.get_text()) == expected[g * ticks.size + j]
        assert t.get_position()[0] == pytest.approx(ticks[j])  # aligned with the x ticks
        # coloured like the group's curve
        assert matplotlib.colors.same_color(t.get_color(), ax.lines[_curve_index(ax, g)].get_color())
    # first column is the full sample size per group
    assert [int(shown[g, 0].get_text()) for g in range(2)] == [440, 246]
    # p-value text
    assert "Log-rank p = 0.003" in _texts(ax)


def _curve_index(ax, g: int) -> int:
    curves = [i for i, ln in enumerate(ax.lines) if ln.get_label() and not ln.get_label().startswith("_")]
    return curves[g]


def test_km_figure_curves_start_at_one_and_step_post(fit):
    fig = km_figure(fit, censor_marks=False)
    ax = fig.axes[0]
    assert len(ax.lines) == 2
    tab = fit.table.filter(pl.col("hormon") == 0)
    line = ax.lines[0]
    x, y = line.get_xdata(), line.get_ydata()
    assert line.get_drawstyle() == "steps-post"
    assert (x[0], y[0]) == (0.0, 1.0)
    np.testing.assert_allclose(x[1:], tab["time"].to_numpy())
    np.testing.assert_allclose(y[1:], tab["survival"].to_numpy())


def test_km_figure_censor_marks(fit):
    fig = km_figure(fit)
    ax = fig.axes[0]
    marks = [ln for ln in ax.lines if (ln.get_gid() or "").startswith("censor-")]
    assert len(marks) == 2
    xmax = fit.table["time"].max()
    for g, ln in enumerate(marks):
        # one path of "+" strokes: horizontal stroke, break, vertical stroke, break per mark
        x, y = np.asarray(ln.get_xdata()), np.asarray(ln.get_ydata())
        assert x.size % 6 == 0 and np.isnan(x[2::3]).all() and np.isnan(y[2::3]).all()
        tab = fit.table.filter((pl.col("hormon") == g) & (pl.col("n_censor") > 0))
        t, s = tab["time"].to_numpy(), tab["survival"].to_numpy()
        mx, my = x[3::6], y[0::6]  # the vertical stroke's time, the horizontal stroke's S(t)
        np.testing.assert_array_equal(x[4::6], mx)
        np.testing.assert_allclose((x[0::6] + x[1::6]) / 2, mx)
        np.testing.assert_allclose((y[3::6] + y[4::6]) / 2, my)
        # marks are censoring points, kept once per grid cell of the panel (first in time)
        want, seen = [], set()
        for a, b in zip(t, s, strict=True):
            cell = (round(a / xmax * _MARK_GRID), round(b * _MARK_GRID))
            if cell not in seen:
                seen.add(cell)
                want.append((a, b))
        np.testing.assert_allclose(mx, [a for a, _ in want])
        np.testing.assert_allclose(my, [b for _, b in want])
        assert len(want) < t.size  # gbsg has censorings closer than one cell: some merge
    fig2 = km_figure(fit, censor_marks=False)
    assert not [ln for ln in fig2.axes[0].lines if (ln.get_gid() or "").startswith("censor-")]


def test_km_figure_ci_single_curve_labels_and_options(gbsg, fit):
    one = riskset.kaplan_meier(gbsg, time="rfstime", event="status")
    fig = km_figure(one, ci=True, risk_times=[0, 365, 730, 1095])
    ax, tax = fig.axes
    assert len(ax.collections) >= 1  # the CI band
    assert [t.get_text() for t in tax.get_yticklabels()] == ["All"]
    assert list(ax.get_xticks()) == [0, 365, 730, 1095]
    shown = [int(t.get_text()) for t in tax.texts]
    assert shown == [int(v) for v in one.at([0, 365, 730, 1095], extend=True)["n_risk"]]
    assert ax.get_legend() is None

    fig = km_figure(fit, labels={"hormon=1": "Tamoxifen"}, risk_table=False, xmax=1000)
    assert len(fig.axes) == 1
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["hormon=0", "Tamoxifen"]
    assert fig.axes[0].get_xlim()[1] == pytest.approx(1015.0)
    with pytest.raises(OptionError):
        km_figure(fit, labels=["only one"])
    with pytest.raises(OptionError):
        km_figure(fit, pvalue=1.5)


def test_import_does_not_touch_pyplot_or_backend():
    import subprocess
    import sys

    code = (
        "import matplotlib; b = matplotlib.rcParams._get_backend_or_none();"
        "import riskset.report, riskset, sys;"
        "d = riskset.datasets.load('gbsg');"
        "riskset.report.km_figure(riskset.kaplan_meier(d, time='rfstime', event='status'));"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported';"
        "assert matplotlib.rcParams._get_backend_or_none() == b, 'backend changed'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_km_figure_leaves_rcparams_alone(fit):
    before = dict(matplotlib.rcParams)
    km_figure(fit)
    after = dict(matplotlib.rcParams)
    assert before == after


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0004, "p < 0.001"), (0.0034, "p = 0.003"), (0.0496, "p = 0.0496"), (0.04, "p = 0.040"),
     (0.27, "p = 0.27"), (1.0, "p = 1.00")],
)
def test_format_p(p, text):
    assert format_p(p, prefix="p") == text


# --------------------------------------------------------------------------------------------
# forest plot
# --------------------------------------------------------------------------------------------
def test_forest_not_estimable_row_is_text_only(forest_rows):
    fig = forest_figure(forest_rows, title="Cox")
    plot_ax = next(a for a in fig.axes if a.get_xscale() == "log")
    assert plot_ax.get_xlabel() == "Hazard ratio (95% CI)"
    points = [ln for ln in plot_ax.lines if ln.get_marker() == "s"]
    assert len(points) == 3  # not the flagged row
    ne = [t for t in plot_ax.texts if (t.get_gid() or "").startswith("not-estimable-")]
    assert len(ne) == 1
    assert ne[0].get_text().replace("\n", " ") == (
        "not estimable: monotone likelihood: no events in one level"
    )
    all_text = [t.get_text() for a in fig.axes for t in a.texts]
    assert "0.69 (0.55–0.86)" in all_text
    assert "< 0.001" in all_text and "0.003" in all_text
    assert "HR (95% CI)" in all_text
    # infinite upper limit: clipped at the axis edge with an arrow head
    arrows = [ln for ln in plot_ax.lines if (ln.get_gid() or "") == "clipped-3-upper"]
    assert len(arrows) == 1 and arrows[0].get_marker() == ">"
    assert arrows[0].get_xdata()[0] == pytest.approx(plot_ax.get_xlim()[1])
    # the reference line at 1
    assert any(ln.get_linestyle() == "--" and list(ln.get_xdata()) == [1.0, 1.0] for ln in plot_ax.lines)


def test_forest_huge_ci_and_linear_scale():
    rows = pl.DataFrame(
        {"label": ["a", "b"], "estimate": [1.2, 0.9], "lower": [1e-6, 0.8], "upper": [5e6, 1.0]}
    )
    fig = forest_figure(rows, log_scale=True)
    ax = next(a for a in fig.axes if a.get_xscale() == "log")
    lo, hi = ax.get_xlim()
    assert lo > 0.01 and hi < 100  # the axis is not stretched to the absurd limits
    gids = {ln.get_gid() for ln in ax.lines}
    assert {"clipped-0-lower", "clipped-0-upper"} <= gids
    diff = pl.DataFrame({"label": ["d"], "estimate": [-0.3], "lower": [-0.5], "upper": [-0.1]})
    fig = forest_figure(diff, log_scale=False, ref=0.0, xlabel="Difference")
    assert any(a.get_xlabel() == "Difference" and a.get_xscale() == "linear" for a in fig.axes)
    with pytest.raises(OptionError):
        forest_figure(pl.DataFrame({"label": ["x"]}))


# --------------------------------------------------------------------------------------------
# saving
# --------------------------------------------------------------------------------------------
def test_save_figure_refuses_overwrite(tmp_path, fit):
    fig = km_figure(fit)
    out = save_figure(fig, tmp_path / "sub" / "km")
    assert set(out) == {"png", "svg"}
    assert out["png"].read_bytes().startswith(PNG_MAGIC)
    assert "<svg" in out["svg"].read_text()
    before = out["png"].read_bytes()
    with pytest.raises(RisksetError, match="already exists"):
        save_figure(km_figure(fit, ci=True), tmp_path / "sub" / "km")
    assert out["png"].read_bytes() == before
    save_figure(km_figure(fit, ci=True), tmp_path / "sub" / "km", force=True)
    assert out["png"].read_bytes() != before
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["km.png", "km.svg"]  # no temp files


# --------------------------------------------------------------------------------------------
# reports
# --------------------------------------------------------------------------------------------
@pytest.fixture
def report(fit, test, forest_rows) -> Report:
    km = figure_from_matplotlib("KM <by> hormon", km_figure(fit, pvalue=test), caption="cap & note")
    forest = figure_from_matplotlib("Forest", forest_figure(forest_rows))
    lr = test.table.with_columns(p_value=pl.lit(test.p_value), note=pl.lit(None, pl.String))
    return Report(
        title="gbsg <report> & co",
        sections=[
            Section("Survival", "First paragraph.\n\nSecond <script>alert(1)</script>.",
                    [Table("Medians", fit.summary, note="days"), Table("Log-rank", lr)], [km]),
            Section("Cox | model", None, [Table("HR", forest_rows)], [forest]),
        ],
        meta={"spec": "analysis:\n  type: km\n  note: <x> & ```\n", "data_sha256": "0" * 64,
              "riskset_version": riskset.__version__, "seed": 42,
              "generated_at": "2024-01-01T00:00:00Z"},
    )


def test_figure_from_matplotlib(fit):
    f = figure_from_matplotlib("t", km_figure(fit))
    assert isinstance(f, Figure)
    assert f.png.startswith(PNG_MAGIC)
    assert f.svg is not None and "<svg" in f.svg


def test_render_html_self_contained(report):
    doc = render_html(report)
    assert doc.startswith("<!DOCTYPE html>")
    # no external resources at all, no scripts
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", doc, re.IGNORECASE)
    assert "http://" not in doc and "https://" not in doc
    assert "<script" not in doc.lower().replace("&lt;script", "")
    assert "<link" not in doc.lower()
    # figures embedded as base64 PNG
    imgs = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', doc)
    assert len(imgs) == 2
    assert all(base64.b64decode(b).startswith(PNG_MAGIC) for b in imgs)
    # escaping
    assert "gbsg &lt;report&gt; &amp; co" in doc
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    assert "<script>" not in doc
    # table of contents with internal anchors, and every anchor exists
    for target in re.findall(r'href="#([^"]+)"', doc):
        assert f'id="{target}"' in doc
    assert 'href="#provenance"' in doc
    # provenance with the spec in a <pre>
    assert re.search(r"<pre[^>]*>analysis:\n  type: km\n  note: &lt;x&gt; &amp; ```\n</pre>", doc)
    assert "0" * 64 in doc
    # tables: numbers formatted, nulls as a dash, note column present
    assert "<th scope=\"col\">note</th>" in doc
    assert '<td class="null">—</td>' in doc
    assert ">0.003<" in doc  # p-value column
    assert ">180.3<" in doc  # expected events, 4 significant digits


def test_render_html_inline_svg(report):
    doc = render_html(report, inline_svg=True)
    assert doc.count("<svg") == 2
    assert "<img" not in doc
    assert "<!DOCTYPE svg" not in doc and "<?xml" not in doc
    assert not re.search(r"(src|href)\s*=\s*[\"'](https?:)?//", doc)


def test_render_markdown(report, tmp_path):
    md = render_markdown(report, "figs")
    lines = md.splitlines()
    assert lines[0] == "# gbsg &lt;report&gt; &amp; co"
    # pipe tables: header, alignment row, one row per frame row
    i = lines.index("**Medians**")
    assert lines[i + 2] == "| hormon | n | events | median | median_lower | median_upper |"
    assert lines[i + 3] == "|---:|---:|---:|---:|---:|---:|"
    assert lines[i + 4] == "| 0 | 440 | 205 | 1528 | 1296 | 1814 |"
    assert lines[i + 5] == "| 1 | 246 | 94 | 2018 | 1918 | — |"
    assert "| Menopausal | — | — | — | — | 290 | monotone likelihood: no events in one level |" in lines
    assert "## 2. Cox \\| model" not in md and "## 2. Cox | model" in md
    names = [n for _, n in figure_files(report)]
    assert names == ["fig-1-1-km-by-hormon.png", "fig-2-1-forest.png"]
    assert "![KM &lt;by&gt; hormon](figs/fig-1-1-km-by-hormon.png)" in md
    # the spec fence is longer than any backtick run inside it
    assert "````\nanalysis:" in md
    assert "data:image" not in md
    assert "data:image/png;base64," in render_markdown(report, None)


def test_write_report(report, tmp_path):
    out = write_report(report, tmp_path / "r.md")
    assert [p.name for p in out["figures"]] == [n for _, n in figure_files(report)]
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in out["figures"])
    assert "](r_figures/fig-1-1-km-by-hormon.png)" in (tmp_path / "r.md").read_text()
    with pytest.raises(RisksetError, match="already exists"):
        write_report(report, tmp_path / "r.md")
    write_report(report, tmp_path / "r.md", force=True)
    out = write_report(report, tmp_path / "r.html")
    assert out["report"].read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(RisksetError):
        write_report(report, tmp_path / "r.html")
    with pytest.raises(OptionError):
        write_report(report, tmp_path / "r.txt")


@pytest.mark.parametrize(
    ("value", "p", "text"),
    [(None, False, "—"), (float("nan"), False, "—"), (440.0, False, "440"), (0.69234, False, "0.6923"),
     (1807.46, False, "1807.5"), (1.2e-7, False, "1.200e-07"), (0.0004, True, "< 0.001"),
     (float("inf"), False, "∞"), (3, False, "3"), ("a|b", False, "a|b"), (True, False, "true")],
)
def test_format_cell(value, p, text):
    assert format_cell(value, p_value=p) == text


def test_svg_clip_ids_are_stable_and_unique_per_figure(forest_rows):
    """Clip-path names depend only on the drawing; two figures never share one."""
    from riskset.report.figures import render_figure

    a = render_figure(forest_figure(forest_rows, title="A"))["svg"].decode()
    a2 = render_figure(forest_figure(forest_rows, title="A"))["svg"].decode()
    b = render_figure(forest_figure(forest_rows, title="B"))["svg"].decode()
    assert a == a2
    ids_a = set(re.findall(r'<clipPath id="([^"]+)"', a))
    ids_b = set(re.findall(r'<clipPath id="([^"]+)"', b))
    assert ids_a and ids_b and not ids_a & ids_b
    assert set(re.findall(r"url\(#([^)]+)\)", a)) <= ids_a  # every reference resolves
