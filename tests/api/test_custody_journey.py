"""End to end: citizen -> courier -> post office -> desk -> agency -> result -> post office -> courier -> citizen."""

import io
import struct
import zlib
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.db import session_factory
from schemas import s10
from schemas.dossiers import Dossier
from schemas.notifications import Notification
from tests.conftest import citizen_headers, staff_headers

PROCEDURE = "1.004873"  # commune level, 3 working days, postal pickup and return allowed
PHONE = "+84900000061"


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x00\xff\xff\xff"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def upload(client: httpx.AsyncClient, headers: dict[str, str], kind: str = "photo") -> str:
    r = await client.post(
        "/api/v1/proofs",
        headers=headers,
        files={"file": ("p.png", io.BytesIO(png_bytes()), "image/png")},
        data={"kind": kind},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def all_documents(client: httpx.AsyncClient, code: str = PROCEDURE) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/procedures/{code}")
    assert r.status_code == 200
    return [{"id": d["id"], "provided": True, "original": True} for d in r.json()["documents"]]


_homes: dict[tuple[str, str], tuple[float, float]] = {}


async def office_commune_centre(client: httpx.AsyncClient, courier: str) -> tuple[float, float]:
    """The centroid of the commune where the courier's post office stands (a home there files at that
    commune's desk)."""
    key = (str(client.base_url), courier)
    if key not in _homes:
        me = (await client.get("/api/v1/me", headers=await staff_headers(client, courier))).json()
        org = (await client.get(f"/api/v1/organisations/{me['organisation_code']}")).json()
        communes = (
            await client.get("/api/v1/units/communes", params={"province": org["province_code"]})
        ).json()
        home = next(c for c in communes["items"] if c["code"] == org["commune_code"])
        _homes[key] = (home["lat"], home["lon"])
    return _homes[key]


async def pickup(
    client: httpx.AsyncClient, phone: str, courier: str = "courier01", **extra: Any
) -> dict[str, Any]:
    lat, lon = await office_commune_centre(client, courier)
    citizen = await citizen_headers(client, phone)
    code = (await client.get("/api/v1/handover-code", headers=citizen)).json()["code"]
    body = {
        "procedure": PROCEDURE,
        "channel": "home_pickup",
        "citizen_phone": phone,
        "documents": await all_documents(client),
        "seal_number": "SEAL-0001",
        "fee_collected": 25000,
        "receipt_number": "BL-1",
        "confirmation": {"method": "code", "code": code},
        "place": "tại nhà công dân",
        "lat": lat,
        "lon": lon,
        **extra,
    }
    r = await client.post("/api/v1/dossiers", json=body, headers=await staff_headers(client, courier))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def hand(
    client: httpx.AsyncClient, sender: str, receiver_user: str, to: str, items: list[str]
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/handovers", json={"to": to, "items": items}, headers=await staff_headers(client, sender)
    )
    assert r.status_code == 201, r.text
    h = r.json()
    r = await client.post(
        f"/api/v1/handovers/{h['id']}/confirm",
        json={"scanned": items},
        headers=await staff_headers(client, receiver_user),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed"
    return dict(r.json())


async def status_of(client: httpx.AsyncClient, item_id: str, user: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/dossiers/{item_id}", headers=await staff_headers(client, user))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_full_journey(client: httpx.AsyncClient, demo: Any, engine: AsyncEngine) -> None:
    po = demo.post_offices[0]
    desk_code = f"82-MC-{po.commune_code}"
    agency_code = f"82-UB-{po.commune_code}"
    created = await pickup(client, PHONE)
    item = created["item_id"]
    assert s10.is_valid(item) and item.startswith("HS") and item.endswith("VN")
    assert created["status"] == "collected" and created["custodian"]["kind"] == "courier"
    assert created["desk"] == desk_code and created["pickup"]["seal_number"] == "SEAL-0001"

    await hand(client, "courier01", "dispatcher01", po.code, [item])
    assert (await status_of(client, item, "dispatcher01"))["status"] == "at_post_office"

    await hand(client, "dispatcher01", "desk02", desk_code, [item])
    d = await status_of(client, item, "desk02")
    assert d["status"] == "received" and d["portal_status"] == 2
    assert d["due_at"] is not None and d["timeliness"] == "within"
    assert [e["code"] for e in d["events"]] == ["EMA", "EMB", "EMC", "TNH"]

    await hand(client, "desk02", "agency03", agency_code, [item])
    assert (await status_of(client, item, "agency03"))["status"] == "processing"

    agency = await staff_headers(client, "agency03")
    r = await client.post(
        f"/api/v1/dossiers/{item}/events",
        headers=agency,
        json={"code": "TBS", "missing_documents": ["Bản sao sổ hộ khẩu"]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["paused_at"] is not None and r.json()["portal_status"] == 5
    r = await client.post(
        f"/api/v1/dossiers/{item}/events", headers=agency, json={"code": "TKQ", "outcome": "approved"}
    )
    assert r.status_code == 409
    assert r.json()["allowed"] == ["TNB", "TRH"]
    r = await client.post(f"/api/v1/dossiers/{item}/events", headers=agency, json={"code": "TNB"})
    assert r.status_code == 201 and r.json()["paused_at"] is None
    r = await client.post(
        f"/api/v1/dossiers/{item}/events",
        headers=agency,
        json={"code": "TKQ", "outcome": "approved", "agency_code": "UBX-2026-0001"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["timeliness"] in {"early", "on_time"}

    await hand(client, "agency03", "desk02", desk_code, [item])
    d = await status_of(client, item, "desk02")
    assert d["status"] == "result_ready"
    result_id = d["result_item_id"]
    assert s10.is_valid(result_id) and result_id.startswith("KQ")

    await hand(client, "desk02", "dispatcher01", po.code, [result_id])
    assert (await status_of(client, result_id, "dispatcher01"))["status"] == "result_at_post_office"
    await hand(client, "dispatcher01", "courier01", "courier01", [result_id])
    assert (await status_of(client, item, "courier01"))["status"] == "out_for_delivery"

    courier = await staff_headers(client, "courier01")
    citizen = await citizen_headers(client, PHONE)
    code = (await client.get("/api/v1/handover-code", headers=citizen)).json()["code"]
    wrong = "000000" if code != "000000" else "111111"
    photo = await upload(client, courier)
    r = await client.post(
        f"/api/v1/dossiers/{result_id}/events",
        headers=courier,
        json={"code": "EMI", "recipient": {"method": "code", "code": wrong}, "proof_id": photo},
    )
    assert r.status_code == 422 and r.json()["type"].endswith("recipient_check_failed")
    r = await client.post(
        f"/api/v1/dossiers/{result_id}/events",
        headers=courier,
        json={"code": "EMI", "recipient": {"method": "code", "code": code}, "proof_id": photo},
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "delivered" and r.json()["portal_status"] == 10

    mine = await client.get(f"/api/v1/dossiers/{item}", headers=citizen)
    assert mine.status_code == 200
    body = mine.json()
    assert body["returned_at"] is not None and body["result"]["recipient_check"] == "code"
    kinds = [c["kind"] for c in body["custody"]]
    assert kinds == ["courier", "post_office", "desk", "agency", "desk", "post_office", "courier", "citizen"]

    track = await client.get(f"/api/v1/track/{item}")
    assert track.status_code == 200
    text = track.text
    assert PHONE not in text and "tại nhà công dân" not in text and "SEAL-0001" not in text
    assert track.json()["status"] == "delivered"
    assert [e["code"] for e in track.json()["timeline"]][:2] == ["EMA", "EMB"]

    async with session_factory(engine)() as s:
        dossier = (await s.exec(select(Dossier).where(Dossier.item_id == item))).one()
        notes = (
            await s.exec(select(Notification.template).where(Notification.recipient_id == dossier.citizen_id))
        ).all()
    for key in (
        "dossier.picked_up",
        "dossier.handed_to_agency",
        "dossier.supplement_requested",
        "dossier.result_ready",
        "dossier.out_for_delivery",
        "dossier.delivered",
    ):
        assert key in notes, key
    assert dossier.received_at is not None and dossier.resolved_at is not None


async def test_a_commune_dossier_goes_to_the_desk_of_the_citizens_commune(
    client: httpx.AsyncClient, demo: Any
) -> None:
    """The post office serves several communes; the dossier is received where the citizen lives."""
    po = demo.post_offices[0]
    other = next(code for code in demo.served[po.id] if code != po.commune_code)
    home = next(c for c in demo.communes if c.code == other)
    created = await pickup(client, "+84900000062", lat=home.lat, lon=home.lon)
    assert created["desk"] == f"82-MC-{other}"
    own = await pickup(client, "+84900000063")  # a place in the post office's own commune
    assert own["desk"] == f"82-MC-{po.commune_code}"
