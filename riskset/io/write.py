"""Writing results: atomically, and never over an existing file unless asked to."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from riskset.errors import RisksetError


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    A reader never sees a half-written file, and a crash leaves any previous file intact.
    Refuses to replace an existing file unless ``force`` is True.
    """
    target = Path(path)
    if target.exists() and not force:
        raise RisksetError(f"output {str(target)!r} already exists; pass --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, *, force: bool = False) -> Path:
    """:func:`atomic_write_bytes` of ``text`` as UTF-8 (newlines written as given)."""
    return atomic_write_bytes(path, text.encode("utf-8"), force=force)
