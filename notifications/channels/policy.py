"""The one channel policy, as plain data (issue 22): which channels each notification kind goes through, in
which order, when the next one is tried, and when SMS and Zalo may not be sent.

- Push first, for every kind (the notification row itself is the push delivery: ``notifications.dispatcher``).
- A citizen's notice falls back to the next channel of ``FALLBACK`` (Zalo ZNS, then SMS: a ZNS message costs
  less than a brand-name SMS and carries accents) when push could not reach them: no device registered, push
  off, or every push failed; and, for the kinds that matter (``UNREAD_MATTERS``: result ready, courier on the
  way, supplement needed, ...), when the notice is not opened (read in the inbox) within
  ``ChannelConfig.unread_after``. A fallback delivery that fails, is skipped or suppressed moves on to the
  next channel of the list; one that is sent stops the chain.
- A channel the citizen switched off is recorded ``suppressed`` and skipped over; one the service has no
  sender for is recorded ``skipped``.
- Staff notices stay push-only (staff use the apps at work).
- Quiet hours: no SMS or ZNS between 21:00 and 07:00 Vietnam time; a delivery due then waits for 07:00.

Sign-in codes: SMS only and never held for quiet hours, and they do NOT go through the delivery table; the
request that asks for a code sends it (``backend/accounts/otp.py``) and records it in ``sms_message``. Why:
the outbox keeps a message's rendered text, and a sign-in code must never be stored (only its hash is); a code
lives five minutes and the citizen is waiting on the screen, so a provider that does not take it must be
answered at once (503 with the provider's Retry-After) rather than retried in the background after the code is
dead; the send already has the delivery table's guarantees (the record row is written and committed before the
provider is called, our row id is eSMS's RequestId so a repeat is refused as a duplicate, and its delivery
report moves its status forward with an event row). ``SIGN_IN`` below states the rule for readers and tests.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from schemas.channels import GAVE_UP, DeliveryStatus, NoticeChannel
from schemas.vntime import VN_TZ, to_vn

# Citizen kinds where a notice not opened in time also goes by SMS/Zalo (the citizen must act or be home).
UNREAD_MATTERS: frozenset[str] = frozenset(
    {
        "dossier.result_ready",
        "courier.on_the_way",
        "dossier.supplement_requested",
        "dossier.out_for_delivery",
        "dossier.delivery_failed",
        "appointment.cancelled",
    }
)

# Fallback channels in order of trial, after push.
FALLBACK: tuple[NoticeChannel, ...] = (NoticeChannel.zns, NoticeChannel.sms)

# The kinds whose text may go by SMS/ZNS at all (texts in notifications/sms/templates.py): citizen notices.
# Reminders are left out: an SMS an hour before is noise when the push was missed, and the visit happens anyway.
FALLBACK_KINDS: frozenset[str] = frozenset(
    {
        "appointment.booked",
        "appointment.rescheduled",
        "appointment.cancelled",
        "appointment.missed",
        "courier.on_the_way",
        "dossier.picked_up",
        "dossier.handed_to_agency",
        "dossier.supplement_requested",
        "dossier.result_ready",
        "dossier.out_for_delivery",
        "dossier.delivered",
        "dossier.delivery_failed",
        # Issue 20: refusals and withdrawals with their reason, the papers coming back, the return offer.
        "dossier.not_accepted",
        "dossier.withdrawn",
        "dossier.papers_returned",
        "dossier.return_offer",
        "dossier.return_auto_booked",
        "dossier.supplement_collected",
    }
)

QUIET_START = time(21, 0)
QUIET_END = time(7, 0)


@dataclass(frozen=True)
class KindRule:
    channels: tuple[NoticeChannel, ...]  # in order of trial
    unread_fallback: bool  # not opened within unread_after also moves on
    quiet_exempt: bool = False


SIGN_IN = KindRule(channels=(NoticeChannel.sms,), unread_fallback=False, quiet_exempt=True)
PUSH_ONLY = KindRule(channels=(NoticeChannel.push,), unread_fallback=False)


def rule_for(kind: str, recipient_kind: str) -> KindRule:
    """The rule of one notification kind (its template key) for a recipient kind."""
    if kind == "auth.sign_in_code":
        return SIGN_IN
    if recipient_kind != "citizen" or kind not in FALLBACK_KINDS:
        return PUSH_ONLY
    return KindRule(channels=(NoticeChannel.push, *FALLBACK), unread_fallback=kind in UNREAD_MATTERS)


@dataclass(frozen=True)
class ChannelConfig:
    """What settings decide (``backend/settings.py`` fills it): the not-opened delay, the costs, which
    channels have a sender."""

    unread_after: timedelta = timedelta(minutes=30)
    sms_cost_gsm7_vnd: int = 0  # per segment
    sms_cost_ucs2_vnd: int = 0  # per segment
    zns_cost_vnd: int = 0  # per message
    available: frozenset[NoticeChannel] = frozenset({NoticeChannel.push, NoticeChannel.sms})


def in_quiet_hours(now: datetime) -> bool:
    local = to_vn(now).time()
    return local >= QUIET_START or local < QUIET_END


def quiet_hours_end(now: datetime) -> datetime:
    """The next 07:00 Vietnam time at or after ``now`` (UTC)."""
    local = to_vn(now)
    end = datetime.combine(local.date(), QUIET_END, tzinfo=VN_TZ)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)


def earliest_send(channel: NoticeChannel, kind: str, now: datetime) -> datetime:
    """When a delivery of ``kind`` on ``channel`` may go: now, or 07:00 when it falls in quiet hours."""
    quiet = channel in (NoticeChannel.sms, NoticeChannel.zns) and not rule_for(kind, "citizen").quiet_exempt
    if quiet and in_quiet_hours(now):
        return quiet_hours_end(now)
    return now


def sms_cost(config: ChannelConfig, encoding: str, segments: int) -> int:
    per = config.sms_cost_ucs2_vnd if encoding == "ucs2" else config.sms_cost_gsm7_vnd
    return per * segments


@dataclass(frozen=True)
class Step:
    """A fallback channel to record for a notification: ``status`` pending (to send), skipped (no sender) or
    suppressed (the citizen switched it off)."""

    channel: NoticeChannel
    status: str
    reason: str | None = None


def next_steps(
    kind: str,
    recorded: dict[NoticeChannel, str],
    *,
    enabled: dict[NoticeChannel, bool],
    available: frozenset[NoticeChannel],
) -> list[Step]:
    """The fallback rows to add for a notification whose push did not reach the citizen (or was not opened):
    channels of its rule after push, in order, until one that will be sent. ``recorded`` holds the statuses of
    its fallback rows so far; nothing is added while one of them is still under way or went out."""
    rule = rule_for(kind, "citizen")
    steps: list[Step] = []
    for channel in rule.channels[1:]:
        if channel in recorded:
            if DeliveryStatus(recorded[channel]) not in GAVE_UP:
                return []  # under way, sent or delivered: the chain stops here
            continue
        if channel not in available:
            steps.append(Step(channel, "skipped", f"{channel} is not configured"))
        elif not enabled.get(channel, True):
            steps.append(Step(channel, "suppressed", "the citizen switched this channel off"))
        else:
            steps.append(Step(channel, "pending"))
            return steps
    return steps
