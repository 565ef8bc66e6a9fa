"""One visit per household, the rules (issue 20; pure, no database): which visits merge into one routing node,
what the node is, and how a solved node is stored back as its items."""

import uuid
from datetime import date, datetime

from backend.planning import clock
from backend.planning.problem_builder import DayInput, StopInfo
from backend.planning.services import households
from routing import Visit
from schemas.enums import OrgKind
from schemas.orgs import Organisation
from schemas.planning import StopKind

DAY = date(2027, 1, 20)
H = 3600
HOME = (10.46, 105.63)


def _at(secs: int) -> datetime:
    return clock.at(DAY, secs)


def _visit(citizen: uuid.UUID, kind: StopKind, a: int, b: int, **kw: object) -> StopInfo:
    appt = uuid.uuid4()
    fields: dict[str, object] = {
        "key": f"A:{appt}", "kind": kind, "lat": HOME[0], "lon": HOME[1], "window_start": _at(a),
        "window_end": _at(b), "service_s": 600 if kind != StopKind.delivery else 300, "appointment_id": appt,
        "citizen_id": citizen, "address": "Số 7, đường Hộ Gia Đình",
    }  # fmt: skip
    fields.update(kw)
    return StopInfo(**fields)  # type: ignore[arg-type]


def _day(*stops: StopInfo) -> DayInput:
    office = Organisation(code="82-BD-11", name="x", kind=OrgKind.post_office)  # type: ignore[call-arg]
    day = DayInput(post_office=office, day=DAY)
    day.stops = {s.key: s for s in stops}
    return day


def test_one_citizens_visits_at_one_address_become_one_node() -> None:
    me = uuid.uuid4()
    pickup = _visit(me, StopKind.pickup, 8 * H, 12 * H, skills=frozenset({"fees"}))
    delivery = _visit(me, StopKind.delivery, 10 * H, 14 * H, address="số 7  đường hộ gia đình")
    day = _day(pickup, delivery)
    day.initial_routes = {uuid.uuid4(): [pickup.key, delivery.key]}
    assert households.merge(day) == 1
    (node,) = day.stops.values()
    assert node.key == "V:" + pickup.key[2:] and node.members == (pickup, delivery)
    assert (node.window_start, node.window_end) == (_at(10 * H), _at(12 * H))  # the tightest common window
    assert node.service_s == 900 and node.items == 2 and node.weight_g == pickup.weight_g + delivery.weight_g
    assert node.skills == {"fees"} and node.kind == StopKind.delivery
    assert list(day.initial_routes.values()) == [[node.key]]
    assert len(households.items_of(day.stops)) == 2

    # Stored back as its items, one after the other from the visit's start, in the common window.
    items = households.expand(node, Visit(node.key, arrival=35000, start=36000, end=36900, load_items=2,
                                          load_weight=600))  # fmt: skip
    assert [(i.key, t) for i, t in items] == [
        (pickup.key, (35000, 36000, 36600)),
        (delivery.key, (36600, 36600, 36900)),
    ]
    assert all(i.window_start == node.window_start for i, _ in items)


def test_what_does_not_merge() -> None:
    me, neighbour, courier_a, courier_b = (uuid.uuid4() for _ in range(4))
    morning = _visit(me, StopKind.pickup, 8 * H, 10 * H)
    afternoon = _visit(me, StopKind.delivery, 14 * H, 16 * H)  # windows do not meet
    elsewhere = _visit(me, StopKind.pickup, 8 * H, 10 * H, address="Số 9, đường Khác", lat=10.5)
    other = _visit(neighbour, StopKind.pickup, 8 * H, 10 * H)
    desk = _visit(me, StopKind.desk_pickup, 8 * H, 10 * H)
    day = _day(morning, afternoon, elsewhere, other, desk)
    assert households.merge(day) == 0 and len(day.stops) == 5

    pinned_a = _visit(me, StopKind.pickup, 8 * H, 12 * H, pinned_courier=courier_a)
    pinned_b = _visit(me, StopKind.delivery, 8 * H, 12 * H, pinned_courier=courier_b)
    assert households.merge(_day(pinned_a, pinned_b)) == 0

    started = _visit(me, StopKind.pickup, 8 * H, 12 * H)
    later = _visit(me, StopKind.delivery, 8 * H, 12 * H)
    day = _day(started, later)
    day.committed = {courier_a: [started.key]}
    assert households.merge(day) == 0
    # Both kept by a re-plan but apart in the courier's committed order: not one visit either.
    between = _visit(neighbour, StopKind.pickup, 8 * H, 12 * H)
    day = _day(started, later, between)
    day.committed = {courier_a: [started.key, between.key, later.key]}
    assert households.merge(day) == 0

    paired_1 = _visit(me, StopKind.delivery, 8 * H, 12 * H, pair_key="R:1")
    paired_2 = _visit(me, StopKind.delivery, 8 * H, 12 * H, pair_key="R:2")
    assert households.merge(_day(paired_1, paired_2)) == 0


def test_a_desk_pair_follows_its_delivery_into_the_visit() -> None:
    me = uuid.uuid4()
    delivery = _visit(me, StopKind.delivery, 8 * H, 12 * H, pair_key="R:x")
    pickup = _visit(me, StopKind.pickup, 9 * H, 12 * H)
    day = _day(delivery, pickup)
    day.pairs = [("R:x", delivery.key)]
    assert households.merge(day) == 1
    (node,) = day.stops.values()
    assert day.pairs == [("R:x", node.key)] and node.pair_key == "R:x"


def test_a_pinned_visit_stays_one_visit_through_a_replan() -> None:
    me, courier = uuid.uuid4(), uuid.uuid4()
    first = _visit(me, StopKind.pickup, 8 * H, 12 * H)
    second = _visit(me, StopKind.delivery, 9 * H, 12 * H)
    other = _visit(uuid.uuid4(), StopKind.pickup, 8 * H, 12 * H, address="Số 1, đường Khác")
    day = _day(first, second, other)
    day.committed = {courier: [other.key, first.key, second.key]}  # both items pinned, next to each other
    assert households.merge(day) == 1
    node = day.stops[households.visit_key(first)]
    assert node.members == (first, second)
    assert day.committed == {courier: [other.key, node.key]}
