// Console strings, Vietnamese first. Elements carry data-i18n="key" (text) or data-i18n-placeholder="key";
// elements with data-vi/data-en carry their own pair (server-rendered titles).
const STRINGS = {
  "app.name": ["Hồ sơ qua bưu điện", "Dossiers by post"],
  "auth.title": ["Đăng nhập cán bộ", "Staff sign-in"],
  "auth.hint": ["Bộ phận Một cửa và điều phối bưu cục", "One-stop desks and post-office dispatch"],
  "auth.username": ["Tên đăng nhập", "Username"],
  "auth.password": ["Mật khẩu", "Password"],
  "auth.submit": ["Đăng nhập", "Sign in"],
  "auth.signout": ["Đăng xuất", "Sign out"],
  "auth.failed": ["Sai tên đăng nhập hoặc mật khẩu", "Wrong username or password"],
  "auth.role": ["Tài khoản này không dùng bảng điều khiển", "This account has no console"],
  "scan.placeholder": ["Quét/nhập mã hồ sơ + Enter", "Scan or type an item id + Enter"],
  "tab.today": ["Hôm nay", "Today"],
  "tab.dossier": ["Hồ sơ", "Dossier"],
  "tab.receive": ["Nhận bàn giao", "Receive"],
  "tab.send": ["Gửi bàn giao", "Send"],
  "tab.book": ["Đặt lịch tại nhà", "Home appointment"],
  "tab.report": ["Báo cáo", "Report"],
  "tab.plan": ["Kế hoạch tuyến", "Route plan"],
  "tab.liveday": ["Trong ngày", "During the day"],
  "view.incoming": ["Đang đến", "Incoming"],
  "view.on_hand": ["Đang giữ", "On hand"],
  "view.outgoing": ["Chờ gửi đi", "Outgoing"],
  "view.due_soon": ["Đến hạn trong 2 ngày làm việc", "Due within 2 working days"],
  "view.overdue": ["Quá hạn", "Overdue"],
  "live.sse": ["Trực tiếp", "Live"],
  "live.poll": ["Tự làm mới", "Auto-refresh"],
  "live.off": ["Ngoại tuyến", "Offline"],
  "col.item": ["Mã hồ sơ", "Item"],
  "col.procedure": ["Thủ tục", "Procedure"],
  "col.status": ["Trạng thái", "Status"],
  "col.custodian": ["Đang giữ", "Held by"],
  "col.due": ["Hạn giải quyết", "Due"],
  "col.state": ["Kết quả quét", "Scan"],
  "list.empty": ["Không có hồ sơ.", "No dossiers."],
  "updated": ["cập nhật", "updated"],
  "dossier.empty": ["Quét mã hồ sơ để xem.", "Scan an item id to open it."],
  "dossier.notfound": ["Không tìm thấy hồ sơ", "Dossier not found"],
  "dossier.timeline": ["Diễn biến", "Timeline"],
  "dossier.custody": ["Chuỗi lưu giữ", "Chain of custody"],
  "dossier.deadline": ["Hạn giải quyết theo luật", "Legal deadline"],
  "dossier.documents": ["Thành phần hồ sơ", "Documents"],
  "dossier.fees": ["Phí, lệ phí đã thu", "Fees collected"],
  "dossier.citizen": ["Công dân", "Citizen"],
  "dossier.channel": ["Kênh tiếp nhận", "Channel"],
  "dossier.result": ["Kết quả", "Result"],
  "dossier.original": ["bản chính", "original"],
  "dossier.copy": ["bản sao", "copy"],
  "dossier.provided": ["đã nộp", "provided"],
  "dossier.missing": ["thiếu", "missing"],
  "dossier.since": ["từ", "since"],
  "dossier.until": ["đến", "until"],
  "dossier.now": ["hiện tại", "now"],
  "custody.courier": ["Bưu tá", "Courier"],
  "channel.home_pickup": ["Bưu tá nhận tại nhà", "Picked up at home"],
  "channel.post_office": ["Nộp tại bưu cục", "At a post office"],
  "channel.direct": ["Nộp trực tiếp tại Một cửa", "In person at the desk"],
  "channel.online": ["Nộp trực tuyến", "Online"],
  "dossier.receipt": ["Biên lai", "Receipt"],
  "dossier.seal": ["Niêm phong", "Seal"],
  "timeliness.within": ["Trong hạn", "Within the deadline"],
  "timeliness.overdue": ["Quá hạn", "Overdue"],
  "timeliness.early": ["Trước hạn", "Early"],
  "timeliness.on_time": ["Đúng hạn", "On time"],
  "timeliness.late": ["Trễ hạn", "Late"],
  "receive.pending": ["Lô đang chờ nhận", "Handovers waiting"],
  "receive.none": ["Không có lô nào đang chờ.", "Nothing waiting."],
  "receive.choose": ["Chọn một lô bàn giao để bắt đầu quét.", "Pick a handover to start scanning."],
  "receive.scan": ["Quét từng bưu gửi", "Scan each item"],
  "receive.confirm": ["Xác nhận nhận lô", "Confirm receipt"],
  "receive.from": ["Từ", "From"],
  "receive.items": ["bưu gửi", "items"],
  "receive.progress": ["Đã quét", "Scanned"],
  "state.expected": ["Chưa quét", "Not scanned"],
  "state.scanned": ["Đã quét", "Scanned"],
  "state.received": ["Đã nhận", "Received"],
  "state.missing": ["THIẾU", "MISSING"],
  "state.extra": ["THỪA (không có trong biên bản)", "EXTRA (not on the manifest)"],
  "receive.discrepancy": ["Có sai lệch — đã ghi nhận và báo cho bên gửi", "Discrepancy — recorded and reported to the sender"],
  "receive.ok": ["Đã nhận đủ lô bàn giao", "Handover received in full"],
  "receive.warn": ["Còn bưu gửi chưa quét sẽ được ghi là THIẾU", "Items not scanned will be recorded as MISSING"],
  "send.title": ["Tạo lô bàn giao đi", "New outgoing handover"],
  "send.to": ["Nơi nhận", "To"],
  "send.seal": ["Số niêm phong", "Seal number"],
  "send.scan": ["Quét bưu gửi", "Scan item"],
  "send.create": ["Tạo lô và in biên bản", "Create and print the manifest"],
  "send.created": ["Đã tạo lô bàn giao", "Handover created"],
  "send.empty": ["Chưa quét bưu gửi nào", "Scan at least one item"],
  "send.remove": ["Bỏ", "Remove"],
  "book.title": ["Đặt lịch tại nhà cho công dân", "Book a home appointment for a citizen"],
  "book.phone": ["Số điện thoại công dân", "Citizen's phone"],
  "book.kind": ["Dịch vụ", "Service"],
  "kind.pickup": ["Nhận hồ sơ tại nhà", "Pick up the dossier at home"],
  "kind.assisted": ["Hỗ trợ kê khai tại nhà", "Help filing at home"],
  "book.procedure": ["Thủ tục", "Procedure"],
  "book.commune": ["Xã/phường", "Commune"],
  "book.address": ["Địa chỉ", "Address"],
  "book.note": ["Ghi chú", "Note"],
  "book.find": ["Tìm khung giờ", "Find windows"],
  "book.slots": ["Khung giờ còn chỗ", "Windows with room"],
  "book.none": ["Không còn khung giờ trống.", "No window available."],
  "book.remaining": ["còn", "left"],
  "book.booked": ["Đã đặt lịch", "Booked"],
  "book.fees": ["Cước dự kiến", "Expected fee"],
  "report.from": ["Từ ngày", "From"],
  "report.to": ["Đến ngày", "To"],
  "report.group": ["Nhóm theo", "Group by"],
  "group.field": ["Lĩnh vực", "Field"],
  "group.procedure": ["Thủ tục", "Procedure"],
  "report.show": ["Xem", "Show"],
  "report.csv": ["Tải CSV", "Download CSV"],
  "report.table": ["Mẫu II.06a", "Form II.06a"],
  "report.chart": ["Tỉ lệ đúng hạn và qua bưu chính theo tháng", "On-time rate and postal share by month"],
  "report.on_time": ["Tỉ lệ đúng hạn", "On-time rate"],
  "report.postal": ["Tỉ lệ qua bưu chính", "Postal share"],
  "report.group_col": ["Nhóm", "Group"],
  "report.received": ["Tiếp nhận", "Received"],
  "report.online": ["Trực tuyến", "Online"],
  "report.direct_postal": ["Trực tiếp & bưu chính", "Direct & postal"],
  "report.carried": ["Kỳ trước chuyển sang", "Carried over"],
  "report.resolved": ["Đã giải quyết", "Resolved"],
  "report.early": ["Trước hạn", "Early"],
  "report.ontime": ["Đúng hạn", "On time"],
  "report.late": ["Trễ hạn", "Late"],
  "report.inprog": ["Đang giải quyết", "In progress"],
  "report.within": ["Trong hạn", "Within"],
  "report.overdue": ["Quá hạn", "Overdue"],
  "report.pickup": ["Nhận tại nhà", "Home pickup"],
  "report.return": ["Trả qua bưu chính", "Postal return"],
  "report.nodata": ["Chưa có số liệu", "No figures"],
  "plan.date": ["Ngày", "Date"],
  "plan.create": ["Lập kế hoạch", "Plan routes"],
  "plan.existing": ["Kế hoạch đã lập", "Plans"],
  "plan.publish": ["Công bố", "Publish"],
  "plan.replan": ["Lập lại", "Re-plan"],
  "plan.map": ["Bản đồ tuyến", "Route map"],
  "plan.summary": ["Tóm tắt", "Summary"],
  "plan.routes": ["Tuyến theo bưu tá", "Routes by courier"],
  "plan.unassigned": ["Điểm chưa xếp được", "Unassigned stops"],
  "plan.none": ["Chưa có kế hoạch.", "No plan yet."],
  "plan.stops": ["điểm dừng", "stops"],
  "plan.couriers": ["bưu tá", "couriers"],
  "plan.distance": ["Quãng đường", "Distance"],
  "plan.travel": ["Thời gian di chuyển", "Travel time"],
  "plan.published": ["Đã công bố kế hoạch", "Plan published"],
  "plan.seq": ["TT", "#"],
  "plan.kind": ["Loại", "Kind"],
  "plan.window": ["Khung giờ", "Window"],
  "plan.eta": ["Dự kiến đến", "ETA"],
  "plan.load": ["Tải", "Load"],
  "plan.reason": ["Lý do", "Reason"],
  "plan.status.queued": ["Đang chờ", "Queued"],
  "plan.status.running": ["Đang tính", "Solving"],
  "plan.status.done": ["Xong — chờ công bố", "Done — ready to publish"],
  "plan.status.failed": ["Lỗi", "Failed"],
  "plan.status.published": ["Đã công bố", "Published"],
  "plan.status.superseded": ["Đã thay thế", "Superseded"],
  "live.title": ["Bưu tá hôm nay", "Couriers today"],
  "live.position": ["Vị trí cuối", "Last position"],
  "live.progress": ["Tiến độ", "Progress"],
  "live.late": ["Điểm trễ", "Late stops"],
  "live.noplan": ["Hôm nay chưa có kế hoạch được công bố.", "No published plan today."],
  "live.nopos": ["chưa có", "none yet"],
  "manifest.loading": ["Đang tải…", "Loading…"],
  "manifest.title": ["BIÊN BẢN BÀN GIAO HỒ SƠ, KẾT QUẢ", "HANDOVER MANIFEST"],
  "manifest.sender": ["Bên giao", "Sender"],
  "manifest.receiver": ["Bên nhận", "Receiver"],
  "manifest.sign": ["(Ký, ghi rõ họ tên)", "(Signature and full name)"],
  "manifest.print": ["In biên bản", "Print"],
  "manifest.count": ["Tổng số bưu gửi", "Items"],
  "manifest.created": ["Lập lúc", "Created"],
  "manifest.barcode": ["Mã vạch", "Barcode"],
  "error.generic": ["Có lỗi xảy ra", "Something went wrong"],
};

export function lang() {
  return localStorage.getItem("console.lang") === "en" ? "en" : "vi";
}

export function t(key) {
  const pair = STRINGS[key];
  if (!pair) return key;
  return lang() === "en" ? pair[1] : pair[0];
}

// A {vi, en} object from the API (status labels, event labels).
export function pick(label) {
  if (!label) return "";
  if (typeof label === "string") return label;
  return (lang() === "en" ? label.en : label.vi) || label.vi || "";
}

export function applyI18n(root = document) {
  document.documentElement.lang = lang();
  root.querySelectorAll("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  });
  root.querySelectorAll("[data-vi]").forEach((el) => {
    el.textContent = lang() === "en" ? el.dataset.en : el.dataset.vi;
  });
  const button = document.getElementById("lang");
  if (button) button.textContent = lang() === "en" ? "VI" : "EN";
}

export function setLang(value) {
  localStorage.setItem("console.lang", value);
  applyI18n();
  document.dispatchEvent(new CustomEvent("langchange"));
}
