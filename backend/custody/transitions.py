"""The dossier state machine: every allowed transition in one table. Pure: no DB, no web.

Each event keeps a raw code beside the normalised status it leads to, and the status is mapped to the national
portal's dossier status 1-10 (Cổng Dịch vụ công quốc gia: 1 mới tiếp nhận trực tuyến/chờ tiếp nhận, 2 đã tiếp
nhận, 3 không được tiếp nhận, 4 đang xử lý, 5 yêu cầu bổ sung, 6 yêu cầu nghĩa vụ tài chính, 7 công dân rút hồ
sơ, 8 dừng xử lý, 9 đã xử lý xong, 10 đã trả kết quả).

Raw codes: the postal legs use UPU EMSEVT-style codes (``EMA`` posting/collection, ``EMB`` arrival at an office,
``EMC`` departure from an office, ``EMG`` arrival at the delivery office, ``EMH`` attempted/unsuccessful delivery,
``EMI`` final delivery) plus ``EMO`` (out for delivery, our own code: EMSEVT has no fixed one we rely on). The
administrative steps (Decree 118/2025/NĐ-CP: receipt at the one-stop desk, transfer to the agency, supplement
request, decision, return of the result) have their own three-letter codes starting with ``T``/``K``.
The whole journey follows Decision 45/2016/QĐ-TTg (receipt and return of results through the public postal
service): collected -> post office -> desk -> agency -> result -> post office -> citizen.
"""

from dataclasses import dataclass

from schemas.dossiers import FINAL_STATUSES as FINAL_STATUSES  # with the enum: accounts reads it too
from schemas.dossiers import Channel, CustodianKind, DossierStatus
from schemas.enums import Role

# The statuses are part of the API's answers, so the enum lives with them (schemas/dossiers.py).
Status = DossierStatus


PORTAL_STATUS: dict[Status, int] = {
    Status.collected: 1,
    Status.at_post_office: 1,
    Status.in_transit_to_desk: 1,
    Status.received: 2,
    Status.not_accepted: 3,
    Status.processing: 4,
    Status.awaiting_supplement: 5,
    Status.supplement_in_transit: 5,  # still waiting for the supplement until the desk receives it
    Status.withdrawn: 7,
    Status.resolved: 9,
    Status.result_ready: 9,
    Status.result_in_transit: 9,
    Status.result_at_post_office: 9,
    Status.out_for_delivery: 9,
    Status.delivery_failed: 9,
    Status.returned_to_desk: 9,
    Status.delivered: 10,
}

# Who holds the paper while the dossier is in a status (None: unchanged by the event).
CUSTODY: dict[Status, CustodianKind] = {
    Status.collected: CustodianKind.courier,
    Status.at_post_office: CustodianKind.post_office,
    Status.in_transit_to_desk: CustodianKind.post_office,
    Status.received: CustodianKind.desk,
    Status.not_accepted: CustodianKind.desk,
    Status.processing: CustodianKind.agency,
    Status.awaiting_supplement: CustodianKind.agency,
    Status.supplement_in_transit: CustodianKind.courier,  # the supplement's holder; the dossier stays put
    Status.resolved: CustodianKind.agency,
    Status.withdrawn: CustodianKind.desk,
    Status.result_ready: CustodianKind.desk,
    Status.result_in_transit: CustodianKind.desk,
    Status.result_at_post_office: CustodianKind.post_office,
    Status.out_for_delivery: CustodianKind.courier,
    Status.delivery_failed: CustodianKind.courier,
    Status.returned_to_desk: CustodianKind.desk,
    Status.delivered: CustodianKind.citizen,
}

OPEN_STATUSES = frozenset(
    {
        Status.collected,
        Status.at_post_office,
        Status.in_transit_to_desk,
        Status.received,
        Status.processing,
        Status.awaiting_supplement,
        Status.supplement_in_transit,
    }
)


@dataclass(frozen=True)
class Rule:
    code: str
    to: Status
    sources: frozenset[Status]
    roles: frozenset[Role]
    label_vi: str
    label_en: str


_POST = frozenset({Role.courier, Role.dispatcher, Role.admin})
_DESK = frozenset({Role.desk, Role.admin})
_AGENCY = frozenset({Role.agency, Role.desk, Role.admin})
S = Status


def _rule(code: str, to: Status, sources: set[Status], roles: frozenset[Role], vi: str, en: str) -> Rule:
    return Rule(code, to, frozenset(sources), roles, vi, en)


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        _rule("EMB", S.at_post_office, {S.collected}, _POST, "Đến bưu cục", "Arrived at post office"),
        _rule(
            "EMC",
            S.in_transit_to_desk,
            {S.at_post_office},
            _POST,
            "Rời bưu cục đi Bộ phận Một cửa",
            "Left the post office for the desk",
        ),
        # Decree 118/2025/NĐ-CP: the desk checks and accepts the dossier; the clock starts at receipt.
        _rule(
            "TNH",
            S.received,
            {S.collected, S.at_post_office, S.in_transit_to_desk},
            _DESK,
            "Bộ phận Một cửa tiếp nhận",
            "Accepted by the one-stop desk",
        ),
        _rule(
            "TKN",
            S.not_accepted,
            {S.collected, S.at_post_office, S.in_transit_to_desk, S.received},
            _DESK,
            "Không tiếp nhận",
            "Not accepted",
        ),
        _rule("TCQ", S.processing, {S.received}, _DESK, "Chuyển cơ quan giải quyết", "Sent to the agency"),
        _rule(
            "TBS",
            S.awaiting_supplement,
            {S.processing},
            _AGENCY,
            "Yêu cầu bổ sung hồ sơ",
            "Supplement requested",
        ),
        # Issue 20: the supplement travels with its dossier. The courier's scan at the door records it (EBS,
        # our own code in the EMSEVT style); the clock stays paused until the desk receives it (TNB).
        _rule(
            "EBS",
            S.supplement_in_transit,
            {S.awaiting_supplement},
            _POST,
            "Bưu điện nhận hồ sơ bổ sung tại nhà",
            "Supplement collected at home",
        ),
        _rule(
            "TNB",
            S.processing,
            {S.awaiting_supplement, S.supplement_in_transit},
            _AGENCY,
            "Đã nhận hồ sơ bổ sung",
            "Supplement received",
        ),
        _rule(
            "TRH",
            S.withdrawn,
            {S.received, S.processing, S.awaiting_supplement},
            _AGENCY,
            "Công dân rút hồ sơ",
            "Withdrawn by the citizen",
        ),
        _rule(
            "TKQ",
            S.resolved,
            {S.processing},
            frozenset({Role.agency, Role.admin}),
            "Đã có quyết định",
            "Decided",
        ),
        _rule(
            "KQS",
            S.result_ready,
            {S.resolved, S.not_accepted, S.withdrawn},
            _AGENCY,
            "Kết quả đã về Bộ phận Một cửa",
            "Result at the desk",
        ),
        _rule(
            "KQB",
            S.result_in_transit,
            {S.result_ready},
            _DESK | _POST,
            "Kết quả chuyển cho bưu điện",
            "Result dispatched to the post office",
        ),
        _rule(
            "EMG",
            S.result_at_post_office,
            {S.result_ready, S.result_in_transit, S.delivery_failed},
            _POST,
            "Kết quả đến bưu cục phát",
            "Result at the delivery office",
        ),
        _rule(
            "EMO",
            S.out_for_delivery,
            {S.result_at_post_office, S.result_in_transit, S.delivery_failed},
            _POST,
            "Đang phát kết quả",
            "Out for delivery",
        ),
        _rule(
            "EMH",
            S.delivery_failed,
            {S.out_for_delivery},
            _POST,
            "Phát không thành công",
            "Delivery attempt failed",
        ),
        _rule("EMI", S.delivered, {S.out_for_delivery}, _POST, "Đã phát thành công", "Delivered"),
        # After too many failed attempts the result goes back for counter pickup (Decision 45/2016/QĐ-TTg:
        # the postal operator returns what it cannot deliver to the agency that issued it).
        _rule(
            "KQT",
            S.returned_to_desk,
            {S.delivery_failed, S.result_at_post_office},
            _DESK | _POST,
            "Chuyển trả Bộ phận Một cửa",
            "Returned to the desk for counter pickup",
        ),
        _rule(
            "KQN",
            S.delivered,
            {S.result_ready, S.returned_to_desk},
            _DESK,
            "Công dân nhận tại quầy",
            "Collected at the counter",
        ),
    )
}

# How a dossier starts, by channel: the courier's collection at home and the counter receipt are UPU postings
# (EMA); a direct or online dossier starts at the desk.
CREATION: dict[Channel, tuple[str, Status, frozenset[Role]]] = {
    Channel.home_pickup: ("EMA", S.collected, frozenset({Role.courier, Role.admin})),
    Channel.post_office: ("EMA", S.at_post_office, frozenset({Role.dispatcher, Role.admin})),
    Channel.direct: ("TNH", S.received, _DESK),
    Channel.online: ("TNH", S.received, _DESK),
}

# A handover between two holders of the same kind (courier to courier, post office to post office): custody
# changes, the status does not.
CUSTODY_CODE = "BGN"

# Events that change no status (issue 20): the citizen's choice of postal return or counter pickup, and the
# booking of the return delivery, by the citizen or, with no answer in time, by the system.
NOTE_CODES: dict[str, tuple[str, str]] = {
    "YBC": ("Công dân chọn nhận kết quả qua bưu chính", "Postal return chosen"),
    "YTQ": ("Công dân chọn nhận kết quả tại quầy", "Counter pickup chosen"),
    "HTK": ("Đã đặt lịch trả kết quả tại nhà", "Return delivery booked"),
    "HTT": ("Tự động đặt lịch trả kết quả tại nhà", "Return delivery booked automatically"),
    "HTD": ("Chưa có địa chỉ trả kết quả, đã hỏi công dân", "No return address: the citizen was asked"),
}

CODE_LABELS: dict[str, tuple[str, str]] = {
    "EMA": ("Nhận gửi / nhận tại nhà", "Posted / collected"),
    CUSTODY_CODE: ("Bàn giao", "Handed over"),
    **NOTE_CODES,
    **{code: (r.label_vi, r.label_en) for code, r in RULES.items()},
}

# Handover confirmation: what scanning an item in means, by the item's status when it was sent and the kind of
# receiver. Departure codes are recorded when a handover is created by that kind of sender.
ON_RECEIPT: dict[tuple[Status, CustodianKind], str] = {
    (S.collected, CustodianKind.post_office): "EMB",
    (S.collected, CustodianKind.desk): "TNH",
    (S.at_post_office, CustodianKind.desk): "TNH",
    (S.in_transit_to_desk, CustodianKind.desk): "TNH",
    (S.received, CustodianKind.agency): "TCQ",
    (S.result_ready, CustodianKind.post_office): "EMG",
    (S.result_in_transit, CustodianKind.post_office): "EMG",
    (S.result_at_post_office, CustodianKind.courier): "EMO",
    (S.result_in_transit, CustodianKind.courier): "EMO",
    (S.delivery_failed, CustodianKind.post_office): "EMG",
    (S.delivery_failed, CustodianKind.desk): "KQT",
    (S.result_at_post_office, CustodianKind.desk): "KQT",
    (S.resolved, CustodianKind.desk): "KQS",
    (S.supplement_in_transit, CustodianKind.desk): "TNB",
}
ON_DEPARTURE: dict[tuple[Status, CustodianKind], str] = {
    (S.at_post_office, CustodianKind.desk): "EMC",
    (S.result_ready, CustodianKind.post_office): "KQB",
}
# Same-kind moves (post office to post office, courier to courier, desk to agency of a result...) change the
# holder without a status change.
SAME_STATUS_CUSTODY = frozenset(
    {
        (S.collected, CustodianKind.courier),
        (S.at_post_office, CustodianKind.post_office),
        (S.result_at_post_office, CustodianKind.post_office),
        (S.out_for_delivery, CustodianKind.courier),
        (S.supplement_in_transit, CustodianKind.courier),
    }
)


class TransitionError(ValueError):
    """An event that is not allowed from the dossier's status (or by the caller's role)."""

    def __init__(self, code: str, status: str, allowed: list[str], why_vi: str, why_en: str) -> None:
        super().__init__(f"{why_vi} / {why_en}")
        self.code = code
        self.status = status
        self.allowed = allowed


def allowed_codes(status: str, role: Role | None = None) -> list[str]:
    """Event codes that may follow ``status`` (for ``role`` when given), in table order."""
    return [code for code, r in RULES.items() if status in r.sources and (role is None or role in r.roles)]


def next_status(status: str, code: str, role: Role | None = None) -> Status:
    """The status after event ``code`` from ``status``; raises ``TransitionError`` explaining what is allowed."""
    rule = RULES.get(code)
    allowed = allowed_codes(status, role)
    if rule is None:
        raise TransitionError(
            code, status, allowed, f"Mã sự kiện '{code}' không tồn tại", f"unknown event code '{code}'"
        )
    if status not in rule.sources:
        raise TransitionError(
            code,
            status,
            allowed,
            f"Không thể ghi '{code}' khi hồ sơ ở trạng thái '{status}'; được phép: {', '.join(allowed) or '—'}",
            f"'{code}' is not allowed from status '{status}'; allowed: {', '.join(allowed) or 'none'}",
        )
    if role is not None and role not in rule.roles:
        raise TransitionError(
            code,
            status,
            allowed,
            f"Vai trò '{role.value}' không được ghi '{code}'",
            f"role '{role.value}' may not record '{code}'",
        )
    return rule.to


def portal_status(status: str) -> int:
    return PORTAL_STATUS[Status(status)]


def custodian_after(status: str) -> CustodianKind:
    return CUSTODY[Status(status)]


def receipt_code(status: str, receiver: CustodianKind) -> str | None:
    """The event a receiver's scan records for an item in ``status`` (None: custody moves, status stays)."""
    return ON_RECEIPT.get((Status(status), receiver))


def can_hand_over(status: str, receiver: CustodianKind) -> bool:
    s = Status(status)
    return (s, receiver) in ON_RECEIPT or (s, receiver) in SAME_STATUS_CUSTODY


def departure_code(status: str, receiver: CustodianKind) -> str | None:
    return ON_DEPARTURE.get((Status(status), receiver))


def label(code: str) -> tuple[str, str]:
    return CODE_LABELS.get(code, (code, code))
