"""The Litestar application: wiring only, all of it here and explicit (issue 18).

Each domain's ``controllers.ROUTES`` (under /api/v1) and ``ROOT_ROUTES`` (at the root) are listed by name in
``ROUTES``/``ROOT_ROUTES``; the background services that live as long as the app in ``LIFESPAN_HOOKS``; the
caches' change subscriptions and session hooks in ``wire_subscriptions``. Importing a module registers nothing.
"""

import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import swagger_ui_bundle
from litestar import Litestar, Request, Router, get
from litestar.config.cors import CORSConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from sqlalchemy.ext.asyncio import AsyncEngine

import backend
from backend.accounts import controllers as accounts
from backend.accounts import identity_controller as accounts_identity
from backend.accounts import otp
from backend.accounts import staff as accounts_staff
from backend.audit import controllers as audit
from backend.booking import controllers as booking
from backend.booking import ledger_cache
from backend.booking import services as booking_services
from backend.booking.services import changes as booking_changes
from backend.booking.services.book import on_book as booking_on_book
from backend.catalogue import controllers as catalogue
from backend.catalogue import editing_changes as catalogue_changes
from backend.catalogue import editing_controller as catalogue_edits
from backend.catalogue import editing_store as catalogue_store
from backend.catalogue import tariff_controller as catalogue_prices
from backend.console import controllers as console
from backend.custody import codeguard
from backend.custody import controllers as custody
from backend.custody import loops_controller as custody_loops
from backend.custody import proof_controller as custody_proofs
from backend.custody import recipient_controller as custody_recipients
from backend.custody import return_worker as custody_returns
from backend.db import make_engine, sqlalchemy_plugin
from backend.feedback import controllers as feedback
from backend.feedback import worker as feedback_worker
from backend.lib import answer_cache, auth, commit_problem, health, pgnotify, problem_pages
from backend.lib.auth import BearerAuthMiddleware
from backend.lib.body_timeout import BodyTimeoutMiddleware
from backend.lib.clientip import parse_networks
from backend.lib.nul_guard import RefuseNulMiddleware
from backend.lib.openapi import PARTNERS, OperationIds, audience_tags, finish_document, problems
from backend.lib.private_reads import PrivateReadMiddleware
from backend.lib.problems import EXCEPTION_HANDLERS
from backend.lib.ratelimit import AuthRateLimitMiddleware
from backend.lib.responses import LocalTimeResponse
from backend.money import booking_money
from backend.money import controllers as money
from backend.money import refunds as money_refunds
from backend.money import remit_controllers as money_remit
from backend.money import scheduler as money_scheduler
from backend.money.online import controllers as money_online
from backend.notices import channel_controller as notice_channels
from backend.notices import controllers as notices
from backend.notices import inbox_answer as notices_inbox
from backend.notices import sms_reports, zns_reports
from backend.notices import worker as notices_worker
from backend.partners import controllers as partners
from backend.partners import openapi as partners_openapi
from backend.partners import worker as partners_worker
from backend.planning import capacity as planning_capacity
from backend.planning import controllers as planning
from backend.planning import queue as plan_queue
from backend.planning import stop_controller as plan_stops
from backend.planning import tracking_link_controller as tracking_links
from backend.reporting import controllers as reporting
from backend.reporting import leadership_controllers as reporting_leadership
from backend.settings import Network, Settings, get_settings
from notifications.feed import make_channels_plugin
from schemas.ops import HealthStatus

log = logging.getLogger("backend")
API_PREFIX = "/api/v1"
SWAGGER_STATIC = "/schema-assets"

# Every route group: each domain's ``controllers.ROUTES`` (mounted under /api/v1) ...
ROUTES: tuple[Sequence[Any], ...] = (
    accounts.ROUTES,
    accounts_identity.ROUTES,
    audit.ROUTES,
    booking.ROUTES,
    catalogue.ROUTES,
    catalogue_prices.ROUTES,  # the prices people set: tariffs, fees, exemptions (issue 21)
    catalogue_edits.ROUTES,  # a catalogue people edit: procedures, eligibility, organisations, import (issue 23)
    console.ROUTES,
    custody.ROUTES,
    custody_proofs.ROUTES,
    custody_recipients.ROUTES,
    custody_loops.ROUTES,
    notices.ROUTES,
    notice_channels.ROUTES,  # a citizen's notification channels (issue 22)
    sms_reports.ROUTES,
    zns_reports.ROUTES,  # Zalo ZNS webhook events (issue 22)
    partners.ROUTES,
    planning.ROUTES,
    plan_stops.ROUTES,
    tracking_links.ROUTES,
    reporting.ROUTES,
    reporting_leadership.ROUTES,  # the province leadership's reports (issue 23)
    money_online.ROUTES,  # online payments (VNPay) and VietQR codes (issue 21)
    money.ROUTES,  # collections at the door, receipts, cash-ups (issue 21)
    money_remit.ROUTES,  # remittances to agencies, reconciliation, money reports (issue 21)
    feedback.ROUTES,  # ratings of visits, complaints and their reports (issue 23)
)
# ... and ``ROOT_ROUTES`` (mounted at the root: the /console pages and their static files).
ROOT_ROUTES: tuple[Sequence[Any], ...] = (
    console.ROOT_ROUTES,
    problem_pages.ROOT_ROUTES,
    money.ROOT_ROUTES,  # the printable receipt /receipts/{receipt_no} (issue 21)
    tracking_links.ROOT_ROUTES,  # the live tracking page /v/{token} and its static files
)

# Background services that live as long as the app, entered in this order (left in reverse): each is
# ``hook(app) -> AsyncContextManager``.
LIFESPAN_HOOKS: tuple[Callable[[Litestar], Any], ...] = (
    pgnotify.lifespan_hook,  # the LISTEN connection that keeps per-process caches coherent (PostgreSQL)
    codeguard.lifespan_hook,  # the handover-code attempt guard's own connections (backend/custody/codeguard.py)
    otp.lifespan_hook,  # the SMS sender of sign-in codes (SMS_PROVIDER) and its HTTP connections
    notices_worker.lifespan_hook,  # the outbox dispatcher and due-soon sweep, unless RUN_DISPATCHER=false
    custody_returns.lifespan_hook,  # return offers unanswered in time booked (issue 20), unless RUN_DISPATCHER=false
    partners_worker.lifespan_hook,  # partner webhooks: event relay and signed delivery, unless RUN_DISPATCHER=false
    plan_queue.lifespan_hook,  # route solves: in this process (PLAN_QUEUE=embedded) or SAQ jobs (issue 24)
    feedback_worker.lifespan_hook,  # invitations to rate completed visits (issue 23), unless RUN_DISPATCHER=false
    catalogue_changes.lifespan_hook,  # scheduled catalogue changes applied when due (issue 23), unless RUN_DISPATCHER=false
    money_scheduler.lifespan_hook,  # dues backfill and remittance batches, leased (issue 21), unless RUN_DISPATCHER=false
)


def wire_subscriptions(settings: Settings) -> None:
    """Register what keeps per-process caches coherent and select the booking capacity policy: change
    notifications (``backend.lib.pgnotify``), the ledger cache's global ``Session`` hooks. Idempotent (every
    app built in one process shares these module-level caches); called by ``create_app``."""
    auth.install()  # cached staff accounts and citizen versions (token revocation)
    answer_cache.install()  # rendered public answers (issue 24): NOTIFY hoso_answers and the ORM's commits
    notices_inbox.install()  # stored inbox pages: a notice committed through the ORM drops its recipient's
    booking_services.install()  # offices, shifts, windows, procedures, calendars, served area
    accounts_staff.on_roster_change(booking_services.invalidate_caches)  # staff edits in this process
    # catalogue edits in this process (issue 23)
    catalogue_store.on_change(booking_services.invalidate_caches)
    catalogue_store.on_change(auth.forget_accounts)  # a deactivated organisation's staff: refused at once
    ledger_cache.install()  # booked minutes per window
    booking_changes.on_cancel(money_refunds.on_cancelled)  # a cancelled visit's due reversed, paid owed back
    booking_on_book(booking_money.at_booking)  # a visit's due and exemption written with its booking
    planning_capacity.install()  # the plans that listings read
    planning_capacity.install_policy(settings.booking_capacity)


def _flat(groups: Sequence[Sequence[Any]]) -> list[Any]:
    return [route for group in groups for route in group]


@get(
    "/health",
    tags=[PARTNERS],
    exclude_from_auth=True,
    summary="Check the service is up",
    description="For load balancers, container health checks and monitoring: 200 when the service answers and "
    "its database takes a query; 503 with Retry-After when the database connection was lost (retry). "
    "`demo_history` says whether the demo's two years of past dossiers (`make run` writes them in the "
    "background after the service answers) are `loading`, `done`, `failed` or `absent` (no demo), with counts "
    "only. No sign-in; changes nothing.",
    responses=problems(503),
)
async def check_health(request: Request[Any, Any, Any]) -> HealthStatus:
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as conn:  # the demo history's state is the database check too
        demo_history = await health.demo_history(conn)
    return HealthStatus(status="ok", demo_history=demo_history)


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Enter ``LIFESPAN_HOOKS`` in order for as long as the app runs."""
    async with AsyncExitStack() as stack:
        for hook in LIFESPAN_HOOKS:
            await stack.enter_async_context(hook(app))
        # Everything loaded so far (modules, routes, reference caches) lives as long as the process: keep
        # it out of the collector's full passes, which otherwise walk it all and stall every request.
        gc.collect()
        gc.freeze()
        yield


def middleware(settings: Settings, proxies: Sequence[Network]) -> list[Any]:
    """The app's middleware, outermost first (CORS and exception handling are Litestar's, around all of it)."""
    return [
        # Public reads: the per-client limit, then stored answers before anything else runs (issue 24).
        answer_cache.PublicReadMiddleware(
            answer_cache.ClientLimiter(settings.public_rate_per_s, settings.public_rate_burst), proxies
        ),
        BodyTimeoutMiddleware(settings.http_body_timeout_s),
        RefuseNulMiddleware(),
        # Sign-in limits per client IP (X-Forwarded-For only from TRUSTED_PROXIES) and route group; the
        # per-phone and per-username ones are counted by the auth handlers (backend/lib/ratelimit.py).
        AuthRateLimitMiddleware(settings.auth_rate_per_minute, proxies),
        BearerAuthMiddleware(),
        # Private polled reads: a stored answer that may be sent as is, once the token is verified (issue 24).
        PrivateReadMiddleware(),
    ]


def rate_limit_stores(settings: Settings) -> dict[str, Any] | None:
    """Rate limits must be shared by every instance in production: Redis when configured, memory embedded."""
    if not settings.redis_url:
        return None
    from litestar.stores.redis import RedisStore
    from redis.asyncio import Redis

    # Short timeouts: with Redis unreachable, limits fall back per process (backend/lib/ratelimit.py) at once
    # instead of holding each sign-in for the OS's connect timeout.
    client = Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=1)
    return {"rate_limit": RedisStore(client, namespace="hoso-rate-limit", handle_client_shutdown=True)}


def create_app(settings: Settings | None = None, *, engine: AsyncEngine | None = None) -> Litestar:
    settings = settings or get_settings()
    settings.validate()
    wire_subscriptions(settings)
    engine = engine or make_engine(settings.database_url, pool_size=settings.database_pool_size)
    api = Router(path=API_PREFIX, route_handlers=_flat(ROUTES))
    # Desk live feeds: in memory for one process, Redis pub/sub when REDIS_URL is set (several instances).
    channels = make_channels_plugin(settings.redis_url or None)
    swagger_dir = swagger_ui_bundle.swagger_ui_path
    openapi = OpenAPIConfig(
        title="Hồ sơ qua bưu điện — API",
        version=backend.__version__,
        description=(
            "Tiếp nhận và trả kết quả thủ tục hành chính qua dịch vụ bưu chính công ích "
            "(Quyết định 45/2016/QĐ-TTg). Postal carriage of administrative dossiers."
        ),
        path="/schema",
        render_plugins=[
            SwaggerRenderPlugin(
                path=["/", "/swagger"],
                js_url=f"{SWAGGER_STATIC}/swagger-ui-bundle.js",
                css_url=f"{SWAGGER_STATIC}/swagger-ui.css",
                standalone_preset_js_url=f"{SWAGGER_STATIC}/swagger-ui-standalone-preset.js",
                favicon=f'<link rel="icon" type="image/png" href="{SWAGGER_STATIC}/favicon-32x32.png">',
            ),
            JsonRenderPlugin(path="/openapi.json"),
        ],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
        security=[{"BearerToken": []}],
        tags=audience_tags(),
        operation_id_creator=OperationIds(),
        webhooks=partners_openapi.webhooks(),  # what partners' endpoints receive (backend/partners/openapi.py)
    )
    proxies = parse_networks(settings.trusted_proxies)
    app = Litestar(
        route_handlers=[
            api,
            *_flat(ROOT_ROUTES),
            check_health,
            create_static_files_router(
                path=SWAGGER_STATIC, directories=[swagger_dir], include_in_schema=False
            ),
        ],
        # A request whose commit fails answers the problem of its error, not its 2xx (backend/db.py).
        plugins=[sqlalchemy_plugin(engine, refused=commit_problem.answer), channels],
        middleware=middleware(settings, proxies),
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi,
        cors_config=CORSConfig(
            allow_origins=["*"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Purpose"],
        ),
        lifespan=[lifespan],
        debug=settings.debug,
        request_max_body_size=12 * 1024 * 1024,
        response_class=LocalTimeResponse,
        stores=rate_limit_stores(settings),
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.trusted_proxies = proxies  # backend.lib.clientip.caller_ip
    app.state.channels = channels
    finish_document(app)  # the common error answers of every operation (backend/lib/openapi.py)
    return app
