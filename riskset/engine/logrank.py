"""Weighted k-sample log-rank sums: observed, expected and the variance matrix, per stratum.

Contract
--------
Estimator
    Rows carry a stratum ``s`` and a group ``g`` (``0..G-1``). Within each stratum, at every
    pooled distinct exit time ``t`` with pooled (weighted) events ``d(t) > 0``::

        n_g(t) = sum of w_i over rows of (s, g) with entry_i < t <= time_i
        d_g(t) = sum of w_i over rows of (s, g) with time_i == t, event_i = 1
        n(t)   = sum_g n_g(t),      d(t) = sum_g d_g(t)

        O[s, g] += W(t) d_g(t)
        E[s, g] += W(t) d(t) n_g(t) / n(t)
        V[g, h] += W(t)^2 d(t) (n(t) - d(t)) / (n(t) - 1) * (n_g/n) (delta_gh - n_h/n)

    ``V`` is summed over strata (the term is 0 when ``n(t) <= 1`` or ``n(t) == d(t)``; R
    skips ``n(t) == 1``). The test weight ``W(t)`` depends on ``mode``:

    * ``mode=0`` Fleming–Harrington: ``W = S(t-)^rho (1 - S(t-))^gamma`` where ``S`` is the
      pooled Kaplan–Meier estimate of the stratum, left-continuous
      (``S(t-) = prod_{u < t} (1 - d(u)/n(u))``, updated as ``S <- S (n - d) / n`` like R).
      ``rho = gamma = 0`` is the log-rank test; ``rho = 1, gamma = 0`` is R's Peto–Peto.
    * ``mode=1`` Gehan–Breslow (generalised Wilcoxon): ``W = n(t)``.
    * ``mode=2`` Tarone–Ware: ``W = sqrt(n(t))``.
Tie rule
    Events at ``t`` count in the risk set at ``t``; a row censored at ``t`` is at risk at
    ``t`` (R ``survival``'s convention, the same as :mod:`riskset.engine.eventtable`).
Method
    The caller builds one event table with :func:`riskset.engine.eventtable.event_table`
    keyed by cell ``s * G + g``; :func:`pooled_times` merges each stratum's cell tables
    into the stratum's distinct times (no second sort of the rows). :func:`risk_by_group` walks each stratum's pooled times from the tail
    and, per group, accumulates exits at or after ``t`` minus entries at or after ``t`` (the
    summation order of the event-table kernel, so ``n_g(t)`` equals the cell table's
    ``n_risk`` where the cell has a row). :func:`logrank_sums` then makes one forward pass
    per stratum (the Kaplan–Meier weight needs ``S(t-)``).
Inputs
    Pooled table ``p_time[m]``, ``p_off[S+1]``; cell table ``c_time``, ``c_exit`` (=
    ``n_event + n_censor``), ``c_event``, ``c_off[S*G+1]``; optional sorted entries per cell
    ``e_vals``, ``e_wts``, ``e_off[S*G+1]``.
Outputs
    ``n_risk[m, G]``, ``n_event[m, G]`` (per pooled time and group); then ``O[S, G]``,
    ``E[S, G]``, ``V[G, G]``.
Complexity
    O(m G) for the risk matrix plus O(m_event G^2) for the variance.
Reference
    R ``survdiff(Surv(time, status) ~ group + strata(s), rho = rho)`` (``survdiff2`` in
    ``survival``'s C code): ``$obs``, ``$exp``, ``$var``. R has no case weights, no delayed
    entry, no ``gamma`` and no Gehan/Tarone–Ware weights; those variants follow the same
    formulas with weighted counts (SAS ``PROC LIFETEST`` ``TEST=`` conventions) and are
    checked against a naive oracle in the test suite.
"""

from __future__ import annotations

import math

import numpy as np

from riskset.engine._jit import kernel

#: ``mode`` codes of :func:`logrank_sums`.
MODE_FH = 0
MODE_GEHAN = 1
MODE_TARONE = 2


@kernel
def risk_by_group(
    p_time, p_off, c_time, c_exit, c_event, c_off, n_groups, e_vals, e_wts, e_off, has_entry, weighted
):
    """Per pooled time and group: weighted number at risk and events (see module contract)."""
    m = p_time.shape[0]
    n_strata = p_off.shape[0] - 1
    nr = np.zeros((m, n_groups), dtype=np.float64)
    dr = np.zeros((m, n_groups), dtype=np.float64)
    for s in range(n_strata):
        for g in range(n_groups):
            c = s * n_groups + g
            lo = c_off[c]
            j = c_off[c + 1] - 1
            elo = e_off[c] if has_entry else 0
            ie = e_off[c + 1] - 1 if has_entry else -1
            acc = 0.0
            ent = 0.0
            for r in range(p_off[s + 1] - 1, p_off[s] - 1, -1):
                t = p_time[r]
                while j >= lo and c_time[j] >= t:
                    acc += c_exit[j]
                    if c_time[j] == t:
                        dr[r, g] = c_event[j]
                    j -= 1
                if has_entry:
                    while ie >= elo and e_vals[ie] >= t:
                        ent += e_wts[ie] if weighted else 1.0
                        ie -= 1
                nr[r, g] = acc - ent
    return nr, dr


@kernel
def logrank_sums(nr, dr, p_off, mode, rho, gamma):
    """Observed, expected (per stratum) and the variance matrix (summed over strata)."""
    n_strata = p_off.shape[0] - 1
    G = nr.shape[1]
    obs = np.zeros((n_strata, G), dtype=np.float64)
    exp_ = np.zeros((n_strata, G), dtype=np.float64)
    var = np.zeros((G, G), dtype=np.float64)
    for s in range(n_strata):
        km = 1.0
        for r in range(p_off[s], p_off[s + 1]):
            n = 0.0
            d = 0.0
            for g in range(G):
                n += nr[r, g]
                d += dr[r, g]
            if d <= 0.0 or n <= 0.0:
                continue
            if mode == 1:
                wt = n
            elif mode == 2:
                wt = math.sqrt(n)
            else:
                wt = 1.0
                if rho != 0.0:
                    wt = km**rho
                if gamma != 0.0:
                    wt *= (1.0 - km) ** gamma
            for g in range(G):
                obs[s, g] += wt * dr[r, g]
                exp_[s, g] += wt * d * nr[r, g] / n
            if n > 1.0 and n > d:
                w2 = wt * wt
                for g in range(G):
                    tmp = w2 * d * nr[r, g] * (n - d) / (n * (n - 1.0))
                    var[g, g] += tmp
                    for h in range(G):
                        var[g, h] -= tmp * nr[r, h] / n
            km = km * (n - d) / n
            if km < 0.0:  # weighted n - d can round below 0 at a stratum's last event
                km = 0.0
    return obs, exp_, var


@kernel
def pooled_times(c_time, c_off, n_strata, n_groups):
    """Each stratum's distinct times, merged from its groups' (sorted) cell tables.

    Replaces a second partition-and-sort of every row: a G-way merge of the cells' distinct
    times, O(m_pooled G) per stratum. Returns ``(p_time[m], p_off[S+1])``.
    """
    m_max = c_time.shape[0]
    p_time = np.empty(m_max, dtype=np.float64)
    p_off = np.zeros(n_strata + 1, dtype=np.int64)
    pos = np.empty(n_groups, dtype=np.int64)
    pm = 0
    for s in range(n_strata):
        for g in range(n_groups):
            pos[g] = c_off[s * n_groups + g]
        while True:
            best = np.inf
            for g in range(n_groups):
                if pos[g] < c_off[s * n_groups + g + 1]:
                    v = c_time[pos[g]]
                    if v < best:
                        best = v
            if best == np.inf:
                break
            p_time[pm] = best
            pm += 1
            for g in range(n_groups):
                if pos[g] < c_off[s * n_groups + g + 1] and c_time[pos[g]] == best:
                    pos[g] += 1
        p_off[s + 1] = pm
    return p_time[:pm].copy(), p_off


# --------------------------------------------------------------------------------------------
# Batch grid: rows sorted once by (cell, time); one linear pass per factor.
@kernel
def partition_keys_indexed(time, event, cells, n_cells):
    """Like :func:`riskset.engine.eventtable.partition_keys`, also scattering row indices.

    Returns ``(keys[n], rows[n], offsets[C+1])``: the packed ``time << 1 | event`` keys and
    the input row of each, grouped by cell (stable). Sorting each segment's keys with an
    argsort then gives the row order by (cell, time, event) used by :func:`grid_sums`.
    """
    n = time.shape[0]
    counts = np.zeros(n_cells + 1, dtype=np.int64)
    for i in range(n):
        counts[cells[i] + 1] += 1
    for c in range(n_cells):
        counts[c + 1] += counts[c]
    offsets = counts.copy()
    keys = np.empty(n, dtype=np.uint64)
    rows = np.empty(n, dtype=np.int64)
    tbits = time.view(np.uint64)
    one = np.uint64(1)
    for i in range(n):
        c = cells[i]
        pos = counts[c]
        keys[pos] = (tbits[i] << one) | np.uint64(event[i])
        rows[pos] = i
        counts[c] = pos + 1
    return keys, rows, offsets


@kernel
def gather_rows(mat, rows):
    """``out[i, :] = mat[rows[i], :]`` for a row-major code matrix (one cache line per row)."""
    n = rows.shape[0]
    F = mat.shape[1]
    out = np.empty((n, F), dtype=mat.dtype)
    for i in range(n):
        r = rows[i]
        for f in range(F):
            out[i, f] = mat[r, f]
    return out


@kernel
def grid_sums_multi(time_s, event_s, w_s, weighted, cell_off, codes_s, n_levels, mode, rho, gamma):
    """Log-rank sums of F factors in every cell at once: ``codes_s[n, F]`` (int16, -1 = missing).

    One pass over the sorted rows updates every factor's per-level event and exit sums; at
    the end of each distinct time every factor's contribution is added. Returns
    ``obs[C, F, L], expd[C, F, L], var[C, F, L, L], cnt[C, F, L]`` with ``L = max(n_levels)``.
    """
    n_cells = cell_off.shape[0] - 1
    F = codes_s.shape[1]
    L = 1
    for f in range(F):
        L = max(L, n_levels[f])
    obs = np.zeros((n_cells, F, L))
    expd = np.zeros((n_cells, F, L))
    var = np.zeros((n_cells, F, L, L))
    cnt = np.zeros((n_cells, F, L), dtype=np.int64)
    tot = np.empty((F, L))
    exits = np.empty((F, L))
    dl = np.empty((F, L))
    cl = np.empty((F, L))
    nl = np.empty(L)
    s_km = np.empty(F)
    for c in range(n_cells):
        lo = cell_off[c]
        hi = cell_off[c + 1]
        tot[:, :] = 0.0
        exits[:, :] = 0.0
        s_km[:] = 1.0
        for i in range(lo, hi):
            w = w_s[i] if weighted else 1.0
            for f in range(F):
                k = codes_s[i, f]
                if k >= 0:
                    tot[f, k] += w
                    cnt[c, f, k] += 1
        i = lo
        while i < hi:
            t = time_s[i]
            dl[:, :] = 0.0
            cl[:, :] = 0.0
            any_event = False
            while i < hi and time_s[i] == t:
                w = w_s[i] if weighted else 1.0
                ev = event_s[i] == 1
                any_event |= ev
                for f in range(F):
                    k = codes_s[i, f]
                    if k >= 0:
                        if ev:
                            dl[f, k] += w
                        else:
                            cl[f, k] += w
                i += 1
            for f in range(F):
                Lf = n_levels[f]
                if any_event:
                    nn = 0.0
                    dd = 0.0
                    for k in range(Lf):
                        nl[k] = tot[f, k] - exits[f, k]
                        nn += nl[k]
                        dd += dl[f, k]
                    if dd > 0.0 and nn > 0.0:
                        if mode == 1:
                            wt = nn
                        elif mode == 2:
                            wt = math.sqrt(nn)
                        else:
                            wt = 1.0
                            if rho != 0.0:
                                wt *= s_km[f] ** rho
                            if gamma != 0.0:
                                wt *= (1.0 - s_km[f]) ** gamma
                        for k in range(Lf):
                            obs[c, f, k] += wt * dl[f, k]
                            expd[c, f, k] += wt * dd * nl[k] / nn
                        if nn > 1.0:
                            g = wt * wt * dd * (nn - dd) / (nn - 1.0)
                            for k in range(Lf):
                                pk = nl[k] / nn
                                for h in range(Lf):
                                    var[c, f, k, h] += g * pk * ((1.0 if k == h else 0.0) - nl[h] / nn)
                        s_km[f] = max(s_km[f] * (nn - dd) / nn, 0.0)
                for k in range(Lf):
                    exits[f, k] += dl[f, k] + cl[f, k]
    return obs, expd, var, cnt


@kernel
def transpose_codes(a):
    """(F, n) -> (n, F) copy, reading each factor's codes sequentially."""
    F, n = a.shape
    out = np.empty((n, F), dtype=a.dtype)
    for i in range(n):
        for f in range(F):
            out[i, f] = a[f, i]
    return out
