"""The Litestar application: wiring only. Each domain folder contributes ``controllers.ROUTES``."""

import gc
import importlib
import logging
import pkgutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import swagger_ui_bundle
from litestar import Litestar, Request, Router, get
from litestar.config.cors import CORSConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import backend
from backend.db import make_engine, sqlalchemy_plugin
from backend.lib import pgnotify
from backend.lib.auth import BearerAuthMiddleware
from backend.lib.body_timeout import BodyTimeoutMiddleware
from backend.lib.clientip import parse_networks
from backend.lib.nul_guard import RefuseNulMiddleware
from backend.lib.problems import EXCEPTION_HANDLERS
from backend.lib.ratelimit import AuthRateLimitMiddleware
from backend.lib.responses import LocalTimeResponse
from backend.settings import Settings, get_settings
from notifications.feed import make_channels_plugin

log = logging.getLogger("backend")
API_PREFIX = "/api/v1"
SWAGGER_STATIC = "/schema-assets"

# Background services started with the app (dispatcher, plan workers...), registered by domains:
# each is ``async def hook(app) -> AsyncContextManager``.
LIFESPAN_HOOKS: list[Callable[[Litestar], Any]] = []


def _domain_routes(attr: str = "ROUTES") -> list[Any]:
    """Every ``backend/<domain>/controllers.py`` exposes ``ROUTES`` (mounted under /api/v1) and may expose
    ``ROOT_ROUTES`` (mounted at the root, e.g. the /console pages); collecting them here keeps domains
    independent of each other and of this file."""
    routes: list[Any] = []
    for mod in sorted(pkgutil.iter_modules(backend.__path__), key=lambda m: m.name):
        if not mod.ispkg or mod.name in {"lib", "migrations", "demo"}:
            continue
        try:
            controllers = importlib.import_module(f"backend.{mod.name}.controllers")
        except ModuleNotFoundError as exc:
            if exc.name != f"backend.{mod.name}.controllers":
                raise
            continue
        routes.extend(getattr(controllers, attr, []))
    return routes


@get("/health", tags=["ops"], exclude_from_auth=True)
async def health(request: Request[Any, Any, Any]) -> dict[str, str]:
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {"status": "ok"}


def create_app(settings: Settings | None = None, *, engine: AsyncEngine | None = None) -> Litestar:
    settings = settings or get_settings()
    settings.validate()
    engine = engine or make_engine(settings.database_url, pool_size=settings.database_pool_size)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        from contextlib import AsyncExitStack

        async with AsyncExitStack() as stack:
            await stack.enter_async_context(pgnotify.lifespan_hook(app))
            for hook in LIFESPAN_HOOKS:
                await stack.enter_async_context(hook(app))
            # Everything loaded so far (modules, routes, reference caches) lives as long as the process: keep
            # it out of the collector's full passes, which otherwise walk it all and stall every request.
            gc.collect()
            gc.freeze()
            yield

    api = Router(path=API_PREFIX, route_handlers=_domain_routes())
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
    )
    # Sign-in limits per client IP (X-Forwarded-For only from TRUSTED_PROXIES) and route group; the per-phone
    # and per-username ones are counted by the auth handlers (backend/lib/ratelimit.py).
    rate_limit = AuthRateLimitMiddleware(
        settings.auth_rate_per_minute, parse_networks(settings.trusted_proxies)
    )
    # Rate limits must be shared by every instance in production: Redis when configured, memory embedded.
    stores: dict[str, Any] = {}
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        stores["rate_limit"] = RedisStore.with_client(url=settings.redis_url, namespace="hoso-rate-limit")
    app = Litestar(
        route_handlers=[
            api,
            *_domain_routes("ROOT_ROUTES"),
            health,
            create_static_files_router(
                path=SWAGGER_STATIC, directories=[swagger_dir], include_in_schema=False
            ),
        ],
        plugins=[sqlalchemy_plugin(engine), channels],
        middleware=[
            BodyTimeoutMiddleware(settings.http_body_timeout_s),
            RefuseNulMiddleware(),
            rate_limit,
            BearerAuthMiddleware(),
        ],
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
        stores=stores or None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.channels = channels
    return app
