"""Row gathers of one-byte columns: many columns put in a new row order with one random read per row.

Contract
--------
Operation
    For ``k`` one-byte columns ``c_0 .. c_{k-1}`` of ``n`` rows and row numbers ``rows`` of
    length ``m``::

        out[j, i] = c_j[rows[i]]        (j < k, i < m)

    i.e. ``numpy.take(c_j, rows)`` for every column; no arithmetic, so results are exact.
Method
    A random gather of ``n``-row columns much larger than the caches costs one cache miss
    per column per row. The columns' bytes are first interleaved into one record of ``W``
    bytes per row (``W`` = 8 or 16, a power of two, so an aligned record never straddles a
    cache line): :func:`pack_records` fills the records a block of rows at a time (each
    block's bytes of every column while its records are in cache), calling
    :func:`pack_bytes` for each column's part of the block; :func:`gather_packed` then
    copies each output row's whole record into a small buffer and writes its ``k`` bytes
    into ``k`` contiguous output rows. For 14 columns this is one miss per row instead of
    14, and no intermediate gathered copy.
Preconditions
    ``packed`` is the C-contiguous records, ``uint8[n * W]`` (viewed as ``uint64[n * W / 8]``
    by :func:`gather_packed`) with ``k <= W``; a column's parts are 1-d ``uint8`` arrays (a
    bool, int8 or Enum-code column viewed as bytes); ``rows`` is ``int64`` with every value
    in ``[0, n)`` (not checked: the callers pass a permutation they built).
Outputs
    :func:`gather_packed` fills the caller's C-contiguous ``uint8[k, m]``: row ``j`` is
    column ``j`` in the new order. Large outputs are allocated by the caller with NumPy,
    not inside the kernel: NumPy asks for transparent huge pages where the system offers
    them (``madvise``), one page fault per 2 MB instead of one per 4 KB.
R
    No statistic (no R counterpart); tested against ``numpy.take`` of each column.
"""

from __future__ import annotations

import numpy as np

from riskset.engine._jit import kernel


@kernel
def pack_bytes(packed, width, j, offset, src):
    """Byte ``j`` of records ``offset ..``: ``packed[(offset + i) * width + j] = src[i]``
    (``packed`` is the ``uint8[n * width]`` records; one column, or one chunk of it)."""
    for i in range(src.shape[0]):
        packed[(offset + i) * width + j] = src[i]


def pack_records(columns: list[list[np.ndarray]], width: int) -> np.ndarray:
    """The ``uint8[n * width]`` records of ``k <= width`` one-byte columns, each given as its
    chunks' bytes (1-d ``uint8`` arrays, in row order): byte ``j`` of record ``r`` is row
    ``r`` of column ``j`` (bytes ``k ..`` of each record are left unset). Filled a block of
    rows at a time (the chunk boundaries of all the columns), every column's bytes of a
    block while its records are in cache; many small or unaligned chunks are joined first."""
    n = sum(p.size for p in columns[0])
    packed = np.empty(n * width, dtype=np.uint8)
    starts = [np.cumsum([0] + [p.size for p in parts]) for parts in columns]
    cuts = np.unique(np.concatenate([*starts, [n]]))
    if cuts.size > n // 4096 + 2:  # whole columns, fixed blocks
        columns = [[np.concatenate(parts)] for parts in columns]
        starts = [np.array([0, n])] * len(columns)
        cuts = np.unique(np.r_[np.arange(0, n, 65536), n])
    for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
        for j, (parts, st) in enumerate(zip(columns, starts, strict=True)):
            c = int(np.searchsorted(st, lo, side="right")) - 1  # the chunk holding row lo
            a = lo - int(st[c])
            pack_bytes(packed, width, j, lo, parts[c][a:a + hi - lo])
    return packed


@kernel
def gather_packed(packed, words, rows, out):
    """``out[j, i]`` = byte ``j`` of record ``rows[i]``, for ``j < k`` with ``out`` the
    caller's ``uint8[k, len(rows)]`` (see the module contract); ``packed`` is the records
    viewed as ``uint64[n * words]`` (``words`` = 1 or 2). Blocks of rows are gathered a
    whole record at a time into a small buffer (a tight loop, so many cache misses are in
    flight at once), then written out column by column."""
    m = rows.shape[0]
    k = out.shape[0]
    width = 8 * words
    block = 4096
    buf = np.empty(words * block, dtype=np.uint64)
    raw = buf.view(np.uint8)  # the same bytes
    for lo in range(0, m, block):
        hi = min(lo + block, m)
        if words == 2:  # the record copied as two words: no inner loop (more misses in flight)
            for i in range(lo, hi):
                r = 2 * rows[i]
                b = 2 * (i - lo)
                buf[b] = packed[r]
                buf[b + 1] = packed[r + 1]
        else:
            for i in range(lo, hi):
                buf[i - lo] = packed[rows[i]]
        for j in range(k):
            col = out[j]
            for i in range(lo, hi):
                col[i] = raw[width * (i - lo) + j]
