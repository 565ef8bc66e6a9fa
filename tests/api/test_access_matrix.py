"""The access matrix (``tests/api/access_matrix.py``) against the served API: every operation of the OpenAPI
document has a row and every row an operation, and every (operation, role, scope) cell is one real request
whose answer is checked against the row's expectation.

The records are made here, for this module: two post offices of the demo province — ``A`` (82-BD-04:
dispatcher04, couriers courier07 and courier08, its commune's desk desk05 and People's Committee agency06) and
``B`` (82-BD-02: courier03, desk03) — and three citizens no other test uses (C1 the caller, C2 another citizen
of office A, C3 one of office B). Appointments and a published plan of a day 90 days ahead (no other test
plans or books that far) are written straight into the tables (the couriers' assignment must not depend on the
solver); dossiers, handovers, proofs, addresses and push tokens go through the API. Requests change only these
records; an office's booking rules are replaced by their current values; the accounts that are changed
(profiles, revoke-sessions, logout-all) are made for the test, couriers with no shifts (no booking capacity).

The callers are: anonymous, C1, courier07, dispatcher04, desk05, agency06, admin and leader01 (province
leadership of the demo province; its ``other_org`` is another province, issue 23).
"""

import asyncio
import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.db import session_factory
from backend.planning import clock
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentKind
from schemas.orgs import Organisation
from schemas.payments import OnlinePayment
from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop, StopKind
from schemas.pricing import FeeExemption, ProcedureFee, TariffRate
from tests.api import access_matrix as am
from tests.api.test_custody_journey import PROCEDURE, all_documents, png_bytes
from tests.conftest import DEMO_PASSWORD, citizen_headers, staff_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")

PO_A, PO_B = 3, 1
C1, C2, C3 = "+84900000096", "+84900000097", "+84900000098"
CALLERS = {
    "citizen": C1,
    "courier": "courier07",
    "dispatcher": "dispatcher04",
    "desk": "desk05",
    "agency": "agency06",
    "admin": "admin",
    "leadership": "leader01",  # the demo province's People's Committee (issue 23)
}
OTHER_COURIER, COURIER_B = "courier08", "courier03"
C4 = "+84900000089"  # signs out everywhere
AHEAD = 90  # days: the appointments' and plans' day
# Run last: they end sessions (of accounts made for the test, never the shared demo accounts' tokens).
LAST = ("POST /api/v1/staff/{user_id}/revoke-sessions", "POST /api/v1/auth/logout-all")
H = 3600
ENTRY_REFUSALS = ("not_found", "forbidden", "not_custodian_then")  # a batch entry's 404/403
CHANNEL = {"dispatcher": "post_office", "desk": "direct"}  # how each role receives a dossier
STREAM_S = 1.0  # an event stream that opened is stopped after this long
RATING = {"attitude": 5, "timeliness": 4, "fees": 5, "result": 5, "comment": "ma trận"}  # issue 23
AUTHORISED = "087090009696"  # the national id of the test's authorised persons (issue 20)


@dataclass
class World:
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # role -> Authorization header
    ids: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> scope -> id
    own_device: dict[str, str] = field(default_factory=dict)  # role -> the caller's own push token
    bodies: dict[tuple[str, str], Any] = field(default_factory=dict)  # (kind, scope) -> a current record
    fresh: dict[str, dict[str, str]] = field(default_factory=dict)  # role -> an account only logout-all uses
    place: tuple[float, float] = (0.0, 0.0)  # a home in office A's commune
    day: str = ""
    late_at: str = ""  # a time inside courier08's custody of the "late_dossier" record


def _commune_centre(demo: Any, po_index: int) -> tuple[float, float]:
    po = demo.post_offices[po_index]
    commune = next(c for c in demo.communes if c.code == po.commune_code)
    return commune.lat, commune.lon


async def _citizen_id(client: httpx.AsyncClient, phone: str) -> str:
    return str((await client.get("/api/v1/me", headers=await citizen_headers(client, phone))).json()["id"])


async def _pickup(client: httpx.AsyncClient, demo: Any, phone: str, courier: str, po_index: int) -> str:
    """A home pickup of ``phone``'s dossier by ``courier`` in the commune of the post office (its desk)."""
    lat, lon = _commune_centre(demo, po_index)
    code = (await client.get("/api/v1/handover-code", headers=await citizen_headers(client, phone))).json()[
        "code"
    ]
    body = {
        "procedure": PROCEDURE,
        "channel": "home_pickup",
        "citizen_phone": phone,
        "documents": await all_documents(client),
        "fee_collected": 25000,
        "receipt_number": "BL-MATRIX",
        "confirmation": {"method": "code", "code": code},
        "place": "tại nhà công dân",
        "lat": lat,
        "lon": lon,
    }
    r = await client.post("/api/v1/dossiers", json=body, headers=await staff_headers(client, courier))
    assert r.status_code == 201, r.text
    return str(r.json()["item_id"])


async def _webhook(client: httpx.AsyncClient, admin: dict[str, str], org: str) -> str:
    body = {"organisation": org, "url": "http://127.0.0.1:9/matrix", "kinds": ["dossier.status_changed"]}
    r = await client.post("/api/v1/webhooks", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _handover(client: httpx.AsyncClient, courier: str, to: str, item: str) -> str:
    r = await client.post(
        "/api/v1/handovers", json={"to": to, "items": [item]}, headers=await staff_headers(client, courier)
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _proof(client: httpx.AsyncClient, user: str) -> str:
    r = await client.post(
        "/api/v1/proofs",
        headers=await staff_headers(client, user),
        files={"file": ("p.png", io.BytesIO(png_bytes()), "image/png")},
        data={"kind": "photo"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _authorisation(client: httpx.AsyncClient, phone: str) -> str:
    """An authorised person of the citizen ``phone`` (issue 20), valid for 30 days, any dossier."""
    today = utcnow().date()
    form = {
        "full_name": "Ma Trận Ủy Quyền",
        "national_id": AUTHORISED,
        "relationship": "other",
        "valid_from": (today - timedelta(days=1)).isoformat(),
        "valid_until": (today + timedelta(days=30)).isoformat(),
    }
    r = await client.post(
        "/api/v1/citizens/me/authorisations",
        data=form,
        files={"letter": ("l.png", io.BytesIO(png_bytes()), "image/png")},
        headers=await citizen_headers(client, phone),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _to_agency(client: httpx.AsyncClient, desk_user: str, agency: str, phone: str) -> str:
    """A dossier a desk received in person and handed to its commune's agency, not yet received (issue 23)."""
    desk = await staff_headers(client, desk_user)
    body = {"channel": "direct", "procedure": PROCEDURE, "citizen_phone": phone}
    r = await client.post("/api/v1/dossiers", json=body, headers=desk)
    assert r.status_code == 201, r.text
    item = str(r.json()["item_id"])
    r = await client.post("/api/v1/handovers", json={"to": agency, "items": [item]}, headers=desk)
    assert r.status_code == 201, r.text
    return item


async def _device(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    token = "matrix-" + uuid.uuid4().hex
    r = await client.post("/api/v1/devices", json={"token": token, "platform": "android"}, headers=headers)
    assert r.status_code in (200, 201), r.text
    return token


async def _plans_and_appointments(engine: AsyncEngine, demo: Any, citizens: dict[str, str]) -> dict[str, Any]:
    """Today's appointments (C1 with courier07, C2 with courier07, C1 with courier08 at office A; C3 with
    courier03 at office B) on a published plan of each office, written straight into the tables."""
    day = clock.vn_date(utcnow()) + timedelta(days=AHEAD)
    staff = demo.staff
    specs = {
        "own": (PO_A, citizens[C1], "courier07"),
        "other_citizen": (PO_A, citizens[C2], "courier07"),
        "other_courier": (PO_A, citizens[C1], OTHER_COURIER),
        "other_org": (PO_B, citizens[C3], COURIER_B),
    }
    out: dict[str, Any] = {"appointment": {}, "stop": {}, "plan": {}}
    async with session_factory(engine)() as session:
        plans: dict[int, Plan] = {}
        routes: dict[str, PlanRoute] = {}
        for po_index in (PO_A, PO_B):
            po = demo.post_offices[po_index]
            plan = Plan(
                post_office_id=po.id,
                service_date=day,
                status=PlanStatus.published,
                progress=100,
                options={},
                published_at=utcnow(),
                finished_at=utcnow(),
            )
            session.add(plan)
            plans[po_index] = plan
        await session.flush()
        for seq, (scope, (po_index, citizen_id, courier)) in enumerate(specs.items(), start=1):
            po = demo.post_offices[po_index]
            lat, lon = _commune_centre(demo, po_index)
            appt = Appointment(
                citizen_id=uuid.UUID(citizen_id),
                post_office_id=po.id,
                province_code=po.province_code,
                commune_code=po.commune_code,
                kind=AppointmentKind.pickup,
                start=clock.at(day, 0),
                end=clock.at(day, 23 * H),
                cost_minutes=20,
                lat=lat,
                lon=lon,
                address="Số 1, đường ma trận quyền",
                fees={"postal": 0, "fee": 0, "charge": 0, "total": 0, "currency": "VND"},
                booked_by_role="citizen",
                booked_by_id=uuid.UUID(citizen_id),
            )
            session.add(appt)
            if courier not in routes:
                routes[courier] = PlanRoute(
                    plan_id=plans[po_index].id,
                    courier_id=staff[courier].id,
                    seq=len(routes),
                    shift_start=clock.at(day, 7 * H),
                    shift_end=clock.at(day, 17 * H),
                    start_lat=po.lat,
                    start_lon=po.lon,
                    end_lat=po.lat,
                    end_lon=po.lon,
                )
                session.add(routes[courier])
            await session.flush()
            eta = clock.at(day, 8 * H + seq * 600)
            stop = PlanStop(
                plan_id=plans[po_index].id,
                route_id=routes[courier].id,
                seq=seq,
                key=f"appt:{appt.id}",
                kind=StopKind.pickup,
                appointment_id=appt.id,
                lat=lat,
                lon=lon,
                window_start=appt.start,
                window_end=appt.end,
                planned_eta=eta,
                eta=eta,
                service_start=eta,
                departure=eta + timedelta(minutes=10),
            )
            session.add(stop)
            out["appointment"][scope] = str(appt.id)
            out["stop"][scope] = str(stop.id)
        out["plan"] = {"own": str(plans[PO_A].id), "other_org": str(plans[PO_B].id)}
        await session.commit()
    out["day"] = day.isoformat()
    return out


async def _tracking_token(engine: AsyncEngine, demo: Any, made: dict[str, Any]) -> str:
    """A live tracking link of C1's visit with courier07 (as the courier's start would issue it)."""
    from backend.lib.auth import Principal
    from backend.planning import tracking_link
    from backend.settings import Settings
    from schemas.enums import Role

    async with session_factory(engine)() as session:
        appt = await session.get(Appointment, uuid.UUID(made["appointment"]["own"]))
        stop = await session.get(PlanStop, uuid.UUID(made["stop"]["own"]))
        assert appt is not None and stop is not None
        principal = Principal(id=demo.staff["courier07"].id, role=Role.courier)
        _, url = await tracking_link.issue(session, Settings(), principal, appt, stop, utcnow())
        await session.commit()
    return url.rsplit("/", 1)[1]


async def _payments(
    engine: AsyncEngine, appointments: dict[str, str], citizens: dict[str, str]
) -> dict[str, str]:
    """An online payment of C1's, C2's and C3's appointments (issue 21), written straight into the table."""
    out: dict[str, str] = {}
    async with session_factory(engine)() as session:
        for scope, citizen in (("own", C1), ("other_citizen", C2), ("other_org", C3)):
            payment = OnlinePayment(
                provider="vnpay",
                reference=uuid.uuid4().hex,
                citizen_id=uuid.UUID(citizens[citizen]),
                appointment_id=uuid.UUID(appointments[scope]),
                amount_vnd=22000,
                expires_at=utcnow(),
            )
            session.add(payment)
            out[scope] = str(payment.id)
        await session.commit()
    return out


async def _prices(engine: AsyncEngine) -> dict[str, str]:
    """A tariff version (the migration's seed), and a fee and an exemption version that price nothing the
    other tests book (a procedure code no procedure has; an inactive exemption)."""
    async with session_factory(engine)() as session:
        rate = (await session.exec(select(TariffRate).limit(1))).one()
        fee = ProcedureFee(
            procedure_code=f"0.{uuid.uuid4().hex[:8]}",
            fee_vnd=0,
            charge_vnd=0,
            effective_from=utcnow(),
            basis="matrix",
        )
        exemption = FeeExemption(
            code=f"matrix-{uuid.uuid4().hex[:8]}",
            covers="fees",
            active=False,
            legal_basis="ma trận quyền / access matrix",
            label_vi="thử",
            label_en="test",
            effective_from=utcnow(),
        )
        session.add_all([fee, exemption])
        await session.commit()
        return {"rate_id": str(rate.id), "fee_id": str(fee.id), "exemption_id": str(exemption.id)}


async def _account(
    client: httpx.AsyncClient, w: World, role: str, org: str | None
) -> tuple[str, dict[str, str]]:
    """A staff account made for the test (a courier without shifts: it adds no booking capacity), its id and
    an Authorization header of its own."""
    username, password = f"matrix-{role}-{uuid.uuid4().hex[:6]}", "matrix-" + uuid.uuid4().hex
    body = {
        "username": username,
        "full_name": "Ma Trận",
        "role": role,
        "password": password,
        "organisation": org,
    }
    r = await client.post("/api/v1/staff", json=body, headers=w.headers["admin"])
    assert r.status_code in (200, 201), r.text
    user_id = str(r.json()["id"])
    if role == "courier":
        r = await client.put(
            f"/api/v1/couriers/{user_id}/profile", json={"shifts": {}}, headers=w.headers["admin"]
        )
        assert r.status_code == 200, r.text
    r = await client.post("/api/v1/auth/staff/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return user_id, {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _money(client: httpx.AsyncClient, demo: Any, engine: AsyncEngine, w: World) -> None:
    """Money records (issue 21): receipts of visits with fees (the appointments' scopes), a remittance batch
    and a pending cash-up at each office, the agencies (office A's: agency06's own; office B's commune)."""
    from tests.api import money_support as ms

    po_a, po_b = demo.post_offices[PO_A], demo.post_offices[PO_B]
    citizens = {"own": C1, "other_citizen": C2, "other_courier": C1, "other_org": C3}
    couriers = {"own": "courier07", "other_citizen": "courier07", "other_courier": OTHER_COURIER}
    couriers["other_org"] = COURIER_B
    receipts: dict[str, str] = {}
    visits: dict[str, uuid.UUID] = {}
    for scope, phone in citizens.items():
        po, index = (po_b, PO_B) if scope == "other_org" else (po_a, PO_A)
        courier = demo.staff[couriers[scope]]
        office = ms.Office(index, po.code, po.id)
        citizen = uuid.UUID(await _citizen_id(client, phone))
        (visits[scope],) = await ms.visits(engine, demo, office, str(courier.id), 1, citizen_id=citizen)
        body = {
            "client_event_id": uuid.uuid4().hex,
            "appointment_id": str(visits[scope]),
            "amount_vnd": 45000,
        }
        r = await client.post(
            "/api/v1/collections",
            json={**body, "method": "cash_door"},
            headers=await staff_headers(client, couriers[scope]),
        )
        assert r.status_code == 200, r.text
        receipts[scope] = r.json()["receipt_no"]
    w.ids["receipt"] = receipts
    # Dossiers decided by the two agencies, of citizens the matrix does not use (an agency deciding a dossier
    # may read its citizen: C1-C3 must stay strangers to it), with their fees collected.
    for po, index, courier_name, agency_id, nth in (
        (po_a, PO_A, "courier07", demo.staff["agency06"].organisation_id, 10),
        (po_b, PO_B, COURIER_B, demo.agencies[po_b.commune_code].id, 11),
    ):
        courier = demo.staff[courier_name]
        citizen = demo.citizens[nth].id
        (visit,) = await ms.visits(
            engine, demo, ms.Office(index, po.code, po.id), str(courier.id), 1, citizen_id=citizen
        )
        await ms.dossier_for(engine, visit, agency_id, citizen)
        body = {"client_event_id": uuid.uuid4().hex, "appointment_id": str(visit), "amount_vnd": 45000}
        r = await client.post(
            "/api/v1/collections",
            json={**body, "method": "cash_door"},
            headers=await staff_headers(client, courier_name),
        )
        assert r.status_code == 200, r.text
    r = await client.get(f"/api/v1/receipts/{receipts['own']}", headers=w.headers["admin"])
    assert r.status_code == 200, r.text
    w.bodies[("receipt_v", "own")] = r.json()["print_url"].split("v=", 1)[1]
    agency_b = demo.agencies[po_b.commune_code]
    async with session_factory(engine)() as session:
        agency_a = await session.get(Organisation, demo.staff["agency06"].organisation_id)
        assert agency_a is not None and agency_a.id != agency_b.id
    w.ids["agency"] = {"own": agency_a.code, "other_org": agency_b.code}
    batches = {}
    for scope, (dispatcher, code) in {
        "own": ("dispatcher04", agency_a.code),
        "other_org": ("dispatcher02", agency_b.code),
    }.items():
        r = await client.post(
            "/api/v1/remittances", json={"agency": code}, headers=await staff_headers(client, dispatcher)
        )
        assert r.status_code == 201, r.text
        batches[scope] = str(r.json()["id"])
    w.ids["remittance"] = batches
    cashups = {}
    for scope, po in (("own", po_a), ("other_org", po_b)):
        courier = await ms.account(client, "courier", po.code)
        r = await client.post(
            f"/api/v1/post-offices/{po.code}/cashups", json={"counted_cash_vnd": 0}, headers=courier.headers
        )
        assert r.status_code == 201, r.text
        cashups[scope] = str(r.json()["id"])
    w.ids["cashup"] = cashups


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(client: httpx.AsyncClient, demo: Any, engine: AsyncEngine) -> World:
    w = World()
    for role, who in CALLERS.items():
        w.headers[role] = await (
            citizen_headers(client, who) if role == "citizen" else staff_headers(client, who)
        )
    citizens = {p: await _citizen_id(client, p) for p in (C1, C2, C3)}
    made = await _plans_and_appointments(engine, demo, citizens)
    w.day = made["day"]
    w.ids["appointment"], w.ids["stop"], w.ids["plan"] = made["appointment"], made["stop"], made["plan"]
    w.ids["tracking_link"] = {"own": await _tracking_token(engine, demo, made)}
    w.ids["citizen"] = {"own": citizens[C1], "other_citizen": citizens[C2], "other_org": citizens[C3]}
    po_a, po_b = demo.post_offices[PO_A], demo.post_offices[PO_B]
    w.ids["office"] = {"own": po_a.code, "other_org": po_b.code}
    w.ids["desk"] = {
        "own": demo.commune_desks[po_a.commune_code].code,
        "other_org": demo.commune_desks[po_b.commune_code].code,
    }
    w.ids["province"] = {"own": po_a.province_code, "other_org": "01"}  # leadership's and another (issue 23)
    w.ids["payment"] = await _payments(engine, made["appointment"], citizens)
    w.ids["prices"] = await _prices(engine)
    w.ids["staff"] = {
        "own": str(demo.staff["courier07"].id),
        "other_courier": str(demo.staff[OTHER_COURIER].id),
        "other_org": str(demo.staff[COURIER_B].id),
    }
    w.place = _commune_centre(demo, PO_A)
    # Dossiers in their couriers' hands; and one more each, handed to its office (handover not yet confirmed).
    w.ids["dossier"] = {
        "own": await _pickup(client, demo, C1, "courier07", PO_A),
        "other_citizen": await _pickup(client, demo, C2, "courier07", PO_A),
        "other_courier": await _pickup(client, demo, C1, OTHER_COURIER, PO_A),
        "other_org": await _pickup(client, demo, C3, COURIER_B, PO_B),
    }
    # A dossier courier07 picked up and handed to courier08: courier07 is a former custodian (item 10).
    handed_on = await _pickup(client, demo, C1, "courier07", PO_A)
    handover = await _handover(client, "courier07", OTHER_COURIER, handed_on)
    r = await client.post(
        f"/api/v1/handovers/{handover}/confirm",
        json={"scanned": [handed_on]},
        headers=await staff_headers(client, OTHER_COURIER),
    )
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    w.ids["held_dossier"] = {**w.ids["dossier"], "other_courier": handed_on}
    # Another, which courier08 then took to the post office: a late event dated between the handover and that
    # arrival falls in courier08's stretch of custody, where courier07 (its former holder) may not write.
    late = await _pickup(client, demo, C1, "courier07", PO_A)
    handover = await _handover(client, "courier07", OTHER_COURIER, late)
    r = await client.post(
        f"/api/v1/handovers/{handover}/confirm",
        json={"scanned": [late]},
        headers=await staff_headers(client, OTHER_COURIER),
    )
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    await asyncio.sleep(1.0)
    w.late_at = utcnow().isoformat()
    await asyncio.sleep(1.0)
    r = await client.post(
        f"/api/v1/dossiers/{late}/events",
        json={"code": "EMB"},
        headers=await staff_headers(client, OTHER_COURIER),
    )
    assert r.status_code == 201, r.text
    w.ids["late_dossier"] = {**w.ids["dossier"], "other_courier": late}
    w.ids["handover"] = {
        "own": await _handover(
            client, "courier07", po_a.code, await _pickup(client, demo, C1, "courier07", PO_A)
        ),
        "other_courier": await _handover(
            client, OTHER_COURIER, po_a.code, await _pickup(client, demo, C1, OTHER_COURIER, PO_A)
        ),
        "other_org": await _handover(
            client, COURIER_B, po_b.code, await _pickup(client, demo, C3, COURIER_B, PO_B)
        ),
    }
    # On a desk's handover to agency06 (office A's commune's) and to office B's commune's agency (issue 23).
    w.ids["agency_dossier"] = {
        "own": await _to_agency(client, "desk05", demo.agencies[po_a.commune_code].code, C1),
        "other_org": await _to_agency(client, "desk03", demo.agencies[po_b.commune_code].code, C3),
    }
    w.ids["proof"] = {
        "own": await _proof(client, "courier07"),
        "other_courier": await _proof(client, OTHER_COURIER),
        "other_org": await _proof(client, COURIER_B),
    }
    addresses = {}
    for scope, phone in (("own", C1), ("other_citizen", C2), ("other_org", C3)):
        lat, lon = _commune_centre(demo, PO_A if phone != C3 else PO_B)
        r = await client.post(
            "/api/v1/me/addresses",
            json={"address": "Số 9, đường ma trận", "lat": lat, "lon": lon},
            headers=await citizen_headers(client, phone),
        )
        assert r.status_code in (200, 201), r.text
        addresses[scope] = str(r.json()["id"])
    w.ids["address"] = addresses
    w.ids["authorisation"] = {
        scope: await _authorisation(client, phone)
        for scope, phone in (("own", C1), ("other_citizen", C2), ("other_org", C3))
    }
    w.ids["webhook"] = {  # partner webhook endpoints of office A's and office B's
        scope: await _webhook(client, w.headers["admin"], code) for scope, code in w.ids["office"].items()
    }
    for role in CALLERS:
        if role != "leadership":  # read-only, no inbox (issue 23)
            w.own_device[role] = await _device(client, w.headers[role])
    w.ids["device"] = {
        "other_citizen": await _device(client, await citizen_headers(client, C2)),
        "other_courier": await _device(client, await staff_headers(client, OTHER_COURIER)),
        "other_org": await _device(client, await staff_headers(client, COURIER_B)),
    }
    for role, org in (
        ("courier", po_a.code),
        ("dispatcher", po_a.code),
        ("desk", w.ids["desk"]["own"]),
        ("agency", demo.agencies[po_a.commune_code].code),
        ("admin", None),
        ("leadership", demo.people_committee.code),
    ):
        w.fresh[role] = (await _account(client, w, role, org))[1]
    # Accounts whose sessions an admin ends: two couriers of office A and one of office B.
    w.ids["account"] = {
        "own": (await _account(client, w, "courier", po_a.code))[0],
        "other_courier": (await _account(client, w, "courier", po_a.code))[0],
        "other_org": (await _account(client, w, "courier", po_b.code))[0],
    }
    r = await client.post("/api/v1/auth/citizen/verify", json={"phone": C4, "code": "123456"})
    assert r.status_code == 200, r.text
    w.fresh["citizen"] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    # Writes that replace a whole record get that record's own current values (nothing changes).
    admin = w.headers["admin"]
    for scope, code in w.ids["office"].items():
        r = await client.get(f"/api/v1/post-offices/{code}/booking-settings", headers=admin)
        assert r.status_code == 200, r.text
        fields = (
            "window_minutes",
            "min_notice_minutes",
            "horizon_days",
            "cutoff_minutes",
            "travel_minutes",
            "service_minutes",
        )
        w.bodies[("settings", scope)] = {k: v for k, v in r.json().items() if k in fields}
    await _money(client, demo, engine, w)
    w.ids["complaint"] = await _complaints(client, w)
    return w


async def _complaints(client: httpx.AsyncClient, w: World) -> dict[str, str]:
    """Complaints of C1, C2 (office A) and C3 (office B) about their own visits (issue 23)."""
    out = {}
    for scope, phone in (("own", C1), ("other_citizen", C2), ("other_org", C3)):
        body = {
            "subject": "visit",
            "category": "lateness",
            "text": "ma trận quyền / access matrix",
            "appointment_id": w.ids["appointment"][scope],
        }
        r = await client.post("/api/v1/complaints", json=body, headers=await citizen_headers(client, phone))
        assert r.status_code == 201, r.text
        out[scope] = r.json()["id"]
    return out


def _target_id(w: World, row: am.Row, role: str, scope: str | None) -> str | None:
    if row.target is None or scope is None:
        return None
    if row.target == "device" and scope == "own":
        return w.own_device[role] if role in w.own_device else w.own_device["citizen"]
    return w.ids[row.target][scope]


def _request(op: str, w: World, role: str, scope: str | None) -> dict[str, Any]:
    """method, url, params and body of one cell."""
    method, path = op.split(" ", 1)
    row = am.MATRIX[op]
    target = _target_id(w, row, role, scope)
    lat, lon = w.place
    soon = (utcnow() + timedelta(days=AHEAD + 1)).date().isoformat()
    past = (utcnow() - timedelta(days=1)).isoformat()
    values = {
        "item_id": w.ids["dossier"]["own"],
        "code": w.ids["office"]["own"],
        "day": "2099-06-15",
        "receipt_no": w.ids["receipt"]["own"],
        "token": "not-the-secret",  # SMS delivery reports: a query without SMSID is a 400 before the token
        **w.ids["prices"],
    }
    if path.startswith(("/api/v1/procedures/", "/api/v1/catalogue/procedures/")):
        values["code"] = PROCEDURE
    if path.startswith("/api/v1/tracking-links/"):
        values["token"] = w.ids["tracking_link"]["own"]
    if path.startswith("/problems/"):
        values["code"] = "not_found"
    url = path
    for name in (
        "appointment_id",
        "address_id",
        "citizen_id",
        "user_id",
        "office",
        "plan_id",
        "stop_id",
        "handover_id",
        "proof_id",
        "authorisation_id",
        "token",
        "webhook_id",
        "payment_id",
        "rate_id",
        "fee_id",
        "exemption_id",
        "desk",
        "item_id",
        "code",
        "day",
        "receipt_no",
        "cashup_id",
        "remittance_id",
        "org",
        "complaint_id",
    ):
        if "{" + name + "}" in url:
            url = url.replace("{" + name + "}", target if target is not None and row.target else values[name])
    req: dict[str, Any] = {
        "method": method,
        "url": url,
        "params": {},
        "json": None,
        "files": None,
        "data": None,
    }
    appt_body = {"reason": "ma trận quyền / access matrix", "reason_code": "citizen_absent"}
    bodies: dict[str, Any] = {
        "POST /api/v1/auth/staff/login": {"username": "courier07", "password": DEMO_PASSWORD},
        "POST /api/v1/auth/citizen/otp": {"phone": C1},
        "POST /api/v1/auth/citizen/verify": {"phone": C1, "code": "123456"},
        "POST /api/v1/auth/firebase": {"id_token": "not-a-token"},
        "POST /api/v1/me/addresses": {"address": "Số 2, đường ma trận", "lat": lat, "lon": lon},
        "POST /api/v1/staff": {
            "username": "matrix" + uuid.uuid4().hex[:8],
            "full_name": "Ma Trận",
            "role": "dispatcher",
            "organisation": w.ids["office"]["own"],
            "password": "matrix-" + uuid.uuid4().hex,
        },
        "PATCH /api/v1/staff/{user_id}": {"active": True},
        "PATCH /api/v1/citizens/me": {"preferred_language": "vi"},
        "POST /api/v1/citizens/{citizen_id}/national-id/verify": {"national_id": AUTHORISED},
        "POST /api/v1/authorisations/{authorisation_id}/verify": {"national_id": AUTHORISED},
        "PUT /api/v1/citizens/{citizen_id}/exempt-groups": {"groups": ["nguoi_co_cong"]},
        "PUT /api/v1/calendar/overrides/{day}": {"kind": "off", "source": "Ma trận quyền (thử)"},
        "POST /api/v1/appointments": {
            "kind": "pickup",
            "start": past,
            "lat": lat,
            "lon": lon,
            "procedure": PROCEDURE,
            **({"citizen_phone": C1} if role != "citizen" else {}),
        },
        "PATCH /api/v1/appointments/{appointment_id}": {"start": past},
        "POST /api/v1/appointments/{appointment_id}/cancel": appt_body,
        "POST /api/v1/appointments/{appointment_id}/no-show": appt_body,
        "POST /api/v1/appointments/{appointment_id}/fail": {"reason_code": "other"},
        "POST /api/v1/post-offices/{office}/plans": {"date": soon, "time_limit_s": 0.5},
        "POST /api/v1/plans/{plan_id}/replan": {"time_limit_s": 0.5},
        "POST /api/v1/couriers/me/location": {"lat": lat, "lon": lon},
        "POST /api/v1/plan-stops/{stop_id}/move": {},
        "POST /api/v1/couriers/me/stops/{stop_id}/start": {},
        "POST /api/v1/couriers/me/stops/{stop_id}/complete": {},
        "POST /api/v1/couriers/me/stops/{stop_id}/fail": {"reason_code": "citizen_absent"},
        "POST /api/v1/dossiers": {"channel": CHANNEL.get(role, "home_pickup"), "procedure": PROCEDURE},
        "POST /api/v1/dossiers/{item_id}/events": {"code": "EMB"},
        "POST /api/v1/events/batch": {
            "events": [
                {
                    "client_event_id": uuid.uuid4().hex,
                    "item_id": target,
                    "client_at": w.late_at,
                    "code": "EMB",
                }
            ]
        },
        "POST /api/v1/dossiers/{item_id}/return-offer": {"start": past},
        "PUT /api/v1/dossiers/{item_id}/postal-return": {"postal_return": True},
        "POST /api/v1/dossiers/{item_id}/supplements": {},
        "POST /api/v1/couriers/me/item-ids": {"count": 1},
        "POST /api/v1/handovers": {"to": w.ids["office"]["own"], "items": []},
        "POST /api/v1/handovers/{handover_id}/confirm": {"scanned": []},
        "POST /api/v1/notifications/read": {},
        "PUT /api/v1/citizens/me/channels": {"choices": [{"channel": "sms", "enabled": True}]},
        "POST /api/v1/devices": {"token": target, "platform": "android"},
        "POST /api/v1/webhooks": {
            "organisation": w.ids["office"]["own"],
            "url": "http://127.0.0.1:9/matrix",
            "kinds": ["appointment.changed"],
        },
        "PATCH /api/v1/webhooks/{webhook_id}": {"active": True},
        "POST /api/v1/collections": {
            "client_event_id": uuid.uuid4().hex,
            "appointment_id": target,
            "amount_vnd": 1000,
            "method": "cash_door",
        },
        "POST /api/v1/post-offices/{code}/cashups": {"counted_cash_vnd": 0},
        "POST /api/v1/cashups/{cashup_id}/confirm": {},
        "POST /api/v1/post-offices/{code}/refunds": {
            "client_event_id": "matrix-refund",
            "citizen_id": "3f2b8c1e-0000-4000-8000-000000000009",
            "amount_vnd": 1000,
            "method": "cash_counter",
        },
        "POST /api/v1/remittances": {"agency": w.ids["agency"]["own"]},
        "POST /api/v1/console/agency/receive": {"item_id": target},
        "POST /api/v1/complaints": {
            "subject": "visit",
            "category": "other",
            "text": "ma trận quyền / access matrix",
            "appointment_id": w.ids["appointment"]["own"],
        },
        # assigned to the organisation that received it, so no cell makes it another office's
        "POST /api/v1/complaints/{complaint_id}/assign": {
            "org": w.ids["office"]["other_org" if scope == "other_org" else "own"]
        },
        "POST /api/v1/complaints/{complaint_id}/answer": {"answer": "ma trận quyền / access matrix"},
        "PATCH /api/v1/appointments/{appointment_id}/rating": RATING,
        "POST /api/v1/appointments/{appointment_id}/rating": RATING,
        # years ahead: a 422 after the access checks, nothing scheduled for the test's accounts
        "POST /api/v1/couriers/{user_id}/shift-versions": {"effective_from": "2099-06-15", "shifts": {}},
        "POST /api/v1/couriers/{user_id}/shift-versions/cancel": {"effective_from": "2099-06-15"},
    }
    if op in bodies:
        req["json"] = bodies[op]
    elif op == "PUT /api/v1/couriers/{user_id}/profile":
        req["json"] = {"shifts": {}}  # what the test's accounts have: no shifts, no booking capacity
    elif op == "PUT /api/v1/post-offices/{office}/booking-settings":
        req["json"] = w.bodies[("settings", scope or "own")]
    elif op == "POST /api/v1/citizens/me/authorisations":
        req["files"] = {"letter": ("l.png", io.BytesIO(png_bytes()), "image/png")}
        req["data"] = {
            "full_name": "Ma Trận",
            "national_id": AUTHORISED,
            "relationship": "other",
            "valid_from": utcnow().date().isoformat(),
            "valid_until": (utcnow().date() + timedelta(days=2)).isoformat(),
        }
    elif op == "POST /api/v1/proofs":
        req["files"] = {"file": ("p.png", io.BytesIO(png_bytes()), "image/png")}
        req["data"] = {"kind": "photo"}
    elif op == "POST /api/v1/reports/imports":
        req["files"] = {"file": ("empty.csv", io.BytesIO(b""), "text/csv")}
        req["data"] = {"dry_run": "true"}
    params: dict[str, Any] = {
        "GET /api/v1/slots": {"kind": "pickup", "lat": lat, "lon": lon},
        "GET /api/v1/calendar": {"year": utcnow().year},
        "GET /api/v1/units/communes": {"province": w.ids["office"]["own"].split("-")[0]},
        "GET /api/v1/appointments": {"from": w.day, "to": w.day, "limit": 500},
        "GET /api/v1/dossiers": {"q": target, "limit": 500},
        "GET /api/v1/console/agency/dossiers": {"list": "incoming", "limit": 500},
        "GET /api/v1/handovers": {"limit": 500},
        "GET /api/v1/staff": {"limit": 500},
        "GET /api/v1/reports/dossiers": {"from": w.day, "to": w.day},
        "GET /api/v1/reports/province/dossiers": {"province": target},
        "GET /api/v1/reports/province/legs": {"province": target},
        "GET /api/v1/reports/province/scorecards": {"province": target},
        "GET /api/v1/complaints": {"limit": 500},
        "GET /receipts/{receipt_no}": {"v": w.bodies[("receipt_v", "own")]},
    }
    req["params"] = params.get(op, {})
    who = w.fresh if op == "POST /api/v1/auth/logout-all" else w.headers
    req["headers"] = {**who.get(role, {}), "Idempotency-Key": uuid.uuid4().hex}
    req["target"] = target
    return req


async def _call(client: httpx.AsyncClient, req: dict[str, Any]) -> httpx.Response | None:
    kwargs = {k: req[k] for k in ("params", "json", "files", "data", "headers") if req[k] is not None}
    call = client.request(req["method"], req["url"], **kwargs)
    if req["url"].endswith("/feed"):
        try:
            return await asyncio.wait_for(call, STREAM_S)
        except TimeoutError:
            return None  # the stream opened: served
    return await call


def _verdict(want: str, response: httpx.Response | None, row: am.Row, target: str | None) -> bool:
    if response is None:  # an event stream that opened
        return want in ("ok", "listed")
    status = response.status_code
    if status >= 500 and status != 503:
        return False
    if want == "401":
        return status == 401
    refused = status in (403, 404, *row.deny)
    if row.entries and status < 300:  # one entry: its own answer
        entry = (response.json().get("results") or [{}])[0]
        refused = not entry.get("accepted") and entry.get("error") in ENTRY_REFUSALS
        return refused if want == "deny" else not refused
    if want == "deny":
        return refused
    if want == "ok":
        return status not in (401, 403, 404) and not (row.deny and status in row.deny)
    listed = status < 300 and target is not None and target in response.text
    if want == "listed":
        return listed
    return refused or (status < 300 and not listed)  # unlisted


def _operations(schema: dict[str, Any]) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, ops in schema["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    }


async def test_every_operation_has_a_row(client: httpx.AsyncClient) -> None:
    served = _operations((await client.get("/schema/openapi.json")).json())
    missing = sorted(served - set(am.MATRIX))
    stale = sorted(set(am.MATRIX) - served)
    assert not missing, f"operations without a row in tests/api/access_matrix.py: {missing}"
    assert not stale, f"rows of tests/api/access_matrix.py without an operation: {stale}"


async def test_rows_are_well_formed() -> None:
    for op, row in am.MATRIX.items():
        assert set(row.roles) <= set(am.ROLES) - {"anonymous"}, op
        assert set(row.roles.values()) <= set(am.LEVELS), op
        assert set(row.scopes) <= set(am.SCOPES) and row.scopes, op
        assert row.public or row.roles, op
        assert not row.listing or row.target, op
        assert row.note, op


async def test_security_doc_shows_the_matrix() -> None:
    """docs/security.md holds the table rendered from the data (``python -m tests.api.access_matrix``)."""
    text = am.DOC.read_text(encoding="utf-8")
    assert am.BEGIN in text and am.END in text
    assert am.in_doc(text) == text, "docs/security.md is out of step: run python -m tests.api.access_matrix"


async def test_access_matrix(client: httpx.AsyncClient, world: World) -> None:
    served = _operations((await client.get("/schema/openapi.json")).json())
    wrong: list[str] = []
    seen: list[str] = []  # every cell's answer, printed (pytest -s) to review what "allowed" cells got
    calls = 0
    for op in [o for o in am.MATRIX if o not in LAST] + list(LAST):
        if op not in served:
            continue  # reported by test_every_operation_has_a_row
        row = am.MATRIX[op]
        for role, scope, want in am.cells(op):
            req = _request(op, world, role, scope)
            response = await _call(client, req)
            calls += 1
            got = "stream" if response is None else f"{response.status_code} {response.text[:400]}"
            seen.append(f"{op} {role} {scope or '-'} {want} -> {got[:3] if not row.entries else got[:300]}")
            if not _verdict(want, response, row, req["target"]):
                wrong.append(f"{op} as {role} on {scope or '-'}: want {want}, got {got}")
    print("\n".join(seen))
    print(f"{calls} cells, {len(wrong)} wrong")
    print(json.dumps(wrong, ensure_ascii=False, indent=1))
    assert not wrong, f"{len(wrong)} of {calls} cells wrong:\n" + "\n".join(wrong)


async def test_a_token_in_the_url_never_signs_in(client: httpx.AsyncClient, world: World) -> None:
    """A bearer token sent as ``?access_token=`` (or ``?token=``) instead of the Authorization header signs no
    one in on any operation that needs sign-in: URLs are written to access logs and browser history (issue 17,
    item 2). The answer is a 401, or a 400 that says so (the desk feed)."""
    served = _operations((await client.get("/schema/openapi.json")).json())
    token = world.headers["admin"]["Authorization"].split(" ", 1)[1]
    wrong = []
    for op in sorted(served & set(am.MATRIX)):
        row = am.MATRIX[op]
        if row.public or op in LAST:
            continue
        req = _request(op, world, "admin", "own" if row.target else None)
        req["headers"] = {"Idempotency-Key": uuid.uuid4().hex}
        req["params"] = {**req["params"], "access_token": token, "token": token}
        response = await _call(client, req)
        if response is None or response.status_code not in (400, 401):
            wrong.append(f"{op}: {'stream' if response is None else response.status_code}")
    assert not wrong, wrong
