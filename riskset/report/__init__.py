"""Report building: publication figures and self-contained HTML / Markdown reports.

Needs matplotlib (imported only when this subpackage is used).

Figures (:mod:`riskset.report.figures`)
    :func:`km_figure`, :func:`forest_figure`, :func:`save_figure`, :func:`format_p`.
Reports (:mod:`riskset.report.html`)
    :class:`Report`, :class:`Section`, :class:`Table`, :class:`Figure`,
    :func:`render_html`, :func:`render_markdown`, :func:`write_report`,
    :func:`figure_from_matplotlib`, :func:`figure_files`.
"""

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
