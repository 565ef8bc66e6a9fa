"""A reminder already claimed by a dispatcher when its appointment is cancelled is not sent (issue 17)."""

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications.dispatcher import Claimed, Dispatcher
from notifications.push import Outcome, PushMessage, PushResult
from schemas.notifications import Notification
from tests.api.test_booking_flow import free_windows, pickup, place_of
from tests.conftest import citizen_headers
from tests.notifications.support import add_devices

N = Notification.__table__  # type: ignore[attr-defined]


class Recording:
    """A push sender that accepts everything and remembers what it was given."""

    enabled = True

    def __init__(self) -> None:
        self.messages: list[PushMessage] = []

    async def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        self.messages.extend(messages)
        return [PushResult(m.token, Outcome.sent, message_id=f"m-{len(self.messages)}") for m in messages]

    async def aclose(self) -> None:
        return None


async def test_a_reminder_claimed_before_a_cancellation_is_not_sent(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    lat, lon = place_of(demo, 9)
    windows = await free_windows(client, lat, lon)
    h = await citizen_headers(client, "+84900000086")
    r = await client.post("/api/v1/appointments", json=pickup(lat, lon, windows[-1]), headers=h)
    assert r.status_code == 201, r.text
    appt = r.json()
    async with engine.connect() as conn:
        reminders = (
            await conn.execute(
                select(N.c.id, N.c.recipient_id, N.c.next_attempt_at).where(
                    N.c.dedupe_key.like(f"appt:{appt['id']}:%:remind%")
                )
            )
        ).all()
    assert len(reminders) == 2
    await add_devices(engine, [("citizen", reminders[0].recipient_id, f"tok-{uuid.uuid4().hex}", "android")])
    due = max(row.next_attempt_at for row in reminders) + timedelta(minutes=1)
    cancelled: list[int] = []

    class CancelledMeanwhile(Dispatcher):
        """Claims the reminders, then the citizen cancels before the push goes out."""

        async def _lookup(self, rows: list[Claimed]) -> Any:
            found = await super()._lookup(rows)
            if not cancelled:
                c = await client.post(
                    f"/api/v1/appointments/{appt['id']}/cancel", json={"reason": "Không cần nữa"}, headers=h
                )
                cancelled.append(c.status_code)
            return found

    sender = Recording()
    dispatcher = CancelledMeanwhile(engine, sender, "w-reminders", clock=lambda: due, batch_size=100_000)
    assert await dispatcher.run_once() >= 2
    assert cancelled == [200]
    mine = {row.id for row in reminders}
    assert not [m for m in sender.messages if m.notification_id in mine]
    async with engine.connect() as conn:
        left = (await conn.execute(select(N.c.id).where(N.c.id.in_(mine)))).all()
    assert left == []  # withdrawn with the cancellation
