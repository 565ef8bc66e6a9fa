"""routing.feasibility.check_routes: a hand-fixed route's schedule and every rule it breaks (issue 20)."""

import numpy as np

from routing import Break, Depot, Location, PickupDelivery, Problem, Stop, TimeWindow, TravelMatrix, Vehicle
from routing.feasibility import check_routes

# Node 0 is the depot; stops 1..4 lie 10 s apart on a line.
N = 5
DUR = np.array([[abs(i - j) * 10.0 for j in range(N)] for i in range(N)])


def _problem(stops: list[Stop], vehicle: Vehicle, pairs: list[PickupDelivery] | None = None) -> Problem:
    return Problem(
        depots=[Depot("po", Location(node=0))],
        vehicles=[vehicle],
        stops=stops,
        pairs=pairs or [],
        matrix=TravelMatrix(DUR, DUR * 100),
    )


def _stop(i: int, **kw: object) -> Stop:
    return Stop(id=f"s{i}", location=Location(node=i), service_time=5, **kw)  # type: ignore[arg-type]


def test_a_feasible_route_has_its_schedule_and_no_violation() -> None:
    p = _problem([_stop(1), _stop(2)], Vehicle("v", depot_id="po", shift_end=1000))
    rc = check_routes(p, {"v": ["s1", "s2"]})["v"]
    assert rc.feasible and rc.violations == []
    assert [(v.stop_id, v.arrival, v.start, v.end) for v in rc.visits] == [
        ("s1", 10, 10, 15),
        ("s2", 25, 25, 30),
    ]
    assert rc.end_time == 50 and rc.legs == [(10.0, 1000.0), (10.0, 1000.0)]
    assert rc.distance == 4000.0 and rc.travel_time == 40.0


def test_every_broken_rule_is_listed_with_its_stop_and_amount() -> None:
    stops = [
        _stop(1, kind="pickup", window=TimeWindow(0, 100)),
        _stop(2, kind="pickup", window=TimeWindow(0, 12)),  # reached at 25: 13 s late
        _stop(3, kind="pickup", skills=frozenset({"fees"})),  # the courier cannot take cash
    ]
    vehicle = Vehicle("v", depot_id="po", shift_end=40, capacity_items=2)
    rc = check_routes(_problem(stops, vehicle), {"v": ["s1", "s2", "s3"]})["v"]
    found = {(v.rule, v.stop_id, v.amount) for v in rc.violations}
    assert ("time_window", "s2", 13) in found
    assert ("capacity_items", "s3", 1) in found
    assert ("skill", "s3", 0) in found
    assert ("shift_end", None, 35) in found  # back at 75, shift ends at 40
    assert not rc.feasible


def test_the_same_stops_in_a_better_order_pass() -> None:
    stops = [_stop(1, window=TimeWindow(0, 100)), _stop(2, window=TimeWindow(0, 22))]
    p = _problem(stops, Vehicle("v", depot_id="po", shift_end=1000))
    assert not check_routes(p, {"v": ["s1", "s2"]})["v"].feasible
    assert check_routes(p, {"v": ["s2", "s1"]})["v"].feasible


def test_a_route_under_way_starts_when_told() -> None:
    p = _problem([_stop(1, window=TimeWindow(0, 100))], Vehicle("v", depot_id="po", shift_end=1000))
    rc = check_routes(p, {"v": ["s1"]}, {"v": 95})["v"]
    assert rc.visits[0].start == 105 and [v.rule for v in rc.violations] == ["time_window"]


def test_a_desk_pickup_after_its_delivery_or_apart_breaks_the_pair() -> None:
    stops = [_stop(1, kind="pickup"), _stop(2, kind="delivery")]
    pairs = [PickupDelivery("s1", "s2")]
    p = _problem(stops, Vehicle("v", depot_id="po", shift_end=1000), pairs)
    assert check_routes(p, {"v": ["s1", "s2"]})["v"].feasible
    rules = [v.rule for v in check_routes(p, {"v": ["s2", "s1"]})["v"].violations]
    assert "pair" in rules


def test_a_break_that_cannot_fit_is_reported() -> None:
    # The stop must start by 5 and takes 100 s; the break must start between 10 and 20: no order fits both.
    stop = Stop(id="s1", location=Location(node=1), window=TimeWindow(0, 12), service_time=100)
    vehicle = Vehicle("v", depot_id="po", shift_end=1000, breaks=(Break(5, 10, 20),))
    rc = check_routes(_problem([stop], vehicle), {"v": ["s1"]})["v"]
    assert not rc.feasible
    assert {v.rule for v in rc.violations} <= {"break", "time_window"}
    assert len(rc.breaks) == 1
