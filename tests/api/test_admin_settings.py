"""Admins enter calendar decisions; admins and an office's dispatchers set its booking rules. Both take effect
on the booking screen at once, and only the right people may change them."""

from datetime import date, datetime, timedelta
from typing import Any

import httpx

from backend.catalogue.calendar import VN_TZ
from tests.api.test_booking_flow import place_of, slots
from tests.conftest import staff_headers

SETTINGS_PO = 7  # 82-BD-08: dispatcher08


async def test_calendar_year_lists_holidays_and_working_weekends(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/calendar", params={"year": 2026})
    assert r.status_code == 200, r.text
    body = r.json()
    off = {d["date"]: d["name"] for d in body["days_off"]}
    assert "2026-09-02" in off  # National Day (Labour Code 2019, art. 112)
    assert "2026-04-30" in off and "2026-05-01" in off
    assert 240 <= body["working_days"] <= 252
    assert all(date.fromisoformat(d).weekday() < 5 for d in off)
    assert all(date.fromisoformat(d["date"]).weekday() >= 5 for d in body["working_weekends"])
    assert (await client.get("/api/v1/calendar", params={"year": 1066})).status_code == 400


async def test_an_admin_day_off_closes_that_days_windows_at_once(
    client: httpx.AsyncClient, demo: Any
) -> None:
    lat, lon = place_of(demo, SETTINGS_PO)
    listed = (await slots(client, lat, lon))["items"]
    day = date.fromisoformat(listed[-1]["start"][:10])  # a working day inside the horizon
    assert any(s["start"].startswith(day.isoformat()) for s in listed)
    body = {"kind": "off", "note": "Nghỉ bù (thử nghiệm)", "source": "Thông báo thử nghiệm 1/TB"}
    url = f"/api/v1/calendar/overrides/{day.isoformat()}"
    admin = await staff_headers(client, "admin")

    for who in ("dispatcher08", "desk01"):
        assert (await client.put(url, json=body, headers=await staff_headers(client, who))).status_code == 403
    assert (await client.put(url, json=body)).status_code == 401
    bad = await client.put(url, json={**body, "kind": "holiday"}, headers=admin)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert (await client.put(url, json={"kind": "off"}, headers=admin)).status_code == 400  # no source

    r = await client.put(url, json=body, headers=admin)
    assert r.status_code == 200, r.text
    try:
        after = (await slots(client, lat, lon))["items"]
        assert not any(s["start"].startswith(day.isoformat()) for s in after)
        year = (await client.get("/api/v1/calendar", params={"year": day.year})).json()
        if day.weekday() < 5:
            assert {"date": day.isoformat(), "name": body["note"]} in year["days_off"]
        assert any(o["day"] == day.isoformat() and o["source"] == body["source"] for o in year["overrides"])
    finally:
        assert (await client.delete(url, headers=admin)).status_code == 204
    restored = (await slots(client, lat, lon))["items"]
    assert any(s["start"].startswith(day.isoformat()) for s in restored)
    assert (await client.delete(url, headers=admin)).status_code == 404


async def test_an_offices_dispatcher_sets_its_booking_rules(client: httpx.AsyncClient, demo: Any) -> None:
    po = demo.post_offices[SETTINGS_PO]
    url = f"/api/v1/post-offices/{po.code}/booking-settings"
    own = await staff_headers(client, "dispatcher08")
    r = await client.get(url, headers=own)
    assert r.status_code == 200, r.text
    before = r.json()
    assert before["window_minutes"] == 120 and before["service_minutes"]["pickup"] >= 1

    wanted = {**{k: before[k] for k in ("min_notice_minutes", "horizon_days", "cutoff_minutes")}}
    wanted |= {
        "window_minutes": 60,
        "travel_minutes": 8,
        "service_minutes": {"pickup": 12, "delivery": 6, "assisted": 40},
    }
    for who in ("dispatcher01", "courier15", "desk01"):
        r = await client.put(url, json=wanted, headers=await staff_headers(client, who))
        assert r.status_code == 403, who
    for broken in (
        {**wanted, "window_minutes": 10},
        {**wanted, "horizon_days": 0},
        {**wanted, "service_minutes": {"pickup": 0}},
    ):
        r = await client.put(url, json=broken, headers=own)
        assert r.status_code == 400, broken
    assert (
        await client.get("/api/v1/post-offices/82-XX-99/booking-settings", headers=own)
    ).status_code == 404

    r = await client.put(url, json=wanted, headers=own)
    assert r.status_code == 200, r.text
    assert r.json()["window_minutes"] == 60 and r.json()["defaults"] is False
    try:
        lat, lon = place_of(demo, SETTINGS_PO)
        items = (await slots(client, lat, lon))["items"]
        lengths = {(_t(s["end"]) - _t(s["start"])) for s in items}
        assert max(lengths) == timedelta(minutes=60)
    finally:
        restore = {
            k: before[k]
            for k in (
                "window_minutes",
                "min_notice_minutes",
                "horizon_days",
                "cutoff_minutes",
                "travel_minutes",
                "service_minutes",
            )
        }
        assert (
            await client.put(url, json=restore, headers=await staff_headers(client, "admin"))
        ).status_code == 200


def _t(raw: str) -> datetime:
    return datetime.fromisoformat(raw).astimezone(VN_TZ)
