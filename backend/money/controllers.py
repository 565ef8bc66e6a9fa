"""Money at the door (issue 21): collections, receipts and the post office's cash-ups. Thin over
backend/money/{collect,receipts,cashup}.py; remittances and reports are in ``remit_controllers.py``."""

import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.dates import check_days
from backend.lib.openapi import CITIZEN_APP, CONSOLE, COURIER_APP, problems
from backend.lib.problems import base_url, not_found
from backend.lib.responses import LocalTimeResponse
from backend.money import cashup, collect, receipts, refunds
from schemas.base import utcnow
from schemas.enums import Role
from schemas.money_api import (
    CashupConfirmIn,
    CashupIn,
    CashupOut,
    CollectIn,
    CollectionOut,
    OfficeDayOut,
    ReceiptOut,
    RefundPaidOut,
    RefundPayIn,
)
from schemas.vntime import vn_date

deps = {"principal": Provide(provide_principal)}


def _secret(request: Request[Any, Any, Any]) -> str:
    return str(request.app.state.settings.secret_key)


class CollectionController(Controller):
    path = "/collections"
    dependencies = deps

    @post(
        "/",
        status_code=200,
        guards=[requires(Role.courier)],
        tags=[COURIER_APP],
        summary="Collect money at the door",
        description=(
            "A courier takes money at a visit on their published route: at a pickup the procedure's fee and "
            "lệ phí and the postal charge, at a result delivery what is still due (collect on delivery). "
            "`method` is `cash_door` or `bank_transfer`; `online_vnpay` (already paid online) collects nothing "
            "and answers what is still due. The answer carries the receipt number (per office and year, no "
            "gaps) and the citizen gets the receipt in the inbox. `client_event_id` makes it idempotent: a "
            "replay answers `duplicate` and collects nothing (the same works offline in `/events/batch`'s "
            "`collections`). Refused, with nothing recorded: an amount outside 1 … 1,000,000,000 or over what "
            "is due (422 `amount_out_of_range`, `more_than_due`), another method (422 `bad_method`), a visit "
            "not on the caller's route (403 `not_on_route`), a cancelled or missed visit (409 "
            "`appointment_cancelled`)."
        ),
        responses=problems(403, 404, 409, 422),
    )
    async def collect_at_door(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[CollectIn],
    ) -> Response[CollectionOut]:
        answer = await collect.collect(db_session, principal, data)
        await db_session.commit()
        return LocalTimeResponse(content=answer)


class ReceiptController(Controller):
    path = "/receipts"
    dependencies = deps

    @get(
        "/{receipt_no:str}",
        guards=[requires(Role.citizen, Role.courier, Role.dispatcher, Role.admin)],
        tags=[CITIZEN_APP],
        summary="Read a receipt",
        description=(
            "A receipt (biên lai) by its number: when, which office, how much and how, what the visit's dues "
            "were, and `print_url`, its printable page (HTML with a QR code of that URL, which verifies it). "
            "For the citizen who paid, the courier who took it, the office's dispatchers and admins; others "
            "get 404. No phone, no address."
        ),
        responses=problems(404),
    )
    async def get_receipt(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        receipt_no: FromPath[str],
    ) -> Response[ReceiptOut]:
        txn = await receipts.load(db_session, receipt_no)
        if not receipts.may_read(principal, txn, await receipts.office_of(db_session, txn)):
            raise not_found("biên lai / receipt", receipt_no)
        url = receipts.print_url(base_url(request), _secret(request), receipt_no)
        return LocalTimeResponse(content=await receipts.view(db_session, txn, url))


@get(
    "/receipts/{receipt_no:str}",
    media_type=MediaType.HTML,
    exclude_from_auth=True,
    tags=[CITIZEN_APP],
    summary="Print or verify a receipt",
    description=(
        "The printable receipt (HTML, Vietnamese first) with its QR code, reached through the URL in the "
        "receipt's `print_url` (its `v` is the receipt's verification token): whoever scans the paper's QR "
        "code sees the service's own copy. No name, phone or address. A wrong or missing `v`: 404."
    ),
    responses=problems(404),
)
async def print_receipt(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    receipt_no: FromPath[str],
    v: Annotated[
        str | None, QueryParameter(max_length=64, description="the receipt's verification token")
    ] = None,
) -> Response[str]:
    import hmac

    if not v or not hmac.compare_digest(v, receipts.token(_secret(request), receipt_no)):
        raise not_found("biên lai / receipt", receipt_no)
    txn = await receipts.load(db_session, receipt_no)
    url = receipts.print_url(base_url(request), _secret(request), receipt_no)
    page = receipts.page(await receipts.view(db_session, txn, url))
    return Response(page, media_type=MediaType.HTML, headers={"Cache-Control": "private, max-age=300"})


class CashupController(Controller):
    path = "/post-offices/{code:str}"
    dependencies = deps

    @post(
        "/cashups",
        status_code=201,
        guards=[requires(Role.courier)],
        tags=[COURIER_APP],
        summary="Cash up the day (courier)",
        description=(
            "At the end of the day a courier of the office declares what was counted (cash; transfers seen). "
            "Expected comes from the ledger; a difference needs a `note` (422 `cashup_mismatch`, with the "
            "expected amounts). The courier's signature is this request; the office's dispatcher confirms. A "
            "second cash-up of the same courier and day: 409 `cashup_exists`; a day the office closed: 409 "
            "`day_closed`. Another office: 403."
        ),
        responses=problems(403, 404, 409, 422),
    )
    async def declare_cashup(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        code: FromPath[str],
        data: JSONBody[CashupIn],
    ) -> Response[CashupOut]:
        check_days(day=data.day)
        answer = await cashup.declare(db_session, principal, code, data)
        await db_session.commit()
        return LocalTimeResponse(content=answer, status_code=201)

    @get(
        "/cashups",
        guards=[requires(Role.dispatcher, Role.admin)],
        tags=[CONSOLE],
        summary="The office's day: couriers' cash and cash-ups",
        description=(
            "For a day (Vietnam date, default today): each courier of the office with the cash they hold now "
            "and collected that day (from the ledger) and their cash-up; `closable` is true when every courier "
            "who holds cash or collected has a confirmed cash-up. The office's dispatchers and admins."
        ),
        responses=problems(403, 404, 422),
    )
    async def office_cashups(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        code: FromPath[str],
        day: Annotated[date | None, QueryParameter(description="Vietnam date; default today")] = None,
    ) -> Response[OfficeDayOut]:
        check_days(day=day)
        answer = await cashup.office_day(db_session, principal, code, day or vn_date(utcnow()))
        return LocalTimeResponse(content=answer)

    @post(
        "/cashups/close",
        status_code=200,
        guards=[requires(Role.dispatcher, Role.admin)],
        tags=[CONSOLE],
        summary="Close the office's day",
        description=(
            "Checks that every courier who holds cash or collected on `day` (Vietnam date, default today) has a "
            "confirmed cash-up, then closes it: who and when are stored and answered (`closed_at`, `closed_by`); "
            "otherwise 409 `day_not_closable` listing who has not (`couriers`). A day already closed: 409 "
            "`day_closed`; after the close, cash-ups of that day (declared or confirmed) are 409 `day_closed`."
        ),
        responses=problems(403, 404, 409, 422),
    )
    async def close_day(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        code: FromPath[str],
        day: Annotated[date | None, QueryParameter(description="Vietnam date; default today")] = None,
    ) -> Response[OfficeDayOut]:
        check_days(day=day)
        answer = await cashup.close(db_session, principal, code, day or vn_date(utcnow()))
        await db_session.commit()
        return LocalTimeResponse(content=answer)


class RefundController(Controller):
    path = "/post-offices/{code:str}"
    dependencies = deps

    @post(
        "/refunds",
        status_code=200,
        guards=[requires(Role.dispatcher, Role.admin)],
        tags=[CONSOLE],
        summary="Pay a refund out (office staff)",
        description=(
            "Money the post owes a citizen back through this office (a cancelled visit, a dossier the desk did "
            "not accept: `refund:pending`) handed over in cash at the counter (`cash_counter`, out of the "
            "office's safe) or sent by bank transfer (`bank_transfer`), with a receipt number and a notice to "
            "the citizen. More than is owed back at this office: 422 `more_than_refund_pending` (with "
            "`pending_vnd`). A replay of `client_event_id` answers the same refund (`duplicate`). Another "
            "office: 403."
        ),
        responses=problems(403, 404, 409, 422),
    )
    async def pay_refund(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        code: FromPath[str],
        data: JSONBody[RefundPayIn],
    ) -> Response[RefundPaidOut]:
        answer = await refunds.pay_out(db_session, principal, code, data)
        await db_session.commit()
        return LocalTimeResponse(content=answer)


class CashupConfirmController(Controller):
    path = "/cashups"
    dependencies = deps

    @post(
        "/{cashup_id:uuid}/confirm",
        status_code=200,
        guards=[requires(Role.dispatcher)],
        tags=[CONSOLE],
        summary="Confirm a courier's cash-up (dispatcher)",
        description=(
            "The office's dispatcher counter-signs a courier's cash-up: the cash moves from the courier to the "
            "office's safe in the ledger, a difference to the courier's discrepancy account. Twice: 409 "
            "`already_confirmed`; a day the office closed: 409 `day_closed`. Another office's: 404."
        ),
        responses=problems(404, 409),
    )
    async def confirm_cashup(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        cashup_id: FromPath[uuid.UUID],
        data: JSONBody[CashupConfirmIn],
    ) -> Response[CashupOut]:
        answer = await cashup.confirm(db_session, principal, cashup_id, data.note)
        await db_session.commit()
        return LocalTimeResponse(content=answer)


ROUTES = [
    CollectionController,
    ReceiptController,
    CashupController,
    CashupConfirmController,
    RefundController,
]
ROOT_ROUTES = [print_receipt]
