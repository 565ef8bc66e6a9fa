"""Demo dossiers: a living province over the past three months, every stage represented.

Each dossier follows the real journey through the services (so events, custody, deadlines and notifications are
exactly what production would write), with backdated times: steps that would fall after "now" simply have not
happened yet, which leaves recent dossiers in early stages. Resolution speed varies so the statistics report shows
early, on-time and late results; some dossiers pause for supplements, some deliveries fail, and one handover
arrives with a missing item.
"""

import logging
import random
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar_service import working_calendar
from backend.custody import handovers, services
from backend.custody.proofs import store_proof
from backend.demo.province import DemoContext
from backend.lib.auth import Principal
from backend.lib.problems import Problem
from backend.settings import get_settings
from schemas.accounts import Citizen, StaffUser
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.dossiers import (
    Channel,
    CitizenConfirmation,
    DocumentTick,
    Dossier,
    DossierCreate,
    EventIn,
    HandoverConfirm,
    HandoverCreate,
    RecipientCheck,
)
from schemas.orgs import Organisation
from schemas.vntime import to_vn, vn_date

log = logging.getLogger("backend.demo")
DOSSIERS_PER_OFFICE = 6  # journeys through the services; the volume is the history's (demo/history.py)
DAYS_BACK = 90


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\x20\x60\x20"))
        + chunk(b"IEND", b"")
    )


def _who(user: StaffUser) -> Principal:
    return Principal(id=user.id, role=user.role, org_id=user.organisation_id)


def _office_time(rng: random.Random, day: datetime) -> datetime:
    return to_vn(day).replace(hour=rng.randint(8, 15), minute=rng.choice((0, 10, 20, 30, 40, 50)))


@dataclass(frozen=True)
class _Cast:
    """Who handles post office ``k``'s dossiers in the demo."""

    po: Organisation
    courier: StaffUser
    dispatcher: StaffUser
    desk: StaffUser
    agency: StaffUser
    desk_code: str
    agency_code: str

    @classmethod
    def of(cls, ctx: DemoContext, k: int) -> "_Cast":
        po, staff = ctx.post_offices[k], ctx.staff
        return cls(
            po=po,
            courier=staff[f"courier{2 * k + 1:02d}"],
            dispatcher=staff[f"dispatcher{k + 1:02d}"],
            desk=staff[f"desk{k + 2:02d}"],
            agency=staff[f"agency{k + 3:02d}"],
            desk_code=f"{ctx.province.code}-MC-{po.commune_code}",
            agency_code=f"{ctx.province.code}-UB-{po.commune_code}",
        )


class Journey:
    def __init__(
        self, session: AsyncSession, ctx: DemoContext, rng: random.Random, photo: Any, now: datetime
    ):
        self.session, self.ctx, self.rng, self.photo, self.now = session, ctx, rng, photo, now

    async def photo_by(self, user: StaffUser) -> Any:
        """A delivery photo taken by ``user`` (proofs back one visit each, uploaded by whoever cites them)."""
        return (await store_proof(self.session, _who(user), get_settings().upload_dir, "photo", _png())).id

    async def event(self, user: StaffUser, item: str, at: datetime, **kw: Any) -> bool:
        if at >= self.now:
            return False
        await services.record_event(self.session, _who(user), item, EventIn(**kw), now=at)
        return True

    async def hand(
        self,
        sender: StaffUser,
        receiver: StaffUser,
        to: str,
        items: list[str],
        at: datetime,
        *,
        scan: bool = True,
    ) -> bool:
        if at >= self.now:
            return False
        h, _ = await handovers.create_handover(
            self.session,
            _who(sender),
            HandoverCreate(to=to, items=items, eta=at + timedelta(hours=1)),
            now=at,
        )
        arrive = at + timedelta(minutes=self.rng.randint(30, 150))
        if not scan or arrive >= self.now:
            return False
        await handovers.confirm_handover(
            self.session, _who(receiver), h.id, HandoverConfirm(scanned=items), now=arrive
        )
        return True

    async def run(
        self, k: int, procedure: Procedure, citizen: Citizen, start: datetime, stop: str = ""
    ) -> None:
        """Walk one dossier; ``stop`` holds it at a stage (a desk's pile, a result waiting, a courier's bag)."""
        cast = _Cast.of(self.ctx, k)
        dossier = await self._pick_up(cast, procedure, citizen, start)
        item = dossier.item_id
        t = await self._to_desk(cast, item, start)
        if t is None or stop == "received":
            return
        if stop == "not_accepted":
            await self.event(
                cast.desk, item, t, code="TKN", reason="Hồ sơ không thuộc thẩm quyền / not competent"
            )
            return
        decided = await self._decide(cast, dossier, procedure, item, t)
        if decided is None:
            return
        out = await self._result_out(cast, item, decided, stop)
        if out is None or stop == "out_for_delivery":
            return
        await self._deliver(cast, citizen, *out, stop)

    async def _pick_up(self, cast: _Cast, procedure: Procedure, citizen: Citizen, start: datetime) -> Dossier:
        rng = self.rng
        body = DossierCreate(
            procedure=procedure.code,
            channel=Channel.home_pickup,
            citizen_phone=citizen.phone,
            desk=cast.desk_code,
            documents=[
                DocumentTick(id=str(d["id"]), provided=True, original=True) for d in procedure.documents
            ],
            seal_number=f"NP{rng.randint(100000, 999999)}",
            fee_collected=rng.choice((16000, 22000, 27000)),
            receipt_number=f"BL{rng.randint(10000, 99999)}",
            confirmation=CitizenConfirmation(
                method="code", code=services.handover_code(citizen.id, vn_date(start))
            ),
            place="Địa chỉ công dân",
        )
        dossier, _ = await services.create_dossier(self.session, _who(cast.courier), body, now=start)
        return dossier

    async def _to_desk(self, cast: _Cast, item: str, start: datetime) -> datetime | None:
        """Courier to post office to desk; when the desk has it (None: not yet)."""
        rng = self.rng
        t = start + timedelta(hours=rng.uniform(1, 3))
        if not await self.hand(cast.courier, cast.dispatcher, cast.po.code, [item], t):
            return None
        t += timedelta(hours=rng.uniform(2, 20))
        # Some post-office batches are still on the road to the desk (the desk's "incoming" view).
        if not await self.hand(
            cast.dispatcher, cast.desk, cast.desk_code, [item], t, scan=rng.random() > 0.05
        ):
            return None
        return t + timedelta(hours=rng.uniform(1, 6))

    async def _decide(
        self, cast: _Cast, dossier: Dossier, procedure: Procedure, item: str, t: datetime
    ) -> datetime | None:
        """Desk to agency, maybe a pause for a supplement, then the decision; when it was decided (None: not yet)."""
        rng, agency = self.rng, cast.agency
        if not await self.hand(cast.desk, agency, cast.agency_code, [item], t):
            return None
        calendar = await working_calendar(self.session)
        received = dossier.received_at or t
        budget = max(1.0, procedure.processing_days)
        if rng.random() < 0.15:
            pause = t + timedelta(days=rng.uniform(0.3, budget * 0.6))
            missing = [str(procedure.documents[0]["name"])] if procedure.documents else ["Giấy tờ bổ sung"]
            if not await self.event(agency, item, pause, code="TBS", missing_documents=missing):
                return None
            back = pause + timedelta(days=rng.uniform(2, 9))
            if not await self.event(agency, item, back, code="TNB"):
                return None
            t = back
        # Speed: most on time, some early, some late (the report needs all three).
        factor = rng.choices((0.4, 1.0, 1.8), weights=(30, 50, 20))[0]
        span = calendar.due_at(received, budget * factor) - received
        decided = max(t + timedelta(hours=1), received + span)
        if dossier.paused_working_days:
            decided += timedelta(days=dossier.paused_working_days)
        decided = _office_time(rng, decided)
        outcome = "approved" if rng.random() > 0.08 else "refused"
        if decided <= t or not await self.event(
            agency,
            item,
            decided,
            code="TKQ",
            outcome=outcome,
            agency_code=f"{cast.agency_code}-{rng.randint(1000, 9999)}",
        ):
            return None
        return decided

    async def _result_out(
        self, cast: _Cast, item: str, decided: datetime, stop: str
    ) -> tuple[str, datetime] | None:
        """The result back at the desk, then to the post office and the courier: its KQ id and when the courier
        has it (None: held earlier)."""
        rng = self.rng
        t = decided + timedelta(hours=rng.uniform(1, 20))
        if not await self.hand(cast.agency, cast.desk, cast.desk_code, [item], t):
            return None
        refreshed = await services.load_dossier(self.session, item)
        result = await services.result_of(self.session, refreshed)
        assert result is not None
        kq = result.item_id
        t += timedelta(hours=rng.uniform(2, 24))
        if stop == "result_ready":
            return None
        if not await self.hand(cast.desk, cast.dispatcher, cast.po.code, [kq], t):
            return None
        t += timedelta(hours=rng.uniform(12, 30))
        if not await self.hand(cast.dispatcher, cast.courier, cast.courier.username, [kq], t):
            return None
        return kq, t

    async def _deliver(self, cast: _Cast, citizen: Citizen, kq: str, t: datetime, stop: str) -> None:
        """Delivery attempts until one succeeds or the result goes back to the desk."""
        rng, courier = self.rng, cast.courier
        for attempt in range(services.max_delivery_attempts()):
            t += timedelta(hours=rng.uniform(1, 3))
            if stop == "returned" or rng.random() < 0.18:
                if not await self.event(
                    courier, kq, t, code="EMH", reason_code=rng.choice(("not_home", "moved"))
                ):
                    return
                if attempt + 1 >= services.max_delivery_attempts():
                    return  # back at the desk for counter pickup
                t += timedelta(hours=rng.uniform(18, 30))
                if not await self.event(courier, kq, t, code="EMO"):
                    return
                continue
            code = services.handover_code(citizen.id, vn_date(t))
            await self.event(
                courier,
                kq,
                t,
                code="EMI",
                recipient=RecipientCheck(method="code", code=code),
                proof_id=await self.photo_by(courier),
            )
            return


async def _discrepancy(
    session: AsyncSession, ctx: DemoContext, rng: random.Random, photo: Any, now: datetime
) -> None:
    """Two pickups handed to the post office; the dispatcher scans only one: a missing item on both sides."""
    k = 1
    courier, dispatcher = ctx.staff[f"courier{2 * k + 1:02d}"], ctx.staff[f"dispatcher{k + 1:02d}"]
    proc = (
        await session.exec(
            select(Procedure).where(
                col(Procedure.postal_pickup).is_(True),
                Procedure.level == "commune",
                Procedure.processing_days >= 1,
            )
        )
    ).first()
    assert proc is not None
    at = now - timedelta(hours=3)
    items = []
    for citizen in ctx.citizens[-2:]:
        body = DossierCreate(
            procedure=proc.code,
            channel=Channel.home_pickup,
            citizen_phone=citizen.phone,
            documents=[DocumentTick(id=str(d["id"]), provided=True, original=True) for d in proc.documents],
            confirmation=CitizenConfirmation(
                method="code", code=services.handover_code(citizen.id, vn_date(at))
            ),
        )
        d, _ = await services.create_dossier(session, _who(courier), body, now=at)
        items.append(d.item_id)
    h, _ = await handovers.create_handover(
        session,
        _who(courier),
        HandoverCreate(to=ctx.post_offices[k].code, items=items),
        now=at + timedelta(hours=1),
    )
    await handovers.confirm_handover(
        session, _who(dispatcher), h.id, HandoverConfirm(scanned=items[:1]), now=at + timedelta(hours=2)
    )


async def _direct(session: AsyncSession, ctx: DemoContext, rng: random.Random, now: datetime) -> None:
    """Provincial procedures filed at the provincial centre (direct and online with postal return)."""
    desk = ctx.staff["desk01"]
    procs = list(
        (
            await session.exec(
                select(Procedure).where(Procedure.level == "province").order_by(Procedure.code)
            )
        ).all()
    )
    for i in range(12):
        proc = procs[i % len(procs)]
        citizen = ctx.citizens[i + 40]
        start = _office_time(rng, now - timedelta(days=rng.uniform(1, DAYS_BACK)))
        channel = Channel.online if i % 3 == 0 else Channel.direct
        try:
            d, _ = await services.create_dossier(
                session,
                _who(desk),
                DossierCreate(
                    procedure=proc.code,
                    channel=channel,
                    citizen_phone=citizen.phone,
                    postal_return=proc.postal_return and i % 2 == 0,
                    agency=f"{ctx.province.code}-STP",
                ),
                now=start,
            )
        except Problem:
            continue
        agency = ctx.staff["agency01"]
        t = start + timedelta(hours=2)
        if t >= now:
            continue
        h, _ = await handovers.create_handover(
            session, _who(desk), HandoverCreate(to=f"{ctx.province.code}-STP", items=[d.item_id]), now=t
        )
        await handovers.confirm_handover(
            session, _who(agency), h.id, HandoverConfirm(scanned=[d.item_id]), now=t + timedelta(hours=1)
        )
        calendar = await working_calendar(session)
        factor = rng.choice((0.5, 1.0, 1.6))
        assert d.received_at is not None
        decided = calendar.due_at(d.received_at, max(1, proc.processing_days) * factor)
        if decided < now:
            await services.record_event(
                session, _who(agency), d.item_id, EventIn(code="TKQ", outcome="approved"), now=decided
            )


async def seed(session: AsyncSession, ctx: DemoContext) -> None:
    rng = random.Random(ctx.seed + 4)
    now = utcnow()
    admin = ctx.staff["admin"]
    proof = await store_proof(session, _who(admin), get_settings().upload_dir, "signature", _png())
    procs = list(
        (
            await session.exec(
                select(Procedure)
                .where(
                    col(Procedure.postal_pickup).is_(True),
                    col(Procedure.postal_return).is_(True),
                    Procedure.level == "commune",
                    Procedure.processing_days >= 1,
                    Procedure.processing_days <= 15,
                )
                .order_by(Procedure.code)
            )
        ).all()
    )
    journey = Journey(session, ctx, rng, proof.id, now)
    n = 0
    for k in range(len(ctx.post_offices)):
        served = set(ctx.served.get(ctx.post_offices[k].id, []))
        locals_ = [c for c in ctx.citizens if ctx.addresses[c.id].commune_code in served] or ctx.citizens
        for _ in range(DOSSIERS_PER_OFFICE):
            # Spread over the past three months, denser recently (the report's current period has volume).
            back = DAYS_BACK * rng.random() ** 1.5
            start = _office_time(rng, now - timedelta(days=back))
            if start >= now:
                start = now - timedelta(hours=1)
            stop = rng.choices(
                ("", "received", "not_accepted", "result_ready", "out_for_delivery", "returned"),
                weights=(70, 8, 3, 7, 7, 5),
            )[0]
            try:
                await journey.run(k, rng.choice(procs), rng.choice(locals_), start, stop)
            except Problem as exc:  # a demo step that the rules refuse is skipped, not fatal
                await session.rollback()
                log.warning("demo dossier skipped: %s", exc.detail)
            n += 1
    await _discrepancy(session, ctx, rng, proof.id, now)
    await _direct(session, ctx, rng, now)
    log.info("demo: %d postal dossiers seeded", n)
