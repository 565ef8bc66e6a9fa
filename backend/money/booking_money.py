"""A visit's money at its booking (issue 21: every amount written in the transaction of the event that caused
it): the due (``dues.due_posting``) and the exemption its quote applied (``exemptions.posting``), as rows the
booking writes with its own (``backend.booking.services.book.on_book``, wired in backend/app.py): statement by
statement on SQLite, inside ``hoso_book`` on PostgreSQL (migration 0024), so both paths store the same ledger
rows in the booking's one transaction. A replayed booking writes nothing (the key is claimed first), and a
window found full rolls them back with the rest. Rescheduling keeps the due; a cancellation reverses it
(``refunds.on_cancelled``). ``dues.post_dues`` remains the backfill for visits booked before this.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking.services.caches import cached_office
from backend.lib.auth import Principal
from backend.money import dues, exemptions, ledger
from schemas.booking import Appointment
from schemas.money import LedgerLine, LedgerTxn


async def at_booking(
    session: AsyncSession, appointment: Mapping[str, Any], principal: Principal, now: datetime
) -> Sequence[tuple[Any, Sequence[Mapping[str, Any]]]]:
    """The ledger rows of a new booking: (LedgerTxn rows, LedgerLine rows); nothing when its quote is 0."""
    appt = Appointment(**appointment)
    if sum(dues.quote_parts(appt)) == 0:
        return ()
    actor, role = principal.id, principal.role.value
    office = (await cached_office(session, appt.post_office_id)).org.code  # the booking's checks warmed it
    due = await dues.due_posting(
        session, appt, actor_id=actor, actor_role=role, at=now, office=office, new_booking=True
    )
    if due is None:  # pragma: no cover - the quote was checked above
        return ()
    postings = [due]
    waived = exemptions.posting(
        appt, actor_id=actor, actor_role=role, place=due.place, dossier_id=due.dossier_id, at=now
    )
    if waived is not None:
        postings.append(waived)
    txns: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for posting in postings:
        txn, its_lines = ledger.rows(posting)
        txns.append(txn)
        lines.extend(its_lines)
    return ((LedgerTxn, txns), (LedgerLine, lines))
