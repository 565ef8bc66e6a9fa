"""The invariants a fault must not break, each one SQL query counting the rows that break it (0 = holds).

The SQL runs on PostgreSQL and SQLite (where ids are stored as hex without dashes: compared without them).
From the booking write path (``backend/booking/services/draft.py``, ``hoso_book`` of migration 0003,
``tests/api/test_booking_concurrency.py``): a booking is the appointment at version 1, its ``booked`` event
(seq 1), its confirmation in the outbox (dedupe key ``appt:<id>:v1:booked``, ``services/events.dedupe_key``),
its idempotency record and its minutes in the window's ledger (``slot_capacity``), all in one transaction.
From money (``schemas/money.py``): every ledger transaction's lines sum to 0 VND. From custody: a dossier's
events are numbered without gaps (``dossier_event.seq``) and every event's dossier exists.
"""

from bench.drills.common import fetch

BOOKING = {
    "appointment without its booked event": """
        SELECT count(*) FROM appointment a WHERE NOT EXISTS (
            SELECT 1 FROM appointment_event e WHERE e.appointment_id = a.id AND e.seq = 1 AND e.type = 'booked')
    """,
    "appointment whose events are not 1..version": """
        SELECT count(*) FROM appointment a WHERE a.version <> (
            SELECT count(*) FROM appointment_event e WHERE e.appointment_id = a.id)
            OR a.version <> (SELECT coalesce(max(e.seq), 0) FROM appointment_event e WHERE e.appointment_id = a.id)
    """,
    "booked event without its notification": """
        SELECT count(*) FROM appointment_event e WHERE e.type = 'booked' AND NOT EXISTS (
            SELECT 1 FROM notification n
            WHERE replace(n.dedupe_key, '-', '') = replace('appt:' || e.appointment_id || ':v1:booked', '-', ''))
    """,
    "idempotency record without its appointment": """
        SELECT count(*) FROM booking_idempotency k WHERE NOT EXISTS (
            SELECT 1 FROM appointment a WHERE a.id = k.appointment_id)
    """,
    "window ledger <> booked appointments (minutes or count)": """
        SELECT count(*) FROM (
            SELECT coalesce(l.post_office_id, b.post_office_id) AS po
            FROM slot_capacity l FULL JOIN (
                SELECT post_office_id, start, sum(cost_minutes) AS minutes, count(*) AS n
                FROM appointment WHERE status = 'booked' GROUP BY post_office_id, start) b
              ON b.post_office_id = l.post_office_id AND b.start = l.start
            WHERE coalesce(l.booked_minutes, 0) <> coalesce(b.minutes, 0)
               OR coalesce(l.bookings, 0) <> coalesce(b.n, 0)) broken
    """,
}

RECORDS = {
    "ledger transaction whose lines do not sum to 0": """
        SELECT count(*) FROM (SELECT txn_id FROM ledger_line GROUP BY txn_id HAVING sum(amount_vnd) <> 0) t
    """,
    "ledger transaction without lines": """
        SELECT count(*) FROM ledger_txn t WHERE NOT EXISTS (SELECT 1 FROM ledger_line l WHERE l.txn_id = t.id)
    """,
    "dossier whose event numbers have a gap": """
        SELECT count(*) FROM (
            SELECT dossier_id FROM dossier_event GROUP BY dossier_id
            HAVING count(DISTINCT seq) <> max(seq) - min(seq) + 1 OR count(*) <> count(DISTINCT seq)) t
    """,
    "event whose dossier does not exist": """
        SELECT count(*) FROM dossier_event e WHERE NOT EXISTS (SELECT 1 FROM dossier d WHERE d.id = e.dossier_id)
    """,
}

COUNTS = {
    "appointments": "SELECT count(*) FROM appointment",
    "appointment events": "SELECT count(*) FROM appointment_event",
    "notifications": "SELECT count(*) FROM notification",
    "dossiers": "SELECT count(*) FROM dossier",
    "dossier events": "SELECT count(*) FROM dossier_event",
    "ledger transactions": "SELECT count(*) FROM ledger_txn",
    "ledger lines": "SELECT count(*) FROM ledger_line",
}


async def broken(url: str, checks: dict[str, str]) -> dict[str, int]:
    """Each invariant's count of rows that break it (all 0 when the data is whole)."""
    return {name: _one(await fetch(url, sql)) for name, sql in checks.items()}


async def counts(url: str) -> dict[str, int]:
    return {name: _one(await fetch(url, sql)) for name, sql in COUNTS.items()}


def _one(rows: list[dict[str, object]]) -> int:
    return int(next(iter(rows[0].values())))  # type: ignore[call-overload]
