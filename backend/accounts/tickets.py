"""Single-use, short-lived tickets that open a desk's live feed (server-sent events).

A browser's EventSource cannot send an Authorization header, and a bearer token in a URL is written to access
logs, proxies' logs and the browser's history. So the console asks for a ticket with its bearer header
(``POST /desks/{desk}/feed-ticket``) and opens ``/desks/{desk}/feed?ticket=``: the ticket is random, lives
TICKET_TTL_S seconds, opens one feed once and is worthless afterwards. Only its SHA-256 is stored, in the
database, so any process can redeem a ticket another process issued; redeeming deletes the row in one
statement (``DELETE … RETURNING``), so two concurrent uses cannot both succeed.
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import Problem
from schemas.accounts import StreamTicket
from schemas.base import utcnow

TICKET_TTL_S = 60
_TICKET = StreamTicket.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Redeemed:
    user_id: uuid.UUID
    token_version: int
    desk_id: uuid.UUID


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode("utf-8", "surrogatepass")).hexdigest()


async def issue(session: AsyncSession, principal: Principal, desk_id: uuid.UUID) -> tuple[str, int]:
    """A new ticket for ``principal`` (already checked) to open ``desk_id``'s feed once."""
    now = utcnow()
    await session.execute(delete(_TICKET).where(_TICKET.c.expires_at < now))  # expired ones are litter
    ticket = secrets.token_urlsafe(32)
    session.add(
        StreamTicket(
            ticket_hash=_digest(ticket),
            user_id=principal.id,
            token_version=principal.ver,
            desk_id=desk_id,
            expires_at=now + timedelta(seconds=TICKET_TTL_S),
        )
    )
    await session.commit()
    return ticket, TICKET_TTL_S


async def redeem(session: AsyncSession, ticket: str) -> Redeemed:
    """Consume the ticket: whose it was and for which desk. Unknown, used or expired: 401."""
    row = (
        await session.execute(
            delete(_TICKET)
            .where(_TICKET.c.ticket_hash == _digest(ticket))
            .returning(_TICKET.c.user_id, _TICKET.c.token_version, _TICKET.c.desk_id, _TICKET.c.expires_at)
        )
    ).first()
    await session.commit()
    if row is None or row.expires_at <= utcnow():
        raise Problem(
            401,
            "Vé mở luồng sự kiện không hợp lệ, đã dùng hoặc đã hết hạn; hãy xin vé mới / "
            "The feed ticket is invalid, used or expired; ask for a new one",
            code="invalid_ticket",
        )
    return Redeemed(user_id=row.user_id, token_version=int(row.token_version), desk_id=row.desk_id)
