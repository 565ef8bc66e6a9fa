"""Each post office's booking rules (``/post-offices/{code}/booking-settings``): read and replace."""

import logging
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking.services.caches import invalidate_caches
from backend.booking.services.common import rules_from
from backend.booking.windows import BookingRules
from backend.catalogue.services import organisation_by_key
from backend.lib.auth import Principal, check_office
from backend.lib.problems import not_found
from schemas.base import utcnow
from schemas.booking import BookingSettings, BookingSettingsIn
from schemas.enums import OrgKind
from schemas.orgs import Organisation

log = logging.getLogger("backend.booking")


async def settings_office(session: AsyncSession, principal: Principal, key: str) -> Organisation:
    """The post office by id or code, if the caller may manage its booking rules (admin, its dispatchers)."""
    org = await organisation_by_key(session, key)
    if org is None or org.kind != OrgKind.post_office:
        raise not_found("bưu cục / post office", key)
    check_office(principal, org.id)
    return org


def settings_out(org: Organisation, rules: BookingRules, updated_at: datetime | None) -> dict[str, Any]:
    return {
        "post_office": org.code,
        "window_minutes": rules.window_minutes,
        "min_notice_minutes": rules.min_notice_minutes,
        "horizon_days": rules.horizon_days,
        "cutoff_minutes": rules.cutoff_minutes,
        "travel_minutes": rules.travel_minutes,
        "service_minutes": dict(rules.service_minutes),
        "updated_at": updated_at,
        "defaults": updated_at is None,
    }


async def get_settings_of(session: AsyncSession, principal: Principal, key: str) -> dict[str, Any]:
    org = await settings_office(session, principal, key)
    row = await session.get(BookingSettings, org.id)
    return settings_out(org, rules_from(row), row.updated_at if row else None)


async def put_settings(
    session: AsyncSession, principal: Principal, key: str, data: BookingSettingsIn
) -> dict[str, Any]:
    """Replace the office's booking rules. Existing appointments keep their windows; new listings use the
    new rules at once in this process and within ``CACHE_TTL_S`` in the others."""
    org = await settings_office(session, principal, key)
    row = await session.merge(
        BookingSettings(
            post_office_id=org.id,
            window_minutes=data.window_minutes,
            min_notice_minutes=data.min_notice_minutes,
            horizon_days=data.horizon_days,
            cutoff_minutes=data.cutoff_minutes,
            travel_minutes=data.travel_minutes,
            service_minutes=data.service_minutes.model_dump(),
            updated_at=utcnow(),
        )
    )
    await session.commit()
    invalidate_caches()
    log.info("booking settings of %s set by %s: %s", org.code, principal.id, data.model_dump())
    return settings_out(org, rules_from(row), row.updated_at)
