"""Every stable ``code`` a problem answer carries (issue 19), with the status it comes with and what it means.

Apps branch on ``code``, never on ``detail`` (for people, and worded freely). A code is never renamed or
reused for another meaning; a new one is added here first: tests/unit/test_problem_codes.py reads every
``Problem(..., code=...)`` in the source and fails on a code missing here, and checks that docs/problems.md,
written from this table by ``python -m backend.lib.problem_codes``, is current. ``GET /problems/{code}``
(backend/lib/problem_pages.py) serves the same text: it is where each problem's ``type`` URI points.
"""

import sys
from enum import StrEnum
from pathlib import Path


class ProblemCode(StrEnum):
    """A problem's stable machine-readable code; ``status`` is the HTTP status it comes with, ``text`` says
    what it means and what to do, Vietnamese first then English."""

    status: int
    text: str

    def __new__(cls, value: str, status: int = 400, text: str = "") -> "ProblemCode":
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        member.text = text
        return member

    # Any request (backend/lib/problems.py and the request guards in backend/lib).
    validation = (
        "validation",
        400,
        "Yêu cầu sai định dạng: thiếu trường, sai kiểu hoặc ngoài giới hạn; xem `errors` / "
        "The request is malformed: a field is missing, of the wrong type or out of bounds; see `errors`",
    )
    bad_request = "bad_request", 400, "Yêu cầu không đọc được / The request cannot be read"
    nul_character = (
        "nul_character",
        400,
        "Ký tự NUL (\\u0000) không được phép trong đường dẫn, tham số hay nội dung / "
        "A NUL character is not allowed in the path, the query or the body",
    )
    json_too_deep = (
        "json_too_deep",
        400,
        "Nội dung JSON lồng quá nhiều cấp / The JSON body nests too deeply",
    )
    unstorable_value = (
        "unstorable_value",
        400,
        "Một giá trị không lưu được (quá dài, ngoài phạm vi) / "
        "A value cannot be stored (too long, out of range)",
    )
    not_authenticated = (
        "not_authenticated",
        401,
        "Cần đăng nhập: gửi `Authorization: Bearer <token>` / Sign-in required: send `Authorization: Bearer`",
    )
    invalid_token = (
        "invalid_token",
        401,
        "Mã đăng nhập sai hoặc đã hết hạn; hãy đăng nhập lại / "
        "The token is invalid or expired; sign in again",
    )
    account_changed = (
        "account_changed",
        401,
        "Phiên đã bị thu hồi hoặc tài khoản đã bị khóa hay thay đổi; hãy đăng nhập lại / "
        "The session was revoked or the account disabled or changed; sign in again",
    )
    forbidden = (
        "forbidden",
        403,
        "Vai trò hoặc phạm vi của bạn không cho phép thao tác này / Your role or scope does not allow this",
    )
    forbidden_role = (
        "forbidden_role",
        403,
        "Vai trò của bạn không được dùng thao tác này / Your role may not use this operation",
    )
    not_found = (
        "not_found",
        404,
        "Không tìm thấy, hoặc bạn không được xem / Not found, or not visible to you",
    )
    method_not_allowed = (
        "method_not_allowed",
        405,
        "Phương thức HTTP không được hỗ trợ ở địa chỉ này / The HTTP method is not supported here",
    )
    request_timeout = (
        "request_timeout",
        408,
        "Nội dung yêu cầu đến quá chậm / The request body arrived too slowly",
    )
    conflict = (
        "conflict",
        409,
        "Xung đột với dữ liệu đã có (ví dụ một yêu cầu song song); hãy tải lại / "
        "Conflicts with existing data (a request at the same time, say); reload and retry",
    )
    too_large = "too_large", 413, "Nội dung hoặc tệp quá lớn / The body or the file is too large"
    unsupported_media_type = (
        "unsupported_media_type",
        415,
        "Định dạng nội dung không được hỗ trợ / The body's media type is not supported",
    )
    naive_time = (
        "naive_time",
        422,
        "Thời điểm phải có múi giờ, ví dụ 2026-12-07T09:00:00+07:00 / "
        "A time must carry its UTC offset, e.g. 2026-12-07T09:00:00+07:00",
    )
    date_out_of_range = (
        "date_out_of_range",
        422,
        "Ngày nằm ngoài phạm vi hệ thống nhận / The date is outside the range the service accepts",
    )
    rate_limited = (
        "rate_limited",
        429,
        "Quá nhiều lần thử; chờ số giây trong `Retry-After` / Too many attempts; wait `Retry-After` seconds",
    )
    internal = (
        "internal",
        500,
        "Lỗi hệ thống; hãy thử lại, nếu còn lỗi hãy báo cho bưu điện / Internal error; retry, then report it",
    )
    database_unavailable = (
        "database_unavailable",
        503,
        "Mất kết nối cơ sở dữ liệu; thử lại sau `Retry-After` / "
        "Database connection lost; retry after `Retry-After`",
    )
    service_unavailable = (
        "service_unavailable",
        503,
        "Dịch vụ tạm thời không sẵn sàng / The service is temporarily unavailable",
    )
    http_error = "http_error", 400, "Lỗi HTTP khác, xem `status` / Another HTTP error, see `status`"

    # Sign-in and accounts (backend/accounts).
    bad_credentials = "bad_credentials", 401, "Sai tên đăng nhập hoặc mật khẩu / Wrong username or password"
    unknown_account = (
        "unknown_account",
        401,
        "Tài khoản không còn tồn tại hoặc đã bị khóa / The account no longer exists or is disabled",
    )
    otp_invalid = "otp_invalid", 401, "Mã xác thực (OTP) không đúng / Wrong one-time code"
    otp_expired = (
        "otp_expired",
        401,
        "Mã xác thực hết hạn hoặc chưa được gửi; hãy xin mã mới / "
        "The code expired or was never sent; ask again",
    )
    otp_rate_limited = (
        "otp_rate_limited",
        429,
        "Đã gửi quá nhiều mã cho số này; thử lại sau / Too many codes sent to this number; retry later",
    )
    invalid_phone = (
        "invalid_phone",
        422,
        "Số điện thoại Việt Nam không hợp lệ / Not a valid Vietnamese phone number",
    )
    phone_not_mobile = (
        "phone_not_mobile",
        422,
        "Số cố định hoặc ngoài dải số di động không nhận được tin nhắn; hãy dùng số di động / "
        "A landline or a number outside the mobile ranges cannot receive text messages; use a mobile number",
    )
    sms_unavailable = (
        "sms_unavailable",
        503,
        "Chưa gửi được tin nhắn; thử lại sau `Retry-After` giây (mã chưa gửi không dùng được) / The text "
        "message could not be sent; retry after `Retry-After` seconds (the unsent code is not usable)",
    )
    firebase_invalid = "firebase_invalid", 401, "Mã Firebase không hợp lệ / Invalid Firebase ID token"
    firebase_not_configured = (
        "firebase_not_configured",
        503,
        "Đăng nhập Firebase chưa được cấu hình / Firebase sign-in is not configured",
    )
    firebase_unavailable = (
        "firebase_unavailable",
        503,
        "Chưa kiểm tra được mã Firebase; thử lại sau / Cannot verify the Firebase token now; retry later",
    )
    no_phone = (
        "no_phone",
        422,
        "Tài khoản Firebase không có số điện thoại / The Firebase account has no phone",
    )
    invalid_ticket = (
        "invalid_ticket",
        401,
        "Vé mở luồng sự kiện không hợp lệ, đã dùng hoặc đã hết hạn / "
        "The feed ticket is invalid, used or expired",
    )
    token_in_url = (
        "token_in_url",
        400,
        "Không gửi mã đăng nhập trong URL; hãy dùng vé (feed-ticket) / "
        "Do not put tokens in URLs; use a ticket",
    )
    username_taken = "username_taken", 409, "Tên đăng nhập đã có / The username is taken"
    unknown_org = "unknown_org", 422, "Không có đơn vị này / No such organisation"
    invalid_role = "invalid_role", 422, "Vai trò không dành cho nhân viên / Not a staff role"
    org_required = "org_required", 422, "Vai trò này cần một đơn vị / This role needs an organisation"
    role_org_mismatch = (
        "role_org_mismatch",
        422,
        "Vai trò không thuộc loại đơn vị đã chọn / The role does not belong to that kind of organisation",
    )
    self_disable = "self_disable", 422, "Không tự khóa tài khoản của mình / You cannot disable yourself"
    self_role = "self_role", 422, "Không tự đổi vai trò của mình / You cannot change your own role"
    invalid_shifts = (
        "invalid_shifts",
        422,
        "Ca làm việc sai: ngày 1..7, giờ HH:MM, không chồng nhau / Shifts: days 1..7, HH:MM, not overlapping",
    )
    invalid_skills = (
        "invalid_skills",
        422,
        "Kỹ năng không hợp lệ; xem `allowed` / Unknown skills; see `allowed`",
    )
    device_token_in_use = (
        "device_token_in_use",
        409,
        "Mã thiết bị đã đăng ký cho tài khoản khác; tài khoản đó cần đăng xuất trước / "
        "The device token belongs to another account, which must sign out on the device first",
    )
    invalid_device = "invalid_device", 422, "Thông tin thiết bị không hợp lệ / Invalid device registration"
    invalid_ids = "invalid_ids", 422, "Mã thông báo không hợp lệ / Invalid notification ids"

    # Appointments (backend/booking): where, when, what.
    no_place = "no_place", 422, "Cần tọa độ hoặc địa chỉ / Coordinates or an address are needed"
    invalid_coordinates = (
        "invalid_coordinates",
        422,
        "Tọa độ không hợp lệ, cần cả vĩ độ và kinh độ / Malformed coordinates: both lat and lon are needed",
    )
    address_not_found = (
        "address_not_found",
        422,
        "Không xác định được vị trí từ địa chỉ; hãy chọn trên bản đồ / "
        "Could not place the address; use the map",
    )
    outside_service_area = (
        "outside_service_area",
        422,
        "Địa điểm ngoài khu vực bưu điện phục vụ / The place is outside the area served",
    )
    commune_not_served = (
        "commune_not_served",
        422,
        "Xã/phường này chưa có bưu cục nhận hẹn tại nhà / No post office offers home visits in this commune",
    )
    invalid_kind = (
        "invalid_kind",
        422,
        "Loại không hợp lệ; xem giá trị cho phép / Unknown kind; see the values",
    )
    invalid_range = "invalid_range", 422, "'to' phải sau 'from' / 'to' must not be before 'from'"
    invalid_channel = "invalid_channel", 422, "Kênh đặt hẹn không hợp lệ / Invalid booking channel"
    unknown_procedure = "unknown_procedure", 422, "Không có thủ tục này / No such procedure"
    procedure_not_postal = (
        "procedure_not_postal",
        422,
        "Thủ tục không nhận hồ sơ qua bưu chính (Quyết định 45/2016/QĐ-TTg) / "
        "The procedure is not filed by post (Decision 45/2016/QĐ-TTg)",
    )
    procedure_required = "procedure_required", 422, "Cần mã thủ tục / A procedure code is needed"
    dossier_required = "dossier_required", 422, "Cần mã hồ sơ cho lịch trả kết quả / A dossier id is needed"
    dossier_not_postal_return = (
        "dossier_not_postal_return",
        422,
        "Hồ sơ không đăng ký nhận kết quả qua bưu chính / The dossier did not ask for the result by post",
    )
    citizen_required = "citizen_required", 422, "Cần số điện thoại công dân / The citizen's phone is needed"
    not_allowed = "not_allowed", 422, "Chỉ nhân viên được đặt hẹn hộ / Only staff book for others"
    not_rebookable = (
        "not_rebookable",
        422,
        "Lịch hẹn gốc vẫn còn hiệu lực / The original appointment is still booked",
    )
    window_in_past = "window_in_past", 422, "Khung giờ đã qua / The window is in the past"
    beyond_horizon = (
        "beyond_horizon",
        422,
        "Ngày quá xa: chỉ đặt trước trong số ngày bưu cục cho phép / Too far ahead for this post office",
    )
    not_working_day = (
        "not_working_day",
        422,
        "Không phải ngày làm việc (cuối tuần, ngày lễ) / Not a working day (weekend or holiday)",
    )
    not_a_window = (
        "not_a_window",
        422,
        "Thời điểm không trùng khung giờ nhận hẹn; lấy khung từ GET /slots / "
        "Not a window's start; see GET /slots",
    )
    too_short_notice = (
        "too_short_notice",
        422,
        "Đặt quá sát giờ; cần đặt trước thêm / Too short notice; book further ahead",
    )
    window_full = "window_full", 409, "Khung giờ đã kín; chọn khung khác / The window is full; pick another"
    window_not_started = "window_not_started", 422, "Chưa đến giờ hẹn / The window has not started yet"
    cutoff_passed = (
        "cutoff_passed",
        422,
        "Đã quá hạn đổi hoặc hủy trước giờ hẹn / Too late to change or cancel before the window",
    )
    same_window = "same_window", 422, "Khung giờ mới trùng khung cũ / Same window as now"
    not_booked = (
        "not_booked",
        409,
        "Lịch hẹn không còn ở trạng thái đã đặt / The appointment is no longer booked",
    )
    appointment_changed = (
        "appointment_changed",
        409,
        "Lịch hẹn vừa được thay đổi; hãy tải lại / The appointment changed meanwhile; reload it",
    )
    unknown_reason_code = (
        "unknown_reason_code",
        422,
        "Mã lý do không hợp lệ; xem `allowed` / Unknown reason code; see `allowed`",
    )
    bad_key = "bad_key", 400, "Idempotency-Key dài 1-200 ký tự / Idempotency-Key must be 1-200 characters"
    idempotency_key_reused = (
        "idempotency_key_reused",
        422,
        "Idempotency-Key đã dùng cho một yêu cầu khác / The Idempotency-Key was used for another request",
    )

    # Dossiers and custody (backend/custody).
    no_desk = "no_desk", 422, "Chưa có Bộ phận Một cửa / No one-stop desk is configured"
    desk_required = "desk_required", 422, "Cần mã Bộ phận Một cửa / The one-stop desk is needed"
    agency_required = "agency_required", 422, "Cần mã cơ quan giải quyết / The agency is needed"
    unknown_document = (
        "unknown_document",
        422,
        "Giấy tờ không thuộc thành phần hồ sơ của thủ tục / Documents not in the procedure's list",
    )
    incomplete_dossier = (
        "incomplete_dossier",
        422,
        "Hồ sơ chưa đủ thành phần; xem `missing` / The dossier is incomplete; see `missing`",
    )
    postal_not_allowed = (
        "postal_not_allowed",
        422,
        "Thủ tục này không được nộp qua bưu chính / This procedure cannot be filed by post",
    )
    postal_return_not_allowed = (
        "postal_return_not_allowed",
        422,
        "Thủ tục này không trả kết quả qua bưu chính / Results of this procedure cannot be posted",
    )
    forbidden_channel = (
        "forbidden_channel",
        403,
        "Vai trò của bạn không tạo được hồ sơ qua kênh này / "
        "Your role may not create a dossier on this channel",
    )
    invalid_item_id = (
        "invalid_item_id",
        422,
        "Số hiệu bưu gửi sai (S10, UPU): sai chữ số kiểm tra hoặc định dạng / Malformed S10 item id",
    )
    item_id_used = "item_id_used", 409, "Số hiệu đã được dùng / The item id is already used"
    item_id_quota = (
        "item_id_quota",
        409,
        "Bạn giữ quá nhiều số hiệu chưa dùng; dùng bớt trước / "
        "You hold too many unused labels; use some first",
    )
    item_id_expired = "item_id_expired", 409, "Số hiệu đã hết hạn / The reserved label has expired"
    item_id_not_reserved = (
        "item_id_not_reserved",
        409,
        "Số hiệu không được cấp cho bạn hoặc đã dùng / The label is not a free one of yours",
    )
    serials_exhausted = (
        "serials_exhausted",
        503,
        "Hết dãy số hiệu bưu gửi; báo cho quản trị / The S10 serial range is exhausted; tell the admins",
    )
    invalid_transition = (
        "invalid_transition",
        409,
        "Sự kiện không hợp lệ với trạng thái hiện tại của hồ sơ; xem `allowed` / "
        "The event does not fit the dossier's current status; see `allowed`",
    )
    out_of_order = (
        "out_of_order",
        409,
        "Sự kiện ngoại tuyến không theo đúng thứ tự / An offline event is out of order",
    )
    not_custodian_then = (
        "not_custodian_then",
        403,
        "Bạn không giữ hồ sơ vào thời điểm của sự kiện / You did not hold the dossier at the event's time",
    )
    future_time = "future_time", 422, "Thời điểm ở tương lai / The time is in the future"
    stale_time = "stale_time", 422, "Thời điểm quá cũ / The time is too old"
    reason_required = "reason_required", 422, "Cần lý do / A reason is required"
    missing_required = (
        "missing_required",
        422,
        "Cần danh sách giấy tờ bổ sung / The list of missing documents is required",
    )
    outcome_required = "outcome_required", 422, "Cần kết quả (approved/refused) / The outcome is required"
    recipient_required = (
        "recipient_required",
        422,
        "Cần xác minh người nhận / The recipient check is required",
    )
    recipient_check_failed = (
        "recipient_check_failed",
        422,
        "Không xác minh được người nhận / The recipient could not be verified",
    )
    confirmation_required = (
        "confirmation_required",
        422,
        "Công dân phải xác nhận bằng mã hoặc chữ ký / The citizen must confirm with a code or a signature",
    )
    wrong_code = "wrong_code", 422, "Mã xác nhận không đúng / Wrong confirmation code"
    too_many_wrong_codes = (
        "too_many_wrong_codes",
        429,
        "Nhập sai mã quá nhiều lần; thử lại sau `Retry-After` / "
        "Too many wrong codes; retry after `Retry-After`",
    )
    handover_code_locked = (
        "handover_code_locked",
        429,
        "Mã của công dân bị khóa đến hết ngày do nhập sai nhiều lần / "
        "The citizen's code is locked for today after too many wrong answers",
    )
    proof_required = "proof_required", 422, "Cần ảnh chứng từ đã tải lên / An uploaded proof is required"
    proof_not_yours = (
        "proof_not_yours",
        422,
        "Chứng từ do người khác tải lên / The proof was uploaded by someone else",
    )
    proof_already_used = (
        "proof_already_used",
        422,
        "Chứng từ đã dùng cho một lần giao nhận khác / The proof already backs another visit",
    )
    proof_file_gone = "proof_file_gone", 410, "Tệp chứng từ không còn / The proof file is gone"
    file_required = "file_required", 422, "Thiếu tệp 'file' / The 'file' part is missing"
    empty_file = "empty_file", 422, "Tệp rỗng / The file is empty"
    bad_type = "bad_type", 415, "Chỉ nhận ảnh PNG, JPEG hoặc WebP / Only PNG, JPEG or WebP images"
    no_org = "no_org", 403, "Tài khoản không thuộc đơn vị nào / The account has no organisation"
    unknown_receiver = "unknown_receiver", 422, "Không có nơi nhận này / No such receiver"
    same_holder = "same_holder", 422, "Không thể tự bàn giao cho mình / You cannot hand over to yourself"
    handover_rejected = (
        "handover_rejected",
        409,
        "Một số bưu gửi không bàn giao được; xem `items` / Some items cannot be handed over; see `items`",
    )
    not_receiver = "not_receiver", 403, "Chỉ bên nhận được xác nhận / Only the receiver confirms"
    already_confirmed = "already_confirmed", 409, "Lô bàn giao đã được xác nhận / Already confirmed"

    # Route plans and couriers (backend/planning, backend/console).
    date_in_past = "date_in_past", 422, "Ngày đã qua / The day has passed"
    date_too_far = "date_too_far", 422, "Ngày quá xa / The day is too far ahead"
    plan_in_progress = (
        "plan_in_progress",
        409,
        "Đang tính một kế hoạch cho ngày này / A plan for this day is already being computed",
    )
    too_many_plans_in_progress = (
        "too_many_plans_in_progress",
        429,
        "Bưu cục đang chờ tính nhiều kế hoạch; thử lại sau / "
        "This post office has plans being computed; retry later",
    )
    plan_not_solved = "plan_not_solved", 409, "Kế hoạch chưa có lời giải / The plan has no solution"
    plan_not_publishable = (
        "plan_not_publishable",
        409,
        "Kế hoạch ở trạng thái không công bố được / The plan cannot be published in its status",
    )
    plan_published_meanwhile = (
        "plan_published_meanwhile",
        409,
        "Một kế hoạch khác của ngày này vừa được công bố / Another plan of this day was just published",
    )
    plan_changed = (
        "plan_changed",
        409,
        "Kế hoạch vừa thay đổi; hãy tải lại / The plan just changed; reload it",
    )
    stop_state = (
        "stop_state",
        409,
        "Điểm dừng không ở trạng thái cho phép thao tác này / The stop's status does not allow this",
    )
    bad_time = "bad_time", 422, "Thời điểm không hợp lệ / The time is out of range"
    office_required = "office_required", 422, "Cần chọn bưu cục / Choose a post office"

    # Reports and imports (backend/reporting).
    bad_period = (
        "bad_period",
        422,
        "Kỳ báo cáo sai (từ sau đến, quá 5 năm) / Bad period (from after to, > 5 years)",
    )
    bad_org = "bad_org", 422, "Đơn vị phải là Bộ phận Một cửa hoặc cơ quan / Must be a desk or an agency"
    import_rejected = (
        "import_rejected",
        422,
        "Không nhập hồ sơ nào vì tệp có lỗi; xem `errors` / "
        "Nothing imported: the file has errors; see `errors`",
    )
    ids_exhausted = "ids_exhausted", 409, "Hết dải số hiệu cho hồ sơ nhập / The import id range is exhausted"
    # Partner webhooks (backend/partners).
    webhook_url_refused = (
        "webhook_url_refused",
        422,
        "Địa chỉ webhook không được phép: chỉ HTTPS tới địa chỉ công khai / The webhook URL is refused: HTTPS "
        "to a public address only (plain http to localhost outside production)",
    )
    # SMS providers' delivery reports (backend/notices/sms_reports.py).
    sms_report_refused = (
        "sms_report_refused",
        403,
        "Báo cáo gửi tin không được chấp nhận: sai mã bí mật / Delivery report refused: wrong secret",
    )


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
        "<!-- Written by `python -m backend.lib.problem_codes` from backend/lib/problem_codes.py: "
        "edit that. -->",
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
