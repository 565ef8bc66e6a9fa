"""A typed address goes through the configured geopy geocoder (a Nominatim look-alike on 127.0.0.1)."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from backend.booking.geocoding import GeopyGeocoder
from tests.conftest import citizen_headers
from tests.unit.test_booking_geocoding import KNOWN, server  # noqa: F401  (the fixture)


@pytest.fixture
def with_geocoder(client: httpx.AsyncClient, server: str) -> Iterator[None]:  # noqa: F811
    client.app.state.geocoder = GeopyGeocoder(server)  # type: ignore[attr-defined]
    yield
    client.app.state.geocoder = None  # type: ignore[attr-defined]


async def test_booking_with_a_typed_address(
    client: httpx.AsyncClient, demo: Any, with_geocoder: None
) -> None:
    address = next(iter(KNOWN))
    lat, lon, _ = KNOWN[address]
    r = await client.get("/api/v1/slots", params={"kind": "pickup", "address": address})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["place"] == {"lat": lat, "lon": lon, "source": "geocoder"}
    start = next(s["start"] for s in body["items"] if s["remaining"] > 0)
    h = await citizen_headers(client, "+84900000041")
    r = await client.post(
        "/api/v1/appointments",
        json={"kind": "pickup", "start": start, "address": address, "procedure": "1.004859"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["lat"], r.json()["lon"]) == (lat, lon) and r.json()["address"] == address
