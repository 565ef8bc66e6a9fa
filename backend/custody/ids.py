"""S10 item ids: a counter per service indicator (HS, KQ) safe under concurrency, and an unpredictable serial.

The counter only says how many ids a prefix has issued. Its n-th value is turned into the 8-digit serial by a
keyed permutation (``SerialPermutation``), so consecutive dossiers get unrelated serials and the anonymous
``GET /track/{item_id}`` cannot be walked by counting up from one's own receipt. A permutation never repeats
a value, so the serials of one key stay unique without a lookup; ids issued before it (sequential ones) or
under an earlier ``SECRET_KEY`` could meet a new serial, so each candidate is checked against the ids already
in use and skipped if taken. Serials 90 000 000 and up are left to imported past dossiers
(``backend.reporting.importer.SERIAL_START``).

Couriers reserve labels in advance for pickups recorded offline. Each courier may hold at most
``ITEM_ID_MAX_OUTSTANDING`` unused labels, and a label expires ``ITEM_ID_TTL_DAYS`` after it was reserved. An
expired label is never reissued (its row stays, so it is known as taken) and can no longer be claimed.
"""

import hashlib
import hmac
import uuid
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.problems import Problem
from backend.settings import get_settings
from schemas import s10
from schemas.base import utcnow
from schemas.dossiers import Dossier, ItemCounter, ReservedItemId, ResultItem

SERIALS = 90_000_000  # serials 0..89 999 999 are ours; 90 000 000 up belong to imports
_HALF = 10_000  # the Feistel network works on two 4-digit halves of an 8-digit number
_ROUNDS = 10  # as FF1 (NIST SP 800-38G) uses for small domains


class SerialPermutation:
    """A keyed bijection of ``0..size-1`` (size up to 10^8) onto itself.

    A balanced Feistel network on the two 4-digit halves of an 8-digit number (addition mod 10^4, ten rounds,
    a keyed BLAKE2b round function tabulated once per key) is a permutation of 0..99 999 999; cycle-walking
    (apply again while the value is ``size`` or more) restricts it to a permutation of ``0..size-1``. Without
    the key the next serial cannot be told from the previous ones."""

    def __init__(self, key: bytes, size: int = SERIALS) -> None:
        if not 0 < size <= _HALF * _HALF:
            raise ValueError(f"size must be in 1..{_HALF * _HALF}")
        self.size = size
        self._tables = [
            [
                int.from_bytes(
                    hashlib.blake2b(bytes([r]) + x.to_bytes(2, "big"), key=key[:64], digest_size=8).digest(),
                    "big",
                )
                % _HALF
                for x in range(_HALF)
            ]
            for r in range(_ROUNDS)
        ]

    def _encrypt(self, n: int) -> int:
        left, right = divmod(n, _HALF)
        for table in self._tables:
            left, right = right, (left + table[right]) % _HALF
        return left * _HALF + right

    def _decrypt(self, n: int) -> int:
        left, right = divmod(n, _HALF)
        for table in reversed(self._tables):
            left, right = (right - table[left]) % _HALF, left
        return left * _HALF + right

    def __call__(self, n: int) -> int:
        if not 0 <= n < self.size:
            raise ValueError(f"{n} is outside 0..{self.size - 1}")
        n = self._encrypt(n)
        while n >= self.size:
            n = self._encrypt(n)
        return n

    def inverse(self, serial: int) -> int:
        if not 0 <= serial < self.size:
            raise ValueError(f"{serial} is outside 0..{self.size - 1}")
        serial = self._decrypt(serial)
        while serial >= self.size:
            serial = self._decrypt(serial)
        return serial


@lru_cache(maxsize=8)
def _permutation(secret: str, prefix: str) -> SerialPermutation:
    key = hmac.new(secret.encode(), f"s10-serial:{prefix}".encode(), hashlib.sha256).digest()
    return SerialPermutation(key)


def serial_for(prefix: str, index: int) -> int:
    """The serial of the prefix's ``index``-th id under the server's secret (a different order per prefix)."""
    return _permutation(get_settings().secret_key, prefix)(index)


async def _take_indexes(session: AsyncSession, prefix: str, count: int) -> range:
    """Advance the prefix's counter by ``count`` in one statement and return the indexes taken: the row lock
    (PostgreSQL) or the write lock taken by BEGIN IMMEDIATE (SQLite) makes two transactions wait for each other
    instead of sharing an index."""
    stmt = (
        update(ItemCounter)
        .where(col(ItemCounter.prefix) == prefix)
        .values(last_serial=col(ItemCounter.last_serial) + count)
        .returning(col(ItemCounter.last_serial))
    )
    for _ in range(2):
        value = (await session.execute(stmt)).scalar_one_or_none()
        if value is not None:
            if value >= SERIALS:
                raise Problem(
                    503, "Hết dãy số hiệu bưu gửi / S10 serial range exhausted", code="serials_exhausted"
                )
            return range(int(value) - count + 1, int(value) + 1)
        # First id of this prefix: create the row; a concurrent creator wins and we retry the UPDATE.
        try:
            async with session.begin_nested():
                session.add(ItemCounter(prefix=prefix, last_serial=0))
        except IntegrityError:
            pass
    raise RuntimeError(f"could not allocate a serial for {prefix}")


async def _taken(session: AsyncSession, item_ids: list[str]) -> set[str]:
    """Which of these ids are already a dossier's, a result's or a reserved label's."""
    found: set[str] = set()
    for column in (Dossier.item_id, ResultItem.item_id, ReservedItemId.item_id):
        rows = await session.execute(select(column).where(col(column).in_(item_ids)))
        found.update(rows.scalars())
    return found


async def new_item_ids(session: AsyncSession, prefix: str, count: int) -> list[str]:
    """``count`` fresh ids of this prefix, none of them in use."""
    issued: list[str] = []
    while len(issued) < count:
        wanted = count - len(issued)
        candidates = [
            s10.make(prefix, serial_for(prefix, i)) for i in await _take_indexes(session, prefix, wanted)
        ]
        taken = await _taken(session, candidates)
        issued.extend(c for c in candidates if c not in taken)
    return issued


async def new_item_id(session: AsyncSession, prefix: str) -> str:
    return (await new_item_ids(session, prefix, 1))[0]


def parse_item_id(raw: str) -> str:
    """The normalised id, or a 422 that says nothing about whether such an item exists."""
    try:
        return s10.parse(raw).item_id
    except s10.S10Error as exc:
        raise Problem(422, str(exc), code="invalid_item_id") from None


async def _lock_courier(session: AsyncSession, courier_id: uuid.UUID) -> None:
    """Serialise one courier's reservations so the quota is counted and filled atomically: a transaction
    advisory lock on PostgreSQL (released at commit); SQLite's BEGIN IMMEDIATE already holds the write lock."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"reserved_item_id:{courier_id}"},
        )


async def outstanding_labels(session: AsyncSession, courier_id: uuid.UUID, now: datetime) -> int:
    """The courier's reserved labels that are neither used nor expired."""
    stmt = select(func.count()).where(
        col(ReservedItemId.courier_id) == courier_id,
        col(ReservedItemId.used_at).is_(None),
        col(ReservedItemId.expires_at) > now,
    )
    return int((await session.execute(stmt)).scalar_one())


async def reserve_item_ids(
    session: AsyncSession, courier_id: uuid.UUID, count: int, *, now: datetime | None = None
) -> dict[str, object]:
    """Hand a courier ``count`` dossier labels in advance (for pickups recorded offline), within the quota of
    unused labels a courier may hold (409 past it). Commits."""
    settings = get_settings()
    now = now or utcnow()
    await _lock_courier(session, courier_id)
    held = await outstanding_labels(session, courier_id, now)
    limit = settings.item_id_max_outstanding
    if held + count > limit:
        await session.rollback()
        raise Problem(
            409,
            f"Bạn đang giữ {held} số hiệu chưa dùng, tối đa {limit}: hãy dùng bớt trước khi xin thêm / "
            f"You hold {held} unused labels of at most {limit}: use some before reserving more",
            code="item_id_quota",
            extra={"outstanding": held, "limit": limit, "available": max(0, limit - held)},
        )
    expires_at = now + timedelta(days=settings.item_id_ttl_days)
    ids = await new_item_ids(session, s10.PREFIX_DOSSIER, count)
    session.add_all(
        ReservedItemId(item_id=i, courier_id=courier_id, reserved_at=now, expires_at=expires_at) for i in ids
    )
    await session.commit()
    return {"item_ids": ids, "expires_at": expires_at}


async def claim_reserved(
    session: AsyncSession, courier_id: uuid.UUID, raw: str, *, at: datetime | None = None
) -> str:
    """Use a reserved label once; only the courier it was given to may use it, and only for a pickup made
    (``at``, the device's time, already bounded by custody's limits on event times) before it expired: a
    pickup recorded offline on a label's last day may reach the server after it."""
    item_id = parse_item_id(raw)
    now = utcnow()
    at = min(at or now, now)
    stmt = (
        update(ReservedItemId)
        .where(
            col(ReservedItemId.item_id) == item_id,
            col(ReservedItemId.courier_id) == courier_id,
            col(ReservedItemId.used_at).is_(None),
            col(ReservedItemId.expires_at) > at,
        )
        .values(used_at=now)
    )
    if (await session.execute(stmt)).rowcount != 1:  # type: ignore[attr-defined]
        expired = (
            await session.execute(
                select(ReservedItemId.item_id).where(
                    col(ReservedItemId.item_id) == item_id,
                    col(ReservedItemId.courier_id) == courier_id,
                    col(ReservedItemId.used_at).is_(None),
                )
            )
        ).first() is not None
        if expired:
            raise Problem(
                409,
                f"Số hiệu {item_id} đã hết hạn / the label {item_id} has expired",
                code="item_id_expired",
            )
        raise Problem(
            409,
            f"Số hiệu {item_id} không được cấp cho bạn hoặc đã dùng / {item_id} is not a free label of yours",
            code="item_id_not_reserved",
        )
    return item_id
