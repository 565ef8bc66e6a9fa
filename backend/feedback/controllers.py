"""HTTP for satisfaction ratings of visits, complaints and their reports (issue 23). Thin: the rules are in
``ratings``, ``complaints`` and ``reports``."""

import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.feedback import complaints, ratings, reports
from backend.feedback.events import Actor
from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.clientip import caller_ip
from backend.lib.dates import check_days
from backend.lib.openapi import CITIZEN_APP, CONSOLE, problems
from backend.lib.paging import Paging, provide_paging
from backend.lib.responses import LocalTimeResponse
from backend.settings import Settings
from schemas.enums import Role
from schemas.feedback import (
    ComplaintAnswer,
    ComplaintAssign,
    ComplaintIn,
    ComplaintPage,
    ComplaintPublic,
    ComplaintReport,
    ComplaintStatus,
    RatingIn,
    RatingPublic,
    RatingReport,
    RatingState,
)

CSV = "text/csv; charset=utf-8"


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"


@dataclass
class CsvOperation(Operation):
    """The 200 answer in JSON or, with ``format=csv``, as CSV: the CSV media type is added to the document."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content[CSV] = OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.STRING, description="the report as CSV with a BOM (`format=csv`)"
                )
            )


def _actor(request: Request[Any, Any, Any], principal: Principal) -> Actor:
    return Actor(principal=principal, client_ip=caller_ip(request))


def _settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


RATING_RULES = (
    "Scores 1 (very dissatisfied) to 5 (very satisfied) for each criterion of the national satisfaction index "
    "SIPAS (Decision 3004/QĐ-BNV): `attitude`, `timeliness`, `fees`, `result`; an optional `comment` (at most "
    "1,000 characters, stored as given, never shown with who wrote it). A score outside 1-5 is a 400 "
    "`validation`."
)


class RatingsController(Controller):
    path = "/appointments"
    tags = [CITIZEN_APP]
    dependencies = {"principal": Provide(provide_principal)}

    @get(
        "/{appointment_id:uuid}/rating",
        guards=[requires(Role.citizen, Role.dispatcher, Role.admin)],
        summary="Read whether a visit can be rated, and its rating",
        description=(
            "The visit's citizen, its post office's dispatchers and admins (others 404). `rateable` says whether "
            "its citizen may rate it now (completed, not yet rated, within `RATING_WINDOW_DAYS` of the visit: "
            "`rate_until`); `rating` is its rating, if any, without who gave it."
        ),
        responses=problems(404),
    )
    async def get_visit_rating(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[uuid.UUID],
    ) -> RatingState:
        return await ratings.state(db_session, principal, appointment_id, _settings(request))

    @post(
        "/{appointment_id:uuid}/rating",
        guards=[requires(Role.citizen)],
        status_code=201,
        summary="Rate a completed visit",
        description=(
            "Its citizen only (another's visit is 404), once (then 409 `rating_exists`), after the visit was "
            "completed (409 `visit_not_completed`) and within `RATING_WINDOW_DAYS` (409 `rating_window_closed`). "
            + RATING_RULES
            + " The visit's courier, post office and desk are kept with it for the reports; a `rated` event "
            "records who, when and from where."
        ),
        responses=problems(404, 409),
    )
    async def rate_visit(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[uuid.UUID],
        data: JSONBody[RatingIn],
    ) -> RatingPublic:
        return await ratings.rate(
            db_session, _actor(request, principal), appointment_id, data, _settings(request)
        )

    @patch(
        "/{appointment_id:uuid}/rating",
        guards=[requires(Role.citizen)],
        summary="Change a visit's rating",
        description=(
            "Its citizen only, within `RATING_EDIT_DAYS` of rating it (`editable_until`; after it 409 "
            "`rating_edit_closed`; not rated yet 409 `rating_missing`). The whole rating is replaced. "
            + RATING_RULES
            + " An `edited` event keeps the scores before and after."
        ),
        responses=problems(404, 409),
    )
    async def change_visit_rating(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[uuid.UUID],
        data: JSONBody[RatingIn],
    ) -> RatingPublic:
        return await ratings.edit(
            db_session, _actor(request, principal), appointment_id, data, _settings(request)
        )


HANDLERS = (Role.dispatcher, Role.desk, Role.agency, Role.admin)
SEEN_BY = (
    "Its citizen, staff (dispatcher, desk, agency) of the organisation that received it or of the one "
    "responsible, and admins; others 404. Staff never see who filed it."
)


class ComplaintsController(Controller):
    path = "/complaints"
    dependencies = {
        "principal": Provide(provide_principal),
        "paging": Provide(provide_paging, sync_to_thread=False),
    }

    @post(
        "",
        tags=[CITIZEN_APP],
        guards=[requires(Role.citizen)],
        status_code=201,
        summary="File a complaint (phản ánh, kiến nghị)",
        description=(
            "A citizen's complaint (Decree 20/2008/NĐ-CP) about one of their visits (`subject=visit`, "
            "`appointment_id`), the courier of one (`courier`, `appointment_id`), one of their dossiers "
            "(`dossier`, `item_id`) or a one-stop desk (`desk`, its code), with a `category` from a fixed list "
            "and its `text` (at most 2,000 characters). Received by the visit's post office, the dossier's desk "
            "or the desk named; another citizen's visit or dossier is 404, a missing subject 422 "
            "`complaint_subject_missing`. The citizen is notified it was received."
        ),
        responses=problems(404, 422),
    )
    async def file_complaint(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[ComplaintIn],
    ) -> ComplaintPublic:
        return await complaints.file(db_session, _actor(request, principal), data)

    @get(
        "",
        guards=[requires(Role.citizen, *HANDLERS)],
        tags=[CONSOLE],
        summary="List complaints",
        description=(
            "Newest first. A citizen their own; staff (dispatcher, desk, agency) those their organisation "
            "received or is responsible for; admins all. `status` filters; `overdue=true` lists those assigned "
            "and not answered by the end of their due day (Vietnam time)."
        ),
    )
    async def list_complaints(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        paging: NamedDependency[Paging],
        status: FromQuery[ComplaintStatus | None] = None,
        overdue: FromQuery[bool] = False,
    ) -> ComplaintPage:
        return await complaints.listing(db_session, principal, paging, status=status, overdue=overdue)

    @get(
        "/{complaint_id:uuid}",
        tags=[CITIZEN_APP],
        guards=[requires(Role.citizen, *HANDLERS)],
        summary="Read a complaint",
        description=SEEN_BY + " With its steps (who by role, when).",
        responses=problems(404),
    )
    async def get_complaint(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        complaint_id: FromPath[uuid.UUID],
    ) -> ComplaintPublic:
        return await complaints.one(db_session, principal, complaint_id)

    @post(
        "/{complaint_id:uuid}/assign",
        guards=[requires(*HANDLERS)],
        tags=[CONSOLE],
        status_code=200,
        summary="Classify a complaint and assign it to the organisation responsible",
        description=(
            "Admins, or staff of the organisation that received it or is responsible for it (others who see "
            "it 403). Sets the responsible organisation (`org`, unknown 422 `unknown_org`), a corrected "
            "`category` if given, and the deadline: `deadline_days` working days (1-30, default 10) from now by "
            "the working calendar (weekends, public holidays, swapped days). Received or assigned complaints "
            "only (else 409 `complaint_state`). The citizen is notified with the organisation and due date."
        ),
        responses=problems(403, 404, 409, 422),
    )
    async def assign_complaint(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        complaint_id: FromPath[uuid.UUID],
        data: JSONBody[ComplaintAssign],
    ) -> ComplaintPublic:
        return await complaints.assign(db_session, _actor(request, principal), complaint_id, data)

    @post(
        "/{complaint_id:uuid}/answer",
        guards=[requires(*HANDLERS)],
        tags=[CONSOLE],
        status_code=200,
        summary="Answer a complaint",
        description=(
            "Admins or staff of the responsible organisation (others who see it 403), while it is assigned "
            "(a received, answered or closed complaint is 409 `complaint_state`). Whether it was answered by its "
            "due day is kept (`answered_on_time`). The citizen is notified."
        ),
        responses=problems(403, 404, 409),
    )
    async def answer_complaint(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        complaint_id: FromPath[uuid.UUID],
        data: JSONBody[ComplaintAnswer],
    ) -> ComplaintPublic:
        return await complaints.answer(db_session, _actor(request, principal), complaint_id, data)

    @post(
        "/{complaint_id:uuid}/close",
        tags=[CITIZEN_APP],
        guards=[requires(Role.citizen, *HANDLERS)],
        status_code=200,
        summary="Close an answered complaint",
        description=(
            "Its citizen (accepting the answer), staff of the responsible organisation or admins; answered "
            "complaints only (else 409 `complaint_state`). The citizen is notified."
        ),
        responses=problems(403, 404, 409),
    )
    async def close_complaint(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        complaint_id: FromPath[uuid.UUID],
    ) -> ComplaintPublic:
        return await complaints.close(db_session, _actor(request, principal), complaint_id)

    @post(
        "/{complaint_id:uuid}/reopen",
        tags=[CITIZEN_APP],
        guards=[requires(Role.citizen)],
        status_code=200,
        summary="Reopen an answered or closed complaint",
        description=(
            "Its citizen only, once (then 409 `complaint_reopened_once`; file a new complaint): handled again by "
            "the same organisation with a new deadline of the same working days from now. Answered or closed "
            "complaints only (else 409 `complaint_state`)."
        ),
        responses=problems(404, 409),
    )
    async def reopen_complaint(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        complaint_id: FromPath[uuid.UUID],
    ) -> ComplaintPublic:
        return await complaints.reopen(db_session, _actor(request, principal), complaint_id)


FromDay = Annotated[date | None, QueryParameter(name="from", description="first day (Vietnam time)")]
ToDay = Annotated[date | None, QueryParameter(description="last day, inclusive")]


def _csv(content: bytes, name: str) -> Response[Any]:
    return Response(
        content=content, media_type=CSV, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


class FeedbackReportsController(Controller):
    path = "/reports"
    tags = [CONSOLE]
    dependencies = {"principal": Provide(provide_principal)}

    @get(
        "/ratings",
        guards=[requires(Role.dispatcher, Role.desk, Role.leadership, Role.admin)],
        operation_class=CsvOperation,
        summary="Report visits' ratings by courier, post office or desk and month",
        description=(
            "The mean score of each SIPAS criterion and overall, and the number of ratings, per courier, post "
            "office or desk (`group_by`) and month of the visit, for visits `from`–`to` (Vietnam time; default "
            "this month up to today; at most five years). A dispatcher sees their office's, a desk clerk their "
            "desk's, province leadership its province's offices and desks, admins all. No comments, no "
            "citizens. `format=csv` answers a CSV with a BOM."
        ),
        responses=problems(422),
    )
    async def get_ratings_report(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        from_: FromDay = None,
        to: ToDay = None,
        group_by: FromQuery[reports.RatingGroup] = reports.RatingGroup.post_office,
        format: FromQuery[ReportFormat] = ReportFormat.json,
    ) -> Response[RatingReport]:
        check_days(**{"from": from_, "to": to})
        first, last = reports.period(from_, to)
        report = await reports.ratings(db_session, principal, first, last, group_by)
        if format is ReportFormat.csv:
            return _csv(
                reports.to_csv(report.rows, reports.RATING_COLUMNS),
                f"danh-gia_{group_by.value}_{first.isoformat()}_{last.isoformat()}.csv",
            )
        return LocalTimeResponse(content=report)

    @get(
        "/complaints",
        guards=[requires(*HANDLERS, Role.leadership)],
        operation_class=CsvOperation,
        summary="Report complaints by category, organisation and month",
        description=(
            "Complaints filed `from`–`to` (Vietnam time; default this month up to today; at most five years) by "
            "category, responsible organisation and month filed: filed, answered, answered on time (by the due "
            "day), closed, and still open past their due day. Staff see those their organisation received or "
            "is responsible for, province leadership those of its province's organisations, admins all. "
            "`format=csv` answers a CSV with a BOM."
        ),
        responses=problems(422),
    )
    async def get_complaints_report(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        from_: FromDay = None,
        to: ToDay = None,
        format: FromQuery[ReportFormat] = ReportFormat.json,
    ) -> Response[ComplaintReport]:
        check_days(**{"from": from_, "to": to})
        first, last = reports.period(from_, to)
        report = await reports.complaints(db_session, principal, first, last)
        if format is ReportFormat.csv:
            return _csv(
                reports.to_csv(report.rows, reports.COMPLAINT_COLUMNS),
                f"phan-anh_{first.isoformat()}_{last.isoformat()}.csv",
            )
        return LocalTimeResponse(content=report)


ROUTES = [RatingsController, ComplaintsController, FeedbackReportsController]
