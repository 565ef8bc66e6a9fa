"""The console's pages (at the root, under ``/console``) and the one JSON view it needs that no domain has.

Pages are shells: Jinja2 renders the frame and the language strings, the browser code in ``static/js`` signs
in and talks to the JSON API with the bearer token (kept in sessionStorage), so pages need no server session.
"""

from pathlib import Path
from typing import Annotated, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, QueryParameter
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from sqlmodel.ext.asyncio.session import AsyncSession

import backend
from backend.audit.services import access_of
from backend.console import agency, positions
from backend.custody.controllers import publish
from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.openapi import CONSOLE, problems
from backend.lib.paging import Paging, provide_paging
from schemas.agency_console import AgencyList, AgencyQueue, AgencyReceipt, AgencyReceiveIn
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
    "agency": ("agency.html", "Cơ quan giải quyết", "Deciding agency"),  # issue 23
    "leadership": ("leadership.html", "Lãnh đạo tỉnh", "Province leadership"),  # issue 23
    "complaints": ("complaints.html", "Phản ánh, kiến nghị", "Complaints"),  # issue 23
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

    @get("/agency")
    async def agency(self) -> Response[str]:
        return _html("agency")

    @get("/complaints")
    async def complaints(self) -> Response[str]:
        return _html("complaints")

    @get("/leadership")
    async def leadership(self) -> Response[str]:
        return _html("leadership")


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


class AgencyConsoleApi(Controller):
    """The agency console (issue 23): its queue and receiving by scan. Deciding and handing results back go
    through the custody operations (``POST /dossiers/{item_id}/events``, ``POST /handovers``)."""

    path = "/console/agency"
    tags = [CONSOLE]
    guards = [requires(Role.agency, Role.admin)]
    dependencies = {
        "principal": Provide(provide_principal),
        "paging": Provide(provide_paging, sync_to_thread=False),
    }

    @get(
        "/dossiers",
        summary="List an agency's queue (incoming, processing, supplement, decided, due soon, overdue)",
        description="Agency staff see their own agency's queue (another `agency` is 403); admins the agency named "
        "in `agency` (unknown: 404), else every agency's. `list`: `incoming` (on a desk's handover to the "
        "agency, not received yet), `processing` (in hand, the legal clock running), `supplement` (waiting for "
        "the citizen's supplement, the clock stopped), `decided` (decided or withdrawn, to go back to the "
        "desk), `due_soon` (processing, due within two working days) and `overdue`. Each row has the legal "
        "deadline (the procedure's working days, the due date) and the working days left. Least personal "
        "data (Decree 13/2023/NĐ-CP): the applicant's name only, never a phone or an address; each read of a "
        "name is written to the personal-data audit. `counts` gives every list's total. Ordered by due date; "
        "paged with `limit`/`offset`.",
        responses=problems(403, 404),
    )
    async def list_agency_queue(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        paging: NamedDependency[Paging],
        list_name: Annotated[AgencyList, QueryParameter(name="list")] = "processing",
        agency_code: Annotated[
            str | None, QueryParameter(name="agency", max_length=32, description="agency code (admins)")
        ] = None,
    ) -> AgencyQueue:
        scope = await agency.scope_for(db_session, principal, agency_code)
        body = await agency.queue(db_session, principal, scope, list_name, paging, access_of(request))
        return AgencyQueue.model_validate(body)

    @post(
        "/receive",
        status_code=200,
        summary="Receive one dossier from a desk's handover by scanning its item id",
        description="The S10 id as a barcode scanner types it (case and spaces do not matter; a malformed id "
        "is 422 `invalid_item_id`). The dossier must be on a pending handover to the caller's agency (admins: "
        "to any agency); otherwise the answer is the same 404 as for an unknown id, so another agency's "
        "dossier stays hidden. Custody moves to the agency and the receipt is recorded for this item alone "
        "(`TCQ`: with who, when and which handover), the desk's live console is told; the handover is "
        "confirmed when its last item is received (items never scanned may still be confirmed missing with "
        "`POST /handovers/{handover_id}/confirm`). Scanning it again is 409 `already_received`.",
        responses=problems(404, 409, 422),
    )
    async def receive_by_scan(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[AgencyReceiveIn],
    ) -> AgencyReceipt:
        scope = await agency.scope_for(db_session, principal, None)
        body, effects = await agency.receive(db_session, principal, scope, data.item_id, access_of(request))
        publish(request, effects)
        return AgencyReceipt.model_validate(body)


ROUTES = [ConsoleApi, AgencyConsoleApi]
ROOT_ROUTES = [
    ConsolePages,
    create_static_files_router(path=STATIC_PATH, directories=[HERE / "static"], include_in_schema=False),
]
