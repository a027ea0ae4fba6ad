"""Figure style, rendering and saving, shared by every riskset figure.

:func:`style` is the one figure style (applied by each figure function, and around any block
that draws figures on several threads); :func:`render_figure` draws a figure once to PNG and
SVG bytes (SVG clip-path names made stable); :func:`save_figure` writes them atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure

from riskset.errors import RisksetError
from riskset.io.write import atomic_write_bytes

__all__ = ["render_figure", "save_figure", "style"]

_STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "xtick.direction": "out",
    "ytick.direction": "out",
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "lines.solid_capstyle": "butt",
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
    "svg.hashsalt": "riskset",  # deterministic SVG element ids
    "svg.fonttype": "path",
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The figure style, applied only for the duration of the ``with`` block.

    Every figure function applies it itself; wrap a block that builds or renders figures on
    several threads in it too, so that a thread leaving its own style context restores the
    style rather than the rcParams the block started with.
    """
    with rc_context(_STYLE):
        yield


def _render(fig: Figure, fmt: str, dpi: int = 150) -> bytes:
    buf = io.BytesIO()
    with style():
        if fmt == "svg":
            fig.savefig(buf, format=fmt, dpi=dpi, metadata={"Date": None})
        else:  # zlib level 1: ~5x faster than the default 6, files ~1.3x larger (flat-colour plots)
            fig.savefig(buf, format=fmt, dpi=dpi, metadata={"Software": None}, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


_SVG_CLIP_ID = re.compile(rb'(?<=id=")p[0-9a-f]{10}(?=")|(?<=url\(#)p[0-9a-f]{10}(?=\))')


def _stable_svg_ids(svg: bytes) -> bytes:
    """Rename the SVG's clip paths ``c<digest>-0``, ``c<digest>-1``, ... in order of appearance.

    Matplotlib names a clip path after a hash of its exact float geometry, whose last bits
    can differ between otherwise identical renders (constrained layout measuring text with
    a freshly loaded font), so the same drawing could get different names. ``digest`` hashes
    the SVG with those names blanked: equal drawings get equal names, and different figures
    inlined in one HTML page never share one.
    """
    digest = hashlib.sha256(_SVG_CLIP_ID.sub(b"p", svg)).hexdigest()[:10].encode()
    names: dict[bytes, bytes] = {}

    def sub(m: re.Match) -> bytes:
        return names.setdefault(m.group(0), b"c%s-%d" % (digest, len(names)))

    return _SVG_CLIP_ID.sub(sub, svg)


def render_figure(fig: Figure, *, dpi: int = 150) -> dict[str, bytes]:
    """``{"png": bytes, "svg": bytes}`` of ``fig``, laid out once.

    The first render (PNG) runs the figure's layout engine; the SVG is then drawn with the
    positions it computed (the layout engine is switched off for that render and restored),
    so a figure costs one layout instead of one per format. Pass the result to
    :func:`save_figure` and :func:`riskset.report.html.figure_from_matplotlib` so that the
    files and the report share one rendering.
    """
    out = {"png": _render(fig, "png", dpi=dpi)}
    engine = fig.get_layout_engine()
    if engine is not None:
        fig.set_layout_engine("none")
    try:
        out["svg"] = _stable_svg_ids(_render(fig, "svg", dpi=dpi))
    finally:
        if engine is not None:
            fig.set_layout_engine(engine)
    return out


def save_figure(fig: Figure, stem: str | os.PathLike[str], *, force: bool = False,
                dpi: int = 150, rendered: dict[str, bytes] | None = None) -> dict[str, Path]:
    """Write ``<stem>.png`` (``dpi``, default 150) and ``<stem>.svg``, each atomically.

    Each file is written to a temporary file in the same folder and renamed into place.
    Refuses (:class:`riskset.errors.RisksetError`) if either file exists, unless ``force``;
    nothing is written in that case. ``rendered`` (from :func:`render_figure`) reuses bytes
    already drawn. Returns ``{"png": path, "svg": path}``.
    """
    stem = Path(stem)
    targets = {ext: stem.parent / f"{stem.name}.{ext}" for ext in ("png", "svg")}
    if not force:
        existing = [str(p) for p in targets.values() if p.exists()]
        if existing:
            raise RisksetError(
                "output " + ", ".join(repr(p) for p in existing)
                + " already exists; pass force=True (--force) to overwrite"
            )
    stem.parent.mkdir(parents=True, exist_ok=True)
    data = rendered if rendered is not None else render_figure(fig, dpi=dpi)
    for ext, path in targets.items():
        atomic_write_bytes(path, data[ext], force=True)  # existence checked above, for both files
    return targets
