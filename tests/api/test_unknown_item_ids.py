"""A delivery booking that names an item id no dossier has is refused (issue 20): a 404 problem, the same as
another citizen's dossier, whether the dossier table holds rows or none, and nothing is stored. Before, a
well-formed unknown id was booked while the table was empty."""

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.booking.services.draft import dossier_for_delivery
from backend.db import make_engine, session_factory
from backend.lib.problems import Problem
from backend.migrations import upgrade
from schemas import s10
from tests.api.test_booking_flow import counts, free_windows, place_of
from tests.conftest import citizen_headers


def _unknown_id() -> str:
    return s10.make("KQ", uuid.uuid4().int % 90_000_000 + 5_000_000)


async def test_a_delivery_booking_for_an_unknown_item_id_is_refused(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    lat, lon = place_of(demo, 9)
    start = (await free_windows(client, lat, lon, "delivery"))[0]
    headers = await citizen_headers(client, "+84920000079")
    before = await counts(engine)
    for dossier in (_unknown_id(), _unknown_id().lower()):
        r = await client.post(
            "/api/v1/appointments",
            json={"kind": "delivery", "start": start, "lat": lat, "lon": lon, "dossier": dossier},
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 404 and r.json()["code"] == "not_found", r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert await counts(engine) == before


async def test_an_unknown_item_id_is_refused_when_no_dossier_exists(tmp_path: Path) -> None:
    """A fresh database (migrated, no dossier at all): the booking's check refuses the id all the same."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session:
            with pytest.raises(Problem) as refused:
                await dossier_for_delivery(session, uuid.uuid4(), _unknown_id())
            assert refused.value.status_code == 404 and refused.value.code == "not_found"
            with pytest.raises(Problem) as anonymous:
                await dossier_for_delivery(session, None, _unknown_id())
            assert anonymous.value.status_code == 404
    finally:
        await engine.dispose()
