"""The citizen's choice of postal return or counter pickup, at any time before the result leaves the desk
(issue 20; Decision 45/2016/QĐ-TTg: results are returned by post on the citizen's request).

Switching on while the result (or the returned papers) waits at the desk offers delivery windows at once;
switching off withdraws the offer and cancels a booked delivery. Either is an event on the dossier (who, when),
written with its notifications in one transaction. Once the result has left the desk (dispatched to the post
office, out for delivery, back at the desk after failed attempts, delivered) the answer is 409
``return_choice_closed``.
"""

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking.services.returns import cancel_visit
from backend.custody import transitions as tr
from backend.custody.services import return_offers as offers
from backend.custody.services.access import result_of
from backend.lib.auth import Principal
from backend.lib.problems import Problem
from notifications.outbox import enqueue
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.returns import PostalReturnIn, ReturnOffer, ReturnOfferOut, ReturnOfferStatus

S = tr.Status
# The result is no longer at the desk: the choice is made.
LEFT_DESK = frozenset(
    {S.result_in_transit, S.result_at_post_office, S.out_for_delivery, S.delivery_failed, S.returned_to_desk}
    | set(tr.FINAL_STATUSES)
)


async def set_postal_return(
    session: AsyncSession,
    principal: Principal,
    raw: str,
    body: PostalReturnIn,
    *,
    now: datetime | None = None,
) -> ReturnOfferOut:
    now = now or utcnow()
    dossier = await offers.own_dossier(session, principal, raw)
    if dossier.status in LEFT_DESK:
        raise Problem(
            409,
            "Kết quả đã rời Bộ phận Một cửa: không đổi được cách nhận / "
            "The result has left the desk: the way of return cannot change",
            code="return_choice_closed",
            extra={"current_status": dossier.status},
        )
    wanted = body.postal_return
    if wanted:
        procedure = await session.get(Procedure, dossier.procedure_id)
        if procedure is None or not procedure.postal_return:
            raise Problem(
                422,
                "Thủ tục này không trả kết quả qua bưu chính / results of this procedure cannot be posted",
                code="postal_return_not_allowed",
            )
    place = (body.lat, body.lon, body.address) if body.lat is not None and body.lon is not None else None
    if wanted == dossier.postal_return and place is None:
        return await offers.describe(session, dossier, now)  # nothing changes, nothing recorded
    dossier.postal_return = wanted
    if place is not None:  # where to deliver, for the offer made when the result is ready
        dossier.data = {
            **(dossier.data or {}),
            "return_place": {"lat": place[0], "lon": place[1], "address": place[2]},
        }
    event = offers.note_event(session, principal, dossier, "YBC" if wanted else "YTQ", now, {})
    result = await result_of(session, dossier)
    if result is not None:
        result.counter_pickup = not wanted
    if dossier.status == S.result_ready and wanted and not await offers.booked_delivery(session, dossier):
        lat, lon, address = place or (None, None, None)
        answer_by = await offers.make_offer(session, dossier, now, lat=lat, lon=lon, address=address)
        assert answer_by is not None and dossier.citizen_id is not None
        enqueue(
            session,
            recipient_kind="citizen",
            recipient_id=dossier.citizen_id,
            template="dossier.return_offer",
            params={"item_id": dossier.item_id, "due_at": answer_by},
            dedupe_key=f"dossier.return_offer:{event.id}",
        )
    elif not wanted:
        await session.execute(
            update(ReturnOffer)
            .where(col(ReturnOffer.dossier_id) == dossier.id)
            .values(status=ReturnOfferStatus.withdrawn.value, decided_at=now, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        for appt in await offers.booked_delivery(session, dossier):
            await cancel_visit(session, appt, principal, "Nhận kết quả tại quầy / Counter pickup chosen", now)
    await session.commit()
    return await offers.describe(session, dossier, now)
