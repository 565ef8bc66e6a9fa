"""HTTP for the loops of issue 20: the return offer of a result or of returned papers (see the offered windows,
choose one), the citizen's switch between postal return and counter pickup, and the courier's scan of a
supplement at the door. Thin: the rules are ``services/return_offers.py``, ``services/postal_return.py`` and
``services/supplements.py``. Its own module beside ``controllers.py`` (scripts/check_sizes.py); mounted from
``backend/app.py``'s ROUTES."""

from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.services import access_of
from backend.custody import codeguard, views
from backend.custody.controllers import deps, publish
from backend.custody.services import postal_return, return_offers, supplements
from backend.lib.auth import Principal, requires
from backend.lib.openapi import CITIZEN_APP, COURIER_APP, problems
from schemas.dossier_answers import DossierDetail
from schemas.enums import Role
from schemas.returns import PostalReturnIn, ReturnChoice, ReturnOfferOut, SupplementIn

_CITIZEN = requires(Role.citizen, Role.admin)


class ReturnController(Controller):
    path = "/dossiers"
    dependencies = deps

    @get(
        "/{item_id:str}/return-offer",
        guards=[_CITIZEN],
        tags=[CITIZEN_APP],
        summary="See the return offer of a dossier: the delivery windows to choose from",
        description=(
            "For the dossier's own citizen (others: 404 as for an unknown id). When the result, or papers the "
            "desk refused or the citizen withdrew, wait at the desk and the citizen chose postal return, "
            "`status` is `offered`, `windows` lists the delivery windows that may be booked now at the offer's "
            "address (earliest first, only those the day's routes can absorb) and `answer_by` is when, with no "
            "choice, the earliest of them is booked automatically (`auto_booked`). `none`: no offer."
        ),
        responses=problems(404, 422),
    )
    async def get_return_offer(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[str],
    ) -> ReturnOfferOut:
        out = await return_offers.view(db_session, principal, item_id)
        await db_session.rollback()  # read only (the dossier was read for update)
        return out

    @post(
        "/{item_id:str}/return-offer",
        guards=[_CITIZEN],
        status_code=200,
        tags=[CITIZEN_APP],
        summary="Choose a delivery window for the result or the returned papers",
        description=(
            "Books a home delivery of the dossier's result in the window starting at `start` (one of the "
            "offered windows), at the offer's address or at `lat`/`lon` given here. Recorded as an event on the "
            "dossier with the booking's own event and confirmation, in one transaction. 409 "
            "`return_choice_closed` when no offer is open (the result left the desk, counter pickup), 409 "
            "`return_already_booked` once booked (change it through the appointment), 409 `window_full`, 422 "
            "for a window that cannot be booked."
        ),
        responses=problems(404, 409, 422),
    )
    async def choose_return_window(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[str],
        data: JSONBody[ReturnChoice],
    ) -> ReturnOfferOut:
        place = (data.lat, data.lon, data.address)
        return await return_offers.choose(db_session, principal, item_id, data.start, place)

    @put(
        "/{item_id:str}/postal-return",
        guards=[_CITIZEN],
        tags=[CITIZEN_APP],
        summary="Choose postal return or counter pickup of the result",
        description=(
            "`postal_return: true` asks for the result (or the returned papers) by post, `false` for counter "
            "pickup, at any time before the result leaves the desk; after that 409 `return_choice_closed`. "
            "Switching on while the result waits at the desk offers delivery windows at once (notification); "
            "switching off withdraws the offer and cancels a booked delivery. Each change is an event on the "
            "dossier. 422 `postal_return_not_allowed` when the procedure's results cannot be posted."
        ),
        responses=problems(404, 409, 422),
    )
    async def set_postal_return(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[str],
        data: JSONBody[PostalReturnIn],
    ) -> ReturnOfferOut:
        return await postal_return.set_postal_return(db_session, principal, item_id, data)

    @post(
        "/{item_id:str}/supplements",
        guards=[requires(Role.courier, Role.dispatcher, Role.admin)],
        status_code=201,
        tags=[COURIER_APP],
        summary="Record the supplement collected at the door",
        description=(
            "The courier's scan of a supplement pickup (a visit booked with this dossier): the dossier waiting "
            "for a supplement moves to `supplement_in_transit` with the courier as its holder (event `EBS`, "
            "what was handed over in `documents`, default the whole missing list), the visit is completed and "
            "the citizen told. The legal clock stays paused until the desk receives the supplement (`TNB`, by "
            "the courier's handover to the desk), which resumes it (Decree 118/2025/NĐ-CP). Staff of the post "
            "office of the visit (else of the dossier); others 404. 409 `not_awaiting_supplement`. The citizen "
            "confirms with today's handover code or a signature photo (`confirmation`, as for a pickup; 422 "
            "`confirmation_required`); wrong codes count towards the daily lock (429 with `Retry-After`)."
        ),
        responses=problems(404, 409, 422, 429),
    )
    async def collect_supplement(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[str],
        data: JSONBody[SupplementIn],
    ) -> DossierDetail:
        async with codeguard.guarded(db_session):  # a wrong handover code counts though the scan is refused
            dossier, effects = await supplements.collect(db_session, principal, item_id, data)
        publish(request, effects)
        detail = await views.dossier_detail(db_session, principal, dossier.item_id, access_of(request))
        return DossierDetail.model_validate(detail)


ROUTES = [ReturnController]
