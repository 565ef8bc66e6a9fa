"""Partner webhooks end to end, on SQLite and PostgreSQL, against a real receiver on 127.0.0.1: endpoints
through the API (secret shown once, SSRF refusals, least privilege), the relay turning dossier and appointment
event rows into deliveries for the organisations party to them only, and delivery through a receiver that is
down for a while, one that is slow, and a dispatcher process killed with SIGKILL mid-delivery."""

import asyncio
import os
import signal
import sys
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from backend.db import session_factory
from backend.partners.delivery import Delivery
from backend.partners.relay import Relay
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentEvent, AppointmentKind, BookingChannel
from schemas.catalogue import Procedure
from schemas.dossiers import Channel, CustodianKind, Dossier, DossierEvent
from schemas.webhooks import WebhookAttempt, WebhookDelivery
from tests.conftest import staff_headers
from tests.partners.receiver import Receiver

pytestmark = pytest.mark.asyncio(loop_scope="session")

PO_A, PO_B = 10, 11  # post offices no other test writes webhooks for
KINDS = ["dossier.status_changed", "dossier.result_ready", "appointment.changed"]


async def _register(
    client: httpx.AsyncClient, org: str, url: str, kinds: list[str] = KINDS
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/webhooks",
        json={"organisation": org, "url": url, "kinds": kinds},
        headers=await staff_headers(client, "admin"),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _delivery(engine: AsyncEngine, **kw: Any) -> Delivery:
    kw.setdefault("backoff_base", timedelta(milliseconds=50))
    kw.setdefault("backoff_cap", timedelta(milliseconds=200))
    kw.setdefault("timeout_s", 2.0)
    kw.setdefault("lease", timedelta(seconds=5))
    return Delivery(engine, production=False, idle_interval=0.05, **kw)


async def _dossier_events(
    engine: AsyncEngine, demo: Any, po_index: int, statuses: list[str], at: datetime | None = None
) -> list[uuid.UUID]:
    """A dossier of office ``po_index`` and one event row per status, as the custody service writes them."""
    po = demo.post_offices[po_index]
    async with session_factory(engine)() as session:
        procedure = (await session.execute(select(Procedure).limit(1))).scalars().one()
        dossier = Dossier(
            item_id=f"HW{uuid.uuid4().int % 10**9:09d}VN",
            procedure_id=procedure.id,
            channel=Channel.post_office,
            status=statuses[-1],
            custodian_kind=CustodianKind.post_office,
            custodian_org_id=po.id,
            post_office_id=po.id,
            data={"citizen_phone": "0900000001", "address": "Số 1 đường bí mật"},
        )
        session.add(dossier)
        await session.flush()
        ids = []
        for seq, status in enumerate(statuses):
            event = DossierEvent(
                dossier_id=dossier.id,
                seq=seq,
                code="EMB",
                status=status,
                actor_kind="post_office",
                org_id=po.id,
                place="Số 1 đường bí mật",
            )
            event.at = at or event.at
            session.add(event)
            ids.append(event.id)
        await session.commit()
    return ids


async def _wait(predicate: Any, *, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def _drain(delivery: Delivery, done: Any, *, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "deliveries did not finish"
        if await delivery.run_once() == 0:
            await asyncio.sleep(0.05)


async def test_secret_shown_once_and_rotated(client: httpx.AsyncClient, demo: Any) -> None:
    admin = await staff_headers(client, "admin")
    made = await _register(client, demo.post_offices[PO_A].code, "http://127.0.0.1:9/once")
    assert made["secret"].startswith("whsec_")
    one = await client.get(f"/api/v1/webhooks/{made['id']}", headers=admin)
    assert one.status_code == 200 and "secret" not in one.json()
    listing = await client.get("/api/v1/webhooks", headers=admin)
    assert made["secret"] not in listing.text and made["id"] in listing.text
    rotated = await client.post(f"/api/v1/webhooks/{made['id']}/rotate-secret", headers=admin)
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != made["secret"]
    changed = await client.patch(f"/api/v1/webhooks/{made['id']}", json={"active": False}, headers=admin)
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert (await client.post(f"/api/v1/webhooks/{made['id']}/ping", headers=admin)).status_code == 409
    assert (await client.delete(f"/api/v1/webhooks/{made['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"/api/v1/webhooks/{made['id']}", headers=admin)).status_code == 404


async def test_refused_urls_and_callers(client: httpx.AsyncClient, demo: Any) -> None:
    admin = await staff_headers(client, "admin")
    org = demo.post_offices[PO_A].code
    for url in ("http://10.0.0.5/h", "ftp://127.0.0.1/h", "https://u:p@127.0.0.1/h", "not a url"):
        r = await client.post(
            "/api/v1/webhooks", json={"organisation": org, "url": url, "kinds": KINDS}, headers=admin
        )
        assert r.status_code == 422 and r.json()["code"] == "webhook_url_refused", (url, r.text)
    r = await client.post(
        "/api/v1/webhooks",
        json={"organisation": org, "url": "http://127.0.0.1/h", "kinds": ["dossier.gone"]},
        headers=admin,
    )
    assert r.status_code == 400
    for user in ("dispatcher01", "desk02", "agency01", "courier01"):
        r = await client.post(
            "/api/v1/webhooks",
            json={"url": "http://127.0.0.1/h", "kinds": KINDS},
            headers=await staff_headers(client, user),
        )
        assert r.status_code == 403, (user, r.text)


async def test_events_reach_only_their_organisations_signed_once_through_an_outage(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    receiver_a, receiver_b = Receiver(), Receiver().start()
    port = Receiver().start()
    free = port.port
    port.stop()  # a port nobody listens on: receiver A is down
    receiver_a.port = free
    a = await _register(client, demo.post_offices[PO_A].code, f"http://127.0.0.1:{free}/hooks")
    b = await _register(client, demo.post_offices[PO_B].code, receiver_b.url)
    receiver_a.secret, receiver_b.secret = a["secret"], b["secret"]
    relay = Relay(engine)
    await relay.run_once()  # the cursors exist from here on
    events = await _dossier_events(engine, demo, PO_A, ["at_post_office", "at_desk", "result_ready"])
    await relay.run_once()
    await relay.run_once(recheck=True)  # re-reading never makes a second delivery
    async with session_factory(engine)() as session:
        rows = (
            (
                await session.execute(
                    select(WebhookDelivery).where(
                        col(WebhookDelivery.endpoint_id).in_([uuid.UUID(a["id"]), uuid.UUID(b["id"])])
                    )
                )
            )
            .scalars()
            .all()
        )
    mine = [r for r in rows if r.endpoint_id == uuid.UUID(a["id"])]
    assert {r.event_id for r in mine} >= set(events)
    assert len([r for r in mine if r.kind == "dossier.result_ready"]) == 1
    assert not [r for r in rows if r.endpoint_id == uuid.UUID(b["id"])], "office B got office A's events"
    for r in mine:
        assert "citizen_phone" not in str(r.payload) and "bí mật" not in str(r.payload)
    worker = _delivery(engine)
    try:
        for _ in range(3):  # receiver A is down: attempts fail and are retried
            await worker.run_once()
            await asyncio.sleep(0.25)
        receiver_a.start()  # back
        want = {str(r.event_id) for r in mine}
        await _drain(worker, lambda: want <= set(receiver_a.processed))
    finally:
        await worker.aclose()
        receiver_a.stop()
        receiver_b.stop()
    assert all(receiver_a.processed[i] == 1 for i in want)
    assert all(r["valid"] for r in receiver_a.received)
    assert not receiver_b.received
    history = await client.get(
        f"/api/v1/webhooks/{a['id']}/deliveries", headers=await staff_headers(client, "admin")
    )
    assert history.status_code == 200
    items = [i for i in history.json()["items"] if i["event_id"] in want]
    assert items and all(i["status"] == "delivered" for i in items)
    assert any(len(i["history"]) > 1 and i["history"][0]["status_code"] is None for i in items), items


async def test_a_slow_receiver_times_out_and_gets_it_again(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    receiver = Receiver().start()
    made = await _register(client, demo.post_offices[PO_A].code, receiver.url, ["dossier.status_changed"])
    receiver.secret = made["secret"]
    ping = await client.post(
        f"/api/v1/webhooks/{made['id']}/ping", headers=await staff_headers(client, "admin")
    )
    assert ping.status_code == 202
    msg = ping.json()["event_id"]
    receiver.delay_first[msg] = 2.0
    worker = _delivery(engine, timeout_s=0.5)
    try:
        await _drain(worker, lambda: msg in receiver.processed)
        await asyncio.sleep(2.2)  # the held first request finishes too; the receiver dedupes it
    finally:
        await worker.aclose()
        receiver.stop()
    assert receiver.processed[msg] == 1
    assert len([r for r in receiver.received if r["id"] == msg]) == 2 and receiver.duplicates == 1
    async with session_factory(engine)() as session:
        attempts = (
            (
                await session.execute(
                    select(WebhookAttempt).where(
                        col(WebhookAttempt.delivery_id) == uuid.UUID(ping.json()["id"])
                    )
                )
            )
            .scalars()
            .all()
        )
    assert any(a.error and a.error.startswith("timeout") for a in attempts)
    assert any(a.status_code == 204 for a in attempts)


async def test_an_appointment_change_reaches_its_post_office(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    receiver = Receiver().start()
    po = demo.post_offices[PO_B]
    made = await _register(client, po.code, receiver.url, ["appointment.changed"])
    receiver.secret = made["secret"]
    relay = Relay(engine)
    await relay.run_once()
    citizen = demo.citizens[-1]
    start = utcnow() + timedelta(days=120)
    async with session_factory(engine)() as session:
        appt = Appointment(
            citizen_id=citizen.id,
            post_office_id=po.id,
            province_code=demo.province.code,
            commune_code=po.commune_code,
            kind=AppointmentKind.pickup,
            start=start,
            end=start + timedelta(hours=2),
            cost_minutes=22,
            lat=10.0,
            lon=105.0,
            address="Số 7 đường riêng tư",
            booked_by_role="citizen",
            booked_by_id=citizen.id,
        )
        session.add(appt)
        await session.flush()
        event = AppointmentEvent(
            appointment_id=appt.id, seq=1, type="booked", actor_role="citizen", channel=BookingChannel.app
        )
        session.add(event)
        await session.commit()
    await relay.run_once()
    worker = _delivery(engine)
    try:
        await _drain(worker, lambda: str(event.id) in receiver.processed)
    finally:
        await worker.aclose()
        receiver.stop()
    body = next(r["body"] for r in receiver.received if r["id"] == str(event.id))
    assert body["type"] == "appointment.changed" and body["data"]["change"] == "booked"
    assert body["data"]["post_office"] == po.code and body["created_at"].endswith("+07:00")
    assert "riêng tư" not in str(body) and "lat" not in body["data"]


CHILD = """
import asyncio, sys
from datetime import datetime, timedelta
from backend.db import make_engine
from backend.partners.delivery import Delivery

async def main():
    engine = make_engine(sys.argv[1])
    worker = Delivery(engine, production=False, worker_id="doomed", timeout_s=30.0,
                      lease=timedelta(seconds=2), idle_interval=0.05)
    while True:
        await worker.run_once()
        await asyncio.sleep(0.05)

asyncio.run(main())
"""


async def test_a_dispatcher_killed_mid_delivery_loses_nothing_and_nothing_is_processed_twice(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any, database_url: str
) -> None:
    receiver = Receiver().start()
    made = await _register(client, demo.post_offices[PO_A].code, receiver.url, ["dossier.status_changed"])
    receiver.secret = made["secret"]
    relay = Relay(engine)
    await relay.run_once()
    events = await _dossier_events(engine, demo, PO_A, ["at_post_office", "in_transit_to_desk", "at_desk"])
    await relay.run_once()
    held = str(events[0])
    receiver.delay_first[held] = 8.0  # the first request of this event hangs until the dispatcher is dead
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, database_url, env=env)
    try:
        await _wait(lambda: any(r["id"] == held for r in receiver.received))
        os.kill(child.pid, signal.SIGKILL)  # mid-delivery: its request is in flight, no outcome written
        assert await asyncio.wait_for(child.wait(), 10) == -signal.SIGKILL
        worker = _delivery(engine, worker_id="survivor")
        try:
            await _drain(worker, lambda: {str(e) for e in events} <= set(receiver.processed), seconds=60)
            await asyncio.sleep(8.5)  # the hung request ends too: the receiver must not process it again
        finally:
            await worker.aclose()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        receiver.stop()
    assert all(receiver.processed[str(e)] == 1 for e in events), receiver.processed
    # The killed worker's request was sent again by the survivor; the receiver saw it twice, processed it once
    # (the others may come twice too: killed after their answer, before writing it).
    assert len([r for r in receiver.received if r["id"] == held]) == 2 and receiver.duplicates >= 1
    async with session_factory(engine)() as session:
        delivery = (
            (
                await session.execute(
                    select(WebhookDelivery).where(
                        col(WebhookDelivery.endpoint_id) == uuid.UUID(made["id"]),
                        col(WebhookDelivery.event_id) == events[0],
                    )
                )
            )
            .scalars()
            .one()
        )
        attempts = (
            (
                await session.execute(
                    select(WebhookAttempt).where(col(WebhookAttempt.delivery_id) == delivery.id)
                )
            )
            .scalars()
            .all()
        )
    assert delivery.status == "delivered"
    assert any(a.error and "lease ran out" in a.error for a in attempts)


async def test_an_event_dated_ahead_does_not_hide_the_ones_after_it(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    """A row dated in the future (a skewed clock, imported data) must not carry the cursor past events written
    after it: it waits for its time, the others go now."""
    made = await _register(
        client, demo.post_offices[PO_B].code, "http://127.0.0.1:9/ahead", ["dossier.status_changed"]
    )
    relay = Relay(engine)
    await relay.run_once()
    ahead = await _dossier_events(engine, demo, PO_B, ["at_post_office"], at=utcnow() + timedelta(days=30))
    now = await _dossier_events(engine, demo, PO_B, ["at_post_office"])
    await relay.run_once()
    await relay.run_once()
    async with session_factory(engine)() as session:
        got = set(
            (
                await session.execute(
                    select(col(WebhookDelivery.event_id)).where(
                        col(WebhookDelivery.endpoint_id) == uuid.UUID(made["id"])
                    )
                )
            ).scalars()
        )
    assert set(now) <= got and not set(ahead) & got
