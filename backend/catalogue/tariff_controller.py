"""HTTP for the prices people set: postal tariffs, procedure fees and exemptions, versioned (admins)."""

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue import tariff_admin as admin
from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.openapi import CONSOLE, problems
from schemas.enums import Role
from schemas.pricing import (
    FeeExemptionIn,
    FeeExemptionPage,
    FeeExemptionPublic,
    ProcedureFeeIn,
    ProcedureFeePage,
    ProcedureFeePublic,
    ServiceKindName,
    TariffRateIn,
    TariffRatePage,
    TariffRatePublic,
    ZoneCode,
)

NEW = (
    " Versions are never edited: a new one starts at `effective_from` (now or later, else 422 "
    "`price_version_in_past`; after every version of its key, else 409 `price_version_overlap`) and is in force "
    "until the next one starts. Quotes from then on use it at once; bookings keep the ids of the versions "
    "their quote used."
)


class PricesController(Controller):
    path = "/prices"
    tags = [CONSOLE]
    guards = [requires(Role.admin)]
    dependencies = {"principal": Provide(provide_principal)}

    @post(
        "/tariffs",
        summary="Add a postal tariff version",
        description="Admin only. A new postal charge (cước, VND incl. VAT) for one service kind in one distance "
        "zone, citing its basis (the provider's price decision)." + NEW,
        responses=problems(409, 422),
    )
    async def create_tariff_rate(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[TariffRateIn],
    ) -> TariffRatePublic:
        return await admin.create_rate(db_session, principal, data)

    @get(
        "/tariffs",
        summary="List postal tariff versions",
        description="Admin only. Every version of every kind and zone (or of one `kind` / `zone`), with when each "
        "starts and ends.",
    )
    async def list_tariff_rates(
        self,
        db_session: NamedDependency[AsyncSession],
        kind: FromQuery[ServiceKindName | None] = None,
        zone: FromQuery[ZoneCode | None] = None,
    ) -> TariffRatePage:
        items = await admin.list_rates(db_session, kind, zone)
        return TariffRatePage(items=items, total=len(items))

    @get(
        "/tariffs/{rate_id:uuid}",
        summary="Get a postal tariff version",
        description="Admin only. One version, with when it starts and ends.",
        responses=problems(404),
    )
    async def get_tariff_rate(
        self, db_session: NamedDependency[AsyncSession], rate_id: FromPath[uuid.UUID]
    ) -> TariffRatePublic:
        return await admin.get_rate(db_session, rate_id)

    @post(
        "/procedure-fees",
        summary="Add a procedure fee version",
        description="Admin only. A procedure's fee (phí) and charge (lệ phí) in VND from a date, citing the "
        "decision that sets them (e.g. a provincial council's resolution under Law 97/2015/QH13); 404 for an "
        "unknown procedure. Until a procedure has a version, quotes use the catalogue's amounts." + NEW,
        responses=problems(404, 409, 422),
    )
    async def create_procedure_fee(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[ProcedureFeeIn],
    ) -> ProcedureFeePublic:
        return await admin.create_fee(db_session, principal, data)

    @get(
        "/procedure-fees",
        summary="List procedure fee versions",
        description="Admin only. Every version (or a `procedure`'s), with when each starts and ends.",
    )
    async def list_procedure_fees(
        self,
        db_session: NamedDependency[AsyncSession],
        procedure: Annotated[str | None, QueryParameter(max_length=32)] = None,
    ) -> ProcedureFeePage:
        items = await admin.list_fees(db_session, procedure)
        return ProcedureFeePage(items=items, total=len(items))

    @get(
        "/procedure-fees/{fee_id:uuid}",
        summary="Get a procedure fee version",
        description="Admin only. One version, with when it starts and ends.",
        responses=problems(404),
    )
    async def get_procedure_fee(
        self, db_session: NamedDependency[AsyncSession], fee_id: FromPath[uuid.UUID]
    ) -> ProcedureFeePublic:
        return await admin.get_fee(db_session, fee_id)

    @post(
        "/exemptions",
        summary="Add an exemption version",
        description="Admin only. A free pilot (a `province_code` and/or `procedure_code`) or an exempt "
        "`citizen_group`, covering the fees, the postal charge or all, with its `legal_basis`; `active` false "
        "ends it. Its `code` names the ledger account the waived amounts go to (`exempt:{code}`)." + NEW,
        responses=problems(404, 409, 422),
    )
    async def create_fee_exemption(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[FeeExemptionIn],
    ) -> FeeExemptionPublic:
        return await admin.create_exemption(db_session, principal, data)

    @get(
        "/exemptions",
        summary="List exemption versions",
        description="Admin only. Every version (or a `code`'s), with when each starts and ends.",
    )
    async def list_fee_exemptions(
        self,
        db_session: NamedDependency[AsyncSession],
        code: Annotated[str | None, QueryParameter(max_length=40)] = None,
    ) -> FeeExemptionPage:
        items = await admin.list_exemptions(db_session, code)
        return FeeExemptionPage(items=items, total=len(items))

    @get(
        "/exemptions/{exemption_id:uuid}",
        summary="Get an exemption version",
        description="Admin only. One version, with when it starts and ends.",
        responses=problems(404),
    )
    async def get_fee_exemption(
        self, db_session: NamedDependency[AsyncSession], exemption_id: FromPath[uuid.UUID]
    ) -> FeeExemptionPublic:
        return await admin.get_exemption(db_session, exemption_id)


ROUTES = [PricesController]
