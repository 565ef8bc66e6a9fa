"""Message templates: one per business event, Vietnamese first, English too.

Templates are rendered when a notification is written (see ``outbox.enqueue``), so the inbox keeps the
text that was true at the time. Times are shown in Vietnam time as ``dd/mm/yyyy HH:MM``.

Deep links are app routes (paths); the apps resolve them, and the web push sender prefixes its HTTPS
base. Collapse keys group messages that replace each other on the device (an ETA update replaces the
previous ETA).
"""

import functools
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from notifications.money_templates import MONEY_TEMPLATES
from notifications.template_model import Audience as Audience
from notifications.template_model import BadParamError as BadParamError
from notifications.template_model import MissingParamsError as MissingParamsError
from notifications.template_model import Rendered as Rendered
from notifications.template_model import Template as Template
from notifications.template_model import TemplateError as TemplateError
from schemas.vntime import to_vn


class UnknownTemplateError(TemplateError):
    def __init__(self, key: str) -> None:
        super().__init__(f"unknown notification template {key!r}; known: {', '.join(sorted(TEMPLATES))}")
        self.key = key


_APPT = "/appointments/{appointment_id}"
_DOSSIER = "/dossiers/{item_id}"
_COMPLAINT = "/complaints/{complaint_id}"

_ALL: tuple[Template, ...] = (
    # --- appointments (citizen) ---------------------------------------------------------------------
    Template(
        key="appointment.booked",
        audience="citizen",
        title_vi="Đặt lịch hẹn thành công",
        body_vi="Lịch hẹn lúc {start} đã được xác nhận. Bưu điện phụ trách: {post_office}.",
        title_en="Appointment booked",
        body_en="Your appointment at {start} is confirmed. Post office: {post_office}.",
        link=_APPT,
        times=("start",),
    ),
    Template(
        key="appointment.rescheduled",
        audience="citizen",
        title_vi="Lịch hẹn đã được đổi",
        body_vi="Lịch hẹn của bạn đã chuyển từ {old_start} sang {start}.",
        title_en="Appointment rescheduled",
        body_en="Your appointment moved from {old_start} to {start}.",
        link=_APPT,
        times=("start", "old_start"),
    ),
    Template(
        key="appointment.cancelled",
        audience="citizen",
        title_vi="Lịch hẹn đã bị hủy",
        body_vi="Lịch hẹn lúc {start} đã bị hủy. Lý do: {reason}.",
        title_en="Appointment cancelled",
        body_en="Your appointment at {start} was cancelled. Reason: {reason}.",
        link=_APPT,
        times=("start",),
    ),
    Template(
        key="appointment.missed",
        audience="citizen",
        title_vi="Bưu điện chưa gặp được quý khách",
        body_vi="Lịch hẹn lúc {start} chưa thực hiện được. Lý do: {reason}. Chạm để đặt lại lịch.",
        title_en="We missed you",
        body_en="Your appointment at {start} could not take place. Reason: {reason}. Tap to book again.",
        link=_APPT,
        times=("start",),
    ),
    Template(
        key="appointment.reminder_day_before",
        audience="citizen",
        title_vi="Nhắc lịch hẹn ngày mai",
        body_vi="Nhân viên bưu điện sẽ đến lúc {start}. Vui lòng chuẩn bị sẵn hồ sơ và giấy tờ tùy thân.",
        title_en="Reminder: appointment tomorrow",
        body_en="The postal worker will come at {start}. Please have your documents and ID ready.",
        link=_APPT,
        times=("start",),
    ),
    Template(
        key="appointment.reminder_hour_before",
        audience="citizen",
        title_vi="Nhắc lịch hẹn sau một giờ",
        body_vi="Nhân viên bưu điện sẽ đến trong khoảng một giờ nữa (lịch hẹn lúc {start}).",
        title_en="Reminder: appointment in one hour",
        body_en="The postal worker will arrive in about an hour (appointment at {start}).",
        link=_APPT,
        times=("start",),
    ),
    Template(
        key="courier.on_the_way",
        audience="citizen",
        title_vi="Bưu tá đang đến",
        body_vi="Bưu tá {courier_name} đang trên đường đến, dự kiến lúc {eta}. Theo dõi: {track_url}",
        title_en="Your courier is on the way",
        body_en="Courier {courier_name} is on the way, expected at {eta}. Follow: {track_url}",
        link=_APPT,
        # A newer ETA replaces the older one on the device.
        collapse="eta-{appointment_id}",
        priority="high",
        times=("eta",),
    ),
    # --- dossiers (citizen) -------------------------------------------------------------------------
    Template(
        key="dossier.picked_up",
        audience="citizen",
        title_vi="Bưu điện đã nhận hồ sơ {item_id}",
        body_vi="Hồ sơ {item_id} đã được nhận tại địa chỉ của bạn và đang được chuyển đến Bộ phận Một cửa.",
        title_en="Dossier {item_id} picked up",
        body_en="Dossier {item_id} was collected from your address and is on its way to the one-stop desk.",
        link=_DOSSIER,
    ),
    Template(
        # The desk's receipt gives the date the result is due (giấy tiếp nhận hồ sơ và hẹn trả kết quả,
        # Decree 118/2025/NĐ-CP); the citizen is told that date here.
        key="dossier.handed_to_agency",
        audience="citizen",
        title_vi="Hồ sơ {item_id} đã được tiếp nhận",
        body_vi="Hồ sơ {item_id} đã được bàn giao cho {agency}. Ngày hẹn trả kết quả: {result_due}.",
        title_en="Dossier {item_id} accepted",
        body_en="Dossier {item_id} was handed to {agency}. Result due on {result_due}.",
        link=_DOSSIER,
        times=("result_due",),
    ),
    Template(
        # Decree 118/2025/NĐ-CP: a dossier needing supplements is returned with one notice listing
        # everything missing, so the list is sent whole.
        key="dossier.supplement_requested",
        audience="citizen",
        title_vi="Hồ sơ {item_id} cần bổ sung",
        body_vi="Vui lòng bổ sung: {documents}. Chạm để đặt lịch bưu điện đến nhận giấy tờ bổ sung.",
        title_en="Dossier {item_id} needs more documents",
        body_en="Please provide: {documents}. Tap to book a pickup of the extra documents.",
        link=_DOSSIER,
        priority="high",
        lists=("documents",),
    ),
    Template(
        key="dossier.result_ready",
        audience="citizen",
        title_vi="Đã có kết quả hồ sơ {item_id}",
        body_vi="Kết quả giải quyết hồ sơ {item_id} đã sẵn sàng. Chạm để đặt lịch trả kết quả tại nhà.",
        title_en="Result ready for dossier {item_id}",
        body_en="The result for dossier {item_id} is ready. Tap to book home delivery.",
        link=_DOSSIER,
    ),
    Template(
        key="dossier.out_for_delivery",
        audience="citizen",
        title_vi="Đang giao kết quả hồ sơ {item_id}",
        body_vi="Bưu tá đang giao kết quả hồ sơ {item_id}, dự kiến đến lúc {eta}.",
        title_en="Result of dossier {item_id} out for delivery",
        body_en="The courier is delivering the result of dossier {item_id}, expected at {eta}.",
        link=_DOSSIER,
        collapse="eta-{item_id}",
        priority="high",
        times=("eta",),
    ),
    Template(
        key="dossier.delivered",
        audience="citizen",
        title_vi="Đã giao kết quả hồ sơ {item_id}",
        body_vi="Kết quả hồ sơ {item_id} đã được giao thành công. Cảm ơn bạn đã sử dụng dịch vụ bưu chính công ích.",
        title_en="Result of dossier {item_id} delivered",
        body_en="The result of dossier {item_id} was delivered. Thank you for using the public postal service.",
        link=_DOSSIER,
        collapse="eta-{item_id}",
    ),
    Template(
        key="dossier.delivery_failed",
        audience="citizen",
        title_vi="Giao kết quả hồ sơ {item_id} không thành công",
        body_vi="Lý do: {reason}. Chạm để đặt lại lịch giao.",
        title_en="Delivery of dossier {item_id} failed",
        body_en="Reason: {reason}. Tap to book a new delivery time.",
        # Straight to rebooking a delivery of this dossier.
        link="/appointments/new?kind=delivery&dossier={item_id}",
        collapse="eta-{item_id}",
        priority="high",
    ),
    # --- issue 20: refusals, withdrawals, returns, supplements (citizen) ------------------------------
    Template(
        # Decree 118/2025/NĐ-CP: a dossier the desk does not accept is returned with the reason in writing.
        key="dossier.not_accepted",
        audience="citizen",
        title_vi="Hồ sơ {item_id} không được tiếp nhận",
        body_vi="Lý do: {reason}. Giấy tờ gốc sẽ được trả lại cho bạn.",
        title_en="Dossier {item_id} not accepted",
        body_en="Reason: {reason}. Your original papers will be returned.",
        link=_DOSSIER,
        priority="high",
    ),
    Template(
        key="dossier.withdrawn",
        audience="citizen",
        title_vi="Đã rút hồ sơ {item_id}",
        body_vi="Hồ sơ {item_id} đã được rút ({reason}). Giấy tờ gốc sẽ được trả lại cho bạn.",
        title_en="Dossier {item_id} withdrawn",
        body_en="Dossier {item_id} was withdrawn ({reason}). Your original papers will be returned.",
        link=_DOSSIER,
    ),
    Template(
        key="dossier.papers_returned",
        audience="citizen",
        title_vi="Giấy tờ hồ sơ {item_id} sẵn sàng trả lại",
        body_vi="Giấy tờ gốc của hồ sơ {item_id} đã ở Bộ phận Một cửa, sẵn sàng trả lại tại nhà hoặc tại quầy.",
        title_en="Papers of dossier {item_id} ready to return",
        body_en="The original papers of dossier {item_id} are at the desk, ready to come back home or at the counter.",
        link=_DOSSIER,
    ),
    Template(
        # Issue 20: return booked at receipt; with no choice by {due_at} the earliest free window is booked.
        key="dossier.return_offer",
        audience="citizen",
        title_vi="Chọn giờ trả hồ sơ {item_id} tại nhà",
        body_vi="Chạm để chọn khung giờ bưu điện mang đến nhà. Nếu chưa chọn trước {due_at}, "
        "bưu điện sẽ đặt khung giờ sớm nhất.",
        title_en="Choose when dossier {item_id} comes home",
        body_en="Tap to choose a delivery window. Without a choice by {due_at}, the earliest window is booked.",
        link="/dossiers/{item_id}/return-offer",
        collapse="return-{item_id}",
        priority="high",
        times=("due_at",),
    ),
    Template(
        key="dossier.return_auto_booked",
        audience="citizen",
        title_vi="Đã đặt lịch trả hồ sơ {item_id}",
        body_vi="Bưu điện đã đặt lịch mang kết quả đến nhà lúc {start}. Chạm để đổi giờ.",
        title_en="Delivery of dossier {item_id} booked",
        body_en="The post office booked the delivery for {start}. Tap to change it.",
        link="/dossiers/{item_id}/return-offer",
        collapse="return-{item_id}",
        times=("start",),
    ),
    Template(
        key="dossier.return_address_needed",
        audience="citizen",
        title_vi="Cần địa chỉ để trả hồ sơ {item_id}",
        body_vi="Bưu điện chưa có địa chỉ để mang kết quả đến nhà. Chạm để cho biết địa chỉ và chọn giờ.",
        title_en="An address is needed for dossier {item_id}",
        body_en="The post office has no address to bring the result to. Tap to give one and choose a time.",
        link="/dossiers/{item_id}/return-offer",
        collapse="return-{item_id}",
        priority="high",
    ),
    Template(
        key="dossier.supplement_collected",
        audience="citizen",
        title_vi="Bưu điện đã nhận hồ sơ bổ sung {item_id}",
        body_vi="Đã nhận: {documents}. Thời hạn giải quyết tính tiếp từ khi Bộ phận Một cửa nhận.",
        title_en="Supplement for dossier {item_id} collected",
        body_en="Collected: {documents}. The deadline runs again once the desk receives it.",
        link=_DOSSIER,
        lists=("documents",),
    ),
    # --- one-stop desks (staff) ---------------------------------------------------------------------
    Template(
        key="desk.incoming_batch",
        audience="staff",
        title_vi="Lô hồ sơ sắp đến",
        body_vi="{count} hồ sơ từ {sender} đang được chuyển đến, dự kiến lúc {eta}.",
        title_en="Incoming batch",
        body_en="{count} dossiers from {sender} are on their way, expected at {eta}.",
        link="/handovers/{handover_id}",
        times=("eta",),
    ),
    Template(
        key="desk.discrepancy",
        audience="staff",
        title_vi="Sai lệch khi bàn giao",
        body_vi="Lô bàn giao từ {sender}: {detail}.",
        title_en="Handover discrepancy",
        body_en="Handover from {sender}: {detail}.",
        link="/handovers/{handover_id}",
        priority="high",
    ),
    Template(
        key="desk.dossier_due_soon",
        audience="staff",
        title_vi="Hồ sơ {item_id} sắp quá hạn",
        body_vi="Hồ sơ {item_id} phải trả kết quả trước {due_at}.",
        title_en="Dossier {item_id} is about to be overdue",
        body_en="Dossier {item_id} must be resolved by {due_at}.",
        link=_DOSSIER,
        collapse="due-{item_id}",
        priority="high",
        times=("due_at",),
    ),
    # --- money (citizen; issue 21) ------------------------------------------------------------------
    Template(
        key="money.receipt",
        audience="citizen",
        title_vi="Biên lai thu tiền {receipt_no}",
        body_vi="Bưu điện đã thu {amount} đồng. Số biên lai: {receipt_no}.",
        title_en="Receipt {receipt_no}",
        body_en="The post office received {amount} VND. Receipt number: {receipt_no}.",
        link="/receipts/{receipt_no}",
    ),
    # --- satisfaction and complaints (citizen; backend/feedback, issue 23) ------------------------------
    Template(
        key="feedback.rate_visit",
        audience="citizen",
        title_vi="Mời quý khách đánh giá lượt phục vụ",
        body_vi="Lượt phục vụ lúc {start} đã hoàn thành. Quý khách vui lòng đánh giá trước {rate_until}.",
        title_en="Please rate your visit",
        body_en="Your visit at {start} is done. Please rate it by {rate_until}.",
        link=_APPT + "/rating",
        times=("start", "rate_until"),
    ),
    Template(
        key="feedback.complaint_received",
        audience="citizen",
        title_vi="Đã tiếp nhận phản ánh, kiến nghị",
        body_vi="Phản ánh của quý khách ({category}) đã được tiếp nhận và sẽ được chuyển đến đơn vị có thẩm quyền.",
        title_en="Your complaint was received",
        body_en="Your complaint ({category_en}) was received and will be passed to the organisation responsible.",
        link=_COMPLAINT,
    ),
    Template(
        key="feedback.complaint_assigned",
        audience="citizen",
        title_vi="Phản ánh đã được chuyển xử lý",
        body_vi="{org} xử lý phản ánh của quý khách, hạn trả lời {due_on}.",
        title_en="Your complaint is being handled",
        body_en="{org} is handling your complaint; answer due by {due_on}.",
        link=_COMPLAINT,
        times=("due_on",),
    ),
    Template(
        key="feedback.complaint_answered",
        audience="citizen",
        title_vi="Phản ánh đã được trả lời",
        body_vi="{org} đã trả lời phản ánh của quý khách. Mở ứng dụng để xem và đóng hoặc mở lại.",
        title_en="Your complaint was answered",
        body_en="{org} answered your complaint. Open the app to read it, then close or reopen it.",
        link=_COMPLAINT,
        priority="high",
    ),
    Template(
        key="feedback.complaint_closed",
        audience="citizen",
        title_vi="Phản ánh đã đóng",
        body_vi="Phản ánh của quý khách đã được đóng.",
        title_en="Complaint closed",
        body_en="Your complaint was closed.",
        link=_COMPLAINT,
    ),
    Template(
        key="feedback.complaint_reopened",
        audience="citizen",
        title_vi="Phản ánh đã được mở lại",
        body_vi="Phản ánh của quý khách được xử lý lại, hạn trả lời {due_on}.",
        title_en="Complaint reopened",
        body_en="Your complaint is being handled again; answer due by {due_on}.",
        link=_COMPLAINT,
        times=("due_on",),
    ),
    Template(
        key="staff.complaint_assigned",
        audience="staff",
        title_vi="Phản ánh mới cần xử lý",
        body_vi="Đơn vị được giao xử lý một phản ánh ({category}), hạn trả lời {due_on}.",
        title_en="A complaint to handle",
        body_en="Your organisation was assigned a complaint ({category_en}); answer due by {due_on}.",
        link=_COMPLAINT,
        times=("due_on",),
    ),
    # --- couriers (staff, data-only: the courier app syncs and shows its own UI) -----------------------
    Template(
        key="courier.route_updated",
        audience="staff",
        title_vi="Lộ trình đã thay đổi",
        body_vi="Lộ trình ngày {service_date} đã được cập nhật.",
        title_en="Route updated",
        body_en="Your route for {service_date} was updated.",
        link="/route",
        # Only the latest route change matters to the courier app, whatever the day.
        collapse="route",
        priority="high",
        data_only=True,
        times=("service_date",),
    ),
    # --- guessed codes (staff of the guesser's office; backend/custody/codeguard.py) -----------------------
    Template(
        key="security.citizen_code_locked",
        audience="staff",
        title_vi="Cảnh báo: mã bàn giao bị khóa",
        body_vi="Mã bàn giao của một công dân đã bị khóa đến hết ngày sau {count} lần nhập sai (lần cuối: {staff}).",
        title_en="Alert: a handover code was locked",
        body_en="A citizen's handover code is locked for the day after {count} wrong answers (last by {staff}).",
        priority="high",
    ),
    Template(
        key="security.staff_stopped",
        audience="staff",
        title_vi="Cảnh báo: nhập sai mã nhiều lần",
        body_vi="{staff} đã nhập sai mã của công dân {count} lần trong một giờ và tạm thời không thể xác nhận mã.",
        title_en="Alert: too many wrong codes",
        body_en="{staff} gave {count} wrong citizen codes within an hour and is stopped from checking codes.",
        priority="high",
    ),
    Template(
        key="courier.stop_cancelled",
        audience="staff",
        title_vi="Điểm dừng đã bị hủy",
        body_vi="Lịch hẹn lúc {start} đã bị hủy, vui lòng bỏ qua điểm dừng này.",
        title_en="Stop cancelled",
        body_en="The appointment at {start} was cancelled; skip this stop.",
        link=_APPT,
        priority="high",
        data_only=True,
        times=("start",),
    ),
)

TEMPLATES: Mapping[str, Template] = {t.key: t for t in (*_ALL, *MONEY_TEMPLATES)}


def get_template(key: str) -> Template:
    try:
        return TEMPLATES[key]
    except KeyError:
        raise UnknownTemplateError(key) from None


def format_time(value: Any) -> str:
    """``dd/mm/yyyy HH:MM`` in Vietnam time for an instant, ``dd/mm/yyyy`` for a calendar date.

    Accepts ``datetime``/``date`` objects and their ISO strings (the form params take in the JSON column).
    """
    if isinstance(value, str):
        return _format_iso(value)
    if isinstance(value, datetime):
        return to_vn(value).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    raise ValueError(f"not a date or date-time: {value!r}")


@functools.lru_cache(maxsize=4096)  # a booking's notifications all show its window's start
def _format_iso(value: str) -> str:
    try:
        parsed = (
            datetime.fromisoformat(value) if ("T" in value or " " in value) else date.fromisoformat(value)
        )
    except ValueError as exc:
        raise ValueError(f"not an ISO date or date-time: {value!r}") from exc
    return format_time(parsed)


def _display(tpl: Template, params: Mapping[str, Any]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for name in tpl.params:
        value = params[name]
        if name in tpl.times:
            try:
                shown[name] = format_time(value)
            except ValueError as exc:
                raise BadParamError(tpl.key, name, str(exc)) from None
        elif name in tpl.lists:
            if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
                raise BadParamError(tpl.key, name, "must be a non-empty list")
            shown[name] = "; ".join(str(v) for v in value)
        else:
            shown[name] = str(value)
    return shown


def render(template_key: str, params: Mapping[str, Any]) -> Rendered:
    """Render one template. Raises ``UnknownTemplateError``, ``MissingParamsError`` or ``BadParamError``."""
    tpl = get_template(template_key)
    missing = sorted(name for name in tpl.params if params.get(name) is None)
    if missing:
        raise MissingParamsError(template_key, missing)
    shown = _display(tpl, params)
    return Rendered(
        title_vi=tpl.title_vi.format_map(shown),
        body_vi=tpl.body_vi.format_map(shown),
        title_en=tpl.title_en.format_map(shown),
        body_en=tpl.body_en.format_map(shown),
        deep_link=tpl.link.format_map(shown) if tpl.link else None,
        collapse_key=tpl.collapse.format_map(shown) if tpl.collapse else None,
        data_only=tpl.data_only,
        priority=tpl.priority,
    )
