"""Compiled core of the ruin-and-recreate search (see `routing.sisr`): SISR (Christiaens & Vanden Berghe,
"Slack Induction by String Removals for Vehicle Routing Problems", Transportation Science 54(2), 2020) on
a vehicle routing problem with time windows, per-vehicle start/end/shift/capacities/fixed costs and one break,
stops that deliver what left the depot with the courier or pick up what goes back to it, and pickup-delivery
pairs (a pickup and its delivery leave and come back together; a pair is inserted at its cheapest pair of
positions on one route, pickup first).

Numba-compiled because one iteration is a few thousand scalar operations: in Python the search would run
two orders of magnitude fewer iterations in the same time. Everything is integer (the scaled units of
`routing.compile`), so a plan feasible here is feasible for the OR-Tools model and the evaluator.

Two tuples travel between the functions:
  pb (the problem, read only): travel, cost, service, tw_start, tw_end (per node), demand (node x 2),
     capacity (vehicle x 2), shift_end, fixed (per vehicle), penalty (per stop), allowed (stop x vehicle),
     empty_rep (per vehicle: first interchangeable vehicle), neighbours (stop x width), depot_cost (per stop),
     mixed (some stops deliver from the depot while others pick up: the load profile matters),
     brk (vehicle x 3: duration, earliest start, latest start of its break), has_brk (per vehicle, 0 or 1),
     partner (per node: the other end of its pickup-delivery pair, -1), role (0 alone, 1 pickup, 2 delivery),
     last_fixed (per vehicle: its last committed stop, -1), fixed_stop (per node: committed, served first in
     the given order, its window's end soft at late_coef per unit late), late_coef
  st (a plan, K vehicles, n stops, L = n + 3 columns):
     seq[k, 0] = start node, seq[k, 1..m] = stops, seq[k, m + 1] = end node, m = size[k]; a vehicle with a
       break always has one BREAK token among its stops (so m counts it): the courier stops where it is
       (no travel to it) and goes on from there after the break
     early[k, p] = earliest service start at position p, late[k, p] = latest start keeping the rest feasible
     lmax[k, p, d] = highest load d (0 items, 1 weight) on board up to position p, lmax[k, p, 2 + d] from
       p on: the courier leaves with the route's deliveries (negative demand) and gathers its pickups;
       lmax[k, p, 4 + d] the load itself after position p; when not mixed, loads only grow and
       lmax[k, 0, 2 + d] alone is kept: the route's final load
     arc[k] = arc cost of route k
     where[i] = vehicle of stop i (-1: unserved), at[i] = its position

One module, over the 500-line guard on purpose (exempt in scripts/check_sizes.py): numba's on-disk cache
(``cache=True``, filled by ``routing.warm``) is invalidated only by a change to the cached function's own file
("changes in symbols defined in other files are not detected", numba's caching notes), so with the kernel
split across modules an edited helper would leave callers running stale machine code until the cache is
cleared by hand; and the ``inline="always"`` helpers are inlined into the search loop only where they are
compiled with it. No function here is over 80 lines.
"""

import numpy as np
from numba import njit

from routing.sisr import BREAK

# SISR parameters from the paper (c-bar, L-max, split rate, split depth, blink rate).
AVG_REMOVED = 10.0
MAX_STRING = 10.0
SPLIT_RATE = 0.5
SPLIT_DEPTH = 0.01
BLINK_RATE = 0.01

# Taken from routing.sisr (numba treats a module global as a constant).


@njit(cache=True, inline="always")
def _loc(seq, k, p):  # pragma: no cover
    """Where the courier is at position p: a break happens at the place before it."""
    node = seq[k, p]
    return node if node >= 0 else seq[k, p - 1]


@njit(cache=True, inline="always")
def _stops(k, st, pb):  # pragma: no cover
    """Real stops on route k (without its break)."""
    return st[1][k] - pb[16][k]


@njit(cache=True)
def schedule(k, st, pb):  # pragma: no cover
    """Recompute early/late of route k; returns False if it is infeasible."""
    seq, size, early, late = st[0], st[1], st[2], st[3]
    travel, service, tw_start, tw_end, shift_end, brk = pb[0], pb[2], pb[3], pb[4], pb[7], pb[15]
    fixed_stop = pb[20]
    m = size[k]
    ok = True
    if pb[16][k] == 0 and pb[19][k] < 0:
        # No break, nothing committed: the plain recurrences (most routes, and the hot path).
        for p in range(1, m + 2):
            a = seq[k, p - 1]
            b = seq[k, p]
            t = max(early[k, p - 1] + service[a] + travel[a, b], tw_start[b])
            early[k, p] = t
            ok = ok and t <= tw_end[b]
        late[k, m + 1] = min(shift_end[k], tw_end[seq[k, m + 1]])
        for p in range(m, -1, -1):
            a = seq[k, p]
            t = late[k, p + 1] - travel[a, seq[k, p + 1]] - service[a]
            late[k, p] = min(t, tw_end[a]) if p > 0 else t
        return ok and early[k, m + 1] <= shift_end[k]
    for p in range(1, m + 2):
        a = seq[k, p - 1]
        b = seq[k, p]
        leave = early[k, p - 1] + (service[a] if a >= 0 else brk[k, 0])
        if b == BREAK:
            t = max(leave, brk[k, 1])
            ok = ok and t <= brk[k, 2]
        else:
            t = max(leave + travel[_loc(seq, k, p - 1), b], tw_start[b])
            ok = ok and (t <= tw_end[b] or fixed_stop[b])
        early[k, p] = t
    if early[k, m + 1] > shift_end[k]:
        ok = False
    late[k, m + 1] = min(shift_end[k], tw_end[seq[k, m + 1]])
    for p in range(m, -1, -1):
        a = seq[k, p]
        b = seq[k, p + 1]
        t = late[k, p + 1] - (service[a] if a >= 0 else brk[k, 0])
        if b != BREAK:
            t -= travel[_loc(seq, k, p), b]
        if p > 0 and not (a >= 0 and fixed_stop[a]):
            t = min(t, tw_end[a] if a >= 0 else brk[k, 2])
        late[k, p] = t
    return ok


@njit(cache=True)
def route_arc(k, st, pb):  # pragma: no cover
    seq, size, early, cost, tw_end, fixed_stop = st[0], st[1], st[2], pb[1], pb[4], pb[20]
    total = 0
    if pb[16][k] == 0 and pb[19][k] < 0:
        for p in range(size[k] + 1):
            total += cost[seq[k, p], seq[k, p + 1]]
        return total
    for p in range(size[k] + 1):
        total += cost[_loc(seq, k, p), _loc(seq, k, p + 1)]
        a = seq[k, p]
        if p > 0 and a >= 0 and fixed_stop[a] and early[k, p] > tw_end[a]:
            total += pb[21] * (early[k, p] - tw_end[a])
    return total


@njit(cache=True)
def profile_loads(k, st, pb):  # pragma: no cover
    """Prefix and suffix maxima of the load on board along route k; False if a capacity is exceeded."""
    seq, size, lmax = st[0], st[1], st[4]
    demand, capacity, mixed, partner = pb[5], pb[6], pb[14], pb[17]
    m = size[k]
    ok = True
    if not mixed:
        for d in range(2):
            load = 0
            for p in range(1, m + 1):
                if seq[k, p] >= 0:
                    load += demand[seq[k, p], d]
            lmax[k, 0, 2 + d] = load
            ok = ok and load <= capacity[k, d]
        return ok
    for d in range(2):
        load = 0
        for p in range(1, m + 1):
            # The courier leaves with what the route delivers from the depot (not what a pair carries).
            if seq[k, p] >= 0 and partner[seq[k, p]] < 0:
                load -= min(0, demand[seq[k, p], d])
        top = load
        lmax[k, 0, d] = load
        lmax[k, 0, 4 + d] = load
        for p in range(1, m + 1):
            if seq[k, p] >= 0:
                load += demand[seq[k, p], d]
            top = max(top, load)
            lmax[k, p, d] = top
            lmax[k, p, 4 + d] = load
        if top > capacity[k, d]:
            ok = False
        top = load
        for p in range(m, -1, -1):
            top = max(top, load)
            lmax[k, p, 2 + d] = top
            if p > 0 and seq[k, p] >= 0:
                load -= demand[seq[k, p], d]
    return ok


@njit(cache=True)
def _end_with_break(k, q, st, pb):  # pragma: no cover
    """End time of route k (which holds no break now) with its break taken after position q; -1 if late."""
    seq, size, early = st[0], st[1], st[2]
    travel, service, tw_start, tw_end, shift_end, brk = pb[0], pb[2], pb[3], pb[4], pb[7], pb[15]
    t = early[k, 0]
    prev = seq[k, 0]
    for p in range(1, size[k] + 2):
        leave = t + service[prev]
        if p - 1 == q:
            start = max(leave, brk[k, 1])
            if start > brk[k, 2]:
                return -1
            leave = start + brk[k, 0]
        node = seq[k, p]
        t = max(leave + travel[prev, node], tw_start[node])
        if t > tw_end[node] and not pb[20][node]:
            return -1
        prev = node
    return t if t <= shift_end[k] else -1


@njit(cache=True)
def place_break(k, st, pb):  # pragma: no cover
    """Move route k's break to where the route ends earliest (most room left for more stops). False if no
    place is feasible (the break then stays where it was). Call `refresh` afterwards."""
    if pb[16][k] == 0:
        return True
    seq, size = st[0], st[1]
    m = size[k]
    was = 1
    while seq[k, was] != BREAK:
        was += 1
    for q in range(was, m + 1):
        seq[k, q] = seq[k, q + 1]
    size[k] = m - 1
    best_q = was - 1
    best_end = -1
    for q in range(m):
        end = _end_with_break(k, q, st, pb)
        if end >= 0 and (best_end < 0 or end < best_end):
            best_end = end
            best_q = q
    for q in range(m, best_q, -1):
        seq[k, q + 1] = seq[k, q]
    seq[k, best_q + 1] = BREAK
    size[k] = m
    at = st[7]
    for p in range(1, m + 1):
        if seq[k, p] >= 0:
            at[seq[k, p]] = p
    return best_end >= 0


@njit(cache=True)
def refresh(k, st, pb):  # pragma: no cover
    """Loads, schedule and arc cost of route k after its stops changed; False if it is infeasible."""
    ok = profile_loads(k, st, pb)
    ok = schedule(k, st, pb) and ok
    st[5][k] = route_arc(k, st, pb)
    return ok


@njit(cache=True)
def _remove_at(k, p, st, removed, n_removed):  # pragma: no cover
    """Take the stop at position p out of route k (positions after it shift left)."""
    seq, size, where, at = st[0], st[1], st[6], st[7]
    node = seq[k, p]
    m = size[k]
    for q in range(p, m + 1):
        seq[k, q] = seq[k, q + 1]
        if q < m and seq[k, q] >= 0:
            at[seq[k, q]] = q
    size[k] = m - 1
    where[node] = -1
    at[node] = -1
    removed[n_removed] = node
    return n_removed + 1


@njit(cache=True)
def _ruin(st, pb, removed, touched):  # pragma: no cover
    """SISR ruin: strings (or split strings) from the routes met walking the neighbours of a random seed."""
    seq, size, where, at = st[0], st[1], st[6], st[7]
    neighbours = pb[12]
    n_routes = 0
    served = 0
    has_brk = pb[16]
    for k in range(size.shape[0]):
        if size[k] > has_brk[k]:
            n_routes += 1
            served += size[k] - has_brk[k]
    if served == 0:
        return 0
    l_s_max = min(MAX_STRING, served / n_routes)
    k_s_max = 4.0 * AVG_REMOVED / (1.0 + l_s_max) - 1.0
    k_s = int(np.random.uniform(1.0, k_s_max + 1.0))
    seed = np.random.randint(where.shape[0])
    n_removed = 0
    cut = 0
    for j in range(neighbours.shape[1] + 1):
        if cut >= k_s:
            break
        c = seed if j == 0 else neighbours[seed, j - 1]
        k = where[c]
        if k < 0 or touched[k]:
            continue
        m = size[k]
        length = int(np.random.uniform(1.0, min(float(m), l_s_max) + 1.0))
        pos_c = at[c]
        keep = 0
        if length < m and np.random.random() < SPLIT_RATE:
            # Split string: `keep` consecutive stops inside the cut string stay.
            keep = 1
            while length + keep < m and np.random.random() > SPLIT_DEPTH:
                keep += 1
        span = length + keep
        lo = np.random.randint(max(1, pos_c - span + 1), min(pos_c, m - span + 1) + 1)
        keep_at = lo + np.random.randint(0, length + 1)
        # From the right, so that positions on the left stay valid.
        for p in range(lo + span - 1, lo - 1, -1):
            if not keep_at <= p < keep_at + keep and seq[k, p] != BREAK and not pb[20][seq[k, p]]:
                n_removed = _remove_at(k, p, st, removed, n_removed)
        touched[k] = True
        cut += 1
    # A pair leaves together.
    partner = pb[17]
    for r in range(n_removed):
        other = partner[removed[r]]
        if other >= 0 and where[other] >= 0:
            k = where[other]
            n_removed = _remove_at(k, at[other], st, removed, n_removed)
            touched[k] = True
    return n_removed


@njit(cache=True)
def _order(removed, n_removed, pb):  # pragma: no cover
    """SISR insertion order: random (4), largest demand (4), farthest from depot (2), closest (1)."""
    demand, depot_cost = pb[5], pb[13]
    r = np.random.randint(11)
    keys = np.empty(n_removed, dtype=np.float64)
    for i in range(n_removed):
        node = removed[i]
        tie = np.random.random() * 1e-3
        if r < 4:
            keys[i] = tie
        elif r < 8:
            keys[i] = tie - (abs(demand[node, 0]) + abs(demand[node, 1]))
        elif r < 10:
            keys[i] = tie - depot_cost[node]
        else:
            keys[i] = tie + depot_cost[node]
    return removed[:n_removed][np.argsort(keys)]


@njit(cache=True, inline="always")
def _fits(lmax, k, d, m, delta, cap, mixed):  # pragma: no cover
    """Can any position of route k take demand `delta` of dimension d: a delivery adds to the load from the
    start (lowest at position 0), a pickup to the load from the end (lowest at position m)."""
    if not mixed:
        return lmax[k, 0, 2 + d] + delta <= cap
    return lmax[k, 0, d] - delta <= cap if delta < 0 else lmax[k, m, 2 + d] + delta <= cap


@njit(cache=True, inline="always")
def _fits_at(lmax, k, p, d0, d1, cap0, cap1):  # pragma: no cover
    """Does inserting demand (d0, d1) after position p keep both loads within capacity."""
    if (lmax[k, p, 0] - d0 > cap0) if d0 < 0 else (lmax[k, p, 2] + d0 > cap0):
        return False
    return not ((lmax[k, p, 1] - d1 > cap1) if d1 < 0 else (lmax[k, p, 3] + d1 > cap1))


# The helpers of the insertion loops take arrays, not the `st`/`pb` tuples: taking an array out of a tuple
# costs a reference-count update, which in the innermost loop made the search several times slower.


@njit(cache=True, inline="always")
def _leave(seq, early, service, brk, k, p):  # pragma: no cover
    """When the courier leaves position p of route k (its service or break done)."""
    a = seq[k, p]
    return early[k, p] + (service[a] if a >= 0 else brk[k, 0])


@njit(cache=True, inline="always")
def _reaches(seq, late, travel, brk, k, p, u, t):  # pragma: no cover
    """Leaving u (just inserted after position p) at t, does the rest of route k stay on time?"""
    b = seq[k, p + 1]
    if b != BREAK:
        return t + travel[u, b] <= late[k, p + 1]
    # Before a break, u's place is where the courier waits and leaves from after it.
    t = max(t, brk[k, 1])
    return t <= brk[k, 2] and t + brk[k, 0] + travel[u, seq[k, p + 2]] <= late[k, p + 2]


@njit(cache=True, inline="always")
def _detour(seq, cost, k, p, u):  # pragma: no cover
    """Cost of putting u between position p and the next real place of route k."""
    la = _loc(seq, k, p)
    lb = seq[k, p + 2] if seq[k, p + 1] == BREAK else seq[k, p + 1]
    return cost[la, u] + cost[u, lb] - cost[la, lb]


@njit(cache=True, inline="always")
def _first_free(at, last_fixed, k):  # pragma: no cover
    """The first position after which route k takes new stops: after its committed stops."""
    last = last_fixed[k]
    return at[last] if last >= 0 and at[last] > 0 else 0


@njit(cache=True, inline="always")
def _may_take(size, allowed, empty_rep, has_brk, u, k):  # pragma: no cover
    """May route k take u: u is allowed on it, and of identical empty vehicles only the first is tried."""
    if not allowed[u, k]:
        return False
    rep = empty_rep[k]
    return not (size[k] == has_brk[k] and rep != k and size[rep] == has_brk[rep])


@njit(cache=True, inline="always")
def _best_single(u, st, pb, blink):  # pragma: no cover
    """Cheapest feasible (delta, vehicle, position) for stop u; vehicle -1 if none."""
    seq, size, early, late, lmax, at = st[0], st[1], st[2], st[3], st[4], st[7]
    travel, cost, service, tw_start, tw_end, demand, capacity = (
        pb[0],
        pb[1],
        pb[2],
        pb[3],
        pb[4],
        pb[5],
        pb[6],
    )
    fixed, allowed, empty_rep, mixed, brk, has_brk, last_fixed = (
        pb[8], pb[10], pb[11], pb[14], pb[15], pb[16], pb[19]
    )  # fmt: skip
    best_delta = np.int64(2**62)
    best_k = -1
    best_p = -1
    for k in range(size.shape[0]):
        m = size[k]
        empty = m == has_brk[k]
        if not _may_take(size, allowed, empty_rep, has_brk, u, k):
            continue
        if not _fits(lmax, k, 0, m, demand[u, 0], capacity[k, 0], mixed) or not _fits(
            lmax, k, 1, m, demand[u, 1], capacity[k, 1], mixed
        ):
            continue
        extra = fixed[k] if empty else 0
        for p in range(_first_free(at, last_fixed, k), m + 1):
            if blink > 0.0 and np.random.random() < blink:
                continue
            delta = _detour(seq, cost, k, p, u) + extra
            if delta >= best_delta:
                continue
            if mixed and not _fits_at(lmax, k, p, demand[u, 0], demand[u, 1], capacity[k, 0], capacity[k, 1]):
                continue
            t = max(_leave(seq, early, service, brk, k, p) + travel[_loc(seq, k, p), u], tw_start[u])
            if t > tw_end[u] or not _reaches(seq, late, travel, brk, k, p, u, t + service[u]):
                continue
            best_delta = delta
            best_k = k
            best_p = p
    return best_delta, best_k, best_p


@njit(cache=True, inline="always")
def _best_pair(u, v, st, pb, blink):  # pragma: no cover
    """Cheapest feasible (delta, vehicle, i, j) for pickup u after position i and its delivery v after
    position j >= i (j == i: v right after u) of the same route; vehicle -1 if none."""
    seq, size, early, late, lmax, at = st[0], st[1], st[2], st[3], st[4], st[7]
    travel, cost, service, tw_start, tw_end, demand, capacity = (
        pb[0],
        pb[1],
        pb[2],
        pb[3],
        pb[4],
        pb[5],
        pb[6],
    )
    fixed, allowed, empty_rep, brk, has_brk, last_fixed = pb[8], pb[10], pb[11], pb[15], pb[16], pb[19]
    best = (np.int64(2**62), -1, -1, -1)
    for k in range(size.shape[0]):
        m = size[k]
        empty = m == has_brk[k]
        if not _may_take(size, allowed, empty_rep, has_brk, u, k):
            continue
        extra = fixed[k] if empty else 0
        for i in range(_first_free(at, last_fixed, k), m + 1):
            if blink > 0.0 and np.random.random() < blink:
                continue
            d_u = _detour(seq, cost, k, i, u) + extra
            if d_u >= best[0]:
                continue
            t = max(_leave(seq, early, service, brk, k, i) + travel[_loc(seq, k, i), u], tw_start[u])
            if t > tw_end[u]:
                continue
            # Walk on from u with v not yet placed: `here`/`leave` is where and when the courier leaves.
            here = u
            leave = t + service[u]
            top0 = lmax[k, i, 4]
            top1 = lmax[k, i, 5]
            for j in range(i, m + 1):
                if j > i:
                    b = seq[k, j]
                    if b == BREAK:
                        start = max(leave, brk[k, 1])
                        if start > brk[k, 2]:
                            break
                        leave = start + brk[k, 0]
                    else:
                        tb = max(leave + travel[here, b], tw_start[b])
                        if tb > tw_end[b]:
                            break
                        here = b
                        leave = tb + service[b]
                    top0 = max(top0, lmax[k, j, 4])
                    top1 = max(top1, lmax[k, j, 5])
                # u's load rides from u to v: every load in between grows by it.
                if top0 + demand[u, 0] > capacity[k, 0] or top1 + demand[u, 1] > capacity[k, 1]:
                    break
                nxt = seq[k, j + 2] if seq[k, j + 1] == BREAK else seq[k, j + 1]
                if j == i:
                    delta = d_u + cost[u, v] + cost[v, nxt] - cost[u, nxt]
                else:
                    delta = d_u + _detour(seq, cost, k, j, v)
                if delta >= best[0]:
                    continue
                tv = max(leave + travel[here, v], tw_start[v])
                if tv > tw_end[v] or not _reaches(seq, late, travel, brk, k, j, v, tv + service[v]):
                    continue
                best = (delta, k, i, j)
    return best


@njit(cache=True, inline="always")
def _insert_at(k, p, u, st):  # pragma: no cover
    """Put u right after position p of route k (schedule and loads are left to the caller)."""
    seq, size, where, at = st[0], st[1], st[6], st[7]
    m = size[k]
    for q in range(m + 1, p, -1):
        seq[k, q + 1] = seq[k, q]
        if q <= m and seq[k, q + 1] >= 0:
            at[seq[k, q + 1]] = q + 1
    seq[k, p + 1] = u
    size[k] = m + 1
    where[u] = k
    at[u] = p + 1


@njit(cache=True)
def _recreate(order, st, pb, touched, blink):  # pragma: no cover
    """Greedy insertion with blinks: each stop (each pickup with its delivery) at its cheapest feasible
    position; returns how many stops are left out."""
    partner, role = pb[17], pb[18]
    left = 0
    for u in order:
        if role[u] == 2:
            # A delivery goes in with its pickup: counted there.
            continue
        if role[u] == 1:
            v = partner[u]
            _, k, i, j = _best_pair(u, v, st, pb, blink)
            if k < 0:
                left += 2
                continue
            _insert_at(k, j, v, st)
            _insert_at(k, i, u, st)
        else:
            _, k, p = _best_single(u, st, pb, blink)
            if k < 0:
                left += 1
                continue
            _insert_at(k, p, u, st)
        touched[k] = True
        schedule(k, st, pb)
        profile_loads(k, st, pb)
    return left


@njit(cache=True)
def _copy_route(k, src, dst, mixed):  # pragma: no cover
    s_seq, s_size, s_early, s_late, s_lmax, s_arc = src[0], src[1], src[2], src[3], src[4], src[5]
    d_seq, d_size, d_early, d_late, d_lmax, d_arc, d_where, d_at = dst
    m = s_size[k]
    for p in range(m + 2):
        d_seq[k, p] = s_seq[k, p]
        d_early[k, p] = s_early[k, p]
        d_late[k, p] = s_late[k, p]
    for p in range(m + 1 if mixed else 1):
        for d in range(6):
            d_lmax[k, p, d] = s_lmax[k, p, d]
    for p in range(1, m + 1):
        if s_seq[k, p] >= 0:
            d_where[s_seq[k, p]] = k
            d_at[s_seq[k, p]] = p
    d_size[k] = m
    d_arc[k] = s_arc[k]


@njit(cache=True)
def _restore(src, dst, touched, removed, n_removed, mixed):  # pragma: no cover
    """Make the touched routes and the removed stops of `dst` what they are in `src`."""
    for k in range(touched.shape[0]):
        if touched[k]:
            _copy_route(k, src, dst, mixed)
    for j in range(n_removed):
        node = removed[j]
        if src[6][node] < 0:
            dst[6][node] = -1
            dst[7][node] = -1


@njit(cache=True)
def objective_of(st, pb):  # pragma: no cover
    size, arc, where = st[1], st[5], st[6]
    fixed, penalty = pb[8], pb[9]
    total = 0
    for k in range(size.shape[0]):
        if _stops(k, st, pb) > 0:
            total += arc[k] + fixed[k]
    for i in range(where.shape[0]):
        if where[i] < 0:
            total += penalty[i]
    return total


@njit(cache=True, inline="always")
def _route_value(size, arc, fixed, has_brk, k):  # pragma: no cover
    return arc[k] + fixed[k] if size[k] > has_brk[k] else 0


@njit(cache=True)
def search(cur, best, cur_obj, best_obj, iterations, temp_from, temp_to, seed, pb):  # pragma: no cover
    """`iterations` SISR steps from the accepted plan `cur` with simulated-annealing acceptance, the temperature
    falling geometrically from temp_from to temp_to over the call; `cur` and `best` are updated in place.
    Returns (current objective, best objective, accepted steps)."""
    np.random.seed(seed)
    penalty, has_brk, fixed = pb[9], pb[16], pb[8]
    c_where = cur[6]
    n_veh = cur[1].shape[0]
    n_stops = c_where.shape[0]
    wrk = (cur[0].copy(), cur[1].copy(), cur[2].copy(), cur[3].copy(), cur[4].copy(), cur[5].copy(),
           cur[6].copy(), cur[7].copy())  # fmt: skip
    w_where = wrk[6]
    touched = np.zeros(n_veh, dtype=np.bool_)
    removed = np.empty(n_stops, dtype=np.int64)
    accepted = 0
    ratio = temp_to / temp_from if temp_from > 0 else 1.0
    for it in range(iterations):
        temp = temp_from * ratio ** (it / iterations)
        touched[:] = False
        n_removed = _ruin(wrk, pb, removed, touched)
        # Stops the current plan leaves out get another chance in every recreate.
        n_all = n_removed
        for i in range(n_stops):
            if c_where[i] < 0:
                removed[n_all] = i
                n_all += 1
        if n_all == 0:
            continue
        broken = False
        for k in range(n_veh):
            if touched[k] and not ((has_brk[k] == 0 or place_break(k, wrk, pb)) and refresh(k, wrk, pb)):
                # Taking stops out made the route later: the travel times break the triangle inequality
                # (a road-network table can). Drop this step.
                broken = True
        if broken:
            _restore(cur, wrk, touched, removed, n_all, pb[14])
            continue
        _recreate(_order(removed, n_all, pb), wrk, pb, touched, BLINK_RATE)
        obj = cur_obj
        for k in range(n_veh):
            if touched[k]:
                if pb[16][k]:
                    place_break(k, wrk, pb)
                    refresh(k, wrk, pb)
                else:
                    wrk[5][k] = route_arc(k, wrk, pb)
                obj += _route_value(wrk[1], wrk[5], fixed, has_brk, k)
                obj -= _route_value(cur[1], cur[5], fixed, has_brk, k)
        for j in range(n_all):
            node = removed[j]
            obj += (penalty[node] if w_where[node] < 0 else 0) - (penalty[node] if c_where[node] < 0 else 0)
        take = obj <= cur_obj or (temp > 0 and np.random.random() < np.exp(-(obj - cur_obj) / temp))
        if take:
            _restore(wrk, cur, touched, removed, n_all, pb[14])
        else:
            _restore(cur, wrk, touched, removed, n_all, pb[14])
        if take:
            cur_obj = obj
            accepted += 1
            if obj < best_obj:
                best_obj = obj
                for k in range(n_veh):
                    _copy_route(k, cur, best, pb[14])
                for i in range(n_stops):
                    if c_where[i] < 0:
                        best[6][i] = -1
                        best[7][i] = -1
    return cur_obj, best_obj, accepted


@njit(cache=True)
def insert_all(st, pb, seed):  # pragma: no cover
    """Insert every unserved stop greedily (a first plan, or the stops a warm start lacks); returns how many
    found no feasible place."""
    np.random.seed(seed)
    where = st[6]
    pending = np.nonzero(where < 0)[0].astype(np.int64)
    touched = np.zeros(st[1].shape[0], dtype=np.bool_)
    left = _recreate(_order(pending, pending.shape[0], pb), st, pb, touched, 0.0)
    for k in range(st[1].shape[0]):
        if touched[k] and pb[16][k]:
            place_break(k, st, pb)
        refresh(k, st, pb)
    return left
