"""Item-id labels reserved ahead by couriers: a quota of unused labels, expiry, and unpredictable serials."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.custody.ids import claim_reserved, outstanding_labels
from backend.db import session_factory
from backend.lib.problems import Problem
from backend.reporting.importer import SERIAL_START
from backend.settings import get_settings
from schemas import s10
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.dossiers import ReservedItemId
from tests.api.test_reporting_import import HEADER, imported
from tests.api.test_reporting_import import setup as import_setup
from tests.conftest import staff_headers

URL = "/api/v1/couriers/me/item-ids"


async def _courier_id(engine: AsyncEngine, username: str) -> Any:
    async with session_factory(engine)() as session:
        return (
            await session.execute(select(StaffUser.id).where(StaffUser.username == username))
        ).scalar_one()


async def _expire_all(engine: AsyncEngine, courier_id: Any) -> None:
    """As if the courier's labels had all been reserved ITEM_ID_TTL_DAYS ago."""
    async with session_factory(engine)() as session:
        await session.execute(
            update(ReservedItemId)
            .where(col(ReservedItemId.courier_id) == courier_id, col(ReservedItemId.used_at).is_(None))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()


async def test_reserved_serials_are_not_sequential(client: httpx.AsyncClient) -> None:
    courier = await staff_headers(client, "courier18")
    labels: list[str] = []
    for _ in range(3):
        r = await client.post(URL, json={"count": 5}, headers=courier)
        assert r.status_code == 201, r.text
        labels += r.json()["item_ids"]
    assert all(s10.is_valid(i) and s10.parse(i).ours for i in labels) and len(set(labels)) == 15
    serials = [int(i[2:10]) for i in labels]
    assert not any(abs(b - a) < 1000 for a, b in zip(serials, serials[1:], strict=False)), serials
    assert all(s < 90_000_000 for s in serials)  # the imports' range is left alone
    # A label not used yet is not an item: public tracking says no more than for an id never issued.
    unused, never = (
        await client.get(f"/api/v1/track/{labels[0]}"),
        await client.get("/api/v1/track/HS123456785VN"),
    )
    assert unused.status_code == never.status_code == 404
    assert unused.json()["detail"].replace(labels[0], "X") == never.json()["detail"].replace(
        "HS123456785VN", "X"
    )


async def test_quota_of_unused_labels(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    limit = get_settings().item_id_max_outstanding
    courier = await staff_headers(client, "courier19")
    courier_id = await _courier_id(engine, "courier19")
    await _expire_all(engine, courier_id)
    r = await client.post(URL, json={"count": 101}, headers=courier)
    assert r.status_code == 400  # at most 100 a request
    got = 0
    while got < limit:
        r = await client.post(URL, json={"count": min(100, limit - got)}, headers=courier)
        assert r.status_code == 201, r.text
        got += len(r.json()["item_ids"])
        expires = r.json()["expires_at"]
    refused = await client.post(URL, json={"count": 1}, headers=courier)
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["type"].endswith("/item_id_quota") and body["outstanding"] == limit and body["available"] == 0
    assert refused.headers["content-type"].startswith("application/problem+json")
    # Labels that expired are released from the quota (and stay dead).
    assert expires > utcnow().isoformat()
    await _expire_all(engine, courier_id)
    assert (await client.post(URL, json={"count": 1}, headers=courier)).status_code == 201


async def test_an_expired_label_cannot_be_claimed(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    courier = await staff_headers(client, "courier20")
    courier_id = await _courier_id(engine, "courier20")
    labels = (await client.post(URL, json={"count": 2}, headers=courier)).json()["item_ids"]
    await _expire_all(engine, courier_id)
    async with session_factory(engine)() as session:
        try:
            await claim_reserved(session, courier_id, labels[0])
        except Problem as exc:
            assert exc.status_code == 409 and exc.code == "item_id_expired"
        else:
            raise AssertionError("an expired label was claimed")
        assert await outstanding_labels(session, courier_id, utcnow()) == 0
        # A pickup made offline before the label expired and synced after is still good.
        assert (
            await claim_reserved(session, courier_id, labels[1], at=utcnow() - timedelta(minutes=5))
            == labels[1]
        )
        await session.rollback()


async def test_concurrent_reservations_never_exceed_the_quota(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Twenty reservations of 20 at once against a quota of 200: ten get labels, ten a 409 (a race on
    PostgreSQL without the per-courier lock let all twenty count the same 0 outstanding)."""
    limit = get_settings().item_id_max_outstanding
    assert limit == 200
    courier = await staff_headers(client, "courier22")
    courier_id = await _courier_id(engine, "courier22")
    await _expire_all(engine, courier_id)
    answers = await asyncio.gather(
        *(client.post(URL, json={"count": 20}, headers=courier) for _ in range(20))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 10 + [409] * 10, [a.text for a in answers if a.status_code not in (201, 409)]
    async with session_factory(engine)() as session:
        assert await outstanding_labels(session, courier_id, utcnow()) == limit
    issued = [i for a in answers if a.status_code == 201 for i in a.json()["item_ids"]]
    assert len(set(issued)) == limit


async def test_imported_dossiers_get_scattered_serials(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Past dossiers imported from an old system are on the public tracking page too: their serials are drawn
    at random from the imports' range (they counted up from 90 000 000)."""
    desk, agency, p1, _p2, tag = await import_setup(engine)
    lines = [HEADER] + [
        f"{tag}-{n},{p1.code},{agency.code},direct,0,0,2023-06-01 09:00,2023-06-08,2023-06-05 09:00,"
        for n in range(20)
    ]
    admin = await staff_headers(client, "admin")
    files = {"file": ("old.csv", "\n".join(lines).encode(), "text/csv")}
    r = await client.post("/api/v1/reports/imports", files=files, data={"org": desk.code}, headers=admin)
    assert r.status_code == 201 and r.json()["imported"] == 20, r.text
    rows = await imported(engine, [f"{tag}-{n}" for n in range(20)])
    serials = sorted(int(s10.parse(d.item_id).serial) for d in rows)
    assert len(set(serials)) == 20 and all(SERIAL_START <= s <= 99_999_999 for s in serials)
    # Counted up, the gaps would all be 1. Drawn at random over ten million serials, two of twenty land within
    # 100 of each other once in ~250 runs, so one close pair is allowed; two happen once in ~100,000 runs.
    close = sum(b - a < 100 for a, b in zip(serials, serials[1:], strict=False))
    assert close <= 1 and serials[-1] - serials[0] > 1_000_000, serials
