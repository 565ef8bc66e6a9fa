"""enqueue writes in the caller's transaction: committed with it, rolled back with it."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import Session, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.inbox import list_inbox, mark_read, unread_count
from notifications.outbox import enqueue, enqueue_once
from notifications.templates import MissingParamsError, UnknownTemplateError
from schemas.notifications import NOTIFICATION_TABLES, Notification

START = datetime(2025, 3, 1, 1, 30, tzinfo=UTC)


def booked() -> dict[str, object]:
    return {"appointment_id": uuid.uuid4(), "start": START, "post_office": "Bưu cục Ba Đình"}


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(Notification))).scalar_one())


async def test_rollback_drops_the_notification_and_commit_keeps_it(db: AsyncEngine) -> None:
    factory = async_sessionmaker(db, class_=AsyncSession, expire_on_commit=False)
    who = uuid.uuid4()
    async with factory() as session:
        row = enqueue(
            session,
            recipient_kind="citizen",
            recipient_id=who,
            template="appointment.booked",
            params=booked(),
        )
        assert row in session.new  # added, not flushed or committed
        await session.rollback()
    assert await count(db) == 0

    params = booked()
    async with factory() as session:
        row = enqueue(
            session, recipient_kind="citizen", recipient_id=who, template="appointment.booked", params=params
        )
        await session.commit()
    async with factory() as session:
        stored = await session.get(Notification, row.id)
        assert stored is not None
        assert stored.status == "pending" and stored.attempts == 0
        assert stored.title_vi == "Đặt lịch hẹn thành công" and stored.title_en == "Appointment booked"
        assert "01/03/2025 08:30" in stored.body_vi
        assert stored.deep_link == f"/appointments/{params['appointment_id']}"
        # Params are kept as JSON: ids and instants as strings.
        assert stored.params["appointment_id"] == str(params["appointment_id"])
        assert stored.params["start"] == START.isoformat()
        assert stored.next_attempt_at <= datetime.now(UTC)


def test_works_with_a_sync_session_too(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'sync.db'}")
    SQLModel.metadata.create_all(engine, tables=list(NOTIFICATION_TABLES))
    who = uuid.uuid4()
    with Session(engine) as session:
        enqueue(
            session,
            recipient_kind="staff",
            recipient_id=who,
            template="desk.dossier_due_soon",
            params={"item_id": "HS123456785VN", "due_at": START},
        )
        session.commit()
    with Session(engine) as session:
        [row] = session.exec(select(Notification)).all()  # type: ignore[call-overload]
        assert row[0].recipient_kind == "staff" and row[0].priority == "high"
    engine.dispose()


async def test_bad_input_fails_in_the_callers_code(db: AsyncEngine) -> None:
    factory = async_sessionmaker(db, class_=AsyncSession)
    async with factory() as session:
        with pytest.raises(UnknownTemplateError):
            enqueue(session, recipient_kind="citizen", recipient_id=uuid.uuid4(), template="nope", params={})
        with pytest.raises(MissingParamsError, match="post_office"):
            enqueue(
                session,
                recipient_kind="citizen",
                recipient_id=uuid.uuid4(),
                template="appointment.booked",
                params={"appointment_id": uuid.uuid4(), "start": START},
            )
        with pytest.raises(ValueError, match="citizen recipients"):
            enqueue(
                session,
                recipient_kind="staff",
                recipient_id=uuid.uuid4(),
                template="appointment.booked",
                params=booked(),
            )
        with pytest.raises(ValueError, match="timezone-aware"):
            enqueue(
                session,
                recipient_kind="citizen",
                recipient_id=uuid.uuid4(),
                template="appointment.booked",
                params=booked(),
                not_before=datetime(2025, 3, 1, 8, 0),
            )
        assert not session.new


async def test_the_same_event_never_yields_two_rows_for_one_recipient(db: AsyncEngine) -> None:
    factory = async_sessionmaker(db, class_=AsyncSession, expire_on_commit=False)
    who, other = uuid.uuid4(), uuid.uuid4()
    key = "appointment.booked:42"
    async with factory() as session:
        enqueue(
            session,
            recipient_kind="citizen",
            recipient_id=who,
            template="appointment.booked",
            params=booked(),
            dedupe_key=key,
        )
        # The same key for another recipient is a different notification.
        enqueue(
            session,
            recipient_kind="citizen",
            recipient_id=other,
            template="appointment.booked",
            params=booked(),
            dedupe_key=key,
        )
        await session.commit()
    async with factory() as session:
        enqueue(
            session,
            recipient_kind="citizen",
            recipient_id=who,
            template="appointment.booked",
            params=booked(),
            dedupe_key=key,
        )
        with pytest.raises(IntegrityError):
            await session.commit()
    assert await count(db) == 2

    # enqueue_once: a repeat is found (committed, or added earlier in the same transaction), not duplicated.
    async with factory() as session:
        row, created = await enqueue_once(
            session,
            recipient_kind="citizen",
            recipient_id=who,
            template="appointment.booked",
            params=booked(),
            dedupe_key=key,
        )
        assert not created and row.dedupe_key == key
        first, created1 = await enqueue_once(
            session,
            recipient_kind="citizen",
            recipient_id=who,
            template="appointment.reminder_day_before",
            params=booked(),
            dedupe_key="reminder:42",
            not_before=START,
        )
        again, created2 = await enqueue_once(
            session,
            recipient_kind="citizen",
            recipient_id=who,
            template="appointment.reminder_day_before",
            params=booked(),
            dedupe_key="reminder:42",
            not_before=START,
        )
        assert created1 and not created2 and again is first
        await session.commit()
    assert await count(db) == 3


async def test_inbox_lists_newest_first_and_marks_read(db: AsyncEngine) -> None:
    factory = async_sessionmaker(db, class_=AsyncSession, expire_on_commit=False)
    who = uuid.uuid4()
    async with factory() as session:
        rows = []
        for i in range(3):
            row = enqueue(
                session,
                recipient_kind="citizen",
                recipient_id=who,
                template="dossier.result_ready",
                params={"item_id": f"HS00000000{i}VN"},
            )
            row.created_at = START + timedelta(minutes=i)
            rows.append(row)
        # Someone else's notification and a reminder not due yet stay out of this inbox.
        enqueue(
            session,
            recipient_kind="citizen",
            recipient_id=uuid.uuid4(),
            template="dossier.result_ready",
            params={"item_id": "HS999999999VN"},
        )
        enqueue(
            session,
            recipient_kind="citizen",
            recipient_id=who,
            template="appointment.reminder_day_before",
            params=booked(),
            not_before=datetime.now(UTC) + timedelta(days=1),
        )
        await session.commit()
    async with factory() as session:
        items, total = await list_inbox(session, recipient_kind="citizen", recipient_id=who, limit=2)
        assert total == 3 and [i.id for i in items] == [rows[2].id, rows[1].id]
        assert await mark_read(session, recipient_kind="citizen", recipient_id=who, ids=[rows[2].id]) == 1
        # Another person cannot mark my notifications.
        assert (
            await mark_read(session, recipient_kind="citizen", recipient_id=uuid.uuid4(), ids=[rows[1].id])
            == 0
        )
        await session.commit()
    async with factory() as session:
        assert await unread_count(session, recipient_kind="citizen", recipient_id=who) == 2
        assert await mark_read(session, recipient_kind="citizen", recipient_id=who) == 2
        await session.commit()
        assert await unread_count(session, recipient_kind="citizen", recipient_id=who) == 0
