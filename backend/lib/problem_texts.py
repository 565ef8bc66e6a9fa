"""What each problem ``code`` means and what to do about it, Vietnamese first then English: the text of
``backend.lib.problem_codes.ProblemCode`` (its ``text``), kept apart from the codes and their statuses so both
modules stay small. Grouped as the codes are; a code missing here fails at import.
"""

TEXTS: dict[str, str] = {
    # Any request (backend/lib/problems.py and the request guards in backend/lib).
    "validation": (
        "Yêu cầu sai định dạng: thiếu trường, sai kiểu hoặc ngoài giới hạn; xem `errors` / "
        "The request is malformed: a field is missing, of the wrong type or out of bounds; see `errors`"
    ),
    "bad_request": "Yêu cầu không đọc được / The request cannot be read",
    "nul_character": (
        "Ký tự NUL (\\u0000) không được phép trong đường dẫn, tham số hay nội dung / "
        "A NUL character is not allowed in the path, the query or the body"
    ),
    "json_too_deep": "Nội dung JSON lồng quá nhiều cấp / The JSON body nests too deeply",
    "unstorable_value": (
        "Một giá trị không lưu được (quá dài, ngoài phạm vi) / "
        "A value cannot be stored (too long, out of range)"
    ),
    "not_authenticated": (
        "Cần đăng nhập: gửi `Authorization: Bearer <token>` / Sign-in required: send `Authorization: Bearer`"
    ),
    "invalid_token": (
        "Mã đăng nhập sai hoặc đã hết hạn; hãy đăng nhập lại / The token is invalid or expired; sign in again"
    ),
    "account_changed": (
        "Phiên đã bị thu hồi hoặc tài khoản đã bị khóa hay thay đổi; hãy đăng nhập lại / "
        "The session was revoked or the account disabled or changed; sign in again"
    ),
    "forbidden": (
        "Vai trò hoặc phạm vi của bạn không cho phép thao tác này / Your role or scope does not allow this"
    ),
    "forbidden_role": "Vai trò của bạn không được dùng thao tác này / Your role may not use this operation",
    "not_found": "Không tìm thấy, hoặc bạn không được xem / Not found, or not visible to you",
    "method_not_allowed": (
        "Phương thức HTTP không được hỗ trợ ở địa chỉ này / The HTTP method is not supported here"
    ),
    "request_timeout": "Nội dung yêu cầu đến quá chậm / The request body arrived too slowly",
    "conflict": (
        "Xung đột với dữ liệu đã có (ví dụ một yêu cầu song song); hãy tải lại / "
        "Conflicts with existing data (a request at the same time, say); reload and retry"
    ),
    "too_large": "Nội dung hoặc tệp quá lớn / The body or the file is too large",
    "unsupported_media_type": (
        "Định dạng nội dung không được hỗ trợ / The body's media type is not supported"
    ),
    "naive_time": (
        "Thời điểm phải có múi giờ, ví dụ 2026-12-07T09:00:00+07:00 / "
        "A time must carry its UTC offset, e.g. 2026-12-07T09:00:00+07:00"
    ),
    "date_out_of_range": (
        "Ngày nằm ngoài phạm vi hệ thống nhận / The date is outside the range the service accepts"
    ),
    "rate_limited": (
        "Quá nhiều lần thử; chờ số giây trong `Retry-After` / Too many attempts; wait `Retry-After` seconds"
    ),
    "internal": (
        "Lỗi hệ thống; hãy thử lại, nếu còn lỗi hãy báo cho bưu điện / Internal error; retry, then report it"
    ),
    "database_unavailable": (
        "Mất kết nối cơ sở dữ liệu; thử lại sau `Retry-After` / "
        "Database connection lost; retry after `Retry-After`"
    ),
    "service_unavailable": "Dịch vụ tạm thời không sẵn sàng / The service is temporarily unavailable",
    "http_error": "Lỗi HTTP khác, xem `status` / Another HTTP error, see `status`",
    # Sign-in and accounts (backend/accounts).
    "bad_credentials": "Sai tên đăng nhập hoặc mật khẩu / Wrong username or password",
    "unknown_account": (
        "Tài khoản không còn tồn tại hoặc đã bị khóa / The account no longer exists or is disabled"
    ),
    "otp_invalid": "Mã xác thực (OTP) không đúng / Wrong one-time code",
    "otp_expired": (
        "Mã xác thực hết hạn hoặc chưa được gửi; hãy xin mã mới / "
        "The code expired or was never sent; ask again"
    ),
    "otp_rate_limited": (
        "Đã gửi quá nhiều mã cho số này; thử lại sau / Too many codes sent to this number; retry later"
    ),
    "invalid_phone": "Số điện thoại Việt Nam không hợp lệ / Not a valid Vietnamese phone number",
    "phone_not_mobile": (
        "Số cố định hoặc ngoài dải số di động không nhận được tin nhắn; hãy dùng số di động / "
        "A landline or a number outside the mobile ranges cannot receive text messages; use a mobile number"
    ),
    "sms_unavailable": (
        "Chưa gửi được tin nhắn; thử lại sau `Retry-After` giây (mã chưa gửi không dùng được) / The text "
        "message could not be sent; retry after `Retry-After` seconds (the unsent code is not usable)"
    ),
    "firebase_invalid": "Mã Firebase không hợp lệ / Invalid Firebase ID token",
    "firebase_not_configured": "Đăng nhập Firebase chưa được cấu hình / Firebase sign-in is not configured",
    "firebase_unavailable": (
        "Chưa kiểm tra được mã Firebase; thử lại sau / Cannot verify the Firebase token now; retry later"
    ),
    "no_phone": "Tài khoản Firebase không có số điện thoại / The Firebase account has no phone",
    "invalid_ticket": (
        "Vé mở luồng sự kiện không hợp lệ, đã dùng hoặc đã hết hạn / "
        "The feed ticket is invalid, used or expired"
    ),
    "token_in_url": (
        "Không gửi mã đăng nhập trong URL; hãy dùng vé (feed-ticket) / "
        "Do not put tokens in URLs; use a ticket"
    ),
    "username_taken": "Tên đăng nhập đã có / The username is taken",
    "unknown_org": "Không có đơn vị này / No such organisation",
    "invalid_role": "Vai trò không dành cho nhân viên / Not a staff role",
    "organisation_inactive": (
        "Đơn vị của tài khoản đã ngừng hoạt động: không đăng nhập được và phiên đang mở bị từ chối / The "
        "account's organisation has been deactivated: its staff cannot sign in and open sessions are refused"
    ),
    "org_required": "Vai trò này cần một đơn vị / This role needs an organisation",
    "role_org_mismatch": (
        "Vai trò không thuộc loại đơn vị đã chọn / The role does not belong to that kind of organisation"
    ),
    "self_disable": "Không tự khóa tài khoản của mình / You cannot disable yourself",
    "self_role": "Không tự đổi vai trò của mình / You cannot change your own role",
    "invalid_shifts": (
        "Ca làm việc sai: ngày 1..7, giờ HH:MM, không chồng nhau / Shifts: days 1..7, HH:MM, not overlapping"
    ),
    "invalid_skills": "Kỹ năng không hợp lệ; xem `allowed` / Unknown skills; see `allowed`",
    "device_token_in_use": (
        "Mã thiết bị đã đăng ký cho tài khoản khác; tài khoản đó cần đăng xuất trước / "
        "The device token belongs to another account, which must sign out on the device first"
    ),
    "invalid_device": "Thông tin thiết bị không hợp lệ / Invalid device registration",
    "invalid_ids": "Mã thông báo không hợp lệ / Invalid notification ids",
    # Identity: national ids, authorised persons (backend/accounts/identity.py, authorisations.py).
    "invalid_national_id": (
        "Số CCCD không hợp lệ: cần 12 chữ số, mã tỉnh có thật, năm sinh không ở tương lai; xem `reason` / "
        "Invalid CCCD number: 12 digits, a real province code, a birth year not in the future; see `reason`"
    ),
    "national_id_missing": ("Công dân chưa khai báo số CCCD / The citizen has no national id on file"),
    "national_id_mismatch": (
        "Số trên thẻ không khớp với số đã khai báo / The number on the card does not match the one on file"
    ),
    "invalid_validity": (
        "Thời hạn ủy quyền không hợp lệ (kết thúc trước khi bắt đầu, đã qua, hoặc quá 5 năm) / "
        "Invalid validity (ends before it starts, already over, or longer than 5 years)"
    ),
    "authorisation_revoked": "Giấy ủy quyền đã bị thu hồi / The authorisation was revoked",
    # Appointments (backend/booking): where, when, what.
    "no_place": "Cần tọa độ hoặc địa chỉ / Coordinates or an address are needed",
    "invalid_coordinates": (
        "Tọa độ không hợp lệ, cần cả vĩ độ và kinh độ / Malformed coordinates: both lat and lon are needed"
    ),
    "address_not_found": (
        "Không xác định được vị trí từ địa chỉ; hãy chọn trên bản đồ / "
        "Could not place the address; use the map"
    ),
    "outside_service_area": (
        "Địa điểm ngoài khu vực bưu điện phục vụ / The place is outside the area served"
    ),
    "commune_not_served": (
        "Xã/phường này chưa có bưu cục nhận hẹn tại nhà / No post office offers home visits in this commune"
    ),
    "invalid_kind": "Loại không hợp lệ; xem giá trị cho phép / Unknown kind; see the values",
    "invalid_range": "'to' phải sau 'from' / 'to' must not be before 'from'",
    "invalid_channel": "Kênh đặt hẹn không hợp lệ / Invalid booking channel",
    "unknown_procedure": "Không có thủ tục này / No such procedure",
    "procedure_not_postal": (
        "Thủ tục không nhận hồ sơ qua bưu chính (Quyết định 45/2016/QĐ-TTg) / "
        "The procedure is not filed by post (Decision 45/2016/QĐ-TTg)"
    ),
    "procedure_required": "Cần mã thủ tục / A procedure code is needed",
    "dossier_required": "Cần mã hồ sơ cho lịch trả kết quả / A dossier id is needed",
    "dossier_not_postal_return": (
        "Hồ sơ không đăng ký nhận kết quả qua bưu chính / The dossier did not ask for the result by post"
    ),
    "citizen_required": "Cần số điện thoại công dân / The citizen's phone is needed",
    "not_allowed": "Chỉ nhân viên được đặt hẹn hộ / Only staff book for others",
    "not_rebookable": "Lịch hẹn gốc vẫn còn hiệu lực / The original appointment is still booked",
    "window_in_past": "Khung giờ đã qua / The window is in the past",
    "beyond_horizon": (
        "Ngày quá xa: chỉ đặt trước trong số ngày bưu cục cho phép / Too far ahead for this post office"
    ),
    "not_working_day": (
        "Không phải ngày làm việc (cuối tuần, ngày lễ) / Not a working day (weekend or holiday)"
    ),
    "not_a_window": (
        "Thời điểm không trùng khung giờ nhận hẹn; lấy khung từ GET /slots / "
        "Not a window's start; see GET /slots"
    ),
    "too_short_notice": "Đặt quá sát giờ; cần đặt trước thêm / Too short notice; book further ahead",
    "window_full": "Khung giờ đã kín; chọn khung khác / The window is full; pick another",
    "window_not_started": "Chưa đến giờ hẹn / The window has not started yet",
    "cutoff_passed": (
        "Đã quá hạn đổi hoặc hủy trước giờ hẹn / Too late to change or cancel before the window"
    ),
    "same_window": "Khung giờ mới trùng khung cũ / Same window as now",
    "not_booked": "Lịch hẹn không còn ở trạng thái đã đặt / The appointment is no longer booked",
    "appointment_changed": (
        "Lịch hẹn vừa được thay đổi; hãy tải lại / The appointment changed meanwhile; reload it"
    ),
    "unknown_reason_code": "Mã lý do không hợp lệ; xem `allowed` / Unknown reason code; see `allowed`",
    "bad_key": "Idempotency-Key dài 1-200 ký tự / Idempotency-Key must be 1-200 characters",
    "idempotency_key_reused": (
        "Idempotency-Key đã dùng cho một yêu cầu khác / The Idempotency-Key was used for another request"
    ),
    # Closing loops (issue 20): supplements on their dossier, returns of results and papers.
    "not_awaiting_supplement": (
        "Hồ sơ không ở trạng thái chờ bổ sung: không đặt lịch hay nhận bổ sung được / "
        "The dossier is not waiting for a supplement: no supplement pickup can be booked or recorded"
    ),
    "return_choice_closed": (
        "Kết quả đã rời Bộ phận Một cửa (hoặc không chờ trả qua bưu chính): không đổi được cách nhận / "
        "The result has left the desk (or is not waiting for a postal return): the way of return is settled"
    ),
    "return_already_booked": (
        "Lịch trả kết quả đã được đặt; đổi giờ qua lịch hẹn / "
        "The return delivery is already booked; change it through the appointment"
    ),
    "address_required": (
        "Cần vị trí giao (lat, lon): hồ sơ chưa có địa chỉ nhận / "
        "A delivery place (lat, lon) is needed: the dossier has no address on file"
    ),
    # Dossiers and custody (backend/custody).
    "no_desk": "Chưa có Bộ phận Một cửa / No one-stop desk is configured",
    "desk_required": "Cần mã Bộ phận Một cửa / The one-stop desk is needed",
    "agency_required": "Cần mã cơ quan giải quyết / The agency is needed",
    "unknown_document": (
        "Giấy tờ không thuộc thành phần hồ sơ của thủ tục / Documents not in the procedure's list"
    ),
    "incomplete_dossier": (
        "Hồ sơ chưa đủ thành phần; xem `missing` / The dossier is incomplete; see `missing`"
    ),
    "postal_not_allowed": (
        "Thủ tục này không được nộp qua bưu chính / This procedure cannot be filed by post"
    ),
    "postal_return_not_allowed": (
        "Thủ tục này không trả kết quả qua bưu chính / Results of this procedure cannot be posted"
    ),
    "forbidden_channel": (
        "Vai trò của bạn không tạo được hồ sơ qua kênh này / "
        "Your role may not create a dossier on this channel"
    ),
    "invalid_item_id": (
        "Số hiệu bưu gửi sai (S10, UPU): sai chữ số kiểm tra hoặc định dạng / Malformed S10 item id"
    ),
    "item_id_used": "Số hiệu đã được dùng / The item id is already used",
    "item_id_quota": (
        "Bạn giữ quá nhiều số hiệu chưa dùng; dùng bớt trước / "
        "You hold too many unused labels; use some first"
    ),
    "item_id_expired": "Số hiệu đã hết hạn / The reserved label has expired",
    "item_id_not_reserved": (
        "Số hiệu không được cấp cho bạn hoặc đã dùng / The label is not a free one of yours"
    ),
    "serials_exhausted": (
        "Hết dãy số hiệu bưu gửi; báo cho quản trị / The S10 serial range is exhausted; tell the admins"
    ),
    "storage_full": (
        "Bộ nhớ lưu tệp tải lên đã đầy; không có gì được lưu, hãy gửi lại sau (xem Retry-After) / "
        "The upload storage is full; nothing was stored, send the file again later (see Retry-After)"
    ),
    "invalid_transition": (
        "Sự kiện không hợp lệ với trạng thái hiện tại của hồ sơ; xem `allowed` / "
        "The event does not fit the dossier's current status; see `allowed`"
    ),
    "out_of_order": "Sự kiện ngoại tuyến không theo đúng thứ tự / An offline event is out of order",
    "not_custodian_then": (
        "Bạn không giữ hồ sơ vào thời điểm của sự kiện / You did not hold the dossier at the event's time"
    ),
    "future_time": "Thời điểm ở tương lai / The time is in the future",
    "stale_time": "Thời điểm quá cũ / The time is too old",
    "reason_required": "Cần lý do / A reason is required",
    "missing_required": "Cần danh sách giấy tờ bổ sung / The list of missing documents is required",
    "outcome_required": "Cần kết quả (approved/refused) / The outcome is required",
    "recipient_required": "Cần xác minh người nhận / The recipient check is required",
    "recipient_check_failed": "Không xác minh được người nhận / The recipient could not be verified",
    "confirmation_required": (
        "Công dân phải xác nhận bằng mã hoặc chữ ký / The citizen must confirm with a code or a signature"
    ),
    "wrong_code": "Mã xác nhận không đúng / Wrong confirmation code",
    "too_many_wrong_codes": (
        "Nhập sai mã quá nhiều lần; thử lại sau `Retry-After` / "
        "Too many wrong codes; retry after `Retry-After`"
    ),
    "handover_code_locked": (
        "Mã của công dân bị khóa đến hết ngày do nhập sai nhiều lần / "
        "The citizen's code is locked for today after too many wrong answers"
    ),
    "proof_required": "Cần ảnh chứng từ đã tải lên / An uploaded proof is required",
    "proof_not_yours": "Chứng từ do người khác tải lên / The proof was uploaded by someone else",
    "proof_already_used": (
        "Chứng từ đã dùng cho một lần giao nhận khác / The proof already backs another visit"
    ),
    "proof_file_gone": "Tệp chứng từ không còn / The proof file is gone",
    "file_required": "Thiếu tệp 'file' / The 'file' part is missing",
    "empty_file": "Tệp rỗng / The file is empty",
    "bad_type": "Chỉ nhận ảnh PNG, JPEG hoặc WebP / Only PNG, JPEG or WebP images",
    "no_org": "Tài khoản không thuộc đơn vị nào / The account has no organisation",
    "unknown_receiver": "Không có nơi nhận này / No such receiver",
    "same_holder": "Không thể tự bàn giao cho mình / You cannot hand over to yourself",
    "handover_rejected": (
        "Một số bưu gửi không bàn giao được; xem `items` / Some items cannot be handed over; see `items`"
    ),
    "not_receiver": "Chỉ bên nhận được xác nhận / Only the receiver confirms",
    "already_confirmed": "Lô bàn giao đã được xác nhận / Already confirmed",
    "already_received": (
        "Hồ sơ này đã được cơ quan nhận; không cần quét lại / This dossier was already received; no need to "
        "scan it again"
    ),
    # Route plans and couriers (backend/planning, backend/console).
    "date_in_past": "Ngày đã qua / The day has passed",
    "date_too_far": "Ngày quá xa / The day is too far ahead",
    "plan_in_progress": (
        "Đang tính một kế hoạch cho ngày này / A plan for this day is already being computed"
    ),
    "too_many_plans_in_progress": (
        "Bưu cục đang chờ tính nhiều kế hoạch; thử lại sau / "
        "This post office has plans being computed; retry later"
    ),
    "plan_not_solved": "Kế hoạch chưa có lời giải / The plan has no solution",
    "plan_not_publishable": (
        "Kế hoạch ở trạng thái không công bố được / The plan cannot be published in its status"
    ),
    "plan_published_meanwhile": (
        "Một kế hoạch khác của ngày này vừa được công bố / Another plan of this day was just published"
    ),
    "plan_changed": "Kế hoạch vừa thay đổi; hãy tải lại / The plan just changed; reload it",
    "stop_state": (
        "Điểm dừng không ở trạng thái cho phép thao tác này / The stop's status does not allow this"
    ),
    "bad_time": "Thời điểm không hợp lệ / The time is out of range",
    "office_required": "Cần chọn bưu cục / Choose a post office",
    # Dispatcher control of stops (issue 20).
    "plan_not_editable": (
        "Chỉ sửa được kế hoạch đã giải hoặc đã công bố, của hôm nay trở đi / "
        "Only a solved or published plan of today or later can be changed"
    ),
    "route_changed": (
        "Lộ trình vừa được người khác thay đổi; hãy tải lại / The route was just changed by someone else; reload it"
    ),
    "stop_move_infeasible": (
        "Thay đổi làm lộ trình không khả thi; xem `violations` (khung giờ, ca làm, sức chở, giờ nghỉ); "
        "không có gì thay đổi / The change makes a route infeasible; see `violations` (windows, shift, load, "
        "break); nothing was changed"
    ),
    "bad_position": (
        "Vị trí không hợp lệ: từ sau các điểm đang làm đến cuối lộ trình / "
        "Bad position: after the stops under way, up to the end of the route"
    ),
    "courier_not_available": (
        "Bưu tá không thuộc bưu cục hoặc không có ca ngày này / "
        "The courier is not of this post office or has no shift that day"
    ),
    # Reports and imports (backend/reporting).
    "bad_period": "Kỳ báo cáo sai (từ sau đến, quá 5 năm) / Bad period (from after to, > 5 years)",
    "bad_org": "Đơn vị phải là Bộ phận Một cửa hoặc cơ quan / Must be a desk or an agency",
    "province_required": "Cần mã tỉnh (`province`) cho báo cáo của tỉnh / A province report needs `province`",
    "import_rejected": (
        "Không nhập hồ sơ nào vì tệp có lỗi; xem `errors` / "
        "Nothing imported: the file has errors; see `errors`"
    ),
    "ids_exhausted": "Hết dải số hiệu cho hồ sơ nhập / The import id range is exhausted",
    # Partner webhooks (backend/partners).
    "webhook_url_refused": (
        "Địa chỉ webhook không được phép: chỉ HTTPS tới địa chỉ công khai / The webhook URL is refused: HTTPS "
        "to a public address only (plain http to localhost outside production)"
    ),
    # SMS providers' delivery reports (backend/notices/sms_reports.py).
    "sms_report_refused": (
        "Báo cáo gửi tin không được chấp nhận: sai mã bí mật / Delivery report refused: wrong secret"
    ),
    # Zalo ZNS webhook events (backend/notices/zns_reports.py).
    "zns_event_refused": (
        "Sự kiện Zalo không được chấp nhận: sai chữ ký X-ZEvent-Signature, ứng dụng khác, "
        "hoặc chưa cấu hình ZNS / "
        "Zalo event refused: wrong X-ZEvent-Signature, another app's event, or ZNS not configured"
    ),
    "zns_event_invalid": (
        "Sự kiện Zalo không đọc được: cần JSON có event_name, app_id, timestamp / "
        "Unreadable Zalo event: JSON with event_name, app_id and timestamp expected"
    ),
    # Live tracking links (backend/planning/tracking_link.py).
    "tracking_link_not_found": (
        "Liên kết theo dõi không đúng hoặc không tồn tại; hãy mở lại liên kết trong tin nhắn / "
        "The tracking link is wrong or unknown; open the link in the message again"
    ),
    "tracking_link_ended": (
        "Chuyến thăm đã kết thúc (đã xong, không thành công, bị hủy) hoặc liên kết đã hết hạn / "
        "The visit has ended (done, unsuccessful or cancelled) or the link has expired"
    ),
    # Money: the ledger, collection at the door, cash-ups, remittances (backend/money).
    "ledger_key_reused": (
        "Khóa chống lặp đã dùng cho một khoản khác; sổ không đổi / "
        "The idempotency key was used for another transaction; the ledger is unchanged"
    ),
    "ledger_unbalanced": (
        "Bút toán phải có ít nhất hai dòng có tổng bằng 0 / A transaction needs two or more lines summing to 0"
    ),
    "ledger_bad_account": "Tài khoản sổ không hợp lệ / Not a ledger account",
    "amount_out_of_range": (
        "Số tiền phải là số nguyên đồng, dương và không quá 1.000.000.000 / "
        "An amount must be whole VND, positive and at most 1,000,000,000"
    ),
    "more_than_due": (
        "Số tiền thu lớn hơn số còn phải nộp (hoặc không còn gì phải nộp) / "
        "The amount is more than what is still due (or nothing is due)"
    ),
    "bad_method": "Hình thức thanh toán không dùng được ở đây / The payment method is not allowed here",
    "not_on_route": (
        "Hồ sơ hoặc lịch hẹn không nằm trên tuyến của bạn / The dossier or appointment is not on your route"
    ),
    "appointment_cancelled": "Lịch hẹn đã hủy: không thu tiền / The appointment is cancelled: nothing to collect",
    "cashup_exists": ("Bưu tá đã kết toán ngày này / This courier has already cashed up for this day"),
    "cashup_mismatch": (
        "Số kiểm đếm lệch với sổ: cần ghi chú lý do / The counted amount differs: a note is required"
    ),
    "day_not_closable": ("Còn bưu tá giữ tiền chưa kết toán / Couriers holding money have not cashed up yet"),
    "day_closed": (
        "Ngày làm việc của bưu cục đã đóng: không kết toán thêm / The office's day is closed: no more cash-ups"
    ),
    "more_than_refund_pending": (
        "Số tiền hoàn lớn hơn số đang chờ hoàn cho công dân / The refund is more than is owed back to the citizen"
    ),
    "already_remitted": ("Khoản tiền này đã được chuyển cho cơ quan / This money has already been remitted"),
    "nothing_to_remit": "Không có khoản nào chờ chuyển / Nothing is waiting to be remitted",
    "nothing_due": "Không còn khoản nào phải trả cho lịch hẹn này / Nothing is owed on this appointment",
    "payments_unconfigured": (
        "Thanh toán trực tuyến hoặc chuyển khoản chưa được cấu hình; hãy trả khi nhân viên đến / "
        "Online payment or bank transfer is not configured; pay the courier instead"
    ),
    "payment_bad_signature": (
        "Chữ ký của cổng thanh toán không hợp lệ / The payment gateway's signature is not valid"
    ),
    "price_version_overlap": (
        "Đã có phiên bản bắt đầu cùng lúc hoặc muộn hơn; phiên bản mới phải bắt đầu sau mọi phiên bản đã có / "
        "A version starting at or after that time exists; a new version must start after every existing one"
    ),
    "price_version_in_past": (
        "Không sửa được giá đã áp dụng: phiên bản mới phải bắt đầu từ bây giờ trở đi / "
        "Prices already applied cannot change: a new version must start now or later"
    ),
    "visit_not_completed": (
        "Chỉ đánh giá được lượt phục vụ đã hoàn thành / Only a completed visit can be rated"
    ),
    "rating_exists": (
        "Lượt phục vụ này đã được đánh giá; hãy sửa đánh giá đã có / "
        "This visit was already rated; change the existing rating instead"
    ),
    "rating_missing": "Lượt phục vụ này chưa được đánh giá / This visit has not been rated yet",
    "rating_window_closed": (
        "Đã hết thời hạn đánh giá lượt phục vụ này / The time to rate this visit has passed"
    ),
    "rating_edit_closed": "Đã hết thời hạn sửa đánh giá / The time to change this rating has passed",
    "complaint_state": (
        "Phản ánh đang ở trạng thái không cho phép bước này (ví dụ đã đóng, hoặc chưa được giao xử lý) / "
        "The complaint's status does not allow this step (e.g. it is closed, or not yet assigned)"
    ),
    "complaint_reopened_once": (
        "Phản ánh chỉ được mở lại một lần; hãy gửi phản ánh mới / "
        "A complaint can be reopened only once; file a new one"
    ),
    "complaint_subject_missing": (
        "Thiếu đối tượng phản ánh: lịch hẹn (appointment_id), hồ sơ (item_id) hoặc bộ phận một cửa (desk) / "
        "The complaint's subject is missing: its appointment_id, item_id or desk"
    ),
    "catalogue_version_in_past": (
        "Không sửa được nội dung đã áp dụng: phiên bản hoặc thay đổi mới phải bắt đầu từ bây giờ trở đi / "
        "What was in force cannot change: a new version or change must start now or later"
    ),
    "catalogue_version_overlap": (
        "Đã có phiên bản bắt đầu cùng lúc hoặc muộn hơn; phiên bản mới phải bắt đầu sau mọi phiên bản đã có / "
        "A version starting at or after that time exists; a new version must start after every existing one"
    ),
    "procedure_exists": (
        "Đã có thủ tục với mã này; hãy thêm phiên bản mới cho nó / "
        "A procedure with this code exists; add a new version of it instead"
    ),
    "organisation_exists": "Đã có tổ chức với mã này / An organisation with this code exists",
    "unknown_province": "Không có tỉnh, thành phố với mã này / No province has this code",
    "unknown_commune": "Không có xã, phường với mã này / No commune has this code",
}
