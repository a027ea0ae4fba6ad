"""End a finished process without tearing the interpreter down.

When a ``riskset`` command (or a figure worker) has finished, everything it wrote is closed;
what is left of a normal exit is Python freeing every module's objects one by one: about
0.7 s with Polars, Numba, SciPy and matplotlib loaded (a quarter of the 98-patient study's
wall time), and ~0.2 s per figure worker, which the study waits for when it closes its pool.

:func:`skip_teardown` registers an exit handler that flushes ``sys.stdout`` /
``sys.stderr`` and ends the process with :func:`os._exit`. Exit handlers run last-registered
first, so one registered early runs after the others (multiprocessing's, which joins child
processes; the thread-pool joins run before any of them): what it skips is only the module
teardown. The exit status is the one Python would have used (:func:`set_status`); a process
that ends any other way (an uncaught ``KeyboardInterrupt``, say) exits normally.
"""

from __future__ import annotations

import atexit
import os
import sys

__all__ = ["set_status", "skip_teardown"]

_status: int | None = None
_registered = False


def _status_of(code: object) -> int:
    """The exit status of ``sys.exit(code)``: ``None`` 0, an int itself, anything else 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    return 1


def set_status(code: object) -> None:
    """Exit quickly, with the status of ``sys.exit(code)``, once the other exit handlers ran."""
    global _status
    _status = _status_of(code)


def _exit_now() -> None:
    if _status is None:
        return  # not a finished run: exit normally
    status = _status
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe: the status a normal exit would give
            status = status or 120
    os._exit(status)


def skip_teardown(status: object = None) -> None:
    """Register the quick exit (once); with ``status``, also :func:`set_status` it now.

    Register it before anything else registers exit handlers, so that theirs still run.
    """
    global _registered
    if not _registered:
        atexit.register(_exit_now)
        _registered = True
    if status is not None:
        set_status(status)
