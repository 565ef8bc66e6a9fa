"""One-time sign-in codes for citizens.

Codes go by SMS (``notifications/sms``): the sender is built from ``SMS_PROVIDER`` when the app starts
(``lifespan_hook``), the log sender by default; each send is recorded (``backend/notices/sms.py``) and a send the
provider does not take leaves the code unusable and answers 503 with Retry-After. Only mobiles get codes
(``phone_not_mobile``). In production the log sender is refused at start unless Firebase phone sign-in is
configured, and then this endpoint answers 503: codes written to a log would let its readers sign in as anyone.
Test numbers with fixed codes (like Firebase's test phone numbers) are honoured only when configured
(``OTP_TEST_NUMBERS``), and refused in production by the settings check.
"""

import hashlib
import hmac
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import text, update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.phones import mobile_phone
from backend.lib import sms_records
from backend.lib.problems import Problem
from backend.settings import Settings, get_settings
from notifications.sms import LogSmsSender, Outcome, SmsSender
from notifications.sms.esms import EsmsConfig, EsmsSender
from notifications.sms.templates import sign_in_code
from notifications.sms.text import fit, segments
from schemas.accounts import OtpChallenge
from schemas.base import utcnow

log = logging.getLogger("backend.otp")
MAX_ATTEMPTS = 5


@runtime_checkable
class OtpSender(Protocol):
    async def send(self, phone: str, code: str) -> None: ...


class LogOtpSender:
    async def send(self, phone: str, code: str) -> None:
        log.warning("OTP for %s: %s (log sender; configure an SMS sender in production)", phone, code)


class SmsOtpSender:
    """Sign-in codes by SMS through ``sms``, each send recorded (``request_code`` drives it)."""

    def __init__(self, sms: SmsSender) -> None:
        self.sms = sms

    async def send(self, phone: str, code: str) -> None:
        """``OtpSender``'s form, unrecorded (``request_code`` records its sends); a failure is the same 503."""
        settings = get_settings()
        text = fit(sign_in_code(code, settings.otp_ttl_s), unicode=settings.sms_unicode, max_segments=1)
        result = await self.sms.send(
            phone, text, request_id=secrets.token_hex(16), unicode=settings.sms_unicode
        )
        if result.outcome is not Outcome.sent:
            raise _unavailable(result.retry_after_s or 600)


REPORTS_PATH = "/api/v1/sms/reports/esms"  # backend/notices/sms_reports.py


def make_sms_sender(settings: Settings) -> SmsSender:
    if settings.sms_provider == "esms":
        callback = ""
        if settings.sms_callback_token and settings.public_base_url:
            callback = f"{settings.public_base_url}{REPORTS_PATH}/{settings.sms_callback_token}"
        return EsmsSender(
            EsmsConfig(
                api_key=settings.sms_esms_api_key,
                secret_key=settings.sms_esms_secret_key,
                brandname=settings.sms_brandname,
                base_url=settings.sms_esms_base_url,
                callback_url=callback,
                sandbox=settings.sms_esms_sandbox,
                timeout_s=settings.sms_timeout_s,
            )
        )
    return LogSmsSender()


@asynccontextmanager
async def lifespan_hook(app: Any) -> AsyncIterator[None]:
    """The configured SMS sender for as long as the app runs (its HTTP connections closed at the end)."""
    sms = make_sms_sender(app.state.settings)
    app.state.otp_sender = SmsOtpSender(sms)
    try:
        yield
    finally:
        await sms.aclose()


def _unavailable(retry_after_s: float) -> Problem:
    return Problem(
        503,
        "Chưa gửi được mã qua tin nhắn, vui lòng thử lại sau / The code could not be sent by SMS, retry later",
        code="sms_unavailable",
        headers={"Retry-After": str(max(1, round(retry_after_s)))},
    )


def _hash(settings: Settings, phone: str, code: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


async def request_code(
    session: AsyncSession, settings: Settings, sender: OtpSender | SmsOtpSender, phone: str
) -> None:
    if phone in settings.test_codes():
        return  # fixed code, nothing to send
    mobile_phone(phone)  # SMS reach mobiles only
    if settings.is_production and settings.sms_provider == "log":
        raise _unavailable(3600)
    if session.get_bind().dialect.name == "postgresql":
        # Count and insert as one step per phone (SQLite's BEGIN IMMEDIATE already serialises writers): else
        # concurrent requests all see the same count and each sends a code.
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"otp:{phone}"}
        )
    since = utcnow() - timedelta(hours=1)
    recent = (
        await session.exec(
            select(func.count()).where(OtpChallenge.phone == phone, OtpChallenge.created_at >= since)
        )
    ).one()
    if recent >= settings.otp_max_per_hour:
        raise Problem(
            429,
            "Đã gửi quá nhiều mã cho số này, vui lòng thử lại sau / Too many codes for this number, retry later",
            code="otp_rate_limited",
            headers={"Retry-After": "3600"},
        )
    code = f"{secrets.randbelow(1_000_000):06d}"
    challenge = OtpChallenge(
        phone=phone,
        code_hash=_hash(settings, phone, code),
        expires_at=utcnow() + timedelta(seconds=settings.otp_ttl_s),
    )
    session.add(challenge)
    if not isinstance(sender, SmsOtpSender):  # a sender of its own (tests capturing codes)
        await session.commit()
        await sender.send(phone, code)
        return
    challenge_id = challenge.id
    body = fit(sign_in_code(code, settings.otp_ttl_s), unicode=settings.sms_unicode, max_segments=1)
    msg_id = await sms_records.queue(
        session, purpose="sign_in", phone=phone, provider=sender.sms.name, seg=segments(body)
    )
    await session.commit()
    result = await sender.sms.send(phone, body, request_id=msg_id.hex, unicode=settings.sms_unicode)
    await sms_records.record_result(session, msg_id, result)
    if result.outcome is not Outcome.sent:
        table = OtpChallenge.__table__  # type: ignore[attr-defined]
        # The citizen never got this code: nobody may use it.
        await session.execute(update(table).where(table.c.id == challenge_id).values(used_at=utcnow()))
    await session.commit()
    if result.outcome is Outcome.retry:
        log.warning("SMS provider %s: retry later (%s)", result.provider, result.error)
        raise _unavailable(result.retry_after_s or 60)
    if result.outcome is Outcome.fatal:
        log.error("SMS provider %s refused a sign-in code: %s", result.provider, result.error)
        raise _unavailable(600)


async def check_code(session: AsyncSession, settings: Settings, phone: str, code: str) -> None:
    """Check a code against the phone's latest open challenge. The attempt is counted before the comparison, by
    one conditional UPDATE that only succeeds while attempts < MAX_ATTEMPTS and the challenge is open and
    unexpired, and committed at once: concurrent guesses queue on the row and at most MAX_ATTEMPTS are ever
    compared. After that the challenge is dead, even for the right code."""
    fixed = settings.test_codes().get(phone)
    if fixed is not None:
        if hmac.compare_digest(fixed, code):
            return
        raise Problem(401, "Mã xác thực không đúng / Wrong code", code="otp_invalid")
    now = utcnow()
    latest = (
        await session.exec(
            select(OtpChallenge.id)
            .where(OtpChallenge.phone == phone, col(OtpChallenge.used_at).is_(None))
            .order_by(col(OtpChallenge.created_at).desc())
            .limit(1)
        )
    ).one_or_none()
    table = OtpChallenge.__table__  # type: ignore[attr-defined]
    claimed = (
        await session.execute(
            update(table)
            .where(
                table.c.id == latest,
                table.c.attempts < MAX_ATTEMPTS,
                table.c.expires_at > now,
                table.c.used_at.is_(None),
            )
            .values(attempts=table.c.attempts + 1)
            .returning(table.c.code_hash)
        )
    ).one_or_none()
    await session.commit()  # the attempt counts whatever happens next
    if claimed is None:
        raise Problem(
            401, "Mã xác thực hết hạn hoặc không tồn tại / Code expired or unknown", code="otp_expired"
        )
    if not hmac.compare_digest(claimed.code_hash, _hash(settings, phone, code)):
        raise Problem(401, "Mã xác thực không đúng / Wrong code", code="otp_invalid")
    # Single use: of two right answers racing, one signs in.
    used = await session.execute(
        update(table)
        .where(table.c.id == latest, table.c.used_at.is_(None))
        .values(used_at=now)
        .returning(table.c.id)
    )
    won = used.one_or_none() is not None
    await session.commit()
    if not won:
        raise Problem(
            401, "Mã xác thực hết hạn hoặc không tồn tại / Code expired or unknown", code="otp_expired"
        )
