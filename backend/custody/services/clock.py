"""Event times: the device's clock against the server's, and where a dossier stands against its deadline."""

from datetime import datetime, timedelta

from backend.catalogue.calendar import WorkingCalendar
from backend.custody import deadlines
from backend.lib.problems import Problem
from schemas.base import utcnow
from schemas.dossiers import Dossier

# Device clocks drift; an event "from the future" beyond this is refused, so is one older than the window.
CLIENT_SKEW = timedelta(minutes=10)
CLIENT_MAX_AGE = timedelta(days=14)


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


def timeliness_now(dossier: Dossier, calendar: WorkingCalendar, now: datetime | None = None) -> str | None:
    t = deadlines.timeliness(dossier, now or utcnow(), calendar)
    return t.value if t else None
