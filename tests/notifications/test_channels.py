# ruff: noqa: F811  (pytest fixtures imported from channels_fixtures, then named as parameters)
"""The channel policy through the outbox (issue 22) against a loopback eSMS gateway and a loopback Zalo on
127.0.0.1, on SQLite and PostgreSQL: no-device and not-opened fallbacks, Zalo before SMS and SMS after a Zalo
refusal, opt-out (suppressed at once), quiet hours, cost recorded, 429 with Retry-After shared by dispatchers,
a provider down for a minute (the test clock moves, nothing sleeps), giving up after N attempts, delivery reports
out of order."""

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.fakes.esms_server import FakeEsms
from bench.fakes.fcm_server import FakeFcm
from bench.fakes.zns_server import FakeZalo
from notifications.channels import store
from notifications.channels.ratelimit import R
from notifications.channels.senders import ChannelSender
from notifications.dispatcher import Dispatcher
from notifications.push import FcmSender
from schemas.channels import DeliveryStatus, NoticeChannel
from schemas.notifications import Notification
from schemas.vntime import VN_TZ
from tests.notifications.channels_fixtures import (  # noqa: F401 (fixtures)
    D,
    add_citizen,
    add_notice,
    cdb,
    channels_url,
    config,
    deliveries,
    dispatcher,
    esms,
    events,
    mark_read,
    pg_channels_url,
    sms_channel,
    switch_off,
    vn_clock,
    zalo,
    zns_channel,
)
from tests.notifications.support import add_devices, make_engine

PHONE = "+84912345678"
N = Notification.__table__  # type: ignore[attr-defined]


async def test_no_device_falls_back_to_sms_with_cost_and_events(cdb: AsyncEngine, esms: FakeEsms) -> None:
    cfg = config()
    clock = vn_clock(10)
    citizen = await add_citizen(cdb, PHONE)
    nid = await add_notice(cdb, citizen, push="skipped")
    d = dispatcher(cdb, {NoticeChannel.sms: sms_channel(esms, cfg)}, cfg, clock)
    await d.run_once()
    rows = await deliveries(cdb)
    by = {r["channel"]: r for r in rows}
    # ZNS has no sender here: recorded skipped, and SMS sent.
    assert by["zns"]["status"] == "skipped" and by["zns"]["notification_id"] == nid
    sms = by["sms"]
    assert sms["status"] == "sent" and sms["provider"] == "esms"
    assert len(esms.sent) == 1
    msg = esms.sent[0]
    assert msg.phone == "0912345678" and msg.request_id == sms["id"].hex and msg.unicode == "0"
    assert "ket qua ho so EA123456789VN" in msg.content  # unaccented for GSM-7
    assert sms["provider_message_id"] == msg.sms_id
    assert sms["segments"] == 1 and sms["cost_vnd"] == 450
    assert await events(cdb, sms["id"]) == [("pending", "plan"), ("sent", "dispatch")]
    # Nothing more happens on later passes: each (notification, channel) is sent at most once.
    clock.advance(hours=2)
    await d.run_once()
    assert len(esms.sent) == 1 and len(await deliveries(cdb)) == 2


async def test_zalo_first_then_sms_when_zalo_refuses(
    cdb: AsyncEngine, esms: FakeEsms, zalo: FakeZalo
) -> None:
    cfg = config(available=frozenset(NoticeChannel))
    clock = vn_clock(9)
    on_zalo = await add_citizen(cdb, "+84912000001")
    blocked = await add_citizen(cdb, "+84912000002")
    zalo.blocked.add("84912000002")  # this user refuses ZNS: -114, fatal
    await add_notice(cdb, on_zalo, push="failed")
    await add_notice(cdb, blocked, push="failed")
    senders: dict[NoticeChannel, ChannelSender] = {
        NoticeChannel.sms: sms_channel(esms, cfg),
        NoticeChannel.zns: zns_channel(cdb, zalo, cfg),
    }
    d = dispatcher(cdb, senders, cfg, clock)
    await d.run_once()  # ZNS to both: one taken, one refused
    await d.run_once()  # the refused one moves on to SMS
    rows = {(r["recipient_id"], r["channel"]): r for r in await deliveries(cdb)}
    assert rows[(on_zalo, "zns")]["status"] == "sent" and rows[(on_zalo, "zns")]["cost_vnd"] == 300
    assert (on_zalo, "sms") not in rows
    assert rows[(blocked, "zns")]["status"] == "failed"
    assert rows[(blocked, "sms")]["status"] == "sent"
    assert [s.phone for s in zalo.sent] == ["84912000001"]
    assert list(zalo.sent[0].template_data.values()) == ["EA123456789VN"]
    assert [s.phone for s in esms.sent] == ["0912000002"]


async def test_not_opened_in_time_goes_by_sms_unless_read(cdb: AsyncEngine, esms: FakeEsms) -> None:
    cfg = config()
    clock = vn_clock(11)
    citizen = await add_citizen(cdb, PHONE)
    pushed_at = clock.now
    unread = await add_notice(cdb, citizen, "dossier.result_ready", push="sent", sent_at=pushed_at)
    read = await add_notice(cdb, citizen, "dossier.supplement_requested", push="sent", sent_at=pushed_at)
    minor = await add_notice(cdb, citizen, "dossier.picked_up", push="sent", sent_at=pushed_at)
    d = dispatcher(cdb, {NoticeChannel.sms: sms_channel(esms, cfg)}, cfg, clock)
    clock.advance(minutes=29)
    await d.run_once()
    assert await deliveries(cdb) == [] and esms.sent == []
    await mark_read(cdb, read, clock.now)
    clock.advance(minutes=2)
    await d.run_once()
    rows = await deliveries(cdb)
    assert {r["notification_id"] for r in rows} == {unread}  # read, and a kind that does not matter: no SMS
    assert {r["channel"]: r["status"] for r in rows} == {"zns": "skipped", "sms": "sent"}
    assert minor not in {r["notification_id"] for r in rows}
    assert len(esms.sent) == 1


async def test_quiet_hours_wait_for_seven(cdb: AsyncEngine, esms: FakeEsms) -> None:
    cfg = config()
    clock = vn_clock(22, 15)
    citizen = await add_citizen(cdb, PHONE)
    await add_notice(cdb, citizen)
    d = dispatcher(cdb, {NoticeChannel.sms: sms_channel(esms, cfg)}, cfg, clock)
    await d.run_once()
    sms = next(r for r in await deliveries(cdb) if r["channel"] == "sms")
    seven = datetime.combine(clock.now.astimezone(VN_TZ).date() + timedelta(days=1), time(7), tzinfo=VN_TZ)
    assert sms["status"] == "pending" and sms["next_attempt_at"] == seven
    clock.now = seven - timedelta(minutes=1)
    await d.run_once()
    assert esms.sent == []
    clock.now = seven + timedelta(seconds=1)
    await d.run_once()
    assert len(esms.sent) == 1
    sms = next(r for r in await deliveries(cdb) if r["channel"] == "sms")
    assert sms["status"] == "sent" and sms["attempts"] == 1


async def test_a_row_retried_into_quiet_hours_is_held_without_counting_an_attempt(
    cdb: AsyncEngine, esms: FakeEsms
) -> None:
    cfg = config()
    clock = vn_clock(20, 59)
    citizen = await add_citizen(cdb, PHONE)
    await add_notice(cdb, citizen)
    esms.script.append((503, {"Retry-After": "120"}))
    d = dispatcher(cdb, {NoticeChannel.sms: sms_channel(esms, cfg)}, cfg, clock)
    await d.run_once()  # 20:59: tried, 503
    clock.advance(minutes=3)  # 21:02: due again, but quiet
    await d.run_once()
    sms = next(r for r in await deliveries(cdb) if r["channel"] == "sms")
    assert esms.sent == [] and sms["status"] == "pending" and sms["attempts"] == 1
    assert sms["next_attempt_at"].astimezone(VN_TZ).time() == time(7)


async def test_opt_out_suppresses_and_skips_to_the_next_channel(cdb: AsyncEngine, esms: FakeEsms) -> None:
    cfg = config()
    clock = vn_clock(10)
    off = await add_citizen(cdb, "+84912000003")
    later = await add_citizen(cdb, "+84912000004")
    await switch_off(cdb, off, NoticeChannel.sms)
    await add_notice(cdb, off)
    d = dispatcher(cdb, {NoticeChannel.sms: sms_channel(esms, cfg)}, cfg, clock)
    clock.now = clock.now.replace(hour=15)  # 22:00 Vietnam time: the SMS waits for the morning
    await add_notice(cdb, later)
    await d.run_once()
    rows = {(r["recipient_id"], r["channel"]): r for r in await deliveries(cdb)}
    assert rows[(off, "sms")]["status"] == "suppressed"  # switched off before: never planned as pending
    waiting = rows[(later, "sms")]
    assert waiting["status"] == "pending"
    # A STOP while the message waits: suppressed at once, with an event naming the citizen.
    async with AsyncSession(cdb) as session:
        assert await store.suppress(session, later, "sms", f"citizen:{later}", clock.now) == 1
        await session.commit()
    clock.advance(hours=10)
    await d.run_once()
    assert esms.sent == []
    assert await events(cdb, waiting["id"]) == [("pending", "plan"), ("suppressed", "opt_out")]


async def test_429_retry_after_pauses_the_channel_for_every_dispatcher(
    cdb: AsyncEngine, esms: FakeEsms
) -> None:
    cfg = config()
    clock = vn_clock(10)
    a, b = await add_citizen(cdb, "+84912000005"), await add_citizen(cdb, "+84912000006")
    await add_notice(cdb, a)
    esms.script.append((429, {"Retry-After": "120"}))
    first = dispatcher(cdb, {NoticeChannel.sms: sms_channel(esms, cfg)}, cfg, clock, worker_id="w1")
    second = dispatcher(cdb, {NoticeChannel.sms: sms_channel(esms, cfg)}, cfg, clock, worker_id="w2")
    await first.run_once()
    row = next(r for r in await deliveries(cdb) if r["channel"] == "sms")
    assert row["status"] == "pending" and "HTTP 429" in row["last_error"]
    assert row["next_attempt_at"] >= clock.now + timedelta(seconds=120)
    async with cdb.connect() as conn:
        paused = (await conn.execute(select(R.c.paused_until).where(R.c.channel == "sms"))).scalar_one()
    assert paused == clock.now + timedelta(seconds=120)
    await add_notice(cdb, b)  # a new message is held too, by the other dispatcher
    clock.advance(seconds=60)
    await second.run_once()
    assert esms.sent == []
    assert {r["status"] for r in await deliveries(cdb) if r["channel"] == "sms"} == {"pending"}
    clock.advance(seconds=61)
    await second.run_once()
    await second.run_once()
    assert sorted(s.phone for s in esms.sent) == ["0912000005", "0912000006"]


async def test_provider_down_for_a_minute_then_sent_once(cdb: AsyncEngine, zalo: FakeZalo) -> None:
    cfg = config(available=frozenset({NoticeChannel.push, NoticeChannel.zns}))
    clock = vn_clock(10)
    citizen = await add_citizen(cdb, PHONE)
    await add_notice(cdb, citizen)
    d = dispatcher(cdb, {NoticeChannel.zns: zns_channel(cdb, zalo, cfg)}, cfg, clock)
    down_until = clock.now + timedelta(minutes=1)
    zalo.down_for(3600)  # real time: the fake answers 500 until the test says it is back
    tries = 0
    while clock.now < down_until + timedelta(minutes=5):
        if clock.now >= down_until:
            zalo.down_until = 0.0  # back up after a minute of the dispatcher's time
        claimed = await d.run_once()
        tries += claimed
        row = next(r for r in await deliveries(cdb) if r["channel"] == "zns")
        if row["status"] == "sent":
            break
        clock.advance(seconds=10)
    assert row["status"] == "sent" and len(zalo.sent) == 1
    assert row["attempts"] >= 2 and tries == row["attempts"]
    assert row["sent_at"] >= down_until


async def test_gives_up_after_max_attempts_then_next_channel(
    cdb: AsyncEngine, esms: FakeEsms, zalo: FakeZalo
) -> None:
    cfg = config(available=frozenset(NoticeChannel))
    clock = vn_clock(10)
    citizen = await add_citizen(cdb, PHONE)
    await add_notice(cdb, citizen)
    zalo.down_for(3600)
    senders: dict[NoticeChannel, ChannelSender] = {
        NoticeChannel.sms: sms_channel(esms, cfg),
        NoticeChannel.zns: zns_channel(cdb, zalo, cfg),
    }
    d = dispatcher(cdb, senders, cfg, clock, max_attempts=3, backoff_cap=timedelta(seconds=40))
    for _ in range(30):
        await d.run_once()
        clock.advance(minutes=1)
    rows = {r["channel"]: r for r in await deliveries(cdb)}
    assert rows["zns"]["status"] == "failed" and rows["zns"]["attempts"] == 3
    assert rows["zns"]["last_error"].startswith("gave up after 3 attempts")
    assert rows["sms"]["status"] == "sent" and len(esms.sent) == 1
    assert [s for s, _ in await events(cdb, rows["zns"]["id"])] == ["pending", "pending", "pending", "failed"]


async def test_delivery_reports_out_of_order(cdb: AsyncEngine, esms: FakeEsms) -> None:
    cfg = config()
    clock = vn_clock(10)
    citizen = await add_citizen(cdb, PHONE)
    await add_notice(cdb, citizen)
    await dispatcher(cdb, {NoticeChannel.sms: sms_channel(esms, cfg)}, cfg, clock).run_once()
    sms = next(r for r in await deliveries(cdb) if r["channel"] == "sms")

    async def report(
        status: DeliveryStatus, cost: int | None = None, by_request: bool = False
    ) -> tuple[str, bool]:
        async with AsyncSession(cdb) as session:
            done = await store.apply_report(
                session,
                provider="esms",
                message_id="unknown" if by_request else sms["provider_message_id"],
                request_id=sms["id"].hex if by_request else None,
                status=status,
                cost_vnd=cost,
                detail="test",
                now=clock.now,
            )
            await session.commit()
        assert done is not None
        return done.status.value, done.changed

    assert await report(DeliveryStatus.delivered, cost=500) == ("delivered", True)
    assert await report(DeliveryStatus.sent) == ("delivered", False)  # interim after final: ignored
    assert await report(DeliveryStatus.delivered, by_request=True) == ("delivered", False)  # repeated
    assert await report(DeliveryStatus.failed) == ("delivered", False)
    sms = next(r for r in await deliveries(cdb) if r["channel"] == "sms")
    assert sms["cost_vnd"] == 500  # the provider's own price replaces the estimate
    assert await events(cdb, sms["id"]) == [
        ("pending", "plan"),
        ("sent", "dispatch"),
        ("delivered", "report"),
    ]
    async with AsyncSession(cdb) as session:
        assert (
            await store.apply_report(
                session,
                provider="esms",
                message_id="nope",
                request_id=None,
                status=DeliveryStatus.delivered,
                cost_vnd=None,
                detail="",
                now=clock.now,
            )
            is None
        )


async def test_report_before_the_send_is_recorded_keeps_the_final_status(
    cdb: AsyncEngine, esms: FakeEsms
) -> None:
    """eSMS's callback may beat the answer to the send: found by our RequestId while the row is still sending."""
    cfg = config()
    clock = vn_clock(10)
    citizen = await add_citizen(cdb, PHONE)
    await add_notice(cdb, citizen)
    sender = sms_channel(esms, cfg)
    original = sender.send

    async def send_then_report(phone: str, prepared: object, *, request_id: str) -> object:
        result = await original(phone, prepared, request_id=request_id)  # type: ignore[arg-type]
        async with AsyncSession(cdb) as session:
            await store.apply_report(
                session,
                provider="esms",
                message_id=result.message_id or "",
                request_id=request_id,
                status=DeliveryStatus.delivered,
                cost_vnd=None,
                detail="early",
                now=clock.now,
            )
            await session.commit()
        return result

    sender.send = send_then_report  # type: ignore[method-assign,assignment]
    await dispatcher(cdb, {NoticeChannel.sms: sender}, cfg, clock).run_once()
    sms = next(r for r in await deliveries(cdb) if r["channel"] == "sms")
    assert sms["status"] == "delivered" and sms["provider_message_id"] == esms.sent[0].sms_id
    assert sms["cost_vnd"] == 450


async def test_push_switched_off_is_not_pushed_and_falls_back(
    cdb: AsyncEngine, esms: FakeEsms, fcm: FakeFcm, sender: FcmSender
) -> None:
    cfg = config()
    clock = vn_clock(10)
    off, on = await add_citizen(cdb, "+84912000007"), await add_citizen(cdb, "+84912000008")
    await add_devices(cdb, [("citizen", off, "tok-off", "android"), ("citizen", on, "tok-on", "android")])
    await switch_off(cdb, off, NoticeChannel.push)
    n_off = await add_notice(cdb, off, push="pending")
    n_on = await add_notice(cdb, on, push="pending")
    push = Dispatcher(cdb, sender, "w-push", clock=clock, honour_opt_out=True)
    await push.run_once()
    assert [r.token for r in fcm.acknowledged()] == ["tok-on"]
    async with cdb.connect() as conn:
        rows = dict((await conn.execute(select(N.c.id, N.c.last_error))).tuples().all())
    assert rows[n_off] == "push switched off by the citizen" and rows[n_on] is None
    await dispatcher(cdb, {NoticeChannel.sms: sms_channel(esms, cfg)}, cfg, clock).run_once()
    assert [s.phone for s in esms.sent] == ["0912000007"]  # the one push did not reach


async def test_the_rate_is_shared_by_dispatchers_through_the_database(
    cdb: AsyncEngine, channels_url: str
) -> None:
    """Two workers (each with its own connections) reserving slots of one channel at 20/s get consecutive,
    non-overlapping slots: together they stay at the rate. A pause set by one holds for the other."""
    from notifications.channels import ratelimit

    other = make_engine(channels_url)
    try:
        now = vn_clock(10).now
        first = await ratelimit.reserve(cdb, "sms", 10, 20.0, now)
        second = await ratelimit.reserve(other, "sms", 10, 20.0, now)
        third = await ratelimit.reserve(cdb, "sms", 5, 20.0, now + timedelta(seconds=0.1))
        assert first.first == now and first.interval_s == 0.05
        assert second.first == now + timedelta(seconds=0.5)  # after the first worker's ten slots
        assert third.first == now + timedelta(seconds=1.0)
        assert (await ratelimit.reserve(other, "zns", 3, 20.0, now)).first == now  # channels are apart
        unlimited = await ratelimit.reserve(other, "sms", 100, 0.0, now)
        assert unlimited.first == now and unlimited.interval_s == 0.0
        await ratelimit.pause(cdb, "sms", now + timedelta(seconds=30), now)
        await ratelimit.pause(
            other, "sms", now + timedelta(seconds=10), now
        )  # an earlier end does not shorten it
        assert await ratelimit.paused(other, now) == {"sms": now + timedelta(seconds=30)}
        assert await ratelimit.paused(other, now + timedelta(seconds=31)) == {}
    finally:
        await other.dispose()


async def test_courier_on_the_way_reaches_zalo_with_its_tracking_link(
    cdb: AsyncEngine, esms: FakeEsms, zalo: FakeZalo
) -> None:
    """Issue 22: the ZNS "courier on the way" template carries the live tracking link (``track_url``), whole."""
    cfg = config(available=frozenset(NoticeChannel))
    citizen = await add_citizen(cdb, "+84912000003")
    await add_notice(cdb, citizen, "courier.on_the_way", push="failed")
    senders: dict[NoticeChannel, ChannelSender] = {
        NoticeChannel.sms: sms_channel(esms, cfg),
        NoticeChannel.zns: zns_channel(cdb, zalo, cfg),
    }
    await dispatcher(cdb, senders, cfg, vn_clock(9)).run_once()
    [sent] = zalo.sent
    assert sent.phone == "84912000003" and sent.template_id == "302146"
    assert sent.template_data["track_url"] == "https://dichvu.example.vn/v/abc123"
    assert sent.template_data["courier_name"] == "Nguyễn Văn An" and "09:30" in sent.template_data["eta"]
    assert not esms.sent
