"""The console's pages (at the root, under ``/console``) and the one JSON view it needs that no domain has.

Pages are shells: Jinja2 renders the frame and the language strings, the browser code in ``static/js`` signs
in and talks to the JSON API with the bearer token (kept in sessionStorage), so pages need no server session.
"""

from pathlib import Path
from typing import Annotated

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Controller, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from sqlmodel.ext.asyncio.session import AsyncSession

import backend
from backend.console import positions
from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.openapi import CONSOLE, problems
from schemas.console import CouriersToday
from schemas.enums import Role

HERE = Path(__file__).parent
STATIC_PATH = "/console/static"
_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)

# page name -> (template, title vi, title en)
PAGES: dict[str, tuple[str, str, str]] = {
    "login": ("login.html", "Đăng nhập", "Sign in"),
    "desk": ("desk.html", "Bộ phận Một cửa", "One-stop desk"),
    "dispatcher": ("dispatcher.html", "Điều phối bưu cục", "Post-office dispatch"),
    "manifest": ("manifest.html", "Biên bản bàn giao", "Handover manifest"),
    "cashup": ("cashup.html", "Kết toán cuối ngày", "End-of-day cash-up"),  # issue 21
}


def render_page(name: str) -> str:
    template, title_vi, title_en = PAGES[name]
    return _env.get_template(template).render(
        page=name,
        title_vi=title_vi,
        title_en=title_en,
        static=STATIC_PATH,
        version=backend.__version__,
    )


def _html(name: str) -> Response[str]:
    # Shells carry no data, but a stale shell with new JS would break: do not let browsers keep them.
    return Response(
        render_page(name), media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"}
    )


class ConsolePages(Controller):
    path = "/console"
    include_in_schema = False

    @get("/")
    async def index(self) -> Redirect:
        return Redirect(path="/console/login")

    @get("/login")
    async def login(self) -> Response[str]:
        return _html("login")

    @get("/desk")
    async def desk(self) -> Response[str]:
        return _html("desk")

    @get("/dispatcher")
    async def dispatcher(self) -> Response[str]:
        return _html("dispatcher")

    @get("/manifest")
    async def manifest(self) -> Response[str]:
        return _html("manifest")

    @get("/cashup")
    async def cashup(self) -> Response[str]:
        return _html("cashup")


class ConsoleApi(Controller):
    path = "/console"
    tags = [CONSOLE]
    dependencies = {"principal": Provide(provide_principal)}

    @get(
        "/couriers",
        guards=[requires(Role.dispatcher, Role.admin)],
        summary="List a post office's couriers today",
        description="Dispatchers for their own post office, admins for any (`office`, code or id; required for "
        "admins, else 422; unknown is 404): each courier's last position today and the progress of today's "
        "published plan (stops done, failed, late). Positions are shown only to the courier's own office "
        "(Decree 13/2023/NĐ-CP: least data for the purpose). Read-only; the console polls it.",
        responses=problems(404, 422),
    )
    async def list_couriers_today(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        office: Annotated[str | None, QueryParameter(max_length=32)] = None,
    ) -> CouriersToday:
        return CouriersToday.model_validate(await positions.couriers_today(db_session, principal, office))


ROUTES = [ConsoleApi]
ROOT_ROUTES = [
    ConsolePages,
    create_static_files_router(path=STATIC_PATH, directories=[HERE / "static"], include_in_schema=False),
]
