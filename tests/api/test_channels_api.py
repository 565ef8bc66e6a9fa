"""A citizen's notification channels over the API (issue 22): GET/PUT /citizens/me/channels, on SQLite and
PostgreSQL. Switching SMS off suppresses the caller's SMS not yet sent at once (and nobody else's), each change is an
account event with who, when and from where, and bad input is a 4xx problem."""

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.app import create_app
from backend.settings import Settings
from notifications.outbox import notification_row
from schemas.account_events import AccountEvent
from schemas.accounts import Citizen
from schemas.base import utcnow
from schemas.channels import ChannelDelivery, ChannelDeliveryEvent
from tests import openapi_check
from tests.conftest import citizen_headers, lifespan, staff_headers

D = ChannelDelivery.__table__  # type: ignore[attr-defined]
E = ChannelDeliveryEvent.__table__  # type: ignore[attr-defined]


async def _waiting_sms(engine: AsyncEngine, citizen: uuid.UUID) -> uuid.UUID:
    """A notice of ``citizen`` whose SMS waits (e.g. for 07:00)."""
    row = notification_row(
        recipient_kind="citizen",
        recipient_id=citizen,
        template="dossier.result_ready",
        params={"item_id": "EA1VN"},
    )
    row.update(status="skipped")
    delivery = uuid.uuid4()
    now = utcnow()
    async with engine.begin() as conn:
        await conn.execute(ChannelDelivery.metadata.tables["notification"].insert(), [row])
        await conn.execute(
            D.insert(),
            [
                {
                    "id": delivery,
                    "notification_id": row["id"],
                    "channel": "sms",
                    "recipient_id": citizen,
                    "template": "dossier.result_ready",
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now + timedelta(hours=8),
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
    return delivery


async def _status(engine: AsyncEngine, delivery: uuid.UUID) -> str:
    async with engine.connect() as conn:
        return str((await conn.execute(select(D.c.status).where(D.c.id == delivery))).scalar_one())


async def test_channels_default_on_and_opt_out_suppresses_at_once(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    me = await citizen_headers(client, "+84900000081")
    other = await citizen_headers(client, "+84900000082")
    my_id = uuid.UUID((await client.get("/api/v1/me", headers=me)).json()["id"])
    other_id = uuid.UUID((await client.get("/api/v1/me", headers=other)).json()["id"])
    r = await client.get("/api/v1/citizens/me/channels", headers=me)
    assert r.status_code == 200, r.text
    assert {c["channel"]: c["enabled"] for c in r.json()["channels"]} == {
        "push": True,
        "sms": True,
        "zns": True,
    }
    assert r.json()["note_vi"] and r.json()["note_en"]

    mine, theirs = await _waiting_sms(engine, my_id), await _waiting_sms(engine, other_id)
    r = await client.put(
        "/api/v1/citizens/me/channels", json={"choices": [{"channel": "sms", "enabled": False}]}, headers=me
    )
    assert r.status_code == 200, r.text
    assert {c["channel"]: c["enabled"] for c in r.json()["channels"]} == {
        "push": True,
        "sms": False,
        "zns": True,
    }
    assert await _status(engine, mine) == "suppressed"
    assert await _status(engine, theirs) == "pending"  # another citizen's choice is theirs
    async with engine.connect() as conn:
        ev = (
            await conn.execute(select(E.c.status, E.c.source, E.c.actor).where(E.c.delivery_id == mine))
        ).all()
        assert [(s, src) for s, src, _ in ev] == [("suppressed", "opt_out")] and ev[0][
            2
        ] == f"citizen:{my_id}"
        changes = (
            await conn.execute(
                select(AccountEvent.__table__.c.code, AccountEvent.__table__.c.data).where(  # type: ignore[attr-defined]
                    AccountEvent.__table__.c.account_id == my_id  # type: ignore[attr-defined]
                )
            )
        ).all()
    assert [(c, d["channels"]) for c, d in changes if c == "channels_changed"] == [
        ("channels_changed", {"sms": False})
    ]

    # Idempotent: the same again changes nothing and records nothing more; switching back on is recorded.
    r = await client.put(
        "/api/v1/citizens/me/channels", json={"choices": [{"channel": "sms", "enabled": False}]}, headers=me
    )
    assert r.status_code == 200
    r = await client.put(
        "/api/v1/citizens/me/channels", json={"choices": [{"channel": "sms", "enabled": True}]}, headers=me
    )
    assert {c["channel"]: c["enabled"] for c in r.json()["channels"]}["sms"] is True
    async with engine.connect() as conn:
        codes = (
            await conn.execute(
                select(AccountEvent.__table__.c.code).where(  # type: ignore[attr-defined]
                    AccountEvent.__table__.c.account_id == my_id,  # type: ignore[attr-defined]
                    AccountEvent.__table__.c.code == "channels_changed",  # type: ignore[attr-defined]
                )
            )
        ).all()
    assert len(codes) == 2
    assert await _status(engine, mine) == "suppressed"  # a suppressed message stays suppressed


async def test_bad_channel_input_is_a_problem_and_staff_are_refused(client: httpx.AsyncClient) -> None:
    me = await citizen_headers(client, "+84900000083")
    for body in (
        {"choices": [{"channel": "fax", "enabled": False}]},
        {"choices": [{"channel": "sms"}]},
        {"choices": "sms"},
        {},
    ):
        r = await client.put("/api/v1/citizens/me/channels", json=body, headers=me)
        assert 400 <= r.status_code < 500, (body, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")
    staff = await staff_headers(client, "courier03")
    assert (await client.get("/api/v1/citizens/me/channels", headers=staff)).status_code == 403
    assert (await client.get("/api/v1/citizens/me/channels")).status_code == 401


async def test_esms_reports_move_a_notice_sms_forward_only(engine: AsyncEngine) -> None:
    """eSMS's callback for a notice's SMS (not a sign-in code): found by SMSID or by our RequestId, forward only."""
    token = "r" * 32
    settings = Settings(database_url=str(engine.url), sms_callback_token=token, run_dispatcher=False)
    app = create_app(settings, engine=engine)
    async with engine.begin() as conn:
        citizen = uuid.uuid4()
        await conn.execute(
            Citizen.__table__.insert(),  # type: ignore[attr-defined]
            [{"id": citizen, "phone": f"+8497{uuid.uuid4().int % 10_000_000:07d}", "created_at": utcnow()}],
        )
    delivery = await _waiting_sms(engine, citizen)
    sms_id = uuid.uuid4().hex + "250"
    async with engine.begin() as conn:
        await conn.execute(
            D.update()
            .where(D.c.id == delivery)
            .values(status="sent", provider="esms", provider_message_id=sms_id)
        )
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        hooks = openapi_check.response_hooks(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", event_hooks=hooks) as c:
            url = f"/api/v1/sms/reports/esms/{token}"
            done = {
                "SMSID": sms_id,
                "SendStatus": "5",
                "SendSuccess": "1",
                "SendFailed": "0",
                "Totalprice": "500",
            }
            r = await c.get(url, params=done)
            assert r.status_code == 200, r.text
            assert r.json() == {"message_id": sms_id, "status": "delivered", "changed": True}
            r = await c.get(url, params={"SMSID": sms_id, "SendStatus": "2"})  # interim, late
            assert r.json() == {"message_id": sms_id, "status": "delivered", "changed": False}
            r = await c.get(url, params={"SMSID": "other", "RequestId": delivery.hex, "SendStatus": "4"})
            assert r.json()["changed"] is False  # found by our RequestId; a final status stays
            assert (await c.get(url, params={"SMSID": "nobody", "SendStatus": "5"})).status_code == 404
            assert (await c.get(f"/api/v1/sms/reports/esms/{'x' * 32}", params=done)).status_code == 403
    assert await _status(engine, delivery) == "delivered"
    async with engine.connect() as conn:
        cost = (await conn.execute(select(D.c.cost_vnd).where(D.c.id == delivery))).scalar_one()
        ev = (
            await conn.execute(select(E.c.status, E.c.source, E.c.actor).where(E.c.delivery_id == delivery))
        ).all()
    assert cost == 500 and [tuple(e) for e in ev] == [("delivered", "report", "esms")]
