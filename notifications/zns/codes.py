"""Zalo's ZNS error codes → what the sender does about them, as plain data.

Source: Zalo Cloud, "Cách xử lý mã lỗi" (https://zalo.cloud/zns/guidelines/handle-error-code), the table of the
``error`` field of ``POST https://business.openapi.zalo.me/message/template``; 0 is success. The table says
what each code means and what the business should fix; it does not say which codes are worth sending again.
That choice is ours, per code below: ``refresh`` (the access token is refused: refresh it and send once more),
``wait`` (quota or a time-of-day rule: send later, after ``wait_s``), ``retry`` (Zalo's own failure: send
later) and ``fatal`` (the message can never go as configured: a wrong phone, template or parameter, a user
who does not or cannot receive ZNS, an app or OA without the right). A code missing from the table is
treated as ``fatal`` (fail closed: sending the same request again would repeat an unknown refusal), except
``UNKNOWN`` (-100), which Zalo itself asks to try again later.

Zalo's docs are silent on HTTP 429 and on a ``Retry-After`` header; the sender honours both if they come.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from schemas.vntime import VN_TZ

VN = VN_TZ


class Action(StrEnum):
    refresh = "refresh"
    wait = "wait"
    retry = "retry"
    fatal = "fatal"


@dataclass(frozen=True, slots=True)
class Rule:
    action: Action
    meaning: str
    wait_s: float | None = None  # for ``wait``; None: until the morning (see ``night``)


SUCCESS = 0
UNKNOWN = -100
NIGHT = -133  # "Mẫu ZNS này không được phép gửi vào ban đêm (từ 22h-6h)"
DEFAULT_RETRY_S = 30.0

_F, _W, _R = Action.fatal, Action.wait, Action.retry

CODES: dict[int, Rule] = {
    UNKNOWN: Rule(_R, "Unknown error", DEFAULT_RETRY_S),
    -101: Rule(_F, "Application invalid"),
    -102: Rule(_F, "Application not existed"),
    -103: Rule(_F, "Application not activated"),
    -104: Rule(_F, "App secret key invalid"),
    -105: Rule(_F, "Application not linked to any OA"),
    -106: Rule(_F, "Method unsupported"),
    -107: Rule(_F, "Message ID invalid"),
    -108: Rule(_F, "Phone number invalid"),
    -109: Rule(_F, "Template ID invalid"),
    -110: Rule(_F, "Zalo version unsupported (the user must update Zalo)"),
    -111: Rule(_F, "Template data empty"),
    -112: Rule(_F, "Template data invalid"),
    -113: Rule(_F, "Button invalid"),
    -114: Rule(_F, "User inactive, refuses ZNS or uses an outdated Zalo"),
    -115: Rule(_W, "Out of quota (the ZNS account's balance)", 3600.0),
    -116: Rule(_F, "Text invalid"),
    -117: Rule(_F, "OA or app has no permission for this template"),
    -118: Rule(_F, "Zalo account not existed"),
    -119: Rule(_F, "Account cannot receive ZNS"),
    -120: Rule(_F, "OA has no permission for this feature"),
    -121: Rule(_F, "Template body empty"),
    -122: Rule(_F, "Body not JSON"),
    -123: Rule(_F, "Cannot decrypt the RSA phone"),
    -124: Rule(Action.refresh, "Access token invalid"),
    -125: Rule(_F, "Official Account ID invalid"),
    -126: Rule(_F, "Development-mode wallet out of balance"),
    -127: Rule(_F, "A template in development is sent to OA admins only"),
    -128: Rule(_F, "Encoding key not existed"),
    -129: Rule(_F, "Cannot create the RSA key"),
    -130: Rule(_F, "Content over the template's character limit"),
    -131: Rule(_F, "Template not approved"),
    -132: Rule(_F, "Parameter invalid"),
    NIGHT: Rule(_W, "This template may not be sent at night (22:00-06:00)", None),
    -134: Rule(_F, "The user has not accepted ZNS from the OA"),
    -135: Rule(_F, "OA has no permission to send ZNS"),
    -137: Rule(_F, "ZCA payment failed"),
    -138: Rule(_F, "The app has no permission for this feature"),
    -139: Rule(_F, "The user refused this kind of ZNS"),
    -140: Rule(_F, "OA may not send after-sales ZNS to this user"),
    -144: Rule(_W, "OA over its daily ZNS quota", None),
    -147: Rule(_W, "Template over its daily sending limit", None),
    # The access-token errors of Zalo's OA OpenAPI, which some ZNS gateways answer too
    # (https://developers.zalo.me/docs/official-account/phu-luc/ma-loi): expired or removed token.
    -216: Rule(Action.refresh, "Access token invalid (OA API)"),
    -220: Rule(Action.refresh, "Access token expired or removed (OA API)"),
}


def rule(code: int) -> Rule:
    return CODES.get(code, Rule(Action.fatal, "Undocumented error code"))


def until_vn(now: datetime, hour: int) -> float:
    """Seconds from ``now`` (aware) to the next ``hour``:00 in Vietnam."""
    local = now.astimezone(VN)
    target = datetime.combine(local.date(), time(hour), VN)
    if target <= local:
        target += timedelta(days=1)
    return (target - local).total_seconds()


def wait_for(code: int, now: datetime) -> float:
    """How long to wait before sending again after a ``wait`` code: the rule's own wait, else (the night
    rule, daily quotas, which Zalo resets per Vietnam day) until 06:00 or the next midnight in Vietnam."""
    r = rule(code)
    if r.wait_s is not None:
        return r.wait_s
    if code == NIGHT:
        return max(60.0, until_vn(now, 6))
    return max(60.0, until_vn(now, 0))
