"""Guessable codes have atomic attempt limits (issue 17, items 5 and 6): the OTP, the citizen's handover code
and the delivery recipient check. Concurrent and batched guesses never get more answers checked than the
limits allow; wrong answers are logged (who, when, where); replays of applied work do not count."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from backend.accounts.otp import MAX_ATTEMPTS
from backend.catalogue.calendar import to_local
from backend.custody import codeguard
from backend.custody.services import check_recipient, handover_code
from backend.db import session_factory
from backend.lib.auth import Principal
from schemas.accounts import Citizen, OtpChallenge
from schemas.attempts import AttemptCounter, CodeFailure
from schemas.base import utcnow
from schemas.dossiers import RecipientCheck
from schemas.enums import Role
from schemas.notifications import Notification
from tests.api.test_custody_journey import PROCEDURE, all_documents, office_commune_centre
from tests.conftest import staff_headers

CITIZEN_LIMIT = 5  # HANDOVER_CODE_MAX_FAILURES default
STAFF_LIMIT = 10  # HANDOVER_STAFF_MAX_FAILURES_PER_HOUR default


@pytest.fixture(autouse=True)
async def _clear_of_an_hour_boundary() -> None:
    """The counters are per staff hour and per Vietnam day (whose midnight is 17:00 UTC, an hour boundary): a
    test that straddled one would see its counter start again. Start each test at least 90 s before the next
    hour (waiting at most that long)."""
    now = utcnow()
    left = 3600 - (now.minute * 60 + now.second + now.microsecond / 1e6)
    if left < 90:
        await asyncio.sleep(left + 1)


def _today_code(citizen: Citizen) -> str:
    return handover_code(citizen.id, to_local(utcnow()).date())


def _wrong(citizen: Citizen, n: int) -> str:
    """The n-th six-digit code that is not the citizen's (today's, yesterday's or tomorrow's)."""
    right = _today_code(citizen)
    return f"{(int(right) + 1 + n) % 1_000_000:06d}"


async def _alerts(engine: AsyncEngine, prefix: str) -> list[Notification]:
    async with session_factory(engine)() as s:
        stmt = select(Notification).where(col(Notification.dedupe_key).startswith(prefix))
        return list((await s.execute(stmt)).scalars().all())


def _watchers(demo: Any, courier: str) -> set[uuid.UUID]:
    """The dispatchers of the courier's post office, whom a filled counter alerts."""
    org = demo.staff[courier].organisation_id
    return {u.id for u in demo.staff.values() if u.organisation_id == org and u.role == Role.dispatcher}


async def _failures(engine: AsyncEngine, **where: Any) -> list[CodeFailure]:
    async with session_factory(engine)() as s:
        stmt = select(CodeFailure).where(*(getattr(CodeFailure, k) == v for k, v in where.items()))
        return list((await s.execute(stmt)).scalars().all())


# --- OTP ------------------------------------------------------------------------------------------------------


class _Captured:
    def __init__(self) -> None:
        self.codes: dict[str, str] = {}

    async def send(self, phone: str, code: str) -> None:
        self.codes[phone] = code


async def test_concurrent_wrong_otp_guesses_check_at_most_max_attempts(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """60 wrong guesses at once: exactly MAX_ATTEMPTS are compared, the rest find the challenge dead, and the
    right code afterwards is refused too (it was accepted once in the audit)."""
    app: Any = client.app  # type: ignore[attr-defined]
    sender = _Captured()
    app.state.otp_sender = sender
    phone = f"+8497{uuid.uuid4().int % 10_000_000:07d}"  # not a test number, a fresh one per run
    try:
        r = await client.post("/api/v1/auth/citizen/otp", json={"phone": phone})
        assert r.status_code == 202, r.text
    finally:
        del app.state.otp_sender
    right = sender.codes[phone]
    wrong = [f"{(int(right) + n) % 1_000_000:06d}" for n in range(1, 61)]
    answers = await asyncio.gather(
        *(client.post("/api/v1/auth/citizen/verify", json={"phone": phone, "code": c}) for c in wrong)
    )
    kinds = [a.json()["type"].rsplit("/", 1)[-1] for a in answers]
    assert all(a.status_code == 401 for a in answers)
    assert kinds.count("otp_invalid") == MAX_ATTEMPTS
    assert kinds.count("otp_expired") == 60 - MAX_ATTEMPTS
    r = await client.post("/api/v1/auth/citizen/verify", json={"phone": phone, "code": right})
    assert r.status_code == 401 and r.json()["type"].endswith("/otp_expired"), r.text
    async with session_factory(engine)() as s:
        attempts = (
            await s.execute(select(OtpChallenge.attempts).where(OtpChallenge.phone == phone))
        ).scalar()
    assert attempts == MAX_ATTEMPTS


async def test_a_right_otp_signs_in_once(client: httpx.AsyncClient) -> None:
    app: Any = client.app  # type: ignore[attr-defined]
    sender = _Captured()
    app.state.otp_sender = sender
    phone = f"+8497{uuid.uuid4().int % 10_000_000:07d}"
    try:
        assert (await client.post("/api/v1/auth/citizen/otp", json={"phone": phone})).status_code == 202
    finally:
        del app.state.otp_sender
    body = {"phone": phone, "code": sender.codes[phone]}
    wrong = await client.post("/api/v1/auth/citizen/verify", json={**body, "code": _next(body["code"])})
    assert wrong.status_code == 401
    both = await asyncio.gather(*(client.post("/api/v1/auth/citizen/verify", json=body) for _ in range(2)))
    assert sorted(r.status_code for r in both) == [200, 401]


async def test_concurrent_code_requests_send_at_most_otp_max_per_hour(client: httpx.AsyncClient) -> None:
    phone = f"+8496{uuid.uuid4().int % 10_000_000:07d}"
    answers = await asyncio.gather(
        *(client.post("/api/v1/auth/citizen/otp", json={"phone": phone}) for _ in range(20))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [202] * 5 + [429] * 15  # OTP_MAX_PER_HOUR


def _next(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- the citizen's handover code at a home pickup -------------------------------------------------------------


async def _pickup_body(
    client: httpx.AsyncClient, courier: str, citizen: Citizen, code: str
) -> dict[str, Any]:
    lat, lon = await office_commune_centre(client, courier)
    return {
        "procedure": PROCEDURE,
        "channel": "home_pickup",
        "citizen_phone": citizen.phone,
        "documents": await all_documents(client),
        "seal_number": "SEAL-G-1",
        "fee_collected": 25000,
        "confirmation": {"method": "code", "code": code},
        "place": "tại nhà công dân",
        "lat": lat,
        "lon": lon,
    }


async def test_concurrent_wrong_pickup_codes_lock_the_citizens_code(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    """30 pickups with wrong codes at once for one citizen: exactly 5 are compared (and logged with who and
    where), the others are refused unchecked; the right code is refused for the rest of the day."""
    citizen = demo.citizens[110]
    headers = await staff_headers(client, "courier09")
    body = await _pickup_body(client, "courier09", citizen, "")
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/v1/dossiers",
                json={**body, "confirmation": {"method": "code", "code": _wrong(citizen, n)}},
                headers=headers,
            )
            for n in range(30)
        )
    )
    kinds = [a.json()["type"].rsplit("/", 1)[-1] for a in answers]
    assert kinds.count("wrong_code") == CITIZEN_LIMIT, kinds
    assert kinds.count("handover_code_locked") == 30 - CITIZEN_LIMIT
    locked = next(a for a in answers if a.status_code == 429)
    assert int(locked.headers["Retry-After"]) > 0
    right = await client.post(
        "/api/v1/dossiers",
        json={**body, "confirmation": {"method": "code", "code": _today_code(citizen)}},
        headers=headers,
    )
    assert right.status_code == 429 and right.json()["type"].endswith("/handover_code_locked"), right.text
    logged = await _failures(engine, citizen_id=citizen.id)
    wrong_rows = [f for f in logged if f.outcome == "wrong"]
    assert len(wrong_rows) == CITIZEN_LIMIT
    assert len([f for f in logged if f.outcome == "locked"]) == 30 - CITIZEN_LIMIT + 1
    courier = demo.staff["courier09"]
    assert all(
        f.actor_id == courier.id and f.purpose == "pickup" and f.lat == body["lat"] and f.place
        for f in logged
    )
    # The office's dispatchers are told once (not once per refused guess).
    alerts = await _alerts(engine, f"citizen_day:{citizen.id}:")
    watchers = _watchers(demo, "courier09")
    assert {a.recipient_id for a in alerts} == watchers and len(alerts) == len(watchers) > 0
    assert all(a.template == "security.citizen_code_locked" and "courier09" in a.body_vi for a in alerts)


async def test_a_batch_of_200_pickups_checks_only_5_codes(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    """The audit's attack: one offline batch of 200 pickups tried 200 codes. Now 5 are compared; a replayed
    pickup that was applied earlier is a duplicate, whatever its code, and is not counted."""
    citizen, victim = demo.citizens[111], demo.citizens[112]
    headers = await staff_headers(client, "courier10")
    r = await client.post("/api/v1/couriers/me/item-ids", json={"count": 2}, headers=headers)
    assert r.status_code == 201, r.text
    labels = r.json()["item_ids"]
    base = await _pickup_body(client, "courier10", citizen, _today_code(citizen))
    base = {**base, "client_at": utcnow().isoformat()}
    applied = {**base, "client_event_id": f"ok-{uuid.uuid4().hex[:8]}", "item_id": labels[0]}
    first = await client.post("/api/v1/events/batch", json={"pickups": [applied]}, headers=headers)
    assert first.json()["pickups"][0]["accepted"], first.text

    guesses = [
        {
            **base,
            "citizen_phone": victim.phone,
            "client_event_id": f"g-{n}",
            "item_id": labels[1],
            "confirmation": {"method": "code", "code": _wrong(victim, n)},
        }
        for n in range(199)
    ]
    # The replay carries a code that no longer matches (e.g. synced on the next day): still a duplicate.
    replay = {**applied, "confirmation": {"method": "code", "code": _wrong(citizen, 0)}}
    r = await client.post("/api/v1/events/batch", json={"pickups": [replay, *guesses]}, headers=headers)
    assert r.status_code == 200, r.text
    results = r.json()["pickups"]
    assert results[0]["accepted"] and results[0]["duplicate"]
    errors = [p["error"] for p in results[1:]]
    assert errors.count("wrong_code") == CITIZEN_LIMIT
    assert errors.count("handover_code_locked") == 199 - CITIZEN_LIMIT
    assert len(await _failures(engine, citizen_id=citizen.id)) == 0  # the replay was not a guess
    assert len(await _failures(engine, citizen_id=victim.id, outcome="wrong")) == CITIZEN_LIMIT
    async with session_factory(engine)() as s:
        counted = (
            await s.execute(
                select(func.sum(AttemptCounter.attempts)).where(AttemptCounter.subject == victim.id)
            )
        ).scalar()
    assert counted == CITIZEN_LIMIT


async def test_a_courier_with_10_wrong_codes_in_an_hour_is_stopped(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    """Guessing across citizens (5 each) stops at 10 wrong codes an hour, even before a right one."""
    headers = await staff_headers(client, "courier14")
    targets = [demo.citizens[113], demo.citizens[114], demo.citizens[115]]
    body = await _pickup_body(client, "courier14", targets[0], "")
    kinds = []
    for citizen in targets[:2]:
        for n in range(CITIZEN_LIMIT):
            r = await client.post(
                "/api/v1/dossiers",
                json={
                    **body,
                    "citizen_phone": citizen.phone,
                    "confirmation": {"method": "code", "code": _wrong(citizen, n)},
                },
                headers=headers,
            )
            kinds.append(r.json()["type"].rsplit("/", 1)[-1])
    assert kinds == ["wrong_code"] * STAFF_LIMIT
    third = targets[2]
    r = await client.post(
        "/api/v1/dossiers",
        json={
            **body,
            "citizen_phone": third.phone,
            "confirmation": {"method": "code", "code": _today_code(third)},
        },
        headers=headers,
    )
    assert r.status_code == 429 and r.json()["type"].endswith("/too_many_wrong_codes"), r.text
    # Another courier can still take the third citizen's dossier with the right code.
    other = await staff_headers(client, "courier13")
    ok = await client.post(
        "/api/v1/dossiers",
        json={
            **(await _pickup_body(client, "courier13", third, _today_code(third))),
            "seal_number": "SEAL-G-2",
        },
        headers=other,
    )
    assert ok.status_code == 201, ok.text
    assert len(await _failures(engine, actor_id=demo.staff["courier14"].id, outcome="wrong")) == STAFF_LIMIT
    stopped = await _alerts(engine, f"staff_hour:{demo.staff['courier14'].id}:")
    assert {a.recipient_id for a in stopped} == _watchers(demo, "courier14") and stopped
    assert all(a.template == "security.staff_stopped" and "courier14" in a.body_en for a in stopped)


# --- the recipient check at a result delivery -----------------------------------------------------------------


async def test_wrong_recipient_checks_are_limited_and_logged(demo: Any, engine: AsyncEngine) -> None:
    """A delivery's recipient check (the citizen's code) counts like a pickup's: 5 wrong a day, then locked."""
    citizen = demo.citizens[116]
    courier = demo.staff["courier20"]
    who = Principal(id=courier.id, role=Role.courier, org_id=courier.organisation_id)
    dossier_id = uuid.uuid4()
    outcomes = []
    for n in range(CITIZEN_LIMIT + 1):
        async with session_factory(engine)() as s:
            check = RecipientCheck(method="code", code=_wrong(citizen, n))
            try:
                async with codeguard.guarded(s):
                    await check_recipient(s, check, citizen, utcnow(), actor=who, dossier_id=dossier_id)
            except codeguard.CodeRefused as exc:
                outcomes.append((exc.status_code, exc.code))
    assert outcomes == [(422, "recipient_check_failed")] * CITIZEN_LIMIT + [(429, "handover_code_locked")]
    async with session_factory(engine)() as s:
        with pytest.raises(codeguard.CodeRefused) as refused:
            async with codeguard.guarded(s):
                right = RecipientCheck(method="code", code=_today_code(citizen))
                await check_recipient(s, right, citizen, utcnow(), actor=who, dossier_id=dossier_id)
    assert refused.value.status_code == 429
    logged = await _failures(engine, citizen_id=citizen.id)
    assert sorted(f.outcome for f in logged) == ["locked"] * 2 + ["wrong"] * CITIZEN_LIMIT
    assert {(f.purpose, f.dossier_id, f.actor_id) for f in logged} == {("delivery", dossier_id, courier.id)}


async def test_a_right_recipient_check_gives_its_attempt_back(demo: Any, engine: AsyncEngine) -> None:
    citizen = demo.citizens[117]
    courier = demo.staff["courier19"]
    who = Principal(id=courier.id, role=Role.courier, org_id=courier.organisation_id)
    for _ in range(CITIZEN_LIMIT + 2):
        async with session_factory(engine)() as s, codeguard.guarded(s):
            right = RecipientCheck(method="code", code=_today_code(citizen))
            await check_recipient(s, right, citizen, utcnow(), actor=who)
            await s.commit()
    async with session_factory(engine)() as s:
        counted = (
            await s.execute(
                select(func.sum(AttemptCounter.attempts)).where(AttemptCounter.subject == citizen.id)
            )
        ).scalar()
    assert counted == 0
