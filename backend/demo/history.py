"""Demo: two years of a province's dossiers, as the provincial reports show them (issue 23).

About 100,000 dossiers over the last ~730 days at every one-stop desk of the province (each commune's centre
and the provincial centre), with the channel mix Đồng Tháp reported for 2021 (about 18 % online, 20 % through
the post: home pickup or a post-office counter, the rest filed in person), results on time or early for more
than 99 %, a procedure mix weighted towards the commune's everyday procedures, a monthly seasonality (Tết is
quiet, the year's end is busy) and the custody events the reports read (``TNH`` when the desk accepts it, the
postal legs ``EMA``/``EMB``/``EMC`` before and ``KQB``/``EMG``/``EMO``/``EMI`` after for postal dossiers,
``TCQ``/``TKQ``/``KQS`` and ``KQN`` at the desk; see ``backend/reporting/legs.py``).

The recent end of the timeline is today's work: a step that would fall after "now" has not happened, so the
dossiers received lately sit at every stage at every desk and agency (in transit to the desk, received,
processing, waiting for a supplement, decided, result ready), a few older ones are overdue.

Everything is generated in memory from one seeded generator, then written with SQLAlchemy Core ``insert()``
executemany in large batches, in one transaction (no per-row ORM objects or service code: 100k dossiers
through the services would take hours). Item ids are S10 ``HS`` ids in the import range
(``backend.reporting.importer.SERIAL_START``), like the dossiers the importer brings from older systems.
"""

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar import WorkingCalendar
from backend.catalogue.calendar_service import working_calendar
from backend.custody.transitions import CUSTODY, PORTAL_STATUS, Status
from backend.demo.province import DemoContext
from backend.reporting.importer import IMPORT_SERIALS, SERIAL_START
from schemas import s10
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.dossiers import CustodianKind, Dossier, DossierEvent
from schemas.enums import AgencyLevel
from schemas.ops import DemoHistory
from schemas.vntime import VN_TZ, vn_date

HISTORY_ROWS = 100_000
HISTORY_DAYS = 730
LIVE_PER_DESK = 8  # besides the history: dossiers of the last two weeks at each desk, at every stage
BATCH = 5_000
SOURCE = "demo-lich-su"
# Channel mix (Đồng Tháp 2021): online, through the post (home pickup, post-office counter), in person.
CHANNELS = (("online", 18), ("home_pickup", 13), ("post_office", 7), ("direct", 62))
# Results: early, on time, late (the province reports "đúng và trước hạn" above 99 %).
SPEED = (("early", 640), ("on_time", 354), ("late", 6))
# Dossiers per working day by month, relative (Tết in January/February is quiet, the year's end busy).
RETURN_SHARE = {"home_pickup": 0.75, "post_office": 0.6, "online": 0.3}  # results by post, else 6 %
# Older than this, a closed dossier keeps only its milestones (what the previous system exported and the
# reports read: EMA, EMB, TNH, KQS, EMG, EMI); newer ones keep every step.
FULL_EVENTS_DAYS = 90
MILESTONES = frozenset({"EMA", "EMB", "TNH", "KQS", "EMG", "EMI"})
MONTH_WEIGHT = (0, 1.0, 0.72, 1.02, 0.98, 1.0, 1.03, 1.05, 1.04, 1.0, 1.06, 1.1, 1.18)


_Step = tuple[str, Status, uuid.UUID | None, str, datetime]  # code, status after it, where, who, when


@dataclass(frozen=True)
class _Unit:
    """Where a dossier is filed and decided."""

    desk: uuid.UUID
    agency: uuid.UUID
    post_office: uuid.UUID | None
    courier: uuid.UUID | None


@dataclass
class History:
    """The generated rows, ready for ``insert()``."""

    dossiers: list[dict[str, Any]]
    events: list[dict[str, Any]]
    event_ends: list[int]  # after dossier i, len(events): a dossier's events are events[ends[i-1]:ends[i]]


class _Generator:
    def __init__(self, ctx: DemoContext, procedures: list[Procedure], cal: WorkingCalendar, now: datetime):
        self.ctx, self.cal, self.now = ctx, cal, now
        self.rng = random.Random(ctx.seed + 23)
        self.procedures = procedures
        # A skewed procedure mix: commune procedures (civil status, certifications) dominate.
        self.proc_weights = [
            self.rng.lognormvariate(0, 1.0) * (3.0 if p.level == AgencyLevel.commune else 1.0)
            for p in procedures
        ]
        self.postal_procs = [i for i, p in enumerate(procedures) if p.postal_pickup]
        self.postal_weights = [self.proc_weights[i] for i in self.postal_procs]
        self._due: dict[tuple[date, int], datetime] = {}
        self.units = self._units()
        self.unit_cum: list[float] = []
        total = 0.0
        for _, w in self.units:
            total += w
            self.unit_cum.append(total)

    def _units(self) -> list[tuple[_Unit, float]]:
        """Every commune's desk (with its People's Committee) and the provincial centre, weighted."""
        ctx, rng = self.ctx, self.rng
        office_of = {code: po for po in ctx.post_offices for code in ctx.served.get(po.id, [])}
        couriers = {
            u.organisation_id: u.id for u in ctx.staff.values() if u.role == "courier" and u.organisation_id
        }
        units: list[tuple[_Unit, float]] = []
        for c in ctx.communes:
            po = office_of.get(c.code)
            unit = _Unit(
                ctx.commune_desks[c.code].id,
                ctx.agencies[c.code].id,
                po.id if po else None,
                couriers.get(po.id) if po else None,
            )
            units.append((unit, rng.lognormvariate(0, 0.45)))
        assert ctx.provincial_desk is not None
        po = office_of.get(ctx.capital.code)
        centre = _Unit(
            ctx.provincial_desk.id,
            ctx.agencies["STP"].id,
            po.id if po else None,
            couriers.get(po.id) if po else None,
        )
        units.append((centre, len(ctx.communes) * 0.12))
        return units

    def due(self, received: datetime, days: float) -> datetime:
        if not float(days).is_integer():
            return self.cal.due_at(received, days)
        key = (vn_date(received), int(days))
        found = self._due.get(key)
        if found is None:
            found = self._due[key] = self.cal.due_at(received, days)
        return found

    def days(self, rows: int) -> list[date]:
        """The reception day of each dossier: working days of the last two years, by month's weight."""
        today = vn_date(self.now)
        span = [today - timedelta(days=n) for n in range(HISTORY_DAYS, -1, -1)]
        working = [d for d in span if self.cal.is_working_day(d)]
        growth = [1.0 + 0.15 * i / len(working) for i in range(len(working))]  # online services grow
        weights = [MONTH_WEIGHT[d.month] * g for d, g in zip(working, growth, strict=True)]
        return sorted(self.rng.choices(working, weights=weights, k=rows))

    def recent_days(self, n: int) -> list[date]:
        """Days of the last two working weeks, the latest likeliest: today's work at every desk."""
        recent = [self.cal.previous_working_day(vn_date(self.now), include_today=True)]
        while len(recent) < 10:
            recent.append(self.cal.previous_working_day(recent[-1]))
        return self.rng.choices(recent, weights=range(10, 0, -1), k=n)


def _at(day: date, rng: random.Random) -> datetime:
    minute = rng.randint(7 * 60 + 30, 16 * 60 + 30)
    return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=VN_TZ)


def _hours(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(hours=rng.uniform(low, high))


class _Dossier:
    """One dossier's timeline: (code, status, org, actor kind, at), in order; only steps before now are kept."""

    def __init__(self, g: _Generator, day: date, draw: tuple[str, int, int, _Unit]) -> None:
        self.g, rng = g, g.rng
        self.channel, any_proc, postal_proc, self.unit = draw
        postal_in = self.channel in ("home_pickup", "post_office")
        if postal_in and self.unit.post_office is None:
            self.channel, postal_in = "direct", False
        self.proc = g.procedures[postal_proc if postal_in else any_proc]
        self.postal_return = (
            self.proc.postal_return
            and self.unit.post_office is not None
            and (rng.random() < RETURN_SHARE.get(self.channel, 0.06))
        )
        self.received = _at(day, rng)
        if self.received >= g.now:
            self.received = g.now - _hours(rng, 0.1, 2)
        if postal_in and g.now - self.received < timedelta(hours=72) and rng.random() < 0.5:
            self.received = g.now + _hours(rng, 1, 20)  # still on its way to the desk
        self.steps: list[_Step] = []
        self.paused_days = 0
        self.paused_at: datetime | None = None
        self.due: datetime | None = None
        self.resolved: datetime | None = None
        self.returned: datetime | None = None
        self.outcome: str | None = None

    def step(self, code: str, status: Status, org: uuid.UUID | None, actor: str, at: datetime) -> bool:
        if at >= self.g.now:
            return False
        self.steps.append((code, status, org, actor, at))
        return True

    def inbound(self) -> bool:
        """The post's legs before the desk, then the desk's acceptance; False when not yet accepted."""
        rng, u, r = self.g.rng, self.unit, self.received
        if self.channel == "home_pickup":
            posted = r - _hours(rng, 4, 40)
            if not self.step("EMA", Status.collected, None, "courier", posted):
                return False
            if not self.step(
                "EMB", Status.at_post_office, u.post_office, "dispatcher", posted + _hours(rng, 1, 3)
            ):
                return False
        elif self.channel == "post_office" and not self.step(
            "EMA", Status.at_post_office, u.post_office, "dispatcher", r - _hours(rng, 3, 30)
        ):
            return False
        if self.steps and not self.step("EMC", Status.in_transit_to_desk, u.post_office, "dispatcher",
                                        r - _hours(rng, 0.5, 2)):  # fmt: skip
            return False
        return self.step("TNH", Status.received, u.desk, "desk", r)

    def decide(self) -> datetime | None:
        """To the agency, maybe a pause, then the decision; when the result is at the desk (None: not yet)."""
        rng, g, u, r = self.g.rng, self.g, self.unit, self.received
        days = self.proc.processing_days
        self.due = g.due(r, days)
        if rng.random() < 0.004:
            self.step("TKN", Status.not_accepted, u.desk, "desk", r + _hours(rng, 0.2, 1))
            return None
        if not self.step("TCQ", Status.processing, u.desk, "desk", r + _hours(rng, 0.3, rng.choice((3, 30)))):
            return None
        if days >= 3 and rng.random() < 0.04:
            asked = r + (self.due - r) * rng.uniform(0.2, 0.5)
            if not self.step("TBS", Status.awaiting_supplement, u.agency, "agency", asked):
                return None
            paused = rng.randint(2, 6)
            back = asked + timedelta(days=paused * 7 / 5)
            if not self.step("TNB", Status.processing, u.agency, "agency", back):
                self.paused_at = asked  # the clock stands still; the deadline moves when it restarts
                return None
            self.paused_days = paused
            self.due = g.due(r, days + paused)
        kind = rng.choices([k for k, _ in SPEED], weights=[w for _, w in SPEED])[0]
        if r < g.now - timedelta(days=60) and rng.random() < 0.0015:
            return None  # forgotten at the agency: overdue
        decided = self._decided(kind)
        if rng.random() < 0.005:
            self.outcome = "withdrawn"
            ok = self.step("TRH", Status.withdrawn, u.agency, "agency", decided)
        else:
            self.outcome = "refused" if rng.random() < 0.02 else "approved"
            ok = self.step("TKQ", Status.resolved, u.agency, "agency", decided)
        if not ok:
            self.outcome = None
            return None
        self.resolved = decided
        at_desk = decided + _hours(self.g.rng, 0.3, 3)
        return at_desk if self.step("KQS", Status.result_ready, u.desk, "desk", at_desk) else None

    def _decided(self, kind: str) -> datetime:
        rng, r = self.g.rng, self.received
        assert self.due is not None
        due_day = vn_date(self.due)
        if kind == "late":
            return self.due + _hours(rng, 2, 100)
        if kind == "early" and due_day > vn_date(r):
            span = (self.due - r) * rng.uniform(0.25, 0.8)
            decided = r + span
            if vn_date(decided) < due_day:
                return decided
        start = max(r, datetime(due_day.year, due_day.month, due_day.day, 8, tzinfo=VN_TZ))
        return min(self.due, start + (self.due - start) * rng.uniform(0.1, 0.9))

    def hand_back(self, at_desk: datetime) -> None:
        """The result to the citizen: by post (all legs, or none yet) or collected at the desk."""
        rng, u = self.g.rng, self.unit
        if self.postal_return:
            legs: list[_Step] = []
            at = at_desk
            for code, status, org, actor, low, high in (
                ("KQB", Status.result_in_transit, u.desk, "desk", 1, 20),
                ("EMG", Status.result_at_post_office, u.post_office, "dispatcher", 2, 20),
                ("EMO", Status.out_for_delivery, u.post_office, "courier", 10, 26),
                ("EMI", Status.delivered, u.post_office, "courier", 0.5, 4),
            ):
                at += _hours(rng, low, high)
                legs.append((code, status, org, actor, at))
            if at < self.g.now:
                self.steps.extend(legs)
                self.returned = at
        elif rng.random() < 0.96:
            back = at_desk + _hours(rng, 2, 24 * rng.choice((1, 2, 3, 6)))
            if self.step("KQN", Status.delivered, u.desk, "desk", back):
                self.returned = back

    def row(self, serial: int) -> dict[str, Any]:
        status = self.steps[-1][1]
        custodian = CUSTODY[status]
        holder = {
            CustodianKind.post_office: self.unit.post_office,
            CustodianKind.desk: self.unit.desk,
            CustodianKind.agency: self.unit.agency,
        }.get(custodian)
        received = self.received if self.received < self.g.now else None
        postal = self.channel in ("home_pickup", "post_office") or self.postal_return
        return {
            "id": uuid.UUID(int=self.g.rng.getrandbits(128), version=4),
            "item_id": s10.make(s10.PREFIX_DOSSIER, serial),
            "procedure_id": self.proc.id,
            "citizen_id": None,
            "channel": self.channel,
            "postal_pickup": self.channel in ("home_pickup", "post_office"),
            "postal_return": self.postal_return,
            "status": status.value,
            "portal_status": PORTAL_STATUS[status],
            "custodian_kind": custodian.value,
            "custodian_org_id": holder,
            "custodian_user_id": self.unit.courier if custodian == CustodianKind.courier else None,
            "post_office_id": self.unit.post_office if postal else None,
            "desk_id": self.unit.desk,
            "agency_id": self.unit.agency,
            "agency_code": None,
            "appointment_id": None,
            "submitted_at": self.steps[0][4],
            "received_at": received,
            "due_at": self.due if received else None,
            "paused_at": self.paused_at,
            "paused_working_days": self.paused_days,
            "resolved_at": self.resolved,
            "returned_at": self.returned,
            "outcome": self.outcome,
            "supplement_required": self.paused_at is not None,
            "fees_collected": 22_000 if self.channel == "home_pickup" else 0,
            "data": {"imported": True, "source": SOURCE},
            "created_at": self.steps[0][4],
            "updated_at": self.steps[-1][4],
            "version": len(self.steps),
        }


def generate(
    ctx: DemoContext,
    procedures: list[Procedure],
    cal: WorkingCalendar,
    rows: int,
    now: datetime,
    taken: frozenset[int] = frozenset(),
) -> History:
    """The history's rows, the same for the same province, seed, rows and ``now``'s day; ``taken``: serials
    of the import range already used (the importer's own demo rows)."""
    g = _Generator(ctx, procedures, cal, now)
    rng = g.rng
    live = [u for u, _ in g.units for _ in range(LIVE_PER_DESK)]  # today's pile at every desk
    total = rows + len(live)
    serials = [
        n for n in rng.sample(range(IMPORT_SERIALS), total + len(taken)) if n + SERIAL_START not in taken
    ][:total]
    draws = zip(
        rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS], k=total),
        rng.choices(range(len(procedures)), weights=g.proc_weights, k=total),
        rng.choices(g.postal_procs, weights=g.postal_weights, k=total),
        [*rng.choices([u for u, _ in g.units], cum_weights=g.unit_cum, k=rows), *live],
        strict=True,
    )
    days = [*g.days(rows), *g.recent_days(len(live))]
    return _build(g, zip(serials, days, draws, strict=True))


def _build(g: _Generator, plan: Iterator[tuple[int, date, tuple[str, int, int, _Unit]]]) -> History:
    full_after = g.now - timedelta(days=FULL_EVENTS_DAYS)
    dossiers: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    ends: list[int] = []
    for serial, day, draw in plan:
        d = _Dossier(g, day, draw)
        if d.inbound():
            at_desk = d.decide()
            if at_desk is not None:
                d.hand_back(at_desk)
        if not d.steps:
            continue
        row = d.row(SERIAL_START + serial)
        dossiers.append(row)
        steps = d.steps
        if d.returned is not None and d.returned < full_after:
            steps = [s for s in steps if s[0] in MILESTONES]
        events.extend(_events(g.rng, row["id"], steps))
        ends.append(len(events))
    return History(dossiers, events, ends)


def _events(rng: random.Random, dossier_id: uuid.UUID, steps: list[_Step]) -> Iterator[dict[str, Any]]:
    for seq, (code, status, org, actor, at) in enumerate(steps, start=1):
        yield {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "dossier_id": dossier_id,
            "seq": seq,
            "code": code,
            "status": status.value,
            "portal_status": PORTAL_STATUS[status],
            "actor_kind": actor,
            "actor_id": None,
            "org_id": org,
            "at": at,
            "client_at": None,
            "client_event_id": None,
            "place": None,
            "lat": None,
            "lon": None,
            "reason": None,
            "data": {},
        }


async def taken_serials(session: AsyncSession) -> frozenset[int]:
    """Serials of the import range already used."""
    low, high = s10.make(s10.PREFIX_DOSSIER, SERIAL_START)[:10], s10.make(s10.PREFIX_DOSSIER, 99_999_999)
    found = await session.exec(
        select(Dossier.item_id).where(col(Dossier.item_id) >= low, col(Dossier.item_id) <= high)
    )
    return frozenset(int(item_id[2:10]) for item_id in found)


def done_state(province_code: str, rows: int, written: dict[str, int]) -> DemoHistory:
    """The ``demo_history`` row of a history written at once (``seed``): ``done`` (``GET /health``)."""
    now = utcnow()
    return DemoHistory(
        province_code=province_code,
        state="done",
        rows_asked=rows,
        dossiers_planned=written["dossiers"],
        dossiers_written=written["dossiers"],
        events_written=written["events"],
        generated_for=now,
        finished_at=now,
    )


async def seed(session: AsyncSession, ctx: DemoContext, rows: int = HISTORY_ROWS) -> dict[str, int]:
    """Write ``rows`` past dossiers (fewer: those not yet begun are dropped) and their events; the caller
    commits."""
    if rows <= 0 or ctx.provincial_desk is None:
        return {"dossiers": 0, "events": 0}
    procedures = list((await session.exec(select(Procedure).order_by(Procedure.code))).all())
    cal = await working_calendar(session)
    history = generate(ctx, procedures, cal, rows, utcnow(), await taken_serials(session))
    tables = (Dossier.__table__, DossierEvent.__table__)  # type: ignore[attr-defined]
    for table, values in zip(tables, (history.dossiers, history.events), strict=True):
        for i in range(0, len(values), BATCH):
            await (await session.connection()).execute(sa.insert(table), values[i : i + BATCH])
    return {"dossiers": len(history.dossiers), "events": len(history.events)}
