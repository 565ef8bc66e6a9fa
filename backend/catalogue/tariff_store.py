"""The stored price versions, read through a short cache, and the price book in force at a moment.

Every version of the three price tables (schemas/pricing.py) is small reference data: all of them are read
at once and kept for ``TTL_S`` per database. An admin's new version drops the cache in this process at once
(``invalidate``, called after its commit and by booking's ``invalidate_caches``); on PostgreSQL the tables'
triggers (migration 0016) NOTIFY ``hoso_reference`` so every other process drops it too.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.tariff_pricing import Exemption, Fee, PriceBook, Rate, book_at
from backend.db import db_key
from backend.lib.ttlcache import TtlCache
from schemas.base import utcnow
from schemas.pricing import FeeExemption, ProcedureFee, TariffRate

TTL_S = 10.0


@dataclass(frozen=True, slots=True)
class Versions:
    rates: tuple[Rate, ...]
    fees: tuple[Fee, ...]
    exemptions: tuple[Exemption, ...]


_versions: TtlCache[str, Versions] = TtlCache(TTL_S)


def invalidate() -> None:
    _versions.clear()


async def _load(session: AsyncSession) -> Versions:
    rates = tuple(
        Rate(str(r.id), r.kind, r.zone, int(r.amount_vnd), r.effective_from)
        for r in (await session.exec(select(TariffRate))).all()
    )
    fees = tuple(
        Fee(str(f.id), f.procedure_code, int(f.fee_vnd), int(f.charge_vnd), f.effective_from)
        for f in (await session.exec(select(ProcedureFee))).all()
    )
    exemptions = tuple(
        Exemption(
            id=str(e.id),
            code=e.code,
            province_code=e.province_code,
            procedure_code=e.procedure_code,
            citizen_group=e.citizen_group,
            covers=e.covers,
            active=e.active,
            legal_basis=e.legal_basis,
            label_vi=e.label_vi,
            label_en=e.label_en,
            effective_from=e.effective_from,
        )
        for e in (await session.exec(select(FeeExemption))).all()
    )
    return Versions(rates, fees, exemptions)


async def versions(session: AsyncSession) -> Versions:
    return await _versions.get_or_load(db_key(session), lambda: _load(session))


async def price_book(session: AsyncSession, at: datetime | None = None) -> PriceBook:
    """The versions in force at ``at`` (now by default)."""
    v = await versions(session)
    return book_at(v.rates, v.fees, v.exemptions, at or utcnow())
