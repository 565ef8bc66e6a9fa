"""A new dossier: home pickup, counter receipt at a post office, or direct and online filing at the desk."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.phones import normalise_phone
from backend.accounts.services import citizen_by_phone
from backend.catalogue import editing_store, places  # the catalogue in force; the served communes
from backend.catalogue.calendar_service import working_calendar
from backend.custody import transitions as tr
from backend.custody.ids import claim_reserved, new_item_id, parse_item_id
from backend.custody.services.access import Actor, actor_for, org_by_code
from backend.custody.services.clock import event_time
from backend.custody.services.events import Effects, Move, transition
from backend.custody.services.verification import check_confirmation
from backend.lib.auth import Principal
from backend.lib.problems import Problem
from schemas import s10
from schemas.accounts import Citizen
from schemas.base import utcnow
from schemas.booking import Appointment
from schemas.catalogue import Procedure
from schemas.dossiers import (
    POSTAL_CHANNELS,
    Channel,
    CustodianKind,
    Dossier,
    DossierCreate,
    PickupRecord,
    ReservedItemId,
)
from schemas.enums import OrgKind, Role
from schemas.orgs import Organisation


def check_documents(procedure: Procedure, ticks: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Tick the procedure's documents against what was handed over (Circular 17/2017/TT-BTTTT art. 5: the
    postal worker checks the components and their form, original or copy, before accepting).
    Returns the checklist and the names of what is missing or given as a copy where an original is required."""
    given = {t.id: t for t in ticks}
    unknown = sorted(set(given) - {str(d["id"]) for d in procedure.documents})
    if unknown:
        raise Problem(
            422,
            f"Giấy tờ không thuộc thủ tục: {', '.join(unknown)} / documents not in the procedure",
            code="unknown_document",
        )
    checklist: list[dict[str, Any]] = []
    missing: list[str] = []
    for doc in procedure.documents:
        tick = given.get(str(doc["id"]))
        provided = bool(tick and tick.provided)
        original = bool(tick and tick.original)
        ok = provided and (original or not doc.get("original"))
        checklist.append(
            {
                "id": doc["id"],
                "name": doc["name"],
                "original_required": bool(doc.get("original")),
                "provided": provided,
                "original": original,
                "ok": ok,
            }
        )
        if not ok and not doc.get("optional"):
            missing.append(doc["name"] + (" (bản chính / original)" if provided else ""))
    return checklist, missing


async def filing_commune(session: AsyncSession, actor: Actor, body: DossierCreate) -> str | None:
    """The commune whose one-stop centre receives a commune-level dossier: where the citizen lives (the
    booked appointment's commune, else the pickup place), not where the courier's post office stands, which
    serves several communes; at a desk, the desk's own commune."""
    if body.appointment_id is not None:
        appt = await session.get(Appointment, body.appointment_id)
        if appt is not None:
            return appt.commune_code
    if body.channel == Channel.home_pickup and body.lat is not None and body.lon is not None:
        try:
            return places.locate(await places.served_area(session), body.lat, body.lon).commune_code
        except Problem:
            pass  # outside the served area: fall back to the post office's commune
    return actor.org.commune_code if actor.org is not None else None


async def default_desk(session: AsyncSession, procedure: Procedure, commune_code: str | None) -> Organisation:
    """Commune procedures go to the commune's one-stop centre, others to the provincial centre
    (Decree 118/2025/NĐ-CP art. 7 on where dossiers are received)."""
    if commune_code and procedure.level == "commune":
        desk = (
            await session.exec(
                select(Organisation).where(
                    Organisation.kind == OrgKind.desk,
                    Organisation.commune_code == commune_code,
                    col(Organisation.active).is_(True),
                )
            )
        ).first()
        if desk is not None:
            return desk
    stmt = (
        select(Organisation)
        .where(Organisation.kind == OrgKind.desk, col(Organisation.active).is_(True))
        .order_by(Organisation.code)
    )
    desks = list((await session.exec(stmt)).all())
    province = commune_code[:2] if commune_code else None
    ranked = sorted(
        desks,
        key=lambda o: (o.province_code != province, not o.code.endswith("TTPVHCC"), o.code),
    )
    if not ranked:
        raise Problem(422, "Chưa có Bộ phận Một cửa / no one-stop desk configured", code="no_desk")
    return ranked[0]


@dataclass
class _Intake:
    """What the checks decided about a new dossier before it is written."""

    procedure: Procedure
    citizen: Citizen | None
    postal_return: bool
    checklist: list[dict[str, Any]]
    missing: list[str]


async def create_dossier(
    session: AsyncSession,
    principal: Principal,
    body: DossierCreate,
    *,
    now: datetime | None = None,
    commit: bool = True,
) -> tuple[Dossier, Effects]:
    now = now or utcnow()
    if body.item_id:
        existing = await _replayed(session, principal, body.item_id)
        if existing is not None:
            return existing, Effects()
    actor = await actor_for(session, principal)
    code, status, roles = tr.CREATION[body.channel]
    if principal.role not in roles:
        raise Problem(
            403,
            f"Vai trò '{principal.role.value}' không tạo được hồ sơ kênh '{body.channel.value}' / "
            f"role may not create a '{body.channel.value}' dossier",
            code="forbidden_channel",
        )
    when = event_time(body.client_at, now)
    intake = await _intake(session, body)
    if body.channel == Channel.home_pickup:
        await check_confirmation(session, principal, body, intake.citizen, when)
    desk = await _desk(session, actor, body, intake.procedure)
    await editing_store.check_intake(  # the province's postal list in force that day (issue 23)
        session,
        body.procedure,
        desk.province_code,
        when,
        postal=body.channel in POSTAL_CHANNELS,
        postal_return=intake.postal_return,
    )
    agency = receiving(await org_by_code(session, body.agency, OrgKind.agency)) if body.agency else None
    item_id = (
        await claim_reserved(session, principal.id, body.item_id, at=when)
        if body.item_id
        else await new_item_id(session, s10.PREFIX_DOSSIER)
    )
    dossier = _new_dossier(actor, body, intake, item_id, desk, agency, when=when, now=now)
    session.add(dossier)
    await session.flush()
    if body.channel in POSTAL_CHANNELS:
        session.add(_pickup_record(principal, body, dossier, intake))
    effects = Effects()
    move = Move(
        code,
        status,
        when=when,
        now=now,
        where=body,
        ev=None,
        calendar=await working_calendar(session),
        procedure=await editing_store.procedure_on(session, intake.procedure, when),  # version of that day
        target_org=desk if status == tr.Status.received else None,
    )
    await transition(session, actor, dossier, move, effects)
    if commit:
        await session.commit()
    return dossier, effects


async def _replayed(session: AsyncSession, principal: Principal, raw_item_id: str) -> Dossier | None:
    """A pickup recorded offline with a reserved label: replaying it returns the dossier it made."""
    existing = (
        await session.exec(select(Dossier).where(Dossier.item_id == parse_item_id(raw_item_id)))
    ).one_or_none()
    if existing is None:
        return None
    mine = (
        await session.exec(
            select(ReservedItemId).where(
                ReservedItemId.item_id == existing.item_id, ReservedItemId.courier_id == principal.id
            )
        )
    ).one_or_none()
    if mine is None:
        raise Problem(409, "Số hiệu đã được dùng / item id already used", code="item_id_used")
    return existing


async def _intake(session: AsyncSession, body: DossierCreate) -> _Intake:
    """The procedure, the citizen and the papers, checked in this order (the first refusal is the answer)."""
    procedure = (await session.exec(select(Procedure).where(Procedure.code == body.procedure))).one_or_none()
    if procedure is None:
        raise Problem(
            422, f"Không có thủ tục '{body.procedure}' / unknown procedure", code="unknown_procedure"
        )
    postal = body.channel in POSTAL_CHANNELS
    if postal and not procedure.postal_pickup:
        raise Problem(
            422,
            "Thủ tục này không được nộp qua bưu chính / this procedure cannot be filed by post",
            code="postal_not_allowed",
        )
    citizen: Citizen | None = None
    if body.citizen_phone:
        citizen = await citizen_by_phone(session, normalise_phone(body.citizen_phone), create=True)
    elif postal:
        raise Problem(422, "Cần số điện thoại công dân / citizen_phone is required", code="citizen_required")
    postal_return = body.postal_return if body.postal_return is not None else postal
    if postal_return and not procedure.postal_return:
        raise Problem(
            422,
            "Thủ tục này không trả kết quả qua bưu chính / results of this procedure cannot be posted",
            code="postal_return_not_allowed",
        )
    checklist: list[dict[str, Any]] = []
    missing: list[str] = []
    if postal:
        checklist, missing = check_documents(procedure, body.documents)
        if missing and not body.carry_incomplete:
            # Circular 17/2017/TT-BTTTT art. 5: an incomplete dossier is not accepted; the citizen gets the list.
            raise Problem(
                422,
                "Hồ sơ chưa đủ thành phần: " + "; ".join(missing) + " / The dossier is incomplete",
                code="incomplete_dossier",
                extra={"missing": missing},
            )
    return _Intake(procedure, citizen, postal_return, checklist, missing)


async def _desk(
    session: AsyncSession, actor: Actor, body: DossierCreate, procedure: Procedure
) -> Organisation:
    """The desk named in the request; at a desk, that desk; else the one where the citizen files."""
    commune = await filing_commune(session, actor, body)
    desk = await org_by_code(session, body.desk, OrgKind.desk) if body.desk else None
    if desk is None and body.channel in {Channel.direct, Channel.online}:
        if actor.org is None or actor.org.kind != OrgKind.desk:
            raise Problem(422, "Cần mã Bộ phận Một cửa / desk is required", code="desk_required")
        desk = actor.org
    if desk is None:
        desk = await default_desk(session, procedure, commune)
    return receiving(desk)


def receiving(org: Organisation) -> Organisation:
    """A new dossier goes to organisations in service only (issue 23: a deactivated one keeps its dossiers
    but receives no new ones)."""
    if not org.active:
        raise Problem(
            422,
            f"Đơn vị '{org.code}' đã ngừng hoạt động / organisation '{org.code}' is deactivated",
            code="unknown_org",
        )
    return org


def _new_dossier(
    actor: Actor,
    body: DossierCreate,
    intake: _Intake,
    item_id: str,
    desk: Organisation,
    agency: Organisation | None,
    *,
    when: datetime,
    now: datetime,
) -> Dossier:
    return Dossier(
        item_id=item_id,
        procedure_id=intake.procedure.id,
        citizen_id=intake.citizen.id if intake.citizen else None,
        channel=body.channel,
        postal_pickup=body.channel in POSTAL_CHANNELS,
        postal_return=intake.postal_return,
        status="new",
        portal_status=1,
        custodian_kind=CustodianKind.citizen,
        post_office_id=actor.org.id if actor.org and actor.org.kind == OrgKind.post_office else None,
        desk_id=desk.id,
        agency_id=agency.id if agency else None,
        agency_code=body.agency_code,
        appointment_id=body.appointment_id,
        submitted_at=when,
        supplement_required=bool(intake.missing),
        fees_collected=body.fee_collected,
        data={"missing": intake.missing} if intake.missing else {},
        created_at=now,
        updated_at=now,
        version=0,
    )


def _pickup_record(
    principal: Principal, body: DossierCreate, dossier: Dossier, intake: _Intake
) -> PickupRecord:
    return PickupRecord(
        dossier_id=dossier.id,
        courier_id=principal.id if principal.role == Role.courier else None,
        documents=intake.checklist,
        missing=intake.missing,
        seal_number=body.seal_number,
        fee_collected=body.fee_collected,
        receipt_number=body.receipt_number,
        confirmed_by=body.confirmation.method if body.confirmation else "counter",
        signature_proof_id=body.confirmation.signature_proof_id if body.confirmation else None,
    )
