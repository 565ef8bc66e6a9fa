"""Province leadership (issue 23): the read-only role, its province's reports only; form II.06a by commune
listing the communes with no dossiers; the legs of the chain from a known sequence of custody events; the
scorecards. March and October 2018 belong to this module (no other test writes dossiers or visits then); each
test its own records (tests run in any order)."""

import csv
import io
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from backend.reporting.export import BOM
from schemas.dossiers import CustodianKind, DossierEvent
from schemas.enums import OrgKind
from schemas.orgs import Organisation
from schemas.units import Commune
from tests.api.test_reporting_support import dossier, store, two_procedures, vn
from tests.conftest import staff_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")

BASE = "/api/v1/reports/province"
OCT = {"from": "2018-10-01", "to": "2018-10-31"}


async def _leader_of_other_province(client: httpx.AsyncClient, engine: AsyncEngine) -> dict[str, str]:
    """A People's Committee of Hà Nội (01) and a leadership account of it, made through the staff API."""
    async with session_factory(engine)() as session:
        commune = (await session.exec(select(Commune).where(Commune.province_code == "01").limit(1))).one()
        org = Organisation(
            code=f"01-UBND-{uuid.uuid4().hex[:6]}",
            kind=OrgKind.agency,
            name="Ủy ban nhân dân thành phố Hà Nội (thử)",
            commune_code=commune.code,
            province_code="01",
            lat=commune.lat,
            lon=commune.lon,
        )
        session.add(org)
        await session.commit()
        code = org.code
    admin = await staff_headers(client, "admin")
    username, password = f"leader-{uuid.uuid4().hex[:6]}", "leader-" + uuid.uuid4().hex
    body = {"username": username, "full_name": "Lãnh đạo", "role": "leadership", "password": password}
    r = await client.post("/api/v1/staff", json={**body, "organisation": code}, headers=admin)
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/auth/staff/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_leadership_reads_its_province_only(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    leader = await staff_headers(client, "leader01")
    for op in ("dossiers", "legs", "scorecards"):
        r = await client.get(f"{BASE}/{op}", params=OCT, headers=leader)
        assert r.status_code == 200, r.text
        assert r.json()["province"] == "82"
        r = await client.get(f"{BASE}/{op}", params={**OCT, "province": "01"}, headers=leader)
        assert r.status_code == 403, r.text
    other = await _leader_of_other_province(client, engine)
    r = await client.get(f"{BASE}/dossiers", params={**OCT, "province": "82"}, headers=other)
    assert r.status_code == 403, r.text
    r = await client.get(f"{BASE}/dossiers", params=OCT, headers=other)
    assert r.status_code == 200 and r.json()["province"] == "01", r.text
    # desks and agencies are not province leadership
    r = await client.get(f"{BASE}/dossiers", params=OCT, headers=await staff_headers(client, "desk01"))
    assert r.status_code == 403
    # an admin names the province
    admin = await staff_headers(client, "admin")
    assert (await client.get(f"{BASE}/legs", params=OCT, headers=admin)).status_code == 422
    assert (
        await client.get(f"{BASE}/legs", params={**OCT, "province": "99"}, headers=admin)
    ).status_code == 404


async def test_leadership_is_read_only(client: httpx.AsyncClient, demo: Any) -> None:
    """Every write refuses the role (403), as do reads of records: dossiers, staff, plans, the inbox."""
    leader = await staff_headers(client, "leader01")
    office = demo.post_offices[0].code
    writes = [
        ("POST", "/api/v1/dossiers", {"channel": "direct", "procedure": "1.001193"}),
        ("POST", "/api/v1/handovers", {"to": office, "items": []}),
        ("POST", "/api/v1/staff", {"username": "x", "full_name": "x", "role": "desk", "password": "x" * 12}),
        ("POST", f"/api/v1/post-offices/{office}/plans", {"date": "2099-01-01"}),
        ("PUT", "/api/v1/calendar/overrides/2099-01-01", {"kind": "off", "source": "thử"}),
        ("POST", "/api/v1/devices", {"token": "leader-token", "platform": "android"}),
        ("POST", "/api/v1/notifications/read", {}),
        ("POST", "/api/v1/appointments", {"kind": "pickup"}),
    ]
    for method, url, body in writes:
        r = await client.request(method, url, json=body, headers=leader)
        assert r.status_code == 403, (method, url, r.status_code, r.text)
    for url in ("/api/v1/dossiers", "/api/v1/staff", "/api/v1/notifications", "/api/v1/handovers"):
        r = await client.get(url, headers=leader)
        assert r.status_code == 403, (url, r.status_code, r.text)
    me = await client.get("/api/v1/me", headers=leader)
    assert me.status_code == 200 and me.json()["role"] == "leadership", me.text


async def test_units_list_communes_with_no_dossiers(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    p1, p2 = await two_procedures(engine)
    commune = demo.post_offices[0].commune_code
    desk = demo.commune_desks[commune]
    office = demo.post_offices[0]
    await store(
        engine,
        [
            dossier(p1, desk, channel="home_pickup", postal_pickup=True, post_office_id=office.id,
                    received_at=vn(2018, 10, 2), due_at=vn(2018, 10, 9, 17), resolved_at=vn(2018, 10, 8)),
            dossier(p2, desk, received_at=vn(2018, 10, 3), due_at=vn(2018, 10, 5, 17)),
        ],
    )  # fmt: skip
    leader = await staff_headers(client, "leader01")
    r = await client.get(f"{BASE}/dossiers", params={**OCT, "group_by": "commune"}, headers=leader)
    assert r.status_code == 200, r.text
    body = r.json()
    rows = {row["group"]: row for row in body["rows"]}
    all_communes = {c.code for c in demo.communes}
    assert all_communes <= set(rows)
    assert body["units"] == len(all_communes)
    mine = rows[commune]
    assert (mine["received_total"], mine["resolved_on_time"] + mine["resolved_early"]) == (2, 1)
    assert (mine["in_progress_overdue"], mine["postal_pickup"]) == (1, 1)
    empty = [c for c in all_communes if c != commune]
    assert all(rows[c]["received_total"] == 0 for c in empty)
    assert body["units_without_dossiers"] == len(all_communes) - 1
    assert body["units_without_postal"] == len(all_communes) - 1
    assert body["total"]["received_total"] == 2
    r = await client.get(f"{BASE}/dossiers", params={**OCT, "group_by": "post_office"}, headers=leader)
    by_office = {row["group"]: row for row in r.json()["rows"]}
    assert {po.code for po in demo.post_offices} <= set(by_office)
    assert by_office[office.code]["postal_pickup"] == 1 and by_office["none"]["received_total"] == 1
    r = await client.get(
        f"{BASE}/dossiers",
        params={"from": "2018-09-01", "to": "2018-11-30", "group_by": "month"},
        headers=leader,
    )
    months = [(row["group"], row["received_total"], row["carried_over"]) for row in r.json()["rows"]]
    assert months == [("2018-09", 0, 0), ("2018-10", 2, 0), ("2018-11", 1, 1)]  # one still open in November
    r = await client.get(
        f"{BASE}/dossiers", params={**OCT, "group_by": "commune", "format": "csv"}, headers=leader
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8")
    assert text.startswith(BOM)
    lines = list(csv.reader(io.StringIO(text.removeprefix(BOM))))
    assert len(lines) == 1 + len(rows) + 1  # header, the units, the total


# Working hours of the default calendar: 07:30-11:30 and 13:00-17:00. 5 March 2018 is a Monday.
MARCH = {"from": "2018-03-01", "to": "2018-03-31"}
EVENTS = [
    ("EMA", vn(2018, 3, 5, 8)),
    ("EMB", vn(2018, 3, 5, 10)),
    ("TNH", vn(2018, 3, 6, 9)),
    ("TCQ", vn(2018, 3, 6, 10)),
    ("TKQ", vn(2018, 3, 9, 11)),
    ("KQS", vn(2018, 3, 9, 15)),
    ("KQB", vn(2018, 3, 9, 16)),
    ("EMG", vn(2018, 3, 12, 8)),
    ("EMO", vn(2018, 3, 12, 9)),
    ("EMI", vn(2018, 3, 12, 11)),
]
LEGS = {  # working hours, calendar hours
    "citizen_post": (2.0, 2.0),  # Mon 08:00-10:00
    "post_desk": (7.0, 23.0),  # Mon 10:00-11:30, 13:00-17:00, Tue 07:30-09:00
    "agency": (28.5, 78.0),  # Tue 6.5 + Wed 8 + Thu 8 + Fri 6
    "desk_post": (2.5, 65.0),  # Fri 15:00-17:00, Mon 07:30-08:00
    "post_citizen": (3.0, 3.0),  # Mon 08:00-11:00
}


async def test_legs_from_a_known_sequence_of_events(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    p1, _ = await two_procedures(engine)
    office = demo.post_offices[1]
    desk = demo.commune_desks[office.commune_code]
    agency = demo.agencies[office.commune_code]
    d = dossier(
        p1, desk, channel="home_pickup", postal_pickup=True, postal_return=True, post_office_id=office.id,
        agency_id=agency.id, status="delivered", custodian_kind=CustodianKind.citizen,
        received_at=EVENTS[2][1], due_at=vn(2018, 3, 13, 17), resolved_at=EVENTS[4][1], returned_at=EVENTS[-1][1],
    )  # fmt: skip
    await store(engine, [d])
    async with session_factory(engine)() as session:
        for seq, (code, at) in enumerate(EVENTS, start=1):
            session.add(
                DossierEvent(dossier_id=d.id, seq=seq, code=code, status="x", actor_kind="staff", at=at)
            )
        await session.commit()
    leader = await staff_headers(client, "leader01")
    r = await client.get(f"{BASE}/legs", params={**MARCH, "top": 3}, headers=leader)
    assert r.status_code == 200, r.text
    body = r.json()
    legs = {x["leg"]: x for x in body["legs"]}
    for leg, (work, hours) in LEGS.items():
        assert legs[leg]["count"] == 1, legs[leg]
        assert (legs[leg]["median_working_hours"], legs[leg]["median_hours"]) == (work, hours), leg
        assert (legs[leg]["p90_working_hours"], legs[leg]["p90_hours"]) == (work, hours), leg
    # The clock: Tue 09:00 to Tue 13 March 17:00 = 6.5 + 8 * 5 = 46.5 working hours; the result was with the post
    # from Mon 08:00 to 11:00 (3 of them).
    assert body["clock"] == {
        "dossiers": 1,
        "clock_working_hours": 46.5,
        "postal_working_hours": 3.0,
        "postal_share": 6.5,
        "median_dossier_share": 6.5,
    }
    slowest = body["slowest"]
    assert [(s["item_id"], s["leg"], s["working_hours"]) for s in slowest] == [
        (d.item_id, "agency", 28.5),
        (d.item_id, "post_desk", 7.0),
        (d.item_id, "post_citizen", 3.0),
    ]
    assert slowest[0]["from_unit"] == desk.code and slowest[0]["to_unit"] == agency.code
    csv_text = (await client.get(f"{BASE}/legs", params={**MARCH, "format": "csv"}, headers=leader)).text
    assert d.item_id in csv_text and "28.5" in csv_text


async def _visits(engine: AsyncEngine, demo: Any) -> tuple[str, Any]:
    """Three visits of courier05 on 2 Oct 2018 (a plan written straight into the tables): done in its window,
    done after it, failed; and a rating of the first."""
    from schemas.booking import Appointment, AppointmentKind
    from schemas.feedback import Rating
    from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop, StopKind

    courier = demo.staff["courier05"]
    po = next(p for p in demo.post_offices if p.id == courier.organisation_id)
    citizen = demo.citizens[5]
    async with session_factory(engine)() as session:
        plan = Plan(post_office_id=po.id, service_date=date(2018, 10, 2), status=PlanStatus.superseded,
                    progress=100, options={})  # fmt: skip
        session.add(plan)
        await session.flush()
        route = PlanRoute(plan_id=plan.id, courier_id=courier.id, seq=0, shift_start=vn(2018, 10, 2, 7),
                          shift_end=vn(2018, 10, 2, 17), start_lat=po.lat, start_lon=po.lon, end_lat=po.lat,
                          end_lon=po.lon)  # fmt: skip
        session.add(route)
        await session.flush()
        outcomes = [
            ("done", vn(2018, 10, 2, 9)),
            ("done", vn(2018, 10, 2, 12)),
            ("failed", vn(2018, 10, 2, 10)),
        ]
        first = None
        for seq, (status, finished) in enumerate(outcomes, start=1):
            appt = Appointment(
                citizen_id=citizen.id, post_office_id=po.id, province_code=po.province_code,
                commune_code=po.commune_code, kind=AppointmentKind.pickup, start=vn(2018, 10, 2, 8),
                end=vn(2018, 10, 2, 10), cost_minutes=10, lat=po.lat, lon=po.lon, fees={},
                booked_by_role="citizen", booked_by_id=citizen.id,
            )  # fmt: skip
            session.add(appt)
            await session.flush()
            first = first or appt
            session.add(
                PlanStop(
                    plan_id=plan.id, route_id=route.id, seq=seq, key=f"appt:{appt.id}", kind=StopKind.pickup,
                    status=status, appointment_id=appt.id, lat=po.lat, lon=po.lon, window_start=appt.start,
                    window_end=appt.end, planned_eta=appt.start, eta=appt.start, service_start=appt.start,
                    departure=appt.start, finished_at=finished,
                )
            )  # fmt: skip
        assert first is not None
        session.add(
            Rating(appointment_id=first.id, citizen_id=citizen.id, post_office_id=po.id, courier_id=courier.id,
                   visit_at=vn(2018, 10, 2, 9), attitude=5, timeliness=4, fees=5, result=4)
        )  # fmt: skip
        await session.commit()
    return courier.username, po


async def test_scorecards(client: httpx.AsyncClient, engine: AsyncEngine, demo: Any) -> None:
    username, po = await _visits(engine, demo)
    leader = await staff_headers(client, "leader01")
    r = await client.get(f"{BASE}/scorecards", params={**OCT, "kind": "courier"}, headers=leader)
    assert r.status_code == 200, r.text
    rows = {row["key"]: row for row in r.json()["rows"]}
    couriers = {u for u, s in demo.staff.items() if s.role == "courier"}
    assert couriers <= set(rows)
    me = rows[username]
    assert (me["office"], me["visits"], me["on_time"], me["failed"]) == (po.code, 3, 1, 1)
    assert (me["ratings"], me["rating_mean"], me["on_time_rate"]) == (1, 4.5, 33.3)
    assert all(rows[u]["visits"] == 0 and rows[u]["ratings"] == 0 for u in couriers - {username})
    assert "phone" not in r.text and demo.staff[username].full_name not in r.text
    r = await client.get(f"{BASE}/scorecards", params={**OCT, "kind": "desk"}, headers=leader)
    assert r.status_code == 200
    async with session_factory(engine)() as session:
        desks = (
            await session.exec(
                select(Organisation.code).where(
                    Organisation.kind == OrgKind.desk, col(Organisation.province_code) == "82"
                )
            )
        ).all()
    assert {row["key"] for row in r.json()["rows"]} == set(desks)


async def test_bad_queries_are_problems_not_errors(client: httpx.AsyncClient) -> None:
    """Junk in every parameter of the three reports, as leadership and as an admin: a 4xx problem, never a 5xx."""
    junk = [
        "",
        "x",
        "-1",
        "99999",
        "2018-02-30",
        "1900-01-01",
        "\u0110",
        "%00",
        "2018-10-01T00:00",
        "10" * 20,
    ]
    params = ("from", "to", "province", "group_by", "kind", "top", "format")
    callers = [await staff_headers(client, "leader01"), await staff_headers(client, "admin")]
    wrong = []
    for op in ("dossiers", "legs", "scorecards"):
        for name in params:
            for value in junk:
                for headers in callers:
                    base = {"province": "82"} if name != "province" else {}
                    r = await client.get(f"{BASE}/{op}", params={**OCT, **base, name: value}, headers=headers)
                    ok = r.status_code < 300 or r.headers["content-type"].startswith(
                        "application/problem+json"
                    )
                    if r.status_code >= 500 or not ok:
                        wrong.append(f"{op} {name}={value!r}: {r.status_code} {r.text[:200]}")
    r = await client.get(
        f"{BASE}/dossiers", params={"from": "2018-10-31", "to": "2018-10-01"}, headers=callers[0]
    )
    assert r.status_code == 422 and r.json()["code"] == "bad_period"
    assert not wrong, wrong
