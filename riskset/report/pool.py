"""Draw many figures at once: in worker processes, or in this process.

Drawing with matplotlib holds the GIL, so threads do not draw two figures at once. A
:class:`FigurePool` starts worker processes (``spawn``: fresh interpreters, safe whatever
threads this process runs) that import only NumPy, matplotlib and
:mod:`riskset.report.draw` (about a second, on another core while this process works) and
draw figures from the plain arguments of :func:`riskset.report.figures.km_figure_args` /
:func:`~riskset.report.figures.forest_figure_args`. Start it early — a study starts it
before its analyses — so the workers are ready when the figures are.

:func:`draw_figures` renders ``{name: (kind, args)}`` to ``{name: {"png", "svg"}}`` bytes on a
pool, or serially in this process without one (or if the pool cannot start or breaks); the
bytes are the same either way (tested).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

__all__ = ["MAX_WORKERS", "FigurePool", "draw_figures"]

#: More figure workers than this rarely pay: each imports matplotlib (~1 s, ~100 MB).
MAX_WORKERS = 4


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start spawned workers without re-running the caller's ``__main__``.

    ``spawn`` re-imports the parent's main module in each worker (so that functions defined
    there can be unpickled), which re-runs a script that has no ``if __name__ ==
    "__main__":`` guard — a whole study per worker. The workers here run only riskset's own
    functions, so the main module's name and path are hidden from the start-up data while
    the workers are started (they are all started in :class:`FigurePool`'s constructor).
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def _warm() -> None:
    import gc

    import riskset.report.draw  # noqa: F401  (the worker's one import)
    from riskset import _exit

    # the imported modules' objects live as long as the worker: out of the collector's sight,
    # its collections (a figure makes thousands of cyclic objects) walk only the new ones
    gc.freeze()

    # a worker has nothing left to write when the pool shuts it down: skipping its module
    # teardown (~0.2 s) shortens the pool's close, which the study waits for
    _exit.skip_teardown(0)


def _ready() -> int:
    return os.getpid()


def _render(kind: str, args: dict[str, Any]) -> dict[str, bytes]:
    from riskset.report.draw import render

    return render(kind, args)


class FigurePool:
    """``workers`` figure-drawing processes (at most :data:`MAX_WORKERS`), started now; use as
    a context manager or :meth:`close`.

    If the processes cannot be started (a sandbox without semaphores, say), the pool is
    ``broken`` from the start and :func:`draw_figures` draws in this process instead.
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, min(int(workers), MAX_WORKERS))
        self.broken = False
        self._pool: ProcessPoolExecutor | None = None
        try:
            with _main_module_hidden():
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_warm)
                for _ in range(self.workers):  # every worker starts now (and only now)
                    self._pool.submit(_ready)
        except (OSError, ImportError, RuntimeError, BrokenProcessPool):
            self.broken = True

    def submit(self, kind: str, args: dict[str, Any]) -> Future:
        """A future of :func:`riskset.report.draw.render`'s bytes (raises ``BrokenProcessPool``)."""
        if self._pool is None or self.broken:
            raise BrokenProcessPool("the figure pool is not running")
        try:
            return self._pool.submit(_render, kind, args)
        except BrokenProcessPool:
            self.broken = True
            raise

    def try_submit(self, kind: str, args: dict[str, Any]) -> Future | None:
        """:meth:`submit`, or ``None`` if the pool does not run (draw the figure here then)."""
        try:
            return self.submit(kind, args)
        except BrokenProcessPool:
            return None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> FigurePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def draw_figures(figures: Mapping[str, tuple[str, dict[str, Any]]], *, pool: FigurePool | None = None,
                 submitted: Mapping[str, Future] | None = None) -> dict[str, dict[str, bytes]]:
    """``{name: {"png": bytes, "svg": bytes}}`` for ``{name: (kind, args)}``, in the given order.

    ``submitted`` holds figures already sent to ``pool`` (as soon as their analysis
    finished); the others are sent now when ``pool`` runs. A figure whose worker failed for
    a reason of the pool's (a worker killed, a pool that never started or was closed first)
    is drawn here instead; an error in the drawing itself is raised as it would be here.
    """
    futures: dict[str, Future | None] = dict(submitted or {})
    if pool is not None:
        for name, (kind, args) in figures.items():
            if name not in futures:
                futures[name] = pool.try_submit(kind, args)
    out: dict[str, dict[str, bytes]] = {}
    for name, (kind, args) in figures.items():
        fut = futures.get(name)
        if fut is not None:
            try:
                out[name] = fut.result()
                continue
            except CancelledError:  # its pool was closed before it was drawn
                pass
            except BrokenProcessPool:
                if pool is not None:
                    pool.broken = True
        out[name] = _render(kind, args)
    return out
