"""Every numeric tolerance used by the test suite, named once.

Closed-form estimators (Kaplan–Meier, Greenwood, Nelson–Aalen, log-rank O/E/V, RMST) are
compared with R at ``CLOSED_RTOL`` relative; values that are mathematically zero compare at
``CLOSED_ATOL``. R fixtures are written with 17 significant digits, so the only differences
are floating-point summation order (about 1e-15 relative).
"""

#: Relative tolerance for closed-form results against R fixtures and naive oracles.
CLOSED_RTOL = 1e-10
#: Absolute floor for closed-form results whose true value is 0.
CLOSED_ATOL = 1e-12
#: Relative tolerance for iterative fits (Cox coefficients, SEs), tied to convergence eps.
ITERATIVE_RTOL = 1e-6
#: Properties that reorder floating sums (permutations, replicated rows) compare at this.
REORDER_RTOL = 1e-12
