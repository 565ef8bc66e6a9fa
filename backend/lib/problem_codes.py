"""Every stable ``code`` a problem answer carries (issue 19), with the status it comes with and what it means.

Apps branch on ``code``, never on ``detail`` (for people, and worded freely). A code is never renamed or
reused for another meaning; a new one is added here first, its text in backend/lib/problem_texts.py:
tests/unit/test_problem_codes.py reads every ``Problem(..., code=...)`` in the source and fails on a code
missing here, and checks that docs/problems.md, written from this table by ``python -m
backend.lib.problem_codes``, is current. ``GET /problems/{code}`` (backend/lib/problem_pages.py) serves the
same text: it is where each problem's ``type`` URI points.
"""

import sys
from enum import StrEnum
from pathlib import Path

from backend.lib.problem_texts import TEXTS


class ProblemCode(StrEnum):
    """A problem's stable machine-readable code; ``status`` is the HTTP status it comes with, ``text`` says
    what it means and what to do, Vietnamese first then English."""

    status: int
    text: str

    def __new__(cls, value: str, status: int = 400) -> "ProblemCode":
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        member.text = TEXTS[value]
        return member

    # Any request (backend/lib/problems.py and the request guards in backend/lib).
    validation = "validation", 400
    bad_request = "bad_request", 400
    nul_character = "nul_character", 400
    json_too_deep = "json_too_deep", 400
    unstorable_value = "unstorable_value", 400
    not_authenticated = "not_authenticated", 401
    invalid_token = "invalid_token", 401
    account_changed = "account_changed", 401
    forbidden = "forbidden", 403
    forbidden_role = "forbidden_role", 403
    not_found = "not_found", 404
    method_not_allowed = "method_not_allowed", 405
    request_timeout = "request_timeout", 408
    conflict = "conflict", 409
    too_large = "too_large", 413
    unsupported_media_type = "unsupported_media_type", 415
    naive_time = "naive_time", 422
    date_out_of_range = "date_out_of_range", 422
    rate_limited = "rate_limited", 429
    internal = "internal", 500
    database_unavailable = "database_unavailable", 503
    service_unavailable = "service_unavailable", 503
    http_error = "http_error", 400

    # Sign-in and accounts (backend/accounts).
    bad_credentials = "bad_credentials", 401
    unknown_account = "unknown_account", 401
    otp_invalid = "otp_invalid", 401
    otp_expired = "otp_expired", 401
    otp_rate_limited = "otp_rate_limited", 429
    invalid_phone = "invalid_phone", 422
    phone_not_mobile = "phone_not_mobile", 422
    sms_unavailable = "sms_unavailable", 503
    firebase_invalid = "firebase_invalid", 401
    firebase_not_configured = "firebase_not_configured", 503
    firebase_unavailable = "firebase_unavailable", 503
    no_phone = "no_phone", 422
    invalid_ticket = "invalid_ticket", 401
    token_in_url = "token_in_url", 400
    username_taken = "username_taken", 409
    unknown_org = "unknown_org", 422
    invalid_role = "invalid_role", 422
    org_required = "org_required", 422
    role_org_mismatch = "role_org_mismatch", 422
    self_disable = "self_disable", 422
    organisation_inactive = "organisation_inactive", 403
    self_role = "self_role", 422
    invalid_shifts = "invalid_shifts", 422
    invalid_skills = "invalid_skills", 422
    device_token_in_use = "device_token_in_use", 409
    invalid_device = "invalid_device", 422
    invalid_ids = "invalid_ids", 422
    # Identity: national ids, authorised persons (backend/accounts/identity.py, authorisations.py).
    invalid_national_id = "invalid_national_id", 422
    national_id_missing = "national_id_missing", 422
    national_id_mismatch = "national_id_mismatch", 422
    invalid_validity = "invalid_validity", 422
    authorisation_revoked = "authorisation_revoked", 409

    # Appointments (backend/booking): where, when, what.
    no_place = "no_place", 422
    invalid_coordinates = "invalid_coordinates", 422
    address_not_found = "address_not_found", 422
    outside_service_area = "outside_service_area", 422
    commune_not_served = "commune_not_served", 422
    invalid_kind = "invalid_kind", 422
    invalid_range = "invalid_range", 422
    invalid_channel = "invalid_channel", 422
    unknown_procedure = "unknown_procedure", 422
    procedure_not_postal = "procedure_not_postal", 422
    procedure_required = "procedure_required", 422
    dossier_required = "dossier_required", 422
    dossier_not_postal_return = "dossier_not_postal_return", 422
    citizen_required = "citizen_required", 422
    not_allowed = "not_allowed", 422
    not_rebookable = "not_rebookable", 422
    window_in_past = "window_in_past", 422
    beyond_horizon = "beyond_horizon", 422
    not_working_day = "not_working_day", 422
    not_a_window = "not_a_window", 422
    too_short_notice = "too_short_notice", 422
    window_full = "window_full", 409
    window_not_started = "window_not_started", 422
    cutoff_passed = "cutoff_passed", 422
    same_window = "same_window", 422
    not_booked = "not_booked", 409
    appointment_changed = "appointment_changed", 409
    unknown_reason_code = "unknown_reason_code", 422
    bad_key = "bad_key", 400
    idempotency_key_reused = "idempotency_key_reused", 422

    # Closing loops (issue 20): supplements on their dossier, returns of results and papers.
    not_awaiting_supplement = "not_awaiting_supplement", 409
    return_choice_closed = "return_choice_closed", 409
    return_already_booked = "return_already_booked", 409
    address_required = "address_required", 422

    # Dossiers and custody (backend/custody).
    no_desk = "no_desk", 422
    desk_required = "desk_required", 422
    agency_required = "agency_required", 422
    unknown_document = "unknown_document", 422
    incomplete_dossier = "incomplete_dossier", 422
    postal_not_allowed = "postal_not_allowed", 422
    postal_return_not_allowed = "postal_return_not_allowed", 422
    forbidden_channel = "forbidden_channel", 403
    invalid_item_id = "invalid_item_id", 422
    item_id_used = "item_id_used", 409
    item_id_quota = "item_id_quota", 409
    item_id_expired = "item_id_expired", 409
    item_id_not_reserved = "item_id_not_reserved", 409
    serials_exhausted = "serials_exhausted", 503
    storage_full = "storage_full", 503
    invalid_transition = "invalid_transition", 409
    out_of_order = "out_of_order", 409
    not_custodian_then = "not_custodian_then", 403
    future_time = "future_time", 422
    stale_time = "stale_time", 422
    reason_required = "reason_required", 422
    missing_required = "missing_required", 422
    outcome_required = "outcome_required", 422
    recipient_required = "recipient_required", 422
    recipient_check_failed = "recipient_check_failed", 422
    confirmation_required = "confirmation_required", 422
    wrong_code = "wrong_code", 422
    too_many_wrong_codes = "too_many_wrong_codes", 429
    handover_code_locked = "handover_code_locked", 429
    proof_required = "proof_required", 422
    proof_not_yours = "proof_not_yours", 422
    proof_already_used = "proof_already_used", 422
    proof_file_gone = "proof_file_gone", 410
    file_required = "file_required", 422
    empty_file = "empty_file", 422
    bad_type = "bad_type", 415
    no_org = "no_org", 403
    unknown_receiver = "unknown_receiver", 422
    same_holder = "same_holder", 422
    handover_rejected = "handover_rejected", 409
    not_receiver = "not_receiver", 403
    already_confirmed = "already_confirmed", 409
    already_received = "already_received", 409  # the agency console's receipt by scan (issue 23)

    # Route plans and couriers (backend/planning, backend/console).
    date_in_past = "date_in_past", 422
    date_too_far = "date_too_far", 422
    plan_in_progress = "plan_in_progress", 409
    too_many_plans_in_progress = "too_many_plans_in_progress", 429
    plan_not_solved = "plan_not_solved", 409
    plan_not_publishable = "plan_not_publishable", 409
    plan_published_meanwhile = "plan_published_meanwhile", 409
    plan_changed = "plan_changed", 409
    stop_state = "stop_state", 409
    bad_time = "bad_time", 422
    office_required = "office_required", 422
    # Dispatcher control of stops (backend/planning/services/stop_moves.py, issue 20).
    plan_not_editable = "plan_not_editable", 409
    route_changed = "route_changed", 409
    stop_move_infeasible = "stop_move_infeasible", 409
    bad_position = "bad_position", 422
    courier_not_available = "courier_not_available", 422

    # Reports and imports (backend/reporting).
    bad_period = "bad_period", 422
    bad_org = "bad_org", 422
    province_required = "province_required", 422  # issue 23: province reports
    import_rejected = "import_rejected", 422
    ids_exhausted = "ids_exhausted", 409
    # Partner webhooks (backend/partners).
    webhook_url_refused = "webhook_url_refused", 422
    # SMS providers' delivery reports (backend/notices/sms_reports.py).
    sms_report_refused = "sms_report_refused", 403
    # Zalo ZNS webhook events (backend/notices/zns_reports.py).
    zns_event_refused = "zns_event_refused", 403
    zns_event_invalid = "zns_event_invalid", 400
    # Live tracking links (backend/planning/tracking_link.py).
    tracking_link_not_found = "tracking_link_not_found", 404
    tracking_link_ended = "tracking_link_ended", 410
    # Money: the ledger, collection at the door, cash-ups, remittances (backend/money).
    ledger_key_reused = "ledger_key_reused", 409
    ledger_unbalanced = "ledger_unbalanced", 422
    ledger_bad_account = "ledger_bad_account", 422
    amount_out_of_range = "amount_out_of_range", 422
    more_than_due = "more_than_due", 422
    bad_method = "bad_method", 422
    not_on_route = "not_on_route", 403
    appointment_cancelled = "appointment_cancelled", 409
    cashup_exists = "cashup_exists", 409
    cashup_mismatch = "cashup_mismatch", 422
    day_not_closable = "day_not_closable", 409
    day_closed = "day_closed", 409
    more_than_refund_pending = "more_than_refund_pending", 422
    already_remitted = "already_remitted", 409
    nothing_to_remit = "nothing_to_remit", 422
    # Online payments and prices people set (backend/money/online, backend/catalogue/tariff_*).
    nothing_due = "nothing_due", 409
    payments_unconfigured = "payments_unconfigured", 503
    payment_bad_signature = "payment_bad_signature", 400
    price_version_overlap = "price_version_overlap", 409
    price_version_in_past = "price_version_in_past", 422
    # Satisfaction ratings and complaints (backend/feedback, issue 23).
    visit_not_completed = "visit_not_completed", 409
    rating_exists = "rating_exists", 409
    rating_missing = "rating_missing", 409
    rating_window_closed = "rating_window_closed", 409
    rating_edit_closed = "rating_edit_closed", 409
    complaint_state = "complaint_state", 409
    complaint_reopened_once = "complaint_reopened_once", 409
    complaint_subject_missing = "complaint_subject_missing", 422
    # A catalogue people edit (backend/catalogue/editing*.py, importer*.py; issue 23).
    catalogue_version_in_past = "catalogue_version_in_past", 422
    catalogue_version_overlap = "catalogue_version_overlap", 409
    procedure_exists = "procedure_exists", 409
    organisation_exists = "organisation_exists", 409
    unknown_province = "unknown_province", 422
    unknown_commune = "unknown_commune", 422


STATUS_CODES: dict[int, ProblemCode] = {
    400: ProblemCode.bad_request,
    401: ProblemCode.not_authenticated,
    403: ProblemCode.forbidden,
    404: ProblemCode.not_found,
    405: ProblemCode.method_not_allowed,
    408: ProblemCode.request_timeout,
    409: ProblemCode.conflict,
    413: ProblemCode.too_large,
    415: ProblemCode.unsupported_media_type,
    429: ProblemCode.rate_limited,
    500: ProblemCode.internal,
    503: ProblemCode.service_unavailable,
}


def for_status(status: int) -> ProblemCode:
    """The code of an error raised without one (Litestar's own: an unknown route, a wrong method...)."""
    return STATUS_CODES.get(status, ProblemCode.http_error)


def markdown() -> str:
    """docs/problems.md: the table apps read."""
    lines = [
        "# Mã lỗi / Problem codes",
        "",
        "<!-- Written by `python -m backend.lib.problem_codes` from backend/lib/problem_codes.py (codes, "
        "statuses) and problem_texts.py (texts): edit those. -->",
        "",
        "Every error answer is an RFC 9457 problem (`application/problem+json`) with a stable `code`;",
        "apps branch on `code`, never on `detail`. Its `type` is `<base URL>/problems/<code>`, a page of",
        "the service that explains it. Codes are never renamed or reused.",
        "",
        "| code | status | ý nghĩa / meaning |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{c.value}` | {c.status} | {c.text.replace('|', '/')} |" for c in ProblemCode]
    return "\n".join(lines) + "\n"


DOC = Path(__file__).resolve().parents[2] / "docs" / "problems.md"

if __name__ == "__main__":
    DOC.write_text(markdown(), encoding="utf-8")
    sys.stdout.write(f"{DOC}: {len(ProblemCode)} codes\n")
