"""A small report model (title, sections of text, tables and figures, provenance) and renderers.

:func:`render_html` writes ONE self-contained HTML file: inline CSS, figures embedded as
base64 PNG (or inline SVG), no external URL and no JavaScript. :func:`render_markdown` writes
the same content as Markdown, with figures as links to PNG files (see :func:`figure_files`)
or, without a figure folder, as data URIs. :func:`write_report` writes either, atomically.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from riskset.errors import OptionError, RisksetError

__all__ = [
    "Figure",
    "Report",
    "Section",
    "Table",
    "figure_files",
    "figure_from_matplotlib",
    "format_cell",
    "render_html",
    "render_markdown",
    "write_report",
]

NULL = "—"
_P_COLUMNS = re.compile(r"^(p|p_?value|p_adj(usted)?|p_?val|pr?\(>.*\)|p_[a-z_]+)$", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------------
@dataclass
class Table:
    """A titled Polars table; ``note`` is printed under it."""

    title: str
    frame: pl.DataFrame
    note: str | None = None


@dataclass
class Figure:
    """A titled figure as PNG bytes (and optionally SVG text)."""

    title: str
    png: bytes
    svg: str | None = None
    caption: str | None = None
    #: its PNG's file name when the caller writes the files itself (e.g. the study writer's
    #: ``figures/<name>.png``); :func:`figure_files` names it otherwise
    file: str | None = None


@dataclass
class Section:
    """A report section: free text (paragraphs split on blank lines), tables, figures."""

    title: str
    text: str | None = None
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


@dataclass
class Report:
    """A report: sections plus provenance ``meta`` (spec text, data hash, version, seed, ...).

    ``meta["spec"]`` (if present) is shown verbatim in a preformatted block; other values
    are shown as text (dicts and lists as indented JSON).
    """

    title: str
    sections: list[Section]
    meta: dict[str, Any] = field(default_factory=dict)


def figure_from_matplotlib(title: str, fig: Any, caption: str | None = None, *,
                           dpi: int = 150, svg: bool = True,
                           rendered: dict[str, bytes] | None = None, file: str | None = None) -> Figure:
    """Render a matplotlib figure in memory to PNG bytes (``dpi``) and SVG text.

    ``rendered`` (from :func:`riskset.report.figures.render_figure`) reuses bytes already drawn;
    ``file`` is the PNG's name where the caller writes it (:attr:`Figure.file`).
    """
    if rendered is None:
        from riskset.report.render import _render, render_figure

        rendered = render_figure(fig, dpi=dpi) if svg else {"png": _render(fig, "png", dpi=dpi)}
    svg_text = rendered["svg"].decode("utf-8") if svg else None
    return Figure(title=title, png=rendered["png"], svg=svg_text, caption=caption, file=file)


# --------------------------------------------------------------------------------------------
# cell formatting
# --------------------------------------------------------------------------------------------
def _is_p_column(name: str) -> bool:
    return bool(_P_COLUMNS.match(name))


def format_cell(value: Any, *, p_value: bool = False) -> str:
    """Text of one table cell: nulls/NaN as "—", floats to about 4 significant digits.

    Integer-valued floats print as integers; |x| >= 1000 with one decimal (when not whole);
    very small or very large magnitudes in scientific notation; p-values (``p_value=True``)
    as ``"< 0.001"`` or with three (two, from 0.1) decimals.
    """
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return NULL
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if p_value and 0.0 <= value <= 1.0:
            from riskset.report.figures import format_p

            return format_p(value)
        if value == 0:
            return "0"
        a = abs(value)
        if value.is_integer() and a < 1e15:
            return str(int(value))
        if a >= 1e7 or a < 1e-4:
            return f"{value:.3e}"
        if a >= 1000:
            return f"{value:.1f}"
        return f"{value:.4g}"
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time, _dt.timedelta)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_cell(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


def _numeric(dtype: pl.DataType) -> bool:
    return dtype.is_numeric()


def _table_cells(frame: pl.DataFrame) -> tuple[list[str], list[bool], list[list[str]]]:
    cols = frame.columns
    numeric = [_numeric(frame.schema[c]) for c in cols]
    pcol = [_is_p_column(c) and numeric[i] for i, c in enumerate(cols)]
    rows = [
        [format_cell(v, p_value=pcol[i]) for i, v in enumerate(row)] for row in frame.iter_rows()
    ]
    return cols, numeric, rows


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------
_CSS = """
:root { --fg: #1b1b1b; --muted: #5a5a5a; --rule: #d9d9d9; --accent: #0072B2; --band: #f6f7f9; }
* { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); margin: 0 auto; max-width: 980px; padding: 2rem 1.5rem 4rem;
       line-height: 1.5; font-size: 15px; background: #fff; }
h1 { font-size: 1.7rem; margin: 0 0 .3rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .25rem;
     border-bottom: 2px solid var(--rule); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
p.subtitle { color: var(--muted); margin: 0 0 1.2rem; }
nav.toc { background: var(--band); border: 1px solid var(--rule); border-radius: 6px;
          padding: .6rem 1.2rem; margin: 1rem 0 1.5rem; }
nav.toc h2 { border: 0; margin: .2rem 0 .3rem; font-size: 1rem; }
nav.toc ol { margin: 0; padding-left: 1.3rem; }
a { color: var(--accent); }
.table-wrap { overflow-x: auto; margin: .4rem 0 .2rem; }
table { border-collapse: collapse; font-size: .88rem; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 0 0 .3rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid var(--rule); text-align: left;
         vertical-align: top; }
thead th { border-bottom: 2px solid #999; background: var(--band); white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.null { color: var(--muted); text-align: center; }
tbody tr:nth-child(even) td { background: #fbfbfc; }
p.note, figcaption { color: var(--muted); font-size: .85rem; margin: .2rem 0 1rem; }
figure { margin: 1rem 0 1.6rem; }
figure img, figure svg { max-width: 100%; height: auto; display: block; }
figure .fig-title { font-weight: 600; margin-bottom: .3rem; }
pre { background: var(--band); border: 1px solid var(--rule); border-radius: 4px;
      padding: .7rem .9rem; overflow-x: auto; font-size: .82rem; line-height: 1.4; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; word-break: break-all; }
footer { margin-top: 3rem; color: var(--muted); font-size: .8rem; }
@media print { nav.toc { display: none; } h2 { break-after: avoid; } figure { break-inside: avoid; } }
""".strip()


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _paragraphs(text: str | None) -> list[str]:
    if not text:
        return []
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return [f"<p>{_e(p)}</p>" for p in paras]


def _html_table(t: Table, anchor: str) -> str:
    cols, numeric, rows = _table_cells(t.frame)
    out = [f'<div class="table-wrap" id="{anchor}"><table>', f"<caption>{_e(t.title)}</caption>"]
    out.append("<thead><tr>")
    for c, num in zip(cols, numeric, strict=True):
        cls = ' class="num"' if num else ""
        out.append(f'<th scope="col"{cls}>{_e(c)}</th>')
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for cell, num in zip(row, numeric, strict=True):
            cls = "null" if cell == NULL else ("num" if num else "")
            attr = f' class="{cls}"' if cls else ""
            out.append(f"<td{attr}>{_e(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    if t.frame.height == 0:
        out.append('<p class="note">(no rows)</p>')
    if t.note:
        out.append(f'<p class="note">{_e(t.note)}</p>')
    return "".join(out)


_SVG_PROLOG = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", re.IGNORECASE)


def _inline_svg(svg: str) -> str:
    # drop the XML prolog and the DOCTYPE (its DTD URL), keep the <svg> element
    return _SVG_PROLOG.sub("", svg, count=1)


def _html_figure(f: Figure, anchor: str, *, inline_svg: bool) -> str:
    out = [f'<figure id="{anchor}">', f'<div class="fig-title">{_e(f.title)}</div>']
    if inline_svg and f.svg:
        out.append(f'<div role="img" aria-label="{_e(f.title)}">{_inline_svg(f.svg)}</div>')
    else:
        b64 = base64.b64encode(f.png).decode("ascii")
        out.append(f'<img src="data:image/png;base64,{b64}" alt="{_e(f.title)}">')
    if f.caption:
        out.append(f"<figcaption>{_e(f.caption)}</figcaption>")
    out.append("</figure>")
    return "".join(out)


def _meta_value(v: Any) -> tuple[str, bool]:
    """(text, preformatted?) for a provenance value."""
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, indent=2, default=str, sort_keys=isinstance(v, dict)), True
    if isinstance(v, bytes):
        return v.hex(), False
    text = "" if v is None else str(v)
    return text, "\n" in text


def _spec_key(meta: dict[str, Any]) -> str | None:
    for k in meta:
        if str(k).lower() in ("spec", "spec_text", "specification"):
            return k
    return None


def render_html(report: Report, *, inline_svg: bool = False) -> str:
    """The report as one self-contained HTML document (a ``str``).

    Inline CSS; figures as base64 PNG ``<img>`` (or, with ``inline_svg``, inline ``<svg>``
    where the figure has SVG); no external URL, no JavaScript. Every text is escaped.
    """
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="riskset">',
        f"<title>{_e(report.title)}</title>",
        f"<style>\n{_CSS}\n</style></head><body>",
        f"<header><h1>{_e(report.title)}</h1>",
    ]
    gen = report.meta.get("generated_at") or report.meta.get("generated-at")
    if gen:
        parts.append(f'<p class="subtitle">Generated {_e(gen)}</p>')
    parts.append("</header>")

    toc = ['<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>']
    body: list[str] = []
    for i, sec in enumerate(report.sections, start=1):
        sid = f"sec-{i}"
        toc.append(f'<li><a href="#{sid}">{_e(sec.title)}</a></li>')
        body.append(f'<section id="{sid}"><h2>{i}. {_e(sec.title)}</h2>')
        body.extend(_paragraphs(sec.text))
        for j, t in enumerate(sec.tables, start=1):
            body.append(_html_table(t, f"{sid}-tab-{j}"))
        for j, f in enumerate(sec.figures, start=1):
            body.append(_html_figure(f, f"{sid}-fig-{j}", inline_svg=inline_svg))
        body.append("</section>")
    toc.append('<li><a href="#provenance">Provenance</a></li></ol></nav>')
    parts.extend(toc)
    parts.extend(body)

    parts.append('<section id="provenance"><h2>Provenance</h2>')
    meta = dict(report.meta)
    skey = _spec_key(meta)
    spec = meta.pop(skey) if skey is not None else None
    if meta:
        parts.append('<dl class="meta">')
        for k, v in meta.items():
            text, pre = _meta_value(v)
            val = f"<pre>{_e(text)}</pre>" if pre else _e(text)
            parts.append(f"<dt>{_e(k)}</dt><dd>{val}</dd>")
        parts.append("</dl>")
    if spec is not None:
        text, _ = _meta_value(spec)
        parts.append(f"<h3>Specification</h3><pre class=\"spec\">{_e(text)}</pre>")
    if not meta and spec is None:
        parts.append('<p class="note">No provenance recorded.</p>')
    parts.append("</section>")
    parts.append("<footer>Produced by riskset.</footer></body></html>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------
def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:40] or "figure"


def figure_files(report: Report) -> list[tuple[Figure, str]]:
    """Each figure with its PNG file name, as :func:`render_markdown` links them.

    A figure's own ``file`` if it has one, else ``fig-<section>-<figure>-<slug>.png``: stable
    and unique within the report.
    """
    out = []
    for i, sec in enumerate(report.sections, start=1):
        for j, f in enumerate(sec.figures, start=1):
            out.append((f, f.file or f"fig-{i}-{j}-{_slug(f.title)}.png"))
    return out


def _md(text: Any) -> str:
    """Inline Markdown text: raw HTML neutralised (``<``, ``>``, ``&`` as entities)."""
    return html.escape("" if text is None else str(text), quote=False)


def _md_cell(text: str) -> str:
    text = _md(text).replace("\\", "\\\\").replace("|", "\\|")
    return text.replace("\r", " ").replace("\n", " ")


def _md_table(t: Table) -> list[str]:
    cols, numeric, rows = _table_cells(t.frame)
    out = [f"**{_md_cell(t.title)}**", ""]
    if cols:
        out.append("| " + " | ".join(_md_cell(c) for c in cols) + " |")
        out.append("|" + "|".join("---:" if n else ":---" for n in numeric) + "|")
        for row in rows:
            out.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
    if t.frame.height == 0:
        out += ["", "_(no rows)_"]
    if t.note:
        out += ["", f"_{_md_cell(t.note)}_" if "_" not in t.note else _md_cell(t.note)]
    out.append("")
    return out


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _anchor(title: str) -> str:
    # GitHub-style heading anchor
    s = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return s.replace(" ", "-")


def render_markdown(report: Report, figure_dir: str | None = None) -> str:
    """The report as Markdown: pipe tables, figures as links, provenance with a fenced spec.

    With ``figure_dir`` (a folder relative to the Markdown file), each figure is linked as
    ``figure_dir/<name>.png`` (names from :func:`figure_files`; writing the files is the
    caller's job, or use :func:`write_report`). Without it, figures are embedded as
    ``data:image/png;base64`` URIs so the file stands alone.
    """
    names = {id(f): name for f, name in figure_files(report)}
    out = [f"# {_md(report.title)}", ""]
    gen = report.meta.get("generated_at") or report.meta.get("generated-at")
    if gen:
        out += [f"_Generated {_md(gen)}_", ""]
    out += ["## Contents", ""]
    for i, sec in enumerate(report.sections, start=1):
        title = f"{i}. {sec.title}"
        out.append(f"{i}. [{_md(sec.title)}](#{_anchor(title)})")
    out += [f"{len(report.sections) + 1}. [Provenance](#provenance)", ""]

    for i, sec in enumerate(report.sections, start=1):
        out += [f"## {i}. {_md(sec.title)}", ""]
        if sec.text:
            for p in re.split(r"\n\s*\n", sec.text.strip()):
                if p.strip():
                    out += [_md(p.strip()), ""]
        for t in sec.tables:
            out += _md_table(t)
        for f in sec.figures:
            alt = _md(f.title).replace("]", ")").replace("[", "(")
            if figure_dir is not None:
                d = str(figure_dir).replace(os.sep, "/").rstrip("/")
                link = f"{d}/{names[id(f)]}" if d else names[id(f)]
            else:
                link = "data:image/png;base64," + base64.b64encode(f.png).decode("ascii")
            out += [f"**{_md_cell(f.title)}**", "", f"![{alt}]({link})", ""]
            if f.caption:
                out += [f"_{_md_cell(f.caption)}_" if "_" not in f.caption else _md_cell(f.caption), ""]

    out += ["## Provenance", ""]
    meta = dict(report.meta)
    skey = _spec_key(meta)
    spec = meta.pop(skey) if skey is not None else None
    for k, v in meta.items():
        text, pre = _meta_value(v)
        if pre:
            fence = _fence(text)
            out += [f"- **{_md_cell(k)}**:", "", fence, text, fence, ""]
        else:
            out.append(f"- **{_md_cell(k)}**: {_md_cell(text)}")
    if meta:
        out.append("")
    if spec is not None:
        text, _ = _meta_value(spec)
        fence = _fence(text)
        out += ["### Specification", "", fence, text.rstrip("\n"), fence, ""]
    if not meta and spec is None:
        out += ["_No provenance recorded._", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------
def write_report(report: Report, path: str | os.PathLike[str], *, force: bool = False,
                 fmt: str | None = None, inline_svg: bool = False) -> dict[str, Any]:
    """Write the report as HTML (``.html``/``.htm``) or Markdown (``.md``), atomically.

    Markdown figures go to ``<stem>_figures/`` next to the file. Refuses to replace any
    existing output unless ``force`` (nothing is written then). Returns
    ``{"report": path, "figures": [paths]}``.
    """
    from riskset.io.write import atomic_write_bytes, atomic_write_text

    target = Path(path)
    if fmt is None:
        suffix = target.suffix.lower()
        fmt = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}.get(suffix)
        if fmt is None:
            raise OptionError(f"cannot tell the report format from {str(target)!r}; use .html or .md")
    if fmt not in ("html", "markdown"):
        raise OptionError(f"fmt={fmt!r} is not valid; choose one of: 'html', 'markdown'")
    figs: list[Path] = []
    if fmt == "html":
        atomic_write_text(target, render_html(report, inline_svg=inline_svg), force=force)
        return {"report": target, "figures": figs}
    fig_dir_name = f"{target.stem}_figures"
    fig_dir = target.parent / fig_dir_name
    files = figure_files(report)
    if not force:
        existing = [p for p in [target, *(fig_dir / n for _, n in files)] if p.exists()]
        if existing:
            raise RisksetError(
                "output " + ", ".join(repr(str(p)) for p in existing)
                + " already exists; pass force=True (--force) to overwrite"
            )
    if files:
        fig_dir.mkdir(parents=True, exist_ok=True)
        for f, name in files:
            atomic_write_bytes(fig_dir / name, f.png, force=True)
            figs.append(fig_dir / name)
    text = render_markdown(report, fig_dir_name if files else None)
    atomic_write_text(target, text, force=True)
    return {"report": target, "figures": figs}
