"""A typed address is geocoded before the request opens a transaction (issue 17: on SQLite every transaction
holds the database's write lock, so a slow geocoder inside one stopped every other writer meanwhile)."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.booking import services
from backend.booking.geocoding import GeoPoint
from tests.api.test_booking_flow import PICKUP_CODE, free_windows, place_of
from tests.conftest import citizen_headers

PO = 4


class SlowGeocoder:
    """Answers one place, but only when the test says so."""

    def __init__(self, lat: float, lon: float) -> None:
        self.point = GeoPoint(lat, lon, "geocoder")
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()

    async def geocode(self, address: str) -> GeoPoint | None:
        self.asked.set()
        await self.answer.wait()
        return self.point


async def _another_write(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:  # BEGIN IMMEDIATE on SQLite: waits for the write lock
        await conn.execute(text("SELECT 1"))


@pytest.mark.parametrize("what", ["book", "slots"])
async def test_other_writers_go_on_while_an_address_is_geocoded(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine, what: str
) -> None:
    lat, lon = place_of(demo, PO)
    start = (await free_windows(client, lat, lon))[-1]
    h = await citizen_headers(client, "+84900000087")
    geocoder = SlowGeocoder(lat, lon)
    client.app.state.geocoder = geocoder  # type: ignore[attr-defined]
    services.invalidate_caches()  # a cold cache is read in the request's own transaction
    try:
        address = "Số 9, đường Thử Nghiệm, xã Mỹ Thọ"
        if what == "book":
            request = client.post(
                "/api/v1/appointments",
                json={"kind": "pickup", "start": start, "address": address, "procedure": PICKUP_CODE},
                headers={**h, "Idempotency-Key": f"geo-{uuid.uuid4().hex}"},
            )
        else:
            request = client.get(
                "/api/v1/slots", params={"kind": "pickup", "address": address, "procedure": PICKUP_CODE}
            )
        answer = asyncio.ensure_future(request)
        await asyncio.wait_for(geocoder.asked.wait(), 30)
        other = asyncio.ensure_future(_another_write(engine))
        done, _ = await asyncio.wait({other}, timeout=5)
        geocoder.answer.set()  # the geocoder answers only now
        r = await answer
        await other
        assert r.status_code in (200, 201), r.text
        assert done, "another writer waited for the geocoder"
    finally:
        client.app.state.geocoder = None  # type: ignore[attr-defined]
