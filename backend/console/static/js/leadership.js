// Province leadership's page (issue 23): form II.06a by commune, post office, agency, procedure or field with the
// units that had no dossiers, a month-by-month chart, the time in each leg of the chain with the postal share of
// the legal clock and the slowest legs, and the couriers' and desks' scorecards. Read-only; CSV downloads.
// Talks to /reports/province/{dossiers,legs,scorecards}, and for the satisfaction and money summaries to
// /reports/{ratings,complaints} and /reports/money/{outstanding,remittances-due} (the province's, issue 23). Charts are inline SVG drawn here (no library).
import { API, api, errorText, fmtTime, h, startPage, toast, vnDate } from "./common.js";
import { lineChart } from "./chart.js";
import { lang } from "./i18n.js";

const user = startPage(["leadership", "admin"]);
const province = new URLSearchParams(location.search).get("province");

const TEXT = {
  unit: ["Đơn vị", "Unit"],
  name: ["Tên", "Name"],
  received: ["Tiếp nhận", "Received"],
  postal: ["Qua bưu chính", "By post"],
  resolved: ["Đã giải quyết", "Resolved"],
  onTime: ["Đúng và trước hạn (%)", "On time (%)"],
  overdue: ["Đang quá hạn", "Overdue"],
  without: ["đơn vị chưa phát sinh hồ sơ", "units without dossiers"],
  withoutPostal: ["chưa có hồ sơ qua bưu chính", "without postal dossiers"],
  onTimeRate: ["Tỷ lệ đúng hạn", "On-time rate"],
  postalShare: ["Tỷ lệ qua bưu chính", "Postal share"],
  leg: ["Chặng", "Leg"],
  count: ["Số lượt", "Count"],
  medianWh: ["Trung vị (giờ làm việc)", "Median (working hours)"],
  p90Wh: ["P90 (giờ làm việc)", "P90 (working hours)"],
  item: ["Mã hồ sơ", "Item id"],
  from: ["Từ", "From"],
  to: ["Đến", "To"],
  ended: ["Kết thúc", "Ended"],
  wh: ["Giờ làm việc", "Working hours"],
  clock: ["Phần thời hạn giải quyết hồ sơ nằm ở bưu chính", "Postal share of the legal clock"],
  dossiers: ["hồ sơ", "dossiers"],
  courier: ["Bưu tá", "Courier"],
  desk: ["Một cửa", "Desk"],
  office: ["Bưu cục", "Office"],
  visits: ["Lượt đến nhà", "Visits"],
  onTimeVisits: ["Đúng hẹn", "On time"],
  failed: ["Không thành công", "Failed"],
  ratings: ["Đánh giá", "Ratings"],
  mean: ["Điểm TB", "Mean score"],
  noData: ["Chưa có dữ liệu", "No data yet"],
  month: ["Tháng", "Month"],
  overall: ["Điểm chung", "Overall"],
  category: ["Loại", "Category"],
  org: ["Đơn vị giải quyết", "Responsible"],
  filed: ["Tiếp nhận", "Filed"],
  answered: ["Đã trả lời", "Answered"],
  answeredOnTime: ["Trả lời đúng hạn", "Answered on time"],
  openOverdue: ["Quá hạn chưa xong", "Open, overdue"],
  satisfaction: ["lượt đánh giá, điểm trung bình", "ratings, mean score"],
  complaints: ["phản ánh, kiến nghị; quá hạn", "complaints; overdue"],
  agency: ["Cơ quan", "Agency"],
  held: ["Đang giữ (đ)", "Held (VND)"],
  awaiting: ["Chờ xác nhận (đ)", "Awaiting (VND)"],
  outstanding: ["Chưa thu (COD)", "Outstanding COD"],
  remit: ["Chờ chuyển trả", "To remit"],
};
const tr = (key) => TEXT[key][lang() === "en" ? 1 : 0];
const fromInput = document.getElementById("lead-from");
const toInput = document.getElementById("lead-to");
const groupInput = document.getElementById("lead-group");

function query(extra = {}) {
  const q = new URLSearchParams({ from: fromInput.value, to: toInput.value, ...extra });
  if (province) q.set("province", province);
  return q.toString();
}

function table(id, headers, rows) {
  const el = document.getElementById(id);
  el.tHead.replaceChildren(h("tr", {}, headers.map((x) => h("th", {}, x))));
  el.tBodies[0].replaceChildren(...rows);
}

const num = (v) => (v === null || v === undefined ? "—" : String(v));

// Horizontal bars: one per label, the value written at the end.
function barChart(labels, values, unit) {
  const NS = "http://www.w3.org/2000/svg";
  const el = (tag, attrs, text) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const W = 560;
  const left = 230;
  const bar = 22;
  const H = labels.length * (bar + 8) + 10;
  const max = Math.max(1, ...values.map((v) => Number(v) || 0));
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", class: "chart", id: "legs-svg" });
  labels.forEach((label, i) => {
    const y = 5 + i * (bar + 8);
    const v = Number(values[i]) || 0;
    const w = ((W - left - 70) * v) / max;
    svg.append(el("text", { x: left - 8, y: y + 15, "text-anchor": "end", "font-size": 11, fill: "#222" }, label));
    const rect = el("rect", { x: left, y, width: w.toFixed(1), height: bar, fill: "#1f6feb", class: "bar" });
    rect.append(el("title", {}, `${label}: ${num(values[i])} ${unit}`));
    svg.append(rect);
    svg.append(el("text", { x: left + w + 6, y: y + 15, "font-size": 11, fill: "#444" }, `${num(values[i])} ${unit}`));
  });
  return svg;
}

async function download(path, name) {
  try {
    const response = await api(path, { raw: true, headers: { Accept: "text/csv" } });
    const url = URL.createObjectURL(await response.blob());
    const link = h("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (err) {
    toast(errorText(err), "error");
  }
}

async function loadUnits() {
  const body = await api(`${API}/reports/province/dossiers?${query({ group_by: groupInput.value })}`);
  document.getElementById("lead-province").textContent = `${body.province_name} (${body.province})`;
  document.getElementById("lead-empty-summary").textContent =
    `${body.units_without_dossiers}/${body.units} ${tr("without")}; ` +
    `${body.units_without_postal}/${body.units} ${tr("withoutPostal")}`;
  const rows = [...body.rows, body.total].map((r) =>
    h(
      "tr",
      { "data-unit": r.group, class: r.received_total === 0 ? "muted empty-unit" : null },
      h("td", {}, r.group),
      h("td", {}, r.name),
      h("td", { class: "num" }, num(r.received_total)),
      h("td", { class: "num" }, num(r.postal_pickup)),
      h("td", { class: "num" }, num(r.resolved_total)),
      h("td", { class: "num" }, num(r.on_time_rate)),
      h("td", { class: "num" }, num(r.in_progress_overdue)),
    ),
  );
  table("lead-units", [tr("unit"), tr("name"), tr("received"), tr("postal"), tr("resolved"), tr("onTime"), tr("overdue")], rows);
  const end = new Date(`${toInput.value.slice(0, 7)}-01T00:00:00Z`);
  end.setUTCMonth(end.getUTCMonth() - 11);
  const q = new URLSearchParams(query({ group_by: "month" }));
  q.set("from", end.toISOString().slice(0, 10));
  const months = await api(`${API}/reports/province/dossiers?${q}`);
  const labels = months.rows.map((r) => `${r.group.slice(5)}/${r.group.slice(2, 4)}`); // MM/YY: 12 fit
  const chart = lineChart(
    labels,
    [
      { name: tr("onTimeRate"), colour: "#1f883d", values: months.rows.map((r) => r.on_time_rate) },
      { name: tr("postalShare"), colour: "#bf8700", values: months.rows.map((r) => r.postal_share) },
    ],
    tr("noData"),
  );
  chart.id = "months-svg";
  document.getElementById("lead-month-chart").replaceChildren(chart);
}

async function loadLegs() {
  const body = await api(`${API}/reports/province/legs?${query({ top: 10 })}`);
  const c = body.clock;
  document.getElementById("lead-clock").textContent =
    `${tr("clock")}: ${c.postal_share === null ? "—" : `${c.postal_share}%`} (${c.dossiers} ${tr("dossiers")}; ` +
    `${c.postal_working_hours}/${c.clock_working_hours} ${tr("wh").toLowerCase()})`;
  const chart = barChart(body.legs.map((l) => l.name), body.legs.map((l) => l.median_working_hours), "h");
  document.getElementById("lead-legs-chart").replaceChildren(chart);
  table(
    "lead-slowest",
    [tr("item"), tr("leg"), tr("from"), tr("to"), tr("ended"), tr("wh")],
    body.slowest.map((s) =>
      h(
        "tr",
        { "data-item": s.item_id },
        h("td", {}, s.item_id),
        h("td", {}, body.legs.find((l) => l.leg === s.leg)?.name || s.leg),
        h("td", {}, s.from_unit || "—"),
        h("td", {}, s.to_unit || "—"),
        h("td", {}, fmtTime(s.ended_at)),
        h("td", { class: "num" }, num(s.working_hours)),
      ),
    ),
  );
}

function cardRows(rows, withOffice) {
  return rows.map((r) =>
    h(
      "tr",
      { "data-key": r.key },
      h("td", {}, r.key),
      h("td", {}, withOffice ? r.office || "—" : r.name),
      h("td", { class: "num" }, num(r.visits)),
      h("td", { class: "num" }, num(r.on_time)),
      h("td", { class: "num" }, num(r.failed)),
      h("td", { class: "num" }, num(r.ratings)),
      h("td", { class: "num" }, num(r.rating_mean)),
    ),
  );
}

async function loadCards() {
  const heads = (first, second) => [first, second, tr("visits"), tr("onTimeVisits"), tr("failed"), tr("ratings"), tr("mean")];
  const couriers = await api(`${API}/reports/province/scorecards?${query({ kind: "courier" })}`);
  table("lead-couriers", heads(tr("courier"), tr("office")), cardRows(couriers.rows, true));
  const desks = await api(`${API}/reports/province/scorecards?${query({ kind: "desk" })}`);
  table("lead-desks", heads(tr("desk"), tr("name")), cardRows(desks.rows, false));
}

const vnd = (v) => `${Number(v || 0).toLocaleString("vi-VN")} đ`;

// Satisfaction (ratings by post office) and complaints of the province: /reports/ratings, /reports/complaints.
async function loadFeedback() {
  const q = new URLSearchParams({ from: fromInput.value, to: toInput.value });
  const ratings = await api(`${API}/reports/ratings?${q}&group_by=post_office`);
  const complaints = await api(`${API}/reports/complaints?${q}`);
  const n = ratings.rows.reduce((a, r) => a + r.ratings, 0);
  const weighted = ratings.rows.reduce((a, r) => a + (r.overall || 0) * r.ratings, 0);
  const filed = complaints.rows.reduce((a, r) => a + r.filed, 0);
  const overdue = complaints.rows.reduce((a, r) => a + r.open_overdue, 0);
  document.getElementById("lead-satisfaction").textContent =
    `${n} ${tr("satisfaction")} ${n ? (weighted / n).toFixed(2) : "—"} · ${filed} ${tr("complaints")} ${overdue}`;
  table(
    "lead-ratings",
    [tr("office"), tr("name"), tr("month"), tr("ratings"), tr("overall")],
    ratings.rows.map((r) =>
      h("tr", { "data-key": r.group }, h("td", {}, r.group || "—"), h("td", {}, r.name), h("td", {}, r.month),
        h("td", { class: "num" }, num(r.ratings)), h("td", { class: "num" }, num(r.overall))),
    ),
  );
  table(
    "lead-complaints",
    [tr("category"), tr("org"), tr("month"), tr("filed"), tr("answered"), tr("answeredOnTime"), tr("openOverdue")],
    complaints.rows.map((r) =>
      h("tr", { "data-key": `${r.category}:${r.org}` }, h("td", {}, r.category), h("td", {}, r.org || "—"),
        h("td", {}, r.month), h("td", { class: "num" }, num(r.filed)), h("td", { class: "num" }, num(r.answered)),
        h("td", { class: "num" }, num(r.answered_on_time)), h("td", { class: "num" }, num(r.open_overdue))),
    ),
  );
}

// Money of the province: outstanding collect-on-delivery and what agencies are owed (/reports/money/...).
async function loadMoney() {
  const outstanding = await api(`${API}/reports/money/outstanding`);
  const due = await api(`${API}/reports/money/remittances-due`);
  const held = due.rows.reduce((a, r) => a + r.held_vnd, 0);
  document.getElementById("lead-money").textContent =
    `${tr("outstanding")}: ${vnd(outstanding.total_vnd)} · ${tr("remit")}: ${vnd(held)}`;
  table(
    "lead-remit",
    [tr("agency"), tr("held"), tr("awaiting"), tr("dossiers")],
    due.rows.map((r) =>
      h("tr", { "data-key": r.agency }, h("td", {}, r.agency), h("td", { class: "num" }, vnd(r.held_vnd)),
        h("td", { class: "num" }, vnd(r.awaiting_vnd)), h("td", { class: "num" }, num(r.dossiers))),
    ),
  );
}

async function load() {
  try {
    await loadUnits();
    await loadLegs();
    await loadCards();
    await loadFeedback();
    await loadMoney();
    document.body.dataset.loaded = "yes";
  } catch (err) {
    toast(errorText(err), "error");
  }
}

if (user) {
  toInput.value = vnDate();
  fromInput.value = `${vnDate().slice(0, 7)}-01`;
  document.getElementById("lead-load").addEventListener("click", load);
  const csv = (path, extra, name) => () => download(`${API}/reports/province/${path}?${query({ ...extra, format: "csv" })}`, name);
  document.getElementById("csv-units").addEventListener("click", () =>
    csv("dossiers", { group_by: groupInput.value }, `II06a-${groupInput.value}.csv`)(),
  );
  document.getElementById("csv-months").addEventListener("click", csv("dossiers", { group_by: "month" }, "II06a-month.csv"));
  document.getElementById("csv-legs").addEventListener("click", csv("legs", {}, "legs.csv"));
  document.getElementById("csv-couriers").addEventListener("click", csv("scorecards", { kind: "courier" }, "couriers.csv"));
  document.getElementById("csv-desks").addEventListener("click", csv("scorecards", { kind: "desk" }, "desks.csv"));
  load();
}
