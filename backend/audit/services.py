"""Writing and reading the audit of staff reading citizens' personal data (Decree 13/2023/NĐ-CP).

Art. 3 (principles): processing is limited to its purpose and the controller must be able to show that it
complied; art. 9: the data subject has the right to know how their data is processed; art. 27: a record of
processing is kept. So every response that shows a staff account a citizen's name, phone, address, location
or national id adds one ``personal_data_access`` row in the request's own transaction (who, whose data, which
fields, when, why, from where): the read and its record are committed together or not at all.

Why: the route (method and path template) always; the client may add a purpose of its own (``X-Purpose``
header, percent-encoded UTF-8, or ``purpose`` query, e.g. "gọi lại bổ sung hồ sơ"), which is stored as given
(printable characters, trimmed, 200 at most).
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import unquote

from litestar import Request
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.clientip import UNKNOWN, caller_ip
from backend.lib.paging import Paging, fetch_page
from schemas.audit import DataAccessSeen, PersonalDataAccess, PersonalDataAccessPublic, ReaderOrganisation
from schemas.base import utcnow
from schemas.orgs import Organisation
from schemas.vntime import vn_day_start

PURPOSE_MAX = 200


@dataclass(frozen=True)
class Access:
    """Where a read comes from: the operation, the purpose the client gave and the client's address."""

    route: str
    purpose: str | None = None
    client_ip: str | None = None


def _clean(text: str | None) -> str | None:
    if not text:
        return None
    kept = "".join(ch for ch in text if ch.isprintable()).strip()
    return kept[:PURPOSE_MAX] or None


def access_of(request: Request[Any, Any, Any]) -> Access:
    """The request's operation (``GET /api/v1/citizens/{citizen_id}``), purpose and client address."""
    template = request.scope.get("path_template") or request.url.path
    # Headers carry only Latin-1: a Vietnamese purpose comes percent-encoded (UTF-8), as in a query.
    header = request.headers.get("x-purpose")
    purpose = unquote(header) if header else request.query_params.get("purpose")
    ip = caller_ip(request)  # behind TRUSTED_PROXIES, the client rather than the proxy
    return Access(
        route=f"{request.method} {template}"[:200],
        purpose=_clean(purpose),
        client_ip=None if ip == UNKNOWN else ip,
    )


def _rows(
    principal: Principal,
    access: Access | None,
    reads: Iterable[tuple[uuid.UUID | None, Iterable[str], str | None]],
) -> list[dict[str, Any]]:
    """The audit rows of ``reads`` as column values; none for a citizen reading their own data."""
    if not principal.is_staff:
        return []
    access = access or Access(route="internal")
    now = utcnow()
    return [
        {
            "id": uuid.uuid4(),
            "at": now,
            "staff_id": principal.id,
            "staff_role": principal.role.value,
            "staff_org_id": principal.org_id,
            "citizen_id": citizen_id,
            "fields": sorted(set(fields)),
            "route": access.route,
            "purpose": access.purpose,
            "resource": resource[:64] if resource else None,
            "client_ip": access.client_ip,
        }
        for citizen_id, fields, resource in reads
        if citizen_id is not None and fields
    ]


def record(
    session: AsyncSession,
    principal: Principal,
    access: Access | None,
    reads: Iterable[tuple[uuid.UUID | None, Iterable[str], str | None]],
) -> int:
    """Add one row per (citizen, fields shown, resource) a staff account was shown; nothing for a citizen
    reading their own data. Rows join the session's transaction (the request's autocommit or the service's
    own commit). Returns how many rows were added."""
    rows = _rows(principal, access, reads)
    session.add_all([PersonalDataAccess(**row) for row in rows])
    return len(rows)


_INSERT = PersonalDataAccess.__table__.insert()  # type: ignore[attr-defined]


async def write(
    session: AsyncSession,
    principal: Principal,
    access: Access | None,
    reads: Iterable[tuple[uuid.UUID | None, Iterable[str], str | None]],
) -> int:
    """``record`` as one Core multi-row insert executed at once in the session's transaction (no ORM objects,
    no flush: on PostgreSQL one ``INSERT ... VALUES (...), (...)`` through insertmanyvalues), for hot reads
    that commit before they answer (``backend.planning.route_answer``). Returns how many rows were written."""
    rows = _rows(principal, access, reads)
    if rows:
        await session.execute(_INSERT, rows)
    return len(rows)


def _day_bounds(stmt: Any, first: date | None, last: date | None) -> Any:
    if first:
        stmt = stmt.where(col(PersonalDataAccess.at) >= vn_day_start(first))
    if last:
        stmt = stmt.where(col(PersonalDataAccess.at) < vn_day_start(last + timedelta(days=1)))
    return stmt


async def _org_codes(session: AsyncSession, rows: list[PersonalDataAccess]) -> dict[uuid.UUID, Organisation]:
    ids = {r.staff_org_id for r in rows if r.staff_org_id}
    if not ids:
        return {}
    return {o.id: o for o in (await session.exec(select(Organisation).where(col(Organisation.id).in_(ids))))}


async def list_accesses(
    session: AsyncSession,
    paging: Paging,
    *,
    citizen_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
    first: date | None = None,
    last: date | None = None,
) -> tuple[list[PersonalDataAccessPublic], int]:
    """The audit for an admin, newest first, filtered by citizen, staff account and Vietnam days."""
    stmt = select(PersonalDataAccess)
    if citizen_id:
        stmt = stmt.where(PersonalDataAccess.citizen_id == citizen_id)
    if staff_id:
        stmt = stmt.where(PersonalDataAccess.staff_id == staff_id)
    stmt = _day_bounds(stmt, first, last).order_by(
        col(PersonalDataAccess.at).desc(), col(PersonalDataAccess.id)
    )
    rows, total = await fetch_page(session, stmt, paging)
    orgs = await _org_codes(session, rows)
    return [
        PersonalDataAccessPublic(
            **r.model_dump(),
            staff_org=orgs[r.staff_org_id].code if r.staff_org_id in orgs else None,
        )
        for r in rows
    ], total


async def citizen_accesses(
    session: AsyncSession, citizen_id: uuid.UUID, paging: Paging
) -> tuple[list[DataAccessSeen], int]:
    """What a citizen is told about reads of their data (art. 9): when, which organisation and role, which
    fields, why. Not the staff member's account or network address: those are the staff member's own
    personal data, kept for the admin's audit (a citizen's complaint is answered from it)."""
    stmt = (
        select(PersonalDataAccess)
        .where(PersonalDataAccess.citizen_id == citizen_id)
        .order_by(col(PersonalDataAccess.at).desc(), col(PersonalDataAccess.id))
    )
    rows, total = await fetch_page(session, stmt, paging)
    orgs = await _org_codes(session, rows)
    items = []
    for r in rows:
        org = orgs.get(r.staff_org_id) if r.staff_org_id else None
        items.append(
            DataAccessSeen(
                at=r.at,
                role=r.staff_role,
                organisation=ReaderOrganisation(code=org.code, name=org.name) if org else None,
                fields=r.fields,
                route=r.route,
                purpose=r.purpose,
                resource=r.resource,
            )
        )
    return items, total
