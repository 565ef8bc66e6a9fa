"""Who held a dossier at a given time, per its chain of custody (issue 17).

Every live event records the holder it left (``data["custodian"]``: kind, organisation, courier), so the
holder at any instant is the one recorded by the last live event at or before it. An event a client stamps
earlier than the dossier's latest event — an offline courier syncing late, a clerk entering a time in the past
— is accepted only from whoever held the dossier at that time: a former custodian cannot write into a stretch
when someone else held it (such events show on the public tracking page).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import Problem
from schemas.dossiers import CustodianKind, DossierEvent
from schemas.enums import Role


def _when() -> Any:
    return func.coalesce(DossierEvent.client_at, DossierEvent.at)


async def custodian_at(session: AsyncSession, dossier_id: Any, at: datetime) -> dict[str, Any] | None:
    """The holder after the last live event at or before ``at``; None before the dossier existed."""
    when = _when()
    stmt = (
        select(DossierEvent.data)
        .where(DossierEvent.dossier_id == dossier_id, col(DossierEvent.seq) > 0, when <= at)
        .order_by(when.desc(), col(DossierEvent.seq).desc())
        .limit(1)
    )
    data = (await session.exec(stmt)).first()
    custodian = (data or {}).get("custodian")
    return custodian if isinstance(custodian, dict) else None


def held_at(principal: Principal, custodian: dict[str, Any] | None) -> bool:
    """Whether the caller (or their organisation) was the holder ``custodian`` names: the courier carrying it,
    or staff of the office holding it (a courier also for their post office's own stock), as
    ``services.may_act`` decides for the present."""
    if principal.role == Role.admin:
        return True
    if custodian is None:
        return False
    if custodian.get("user_id") == str(principal.id):
        return True
    if principal.org_id is None or custodian.get("org_id") != str(principal.org_id):
        return False
    if principal.role == Role.courier:
        return custodian.get("kind") == CustodianKind.post_office.value
    return True


def not_held_then() -> Problem:
    return Problem(
        403,
        "Bạn không giữ hồ sơ vào thời điểm của sự kiện / You did not hold the dossier at the event's time",
        code="not_custodian_then",
    )


async def check_held_then(session: AsyncSession, principal: Principal, dossier_id: Any, at: datetime) -> None:
    """403 when ``at`` falls before the dossier's latest event and the caller did not hold it at ``at``."""
    latest = (
        await session.exec(select(func.max(_when())).where(DossierEvent.dossier_id == dossier_id))  # type: ignore[call-overload]
    ).one()
    if (
        latest is not None
        and at < latest
        and not held_at(principal, await custodian_at(session, dossier_id, at))
    ):
        raise not_held_then()
