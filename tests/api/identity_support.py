"""Shared steps of the identity, authorised-person and recipient-check tests (issue 20).

They work at the demo's post office 82-BD-10 (index 9: dispatcher10, courier19 and courier20, its commune's
desk desk11 and People's Committee agency12) and with citizens +8492000007x, which no other test uses.
"""

import io
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from backend.db import session_factory
from schemas.account_events import AccountEvent
from schemas.attempts import CodeFailure
from schemas.identity import AuthorisedPerson
from tests.api.test_custody_journey import hand, pickup, png_bytes, status_of
from tests.conftest import citizen_headers, staff_headers

PO = 9
DISPATCHER, COURIER, OTHER_COURIER, DESK, AGENCY = (
    "dispatcher10",
    "courier19",
    "courier20",
    "desk11",
    "agency12",
)
OTHER_DESK = "desk03"  # another commune's desk: no task for these citizens


def vn_today() -> date:
    from schemas.base import utcnow
    from schemas.vntime import vn_date

    return vn_date(utcnow())


async def profile(client: httpx.AsyncClient, phone: str) -> dict[str, Any]:
    r = await client.get("/api/v1/citizens/me", headers=await citizen_headers(client, phone))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def set_national_id(client: httpx.AsyncClient, phone: str, number: str | None) -> httpx.Response:
    return await client.patch(
        "/api/v1/citizens/me", json={"national_id": number}, headers=await citizen_headers(client, phone)
    )


def form(**over: Any) -> dict[str, Any]:
    today = vn_today()
    body = {
        "full_name": "Nguyễn Văn Nam",
        "national_id": "087090004321",
        "relationship": "spouse",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=30)).isoformat(),
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


async def authorise(
    client: httpx.AsyncClient,
    phone: str,
    *,
    letter: bytes | None = None,
    with_letter: bool = True,
    **fields: Any,
) -> httpx.Response:
    """Register an authorised person (``form``'s fields, overridden by ``fields``; a PNG letter unless
    ``letter`` is given or ``with_letter`` is false)."""
    content = png_bytes() if letter is None else letter
    files = {"letter": ("letter.png", io.BytesIO(content), "image/png")} if with_letter else None
    return await client.post(
        "/api/v1/citizens/me/authorisations",
        data=form(**fields),
        files=files,
        headers=await citizen_headers(client, phone),
    )


async def to_the_desk(client: httpx.AsyncClient, demo: Any, phone: str) -> str:
    """A home pickup of ``phone``'s dossier by courier19, brought to desk11: its item id (at the desk)."""
    po = demo.post_offices[PO]
    item = str((await pickup(client, phone, COURIER))["item_id"])
    await hand(client, COURIER, DISPATCHER, po.code, [item])
    await hand(client, DISPATCHER, DESK, f"82-MC-{po.commune_code}", [item])
    return item


async def out_for_delivery(client: httpx.AsyncClient, demo: Any, phone: str) -> tuple[str, str]:
    """The whole way to the door: picked up, received, decided, the result back to the post office and
    handed to courier19 to deliver. Returns (the dossier's id, the result's id)."""
    po = demo.post_offices[PO]
    desk, agency = f"82-MC-{po.commune_code}", f"82-UB-{po.commune_code}"
    item = await to_the_desk(client, demo, phone)
    await hand(client, DESK, AGENCY, agency, [item])
    r = await client.post(
        f"/api/v1/dossiers/{item}/events",
        headers=await staff_headers(client, AGENCY),
        json={"code": "TKQ", "outcome": "approved", "agency_code": "UBX-ID-" + uuid.uuid4().hex[:6]},
    )
    assert r.status_code == 201, r.text
    await hand(client, AGENCY, DESK, desk, [item])
    result_id = str((await status_of(client, item, DESK))["result_item_id"])
    await hand(client, DESK, DISPATCHER, po.code, [result_id])
    await hand(client, DISPATCHER, COURIER, COURIER, [result_id])
    assert (await status_of(client, item, COURIER))["status"] == "out_for_delivery"
    return item, result_id


async def photo(client: httpx.AsyncClient, user: str) -> str:
    r = await client.post(
        "/api/v1/proofs",
        headers=await staff_headers(client, user),
        files={"file": ("p.png", io.BytesIO(png_bytes()), "image/png")},
        data={"kind": "photo"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def citizen_id(client: httpx.AsyncClient, phone: str) -> str:
    return str((await profile(client, phone))["id"])


async def account_events(engine: AsyncEngine, account_id: str) -> list[AccountEvent]:
    async with session_factory(engine)() as s:
        rows = await s.exec(
            select(AccountEvent)
            .where(AccountEvent.account_id == uuid.UUID(account_id))
            .order_by(col(AccountEvent.at))
        )
        return list(rows.all())


async def failures(engine: AsyncEngine, account_id: str, method: str) -> int:
    async with session_factory(engine)() as s:
        stmt = (
            select(func.count())
            .select_from(CodeFailure)
            .where(CodeFailure.citizen_id == uuid.UUID(account_id), CodeFailure.method == method)
        )
        return int((await s.exec(stmt)).one())


async def authorisation_count(engine: AsyncEngine, account_id: str) -> int:
    async with session_factory(engine)() as s:
        stmt = (
            select(func.count())
            .select_from(AuthorisedPerson)
            .where(AuthorisedPerson.citizen_id == uuid.UUID(account_id))
        )
        return int((await s.exec(stmt)).one())
