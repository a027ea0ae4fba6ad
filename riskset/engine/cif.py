"""Aalen–Johansen cumulative incidence for competing risks, with three variance conventions.

Contract
--------
Estimator (per group, over the all-cause event-table rows j, times t_1 < t_2 < ... from
:mod:`riskset.engine.eventtable` with "event" = any cause; ``d_kj`` the (weighted) events of
cause k at t_j, ``d_j = sum_k d_kj``, ``n_j`` the (weighted) number at risk)::

    S(t_j)    = prod_{i <= j} (1 - d_i / n_i)                  all-cause Kaplan–Meier
    F_k(t_j)  = sum_{i <= j} S(t_{i-1}) d_ki / n_i             Aalen–Johansen, cause k

so ``S + sum_k F_k = 1`` at every row. Ties: events of different causes at the same time
share one row and all use ``S(t_{i-1})`` and the same ``n_i`` (exact, never jittered); a
censoring tied with an event is still at risk. Left truncation: at risk at t when
``entry < t <= time``. This is R ``survfit(Surv(time, factor(event)) ~ g)`` (multi-state
``survfitAJ``, one initial state) and ``survfit(Surv(entry, time, factor(event)) ~ g,
id = row)``, and cmprsk ``cuminc``.

Variances of F_k(t_j) (the standard error is reported on the probability scale):

``ij`` — infinitesimal jackknife, R ``survfit``'s multi-state default (``survfitaj.c``).
    Each row c is its own cluster; ``Var = sum_c (w_c IF_c(t))^2`` where the per-unit-weight
    influence follows R's recursion ``U(t) = U(t-)(I + dA) + p(t-) d(dA)/dw_c``. For one
    initial state it has the closed form (``g_i = d_i / (n_i (n_i - d_i))``,
    ``G_j = sum_{i <= j} g_i``, ``f_ki = S(t_{i-1}) d_ki / n_i``,
    ``X_k(j) = sum_{i <= j} f_ki (G_{i-1} - 1/n_i)``, ``G_E`` = G at the last row at or before
    the entry)::

        at risk (entry < t_j < T_c):  IF = X_k(j) - X_k(in-1) - G_E (F_k(j) - F_k(in-1))
        exit row (t_j = T_c):         the same + [cause_c = k] S(t_{j-1}) / n_j
        after exit (t_j > T_c):       IF(T_c) - a_c (F_k(j) - F_k(T_c)),
                                      a_c = [event_c] / (n - d)(T_c) - (G(T_c) - G_E)

    Sums over the rows still at risk are tail sums (as R's numbers at risk); rows already
    exited are carried forward by the recursion ``Q += -2 dF L + dF^2 A``, ``L += -dF A``
    (``Q = sum w^2 IF^2``, ``L = sum w^2 a IF``, ``A = sum w^2 a^2``), so no large constant
    is added and subtracted. Where ``d_j = n_j`` (S reaches 0), ``g_j`` and ``1/(n - d)`` are
    taken as 0: every later increment of F is 0, so they never multiply anything.
``aalen`` — Aalen's estimator as cmprsk ``cuminc`` (``cinc`` in ``cincsub.f``), with
    ``t5(d, n) = 1 - (d - 1)/(n - 1)`` for ``d > 1`` (else 1), ``c_i(d) = S(t_{i-1})^2 t5
    d / n_i^2`` and ``u_i = 1 / S(t_i)`` (0 where S(t_i) = 0)::

        Var F_k(t) = sum_{i <= t} c_i(d_i - d_ki) u_i^2 (F_k(t) - F_k(t_i))^2   [S(t_i) > 0]
                   + sum_{i <= t} c_i(d_ki) (1 - u_i (F_k(t) - F_k(t_i)))^2

    cmprsk updates its variance only at times with an event of cause k; at other times the
    formula above gives the same value (F_k is flat there). Weighted counts are substituted
    for cmprsk's integer counts (cmprsk itself takes no weights).
``delta`` — delta method (Greenwood type; Marubini & Valsecchi 1995, eq. 10.9; SAS LIFETEST's
    and lifelines ``AalenJohansenFitter``'s formula)::

        Var F_k(t) = sum_{i <= t} (F_k(t) - F_k(t_i))^2 d_i / (n_i (n_i - d_i))
                   + sum_{i <= t} S(t_{i-1})^2 d_ki (n_i - d_ki) / n_i^3
                   - 2 sum_{i <= t} (F_k(t) - F_k(t_i)) S(t_{i-1}) d_ki / n_i^2

    The first and last sums are carried forward exactly (``sum a_i (F - F_i)^2`` by
    ``Q += 2 dF L + dF^2 A``, ``L += dF A``), with no expansion in powers of F. Where
    ``d_i = n_i`` the first term is ``0 * inf``: the variance is undefined (NaN) from that
    row on, as lifelines reports it.

Preconditions
    Event-table inputs as :mod:`riskset.engine.eventtable`; ``cause[n]`` int64 in ``0..K``
    (0 = censored); rows in any order.
Outputs
    ``F[K, m]``, ``var[K, m]`` (float64), ``d_cause[K, m]``; row ``j`` of group ``g`` is
    ``offsets[g] <= j < offsets[g+1]`` of the event table.
Complexity
    O(n log m + K n + K m): one binary search per row for its exit (and entry) row.
Reference
    R: ``survfit(Surv(time, factor(event)) ~ g)``: ``pstate``, ``std.err``, ``lower``,
    ``upper`` (conf.type = "log"); cmprsk: ``cuminc(time, event, g)$est, $var``.
"""

from __future__ import annotations

import numpy as np

from riskset.engine._jit import kernel
from riskset.engine.km import _bsearch_right

#: Variance conventions.
VARIANCES: tuple[str, ...] = ("ij", "aalen", "delta")


@kernel
def table_rows(values, codes, tab_time, offsets, after):
    """For each row: with ``after`` False the table row whose time equals ``values[c]``
    (its exit row); with ``after`` True the first table row with time > ``values[c]``
    (its first row at risk after an entry at ``values[c]``)."""
    n = values.shape[0]
    out = np.empty(n, dtype=np.int64)
    for c in range(n):
        g = codes[c]
        k = _bsearch_right(tab_time, offsets[g], offsets[g + 1], values[c])
        out[c] = k if after else k - 1
    return out


@kernel
def table_rows_sorted(values, codes, tab_time, offsets, after):
    """:func:`table_rows` for ``values`` sorted ascending (groups interleaved): one merge
    pass with a pointer per group, O(n + m) and sequential in the table (the binary search
    of :func:`table_rows` misses the cache on every step at a million distinct times)."""
    n = values.shape[0]
    n_groups = offsets.shape[0] - 1
    ptr = offsets[:n_groups].copy()
    out = np.empty(n, dtype=np.int64)
    for c in range(n):
        g = codes[c]
        p = ptr[g]
        hi = offsets[g + 1]
        x = values[c]
        if after:
            while p < hi and tab_time[p] <= x:
                p += 1
        else:
            while p < hi and tab_time[p] < x:
                p += 1
        ptr[g] = p
        out[c] = p
    return out


@kernel
def cause_counts(exit_row, cause, weights, weighted, n_causes, m):
    """``d[K, m]``: the (weighted) events of each cause at each event-table row."""
    d = np.zeros((n_causes, m), dtype=np.float64)
    for c in range(exit_row.shape[0]):
        k = cause[c]
        if k > 0:
            d[k - 1, exit_row[c]] += weights[c] if weighted else 1.0
    return d


@kernel
def aj_curves(n_risk, d_all, d_cause, offsets):
    """``(S_prev[m], S[m], F[K, m])``: all-cause KM before and at each row and the
    Aalen–Johansen cumulative incidence of every cause (see contract)."""
    m = n_risk.shape[0]
    K = d_cause.shape[0]
    s_prev = np.empty(m, dtype=np.float64)
    s_now = np.empty(m, dtype=np.float64)
    F = np.empty((K, m), dtype=np.float64)
    acc = np.zeros(K, dtype=np.float64)
    for g in range(offsets.shape[0] - 1):
        s = 1.0
        for k in range(K):
            acc[k] = 0.0
        for j in range(offsets[g], offsets[g + 1]):
            n = n_risk[j]
            s_prev[j] = s
            if d_all[j] > 0.0:
                for k in range(K):
                    if d_cause[k, j] > 0.0:
                        acc[k] += s * d_cause[k, j] / n
                s *= (n - d_all[j]) / n
            s_now[j] = s
            for k in range(K):
                F[k, j] = acc[k]
    return s_prev, s_now, F


@kernel
def var_delta(n_risk, d_all, d_cause, offsets, s_prev, F):
    """Delta-method (Marubini–Valsecchi) variance of every F_k (see contract)."""
    K, m = F.shape
    var = np.empty((K, m), dtype=np.float64)
    for k in range(K):
        for g in range(offsets.shape[0] - 1):
            Q = 0.0  # sum a_i (F - F_i)^2
            L = 0.0  # sum a_i (F - F_i)
            A = 0.0  # sum a_i
            T = 0.0  # sum b_i (F - F_i)
            B = 0.0  # sum b_i
            second = 0.0
            f_last = 0.0
            for j in range(offsets[g], offsets[g + 1]):
                dF = F[k, j] - f_last
                f_last = F[k, j]
                Q += 2.0 * dF * L + dF * dF * A
                L += dF * A
                T += dF * B
                d = d_all[j]
                if d > 0.0:
                    n = n_risk[j]
                    if d >= n:  # 0 * inf: undefined from here on (lifelines: NaN)
                        A = np.nan
                    else:
                        A += d / (n * (n - d))
                    dk = d_cause[k, j]
                    if dk > 0.0:
                        sp = s_prev[j]
                        second += sp * sp * dk * (n - dk) / (n * n * n)
                        B += sp * dk / (n * n)
                var[k, j] = Q + second - 2.0 * T if A == A else np.nan
    return var


@kernel
def _t5(d, n):
    if d > 1.0:
        return 1.0 - (d - 1.0) / (n - 1.0)
    return 1.0


@kernel
def var_aalen(n_risk, d_all, d_cause, offsets, s_prev, s_now, F):
    """Aalen variance of every F_k as cmprsk ``cuminc`` (see contract)."""
    K, m = F.shape
    var = np.empty((K, m), dtype=np.float64)
    for k in range(K):
        for g in range(offsets.shape[0] - 1):
            Q = 0.0  # sum a_i (F - F_i)^2, a_i = c_i u_i^2 (both kinds of event)
            L = 0.0
            A = 0.0
            T = 0.0  # sum b_i (F - F_i), b_i = c_i(d_ki) u_i
            B = 0.0
            C = 0.0  # sum c_i(d_ki)
            f_last = 0.0
            for j in range(offsets[g], offsets[g + 1]):
                dF = F[k, j] - f_last
                f_last = F[k, j]
                Q += 2.0 * dF * L + dF * dF * A
                L += dF * A
                T += dF * B
                d = d_all[j]
                if d > 0.0:
                    n = n_risk[j]
                    sp = s_prev[j]
                    dk = d_cause[k, j]
                    d2 = d - dk
                    u = 1.0 / s_now[j] if s_now[j] > 0.0 else 0.0
                    if d2 > 0.0 and s_now[j] > 0.0:
                        c2 = sp * sp * _t5(d2, n) * d2 / (n * n)
                        A += c2 * u * u
                    if dk > 0.0:
                        c1 = sp * sp * _t5(dk, n) * dk / (n * n)
                        A += c1 * u * u
                        B += c1 * u
                        C += c1
                var[k, j] = Q + C - 2.0 * T
    return var


@kernel
def var_ij(exit_row, in_row, cause, weights, weighted, codes, has_entry, n_risk, d_all,
           d_cause, offsets, s_prev, F):
    """Infinitesimal-jackknife variance of every F_k, each row its own cluster (see contract).

    Row arrays (``exit_row``, ``in_row`` (:func:`table_rows`), ``cause``, ``weights``,
    ``codes``) may be in any order, the same for all; rows sorted by time make every access
    to the per-time arrays sequential."""
    K, m = F.shape
    n = exit_row.shape[0]
    n_groups = offsets.shape[0] - 1
    # G_j and the per-row scale 1/(n - d) (0 where S reaches 0)
    G = np.empty(m, dtype=np.float64)
    inv_nd = np.zeros(m, dtype=np.float64)
    for g in range(n_groups):
        acc = 0.0
        for j in range(offsets[g], offsets[g + 1]):
            d = d_all[j]
            nn = n_risk[j]
            if nn > d:
                inv_nd[j] = 1.0 / (nn - d)
                if d > 0.0:
                    acc += d / (nn * (nn - d))
            G[j] = acc
    # X_k(j) = sum_{i <= j} f_ki (G_{i-1} - 1 / n_i)
    X = np.empty((K, m), dtype=np.float64)
    for k in range(K):
        for g in range(n_groups):
            acc = 0.0
            gprev = 0.0
            for j in range(offsets[g], offsets[g + 1]):
                dk = d_cause[k, j]
                if dk > 0.0:
                    f = s_prev[j] * dk / n_risk[j]
                    acc += f * (gprev - 1.0 / n_risk[j])
                X[k, j] = acc
                gprev = G[j]
    var = np.zeros((K, m), dtype=np.float64)
    # at-risk sums by exit row and by entry row (tail sums: at risk at j = exit > j - entry > j)
    ex_s = np.zeros((3, m), dtype=np.float64)  # w^2, w^2 G_E, w^2 G_E^2
    en_s = np.zeros((3, m), dtype=np.float64)
    ex_c = np.zeros((3, m), dtype=np.float64)  # w^2 C, w^2 C^2, w^2 G_E C (one cause at a time)
    en_c = np.zeros((3, m), dtype=np.float64)
    new_q = np.zeros(m, dtype=np.float64)  # sum w^2 IF(T)^2 of rows exiting at j
    new_l = np.zeros(m, dtype=np.float64)  # sum w^2 a IF(T)
    new_a = np.zeros(m, dtype=np.float64)  # sum w^2 a^2
    a_c = np.empty(n, dtype=np.float64)
    for c in range(n):
        w = weights[c] if weighted else 1.0
        w2 = w * w
        g = codes[c]
        lo = offsets[g]
        jx = exit_row[c]
        ge = 0.0
        if has_entry:
            ji = in_row[c]
            ge = G[ji - 1] if ji > lo else 0.0
        a = -(G[jx] - ge)
        if cause[c] > 0:
            a += inv_nd[jx]
        a_c[c] = a
        new_a[jx] += w2 * a * a
        ex_s[0, jx] += w2
        ex_s[1, jx] += w2 * ge
        ex_s[2, jx] += w2 * ge * ge
        if has_entry:
            ji = in_row[c]
            if ji < offsets[g + 1]:
                en_s[0, ji] += w2
                en_s[1, ji] += w2 * ge
                en_s[2, ji] += w2 * ge * ge
    for k in range(K):
        for j in range(m):
            new_q[j] = 0.0
            new_l[j] = 0.0
            for r in range(3):
                ex_c[r, j] = 0.0
                en_c[r, j] = 0.0
        for c in range(n):
            w = weights[c] if weighted else 1.0
            w2 = w * w
            g = codes[c]
            lo = offsets[g]
            jx = exit_row[c]
            ge = 0.0
            x0 = 0.0
            f0 = 0.0
            if has_entry:
                ji = in_row[c]
                if ji > lo:
                    ge = G[ji - 1]
                    x0 = X[k, ji - 1]
                    f0 = F[k, ji - 1]
            cc = -x0 + ge * f0  # IF while at risk = X(j) - G_E F(j) + cc
            ift = X[k, jx] - ge * F[k, jx] + cc
            if cause[c] == k + 1:
                ift += s_prev[jx] / n_risk[jx]
            new_q[jx] += w2 * ift * ift
            new_l[jx] += w2 * a_c[c] * ift
            if has_entry:
                ex_c[0, jx] += w2 * cc
                ex_c[1, jx] += w2 * cc * cc
                ex_c[2, jx] += w2 * ge * cc
                ji = in_row[c]
                if ji < offsets[g + 1]:
                    en_c[0, ji] += w2 * cc
                    en_c[1, ji] += w2 * cc * cc
                    en_c[2, ji] += w2 * ge * cc
        for g in range(n_groups):
            lo = offsets[g]
            hi = offsets[g + 1]
            # rows at risk at j (entry row <= j < exit row): tail sums from the end
            t0 = 0.0
            t1 = 0.0
            t2 = 0.0
            u0 = 0.0
            u1 = 0.0
            u2 = 0.0
            e0 = 0.0
            e1 = 0.0
            e2 = 0.0
            v0 = 0.0
            v1 = 0.0
            v2 = 0.0
            for j in range(hi - 1, lo - 1, -1):
                # at risk at j: exit row > j, entry row <= j
                x = X[k, j]
                f = F[k, j]
                s0 = t0 - e0
                s1 = t1 - e1
                s2 = t2 - e2
                if has_entry:
                    c1 = u0 - v0
                    c2 = u1 - v1
                    gc = u2 - v2
                    tot = (x * x * s0 + f * f * s2 + c2 - 2.0 * x * f * s1 + 2.0 * x * c1
                           - 2.0 * f * gc)
                else:
                    tot = x * x * s0
                var[k, j] = max(tot, 0.0)
                # rows exiting at j are at risk at every earlier row
                t0 += ex_s[0, j]
                t1 += ex_s[1, j]
                t2 += ex_s[2, j]
                if has_entry:
                    u0 += ex_c[0, j]
                    u1 += ex_c[1, j]
                    u2 += ex_c[2, j]
                    # rows whose first at-risk row is j are not at risk before j
                    e0 += en_s[0, j]
                    e1 += en_s[1, j]
                    e2 += en_s[2, j]
                    v0 += en_c[0, j]
                    v1 += en_c[1, j]
                    v2 += en_c[2, j]
            # rows already exited: carried forward
            Q = 0.0
            Lq = 0.0
            Aq = 0.0
            f_last = 0.0
            for j in range(lo, hi):
                dF = F[k, j] - f_last
                f_last = F[k, j]
                Q += -2.0 * dF * Lq + dF * dF * Aq
                Lq += -dF * Aq
                Q += new_q[j]
                Lq += new_l[j]
                Aq += new_a[j]
                var[k, j] = max(var[k, j] + Q, 0.0)  # rounding can leave -1e-18 where 0
    return var


# ---- Gray's k-sample test ----------------------------------------------------------------
@kernel
def gray_stratum(time, mcode, grp, ng, rho, s, v):
    """Add one stratum's score ``s[ng-1]`` and variance ``v[ng-1, ng-1]`` of Gray's test
    (cmprsk ``crst`` in ``crstm.f``) for one cause; rows sorted by time.

    ``mcode``: 0 censored, 1 the cause tested, 2 another cause; ``grp`` in ``0..ng-1``.
    Per distinct time, with ``R_g`` at risk in group g, ``S_g(t-)`` its all-cause KM and
    ``F_g(t-)`` its incidence, ``h_g = R_g / S_g(t-)``, ``tr = sum h_g``, ``F`` the pooled
    incidence ``F(t) = F(t-) + d_1 / tr`` and weight ``fb = (1 - F(t-))^rho``::

        s_g += fb (d_1g - d_1 R_g (1 - F_g(t-)) / (S_g(t-) sum_r R_r (1 - F_r(t-)) / S_r(t-)))

    The variance accumulates the cause-1 and other-cause terms of the paper (Gray 1988,
    eq. 2.4-2.6) exactly as ``crst`` orders them (``a``, ``c``, ``v2``, ``v3``).
    """
    n = time.shape[0]
    ng1 = ng - 1
    rs = np.zeros(ng, dtype=np.float64)
    for i in range(n):
        rs[grp[i]] += 1.0
    f1m = np.zeros(ng)
    f1 = np.zeros(ng)
    skmm = np.ones(ng)
    skm = np.ones(ng)
    v3 = np.zeros(ng)
    v2 = np.zeros((ng1, ng))
    c = np.zeros((ng, ng))
    a = np.zeros((ng, ng))
    vt = np.zeros((ng1, ng1))
    st = np.zeros(ng1)
    d = np.zeros((3, ng))
    fm = 0.0
    ll = 0
    while ll < n:
        lu = ll
        while lu + 1 < n and time[lu + 1] <= time[ll]:
            lu += 1
        for i in range(ng):
            d[0, i] = 0.0
            d[1, i] = 0.0
            d[2, i] = 0.0
        for i in range(ll, lu + 1):
            d[mcode[i], grp[i]] += 1.0
        nd1 = 0.0
        nd2 = 0.0
        for i in range(ng):
            nd1 += d[1, i]
            nd2 += d[2, i]
        f = fm
        if nd1 > 0.0 or nd2 > 0.0:
            tr = 0.0
            tq = 0.0
            for i in range(ng):
                if rs[i] <= 0.0:
                    continue
                td = d[1, i] + d[2, i]
                skm[i] = skmm[i] * (rs[i] - td) / rs[i]
                f1[i] = f1m[i] + (skmm[i] * d[1, i]) / rs[i]
                tr += rs[i] / skmm[i]
                tq += rs[i] * (1.0 - f1m[i]) / skmm[i]
            f = fm + nd1 / tr
            fb = (1.0 - fm) ** rho
            for i in range(ng):
                for j in range(i, ng):
                    a[i, j] = 0.0
                if rs[i] <= 0.0:
                    continue
                t1 = rs[i] / skmm[i]
                a[i, i] = fb * t1 * (1.0 - t1 / tr)
                if a[i, i] != 0.0:
                    c[i, i] += a[i, i] * nd1 / (tr * (1.0 - fm))
                for j in range(i + 1, ng):
                    if rs[j] <= 0.0:
                        continue
                    a[i, j] = -fb * t1 * rs[j] / (skmm[j] * tr)
                    if a[i, j] != 0.0:
                        c[i, j] += a[i, j] * nd1 / (tr * (1.0 - fm))
            for i in range(1, ng):
                for j in range(i):
                    a[i, j] = a[j, i]
                    c[i, j] = c[j, i]
            for i in range(ng1):
                if rs[i] <= 0.0:
                    continue
                st[i] += fb * (d[1, i] - nd1 * rs[i] * (1.0 - f1m[i]) / (skmm[i] * tq))
            if nd1 > 0.0:
                for k in range(ng):
                    if rs[k] <= 0.0:
                        continue
                    t4 = 1.0
                    if skm[k] > 0.0:
                        t4 = 1.0 - (1.0 - f) / skm[k]
                    t5 = 1.0
                    if nd1 > 1.0:
                        t5 = 1.0 - (nd1 - 1.0) / (tr * skmm[k] - 1.0)
                    t3 = t5 * skmm[k] * nd1 / (tr * rs[k])
                    v3[k] += t4 * t4 * t3
                    for i in range(ng1):
                        t1 = a[i, k] - t4 * c[i, k]
                        v2[i, k] += t1 * t4 * t3
                        for j in range(i + 1):
                            t2 = a[j, k] - t4 * c[j, k]
                            vt[i, j] += t1 * t2 * t3
            if nd2 > 0.0:
                for k in range(ng):
                    if skm[k] <= 0.0 or d[2, k] <= 0.0:
                        continue
                    t4 = (1.0 - f) / skm[k]
                    t5 = 1.0
                    if d[2, k] > 1.0:
                        t5 = 1.0 - (d[2, k] - 1.0) / (rs[k] - 1.0)
                    t3 = t5 * ((skmm[k] ** 2) * d[2, k]) / (rs[k] ** 2)
                    v3[k] += t4 * t4 * t3
                    for i in range(ng1):
                        t1 = t4 * c[i, k]
                        v2[i, k] -= t1 * t4 * t3
                        for j in range(i + 1):
                            t2 = t4 * c[j, k]
                            vt[i, j] += t1 * t2 * t3
        if lu >= n - 1:
            break
        for i in range(ll, lu + 1):
            rs[grp[i]] -= 1.0
        fm = f
        for i in range(ng):
            f1m[i] = f1[i]
            skmm[i] = skm[i]
        ll = lu + 1
    for i in range(ng1):
        for j in range(i + 1):
            for k in range(ng):
                vt[i, j] += c[i, k] * c[j, k] * v3[k] + c[i, k] * v2[j, k] + c[j, k] * v2[i, k]
    for i in range(ng1):
        s[i] += st[i]
        for j in range(i + 1):
            v[i, j] += vt[i, j]
            if j != i:
                v[j, i] = v[i, j]
