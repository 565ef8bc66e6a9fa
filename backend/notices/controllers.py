"""HTTP for push targets, the in-app inbox and the desk live feed (server-sent events)."""

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import tickets
from backend.lib import private_reads
from backend.lib.auth import (
    STAFF_CHECK_TTL_S,
    Principal,
    account_changed,
    account_current,
    caller,
    provide_principal,
    requires,
    signed_in,
)
from backend.lib.etag import OPT
from backend.lib.openapi import CITIZEN_APP, CONSOLE, problems
from backend.lib.paging import DEFAULT_LIMIT, Paging, provide_paging
from backend.lib.problems import Problem, forbidden, not_found
from backend.lib.shutdown import stopping
from backend.notices import inbox_answer, services
from notifications.feed import desk_sse_events
from schemas.accounts import StaffUser
from schemas.common import MAX_LIMIT, MAX_OFFSET
from schemas.enums import OrgKind, Role
from schemas.notifications import (
    DevicePublic,
    DeviceRegistration,
    FailedNotificationPage,
    FeedTicket,
    InboxPage,
    MarkedRead,
    MarkReadIn,
)
from schemas.orgs import Organisation

DEPS = {"principal": Provide(provide_principal), "paging": Provide(provide_paging, sync_to_thread=False)}


class DevicesController(Controller):
    path = "/devices"
    tags = [CITIZEN_APP]
    guards = [signed_in]
    dependencies = DEPS

    @post(
        "/",
        status_code=201,
        summary="Register a device for push notifications",
        description="Any signed-in account (citizens' and couriers' apps, the console in a browser): registers "
        "this install's Firebase Cloud Messaging token so the account's notifications are pushed to it. "
        "Idempotent: registering the same token again for the same account refreshes it (201 again). A token "
        "registered to another account is a 409 (`device_token_in_use`): that account must sign out on the "
        "device first.",
        responses=problems(409, 422),
    )
    async def register_device(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[DeviceRegistration],
    ) -> DevicePublic:
        row = await services.register(db_session, principal, data)
        return DevicePublic.model_validate(row, from_attributes=True)

    @delete(
        "/{token:str}",
        status_code=204,
        summary="Unregister a device",
        description="Any signed-in account, its own tokens only (another's, or an unknown one, is a 404): no "
        "more pushes to this install. Call it on sign-out.",
        responses=problems(404),
    )
    async def unregister_device(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        token: FromPath[str],
    ) -> None:
        await services.unregister(db_session, principal, token)


class InboxController(Controller):
    path = "/notifications"
    guards = [signed_in]
    dependencies = DEPS

    @get(
        "/",
        tags=[CITIZEN_APP],
        summary="List my notifications",
        description="Any signed-in account: the caller's in-app inbox (what was also pushed), newest first, in "
        "both languages, with a deep link into the app; `unread=true` lists only unread entries, and "
        "`unread` in the answer counts them all. Read-only. Paged (`limit`, `offset`). The answer carries an "
        "`ETag` (send it back in `If-None-Match`: 304 while the inbox did not change).",
        opt={OPT: inbox_answer.POLICY, private_reads.OPT: inbox_answer.stored},
    )
    async def list_notifications(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
        unread: FromQuery[bool] = False,
    ) -> Response[InboxPage]:
        # The app's most frequent private read takes one dependency: Litestar resolves two or more independent
        # ones in an anyio task group per request, which measured half of this read's CPU (bench.reads_app).
        paging = Paging(limit=limit, offset=offset)
        return await inbox_answer.answer(request, db_session, caller(request), paging, unread)

    @post(
        "/read",
        status_code=200,
        tags=[CITIZEN_APP],
        summary="Mark notifications read",
        description="Any signed-in account, its own inbox only (others' ids are ignored): marks the given "
        "entries read, or every entry when `ids` is absent or null, and answers how many were newly marked. "
        "Idempotent: entries already read are not counted again. Ids that are not UUIDs are a 422.",
        responses=problems(422),
    )
    async def mark_notifications_read(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[MarkReadIn],
    ) -> MarkedRead:
        try:
            ids = None if data.ids is None else [UUID(i) for i in data.ids]
        except ValueError as exc:
            raise Problem(
                422, "Mã thông báo không hợp lệ / Invalid notification ids", code="invalid_ids"
            ) from exc
        return MarkedRead(marked=await services.mark_read(db_session, principal, ids))

    @get(
        "/failed",
        guards=[requires(Role.admin)],
        tags=[CONSOLE],
        summary="List failed notifications",
        description="Admin only: notifications the dispatcher gave up on after its retries, with the recipient, "
        "attempts and last error; newest first. Read-only. Paged (`limit`, `offset`).",
    )
    async def list_failed_notifications(
        self, db_session: NamedDependency[AsyncSession], paging: NamedDependency[Paging]
    ) -> FailedNotificationPage:
        return FailedNotificationPage.model_validate(await services.failed_notifications(db_session, paging))


async def _desk(session: AsyncSession, key: str) -> Organisation:
    try:
        stmt = select(Organisation).where(Organisation.id == UUID(key))
    except ValueError:
        stmt = select(Organisation).where(Organisation.code == key)
    org = (await session.exec(stmt)).one_or_none()
    if org is None or org.kind != OrgKind.desk:
        raise not_found("bộ phận một cửa / desk", key)
    return org


def _may_watch(principal: Principal, org: Organisation) -> None:
    if principal.role != Role.admin and not (principal.role == Role.desk and principal.org_id == org.id):
        raise forbidden("Chỉ cán bộ của bộ phận này / Only this desk's staff")


@post(
    "/desks/{desk:str}/feed-ticket",
    tags=[CONSOLE],
    guards=[requires(Role.admin, Role.desk)],
    dependencies={"principal": Provide(provide_principal)},
    status_code=201,
    summary="Get a ticket for a desk's live feed",
    description="The desk's clerks and admins (`desk` is its code or id; not a desk is 404). A single-use "
    "ticket, valid 60 seconds, that opens this desk's live feed once (`GET /desks/{desk}/feed?ticket=`): "
    "browsers' EventSource cannot send the Authorization header, and a token in a URL would be written to "
    "logs. Each call issues a new ticket.",
    responses=problems(404),
)
async def issue_desk_feed_ticket(
    db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal], desk: FromPath[str]
) -> FeedTicket:
    org = await _desk(db_session, desk)
    _may_watch(principal, org)
    ticket, ttl = await tickets.issue(db_session, principal, org.id)
    return FeedTicket(ticket=ticket, expires_in=ttl)


# An open feed checks its clerk's account every FEED_CHECK_S seconds through the per-process cache (which the
# process that disables, moves or revokes an account, and on PostgreSQL every process, drops at once) and
# reads the database itself at least every FEED_FRESH_S: a disabled, moved or revoked clerk's stream ends
# within STAFF_CHECK_TTL_S even when no notification arrives.
FEED_CHECK_S = 5.0
FEED_FRESH_S = STAFF_CHECK_TTL_S - 2 * FEED_CHECK_S


async def _while_admitted(
    events: AsyncIterator[ServerSentEventMessage], app: Any, principal: Principal, every: float, fresh: float
) -> AsyncIterator[ServerSentEventMessage]:
    checked = read = time.monotonic()
    async with contextlib.aclosing(events):  # type: ignore[type-var]
        async for message in events:
            now = time.monotonic()
            if now - checked >= every:
                checked = now
                from_db = now - read >= fresh
                if from_db:
                    read = now
                if not await account_current(app, principal, fresh=from_db):
                    yield ServerSentEventMessage(event="revoked", data="account_changed")
                    return
            yield message


@get(
    "/desks/{desk:str}/feed",
    tags=[CONSOLE],
    media_type="text/event-stream",
    summary="Open a desk's live feed",
    description="Server-sent events (`text/event-stream`) for one desk: its clerks and admins. Browsers open it "
    "with `?ticket=` from `POST /desks/{desk}/feed-ticket` (single use, 60 s); other clients may send the "
    "Authorization header. A bearer token in the URL (`?access_token=`) is refused (400): URLs are logged. "
    "Events: `ready` once the stream is open, `desk` with a JSON payload for each dossier event that "
    "concerns the desk (a dossier arriving, handed over, its status changed), comment pings that keep the "
    "connection open, and `revoked` as the last event soon after the account is disabled, moved or its "
    "sessions revoked. Read-only.",
    # 401 and 403 are listed here: the central ones go where a principal is injected, and this route checks
    # the ticket or token itself.
    responses={
        200: ResponseSpec(
            data_container=str,
            media_type="text/event-stream",
            description="Server-sent events until the client leaves or the account changes",
            generate_examples=False,
            examples=[
                Example(
                    summary="An incoming handover batch",
                    value='event: desk\ndata: {"type": "handover.incoming", "handover_id": '
                    '"5b7e0c1a-8f3d-4d2a-9c61-0e2f4a6b8d10", "count": 12, "sender": "Bưu cục Cao Lãnh"}\n\n',
                )
            ],
        ),
        **problems(401, 403, 404),
    },
)
async def open_desk_feed(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    desk: FromPath[str],
    ticket: Annotated[str | None, QueryParameter(max_length=128)] = None,
) -> ServerSentEvent:
    if "access_token" in request.query_params:
        raise Problem(
            400,
            "Không gửi mã đăng nhập trong URL; hãy dùng vé (feed-ticket) / "
            "Do not put tokens in URLs; use a feed ticket",
            code="token_in_url",
        )
    principal = request.scope.get("user")
    redeemed = None
    if not isinstance(principal, Principal) and ticket:
        redeemed = await tickets.redeem(db_session, ticket)
        user = await db_session.get(StaffUser, redeemed.user_id)
        if user is None or not user.active or user.token_version != redeemed.token_version:
            raise account_changed()
        principal = Principal(
            id=user.id, role=user.role, org_id=user.organisation_id, ver=redeemed.token_version
        )
    if not isinstance(principal, Principal):
        raise Problem(401, "Cần đăng nhập / Sign-in required", code="not_authenticated")
    org = await _desk(db_session, desk)
    if redeemed is not None and redeemed.desk_id != org.id:
        raise forbidden("Vé này mở luồng của bộ phận khác / This ticket is for another desk's feed")
    _may_watch(principal, org)
    await db_session.close()  # the stream may stay open for hours: do not hold a connection
    events = desk_sse_events(request.app.state.channels, org.id, ping_every=FEED_CHECK_S, stop=stopping())
    return ServerSentEvent(_while_admitted(events, request.app, principal, FEED_CHECK_S, FEED_FRESH_S))


ROUTES: list[Any] = [DevicesController, InboxController, issue_desk_feed_ticket, open_desk_feed]
