"""Booking rules and transactions: slots, book, reschedule, cancel, no-show / failed visit.

Every change writes the appointment, its ``AppointmentEvent`` and its notifications in ONE transaction.
A refusal raises a ``Problem`` and the request's transaction is rolled back with it (the web layer rolls
back every answer that is not 2xx; direct callers roll back themselves), so a refused request leaves
nothing stored, the booking's idempotency claim included. Concurrency rests on two conditional UPDATEs:
the window ledger (``capacity.reserve``; on PostgreSQL the same upsert inside ``hoso_book``, see
``pgbook.py``) and the appointment's ``version`` (first writer wins, the other gets 409).

One module a job: ``caches`` (reference data and its invalidation), ``office_settings``, ``slots``,
``visibility``, ``serialise``, ``events`` (event rows, notices, reminders), ``draft`` (a booking's checks)
and ``book``, ``changes`` (reschedule, cancel), ``outcomes`` (no-show, failed visit, rebooking). This
package re-exports what the controllers and other domains call.
"""

from backend.booking.services.book import book, request_hash
from backend.booking.services.caches import (
    CACHE_TTL_S,
    FrameWindow,
    cached_calendar,
    cached_office,
    cached_postal_procedure,
    install,
    invalidate_caches,
    window_frame,
)
from backend.booking.services.changes import cancel, reschedule
from backend.booking.services.common import STAFF_CHANNEL, Office, office, postal_procedure, rules_from
from backend.booking.services.draft import Draft as _Draft
from backend.booking.services.draft import draft as _draft
from backend.booking.services.events import reminder_rows, schedule_reminders, withdraw_reminders
from backend.booking.services.fees import fees_for
from backend.booking.services.locate import geocode_first, resolve_point
from backend.booking.services.office_settings import get_settings_of, put_settings, settings_out
from backend.booking.services.outcomes import rebook_offer, record_outcome
from backend.booking.services.serialise import one_public, to_public
from backend.booking.services.slots import list_slots
from backend.booking.services.visibility import list_appointments, visible
from schemas.base import utcnow

__all__ = [
    "CACHE_TTL_S",
    "STAFF_CHANNEL",
    "FrameWindow",
    "Office",
    "_Draft",
    "_draft",
    "book",
    "cached_calendar",
    "cached_office",
    "cached_postal_procedure",
    "cancel",
    "fees_for",
    "geocode_first",
    "get_settings_of",
    "install",
    "invalidate_caches",
    "list_appointments",
    "list_slots",
    "office",
    "one_public",
    "postal_procedure",
    "put_settings",
    "rebook_offer",
    "record_outcome",
    "reminder_rows",
    "request_hash",
    "reschedule",
    "resolve_point",
    "rules_from",
    "schedule_reminders",
    "settings_out",
    "to_public",
    "utcnow",
    "visible",
    "window_frame",
    "withdraw_reminders",
]
