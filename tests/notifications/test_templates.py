import string
import uuid
from datetime import UTC, date, datetime

import pytest

from notifications.templates import (
    TEMPLATES,
    BadParamError,
    MissingParamsError,
    UnknownTemplateError,
    format_time,
    render,
)

APPT = uuid.UUID("3f2b8c1e-0000-4000-8000-000000000001")
# 01:30 UTC is 08:30 in Asia/Ho_Chi_Minh (UTC+7).
START = datetime(2025, 3, 1, 1, 30, tzinfo=UTC)

SAMPLE = {
    "appointment_id": APPT,
    "start": START,
    "old_start": datetime(2025, 2, 28, 2, 0, tzinfo=UTC),
    "post_office": "Bưu cục Ba Đình",
    "reason": "khách hàng yêu cầu",
    "courier_name": "Nguyễn Văn An",
    "eta": datetime(2025, 3, 1, 2, 15, tzinfo=UTC),
    "item_id": "HS123456785VN",
    "agency": "UBND phường Ba Đình",
    "result_due": datetime(2025, 3, 14, 9, 0, tzinfo=UTC),
    "documents": ["Bản sao CCCD", "Giấy khai sinh"],
    "count": 12,
    "sender": "Bưu cục Hoàn Kiếm",
    "handover_id": uuid.UUID("3f2b8c1e-0000-4000-8000-000000000002"),
    "detail": "thiếu 1 hồ sơ",
    "due_at": datetime(2025, 3, 2, 10, 0, tzinfo=UTC),
    "service_date": date(2025, 3, 3),
    "staff": "courier01",
    "track_url": "https://hoso.example.vn/v/AAAAAAAAAAAAAAAAAAAAAA",
    "receipt_no": "82-BD-01-2026-000123",  # money.receipt (issue 21)
    "amount": "45.000",
    # ratings and complaints (backend/feedback, issue 23)
    "rate_until": datetime(2025, 3, 15, 1, 30, tzinfo=UTC),
    "complaint_id": uuid.UUID("3f2b8c1e-0000-4000-8000-000000000003"),
    "category": "Chậm trễ, sai hẹn",
    "category_en": "Late or missed appointment",
    "org": "Bưu cục Ba Đình",
    "due_on": date(2025, 3, 14),
}

EVENTS = [
    "appointment.booked",
    "appointment.rescheduled",
    "appointment.cancelled",
    "appointment.missed",
    "appointment.reminder_day_before",
    "appointment.reminder_hour_before",
    "courier.on_the_way",
    "dossier.picked_up",
    "dossier.handed_to_agency",
    "dossier.supplement_requested",
    "dossier.result_ready",
    "dossier.out_for_delivery",
    "dossier.delivered",
    "dossier.delivery_failed",
    "desk.incoming_batch",
    "desk.discrepancy",
    "desk.dossier_due_soon",
]


def test_every_event_the_service_raises_has_a_template() -> None:
    assert set(EVENTS) <= set(TEMPLATES)


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_template_renders_in_vietnamese_and_english(key: str) -> None:
    tpl = TEMPLATES[key]
    params = {name: SAMPLE[name] for name in tpl.params}
    out = render(key, params)
    for text in (out.title_vi, out.body_vi, out.title_en, out.body_en):
        assert text.strip()
        assert "{" not in text and "}" not in text
    # Vietnamese and English differ (the Vietnamese is not a copy of the English).
    assert out.body_vi != out.body_en
    # Declared date and list params really are used by the texts.
    assert set(tpl.times) <= tpl.params and set(tpl.lists) <= tpl.params
    for name in tpl.times:
        assert format_time(SAMPLE[name]) in out.body_vi + out.title_vi
    if tpl.link:
        assert out.deep_link and out.deep_link.startswith("/")
    assert out.priority in {"normal", "high"}


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_each_missing_param_is_named(key: str) -> None:
    tpl = TEMPLATES[key]
    for name in sorted(tpl.params):
        params = {n: SAMPLE[n] for n in tpl.params if n != name}
        with pytest.raises(MissingParamsError) as err:
            render(key, params)
        assert err.value.missing == [name]
        assert name in str(err.value) and key in str(err.value)


def test_unknown_template_is_refused() -> None:
    with pytest.raises(UnknownTemplateError, match="appointment.teleported"):
        render("appointment.teleported", {})


def test_times_are_shown_in_vietnam_time() -> None:
    out = render("appointment.booked", {"appointment_id": APPT, "start": START, "post_office": "BC Ba Đình"})
    assert "01/03/2025 08:30" in out.body_vi
    assert "01/03/2025 08:30" in out.body_en
    # The same instant given as its stored ISO string renders identically.
    again = render(
        "appointment.booked",
        {"appointment_id": APPT, "start": START.isoformat(), "post_office": "BC Ba Đình"},
    )
    assert again == out
    # Late evening UTC is already the next day in Vietnam.
    assert format_time(datetime(2025, 12, 31, 18, 5, tzinfo=UTC)) == "01/01/2026 01:05"
    assert format_time("2025-03-03") == "03/03/2025"


def test_bad_date_and_bad_list_are_refused() -> None:
    with pytest.raises(BadParamError, match="start"):
        render("appointment.booked", {"appointment_id": APPT, "start": "next tuesday", "post_office": "X"})
    with pytest.raises(BadParamError, match="documents"):
        render("dossier.supplement_requested", {"item_id": "HS123456785VN", "documents": "CCCD"})
    with pytest.raises(BadParamError, match="documents"):
        render("dossier.supplement_requested", {"item_id": "HS123456785VN", "documents": []})


def test_eta_updates_share_a_collapse_key_and_courier_messages_are_data_only() -> None:
    first = render(
        "courier.on_the_way",
        {"appointment_id": APPT, "eta": START, "courier_name": "An", "track_url": SAMPLE["track_url"]},
    )
    later = render(
        "courier.on_the_way",
        {
            "appointment_id": APPT,
            "eta": SAMPLE["eta"],
            "courier_name": "An",
            "track_url": SAMPLE["track_url"],
        },
    )
    assert first.collapse_key == later.collapse_key == f"eta-{APPT}"
    assert first.body_vi != later.body_vi
    assert first.priority == "high" and not first.data_only
    route = render("courier.route_updated", {"service_date": date(2025, 3, 3)})
    assert route.data_only and route.priority == "high"
    assert "03/03/2025" in route.body_vi


def test_supplement_lists_every_missing_document_and_failed_delivery_links_to_rebooking() -> None:
    out = render(
        "dossier.supplement_requested", {"item_id": "HS123456785VN", "documents": SAMPLE["documents"]}
    )
    assert "Bản sao CCCD" in out.body_vi and "Giấy khai sinh" in out.body_vi
    failed = render("dossier.delivery_failed", {"item_id": "HS123456785VN", "reason": "không có người nhận"})
    assert failed.deep_link == "/appointments/new?kind=delivery&dossier=HS123456785VN"
    assert "không có người nhận" in failed.body_vi


def test_params_are_parsed_from_the_format_strings() -> None:
    # Guards the mechanism the missing-param check relies on.
    tpl = TEMPLATES["dossier.handed_to_agency"]
    fields = {f for fmt in tpl.formats for _, f, _, _ in string.Formatter().parse(fmt) if f}
    assert tpl.params == fields == {"item_id", "agency", "result_due"}
