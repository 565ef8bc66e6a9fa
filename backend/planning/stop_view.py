"""What a courier sees of each stop on their route: the task, where to go, and only the personal data the
visit needs (``privacy``)."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib import privacy
from backend.planning import clock
from backend.planning.problem_builder import fees_total
from backend.planning.services.reading import window_of
from schemas.accounts import Citizen
from schemas.booking import Appointment
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier, ResultItem
from schemas.orgs import Organisation
from schemas.planning import PlanStop, StopKind, StopStatus

WHAT_TO_DO = {
    StopKind.pickup: ("Nhận hồ sơ tại nhà, kiểm tra giấy tờ", "Collect the dossier, check the documents"),
    StopKind.assisted: ("Hỗ trợ kê khai và nhận hồ sơ", "Help fill in and collect the dossier"),
    StopKind.delivery: ("Trả kết quả, kiểm tra người nhận", "Deliver the result, check the recipient"),
    StopKind.desk_pickup: ("Nhận kết quả tại Bộ phận Một cửa", "Collect the result at the one-stop desk"),
    StopKind.handover: ("Bàn giao túi hồ sơ cho nơi nhận", "Hand the batch over"),
}

Row = TypeVar("Row", Appointment, Citizen, Dossier, Procedure, ResultItem, Organisation)


def nav_link(lat: float, lon: float) -> str:
    return f"https://www.google.com/maps/dir/?api=1&destination={lat:.6f},{lon:.6f}"


def fields_shown(stop: dict[str, Any]) -> set[str]:
    """The personal-data audit's names for what ``courier_stop`` showed."""
    person = stop.get("person") or {}
    named = {"name_hint": person.get("name"), "phone_masked": person.get("phone_masked"),
             "phone": person.get("call"), "address": stop.get("address")}  # fmt: skip
    return {"location"} | {field for field, value in named.items() if value}


@dataclass
class _Related:
    """The rows a route's stops point at, by id."""

    appts: dict[uuid.UUID, Appointment]
    citizens: dict[uuid.UUID, Citizen]
    dossiers: dict[uuid.UUID, Dossier]
    procs: dict[uuid.UUID, Procedure]
    results: dict[uuid.UUID, ResultItem]
    orgs: dict[uuid.UUID, Organisation]
    supplements: dict[str, list[str]]  # a supplement pickup's dossier -> its missing documents (issue 20)


async def stop_details(session: AsyncSession, stops: list[PlanStop]) -> dict[uuid.UUID, dict[str, Any]]:
    """Per stop, only what the visit needs (see ``privacy``). ``_phone`` and ``_citizen_id`` are for the
    caller, not to be shown: ``courier_stop`` decides on the phone, the audit takes the citizen."""
    rel = await _load(session, stops)
    return {s.id: _details(s, rel) for s in stops}


async def _by_id(session: AsyncSession, model: type[Row], ids: set[uuid.UUID]) -> dict[uuid.UUID, Row]:
    if not ids:
        return {}
    return {r.id: r for r in (await session.exec(select(model).where(col(model.id).in_(ids)))).all()}


async def _load(session: AsyncSession, stops: list[PlanStop]) -> _Related:
    appts = await _by_id(session, Appointment, {s.appointment_id for s in stops if s.appointment_id})
    citizens = await _by_id(session, Citizen, {a.citizen_id for a in appts.values()})
    dossiers = await _by_id(session, Dossier, {s.dossier_id for s in stops if s.dossier_id})
    proc_ids = {a.procedure_id for a in appts.values() if a.procedure_id}
    proc_ids |= {d.procedure_id for d in dossiers.values()}
    procs = await _by_id(session, Procedure, proc_ids)
    results = await _by_id(session, ResultItem, {s.result_item_id for s in stops if s.result_item_id})
    orgs = await _by_id(session, Organisation, {s.org_id for s in stops if s.org_id})
    carried = {a.dossier_item_id for a in appts.values() if a.kind == StopKind.pickup and a.dossier_item_id}
    rows = (
        (
            await session.exec(select(Dossier.item_id, Dossier.data).where(col(Dossier.item_id).in_(carried)))
        ).all()
        if carried
        else []
    )
    supplements = {item: [str(m) for m in (data or {}).get("missing") or []] for item, data in rows}
    return _Related(appts, citizens, dossiers, procs, results, orgs, supplements)


def _details(s: PlanStop, rel: _Related) -> dict[str, Any]:
    d: dict[str, Any] = {}
    appt = rel.appts.get(s.appointment_id) if s.appointment_id else None
    dossier = rel.dossiers.get(s.dossier_id) if s.dossier_id else None
    proc = rel.procs.get(appt.procedure_id) if appt and appt.procedure_id else None
    if proc is None and dossier is not None:
        proc = rel.procs.get(dossier.procedure_id)
    if appt is not None:
        d.update(_visit(appt, rel.citizens.get(appt.citizen_id)))
    if proc is not None:
        d["procedure"] = {"code": proc.code, "name": proc.name, "documents_count": len(proc.documents or [])}
    if dossier is not None:
        d["dossier"] = dossier.item_id
    if appt is not None and appt.dossier_item_id in rel.supplements:
        # A supplement pickup: the dossier it joins and what to collect (issue 20).
        d["dossier"] = appt.dossier_item_id
        d["missing_documents"] = rel.supplements[appt.dossier_item_id]
    if s.result_item_id:
        result = rel.results.get(s.result_item_id)
        d["result_item"] = result.item_id if result else None
    org = rel.orgs.get(s.org_id) if s.org_id else None
    if org is not None:
        d["place"] = {"code": org.code, "name": org.name, "address": org.address, "phone": org.phone}
    return d


def _visit(appt: Appointment, citizen: Citizen | None) -> dict[str, Any]:
    fees = appt.fees or {}
    return {
        "appointment": {"id": appt.id, "status": appt.status, "note": appt.note},
        "address": appt.address,
        "person": {
            "name": privacy.name_hint(citizen.full_name if citizen else None),
            "phone_masked": privacy.mask_phone(citizen.phone if citizen else None),
        },
        "_phone": citizen.phone if citizen else None,
        "_citizen_id": appt.citizen_id,
        "collect_fees": {
            "total_vnd": fees_total(fees),
            "postal_vnd": fees.get("postal"),
            "fee_vnd": fees.get("fee"),
            "charge_vnd": fees.get("charge"),
        },
    }


def courier_stop(s: PlanStop, d: dict[str, Any], day: date, today: date) -> dict[str, Any]:
    open_ = s.status in (StopStatus.planned, StopStatus.started)
    phone = d.pop("_phone", None)
    person = d.get("person")
    if person is not None:
        person["call"] = f"tel:{phone}" if phone and privacy.may_call(open_, day, today) else None
    todo_vi, todo_en = WHAT_TO_DO[StopKind(s.kind)]
    return {
        "id": s.id,
        "seq": s.seq,
        "kind": s.kind,
        "status": s.status,
        "task": f"{todo_vi} / {todo_en}",
        "window": window_of(s.window_start, s.window_end),
        "eta": clock.rfc3339(s.eta),
        "planned_eta": clock.rfc3339(s.planned_eta),
        "lat": s.lat,
        "lon": s.lon,
        "navigation": nav_link(s.lat, s.lon),
        "items": s.items,
        "started_at": clock.rfc3339(s.started_at),
        "finished_at": clock.rfc3339(s.finished_at),
        "outcome_code": s.outcome_code,
        "pinned": s.pinned,
        **d,
    }
