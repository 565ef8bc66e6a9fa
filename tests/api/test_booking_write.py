"""The booking's write on both databases: PostgreSQL's one-statement ``hoso_book`` (checks first, key claimed
with the rows) and SQLite's statement-by-statement path (key claimed first) keep the same promises."""

import asyncio
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy.exc
from litestar import Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import col, select

from backend.booking import pgbatch, pgbook, services
from backend.booking.geocoding import NoGeocoder
from backend.booking.pgbook import row_json
from backend.db import session_factory
from backend.lib import problems
from backend.lib.auth import Principal
from backend.lib.problems import Problem
from schemas.accounts import Citizen
from schemas.booking import (
    Appointment,
    AppointmentCreate,
    AppointmentEvent,
    AppointmentKind,
    IdempotencyRecord,
)
from schemas.enums import Role
from schemas.notifications import Notification
from tests.api.test_booking_flow import counts, free_windows, pickup, place_of, set_booked
from tests.conftest import citizen_headers

PO = 6  # the last windows of the listing: the booking-flow tests use the first ones of this office


async def _citizen(client: httpx.AsyncClient, phone: str) -> tuple[dict[str, str], uuid.UUID]:
    h = await citizen_headers(client, phone)
    me = (await client.get("/api/v1/me", headers=h)).json()
    return h, uuid.UUID(me["id"])


async def test_a_retry_after_the_window_closed_gets_its_booking(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    """On PostgreSQL the key is claimed with the rows, after the checks; a retry that the checks now refuse
    (the window has started) must still find the booking its first attempt made."""
    lat, lon = place_of(demo, PO)
    start = (await free_windows(client, lat, lon))[-1]
    h, citizen_id = await _citizen(client, "+84900000041")
    key = f"late-{uuid.uuid4()}"
    body = pickup(lat, lon, start)
    first = await client.post("/api/v1/appointments", json=body, headers={**h, "Idempotency-Key": key})
    assert first.status_code == 201, first.text

    late = datetime.fromisoformat(start) + timedelta(minutes=30)  # inside the window: no longer bookable
    principal = Principal(citizen_id, Role.citizen)
    data = AppointmentCreate.model_validate(body)
    async with session_factory(engine)() as session:
        again, created = await services.book(session, principal, data, idempotency_key=key, now=late)
        await session.rollback()
    assert not created and str(again.id) == first.json()["id"]

    before = await counts(engine)
    async with session_factory(engine)() as session:
        with pytest.raises(Problem) as reused:
            changed = AppointmentCreate.model_validate({**body, "note": "khác"})
            await services.book(session, principal, changed, idempotency_key=key, now=late)
        await session.rollback()
    assert reused.value.status_code == 422 and reused.value.code == "idempotency_key_reused"
    async with session_factory(engine)() as session:
        with pytest.raises(Problem) as closed:
            await services.book(session, principal, data, idempotency_key=f"new-{uuid.uuid4()}", now=late)
        await session.rollback()
    assert closed.value.status_code == 422
    assert await counts(engine) == before


async def test_a_full_window_leaves_nothing_and_the_key_free(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    """The ledger refuses (another process took the last minutes): no appointment, event, notification or
    idempotency record is left, and the same key books once there is room again."""
    po = demo.post_offices[PO]
    lat, lon = place_of(demo, PO)
    start = (await free_windows(client, lat, lon))[-2]
    begins = datetime.fromisoformat(start)
    h, citizen_id = await _citizen(client, "+84900000042")
    key = f"full-{uuid.uuid4()}"
    body = pickup(lat, lon, start)
    ends = begins + timedelta(hours=2)
    booked = await set_booked(engine, po.id, begins, ends, 10_000)
    try:
        before = await counts(engine)
        r = await client.post("/api/v1/appointments", json=body, headers={**h, "Idempotency-Key": key})
        assert r.status_code == 409 and r.json()["type"].endswith("window_full"), r.text
        assert await counts(engine) == before
        async with session_factory(engine)() as session:
            assert await session.get(IdempotencyRecord, (citizen_id, key)) is None
    finally:
        await set_booked(engine, po.id, begins, ends, booked)
    r = await client.post("/api/v1/appointments", json=body, headers={**h, "Idempotency-Key": key})
    assert r.status_code == 201, r.text


async def test_the_written_rows_read_back_as_written(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    """Rows go to PostgreSQL as JSON read with the tables' row types: what the ORM reads back is what the
    answer showed (types included: enum, JSON, instants, ids)."""
    lat, lon = place_of(demo, PO)
    start = (await free_windows(client, lat, lon))[-3]
    h, citizen_id = await _citizen(client, "+84900000043")
    r = await client.post(
        "/api/v1/appointments",
        json=pickup(lat, lon, start, note="Cổng xanh, số 12"),
        headers={**h, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code == 201, r.text
    shown = r.json()
    appt_id = uuid.UUID(shown["id"])
    async with session_factory(engine)() as session:
        appt = await session.get(Appointment, appt_id)
        assert appt is not None
        assert appt.kind == AppointmentKind.pickup and appt.citizen_id == citizen_id
        assert appt.start == datetime.fromisoformat(start) and appt.start.utcoffset() == timedelta(0)
        assert appt.note == "Cổng xanh, số 12" and appt.fees == shown["fees"] and appt.version == 1
        events = (
            await session.exec(
                select(AppointmentEvent).where(col(AppointmentEvent.appointment_id) == appt_id)
            )
        ).all()
        assert [(e.seq, e.type, e.data) for e in events] == [(1, "booked", {"start": appt.start.isoformat()})]
        notes = (
            await session.exec(select(Notification).where(col(Notification.recipient_id) == citizen_id))
        ).all()
        mine = [n for n in notes if n.params.get("appointment_id") == str(appt_id)]
        assert {n.template for n in mine} >= {"appointment.booked"}
        assert all(n.status == "pending" and n.next_attempt_at.tzinfo is not None for n in mine)


def test_row_json_refuses_naive_instants_and_names_enum_members() -> None:
    row = {"id": uuid.uuid4(), "kind": AppointmentKind.pickup, "start": datetime(2026, 12, 1, 8, 0)}
    with pytest.raises(ValueError, match="naive"):
        row_json(Appointment, row)
    aware = {**row, "start": datetime.fromisoformat("2026-12-01T08:00:00+07:00")}
    assert '"kind":"pickup"' in row_json(Appointment, aware)
    assert '"start":"2026-12-01T08:00:00+07:00"' in row_json(Appointment, aware)


async def test_bookings_arriving_together_share_one_statement(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    """Six bookings at once for a window with room for two: two are made, four get the 409, and nothing of the
    four is stored. On PostgreSQL (caches warm, no transaction open) they share ``hoso_book_many``
    statements, each decided on its own, fewer statements than bookings; SQLite books them one by one."""
    po = demo.post_offices[PO]
    lat, lon = place_of(demo, PO)
    start = (await free_windows(client, lat, lon))[-4]
    begins = datetime.fromisoformat(start)
    ends = begins + timedelta(hours=2)
    h, citizen_id = await _citizen(client, "+84900000044")
    warm = await client.post("/api/v1/appointments", json=pickup(lat, lon, start), headers=h)
    assert warm.status_code == 201, warm.text
    principal = Principal(citizen_id, Role.citizen)
    data = AppointmentCreate.model_validate(pickup(lat, lon, start))
    async with session_factory(engine)() as session:
        draft = await services._draft(session, principal, data, uuid.uuid4(), NoGeocoder(), services.utcnow())
        await session.rollback()
    cap, cost = draft.capacity, draft.cost
    before_booked = await set_booked(engine, po.id, begins, ends, cap - 2 * cost)
    batcher = pgbatch.batcher(engine)
    calls = batcher.calls
    before = await counts(engine)

    async def one(n: int) -> Any:
        async with session_factory(engine)() as session:
            try:
                appt, created = await services.book(session, principal, data, idempotency_key=f"together-{n}")
                return created
            except Problem as exc:
                await session.rollback()
                return exc.status_code

    try:
        outcomes = await asyncio.gather(*(one(n) for n in range(6)))
        assert sorted(outcomes, key=str) == sorted([True, True, 409, 409, 409, 409], key=str), outcomes
        after = await counts(engine)
        assert after["appointment"] == before["appointment"] + 2
        assert after["booking_idempotency"] == before["booking_idempotency"] + 2
        assert await set_booked(engine, po.id, begins, ends, cap) == cap  # full, not over
        if engine.dialect.name == "postgresql":
            # Each booking now reads its citizen's exempt groups and writes its due (issue 21) before the
            # write, so the six no longer reach the batcher at one instant; those waiting while a statement
            # runs still share the next one: fewer statements than bookings.
            assert calls + 1 <= batcher.calls < calls + 6
        else:
            assert batcher.calls == calls  # SQLite never batches
    finally:
        await set_booked(engine, po.id, begins, ends, before_booked)


async def test_a_failing_booking_in_a_shared_statement_fails_alone(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    """If the shared statement fails for another reason than a full window, nothing of it is kept and each
    booking is tried on its own: here the second reuses the first's appointment id, so only it fails."""
    citizen_id, draft = await _draft_on_postgresql(client, demo, engine, "+84900000045", -5)
    if draft is None:
        return
    appt_id = draft.appointment["id"]

    def args(key: str) -> dict[str, Any]:
        notes = [
            {**n, "id": uuid.uuid4(), "dedupe_key": f"{key}:{i}"} for i, n in enumerate(draft.notifications)
        ]
        return replace(draft, notifications=notes).arguments(citizen_id, key, "h", services.utcnow())

    batcher = pgbatch.Batcher(engine)
    first, second = await asyncio.gather(
        batcher.write(args(f"a-{appt_id}")), batcher.write(args(f"b-{appt_id}")), return_exceptions=True
    )
    assert isinstance(first, pgbook.Written) and first.created and first.appointment_id == appt_id
    assert isinstance(second, IntegrityError), second
    assert batcher.calls == 3  # together, then each alone
    async with session_factory(engine)() as session:
        assert await session.get(IdempotencyRecord, (citizen_id, f"a-{appt_id}")) is not None
        assert await session.get(IdempotencyRecord, (citizen_id, f"b-{appt_id}")) is None


async def test_a_booking_after_cold_caches_still_shares_the_statement_but_never_ends_a_callers_transaction(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    """Checks that had to read (caches dropped) leave a read-only transaction behind: it is ended and the
    booking joins the shared statement. A transaction the caller opened is never ended early: refused (the
    window is full), the booking leaves nothing of the caller's either."""
    po = demo.post_offices[PO]
    lat, lon = place_of(demo, PO)
    start = (await free_windows(client, lat, lon))[-6]
    begins = datetime.fromisoformat(start)
    ends = begins + timedelta(hours=2)
    h, citizen_id = await _citizen(client, "+84900000046")
    principal = Principal(citizen_id, Role.citizen)
    data = AppointmentCreate.model_validate(pickup(lat, lon, start))
    batcher = pgbatch.batcher(engine)
    services.invalidate_caches()
    calls = batcher.calls
    async with session_factory(engine)() as session:
        _, created = await services.book(session, principal, data, idempotency_key=f"cold-{uuid.uuid4()}")
    assert created
    assert batcher.calls == calls + (1 if engine.dialect.name == "postgresql" else 0)

    before_booked = await set_booked(engine, po.id, begins, ends, 10_000)
    try:
        before = await counts(engine)
        phone = f"+84977{uuid.uuid4().int % 1_000_000:06d}"  # nobody of the demo
        async with session_factory(engine)() as session:
            session.add(Citizen(phone=phone))
            await session.flush()
            with pytest.raises(Problem) as full:
                await services.book(session, principal, data, idempotency_key=f"mine-{uuid.uuid4()}")
            await session.rollback()
        assert full.value.status_code == 409
        assert await counts(engine) == before
        async with session_factory(engine)() as session:
            assert (await session.exec(select(Citizen).where(Citizen.phone == phone))).first() is None
    finally:
        await set_booked(engine, po.id, begins, ends, before_booked)


async def test_the_booking_answer_is_what_reading_it_back_shows(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    """The new booking's answer is encoded straight from the model (its instants built in Vietnam time); it
    must be exactly what ``GET /appointments/{id}`` (the general path) shows, and so must a replay."""
    lat, lon = place_of(demo, PO)
    start = (await free_windows(client, lat, lon))[-7]
    h, _ = await _citizen(client, "+84900000048")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = pickup(lat, lon, start, note="Gọi trước 15 phút", address="Số 3, ngõ 5")
    made = await client.post("/api/v1/appointments", json=body, headers={**h, **key})
    assert made.status_code == 201 and made.headers["content-type"].startswith("application/json"), made.text
    read = await client.get(f"/api/v1/appointments/{made.json()['id']}", headers=h)
    assert read.status_code == 200, read.text
    assert made.json() == read.json()
    assert made.json()["created_at"].endswith("+07:00") and made.json()["events"][0]["at"].endswith("+07:00")
    again = await client.post("/api/v1/appointments", json=body, headers={**h, **key})
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == made.json()


async def test_a_shared_statement_that_gets_no_connection_fails_its_bookings_and_not_the_next(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    """No connection within the pool's timeout: the bookings waiting for that statement get the error, and
    the next one is sent (nothing is left waiting without a sender)."""
    citizen_id, draft = await _draft_on_postgresql(client, demo, engine, "+84900000049", -8)
    if draft is None:
        return
    args = draft.arguments(citizen_id, f"starved-{uuid.uuid4()}", "h", services.utcnow())
    small = create_async_engine(engine.url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        batcher = pgbatch.Batcher(small)
        held = await small.connect()
        first = asyncio.ensure_future(batcher.write(args))
        await asyncio.sleep(0.05)  # its statement now waits for the pool's only connection
        second = asyncio.ensure_future(batcher.write(args))  # queued behind it
        both = await asyncio.wait_for(asyncio.gather(first, second, return_exceptions=True), timeout=30)
        assert [type(r) for r in both] == [sqlalchemy.exc.TimeoutError] * 2, both
        await held.close()
        written = await asyncio.wait_for(batcher.write(args), timeout=30)
        assert written is not None and written.created
    finally:
        await small.dispose()


async def _draft_on_postgresql(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine, phone: str, window: int
) -> tuple[uuid.UUID, services._Draft | None]:
    """The citizen with ``phone`` and their checked booking, not yet written, of the listed window number
    ``window`` of post office ``PO``, for calling the group commit directly; no draft on SQLite, which has no
    stored functions (the statement-by-statement path)."""
    lat, lon = place_of(demo, PO)
    start = (await free_windows(client, lat, lon))[window]
    _, citizen_id = await _citizen(client, phone)
    data = AppointmentCreate.model_validate(pickup(lat, lon, start))
    async with session_factory(engine)() as session:
        if not pgbook.supported(session):
            assert engine.dialect.name == "sqlite"
            return citizen_id, None
        principal = Principal(citizen_id, Role.citizen)
        draft = await services._draft(session, principal, data, uuid.uuid4(), NoGeocoder(), services.utcnow())
        await session.rollback()
    return citizen_id, draft


async def test_a_nul_character_is_a_400_on_every_database(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    """PostgreSQL cannot store NUL in text and SQLite can: the request is refused before either sees it
    (``backend/lib/nul_guard.py``), in the JSON body, the query and the path. Found by
    tests/api/test_schema_fuzz.py (PostgreSQL answered 500)."""
    lat, lon = place_of(demo, PO)
    start = (await free_windows(client, lat, lon))[-3]
    h, citizen_id = await _citizen(client, "+84900000044")
    before = await counts(engine)
    body = pickup(lat, lon, start, note="cổng\x00sau")
    r = await client.post(
        "/api/v1/appointments", json=body, headers={**h, "Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 400 and r.json()["type"].endswith("/nul_character"), r.text
    assert await counts(engine) == before
    r = await client.get(
        "/api/v1/slots", params={"kind": "pickup", "lat": lat, "lon": lon, "address": "a\x00"}
    )
    assert r.status_code == 400 and r.json()["type"].endswith("/nul_character"), r.text
    r = await client.get("/api/v1/organisations/%00", headers=h)
    assert r.status_code == 400 and r.json()["type"].endswith("/nul_character"), r.text

    # Under the guard, a value PostgreSQL refuses (here the booking's statement) is a 400 problem too.
    data = AppointmentCreate.model_validate(body)
    async with session_factory(engine)() as session:
        try:
            await services.book(session, Principal(citizen_id, Role.citizen), data, idempotency_key="nul")
            refused = None
        except sqlalchemy.exc.DBAPIError as exc:
            refused = exc
        await session.rollback()
    if engine.dialect.name == "postgresql":
        assert refused is not None and refused.orig.sqlstate in problems.UNSTORABLE  # type: ignore[union-attr]
        request = Request(
            scope={
                "type": "http",
                "method": "POST",
                "path": "/x",
                "headers": [],
                "query_string": b"",
                "server": ("t", 80),
                "scheme": "http",
                "root_path": "",
            }
        )  # type: ignore[arg-type,typeddict-item]
        answer = problems.database_error_handler(request, refused)
        assert answer.status_code == 400 and answer.content["type"].endswith("/unstorable_value")
        assert await counts(engine) == before
    else:
        assert refused is None  # SQLite stored it: the guard is what keeps the two alike
