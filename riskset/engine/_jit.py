"""The one place that fixes how riskset's kernels are compiled.

* ``cache=True``: compiled machine code is written next to the module (or to
  ``NUMBA_CACHE_DIR``), so JIT compilation happens once per install, not once per process;
  CLI start-up with a warm cache is then dominated by imports.
* ``error_model="numpy"``: division by zero gives inf/NaN instead of raising, and every
  place where that can happen handles it explicitly (0/0 is defined in the contract of the
  kernel that can produce it).
* ``fastmath=False``: survival sums and products are order-sensitive; re-association would
  break agreement with R in the last digits.
* ``nogil=True``: kernels release the GIL so callers may run independent analyses in threads.

Kernels never read module globals (Numba freezes them into the cache); tunables are arguments.
"""

from __future__ import annotations

import numba

#: Options shared by every serial kernel.
JIT_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": False}


def kernel(func):
    """Compile ``func`` as a serial riskset kernel (see module docstring for the policy)."""
    return numba.njit(**JIT_OPTIONS)(func)


def parallel_kernel(func):
    """Compile ``func`` as a parallel kernel; it must write disjoint slices per ``prange`` unit."""
    return numba.njit(parallel=True, **JIT_OPTIONS)(func)
