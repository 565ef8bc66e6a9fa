"""Issue 20 polish: a return offer with no known address becomes ``unplaceable``: the citizen is asked for an
address (once, through the outbox, ``dossier.return_address_needed``), the dossier's history says so (``HTD``)
and the desk finds it in ``GET /dossiers?view=return_unplaceable``; the citizen's choice with a place books it."""

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.custody.services import return_offers
from backend.db import session_factory
from schemas.base import utcnow
from schemas.dossiers import Dossier, DossierEvent
from schemas.returns import ReturnOffer
from tests.api.loop_support import citizen, notes_of
from tests.api.test_custody_journey import office_commune_centre
from tests.api.test_loop_return_offer import _offer, _result_ready, _sweep
from tests.conftest import staff_headers

PHONE = "+84900000028"


async def _unplaceable(client: httpx.AsyncClient, desk: dict[str, str]) -> list[str]:
    r = await client.get(
        "/api/v1/dossiers", params={"view": "return_unplaceable", "limit": 200}, headers=desk
    )
    assert r.status_code == 200, r.text
    return [d["item_id"] for d in r.json()["items"]]


async def test_an_offer_with_no_address_asks_the_citizen_and_shows_at_the_desk(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    item = await _result_ready(client, demo, PHONE)
    offer = await _offer(engine, item)
    async with session_factory(engine)() as s:  # nowhere known to deliver to
        await s.exec(update(ReturnOffer).where(col(ReturnOffer.id) == offer.id).values(lat=None, lon=None))  # type: ignore[call-overload]
        await s.commit()
    desk = await staff_headers(client, "desk02")
    assert item not in await _unplaceable(client, desk)

    at = offer.answer_by + timedelta(seconds=1)
    await _sweep(engine, "sweeper", at)
    assert (await _offer(engine, item)).status == "unplaceable"
    asked = [n for n in await notes_of(engine, PHONE) if n.template == "dossier.return_address_needed"]
    assert len(asked) == 1
    assert item in asked[0].title_vi and asked[0].deep_link and "return-offer" in asked[0].deep_link
    assert asked[0].title_en.startswith("An address is needed")
    async with session_factory(engine)() as s:
        dossier = (await s.exec(select(Dossier).where(Dossier.item_id == item))).one()
        htd = (
            await s.exec(
                select(DossierEvent).where(DossierEvent.dossier_id == dossier.id, DossierEvent.code == "HTD")
            )
        ).all()
    assert len(htd) == 1 and htd[0].data["offer_id"] == str(offer.id)
    assert item in await _unplaceable(client, desk)
    # Not the desk of another office, nor a courier: the listing stays scoped.
    assert item not in await _unplaceable(client, await staff_headers(client, "desk05"))
    # A later sweep asks nothing more.
    await _sweep(engine, "again", at + timedelta(hours=2))
    notes = [n.template for n in await notes_of(engine, PHONE)]
    assert notes.count("dossier.return_address_needed") == 1

    # The citizen gives a place with a window: booked, and off the desk's list.
    me = await citizen(client, PHONE)
    lat, lon = await office_commune_centre(client, "courier01")
    async with session_factory(engine)() as s:  # the windows at that place (the app asks for the place first)
        windows = await return_offers.open_windows(s, lat, lon, utcnow())
    assert windows
    r = await client.post(
        f"/api/v1/dossiers/{item}/return-offer",
        json={"start": windows[0].start.isoformat(), "lat": lat, "lon": lon, "address": "Số 5, ấp Mới"},
        headers=me,
    )
    assert r.status_code in (200, 201), r.text
    assert (await _offer(engine, item)).status == "booked"
    assert item not in await _unplaceable(client, desk)
