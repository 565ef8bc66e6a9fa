"""A catalogue people edit (issue 23): procedures and versions by date, a province's postal eligibility reaching
booking checks at once, service areas changing which office lists windows, organisations, scope and events."""

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.catalogue import editing_changes, editing_store
from backend.db import session_factory
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.catalogue_edits import CatalogueEvent, ProcedureEligibility, ProcedureVersion
from tests.api.test_booking_flow import free_windows, place_of, slots
from tests.conftest import citizen_headers, staff_headers

BASIS = "Quyết định thử nghiệm 1/QĐ-UBND / test decision"


def at(delta: timedelta) -> str:
    return (utcnow() + delta).isoformat()


def new_code() -> str:
    return f"9.{uuid.uuid4().int % 10**6:06d}"


def procedure_body(code: str, **over: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": "Thủ tục thử nghiệm",
        "name_en": "Test procedure",
        "field": "Thử nghiệm",
        "level": "commune",
        "processing_days": 3,
        "documents": [{"id": "don", "name": "Đơn đề nghị", "original": True}],
        "fee_vnd": 0,
        "charge_vnd": 15000,
        "basis": BASIS,
        "effective_from": at(timedelta(0)),
        **over,
    }


async def create(client: httpx.AsyncClient, admin: dict[str, str], code: str, **over: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/catalogue/procedures", json=procedure_body(code, **over), headers=admin)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def book(
    client: httpx.AsyncClient, phone: str, lat: float, lon: float, start: str, code: str
) -> httpx.Response:
    h = await citizen_headers(client, phone)
    body = {"kind": "pickup", "start": start, "lat": lat, "lon": lon, "procedure": code}
    return await client.post("/api/v1/appointments", json=body, headers=h)


async def test_versions_by_date_never_edit_the_past(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    admin = await staff_headers(client, "admin")
    code = new_code()
    first = await create(client, admin, code)
    assert first["seq"] == 1 and first["effective_until"] is None
    r = await client.get(f"/api/v1/procedures/{code}")
    assert r.status_code == 200 and r.json()["processing_days"] == 3 and r.json()["charge"] == 15000
    r = await client.post("/api/v1/catalogue/procedures", json=procedure_body(code), headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "procedure_exists"

    later = utcnow() + timedelta(days=40)
    v2 = {**procedure_body(code), "processing_days": 10, "name": "Thủ tục thử nghiệm (sửa đổi)"}
    for k in ("code", "fee_vnd", "charge_vnd", "basis"):
        v2.pop(k)
    r = await client.post(
        f"/api/v1/catalogue/procedures/{code}/versions",
        json={**v2, "effective_from": later.isoformat()},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["seq"] == 2
    # the catalogue shows what is in force now; the future version waits for its day
    assert (await client.get(f"/api/v1/procedures/{code}")).json()["processing_days"] == 3
    r = await client.get(f"/api/v1/catalogue/procedures/{code}/versions", headers=admin)
    items = r.json()["items"]
    assert [i["seq"] for i in items] == [1, 2]
    assert datetime.fromisoformat(items[0]["effective_until"]) == later
    async with session_factory(engine)() as session:
        now_c = await editing_store.content_at(session, code, utcnow())
        then_c = await editing_store.content_at(session, code, later + timedelta(hours=1))
        before = await editing_store.content_at(session, code, later - timedelta(seconds=1))
    assert now_c and then_c and before
    assert now_c.get("processing_days") == 3 and before.get("processing_days") == 3
    assert then_c.get("processing_days") == 10 and then_c.seq == 2

    # overlapping or past versions are refused; bad input is a 4xx, nothing stored
    r = await client.post(
        f"/api/v1/catalogue/procedures/{code}/versions",
        json={**v2, "effective_from": (later - timedelta(days=1)).isoformat()},
        headers=admin,
    )
    assert r.status_code == 409 and r.json()["code"] == "catalogue_version_overlap"
    r = await client.post(
        f"/api/v1/catalogue/procedures/{code}/versions",
        json={**v2, "effective_from": at(-timedelta(days=1))},
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["code"] == "catalogue_version_in_past"
    for bad in (
        {**v2, "level": "district"},
        {**v2, "processing_days": -1},
        {**v2, "effective_from": "2030-01-01T00:00:00"},
    ):
        r = await client.post(f"/api/v1/catalogue/procedures/{code}/versions", json=bad, headers=admin)
        assert r.status_code in (400, 422), r.text
    r = await client.post(
        "/api/v1/catalogue/procedures/9.000000-x/versions",
        json={**v2, "effective_from": at(timedelta(days=50))},
        headers=admin,
    )
    assert r.status_code == 404
    assert (
        len(
            (await client.get(f"/api/v1/catalogue/procedures/{code}/versions", headers=admin)).json()["items"]
        )
        == 2
    )

    # the fee is the pricing's: a first fee version, not a copy
    fees = (
        await client.get("/api/v1/prices/procedure-fees", params={"procedure": code}, headers=admin)
    ).json()
    assert [(f["fee_vnd"], f["charge_vnd"]) for f in fees["items"]] == [(0, 15000)]

    async with session_factory(engine)() as session:
        events = (await session.exec(select(CatalogueEvent).where(CatalogueEvent.subject == code))).all()
    assert sorted(e.type for e in events) == ["procedure_created", "procedure_version"]
    assert all(e.actor_role == "admin" and e.actor_id and e.client_ip and e.at for e in events)


async def test_eligibility_per_province_reaches_booking_at_once(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    admin = await staff_headers(client, "admin")
    code = new_code()
    await create(client, admin, code)
    lat, lon = place_of(demo, 3)
    windows = await free_windows(client, lat, lon)
    assert len(windows) >= 4
    r = await book(client, "+84900000081", lat, lon, windows[0], code)
    assert r.status_code == 201, r.text

    province = demo.post_offices[3].province_code
    elig = {"province_code": province, "postal_pickup": False, "postal_return": True, "basis": BASIS}
    r = await client.post(
        f"/api/v1/catalogue/procedures/{code}/eligibility",
        json={**elig, "effective_from": at(timedelta(0))},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = await book(client, "+84900000082", lat, lon, windows[1], code)  # right after: refused
    assert r.status_code == 422 and r.json()["code"] == "procedure_not_postal", r.text

    # allowed again a moment later; then not from the day of a later window: the visit's day decides
    r = await client.post(
        f"/api/v1/catalogue/procedures/{code}/eligibility",
        json={**elig, "postal_pickup": True, "effective_from": at(timedelta(seconds=1))},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    await asyncio.sleep(1.2)
    late = windows[-1]
    cut = datetime.fromisoformat(late) - timedelta(minutes=1)
    assert cut > datetime.fromisoformat(windows[2])
    r = await client.post(
        f"/api/v1/catalogue/procedures/{code}/eligibility",
        json={**elig, "effective_from": cut.isoformat()},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = await book(client, "+84900000083", lat, lon, windows[2], code)
    assert r.status_code == 201, r.text
    r = await book(client, "+84900000084", lat, lon, late, code)
    assert r.status_code == 422 and r.json()["code"] == "procedure_not_postal"

    listed = (await client.get(f"/api/v1/catalogue/procedures/{code}/eligibility", headers=admin)).json()[
        "items"
    ]
    assert [i["postal_pickup"] for i in listed] == [False, True, False]
    assert listed[0]["effective_until"] == listed[1]["effective_from"]
    r = await client.post(
        f"/api/v1/catalogue/procedures/{code}/eligibility",
        json={**elig, "province_code": "00", "effective_from": at(timedelta(0))},
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_province"


async def test_provincial_admin_edits_only_its_province(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    admin = await staff_headers(client, "admin")
    username = "prov" + uuid.uuid4().hex[:8]
    password = "prov-" + uuid.uuid4().hex
    r = await client.post(
        "/api/v1/staff",
        json={"username": username, "full_name": "Quản trị tỉnh", "role": "admin", "password": password},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    async with session_factory(engine)() as session:
        user = (await session.exec(select(StaffUser).where(StaffUser.username == username))).one()
        user.province_code = "79"  # Hồ Chí Minh City, not the demo province
        session.add(user)
        await session.commit()
    r = await client.post("/api/v1/auth/staff/login", json={"username": username, "password": password})
    prov = {"Authorization": f"Bearer {r.json()['access_token']}"}
    code = new_code()
    await create(client, admin, code)
    elig = {
        "postal_pickup": False,
        "postal_return": False,
        "basis": BASIS,
        "effective_from": at(timedelta(0)),
    }
    r = await client.post(
        f"/api/v1/catalogue/procedures/{code}/eligibility", json={**elig, "province_code": "82"}, headers=prov
    )
    assert r.status_code == 403
    r = await client.post(
        f"/api/v1/catalogue/procedures/{code}/eligibility", json={**elig, "province_code": "79"}, headers=prov
    )
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/catalogue/procedures", json=procedure_body(new_code()), headers=prov)
    assert r.status_code == 403  # a procedure's content is national
    office = demo.post_offices[0].code
    r = await client.post(
        f"/api/v1/catalogue/organisations/{office}/changes",
        json={"name": "Không được đổi", "basis": BASIS, "effective_from": at(timedelta(0))},
        headers=prov,
    )
    assert r.status_code == 403
    for who in ("desk02", "dispatcher01", "agency01"):
        h = await staff_headers(client, who)
        r = await client.post(
            f"/api/v1/catalogue/procedures/{code}/eligibility",
            json={**elig, "province_code": "82"},
            headers=h,
        )
        assert r.status_code == 403


async def test_service_area_change_moves_slots(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    admin = await staff_headers(client, "admin")
    src, dst = demo.post_offices[11], demo.post_offices[10]
    src_list, dst_list = list(demo.served[src.id]), list(demo.served[dst.id])
    moved = src_list[-1]
    commune = next(c for c in demo.communes if c.code == moved)
    assert (await slots(client, commune.lat, commune.lon))["post_office"]["code"] == src.code

    body = {"communes": [*dst_list, moved], "basis": BASIS, "effective_from": at(timedelta(0))}
    r = await client.put(f"/api/v1/catalogue/post-offices/{dst.code}/service-area", json=body, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["applied_at"] is not None
    try:
        assert (await slots(client, commune.lat, commune.lon))["post_office"]["code"] == dst.code
        org = (await client.get(f"/api/v1/organisations/{src.code}")).json()
        assert moved not in org["served_communes"]
        # a change from a later day waits for it
        r = await client.put(
            f"/api/v1/catalogue/post-offices/{dst.code}/service-area",
            json={**body, "communes": dst_list, "effective_from": at(timedelta(days=3))},
            headers=admin,
        )
        assert r.status_code == 200 and r.json()["applied_at"] is None
        assert (await slots(client, commune.lat, commune.lon))["post_office"]["code"] == dst.code
        for bad in ({**body, "communes": ["99999999"]}, {**body, "effective_from": at(-timedelta(days=2))}):
            r = await client.put(
                f"/api/v1/catalogue/post-offices/{dst.code}/service-area", json=bad, headers=admin
            )
            assert r.status_code == 422, r.text
        r = await client.put(
            f"/api/v1/catalogue/post-offices/{demo.provincial_desk.code}/service-area",
            json=body,
            headers=admin,
        )
        assert r.status_code == 404
    finally:
        r = await client.put(
            f"/api/v1/catalogue/post-offices/{src.code}/service-area",
            json={"communes": src_list, "basis": BASIS, "effective_from": at(timedelta(0))},
            headers=admin,
        )
        assert r.status_code == 200, r.text
    assert (await slots(client, commune.lat, commune.lon))["post_office"]["code"] == src.code
    changes = (await client.get(f"/api/v1/catalogue/organisations/{dst.code}/changes", headers=admin)).json()
    assert len(changes) == 2 and changes[-1]["applied_at"] is None


async def test_organisations_create_rename_deactivate(client: httpx.AsyncClient, demo: Any) -> None:
    admin = await staff_headers(client, "admin")
    commune = demo.communes[5]
    code = "82-BD-T" + uuid.uuid4().hex[:4].upper()
    body = {
        "code": code,
        "kind": "post_office",
        "name": "Bưu cục thử nghiệm",
        "commune_code": commune.code,
        "lat": commune.lat,
        "lon": commune.lon,
    }
    r = await client.post("/api/v1/catalogue/organisations", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["active"] is True and r.json()["province_code"] == commune.province_code
    assert (await client.post("/api/v1/catalogue/organisations", json=body, headers=admin)).json()[
        "code"
    ] == ("organisation_exists")
    r = await client.post(
        "/api/v1/catalogue/organisations",
        json={**body, "code": code + "X", "commune_code": "0"},
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_commune"
    r = await client.post(
        f"/api/v1/catalogue/organisations/{code}/changes",
        json={"name": "Bưu cục thử nghiệm (mới)", "basis": BASIS, "effective_from": at(timedelta(0))},
        headers=admin,
    )
    assert r.status_code == 201 and r.json()["applied_at"] is not None
    assert (await client.get(f"/api/v1/organisations/{code}")).json()["name"] == "Bưu cục thử nghiệm (mới)"
    r = await client.post(
        f"/api/v1/catalogue/organisations/{code}/changes",
        json={"active": False, "basis": BASIS, "effective_from": at(timedelta(days=2))},
        headers=admin,
    )
    assert r.status_code == 201 and r.json()["applied_at"] is None
    r = await client.post(
        f"/api/v1/catalogue/organisations/{code}/changes",
        json={"basis": BASIS, "effective_from": at(timedelta(0))},
        headers=admin,
    )
    assert r.status_code == 422


async def test_broken_input_is_never_a_server_error(client: httpx.AsyncClient, demo: Any) -> None:
    admin = await staff_headers(client, "admin")
    office = demo.post_offices[0].code
    junk: list[Any] = [
        None,
        {},
        [],
        "x",
        {"effective_from": "0001-01-01T00:00:00+14:00", "basis": "abc"},
        {"effective_from": "9999-12-31T23:59:59-12:00", "basis": "abc", "communes": []},
        {**procedure_body("1/2"), "documents": [{"id": "a" * 5000, "name": "b"}]},
        {**procedure_body(new_code()), "processing_days": 1e308},
        {"province_code": "\u00e9" * 8, "postal_pickup": "maybe", "postal_return": 1, "basis": "abc"},
        {"communes": ["x" * 100] * 3, "basis": "abc", "effective_from": at(timedelta(0))},
    ]
    paths = [
        ("POST", "/api/v1/catalogue/procedures"),
        ("POST", "/api/v1/catalogue/procedures/%25%00/versions"),
        ("POST", f"/api/v1/catalogue/procedures/{'9' * 300}/versions"),
        ("POST", "/api/v1/catalogue/procedures/1.001193/eligibility"),
        ("POST", "/api/v1/catalogue/organisations"),
        ("POST", f"/api/v1/catalogue/organisations/{office}/changes"),
        ("PUT", f"/api/v1/catalogue/post-offices/{office}/service-area"),
    ]
    for method, path in paths:
        for body in junk:
            r = await client.request(method, path, json=body, headers=admin)
            assert r.status_code < 500, (method, path, body, r.text)
    for form in (
        {"effective_from": "2030-01-01T00:00:00"},
        {"effective_from": "yesterday"},
        {"dry_run": "perhaps"},
    ):
        r = await client.post(
            "/api/v1/catalogue/procedures/import",
            files={"file": ("a.csv", b"code,name\n1,2\n", "text/csv")},
            data=form,
            headers=admin,
        )
        assert 400 <= r.status_code < 500, (form, r.text)
    r = await client.post("/api/v1/catalogue/procedures/import", content=b"not multipart", headers=admin)
    assert 400 <= r.status_code < 500


async def test_a_dossier_is_checked_and_timed_by_the_version_of_its_day(
    client: httpx.AsyncClient, demo: Any
) -> None:
    admin = await staff_headers(client, "admin")
    desk = await staff_headers(client, "desk02")
    code = new_code()
    await create(client, admin, code, processing_days=3)
    v2 = {
        k: v
        for k, v in procedure_body(code, processing_days=20).items()
        if k not in ("code", "fee_vnd", "charge_vnd", "basis")
    }
    r = await client.post(
        f"/api/v1/catalogue/procedures/{code}/versions",
        json={**v2, "effective_from": at(timedelta(seconds=2))},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    body = {"channel": "direct", "procedure": code, "citizen_phone": "+84900000085", "postal_return": False}
    r = await client.post("/api/v1/dossiers", json=body, headers=desk)
    assert r.status_code == 201, r.text
    first_due = datetime.fromisoformat(r.json()["due_at"])
    await asyncio.sleep(2.2)
    r = await client.post("/api/v1/dossiers", json=body, headers=desk)
    assert r.status_code == 201, r.text
    second_due = datetime.fromisoformat(r.json()["due_at"])
    assert second_due - first_due >= timedelta(days=17)  # 20 working days against 3: the day's version counts

    r = await client.post(
        f"/api/v1/catalogue/procedures/{code}/eligibility",
        json={
            "province_code": demo.province.code,
            "postal_pickup": True,
            "postal_return": False,
            "basis": BASIS,
            "effective_from": at(timedelta(0)),
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/dossiers", json={**body, "postal_return": True}, headers=desk)
    assert r.status_code == 422 and r.json()["code"] == "postal_return_not_allowed", r.text


async def test_another_writer_reaches_this_process_at_once_on_postgresql(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    """A row written by another process (here: raw SQL, no code of ours told) drops the cached catalogue at once
    on PostgreSQL (trigger -> NOTIFY hoso_reference, migration 0023); SQLite keeps it until the TTL or a local
    edit."""
    admin = await staff_headers(client, "admin")
    code = new_code()
    await create(client, admin, code)
    province = demo.province.code
    async with session_factory(engine)() as session:
        assert await editing_store.postal_at(session, code, province, utcnow()) == (True, True)  # cached now
    row = ProcedureEligibility(
        procedure_code=code,
        province_code=province,
        postal_pickup=False,
        postal_return=False,
        basis=BASIS,
        effective_from=utcnow() - timedelta(seconds=1),
    )
    async with engine.begin() as conn:
        await conn.execute(ProcedureEligibility.__table__.insert().values(**row.model_dump()))  # type: ignore[attr-defined]

    async def seen() -> tuple[bool, bool]:
        async with session_factory(engine)() as session:
            return await editing_store.postal_at(session, code, province, utcnow())

    if engine.dialect.name == "postgresql":
        for _ in range(40):
            if await seen() == (False, False):
                break
            await asyncio.sleep(0.05)
        assert await seen() == (False, False)  # within 2 s, far inside the 10 s TTL: the notification did it
    else:
        assert await seen() == (True, True)  # no NOTIFY: still cached
        editing_store.changed()
        assert await seen() == (False, False)


async def test_a_version_coming_due_reaches_the_catalogue_row(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """The sweep (``editing_changes.apply_due``, run by the lifespan hook) shows a version on the catalogue row
    once its day has come; here the version was stored by another writer with a start already passed."""
    admin = await staff_headers(client, "admin")
    code = new_code()
    await create(client, admin, code)
    values = {k: v for k, v in procedure_body(code).items() if k in editing_store.CONTENT_FIELDS}
    row = ProcedureVersion(
        procedure_code=code,
        seq=2,
        source="admin",
        effective_from=utcnow(),  # after the first version's start, and passed by the sweep's time
        **{**values, "name": "Tên mới từ hôm nay", "processing_days": 7},
    )
    async with engine.begin() as conn:
        await conn.execute(ProcedureVersion.__table__.insert().values(**row.model_dump()))  # type: ignore[attr-defined]
    assert (await client.get(f"/api/v1/procedures/{code}")).json()["name"] == "Thủ tục thử nghiệm"
    async with session_factory(engine)() as session:
        assert await editing_changes.apply_due(session) >= 1
        await session.commit()
        assert await editing_changes.apply_due(session) == 0  # nothing left to apply
    editing_store.changed()
    shown = (await client.get(f"/api/v1/procedures/{code}")).json()
    assert (shown["name"], shown["processing_days"]) == ("Tên mới từ hôm nay", 7)
