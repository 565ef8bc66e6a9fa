"""HTTP for live tracking links (thin; the rules are in ``tracking_link``): the JSON answer the page polls,
``GET /api/v1/tracking-links/{token}``, and the page itself, ``GET /v/{token}``, with its static files.

Public: the token is the only key, so both count against a per-minute limit (``TRACKING_LINK_RATE_PER_MINUTE``,
the app's shared ``rate_limit`` store) per client IP and link, and per client IP for tokens that do not verify.
The page is served with a strict Content-Security-Policy (its own script and style only, no third-party assets,
no frames), ``Referrer-Policy: no-referrer`` (the token is in the URL), ``X-Robots-Tag: noindex`` and
``Cache-Control: no-store``.
"""

import uuid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.static_files import create_static_files_router
from sqlmodel.ext.asyncio.session import AsyncSession

import backend
from backend.booking.services import visible
from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.clientip import caller_ip
from backend.lib.openapi import CITIZEN_APP, problems
from backend.lib.problems import Problem
from backend.lib.ratelimit import STORE, hit
from backend.planning import tracking_link
from schemas.base import utcnow
from schemas.enums import Role
from schemas.tracking_links import TrackedVisit, TrackingLinksRevoked
from schemas.vntime import to_vn

HERE = Path(__file__).parent
STATIC_PATH = "/track-static"
_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
}


async def _limit(request: Request[Any, Any, Any], token: str) -> None:
    """One request against the per-minute limit (429 problem with Retry-After): a token that verifies counts
    in its link's bucket for this client IP (many phones share one address behind a carrier's NAT, each
    following its own visit), any other in this IP's bucket of bad tokens (guessing)."""
    settings = request.app.state.settings
    link_id = tracking_link.verify(tracking_link.link_key(settings.secret_key), token)
    bucket = f"link:{link_id}" if link_id is not None else "bad"
    key = f"ip:tracking_link:{bucket}:{caller_ip(request)}"
    await hit(request.app.stores.get(STORE), key, settings.tracking_link_rate_per_minute, 60)


async def _visit(
    request: Request[Any, Any, Any], session: AsyncSession, token: str
) -> tuple[Any, TrackedVisit]:
    link = await tracking_link.find(session, request.app.state.settings, token)
    return link, TrackedVisit.model_validate(await tracking_link.visit(session, link, utcnow()))


class TrackingLinkApi(Controller):
    path = "/tracking-links"

    @get(
        "/{token:str}",
        exclude_from_auth=True,
        tags=[CITIZEN_APP],
        cache_control=CacheControlHeader(no_store=True),
        summary="A visit followed through its tracking link",
        description=(
            "Public, no sign-in: the token of the link sent with `courier.on_the_way` (22 characters) is "
            "the only key. The visit's window, the expected arrival (recomputed from the courier's last "
            "position while heading to this visit, else as the route's progress moved it), how many visits"
            " come before it and, only while the courier's next stop is this visit, the courier's position"
            " as the centre of a ~100 m grid cell. Nothing about the citizen, the address, the documents "
            "or the courier. A wrong, tampered or unknown token is 404 `tracking_link_not_found`; once the"
            " visit ended (done, unsuccessful, cancelled), the link was revoked or it is over "
            "`TRACKING_LINK_MAX_HOURS` old, 410 `tracking_link_ended`. Rate-limited per client IP and link"
            " (429 with Retry-After). Poll again after `refresh_s`."
        ),
        responses=problems(404, 410, 429),
    )
    async def get_tracked_visit(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], token: FromPath[str]
    ) -> TrackedVisit:
        await _limit(request, token)
        return (await _visit(request, db_session, token))[1]


class TrackingLinkRevoke(Controller):
    path = "/appointments"
    dependencies = {"principal": Provide(provide_principal)}

    @post(
        "/{appointment_id:uuid}/tracking-link/revoke",
        guards=[requires(Role.citizen, Role.dispatcher, Role.admin)],
        tags=[CITIZEN_APP],
        status_code=200,
        summary="Stop a visit's live tracking link",
        description=(
            "The visit's own citizen (a forwarded link they want to stop), its post office's dispatchers or an "
            "admin; anyone else gets 404. Every live link of the visit ends at once (its page says the visit "
            "ended, its JSON answer is 410); who and when are kept on the link and, while the visit is booked, "
            "as a `tracking_revoked` event of the appointment. The courier setting off again sends a new link."
        ),
        responses=problems(404),
    )
    async def revoke_tracking_link(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[uuid.UUID],
    ) -> TrackingLinksRevoked:
        appt = await visible(db_session, principal, appointment_id)
        revoked = await tracking_link.revoke(db_session, principal, appt, utcnow())
        await db_session.commit()
        return TrackingLinksRevoked(revoked=revoked)


def render_page(state: str, token: str = "", view: TrackedVisit | None = None) -> str:
    """The page: ``live`` (with the first answer rendered, so it reads without script too), ``ended`` or
    ``invalid``."""
    return _env.get_template("tracking_link.html").render(
        state=state,
        token=token,
        view=view,
        static=f"..{STATIC_PATH}",
        version=backend.__version__,
        hhmm=lambda at: to_vn(at).strftime("%H:%M"),
        dmy=lambda at: to_vn(at).strftime("%d/%m/%Y"),
        now=to_vn(utcnow()).strftime("%H:%M"),
    )


def _page(status: int, state: str, token: str = "", view: TrackedVisit | None = None) -> Response[str]:
    return Response(
        render_page(state, token, view),
        status_code=status,
        media_type="text/html; charset=utf-8",
        headers=PAGE_HEADERS,
    )


class TrackingLinkPage(Controller):
    path = tracking_link.PATH
    include_in_schema = False

    @get("/{token:str}", exclude_from_auth=True)
    async def tracking_page(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], token: FromPath[str]
    ) -> Response[str]:
        await _limit(request, token)
        try:
            link, view = await _visit(request, db_session, token)
        except Problem as exc:
            if exc.status_code == 410:
                return _page(410, "ended")
            return _page(404, "invalid")
        await tracking_link.count_view(db_session, link)
        return _page(200, "live", token, view)


ROUTES = [TrackingLinkApi, TrackingLinkRevoke]
ROOT_ROUTES = [
    TrackingLinkPage,
    create_static_files_router(
        path=STATIC_PATH,
        directories=[HERE / "static"],
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=3600),
    ),
]
