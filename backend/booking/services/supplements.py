"""A pickup that carries an existing dossier: the supplement the agency asked for (issue 20).

Decree 118/2025/NĐ-CP: when a dossier needs supplementing, the citizen is told once what is missing and the
clock stops until the supplement is received. The supplement travels with its dossier: the booking names the
dossier (its S10 id) instead of a procedure, only the dossier's own citizen may book it, and only while the
dossier waits for the supplement. The visit charges the postal fee only (the procedure's fee and charge were
paid at filing).
"""

import uuid

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.problems import Problem, not_found
from schemas import s10
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier, DossierStatus


async def supplement_dossier(
    session: AsyncSession, citizen_id: uuid.UUID | None, raw: str
) -> tuple[Procedure | None, str]:
    """The dossier a supplement pickup carries (and its procedure), checked: it exists, it is the citizen's
    (else the same 404 as an unknown id) and it waits for a supplement (else 409)."""
    try:
        item_id = s10.parse(raw).item_id
    except s10.S10Error as exc:
        raise Problem(422, str(exc), code="invalid_item_id") from None
    dossier = (await session.exec(select(Dossier).where(Dossier.item_id == item_id))).one_or_none()
    if dossier is None or citizen_id is None or dossier.citizen_id != citizen_id:
        raise not_found("hồ sơ / dossier", item_id)
    if dossier.status != DossierStatus.awaiting_supplement:
        raise Problem(
            409,
            f"Hồ sơ {item_id} không ở trạng thái chờ bổ sung / Dossier {item_id} is not waiting for a supplement",
            code="not_awaiting_supplement",
            extra={"current_status": dossier.status},
        )
    return await session.get(Procedure, dossier.procedure_id), item_id
