"""HTTP for push targets, the in-app inbox and the desk live feed (server-sent events)."""

from typing import Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import ServerSentEvent
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.app import LIFESPAN_HOOKS
from backend.lib.auth import Principal, decode_token, provide_principal, requires, signed_in
from backend.lib.paging import Paging, provide_paging
from backend.lib.problems import Problem, forbidden, not_found
from backend.notices import services, worker
from notifications.feed import desk_sse_events
from schemas.enums import OrgKind, Role
from schemas.notifications import DeviceRegistration
from schemas.orgs import Organisation

if worker.lifespan_hook not in LIFESPAN_HOOKS:
    LIFESPAN_HOOKS.append(worker.lifespan_hook)

DEPS = {"principal": Provide(provide_principal), "paging": Provide(provide_paging, sync_to_thread=False)}


class DevicesController(Controller):
    path = "/devices"
    tags = ["notifications"]
    guards = [signed_in]
    dependencies = DEPS

    @post("/", status_code=201)
    async def register(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[DeviceRegistration],
    ) -> dict[str, Any]:
        row = await services.register(db_session, principal, data)
        return {
            "token": row.token,
            "platform": row.platform,
            "app_version": row.app_version,
            "last_seen_at": row.last_seen_at,
        }

    @delete("/{token:str}", status_code=204)
    async def remove(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        token: FromPath[str],
    ) -> None:
        await services.unregister(db_session, principal, token)


class InboxController(Controller):
    path = "/notifications"
    tags = ["notifications"]
    guards = [signed_in]
    dependencies = DEPS

    @get("/")
    async def inbox(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        paging: NamedDependency[Paging],
        unread: FromQuery[bool] = False,
    ) -> dict[str, Any]:
        return await services.inbox_page(db_session, principal, paging, unread)

    @post("/read", status_code=200)
    async def mark_read(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, int]:
        raw = data.get("ids")
        try:
            ids = None if raw is None else [UUID(str(i)) for i in raw]
        except (TypeError, ValueError) as exc:
            raise Problem(
                422, "Mã thông báo không hợp lệ / Invalid notification ids", code="invalid_ids"
            ) from exc
        return {"marked": await services.mark_read(db_session, principal, ids)}

    @get("/failed", guards=[requires(Role.admin)])
    async def failed(
        self, db_session: NamedDependency[AsyncSession], paging: NamedDependency[Paging]
    ) -> dict[str, Any]:
        return await services.failed_notifications(db_session, paging)


async def _desk(session: AsyncSession, key: str) -> Organisation:
    try:
        stmt = select(Organisation).where(Organisation.id == UUID(key))
    except ValueError:
        stmt = select(Organisation).where(Organisation.code == key)
    org = (await session.exec(stmt)).one_or_none()
    if org is None or org.kind != OrgKind.desk:
        raise not_found("bộ phận một cửa / desk", key)
    return org


@get("/desks/{desk:str}/feed", tags=["notifications"])
async def desk_feed(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    desk: FromPath[str],
    access_token: FromQuery[str | None] = None,
) -> ServerSentEvent:
    """Live events for one desk. Browsers' EventSource cannot send headers, so ``?access_token=`` is
    accepted as well as the Authorization header."""
    principal = request.scope.get("user")
    if not isinstance(principal, Principal) and access_token:
        principal = decode_token(access_token)
    if not isinstance(principal, Principal):
        raise Problem(401, "Cần đăng nhập / Sign-in required", code="not_authenticated")
    org = await _desk(db_session, desk)
    if principal.role != Role.admin and not (principal.role == Role.desk and principal.org_id == org.id):
        raise forbidden("Chỉ cán bộ của bộ phận này / Only this desk's staff")
    await db_session.close()  # the stream may stay open for hours: do not hold a connection
    return ServerSentEvent(desk_sse_events(request.app.state.channels, org.id))


ROUTES: list[Any] = [DevicesController, InboxController, desk_feed]
