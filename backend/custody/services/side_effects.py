"""The steps an event's code runs besides its transition (the table is ``backend/custody/effects.py``).

Each step gets the event's ``Scan`` and the step's parameters from the table. It may refuse the event with a
Problem (nothing is written: the whole request rolls back), change the dossier or its result item, add to the
event's data, leave a fact for a later ``notify`` step, or ask for a follow-up transition once the event is
written.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar import WorkingCalendar
from backend.custody import deadlines
from backend.custody import transitions as tr
from backend.custody.effects import EFFECTS
from backend.custody.ids import new_item_id
from backend.custody.services import return_offers
from backend.custody.services.access import Actor, org_by_code, result_of
from backend.custody.services.verification import RecipientPassed, check_recipient, require_proof
from backend.lib.problems import Problem
from backend.money import refunds
from backend.settings import get_settings
from schemas import s10
from schemas.accounts import Citizen
from schemas.catalogue import Procedure
from schemas.dossiers import Channel, Dossier, EventIn, ProofFile, RecipientCheck, ResultItem
from schemas.enums import OrgKind
from schemas.orgs import Organisation

DELIVERY_FAILURES: dict[str, tuple[str, str]] = {
    "not_home": ("Người nhận vắng nhà", "Recipient not at home"),
    "wrong_address": ("Sai hoặc không tìm thấy địa chỉ", "Wrong or unknown address"),
    "refused": ("Người nhận từ chối nhận", "Recipient refused"),
    "no_identity": ("Không xác minh được người nhận", "Recipient could not be verified"),
    "moved": ("Người nhận đã chuyển đi", "Recipient moved away"),
    "unsafe": ("Không tiếp cận được (thời tiết, đường)", "Could not reach (weather, road)"),
    "other": ("Lý do khác", "Other reason"),
}


def max_delivery_attempts() -> int:
    """After this many failed delivery attempts the result goes back to the desk for counter pickup
    (``DELIVERY_MAX_ATTEMPTS``)."""
    return get_settings().delivery_max_attempts


@dataclass
class FollowUp:
    """A transition the system records right after the event (the automatic return to the desk)."""

    code: str
    to: tr.Status
    target_org: Organisation | None
    extra: dict[str, Any]


@dataclass
class Scan:
    """One event being recorded, as the steps see it."""

    session: AsyncSession
    actor: Actor
    dossier: Dossier
    code: str
    when: datetime
    ev: EventIn | None
    calendar: WorkingCalendar
    procedure: Procedure
    target_org: Organisation | None
    data: dict[str, Any]  # the event row's data
    # The citizen's notifications, (template, params), written with the event.
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # what a notify step may name
    proof: ProofFile | None = None
    follow_up: FollowUp | None = None


async def apply(scan: Scan) -> None:
    """Run the code's steps in the table's order."""
    for s in EFFECTS[scan.code]:
        await HANDLERS[s.name](scan, **s.params)


# --- notifications ---------------------------------------------------------------------------------------


async def notify(scan: Scan, *, template: str, fields: tuple[str, ...], channel: Channel | None) -> None:
    if channel is None or scan.dossier.channel == channel:
        scan.notes.append((template, {name: scan.facts[name] for name in fields}))


# --- receipt, agency, decision ---------------------------------------------------------------------------


async def take_desk(scan: Scan) -> None:
    """The desk that receives it is the dossier's desk from now on; the notice names it."""
    target, own = scan.target_org, scan.actor.org
    desk = target if target and target.kind == OrgKind.desk else own
    if desk is not None and desk.kind == OrgKind.desk:
        scan.dossier.desk_id = desk.id
    d = scan.dossier
    desk_org = await scan.session.get(Organisation, d.desk_id) if d.desk_id else None
    scan.facts["agency"] = desk_org.name if desk_org else "—"


async def require_reason(scan: Scan) -> None:
    if scan.ev is None or not scan.ev.reason:
        raise Problem(422, "Cần lý do không tiếp nhận / a reason is required", code="reason_required")
    scan.facts["reason"] = scan.ev.reason


async def note_reason(scan: Scan) -> None:
    """A withdrawal's reason for the citizen's notice: the one recorded, else the citizen's own request."""
    given = scan.ev.reason if scan.ev is not None else None
    scan.facts["reason"] = given or "Theo đề nghị của công dân / At the citizen's request"


async def refund_fees(scan: Scan) -> None:
    """The fees paid for a dossier the desk did not accept are owed back (issue 21, backend/money/refunds.py)."""
    await refunds.on_refused(scan.session, scan.dossier, scan.actor.principal, scan.when)


async def return_papers(scan: Scan, *, code: str) -> None:
    """The papers the desk did not accept are at the desk: ready to go back at once, as the system (issue 20)."""
    d = scan.dossier
    desk = await scan.session.get(Organisation, d.desk_id) if d.desk_id else None
    scan.follow_up = FollowUp(code, tr.RULES[code].to, desk, {"auto": True, "papers": True})


async def assign_agency(scan: Scan) -> None:
    target, ev = scan.target_org, scan.ev
    agency = target if target and target.kind == OrgKind.agency else None
    if agency is None and ev is not None and ev.agency:
        agency = await org_by_code(scan.session, ev.agency, OrgKind.agency)
    if agency is None and scan.dossier.agency_id is None:
        raise Problem(422, "Cần mã cơ quan giải quyết / agency is required", code="agency_required")
    if agency is not None:
        scan.dossier.agency_id = agency.id


async def set_outcome(scan: Scan, *, outcome: str) -> None:
    scan.dossier.outcome = outcome


async def decide(scan: Scan) -> None:
    ev = scan.ev
    if ev is None or ev.outcome is None:
        raise Problem(422, "Cần kết quả (approved/refused) / outcome is required", code="outcome_required")
    scan.dossier.outcome = ev.outcome
    scan.dossier.resolved_at = scan.when
    if ev.agency_code:
        scan.dossier.agency_code = ev.agency_code


# --- the legal clock (backend/custody/deadlines.py) ------------------------------------------------------


async def start_clock(scan: Scan) -> None:
    d = scan.dossier
    d.received_at = scan.when
    d.due_at = deadlines.due_at(scan.when, scan.procedure.processing_days, scan.calendar)
    scan.facts["result_due"] = d.due_at


async def request_supplement(scan: Scan) -> None:
    missing = list(scan.ev.missing_documents) if scan.ev else []
    if not missing:
        raise Problem(
            422, "Cần danh sách giấy tờ bổ sung / missing_documents is required", code="missing_required"
        )
    d = scan.dossier
    d.supplement_required = True
    d.data = {**d.data, "missing": missing}
    scan.data["missing"] = missing
    scan.facts["documents"] = missing


async def pause_clock(scan: Scan) -> None:
    scan.dossier.paused_at = scan.when


async def resume_clock(scan: Scan) -> None:
    """The due date moves later by the working days the clock stood still."""
    d = scan.dossier
    if d.paused_at is not None and d.due_at is not None:
        resumed = deadlines.resume(d.due_at, d.paused_at, scan.when, scan.calendar)
        d.due_at = resumed.due_at
        d.paused_working_days += resumed.paused_days
        scan.data["paused_days"] = resumed.paused_days
    d.paused_at = None


async def collect_supplement(scan: Scan) -> None:
    """What the courier collected at the door (default: the whole missing list) goes on the event."""
    missing = [str(m) for m in (scan.dossier.data or {}).get("missing") or []]
    given = [str(m) for m in scan.data.get("documents") or []] or missing
    scan.data["documents"] = given
    scan.facts["documents"] = given or ["—"]


async def clear_supplement(scan: Scan) -> None:
    scan.dossier.supplement_required = False


async def stop_clock(scan: Scan) -> None:
    scan.dossier.paused_at = None


# --- the result and its delivery -------------------------------------------------------------------------


async def issue_result(scan: Scan) -> None:
    result = await result_of(scan.session, scan.dossier)
    if result is None:
        result = ResultItem(
            item_id=await new_item_id(scan.session, s10.PREFIX_RESULT),
            dossier_id=scan.dossier.id,
            counter_pickup=not scan.dossier.postal_return,
        )
        scan.session.add(result)
    scan.data["result_item_id"] = result.item_id


async def tell_result_ready(scan: Scan) -> None:
    """The result is ready; for papers the desk refused or the citizen withdrew, that they are coming back."""
    papers = scan.dossier.status in (tr.Status.not_accepted, tr.Status.withdrawn)
    scan.notes.append(("dossier.papers_returned" if papers else "dossier.result_ready", {}))


async def offer_return(scan: Scan) -> None:
    """A citizen who chose postal return is offered delivery windows (``return_offers``)."""
    answer_by = await return_offers.make_offer(scan.session, scan.dossier, scan.when)
    if answer_by is not None:
        scan.data["return_offer"] = {"answer_by": answer_by.isoformat()}
        scan.notes.append(("dossier.return_offer", {"due_at": answer_by}))


async def expect_delivery(scan: Scan, *, default_hours: float) -> None:
    ev = scan.ev
    scan.facts["eta"] = ev.eta if ev and ev.eta else scan.when + timedelta(hours=default_hours)


async def count_failed_attempt(scan: Scan) -> None:
    reason = (scan.ev.reason_code if scan.ev else None) or ""
    if reason not in DELIVERY_FAILURES:
        raise Problem(
            422,
            "Cần mã lý do phát không thành công / reason_code is required",
            code="reason_required",
            extra={"reason_codes": sorted(DELIVERY_FAILURES)},
        )
    result = await result_of(scan.session, scan.dossier)
    if result is not None:
        result.delivery_attempts += 1
        scan.data["attempt"] = result.delivery_attempts
        scan.data["rebook"] = result.delivery_attempts < max_delivery_attempts()
    scan.data["reason_code"] = reason
    vi, en = DELIVERY_FAILURES[reason]
    scan.facts["reason"] = f"{vi} / {en}"


async def return_after_max_attempts(scan: Scan, *, code: str) -> None:
    result = await result_of(scan.session, scan.dossier)
    if result is None or result.delivery_attempts < max_delivery_attempts():
        return
    result.counter_pickup = True
    d = scan.dossier
    desk = await scan.session.get(Organisation, d.desk_id) if d.desk_id else None
    extra = {"auto": True, "attempts": result.delivery_attempts}
    scan.follow_up = FollowUp(code, tr.RULES[code].to, desk, extra)


def _recipient(scan: Scan) -> RecipientCheck:
    if scan.ev is None or scan.ev.recipient is None:
        raise Problem(422, "Cần xác minh người nhận / recipient check is required", code="recipient_required")
    return scan.ev.recipient


async def verify_recipient(scan: Scan) -> None:
    recipient, d = _recipient(scan), scan.dossier
    citizen = await scan.session.get(Citizen, d.citizen_id) if d.citizen_id else None
    scan.facts["recipient_passed"] = await check_recipient(
        scan.session,
        recipient,
        citizen,
        scan.when,
        actor=scan.actor.principal,
        dossier_id=d.id,
        where=scan.ev,
    )


async def keep_proof(scan: Scan, *, required: bool) -> None:
    proof_id = scan.ev.proof_id if scan.ev else None
    if required or proof_id:
        scan.proof = await require_proof(
            scan.session, proof_id, "photo", "signature", by=scan.actor.principal, single_use=True
        )


async def hand_result_over(scan: Scan) -> None:
    recipient = _recipient(scan)
    passed: RecipientPassed | None = scan.facts.get("recipient_passed")
    scan.dossier.returned_at = scan.when
    result = await result_of(scan.session, scan.dossier)
    if result is not None:
        result.delivered_at = scan.when
        result.recipient_check = recipient.method
        result.recipient_name = passed.name if passed else recipient.name
        result.proof_id = scan.proof.id if scan.proof else None
    # Which way the check passed (method, how much of a card's number, the authorisation), never the number.
    scan.data.update(passed.event_data() if passed else {"recipient_check": recipient.method})


Handler = Callable[..., Awaitable[None]]

HANDLERS: dict[str, Handler] = {
    f.__name__: f
    for f in (
        notify,
        take_desk,
        require_reason,
        note_reason,
        return_papers,
        refund_fees,
        collect_supplement,
        tell_result_ready,
        offer_return,
        assign_agency,
        set_outcome,
        decide,
        start_clock,
        request_supplement,
        pause_clock,
        resume_clock,
        clear_supplement,
        stop_clock,
        issue_result,
        expect_delivery,
        count_failed_attempt,
        return_after_max_attempts,
        verify_recipient,
        keep_proof,
        hand_result_over,
    )
}
