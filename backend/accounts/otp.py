"""One-time sign-in codes for citizens.

The sender is pluggable; the embedded default writes the code to the log (no SMS gateway offline). Test numbers
with fixed codes (like Firebase's test phone numbers) are honoured only when configured (``OTP_TEST_NUMBERS``),
and refused in production by the settings check.
"""

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta
from typing import Protocol, runtime_checkable

from sqlalchemy import text, update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.problems import Problem
from backend.settings import Settings
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


def _hash(settings: Settings, phone: str, code: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


async def request_code(session: AsyncSession, settings: Settings, sender: OtpSender, phone: str) -> None:
    if phone in settings.test_codes():
        return  # fixed code, nothing to send
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
    session.add(
        OtpChallenge(
            phone=phone,
            code_hash=_hash(settings, phone, code),
            expires_at=utcnow() + timedelta(seconds=settings.otp_ttl_s),
        )
    )
    await session.commit()
    await sender.send(phone, code)


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
