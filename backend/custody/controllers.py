"""HTTP for dossiers, events, handovers, proofs and public tracking (thin: the rules live in services)."""

import logging
import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.services import access_of
from backend.custody import codeguard, handovers, ids, services, sync, views
from backend.lib import answer_cache
from backend.lib.auth import Principal, provide_principal, requires, signed_in, staff_only
from backend.lib.openapi import CITIZEN_APP, CONSOLE, COURIER_APP, problems
from backend.lib.paging import Paging, provide_paging
from backend.lib.problems import Problem
from schemas.base import NAIVE_TIME, utcnow
from schemas.dossier_answers import (
    BatchResult,
    DossierDetail,
    DossierPage,
    DossierSummary,
    HandoverCode,
    HandoverOut,
    HandoverPage,
    ReservedItemIds,
    Tracking,
)
from schemas.dossiers import (
    BatchIn,
    DossierCreate,
    EventIn,
    HandoverConfirm,
    HandoverCreate,
    HandoverStatus,
    ItemIdRequest,
)
from schemas.enums import Role
from schemas.vntime import vn_date

log = logging.getLogger("backend.custody")

deps = {
    "principal": Provide(provide_principal),
    "paging": Provide(provide_paging, sync_to_thread=False),
}

# Staff reading a citizen's name or phone through these answers is written to the personal-data audit.
PURPOSE = (
    "Staff may say why they read it in `X-Purpose` (percent-encoded) or `?purpose=`; a read of the citizen's "
    "name or phone is written to the personal-data audit (Decree 13/2023/NĐ-CP)."
)


def publish(request: Request[Any, Any, Any], effects: services.Effects) -> None:
    """After the commit: tell the desks' live consoles. Best effort, the database is the record."""
    channels = getattr(request.app.state, "channels", None)
    if channels is None or not effects.feed:
        return
    try:
        from notifications.feed import publish_desk_event
    except ImportError:  # pragma: no cover - the feed module ships with notifications
        return
    for desk_id, payload in effects.feed:
        try:
            publish_desk_event(channels, desk_id, payload)
        except Exception:
            log.warning("desk feed publish failed for %s", desk_id, exc_info=True)


def handover_model(body: dict[str, Any]) -> HandoverOut:
    return msgspec.convert(body, HandoverOut, from_attributes=True)


class TrackController(Controller):
    path = "/track"

    @get(
        "/{item_id:str}",
        exclude_from_auth=True,
        tags=[CITIZEN_APP],
        summary="Track a dossier or result by its item id",
        description=(
            "Public, no sign-in: the status, the due date and the timeline of a dossier (HS…) or of its result "
            "(KQ…), with office names and times only — nothing about the citizen or the documents, and never "
            "the place a courier typed. An unknown or malformed id is 404 / 422."
        ),
        responses=problems(404, 422, 429),
        **answer_cache.public(),  # rendered once per change of the dossier (ETag, 304), limited per client
    )
    async def track_item(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        item_id: FromPath[str],
    ) -> Response[Tracking]:
        async def load() -> tuple[Tracking, list[str]]:
            found = await views.track(db_session, item_id)
            tags = [answer_cache.dossier_tag(found.pop("dossier_id")), answer_cache.table_tag("organisation")]
            return Tracking.model_validate(found), tags

        return await answer_cache.serve(request, load)


class DossierController(Controller):
    path = "/dossiers"
    dependencies = deps

    @get(
        "/",
        guards=[signed_in],
        tags=[CONSOLE],
        summary="List the dossiers the caller may see",
        description=(
            "Scoped to the caller: staff see their organisation's dossiers (held, handled, or coming to them), "
            "a courier what they carry or is being handed to them, a citizen their own, an admin all. "
            "`view` gives the desk console's lists: `incoming` (in a pending handover to the caller), "
            "`on_hand`, `outgoing`, `due_soon` (due within two working days), `overdue` and "
            "`return_unplaceable` (a postal return with no address to deliver to: the citizen was asked for "
            "one; call them). `status` takes "
            "several statuses separated by commas; `custodian` a custodian kind or an organisation code; "
            "`q` an item id (dossier or result), the agency's own code or the citizen's phone. Ordered by due "
            "date; paged with `limit`/`offset`."
        ),
        responses=problems(422),
    )
    async def list_dossiers(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        paging: NamedDependency[Paging],
        status: Annotated[str | None, QueryParameter(max_length=200)] = None,
        custodian: Annotated[str | None, QueryParameter(max_length=32)] = None,
        due_before: FromQuery[datetime | None] = None,
        overdue: FromQuery[bool | None] = None,
        view: Annotated[
            str | None,
            QueryParameter(pattern="^(incoming|on_hand|outgoing|due_soon|overdue|return_unplaceable)$"),
        ] = None,
        q: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> DossierPage:
        if due_before is not None and due_before.utcoffset() is None:
            raise Problem(422, f"due_before: {NAIVE_TIME}", code="naive_time")
        items, total = await views.list_dossiers(
            db_session,
            principal,
            paging,
            status=status,
            custodian=custodian,
            due_before=due_before,
            overdue=overdue,
            view=view,
            q=q,
        )
        return DossierPage(
            items=[DossierSummary.model_validate(i) for i in items],
            total=total,
            limit=paging.limit,
            offset=paging.offset,
        )

    @post(
        "/",
        guards=[requires(Role.courier, Role.dispatcher, Role.desk, Role.admin)],
        status_code=201,
        tags=[COURIER_APP],
        summary="Create a dossier at a home pickup, a post-office counter or a desk",
        description=(
            "A courier at a home pickup (`home_pickup`), a post-office clerk at the counter (`post_office`), or "
            "a desk clerk (`direct`, `online` with `postal_return`). The courier checks each required document "
            "as original or copy (Circular 17/2017/TT-BTTTT art. 5) and the citizen confirms with today's "
            "handover code or a signature photo (`POST /proofs`). `item_id` is a label reserved in advance "
            "(`POST /couriers/me/item-ids`), else one is issued now; a label already used is 409. Writes the "
            "dossier's first event, notifies the citizen (`dossier.picked_up` for a pickup) and the desk's live "
            "console. Wrong handover codes count towards the daily lock (429 with `Retry-After`). Answers the "
            f"dossier as `GET /dossiers/{{item_id}}` does. {PURPOSE}"
        ),
        responses=problems(409, 422, 429),
    )
    async def create_dossier(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[DossierCreate],
    ) -> DossierDetail:
        async with codeguard.guarded(db_session):  # a wrong handover code counts though the pickup is refused
            dossier, effects = await services.create_dossier(db_session, principal, data, commit=False)
        await db_session.commit()
        publish(request, effects)
        detail = await views.dossier_detail(db_session, principal, dossier.item_id, access_of(request))
        return DossierDetail.model_validate(detail)

    @get(
        "/{item_id:str}",
        guards=[signed_in],
        tags=[CONSOLE],
        summary="Get one dossier with its timeline and chain of custody",
        description=(
            "For those who hold or held the dossier (staff of those organisations, the courier), its citizen, "
            "and admins; anyone else gets the same 404 as for an unknown id. `allowed_events` lists the event "
            "codes the caller may record next. The citizen's phone and name are shown to the citizen, to staff "
            "of an office that handles it (an agency: the name and a masked phone), and to a courier only while "
            f"carrying it; the pickup checklist to staff and the courier who made it. {PURPOSE}"
        ),
        responses=problems(404, 422),
    )
    async def get_dossier(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[str],
    ) -> DossierDetail:
        detail = await views.dossier_detail(db_session, principal, item_id, access_of(request))
        return DossierDetail.model_validate(detail)

    @post(
        "/{item_id:str}/events",
        guards=[staff_only],
        status_code=201,
        tags=[CONSOLE],
        summary="Record an event of a dossier (receive, forward, decide, deliver…)",
        description=(
            "Staff record the next step with its UPU-style code: only the transitions of the table "
            "(`backend/custody/transitions.py`) for the caller's role and the dossier's status are allowed, "
            "else 409 `invalid_transition` with `allowed`. Only the current custodian records a live event. "
            "Receiving starts the legal clock (Decree 118/2025/NĐ-CP), a supplement request pauses it; the "
            "citizen is notified of pickups, supplement requests, results ready, out for delivery, failed and "
            "completed deliveries, and the desks' live consoles are told. A delivery needs a recipient check "
            "(handover code, national id, or a registered authorisation: `GET /dossiers/{item_id}/recipients`) "
            "whose wrong answers count towards the daily lock "
            f"(429). Answers the updated dossier. {PURPOSE}"
        ),
        responses=problems(404, 409, 422, 429),
    )
    async def record_dossier_event(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[str],
        data: JSONBody[EventIn],
    ) -> DossierDetail:
        async with codeguard.guarded(db_session):  # a wrong recipient check counts though it is refused
            dossier, _, effects = await services.record_event(
                db_session, principal, item_id, data, commit=False
            )
        await db_session.commit()
        publish(request, effects)
        detail = await views.dossier_detail(db_session, principal, dossier.item_id, access_of(request))
        return DossierDetail.model_validate(detail)


class EventsController(Controller):
    path = "/events"
    dependencies = deps

    @post(
        "/batch",
        guards=[requires(Role.courier, Role.dispatcher)],
        status_code=200,
        tags=[COURIER_APP],
        summary="Sync pickups and events recorded offline",
        description=(
            "The couriers' app sends what it recorded with no network: home pickups on reserved labels "
            "(`pickups`) and events (`events`), each with its own `client_event_id` and the device's time "
            "(`client_at`). Applied in device-time order, each on its own: the answer says per item whether it "
            "was accepted, and a rejected one carries its problem's `error` code and `detail`. Idempotent: an "
            "item already applied answers `duplicate: true` and changes nothing, so a batch may be replayed "
            "after a lost answer. An event older than the dossier's latest one is kept as history "
            "(`historical`) when it was allowed at its time. Notifications and desk feeds as for live events."
        ),
    )
    async def sync_offline_events(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[BatchIn],
    ) -> BatchResult:
        result, effects = await sync.apply_batch(db_session, principal, data)
        publish(request, effects)
        return BatchResult.model_validate(result)


class HandoverController(Controller):
    path = "/handovers"
    dependencies = deps
    guards = [staff_only]

    @post(
        "/",
        status_code=201,
        tags=[COURIER_APP],
        summary="Hand items over to another custodian",
        description=(
            "The sender lists the items (`items`, S10 ids of dossiers or results) and the receiver (`to`: an "
            "organisation code or a courier's username): a courier to their post office, a post office to a "
            "desk, a desk to an agency or back. Only items in the sender's hands can go (409 with `items` "
            "saying why each cannot); custody moves only when the receiver confirms. The receiving desk is "
            "notified (`desk.incoming_batch`) and its live console told."
        ),
        responses=problems(409, 422),
    )
    async def create_handover(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[HandoverCreate],
    ) -> HandoverOut:
        h, effects = await handovers.create_handover(db_session, principal, data)
        publish(request, effects)
        return handover_model(await handovers.handover_out(db_session, h))

    @get(
        "/",
        tags=[COURIER_APP],
        summary="List the caller's handovers",
        description=(
            "Handovers sent by or to the caller (a courier: their own; other staff: their organisation's; an "
            "admin: all), newest first. `direction` is `incoming` or `outgoing`; `status` filters. Paged with "
            "`limit`/`offset`."
        ),
    )
    async def list_handovers(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        paging: NamedDependency[Paging],
        status: FromQuery[HandoverStatus | None] = None,
        direction: Annotated[str | None, QueryParameter(pattern="^(incoming|outgoing)$")] = None,
    ) -> HandoverPage:
        items, total = await handovers.list_handovers(
            db_session, principal, paging, status=status, direction=direction
        )
        return HandoverPage(
            items=[handover_model(i) for i in items], total=total, limit=paging.limit, offset=paging.offset
        )

    @get(
        "/{handover_id:uuid}",
        tags=[COURIER_APP],
        summary="Get one handover with its manifest",
        description="For the sender and the receiver (their organisations) and admins; others get 404.",
        responses=problems(404),
    )
    async def get_handover(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        handover_id: FromPath[uuid.UUID],
    ) -> HandoverOut:
        h = await handovers.get_handover(db_session, principal, handover_id)
        return handover_model(await handovers.handover_out(db_session, h))

    @post(
        "/{handover_id:uuid}/confirm",
        status_code=200,
        tags=[COURIER_APP],
        summary="Confirm a handover by scanning what arrived",
        description=(
            "The receiver scans the items that arrived (`scanned`): custody moves for those on the manifest; "
            "items missing or extra become discrepancies, the sender keeps custody of a missing one, and the "
            "offices' desk clerks and dispatchers are notified (`desk.discrepancy`). Only the receiver "
            "confirms (403 `not_receiver`), once (409 `already_confirmed`)."
        ),
        responses=problems(404, 409, 422),
    )
    async def confirm_handover(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        handover_id: FromPath[uuid.UUID],
        data: JSONBody[HandoverConfirm],
    ) -> HandoverOut:
        h, effects = await handovers.confirm_handover(db_session, principal, handover_id, data)
        publish(request, effects)
        return handover_model(await handovers.handover_out(db_session, h))


class HandoverCodeController(Controller):
    path = "/handover-code"
    dependencies = deps

    @get(
        "/",
        guards=[requires(Role.citizen)],
        tags=[CITIZEN_APP],
        summary="Get my handover code for today",
        description=(
            "The six-digit code the citizen reads to the courier at a home pickup or a result delivery; it "
            "changes every Vietnam day. Wrong codes entered by staff lock it for the day after "
            "`HANDOVER_CODE_MAX_FAILURES`. Changes nothing."
        ),
    )
    async def get_handover_code(self, principal: NamedDependency[Principal]) -> HandoverCode:
        today = vn_date(utcnow())
        return HandoverCode(code=services.handover_code(principal.id, today), valid_on=today)


@post(
    "/couriers/me/item-ids",
    guards=[requires(Role.courier)],
    dependencies=deps,
    tags=[COURIER_APP],
    status_code=201,
    summary="Reserve item-id labels for offline pickups",
    description=(
        "Labels (S10 dossier ids) for pickups the courier may have to record with no network, then sent with "
        "`POST /events/batch`; each is valid until `expires_at` (`ITEM_ID_TTL_DAYS`) and used once. 409 "
        "`item_id_quota` (with `outstanding`, `limit`, `available`) when the courier would hold more than "
        "`ITEM_ID_MAX_OUTSTANDING` unused labels. Not idempotent: each call reserves new labels."
    ),
    responses=problems(409, 503),
)
async def reserve_item_ids(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    data: JSONBody[ItemIdRequest],
) -> ReservedItemIds:
    return ReservedItemIds.model_validate(await ids.reserve_item_ids(db_session, principal.id, data.count))


ROUTES = [
    reserve_item_ids,
    TrackController,
    DossierController,
    EventsController,
    HandoverController,
    HandoverCodeController,
]
