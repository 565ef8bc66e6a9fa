"""Exact route evaluation in pure Python (scaled integer time), shared by extraction, warm-start repair and
`can_insert`.

A route is a list of tokens: a stop node (>= 0) or a break marker `-(b + 1)` for the vehicle's break b. A
break marker sits on the arc between its neighbours; like OR-Tools breaks it may interrupt travel: departing
at t with travel T, a break [e, l] of duration D starts at max(t, e) (must be <= l) and the vehicle arrives at
max(t + T, e) + D.
"""

from dataclasses import dataclass

from routing.compile import Compiled

Tokens = list[int]


@dataclass
class RouteEval:
    feasible: bool
    reason: str
    arrival: list[int]  # per token (break: its start)
    start: list[int]  # per token: service start (break: its start)
    load_items: list[int]  # per token, after the visit
    load_weight: list[int]
    end_time: int
    travel: int  # scaled travel time of the route


def start_loads(c: Compiled, nodes: list[int]) -> tuple[int, int]:
    """Load on board when leaving the start: the route's depot deliveries (mixed-load model only)."""
    if not c.mixed_load:
        return 0, 0
    li = lw = 0
    for n in nodes:
        if n >= 0 and c.items[n] < 0 and n not in c.pickup_of:
            li -= int(c.items[n])
            lw -= int(c.weight[n])
    return li, lw


def _take_breaks(
    brk: list[tuple[int, int, int]],
    pending: list[int],
    pending_pos: list[int],
    arrival: list[int],
    start: list[int],
    t_dep: int,
    travel: int,
) -> tuple[int, str]:
    """Schedule the breaks waiting on the current arc (``pending``, at token positions ``pending_pos``), which
    they may interrupt; the arrival time at the arc's end and "break window missed" if one starts too late."""
    missed = ""
    rem = travel
    t_now = t_dep
    for pos, b in zip(pending_pos, pending, strict=True):
        e, lat, dur = brk[b]
        bs = max(t_now, e)
        if bs > lat:
            missed = missed or "break window missed"
        rem = max(0, rem - (bs - t_now))
        arrival[pos] = bs
        start[pos] = bs
        t_now = bs + dur
    pending.clear()
    pending_pos.clear()
    return t_now + rem, missed


def evaluate(c: Compiled, vehicle: int, tokens: Tokens, start_time: int | None = None) -> RouteEval:
    """Earliest-start schedule of `tokens` on `vehicle`; `feasible` False with the first violation found."""
    tt = c.travel_list(c.vehicle_profile[vehicle])
    brk = c.breaks[vehicle]
    cap_i = c.cap_items[vehicle]
    cap_w = c.cap_weight[vehicle]
    t = c.shift_start[vehicle] if start_time is None else start_time
    prev = c.starts[vehicle]
    li, lw = start_loads(c, tokens)
    arrival: list[int] = []
    start: list[int] = []
    loads_i: list[int] = []
    loads_w: list[int] = []
    reason = ""
    if cap_i is not None and li > cap_i:
        reason = "capacity (items)"
    elif cap_w is not None and lw > cap_w:
        reason = "capacity (weight)"
    pending: list[int] = []  # break starts on the current arc
    pending_pos: list[int] = []
    seen: set[int] = set()
    travel_total = 0
    committed = c.committed[vehicle] if c.committed else []

    for tok in tokens:
        if tok < 0:
            pending.append(-tok - 1)
            pending_pos.append(len(arrival))
            arrival.append(0)
            start.append(0)
            loads_i.append(li)
            loads_w.append(lw)
            continue
        travel = tt[prev][tok]
        travel_total += travel
        if pending:
            arr, missed = _take_breaks(brk, pending, pending_pos, arrival, start, t, travel)
            reason = reason or missed
        else:
            arr = t + travel
        st = max(arr, int(c.tw_start[tok]))
        # A committed stop's window end is soft (it is served late at a cost, as in the OR-Tools model).
        if st > c.tw_end[tok] and not reason and tok not in committed:
            reason = "time window"
        li += int(c.items[tok])
        lw += int(c.weight[tok])
        if not reason and (li < 0 or (cap_i is not None and li > cap_i)):
            reason = "capacity (items)"
        if not reason and (lw < 0 or (cap_w is not None and lw > cap_w)):
            reason = "capacity (weight)"
        if tok in c.pickup_of and c.pickup_of[tok] not in seen and not reason:
            reason = "delivery before pickup"
        seen.add(tok)
        arrival.append(arr)
        start.append(st)
        loads_i.append(li)
        loads_w.append(lw)
        t = st + int(c.service[tok])
        prev = tok
    travel = tt[prev][c.ends[vehicle]]
    travel_total += travel
    if pending:
        end, missed = _take_breaks(brk, pending, pending_pos, arrival, start, t, travel)
        reason = reason or missed
    else:
        end = t + travel
    if end > c.shift_end[vehicle] and not reason:
        reason = "shift end"
    if not reason:
        for tok in tokens:
            if tok in c.delivery_of and c.delivery_of[tok] not in seen:
                reason = "pickup without delivery"
                break
    return RouteEval(not reason, reason, arrival, start, loads_i, loads_w, end, travel_total)


def place_breaks(c: Compiled, vehicle: int, nodes: list[int]) -> Tokens | None:
    """Insert the vehicle's breaks into a stop sequence at the position giving the earliest feasible end;
    None if the sequence is infeasible whatever the breaks."""
    tokens = list(nodes)
    if not c.breaks[vehicle]:
        return tokens if evaluate(c, vehicle, tokens).feasible else None
    for b in range(len(c.breaks[vehicle])):
        best: tuple[int, Tokens] | None = None
        for pos in range(len(tokens) + 1):
            cand = [*tokens[:pos], -(b + 1), *tokens[pos:]]
            ev = evaluate(c, vehicle, cand)
            if ev.feasible and (best is None or ev.end_time < best[0]):
                best = (ev.end_time, cand)
        if best is None:
            return None
        tokens = best[1]
    return tokens
