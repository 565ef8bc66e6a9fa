"""SMS texts, beside the push templates (``notifications/templates.py``): Vietnamese first, then English, written
without accents where the gateway needs it (``notifications.sms.text.fit``).

One text per notification kind that may go by SMS (``notifications.channels.policy.FALLBACK_KINDS``), with the
same params as the push template (times shown the same way, in Vietnam time). Each fits in two GSM-7 segments
(306 characters) once unaccented with params of realistic length (an S10 item id, a date-time, a 40-character
name or reason); ``tests/notifications/test_channels_texts.py`` counts them. Longer params are cut with an
ellipsis by ``fit`` rather than sent as a third segment.
"""

from collections.abc import Mapping
from typing import Any

from notifications.templates import format_time, get_template

SIGN_IN_CODE = (
    "{code} là mã đăng nhập Hồ sơ qua bưu điện, hiệu lực {minutes} phút. Không đưa mã cho ai. / "
    "{code} is your sign-in code, valid {minutes} min. Do not share it."
)


def sign_in_code(code: str, ttl_s: int) -> str:
    return SIGN_IN_CODE.format(code=code, minutes=max(1, ttl_s // 60))


NOTICES: Mapping[str, str] = {
    "appointment.booked": "Lịch hẹn lúc {start} đã xác nhận. / Appointment at {start} confirmed.",
    "appointment.rescheduled": "Lịch hẹn chuyển sang {start}. / Appointment moved to {start}.",
    "appointment.cancelled": (
        "Lịch hẹn lúc {start} đã bị hủy ({reason}). / Appointment at {start} cancelled ({reason})."
    ),
    "appointment.missed": (
        "Chưa gặp được quý khách lúc {start} ({reason}). Mở ứng dụng để đặt lại. / "
        "We missed you at {start}. Open the app to rebook."
    ),
    "courier.on_the_way": (
        "Bưu tá {courier_name} đang đến, dự kiến {eta}: {track_url} / Courier {courier_name} on the way, ETA {eta}."
    ),
    "dossier.picked_up": "Đã nhận hồ sơ {item_id}. / Dossier {item_id} picked up.",
    "dossier.handed_to_agency": (
        "Hồ sơ {item_id} đã nộp cho {agency}, hẹn trả {result_due}. / "
        "Dossier {item_id} handed in, result due {result_due}."
    ),
    "dossier.supplement_requested": (
        "Hồ sơ {item_id} cần bổ sung: {documents}. / Dossier {item_id} needs: {documents}."
    ),
    "dossier.result_ready": (
        "Đã có kết quả hồ sơ {item_id}. Đặt lịch trả tại nhà trong ứng dụng. / "
        "Result of dossier {item_id} is ready."
    ),
    "dossier.out_for_delivery": (
        "Đang giao kết quả hồ sơ {item_id}, dự kiến {eta}. / Result {item_id} out for delivery, ETA {eta}."
    ),
    "dossier.delivered": "Đã giao kết quả hồ sơ {item_id}. / Result of dossier {item_id} delivered.",
    "dossier.delivery_failed": (
        "Giao kết quả hồ sơ {item_id} không thành công ({reason}). / Delivery of {item_id} failed."
    ),
    "dossier.not_accepted": (
        "Hồ sơ {item_id} không được tiếp nhận: {reason}. Giấy tờ sẽ được trả lại. / "
        "Dossier {item_id} not accepted: {reason}. Papers will be returned."
    ),
    "dossier.withdrawn": (
        "Đã rút hồ sơ {item_id} ({reason}). Giấy tờ sẽ được trả lại. / Dossier {item_id} withdrawn."
    ),
    "dossier.papers_returned": (
        "Giấy tờ hồ sơ {item_id} sẵn sàng trả lại. / Papers of dossier {item_id} ready to return."
    ),
    "dossier.return_offer": (
        "Chọn giờ trả hồ sơ {item_id} tại nhà trong ứng dụng trước {due_at}. / "
        "Choose a delivery time for {item_id} by {due_at}."
    ),
    "dossier.return_auto_booked": (
        "Đã đặt lịch trả hồ sơ {item_id} lúc {start}. / Delivery of {item_id} booked for {start}."
    ),
    "dossier.supplement_collected": (
        "Đã nhận hồ sơ bổ sung {item_id}: {documents}. / Supplement for {item_id} collected."
    ),
}


def shown_params(kind: str, params: Mapping[str, Any]) -> dict[str, str]:
    """The notification's stored params as its push template shows them (times in Vietnam time, lists joined);
    what the SMS text and the ZNS template are filled with."""
    tpl = get_template(kind)
    shown: dict[str, str] = {}
    for name, value in params.items():
        if name in tpl.times and value is not None:
            shown[name] = format_time(value)
        elif name in tpl.lists and isinstance(value, list | tuple):
            shown[name] = "; ".join(str(v) for v in value)
        else:
            shown[name] = "" if value is None else str(value)
    return shown


def notice_text(kind: str, params: Mapping[str, Any]) -> str:
    """The SMS text of a notification (before ``fit``). ``KeyError`` for a kind with no SMS text."""
    return NOTICES[kind].format_map(shown_params(kind, params))
