"""Pure parts of planning: what a courier sees of a person, ETAs along a route, the SVG map."""

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

from backend.lib import privacy
from backend.planning import clock, eta, mapsvg
from routing import HaversineMatrix, Location


def test_name_and_phone_are_reduced() -> None:
    assert privacy.name_hint("Nguyễn Văn An") == "N. V. An"
    assert privacy.name_hint("  ") is None
    masked = privacy.mask_phone("+84900000005")
    assert masked == "+84 90••••005" and "900000005" not in (masked or "")
    assert privacy.may_call(True, date(2026, 1, 2), date(2026, 1, 2))
    assert not privacy.may_call(False, date(2026, 1, 2), date(2026, 1, 2))
    assert not privacy.may_call(True, date(2026, 1, 1), date(2026, 1, 2))


def test_clock_round_trips_in_vietnam_time() -> None:
    day = date(2026, 3, 2)
    t = clock.at(day, 8 * 3600)
    assert t == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert clock.secs(day, t) == 8 * 3600
    assert clock.rfc3339(t) == "2026-03-02T08:00:00+07:00"


def test_etas_wait_for_windows_and_add_travel() -> None:
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    a, b = (10.45, 105.63), (10.47, 105.65)
    legs = [eta.Leg(a[0], a[1], None, 300), eta.Leg(b[0], b[1], start + timedelta(hours=3), 600)]
    out = eta.recompute(HaversineMatrix(), "motorbike", (10.44, 105.62), start, legs)
    m = HaversineMatrix().matrix([Location(10.44, 105.62), Location(*a), Location(*b)], "motorbike")
    assert out[0].arrival == start + timedelta(seconds=round(float(m.durations[0, 1])))
    assert out[0].departure == out[0].service_start + timedelta(seconds=300)
    assert out[1].service_start == start + timedelta(hours=3)  # waits for the window
    assert out[1].arrival < out[1].service_start


def test_map_escapes_labels_and_draws_each_route() -> None:
    svg = mapsvg.render(
        mapsvg.MapInput(
            title="BD <01> & co",
            depot=(10.4, 105.6),
            routes=[mapsvg.MapRoute("A & B", "#e6194b", [(10.4, 105.6), (10.41, 105.61), (10.4, 105.6)], 1)],
            unassigned=[(10.5, 105.7)],
            background=[(10.45, 105.65), (20.0, 100.0)],
        )
    )
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f".//{ns}polyline")) == 1
    assert len(root.findall(f".//{ns}g[@id='communes']/{ns}circle")) == 1  # the far one is off the map
    assert root.find(f"{ns}title") is not None and root.find(f"{ns}title").text == "BD <01> & co"  # type: ignore[union-attr]
