"""The relay: turns dossier and appointment event rows into webhook deliveries.

The custody and booking services write an event row in the same transaction as each change and know nothing
of webhooks. The relay tails those tables by a stored cursor (``webhook_cursor``: the (at, id) of the last
event read) and, in one transaction, writes one ``webhook_delivery`` per matching endpoint for each new event
and moves the cursor. A delivery's key is (endpoint, event id), inserted with ON CONFLICT DO NOTHING, so a
relay that dies before its commit, two relays at once, or the re-reading below never make a second delivery.

An event's ``at`` is taken when its row is built, so a transaction that commits late can show an event older
than the cursor. Every ``RECHECK_EVERY`` passes the relay re-reads the last ``OVERLAP`` behind the cursor to
catch those (a transaction open longer than that is not caught; the services' transactions last milliseconds).
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.partners import payloads
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentEvent
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier, DossierEvent
from schemas.orgs import Organisation
from schemas.webhooks import DeliveryStatus, WebhookCursor, WebhookDelivery, WebhookEndpoint, WebhookKind

log = logging.getLogger("backend.partners")

E = WebhookEndpoint.__table__  # type: ignore[attr-defined]
C = WebhookCursor.__table__  # type: ignore[attr-defined]
W = WebhookDelivery.__table__  # type: ignore[attr-defined]
DE = DossierEvent.__table__  # type: ignore[attr-defined]
DO = Dossier.__table__  # type: ignore[attr-defined]
AE = AppointmentEvent.__table__  # type: ignore[attr-defined]
AP = Appointment.__table__  # type: ignore[attr-defined]
PR = Procedure.__table__  # type: ignore[attr-defined]
OR = Organisation.__table__  # type: ignore[attr-defined]

OVERLAP = timedelta(minutes=2)
RECHECK_EVERY = 30
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
NIL = uuid.UUID(int=0)


@dataclass(frozen=True)
class Found:
    """One event as deliveries: its id, time, kinds, the organisations party to it and the data per kind."""

    event_id: uuid.UUID
    at: datetime
    kinds: tuple[WebhookKind, ...]
    parties: frozenset[uuid.UUID]
    row: Mapping[str, Any]


def _dossier_query() -> Any:
    return select(
        DE.c.id.label("event_id"),
        DE.c.at,
        DE.c.code,
        DE.c.status,
        DE.c.portal_status,
        DE.c.org_id,
        DO.c.item_id,
        DO.c.desk_id,
        DO.c.agency_id,
        DO.c.post_office_id,
        DO.c.due_at,
        DO.c.outcome,
        PR.c.code.label("procedure"),
    ).select_from(DE.join(DO, DO.c.id == DE.c.dossier_id).outerjoin(PR, PR.c.id == DO.c.procedure_id))


def _appointment_query() -> Any:
    linked = DO.alias("linked")
    return select(
        AE.c.id.label("event_id"),
        AE.c.at,
        AE.c.type,
        AE.c.reason_code,
        AE.c.appointment_id,
        AP.c.kind,
        AP.c.status.label("appt_status"),
        AP.c.start,
        AP.c.end,
        AP.c.post_office_id,
        AP.c.dossier_item_id,
        PR.c.code.label("procedure"),
        linked.c.desk_id,
        linked.c.agency_id,
    ).select_from(
        AE.join(AP, AP.c.id == AE.c.appointment_id)
        .outerjoin(PR, PR.c.id == AP.c.procedure_id)
        .outerjoin(linked, linked.c.item_id == AP.c.dossier_item_id)
    )


@dataclass(frozen=True)
class Source:
    name: str
    table: Any
    query: Callable[[], Any]
    found: Callable[[Mapping[str, Any]], Found]


def _dossier_found(row: Mapping[str, Any]) -> Found:
    return Found(
        row["event_id"],
        row["at"],
        tuple(payloads.dossier_kinds(row["status"])),
        frozenset(payloads.parties(row["desk_id"], row["agency_id"], row["post_office_id"])),
        row,
    )


def _appointment_found(row: Mapping[str, Any]) -> Found:
    return Found(
        row["event_id"],
        row["at"],
        (WebhookKind.appointment_changed,),
        frozenset(payloads.parties(row["post_office_id"], row["desk_id"], row["agency_id"])),
        row,
    )


SOURCES = (
    Source("dossier_event", DE, _dossier_query, _dossier_found),
    Source("appointment_event", AE, _appointment_query, _appointment_found),
)


class Relay:
    def __init__(self, engine: AsyncEngine, *, batch_size: int = 500, idle_interval: float = 1.0) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        self.passes = 0
        self._dialect = engine.dialect.name

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                moved = await self.run_once(recheck=self.passes % RECHECK_EVERY == 0)
            except Exception:
                log.exception("webhook relay: pass failed")
                moved = 0
            if moved >= self.batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.idle_interval)

    async def run_once(self, *, recheck: bool = False) -> int:
        """One pass over each event table; returns how many events were read. ``recheck`` also re-reads the
        ``OVERLAP`` behind each cursor for late commits."""
        self.passes += 1
        read = 0
        for source in SOURCES:
            read += await self._pass(source, recheck)
        return read

    async def _pass(self, source: Source, recheck: bool) -> int:
        async with self.engine.begin() as conn:
            last_at, last_id = await self._cursor(conn, source.name)
            table = source.table
            after = or_(table.c.at > last_at, and_(table.c.at == last_at, table.c.id > last_id))
            # Never past now: a row dated ahead (a skewed clock, imported data) would carry the cursor past
            # every event written after it; it is relayed when its time comes.
            stmt = (
                source.query()
                .where(after, table.c.at <= utcnow())
                .order_by(table.c.at, table.c.id)
                .limit(self.batch_size)
            )
            rows = [dict(r._mapping) for r in await conn.execute(stmt)]
            late: list[dict[str, Any]] = []
            if recheck and last_id != NIL:
                behind = source.query().where(table.c.at >= last_at - OVERLAP, table.c.at <= last_at)
                late = [dict(r._mapping) for r in await conn.execute(behind)]
            if not rows and not late:
                return 0
            found = [source.found(r) for r in late + rows]
            endpoints = await self._endpoints(conn, {p for f in found for p in f.parties})
            codes = await self._codes(conn, found)
            deliveries = list(_deliveries(found, endpoints, codes))
            if deliveries:
                await conn.execute(self._insert_ignore(), deliveries)
            if rows:
                newest = rows[-1]
                await conn.execute(
                    update(C)
                    .where(C.c.source == source.name)
                    .values(last_at=newest["at"], last_id=newest["event_id"], updated_at=utcnow())
                )
            return len(rows)

    async def _cursor(self, conn: AsyncConnection, name: str) -> tuple[datetime, uuid.UUID]:
        query = select(C.c.last_at, C.c.last_id).where(C.c.source == name)
        if self._dialect == "postgresql":
            query = query.with_for_update()  # one relay at a time per table; the others wait, then go on
        found = (await conn.execute(query)).first()
        if found is None:
            # First run: start from now. Events from before webhooks existed are not sent.
            now = utcnow()
            await conn.execute(
                self._insert_ignore_cursor(),
                [{"source": name, "last_at": now, "last_id": NIL, "updated_at": now}],
            )
            found = (await conn.execute(query)).first()
            assert found is not None
        return found[0], found[1]

    async def _endpoints(self, conn: AsyncConnection, orgs: set[uuid.UUID]) -> list[Mapping[str, Any]]:
        if not orgs:
            return []
        query = select(E.c.id, E.c.org_id, E.c.kinds).where(E.c.active.is_(True), E.c.org_id.in_(orgs))
        return [dict(r._mapping) for r in await conn.execute(query)]

    async def _codes(self, conn: AsyncConnection, found: Sequence[Found]) -> dict[uuid.UUID, str]:
        ids: set[uuid.UUID] = set()
        for f in found:
            ids |= f.parties
            org = f.row.get("org_id")
            if org:
                ids.add(org)
        if not ids:
            return {}
        return {i: c for i, c in await conn.execute(select(OR.c.id, OR.c.code).where(OR.c.id.in_(ids)))}

    def _insert_ignore(self) -> Any:
        if self._dialect == "postgresql":
            return postgresql.insert(W).on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
        if self._dialect == "sqlite":
            return sqlite.insert(W).on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
        return insert(W)

    def _insert_ignore_cursor(self) -> Any:
        if self._dialect == "postgresql":
            return postgresql.insert(C).on_conflict_do_nothing(index_elements=["source"])
        if self._dialect == "sqlite":
            return sqlite.insert(C).on_conflict_do_nothing(index_elements=["source"])
        return insert(C)


def _deliveries(
    found: Sequence[Found], endpoints: Sequence[Mapping[str, Any]], codes: Mapping[uuid.UUID, str]
) -> Any:
    now = utcnow()
    for f in found:
        for endpoint in endpoints:
            if endpoint["org_id"] not in f.parties:
                continue
            for kind in f.kinds:
                if kind.value not in endpoint["kinds"]:
                    continue
                data = (
                    payloads.appointment_data(f.row, codes)
                    if kind is WebhookKind.appointment_changed
                    else payloads.dossier_data(f.row, codes)
                )
                # result_ready and status_changed come from one event row: distinct ids, one per kind.
                event_id = (
                    f.event_id if kind is not WebhookKind.dossier_result_ready else _derived(f.event_id)
                )
                yield {
                    "id": uuid.uuid4(),
                    "endpoint_id": endpoint["id"],
                    "event_id": event_id,
                    "kind": kind.value,
                    "payload": payloads.body(event_id, kind.value, f.at, data),
                    "status": DeliveryStatus.pending.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }


def _derived(event_id: uuid.UUID) -> uuid.UUID:
    """A stable id of the ``dossier.result_ready`` message of one event (the same on every relay)."""
    return uuid.uuid5(event_id, WebhookKind.dossier_result_ready.value)
