"""What every change of a rating or complaint writes beside it, in its transaction: its event row (who, role,
when in UTC, from where) and, for the citizen, a notification through the outbox."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from notifications import outbox
from schemas.feedback import FeedbackEvent


@dataclass(frozen=True)
class Actor:
    """The caller of a change and where the request came from (``backend.lib.clientip.caller_ip``)."""

    principal: Principal
    client_ip: str | None = None


def record(
    session: AsyncSession,
    actor: Actor,
    kind: str,
    subject_id: uuid.UUID,
    type_: str,
    at: datetime,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        FeedbackEvent(
            kind=kind,
            subject_id=subject_id,
            type=type_,
            at=at,
            actor_role=actor.principal.role.value,
            actor_id=actor.principal.id,
            client_ip=actor.client_ip,
            data=data or {},
        )
    )


def notify(
    session: AsyncSession,
    citizen_id: uuid.UUID,
    template: str,
    params: dict[str, Any],
    dedupe_key: str,
) -> None:
    outbox.enqueue(
        session,
        recipient_kind="citizen",
        recipient_id=citizen_id,
        template=template,
        params=params,
        dedupe_key=dedupe_key,
    )
