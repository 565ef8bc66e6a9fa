"""Remittances to agencies, the reconciliation and the money reports (issue 21). Thin over
backend/money/{remittance,reports}.py."""

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.dates import check_days
from backend.lib.openapi import CONSOLE, problems
from backend.lib.problems import Problem, forbidden, not_found
from backend.lib.responses import LocalTimeResponse
from backend.money import remittance, reports
from schemas.base import utcnow
from schemas.enums import Role
from schemas.money import Remittance
from schemas.money_api import (
    CashReportOut,
    OutstandingOut,
    ReconciliationOut,
    RemittanceCreate,
    RemittanceOut,
    RemittancesDueOut,
)
from schemas.orgs import Organisation
from schemas.vntime import vn_date, vn_day_start

CSV = "text/csv; charset=utf-8"
MAX_DAYS = 366 * 5


class Format(StrEnum):
    json = "json"
    csv = "csv"


@dataclass
class CsvOperation(Operation):
    """One 200 answer in two media types, chosen by ``format`` (as backend/reporting does)."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content[CSV] = OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.STRING, description="the same as CSV with a BOM (`format=csv`)"
                )
            )


def _csv(text: str, name: str) -> Response[Any]:
    return Response(
        content=text, media_type=CSV, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


async def _org_of(session: AsyncSession, principal: Principal) -> Organisation | None:
    return await session.get(Organisation, principal.org_id) if principal.org_id else None


async def _office_scope(session: AsyncSession, principal: Principal, office: str | None) -> str | None:
    """A dispatcher's own office (another: 403); an admin's choice (None: all)."""
    if principal.role == Role.admin:
        return office
    own = await _org_of(session, principal)
    if own is None or (office is not None and office != own.code):
        raise forbidden()
    return own.code


async def _report_offices(
    session: AsyncSession, principal: Principal, office: str | None
) -> list[Organisation]:
    """The post offices a money report covers: province leadership (issue 23) every office of its province, or
    the one named there (an office elsewhere: 403); else ``_office_scope``'s."""
    if principal.role == Role.leadership:
        own = await _org_of(session, principal)
        if own is None:
            raise forbidden()
        found = await reports.offices(session, office, province=own.province_code)
        if office is not None and not found:
            raise forbidden()
        return found
    return await reports.offices(session, await _office_scope(session, principal, office))


class RemittanceController(Controller):
    path = "/remittances"
    dependencies = {"principal": Provide(provide_principal)}
    tags = [CONSOLE]

    @post(
        "/",
        status_code=201,
        guards=[requires(Role.dispatcher, Role.admin)],
        summary="Make a remittance batch for an agency",
        description=(
            "Lists every dossier of the agency with fees and charges collected before `until` (default now) "
            "and not yet remitted, with its amount, and moves the total to the agency in the ledger, awaiting "
            "its confirmation. A dispatcher remits their own office's money; an admin every office's (what "
            "the nightly schedule does). Nothing to remit: 422 `nothing_to_remit`; everything already "
            "remitted: 409 `already_remitted`; an unknown agency: 422 `unknown_org`."
        ),
        responses=problems(403, 409, 422),
    )
    async def create_remittance(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[RemittanceCreate],
    ) -> Response[RemittanceOut]:
        office = await _office_scope(db_session, principal, None)
        batch = await remittance.create(
            db_session, principal.id, principal.role.value, data.agency, office=office, until=data.until
        )
        answer = await remittance.answer(db_session, batch)
        await db_session.commit()
        return LocalTimeResponse(content=answer, status_code=201)

    @get(
        "/",
        guards=[requires(Role.dispatcher, Role.agency, Role.admin)],
        summary="List remittance batches",
        description=(
            "Newest first: an agency sees the batches for it, a dispatcher their office's, an admin all "
            "(`agency` narrows). `status`: awaiting or confirmed."
        ),
    )
    async def list_remittances(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        agency: Annotated[str | None, QueryParameter(max_length=32)] = None,
        status: Annotated[str | None, QueryParameter(max_length=12)] = None,
    ) -> Response[list[RemittanceOut]]:
        stmt = select(Remittance).order_by(col(Remittance.created_at).desc()).limit(200)
        own = await _org_of(db_session, principal)
        if principal.role == Role.agency:
            stmt = stmt.where(Remittance.org_code == (own.code if own else ""))
        elif principal.role == Role.dispatcher:
            stmt = stmt.where(Remittance.office_code == (own.code if own else ""))
        if agency:
            stmt = stmt.where(Remittance.org_code == agency)
        if status:
            stmt = stmt.where(Remittance.status == status)
        rows = (await db_session.exec(stmt)).all()
        return LocalTimeResponse(content=[await remittance.answer(db_session, b) for b in rows])

    @get(
        "/{remittance_id:uuid}",
        guards=[requires(Role.dispatcher, Role.agency, Role.admin)],
        summary="Read a remittance batch",
        description="Its dossiers and amounts; for the agency, the office that made it and admins (else 404).",
        responses=problems(404),
    )
    async def get_remittance(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        remittance_id: FromPath[uuid.UUID],
    ) -> Response[RemittanceOut]:
        batch = await db_session.get(Remittance, remittance_id)
        if batch is None or not await remittance.readable(db_session, principal, batch):
            raise not_found("đợt chuyển tiền / remittance", remittance_id)
        return LocalTimeResponse(content=await remittance.answer(db_session, batch))

    @post(
        "/{remittance_id:uuid}/confirm",
        status_code=200,
        guards=[requires(Role.agency)],
        summary="Confirm a remittance was received (agency)",
        description=(
            "The agency the batch is for confirms it received the money; the ledger takes it out of the "
            "offices. Another agency's batch: 404; twice: 409 `already_confirmed`."
        ),
        responses=problems(404, 409),
    )
    async def confirm_remittance(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        remittance_id: FromPath[uuid.UUID],
    ) -> Response[RemittanceOut]:
        batch = await remittance.confirm(db_session, principal, remittance_id)
        answer = await remittance.answer(db_session, batch)
        await db_session.commit()
        return LocalTimeResponse(content=answer)


def _period(first: date | None, last: date | None) -> tuple[date, date]:
    check_days(**{"from": first, "to": last})
    today = vn_date(utcnow())
    last = last or today
    first = first or last.replace(day=1)
    if first > last or (last - first).days > MAX_DAYS:
        raise Problem(422, "Kỳ sai (từ sau đến, quá 5 năm) / bad period", code="bad_period")
    return first, last


FROM = Annotated[date | None, QueryParameter(name="from", description="first day (Vietnam time)")]
TO = Annotated[date | None, QueryParameter(description="last day, inclusive")]


class MoneyReportController(Controller):
    path = "/"
    dependencies = {"principal": Provide(provide_principal)}
    tags = [CONSOLE]

    @get(
        "/agencies/{org:str}/reconciliation",
        guards=[requires(Role.agency, Role.admin)],
        operation_class=CsvOperation,
        summary="Reconcile an agency's money for a period",
        description=(
            "For the dossiers with money received `from`–`to` (default this month): per dossier and in total, "
            "collected = remitted (confirmed) + awaiting confirmation + held, to the đồng. The agency itself "
            "and admins (another agency: 403). `format=csv`: CSV with a BOM, with a total row."
        ),
        responses=problems(403, 422),
    )
    async def agency_reconciliation(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        org: FromPath[str],
        from_: FROM = None,
        to: TO = None,
        format: FromQuery[Format] = Format.json,
    ) -> Response[ReconciliationOut]:
        first, last = _period(from_, to)
        if principal.role != Role.admin:
            own = await _org_of(db_session, principal)
            if own is None or own.code != org:
                raise forbidden()
        agency = await remittance.agency_org(db_session, org)
        report = await reports.reconciliation(db_session, agency, first, last)
        if format is Format.csv:
            return _csv(reports.reconciliation_csv(report), f"doi-soat-{org}-{first}-{last}.csv")
        return LocalTimeResponse(content=report)

    @get(
        "/reports/money/cash",
        guards=[requires(Role.dispatcher, Role.leadership, Role.admin)],
        operation_class=CsvOperation,
        summary="Report the day's cash per office and courier",
        description=(
            "What each courier collected on a day (Vietnam date, default today), cash and transfers, with the "
            "number of receipts. A dispatcher's own office; province leadership the offices of its province (or "
            "one `office` of it); admins one `office` or all. `format=csv` for a "
            "spreadsheet."
        ),
        responses=problems(403, 422),
    )
    async def cash_report(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        day: Annotated[date | None, QueryParameter(description="Vietnam date; default today")] = None,
        office: Annotated[str | None, QueryParameter(max_length=32)] = None,
        format: FromQuery[Format] = Format.json,
    ) -> Response[CashReportOut]:
        check_days(day=day)
        codes = [o.code for o in await _report_offices(db_session, principal, office)]
        report = await reports.daily_cash(db_session, day or vn_date(utcnow()), codes)
        if format is Format.csv:
            return _csv(reports.to_csv(report.rows, reports.CASH_CSV), f"tien-mat-{report.day}.csv")
        return LocalTimeResponse(content=report)

    @get(
        "/reports/money/outstanding",
        guards=[requires(Role.dispatcher, Role.leadership, Role.admin)],
        operation_class=CsvOperation,
        summary="Report outstanding collect-on-delivery",
        description=(
            "Visits (booked or done, starting by the end of `to`, default today) with money still due: from "
            "the ledger, or the booking's quote before anything was posted. A dispatcher's own office; province "
            "leadership its province's offices; admins one `office` or all. `format=csv` for a spreadsheet."
        ),
        responses=problems(403, 422),
    )
    async def outstanding_report(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        to: TO = None,
        office: Annotated[str | None, QueryParameter(max_length=32)] = None,
        format: FromQuery[Format] = Format.json,
    ) -> Response[OutstandingOut]:
        check_days(to=to)
        orgs = await _report_offices(db_session, principal, office)
        until = vn_day_start((to or vn_date(utcnow())) + timedelta(days=1))
        report = await reports.outstanding(db_session, orgs, until)
        if format is Format.csv:
            return _csv(reports.to_csv(report.rows, reports.OUTSTANDING_CSV), "cod-chua-thu.csv")
        return LocalTimeResponse(content=report)

    @get(
        "/reports/money/remittances-due",
        guards=[requires(Role.agency, Role.leadership, Role.admin)],
        operation_class=CsvOperation,
        summary="Report remittances due per agency",
        description=(
            "Per agency: collected and not yet remitted, remitted and awaiting its confirmation, and how many "
            "dossiers wait. An agency sees its own row; province leadership its province's agencies; admins "
            "every agency with money. `format=csv`."
        ),
    )
    async def remittances_due_report(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        format: FromQuery[Format] = Format.json,
    ) -> Response[RemittancesDueOut]:
        if principal.role == Role.admin:
            orgs = await reports.agencies_with_money(db_session)
        elif principal.role == Role.leadership:
            own = await _org_of(db_session, principal)
            orgs = await reports.agencies_with_money(db_session, own.province_code if own else "-")
        else:
            own = await _org_of(db_session, principal)
            orgs = [own] if own is not None else []
        report = await reports.remittances_due(db_session, orgs)
        if format is Format.csv:
            return _csv(reports.to_csv(report.rows, reports.REMITTANCES_DUE_CSV), "can-chuyen.csv")
        return LocalTimeResponse(content=report)


ROUTES = [RemittanceController, MoneyReportController]
