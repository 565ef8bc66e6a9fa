"""Dossier custody: creation (home pickup, counter, desk), events, the legal clock, results and delivery.

Every change and its event (who, when on the server and on the device, where, raw code, status, portal status)
and the notifications it causes are written in one transaction (transactional outbox). Handovers and queries
live in ``handovers.py`` and ``views.py``.
"""

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.phones import normalise_phone
from backend.accounts.services import citizen_by_phone
from backend.booking import places  # the served communes and their centroids
from backend.catalogue.calendar import WorkingCalendar
from backend.catalogue.calendar_service import working_calendar
from backend.custody import codeguard, custodians, deadlines
from backend.custody import transitions as tr
from backend.custody.ids import claim_reserved, new_item_id, parse_item_id
from backend.lib.auth import Principal
from backend.lib.problems import Problem, not_found
from backend.settings import get_settings
from notifications.outbox import enqueue
from schemas import s10
from schemas.accounts import Citizen, StaffUser
from schemas.base import utcnow
from schemas.booking import Appointment
from schemas.catalogue import Procedure
from schemas.dossiers import (
    POSTAL_CHANNELS,
    Channel,
    CustodianKind,
    Dossier,
    DossierCreate,
    DossierEvent,
    EventIn,
    PickupRecord,
    ProofFile,
    RecipientCheck,
    ReservedItemId,
    ResultItem,
)
from schemas.enums import OrgKind, Role
from schemas.orgs import Organisation
from schemas.vntime import vn_date


def max_delivery_attempts() -> int:
    """After this many failed delivery attempts the result goes back to the desk for counter pickup
    (``DELIVERY_MAX_ATTEMPTS``)."""
    return get_settings().delivery_max_attempts


# Device clocks drift; an event "from the future" beyond this is refused, so is one older than the window.
CLIENT_SKEW = timedelta(minutes=10)
CLIENT_MAX_AGE = timedelta(days=14)

DELIVERY_FAILURES: dict[str, tuple[str, str]] = {
    "not_home": ("Người nhận vắng nhà", "Recipient not at home"),
    "wrong_address": ("Sai hoặc không tìm thấy địa chỉ", "Wrong or unknown address"),
    "refused": ("Người nhận từ chối nhận", "Recipient refused"),
    "no_identity": ("Không xác minh được người nhận", "Recipient could not be verified"),
    "moved": ("Người nhận đã chuyển đi", "Recipient moved away"),
    "unsafe": ("Không tiếp cận được (thời tiết, đường)", "Could not reach (weather, road)"),
    "other": ("Lý do khác", "Other reason"),
}

ORG_CUSTODY = {
    OrgKind.post_office: CustodianKind.post_office,
    OrgKind.desk: CustodianKind.desk,
    OrgKind.agency: CustodianKind.agency,
}


@dataclass
class Actor:
    principal: Principal
    org: Organisation | None

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def kind(self) -> str:
        return "system" if self.principal.role == Role.admin else self.principal.role.value


@dataclass
class Effects:
    """What to do after the commit (the desk live feed is best effort, never part of the transaction)."""

    feed: list[tuple[uuid.UUID, dict[str, Any]]] = field(default_factory=list)


async def actor_for(session: AsyncSession, principal: Principal) -> Actor:
    org = await session.get(Organisation, principal.org_id) if principal.org_id else None
    return Actor(principal=principal, org=org)


def _problem_from(exc: tr.TransitionError) -> Problem:
    return Problem(
        409, str(exc), code="invalid_transition", extra={"current_status": exc.status, "allowed": exc.allowed}
    )


def handover_code(citizen_id: uuid.UUID, day: Any) -> str:
    """The citizen's six-digit code for today (shown in their app), confirming a pickup or a delivery without
    sending anything: HMAC of the citizen and the Vietnam date under the server secret."""
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"handover:{citizen_id}:{day.isoformat()}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def code_matches(citizen_id: uuid.UUID, code: str, at: datetime) -> bool:
    """Whether `code` is the citizen's code on the Vietnam day of `at`, the event's time on the courier's device.

    Near midnight the two phones may disagree on the day: the citizen's app may still show yesterday's code, and
    a device clock up to CLIENT_SKEW behind the server may stamp a pickup before midnight that the citizen's app
    already saw as tomorrow. Both are accepted; nothing older or newer is."""
    if not (code.isascii() and code.isdigit()):
        return False  # compare_digest refuses non-ASCII text; no code has it
    days = {vn_date(at - timedelta(days=1)), vn_date(at), vn_date(at + CLIENT_SKEW)}
    return any(hmac.compare_digest(handover_code(citizen_id, d), code) for d in days)


def event_time(client_at: datetime | None, now: datetime) -> datetime:
    if client_at is None:
        return now
    if client_at.tzinfo is None:
        raise Problem(422, "Thời điểm phải có múi giờ / client_at needs a UTC offset", code="naive_time")
    if client_at > now + CLIENT_SKEW:
        raise Problem(422, "Thời điểm ở tương lai / client_at is in the future", code="future_time")
    if client_at < now - CLIENT_MAX_AGE:
        raise Problem(422, "Thời điểm quá cũ / client_at is too old", code="stale_time")
    return client_at


# --- loading and access ----------------------------------------------------------------------------------


async def load_dossier(session: AsyncSession, raw_id: str, *, for_update: bool = False) -> Dossier:
    """A dossier by its own id (HS...) or its result's id (KQ...)."""
    item_id = parse_item_id(raw_id)
    stmt = select(Dossier).where(Dossier.item_id == item_id)
    if s10.parse(item_id).service == s10.PREFIX_RESULT:
        sub = select(ResultItem.dossier_id).where(ResultItem.item_id == item_id)
        stmt = select(Dossier).where(col(Dossier.id).in_(sub))
    if for_update:
        stmt = stmt.with_for_update()
    dossier = (await session.exec(stmt)).one_or_none()
    if dossier is None:
        raise not_found("hồ sơ / dossier", item_id)
    return dossier


async def was_custodian(session: AsyncSession, principal: Principal, dossier: Dossier) -> bool:
    """Staff may read a dossier their organisation has or had in hand; a courier only one they carried
    (Decree 13/2023/NĐ-CP: a courier sees only what their stops need)."""
    if principal.role == Role.admin:
        return True
    if principal.role == Role.citizen:
        return dossier.citizen_id == principal.id
    if principal.role == Role.courier:
        if dossier.custodian_user_id == principal.id:
            return True
        seen = await session.exec(
            select(DossierEvent.id)
            .where(DossierEvent.dossier_id == dossier.id, DossierEvent.actor_id == principal.id)
            .limit(1)
        )
        if seen.first() is not None:
            return True
        from backend.custody.handovers import pending_to_user

        return await pending_to_user(session, principal.id, dossier.id)
    org = principal.org_id
    if org is None:
        return False
    if org in {dossier.custodian_org_id, dossier.post_office_id, dossier.desk_id, dossier.agency_id}:
        return True
    seen = await session.exec(
        select(DossierEvent.id)
        .where(DossierEvent.dossier_id == dossier.id, DossierEvent.org_id == org)
        .limit(1)
    )
    if seen.first() is not None:
        return True
    from backend.custody.handovers import pending_to_org

    return await pending_to_org(session, org, dossier.id)


def may_act(actor: Actor, dossier: Dossier) -> bool:
    """Recording an event needs the paper in hand (or at one's office)."""
    p = actor.principal
    if p.role == Role.admin:
        return True
    if p.role == Role.courier:
        return dossier.custodian_user_id == p.id or (
            p.org_id is not None
            and p.org_id in {dossier.custodian_org_id, dossier.post_office_id}
            and dossier.custodian_kind != CustodianKind.courier
        )
    if p.org_id is None:
        return False
    return (
        p.org_id == dossier.custodian_org_id
        or (
            p.role == Role.desk
            and p.org_id == dossier.desk_id
            and dossier.custodian_kind != CustodianKind.courier
        )
        or (p.role == Role.agency and p.org_id == dossier.agency_id)
    )


async def org_by_code(session: AsyncSession, code: str, kind: OrgKind | None = None) -> Organisation:
    org = (await session.exec(select(Organisation).where(Organisation.code == code))).one_or_none()
    if org is None or (kind is not None and org.kind != kind):
        raise Problem(422, f"Không có đơn vị '{code}' / no such organisation '{code}'", code="unknown_org")
    return org


async def staff_ids(session: AsyncSession, org_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.exec(
        select(StaffUser.id).where(
            StaffUser.organisation_id == org_id,
            col(StaffUser.active).is_(True),
            StaffUser.role != Role.courier,
        )
    )
    return list(rows.all())


# --- creation ----------------------------------------------------------------------------------------------


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
                    Organisation.kind == OrgKind.desk, Organisation.commune_code == commune_code
                )
            )
        ).first()
        if desk is not None:
            return desk
    stmt = select(Organisation).where(Organisation.kind == OrgKind.desk).order_by(Organisation.code)
    desks = list((await session.exec(stmt)).all())
    province = commune_code[:2] if commune_code else None
    ranked = sorted(
        desks,
        key=lambda o: (o.province_code != province, not o.code.endswith("TTPVHCC"), o.code),
    )
    if not ranked:
        raise Problem(422, "Chưa có Bộ phận Một cửa / no one-stop desk configured", code="no_desk")
    return ranked[0]


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
        # A pickup recorded offline with a reserved label: replaying it returns the dossier it made.
        existing = (
            await session.exec(select(Dossier).where(Dossier.item_id == parse_item_id(body.item_id)))
        ).one_or_none()
        if existing is not None:
            mine = (
                await session.exec(
                    select(ReservedItemId).where(
                        ReservedItemId.item_id == existing.item_id, ReservedItemId.courier_id == principal.id
                    )
                )
            ).one_or_none()
            if mine is None:
                raise Problem(409, "Số hiệu đã được dùng / item id already used", code="item_id_used")
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
    procedure = (await session.exec(select(Procedure).where(Procedure.code == body.procedure))).one_or_none()
    if procedure is None:
        raise Problem(
            422, f"Không có thủ tục '{body.procedure}' / unknown procedure", code="unknown_procedure"
        )
    if body.channel in POSTAL_CHANNELS and not procedure.postal_pickup:
        raise Problem(
            422,
            "Thủ tục này không được nộp qua bưu chính / this procedure cannot be filed by post",
            code="postal_not_allowed",
        )
    citizen: Citizen | None = None
    if body.citizen_phone:
        citizen = await citizen_by_phone(session, normalise_phone(body.citizen_phone), create=True)
    elif body.channel in POSTAL_CHANNELS:
        raise Problem(422, "Cần số điện thoại công dân / citizen_phone is required", code="citizen_required")
    postal_return = body.postal_return if body.postal_return is not None else body.channel in POSTAL_CHANNELS
    if postal_return and not procedure.postal_return:
        raise Problem(
            422,
            "Thủ tục này không trả kết quả qua bưu chính / results of this procedure cannot be posted",
            code="postal_return_not_allowed",
        )
    checklist: list[dict[str, Any]] = []
    missing: list[str] = []
    if body.channel in POSTAL_CHANNELS:
        checklist, missing = check_documents(procedure, body.documents)
        if missing and not body.carry_incomplete:
            # Circular 17/2017/TT-BTTTT art. 5: an incomplete dossier is not accepted; the citizen gets the list.
            raise Problem(
                422,
                "Hồ sơ chưa đủ thành phần: " + "; ".join(missing) + " / The dossier is incomplete",
                code="incomplete_dossier",
                extra={"missing": missing},
            )
    if body.channel == Channel.home_pickup:
        await check_confirmation(session, principal, body, citizen, when)
    commune = await filing_commune(session, actor, body)
    desk = await org_by_code(session, body.desk, OrgKind.desk) if body.desk else None
    if desk is None and body.channel in {Channel.direct, Channel.online}:
        if actor.org is None or actor.org.kind != OrgKind.desk:
            raise Problem(422, "Cần mã Bộ phận Một cửa / desk is required", code="desk_required")
        desk = actor.org
    if desk is None:
        desk = await default_desk(session, procedure, commune)
    agency = await org_by_code(session, body.agency, OrgKind.agency) if body.agency else None
    item_id = (
        await claim_reserved(session, principal.id, body.item_id, at=when)
        if body.item_id
        else await new_item_id(session, s10.PREFIX_DOSSIER)
    )
    dossier = Dossier(
        item_id=item_id,
        procedure_id=procedure.id,
        citizen_id=citizen.id if citizen else None,
        channel=body.channel,
        postal_pickup=body.channel in POSTAL_CHANNELS,
        postal_return=postal_return,
        status="new",
        portal_status=1,
        custodian_kind=CustodianKind.citizen,
        post_office_id=actor.org.id if actor.org and actor.org.kind == OrgKind.post_office else None,
        desk_id=desk.id,
        agency_id=agency.id if agency else None,
        agency_code=body.agency_code,
        appointment_id=body.appointment_id,
        submitted_at=when,
        supplement_required=bool(missing),
        fees_collected=body.fee_collected,
        data={"missing": missing} if missing else {},
        created_at=now,
        updated_at=now,
        version=0,
    )
    session.add(dossier)
    await session.flush()
    if body.channel in POSTAL_CHANNELS:
        session.add(
            PickupRecord(
                dossier_id=dossier.id,
                courier_id=principal.id if principal.role == Role.courier else None,
                documents=checklist,
                missing=missing,
                seal_number=body.seal_number,
                fee_collected=body.fee_collected,
                receipt_number=body.receipt_number,
                confirmed_by=body.confirmation.method if body.confirmation else "counter",
                signature_proof_id=body.confirmation.signature_proof_id if body.confirmation else None,
            )
        )
    effects = Effects()
    calendar = await working_calendar(session)
    await _transition(
        session,
        actor,
        dossier,
        code,
        status,
        when=when,
        now=now,
        where=body,
        ev=None,
        calendar=calendar,
        procedure=procedure,
        effects=effects,
        target_org=desk if status == tr.Status.received else None,
    )
    if commit:
        await session.commit()
    return dossier, effects


async def check_confirmation(
    session: AsyncSession, principal: Principal, body: DossierCreate, citizen: Citizen | None, when: datetime
) -> None:
    conf = body.confirmation
    if conf is None or citizen is None:
        raise Problem(
            422,
            "Công dân phải xác nhận bằng mã hoặc chữ ký / the citizen must confirm with a code or a signature",
            code="confirmation_required",
        )
    if conf.method == "code":
        # Counted and limited per citizen and day and per courier and hour, wrong answers logged (issue 17).
        citizen_id, code = citizen.id, conf.code or ""
        await codeguard.check(
            session,
            codeguard.Attempt("pickup", "code", principal, citizen_id, where=body),
            lambda: bool(code) and code_matches(citizen_id, code, when),
        )
    else:
        await require_proof(session, conf.signature_proof_id, "signature", by=principal, single_use=True)


def owns_proof(by: Principal, proof: ProofFile) -> bool:
    """Whose proof it is: an admin's, the uploader's, and for office staff their office's (a courier's is
    only what they uploaded). Owners may cite it and read it."""
    if by.role == Role.admin or proof.uploaded_by == by.id:
        return True
    return by.role != Role.courier and by.org_id is not None and proof.org_id == by.org_id


def citing_dossiers(proof_id: uuid.UUID) -> Any:
    """The ids of the dossiers whose pickup signature or delivery proof this proof is."""
    return (
        select(PickupRecord.dossier_id)
        .where(PickupRecord.signature_proof_id == proof_id)
        .union(select(ResultItem.dossier_id).where(ResultItem.proof_id == proof_id))
    )


async def require_proof(
    session: AsyncSession,
    proof_id: uuid.UUID | None,
    *kinds: str,
    by: Principal | None = None,
    single_use: bool = False,
) -> ProofFile:
    """An uploaded proof of one of ``kinds``. ``by``: it must come from that person or their office (nobody
    proves a visit with someone else's photo). ``single_use``: a pickup signature or a delivery proof is
    evidence of one visit, so it may not be cited by another dossier (an authorisation letter may be)."""
    proof = await session.get(ProofFile, proof_id) if proof_id else None
    if proof is None or (kinds and proof.kind not in kinds):
        raise Problem(
            422,
            f"Cần ảnh chứng từ đã tải lên ({'/'.join(kinds)}) / an uploaded proof is required",
            code="proof_required",
        )
    if by is not None and not owns_proof(by, proof):
        raise Problem(
            422,
            "Chứng từ do người khác tải lên / The proof was uploaded by someone else",
            code="proof_not_yours",
        )
    if single_use:
        cited = (await session.exec(citing_dossiers(proof.id).limit(1))).first()
        if cited is not None:
            raise Problem(
                422,
                "Chứng từ này đã dùng cho một lần giao nhận khác / The proof already backs another visit",
                code="proof_already_used",
            )
    return proof


# --- events ------------------------------------------------------------------------------------------------


async def record_event(
    session: AsyncSession,
    principal: Principal,
    raw_id: str,
    ev: EventIn,
    *,
    now: datetime | None = None,
    client_event_id: str | None = None,
    commit: bool = True,
) -> tuple[Dossier, DossierEvent, Effects]:
    now = now or utcnow()
    actor = await actor_for(session, principal)
    dossier = await load_dossier(session, raw_id, for_update=True)
    if not may_act(actor, dossier):
        # Same answer as an unknown id: staff elsewhere learn nothing about the dossier.
        raise not_found("hồ sơ / dossier", dossier.item_id)
    try:
        to = tr.next_status(dossier.status, ev.code, principal.role)
    except tr.TransitionError as exc:
        raise _problem_from(exc) from None
    when = event_time(ev.client_at, now)
    if ev.client_at is not None:  # stamped before the latest event: only its holder then (issue 17)
        await custodians.check_held_then(session, principal, dossier.id, when)
    effects = Effects()
    procedure = await session.get(Procedure, dossier.procedure_id)
    assert procedure is not None
    calendar = await working_calendar(session)
    event = await _transition(
        session,
        actor,
        dossier,
        ev.code,
        to,
        when=when,
        now=now,
        where=ev,
        ev=ev,
        calendar=calendar,
        procedure=procedure,
        effects=effects,
        client_event_id=client_event_id,
    )
    if commit:
        await session.commit()
    return dossier, event, effects


async def handover_transition(
    session: AsyncSession,
    actor: Actor,
    dossier: Dossier,
    code: str | None,
    *,
    now: datetime,
    target_org: Organisation | None,
    target_user: uuid.UUID | None,
    handover_id: uuid.UUID,
    effects: Effects,
) -> DossierEvent:
    """A move caused by a handover: the table decides the status; the handover itself is the authority, so no
    role check (a desk clerk scanning in a courier's bag records the courier's arrival)."""
    procedure = await session.get(Procedure, dossier.procedure_id)
    assert procedure is not None
    if code is None:
        to = tr.Status(dossier.status)
        code = tr.CUSTODY_CODE
    else:
        try:
            to = tr.next_status(dossier.status, code)
        except tr.TransitionError as exc:
            raise _problem_from(exc) from None
    return await _transition(
        session,
        actor,
        dossier,
        code,
        to,
        when=now,
        now=now,
        where=None,
        ev=None,
        calendar=await working_calendar(session),
        procedure=procedure,
        effects=effects,
        target_org=target_org,
        target_user=target_user,
        extra={"handover_id": str(handover_id)},
    )


async def _transition(
    session: AsyncSession,
    actor: Actor,
    dossier: Dossier,
    code: str,
    to: tr.Status,
    *,
    when: datetime,
    now: datetime,
    where: Any,
    ev: EventIn | None,
    calendar: WorkingCalendar,
    procedure: Procedure,
    effects: Effects,
    target_org: Organisation | None = None,
    target_user: uuid.UUID | None = None,
    client_event_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> DossierEvent:
    data: dict[str, Any] = dict(extra or {})
    notes = await _apply_side_effects(
        session,
        actor,
        dossier,
        code,
        when=when,
        ev=ev,
        calendar=calendar,
        procedure=procedure,
        target_org=target_org,
        data=data,
    )
    _set_custodian(dossier, actor, to, target_org, target_user)
    dossier.status = to.value
    dossier.portal_status = tr.portal_status(to)
    dossier.version += 1
    dossier.updated_at = now
    data["custodian"] = {
        "kind": dossier.custodian_kind.value,
        "org_id": str(dossier.custodian_org_id) if dossier.custodian_org_id else None,
        "user_id": str(dossier.custodian_user_id) if dossier.custodian_user_id else None,
    }
    event = DossierEvent(
        dossier_id=dossier.id,
        seq=dossier.version,
        code=code,
        status=to.value,
        portal_status=dossier.portal_status,
        actor_kind=actor.kind,
        actor_id=actor.principal.id,
        org_id=actor.org.id if actor.org else (target_org.id if target_org else None),
        at=now,
        client_at=when if when != now else None,
        client_event_id=client_event_id,
        place=getattr(where, "place", None) or (actor.org.name if actor.org else None),
        lat=getattr(where, "lat", None),
        lon=getattr(where, "lon", None),
        reason=(ev.reason if ev else None),
        data=data,
    )
    session.add(event)
    await session.flush()
    for template, params in notes:
        if dossier.citizen_id is not None:
            enqueue(
                session,
                recipient_kind="citizen",
                recipient_id=dossier.citizen_id,
                template=template,
                params={"item_id": dossier.item_id, **params},
                dedupe_key=f"{template}:{event.id}",
            )
    if dossier.desk_id is not None:
        effects.feed.append(
            (
                dossier.desk_id,
                {
                    "type": "dossier.event",
                    "item_id": dossier.item_id,
                    "code": code,
                    "status": to.value,
                    "at": when.isoformat(),
                    "due_at": dossier.due_at.isoformat() if dossier.due_at else None,
                },
            )
        )
    # Too many failed attempts: back to the desk for counter pickup, in the same transaction.
    if code == "EMH":
        result = await result_of(session, dossier)
        if result is not None and result.delivery_attempts >= max_delivery_attempts():
            result.counter_pickup = True
            system = Actor(principal=Principal(id=actor.principal.id, role=Role.admin), org=None)
            desk = await session.get(Organisation, dossier.desk_id) if dossier.desk_id else None
            await _transition(
                session,
                system,
                dossier,
                "KQT",
                tr.Status.returned_to_desk,
                when=when,
                now=now,
                where=None,
                ev=None,
                calendar=calendar,
                procedure=procedure,
                effects=effects,
                target_org=desk,
                extra={"auto": True, "attempts": result.delivery_attempts},
            )
    return event


def _set_custodian(
    dossier: Dossier,
    actor: Actor,
    to: tr.Status,
    target_org: Organisation | None,
    target_user: uuid.UUID | None,
) -> None:
    kind = tr.custodian_after(to)
    actor_org = actor.org
    org_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    if kind == CustodianKind.courier:
        user_id = target_user or (
            actor.principal.id if actor.role == Role.courier else dossier.custodian_user_id
        )
        org_id = target_org.id if target_org else (actor_org.id if actor_org else dossier.custodian_org_id)
    elif kind == CustodianKind.citizen:
        org_id = None
    else:
        wanted = {
            CustodianKind.post_office: OrgKind.post_office,
            CustodianKind.desk: OrgKind.desk,
            CustodianKind.agency: OrgKind.agency,
        }[kind]
        if target_org is not None and target_org.kind == wanted:
            org_id = target_org.id
        elif actor_org is not None and actor_org.kind == wanted:
            org_id = actor_org.id
        elif kind == CustodianKind.desk:
            org_id = dossier.desk_id
        elif kind == CustodianKind.agency:
            org_id = dossier.agency_id
        elif kind == CustodianKind.post_office:
            org_id = dossier.post_office_id
    if kind == CustodianKind.post_office and org_id is not None:
        dossier.post_office_id = org_id
    dossier.custodian_kind = kind
    dossier.custodian_org_id = org_id
    dossier.custodian_user_id = user_id


async def result_of(session: AsyncSession, dossier: Dossier) -> ResultItem | None:
    return (await session.exec(select(ResultItem).where(ResultItem.dossier_id == dossier.id))).one_or_none()


async def _apply_side_effects(
    session: AsyncSession,
    actor: Actor,
    dossier: Dossier,
    code: str,
    *,
    when: datetime,
    ev: EventIn | None,
    calendar: WorkingCalendar,
    procedure: Procedure,
    target_org: Organisation | None,
    data: dict[str, Any],
) -> list[tuple[str, dict[str, Any]]]:
    """Checks and field changes an event brings; returns the citizen notifications to write."""
    notes: list[tuple[str, dict[str, Any]]] = []
    if code == "EMA" and dossier.channel == Channel.home_pickup:
        notes.append(("dossier.picked_up", {}))
    elif code == "TNH":
        desk = target_org if target_org and target_org.kind == OrgKind.desk else actor.org
        if desk is not None and desk.kind == OrgKind.desk:
            dossier.desk_id = desk.id
        # Decree 118/2025/NĐ-CP: the receipt gives the date the result is due (giấy hẹn trả kết quả).
        dossier.received_at = when
        dossier.due_at = deadlines.due_at(when, procedure.processing_days, calendar)
        desk_org = await session.get(Organisation, dossier.desk_id) if dossier.desk_id else None
        notes.append(
            (
                "dossier.handed_to_agency",
                {"agency": desk_org.name if desk_org else "—", "result_due": dossier.due_at},
            )
        )
    elif code == "TKN":
        if ev is None or not ev.reason:
            raise Problem(422, "Cần lý do không tiếp nhận / a reason is required", code="reason_required")
    elif code == "TCQ":
        agency = target_org if target_org and target_org.kind == OrgKind.agency else None
        if agency is None and ev is not None and ev.agency:
            agency = await org_by_code(session, ev.agency, OrgKind.agency)
        if agency is None and dossier.agency_id is None:
            raise Problem(422, "Cần mã cơ quan giải quyết / agency is required", code="agency_required")
        if agency is not None:
            dossier.agency_id = agency.id
    elif code == "TBS":
        missing = list(ev.missing_documents) if ev else []
        if not missing:
            raise Problem(
                422, "Cần danh sách giấy tờ bổ sung / missing_documents is required", code="missing_required"
            )
        # The clock stops while the citizen supplements (Decree 118/2025/NĐ-CP).
        dossier.paused_at = when
        dossier.supplement_required = True
        dossier.data = {**dossier.data, "missing": missing}
        data["missing"] = missing
        notes.append(("dossier.supplement_requested", {"documents": missing}))
    elif code == "TNB":
        if dossier.paused_at is not None and dossier.due_at is not None:
            resumed = deadlines.resume(dossier.due_at, dossier.paused_at, when, calendar)
            dossier.due_at = resumed.due_at
            dossier.paused_working_days += resumed.paused_days
            data["paused_days"] = resumed.paused_days
        dossier.paused_at = None
        dossier.supplement_required = False
    elif code == "TRH":
        dossier.outcome = "withdrawn"
        dossier.paused_at = None
    elif code == "TKQ":
        if ev is None or ev.outcome is None:
            raise Problem(
                422, "Cần kết quả (approved/refused) / outcome is required", code="outcome_required"
            )
        dossier.outcome = ev.outcome
        dossier.resolved_at = when
        if ev.agency_code:
            dossier.agency_code = ev.agency_code
    elif code == "KQS":
        result = await result_of(session, dossier)
        if result is None:
            result = ResultItem(
                item_id=await new_item_id(session, s10.PREFIX_RESULT),
                dossier_id=dossier.id,
                counter_pickup=not dossier.postal_return,
            )
            session.add(result)
        data["result_item_id"] = result.item_id
        notes.append(("dossier.result_ready", {}))
    elif code == "EMO":
        eta = ev.eta if ev and ev.eta else when + timedelta(hours=2)
        notes.append(("dossier.out_for_delivery", {"eta": eta}))
    elif code == "EMH":
        reason = (ev.reason_code if ev else None) or ""
        if reason not in DELIVERY_FAILURES:
            raise Problem(
                422,
                "Cần mã lý do phát không thành công / reason_code is required",
                code="reason_required",
                extra={"reason_codes": sorted(DELIVERY_FAILURES)},
            )
        result = await result_of(session, dossier)
        if result is not None:
            result.delivery_attempts += 1
            data["attempt"] = result.delivery_attempts
            data["rebook"] = result.delivery_attempts < max_delivery_attempts()
        data["reason_code"] = reason
        vi, en = DELIVERY_FAILURES[reason]
        notes.append(("dossier.delivery_failed", {"reason": f"{vi} / {en}"}))
    elif code in {"EMI", "KQN"}:
        if ev is None or ev.recipient is None:
            raise Problem(
                422, "Cần xác minh người nhận / recipient check is required", code="recipient_required"
            )
        citizen = await session.get(Citizen, dossier.citizen_id) if dossier.citizen_id else None
        await check_recipient(
            session, ev.recipient, citizen, when, actor=actor.principal, dossier_id=dossier.id, where=ev
        )
        proof = None
        if code == "EMI" or ev.proof_id:
            # A delivery at home keeps a photo or a signature as proof (Decision 45/2016/QĐ-TTg).
            proof = await require_proof(
                session, ev.proof_id, "photo", "signature", by=actor.principal, single_use=True
            )
        dossier.returned_at = when
        result = await result_of(session, dossier)
        if result is not None:
            result.delivered_at = when
            result.recipient_check = ev.recipient.method
            result.recipient_name = ev.recipient.name
            result.proof_id = proof.id if proof else None
        data["recipient_check"] = ev.recipient.method
        notes.append(("dossier.delivered", {}))
    return notes


async def check_recipient(
    session: AsyncSession,
    check: RecipientCheck,
    citizen: Citizen | None,
    when: datetime,
    *,
    actor: Principal,
    dossier_id: uuid.UUID | None = None,
    where: Any = None,
) -> None:
    """The result goes only to the citizen or their authorised person (Decision 45/2016/QĐ-TTg). A code or a
    national id is a guessable answer: counted, limited and logged like a pickup's code (``codeguard``)."""
    ok = False
    if check.method in {"code", "national_id"} and citizen is not None:
        citizen_id, given = citizen.id, (check.code if check.method == "code" else check.national_id) or ""
        on_file = citizen.national_id or ""
        if check.method == "code" or on_file:  # no national id on file: nothing to guess, refused below

            def right() -> bool:
                if not given:
                    return False
                if check.method == "code":
                    return code_matches(citizen_id, given, when)
                return hmac.compare_digest(given.encode(), on_file.encode())

            attempt = codeguard.Attempt("delivery", check.method, actor, citizen_id, dossier_id, where)
            await codeguard.check(session, attempt, right)
            return
    elif check.method == "authorisation" and check.name and check.national_id:
        await require_proof(session, check.authorisation_proof_id, "authorisation", "photo")
        ok = True
    if not ok:
        raise Problem(
            422,
            "Không xác minh được người nhận / the recipient could not be verified",
            code="recipient_check_failed",
        )


def timeliness_now(dossier: Dossier, calendar: WorkingCalendar, now: datetime | None = None) -> str | None:
    t = deadlines.timeliness(dossier, now or utcnow(), calendar)
    return t.value if t else None
