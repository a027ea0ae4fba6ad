"""Report building: publication figures and self-contained HTML / Markdown reports.

Needs matplotlib (imported only when a figure is made).

Figures (:mod:`riskset.report.figures`)
    :func:`km_figure`, :func:`forest_figure`, :func:`save_figure`, :func:`format_p`.
Reports (:mod:`riskset.report.html`)
    :class:`Report`, :class:`Section`, :class:`Table`, :class:`Figure`,
    :func:`render_html`, :func:`render_markdown`, :func:`write_report`,
    :func:`figure_from_matplotlib`, :func:`figure_files`.

Inside: :mod:`~riskset.report.figures` decides what a figure shows (plain arrays and texts,
``km_figure_args`` / ``forest_figure_args``), :mod:`~riskset.report.draw` draws it with
matplotlib only, :mod:`~riskset.report.render` renders PNG + SVG bytes, and
:mod:`~riskset.report.pool` draws many figures in worker processes.
"""

from typing import TYPE_CHECKING

from riskset._lazy import lazy_names

if TYPE_CHECKING:
    from riskset.report.figures import PALETTE, forest_figure, format_p, km_figure, save_figure
    from riskset.report.html import (
        Figure,
        Report,
        Section,
        Table,
        figure_files,
        figure_from_matplotlib,
        format_cell,
        render_html,
        render_markdown,
        write_report,
    )

# imported on first use, so that a process drawing figures (riskset.report.draw) imports
# neither Polars nor the report writer
_FIGURES = ("PALETTE", "forest_figure", "format_p", "km_figure", "save_figure")
_HTML = ("Figure", "Report", "Section", "Table", "figure_files", "figure_from_matplotlib",
         "format_cell", "render_html", "render_markdown", "write_report")
__getattr__, __dir__ = lazy_names(
    __name__, globals(),
    {**dict.fromkeys(_FIGURES, "riskset.report.figures"), **dict.fromkeys(_HTML, "riskset.report.html")},
)

__all__ = [
    "PALETTE",
    "Figure",
    "Report",
    "Section",
    "Table",
    "figure_files",
    "figure_from_matplotlib",
    "forest_figure",
    "format_cell",
    "format_p",
    "km_figure",
    "render_html",
    "render_markdown",
    "save_figure",
    "write_report",
]
