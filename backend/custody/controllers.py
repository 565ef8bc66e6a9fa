"""HTTP for dossiers, events, handovers, proofs and public tracking (thin: the rules live in services)."""

import logging
import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import ETag, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, QueryParameter
from litestar.response import File
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.services import access_of
from backend.custody import codeguard, handovers, ids, services, sync, views
from backend.custody.proofs import MAX_BYTES, readable_proof, store_proof
from backend.lib.auth import Principal, provide_principal, requires, signed_in, staff_only
from backend.lib.paging import Paging, page, provide_paging
from backend.lib.problems import Problem
from schemas.base import NAIVE_TIME, utcnow
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


class TrackController(Controller):
    path = "/track"
    tags = ["tracking"]

    @get("/{item_id:str}", exclude_from_auth=True)
    async def track(
        self, db_session: NamedDependency[AsyncSession], item_id: FromPath[str]
    ) -> dict[str, Any]:
        """Public tracking: status and timeline with office names and times; nothing personal."""
        return await views.track(db_session, item_id)


class DossierController(Controller):
    path = "/dossiers"
    tags = ["dossiers"]
    dependencies = deps

    @get("/", guards=[signed_in])
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
            str | None, QueryParameter(pattern="^(incoming|on_hand|outgoing|due_soon|overdue)$")
        ] = None,
        q: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> dict[str, Any]:
        """Dossiers scoped to the caller (staff: their organisation; courier: what they carry; citizen: own).
        Views: incoming, on_hand, outgoing, due_soon, overdue. ``q``: item id, agency code or phone."""
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
        return page(items, total, paging)

    @post("/", guards=[requires(Role.courier, Role.dispatcher, Role.desk, Role.admin)], status_code=201)
    async def create_dossier(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[DossierCreate],
    ) -> dict[str, Any]:
        """A courier at a home pickup, a post-office counter, or a desk (direct/online with postal return)."""
        async with codeguard.guarded(db_session):  # a wrong handover code counts though the pickup is refused
            dossier, effects = await services.create_dossier(db_session, principal, data, commit=False)
        await db_session.commit()
        publish(request, effects)
        return await views.dossier_detail(db_session, principal, dossier.item_id, access_of(request))

    @get("/{item_id:str}", guards=[signed_in])
    async def get_dossier(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[str],
    ) -> dict[str, Any]:
        """One dossier (those who hold or held it, its citizen). ``X-Purpose`` says why, for the audit of
        staff reading the citizen's data."""
        return await views.dossier_detail(db_session, principal, item_id, access_of(request))

    @post("/{item_id:str}/events", guards=[staff_only], status_code=201)
    async def record_event(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[str],
        data: JSONBody[EventIn],
    ) -> dict[str, Any]:
        """Record one event; 409 with the allowed codes when the transition is not allowed."""
        async with codeguard.guarded(db_session):  # a wrong recipient check counts though it is refused
            dossier, _, effects = await services.record_event(
                db_session, principal, item_id, data, commit=False
            )
        await db_session.commit()
        publish(request, effects)
        return await views.dossier_detail(db_session, principal, dossier.item_id, access_of(request))


class EventsController(Controller):
    path = "/events"
    tags = ["dossiers"]
    dependencies = deps

    @post("/batch", guards=[requires(Role.courier, Role.dispatcher)], status_code=200)
    async def batch(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[BatchIn],
    ) -> dict[str, Any]:
        """Offline sync: per-event accepted/rejected; replaying a batch changes nothing."""
        result, effects = await sync.apply_batch(db_session, principal, data)
        publish(request, effects)
        return result


class HandoverController(Controller):
    path = "/handovers"
    tags = ["handovers"]
    dependencies = deps
    guards = [staff_only]

    @post("/", status_code=201)
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[HandoverCreate],
    ) -> dict[str, Any]:
        h, effects = await handovers.create_handover(db_session, principal, data)
        publish(request, effects)
        return await handovers.handover_out(db_session, h)

    @get("/")
    async def list_handovers(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        paging: NamedDependency[Paging],
        status: FromQuery[HandoverStatus | None] = None,
        direction: Annotated[str | None, QueryParameter(pattern="^(incoming|outgoing)$")] = None,
    ) -> dict[str, Any]:
        items, total = await handovers.list_handovers(
            db_session, principal, paging, status=status, direction=direction
        )
        return page(items, total, paging)

    @get("/{handover_id:uuid}")
    async def get_handover(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        handover_id: FromPath[uuid.UUID],
    ) -> dict[str, Any]:
        h = await handovers.get_handover(db_session, principal, handover_id)
        return await handovers.handover_out(db_session, h)

    @post("/{handover_id:uuid}/confirm", status_code=200)
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        handover_id: FromPath[uuid.UUID],
        data: JSONBody[HandoverConfirm],
    ) -> dict[str, Any]:
        """The receiver's scan: custody moves for scanned items; missing/extra become discrepancies."""
        h, effects = await handovers.confirm_handover(db_session, principal, handover_id, data)
        publish(request, effects)
        return await handovers.handover_out(db_session, h)


class ProofController(Controller):
    path = "/proofs"
    tags = ["dossiers"]
    dependencies = deps

    @get("/{proof_id:uuid}", guards=[signed_in])
    async def download(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        proof_id: FromPath[uuid.UUID],
    ) -> File:
        """The image, for whoever may see it: the uploader, staff of their office, an admin, and readers of a
        dossier that cites it (pickup signature, delivery proof). Others get 404."""
        proof, path = await readable_proof(
            db_session, principal, request.app.state.settings.upload_dir, proof_id
        )
        return File(
            path=path,
            media_type=proof.content_type,
            content_disposition_type="inline",
            filename=f"{proof.kind}-{proof.id.hex}{path.suffix}",
            headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
            etag=ETag(value=proof.sha256),
        )

    @post(
        "/",
        status_code=201,
        request_max_body_size=MAX_BYTES + 64 * 1024,
        guards=[requires(Role.courier, Role.dispatcher, Role.desk, Role.admin)],
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: MultipartBody[dict[str, Any]],
    ) -> dict[str, Any]:
        """A photo, signature or authorisation letter (PNG/JPEG/WebP, at most 5 MB); returns its id."""
        upload = data.get("file")
        if not isinstance(upload, UploadFile):
            raise Problem(422, "Thiếu tệp 'file' / missing 'file' part", code="file_required")
        kind = str(data.get("kind") or "photo")
        content = await upload.read(MAX_BYTES + 1)
        proof = await store_proof(db_session, principal, request.app.state.settings.upload_dir, kind, content)
        return {
            "id": str(proof.id),
            "kind": proof.kind,
            "content_type": proof.content_type,
            "size": proof.size,
        }


class HandoverCodeController(Controller):
    path = "/handover-code"
    tags = ["dossiers"]
    dependencies = deps

    @get("/", guards=[requires(Role.citizen)])
    async def my_code(self, principal: NamedDependency[Principal]) -> dict[str, Any]:
        """The citizen's code for today, read to the courier at a pickup or a delivery."""
        today = vn_date(utcnow())
        return {"code": services.handover_code(principal.id, today), "valid_on": today.isoformat()}


@post(
    "/couriers/me/item-ids",
    guards=[requires(Role.courier)],
    dependencies=deps,
    tags=["dossiers"],
    status_code=201,
)
async def reserve_item_ids(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    data: JSONBody[ItemIdRequest],
) -> dict[str, Any]:
    """Labels for pickups the courier may have to record offline (then sent with ``POST /events/batch``), valid
    until ``expires_at``; 409 ``item_id_quota`` when the courier would hold more than ``ITEM_ID_MAX_OUTSTANDING``
    unused labels."""
    return await ids.reserve_item_ids(db_session, principal.id, data.count)


ROUTES = [
    reserve_item_ids,
    TrackController,
    DossierController,
    EventsController,
    HandoverController,
    ProofController,
    HandoverCodeController,
]
