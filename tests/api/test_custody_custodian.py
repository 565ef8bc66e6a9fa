"""Issue 17, item 10: a late (offline-synced) event about a dossier is accepted only from whoever held it at the
event's time per the chain of custody. A former custodian cannot write into a stretch when someone else held
it (such events show on /track); an event stamped while the caller held it and synced later still counts."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from schemas.base import utcnow
from schemas.dossiers import Dossier, DossierEvent
from tests.api.test_custody_journey import hand
from tests.api.test_custody_journey import pickup as home_pickup
from tests.conftest import staff_headers

PHONE = "+84900000078"


async def spread_history(engine: AsyncEngine, item_id: str, times: list[datetime]) -> None:
    """Give the dossier's live events (in seq order) these times, as if the day had passed."""
    async with session_factory(engine)() as session:
        dossier = (await session.exec(select(Dossier).where(Dossier.item_id == item_id))).one()
        events = (
            await session.exec(
                select(DossierEvent)
                .where(DossierEvent.dossier_id == dossier.id)
                .order_by(col(DossierEvent.seq))
            )
        ).all()
        assert len(events) == len(times), [e.code for e in events]
        for e, t in zip(events, times, strict=True):
            await session.execute(
                update(DossierEvent).where(col(DossierEvent.id) == e.id).values(at=t, client_at=None)
            )
        await session.commit()


async def late(client: httpx.AsyncClient, who: str, item_id: str, at: datetime) -> dict[str, Any]:
    body = {
        "events": [
            {
                "client_event_id": f"late-{uuid.uuid4().hex[:12]}",
                "item_id": item_id,
                "code": "EMB",
                "client_at": at.isoformat(),
            }
        ]
    }
    r = await client.post("/api/v1/events/batch", json=body, headers=await staff_headers(client, who))
    assert r.status_code == 200, r.text
    return dict(r.json()["results"][0])


async def test_only_the_holder_at_the_time_may_add_late_events(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    item = (await home_pickup(client, PHONE, courier="courier01"))["item_id"]
    # courier01 hands the bag to courier02 (same post office), who brings it to the post office.
    await hand(client, "courier01", "courier02", "courier02", [item])
    await hand(client, "courier02", "dispatcher01", demo.post_offices[0].code, [item])
    now = utcnow()
    # Collected by courier01 at -4h, carried by courier02 from -3h, at the post office from -2h.
    await spread_history(
        engine, item, [now - timedelta(hours=4), now - timedelta(hours=3), now - timedelta(hours=2)]
    )

    # courier01 no longer held it at -150 min: a late "arrived" stamped then is refused, nothing stored.
    r = await late(client, "courier01", item, now - timedelta(minutes=150))
    assert not r["accepted"] and r["error"] == "not_custodian_then", r
    # A courier who never touched it learns nothing.
    r = await late(client, "courier05", item, now - timedelta(minutes=150))
    assert not r["accepted"] and r["error"] == "not_found", r

    # courier02 carried it at -150 min: the event synced late is still accepted, in its place in history.
    r = await late(client, "courier02", item, now - timedelta(minutes=150))
    assert r["accepted"] and r["historical"], r
    # And courier01's own stretch (-4h to -3h) is theirs to fill in.
    r = await late(client, "courier01", item, now - timedelta(minutes=210))
    assert r["accepted"] and r["historical"], r

    track = (await client.get(f"/api/v1/track/{item}")).json()
    assert track["status"] == "at_post_office"

    # A live event with a time in the past: from the holder then, fine (the post office, -90 min) ...
    url = f"/api/v1/dossiers/{item}/events"
    dispatcher = await staff_headers(client, "dispatcher01")
    r = await client.post(
        url, json={"code": "EMC", "client_at": (now - timedelta(minutes=90)).isoformat()}, headers=dispatcher
    )
    assert r.status_code == 201, r.text
    # ... but the next holder, the desk, cannot backdate one into courier02's stretch (-150 min).
    desk_org = next(o for o in demo.commune_desks.values() if o.code == r.json()["desk"])
    desk_user = next(
        u for u, st in demo.staff.items() if st.organisation_id == desk_org.id and st.role == "desk"
    )
    await hand(client, "dispatcher01", desk_user, desk_org.code, [item])
    desk = await staff_headers(client, desk_user)
    r = await client.post(
        url,
        json={"code": "TKN", "reason": "x", "client_at": (now - timedelta(minutes=150)).isoformat()},
        headers=desk,
    )
    assert r.status_code == 403 and r.json()["type"].endswith("not_custodian_then"), r.text
    assert (await client.get(f"/api/v1/track/{item}")).json()["status"] == "received"
