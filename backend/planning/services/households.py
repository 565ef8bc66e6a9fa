"""One visit per household (issue 20): the pickups, supplements and deliveries of one citizen at one address on
one day become one stop.

Before a solve (``merge``, over the day as ``problem_builder`` and ``replanning`` left it), the home visits of
the same citizen at the same address (the same text, places within ``SAME_PLACE_M``) whose windows overlap are
one routing node ``V:<first appointment id>``: the tightest common window, the summed service time, items and
weight, the union of skills. Not merged: a started or pinned item with one that is not (or with one committed
to another courier, or not next to it in the committed order: a pinned visit stays one visit through a
re-plan), two visits pinned to different couriers, two desk-to-home pairs (the routing model pairs one pickup with one
delivery). The load of a mixed visit is the routing model's approximation: one load change at the node (a
delivery if any item is one), not a drop and a pick-up.

After the solve the node is stored as one ``plan_stop`` row per item (``expand``), in a row, sharing its
``visit_key``: every existing path that acts on an item (publishing's assignment, the courier's start /
complete / fail, custody's events) works per item unchanged. The courier's app shows them as one stop listing
the items (``one_stop_per_visit``). The citizen's handover code is one per citizen and day
(``custody.services.verification.handover_code``), so it is one code for the whole visit.
"""

from dataclasses import replace
from datetime import datetime
from typing import Any

from backend.planning.problem_builder import DayInput, StopInfo
from routing import Location, Visit, geodesic_m
from schemas.planning import PlanStop, StopKind

MERGEABLE = (StopKind.pickup, StopKind.assisted, StopKind.delivery)
SAME_PLACE_M = 100.0


def _norm(address: str | None) -> str:
    return " ".join((address or "").casefold().replace(",", " ").split())


def merge(day: DayInput) -> int:
    """Merge the day's household visits in place; returns how many visit nodes were made."""
    committed = {k: (cid, i) for cid, keys in day.committed.items() for i, k in enumerate(keys)}
    groups: dict[tuple[Any, str], list[StopInfo]] = {}
    for s in day.stops.values():
        if s.kind in MERGEABLE and s.citizen_id and s.appointment_id and not s.members:
            groups.setdefault((s.citizen_id, _norm(s.address)), []).append(s)
    made = 0
    for members in groups.values():
        if len(members) < 2:
            continue
        for visit in _clusters(sorted(members, key=_order), committed):
            if len(visit) > 1:
                _replace(day, visit)
                made += 1
    return made


def _order(s: StopInfo) -> tuple[datetime | None, str]:
    return (s.window_start, s.key)


def _window(members: list[StopInfo]) -> tuple[datetime | None, datetime | None]:
    starts = [m.window_start for m in members if m.window_start is not None]
    ends = [m.window_end for m in members if m.window_end is not None]
    return (max(starts) if starts else None, min(ends) if ends else None)


def _fits(cluster: list[StopInfo], s: StopInfo, committed: dict[str, tuple[Any, int]]) -> bool:
    # Committed items (started, or pinned by a dispatcher: a re-plan keeps them in order) join only a visit
    # whose items are all committed to the same courier, next to each other in that order.
    places = [committed.get(m.key) for m in [*cluster, s]]
    if any(places):
        if not all(places) or len({p[0] for p in places if p}) != 1:
            return False
        order = sorted(p[1] for p in places if p)
        if order != list(range(order[0], order[0] + len(order))):
            return False
    head = cluster[0]
    if geodesic_m(Location(head.lat, head.lon), Location(s.lat, s.lon)) > SAME_PLACE_M:
        return False
    lo, hi = _window([*cluster, s])
    if lo is not None and hi is not None and lo >= hi:
        return False
    if s.pair_key and any(m.pair_key for m in cluster):
        return False
    pins = {m.pinned_courier for m in [*cluster, s] if m.pinned_courier}
    return len(pins) <= 1


def _clusters(members: list[StopInfo], committed: dict[str, tuple[Any, int]]) -> list[list[StopInfo]]:
    out: list[list[StopInfo]] = []
    for s in members:
        home = next((c for c in out if _fits(c, s, committed)), None)
        if home is None:
            out.append([s])
        else:
            home.append(s)
    return out


def visit_key(first: StopInfo) -> str:
    return "V:" + first.key.split(":", 1)[-1]


def _replace(day: DayInput, visit: list[StopInfo]) -> None:
    key = visit_key(visit[0])
    lo, hi = _window(visit)
    node = replace(
        visit[0],
        key=key,
        kind=StopKind.delivery if any(m.kind == StopKind.delivery for m in visit) else visit[0].kind,
        window_start=lo,
        window_end=hi,
        service_s=sum(m.service_s for m in visit),
        items=sum(m.items for m in visit),
        weight_g=sum(m.weight_g for m in visit),
        skills=frozenset().union(*(m.skills for m in visit)),
        pair_key=next((m.pair_key for m in visit if m.pair_key), None),
        pinned_courier=next((m.pinned_courier for m in visit if m.pinned_courier), None),
        members=tuple(visit),
    )
    keys = {m.key for m in visit}
    for m in visit:
        day.stops.pop(m.key, None)
    day.stops[key] = node
    day.pairs = [(key if p in keys else p, key if d in keys else d) for p, d in day.pairs]
    for lists in (day.initial_routes, day.committed):
        for cid, ks in lists.items():
            mapped = [key if k in keys else k for k in ks]
            lists[cid] = [k for i, k in enumerate(mapped) if k not in mapped[:i]]


def expand(info: StopInfo, v: Visit) -> list[tuple[StopInfo, tuple[int, int, int]]]:
    """A solved node as the items to store, each with (arrival, service start, departure) in seconds of the
    day: the items of a visit served one after the other from the visit's start, in the visit's window."""
    if not info.members:
        return [(info, (v.arrival, v.start, v.end))]
    out = []
    t = v.start
    for i, m in enumerate(info.members):
        item = replace(m, window_start=info.window_start, window_end=info.window_end)
        out.append((item, (v.arrival if i == 0 else t, t, t + m.service_s)))
        t += m.service_s
    return out


def items_of(stops: dict[str, StopInfo]) -> list[StopInfo]:
    """Every item of the day's stops (a visit's members in its place)."""
    return [m for s in stops.values() for m in (s.members or (s,))]


ITEM_FIELDS = ("kind", "status", "task", "appointment", "procedure", "dossier", "result_item", "collect_fees",
               "outcome_code", "missing_documents")  # fmt: skip


def one_stop_per_visit(shown: list[dict[str, Any]], rows: list[PlanStop]) -> list[dict[str, Any]]:
    """The courier's stops with the items of each household visit as one stop listing them (``visit_items``,
    each with its own ``stop_id`` to act on); a stop of one item is unchanged (``visit_items`` null)."""
    out: list[dict[str, Any]] = []
    last_key: str | None = None
    for stop, row in zip(shown, rows, strict=True):
        item = {"stop_id": stop["id"], **{f: stop.get(f) for f in ITEM_FIELDS}}
        if row.visit_key is not None and row.visit_key == last_key:
            head = out[-1]
            head["visit_items"].append(item)
            head["items"] += stop["items"]
            continue
        last_key = row.visit_key
        out.append({**stop, "visit_items": [item] if row.visit_key else None})
    return out
